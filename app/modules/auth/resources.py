"""/api/v1/auth/clients: the caller's own OAuth2 clients."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from app.extensions.api import Blueprint, links_to
from app.extensions.auth import current_token, current_user

from . import services
from .models import OAuth2Client
from .parameters import CreateClientParameters
from .schemas import ClientSchema, CreatedClientSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Your OAuth2 clients")

# OpenAPI links from an answer carrying a client to the operations on it.
CLIENT_LINKS = links_to("getClient", "deleteClient", client_id="$response.body#/client_id")


@blp.route("/clients")
class Clients(MethodView):
    @blp.doc(operationId="listClients")
    @blp.auth_required("auth:read")
    @blp.response(200, ClientSchema(many=True))
    def get(self) -> list[OAuth2Client]:
        """The OAuth2 clients you registered

        Confidential clients' secrets are never shown here: only once, when created.
        """
        return services.list_clients(current_user)

    @blp.doc(operationId="createClient")
    @blp.auth_required("auth:write")
    @blp.arguments(
        CreateClientParameters,
        example={"name": "My bot", "confidential": True, "scope": "messages:read messages:write"},
    )
    @blp.response(201, CreatedClientSchema, links=CLIENT_LINKS)
    def post(self, args: dict[str, Any]) -> tuple[OAuth2Client, int, dict[str, str]]:
        """Register a client, within your token's scope; a secret is shown in this response only

        A confidential client (the default) gets a secret for the client-credentials grant; a public one uses
        the authorization-code flow with PKCE. Its scope cannot exceed your token's.
        """
        client, secret = services.create_client(current_user, granted=current_token.scope, **args)
        client.client_secret = secret  # never stored, only shown
        return client, 201, {"Location": url_for("auth.ClientById", client_id=client.client_id)}


@blp.route("/clients/<string:client_id>")
class ClientById(MethodView):
    @blp.doc(operationId="getClient")
    @blp.auth_required("auth:read")
    @blp.resolve("client_id", services.get_own_client_or_404)
    @blp.response(200, ClientSchema)
    def get(self, client: OAuth2Client) -> OAuth2Client:
        """One of your clients

        Only clients you registered are visible to you; any other id is a 404.
        """
        return client

    @blp.doc(operationId="deleteClient")
    @blp.auth_required("auth:write")
    @blp.resolve("client_id", services.get_own_client_or_404)
    @blp.response(204)
    def delete(self, client: OAuth2Client) -> None:
        """Delete one of your clients; its tokens stop working

        Every access and refresh token issued to the client is revoked with it.
        """
        services.delete_client(client)
