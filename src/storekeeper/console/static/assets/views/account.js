// The signed-in user's account: who they are, their email address and password, and deleting
// the account.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import {
  busyButton, clearErrors, confirmDialog, describe, field, isBusy, onLimitedSubmit, passwordField, problemSlot,
  showError, showPasswords,
} from "../ui.js";
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
        h("dt", {}, "Email"), h("dd", {}, emailText(user)),
        h("dt", {}, "Role"), h("dd", {}, user.is_admin ? "Admin: may change every store" : "Member"),
        h("dt", {}, "Member since"), h("dd", {}, day(user.created_at))),
      h("h2", {}, "Email address"),
      user.email && !user.email_verified ? unverifiedNotice(user) : null,
      emailForm(ctx, user),
      h("h2", {}, "Password"),
      passwordForm(),
      h("h2", {}, "Delete the account"),
      h("p", {}, "Delete your stores first: an account that still owns stores cannot be deleted."),
      slot,
      h("div", { class: "actions" }, button),
    ],
  };
}

function emailText(user) {
  if (!user.email) return "None given";
  return user.email_verified ? `${user.email} (verified)` : `${user.email} (not verified yet)`;
}

/** An address not verified yet: where its link went, and a way to send another. */
function unverifiedNotice(user) {
  const said = h("p", { role: "status" });
  const slot = h("div", { class: "problem", role: "alert" });
  const button = h("button", { type: "button", class: "secondary" }, "Send the link again");
  button.addEventListener("click", () => busyButton(button, "Sending…", async () => {
    fill(said);
    fill(slot);
    try {
      // The current, unverified address sent again: the API sends a new link to it.
      await api.request("PATCH", "/user/me", { body: api.jsonBody({ email: user.email }), etag: api.meEtag() });
      await api.loadMe();
      fill(said, `A new link is on its way to ${user.email}.`);
    } catch (error) {
      if (!(error instanceof api.SessionEnded)) fill(slot, h("p", {}, describe(error)));
    }
  }));
  return h("div", { class: "notice" },
    h("p", {}, `Your address ${user.email} is not verified yet: check your inbox for the email with the link that verifies it (it works for 48 hours).`),
    h("div", { class: "actions" }, button),
    said,
    slot);
}

function emailForm(ctx, user) {
  const button = h("button", { type: "submit" }, "Change email");
  const form = h("form", { "aria-label": "Change email" },
    problemSlot(),
    field(user.email ? "New email address" : "Email address", "email", {
      type: "email", autocomplete: "email", autocapitalize: "none", spellcheck: "false",
      hint: "A link to verify it is emailed to the new address, and a notice to the old one.",
    }),
    h("div", { class: "actions" }, button));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(button, "Saving…", async () => {
      clearErrors(form);
      try {
        const body = api.jsonBody({ email: form.elements.email.value.trim() });
        const { data } = await api.request("PATCH", "/user/me", { body, etag: api.meEtag() });
        ctx.go("/console/account", {
          replace: true,
          message: `Your email address is now ${data.email}. Open the link emailed to it to verify it.`,
        });
      } catch (error) {
        showError(form, error, { conflictField: "email" });
      }
    });
  });
  return form;
}

function passwordForm() {
  const button = h("button", { type: "submit" }, "Change password");
  const said = h("p", { role: "status" });
  const form = h("form", { "aria-label": "Change password" },
    problemSlot(),
    passwordField("Current password", "current_password", { autocomplete: "current-password" }),
    passwordField("New password", "new_password", { hint: "8 to 128 characters" }),
    showPasswords(),
    h("div", { class: "actions" }, button),
    said);
  onLimitedSubmit(form, button, {
    busy: "Changing…",
    limited: "Too many wrong passwords",
    send: async () => {
      fill(said);
      const els = form.elements;
      const body = api.jsonBody({ current_password: els.current_password.value, new_password: els.new_password.value });
      await api.request("PUT", "/user/me/password", { body });
    },
    done: () => {
      form.reset();
      for (const control of form.querySelectorAll("input[data-secret]")) control.type = "password";
      fill(said, "Your password is changed. Every other session of your account was signed out; this one goes on.");
    },
  });
  return form;
}
