"""/api/v1/auth/clients: the caller's own OAuth2 clients."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from app.extensions.api import Blueprint
from app.extensions.auth import current_token, current_user

from . import services
from .models import OAuth2Client
from .parameters import CreateClientParameters
from .schemas import ClientSchema, CreatedClientSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Your OAuth2 clients")


@blp.route("/clients")
class Clients(MethodView):
    @blp.auth_required("auth:read")
    @blp.response(200, ClientSchema(many=True))
    def get(self) -> list[OAuth2Client]:
        """The OAuth2 clients you registered"""
        return services.list_clients(current_user)

    @blp.auth_required("auth:write")
    @blp.arguments(CreateClientParameters)
    @blp.response(201, CreatedClientSchema)
    def post(self, args: dict[str, Any]) -> tuple[OAuth2Client, int, dict[str, str]]:
        """Register a client, within your token's scope; a secret is shown in this response only"""
        client, secret = services.create_client(current_user, granted=current_token.scope, **args)
        client.client_secret = secret  # never stored, only shown
        return client, 201, {"Location": url_for("auth.ClientById", client_id=client.client_id)}


@blp.route("/clients/<string:client_id>")
class ClientById(MethodView):
    @blp.auth_required("auth:read")
    @blp.response(200, ClientSchema)
    def get(self, client_id: str) -> OAuth2Client:
        """One of your clients"""
        return services.get_own_client_or_404(current_user, client_id)

    @blp.auth_required("auth:write")
    @blp.response(204)
    def delete(self, client_id: str) -> None:
        """Delete one of your clients; its tokens stop working"""
        services.delete_client(services.get_own_client_or_404(current_user, client_id))
