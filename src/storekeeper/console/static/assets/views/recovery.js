// The pages emailed links open, and the way to ask for one: a forgotten password, a reset
// link, an address's verification link.
//
// An emailed link carries its token in the fragment (/console/reset#token=...), which a
// browser never sends to a server: no access log or Referer holds it. The page takes it from
// there into this tab's sessionStorage (it must outlive signing in, for a verification link)
// and removes it from the address bar at once; it is dropped once used.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import {
  busyButton, clearErrors, field, flash, onLimitedSubmit, passwordField, problemSlot, showError, showPasswords,
} from "../ui.js";

const RESET_KEY = "storekeeper.reset-token";
const VERIFY_KEY = "storekeeper.verify-token";

/** The token of an emailed link: from the fragment (then out of the address bar), else kept. */
function linkToken(key) {
  const fromLink = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (fromLink) {
    sessionStorage.setItem(key, fromLink);
    window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(key);
}

function forget(key) {
  sessionStorage.removeItem(key);
}

/** Show another outcome on the page it happened on: its heading, its text, the focus there. */
function turn(heading, body, title, ...content) {
  heading.textContent = title;
  document.title = `${title} · Storekeeper console`;
  fill(body, ...content);
  heading.setAttribute("tabindex", "-1");
  heading.focus();
}

export async function forgotView() {
  const button = h("button", { type: "submit" }, "Send the link");
  const form = h("form", { "aria-label": "Password reset" },
    problemSlot(),
    field("Email", "email", { type: "email", autocomplete: "email", autocapitalize: "none", spellcheck: "false" }),
    h("div", { class: "actions" }, button));
  const said = h("div", { role: "status" });
  onLimitedSubmit(form, button, {
    busy: "Sending…",
    limited: "Too many reset requests for now",
    errors: { conflictField: "email" },
    send: async () => {
      fill(said);
      const body = api.jsonBody({ email: form.elements.email.value.trim() });
      await api.request("POST", "/password-reset", { body, auth: false });
    },
    // The same words whatever the address: nobody learns here which addresses have accounts.
    done: () => fill(said, h("p", { class: "note" },
      "If an account has this verified address, an email with a link to choose a new password is on its way. " +
      "The link works once, for 30 minutes.")),
  });
  return {
    title: "Forgot your password?",
    content: [
      h("h1", {}, "Forgot your password?"),
      h("p", {}, "Give the email address of your account. If the address is verified, we email it a link to choose a new password."),
      form,
      said,
      h("p", {}, "Remembered it? ", h("a", { href: "/console/signin" }, "Sign in"), "."),
    ],
  };
}

export async function resetView() {
  const heading = h("h1", {}, "Choose a new password");
  const token = linkToken(RESET_KEY);
  if (!token) {
    return {
      title: "Choose a new password",
      content: [
        heading,
        h("p", {}, "This page needs the link from a password reset email, and the address it was opened at has none."),
        h("p", {}, h("a", { href: "/console/forgot" }, "Ask for a reset link")),
      ],
    };
  }
  const button = h("button", { type: "submit" }, "Set the new password");
  const form = h("form", { "aria-label": "New password" },
    problemSlot(),
    passwordField("New password", "new_password", { hint: "8 to 128 characters" }),
    showPasswords(),
    h("div", { class: "actions" }, button));
  const body = h("div", {}, form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(button, "Saving…", async () => {
      clearErrors(form);
      try {
        const sent = api.jsonBody({ token, new_password: form.elements.new_password.value });
        await api.request("POST", "/password-reset/confirm", { body: sent, auth: false });
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 422 && error.fields.token) {
          forget(RESET_KEY);
          turn(heading, body, "This link does not work",
            h("p", { role: "alert" }, "This password reset link is invalid, used or expired: a link works once, for 30 minutes."),
            h("p", {}, h("a", { href: "/console/forgot" }, "Ask for a new link")));
        } else {
          showError(form, error);
        }
        return;
      }
      forget(RESET_KEY);
      flash("Your password is reset.");
      turn(heading, body, "Your password is reset",
        h("p", {}, "Every session of your account was signed out, everywhere. Sign in with the new password."),
        h("p", {}, h("a", { href: "/console/signin" }, "Sign in")));
    });
  });
  return {
    title: "Choose a new password",
    content: [heading, h("p", {}, "Choose the new password of your account."), body],
  };
}

export async function verifyView(ctx) {
  const title = "Verify your email address";
  const token = linkToken(VERIFY_KEY);
  if (!token) {
    return {
      title,
      content: [
        h("h1", {}, title),
        h("p", {}, "This page needs the link from a verification email, and the address it was opened at has none."),
        h("p", {}, "Your ", h("a", { href: "/console/account" }, "account"), " sends a new link."),
      ],
    };
  }
  if (!api.me()) {
    ctx.setReturnTo("/console/verify"); // the token waits in this tab, never in a URL
    return {
      title,
      content: [
        h("h1", {}, title),
        h("p", {}, "Sign in first, as the account the email was sent to: you come back here, and the address is verified."),
        h("p", {}, h("a", { href: "/console/signin" }, "Sign in to verify")),
      ],
    };
  }
  try {
    await api.request("POST", "/user/me/email/verify", { body: api.jsonBody({ token }) });
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 422) {
      forget(VERIFY_KEY);
      return {
        title: "This link does not work",
        content: [
          h("h1", {}, "This link does not work"),
          h("p", { role: "alert" },
            `This verification link is invalid, used or expired (a link works once, for 48 hours), or it was sent to another account than ${api.me().username}.`),
          h("p", {}, "Your ", h("a", { href: "/console/account" }, "account"), " sends a new link."),
        ],
      };
    }
    throw error;
  }
  forget(VERIFY_KEY);
  const user = await api.loadMe();
  return {
    title: "Email address verified",
    content: [
      h("h1", {}, "Email address verified"),
      h("p", {}, `Your address ${user.email} is verified.`),
      h("p", {}, h("a", { href: "/console/account" }, "Your account")),
    ],
  };
}
