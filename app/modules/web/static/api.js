// The public REST API, with the bearer token; errors become sentences a person can act on.

import { accessToken, refresh } from "./auth.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function describe(response) {
  const body = await response.json().catch(() => ({}));
  let message = body.message || body.status || `The server answered ${response.status}.`;
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    message = wait ? `Too many requests: try again in ${wait} seconds.` : "Too many requests: try again later.";
  } else if (body.errors) {
    const fields = Object.values(body.errors).flatMap((location) => Object.entries(location));
    const details = fields.map(([field, problems]) => `${field}: ${[].concat(problems).join(" ")}`);
    if (details.length) message = `${message} (${details.join("; ")})`;
  }
  return new ApiError(response.status, message);
}

/** `{status, body}` of one call; an expired token is refreshed once and the call repeated. */
export async function call(method, path, body, { retried = false } = {}) {
  const headers = { Authorization: `Bearer ${accessToken()}` };
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  if (response.status === 401 && !retried) {
    await refresh();
    return call(method, path, body, { retried: true });
  }
  if (!response.ok) throw await describe(response);
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

export const api = async (method, path, body) => (await call(method, path, body)).body;
