// The Parley browser client: rooms, a conversation, live events. A client of the public API only.

import { api, ApiError, call, fileBlob, upload } from "./api.js";
import { completeSignIn, signIn, SignInError, signOut } from "./auth.js";
import { listen } from "./stream.js";
import { el, renderBody } from "./text.js";

const PAGE = 30;
const THREAD = 100; // replies fetched when a thread opens
const SEND_ATTEMPTS = 8;
const MAX_SEND_DELAY_MS = 15_000;
const TYPING_EVERY_MS = 3000;
const MAX_TIMER_MS = 86_400_000; // longer timers overflow setTimeout's 32 bits and fire at once
const COMMON_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢"];
// Why a scheduled message could not go out (`failure_reason`), in words.
const NOT_SENT = {
  not_a_member: "you are no longer in the room",
  banned: "reports had stopped you posting",
  parent_deleted: "the message it replied to was deleted",
  attachments_gone: "its attachments are gone",
};
// A sign-out whose revocation the server never confirmed (offline, or refused).
const UNREVOKED =
  "The server could not be reached to end the session: this page has forgotten its tokens, but they stay valid until they expire.";

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  rooms: new Map(),
  directPeople: new Map(),
  current: null,
  messages: [],
  allOlderLoaded: false,
  loadingOlder: false,
  readSent: new Map(),
  members: [],
  replyTo: null,
  openThreads: new Set(),
  replies: new Map(),
  inviteUrls: new Map(),
  copiedInvite: null,
  attachments: [],
  online: new Set(),
  typing: new Map(),
  typingSentAt: 0,
};

// --- problems, shown in words -------------------------------------------------------------------

let unreachable = false;

function showProblem(error) {
  if (error instanceof SignInError) return signedOut(error.message);
  if (!$("signed-out").hidden) return;
  say(error instanceof ApiError ? error.message : "The server cannot be reached: retrying.", !(error instanceof ApiError));
}

function say(text, network) {
  unreachable = network;
  $("problem").textContent = text;
  $("problem").hidden = false;
}

/** Any answer proves the server reachable again; a refusal stays on screen until the person does
 * something next, however many background refreshes succeed meanwhile. */
const clearProblem = () => {
  if (unreachable) $("problem").hidden = true;
};

const dismissProblem = () => {
  $("problem").hidden = true;
};

async function attempt(action) {
  try {
    const result = await action();
    clearProblem();
    return result;
  } catch (error) {
    showProblem(error);
    return undefined;
  }
}

// --- rooms --------------------------------------------------------------------------------------

/** How people are named everywhere: display name, else username; a deleted account has no author. */
const personName = (user) => (user ? user.display_name || user.username : "deleted user");

const activity = (room) => room.last_message?.created_at ?? room.created_at;

function roomName(room) {
  if (room.kind !== "direct") return room.name;
  if (!state.directPeople.has(room.id)) {
    state.directPeople.set(room.id, null);
    api("GET", `/rooms/${room.id}/members?page_size=2`).then((members) => {
      const other = members.find((member) => member.user.id !== state.me.id) ?? members[0];
      if (other) state.directPeople.set(room.id, other.user);
      renderRooms();
      if (state.current === room.id) renderRoomHeader();
    }, showProblem);
  }
  const other = state.directPeople.get(room.id);
  return other ? personName(other) : "Direct conversation";
}

function preview(message) {
  if (!message) return "No messages yet";
  return `${personName(message.author)}: ${message.deleted ? "(deleted)" : message.body}`;
}

