// A store: its items (paged, sorted, filtered), its tags, and for its team what each role may change.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import {
  busyButton, isBusy, checkbox, clearErrors, confirmDialog, createOnSubmit, describe, field, money, problemSlot, select,
  showError,
} from "../ui.js";
import { conflictPanel } from "./conflict.js";
import { accessTo, day, ownerText, roleText, scrollTable } from "./common.js";
import { thumbnailCell } from "./photo.js";
import { filtersFromAddress, filtersToAddress, sortFollowsSearch } from "./search.js";
import { exportButton } from "./transfer.js";

const PAGE = 20;
const SORTS = [
  ["created_at", "Created, oldest first"],
  ["-created_at", "Created, newest first"],
  ["name", "Name, A to Z"],
  ["-name", "Name, Z to A"],
  ["price", "Price, lowest first"],
  ["-price", "Price, highest first"],
  ["relevance", "Best match (with search words)"],
];
const DEFAULT_SORT = "created_at";

export async function storeView(ctx) {
  const id = Number(ctx.params[0]);
  const [{ data: store, etag }, tags] = await Promise.all([
    api.request("GET", `/store/${id}`),
    api.all(`/store/${id}/tag?limit=200&sort=name`),
  ]);
  const state = { store, etag, tags };
  const { role, may } = await accessTo(store);
  const heading = h("h1", {}, store.name);
  const count = h("span", {}, countText(store.item_count));
  const items = itemsSection(state, may.writeItems, refreshStore, ctx.query);
  const tagSection = tagsSection(state, may.manageTags, items);
  await items.ready;

  // After the person's own changes to items the store's ETag changes too; a rename must
  // still notice someone else's rename, so the new ETag is taken only if the name is the same.
  async function refreshStore() {
    const fresh = await api.request("GET", `/store/${id}`);
    if (fresh.data.name === state.store.name) state.etag = fresh.etag;
    fill(count, countText(fresh.data.item_count));
  }

  return {
    title: store.name,
    content: [
      h("p", { class: "crumbs" }, h("a", { href: "/console/" }, "Stores"), " › this store"),
      heading,
      h("dl", { class: "facts" },
        h("dt", {}, "Owner"), h("dd", {}, ownerText(store.owner_id)),
        h("dt", {}, "Items"), h("dd", {}, count),
        h("dt", {}, "Created"), h("dd", {}, day(store.created_at)),
        role ? [h("dt", {}, "Your role"), h("dd", {}, roleText(role))] : null),
      h("p", { class: "actions" }, exportButton(id),
        may.importItems ? h("a", { href: `/console/store/${id}/import` }, "Import CSV") : null,
        may.readTrash ? h("a", { href: `/console/store/${id}/trash` }, "Trash") : null,
        may.seeHistory ? h("a", { href: `/console/store/${id}/history` }, "History") : null,
        may.seeWebhooks ? h("a", { href: `/console/store/${id}/webhooks` }, "Webhooks") : null),
      may.seeTeam ? h("p", {}, h("a", { href: `/console/store/${id}/team` }, "Team"), ": who works on this store, and their roles.") : null,
      may.writeItems ? null : h("p", { class: "muted" }, api.me()
        ? "You can browse this store; only its team or an admin can change it."
        : "You are browsing as a guest; sign in as one of its team to change it."),
      items.element,
      tagSection,
      may.rename || may.deleteStore ? manageSection(ctx, state, may) : null,
    ],
  };
}

function countText(n) {
  return `${n} ${n === 1 ? "item" : "items"} in this store`;
}

