from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.message import Message
from ...types import UNSET, Response, Unset


def _get_kwargs(
    room_id: int,
    message_id: int,
    *,
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["before"] = before

    params["after"] = after

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/rooms/{room_id}/messages/{message_id}/replies".format(
            room_id=quote(str(room_id), safe=""),
            message_id=quote(str(message_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | list[Message]:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = Message.from_dict(response_200_item_data)

            response_200.append(response_200_item)

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

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    response_default = Error.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | list[Message]]:
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
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> Response[Error | list[Message]]:
    """The replies to one message, oldest first, with the same cursors as the history

     A reply thread is paged like the room's history, with `Link` cursors.

    Args:
        room_id (int):
        message_id (int):
        before (int | Unset):
        after (int | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[Message]]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        message_id=message_id,
        before=before,
        after=after,
        limit=limit,
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
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> Error | list[Message] | None:
    """The replies to one message, oldest first, with the same cursors as the history

     A reply thread is paged like the room's history, with `Link` cursors.

    Args:
        room_id (int):
        message_id (int):
        before (int | Unset):
        after (int | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[Message]
    """

    return sync_detailed(
        room_id=room_id,
        message_id=message_id,
        client=client,
        before=before,
        after=after,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    room_id: int,
    message_id: int,
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> Response[Error | list[Message]]:
    """The replies to one message, oldest first, with the same cursors as the history

     A reply thread is paged like the room's history, with `Link` cursors.

    Args:
        room_id (int):
        message_id (int):
        before (int | Unset):
        after (int | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[Message]]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        message_id=message_id,
        before=before,
        after=after,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    room_id: int,
    message_id: int,
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> Error | list[Message] | None:
    """The replies to one message, oldest first, with the same cursors as the history

     A reply thread is paged like the room's history, with `Link` cursors.

    Args:
        room_id (int):
        message_id (int):
        before (int | Unset):
        after (int | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[Message]
    """

    return (
        await asyncio_detailed(
            room_id=room_id,
            message_id=message_id,
            client=client,
            before=before,
            after=after,
            limit=limit,
        )
    ).parsed
