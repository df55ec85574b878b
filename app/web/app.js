"use strict";

/*
 * Parley web client. Plain JavaScript, no framework, no build step.
 * One state object; REST for accounts, rooms and history; one WebSocket for live events.
 * Messages are cached per room and keyed by seq, so every path (live, ack, sync, history)
 * dedupes by (room_id, seq).
 */

const TOKEN_KEY = "parley.token";
const LAST_ROOM_KEY = "parley.lastRoom";
const PAGE_SIZE = 50;
const TYPING_SEND_INTERVAL_MS = 2000;
const TYPING_SHOW_MS = 4000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10000;
const HEARTBEAT_MS = 25000;
const SILENCE_LIMIT_MS = 70000;
const GROUP_WINDOW_MS = 5 * 60 * 1000;
const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 60;
const DEFAULT_MAX_BODY_BYTES = 4000;

const state = {
  token: localStorage.getItem(TOKEN_KEY),
  me: null,
  limits: { max_body_bytes: DEFAULT_MAX_BODY_BYTES },
  // Where the server says its WebSocket is (GET /api/v1/endpoints); null means /ws on this host.
  websocketUrl: null,
  rooms: new Map(),
  users: new Map(),
  online: new Set(),
  currentRoomId: null,
  editing: null,
  authMode: "login",
  socket: null,
  socketAttempt: 0,
  hadConnection: false,
  reconnectTimer: null,
  heartbeatTimer: null,
  lastFrameAt: 0,
  nextFrameId: 1,
  requests: new Map(),
  syncInFlight: false,
  syncAgain: false,
  roomsRefresh: null,
  roomsRefreshAgain: false,
  lastTypingSentAt: 0,
  bumpCounter: 0,
  renderQueued: false,
};

const $ = (selector) => document.querySelector(selector);
const encoder = new TextEncoder();

/* ---------- small helpers ---------- */

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; plain-http deployments on a LAN still get a v4 UUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function byteLength(text) {
  return encoder.encode(text).length;
}

function userIdOf(user) {
  return typeof user === "string" ? user : user?.id;
}

function rememberUser(user) {
  if (user && typeof user === "object" && user.id) state.users.set(user.id, user);
}

function displayName(userId) {
  const user = state.users.get(userId);
  return user ? user.display_name || user.username : "Unknown user";
}

function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

function hue(text) {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.codePointAt(0)) % 360;
  return hash;
}

function paintAvatar(node, name, key) {
  node.textContent = initials(name);
  node.style.setProperty("--avatar-hue", hue(key || name));
}

function formatTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

function dayKey(iso) {
  return new Date(iso).toDateString();
}

function formatDay(iso) {
  const date = new Date(iso);
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return date.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric", year: "numeric" });
}

function toast(text, kind = "error") {
  const box = $("#toasts");
  const item = el("div", { class: `toast ${kind}`, text });
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => item.remove(), 5000);
}

function announce(text) {
  const region = $("#announcer");
  region.append(el("p", { text }));
  while (region.children.length > 5) region.firstElementChild.remove();
}

/* ---------- REST ---------- */

class ApiError extends Error {
  constructor(code, detail, status) {
    super(detail);
    this.code = code;
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("unavailable", "Cannot reach the server.", 0);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  throw toApiError(path, response, data);
}

function toApiError(path, response, data) {
  const error = data?.error ?? {};
  const detail = typeof error.detail === "string" ? error.detail : `Request failed (${response.status}).`;
  if (response.status === 401 && state.token && !path.startsWith("/auth/")) {
    sessionExpired();
  }
  return new ApiError(error.code ?? "http_error", detail, response.status);
}

function guarded(action) {
  return async (...args) => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && !state.token) return;
      toast(error.message || "Something went wrong.");
    }
  };
}

/* ---------- session ---------- */

function setAuthMode(mode) {
  state.authMode = mode;
  for (const button of document.querySelectorAll(".auth-modes .mode")) {
    button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
  }
  const registering = mode === "register";
  $("#display-name-field").hidden = !registering;
  $("#auth-submit").textContent = registering ? "Create account" : "Sign in";
  $("#auth-password").autocomplete = registering ? "new-password" : "current-password";
  $("#auth-error").textContent = "";
}

async function submitAuth(event) {
  event.preventDefault();
  const username = $("#auth-username").value.trim();
  const password = $("#auth-password").value;
  const errorBox = $("#auth-error");
  if (!username || !password) {
    errorBox.textContent = "Enter a username and a password.";
    return;
  }
  const body = { username, password };
  const displayNameValue = $("#auth-display-name").value.trim();
  if (state.authMode === "register" && displayNameValue) body.display_name = displayNameValue;
  const path = state.authMode === "register" ? "/auth/register" : "/auth/login";
  $("#auth-submit").disabled = true;
  try {
    const { user, token } = await api("POST", path, body);
    localStorage.setItem(TOKEN_KEY, token);
    state.token = token;
    state.me = user;
    $("#auth-password").value = "";
    await startSession();
  } catch (error) {
    errorBox.textContent = error.message;
  } finally {
    $("#auth-submit").disabled = false;
  }
}

function showAuth(message) {
  $("#chat-view").hidden = true;
  $("#auth-view").hidden = false;
  $("#auth-error").textContent = message || "";
  document.title = "Parley";
  $("#auth-username").focus();
}

