from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    since: int | Unset = UNSET,
    ticket: str | Unset = UNSET,
    last_event_id: int | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = str(last_event_id)

    params: dict[str, Any] = {}

    params["since"] = since

    params["ticket"] = ticket

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/events",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | str:
    if response.status_code == 200:
        response_200 = response.text
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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | str]:
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
    ticket: str | Unset = UNSET,
    last_event_id: int | Unset = UNSET,
) -> Response[Error | str]:
    """Every event that concerns you, as Server-Sent Events

     Resumes after `Last-Event-ID` (or `since`); a resume point too old to replay
    gets one `reset` event. Keep-alive comments every 15 s. Authenticate with the
    bearer header, or with `?ticket=` from `POST /api/v1/events/ticket`.

    Args:
        since (int | Unset):
        ticket (str | Unset):
        last_event_id (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | str]
    """

    kwargs = _get_kwargs(
        since=since,
        ticket=ticket,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    since: int | Unset = UNSET,
    ticket: str | Unset = UNSET,
    last_event_id: int | Unset = UNSET,
) -> Error | str | None:
    """Every event that concerns you, as Server-Sent Events

     Resumes after `Last-Event-ID` (or `since`); a resume point too old to replay
    gets one `reset` event. Keep-alive comments every 15 s. Authenticate with the
    bearer header, or with `?ticket=` from `POST /api/v1/events/ticket`.

    Args:
        since (int | Unset):
        ticket (str | Unset):
        last_event_id (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | str
    """

    return sync_detailed(
        client=client,
        since=since,
        ticket=ticket,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    since: int | Unset = UNSET,
    ticket: str | Unset = UNSET,
    last_event_id: int | Unset = UNSET,
) -> Response[Error | str]:
    """Every event that concerns you, as Server-Sent Events

     Resumes after `Last-Event-ID` (or `since`); a resume point too old to replay
    gets one `reset` event. Keep-alive comments every 15 s. Authenticate with the
    bearer header, or with `?ticket=` from `POST /api/v1/events/ticket`.

    Args:
        since (int | Unset):
        ticket (str | Unset):
        last_event_id (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | str]
    """

    kwargs = _get_kwargs(
        since=since,
        ticket=ticket,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    since: int | Unset = UNSET,
    ticket: str | Unset = UNSET,
    last_event_id: int | Unset = UNSET,
) -> Error | str | None:
    """Every event that concerns you, as Server-Sent Events

     Resumes after `Last-Event-ID` (or `since`); a resume point too old to replay
    gets one `reset` event. Keep-alive comments every 15 s. Authenticate with the
    bearer header, or with `?ticket=` from `POST /api/v1/events/ticket`.

    Args:
        since (int | Unset):
        ticket (str | Unset):
        last_event_id (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | str
    """

    return (
        await asyncio_detailed(
            client=client,
            since=since,
            ticket=ticket,
            last_event_id=last_event_id,
        )
    ).parsed