function renderRooms() {
  const rooms = [...state.rooms.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
  $("rooms").replaceChildren(
    ...rooms.map((room) => {
      const unread = room.unread_count > 0 ? el("span", { class: "badge", title: "unread" }, String(room.unread_count)) : null;
      const button = el(
        "button",
        { class: "room", type: "button", "aria-current": room.id === state.current ? "true" : "false", onclick: () => go(`#/rooms/${room.id}`) },
        el("span", { class: "name" }, roomName(room)),
        unread ?? el("span"),
        el("span", { class: "last" }, preview(expired(room, room.last_message) ? null : room.last_message)),
      );
      return el("li", {}, button);
    }),
  );
}

async function loadRooms() {
  const rooms = await api("GET", "/rooms?page_size=100");
  state.rooms = new Map(rooms.map((room) => [room.id, room]));
  renderRooms();
  renderRoomHeader();
  dropExpired();
  if (state.current !== null && !state.rooms.has(state.current)) closeRoom();
}

async function refreshRoom(roomId) {
  const room = await api("GET", `/rooms/${roomId}`);
  state.rooms.set(room.id, room);
  renderRooms();
}

// --- the conversation ---------------------------------------------------------------------------

const own = (message) => message.author?.id === state.me.id;

/** A person's name that opens their profile; a deleted account is only a name. */
function personButton(user, className) {
  if (!user) return el("span", { class: className }, personName(user));
  return el("button", { type: "button", class: `${className} person`, onclick: () => showPerson(user) }, personName(user));
}

function messageItem(message) {
  const when = new Date(message.created_at);
  const meta = el(
    "div",
    { class: "meta" },
    personButton(message.author, "author"),
    el("time", { datetime: message.created_at }, when.toLocaleString()),
    message.edited_at ? " (edited)" : null,
  );
  const body = el("p", { class: "body" });
  if (message.deleted) body.textContent = "This message was deleted.";
  else renderBody(body, message.body);
  const item = el("li", { class: message.deleted ? "message deleted" : "message", "data-id": String(message.id) }, meta, body);
  if (!message.deleted && message.attachments?.length) item.append(attachmentList(message.attachments));
  if (!message.deleted) item.append(reactionBar(message));
  const actions = el("div", { class: "actions" });
  if (!message.deleted && !message.parent_id) {
    actions.append(el("button", { type: "button", onclick: () => replyTo(message) }, "Reply"));
  }
  if (message.reply_count && !message.parent_id) {
    const open = state.openThreads.has(message.id);
    const label = `${open ? "Hide" : "Show"} ${message.reply_count} ${message.reply_count === 1 ? "reply" : "replies"}`;
    actions.append(el("button", { type: "button", "aria-expanded": String(open), onclick: () => toggleThread(message) }, label));
  }
  if (own(message) && !message.deleted) {
    actions.append(
      el("button", { type: "button", onclick: () => startEdit(item, message) }, "Edit"),
      el("button", { type: "button", onclick: () => deleteMessage(message) }, "Delete"),
    );
  }
  item.append(actions);
  if (state.openThreads.has(message.id)) item.append(el("ol", { class: "replies", "aria-label": "Replies" }));
  return item;
}

function attachmentList(attachments) {
  return el(
    "ul",
    { class: "attachments" },
    ...attachments.map((attachment) => {
      const item = el("li", {}, el("button", { type: "button", onclick: () => download(attachment) }, `Download ${attachment.filename} (${size(attachment.size)})`));
      if (attachment.content_type.startsWith("image/")) {
        const image = el("img", { alt: attachment.filename });
        fileBlob(attachment.url).then((blob) => {
          image.src = URL.createObjectURL(blob);
        }, showProblem);
        item.prepend(image);
      }
      return item;
    }),
  );
}

// --- reactions ----------------------------------------------------------------------------------

/** The reactions given (a chip toggles your own) and a picker of common emoji. */
function reactionBar(message) {
  const chips = message.reactions.map((reaction) =>
    el(
      "button",
      { type: "button", class: "reaction", "aria-pressed": String(reaction.me), onclick: () => react(message, reaction.emoji, reaction.me) },
      `${reaction.emoji} ${reaction.count}`,
    ),
  );
  const picker = el("details", { class: "picker" }, el("summary", {}, "React"));
  const other = el("input", { name: "emoji", size: "6", maxlength: "64", autocomplete: "off" });
  const otherEmoji = (event) => {
    event.preventDefault();
    if (other.value.trim()) react(message, other.value.trim(), false);
  };
  picker.append(
    ...COMMON_EMOJI.map((emoji) =>
      el("button", { type: "button", "aria-label": `React with ${emoji}`, onclick: () => react(message, emoji, false) }, emoji),
    ),
    el("form", { onsubmit: otherEmoji }, el("label", {}, "Other emoji ", other), el("button", { type: "submit" }, "Add")),
  );
  return el("div", { class: "reactions" }, ...chips, picker);
}

/** Give or take back a reaction; the answer shows it at once, `reaction.updated` tells the others. */
async function react(message, emoji, given) {
  const path = `/rooms/${message.room_id}/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`;
  if (!given) {
    const updated = await attempt(() => api("PUT", path));
    if (updated) upsertMessage(updated);
    return;
  }
  if (!(await attempt(() => call("DELETE", path)))) return;
  const known = knownMessage(message.id) ?? message;
  const reactions = known.reactions
    .map((reaction) => (reaction.emoji === emoji && reaction.me ? { ...reaction, count: reaction.count - 1, me: false } : reaction))
    .filter((reaction) => reaction.count > 0);
  upsertMessage({ ...known, reactions });
}

const knownMessage = (id) => state.messages.find((message) => message.id === id) ?? state.replies.get(id);

const size = (bytes) => (bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`);

async function download(attachment) {
  const blob = await attempt(() => fileBlob(attachment.url));
  if (!blob) return;
  const link = el("a", { href: URL.createObjectURL(blob), download: attachment.filename });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// --- replies ------------------------------------------------------------------------------------

function replyTo(message) {
  state.replyTo = message;
  $("replying-to").textContent = `Replying to ${personName(message.author)}`;
  $("replying").hidden = false;
  $("body").focus();
}

function cancelReply() {
  state.replyTo = null;
  $("replying").hidden = true;
}

async function toggleThread(message) {
  if (state.openThreads.has(message.id)) state.openThreads.delete(message.id);
  else state.openThreads.add(message.id);
  upsertMessage(message);
  if (!state.openThreads.has(message.id)) return;
  const path = `/rooms/${message.room_id}/messages/${message.id}/replies?limit=${THREAD}`;
  const replies = await attempt(() => api("GET", path));
  if (!replies) return;
  for (const reply of replies) showReply(reply);
  if (replies.length < THREAD) countReplies(message.id);
}

/**
 * A whole thread is known: its parent counts the replies known of it, fetched or heard of. A reply
 * sent while the thread was being fetched is in the fetch and in an event, and counts once.
 */
function countReplies(parentId) {
  const parent = state.messages.find((message) => message.id === parentId);
  if (!parent) return;
  const known = [...state.replies.values()].filter((reply) => reply.parent_id === parentId && !reply.deleted);
  parent.reply_count = known.length;
  upsertMessage(parent);
}

function showReply(reply) {
  state.replies.set(reply.id, reply);
  const list = $("messages").querySelector(`[data-id="${reply.parent_id}"] > .replies`);
  if (!list) return;
  const existing = list.querySelector(`[data-id="${reply.id}"]`);
  if (existing) redraw(existing, reply);
  else list.append(messageItem(reply));
}

/** A reply counts once on its parent, whether the send's answer or the event comes first. */
function upsertReply(reply) {
  const parent = state.messages.find((message) => message.id === reply.parent_id);
  if (!parent) return;
  if (!state.replies.has(reply.id)) {
    parent.reply_count += 1;
    upsertMessage(parent);
  }
  showReply(reply);
}

// --- attachments --------------------------------------------------------------------------------

async function attachFile() {
  const input = $("file");
  const file = input.files[0];
  if (!file) return;
  const progress = $("upload");
  progress.hidden = false;
  progress.value = 0;
  const attachment = await attempt(() => upload(file, (done) => (progress.value = done)));
  progress.hidden = true;
  input.value = "";
  if (!attachment) return;
  state.attachments.push(attachment);
  renderAttached();
}

function renderAttached() {
  const names = state.attachments.map((attachment) => attachment.filename);
  $("attached").textContent = names.length ? `Attached: ${names.join(", ")}` : "";
  $("attached").hidden = !names.length;
}

function startEdit(item, message) {
  const text = el("textarea", { "aria-label": "Edit message", rows: "2", maxlength: "4000" });
  text.value = message.body;
  const cancel = () => {
    item.classList.remove("editing");
    redraw(item, knownMessage(message.id) ?? message);
  };
  const form = el(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        const saved = await attempt(() => api("PATCH", `/rooms/${message.room_id}/messages/${message.id}`, { body: text.value }));
        if (!saved) return;
        item.classList.remove("editing");
        upsertMessage(saved);
      },
    },
    text,
    el("button", { type: "submit" }, "Save"),
    el("button", { type: "button", onclick: cancel }, "Cancel"),
  );
  item.classList.add("editing");
  item.replaceChildren(form);
  text.focus();
}

async function deleteMessage(message) {
  if (!confirm("Delete this message?")) return;
  await attempt(() => api("DELETE", `/rooms/${message.room_id}/messages/${message.id}`));
}

const nearBottom = () => {
  const list = $("messages");
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
};

function upsertMessage(message) {
  if (message.room_id !== state.current) return;
  if (message.parent_id) return upsertReply(message);
  const index = state.messages.findIndex((known) => known.id === message.id);
  const existing = $("messages").querySelector(`[data-id="${message.id}"]`);
  if (index >= 0) {
    state.messages[index] = message;
    if (existing) redraw(existing, message);
    return;
  }
  const stick = nearBottom();
  state.messages.push(message);
  $("messages").append(messageItem(message));
  if (stick || own(message)) $("messages").scrollTop = $("messages").scrollHeight;
  markRead();
  dropExpired();
}

let expiryTimer = null;

const expiresAt = (room, message) => new Date(message.created_at).getTime() + room.message_ttl_seconds * 1000;

/** Past its room's retention: gone from the server, so gone from the screen, previews included. */
const expired = (room, message) => Boolean(room.message_ttl_seconds && message && expiresAt(room, message) <= Date.now());

/** Expiry sends no event: a message past its room's `message_ttl_seconds` leaves the screen by
 * itself, and a timer waits for the next one to go. */
function dropExpired() {
  clearTimeout(expiryTimer);
  const room = state.rooms.get(state.current);
  if (!room?.message_ttl_seconds) return;
  const shown = [...state.messages, ...state.replies.values()];
  for (const message of shown.filter((known) => expired(room, known))) {
    $("messages").querySelector(`[data-id="${message.id}"]`)?.remove();
    state.replies.delete(message.id);
  }
  state.messages = state.messages.filter((message) => !expired(room, message));
  renderRooms();
  const next = Math.min(...[...state.messages, ...state.replies.values()].map((message) => expiresAt(room, message)));
  if (Number.isFinite(next)) expiryTimer = setTimeout(dropExpired, Math.min(next - Date.now() + 50, MAX_TIMER_MS));
}

/** A message drawn again (edited, reacted to) keeps its open thread and an open reaction picker;
 * one being edited waits until the edit ends, so the text being written is not lost. */
function redraw(existing, message) {
  if (existing.classList.contains("editing")) return; // drawn when the edit is saved or cancelled
  const fresh = messageItem(message);
  for (const part of [":scope > .replies", ":scope > .reactions > .picker[open]"]) {
    const kept = existing.querySelector(part);
    if (kept) fresh.querySelector(part.replace("[open]", ""))?.replaceWith(kept);
  }
  existing.replaceWith(fresh);
}

function renderRoomHeader() {
  const room = state.rooms.get(state.current);
  $("room-title").textContent = room ? roomName(room) : "Pick a room";
  $("room-topic").textContent = room?.topic ?? "";
  $("show-members").hidden = !room;
}

function closeMembers() {
  $("members").hidden = true;
  $("show-members").setAttribute("aria-expanded", "false");
}

function closeRoom() {
  state.current = null;
  state.messages = [];
  $("messages").replaceChildren();
  $("composer").hidden = true;
  $("chat").classList.remove("in-room");
  closeMembers();
  renderRoomHeader();
  renderRooms();
}

async function openRoom(roomId) {
  if (!state.rooms.has(roomId)) return closeRoom();
  state.current = roomId;
  state.messages = [];
  state.allOlderLoaded = false;
  state.openThreads.clear();
  state.replies.clear();
  state.attachments = [];
  renderAttached();
  cancelReply();
  $("chat").classList.add("in-room");
  $("messages").replaceChildren();
  $("composer").hidden = false;
  closeMembers();
  renderRoomHeader();
  renderTyping();
  renderRooms();
  const messages = await attempt(() => api("GET", `/rooms/${roomId}/messages?limit=${PAGE}`));
  if (!messages || state.current !== roomId) return;
  state.allOlderLoaded = messages.length < PAGE;
  for (const message of messages) upsertMessage(message);
  $("messages").scrollTop = $("messages").scrollHeight;
  $("body").focus();
  markRead();
}

async function loadOlder() {
  const roomId = state.current;
  if (state.loadingOlder || state.allOlderLoaded || !state.messages.length) return;
  state.loadingOlder = true;
  const list = $("messages");
  const older = await attempt(() => api("GET", `/rooms/${roomId}/messages?before=${state.messages[0].id}&limit=${PAGE}`));
  state.loadingOlder = false;
  if (!older || state.current !== roomId) return;
  state.allOlderLoaded = older.length < PAGE;
  const height = list.scrollHeight;
  state.messages.unshift(...older);
  list.prepend(...older.map(messageItem));
  list.scrollTop += list.scrollHeight - height;
}

let readQueued = false;

/** Move the read marker to the newest message on screen, while the tab is seen: once for a batch of
 * messages shown together (a page of history), after they are all on screen. */
function markRead() {
  if (readQueued) return;
  readQueued = true;
  queueMicrotask(() => {
    readQueued = false;
    moveReadMarker();
  });
}

function moveReadMarker() {
  const room = state.rooms.get(state.current);
  const newest = state.messages.at(-1);
  if (!room || !newest || document.visibilityState !== "visible" || !nearBottom()) return;
  if ((state.readSent.get(room.id) ?? 0) >= newest.id) return;
  state.readSent.set(room.id, newest.id);
  room.unread_count = 0;
  renderRooms();
  attempt(() => api("PUT", `/rooms/${room.id}/read`, { message_id: newest.id }));
}

const backOnline = (ms) =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener("online", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener("online", done);
  });

/** Retried with the same `client_msg_id` after a network failure: the server never stores it twice. */
async function send(roomId, fields) {
  const clientMsgId = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
  for (let tries = 1; ; tries += 1) {
    try {
      return (await call("POST", `/rooms/${roomId}/messages`, { ...fields, client_msg_id: clientMsgId })).body;
    } catch (error) {
      if (error instanceof ApiError || error instanceof SignInError || tries >= SEND_ATTEMPTS) throw error;
      say("Not sent yet: the server cannot be reached, retrying.", true);
      await backOnline(Math.min(500 * 2 ** tries, MAX_SEND_DELAY_MS));
    }
  }
}

async function submitComposer(event) {
  event.preventDefault();
  const box = $("body");
  const body = box.value;
  if (!body.trim() || state.current === null) return;
  const roomId = state.current;
  const fields = { body };
  if (state.replyTo) fields.parent_id = state.replyTo.id;
  if (state.attachments.length) fields.attachment_ids = state.attachments.map((attachment) => attachment.id);
  if ($("send-at").value) fields.send_at = new Date($("send-at").value).toISOString();
  box.value = "";
  $("composer-note").textContent = "";
  const message = await attempt(() => send(roomId, fields));
  if (!message) {
    if (!box.value) box.value = body;
    return;
  }
  cancelReply();
  state.attachments = [];
  renderAttached();
  // Until it goes out, a scheduled message is answered as the pending item, which has no author.
  if (!("author" in message)) return scheduled(message);
  upsertMessage(message);
}

function scheduled(item) {
  $("send-at").value = "";
  $("later").open = false;
  laterChosen();
  $("composer-note").textContent = `Scheduled for ${new Date(item.send_at).toLocaleString()}: see "Scheduled messages".`;
  loadScheduled();
}

/** The button says what Enter will do: send now, or schedule. */
function laterChosen() {
  $("send").textContent = $("send-at").value ? "Schedule" : "Send";
}

// --- scheduled messages -------------------------------------------------------------------------

async function loadScheduled() {
  if (!$("scheduled").open) return;
  const items = await attempt(() => api("GET", "/users/me/scheduled?limit=100"));
  if (!items) return;
  $("scheduled-list").replaceChildren(...(items.length ? items.map(scheduledItem) : [el("li", {}, "Nothing is scheduled.")]));
}

function scheduledItem(item) {
  const room = state.rooms.get(item.room_id);
  const failed = item.status === "failed";
  const when = `${room ? roomName(room) : "A room you left"} · ${new Date(item.send_at).toLocaleString()}`;
  const outcome = failed ? el("p", { class: "failed" }, `Not sent: ${NOT_SENT[item.failure_reason] ?? item.failure_reason}.`) : null;
  const cancel = async () => {
    if (await attempt(() => call("DELETE", `/users/me/scheduled/${item.id}`))) loadScheduled();
  };
  return el("li", {}, el("span", { class: "when" }, when), el("p", { class: "body" }, item.body), outcome, el("button", { type: "button", onclick: cancel }, failed ? "Dismiss" : "Cancel"));
}

function composerKey(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
}

function composerInput() {
  const now = Date.now();
  if (state.current === null || now - state.typingSentAt < TYPING_EVERY_MS) return;
  state.typingSentAt = now;
  call("POST", `/rooms/${state.current}/typing`).catch(() => {});
}

function renderTyping() {
  const now = Date.now();
  const names = [...state.typing.values()]
    .filter((entry) => entry.roomId === state.current && entry.until > now)
    .map((entry) => entry.name);
  $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

// --- members ------------------------------------------------------------------------------------

const presenceOf = (userId) => (state.online.has(userId) ? "online" : "offline");

function renderMembers() {
  const room = state.rooms.get(state.current);
  const myRole = state.members.find((m) => m.user.id === state.me.id)?.role;
  const manager = myRole === "owner" || myRole === "admin";
  $("member-list").replaceChildren(
    ...state.members.map((member) => {
      const name = personName(member.user);
      const presence = presenceOf(member.user.id);
      const remove =
        manager && member.user.id !== state.me.id && member.role !== "owner"
          ? el("button", { type: "button", onclick: () => removeMember(member) }, `Remove ${name}`)
          : null;
      const role =
        myRole === "owner" && member.user.id !== state.me.id
          ? roleChoice(member, name)
          : el("span", { class: "role" }, member.role);
      return el("li", {}, el("span", { class: `dot ${presence}`, role: "img", "aria-label": presence }), personButton(member.user, "name"), role, remove);
    }),
  );
  $("add-member").hidden = room?.kind === "direct";
  $("leave-room").hidden = room?.kind === "direct";
  $("invites").hidden = !manager || room?.kind === "direct";
  if (document.activeElement?.form !== $("room-settings")) fillRoomSettings(room, manager);
  if (manager && room?.kind !== "direct") {
    loadJoinRequests();
    loadInvites();
  } else {
    $("join-requests").hidden = true;
  }
}

/** The owner's choice of each member's role; choosing `owner` hands the room over. */
function roleChoice(member, name) {
  const select = el("select", { "aria-label": `Role of ${name}` }, ...["member", "admin", "owner"].map((role) => el("option", { value: role, selected: role === member.role }, role)));
  select.addEventListener("change", async () => {
    const role = select.value;
    if (role === "owner" && !confirm(`Make ${name} the owner? You become an admin.`)) {
      select.value = member.role;
      return;
    }
    select.disabled = true;
    const changed = await attempt(() => api("PATCH", `/rooms/${state.current}/members/${member.user.id}`, { role }));
    select.disabled = false;
    if (!changed) select.value = member.role;
    loadMembers();
    if (role === "owner") attempt(loadRooms);
  });
  return select;
}

async function loadJoinRequests() {
  const roomId = state.current;
  const requests = await attempt(() => api("GET", `/rooms/${roomId}/join-requests?page_size=100`));
  if (!requests || state.current !== roomId) return;
  const pending = requests.filter((request) => request.status === "pending");
  $("join-requests").hidden = !pending.length;
  $("join-request-list").replaceChildren(
    ...pending.map((request) => {
      const name = personName(request.user);
      const resolve = (verb) => async () => {
        const done = await attempt(() => api("POST", `/rooms/${roomId}/join-requests/${request.id}/${verb}`));
        if (done) loadMembers();
      };
      return el(
        "li",
        {},
        el("span", { class: "role" }, name),
        el("button", { type: "button", onclick: resolve("approve") }, `Approve ${name}`),
        el("button", { type: "button", onclick: resolve("reject") }, `Reject ${name}`),
      );
    }),
  );
}

async function loadMembers() {
  const roomId = state.current;
  const members = await attempt(() => api("GET", `/rooms/${roomId}/members?page_size=100`));
  if (!members || state.current !== roomId) return;
  state.members = members;
  renderMembers();
  const profiles = await Promise.all(members.map((m) => api("GET", `/users/${m.user.id}`).catch(() => null)));
  for (const profile of profiles.filter(Boolean)) {
    if (profile.presence === "online") state.online.add(profile.id);
    else state.online.delete(profile.id);
  }
  if (state.current === roomId) renderMembers();
}

function toggleMembers() {
  const open = $("members").hidden;
  $("members").hidden = !open;
  $("show-members").setAttribute("aria-expanded", String(open));
  if (open) loadMembers();
}

async function addMember(event) {
  event.preventDefault();
  const form = event.target;
  const added = await attempt(() => api("POST", `/rooms/${state.current}/members`, { username: form.username.value }));
  if (!added) return;
  form.reset();
  loadMembers();
}

async function removeMember(member) {
  if (!confirm(`Remove ${member.user.username} from this room?`)) return;
  const done = await attempt(() => call("DELETE", `/rooms/${state.current}/members/${member.user.id}`));
  if (done) loadMembers();
}

async function leaveRoom() {
  if (!confirm("Leave this room?")) return;
  const done = await attempt(() => call("DELETE", `/rooms/${state.current}/members/me`));
  if (!done) return;
  state.rooms.delete(state.current);
  go("#/");
}

// --- room settings and profile ------------------------------------------------------------------

function fillRoomSettings(room, manager) {
  const form = $("room-settings");
  form.hidden = !manager || room?.kind === "direct";
  if (form.hidden) return;
  form.name.value = room.name;
  form.topic.value = room.topic ?? "";
  form.ttl.value = room.message_ttl_seconds ?? "";
  $("delete-room").hidden = room.owner_id !== state.me.id;
}

async function saveRoomSettings(event) {
  event.preventDefault();
  const form = event.target;
  const changes = { name: form.name.value, topic: form.topic.value, message_ttl_seconds: form.ttl.value ? Number(form.ttl.value) : null };
  const room = await attempt(() => api("PATCH", `/rooms/${state.current}`, changes));
  if (!room) return;
  state.rooms.set(room.id, room);
  renderRooms();
  renderRoomHeader();
  dropExpired();
}

async function deleteRoom() {
  if (!confirm("Delete this room and all its messages?")) return;
  const done = await attempt(() => call("DELETE", `/rooms/${state.current}`));
  if (!done) return;
  state.rooms.delete(state.current);
  go("#/");
}

function showMe() {
  $("me").textContent = `Signed in as ${personName(state.me)}`;
  $("me").hidden = false;
}

function fillProfile() {
  const form = $("profile-form");
  form.reset();
  form.display_name.value = state.me.display_name ?? "";
  form.email.value = state.me.email ?? "";
  $("profile-saved").textContent = "";
}

/** Only what changed is sent: email and password need the current password, a name does not. */
async function saveProfile(event) {
  event.preventDefault();
  const form = event.target;
  const changes = {};
  if (form.display_name.value !== (state.me.display_name ?? "")) changes.display_name = form.display_name.value || null;
  if (form.email.value !== (state.me.email ?? "")) changes.email = form.email.value || null;
  if (form.password.value) changes.password = form.password.value;
  if (form.current_password.value) changes.current_password = form.current_password.value;
  const me = await attempt(() => api("PATCH", "/users/me", changes));
  if (!me) return;
  state.me = me;
  showMe();
  fillProfile();
  $("profile-saved").textContent = "Saved.";
}

async function deleteAccount(event) {
  event.preventDefault();
  if (!confirm("Delete your account? This cannot be undone.")) return;
  const done = await attempt(() => call("DELETE", "/users/me", { current_password: event.target.current_password.value }));
  if (done) await endSession("Your account was deleted.");
}

// --- search -------------------------------------------------------------------------------------

async function searchMessages(event) {
  event.preventDefault();
  const query = event.target.q.value.trim();
  if (!query) return;
  const found = await attempt(() => api("GET", `/messages/search?q=${encodeURIComponent(query)}`));
  if (!found) return;
  $("found").replaceChildren(
    ...(found.length ? found : [null]).map((message) => {
      if (!message) return el("li", {}, "No message matches.");
      const room = state.rooms.get(message.room_id);
      const where = room ? roomName(room) : "a room";
      return el("li", {}, el("button", { type: "button", onclick: () => go(`#/rooms/${message.room_id}`) }, `${where} · ${preview(message)}`));
    }),
  );
}