function itemsSection(state, editable, refreshStore, address) {
  const id = state.store.id;
  const filters = filterForm(state.tags);
  // A reload or a shared link shows the list its address names (views/search.js).
  const fromAddress = filtersFromAddress(filters.form, address);
  const body = h("tbody");
  const status = h("p", { role: "status" });
  const previous = h("button", { type: "button", class: "secondary", hidden: true }, "Previous page");
  const next = h("button", { type: "button", class: "secondary", hidden: true }, "Next page");
  const pages = []; // the paths of the pages shown so far: keyset pages only go forward
  let nextPath = null;

  const table = h("table", {},
    h("caption", {}, "Items of this store"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "num" }, "Price"),
      h("th", { scope: "col", class: "num" }, "Quantity"), h("th", { scope: "col" }, "Tags"),
      h("th", { scope: "col" }, "Photo"))),
    body);

  async function show(path) {
    const page = await api.request("GET", path);
    nextPath = page.next;
    fill(body, page.data.map((item) => h("tr", {},
      h("td", {}, h("a", { href: `/console/item/${item.id}` }, item.name)),
      h("td", { class: "num" }, money(item.price)),
      h("td", { class: "num" }, String(item.quantity)),
      h("td", {}, item.tags.map((t) => t.name).join(", ") || "—"),
      thumbnailCell(item))));
    previous.hidden = pages.length < 2;
    next.hidden = !nextPath;
    fill(status, page.data.length
      ? `Page ${pages.length}: ${page.data.length} ${page.data.length === 1 ? "item" : "items"} shown${nextPath ? ", more on the next page" : ""}.`
      : (pages.length > 1 ? "No more items." : "No item matches."));
  }

  async function first() {
    const path = `/store/${id}/item?${filters.query()}`;
    pages.length = 0;
    pages.push(path);
    await show(path);
  }

  filters.form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(filters.button, "Filtering…", async () => {
      clearErrors(filters.form);
      try {
        await first();
        filtersToAddress(filters.query());
      } catch (error) {
        showError(filters.form, error);
      }
    });
  });
  next.addEventListener("click", () => busyButton(next, "Loading…", async () => {
    pages.push(nextPath);
    try {
      await show(nextPath);
    } catch (error) {
      pages.pop();
      fill(status, describe(error));
    }
  }));
  previous.addEventListener("click", () => busyButton(previous, "Loading…", async () => {
    const left = pages.pop();
    try {
      await show(pages[pages.length - 1]);
    } catch (error) {
      pages.push(left);
      fill(status, describe(error));
    }
  }));

  const element = h("section", { "aria-labelledby": "items-heading" },
    h("h2", { id: "items-heading" }, "Items"),
    editable ? addItemForm(id, async (item) => {
      await Promise.all([first(), refreshStore()]);
      return item;
    }) : null,
    filters.form,
    scrollTable("Items table", table),
    status,
    h("div", { class: "pager" }, previous, next));

  pages.push(`/store/${id}/item?${filters.query()}`);
  const ready = show(pages[0]).catch((error) =>
    fromAddress ? showError(filters.form, error) : fill(status, describe(error)));
  return {
    element,
    ready,
    tagsChanged: () => filters.setTags(state.tags),
    byTag: (tagId) => {
      filters.form.elements.tag.value = String(tagId);
      filters.form.requestSubmit();
    },
  };
}

function filterForm(tags) {
  const tagOptions = () => [["", "Any tag"], ...tags.map((t) => [String(t.id), t.name])];
  let tagField = select("Tag", "tag", tagOptions());
  const button = h("button", { type: "submit", class: "secondary" }, "Apply filters");
  const form = h("form", { role: "search", "aria-labelledby": "filters-heading" },
    h("h3", { id: "filters-heading" }, "Find items"),
    problemSlot(),
    h("div", { class: "row" },
      field("Search words", "search", { type: "search" }),
      field("Name contains", "q", { type: "search" }),
      field("Minimum price", "min_price", { inputmode: "decimal" }),
      field("Maximum price", "max_price", { inputmode: "decimal" }),
      tagField,
      select("Sort by", "sort", SORTS, DEFAULT_SORT)),
    checkbox("In stock only", "in_stock"),
    h("div", { class: "actions" }, button));
  sortFollowsSearch(form, DEFAULT_SORT);
  return {
    form,
    button,
    query() {
      const words = form.elements.search.value.trim();
      // Relevance means nothing without words (the API refuses it): the usual order then.
      const sort = form.elements.sort.value === "relevance" && !words ? DEFAULT_SORT : form.elements.sort.value;
      const params = new URLSearchParams({ limit: String(PAGE), sort });
      for (const name of ["search", "q", "min_price", "max_price"]) {
        const value = form.elements[name].value.trim();
        if (value) params.set(name, value);
      }
      if (form.elements.tag.value) params.set("tag", form.elements.tag.value);
      if (form.elements.in_stock.checked) params.set("in_stock", "true");
      return params.toString();
    },
    setTags(current) {
      tags = current;
      const chosen = form.elements.tag.value;
      const replacement = select("Tag", "tag", tagOptions(), current.some((t) => String(t.id) === chosen) ? chosen : "");
      tagField.replaceWith(replacement);
      tagField = replacement;
    },
  };
}

