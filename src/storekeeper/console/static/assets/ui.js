// Shared pieces of every view: labelled fields, the API's errors next to them, dialogs,
// busy buttons and messages.

import { ApiError, NetworkError, SessionEnded, newKey } from "./api.js";
import { fill, h, uid } from "./dom.js";

/** A labelled input with its hint and an error slot the API's messages go into. */
export function field(label, name, { type = "text", value = "", hint, multiline = false, ...attrs } = {}) {
  const id = uid(name);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const control = multiline
    ? h("textarea", { id, name, "aria-describedby": [hintId, errorId].filter(Boolean).join(" "), ...attrs })
    : h("input", { id, name, type, "aria-describedby": [hintId, errorId].filter(Boolean).join(" "), ...attrs });
  control.value = value;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    hint ? h("span", { class: "hint", id: hintId }, hint) : null,
    control,
    h("p", { class: "error", id: errorId }),
  );
}

/** A labelled select of [value, text] options. */
export function select(label, name, options, selected = "") {
  const id = uid(name);
  const control = h(
    "select",
    { id, name, "aria-describedby": `${id}-error` },
    options.map(([value, text]) => h("option", { value }, text)),
  );
  if (options.some(([value]) => String(value) === String(selected))) control.value = String(selected);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    h("p", { class: "error", id: `${id}-error` }),
  );
}

/** A labelled checkbox. */
export function checkbox(label, name, checked = false) {
  const id = uid(name);
  return h(
    "div",
    { class: "check" },
    h("input", { id, name, type: "checkbox", checked }),
    h("label", { for: id }, label),
  );
}

/**
 * A "Show passwords" checkbox: it turns every password field of its form into plain text and
 * back, so a new password can be checked by eye instead of typed twice.
 */
export function showPasswords() {
  const box = checkbox("Show passwords", "show_passwords");
  box.querySelector("input").addEventListener("change", (event) => {
    const form = event.currentTarget.form;
    for (const control of form.querySelectorAll("input[data-secret]")) {
      control.type = event.currentTarget.checked ? "text" : "password";
    }
  });
  return box;
}

/** A password input that `showPasswords` can reveal. */
export function passwordField(label, name, { autocomplete = "new-password", hint } = {}) {
  return field(label, name, { type: "password", autocomplete, hint, "data-secret": true });
}

/**
 * A 429: say in the form's problem slot when to try again (`what` is the sentence's start, as
 * "Too many sign-in attempts"), counting down, with the button refused until then.
 */
export function waitOut(form, button, wait, what, over = () => {}) {
  const slot = form.querySelector(".problem");
  button.setAttribute("aria-disabled", "true");
  const until = Date.now() + wait * 1000;
  const say = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    if (left === 0) {
      fill(slot, h("p", {}, "You can try again now."));
      button.removeAttribute("aria-disabled");
      over();
      return;
    }
    fill(slot, h("p", {}, `${what}. Try again in ${seconds(left)}.`));
    setTimeout(say, 1000);
  };
  say();
}

/**
 * Submissions a server may limit (sign-in, a reset request, a password change): `send` runs
 * while the button says `busy`; a 429 holds the form for its Retry-After with `limited` as
 * the reason, another refusal is shown on the form (`errors`: showError's options), and
 * success calls `done`.
 */
export function onLimitedSubmit(form, button, { busy, limited, send, done = () => {}, errors }) {
  let waiting = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (waiting) return;
    const error = await busyButton(button, busy, async () => {
      clearErrors(form);
      try {
        await send();
        return null;
      } catch (failure) {
        return failure;
      }
    });
    if (error instanceof ApiError && error.status === 429) {
      waiting = true;
      waitOut(form, button, error.retryAfter ?? 60, error.budgetSpent ? "Too many requests" : limited, () => {
        waiting = false;
      });
    } else if (error) {
      showError(form, error, errors);
    } else {
      done();
    }
  });
}

/** The slot at the top of a form where a refusal that names no field of it is shown. */
export function problemSlot() {
  return h("div", { class: "problem", role: "alert" });
}

const FIELD_NAMES = {
  name: "Name",
  price: "Price",
  quantity: "Quantity",
  description: "Description",
  store_id: "Store",
  username: "Username",
  password: "Password",
  email: "Email",
  token: "Link",
  current_password: "Current password",
  new_password: "New password",
  q: "Search",
  min_price: "Minimum price",
  max_price: "Maximum price",
  tag: "Tag",
  sort: "Sort",
  url: "URL",
  events: "Events",
};

/** Clear the messages a form shows. */
export function clearErrors(form) {
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  for (const slot of form.querySelectorAll(".error")) slot.replaceChildren();
  const slot = form.querySelector(".problem");
  if (slot) slot.replaceChildren();
}

/**
 * Show an error on a form: a 422's messages next to the fields it names, a 409 next to
 * `conflictField`, anything else (and messages for fields the form lacks) at its top.
 */