// --- invite links -------------------------------------------------------------------------------

async function createInvite(event) {
  event.preventDefault();
  const requiresApproval = event.target.approval.checked;
  const invite = await attempt(() => api("POST", `/rooms/${state.current}/invites`, { requires_approval: requiresApproval }));
  if (!invite) return;
  state.inviteUrls.set(invite.id, invite.url);
  loadInvites();
}

async function loadInvites() {
  const roomId = state.current;
  const invites = await attempt(() => api("GET", `/rooms/${roomId}/invites?page_size=100`));
  if (!invites || state.current !== roomId) return;
  $("invite-list").replaceChildren(...invites.map(inviteItem));
}

/** The server shows a link only to the request that made it: links made elsewhere show their prefix. */
function inviteItem(invite) {
  const url = state.inviteUrls.get(invite.id);
  const uses = invite.max_uses ? `used ${invite.uses} of ${invite.max_uses} times` : `used ${invite.uses} times`;
  const expiry = invite.expires_at ? `until ${new Date(invite.expires_at).toLocaleString()}` : "no expiry";
  const facts = ` ${invite.requires_approval ? "needs approval" : "joins at once"}, ${uses}, ${expiry} `;
  const revoke = async () => {
    if (!confirm("Revoke this invite link? It stops working at once.")) return;
    if (await attempt(() => call("DELETE", `/rooms/${invite.room_id}/invites/${invite.id}`))) loadInvites();
  };
  return el(
    "li",
    {},
    url ? el("a", { href: url }, url) : el("span", { class: "code" }, `${invite.code_prefix}…`),
    facts,
    url ? copyButton(invite.id, url) : null,
    el("button", { type: "button", onclick: revoke }, "Revoke"),
  );
}

