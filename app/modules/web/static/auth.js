// Sign-in with the built-in public `web` client: authorization code + PKCE (RFC 7636).
// Tokens live in this tab's sessionStorage only: never a cookie, never the URL after the exchange.

const CLIENT_ID = "web";
const SCOPE = "users:read users:write rooms:read rooms:write messages:read messages:write";
const TOKENS = "parley.tokens";
const PENDING = "parley.sign-in";
const REFRESH_MARGIN_MS = 60_000;
const RETRY_MS = 10_000;

export class SignInError extends Error {}

let tokens = JSON.parse(sessionStorage.getItem(TOKENS) || "null");
let refreshTimer = null;
let refreshing = null;

const redirectUri = () => `${location.origin}/`;

function base64url(buffer) {
  const text = String.fromCharCode(...new Uint8Array(buffer));
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

/** Off to the login + consent page (which offers sign-up); the URL's fragment comes back with us. */
export async function signIn() {
  const verifier = randomString();
  const state = randomString();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, hash: location.hash }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: SCOPE,
    state,
    code_challenge: base64url(digest),
    code_challenge_method: "S256",
  });
  location.assign(`/auth/oauth2/authorize?${query}`);
}

async function tokenRequest(fields) {
  const body = new URLSearchParams({ client_id: CLIENT_ID, ...fields });
  const response = await fetch("/auth/oauth2/token", { method: "POST", body });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new SignInError(answer.error_description || answer.error || `Sign-in failed (${response.status}).`);
  }
  return answer;
}

function keep(answer) {
  tokens = {
    access: answer.access_token,
    refresh: answer.refresh_token ?? tokens?.refresh,
    expiresAt: Date.now() + answer.expires_in * 1000,
  };
  sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
  scheduleRefresh();
}

function forget() {
  clearTimeout(refreshTimer);
  tokens = null;
  sessionStorage.removeItem(TOKENS);
}

/** Refresh a minute before expiry (or at 80 % of a shorter lifetime), so requests never meet a dead token. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!tokens?.refresh) return;
  const remaining = tokens.expiresAt - Date.now();
  const delay = Math.max(0, Math.min(remaining - REFRESH_MARGIN_MS, remaining * 0.8));
  refreshTimer = setTimeout(() => refresh().catch(() => {}), delay);
}

/** One refresh at a time: refresh tokens rotate, and presenting a used one revokes the whole chain. */
export function refresh() {
  if (!tokens?.refresh) return Promise.reject(new SignInError("You are signed out."));
  refreshing ??= tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh })
    .then(keep, (error) => {
      // Refused: signed out. Unreachable: the tokens stay, and the next attempt comes soon.
      if (error instanceof SignInError) forget();
      else refreshTimer = setTimeout(() => refresh().catch(() => {}), RETRY_MS);
      throw error;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** Finish a sign-in this tab started (code in the query), then drop the code from the address bar. */
export async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
    sessionStorage.removeItem(PENDING);
    history.replaceState(null, "", `/${pending?.hash || ""}`);
    if (params.has("error")) {
      const denied = params.get("error") === "access_denied";
      throw new SignInError(denied ? "Sign-in was cancelled." : params.get("error_description") || params.get("error"));
    }
    if (!pending || pending.state !== params.get("state")) {
      throw new SignInError("This sign-in was not started in this tab: sign in again.");
    }
    keep(
      await tokenRequest({
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: redirectUri(),
        code_verifier: pending.verifier,
      }),
    );
  }
  if (tokens) scheduleRefresh();
  return tokens !== null;
}

export const accessToken = () => tokens?.access;

/**
 * Forget both tokens, then revoke them (RFC 7009), both at once: true once the server has confirmed
 * both. A page that only forgot them is signed out, but whoever copied a token could still use it.
 */
export async function signOut() {
  const old = tokens;
  forget();
  const pairs = [
    [old?.refresh, "refresh_token"],
    [old?.access, "access_token"],
  ].filter(([token]) => token);
  const revoked = pairs.map(([token, hint]) => {
    const body = new URLSearchParams({ client_id: CLIENT_ID, token, token_type_hint: hint });
    return fetch("/auth/oauth2/revoke", { method: "POST", body }).then((answer) => answer.ok, () => false);
  });
  return (await Promise.all(revoked)).every(Boolean);
}
