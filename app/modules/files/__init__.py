"""Files: uploads that messages carry as attachments."""

from flask import Flask

from app.extensions import jobs
from app.extensions.api import api
from app.extensions.database import on_every_session


def init_app(app: Flask) -> None:
    from . import services
    from .resources import blp

    api.register_blueprint(blp)
    jobs.register(app, "files.purge_unattached", services.purge_unattached)
    on_every_session("after_commit", services.remove_files)
    on_every_session("after_rollback", services.keep_files)
