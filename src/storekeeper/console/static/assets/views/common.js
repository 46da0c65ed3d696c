// Small pieces several views share.

import * as api from "../api.js";
import { h } from "../dom.js";

/** Whether the signed-in user may change a store with this owner (its owner or an admin). */
export function mayChange(ownerId) {
  const user = api.me();
  return Boolean(user && (user.is_admin || user.id === ownerId));
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

/** The stores the signed-in user may put items in: their own, or every store for an admin. */
export async function writableStores() {
  const user = api.me();
  if (!user) return [];
  const rows = await api.all("/store?limit=200&sort=name");
  return user.is_admin ? rows : rows.filter((store) => store.owner_id === user.id);
}
