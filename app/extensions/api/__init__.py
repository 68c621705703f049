"""The smorest `Api` and the `Blueprint` every module mounts its resources on."""

from ..errors import abort
from .api import MAX_ID, MAX_PAGE_SIZE, Api, api, row_id
from .blueprint import Blueprint
from .document import links_to
from .pagination import LINK_HEADER, Listing, Timeline, keyset_page, paginate_query, pagination_links
from .parser import unstorable_fields
from .resolve import Permission, Unresolved, permission, require

__all__ = [
    "LINK_HEADER",
    "MAX_ID",
    "MAX_PAGE_SIZE",
    "Api",
    "Blueprint",
    "Listing",
    "Permission",
    "Timeline",
    "Unresolved",
    "abort",
    "api",
    "keyset_page",
    "links_to",
    "paginate_query",
    "pagination_links",
    "permission",
    "require",
    "row_id",
    "unstorable_fields",
]
