// The 412 flow: what changed since the person opened it, and their two ways on.

import { h, uid } from "../dom.js";

/**
 * A panel saying the thing changed since it was opened, listing `differences`
 * ([label, theirs] pairs), with Reload (take theirs) and an overwrite (keep mine).
 */
export function conflictPanel({ differences, onReload, onOverwrite, overwriteLabel = "Overwrite" }) {
  const titleId = uid("conflict");
  const panel = h(
    "section",
    { class: "conflict", role: "alert", "aria-labelledby": titleId },
    h("h3", { id: titleId }, "Changed since you opened it"),
    h("p", {}, "Someone changed this after you opened it, so nothing was saved. Reload to see their version (your changes are dropped), or overwrite it with yours."),
    differences.length
      ? h("ul", {}, differences.map(([label, theirs]) => h("li", {}, `${label} is now ${theirs}`)))
      : null,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => settle(onReload) }, "Reload"),
      h("button", { type: "button", onclick: () => settle(onOverwrite) }, overwriteLabel),
    ),
  );
  async function settle(action) {
    for (const button of panel.querySelectorAll("button")) button.disabled = true;
    try {
      await action();
      panel.remove();
    } finally {
      for (const button of panel.querySelectorAll("button")) button.disabled = false;
    }
  }
  return panel;
}
