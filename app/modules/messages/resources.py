"""/api/v1/rooms/{id}/messages: history, sending, replies, edits and deletes."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.views import MethodView
from marshmallow import EXCLUDE

from app.extensions.api import LINK_HEADER, Blueprint, Unresolved, links_to, pagination_links
from app.extensions.auth import current_user
from app.extensions.ratelimit import counted_with_the_write
from app.extensions.schemas import Dumped, DumpedObject
from app.modules.rooms import permissions as room_permissions
from app.modules.rooms import services as rooms
from app.modules.rooms.models import Room, RoomWithRole
from app.modules.scheduled import services as scheduled
from app.modules.scheduled.models import ScheduledMessage
from app.modules.scheduled.schemas import ScheduledMessageSchema
from app.modules.users.permissions import unbanned

from . import history, permissions, reactions, services
from .models import Message
from .parameters import EditMessageParameters, HistoryParameters, ReactionPath, SendMessageParameters
from .schemas import MessageSchema

blp = Blueprint("messages", __name__, url_prefix="/api/v1/rooms", description="Messages of a room")

# OpenAPI links from an answer to the operations it enables.
MESSAGE_LINKS = links_to(
    *("getMessage", "editMessage", "deleteMessage", "listMessageReplies"),
    room_id="$response.body#/room_id",
    message_id="$response.body#/id",
)
REACTION_LINKS = links_to(
    "removeReaction",
    **{name: f"$request.path.{name}" for name in ("room_id", "message_id", "emoji")},
)


# A room of the caller's, with just their role (one query on the hot paths); then a message of it.
IN_ROOM = blp.resolve("room_id", rooms.get_with_role_or_404, room_permissions.is_member)
# The same as a Core row, no ORM entity, for the paths that change nothing of the room itself
# (reading its messages, sending one); the history resolves it only when its page statement (a
# member's messages only) finds nothing.
MEMBER_OF_ROOM = blp.resolve("room_id", rooms.get_role_in_or_404, room_permissions.is_member)
READING_HISTORY = blp.resolve("room_id", rooms.get_role_in_or_404, room_permissions.is_member, deferred=True)
MESSAGE = blp.resolve("message_id", services.get_or_404, within="room")


def _shown(message: Message) -> Message:
    """The message with its reactions as the caller sees them."""
    reactions.attach([message], current_user)
    return message


def _cursors(args: dict[str, Any]) -> dict[str, Any]:
    return {"before": args.get("before"), "after": args.get("after"), "limit": args["limit"]}


def _linked(page: tuple[Dumped, bool, bool], limit: int) -> Any:
    """A history (or replies) page with its `Link` header."""
    shown, older, newer = page
    ids = [shown[0]["id"], shown[-1]["id"]] if shown else []
    headers = {"Link": links} if (links := pagination_links(ids, older, newer, limit)) else {}
    return shown, 200, headers


def _url_of(room_id: int, message_id: int) -> str:
    return url_for("messages.MessageById", room_id=room_id, message_id=message_id)


def _scheduled(result: ScheduledMessage | Message | DumpedObject, created: bool) -> Any:
    """The pending message (202, or 200 when repeated); a repeat of one already sent is that message."""
    if not isinstance(result, ScheduledMessage):
        return jsonify(MessageSchema().dump(result)), 200
    return jsonify(ScheduledMessageSchema().dump(result)), 202 if created else 200


@blp.route("/<id:room_id>/messages")
class Messages(MethodView):
    @blp.doc(operationId="listRoomMessages")
    @blp.auth_required("messages:read")
    @blp.arguments(HistoryParameters, location="query")
    @READING_HISTORY
    @blp.response(200, MessageSchema(many=True), headers=LINK_HEADER)
    def get(self, args: dict[str, Any], room: Unresolved) -> Any:
        """History, oldest first: the newest `limit` by default, or just `before`/`after` a message id

        Keyset pages: follow the `Link` header's `prev` (older) and `next` (newer) URLs rather than building
        offsets, so new messages never shift a page. Deleted messages appear as tombstones.
        """
        return _linked(history.history(room, current_user, **_cursors(args)), args["limit"])

    @blp.doc(operationId="sendMessage")
    @counted_with_the_write
    @blp.auth_required("messages:write")
    @blp.arguments(
        SendMessageParameters,
        example={"body": "Hello, everyone!", "client_msg_id": "3f1c2a9e-7d41-4d0e-9a55-1b2c3d4e5f60"},
    )
    @MEMBER_OF_ROOM
    @blp.rate_limited("GENERAL_POST_RATE_LIMIT", "general-posts", applies=rooms.is_general)
    @blp.response(201, MessageSchema, links=MESSAGE_LINKS)
    @blp.alt_response(200, schema=MessageSchema, description="A repeated client_msg_id: the first message")
    @blp.alt_response(
        202,
        schema=ScheduledMessageSchema,
        description="With send_at: the pending message (200 for a repeated client_msg_id)",
        links=links_to("cancelScheduledMessage", scheduled_id="$response.body#/id"),
    )
    @blp.doc(responses={"409": "CONFLICT"})
    @unbanned
    def post(self, args: dict[str, Any], room: RoomWithRole) -> Any:
        """Send a message, or a reply with `parent_id`; or schedule it with `send_at`

        Idempotent with `client_msg_id`: a retry returns the first message (200), never a duplicate. `send_at`
        up to 30 days ahead schedules it (202). Posting in `general` is rate-limited per user.
        """
        if args.get("send_at") is not None:
            return _scheduled(*scheduled.schedule(room, current_user.entity(), **args))
        sent, _ = services.send_message(room, current_user._get_current_object(), **args)
        if isinstance(sent, Message):  # a repeated client_msg_id: the first message, as it is now
            return _shown(sent), 200, {"Location": _url_of(sent.room_id, sent.id)}
        return sent, 201, {"Location": _url_of(sent["room_id"], sent["id"])}


@blp.route("/<id:room_id>/messages/<id:message_id>")
class MessageById(MethodView):
    @blp.doc(operationId="getMessage")
    @blp.auth_required("messages:read")
    @IN_ROOM
    @MESSAGE
    @blp.response(200, MessageSchema)
    def get(self, room: Room, message: Message) -> Message:
        """One message

        A message past its room's TTL is not found, as everywhere.
        """
        return _shown(message)

    @blp.doc(operationId="editMessage")
    @blp.auth_required("messages:write")
    @blp.arguments(EditMessageParameters, example={"body": "Hello, everyone (edited)"})
    @IN_ROOM
    @blp.resolve("message_id", services.get_or_404, permissions.is_author, within="room")
    @blp.response(200, MessageSchema)
    @unbanned
    def patch(self, args: dict[str, Any], room: Room, message: Message) -> Message:
        """Edit your message (sets `edited_at`)

        Only the author may edit; every member's stream gets `message.updated`.
        """
        return _shown(services.edit_message(message, args["body"], by=current_user))

    @blp.doc(operationId="deleteMessage")
    @blp.auth_required("messages:write")
    @IN_ROOM
    @blp.resolve("message_id", services.get_or_404, permissions.is_author_or_manager, within="room")
    @blp.response(204)
    def delete(self, room: Room, message: Message) -> None:
        """Delete a message (author, or the room's owner and admins): a tombstone stays in history

        The body and attachments are removed; the message keeps its place in history as `deleted: true`, so
        replies keep their parent.
        """
        services.delete_message(message)


@blp.route("/<id:room_id>/messages/<id:message_id>/replies")
class Replies(MethodView):
    @blp.doc(operationId="listMessageReplies")
    @blp.auth_required("messages:read")
    @blp.arguments(HistoryParameters, location="query")
    @MEMBER_OF_ROOM
    @MESSAGE
    @blp.response(200, MessageSchema(many=True), headers=LINK_HEADER)
    def get(self, args: dict[str, Any], room: RoomWithRole, message: Message) -> Any:
        """The replies to one message, oldest first, with the same cursors as the history

        A reply thread is paged like the room's history, with `Link` cursors.
        """
        return _linked(history.replies(room, message, current_user, **_cursors(args)), args["limit"])


@blp.route("/<id:room_id>/messages/<id:message_id>/reactions/<emoji>")
class ReactionByEmoji(MethodView):
    @blp.doc(operationId="addReaction")
    @blp.auth_required("messages:write")
    @blp.arguments(ReactionPath, location="path", unknown=EXCLUDE)
    @IN_ROOM
    @MESSAGE
    @blp.response(201, MessageSchema, links=REACTION_LINKS)
    @blp.alt_response(200, schema=MessageSchema, description="You had given this reaction already")
    @blp.doc(responses={"409": "CONFLICT"})
    @unbanned
    def put(self, args: dict[str, Any], room: Room, message: Message, emoji: str) -> Any:
        """React to a message: the answer is the message with its reactions (409: deleted, or too many)

        Idempotent: giving the same reaction again answers 200. `emoji` is one emoji grapheme or a
        `:short_name:`.
        """
        location = url_for("messages.ReactionByEmoji", room_id=room.id, message_id=message.id, emoji=emoji)
        created = reactions.add_reaction(message, current_user, args["emoji"])
        return _shown(message), 201 if created else 200, {"Location": location}

    @blp.doc(operationId="removeReaction")
    @blp.auth_required("messages:write")
    @blp.arguments(ReactionPath, location="path", unknown=EXCLUDE)
    @IN_ROOM
    @MESSAGE
    @blp.response(204)
    @unbanned
    def delete(self, args: dict[str, Any], room: Room, message: Message, emoji: str) -> None:
        """Take your reaction back (404 if you had not given it)

        Only your own reaction is removed; others' stay.
        """
        reactions.remove_reaction(message, current_user, args["emoji"])


@blp.route("/<id:room_id>/typing")
class Typing(MethodView):
    @blp.doc(operationId="announceTyping")
    @blp.auth_required("messages:write")
    @IN_ROOM
    @blp.response(204)
    @unbanned
    def post(self, room: Room) -> None:
        """Say you are typing: the room's members get an ephemeral `typing` event (expires after 6 s)

        Call it again while typing continues; nothing is stored or replayed.
        """
        services.announce_typing(room, current_user)