/** "Copied" outlives the list being drawn again (an `invite.*` event redraws it), even when the
 * redraw comes between the click and the clipboard's answer: every button of the invite says so. */
function copyButton(inviteId, url) {
  const button = el("button", { type: "button" }, state.copiedInvite === inviteId ? "Copied" : "Copy");
  button.dataset.copyInvite = String(inviteId);
  button.addEventListener("click", () =>
    navigator.clipboard.writeText(url).then(
      () => {
        state.copiedInvite = inviteId;
        for (const shown of document.querySelectorAll(`button[data-copy-invite="${inviteId}"]`)) {
          shown.textContent = "Copied";
        }
      },
      () => showProblem(new ApiError(0, "This browser did not let the page copy: select the link and copy it.")),
    ),
  );
  return button;
}

// --- other people's profiles --------------------------------------------------------------------

async function showPerson(user) {
  const profile = await attempt(() => api("GET", `/users/${user.id}`));
  if (!profile) return;
  $("person-name").textContent = personName(profile);
  $("person-username").textContent = `Username: ${profile.username}`;
  const seen = profile.last_seen_at ? `last seen ${new Date(profile.last_seen_at).toLocaleString()}` : "not seen yet";
  $("person-presence").textContent = profile.presence === "online" ? "Online now" : `Offline, ${seen}`;
  $("person-since").textContent = `Member since ${new Date(profile.created_at).toLocaleDateString()}`;
  $("message-person").hidden = profile.id === state.me.id;
  $("message-person").onclick = () => {
    $("person").close();
    directTo(profile.username);
  };
  $("person").showModal();
}

