// An item: its details, and for its store's team the edit (If-Match), move, tags, and (managers) delete.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import {
  busyButton, isBusy, clearErrors, confirmDialog, describe, field, money, problemSlot, select, showError,
} from "../ui.js";
import { conflictPanel } from "./conflict.js";
import { accessTo, day, writableStores } from "./common.js";
import { photoSection } from "./photo.js";

const FIELDS = [
  ["name", "The name", (item) => `“${item.name}”`],
  ["price", "The price", (item) => money(item.price)],
  ["quantity", "The quantity", (item) => String(item.quantity)],
  ["description", "The description", (item) => (item.description ? `“${item.description}”` : "empty")],
  ["store_id", "The store", (item) => `“${item.store.name}”`],
];

export async function itemView(ctx) {
  const id = Number(ctx.params[0]);
  const { data: item, etag } = await api.request("GET", `/item/${id}`);
  const { data: store } = await api.request("GET", `/store/${item.store_id}`);
  const { may } = await accessTo(store);
  const editable = may.writeItems;
  const state = { item, etag };
  const heading = h("h1", {}, item.name);
  const facts = h("dl", { class: "facts" });
  const storeLink = h("a", { href: `/console/store/${item.store_id}` }, item.store.name);
  const showFacts = () => {
    fill(heading, state.item.name);
    document.title = `${state.item.name} · Storekeeper console`;
    fill(storeLink, state.item.store.name);
    storeLink.setAttribute("href", `/console/store/${state.item.store_id}`);
    fill(facts,
      h("dt", {}, "Price"), h("dd", {}, money(state.item.price)),
      h("dt", {}, "Quantity"), h("dd", {}, String(state.item.quantity)),
      h("dt", {}, "Description"), h("dd", {}, state.item.description || "None"),
      h("dt", {}, "Tags"), h("dd", {}, state.item.tags.map((t) => t.name).join(", ") || "None"),
      h("dt", {}, "Updated"), h("dd", {}, day(state.item.updated_at)));
  };
  showFacts();
  const photo = photoSection(state, editable, showFacts);
  const sections = [];
  if (editable) {
    const stores = await writableStores();
    const tags = tagsSection(state, showFacts);
    await tags.load();
    sections.push(editSection(ctx, state, stores, () => {
      showFacts();
      return tags.load();
    }), tags.element, may.deleteItems ? deleteSection(ctx, state) : null);
  }
  return {
    title: item.name,
    content: [
      h("p", { class: "crumbs" }, h("a", { href: "/console/" }, "Stores"), " › ", storeLink, " › this item"),
      heading,
      facts,
      photo,
      editable ? null : h("p", { class: "muted" }, "Only the store's team or an admin can change this item."),
      sections,
    ],
  };
}

function formText(item) {
  return {
    name: item.name,
    price: money(item.price),
    quantity: String(item.quantity),
    description: item.description,
    store_id: String(item.store_id),
  };
}

function editSection(ctx, state, stores, saved) {
  const options = stores.map((s) => [String(s.id), s.name]);
  if (!options.some(([value]) => value === String(state.item.store_id))) {
    options.unshift([String(state.item.store_id), state.item.store.name]);
  }
  const button = h("button", { type: "submit" }, "Save changes");
  const done = h("p", { role: "status" });
  const conflictSlot = h("div");
  const form = h("form", { "aria-labelledby": "edit-heading" },
    h("h2", { id: "edit-heading" }, "Edit"),
    problemSlot(),
    conflictSlot,
    field("Name", "name", { autocomplete: "off" }),
    h("div", { class: "row" },
      field("Price", "price", { inputmode: "decimal", hint: "Exact, at most 2 decimals: 19.99" }),
      field("Quantity", "quantity", { inputmode: "numeric" })),
    field("Description", "description", { multiline: true, rows: "3" }),
    select("Store", "store_id", options, state.item.store_id),
    h("p", { class: "hint muted" }, "Moving the item to another of your stores removes its tags: they belong to its store."),
    h("div", { class: "actions" }, button),
    done);

  function fillForm(item) {
    const text = formText(item);
    for (const [name, value] of Object.entries(text)) form.elements[name].value = value;
  }
  fillForm(state.item);

  // The fields whose text differs from `base`: a merge patch of exactly what was changed.
  function changes(base) {
    const before = formText(base);
    const els = form.elements;
    const found = {};
    if (els.name.value !== before.name) found.name = els.name.value;
    if (els.price.value !== before.price) found.price = api.numberField(els.price.value) ?? "";
    if (els.quantity.value !== before.quantity) found.quantity = api.numberField(els.quantity.value) ?? "";
    if (els.description.value !== before.description) found.description = els.description.value;
    if (els.store_id.value !== before.store_id) found.store_id = new api.Literal(els.store_id.value);
    return found;
  }

  async function save(base, etag) {
    const patch = changes(base);
    if (!Object.keys(patch).length) {
      fill(done, "Nothing to save: no field was changed.");
      return;
    }
    const { data, etag: fresh } = await api.request("PATCH", `/item/${state.item.id}`, { body: api.jsonBody(patch), etag });
    state.item = data;
    state.etag = fresh;
    fillForm(data);
    await saved();
    fill(done, "Saved.");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(button, "Saving…", async () => {
      clearErrors(form);
      fill(conflictSlot);
      fill(done);
      try {
        await save(state.item, state.etag);
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 412) {
          await offerConflict();
        } else {
          showError(form, error);
        }
      }
    });
  });

  async function offerConflict() {
    const current = await api.request("GET", `/item/${state.item.id}`);
    const differences = FIELDS
      .filter(([name]) => String(current.data[name]) !== String(state.item[name]))
      .map(([, label, show]) => [label, show(current.data)]);
    fill(conflictSlot, conflictPanel({
      differences,
      onReload: async () => {
        state.item = current.data;
        state.etag = current.etag;
        fillForm(current.data);
        await saved();
        fill(done, "Reloaded: this is the item as it is now.");
        form.elements.name.focus();
      },
      onOverwrite: async () => {
        try {
          await save(current.data, current.etag); // what the form shows now is what is kept
        } catch (error) {
          if (error instanceof api.ApiError && error.status === 412) await offerConflict();
          else showError(form, error);
        }
      },
    }));
    conflictSlot.querySelector("button").focus();
  }

  return h("section", {}, form);
}