async function startSession() {
  rememberUser(state.me);
  $("#auth-view").hidden = true;
  $("#chat-view").hidden = false;
  paintAvatar($("#me-avatar"), displayName(state.me.id), state.me.id);
  $("#me-name").textContent = displayName(state.me.id);
  loadLimits();
  const endpoints = loadEndpoints();
  await refreshRooms();
  await endpoints;
  connect();
  const lastRoom = localStorage.getItem(LAST_ROOM_KEY);
  if (lastRoom && state.rooms.has(lastRoom) && !isNarrow()) await openRoom(lastRoom);
}

async function loadLimits() {
  try {
    const limits = await api("GET", "/limits");
    if (limits) state.limits = { ...state.limits, ...limits };
    updateComposerState();
  } catch {
    // The defaults stay in force; the server still enforces its own limit.
  }
}

async function loadEndpoints() {
  try {
    const endpoints = await api("GET", "/endpoints");
    state.websocketUrl = endpoints?.websocket_url ?? null;
  } catch {
    // A server without the endpoint serves its WebSocket at /ws on this host.
  }
}

function endSession(message) {
  disconnect();
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(LAST_ROOM_KEY);
  Object.assign(state, {
    token: null, me: null, currentRoomId: null, editing: null, hadConnection: false, socketAttempt: 0,
  });
  for (const entry of state.rooms.values()) clearTypingTimers(entry);
  state.rooms.clear();
  state.users.clear();
  state.online.clear();
  state.requests.clear();
  document.body.classList.remove("room-open");
  showAuth(message);
}

function sessionExpired() {
  if (state.token) endSession("Your session has ended. Please sign in again.");
}

async function boot() {
  wireEvents();
  setAuthMode("login");
  if (!state.token) return showAuth();
  try {
    state.me = await api("GET", "/me");
    await startSession();
  } catch (error) {
    if (error.status === 401) return;
    showAuth(error.message);
  }
}

/* ---------- rooms ---------- */

function newRoomEntry(room) {
  return {
    room,
    readSeq: 0,
    unread: 0,
    lastSeq: room.last_seq,
    seenSeq: room.last_seq,
    messages: new Map(),
    pending: new Map(),
    loaded: false,
    hasOlder: true,
    loadingOlder: false,
    typing: new Map(),
    readers: new Map(),
    bump: 0,
  };
}

function resetRoomCache(entry, room) {
  entry.messages.clear();
  entry.readers.clear();
  entry.loaded = false;
  entry.hasOlder = true;
  entry.lastSeq = room.last_seq;
  entry.seenSeq = room.last_seq;
  entry.readSeq = Math.min(entry.readSeq, room.last_seq);
}

function upsertRoom(room, cursor) {
  room.members.forEach(rememberUser);
  let entry = state.rooms.get(room.id);
  const isNew = !entry;
  if (isNew) {
    entry = newRoomEntry(room);
    state.rooms.set(room.id, entry);
  } else if (entry.room.epoch !== room.epoch) {
    resetRoomCache(entry, room);
    if (room.id === state.currentRoomId) {
      loadLatest(entry).then(scheduleRender, (error) => toast(error.message));
    }
  }
  entry.room = room;
  entry.lastSeq = Math.max(entry.lastSeq, room.last_seq);
  if (cursor) {
    entry.readSeq = Math.max(entry.readSeq, cursor.read_seq ?? 0);
    entry.unread = cursor.unread ?? Math.max(0, entry.lastSeq - entry.readSeq);
  }
  return isNew;
}

function removeRoom(roomId) {
  const entry = state.rooms.get(roomId);
  if (!entry) return;
  clearTypingTimers(entry);
  state.rooms.delete(roomId);
  if (state.currentRoomId === roomId) closeRoom();
}

async function refreshRooms() {
  if (state.roomsRefresh) {
    state.roomsRefreshAgain = true;
    return state.roomsRefresh;
  }
  state.roomsRefresh = fetchRooms();
  try {
    await state.roomsRefresh;
  } finally {
    state.roomsRefresh = null;
  }
  if (state.roomsRefreshAgain) {
    state.roomsRefreshAgain = false;
    await refreshRooms();
  }
}

async function fetchRooms() {
  const rooms = await api("GET", "/rooms");
  const listed = new Set(rooms.map((room) => room.id));
  for (const roomId of [...state.rooms.keys()]) {
    if (!listed.has(roomId)) removeRoom(roomId);
  }
  let added = false;
  for (const room of rooms) {
    added = upsertRoom(room, { read_seq: room.read_seq, unread: room.unread }) || added;
  }
  scheduleRender();
  if (added) requestSync();
}

function roomTitle(entry) {
  const { room } = entry;
  if (room.kind === "group") return room.name || "Untitled group";
  const other = otherMember(room);
  return other ? displayName(other.id) : displayName(state.me.id);
}

function otherMember(room) {
  return room.members.find((member) => member.id !== state.me.id);
}

function roomAvatarKey(entry) {
  const other = entry.room.kind === "direct" ? otherMember(entry.room) : null;
  return other ? other.id : entry.room.id;
}

function sortedRooms() {
  const order = [...state.rooms.values()];
  return order
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => b.entry.bump - a.entry.bump || a.index - b.index)
    .map(({ entry }) => entry);
}

