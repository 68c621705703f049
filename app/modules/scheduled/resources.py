"""/api/v1/users/me/scheduled: the caller's pending and failed scheduled messages."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.extensions.api import LINK_HEADER, Blueprint, pagination_links
from app.extensions.auth import current_user
from app.modules.messages.parameters import HistoryParameters

from . import services
from .models import ScheduledMessage
from .schemas import ScheduledMessageSchema

blp = Blueprint(
    "scheduled",
    __name__,
    url_prefix="/api/v1/users/me/scheduled",
    description="Your scheduled messages (POST /rooms/{id}/messages with send_at)",
)


@blp.route("")
class ScheduledMessages(MethodView):
    @blp.doc(operationId="listScheduledMessages")
    @blp.auth_required("messages:read")
    @blp.arguments(HistoryParameters, location="query")
    @blp.response(200, ScheduledMessageSchema(many=True), headers=LINK_HEADER)
    def get(self, args: dict[str, Any]) -> Any:
        """Your pending and failed scheduled messages, oldest first, with the cursors of message history

        A message leaves this list when it is sent; a failed one stays with its `failure_reason` until
        dismissed.
        """
        page, older, newer = services.own_page(
            current_user, before=args.get("before"), after=args.get("after"), limit=args["limit"]
        )
        links = pagination_links([item.id for item in page], older, newer, args["limit"])
        headers = {"Link": links} if links else {}
        return page, 200, headers


@blp.route("/<id:scheduled_id>")
class ScheduledMessageById(MethodView):
    @blp.doc(operationId="cancelScheduledMessage")
    @blp.auth_required("messages:write")
    @blp.resolve("scheduled_id", services.get_own_or_404, into="scheduled_message")
    @blp.response(204)
    def delete(self, scheduled_message: ScheduledMessage) -> None:
        """Cancel a pending message (or dismiss a failed one); 404 once it was sent

        A sent message is deleted like any other message instead.
        """
        services.cancel(scheduled_message)
