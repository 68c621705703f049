from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.join_request import JoinRequest
from ...types import Response


def _get_kwargs(
    room_id: int,
    request_id: int,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/rooms/{room_id}/join-requests/{request_id}/approve".format(
            room_id=quote(str(room_id), safe=""),
            request_id=quote(str(request_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | JoinRequest:
    if response.status_code == 200:
        response_200 = JoinRequest.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    response_default = Error.from_dict(response.json())

    return response_default


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | JoinRequest]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    room_id: int,
    request_id: int,
    *,
    client: AuthenticatedClient,
) -> Response[Error | JoinRequest]:
    """Let the requester in (owner and admins)

     The requester becomes a member and hears `join_request.resolved`.

    Args:
        room_id (int):
        request_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | JoinRequest]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        request_id=request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    room_id: int,
    request_id: int,
    *,
    client: AuthenticatedClient,
) -> Error | JoinRequest | None:
    """Let the requester in (owner and admins)

     The requester becomes a member and hears `join_request.resolved`.

    Args:
        room_id (int):
        request_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | JoinRequest
    """

    return sync_detailed(
        room_id=room_id,
        request_id=request_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    room_id: int,
    request_id: int,
    *,
    client: AuthenticatedClient,
) -> Response[Error | JoinRequest]:
    """Let the requester in (owner and admins)

     The requester becomes a member and hears `join_request.resolved`.

    Args:
        room_id (int):
        request_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | JoinRequest]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        request_id=request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    room_id: int,
    request_id: int,
    *,
    client: AuthenticatedClient,
) -> Error | JoinRequest | None:
    """Let the requester in (owner and admins)

     The requester becomes a member and hears `join_request.resolved`.

    Args:
        room_id (int):
        request_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | JoinRequest
    """

    return (
        await asyncio_detailed(
            room_id=room_id,
            request_id=request_id,
            client=client,
        )
    ).parsed