function currentEntry() {
  return state.currentRoomId ? state.rooms.get(state.currentRoomId) : null;
}

function isNarrow() {
  return window.matchMedia("(max-width: 720px)").matches;
}

function isRoomVisible(entry) {
  return entry.room.id === state.currentRoomId && document.visibilityState === "visible";
}

async function openRoom(roomId) {
  const entry = state.rooms.get(roomId);
  if (!entry) return;
  if (state.currentRoomId !== roomId) {
    state.currentRoomId = roomId;
    state.editing = null;
    state.lastTypingSentAt = 0;
    $("#composer-input").value = "";
    $("#add-member-form").hidden = true;
  }
  localStorage.setItem(LAST_ROOM_KEY, roomId);
  document.body.classList.add("room-open");
  renderAll({ stickToBottom: true });
  updateComposerState();
  if (!isNarrow()) $("#composer-input").focus();
  if (!entry.loaded) {
    await loadLatest(entry);
    renderAll({ stickToBottom: true });
  }
  markRead(entry);
  fillViewport(entry);
}

function closeRoom() {
  state.currentRoomId = null;
  state.editing = null;
  localStorage.removeItem(LAST_ROOM_KEY);
  document.body.classList.remove("room-open");
  scheduleRender();
}

async function createDirect(event) {
  event.preventDefault();
  const input = $("#direct-username");
  const username = input.value.trim();
  if (!username) return;
  const room = await api("POST", "/rooms", { kind: "direct", members: [username] });
  input.value = "";
  await adoptRoom(room);
}

async function createGroup(event) {
  event.preventDefault();
  const name = $("#group-name").value.trim();
  const members = $("#group-members").value.split(",").map((part) => part.trim()).filter(Boolean);
  if (!name) return;
  const room = await api("POST", "/rooms", { kind: "group", name, members });
  $("#group-name").value = "";
  $("#group-members").value = "";
  await adoptRoom(room);
}

async function adoptRoom(room) {
  upsertRoom(room);
  $("#new-room").open = false;
  await openRoom(room.id);
}

async function addMember(event) {
  event.preventDefault();
  const entry = currentEntry();
  const input = $("#add-member-username");
  const username = input.value.trim();
  if (!entry || !username) return;
  const room = await api("POST", `/rooms/${encodeURIComponent(entry.room.id)}/members`, { username });
  upsertRoom(room);
  input.value = "";
  toggleAddMember(false);
  toast(`${username} was added.`, "info");
  scheduleRender();
}

function toggleAddMember(show) {
  const form = $("#add-member-form");
  form.hidden = !show;
  $("#add-member-toggle").setAttribute("aria-expanded", String(show));
  if (show) $("#add-member-username").focus();
}

/* ---------- messages ---------- */

function ingestMessage(message, { live = false } = {}) {
  const entry = state.rooms.get(message.room_id);
  if (!entry) return null;
  if (message.sender === state.me.id) entry.pending.delete(message.client_msg_id);
  const isNew = !entry.messages.has(message.seq);
  entry.messages.set(message.seq, message);
  if (isNew && message.seq > entry.lastSeq) {
    entry.lastSeq = message.seq;
    entry.bump = ++state.bumpCounter;
    if (message.sender !== state.me.id && !message.deleted) noteIncoming(entry, message, live);
  }
  if (live) clearTyping(entry, message.sender);
  advanceSeen(entry);
  return entry;
}

function noteIncoming(entry, message, live) {
  if (isRoomVisible(entry)) {
    if (live) announce(`${displayName(message.sender)}: ${message.body}`);
    return;
  }
  entry.unread += 1;
}

function advanceSeen(entry) {
  while (entry.messages.has(entry.seenSeq + 1)) entry.seenSeq += 1;
}

function onLiveMessage(message) {
  const entry = state.rooms.get(message.room_id);
  if (!entry) {
    refreshRooms().catch(() => {});
    return;
  }
  const gap = message.seq > entry.seenSeq + 1;
  ingestMessage(message, { live: true });
  if (gap) requestSync();
  afterMessagesChanged(entry);
}

function afterMessagesChanged(entry) {
  if (entry && isRoomVisible(entry)) markRead(entry);
  scheduleRender();
}

function replaceMessage(message) {
  const entry = state.rooms.get(message.room_id);
  if (!entry || !entry.messages.has(message.seq)) return;
  entry.messages.set(message.seq, message);
  scheduleRender();
}

function markDeleted(roomId, seq) {
  const entry = state.rooms.get(roomId);
  const message = entry?.messages.get(seq);
  if (!message) return;
  entry.messages.set(seq, { ...message, body: "", deleted: true });
  if (state.editing?.roomId === roomId && state.editing.seq === seq) state.editing = null;
  scheduleRender();
}

async function fetchPage(entry, beforeSeq) {
  const roomId = encodeURIComponent(entry.room.id);
  const page = await api("GET", `/rooms/${roomId}/messages?before_seq=${beforeSeq}&limit=${PAGE_SIZE}`);
  for (const message of page.messages) ingestMessage(message);
  entry.hasOlder = page.has_more && page.messages.length > 0;
}

async function loadLatest(entry) {
  await fetchPage(entry, entry.lastSeq + 1);
  entry.loaded = true;
}

