from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.edit_message_parameters import EditMessageParameters
from ...models.error import Error
from ...models.message import Message
from ...types import Response


def _get_kwargs(
    room_id: int,
    message_id: int,
    *,
    body: EditMessageParameters,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/rooms/{room_id}/messages/{message_id}".format(
            room_id=quote(str(room_id), safe=""),
            message_id=quote(str(message_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | Message:
    if response.status_code == 200:
        response_200 = Message.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | Message]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    room_id: int,
    message_id: int,
    *,
    client: AuthenticatedClient,
    body: EditMessageParameters,
) -> Response[Error | Message]:
    """Edit your message (sets `edited_at`)

     Only the author may edit; every member's stream gets `message.updated`.

    Args:
        room_id (int):
        message_id (int):
        body (EditMessageParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Message]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        message_id=message_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    room_id: int,
    message_id: int,
    *,
    client: AuthenticatedClient,
    body: EditMessageParameters,
) -> Error | Message | None:
    """Edit your message (sets `edited_at`)

     Only the author may edit; every member's stream gets `message.updated`.

    Args:
        room_id (int):
        message_id (int):
        body (EditMessageParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Message
    """

    return sync_detailed(
        room_id=room_id,
        message_id=message_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    room_id: int,
    message_id: int,
    *,
    client: AuthenticatedClient,
    body: EditMessageParameters,
) -> Response[Error | Message]:
    """Edit your message (sets `edited_at`)

     Only the author may edit; every member's stream gets `message.updated`.

    Args:
        room_id (int):
        message_id (int):
        body (EditMessageParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Message]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        message_id=message_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    room_id: int,
    message_id: int,
    *,
    client: AuthenticatedClient,
    body: EditMessageParameters,
) -> Error | Message | None:
    """Edit your message (sets `edited_at`)

     Only the author may edit; every member's stream gets `message.updated`.

    Args:
        room_id (int):
        message_id (int):
        body (EditMessageParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Message
    """

    return (
        await asyncio_detailed(
            room_id=room_id,
            message_id=message_id,
            client=client,
            body=body,
        )
    ).parsed
