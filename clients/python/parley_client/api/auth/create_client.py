from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.create_client_parameters import CreateClientParameters
from ...models.created_client import CreatedClient
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    *,
    body: CreateClientParameters,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/auth/clients",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CreatedClient | Error:
    if response.status_code == 201:
        response_201 = CreatedClient.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    response_default = Error.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CreatedClient | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateClientParameters,
) -> Response[CreatedClient | Error]:
    """Register a client, within your token's scope; a secret is shown in this response only

     A confidential client (the default) gets a secret for the client-credentials grant; a public one
    uses
    the authorization-code flow with PKCE. Its scope cannot exceed your token's.

    Args:
        body (CreateClientParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedClient | Error]
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
    body: CreateClientParameters,
) -> CreatedClient | Error | None:
    """Register a client, within your token's scope; a secret is shown in this response only

     A confidential client (the default) gets a secret for the client-credentials grant; a public one
    uses
    the authorization-code flow with PKCE. Its scope cannot exceed your token's.

    Args:
        body (CreateClientParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedClient | Error
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateClientParameters,
) -> Response[CreatedClient | Error]:
    """Register a client, within your token's scope; a secret is shown in this response only

     A confidential client (the default) gets a secret for the client-credentials grant; a public one
    uses
    the authorization-code flow with PKCE. Its scope cannot exceed your token's.

    Args:
        body (CreateClientParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedClient | Error]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CreateClientParameters,
) -> CreatedClient | Error | None:
    """Register a client, within your token's scope; a secret is shown in this response only

     A confidential client (the default) gets a secret for the client-credentials grant; a public one
    uses
    the authorization-code flow with PKCE. Its scope cannot exceed your token's.

    Args:
        body (CreateClientParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedClient | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
