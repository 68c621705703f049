"""Start Parley: `python3 server.py [--host H] [--port P]`.

On first run this creates `.venv` and installs the requirements (see bootstrap.py),
then migrates and seeds the database and serves on 127.0.0.1:8000. For production
use gunicorn with the gevent worker (see README).
"""

from __future__ import annotations

import argparse
import os

from bootstrap import ensure_venv

ensure_venv("requirements.txt")

from app import create_app  # noqa: E402
from app.extensions import jobs  # noqa: E402
from app.provisioning import prepare_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Parley development server.")
    parser.add_argument("--host", default=None, help="address to bind (PARLEY_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (PARLEY_PORT, default 8000)")
    parser.add_argument(
        "--config",
        default=os.environ.get("PARLEY_CONFIG", "development"),
        choices=["development", "production"],
        help="configuration class",
    )
    args = parser.parse_args()
    app = create_app(args.config)
    if app.config["AUTO_UPGRADE_DATABASE"]:
        prepare_database(app)
    jobs.start(app)
    host = args.host or app.config["HOST"]
    port = args.port or app.config["PORT"]
    app.logger.info("Parley listening on http://%s:%s (docs at /api/v1/docs)", host, port)
    app.run(host=host, port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
