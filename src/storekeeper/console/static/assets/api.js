// The console's one way to the API: the public endpoints, as any client uses them.
//
// The access token lives in this module's memory only. The refresh token never reaches a
// script: right after sign-in it is handed to /console/session, which keeps it in an
// HttpOnly, SameSite=Strict cookie scoped to that path, and trades it for access tokens.

export const bus = new EventTarget();

const session = { access: null, receivedAt: 0, ttl: 0, user: null, userEtag: null, renewing: null };
const SERVICE_ATTEMPTS = 6;
const IN_FLIGHT_ATTEMPTS = 5;
const SLOW_MS = 200;

/** A refusal from the API, with its problem+json body. */
export class ApiError extends Error {
  constructor(status, problem, headers) {
    super((problem && problem.detail) || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem || {};
    this.fields = (problem && problem.errors) || {};
    this.retryAfter = retryAfterSeconds(headers);
    // A 429 of the request budget (every call counts in it), not of one form's own limit.
    this.budgetSpent = status === 429 && budgetSpent(headers);
  }
}

/** The request never got an answer: the connection failed or dropped. */
export class NetworkError extends Error {
  constructor() {
    super("The connection to the server failed before an answer came back.");
  }
}

/** The session ended (signed out elsewhere, revoked, expired): the console asks to sign in. */
export class SessionEnded extends Error {}

/** A JSON number written exactly as the person typed it: 19.99 is sent as 19.99. */
export class Literal {
  constructor(text) {
    this.text = text;
  }
}

const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/** What a number field holds, for a body: a literal number, else the text (the API says why). */
export function numberField(text) {
  const value = text.trim();
  if (value === "") return undefined;
  return JSON_NUMBER.test(value) ? new Literal(value) : value;
}

/** A JSON object body; Literal values are written verbatim, undefined ones left out. */
export function jsonBody(fields) {
  const parts = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const written = value instanceof Literal ? value.text : JSON.stringify(value);
    parts.push(`${JSON.stringify(name)}:${written}`);
  }
  return `{${parts.join(",")}}`;
}

/** A fresh Idempotency-Key (works outside secure contexts too). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function retryAfterSeconds(headers) {
  const raw = headers ? headers.get("Retry-After") : null;
  if (raw === null) return null;
  const seconds = Number.parseInt(raw, 10);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : null;
}

/** Whether the RateLimit field (draft-ietf-httpapi-ratelimit-headers-11) says a budget is spent. */
function budgetSpent(headers) {
  const field = headers ? headers.get("RateLimit") : null;
  return field !== null && /;r=0(;|,|$)/.test(field.replace(/\s/g, ""));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Anything slower than SLOW_MS shows the busy indicator until every request is answered.
let pending = 0;
let slowTimer = null;

function busy(delta) {
  pending += delta;
  if (pending > 0 && slowTimer === null) {
    slowTimer = setTimeout(() => bus.dispatchEvent(new CustomEvent("busy", { detail: true })), SLOW_MS);
  } else if (pending === 0) {
    clearTimeout(slowTimer);
    slowTimer = null;
    bus.dispatchEvent(new CustomEvent("busy", { detail: false }));
  }
}

/** Run a promise-returning function with the busy indicator counting it. */
export async function tracked(work) {
  busy(1);
  try {
    return await work();
  } finally {
    busy(-1);
  }
}

let serviceDown = false;

async function waitForService(seconds) {
  serviceDown = true;
  for (let left = seconds; left > 0; left -= 1) {
    bus.dispatchEvent(new CustomEvent("service", { detail: { down: true, retryIn: left } }));
    await sleep(1000);
  }
  bus.dispatchEvent(new CustomEvent("service", { detail: { down: true, retryIn: 0 } }));
}

function serviceAnswered() {
  if (serviceDown) {
    serviceDown = false;
    bus.dispatchEvent(new CustomEvent("service", { detail: { down: false } }));
  }
}

/** One exchange, repeated while the service says it is unavailable (503, Retry-After). */
async function send(method, path, headers, body) {
  for (let attempt = 1; ; attempt += 1) {
    let response;
    try {
      response = await tracked(() =>
        fetch(path, { method, headers, body, cache: "no-cache", credentials: "same-origin" }),
      );
    } catch {
      throw new NetworkError();
    }
    if (response.status === 503 && attempt < SERVICE_ATTEMPTS) {
      await response.arrayBuffer();
      await waitForService(Math.min(Math.max(retryAfterSeconds(response.headers) ?? 5, 1), 30));
      continue;
    }
    serviceAnswered();
    if (response.status === 429 && budgetSpent(response.headers)) {
      // Whichever call was refused, the whole console says how long to wait (app.js).
      const wait = Math.max(retryAfterSeconds(response.headers) ?? 60, 1);
      bus.dispatchEvent(new CustomEvent("limited", { detail: { retryAfter: wait } }));
    }
    return response;
  }
}

async function answer(response) {
  const type = response.headers.get("Content-Type") || "";
  const text = await response.text();
  const data = text && type.includes("json") ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data, response.headers);
  return {
    status: response.status,
    data,
    etag: response.headers.get("ETag"),
    next: nextPage(response.headers.get("Link")),
    replayed: response.headers.get("Idempotent-Replayed") === "true",
  };
}

/** The path and query of a Link header's rel="next" (the API is served from this origin). */
function nextPage(link) {
  if (!link) return null;
  for (const part of link.split(",")) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (match) {
      const url = new URL(match[1], window.location.href);
      return url.pathname + url.search;
    }
  }
  return null;
}