function tagsSection(state, refreshed) {
  const chips = h("ul", { class: "chips", "aria-labelledby": "item-tags-heading" });
  const slot = problemSlot();
  const status = h("p", { role: "status" });
  const addButton = h("button", { type: "submit" }, "Add tag");
  let tagField = select("Tag to add", "tag", []);
  const form = h("form", { "aria-label": "Add a tag", class: "row" }, tagField, h("div", { class: "actions" }, addButton));
  let storeTags = [];

  async function load() {
    storeTags = await api.all(`/store/${state.item.store_id}/tag?limit=200&sort=name`);
    const on = new Set(state.item.tags.map((t) => t.id));
    fill(chips, state.item.tags.map((tag) => h("li", {}, tag.name,
      h("button", { type: "button", class: "secondary", "aria-label": `Remove tag ${tag.name}`,
        onclick: (event) => unlabel(event.currentTarget, tag) }, "Remove"))));
    if (!state.item.tags.length) fill(chips, h("li", { class: "plain" }, "No tags yet."));
    const free = storeTags.filter((t) => !on.has(t.id));
    const replacement = select("Tag to add", "tag", free.map((t) => [String(t.id), t.name]));
    tagField.replaceWith(replacement);
    tagField = replacement;
    form.hidden = !free.length;
    if (!storeTags.length) fill(status, "The store has no tags yet: create them on the store's page.");
  }

  // A label changes the item's representation and so its ETag: the new one is taken only when
  // nothing else changed meanwhile, so an edit still notices someone else's change.
  async function reread() {
    const fresh = await api.request("GET", `/item/${state.item.id}`);
    const same = FIELDS.every(([name]) => String(fresh.data[name]) === String(state.item[name]));
    state.item = same ? fresh.data : { ...state.item, tags: fresh.data.tags };
    if (same) state.etag = fresh.etag;
    await load();
    refreshed();
  }

  async function unlabel(button, tag) {
    await busyButton(button, "Removing…", async () => {
      fill(slot);
      try {
        await api.request("DELETE", `/item/${state.item.id}/tag/${tag.id}`);
        await reread();
        fill(status, `Tag “${tag.name}” removed.`);
        chips.closest("section").querySelector("h2").focus();
      } catch (error) {
        if (!(error instanceof api.SessionEnded)) fill(slot, h("p", {}, describe(error)));
      }
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(addButton, "Adding…", async () => {
      fill(slot);
      const tagId = form.elements.tag.value;
      const tag = storeTags.find((t) => String(t.id) === tagId);
      try {
        await api.request("POST", `/item/${state.item.id}/tag/${tagId}`, { key: api.newKey() });
        await reread();
        fill(status, `Tag “${tag.name}” added.`);
        (form.hidden ? chips.closest("section").querySelector("h2") : form.elements.tag).focus();
      } catch (error) {
        if (!(error instanceof api.SessionEnded)) fill(slot, h("p", {}, describe(error)));
      }
    });
  });

  const element = h("section", { "aria-labelledby": "item-tags-heading" },
    h("h2", { id: "item-tags-heading", tabindex: "-1" }, "Tags"),
    slot, chips, form, status);
  return { element, load };
}

function deleteSection(ctx, state) {
  const slot = h("div");
  const say = (text) => fill(slot, h("p", { class: "problem", role: "alert" }, text));
  const button = h("button", { type: "button", class: "danger" }, "Delete item");

  async function remove(etag) {
    await api.request("DELETE", `/item/${state.item.id}`, { etag });
    ctx.go(`/console/store/${state.item.store_id}`, { message: `Item “${state.item.name}” moved to the trash.` });
  }

  button.addEventListener("click", async () => {
    if (isBusy(button)) return;
    fill(slot);
    const yes = await confirmDialog({
      title: `Delete “${state.item.name}”?`,
      message: "The item goes to the store's trash, with its tags and photo. It can be restored from there for 30 days; then it is deleted for good.",
      confirm: "Delete item",
    });
    if (yes) await busyButton(button, "Deleting…", attempt);
  });

  async function attempt() {
    try {
      await remove(state.etag);
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 412) {
        const current = await api.request("GET", `/item/${state.item.id}`);
        fill(slot, conflictPanel({
          differences: FIELDS.filter(([name]) => String(current.data[name]) !== String(state.item[name]))
            .map(([, label, show]) => [label, show(current.data)]),
          onReload: async () => ctx.refresh(),
          onOverwrite: async () => remove(current.etag),
          overwriteLabel: "Delete anyway",
        }));
      } else if (!(error instanceof api.SessionEnded)) {
        say(describe(error));
      }
    }
  }
  return h("section", { "aria-labelledby": "delete-heading" },
    h("h2", { id: "delete-heading" }, "Delete"),
    slot,
    h("div", { class: "actions" }, button));
}
