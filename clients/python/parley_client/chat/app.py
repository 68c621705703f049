"""The Textual application: rooms on the left, the open room's messages, and a line to type in.

What is typed is sent to the open room, except the commands `/reply <message id> <text>`,
`/react <emoji>` (to the message highlighted in the list, else the newest), `/dm <username>` (a
direct conversation) and `/join <invite link or code>`. Page Up shows the page of history older
than what is shown. Typing tells the room's members so (at most every `TYPING_EVERY` seconds),
and who else is typing in the open room shows under its messages.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Concatenate, ParamSpec

import httpx
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message as TextualMessage
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, ListItem, ListView
from textual.worker import get_current_worker

from parley_client.chat.session import LoginError, Session
from parley_client.models import Error, JoinRequest, Message, Reaction, Room, ScheduledMessage

DEFAULT_SERVER = "http://127.0.0.1:8000"
# Events after which the room list (names, unread counts, membership) is fetched again.
ROOM_EVENTS = {
    "room.created",
    "room.updated",
    "room.deleted",
    "member.added",
    "member.removed",
    "read.updated",
}


# Events whose data is a message, as the REST API shows it.
MESSAGE_EVENTS = {"message.created", "message.updated", "message.deleted"}


def message_line(message: Message) -> str:
    author = message.author.username if message.author else "deleted user"
    reply = f" ↳#{message.parent_id}" if message.parent_id else ""
    body = "(deleted)" if message.deleted else message.body
    reactions = "".join(f" [{reaction.emoji} {reaction.count}]" for reaction in message.reactions)
    return f"#{message.id}{reply} {author}: {body}{reactions}"


def message_item(message: Message) -> ListItem:
    return ListItem(Label(message_line(message)), id=f"message-{message.id}")


class StreamEvent(TextualMessage):
    """One event from the stream, handed from the reading thread to the app's loop."""

    def __init__(self, kind: str, data: dict[str, Any]) -> None:
        super().__init__()
        self.kind = kind
        self.data = data