// --- finding and creating rooms -----------------------------------------------------------------

async function createRoom(event) {
  event.preventDefault();
  const form = event.target;
  const members = form.members.value.split(/[\s,]+/).filter(Boolean);
  const room = await attempt(() => api("POST", "/rooms", { name: form.name.value, kind: form.kind.value, members }));
  if (!room) return;
  form.reset();
  $("new-room").open = false;
  state.rooms.set(room.id, room);
  go(`#/rooms/${room.id}`);
}

async function browsePublicRooms() {
  if (!$("browse").open) return;
  const rooms = await attempt(() => api("GET", "/rooms?scope=public&page_size=100"));
  if (!rooms) return;
  $("public-rooms").replaceChildren(
    ...rooms.map((room) => {
      const joined = state.rooms.has(room.id);
      const action = joined
        ? el("button", { type: "button", onclick: () => go(`#/rooms/${room.id}`) }, `Open ${room.name}`)
        : el("button", { type: "button", onclick: () => joinRoom(room.id) }, `Join ${room.name}`);
      return el("li", {}, action);
    }),
  );
}

async function joinRoom(roomId) {
  const room = await attempt(() => api("POST", `/rooms/${roomId}/join`));
  if (!room) return;
  state.rooms.set(room.id, room);
  go(`#/rooms/${room.id}`);
}

