// The signed-in user's account: who they are, signing out, and deleting the account.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import { busyButton, isBusy, confirmDialog, describe } from "../ui.js";
import { day } from "./common.js";

export async function accountView(ctx) {
  if (!api.me()) {
    ctx.setReturnTo("/console/account");
    return {
      title: "Account",
      content: [
        h("h1", {}, "Account"),
        h("p", {}, h("a", { href: "/console/signin" }, "Sign in"), " to see your account."),
      ],
    };
  }
  const user = await api.loadMe();
  const slot = h("div");
  const button = h("button", { type: "button", class: "danger" }, "Delete account");
  button.addEventListener("click", async () => {
    if (isBusy(button)) return;
    fill(slot);
    const yes = await confirmDialog({
      title: "Delete your account?",
      message: "Your account is deleted for good and you are signed out. Only an account that owns no store can be deleted.",
      confirm: "Delete account",
    });
    if (yes) await busyButton(button, "Deleting…", remove);
  });

  async function remove() {
    try {
      await api.request("DELETE", `/user/${user.id}`, { etag: api.meEtag() });
      await api.forget();
      ctx.go("/console/", { message: `The account ${user.username} is deleted.` });
    } catch (error) {
      if (error instanceof api.SessionEnded) return;
      const text = error instanceof api.ApiError && error.status === 409
        ? [`Not deleted: ${error.message} Nothing was changed. `, h("a", { href: "/console/" }, "Your stores"), "."]
        : [describe(error)];
      fill(slot, h("p", { class: "problem", role: "alert" }, text));
    }
  }
  return {
    title: "Account",
    content: [
      h("h1", {}, "Account"),
      h("dl", { class: "facts" },
        h("dt", {}, "Username"), h("dd", {}, user.username),
        h("dt", {}, "Email"), h("dd", {}, user.email || "None given"),
        h("dt", {}, "Role"), h("dd", {}, user.is_admin ? "Admin: may change every store" : "Member"),
        h("dt", {}, "Member since"), h("dd", {}, day(user.created_at))),
      h("h2", {}, "Delete the account"),
      h("p", {}, "Delete your stores first: an account that still owns stores cannot be deleted."),
      slot,
      h("div", { class: "actions" }, button),
    ],
  };
}
