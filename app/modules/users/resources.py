"""/api/v1/users: sign-up, search, your own account, public profiles."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView

from app.extensions.api import Blueprint, links_to
from app.extensions.auth import current_token, current_user
from app.extensions.ratelimit import sign_up_limit

from . import services
from .models import User
from .parameters import DeleteMeParameters, SignUpParameters, UpdateMeParameters, UserSearchParameters
from .schemas import MeSchema, ProfileSchema, UserSchema, shown_caller

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Accounts and profiles")


@blp.route("")
class Users(MethodView):
    @blp.doc(operationId="searchUsers")
    @blp.auth_required("users:read")
    @blp.arguments(UserSearchParameters, location="query")
    @blp.response(200, UserSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[User]:
        """Search users by username or display-name prefix

        Case-insensitive prefix match; deleted users are never listed.
        """
        return services.search_page(args.get("q"), pagination_parameters)

    @blp.doc(operationId="signUp")
    @sign_up_limit
    @blp.arguments(
        SignUpParameters,
        example={"username": "alice", "password": "correct horse battery", "display_name": "Alice"},
    )
    @blp.response(201, MeSchema, links=links_to("getUser", "reportUser", user_id="$response.body#/id"))
    @blp.doc(responses={"409": "CONFLICT", "429": "TOO_MANY_REQUESTS"})
    def post(self, args: dict[str, Any]) -> tuple[User, int, dict[str, str]]:
        """Sign up; the new user joins `general`

        No token needed. Usernames are unique regardless of case (409). Sign-ups are rate-limited per address.
        """
        user = services.create_user(**args)
        return user, 201, {"Location": url_for("users.UserById", user_id=user.id)}


@blp.route("/me")
class Me(MethodView):
    @blp.doc(operationId="getCurrentUser")
    @blp.auth_required("users:read")
    @blp.response(200, MeSchema)
    def get(self) -> ResponseReturnValue:
        """Your own profile

        Includes your email, admin flag and any ban.
        """
        # Answered as MeSchema shows the caller, without smorest's dump and JSON wrapping of it.
        return current_app.json.response(shown_caller(current_user._get_current_object()))

    @blp.doc(operationId="updateCurrentUser")
    @blp.auth_required("users:write")
    @blp.arguments(UpdateMeParameters, example={"display_name": "Alice Liddell"})
    @blp.doc(responses={"429": "TOO_MANY_REQUESTS"})  # wrong current passwords, per account
    @blp.response(200, MeSchema)
    def patch(self, args: dict[str, Any]) -> User:
        """Change your profile; `password` and `email` need `current_password`

        A new password ends every other session: all your other tokens are revoked.
        """
        return services.update_profile(current_user.entity(), args, token_id=current_token.id)

    @blp.doc(operationId="deleteCurrentUser")
    @blp.auth_required("users:write")
    @blp.arguments(DeleteMeParameters, example={"current_password": "correct horse battery"})
    @blp.doc(responses={"429": "TOO_MANY_REQUESTS"})  # wrong current passwords, per account
    @blp.response(204)
    def delete(self, args: dict[str, Any]) -> None:
        """Delete your account: every token is revoked, your messages stay under a deleted user

        Irreversible; needs your current password.
        """
        services.delete_account(current_user.entity(), args["current_password"])


@blp.route("/<id:user_id>")
class UserById(MethodView):
    @blp.doc(operationId="getUser")
    @blp.auth_required("users:read")
    @blp.resolve("user_id", services.get_or_404)
    @blp.response(200, ProfileSchema)
    def get(self, user: User) -> User:
        """A public profile with `presence` (email only for yourself and admins)

        Deleted users show as `deleted-user`.
        """
        services.attach_presence([user])
        return user