function addItemForm(storeId, added) {
  const button = h("button", { type: "submit" }, "Add item");
  const done = h("p", { role: "status" });
  const form = h("form", { "aria-labelledby": "add-item-heading" },
    h("h3", { id: "add-item-heading" }, "Add an item"),
    problemSlot(),
    h("div", { class: "row" },
      field("Name", "name", { autocomplete: "off" }),
      field("Price", "price", { inputmode: "decimal", hint: "Exact, at most 2 decimals: 19.99" }),
      field("Quantity", "quantity", { inputmode: "numeric", hint: "How many in stock; empty is 0" })),
    field("Description", "description", { multiline: true, rows: "2" }),
    h("div", { class: "actions" }, button),
    done);
  createOnSubmit(form, button, "Adding…", {
    send: (key) => {
      const els = form.elements;
      fill(done);
      const body = api.jsonBody({
        name: els.name.value,
        price: api.numberField(els.price.value),
        quantity: api.numberField(els.quantity.value),
        description: els.description.value || undefined,
      });
      return api.request("POST", `/store/${storeId}/item`, { body, key });
    },
    created: async ({ data }) => {
      form.reset();
      await added(data);
      fill(done, `Added “${data.name}” at ${money(data.price)}.`);
      form.elements.name.focus();
    },
  });
  return form;
}

function tagsSection(state, editable, items) {
  const changed = () => items.tagsChanged();
  const list = h("ul", { class: "tag-list", "aria-labelledby": "tags-heading" });
  const status = h("p", { role: "status" });

  function render() {
    fill(list, state.tags.map((tag) => tagRow(tag)));
    if (!state.tags.length) fill(status, "This store has no tags yet.");
  }

  function tagRow(tag) {
    const slot = h("div", { class: "problem", role: "alert" });
    const remove = editable
      ? h("button", { type: "button", class: "secondary", "aria-label": `Delete tag ${tag.name}` }, "Delete")
      : null;
    const show = h("button", { type: "button", class: "link", "aria-label": `Show the items tagged ${tag.name}`,
      onclick: () => items.byTag(tag.id) }, tag.name);
    const row = h("li", {}, show, remove, slot);
    remove?.addEventListener("click", () => busyButton(remove, "Deleting…", async () => {
      fill(slot);
      try {
        const { etag } = await api.request("GET", `/tag/${tag.id}`);
        await api.request("DELETE", `/tag/${tag.id}`, { etag });
        state.tags = state.tags.filter((t) => t.id !== tag.id);
        render();
        changed();
        fill(status, `Tag “${tag.name}” deleted.`);
        list.closest("section").querySelector("h2").focus();
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 409) {
          const labelled = await api.request("GET", `/tag/${tag.id}`).then((r) => r.data.items, () => []);
          fill(slot, h("p", {}, `Not deleted: ${error.message} It labels `,
            labelled.map((item, i) => [i ? ", " : "", h("a", { href: `/console/item/${item.id}` }, item.name)]),
            ". Nothing was changed."));
        } else if (!(error instanceof api.SessionEnded)) {
          fill(slot, h("p", {}, describe(error)));
        }
      }
    }));
    return row;
  }

  render();
  return h("section", { "aria-labelledby": "tags-heading" },
    h("h2", { id: "tags-heading", tabindex: "-1" }, "Tags"),
    h("p", { class: "muted" }, "Tags group a store's items. Label an item on its own page; choose a tag here to list its items."),
    list,
    status,
    editable ? addTagForm(state, (tag) => {
      state.tags = [...state.tags, tag].sort((a, b) => a.name.localeCompare(b.name));
      render();
      changed();
      fill(status, `Tag “${tag.name}” created.`);
    }) : null);
}

