"""How OAuth2 clients and token responses are shown."""

from marshmallow import fields

from app.extensions.schemas import Schema


class ClientSchema(Schema):
    client_id = fields.String()
    name = fields.String()
    confidential = fields.Boolean()
    redirect_uris = fields.List(fields.String())
    grant_types = fields.List(fields.String())
    scope = fields.String()
    created_at = fields.DateTime()


class CreatedClientSchema(ClientSchema):
    client_secret = fields.String(
        allow_none=True, metadata={"description": "Shown once, now; null for public clients."}
    )


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"example": 3600})
    refresh_token = fields.String(metadata={"optional": True, "description": "Not for client credentials."})
    scope = fields.String(required=True)


class OAuth2ErrorSchema(Schema):
    """RFC 6749 §5.2 error body of the OAuth2 endpoints."""

    error = fields.String(required=True, metadata={"example": "invalid_grant"})
    error_description = fields.String()
