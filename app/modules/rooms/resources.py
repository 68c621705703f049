"""/api/v1/rooms: rooms, members, invites, join requests and read markers."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, url_for
from flask.views import MethodView

from app.extensions.api import MAX_ID, Blueprint, abort, links_to, paginate_query
from app.extensions.auth import current_user
from app.modules.events import presence
from app.modules.messages import reactions
from app.modules.users.services import attach_presence

from . import permissions, services
from .models import Invite, JoinRequest, Membership, Room
from .parameters import (
    CreateInviteParameters,
    CreateRoomParameters,
    JoinRequestListParameters,
    MemberListParameters,
    ReadMarkerParameters,
    RoomListParameters,
    UpdateMemberParameters,
    UpdateRoomParameters,
    UsernameParameters,
)
from .schemas import (
    InviteSchema,
    JoinRequestSchema,
    ListedMemberSchema,
    MemberSchema,
    NewInviteSchema,
    RoomSchema,
)

blp = Blueprint("rooms", __name__, url_prefix="/api/v1/rooms", description="Rooms, members and invites")
invites_blp = Blueprint("invites", __name__, url_prefix="/api/v1", description="Accepting invites")

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
INVITE_LINKS = links_to("acceptInvite", code="$response.body#/code") | links_to(
    "getInvite", "deleteInvite", room_id="$response.body#/room_id", code="$response.body#/id"
)
JOIN_REQUEST_LINKS = links_to(
    "approveJoinRequest",
    "rejectJoinRequest",
    room_id="$response.body#/room_id",
    request_id="$response.body#/id",
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
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Room]:
        """Your rooms, most recently active first; `?scope=public` lists public rooms to join

        Each room carries your `unread_count` and its `last_message`, so a room list needs no other request.
        """
        listed = services.list_page(current_user, args["scope"], pagination_parameters)
        reactions.attach((room.live_last_message for room in listed), current_user)
        return listed

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
    @blp.response(200, RoomSchema)
    def get(self, room_id: int) -> Room:
        """A room you are in, or any public room

        A private room you are not in is not found (404), as if it did not exist.
        """
        return _shown(services.get_visible_or_404(room_id, current_user))

    @blp.doc(operationId="updateRoom")
    @blp.auth_required("rooms:write")
    @blp.arguments(UpdateRoomParameters, example={"topic": "Release planning", "message_ttl_seconds": 86400})
    @blp.response(200, RoomSchema)
    def patch(self, args: dict[str, Any], room_id: int) -> Room:
        """Rename, change the topic or the message TTL (owner and admins)

        Direct rooms cannot be changed. `message_ttl_seconds: null` keeps messages until deleted.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_manager(room)
        if room.kind == "direct":
            abort(403, "Direct rooms cannot be changed.")
        return _shown(services.update_room(room, current_user, args))

    @blp.doc(operationId="deleteRoom")
    @blp.auth_required("rooms:write")
    @blp.response(204)
    def delete(self, room_id: int) -> None:
        """Delete the room and its messages (owner)

        Members' streams get `room.deleted`; the messages are gone for good.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_owner(room)
        services.delete_room(room)


@blp.route("/<id:room_id>/join")
class Join(MethodView):
    @blp.doc(operationId="joinRoom")
    @blp.auth_required("rooms:write")
    @blp.response(200, RoomSchema)
    def post(self, room_id: int) -> Room:
        """Join a public room (a no-op when you are already in)

        Private rooms are joined through an invite (`acceptInvite`) instead.
        """
        room = services.get_visible_or_404(room_id, current_user)
        return _shown(services.join_public_room(room, current_user))


@blp.route("/<id:room_id>/members")
class Members(MethodView):
    @blp.doc(operationId="listRoomMembers")
    @blp.auth_required("rooms:read")
    @blp.arguments(MemberListParameters, location="query")
    @blp.response(200, ListedMemberSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], room_id: int, pagination_parameters: Any) -> list[Membership]:
        """The room's members, in order of joining, with their presence (`?presence=online`: those online)

        Members only; paginated with `X-Pagination`.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_member(room)
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
    @blp.response(201, MemberSchema, links=MEMBER_LINKS)
    def post(self, args: dict[str, Any], room_id: int) -> tuple[Membership, int, dict[str, str]]:
        """Add a user to the room (any member may)

        Direct rooms keep their two members. The new member's read marker starts at the newest message.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_member(room)
        membership = services.add_member(room, args["username"])
        location = url_for("rooms.MemberById", room_id=room.id, user_ref=membership.user_id)
        return membership, 201, {"Location": location}


ROW_ID = re.compile(r"[0-9]{1,10}")


def _row_id(ref: str) -> int | None:
    """`ref` as a row id (1 to MAX_ID), or None when it is something else."""
    return int(ref) if ROW_ID.fullmatch(ref) and 1 <= int(ref) <= MAX_ID else None


def _member_of(room: Room, user_ref: str) -> Membership:
    """`me` or a user id, as a member of `room` (404 otherwise)."""
    if user_ref == "me":
        return services.get_membership_or_404(room, current_user.id)
    user_id = _row_id(user_ref)
    if user_id is None:
        abort(404, "No such member.")
    return services.get_membership_or_404(room, user_id)


def _invite_of(room: Room, ref: str) -> Invite:
    """An invite of `room` by its id or by its code (codes are 16 characters, ids at most 10 digits)."""
    return services.get_invite_or_404(room, _row_id(ref) or ref)


@blp.route("/<id:room_id>/members/<string:user_ref>")
class MemberById(MethodView):
    @blp.doc(operationId="getRoomMember")
    @blp.auth_required("rooms:read")
    @blp.response(200, MemberSchema)
    def get(self, room_id: int, user_ref: str) -> Membership:
        """One member (`me` or a user id)

        Members only; `me` gives your own role and read marker.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_member(room)
        return _member_of(room, user_ref)

    @blp.doc(operationId="updateRoomMember")
    @blp.auth_required("rooms:write")
    @blp.arguments(UpdateMemberParameters, example={"role": "admin"})
    @blp.response(200, MemberSchema)
    def patch(self, args: dict[str, Any], room_id: int, user_ref: str) -> Membership:
        """Change a member's role (owner); `owner` hands the room over

        Giving `owner` transfers the room: you become an admin.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_owner(room)
        return services.change_role(room, current_user, _member_of(room, user_ref), args["role"])

    @blp.doc(operationId="removeRoomMember")
    @blp.auth_required("rooms:write")
    @blp.response(204)
    def delete(self, room_id: int, user_ref: str) -> None:
        """Leave (`me`), or remove a member (owner; admins remove plain members)

        The owner must hand the room over before leaving (409).
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_member(room)
        services.remove_member(room, current_user, _member_of(room, user_ref))


