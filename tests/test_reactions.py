"""Reactions over HTTP (docs/api.md, Messages): adding and removing them, the emoji a reaction may
be, each viewer's `me`, the ceiling per member, tombstones and bans, the cost of a history page
with reactions, and concurrent identical requests.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.assertions import assert_error, assert_invalid, ok
from tests.bans import ban
from tests.concurrency import at_once, event_types, repeated, statuses
from tests.conftest import bearer
from tests.polls import mark, received
from tests.rooms import ROOMS, messages_path
from tests.statements import counted_statements

THUMBS, HEART, PARTY = "👍", "❤️", "🎉"


def reaction_path(room_id: int, message_id: int, emoji: str) -> str:
    return messages_path(room_id, message_id, "reactions", quote(emoji, safe=""))


def shared_room(client, owner, *members) -> int:
    body = {"name": "lounge", "members": [m.username for m in members]}
    return ok(client.post(ROOMS, headers=owner.headers, json=body), 201)["id"]


def send(client, user, room_id: int, body: str = "hello") -> dict[str, Any]:
    return ok(client.post(messages_path(room_id), headers=user.headers, json={"body": body}), 201)


def react(client, user, room_id: int, message_id: int, emoji: str, status: int = 201) -> Any:
    return ok(client.put(reaction_path(room_id, message_id, emoji), headers=user.headers), status)


def unreact(client, user, room_id: int, message_id: int, emoji: str) -> Any:
    return client.delete(reaction_path(room_id, message_id, emoji), headers=user.headers)


def reactions_seen(client, user, room_id: int, message_id: int) -> list[dict[str, Any]]:
    return ok(client.get(messages_path(room_id, message_id), headers=user.headers))["reactions"]


@pytest.fixture
def scene(client, alice, bob) -> tuple[int, int]:
    """A room of alice and bob, and a message of alice's in it."""
    room_id = shared_room(client, alice, bob)
    return room_id, send(client, alice, room_id)["id"]


# --- adding, removing, showing ----------------------------------------------------------------


def test_a_reaction_is_201_with_its_location_then_200_and_the_message_carries_it(client, alice, scene):
    room_id, message_id = scene
    response = client.put(reaction_path(room_id, message_id, THUMBS), headers=alice.headers)
    body = ok(response, 201)
    assert response.headers["Location"].endswith(reaction_path(room_id, message_id, THUMBS))
    assert body["id"] == message_id
    assert body["reactions"] == [{"emoji": THUMBS, "count": 1, "me": True}]
    again = react(client, alice, room_id, message_id, THUMBS, 200)
    assert again["reactions"] == [{"emoji": THUMBS, "count": 1, "me": True}]


def test_counts_are_everyone_s_and_me_is_each_viewer_s_own_in_first_given_order(client, alice, bob, scene):
    room_id, message_id = scene
    react(client, bob, room_id, message_id, PARTY)
    react(client, alice, room_id, message_id, THUMBS)
    react(client, alice, room_id, message_id, PARTY)
    react(client, bob, room_id, message_id, ":heart:")
    assert reactions_seen(client, alice, room_id, message_id) == [
        {"emoji": PARTY, "count": 2, "me": True},
        {"emoji": THUMBS, "count": 1, "me": True},
        {"emoji": ":heart:", "count": 1, "me": False},
    ]
    history = ok(client.get(messages_path(room_id), headers=bob.headers))
    assert history[-1]["reactions"] == [
        {"emoji": PARTY, "count": 2, "me": True},
        {"emoji": THUMBS, "count": 1, "me": False},
        {"emoji": ":heart:", "count": 1, "me": True},
    ]


def test_removing_a_reaction_is_204_then_404_and_an_emptied_emoji_disappears(client, alice, bob, scene):
    room_id, message_id = scene
    react(client, alice, room_id, message_id, THUMBS)
    react(client, bob, room_id, message_id, THUMBS)
    response = unreact(client, alice, room_id, message_id, THUMBS)
    assert response.status_code == 204 and response.data == b""
    assert reactions_seen(client, alice, room_id, message_id) == [{"emoji": THUMBS, "count": 1, "me": False}]
    assert_error(unreact(client, alice, room_id, message_id, THUMBS), 404)
    assert unreact(client, bob, room_id, message_id, THUMBS).status_code == 204
    assert reactions_seen(client, bob, room_id, message_id) == []


def test_a_room_s_last_message_carries_its_reactions_as_each_viewer_sees_them(client, alice, bob, scene):
    room_id, message_id = scene
    react(client, bob, room_id, message_id, THUMBS)
    for viewer, me in ((alice, False), (bob, True)):
        shown = [{"emoji": THUMBS, "count": 1, "me": me}]
        assert (
            ok(client.get(f"{ROOMS}/{room_id}", headers=viewer.headers))["last_message"]["reactions"] == shown
        )
        (listed,) = [r for r in ok(client.get(ROOMS, headers=viewer.headers)) if r["id"] == room_id]
        assert listed["last_message"]["reactions"] == shown


