// Live events: SSE opened with a single-use stream ticket (EventSource cannot send a bearer
// header), resumed from the last event id after any drop; long-polling where SSE is missing.

import { api } from "./api.js";

const TYPES = [
  "message.created",
  "message.updated",
  "message.deleted",
  "room.created",
  "room.updated",
  "room.deleted",
  "member.added",
  "member.removed",
  "member.updated",
  "read.updated",
  "user.updated",
  "ban.updated",
  "join_request.created",
  "join_request.resolved",
  "invite.created",
  "invite.deleted",
  "reaction.updated",
  "scheduled.updated",
  "typing",
  "presence.updated",
];
const MAX_DELAY_MS = 15_000;

/** Calls `onEvent(type, data)` for every event, `onReset()` when the gap was too old to replay;
 * returns the function that stops listening (at sign-out). */
export function listen(onEvent, onReset) {
  let last = null;
  let stopped = false;
  let delay = 500;

  const handle = (type, id, data) => {
    if (id) last = id;
    if (type === "reset") onReset();
    else if (TYPES.includes(type)) onEvent(type, data);
  };

  let retry = null;
  const again = (open) => {
    if (stopped) return;
    retry = () => {
      clearTimeout(timer);
      retry = null;
      open();
    };
    const timer = setTimeout(retry, delay);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  };
  let source = null;
  let opened = false;
  const drop = () => {
    source?.close();
    source = null;
    again(stream);
  };
  // Off the network the connection is as good as dead, though nobody may notice for a while:
  // drop it, and reconnect (resuming after the last event) as soon as the network is back.
  window.addEventListener("offline", () => source && drop());
  window.addEventListener("online", () => retry?.());

  async function stream() {
    try {
      const { ticket } = await api("POST", "/events/ticket");
      const since = last === null ? "" : `&since=${encodeURIComponent(last)}`;
      source = new EventSource(`/api/v1/events?ticket=${encodeURIComponent(ticket)}${since}`);
      source.addEventListener("open", () => {
        delay = 500;
        // No event heard yet, so nothing to resume after: what was missed is fetched afresh.
        if (opened && last === null) onReset();
        opened = true;
      });
      for (const type of [...TYPES, "reset"]) {
        source.addEventListener(type, (event) => handle(type, event.lastEventId, JSON.parse(event.data || "null")));
      }
      // The ticket is spent: the browser's own reconnection would be refused, so take a new one.
      source.addEventListener("error", drop);
    } catch {
      again(stream);
    }
  }

  async function poll() {
    try {
      const since = last === null ? "" : `&since=${encodeURIComponent(last)}`;
      const answer = await api("GET", `/events/poll?timeout=25${since}`);
      for (const event of answer.events) handle(event.type, event.id, event.data);
      last = answer.last_event_id ?? last;
      delay = 500;
      if (!stopped) poll();
    } catch {
      again(poll);
    }
  }

  if (typeof EventSource === "function") stream();
  else poll();
  return () => {
    stopped = true;
    source?.close();
  };
}
