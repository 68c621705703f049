"""Invite links and join requests: a room's (/api/v1/rooms/{id}/…), and the caller's."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for
from flask.views import MethodView

from app.extensions.api import Blueprint, links_to, paginate_query, row_id
from app.extensions.auth import current_user
from app.modules.messages import reactions
from app.modules.rooms import services as rooms
from app.modules.rooms.models import Room
from app.modules.rooms.schemas import RoomSchema

from . import permissions, services
from .models import Invite, JoinRequest
from .parameters import CreateInviteParameters, JoinRequestListParameters
from .schemas import InviteSchema, JoinRequestSchema, NewInviteSchema

blp = Blueprint("invites", __name__, url_prefix="/api/v1", description="Accepting invites")
# A room's invites and join requests stay under the rooms tag, where clients generated from the
# document have always found them.
IN_ROOMS = ["rooms"]

# OpenAPI links from an answer to the operations it enables.
INVITE_LINKS = links_to("acceptInvite", code="$response.body#/code") | links_to(
    "getInvite", "deleteInvite", room_id="$response.body#/room_id", code="$response.body#/id"
)
JOIN_REQUEST_LINKS = links_to(
    "approveJoinRequest",
    "rejectJoinRequest",
    room_id="$response.body#/room_id",
    request_id="$response.body#/id",
)


def _invite_of(room: Room, ref: str) -> Invite:
    """An invite of `room` by its id or by its code (codes are 16 characters, ids at most 10 digits)."""
    return services.get_invite_or_404(room, row_id(ref) or ref)


# A room whose invites the caller manages (owner and admins); then an invite or a join request of it.
MANAGED_ROOM = blp.resolve("room_id", rooms.get_visible_or_404, permissions.manages_invites)
INVITE = blp.resolve("code", _invite_of, within="room", into="invite")
JOIN_REQUEST = blp.resolve("request_id", services.get_join_request_or_404, within="room", into="join_request")


@blp.route("/rooms/<id:room_id>/invites", tags=IN_ROOMS)
class Invites(MethodView):
    @blp.doc(operationId="listRoomInvites")
    @blp.auth_required("rooms:read")
    @MANAGED_ROOM
    @blp.response(200, InviteSchema(many=True))
    @blp.paginate()
    def get(self, room: Room, pagination_parameters: Any) -> list[Invite]:
        """The room's invite links (owner and admins)

        Codes are shown only when created; here an invite is known by its `id` and `code_prefix`.
        """
        return paginate_query(services.invites_statement(room), pagination_parameters)

    @blp.doc(operationId="createInvite")
    @blp.auth_required("rooms:write")
    @blp.arguments(
        CreateInviteParameters, example={"expires_in": 86400, "max_uses": 10, "requires_approval": True}
    )
    @blp.resolve("room_id", rooms.get_visible_or_404, permissions.may_invite)
    @blp.response(201, NewInviteSchema, links=INVITE_LINKS)
    def post(self, args: dict[str, Any], room: Room) -> tuple[Invite, int, dict[str, str]]:
        """Create an invite link (owner and admins); its `code` and `url` are shown this once

        With `requires_approval` (the default) accepting files a join request for a manager to approve.
        """
        invite = services.create_invite(room, current_user, **args)
        location = url_for("invites.InviteByCode", room_id=invite.room_id, code=invite.id)
        return invite, 201, {"Location": location}


@blp.route("/rooms/<id:room_id>/invites/<string:code>", tags=IN_ROOMS)
class InviteByCode(MethodView):
    @blp.doc(operationId="getInvite")
    @blp.auth_required("rooms:read")
    @MANAGED_ROOM
    @INVITE
    @blp.response(200, InviteSchema)
    def get(self, room: Room, invite: Invite) -> Invite:
        """One invite link, by its id or its code (owner and admins)

        Owner and admins only.
        """
        return invite

    @blp.doc(operationId="deleteInvite")
    @blp.auth_required("rooms:write")
    @MANAGED_ROOM
    @INVITE
    @blp.response(204)
    def delete(self, room: Room, invite: Invite) -> None:
        """Withdraw an invite link, by its id or its code (owner and admins)

        The link stops working at once; join requests already filed stay.
        """
        services.delete_invite(invite)


@blp.route("/rooms/<id:room_id>/join-requests", tags=IN_ROOMS)
class JoinRequests(MethodView):
    @blp.doc(operationId="listJoinRequests")
    @blp.auth_required("rooms:read")
    @blp.arguments(JoinRequestListParameters, location="query")
    @MANAGED_ROOM
    @blp.response(200, JoinRequestSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], room: Room, pagination_parameters: Any) -> list[JoinRequest]:
        """Requests to join through an invite (owner and admins); `?status=pending` filters

        Owner and admins only; paginated with `X-Pagination`.
        """
        statement = services.join_requests_statement(room, args.get("status"))
        return paginate_query(statement, pagination_parameters)


@blp.route("/rooms/<id:room_id>/join-requests/<id:request_id>/approve", tags=IN_ROOMS)
class ApproveJoinRequest(MethodView):
    @blp.doc(operationId="approveJoinRequest")
    @blp.auth_required("rooms:write")
    @MANAGED_ROOM
    @JOIN_REQUEST
    @blp.response(200, JoinRequestSchema)
    def post(self, room: Room, join_request: JoinRequest) -> JoinRequest:
        """Let the requester in (owner and admins)

        The requester becomes a member and hears `join_request.resolved`.
        """
        return services.resolve_join_request(room, current_user, join_request, approve=True)


@blp.route("/rooms/<id:room_id>/join-requests/<id:request_id>/reject", tags=IN_ROOMS)
class RejectJoinRequest(MethodView):
    @blp.doc(operationId="rejectJoinRequest")
    @blp.auth_required("rooms:write")
    @MANAGED_ROOM
    @JOIN_REQUEST
    @blp.response(200, JoinRequestSchema)
    def post(self, room: Room, join_request: JoinRequest) -> JoinRequest:
        """Turn the request down (owner and admins)

        The requester hears `join_request.resolved`; they may use another invite later.
        """
        return services.resolve_join_request(room, current_user, join_request, approve=False)


@blp.route("/invites/<string:code>/accept")
class AcceptInvite(MethodView):
    @blp.doc(operationId="acceptInvite")
    @blp.auth_required("rooms:write")
    @blp.response(200, RoomSchema)
    @blp.alt_response(
        202, schema=JoinRequestSchema, description="A join request awaits approval", links=JOIN_REQUEST_LINKS
    )
    @blp.doc(responses={"409": "CONFLICT", "410": "GONE"})
    def post(self, code: str) -> Any:
        """Use an invite: join at once (200), or file a join request for approval (202)

        An expired or used-up invite is 410; already being a member is 409.
        """
        room, join_request = services.accept_invite(code, current_user)
        if room is not None:
            reactions.attach([room.live_last_message], current_user)
            return room
        response: Response = jsonify(JoinRequestSchema().dump(join_request))
        response.status_code = 202
        return response


@blp.route("/join-requests")
class MyJoinRequests(MethodView):
    @blp.doc(operationId="listMyJoinRequests")
    @blp.auth_required("rooms:read")
    @blp.response(200, JoinRequestSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[JoinRequest]:
        """Your own join requests and their outcome

        So that a requester can see whether they were let in.
        """
        return paginate_query(services.own_join_requests_statement(current_user), pagination_parameters)
