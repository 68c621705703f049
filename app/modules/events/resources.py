"""/api/v1/events: the event stream (SSE), its tickets, and long-polling."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Response, g, request, stream_with_context
from flask.views import MethodView

from app.extensions.api import Blueprint
from app.extensions.auth import current_token, current_user, protector
from app.extensions.security import hash_secret
from app.modules.auth.models import Bearer

from . import services, streams
from .parameters import MAX_EVENT_ID, PollParameters, StreamHeaders, StreamParameters
from .schemas import PollSchema, TicketSchema

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Real-time events")

SCOPE = "messages:read"
SSE_FRAME_EXAMPLE = (
    "retry: 3000\n\n"
    'id: 42\nevent: message.created\ndata: {"id":7,"room_id":1,"body":"hello"}\n\n'
    ": keep-alive\n\n"
)
SSE_DOC = {
    "200": {
        "description": "Server-Sent Events. A `retry:` frame first, then one frame per event: "
        "`id: <event id>` (absent on the ephemeral `typing` and `presence.updated`), `event: <type>` "
        "and `data: <JSON>`, the resource as the REST API shows it (the `data` of an `Event` from "
        "`/api/v1/events/poll`), then a blank line. A `reset` event means the resume point is too old "
        "to replay: refetch state. Lines starting with `:` are keep-alive comments.",
        "content": {
            "text/event-stream": {
                # The whole body, as generated clients read it (OpenAPI 3.1 has no schema per event:
                # 3.2's `itemSchema` will); the frames are described above and in the example.
                "schema": {"type": "string", "description": "A sequence of SSE frames"},
                "example": SSE_FRAME_EXAMPLE,
            }
        },
    }
}


def _stream_caller(view: Callable) -> Callable:
    """A bearer token, or a stream ticket (`EventSource` cannot send headers); before the arguments.

    Listens first, so that the bearer token, its user and their resume point come in one statement.
    What streams send when they (re)connect, nothing or a plain `Last-Event-ID`, is read here,
    without the argument parsers; anything else goes through them, and their errors.
    """
    unparsed = inspect.unwrap(view)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        subscriber = streams.listen()
        try:
            ticket = request.args.get("ticket")
            if ticket is None:
                token, *start = _bearer_with_resume_point()
                g.stream_caller = (token.user, token.id, subscriber, tuple(start))
            else:
                g.stream_caller = (*services.redeem_ticket(ticket), subscriber, None)
            plain = _plain_arguments()
            return view(*args, **kwargs) if plain is None else unparsed(*args, **kwargs, **plain)
        except BaseException:
            streams.forget(subscriber)
            raise

    return wrapper


def _plain_arguments() -> dict[str, int] | None:
    """The arguments when there is no query string and `Last-Event-ID` is absent or a plain event id."""
    if request.query_string:
        return None
    last_event_id = request.headers.get("Last-Event-ID")
    if last_event_id is None:
        return {}
    if last_event_id.isascii() and last_event_id.isdigit() and int(last_event_id) <= MAX_EVENT_ID:
        return {"last_event_id": int(last_event_id)}
    return None


def _bearer_with_resume_point() -> tuple[Bearer, int, dict[int, str]]:
    """`protector.require(SCOPE)`, with the token read in the statement that reads the resume point."""
    try:
        validator, token_string = protector.bearer_credentials()
        token, upto, rooms = services.open_stream(hash_secret(token_string))
        validator.validate_token(token, [SCOPE], request)
    except OAuth2Error as error:
        protector.raise_error_response(error)
        raise  # not reached: the response above raises
    assert token is not None  # refused by `validate_token`
    return token, upto, rooms


@blp.route("")
class Stream(MethodView):
    @blp.doc(operationId="streamEvents")
    @_stream_caller
    @blp.arguments(StreamParameters, location="query", as_kwargs=True)
    @blp.arguments(StreamHeaders, location="headers", as_kwargs=True)
    @blp.doc(
        security=[{"oauth2": [SCOPE]}],
        responses={**SSE_DOC, "401": "UNAUTHORIZED", "403": "FORBIDDEN", "429": "TOO_MANY_REQUESTS"},
    )
    def get(
        self, since: int | None = None, last_event_id: int | None = None, ticket: str | None = None
    ) -> Response:
        """Every event that concerns you, as Server-Sent Events

        Resumes after `Last-Event-ID` (or `since`); a resume point too old to replay
        gets one `reset` event. Keep-alive comments every 15 s. Authenticate with the
        bearer header, or with `?ticket=` from `POST /api/v1/events/ticket`.
        """
        user, token_id, subscriber, start = g.stream_caller
        resume = last_event_id if last_event_id is not None else since
        subscription = streams.subscribe(user, resume, subscriber, start, token_id)
        response = Response(
            stream_with_context(streams.sse(subscription, request.environ.get("parley.body"))),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        # Also when the client leaves before the body starts (a generator's `finally` would not run).
        response.call_on_close(lambda: streams.unsubscribe(subscription))
        return response


@blp.route("/ticket")
class Ticket(MethodView):
    @blp.doc(operationId="createStreamTicket")
    @blp.auth_required(SCOPE)
    @blp.response(200, TicketSchema)
    def post(self) -> dict[str, Any]:
        """A single-use ticket that opens one event stream (`GET /api/v1/events?ticket=`)

        Browsers' `EventSource` cannot send an `Authorization` header: the ticket stands in for the token in
        the URL, once, for a short while, so the token itself never appears in a URL.
        """
        ticket, expires_in = services.issue_ticket(current_user.id, current_token.id)
        return {"ticket": ticket, "expires_in": expires_in}


@blp.route("/poll")
class Poll(MethodView):
    @blp.doc(operationId="pollEvents")
    @blp.auth_required(SCOPE)
    @blp.arguments(PollParameters, location="query")
    @blp.response(200, PollSchema)
    @blp.doc(responses={"429": "TOO_MANY_REQUESTS"})
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The same events for clients that cannot stream: answers as soon as one is there

        Holds the request open up to `timeout` seconds until an event arrives; pass the answer's
        `last_event_id` as `since` next time so that nothing is missed between polls.
        """
        subscription = streams.subscribe(current_user, args.get("since"))
        events, last_event_id = streams.poll(subscription, args["timeout"])
        return {"events": events, "last_event_id": last_event_id}
