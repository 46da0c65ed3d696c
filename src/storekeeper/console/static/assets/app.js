// The console's start: the session from the cookie, the header, and the router.

import * as api from "./api.js";
import { fill, h } from "./dom.js";
import { describe, flash, seconds } from "./ui.js";
import { accountView } from "./views/account.js";
import { registerView, signInView } from "./views/auth.js";
import { historyView } from "./views/history.js";
import { itemView } from "./views/item.js";
import { notFoundView } from "./views/notfound.js";
import { forgotView, resetView, verifyView } from "./views/recovery.js";
import { storeView } from "./views/store.js";
import { storesView } from "./views/stores.js";
import { teamView } from "./views/team.js";
import { importView } from "./views/transfer.js";
import { trashView } from "./views/trash.js";
import { webhooksView } from "./views/webhooks.js";

const ROUTES = [
  [/^\/console\/$/, storesView],
  [/^\/console\/signin$/, signInView],
  [/^\/console\/register$/, registerView],
  [/^\/console\/account$/, accountView],
  [/^\/console\/forgot$/, forgotView],
  [/^\/console\/reset$/, resetView],
  [/^\/console\/verify$/, verifyView],
  [/^\/console\/store\/([1-9][0-9]*)$/, storeView],
  [/^\/console\/store\/([1-9][0-9]*)\/team$/, teamView],
  [/^\/console\/store\/([1-9][0-9]*)\/import$/, importView],
  [/^\/console\/store\/([1-9][0-9]*)\/trash$/, trashView],
  [/^\/console\/store\/([1-9][0-9]*)\/history$/, historyView],
  [/^\/console\/store\/([1-9][0-9]*)\/webhooks$/, webhooksView],
  [/^\/console\/item\/([1-9][0-9]*)$/, itemView],
];

const main = document.getElementById("main");
let generation = 0;
let returnTo = null;
let pendingFlash = null;

/** Go to a console path; `flash` is said on the page that opens. */
export function go(path, { replace = false, message = null } = {}) {
  if (replace) window.history.replaceState({}, "", path);
  else window.history.pushState({}, "", path);
  pendingFlash = message;
  render(true);
}

async function render(moveFocus) {
  const mine = (generation += 1);
  const message = pendingFlash;
  pendingFlash = null;
  const path = window.location.pathname;
  const [view, params] = match(path);
  main.setAttribute("aria-busy", "true");
  const ctx = {
    params,
    query: new URLSearchParams(window.location.search),
    go,
    refresh: () => render(false),
    returnTo: () => returnTo,
    setReturnTo: (value) => {
      returnTo = value;
    },
  };
  let built;
  try {
    built = await view(ctx);
  } catch (error) {
    if (error instanceof api.SessionEnded) return;
    built = failedView(error);
  }
  if (mine !== generation) return; // a later navigation won
  document.title = `${built.title} · Storekeeper console`;
  fill(main, built.content);
  main.setAttribute("aria-busy", "false");
  flash(message);
  if (moveFocus) {
    const heading = main.querySelector("h1");
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

function match(path) {
  for (const [pattern, view] of ROUTES) {
    const found = pattern.exec(path);
    if (found) return [view, found.slice(1)];
  }
  return [notFoundView, []];
}

function failedView(error) {
  let text = error.message || "The page could not be loaded.";
  if (error instanceof api.ApiError && error.status === 404) text = "There is nothing here: it may have been deleted.";
  if (error instanceof api.ApiError && error.status === 429) text = describe(error); // with the wait
  return {
    title: "Could not load the page",
    content: [
      h("h1", {}, "Could not load the page"),
      h("p", { class: "problem", role: "alert" }, text),
      h("p", {}, h("a", { href: "/console/" }, "Back to the stores")),
    ],
  };
}

function renderNav() {
  const user = api.me();
  const nav = document.getElementById("nav");
  if (user) {
    fill(
      nav,
      h("a", { href: "/console/" }, "Stores"),
      h("a", { href: "/console/account" }, "Account"),
      h("span", { class: "who" }, `Signed in as ${user.username}`),
      h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
    );
  } else {
    fill(
      nav,
      h("a", { href: "/console/" }, "Stores"),
      h("a", { href: "/console/signin" }, "Sign in"),
      h("a", { href: "/console/register" }, "Create account"),
    );
  }
}

async function signOut(event) {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await api.signOut();
    go("/console/signin", { message: "You are signed out." });
  } catch (error) {
    button.disabled = false;
    flash(`Signing out failed: ${error.message}`);
  }
}

function onSession(event) {
  renderNav();
  if (event.detail.ended) {
    const here = window.location.pathname + window.location.search;
    if (!here.startsWith("/console/signin")) returnTo = here;
    go("/console/signin", { replace: true, message: event.detail.message });
  }
}

function onService(event) {
  const banner = document.getElementById("service");
  const { down, retryIn } = event.detail;
  if (down) {
    banner.hidden = false;
    banner.textContent = retryIn > 0
      ? `The service is unavailable right now. Retrying in ${retryIn} s…`
      : "The service is unavailable right now. Retrying…";
  } else {
    banner.textContent = "The service is available again.";
    setTimeout(() => {
      if (banner.textContent === "The service is available again.") banner.hidden = true;
    }, 3000);
  }
}

// A spent request budget: one banner for every call, counting down to when the server takes
// requests again (it only grows: several refusals keep the latest end).
let limitedUntil = 0;
let limitedTimer = null;

function onLimited(event) {
  limitedUntil = Math.max(limitedUntil, Date.now() + event.detail.retryAfter * 1000);
  const banner = document.getElementById("limited");
  const tick = () => {
    const left = Math.ceil((limitedUntil - Date.now()) / 1000);
    if (left <= 0) {
      banner.textContent = "You can continue now.";
      limitedTimer = setTimeout(() => {
        banner.hidden = true;
      }, 3000);
      return;
    }
    banner.hidden = false;
    banner.textContent = `Too many requests in a short time: the server takes more in ${seconds(left)}. Wait, then try again.`;
    limitedTimer = setTimeout(tick, 1000);
  };
  clearTimeout(limitedTimer);
  tick();
}

function onBusy(event) {
  document.getElementById("busy").textContent = event.detail ? "Loading…" : "";
}

function onClick(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href);
  if (url.origin !== window.location.origin || !url.pathname.startsWith("/console/")) return;
  event.preventDefault();
  go(url.pathname + url.search);
}

async function start() {
  api.bus.addEventListener("session", onSession);
  api.bus.addEventListener("service", onService);
  api.bus.addEventListener("limited", onLimited);
  api.bus.addEventListener("busy", onBusy);
  document.addEventListener("click", onClick);
  window.addEventListener("popstate", () => render(true));
  // (A link that differs only in its fragment, an emailed link opened in a tab already on its
  // page, is a popstate too.)
  renderNav();
  try {
    await api.restore();
  } catch (error) {
    flash(`Could not resume your session: ${error.message}`);
  }
  renderNav();
  if (generation === 0) render(false); // unless the restore already sent us to sign in
}

start();
