from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.poll import Poll
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    since: int | Unset = UNSET,
    timeout: int | Unset = 30,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["since"] = since

    params["timeout"] = timeout

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/events/poll",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | Poll:
    if response.status_code == 200:
        response_200 = Poll.from_dict(response.json())

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

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    response_default = Error.from_dict(response.json())

    return response_default


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | Poll]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    since: int | Unset = UNSET,
    timeout: int | Unset = 30,
) -> Response[Error | Poll]:
    """The same events for clients that cannot stream: answers as soon as one is there

     Holds the request open up to `timeout` seconds until an event arrives; pass the answer's
    `last_event_id` as `since` next time so that nothing is missed between polls.

    Args:
        since (int | Unset):
        timeout (int | Unset):  Default: 30.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Poll]
    """

    kwargs = _get_kwargs(
        since=since,
        timeout=timeout,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    since: int | Unset = UNSET,
    timeout: int | Unset = 30,
) -> Error | Poll | None:
    """The same events for clients that cannot stream: answers as soon as one is there

     Holds the request open up to `timeout` seconds until an event arrives; pass the answer's
    `last_event_id` as `since` next time so that nothing is missed between polls.

    Args:
        since (int | Unset):
        timeout (int | Unset):  Default: 30.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Poll
    """

    return sync_detailed(
        client=client,
        since=since,
        timeout=timeout,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    since: int | Unset = UNSET,
    timeout: int | Unset = 30,
) -> Response[Error | Poll]:
    """The same events for clients that cannot stream: answers as soon as one is there

     Holds the request open up to `timeout` seconds until an event arrives; pass the answer's
    `last_event_id` as `since` next time so that nothing is missed between polls.

    Args:
        since (int | Unset):
        timeout (int | Unset):  Default: 30.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Poll]
    """

    kwargs = _get_kwargs(
        since=since,
        timeout=timeout,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    since: int | Unset = UNSET,
    timeout: int | Unset = 30,
) -> Error | Poll | None:
    """The same events for clients that cannot stream: answers as soon as one is there

     Holds the request open up to `timeout` seconds until an event arrives; pass the answer's
    `last_event_id` as `since` next time so that nothing is missed between polls.

    Args:
        since (int | Unset):
        timeout (int | Unset):  Default: 30.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Poll
    """

    return (
        await asyncio_detailed(
            client=client,
            since=since,
            timeout=timeout,
        )
    ).parsed