def test_replies_and_search_results_carry_reactions_too(client, alice, bob, scene):
    room_id, message_id = scene
    body = {"body": "a walrus reply", "parent_id": message_id}
    reply = ok(client.post(messages_path(room_id), headers=bob.headers, json=body), 201)
    react(client, alice, room_id, reply["id"], ":tada:")
    shown = [{"emoji": ":tada:", "count": 1, "me": True}]
    replies = ok(client.get(messages_path(room_id, message_id, "replies"), headers=alice.headers))
    assert [r["reactions"] for r in replies] == [shown]
    found = ok(client.get("/api/v1/messages/search", query_string={"q": "walrus"}, headers=alice.headers))
    assert [m["reactions"] for m in found] == [shown]


@pytest.mark.parametrize(
    "emoji",
    [
        "👍🏽",  # skin tone
        "👩‍❤️‍👨",  # ZWJ sequence
        "🧑🏿‍💻",  # ZWJ sequence with a skin tone
        "🏳️‍🌈",
        "#️⃣",  # keycap
        "🇯🇵",  # flag
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # subdivision flag
        "❤",  # text presentation
        ":thumbsup:",
        ":+1:",
    ],
)
def test_one_emoji_grapheme_or_a_listed_short_name_is_a_reaction(client, alice, scene, emoji):
    room_id, message_id = scene
    body = react(client, alice, room_id, message_id, emoji)
    assert body["reactions"] == [{"emoji": emoji, "count": 1, "me": True}]


@pytest.mark.parametrize(
    "emoji", ["a", "1", "👍👍", "👍a", " 👍", "🇯", "🇯🇵🇫🇷", ":not_listed:", "::", ":thumbsup", "\u200d"]
)
def test_anything_else_is_422_naming_the_path_field_emoji(client, alice, scene, emoji):
    room_id, message_id = scene
    response = client.put(reaction_path(room_id, message_id, emoji), headers=alice.headers)
    assert_invalid(response, "path", "emoji")
    assert_invalid(unreact(client, alice, room_id, message_id, emoji), "path", "emoji")
    assert reactions_seen(client, alice, room_id, message_id) == []


def test_a_member_holds_at_most_the_configured_number_of_reactions_per_message(
    app, client, alice, bob, scene, monkeypatch
):
    room_id, message_id = scene
    monkeypatch.setitem(app.config, "MAX_REACTIONS_PER_MESSAGE", 2)
    react(client, alice, room_id, message_id, THUMBS)
    react(client, alice, room_id, message_id, PARTY)
    assert_error(client.put(reaction_path(room_id, message_id, HEART), headers=alice.headers), 409)
    react(client, alice, room_id, message_id, THUMBS, 200)  # one already held is no new one
    react(client, bob, room_id, message_id, HEART)  # the ceiling is each member's own
    assert [r["emoji"] for r in reactions_seen(client, alice, room_id, message_id)] == [THUMBS, PARTY, HEART]


# --- who may ------------------------------------------------------------------------------------


def test_a_deleted_message_loses_its_reactions_and_takes_no_new_ones(client, alice, bob, scene):
    room_id, message_id = scene
    react(client, bob, room_id, message_id, THUMBS)
    assert client.delete(messages_path(room_id, message_id), headers=alice.headers).status_code == 204
    assert reactions_seen(client, bob, room_id, message_id) == []
    assert_error(client.put(reaction_path(room_id, message_id, PARTY), headers=bob.headers), 409)
    assert_error(unreact(client, bob, room_id, message_id, THUMBS), 404)


def test_a_banned_user_cannot_react(app, client, make_user, bob, scene):
    room_id, message_id = scene
    ban(app, client, make_user, bob)
    response = client.put(reaction_path(room_id, message_id, THUMBS), headers=bob.headers)
    assert_error(response, 403)
    assert response.headers["X-Banned-Until"]
    assert reactions_seen(client, bob, room_id, message_id) == []


def test_non_members_get_404_and_reacting_needs_messages_write(client, alice, bob, make_user, scene):
    room_id, message_id = scene
    carol = make_user("carol")
    assert_error(client.put(reaction_path(room_id, message_id, THUMBS), headers=carol.headers), 404)
    assert_error(unreact(client, carol, room_id, message_id, THUMBS), 404)
    assert_error(client.put(reaction_path(room_id, 10**6, THUMBS), headers=bob.headers), 404)
    reader = bearer(bob.token_with("messages:read"))
    assert_error(client.put(reaction_path(room_id, message_id, THUMBS), headers=reader), 403)
    assert_error(client.delete(reaction_path(room_id, message_id, THUMBS), headers=reader), 403)


