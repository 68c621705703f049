"""/api/v1/rooms: rooms, members and read markers."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from app.extensions.api import Blueprint, abort, links_to, paginate_query, row_id
from app.extensions.auth import current_user
from app.extensions.schemas import Dumped
from app.modules.events import presence
from app.modules.messages import reactions
from app.modules.users import permissions as users
from app.modules.users.services import attach_presence

from . import permissions, services
from .models import Membership, Room
from .parameters import (
    CreateRoomParameters,
    MemberListParameters,
    ReadMarkerParameters,
    RoomListParameters,
    UpdateMemberParameters,
    UpdateRoomParameters,
    UsernameParameters,
)
from .schemas import ListedMemberSchema, MemberSchema, RoomSchema

blp = Blueprint("rooms", __name__, url_prefix="/api/v1/rooms", description="Rooms, members and invites")

# OpenAPI links from an answer to the operations it enables.
ROOM_LINKS = links_to(
    *("getRoom", "updateRoom", "deleteRoom", "listRoomMessages", "sendMessage", "listRoomMembers"),
    *("addRoomMember", "createInvite", "listRoomInvites"),
    room_id="$response.body#/id",
)
MEMBER_LINKS = links_to(
    *("getRoomMember", "updateRoomMember", "removeRoomMember"),
    room_id="$request.path.room_id",
    user_ref="$response.body#/user/id",
)


def _created(room: Room) -> tuple[Room, int, dict[str, str]]:
    return room, 201, {"Location": url_for("rooms.RoomById", room_id=room.id)}


def _shown(room: Room) -> Room:
    """The room with its last message's reactions as the caller sees them."""
    reactions.attach([room.live_last_message], current_user)
    return room


@blp.route("")
class Rooms(MethodView):
    @blp.doc(operationId="listRooms")
    @blp.auth_required("rooms:read")
    @blp.arguments(RoomListParameters, location="query")
    @blp.response(200, RoomSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> Dumped:
        """Your rooms, most recently active first; `?scope=public` lists public rooms to join

        Each room carries your `unread_count` and its `last_message`, so a room list needs no other request.
        """
        return services.list_page(current_user, args["scope"], pagination_parameters)

    @blp.doc(operationId="createRoom")
    @blp.auth_required("rooms:write")
    @blp.arguments(
        CreateRoomParameters,
        example={"name": "design", "topic": "Mock-ups and reviews", "kind": "private", "members": ["bob"]},
    )
    @blp.response(201, RoomSchema, links=ROOM_LINKS)
    def post(self, args: dict[str, Any]) -> tuple[Room, int, dict[str, str]]:
        """Create a room; you are its owner, and `members` join it at once

        Rooms are private unless `kind` is `public`. Usernames in `members` that do not exist make the whole
        request fail (422).
        """
        return _created(services.create_room(current_user, **args))


@blp.route("/direct")
class DirectRoom(MethodView):
    @blp.doc(operationId="openDirectRoom")
    @blp.auth_required("rooms:write")
    @blp.arguments(UsernameParameters, example={"username": "bob"})
    @blp.response(200, RoomSchema)
    @blp.alt_response(201, schema=RoomSchema, description="Created", links=ROOM_LINKS)
    def post(self, args: dict[str, Any]) -> Any:
        """The one direct room of you and `username`: 201 the first time, 200 after

        Two users share exactly one direct room; asking again returns it, so clients need not remember its id.
        """
        room, created = services.get_or_create_direct_room(current_user, args["username"])
        return _created(room) if created else _shown(room)


@blp.route("/<id:room_id>")
class RoomById(MethodView):
    @blp.doc(operationId="getRoom")
    @blp.auth_required("rooms:read")
    @blp.resolve("room_id", services.get_visible_or_404)
    @blp.response(200, RoomSchema)
    def get(self, room: Room) -> Room:
        """A room you are in, or any public room

        A private room you are not in is not found (404), as if it did not exist.
        """
        return _shown(room)

    @blp.doc(operationId="updateRoom")
    @blp.auth_required("rooms:write")
    @blp.arguments(UpdateRoomParameters, example={"topic": "Release planning", "message_ttl_seconds": 86400})
    @blp.resolve("room_id", services.get_visible_or_404, permissions.may_change)
    @blp.response(200, RoomSchema)
    def patch(self, args: dict[str, Any], room: Room) -> Room:
        """Rename, change the topic or the message TTL (owner and admins)

        Direct rooms cannot be changed. `message_ttl_seconds: null` keeps messages until deleted.
        """
        if args.keys() & {"name", "topic"}:  # content the members read: a ban stops it, not a TTL
            users.require_not_banned(current_user)
        return _shown(services.update_room(room, current_user, args))

    @blp.doc(operationId="deleteRoom")
    @blp.auth_required("rooms:write")
    @blp.resolve("room_id", services.get_visible_or_404, permissions.is_owner)
    @blp.response(204)
    def delete(self, room: Room) -> None:
        """Delete the room and its messages (owner)

        Members' streams get `room.deleted`; the messages are gone for good.
        """
        services.delete_room(room)


@blp.route("/<id:room_id>/join")
class Join(MethodView):
    @blp.doc(operationId="joinRoom")
    @blp.auth_required("rooms:write")
    @blp.resolve("room_id", services.get_visible_or_404, permissions.is_public)
    @blp.response(200, RoomSchema)
    def post(self, room: Room) -> Room:
        """Join a public room (a no-op when you are already in)

        Private rooms are joined through an invite (`acceptInvite`) instead.
        """
        return _shown(services.join_public_room(room, current_user))


@blp.route("/<id:room_id>/members")
class Members(MethodView):
    @blp.doc(operationId="listRoomMembers")
    @blp.auth_required("rooms:read")
    @blp.arguments(MemberListParameters, location="query")
    @blp.resolve("room_id", services.get_visible_or_404, permissions.is_member)
    @blp.response(200, ListedMemberSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], room: Room, pagination_parameters: Any) -> list[Membership]:
        """The room's members, in order of joining, with their presence (`?presence=online`: those online)

        Members only; paginated with `X-Pagination`.
        """
        members = services.members_statement(room)
        if "presence" in args:
            wanted = presence.having(room, online=args["presence"] == "online")
            members = members.where(Membership.user_id.in_(wanted))
        page = paginate_query(members, pagination_parameters)
        attach_presence([member.user for member in page])
        return page

    @blp.doc(operationId="addRoomMember")
    @blp.auth_required("rooms:write")
    @blp.arguments(UsernameParameters, example={"username": "carol"})
    @blp.resolve("room_id", services.get_visible_or_404, permissions.may_add_members)
    @blp.response(201, MemberSchema, links=MEMBER_LINKS)
    def post(self, args: dict[str, Any], room: Room) -> tuple[Membership, int, dict[str, str]]:
        """Add a user to the room (any member may)

        Direct rooms keep their two members. The new member's read marker starts at the newest message.
        """
        membership = services.add_member(room, args["username"])
        location = url_for("rooms.MemberById", room_id=membership.room_id, user_ref=membership.user_id)
        return membership, 201, {"Location": location}