class LoggedOut(TextualMessage):
    """The stream's thread found its session's tokens dead (the refresh token refused)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session


Arguments = ParamSpec("Arguments")


def logs_in_again(
    handler: Callable[Concatenate[ParleyChat, Arguments], Awaitable[None]],
) -> Callable[Concatenate[ParleyChat, Arguments], Awaitable[None]]:
    """For what Textual calls (a key's action, a handler): tokens found dead halfway through any
    API call abandon the rest and show the login screen, rather than end the app with the error.

    Only the outermost call catches, so nothing more is asked of a session known to be dead."""

    @functools.wraps(handler)
    async def guarded(app: ParleyChat, *args: Arguments.args, **kwargs: Arguments.kwargs) -> None:
        try:
            await handler(app, *args, **kwargs)
        except LoginError:
            app.log_in_again()

    return guarded


class LoginScreen(Screen[Session]):
    """Server, username and password; dismissed with a logged-in session."""

    def __init__(self, server: str) -> None:
        super().__init__()
        self.server = server

    def compose(self) -> ComposeResult:
        with Vertical(id="login"):
            yield Label("Log in to Parley")
            yield Input(self.server, placeholder="server URL", id="server")
            yield Input(placeholder="username", id="username")
            yield Input(placeholder="password", password=True, id="password")
            yield Button("Log in", variant="primary", id="login-button")
            yield Label("", id="login-error")

    @on(Button.Pressed, "#login-button")
    @on(Input.Submitted, "#password")
    def log_in(self) -> None:
        session = Session(self.query_one("#server", Input).value)
        try:
            session.login(self.query_one("#username", Input).value, self.query_one("#password", Input).value)
        except (LoginError, httpx.HTTPError) as error:
            self.query_one("#login-error", Label).update(f"Could not log in: {error}")
            return
        self.dismiss(session)


class ParleyChat(App[None]):
    """Rooms with unread counts, one open room live from the event stream, and a compose line."""

    TITLE = "Parley"
    CSS = """
    #rooms { width: 32; border-right: solid $primary; }
    #room-title { text-style: bold; padding: 0 1; }
    #messages { height: 1fr; }
    #login { width: 60; height: auto; margin: 2 4; }
    """
    BINDINGS: ClassVar = [
        ("ctrl+q", "quit", "Quit"),
        ("ctrl+r", "reload", "Reload rooms"),
        # Above the scrolling that Page Up does in the widgets, which would otherwise hide it from the footer.
        Binding("pageup", "older", "Older messages", priority=True),
    ]
    # Seconds between a dropped event stream and the next attempt (which resumes by event id).
    RECONNECT_DELAY = 1.0
    # Seconds between two "typing" announcements while typing goes on: well inside the 6 s the
    # server keeps one alive, so the others' indicator does not flicker.
    TYPING_EVERY = 3.0

    def __init__(self, server: str = DEFAULT_SERVER, session: Session | None = None) -> None:
        super().__init__()
        self.server = server
        self.session = session
        self.room_id: int | None = None
        self.me: int | None = None  # the logged-in user's id
        self.shown: dict[int, Message] = {}
        # Where the page older than the oldest message shown starts (the history's `Link` cursor).
        self.older: int | None = None
        self.last_event_id: str | None = None
        # When typing was last announced, and in which room.
        self.announced: tuple[int | None, float] = (None, 0.0)
        # Who else is typing in the open room, and until when (monotonic seconds).
        self.typing: dict[str, float] = {}
        # Event handlers and key presses interleave at each await: one of them redraws a list at a time.
        self.redrawing = asyncio.Lock()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield ListView(id="rooms")
            with Vertical():
                yield Label("Choose a room", id="room-title")
                yield ListView(id="messages")
                yield Label("", id="typing")
                commands = "message, /reply <id> <text>, /react <emoji>, /dm <user>, /join <link>"
                yield Input(placeholder=commands, id="compose")
        yield Footer()

    async def on_mount(self) -> None:
        await self.start(self.session)

    @logs_in_again
    async def start(self, session: Session | None) -> None:
        """Begin with a logged-in session; without one (or with saved tokens now dead), log in first."""
        self.session = session
        if session is None:
            self.log_in_again()
            return
        me = session.me()
        self.me = me.id
        self.sub_title = f"{me.username} @ {session.server}"
        await self.reload_rooms()
        self.follow_events()

    @logs_in_again
    async def action_reload(self) -> None:
        await self.reload_rooms()

    async def reload_rooms(self) -> None:
        assert self.session is not None
        found = self.session.rooms()
        async with self.redrawing:
            rooms = self.query_one("#rooms", ListView)
            index = rooms.index
            await rooms.clear()
            for room in found:
                unread = f" ({room.unread_count})" if room.unread_count else ""
                await rooms.append(ListItem(Label(f"{room.name}{unread}"), id=f"room-{room.id}"))
            rooms.index = index

    @on(ListView.Selected, "#rooms")
    @logs_in_again
    async def choose_room(self, event: ListView.Selected) -> None:
        assert event.item.id is not None
        await self.open_room(int(event.item.id.removeprefix("room-")))

    async def open_room(self, room_id: int) -> None:
        assert self.session is not None
        self.room_id = room_id
        self.typing.clear()
        self.show_typing()
        room = self.session.room(room_id)
        if isinstance(room, Room):
            self.query_one("#room-title", Label).update(f"{room.name} — {room.topic or ''}")
        history, self.older = self.session.history(room_id)
        async with self.redrawing:
            await self.query_one("#messages", ListView).clear()
            self.shown.clear()
            for message in history:
                await self.append(message)
        if history:
            self.session.mark_read(room_id, history[-1].id)
        self.query_one("#compose", Input).focus()

    @logs_in_again
    async def action_older(self) -> None:
        """Put the page of history just older than the oldest message shown above it."""
        if self.session is None or self.room_id is None or self.older is None:
            self.notify("No older messages")
            return
        page, self.older = self.session.history(self.room_id, before=self.older)
        async with self.redrawing:
            older = [message for message in page if message.id not in self.shown]
            self.shown.update((message.id, message) for message in older)
            messages = self.query_one("#messages", ListView)
            await messages.insert(0, [message_item(message) for message in older])
            messages.scroll_home(animate=False)

    async def show(self, message: Message) -> None:
        async with self.redrawing:
            await self.append(message)

    async def append(self, message: Message) -> None:
        if message.id in self.shown:
            return
        self.shown[message.id] = message
        messages = self.query_one("#messages", ListView)
        await messages.append(message_item(message))
        messages.scroll_end(animate=False)

    @on(Input.Changed, "#compose")
    @logs_in_again
    async def announce_typing(self, event: Input.Changed) -> None:
        """Tell the open room that a message (not a command) is being typed, once per `TYPING_EVERY`."""
        if self.session is None or self.room_id is None or not event.value or event.value.startswith("/"):
            return
        room_id, at = self.announced
        now = time.monotonic()
        if room_id != self.room_id or now - at >= self.TYPING_EVERY:
            self.announced = (self.room_id, now)
            self.session.typing(self.room_id)

    def show_typing(self) -> None:
        """Name who is typing in the open room, dropping those whose announcement has expired."""
        now = time.monotonic()
        self.typing = {name: until for name, until in self.typing.items() if until > now}
        names = ", ".join(sorted(self.typing))
        self.query_one("#typing", Label).update(f"{names} typing…" if names else "")

    @on(Input.Submitted, "#compose")
    @logs_in_again
    async def submit(self, event: Input.Submitted) -> None:
        assert self.session is not None
        text = event.value
        event.input.clear()
        command, _, rest = text.partition(" ")
        if command == "/dm":
            await self.open_answer(self.session.direct(rest.strip()))
        elif command == "/join":
            await self.open_answer(self.session.accept_invite(rest).parsed)
        elif self.room_id is None:
            self.notify("Open a room first")
        elif command == "/react":
            await self.reacted(self.session.react(self.room_id, self.highlighted(), rest.strip()))
        elif command == "/reply":
            parent, _, body = rest.partition(" ")
            await self.sent(self.session.send(self.room_id, body, int(parent) if parent.isdigit() else None))
        elif text.strip():
            await self.sent(self.session.send(self.room_id, text))

    async def sent(self, answer: Message | ScheduledMessage | Error | None) -> None:
        if isinstance(answer, Message):
            await self.show(answer)
        else:
            self.notify(answer.message if isinstance(answer, Error) else "Not sent")

    def highlighted(self) -> int | None:
        """The message highlighted in the list, else the newest shown (None in an empty room)."""
        item = self.query_one("#messages", ListView).highlighted_child
        if item is not None and item.id is not None:
            return int(item.id.removeprefix("message-"))
        return max(self.shown, default=None)

    async def reacted(self, answer: Message | Error | None) -> None:
        if isinstance(answer, Message):
            self.redraw(answer)
        else:
            self.notify(answer.message if isinstance(answer, Error) else "No message to react to")

    def redraw(self, message: Message) -> None:
        """Show a message's new state in its line, if it is shown."""
        if message.id in self.shown:
            self.shown[message.id] = message
            self.query_one(f"#message-{message.id} Label", Label).update(message_line(message))

    async def open_answer(self, answer: Room | JoinRequest | Error | None) -> None:
        """Open the room a direct-room or invite answer is (an invite needing approval opens none)."""
        if isinstance(answer, JoinRequest):
            self.notify("Join request sent: the room's managers will approve it")
        elif isinstance(answer, Room):
            await self.reload_rooms()
            await self.open_room(answer.id)
        else:
            self.notify(answer.message if answer else "No answer")

    @on(StreamEvent)
    @logs_in_again
    async def handle_event(self, event: StreamEvent) -> None:
        kind = event.kind
        message = Message.from_dict(event.data) if kind in MESSAGE_EVENTS else None
        if kind == "message.created" and message and message.room_id == self.room_id:
            await self.show(message)
            assert self.session is not None
            self.session.mark_read(message.room_id, message.id)
        elif message and kind != "message.created":
            self.redraw(message)
        elif kind == "reaction.updated" and event.data["message_id"] in self.shown:
            reacted = self.shown[event.data["message_id"]]
            reacted.reactions = [Reaction.from_dict(reaction) for reaction in event.data["reactions"]]
            self.redraw(reacted)
        elif kind == "message.created" or kind in ROOM_EVENTS:
            await self.reload_rooms()
        elif (
            kind == "typing" and event.data["room_id"] == self.room_id and event.data["user"]["id"] != self.me
        ):
            seconds = event.data["expires_in"]
            self.typing[event.data["user"]["username"]] = time.monotonic() + seconds
            self.show_typing()
            self.set_timer(seconds, self.show_typing)
        elif kind == "reset":
            await self.reload_rooms()
            if self.room_id is not None:
                await self.open_room(self.room_id)

    @work(thread=True, exclusive=True, group="events")
    def follow_events(self) -> None:
        """Read the event stream; after a drop, reconnect with the last event id so nothing is lost."""
        session = self.session
        assert session is not None
        worker = get_current_worker()
        while not (worker.is_cancelled or session.ended):
            try:
                for event in session.events(self.last_event_id):
                    if worker.is_cancelled:
                        return
                    if event.id:
                        self.last_event_id = event.id
                    if event.data:
                        self.post_message(StreamEvent(event.event, json.loads(event.data)))
            except LoginError:
                self.post_message(LoggedOut(session))
                return
            except httpx.HTTPError:
                pass
            time.sleep(self.RECONNECT_DELAY)

    @on(LoggedOut)
    def stream_logged_out(self, event: LoggedOut) -> None:
        if event.session is self.session:  # not a stream of a session already replaced
            self.log_in_again()

    def log_in_again(self) -> None:
        """Ask for the password rather than retry forever with tokens the server no longer takes: once,
        however many calls find them dead; the dead session's stream is dropped with them."""
        if isinstance(self.screen, LoginScreen):
            return
        if self.session is not None:
            self.session.end()
        self.push_screen(LoginScreen(self.server), self.start)

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.end()


def main() -> None:
    parser = argparse.ArgumentParser(prog="parley-chat", description="Parley in a terminal")
    parser.add_argument("--server", help=f"server URL (default: the saved one, else {DEFAULT_SERVER})")
    parser.add_argument("--login", action="store_true", help="log in again instead of using saved tokens")
    arguments = parser.parse_args()
    saved = None if arguments.login else Session.saved()
    if saved is not None and arguments.server and saved.server != arguments.server.rstrip("/"):
        saved = None
    ParleyChat(arguments.server or (saved.server if saved else DEFAULT_SERVER), saved).run()
