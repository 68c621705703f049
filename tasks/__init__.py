"""Invoke tasks: `invoke --list`. Run them from the virtualenv (`.venv/bin/invoke`)."""

import sys
from pathlib import Path

from invoke import Collection

# invoke imports this package by path; the application lives beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from . import bench, client, clients, database, dependencies, dev, docker, env, openapi, server, users

app = Collection("app")
app.add_task(server.run)
app.add_task(server.serve)
app.add_task(server.jobs)
app.add_collection(Collection.from_module(env))
app.add_collection(Collection.from_module(dependencies))
app.add_collection(Collection.from_module(database, name="db"))
app.add_collection(Collection.from_module(users))
app.add_collection(Collection.from_module(clients))
app.add_collection(Collection.from_module(openapi))

ns = Collection(app, dev.test, dev.lint, bench.bench, bench.bench_sse)
ns.add_collection(Collection.from_module(docker))
ns.add_collection(Collection.from_module(client))
