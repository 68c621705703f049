"""The smorest `Api` and the `Blueprint` every module mounts its resources on."""

from ..errors import abort
from .api import MAX_ID, Api, api
from .blueprint import Blueprint
from .pagination import paginate_query
from .parser import unstorable_fields

__all__ = ["MAX_ID", "Api", "Blueprint", "abort", "api", "paginate_query", "unstorable_fields"]