function oldestSeq(entry) {
  let oldest = Infinity;
  for (const seq of entry.messages.keys()) oldest = Math.min(oldest, seq);
  return oldest;
}

async function loadOlder(entry) {
  if (!entry.loaded || !entry.hasOlder || entry.loadingOlder) return;
  const oldest = oldestSeq(entry);
  if (oldest <= 1) {
    entry.hasOlder = false;
    return;
  }
  entry.loadingOlder = true;
  renderMessages({ keepAnchor: true });
  try {
    await fetchPage(entry, oldest);
  } finally {
    entry.loadingOlder = false;
  }
  if (entry.room.id === state.currentRoomId) renderMessages({ keepAnchor: true });
}

function fillViewport(entry) {
  const list = $("#messages");
  if (entry.room.id !== state.currentRoomId || !entry.hasOlder) return;
  if (list.scrollHeight <= list.clientHeight + NEAR_TOP_PX) {
    loadOlder(entry).then(() => fillViewport(entry)).catch((error) => toast(error.message));
  }
}

function markRead(entry) {
  if (entry.lastSeq <= entry.readSeq && entry.unread === 0) return;
  const seq = entry.lastSeq;
  entry.readSeq = seq;
  entry.unread = 0;
  scheduleRender();
  if (seq === 0) return;
  if (sendFrame({ type: "read", room_id: entry.room.id, seq })) return;
  api("POST", `/rooms/${encodeURIComponent(entry.room.id)}/read`, { seq }).catch(() => {});
}

function composerBody() {
  return $("#composer-input").value.replace(/^\s*\n|\s+$/g, "");
}

function submitComposer(event) {
  event.preventDefault();
  const entry = currentEntry();
  const body = composerBody();
  if (!entry || !body.trim()) return;
  if (byteLength(body) > state.limits.max_body_bytes) {
    toast(`That message is too long (max ${state.limits.max_body_bytes} bytes).`);
    return;
  }
  const pending = { clientMsgId: newUuid(), body, createdAt: new Date().toISOString(), failed: false };
  entry.pending.set(pending.clientMsgId, pending);
  $("#composer-input").value = "";
  state.lastTypingSentAt = 0;
  updateComposerState();
  transmitPending(entry, pending);
  renderAll({ stickToBottom: true });
}

function transmitPending(entry, pending) {
  const id = nextFrameId();
  const frame = { type: "send", id, room_id: entry.room.id, client_msg_id: pending.clientMsgId, body: pending.body };
  pending.failed = false;
  if (sendFrame(frame)) state.requests.set(id, { kind: "send", roomId: entry.room.id, clientMsgId: pending.clientMsgId });
}

function flushPending() {
  for (const entry of state.rooms.values()) {
    for (const pending of entry.pending.values()) {
      if (!pending.failed) transmitPending(entry, pending);
    }
  }
}

function retryPending(clientMsgId) {
  const entry = currentEntry();
  const pending = entry?.pending.get(clientMsgId);
  if (!pending) return;
  transmitPending(entry, pending);
  scheduleRender();
}

function discardPending(clientMsgId) {
  currentEntry()?.pending.delete(clientMsgId);
  scheduleRender();
}

function startEdit(seq) {
  const entry = currentEntry();
  const message = entry?.messages.get(seq);
  if (!message || message.deleted || message.sender !== state.me.id) return;
  state.editing = { roomId: entry.room.id, seq, draft: message.body };
  renderMessages();
  const input = $("#edit-input");
  input?.focus();
  input?.setSelectionRange(input.value.length, input.value.length);
}

function cancelEdit() {
  state.editing = null;
  renderMessages();
  $("#composer-input").focus();
}

async function saveEdit() {
  const editing = state.editing;
  if (!editing) return;
  const body = editing.draft.trim();
  const entry = state.rooms.get(editing.roomId);
  if (!body || body === entry?.messages.get(editing.seq)?.body) return cancelEdit();
  if (byteLength(body) > state.limits.max_body_bytes) {
    toast(`That message is too long (max ${state.limits.max_body_bytes} bytes).`);
    return;
  }
  const path = `/rooms/${encodeURIComponent(editing.roomId)}/messages/${editing.seq}`;
  const message = await api("PATCH", path, { body });
  state.editing = null;
  replaceMessage(message);
  $("#composer-input").focus();
}

async function deleteMessage(seq) {
  const entry = currentEntry();
  if (!entry || !window.confirm("Delete this message for everyone?")) return;
  await api("DELETE", `/rooms/${encodeURIComponent(entry.room.id)}/messages/${seq}`);
  markDeleted(entry.room.id, seq);
}

function editLastOwnMessage() {
  const entry = currentEntry();
  if (!entry) return false;
  const own = [...entry.messages.values()].filter((m) => m.sender === state.me.id && !m.deleted);
  if (own.length === 0) return false;
  startEdit(Math.max(...own.map((m) => m.seq)));
  return true;
}

/* ---------- typing ---------- */

function noteTyping() {
  const entry = currentEntry();
  if (!entry || !composerBody()) return;
  const now = Date.now();
  if (now - state.lastTypingSentAt < TYPING_SEND_INTERVAL_MS) return;
  if (sendFrame({ type: "typing", room_id: entry.room.id })) state.lastTypingSentAt = now;
}

function showTyping(entry, userId) {
  clearTimeout(entry.typing.get(userId));
  entry.typing.set(userId, setTimeout(() => clearTyping(entry, userId), TYPING_SHOW_MS));
  scheduleRender();
}

