from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.scheduled_message import ScheduledMessage
from ...types import UNSET, Response, Unset


def _get_kwargs(
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
        "url": "/api/v1/users/me/scheduled",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | list[ScheduledMessage]:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = ScheduledMessage.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    response_default = Error.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | list[ScheduledMessage]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> Response[Error | list[ScheduledMessage]]:
    """Your pending and failed scheduled messages, oldest first, with the cursors of message history

     A message leaves this list when it is sent; a failed one stays with its `failure_reason` until
    dismissed.

    Args:
        before (int | Unset):
        after (int | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[ScheduledMessage]]
    """

    kwargs = _get_kwargs(
        before=before,
        after=after,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> Error | list[ScheduledMessage] | None:
    """Your pending and failed scheduled messages, oldest first, with the cursors of message history

     A message leaves this list when it is sent; a failed one stays with its `failure_reason` until
    dismissed.

    Args:
        before (int | Unset):
        after (int | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[ScheduledMessage]
    """

    return sync_detailed(
        client=client,
        before=before,
        after=after,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> Response[Error | list[ScheduledMessage]]:
    """Your pending and failed scheduled messages, oldest first, with the cursors of message history

     A message leaves this list when it is sent; a failed one stays with its `failure_reason` until
    dismissed.

    Args:
        before (int | Unset):
        after (int | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[ScheduledMessage]]
    """

    kwargs = _get_kwargs(
        before=before,
        after=after,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    before: int | Unset = UNSET,
    after: int | Unset = UNSET,
    limit: int | Unset = 20,
) -> Error | list[ScheduledMessage] | None:
    """Your pending and failed scheduled messages, oldest first, with the cursors of message history

     A message leaves this list when it is sent; a failed one stays with its `failure_reason` until
    dismissed.

    Args:
        before (int | Unset):
        after (int | Unset):
        limit (int | Unset):  Default: 20.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | list[ScheduledMessage]
    """

    return (
        await asyncio_detailed(
            client=client,
            before=before,
            after=after,
            limit=limit,
        )
    ).parsed
