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
  const bannedUntil = response.headers.get("X-Banned-Until");
  if (bannedUntil) {
    message = `Reports have stopped you posting until ${new Date(bannedUntil).toLocaleString()}.`;
  } else if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    message = wait ? `Too many requests: try again in ${wait} seconds.` : "Too many requests: try again later.";
  } else if (body.errors) {
    const fields = Object.values(body.errors).flatMap((location) => Object.entries(location));
    const details = fields.map(([field, problems]) => `${field}: ${[].concat(problems).join(" ")}`);
    if (details.length) message = `${message} (${details.join("; ")})`;
  }
  return new ApiError(response.status, message);
}

/** `fetch` with the bearer token; an expired token is refreshed once and the request repeated. */
async function authorized(url, init = {}, retried = false) {
  const headers = { ...init.headers, Authorization: `Bearer ${accessToken()}` };
  const response = await fetch(url, { ...init, headers });
  if (response.status === 401 && !retried) {
    await refresh();
    return authorized(url, init, true);
  }
  if (!response.ok) throw await describe(response);
  return response;
}

/** `{status, body}` of one call to `/api/v1{path}`. */
export async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await authorized(`/api/v1${path}`, init);
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

export const api = async (method, path, body) => (await call(method, path, body)).body;

/** An attachment's bytes: a link cannot carry the bearer token, so the page fetches them. */
export const fileBlob = async (url) => (await authorized(url)).blob();

/** Upload with progress (`fetch` reports none): resolves with the attachment, or an ApiError. */
export function upload(file, onProgress, retried = false) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/files");
    request.setRequestHeader("Authorization", `Bearer ${accessToken()}`);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("error", () => reject(new TypeError("network")));
    request.addEventListener("load", async () => {
      if (request.status === 401 && !retried) {
        refresh().then(() => upload(file, onProgress, true).then(resolve, reject), reject);
      } else if (request.status >= 400) {
        const headers = new Headers({ "Retry-After": request.getResponseHeader("Retry-After") ?? "" });
        reject(await describe(new Response(request.responseText, { status: request.status, headers })));
      } else {
        resolve(JSON.parse(request.responseText));
      }
    });
    const form = new FormData();
    form.append("file", file);
    request.send(form);
  });
}