function clearTyping(entry, userId) {
  if (!entry.typing.has(userId)) return;
  clearTimeout(entry.typing.get(userId));
  entry.typing.delete(userId);
  scheduleRender();
}

function clearTypingTimers(entry) {
  for (const timer of entry.typing.values()) clearTimeout(timer);
  entry.typing.clear();
}

function typingText(entry) {
  const names = [...entry.typing.keys()].map(displayName);
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}

/* ---------- WebSocket ---------- */

function socketUrl() {
  const query = `?token=${encodeURIComponent(state.token)}`;
  if (state.websocketUrl) return `${state.websocketUrl}${query}`;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws${query}`;
}

function nextFrameId() {
  return `c${state.nextFrameId++}`;
}

function connect() {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = null;
  if (!state.token) return;
  setConnection("connecting");
  const socket = new WebSocket(socketUrl());
  state.socket = socket;
  socket.onopen = () => onSocketOpen(socket);
  socket.onmessage = (event) => onSocketFrame(socket, event);
  socket.onclose = (event) => onSocketClose(socket, event);
}

function sendFrame(frame) {
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

async function onSocketOpen(socket) {
  if (socket !== state.socket) return;
  const reconnected = state.hadConnection;
  state.hadConnection = true;
  state.socketAttempt = 0;
  state.lastFrameAt = Date.now();
  state.online.add(state.me.id);
  setConnection("online");
  startHeartbeat();
  flushPending();
  if (reconnected) await refreshRooms().catch(() => {});
  requestSync();
  const entry = currentEntry();
  if (entry && isRoomVisible(entry)) markRead(entry);
}

function onSocketFrame(socket, event) {
  if (socket !== state.socket) return;
  state.lastFrameAt = Date.now();
  let frame;
  try {
    frame = JSON.parse(event.data);
  } catch {
    return;
  }
  const handler = frameHandlers[frame.type];
  if (handler) handler(frame);
}

function onSocketClose(socket, event) {
  if (socket !== state.socket) return;
  state.socket = null;
  state.requests.clear();
  state.syncInFlight = false;
  state.online.delete(state.me.id);
  stopHeartbeat();
  if (event.code === 4401) {
    sessionExpired();
    return;
  }
  scheduleReconnect();
}

function scheduleReconnect() {
  if (!state.token || state.reconnectTimer) return;
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** state.socketAttempt);
  const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  state.socketAttempt += 1;
  setConnection("offline", delay);
  state.reconnectTimer = setTimeout(connect, delay);
}

function reconnectNow() {
  if (!state.token || state.socket) return;
  connect();
}

function disconnect() {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = null;
  stopHeartbeat();
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close(1000, "logout");
}

function dropSocket() {
  const socket = state.socket;
  if (!socket) return;
  onSocketClose(socket, { code: 1006 });
  socket.close();
}

function startHeartbeat() {
  stopHeartbeat();
  state.heartbeatTimer = setInterval(() => {
    // A half-open TCP connection never fires close; silence is the only symptom.
    if (Date.now() - state.lastFrameAt > SILENCE_LIMIT_MS) return dropSocket();
    sendFrame({ type: "ping", id: nextFrameId() });
  }, HEARTBEAT_MS);
}

function stopHeartbeat() {
  clearInterval(state.heartbeatTimer);
  state.heartbeatTimer = null;
}

function setConnection(status, delay) {
  const labels = {
    connecting: "Connecting…",
    online: "Online",
    offline: `Offline, retrying in ${Math.ceil((delay || 0) / 1000)} s`,
  };
  const node = $("#connection");
  node.dataset.status = status;
  node.textContent = labels[status];
  const banner = $("#offline-banner");
  banner.hidden = status === "online";
  banner.textContent = status === "online" ? "" : "Reconnecting… messages you send will go out when the connection is back.";
}

function requestSync() {
  if (state.syncInFlight) {
    state.syncAgain = true;
    return;
  }
  const rooms = {};
  for (const [roomId, entry] of state.rooms) rooms[roomId] = entry.seenSeq;
  if (Object.keys(rooms).length === 0) return;
  const id = nextFrameId();
  if (!sendFrame({ type: "sync", id, rooms })) return;
  state.syncInFlight = true;
  state.syncAgain = false;
  state.requests.set(id, { kind: "sync" });
}

function onSyncAnswer(frame) {
  if (!state.requests.delete(frame.id)) return;
  const touched = new Set();
  for (const message of frame.messages || []) {
    const entry = ingestMessage(message, { live: true });
    if (entry) touched.add(entry);
  }
  touched.forEach(afterMessagesChanged);
  scheduleRender();
  state.syncInFlight = false;
  const more = frame.has_more && (frame.messages || []).length > 0;
  if (more || state.syncAgain) requestSync();
}

function onAck(frame) {
  state.requests.delete(frame.id);
  const entry = ingestMessage(frame.message);
  afterMessagesChanged(entry);
}

function onErrorFrame(frame) {
  const code = frame.code ?? frame.error?.code;
  const detail = frame.detail ?? frame.error?.detail ?? code ?? "Something went wrong.";
  const request = frame.id ? state.requests.get(frame.id) : null;
  if (request) state.requests.delete(frame.id);
  if (request?.kind === "send") {
    const pending = state.rooms.get(request.roomId)?.pending.get(request.clientMsgId);
    if (pending) pending.failed = true;
    scheduleRender();
  } else if (request?.kind === "sync") {
    state.syncInFlight = false;
  }
  toast(detail);
}

function onReadFrame(frame) {
  const entry = state.rooms.get(frame.room_id);
  const userId = userIdOf(frame.user);
  if (!entry || !userId) return;
  rememberUser(frame.user);
  if (userId === state.me.id) {
    entry.readSeq = Math.max(entry.readSeq, frame.seq);
    entry.unread = entry.readSeq >= entry.lastSeq ? 0 : Math.min(entry.unread, entry.lastSeq - entry.readSeq);
  } else {
    entry.readers.set(userId, Math.max(entry.readers.get(userId) || 0, frame.seq));
  }
  scheduleRender();
}

function onTypingFrame(frame) {
  const entry = state.rooms.get(frame.room_id);
  const userId = userIdOf(frame.user);
  if (!entry || !userId || userId === state.me.id) return;
  rememberUser(frame.user);
  showTyping(entry, userId);
}

function onPresenceFrame(frame) {
  const userId = userIdOf(frame.user);
  if (!userId) return;
  rememberUser(frame.user);
  if (frame.online) state.online.add(userId);
  else state.online.delete(userId);
  scheduleRender();
}

function onRoomUpdated(room) {
  if (!room.members.some((member) => member.id === state.me.id)) {
    removeRoom(room.id);
  } else if (!state.rooms.has(room.id)) {
    refreshRooms().catch(() => {});
  } else {
    upsertRoom(room);
  }
  scheduleRender();
}

const frameHandlers = {
  ack: onAck,
  message: (frame) => onLiveMessage(frame.message),
  "message.edited": (frame) => replaceMessage(frame.message),
  "message.deleted": (frame) => markDeleted(frame.room_id, frame.seq),
  read: onReadFrame,
  typing: onTypingFrame,
  presence: onPresenceFrame,
  "room.updated": (frame) => onRoomUpdated(frame.room),
  sync: onSyncAnswer,
  error: onErrorFrame,
  pong: () => {},
};

/* ---------- rendering ---------- */

function scheduleRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  queueMicrotask(() => {
    state.renderQueued = false;
    renderAll();
  });
}

function renderAll(options = {}) {
  if (!state.me) return;
  renderRoomList();
  renderHeader();
  renderMessages(options);
  renderTyping();
  updateTitle();
}

function updateTitle() {
  let unread = 0;
  for (const entry of state.rooms.values()) unread += entry.unread;
  document.title = unread > 0 ? `(${unread}) Parley` : "Parley";
}

function presenceDot(userId) {
  const online = state.online.has(userId);
  return el("span", { class: `presence ${online ? "online" : "offline"}`, title: online ? "Online" : "Offline" });
}

function roomPreview(entry) {
  const last = entry.messages.get(entry.lastSeq);
  if (!last) return entry.room.kind === "group" ? `${entry.room.members.length} members` : "Direct message";
  if (last.deleted) return "Message deleted";
  const prefix = last.sender === state.me.id ? "You: " : entry.room.kind === "group" ? `${displayName(last.sender)}: ` : "";
  return prefix + last.body.replace(/\s+/g, " ");
}

function roomItem(entry) {
  const title = roomTitle(entry);
  const active = entry.room.id === state.currentRoomId;
  const avatar = el("span", { class: "avatar", "aria-hidden": "true" });
  paintAvatar(avatar, title, roomAvatarKey(entry));
  const other = entry.room.kind === "direct" ? otherMember(entry.room) : null;
  if (other) avatar.append(presenceDot(other.id));
  const typing = entry.typing.size > 0;
  const badge = entry.unread > 0 && !active
    ? el("span", { class: "badge", "aria-label": `${entry.unread} unread`, text: String(entry.unread) })
    : null;
  const button = el("button", {
    type: "button",
    class: `room-item${active ? " active" : ""}${entry.unread > 0 ? " has-unread" : ""}`,
    "aria-current": active ? "true" : null,
    dataset: { roomId: entry.room.id },
  },
  avatar,
  el("span", { class: "room-text" },
    el("span", { class: "room-name", text: title }),
    el("span", { class: `room-preview${typing ? " is-typing" : ""}`, text: typing ? "typing…" : roomPreview(entry) })),
  badge);
  return el("li", {}, button);
}

function renderRoomList() {
  const list = $("#room-list");
  const rooms = sortedRooms();
  list.replaceChildren(...rooms.map(roomItem));
  $("#rooms-empty").hidden = rooms.length > 0;
}

function renderHeader() {
  const entry = currentEntry();
  $("#chat-empty").hidden = Boolean(entry);
  $("#chat-room").hidden = !entry;
  if (!entry) return;
  const title = roomTitle(entry);
  $("#room-title").textContent = title;
  paintAvatar($("#room-avatar"), title, roomAvatarKey(entry));
  $("#room-subtitle").replaceChildren(...subtitleParts(entry));
  $("#add-member-toggle").hidden = entry.room.kind !== "group";
}

function subtitleParts(entry) {
  if (entry.room.kind === "direct") {
    const other = otherMember(entry.room);
    if (!other) return [el("span", { text: "Notes to yourself" })];
    const online = state.online.has(other.id);
    return [presenceDot(other.id), el("span", { text: `@${other.username} · ${online ? "online" : "offline"}` })];
  }
  return entry.room.members.map((member) =>
    el("span", { class: "member" }, presenceDot(member.id), el("span", { text: displayName(member.id) })));
}

function renderTyping() {
  const entry = currentEntry();
  $("#typing").textContent = entry ? typingText(entry) : "";
}

function isNearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
}

function renderMessages({ stickToBottom = false, keepAnchor = false } = {}) {
  const entry = currentEntry();
  const list = $("#messages");
  if (!entry) return;
  const wasNearBottom = isNearBottom(list);
  const fromBottom = list.scrollHeight - list.scrollTop;
  const hadFocus = document.activeElement?.id === "edit-input";
  list.replaceChildren(...messageNodes(entry));
  if (keepAnchor) list.scrollTop = list.scrollHeight - fromBottom;
  else if (stickToBottom || wasNearBottom) list.scrollTop = list.scrollHeight;
  $("#jump").hidden = isNearBottom(list);
  if (hadFocus) $("#edit-input")?.focus();
}

function messageNodes(entry) {
  const nodes = [historyMarker(entry)].filter(Boolean);
  const messages = [...entry.messages.values()].sort((a, b) => a.seq - b.seq);
  const lastOwnSeq = messages.reduce((last, m) => (m.sender === state.me.id && !m.deleted ? m.seq : last), 0);
  let group = null;
  let lastDay = null;
  for (const message of messages) {
    const day = dayKey(message.created_at);
    if (day !== lastDay) {
      nodes.push(el("div", { class: "day", role: "separator", text: formatDay(message.created_at) }));
      lastDay = day;
      group = null;
    }
    if (!continuesGroup(group, message.sender, message.created_at)) {
      group = messageGroup(message.sender, message.created_at);
      nodes.push(group.node);
    }
    group.list.append(storedMessageNode(entry, message, message.seq === lastOwnSeq));
    group.lastAt = message.created_at;
  }
  appendPending(entry, nodes, group);
  if (entry.loaded && messages.length === 0 && entry.pending.size === 0) {
    nodes.push(el("p", { class: "empty-room muted", text: "No messages yet. Say hello!" }));
  }
  return nodes;
}

function historyMarker(entry) {
  if (!entry.loaded || entry.loadingOlder) return el("p", { class: "history muted", text: "Loading messages…" });
  if (entry.hasOlder) return el("p", { class: "history muted", text: "Scroll up for older messages" });
  return entry.messages.size > 0 ? el("p", { class: "history muted", text: "This is the beginning of the conversation." }) : null;
}

function continuesGroup(group, sender, createdAt) {
  if (!group || group.sender !== sender) return false;
  return new Date(createdAt) - new Date(group.lastAt) < GROUP_WINDOW_MS;
}

function messageGroup(sender, createdAt) {
  const mine = sender === state.me.id;
  const name = displayName(sender);
  const avatar = el("span", { class: "avatar", "aria-hidden": "true" });
  paintAvatar(avatar, name, sender);
  const list = el("div", { class: "group-messages" });
  const head = el("div", { class: "group-head" },
    el("span", { class: "sender", text: mine ? `${name} (you)` : name }),
    el("time", { datetime: createdAt, text: formatTime(createdAt) }));
  const node = el("div", { class: `group${mine ? " mine" : ""}`, dataset: { sender } },
    avatar, el("div", { class: "group-body" }, head, list));
  return { node, list, sender, lastAt: createdAt };
}

function storedMessageNode(entry, message, isLastOwn) {
  const mine = message.sender === state.me.id;
  const editing = state.editing?.roomId === entry.room.id && state.editing.seq === message.seq;
  const classes = ["msg"];
  if (message.deleted) classes.push("deleted");
  const node = el("div", { class: classes.join(" "), dataset: { seq: String(message.seq) }, title: formatTime(message.created_at) });
  if (editing) {
    node.append(editForm());
    return node;
  }
  node.append(el("p", { class: "body", text: message.deleted ? "message deleted" : message.body }));
  if (message.edited_at && !message.deleted) {
    node.append(el("span", { class: "edited", title: `Edited ${formatTime(message.edited_at)}`, text: "(edited)" }));
  }
  if (mine && !message.deleted) node.append(messageActions(message.seq));
  const seen = isLastOwn ? seenBy(entry, message) : "";
  if (seen) node.append(el("span", { class: "seen", text: seen }));
  return node;
}

function messageActions(seq) {
  return el("div", { class: "actions" },
    el("button", { type: "button", class: "ghost tiny", dataset: { action: "edit", seq: String(seq) }, "aria-label": "Edit message", text: "Edit" }),
    el("button", { type: "button", class: "ghost tiny", dataset: { action: "delete", seq: String(seq) }, "aria-label": "Delete message", text: "Delete" }));
}

function editForm() {
  const input = el("textarea", { id: "edit-input", class: "edit-input", rows: "2", "aria-label": "Edit message" });
  input.value = state.editing.draft;
  return el("div", { class: "edit" },
    input,
    el("div", { class: "edit-actions" },
      el("span", { class: "muted small-text", text: "Enter to save, Esc to cancel" }),
      el("button", { type: "button", class: "ghost tiny", dataset: { action: "cancel-edit" }, text: "Cancel" }),
      el("button", { type: "button", class: "primary tiny", dataset: { action: "save-edit" }, text: "Save" })));
}

function seenBy(entry, message) {
  const names = [...entry.readers].filter(([, seq]) => seq >= message.seq).map(([userId]) => displayName(userId));
  return names.length ? `Seen by ${names.join(", ")}` : "";
}

function appendPending(entry, nodes, group) {
  if (entry.pending.size === 0) return;
  const now = new Date().toISOString();
  let target = group;
  if (!target || target.sender !== state.me.id) {
    target = messageGroup(state.me.id, now);
    nodes.push(target.node);
  }
  for (const pending of entry.pending.values()) target.list.append(pendingMessageNode(pending));
}

function pendingMessageNode(pending) {
  const status = pending.failed
    ? el("span", { class: "status failed" }, "Not sent. ",
      el("button", { type: "button", class: "link", dataset: { action: "retry", clientMsgId: pending.clientMsgId }, text: "Retry" }),
      " · ",
      el("button", { type: "button", class: "link", dataset: { action: "discard", clientMsgId: pending.clientMsgId }, text: "Discard" }))
    : el("span", { class: "status", text: "Sending…" });
  return el("div", { class: `msg pending${pending.failed ? " failed" : ""}`, dataset: { clientMsgId: pending.clientMsgId } },
    el("p", { class: "body", text: pending.body }), status);
}

function fitComposer() {
  const input = $("#composer-input");
  const list = $("#messages");
  const stick = isNearBottom(list);
  input.style.height = "auto";
  if (input.offsetParent) input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  if (stick) list.scrollTop = list.scrollHeight;
}

function updateComposerState() {
  fitComposer();
  const input = $("#composer-input");
  const used = byteLength(composerBody());
  const max = state.limits.max_body_bytes;
  const counter = $("#counter");
  const over = used > max;
  counter.hidden = used < max * 0.8;
  counter.textContent = over ? `${used - max} bytes too long` : `${max - used} left`;
  counter.classList.toggle("over", over);
  input.setAttribute("aria-invalid", String(over));
  $("#send").disabled = over || !composerBody().trim();
}

/* ---------- events ---------- */

function onComposerKeydown(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("#composer").requestSubmit();
  } else if (event.key === "ArrowUp" && !event.target.value && editLastOwnMessage()) {
    event.preventDefault();
  }
}

function onMessagesClick(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const seq = Number(button.dataset.seq);
  const actions = {
    edit: () => startEdit(seq),
    delete: guarded(() => deleteMessage(seq)),
    "save-edit": guarded(saveEdit),
    "cancel-edit": cancelEdit,
    retry: () => retryPending(button.dataset.clientMsgId),
    discard: () => discardPending(button.dataset.clientMsgId),
  };
  actions[button.dataset.action]?.();
}

function onMessagesKeydown(event) {
  if (event.target.id !== "edit-input") return;
  if (event.key === "Escape") {
    event.preventDefault();
    cancelEdit();
  } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    guarded(saveEdit)();
  }
}

function onMessagesInput(event) {
  if (event.target.id === "edit-input" && state.editing) state.editing.draft = event.target.value;
}

function onMessagesScroll() {
  const entry = currentEntry();
  const list = $("#messages");
  $("#jump").hidden = isNearBottom(list);
  if (entry && list.scrollTop < NEAR_TOP_PX) loadOlder(entry).catch((error) => toast(error.message));
}

function onRoomListClick(event) {
  const button = event.target.closest("button[data-room-id]");
  if (button) guarded(openRoom)(button.dataset.roomId);
}

function onVisibilityChange() {
  const entry = currentEntry();
  if (entry && isRoomVisible(entry)) markRead(entry);
  if (document.visibilityState === "visible") reconnectNow();
}

function wireEvents() {
  for (const button of document.querySelectorAll(".auth-modes .mode")) {
    button.addEventListener("click", () => setAuthMode(button.dataset.mode));
  }
  $("#auth-form").addEventListener("submit", submitAuth);
  $("#logout").addEventListener("click", () => endSession());
  $("#direct-form").addEventListener("submit", guarded(createDirect));
  $("#group-form").addEventListener("submit", guarded(createGroup));
  $("#add-member-form").addEventListener("submit", guarded(addMember));
  $("#add-member-toggle").addEventListener("click", () => toggleAddMember($("#add-member-form").hidden));
  $("#room-list").addEventListener("click", onRoomListClick);
  $("#back").addEventListener("click", closeRoom);
  $("#composer").addEventListener("submit", submitComposer);
  $("#composer-input").addEventListener("keydown", onComposerKeydown);
  $("#composer-input").addEventListener("input", () => {
    updateComposerState();
    noteTyping();
  });
  const messages = $("#messages");
  messages.addEventListener("click", onMessagesClick);
  messages.addEventListener("keydown", onMessagesKeydown);
  messages.addEventListener("input", onMessagesInput);
  messages.addEventListener("scroll", onMessagesScroll, { passive: true });
  $("#jump").addEventListener("click", () => {
    messages.scrollTop = messages.scrollHeight;
  });
  document.addEventListener("visibilitychange", onVisibilityChange);
  window.addEventListener("online", reconnectNow);
}

boot();
