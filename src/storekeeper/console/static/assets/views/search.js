// Full-text search of items: the search box and ranked results of the stores page, and the
// store page's filters kept in its address, so a reload or a shared link shows the same list.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import { busyButton, describe, field, money } from "../ui.js";

const PAGE = 20;

/** The stores page's item search: a form that puts its words in the address (?search=). */
export function itemSearchForm(ctx, text) {
  const form = h(
    "form",
    { role: "search", "aria-label": "Items in every store", class: "row" },
    field("Search items in every store", "search", {
      type: "search",
      value: text,
      hint: "Words that start a word of an item’s name or description; all must match.",
    }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Search items")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    // The other parameters of the page (its store filter, "all") stay as they are.
    const query = new URLSearchParams(window.location.search);
    const words = form.elements.search.value.trim();
    if (words) query.set("search", words);
    else query.delete("search");
    const rest = query.toString().replace(/=(?=&|$)/g, ""); // "?all", as the page writes it
    ctx.go(`/console/${rest ? `?${rest}` : ""}`);
  });
  return form;
}

/** The ranked items a search finds in every store, a page more at a time. */
export async function itemSearchResults(text) {
  const list = h("ol", { class: "results" });
  const status = h("p", { role: "status" });
  const moreButton = h("button", { type: "button", class: "secondary", hidden: true }, "Show more results");
  let next = `/item?${new URLSearchParams({ search: text, limit: String(PAGE) })}`;
  let shown = 0;

  async function more() {
    const page = await api.request("GET", next);
    next = page.next;
    list.append(...page.data.map((item) => h("li", {},
      h("a", { href: `/console/item/${item.id}` }, item.name),
      " in ",
      h("a", { href: `/console/store/${item.store.id}` }, item.store.name),
      `, ${money(item.price)}`,
      item.description ? h("span", { class: "muted" }, ` — ${item.description}`) : null)));
    shown += page.data.length;
    moreButton.hidden = !next;
    fill(status, shown === 0
      ? "No item matches every word."
      : `${shown} ${shown === 1 ? "item" : "items"} found, best match first${next ? "; there are more" : ""}.`);
  }

  moreButton.addEventListener("click", () =>
    busyButton(moreButton, "Loading…", () => more().catch((error) => fill(status, describe(error)))));
  try {
    await more();
  } catch (error) {
    // A search the API refuses (no letter or digit in it) is said where the results would be.
    fill(status, describe(error));
  }
  return h("section", { "aria-labelledby": "search-results" },
    h("h2", { id: "search-results" }, `Items matching “${text}”`),
    list, status, h("div", { class: "actions" }, moreButton));
}

// The store page's list parameters that its address keeps (limit is the console's own).
const KEPT = ["search", "q", "min_price", "max_price", "tag", "in_stock", "sort"];

/** Fill a filter form from the page's address; true when the address named any filter. */
export function filtersFromAddress(form, query) {
  let any = false;
  for (const name of KEPT) {
    const value = query.get(name);
    if (value === null) continue;
    any = true;
    const control = form.elements[name];
    if (!control) continue;
    if (control.type === "checkbox") control.checked = value === "true";
    else control.value = value;
  }
  // A link with words and no sort ranks them, as the API does.
  if (query.get("search") && query.get("sort") === null && form.elements.sort) form.elements.sort.value = "relevance";
  return any;
}

/** Put a list's parameters (but its page size) in the page's address, replacing the entry. */
export function filtersToAddress(listQuery) {
  const params = new URLSearchParams(listQuery);
  for (const name of [...params.keys()]) if (!KEPT.includes(name)) params.delete(name);
  const path = `${window.location.pathname}${params.size ? `?${params}` : ""}`;
  window.history.replaceState({}, "", path);
}

/** While words are typed, rank by them; when they are cleared, drop the relevance sort. */
export function sortFollowsSearch(form, defaultSort) {
  form.elements.search.addEventListener("input", () => {
    const words = form.elements.search.value.trim();
    if (words && form.elements.sort.value === defaultSort) form.elements.sort.value = "relevance";
    if (!words && form.elements.sort.value === "relevance") form.elements.sort.value = defaultSort;
  });
}