async function findPeople(event) {
  event.preventDefault();
  const query = event.target.q.value.trim();
  if (!query) return;
  const users = await attempt(() => api("GET", `/users?q=${encodeURIComponent(query)}`));
  if (!users) return;
  const others = users.filter((user) => user.id !== state.me.id);
  $("people").replaceChildren(
    ...(others.length ? others : [null]).map((user) =>
      user
        ? el("li", {}, el("button", { type: "button", onclick: () => directTo(user.username) }, `Message ${personName(user)}`))
        : el("li", {}, "Nobody by that name."),
    ),
  );
}

async function directTo(username) {
  const room = await attempt(() => api("POST", "/rooms/direct", { username }));
  if (!room) return;
  state.rooms.set(room.id, room);
  $("people").replaceChildren();
  $("find-people").reset();
  go(`#/rooms/${room.id}`);
}

/** On the invitation page, the request's outcome: into the room, or a refusal in words. */
function answerToMyRequest(request) {
  if ($("invite").hidden || request.status === "pending") return;
  if (request.status === "rejected") {
    $("invite-outcome").textContent = "Your request to join was declined.";
    return;
  }
  attempt(loadRooms).then(() => go(`#/rooms/${request.room_id}`));
}

async function acceptInvite(code) {
  const answer = await attempt(() => call("POST", `/invites/${encodeURIComponent(code)}/accept`));
  if (!answer) return;
  if (answer.status === 202) {
    $("invite-outcome").textContent = "Your request to join was sent: the room appears here once it is approved.";
    $("accept-invite").hidden = true;
    return;
  }
  state.rooms.set(answer.body.id, answer.body);
  go(`#/rooms/${answer.body.id}`);
}

