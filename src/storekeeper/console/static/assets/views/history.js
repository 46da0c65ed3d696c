// A store's history: who changed what and when, newest first, with each field's before and
// after. For those who may see it (the store's owner, managers, admins: the policy's
// store.history); "More" loads older events.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import { busyButton, describe, money } from "../ui.js";
import { accessTo, EVENT_NAMES, scrollTable } from "./common.js";

const PAGE = 25;
export async function historyView(ctx) {
  const id = Number(ctx.params[0]);
  const { data: store } = await api.request("GET", `/store/${id}`);
  const title = `History of ${store.name}`;
  const crumbs = h("p", { class: "crumbs" },
    h("a", { href: "/console/" }, "Stores"), " › ", h("a", { href: `/console/store/${id}` }, store.name), " › history");
  const { may } = await accessTo(store);
  if (!may.seeHistory) {
    return {
      title,
      content: [crumbs, h("h1", {}, title), h("p", {}, "Only the store's owner, its managers or an admin can see its history.")],
    };
  }
  const body = h("tbody");
  const status = h("p", { role: "status" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More");
  let nextPath = `/store/${id}/event?limit=${PAGE}`;
  let shown = 0;

  async function load() {
    const page = await api.request("GET", nextPath);
    nextPath = page.next;
    body.append(...page.data.map(eventRow));
    shown += page.data.length;
    more.hidden = !nextPath;
    fill(status, shown ? `${shown} ${shown === 1 ? "change" : "changes"} shown${nextPath ? "; older ones with More" : ""}.`
      : "Nothing has changed in this store yet.");
  }

  more.addEventListener("click", () => busyButton(more, "Loading…", async () => {
    try {
      await load();
    } catch (error) {
      fill(status, describe(error));
    }
  }));
  await load().catch((error) => fill(status, describe(error)));

  const table = h("table", {},
    h("caption", {}, "Changes, newest first"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "Who"),
      h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "Changes"))),
    body);
  return {
    title,
    content: [crumbs, h("h1", {}, title), scrollTable("History table", table), status, h("div", { class: "pager" }, more)],
  };
}

function eventRow(event) {
  const when = new Date(event.created_at);
  return h("tr", {},
    h("td", {}, h("time", { datetime: event.created_at }, when.toLocaleString("en-GB"))),
    h("td", {}, event.actor ? event.actor.username : "a deleted user"),
    h("td", {}, `${EVENT_NAMES[event.type] || event.type} (${event.resource.type} ${event.resource.id})`),
    h("td", {}, changeList(event.changes)));
}

function changeList(changes) {
  const names = Object.keys(changes);
  if (!names.length) return "—";
  return h("ul", { class: "changes" }, names.map((name) => {
    const [before, after] = changes[name];
    return h("li", {}, `${name}: ${shown(name, before)} → ${shown(name, after)}`);
  }));
}

function shown(name, value) {
  if (value === null || value === undefined) return "none";
  if (name === "price") return money(value);
  if (typeof value === "object") return value.name ?? JSON.stringify(value);
  if (typeof value === "string") return value === "" ? "empty" : `“${value}”`;
  return String(value);
}
