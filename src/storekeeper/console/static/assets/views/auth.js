// Signing in and creating an account.

import * as api from "../api.js";
import { h } from "../dom.js";
import { createOnSubmit, field, onLimitedSubmit, problemSlot, showError } from "../ui.js";

export async function signInView(ctx) {
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { "aria-label": "Sign in" },
    problemSlot(),
    field("Username", "username", { autocomplete: "username", autocapitalize: "none", spellcheck: "false" }),
    field("Password", "password", { type: "password", autocomplete: "current-password" }),
    h("div", { class: "actions" }, button));
  onLimitedSubmit(form, button, {
    busy: "Signing in…",
    limited: "Too many sign-in attempts",
    errors: { conflictField: "username" },
    send: async () => {
      const user = await api.signIn(form.elements.username.value, form.elements.password.value);
      const back = ctx.returnTo();
      ctx.setReturnTo(null);
      ctx.go(back || "/console/", { message: `Signed in as ${user.username}.` });
    },
  });
  const user = api.me();
  return {
    title: "Sign in",
    content: [
      h("h1", {}, "Sign in"),
      user ? h("p", {}, `You are signed in as ${user.username}. Signing in again starts a new session.`) : null,
      form,
      h("p", {}, h("a", { href: "/console/forgot" }, "Forgot your password?")),
      h("p", {}, "No account yet? ", h("a", { href: "/console/register" }, "Create an account"), "."),
    ],
  };
}

export async function registerView(ctx) {
  const button = h("button", { type: "submit" }, "Create account");
  const form = h("form", { "aria-label": "New account" },
    problemSlot(),
    field("Username", "username", {
      autocomplete: "username", autocapitalize: "none", spellcheck: "false",
      hint: "3 to 40 letters, digits, and _ . -",
    }),
    field("Password", "password", { type: "password", autocomplete: "new-password", hint: "8 to 128 characters" }),
    field("Email (optional)", "email", { type: "email", autocomplete: "email", hint: "Only you and admins see it" }),
    h("div", { class: "actions" }, button));
  createOnSubmit(form, button, "Creating…", {
    send: (key) => {
      const els = form.elements;
      const email = els.email.value.trim();
      return api.request("POST", "/register", {
        body: api.jsonBody({ username: els.username.value, password: els.password.value, email: email || undefined }),
        key,
        auth: false,
      });
    },
    created: async () => {
      const user = await api.signIn(form.elements.username.value, form.elements.password.value);
      ctx.go("/console/", { message: `Welcome, ${user.username}: your account is ready. Create your first store below.` });
    },
    failed: (error) => showError(form, error, { conflictField: /email/i.test(error.message) ? "email" : "username" }),
  });
  return {
    title: "Create an account",
    content: [
      h("h1", {}, "Create an account"),
      h("p", {}, "With an account you keep stores of your own, with their items and tags."),
      form,
      h("p", {}, "Have an account? ", h("a", { href: "/console/signin" }, "Sign in"), "."),
    ],
  };
}