// --- live events --------------------------------------------------------------------------------

let roomsReload = null;
let stopListening = null;

function reloadRoomsSoon() {
  clearTimeout(roomsReload);
  roomsReload = setTimeout(() => attempt(loadRooms), 100);
}

function onEvent(type, data) {
  if (type === "message.created" || type === "message.updated" || type === "message.deleted") {
    const room = state.rooms.get(data.room_id);
    if (!room) return reloadRoomsSoon();
    if (!data.parent_id && (type === "message.created" || room.last_message?.id === data.id)) room.last_message = data;
    if (type === "message.created") state.typing.delete(data.author?.id);
    if (type === "message.created" && data.send_at && own(data)) loadScheduled();
    upsertMessage(data);
    if (type === "message.created" && !own(data) && !(room.id === state.current && nearBottom() && !document.hidden)) {
      room.unread_count += 1;
    }
    renderRooms();
    renderTyping();
  } else if (type === "read.updated") {
    attempt(() => refreshRoom(data.room_id));
  } else if (type === "typing") {
    if (data.user.id === state.me.id) return;
    state.typing.set(data.user.id, { roomId: data.room_id, name: personName(data.user), until: Date.now() + data.expires_in * 1000 });
    renderTyping();
    setTimeout(renderTyping, data.expires_in * 1000 + 50);
  } else if (type === "join_request.created" || type === "join_request.resolved") {
    if (data.room_id === state.current && !$("members").hidden) loadMembers();
    if (data.user.id === state.me.id) answerToMyRequest(data);
  } else if (type === "presence.updated") {
    for (const change of data.users) {
      if (change.online) state.online.add(change.user_id);
      else state.online.delete(change.user_id);
    }
    if (!$("members").hidden) renderMembers();
  } else if (type === "user.updated") {
    renamed(data);
  } else if (type === "reaction.updated") {
    const known = knownMessage(data.message_id);
    if (known && data.room_id === state.current) upsertMessage({ ...known, reactions: data.reactions });
  } else if (type === "scheduled.updated") {
    loadScheduled();
  } else if (type === "invite.created" || type === "invite.deleted") {
    if (data.room_id === state.current && !$("members").hidden) loadInvites();
  } else if (type.startsWith("room.") || type.startsWith("member.")) {
    reloadRoomsSoon();
    if (type.startsWith("member.") && data?.room_id === state.current && !$("members").hidden) loadMembers();
  }
}