function addTagForm(state, created) {
  const button = h("button", { type: "submit" }, "Create tag");
  const form = h("form", { "aria-labelledby": "add-tag-heading" },
    h("h3", { id: "add-tag-heading" }, "New tag"),
    problemSlot(),
    h("div", { class: "row" }, field("Tag name", "name", { autocomplete: "off" }), h("div", { class: "actions" }, button)));
  createOnSubmit(form, button, "Creating…", {
    send: (key) => api.request("POST", `/store/${state.store.id}/tag`, { body: api.jsonBody({ name: form.elements.name.value }), key }),
    created: ({ data }) => {
      form.reset();
      created(data);
    },
  });
  return form;
}

function manageSection(ctx, state, may) {
  const store = state.store;
  const renameButton = h("button", { type: "submit" }, "Rename");
  const conflictSlot = h("div");
  const form = h("form", { "aria-labelledby": "rename-heading" },
    h("h3", { id: "rename-heading" }, "Rename"),
    problemSlot(),
    conflictSlot,
    h("div", { class: "row" }, field("Store name", "name", { value: store.name, autocomplete: "off" }),
      h("div", { class: "actions" }, renameButton)));

  async function rename(etag) {
    const name = form.elements.name.value;
    const { data } = await api.request("PATCH", `/store/${store.id}`, { body: api.jsonBody({ name }), etag });
    ctx.go(`/console/store/${data.id}`, { replace: true, message: `Store renamed to “${data.name}”.` });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(renameButton, "Renaming…", async () => {
      clearErrors(form);
      fill(conflictSlot);
      try {
        await rename(state.etag);
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 412) {
          const current = await api.request("GET", `/store/${store.id}`);
          const differences = current.data.name !== store.name ? [["The name", `“${current.data.name}”`]] : [];
          fill(conflictSlot, conflictPanel({
            differences,
            onReload: async () => ctx.refresh(),
            onOverwrite: async () => {
              try {
                await rename(current.etag);
              } catch (again) {
                showError(form, again);
              }
            },
          }));
          conflictSlot.querySelector("button").focus();
        } else {
          showError(form, error);
        }
      }
    });
  });

  const deleteSlot = problemSlot();
  const deleteButton = h("button", { type: "button", class: "danger" }, "Delete store");
  deleteButton.addEventListener("click", async () => {
    if (isBusy(deleteButton)) return;
    fill(deleteSlot);
    const fail = (error) => {
      if (error instanceof api.ApiError && error.status === 412) {
        fill(deleteSlot, h("p", {}, "The store changed while you were deciding, so nothing was deleted. Try again to see what it holds now."));
      } else if (!(error instanceof api.SessionEnded)) {
        fill(deleteSlot, h("p", {}, describe(error)));
      }
    };
    // Counted from a fresh read, and deleted only if the store is still as counted.
    const counted = await busyButton(deleteButton, "Counting…", async () => {
      const { data, etag } = await api.request("GET", `/store/${store.id}`);
      const tagCount = data.tags.length < 50 ? data.tags.length : (await api.all(`/store/${store.id}/tag?limit=200`)).length;
      return { data, etag, what: `its ${data.item_count} ${data.item_count === 1 ? "item" : "items"} and ${tagCount} ${tagCount === 1 ? "tag" : "tags"}` };
    }).catch((error) => {
      fail(error);
      return null;
    });
    if (!counted) return;
    const yes = await confirmDialog({
      title: `Delete “${counted.data.name}”?`,
      message: `This deletes the store with ${counted.what}. It cannot be undone.`,
      confirm: "Delete store",
    });
    if (!yes) return;
    await busyButton(deleteButton, "Deleting…", async () => {
      try {
        await api.request("DELETE", `/store/${store.id}`, { etag: counted.etag });
        ctx.go("/console/", { message: `Store “${counted.data.name}” deleted with ${counted.what}.` });
      } catch (error) {
        fail(error);
      }
    });
  });

  return h("section", { "aria-labelledby": "manage-heading" },
    h("h2", { id: "manage-heading" }, "Manage this store"),
    may.rename ? form : null,
    may.deleteStore ? [
      h("h3", {}, "Delete"),
      deleteSlot,
      h("p", {}, "Deleting a store deletes its items and tags with it."),
      h("div", { class: "actions" }, deleteButton)] : null);
}
