"""The authorization-code flow with PKCE, driven by Authlib's OAuth2 client against a live server.

A public client registered by alice (`cli`, redirecting to a loopback callback)
and the built-in `web` client (redirecting to the server's own `/`) go through
the HTML login + consent page, the sign-up page and the token endpoint the way
a real application and browser would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from .conftest import PASSWORD

CALLBACK = "http://127.0.0.1:9999/callback"
AUTHORIZE_PATH = "/auth/oauth2/authorize"
TOKEN_PATH = "/auth/oauth2/token"
SCOPE = "users:read"


# --- reading the server's HTML pages -------------------------------------------------------------


@dataclass
class Page:
    """What a browser would find in one HTML page's form."""

    status: int
    headers: Any
    action: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)  # visible inputs: name -> type
    buttons: dict[str, set[str]] = field(default_factory=dict)  # name -> values
    links: dict[str, str] = field(default_factory=dict)  # link text -> href
    # error messages by the input they follow ("" for errors shown before any input)
    errors: dict[str, list[str]] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__()
        self.page = page
        self.last_input = ""
        self.error_tag: str | None = None
        self.link_href: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.page.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.page.hidden[a["name"]] = a.get("value", "")
        elif tag == "input":
            self.page.fields[a["name"]] = a.get("type", "text")
            self.last_input = a["name"]
        elif tag == "button" and a.get("name"):
            self.page.buttons.setdefault(a["name"], set()).add(a.get("value", ""))
        elif tag == "a":
            self.link_href, self.text = a.get("href", ""), []
        if "error" in a.get("class", "").split():
            self.error_tag, self.text = tag, []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.link_href is not None:
            self.page.links["".join(self.text).strip()] = self.link_href
            self.link_href = None
        if tag == self.error_tag:
            self.page.errors.setdefault(self.last_input, []).append("".join(self.text).strip())
            self.error_tag = None


def html_page(response: requests.Response) -> Page:
    assert response.headers["Content-Type"].startswith("text/html"), response.headers
    page = Page(response.status_code, response.headers)
    _PageParser(page).feed(response.text)
    return page


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# --- the client side of the flow -----------------------------------------------------------------


@dataclass
class Flow:
    """One authorization request made by an OAuth2 client library, and what the browser does with it."""

    base: str
    client_id: str
    redirect_uri: str
    session: OAuth2Session
    url: str
    state: str
    verifier: str

    def page(self) -> Page:
        return html_page(requests.get(self.url, timeout=10))

    def submit(self, page: Page, **form: str) -> requests.Response:
        """Submit the page's form as a browser would: hidden fields plus what the user typed."""
        return requests.post(
            urljoin(self.url, page.action), data={**page.hidden, **form}, allow_redirects=False, timeout=10
        )

    def log_in(self, username: str, password: str = PASSWORD, decision: str = "allow") -> requests.Response:
        return self.submit(self.page(), username=username, password=password, decision=decision)

    def code(self, username: str = "alice") -> str:
        response = self.log_in(username)
        assert response.status_code == 302, response.text
        return query_of(response.headers["Location"])["code"]

    def exchange(self, code: str, verifier: str | None = None) -> requests.Response:
        """The token request, made by hand so that error statuses can be seen."""
        return requests.post(
            self.base + TOKEN_PATH,
            data={
                "grant_type": "authorization_code",
                "client_id": self.client_id,
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": self.verifier if verifier is None else verifier,
            },
            timeout=10,
        )