@blp.route("/<id:room_id>/read")
class ReadMarker(MethodView):
    @blp.doc(operationId="markRoomRead")
    @blp.auth_required("rooms:write")
    @blp.arguments(ReadMarkerParameters, example={"message_id": 42})
    @blp.response(200, RoomSchema)
    def put(self, args: dict[str, Any], room_id: int) -> Room:
        """Move your read marker forward to `message_id` (moving back is a no-op)

        Every device of yours gets `read.updated`, so unread counts agree across them.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_member(room)
        return _shown(services.mark_read(room, current_user, args["message_id"]))


@blp.route("/<id:room_id>/invites")
class Invites(MethodView):
    @blp.doc(operationId="listRoomInvites")
    @blp.auth_required("rooms:read")
    @blp.response(200, InviteSchema(many=True))
    @blp.paginate()
    def get(self, room_id: int, pagination_parameters: Any) -> list[Invite]:
        """The room's invite links (owner and admins)

        Codes are shown only when created; here an invite is known by its `id` and `code_prefix`.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_manager(room)
        return paginate_query(services.invites_statement(room), pagination_parameters)

    @blp.doc(operationId="createInvite")
    @blp.auth_required("rooms:write")
    @blp.arguments(
        CreateInviteParameters, example={"expires_in": 86400, "max_uses": 10, "requires_approval": True}
    )
    @blp.response(201, NewInviteSchema, links=INVITE_LINKS)
    def post(self, args: dict[str, Any], room_id: int) -> tuple[Invite, int, dict[str, str]]:
        """Create an invite link (owner and admins); its `code` and `url` are shown this once

        With `requires_approval` (the default) accepting files a join request for a manager to approve.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_manager(room)
        if room.kind == "direct":
            abort(403, "Direct rooms have exactly two members.")
        invite = services.create_invite(room, current_user, **args)
        location = url_for("rooms.InviteByCode", room_id=invite.room_id, code=invite.id)
        return invite, 201, {"Location": location}


@blp.route("/<id:room_id>/invites/<string:code>")
class InviteByCode(MethodView):
    @blp.doc(operationId="getInvite")
    @blp.auth_required("rooms:read")
    @blp.response(200, InviteSchema)
    def get(self, room_id: int, code: str) -> Invite:
        """One invite link, by its id or its code (owner and admins)

        Owner and admins only.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_manager(room)
        return _invite_of(room, code)

    @blp.doc(operationId="deleteInvite")
    @blp.auth_required("rooms:write")
    @blp.response(204)
    def delete(self, room_id: int, code: str) -> None:
        """Withdraw an invite link, by its id or its code (owner and admins)

        The link stops working at once; join requests already filed stay.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_manager(room)
        services.delete_invite(_invite_of(room, code))


@blp.route("/<id:room_id>/join-requests")
class JoinRequests(MethodView):
    @blp.doc(operationId="listJoinRequests")
    @blp.auth_required("rooms:read")
    @blp.arguments(JoinRequestListParameters, location="query")
    @blp.response(200, JoinRequestSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], room_id: int, pagination_parameters: Any) -> list[JoinRequest]:
        """Requests to join through an invite (owner and admins); `?status=pending` filters

        Owner and admins only; paginated with `X-Pagination`.
        """
        room = services.get_visible_or_404(room_id, current_user)
        permissions.require_manager(room)
        return paginate_query(
            services.join_requests_statement(room, args.get("status")), pagination_parameters
        )


def _resolve(room_id: int, request_id: int, approve: bool) -> JoinRequest:
    room = services.get_visible_or_404(room_id, current_user)
    permissions.require_manager(room)
    join_request = services.get_join_request_or_404(room, request_id)
    return services.resolve_join_request(room, current_user, join_request, approve)


@blp.route("/<id:room_id>/join-requests/<id:request_id>/approve")
class ApproveJoinRequest(MethodView):
    @blp.doc(operationId="approveJoinRequest")
    @blp.auth_required("rooms:write")
    @blp.response(200, JoinRequestSchema)
    def post(self, room_id: int, request_id: int) -> JoinRequest:
        """Let the requester in (owner and admins)

        The requester becomes a member and hears `join_request.resolved`.
        """
        return _resolve(room_id, request_id, approve=True)


@blp.route("/<id:room_id>/join-requests/<id:request_id>/reject")
class RejectJoinRequest(MethodView):
    @blp.doc(operationId="rejectJoinRequest")
    @blp.auth_required("rooms:write")
    @blp.response(200, JoinRequestSchema)
    def post(self, room_id: int, request_id: int) -> JoinRequest:
        """Turn the request down (owner and admins)

        The requester hears `join_request.resolved`; they may use another invite later.
        """
        return _resolve(room_id, request_id, approve=False)


@invites_blp.route("/invites/<string:code>/accept")
class AcceptInvite(MethodView):
    @invites_blp.doc(operationId="acceptInvite")
    @invites_blp.auth_required("rooms:write")
    @invites_blp.response(200, RoomSchema)
    @invites_blp.alt_response(
        202, schema=JoinRequestSchema, description="A join request awaits approval", links=JOIN_REQUEST_LINKS
    )
    @invites_blp.doc(responses={"409": "CONFLICT", "410": "GONE"})
    def post(self, code: str) -> Any:
        """Use an invite: join at once (200), or file a join request for approval (202)

        An expired or used-up invite is 410; already being a member is 409.
        """
        room, join_request = services.accept_invite(code, current_user)
        if room is not None:
            return _shown(room)
        response: Response = jsonify(JoinRequestSchema().dump(join_request))
        response.status_code = 202
        return response


@invites_blp.route("/join-requests")
class MyJoinRequests(MethodView):
    @invites_blp.doc(operationId="listMyJoinRequests")
    @invites_blp.auth_required("rooms:read")
    @invites_blp.response(200, JoinRequestSchema(many=True))
    @invites_blp.paginate()
    def get(self, pagination_parameters: Any) -> list[JoinRequest]:
        """Your own join requests and their outcome

        So that a requester can see whether they were let in.
        """
        return paginate_query(services.own_join_requests_statement(current_user), pagination_parameters)