function inFlight(error) {
  return error.status === 409 && /in flight/i.test(error.problem.detail || "");
}

/**
 * A request to the API. `body` is JSON text; `etag` goes out as If-Match; `key` as
 * Idempotency-Key. An expired access token is renewed once and the request sent again.
 */
export async function request(method, path, { body, etag, key, auth = true, type } = {}) {
  let renewed = false;
  for (let attempt = 1; ; attempt += 1) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) {
      // JSON unless the body is a file of its own type (a photo).
      headers["Content-Type"] = type ?? (method === "PATCH" ? "application/merge-patch+json" : "application/json");
    }
    if (etag) headers["If-Match"] = etag;
    if (key) headers["Idempotency-Key"] = key;
    const token = auth ? await accessToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await send(method, path, headers, body);
    if (response.status === 401 && token && !renewed) {
      await response.arrayBuffer();
      renewed = true;
      await renew();
      continue;
    }
    try {
      return await answer(response);
    } catch (error) {
      // A retry whose first attempt is still being processed: its answer will be replayed.
      if (error instanceof ApiError && key && inFlight(error) && attempt < IN_FLIGHT_ATTEMPTS) {
        await sleep(1000);
        continue;
      }
      throw error;
    }
  }
}

/**
 * A download as a Blob with the file name the server gave it (Content-Disposition). The token
 * goes in a header, so a plain link cannot fetch it: the caller saves the Blob.
 */
export async function download(path, accept) {
  for (let renewed = false; ; renewed = true) {
    const token = await accessToken();
    const headers = { Accept: accept };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await send("GET", path, headers);
    if (response.status === 401 && token && !renewed) {
      await response.arrayBuffer();
      await renew();
      continue;
    }
    if (!response.ok) await answer(response); // throws the ApiError
    const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return { blob: await response.blob(), filename: named ? named[1] : "download" };
  }
}

/** Every row of a list, following its Link headers (for short lists such as a store's tags). */
export async function all(path) {
  const rows = [];
  for (let next = path; next; ) {
    const page = await request("GET", next);
    rows.push(...page.data);
    next = page.next;
  }
  return rows;
}

// The session.

function keepAccess(token, ttl) {
  session.access = token;
  session.ttl = ttl;
  session.receivedAt = performance.now();
}

function stale() {
  const margin = Math.min(60, session.ttl / 2);
  return performance.now() - session.receivedAt > (session.ttl - margin) * 1000;
}

async function accessToken() {
  if (session.access && stale()) await renew();
  return session.access;
}

const ENDED = "Your session has ended (you signed out elsewhere, or your password was changed). Sign in again.";

/** Trade the cookie's refresh token for a new access token; the session ends when it cannot. */
function renew() {
  if (!session.renewing) {
    session.renewing = (async () => {
      const response = await send("POST", "/console/session/token", { Accept: "application/json" });
      if (response.status === 200) {
        const { data } = await answer(response);
        keepAccess(data.access_token, data.expires_in);
        return;
      }
      if (response.status === 204 || response.status === 401) {
        await response.arrayBuffer();
        clear();
        announceEnd();
        throw new SessionEnded(ENDED);
      }
      await answer(response); // a failure of the service, not of the session: it says which
    })().finally(() => {
      session.renewing = null;
    });
  }
  return session.renewing;
}

function clear() {
  session.access = null;
  session.user = null;
  session.userEtag = null;
}

function announceEnd() {
  bus.dispatchEvent(new CustomEvent("session", { detail: { ended: true, message: ENDED } }));
}

/** The signed-in user ({id, username, email, is_admin, created_at}) or null. */
export function me() {
  return session.user;
}

/** The ETag the signed-in user's account was read with. */
export function meEtag() {
  return session.userEtag;
}

export async function loadMe() {
  const { data, etag } = await request("GET", "/user/me");
  session.user = data;
  session.userEtag = etag;
  bus.dispatchEvent(new CustomEvent("session", { detail: { ended: false } }));
  return data;
}

/** Sign in with the public /login, then hand the refresh token to the cookie at once. */
export async function signIn(username, password) {
  const { data } = await request("POST", "/login", { body: jsonBody({ username, password }), auth: false });
  const response = await send("POST", "/console/session", {
    Accept: "application/json",
    Authorization: `Bearer ${data.refresh_token}`,
  });
  if (!response.ok) await answer(response);
  keepAccess(data.access_token, data.expires_in);
  return loadMe();
}

/** On page load: pick up the session kept in the cookie, if there is one. */
export async function restore() {
  const response = await send("POST", "/console/session/token", { Accept: "application/json" });
  if (response.status === 204 || response.status === 401) {
    await response.arrayBuffer();
    if (response.status === 401) announceEnd(); // a cookie whose session was revoked
    return null;
  }
  const { data } = await answer(response);
  keepAccess(data.access_token, data.expires_in);
  return loadMe();
}

/** Revoke the session with the public /logout, then drop the cookie. */
export async function signOut() {
  try {
    if (session.access) await request("POST", "/logout");
  } catch (error) {
    if (!(error instanceof SessionEnded)) throw error;
  } finally {
    await forget();
  }
}

/** Forget the session here and in the cookie (after sign-out or deleting the account). */
export async function forget() {
  clear();
  const response = await send("DELETE", "/console/session", { Accept: "application/json" });
  await response.arrayBuffer();
  bus.dispatchEvent(new CustomEvent("session", { detail: { ended: false } }));
}