@pytest.fixture(params=["cli", "web"])
def app_client(request: pytest.FixtureRequest, live_server: str, alice: Any) -> tuple[str, str]:
    """(client_id, redirect_uri): alice's public `cli` client, or the built-in `web` client."""
    if request.param == "web":
        return "web", f"{live_server}/"
    response = requests.post(
        f"{live_server}/api/v1/auth/clients",
        json={"name": "cli", "confidential": False, "redirect_uris": [CALLBACK]},
        headers=alice.headers,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.json()["client_secret"] is None
    return response.json()["client_id"], CALLBACK


@pytest.fixture
def start(live_server: str, app_client: tuple[str, str]) -> Callable[..., Flow]:
    """Begin an authorization request; keyword arguments override or (with None) drop query parameters."""

    def begin(**overrides: str | None) -> Flow:
        client_id, redirect_uri = app_client
        session = OAuth2Session(
            client_id, redirect_uri=redirect_uri, scope=SCOPE, code_challenge_method="S256"
        )
        verifier = generate_token(48)
        url, state = session.create_authorization_url(live_server + AUTHORIZE_PATH, code_verifier=verifier)
        if overrides:
            params = {**query_of(url), **overrides}
            url = (
                requests.Request(
                    "GET",
                    live_server + AUTHORIZE_PATH,
                    params={k: v for k, v in params.items() if v is not None},
                )
                .prepare()
                .url
            )
        return Flow(live_server, client_id, redirect_uri, session, url, state, verifier)

    return begin


@pytest.fixture
def flow(start: Callable[..., Flow]) -> Flow:
    return start()


def both_ways(flow: Flow) -> list[requests.Response]:
    """The authorization request as a GET (the page) and as a POST that signs in and allows."""
    return [
        requests.get(flow.url, allow_redirects=False, timeout=10),
        requests.post(
            flow.base + AUTHORIZE_PATH,
            data={**query_of(flow.url), "username": "alice", "password": PASSWORD, "decision": "allow"},
            allow_redirects=False,
            timeout=10,
        ),
    ]


def assert_refused_without_code(
    response: requests.Response, flow: Flow, error: str = "invalid_request"
) -> None:
    """An authorization request is refused: an OAuth2 error redirect, or an HTML error page."""
    if response.is_redirect:
        location = response.headers["Location"]
        assert location.startswith(flow.redirect_uri)
        params = query_of(location)
        assert params.get("error") == error, location
        assert params.get("state") == flow.state
        assert "code" not in params
    else:
        assert 400 <= response.status_code < 500, f"{response.status_code}: the consent page was shown"
        page = html_page(response)
        assert "allow" not in page.buttons.get("decision", set()), "the consent form must not be offered"


# --- the login + consent page --------------------------------------------------------------------


def test_the_authorize_page_is_a_login_and_consent_form(flow: Flow) -> None:
    page = flow.page()

    assert page.status == 200
    assert page.fields == {"username": "text", "password": "password"}
    assert page.buttons == {"decision": {"allow", "deny"}}
    assert page.hidden["client_id"] == flow.client_id
    assert page.hidden["state"] == flow.state
    assert page.hidden["redirect_uri"] == flow.redirect_uri
    assert page.hidden["code_challenge"] == create_s256_code_challenge(flow.verifier)
    assert page.hidden["code_challenge_method"] == "S256"
    assert urlsplit(page.links["Sign up"]).path == "/auth/signup"


def test_the_consent_page_names_who_registered_the_client_and_where_allowing_leads(flow: Flow) -> None:
    text = requests.get(flow.url, timeout=10).text

    if flow.client_id == "web":
        assert "part of this Parley server" in text
    else:
        assert 'registered by Parley user <strong class="owner">alice</strong>' in text
    host = urlsplit(flow.redirect_uri).netloc
    assert f'sends you back to <strong class="redirect-host">{host}</strong>' in text


@pytest.mark.parametrize("how", ["GET", "POST"])
def test_the_authorize_page_may_not_be_framed(flow: Flow, how: str) -> None:
    response = requests.get(flow.url, timeout=10) if how == "GET" else flow.log_in("alice", "wrong password")
    assert response.headers["X-Frame-Options"] == "DENY"


def test_allowing_redirects_to_the_client_with_a_code_and_the_state(flow: Flow) -> None:
    response = flow.log_in("alice")

    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.split("?")[0] == flow.redirect_uri
    params = query_of(location)
    assert params["code"]
    assert params["state"] == flow.state


def test_the_code_buys_a_token_carrying_only_the_granted_scope(flow: Flow, live_server: str) -> None:
    response = flow.log_in("alice")

    token = flow.session.fetch_token(
        live_server + TOKEN_PATH,
        authorization_response=response.headers["Location"],
        code_verifier=flow.verifier,
    )

    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == SCOPE
    assert token["refresh_token"]
    me = flow.session.get(f"{live_server}/api/v1/users/me", timeout=10)
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    patch = flow.session.patch(f"{live_server}/api/v1/users/me", json={"display_name": "A"}, timeout=10)
    assert patch.status_code == 403
    assert 'error="insufficient_scope"' in patch.headers["WWW-Authenticate"]


def test_denying_redirects_with_access_denied_and_the_state(flow: Flow) -> None:
    response = flow.log_in("alice", decision="deny")

    assert response.status_code == 302
    assert response.headers["Location"].split("?")[0] == flow.redirect_uri
    params = query_of(response.headers["Location"])
    assert params["error"] == "access_denied"
    assert params["state"] == flow.state
    assert "code" not in params


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong password"), ("nobody", PASSWORD)])
def test_wrong_credentials_show_the_form_again_with_an_error(
    flow: Flow, username: str, password: str
) -> None:
    response = flow.log_in(username, password)

    assert "Location" not in response.headers
    page = html_page(response)
    assert page.status == 400
    assert page.errors[""] == ["Wrong username or password."]
    assert page.buttons == {"decision": {"allow", "deny"}}
    assert page.hidden["state"] == flow.state
    assert page.hidden["code_challenge"] == create_s256_code_challenge(flow.verifier)


# --- PKCE and codes ------------------------------------------------------------------------------


def test_a_public_client_must_send_a_code_challenge(start: Callable[..., Flow]) -> None:
    flow = start(code_challenge=None, code_challenge_method=None)
    for response in both_ways(flow):
        assert_refused_without_code(response, flow)


@pytest.mark.parametrize(
    "method",
    [pytest.param("plain", id="plain"), pytest.param(None, id="omitted-means-plain")],
)
def test_the_plain_code_challenge_method_is_refused(start: Callable[..., Flow], method: str | None) -> None:
    verifier = generate_token(48)
    flow = start(code_challenge=verifier, code_challenge_method=method)
    for response in both_ways(flow):
        assert_refused_without_code(response, flow)


def test_a_wrong_code_verifier_is_invalid_grant(flow: Flow) -> None:
    response = flow.exchange(flow.code(), verifier=generate_token(48))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_code_works_only_once(flow: Flow) -> None:
    code = flow.code()
    assert flow.exchange(code).status_code == 200

    again = flow.exchange(code)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"client_id": "no-such-client"}, id="unknown-client"),
        pytest.param({"redirect_uri": "https://evil.example/callback"}, id="foreign-redirect-uri"),
        pytest.param({"redirect_uri": "http://127.0.0.1:9999/callback/../evil"}, id="lookalike-redirect-uri"),
    ],
)
def test_an_unknown_client_or_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(
    start: Callable[..., Flow], overrides: dict[str, str]
) -> None:
    for response in both_ways(start(**overrides)):
        assert "Location" not in response.headers
        page = html_page(response)
        assert 400 <= page.status < 500
        assert "allow" not in page.buttons.get("decision", set())
        assert page.headers["X-Frame-Options"] == "DENY"


