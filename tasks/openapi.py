"""The OpenAPI document."""

import json

from invoke import Context, task

from .application import app_context


@task(help={"output": "file to write (default openapi.json)"})
def export(c: Context, output: str = "openapi.json") -> None:
    """Write the OpenAPI document, e.g. to generate a client."""
    from app.extensions import api

    with app_context(), open(output, "w") as f:
        json.dump(api.spec.to_dict(), f, indent=2)
        f.write("\n")
    print(f"wrote {output}")
