from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.o_auth_2_error import OAuth2Error
from ...models.token import Token
from ...models.token_request_parameters import TokenRequestParameters
from ...types import Response


def _get_kwargs(
    *,
    body: TokenRequestParameters,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/auth/oauth2/token",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | OAuth2Error | Token:
    if response.status_code == 200:
        response_200 = Token.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = OAuth2Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = OAuth2Error.from_dict(response.json())

        return response_401

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    response_default = Error.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | OAuth2Error | Token]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: TokenRequestParameters,
) -> Response[Error | OAuth2Error | Token]:
    """Issue a token (password, client_credentials, refresh_token, authorization_code + PKCE)

     Client authentication: HTTP Basic or form `client_id`/`client_secret`; public
    clients send `client_id` alone. A used refresh token is dead; presenting it
    again revokes every token of its chain. The body may also be `multipart/form-data`.
    Unknown parameters are ignored, as RFC 6749 (§3.1, §3.2) requires.

    Args:
        body (TokenRequestParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | OAuth2Error | Token]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: TokenRequestParameters,
) -> Error | OAuth2Error | Token | None:
    """Issue a token (password, client_credentials, refresh_token, authorization_code + PKCE)

     Client authentication: HTTP Basic or form `client_id`/`client_secret`; public
    clients send `client_id` alone. A used refresh token is dead; presenting it
    again revokes every token of its chain. The body may also be `multipart/form-data`.
    Unknown parameters are ignored, as RFC 6749 (§3.1, §3.2) requires.

    Args:
        body (TokenRequestParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | OAuth2Error | Token
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: TokenRequestParameters,
) -> Response[Error | OAuth2Error | Token]:
    """Issue a token (password, client_credentials, refresh_token, authorization_code + PKCE)

     Client authentication: HTTP Basic or form `client_id`/`client_secret`; public
    clients send `client_id` alone. A used refresh token is dead; presenting it
    again revokes every token of its chain. The body may also be `multipart/form-data`.
    Unknown parameters are ignored, as RFC 6749 (§3.1, §3.2) requires.

    Args:
        body (TokenRequestParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | OAuth2Error | Token]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: TokenRequestParameters,
) -> Error | OAuth2Error | Token | None:
    """Issue a token (password, client_credentials, refresh_token, authorization_code + PKCE)

     Client authentication: HTTP Basic or form `client_id`/`client_secret`; public
    clients send `client_id` alone. A used refresh token is dead; presenting it
    again revokes every token of its chain. The body may also be `multipart/form-data`.
    Unknown parameters are ignored, as RFC 6749 (§3.1, §3.2) requires.

    Args:
        body (TokenRequestParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | OAuth2Error | Token
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