# --- sign-up from the authorize page -------------------------------------------------------------


def signup_form(page_url: str) -> tuple[str, Page]:
    """GET the sign-up page; returns its form's absolute action URL and the page."""
    page = html_page(requests.get(page_url, timeout=10))
    assert page.status == 200
    assert {"username", "password"} <= set(page.fields)
    return urljoin(page_url, page.action), page


def sign_up(page_url: str, **form: str) -> requests.Response:
    action, page = signup_form(page_url)
    return requests.post(action, data={**page.hidden, **form}, allow_redirects=False, timeout=10)


def test_the_sign_up_link_creates_an_account_and_returns_to_the_authorize_request(flow: Flow) -> None:
    signup_url = urljoin(flow.url, flow.page().links["Sign up"])
    assert urlsplit(signup_url).path == "/auth/signup"

    response = sign_up(signup_url, username="carol", password=PASSWORD, display_name="Carol")

    assert response.status_code == 303
    back = urljoin(signup_url, response.headers["Location"])
    assert urlsplit(back).path == AUTHORIZE_PATH
    assert query_of(back) == query_of(flow.url)
    # the new account can finish the very authorization request it started from
    returned = Flow(**{**flow.__dict__, "url": back})
    assert query_of(returned.log_in("carol").headers["Location"])["state"] == flow.state


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "https://evil.example/auth/oauth2/authorize",
        "//evil.example/auth/oauth2/authorize",
        "https:/auth/oauth2/authorize",  # a browser reads this as https://auth/oauth2/authorize
        "javascript:/auth/oauth2/authorize",
    ],
)
def test_a_foreign_next_target_is_replaced_by_a_local_one(live_server: str, target: str) -> None:
    def assert_local(url: str) -> None:
        absolute = urlsplit(urljoin(f"{live_server}/auth/signup", url))
        assert (absolute.scheme, absolute.netloc) == ("http", urlsplit(live_server).netloc), url

    url = requests.Request("GET", f"{live_server}/auth/signup", params={"next": target}).prepare().url
    assert url is not None
    _, page = signup_form(url)
    assert_local(page.hidden["next"])
    assert_local(page.links["Back to sign-in"])

    response = sign_up(url, username="carol", password=PASSWORD)

    assert response.status_code == 303
    assert_local(response.headers["Location"])


@pytest.mark.parametrize(
    ("username", "status", "message"),
    [
        ("ab", 422, "3 to 32 characters of A-Z a-z 0-9 _ . -"),
        ("ALICE", 409, "Already taken."),
    ],
)
def test_sign_up_shows_field_errors(
    live_server: str, alice: Any, username: str, status: int, message: str
) -> None:
    response = sign_up(f"{live_server}/auth/signup", username=username, password=PASSWORD)

    assert "Location" not in response.headers
    page = html_page(response)
    assert page.status == status
    assert page.errors == {"username": [message]}
    assert page.fields["username"] == "text"
