"""/api/v1/messages/search: full-text search in the caller's rooms."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.extensions.api import Blueprint, require
from app.extensions.auth import current_user
from app.modules.messages import reactions
from app.modules.messages.models import Message
from app.modules.messages.schemas import MessageSchema
from app.modules.rooms import permissions as room_permissions
from app.modules.rooms import services as rooms

from . import services
from .parameters import SearchParameters

blp = Blueprint("search", __name__, url_prefix="/api/v1/messages", description="Searching messages")


@blp.route("/search")
class Search(MethodView):
    @blp.doc(operationId="searchMessages")
    @blp.auth_required("messages:read")
    @blp.arguments(SearchParameters, location="query")
    @blp.response(200, MessageSchema(many=True))
    @blp.paginate()
    @blp.doc(responses={"404": "NOT_FOUND"})
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Message]:
        """Messages of your rooms containing every word of `q`, best match first

        Only rooms you are a member of are searched; `room_id` narrows the search to one of them. Paginated
        with `X-Pagination`.
        """
        room = None
        if "room_id" in args:  # as everywhere: 404 for a room you may not see, 403 for one you are not in
            room = require(
                room_permissions.is_member, rooms.get_visible_or_404(args["room_id"], current_user)
            )
        found = services.search_page(current_user, args["q"], room, pagination_parameters)
        reactions.attach(found, current_user)
        return found
