from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.member import Member
from ...models.update_member_parameters import UpdateMemberParameters
from ...types import Response


def _get_kwargs(
    room_id: int,
    user_ref: str,
    *,
    body: UpdateMemberParameters,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/v1/rooms/{room_id}/members/{user_ref}".format(
            room_id=quote(str(room_id), safe=""),
            user_ref=quote(str(user_ref), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | Member:
    if response.status_code == 200:
        response_200 = Member.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | Member]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    room_id: int,
    user_ref: str,
    *,
    client: AuthenticatedClient,
    body: UpdateMemberParameters,
) -> Response[Error | Member]:
    """Change a member's role (owner); `owner` hands the room over

     Giving `owner` transfers the room: you become an admin.

    Args:
        room_id (int):
        user_ref (str):
        body (UpdateMemberParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Member]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        user_ref=user_ref,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    room_id: int,
    user_ref: str,
    *,
    client: AuthenticatedClient,
    body: UpdateMemberParameters,
) -> Error | Member | None:
    """Change a member's role (owner); `owner` hands the room over

     Giving `owner` transfers the room: you become an admin.

    Args:
        room_id (int):
        user_ref (str):
        body (UpdateMemberParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Member
    """

    return sync_detailed(
        room_id=room_id,
        user_ref=user_ref,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    room_id: int,
    user_ref: str,
    *,
    client: AuthenticatedClient,
    body: UpdateMemberParameters,
) -> Response[Error | Member]:
    """Change a member's role (owner); `owner` hands the room over

     Giving `owner` transfers the room: you become an admin.

    Args:
        room_id (int):
        user_ref (str):
        body (UpdateMemberParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Member]
    """

    kwargs = _get_kwargs(
        room_id=room_id,
        user_ref=user_ref,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    room_id: int,
    user_ref: str,
    *,
    client: AuthenticatedClient,
    body: UpdateMemberParameters,
) -> Error | Member | None:
    """Change a member's role (owner); `owner` hands the room over

     Giving `owner` transfers the room: you become an admin.

    Args:
        room_id (int):
        user_ref (str):
        body (UpdateMemberParameters):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Member
    """

    return (
        await asyncio_detailed(
            room_id=room_id,
            user_ref=user_ref,
            client=client,
            body=body,
        )
    ).parsed