/** A new display name shows wherever the person appears, without a reload. */
function renamed(user) {
  const named = (person) => (person?.id === user.id ? { ...person, username: user.username, display_name: user.display_name } : person);
  for (const message of [...state.messages, ...state.replies.values()]) {
    if (message.author?.id === user.id) upsertMessage({ ...message, author: named(message.author) });
  }
  for (const room of state.rooms.values()) {
    if (room.last_message) room.last_message = { ...room.last_message, author: named(room.last_message.author) };
  }
  for (const [roomId, person] of state.directPeople) state.directPeople.set(roomId, named(person));
  state.members = state.members.map((member) => ({ ...member, user: named(member.user) }));
  if (!$("members").hidden) renderMembers();
  renderRooms();
  renderRoomHeader();
}

async function onReset() {
  await attempt(loadRooms);
  if (state.current !== null) openRoom(state.current);
}

// --- routes: #/rooms/{id}, #/invites/{code} -----------------------------------------------------

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  const invite = location.hash.match(/^#\/invites\/(.+)$/);
  const profile = location.hash === "#/profile";
  $("invite").hidden = !invite;
  $("profile").hidden = !profile;
  $("chat").hidden = Boolean(invite) || profile;
  if (profile) return fillProfile();
  if (invite) {
    $("invite-outcome").textContent = "";
    $("accept-invite").hidden = false;
    $("accept-invite").onclick = () => acceptInvite(decodeURIComponent(invite[1]));
    return;
  }
  const room = location.hash.match(/^#\/rooms\/(\d+)$/);
  if (room) openRoom(Number(room[1]));
  else closeRoom();
}

/**
 * The signed-out panel first (requests in flight fail once the tokens are gone, and must not say
 * otherwise), its reason once the server has revoked the tokens, or that it could not.
 */
async function endSession(text) {
  signedOut("Signing out…");
  $("sign-in").hidden = true;
  const revoked = await signOut();
  $("signed-out-text").textContent = revoked ? text : `${text} ${UNREVOKED}`;
  $("sign-in").hidden = false;
}

/** The first reason stays on screen: requests still in flight fail after it, for that very reason. */
function signedOut(text) {
  if (!$("signed-out").hidden) return;
  stopListening?.();
  $("problem").hidden = true;
  $("chat").hidden = true;
  $("invite").hidden = true;
  $("profile").hidden = true;
  $("sign-out").hidden = true;
  $("me").hidden = true;
  $("signed-out-text").textContent = text;
  $("signed-out").hidden = false;
}

async function start() {
  $("sign-in").addEventListener("click", () => signIn());
  $("sign-out").addEventListener("click", () => endSession("You are signed out."));
  let signedIn;
  try {
    signedIn = await completeSignIn();
  } catch (error) {
    return signedOut(error.message);
  }
  if (!signedIn) return signIn();

  state.me = await attempt(() => api("GET", "/users/me"));
  if (!state.me) return;
  showMe();
  $("sign-out").hidden = false;

  $("composer").addEventListener("submit", submitComposer);
  $("body").addEventListener("keydown", composerKey);
  $("body").addEventListener("input", composerInput);
  $("messages").addEventListener("scroll", () => {
    if ($("messages").scrollTop < 40) loadOlder();
    markRead();
  });
  document.addEventListener("visibilitychange", markRead);
  $("create-room").addEventListener("submit", createRoom);
  $("browse").addEventListener("toggle", browsePublicRooms);
  $("find-people").addEventListener("submit", findPeople);
  $("invite-form").addEventListener("submit", createInvite);
  $("show-members").addEventListener("click", toggleMembers);
  $("add-member").addEventListener("submit", addMember);
  $("leave-room").addEventListener("click", leaveRoom);
  $("search-messages").addEventListener("submit", searchMessages);
  $("cancel-reply").addEventListener("click", cancelReply);
  $("room-settings").addEventListener("submit", saveRoomSettings);
  $("delete-room").addEventListener("click", deleteRoom);
  $("profile-form").addEventListener("submit", saveProfile);
  $("delete-account").addEventListener("submit", deleteAccount);
  $("file").addEventListener("change", attachFile);
  $("send-at").addEventListener("input", laterChosen);
  $("scheduled").addEventListener("toggle", loadScheduled);
  $("close-person").addEventListener("click", () => $("person").close());
  $("back").addEventListener("click", () => go("#/"));
  window.addEventListener("hashchange", route);
  document.addEventListener("click", dismissProblem, true);
  document.addEventListener("submit", dismissProblem, true);

  stopListening = listen(onEvent, onReset);
  await attempt(loadRooms);
  route();
}

start();