# --- events -------------------------------------------------------------------------------------


def test_reaction_updated_carries_the_counts_and_each_receiver_s_own_me(client, alice, bob, scene):
    room_id, message_id = scene
    since = mark(client, alice)
    react(client, alice, room_id, message_id, THUMBS)
    react(client, alice, room_id, message_id, THUMBS, 200)  # a repeat tells no one
    react(client, bob, room_id, message_id, THUMBS)
    assert unreact(client, alice, room_id, message_id, THUMBS).status_code == 204
    counts = [
        [{"emoji": THUMBS, "count": 1}],
        [{"emoji": THUMBS, "count": 2}],
        [{"emoji": THUMBS, "count": 1}],
    ]
    mine = {alice.username: [True, True, False], bob.username: [False, True, True]}
    for viewer in (alice, bob):
        seen = received(client, viewer, since, "reaction.updated")
        assert [e["message_id"] for e in seen] == [message_id] * 3
        assert [e["room_id"] for e in seen] == [room_id] * 3
        assert [[{**r, "me": None} for r in e["reactions"]] for e in seen] == [
            [{**r, "me": None} for r in each] for each in counts
        ]
        assert [e["reactions"][0]["me"] for e in seen] == mine[viewer.username]


def test_an_edited_message_s_event_shows_each_receiver_their_own_me(client, alice, bob, scene):
    room_id, message_id = scene
    react(client, bob, room_id, message_id, THUMBS)
    since = mark(client, alice)
    ok(client.patch(messages_path(room_id, message_id), headers=alice.headers, json={"body": "edited"}))
    for viewer, me in ((alice, False), (bob, True)):
        (edited,) = received(client, viewer, since, "message.updated")
        assert edited["body"] == "edited"
        assert edited["reactions"] == [{"emoji": THUMBS, "count": 1, "me": me}]


# --- cost ---------------------------------------------------------------------------------------


def test_a_history_page_with_reactions_costs_as_many_queries_for_5_messages_as_for_50(
    app, client, alice, bob, scene
):
    room_id, _ = scene
    for number in range(50):
        message_id = send(client, bob, room_id, f"message {number}")["id"]
        if number % 5 == 4:  # reactions on both pages, from both members
            react(client, alice, room_id, message_id, THUMBS)
            react(client, bob, room_id, message_id, ":tada:")
    costs = {}
    for limit in (5, 50):
        with counted_statements(app) as statements:
            response = client.get(
                messages_path(room_id), query_string={"limit": limit}, headers=alice.headers
            )
        page = ok(response)
        assert len(page) == limit
        assert page[-1]["reactions"] == [
            {"emoji": THUMBS, "count": 1, "me": True},
            {"emoji": ":tada:", "count": 1, "me": False},
        ]
        costs[limit] = len(statements)
    assert costs[5] == costs[50]


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_identical_reactions_make_one_201_the_rest_200_and_one_event(
    app, client, live_server, alice, scene
):
    room_id, message_id = scene
    since = mark(client, alice)
    answers = repeated(live_server, alice, "PUT", reaction_path(room_id, message_id, THUMBS))
    assert statuses(answers) == {201: 1, 200: len(answers) - 1}
    assert event_types(app, since) == {"reaction.updated": 1}
    assert reactions_seen(client, alice, room_id, message_id) == [{"emoji": THUMBS, "count": 1, "me": True}]


def test_concurrent_different_reactions_never_pass_the_ceiling_and_counts_end_right(
    app, client, live_server, alice, bob, scene, monkeypatch
):
    room_id, message_id = scene
    monkeypatch.setitem(app.config, "MAX_REACTIONS_PER_MESSAGE", 3)
    emoji = [THUMBS, PARTY, HEART, "🔥", "😂", "👀"]
    calls = [(alice, "PUT", reaction_path(room_id, message_id, e), None) for e in emoji]
    calls += [(bob, "PUT", reaction_path(room_id, message_id, e), None) for e in emoji[:3]]
    answers = at_once(live_server, calls)
    assert statuses(answers[:6]) == {201: 3, 409: 3}
    assert statuses(answers[6:]) == {201: 3}
    shown = reactions_seen(client, alice, room_id, message_id)
    assert sum(r["count"] for r in shown) == 6
    # The last event's counts are the final ones: each change saw the one committed before it.
    last = received(client, bob, mark(client, bob) - 1, "reaction.updated")[-1]
    assert [(r["emoji"], r["count"]) for r in last["reactions"]] == [(r["emoji"], r["count"]) for r in shown]
