// A store's trash: the items deleted in the last 30 days, when and by whom, each with a
// Restore button. A restore whose name another item has taken meanwhile asks for a new one.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import { busyButton, clearErrors, describe, field, money, problemSlot, showError } from "../ui.js";
import { accessTo, scrollTable } from "./common.js";

const PAGE = 50;

export async function trashView(ctx) {
  const id = Number(ctx.params[0]);
  const { data: store } = await api.request("GET", `/store/${id}`);
  const title = `Trash of ${store.name}`;
  const crumbs = h("p", { class: "crumbs" },
    h("a", { href: "/console/" }, "Stores"), " › ", h("a", { href: `/console/store/${id}` }, store.name), " › trash");
  const back = h("p", {}, h("a", { href: `/console/store/${id}` }, `Back to ${store.name}`));
  const { may } = await accessTo(store);
  if (!may.readTrash) {
    return {
      title,
      content: [crumbs, h("h1", {}, title),
        h("p", {}, "Only the store's owner or an admin can see its trash."), back],
    };
  }
  const intro = h("p", {}, "Deleted items stay here for 30 days, then they are gone for good. Restoring one brings it back with its tags and photo.");
  const body = h("tbody");
  const table = h("table", {},
    h("caption", { class: "visually-hidden" }, "Deleted items, latest first"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Price"),
      h("th", { scope: "col" }, "Deleted"), h("th", { scope: "col" }, "By"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    body);
  const empty = h("p", { hidden: true }, "The trash is empty.");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  const status = h("p", { role: "status" });
  let next = `/store/${id}/trash?limit=${PAGE}`;

  async function load() {
    const page = await api.request("GET", next);
    next = page.next;
    for (const row of page.data) body.append(trashRow(ctx, row, status));
    more.hidden = !next;
    empty.hidden = body.children.length > 0;
  }
  more.addEventListener("click", () => busyButton(more, "Loading…", load));
  await load();
  return {
    title,
    content: [crumbs, h("h1", {}, title), intro, status, empty,
      scrollTable("Deleted items", table), h("div", { class: "actions" }, more), back],
  };
}

function deletedBy(userId) {
  const user = api.me();
  if (userId === null) return "a deleted account";
  return user && user.id === userId ? "You" : `User #${userId}`;
}

function when(timestamp) {
  return new Date(timestamp).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

function trashRow(ctx, row, status) {
  const button = h("button", { type: "button", "aria-label": `Restore “${row.name}”` }, "Restore");
  const slot = h("div");
  const cell = h("td", {}, button, slot);
  const tr = h("tr", {},
    h("th", { scope: "row" }, row.name), h("td", {}, money(row.price)),
    h("td", {}, h("time", { datetime: row.deleted_at }, when(row.deleted_at))),
    h("td", {}, deletedBy(row.deleted_by)), cell);

  async function restore(name) {
    const body = name === undefined ? undefined : api.jsonBody({ name });
    const { data } = await api.request("POST", `/item/${row.id}/restore`, { body, key: api.newKey() });
    ctx.go(`/console/item/${data.id}`, { message: `Item “${data.name}” restored.` });
  }

  button.addEventListener("click", () => busyButton(button, "Restoring…", async () => {
    fill(slot);
    fill(status);
    try {
      await restore();
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 409 && /name/i.test(error.problem.detail || "")) {
        fill(slot, renameForm(row, restore));
        slot.querySelector("input").focus();
      } else if (!(error instanceof api.SessionEnded)) {
        fill(status, describe(error));
      }
    }
  }));
  return tr;
}

/** The name is taken by another item now: restore under a new one. */
function renameForm(row, restore) {
  const submit = h("button", { type: "submit" }, "Restore with this name");
  const form = h("form", { "aria-label": `New name for “${row.name}”`, novalidate: true },
    h("p", { role: "alert" }, `Another item is called “${row.name}” now. Choose a new name to restore it under.`),
    problemSlot(),
    field("New name", "name", { value: row.name, maxlength: 80, required: true }),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(submit, "Restoring…", async () => {
      clearErrors(form);
      try {
        await restore(form.elements.namedItem("name").value);
      } catch (error) {
        if (!(error instanceof api.SessionEnded)) showError(form, error);
      }
    });
  });
  return form;
}