export function showError(form, error, { conflictField = "name" } = {}) {
  clearErrors(form);
  if (error instanceof SessionEnded) return;
  const slot = form.querySelector(".problem");
  const loose = [];
  let first = null;
  const place = (name, messages) => {
    const control = form.elements.namedItem(name);
    if (!control || !control.id) {
      loose.push(`${FIELD_NAMES[name] || name}: ${messages.join("; ")}`);
      return;
    }
    control.setAttribute("aria-invalid", "true");
    const label = FIELD_NAMES[name] || name;
    fill(document.getElementById(`${control.id}-error`), `${label}: ${messages.join("; ")}`);
    first = first || control;
  };
  if (error instanceof ApiError && error.status === 422) {
    for (const [name, messages] of Object.entries(error.fields)) place(name, messages);
    if (!Object.keys(error.fields).length) loose.push(error.message);
  } else if (error instanceof ApiError && error.status === 409 && !/in flight/i.test(error.message)) {
    place(conflictField, [error.message]);
  } else {
    loose.push(describe(error));
  }
  if (loose.length && slot) {
    fill(slot, loose.length === 1 ? h("p", {}, loose[0]) : h("ul", {}, loose.map((m) => h("li", {}, m))));
  }
  if (first) first.focus();
}

/** A sentence for an error that is not about one field. */
export function describe(error) {
  if (error instanceof NetworkError) {
    return "The connection dropped before the server answered. Check your connection and try again: a retry will not do the work twice.";
  }
  if (error instanceof ApiError) {
    if (error.status === 429) {
      // The budget's refusal, or a limit's own reason ("Too many login attempts; ...").
      const reason = error.budgetSpent ? "Too many requests" : error.message.split(";")[0] || "Too many attempts";
      return `${reason}. Try again in ${seconds(error.retryAfter ?? 60)}.`;
    }
    if (error.status === 503) return "The service is unavailable right now. Try again in a moment.";
    if (error.status === 403) return `Not allowed: ${error.message}`;
    if (error.status === 404) return "This no longer exists: it may have been deleted.";
    return error.message;
  }
  return error && error.message ? error.message : "Something went wrong.";
}

export function seconds(count) {
  return count === 1 ? "1 second" : `${count} seconds`;
}

/** Whether a button's work is under way. */
export function isBusy(button) {
  return button.dataset.busy === "true";
}

/**
 * Run `work` with a button marked busy (and saying so after 200 ms); a second click or submit
 * meanwhile does nothing. aria-disabled rather than disabled: the button keeps the focus.
 */
export async function busyButton(button, busyText, work) {
  if (isBusy(button)) return undefined;
  const text = button.textContent;
  button.dataset.busy = "true";
  button.setAttribute("aria-disabled", "true");
  const timer = setTimeout(() => {
    button.textContent = busyText;
  }, 200);
  try {
    return await work();
  } finally {
    clearTimeout(timer);
    button.textContent = text;
    button.removeAttribute("aria-disabled");
    delete button.dataset.busy;
  }
}

/**
 * Make `form` an idempotent create. On submit, with `button` busy, `send(key)` makes the POST;
 * then `created(answer)` runs. Any error of either goes to `failed` (by default shown on the
 * form, as `showError` does).
 */
export function createOnSubmit(form, button, busyText, { send, created, failed = (error) => showError(form, error) }) {
  // A new body is a new request; the same body sent again (a double submit, a retry after a
  // dropped connection) is a retry of the same one, so it keeps its Idempotency-Key and the
  // API replays the first answer instead of creating twice.
  let key = null;
  form.addEventListener("input", () => {
    key = null;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(button, busyText, async () => {
      clearErrors(form);
      key = key || newKey();
      try {
        const answer = await send(key);
        // Created: the next submission is another create, even with the same text.
        key = null;
        await created(answer);
      } catch (error) {
        failed(error);
      }
    });
  });
}

/** A modal confirmation; resolves true when confirmed. Cancel has the focus first. */
export function confirmDialog({ title, message, confirm, danger = true }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const textId = uid("dialog-text");
    const dialog = h(
      "dialog",
      { "aria-labelledby": titleId, "aria-describedby": textId },
      h("h2", { id: titleId }, title),
      h("p", { id: textId }, message),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: danger ? "danger" : "", onclick: () => close(true) }, confirm),
        h("button", { type: "button", class: "secondary", autofocus: true, onclick: () => close(false) }, "Cancel"),
      ),
    );
    const opener = document.activeElement;
    let answered = false;
    function close(value) {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(value);
    }
    dialog.addEventListener("cancel", () => close(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Say something that happened in the flash area (read out by screen readers). */
export function flash(text) {
  fill(document.getElementById("flash"), text ? h("p", {}, text) : null);
}

/** A price as the API holds it, with its two decimals. */
export function money(price) {
  return Number(price).toFixed(2);
}