def _member_of(room: Room, user_ref: str) -> Membership:
    """`me` or a user id, as a member of `room` (404 otherwise)."""
    user_id = current_user.id if user_ref == "me" else row_id(user_ref)
    if user_id is None:
        abort(404, "No such member.")
    return services.get_membership_or_404(room, user_id)


@blp.route("/<id:room_id>/members/<string:user_ref>")
class MemberById(MethodView):
    @blp.doc(operationId="getRoomMember")
    @blp.auth_required("rooms:read")
    @blp.resolve("room_id", services.get_visible_or_404, permissions.is_member)
    @blp.resolve("user_ref", _member_of, within="room", into="member")
    @blp.response(200, MemberSchema)
    def get(self, room: Room, member: Membership) -> Membership:
        """One member (`me` or a user id)

        Members only; `me` gives your own role and read marker.
        """
        return member

    @blp.doc(operationId="updateRoomMember")
    @blp.auth_required("rooms:write")
    @blp.arguments(UpdateMemberParameters, example={"role": "admin"})
    @blp.resolve("room_id", services.get_visible_or_404, permissions.is_owner)
    @blp.resolve("user_ref", _member_of, within="room", into="member")
    @blp.response(200, MemberSchema)
    def patch(self, args: dict[str, Any], room: Room, member: Membership) -> Membership:
        """Change a member's role (owner); `owner` hands the room over

        Giving `owner` transfers the room: you become an admin.
        """
        return services.change_role(room, current_user, member, args["role"])

    @blp.doc(operationId="removeRoomMember")
    @blp.auth_required("rooms:write")
    @blp.resolve("room_id", services.get_visible_or_404, permissions.is_member)
    @blp.resolve("user_ref", _member_of, permissions.may_remove, within="room", into="member")
    @blp.response(204)
    def delete(self, room: Room, member: Membership) -> None:
        """Leave (`me`), or remove a member (owner; admins remove plain members)

        The owner must hand the room over before leaving (409).
        """
        services.remove_member(member, current_user)


@blp.route("/<id:room_id>/read")
class ReadMarker(MethodView):
    @blp.doc(operationId="markRoomRead")
    @blp.auth_required("rooms:write")
    @blp.arguments(ReadMarkerParameters, example={"message_id": 42})
    @blp.resolve("room_id", services.get_visible_or_404, permissions.is_member)
    @blp.response(200, RoomSchema)
    def put(self, args: dict[str, Any], room: Room) -> Room:
        """Move your read marker forward to `message_id` (moving back is a no-op)

        Every device of yours gets `read.updated`, so unread counts agree across them.
        """
        return _shown(services.mark_read(room, current_user, args["message_id"]))
