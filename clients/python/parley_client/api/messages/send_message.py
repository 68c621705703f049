from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.message import Message
from ...models.scheduled_message import ScheduledMessage
from ...models.send_message_parameters import SendMessageParameters
from ...types import Response


def _get_kwargs(
    room_id: int,
    *,
    body: SendMessageParameters,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/rooms/{room_id}/messages".format(
            room_id=quote(str(room_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Message | ScheduledMessage:
    if response.status_code == 200:
        response_200 = Message.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = Message.from_dict(response.json())

        return response_201

    if response.status_code == 202:
        response_202 = ScheduledMessage.from_dict(response.json())

        return response_202

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

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

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
) -> Response[Error | Message | ScheduledMessage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    room_id: int,
    *,
    client: AuthenticatedClient,
    body: SendMessageParameters,
) -> Response[Error | Message | ScheduledMessage]:
    """Send a message, or a reply with `parent_id`; or schedule it with `send_at`

     Idempotent with `client_msg_id`: a retry returns the first message (200), never a duplicate.
    `send_at`
    up to 30 days ahead schedules it (202). Posting in `general` is rate-limited per user.

    Args:
        room_id (int):
        body (SendMessageParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Message | ScheduledMessage]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    room_id: int,
    *,
    client: AuthenticatedClient,
    body: SendMessageParameters,
) -> Error | Message | ScheduledMessage | None:
    """Send a message, or a reply with `parent_id`; or schedule it with `send_at`

     Idempotent with `client_msg_id`: a retry returns the first message (200), never a duplicate.
    `send_at`
    up to 30 days ahead schedules it (202). Posting in `general` is rate-limited per user.

    Args:
        room_id (int):
        body (SendMessageParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Message | ScheduledMessage
    """

    return sync_detailed(
        room_id=room_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    room_id: int,
    *,
    client: AuthenticatedClient,
    body: SendMessageParameters,
) -> Response[Error | Message | ScheduledMessage]:
    """Send a message, or a reply with `parent_id`; or schedule it with `send_at`

     Idempotent with `client_msg_id`: a retry returns the first message (200), never a duplicate.
    `send_at`
    up to 30 days ahead schedules it (202). Posting in `general` is rate-limited per user.

    Args:
        room_id (int):
        body (SendMessageParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Message | ScheduledMessage]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    room_id: int,
    *,
    client: AuthenticatedClient,
    body: SendMessageParameters,
) -> Error | Message | ScheduledMessage | None:
    """Send a message, or a reply with `parent_id`; or schedule it with `send_at`

     Idempotent with `client_msg_id`: a retry returns the first message (200), never a duplicate.
    `send_at`
    up to 30 days ahead schedules it (202). Posting in `general` is rate-limited per user.

    Args:
        room_id (int):
        body (SendMessageParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Message | ScheduledMessage
    """

    return (
        await asyncio_detailed(
            room_id=room_id,
            client=client,
            body=body,
        )
    ).parsed
