// Small pieces several views share.

import * as api from "../api.js";
import { h } from "../dom.js";

// Each event type in words, for the history and the webhook forms: the API's types are a
// stable vocabulary (docs/api.md), and tests/unit/test_events.py checks this list against them.
export const EVENT_NAMES = {
  "store.updated": "Store renamed",
  "item.created": "Item created",
  "item.updated": "Item changed",
  "item.deleted": "Item deleted",
  "item.restored": "Item restored",
  "item.image.updated": "Photo set",
  "item.image.deleted": "Photo removed",
  "item.tagged": "Tag added to item",
  "item.untagged": "Tag removed from item",
  "tag.created": "Tag created",
  "tag.deleted": "Tag deleted",
  "member.added": "Member added",
  "member.updated": "Member's role changed",
  "member.removed": "Member removed",
  "import.finished": "Import applied",
  "webhook.created": "Webhook added",
  "webhook.updated": "Webhook changed",
  "webhook.deleted": "Webhook deleted",
};

/**
 * What the caller may do in a store, from the server's own table (GET /store/{id}/permission):
 * `role` ("owner", "manager", "staff" or null; "admin" for an admin without one) and the
 * controls to offer. The server still checks every request; this only hides what would fail.
 */
export async function accessTo(store) {
  if (!api.me()) return { role: null, may: permissions([]) };
  const { data } = await api.request("GET", `/store/${store.id}/permission`);
  return { role: data.role || (data.is_admin ? "admin" : null), may: permissions(data.actions) };
}

/** The controls a set of actions (docs/api.md, "Who may do what") allows. */
export function permissions(actions) {
  const can = new Set(actions);
  return {
    writeItems: can.has("item.write"),
    deleteItems: can.has("item.delete"),
    readTrash: can.has("trash.read"),
    restoreItems: can.has("item.restore"),
    importItems: can.has("item.import"),
    manageTags: can.has("tag.create"),
    rename: can.has("store.rename"),
    seeHistory: can.has("store.history"),
    seeWebhooks: can.has("webhook.read"),
    manageWebhooks: can.has("webhook.manage"),
    deleteStore: can.has("store.delete"),
    seeTeam: can.has("member.list"),
    addStaff: can.has("member.add_staff"),
    removeStaff: can.has("member.remove_staff"),
    addManagers: can.has("member.add_manager"),
    removeManagers: can.has("member.remove_manager"),
    changeRoles: can.has("member.change_role"),
  };
}

/** A role as people read it. */
export function roleText(role) {
  return { admin: "Admin", owner: "Owner", manager: "Manager", staff: "Staff" }[role] || "None";
}

/** Who owns a store, as the reader knows them. */
export function ownerText(ownerId) {
  const user = api.me();
  if (user && user.id === ownerId) return "You";
  return ownerId === null ? "Nobody" : `User #${ownerId}`;
}

/** A calendar date of an RFC 3339 timestamp. */
export function day(timestamp) {
  return new Date(timestamp).toLocaleDateString("en-GB", { year: "numeric", month: "short", day: "numeric" });
}

/** A table inside a labelled region that scrolls sideways on narrow screens, by keyboard too. */
export function scrollTable(label, table) {
  return h("div", { class: "table-wrap", role: "region", "aria-label": label, tabindex: "0" }, table);
}

/** The stores the signed-in user may put items in: theirs (owned or on the team), or all for an admin. */
export async function writableStores() {
  const user = api.me();
  if (!user) return [];
  return api.all(user.is_admin ? "/store?limit=200&sort=name" : "/store?member=me&limit=200&sort=name");
}
