// The stores: yours (signed in), all of them (admins, anyone browsing), and a new one.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import { busyButton, createOnSubmit, describe, field, problemSlot } from "../ui.js";
import { day, ownerText, scrollTable } from "./common.js";
import { itemSearchForm, itemSearchResults } from "./search.js";

const PAGE = 20;

export async function storesView(ctx) {
  const user = api.me();
  const mineOnly = Boolean(user && !user.is_admin && !ctx.query.has("all"));
  const q = ctx.query.get("q") || "";
  const search = (ctx.query.get("search") || "").trim();
  const title = mineOnly ? "Your stores" : user && user.is_admin ? "All stores" : "Stores";
  const list = storeList({ mineOnly, q });
  const [results] = await Promise.all([search ? itemSearchResults(search) : null, list.more()]);
  return {
    title,
    content: [
      h("h1", {}, title),
      user ? null : h("p", {}, "Anyone may browse. ", h("a", { href: "/console/signin" }, "Sign in"), " to keep stores of your own."),
      user && !user.is_admin
        ? h("p", {}, mineOnly
          ? h("a", { href: "/console/?all" }, "Browse every store")
          : h("a", { href: "/console/" }, "Show only your stores"))
        : null,
      user ? createForm(ctx) : null,
      itemSearchForm(ctx, search),
      results,
      searchForm(ctx, q, mineOnly),
      list.element,
    ],
  };
}

function searchForm(ctx, q, mineOnly) {
  const form = h(
    "form",
    { role: "search", "aria-label": "Stores", class: "row" },
    field("Search stores by name", "q", { type: "search", value: q }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Search")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const parts = [];
    if (!mineOnly && api.me() && !api.me().is_admin) parts.push("all");
    const text = form.elements.q.value.trim();
    if (text) parts.push(`q=${encodeURIComponent(text)}`);
    const search = ctx.query.get("search"); // an item search on the page stays
    if (search) parts.push(`search=${encodeURIComponent(search)}`);
    ctx.go(`/console/${parts.length ? `?${parts.join("&")}` : ""}`);
  });
  return form;
}

/** A list that grows by the API's pages: of every store, or of yours (`?member=me`). */
function storeList({ mineOnly, q }) {
  const body = h("tbody");
  const status = h("p", { role: "status" });
  const moreButton = h("button", { type: "button", class: "secondary", hidden: true }, "Show more stores");
  const table = h(
    "table",
    {},
    h("caption", {}, mineOnly ? "Stores you own or work in" : "Stores"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Store"), h("th", { scope: "col", class: "num" }, "Items"),
      h("th", { scope: "col" }, "Owner"), h("th", { scope: "col" }, "Created"))),
    body,
  );
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (mineOnly) query.set("member", "me");
  if (q) query.set("q", q);
  let next = `/store?${query}`;
  let shown = 0;

  async function more() {
    const page = await api.request("GET", next);
    next = page.next;
    const found = page.data;
    for (const store of found) {
      body.append(h("tr", {},
        h("td", {}, h("a", { href: `/console/store/${store.id}` }, store.name)),
        h("td", { class: "num" }, String(store.item_count)),
        h("td", {}, ownerText(store.owner_id)),
        h("td", {}, day(store.created_at))));
    }
    shown += found.length;
    moreButton.hidden = !next;
    fill(status, shown === 0
      ? (q ? "No store matches this search." : mineOnly ? "You have no store yet: create one above." : "There is no store yet.")
      : `Showing ${shown} ${shown === 1 ? "store" : "stores"}${next ? "; there are more" : ""}.`);
  }

  moreButton.addEventListener("click", () =>
    busyButton(moreButton, "Loading…", () => more().catch((error) => fill(status, describe(error)))));
  const element = h("section", { "aria-label": "Store list" }, scrollTable("Stores table", table), status,
    h("div", { class: "actions" }, moreButton));
  return { element, more };
}

function createForm(ctx) {
  const button = h("button", { type: "submit" }, "Create store");
  const form = h(
    "form",
    { "aria-labelledby": "new-store" },
    h("h2", { id: "new-store" }, "New store"),
    problemSlot(),
    h("div", { class: "row" }, field("Store name", "name", { autocomplete: "off" }),
      h("div", { class: "actions" }, button)),
  );
  createOnSubmit(form, button, "Creating…", {
    send: (key) => api.request("POST", "/store", { body: api.jsonBody({ name: form.elements.name.value }), key }),
    created: ({ data }) => ctx.go(`/console/store/${data.id}`, { message: `Store “${data.name}” created.` }),
  });
  return form;
}
