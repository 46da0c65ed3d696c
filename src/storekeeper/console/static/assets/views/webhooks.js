// A store's webhooks, for those who may manage them (the store's owner, managers, admins: the
// policy's store.webhooks): add one and copy its secret (shown once), ping it, rotate its
// secret, turn it off and on, delete it, and read its delivery log, one row per attempt, with
// Redeliver on each. A log with an attempt still pending reloads itself until none is.

import * as api from "../api.js";
import { fill, h, uid } from "../dom.js";
import { busyButton, clearErrors, confirmDialog, createOnSubmit, describe, field, problemSlot, showError } from "../ui.js";
import { accessTo, EVENT_NAMES, scrollTable } from "./common.js";

const LOG_PAGE = 20;
// How often a log with a pending attempt is read again; a retry waits at least 5 s.
const POLL_MS = 2000;
const REASONS = {
  gone: "off: the receiver answered 410 Gone",
  failing: "off: every delivery failed for 3 days",
};

export async function webhooksView(ctx) {
  const id = Number(ctx.params[0]);
  const { data: store } = await api.request("GET", `/store/${id}`);
  const title = `Webhooks of ${store.name}`;
  const crumbs = h("p", { class: "crumbs" },
    h("a", { href: "/console/" }, "Stores"), " › ", h("a", { href: `/console/store/${id}` }, store.name), " › webhooks");
  const { may } = await accessTo(store);
  if (!may.seeWebhooks) {
    return {
      title,
      content: [crumbs, h("h1", {}, title),
        h("p", {}, api.me() ? "Only the store's owner, its managers or an admin can manage its webhooks."
          : "Sign in as the store's owner or one of its managers to manage its webhooks.")],
    };
  }
  const hooks = await api.all(`/store/${id}/webhook?limit=100`);
  const status = h("p", { role: "status" });
  const list = h("div");
  const secret = secretPanel();
  const none = h("p", {}, "This store has no webhook yet.");

  function render() {
    fill(list, hooks.map((hook) => webhookSection(hook, {
      manage: may.manageWebhooks,
      say: (text) => fill(status, text),
      changed: (text) => {
        render();
        fill(status, text);
        const heading = document.getElementById(`webhook-${hook.id}`);
        if (heading) heading.focus();
      },
      showSecret: secret.show,
      removed: () => {
        hooks.splice(hooks.indexOf(hook), 1);
        render();
      },
    })));
    none.hidden = hooks.length > 0;
  }
  render();

  return {
    title,
    content: [
      crumbs,
      h("h1", {}, title),
      h("p", {}, "A webhook sends each change of this store to an address of yours as it happens: an HTTP POST "
        + "of the change as JSON, signed with the webhook's secret (Standard Webhooks), retried for a day "
        + "until your receiver answers 2xx. Your receiver checks each one with the secret, shown once when the "
        + "webhook is made."),
      secret.element,
      status,
      none,
      list,
      may.manageWebhooks ? addForm(id, (hook) => {
        hooks.push(hook);
        render();
        fill(status, `Webhook to ${hook.url} added.`);
        secret.show(hook, "New webhook");
        delete hook.secret; // the panel has it; nothing else keeps it
      }) : null,
    ],
  };
}

/** Where a secret is shown, once: after a webhook is added or its secret rotated. */
function secretPanel() {
  const headingId = uid("secret-heading");
  const heading = h("h2", { id: headingId, tabindex: "-1" });
  const value = h("input", { type: "text", readonly: true, id: uid("secret"), class: "secret", spellcheck: "false" });
  const copied = h("p", { role: "status" });
  const copy = h("button", { type: "button" }, "Copy the secret");
  const done = h("button", { type: "button", class: "secondary" }, "I have saved it");
  const element = h("section", { class: "secret-panel", "aria-labelledby": headingId, hidden: true },
    heading,
    h("p", { class: "strong" }, "Copy it now: it will not be shown again. Your receiver needs it to check that "
      + "each delivery comes from this store."),
    h("div", { class: "field" }, h("label", { for: value.id }, "Secret"), value),
    h("div", { class: "actions" }, copy, done),
    copied);
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value.value);
      fill(copied, "Copied to the clipboard.");
    } catch {
      // No clipboard here (a page not served over https, a refused permission): selected, the
      // secret is one keystroke away.
      value.focus();
      value.select();
      fill(copied, "The browser would not copy it: it is selected, press Ctrl+C (⌘C on a Mac).");
    }
  });
  done.addEventListener("click", () => {
    value.value = "";
    element.hidden = true;
    // The focus was in the panel: back to the top of the page rather than lost.
    const top = document.querySelector("main h1");
    top.setAttribute("tabindex", "-1");
    top.focus();
  });
  return {
    element,
    show(hook, what) {
      fill(heading, `${what}: the secret of ${hook.url}`);
      value.value = hook.secret;
      fill(copied);
      element.hidden = false;
      heading.focus();
    },
  };
}

function webhookSection(hook, { manage, say, changed, showSecret, removed }) {
  const headingId = `webhook-${hook.id}`;
  const problem = h("div", { class: "problem", role: "alert" });
  const state = h("dd");
  const toggle = h("button", { type: "button", class: "secondary" });
  const log = deliveryLog(hook, problem, manage);

  function showState() {
    fill(state, hook.enabled ? "on" : (REASONS[hook.disabled_reason] || "off: turned off by hand"));
    fill(toggle, hook.enabled ? "Turn off" : "Turn on");
    toggle.setAttribute("aria-label", `${hook.enabled ? "Turn off" : "Turn on"} the webhook to ${hook.url}`);
  }
  showState();

  async function act(button, busy, work) {
    await busyButton(button, busy, async () => {
      fill(problem);
      try {
        await work();
      } catch (error) {
        if (!(error instanceof api.SessionEnded)) fill(problem, h("p", {}, describe(error)));
      }
    });
  }

  toggle.addEventListener("click", () => act(toggle, "Saving…", async () => {
    const { data } = await api.request("PATCH", `/webhook/${hook.id}`, { body: api.jsonBody({ enabled: !hook.enabled }) });
    Object.assign(hook, data);
    showState();
    say(`The webhook to ${hook.url} is ${hook.enabled ? "on" : "off"}.`);
  }));

  const ping = labelled("Send a ping", `Send a ping to ${hook.url}`, "secondary");
  ping.addEventListener("click", () => act(ping, "Sending…", async () => {
    const { data } = await api.request("POST", `/webhook/${hook.id}/ping`, { key: api.newKey() });
    say(`Ping queued (delivery ${data.id}): its result shows in the delivery log.`);
    await log.open();
  }));

  const rotate = labelled("Rotate the secret", `Rotate the secret of the webhook to ${hook.url}`, "secondary");
  rotate.addEventListener("click", async () => {
    const yes = await confirmDialog({
      title: "Rotate the secret?",
      message: "A new secret signs every delivery from now on. The old one also signs them for 24 hours, "
        + "time to give the new one to your receiver.",
      confirm: "Rotate",
      danger: false,
    });
    if (!yes) return;
    await act(rotate, "Rotating…", async () => {
      const { data } = await api.request("PATCH", `/webhook/${hook.id}`, { body: api.jsonBody({ rotate_secret: true }) });
      Object.assign(hook, data);
      showSecret(data, "New secret");
      delete hook.secret;
    });
  });

  const editing = h("div");
  const edit = labelled("Edit", `Edit the webhook to ${hook.url}`, "secondary");
  edit.setAttribute("aria-expanded", "false");
  function closeEditor() {
    fill(editing);
    edit.setAttribute("aria-expanded", "false");
  }
  edit.addEventListener("click", () => {
    if (editing.firstChild) {
      closeEditor();
      return;
    }
    const form = editForm(hook, (data) => {
      Object.assign(hook, data);
      changed(`The webhook to ${hook.url} is saved.`);
    }, () => {
      closeEditor();
      edit.focus();
    });
    fill(editing, form);
    edit.setAttribute("aria-expanded", "true");
    form.querySelector("input").focus();
  });

  const remove = labelled("Delete", `Delete the webhook to ${hook.url}`, "danger");
  remove.addEventListener("click", async () => {
    const yes = await confirmDialog({
      title: "Delete this webhook?",
      message: `Nothing more will be sent to ${hook.url}, and its delivery log goes with it.`,
      confirm: "Delete",
    });
    if (!yes) return;
    await act(remove, "Deleting…", async () => {
      await api.request("DELETE", `/webhook/${hook.id}`);
      log.stop();
      say(`The webhook to ${hook.url} is deleted.`);
      removed();
    });
  });

  const events = hook.events.includes("*") ? "every event" : hook.events.join(", ");
  return h("section", { class: "webhook", "aria-labelledby": headingId },
    h("h2", { id: headingId, tabindex: "-1" }, hook.description || hook.url),
    h("dl", { class: "facts" },
      h("dt", {}, "Sends to"), h("dd", {}, hook.url),
      h("dt", {}, "Events"), h("dd", {}, events),
      h("dt", {}, "State"), state),
    manage ? h("div", { class: "actions" }, ping, toggle, edit, rotate, remove) : null,
    problem,
    editing,
    log.element);
}

function labelled(text, label, kind) {
  return h("button", { type: "button", class: kind, "aria-label": label }, text);
}

/** A webhook's attempts, newest first, behind a button that shows and hides them. */
function deliveryLog(hook, problem, manage) {
  const regionId = uid("log");
  const show = h("button", { type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": regionId },
    "Show the delivery log");
  const body = h("tbody");
  const count = h("p", { role: "status" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Older attempts");
  const reload = h("button", { type: "button", class: "secondary" }, "Reload the log");
  const table = h("table", { class: "log" },
    h("caption", {}, `Delivery attempts to ${hook.url}, newest first`),
    h("thead", {}, h("tr", {},
      ["When", "Type", "Event", "Attempt", "Result", "Response", "Duration", "Next attempt", "Error"]
        .map((name) => h("th", { scope: "col" }, name)),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    body);
  const region = h("div", { id: regionId, hidden: true },
    scrollTable(`Delivery log of ${hook.url}`, table), count, h("div", { class: "pager" }, reload, more));
  let next = null;
  let rows = [];
  let timer = null;
  let shown = false;

  function stop() {
    clearTimeout(timer);
    timer = null;
  }

  // The first page again (newer attempts come first), then as many older ones as were shown.
  async function load({ older = false } = {}) {
    stop();
    if (older) {
      const page = await api.request("GET", next);
      rows = rows.concat(page.data);
      next = page.next;
    } else {
      const page = await api.request("GET", `/webhook/${hook.id}/delivery?limit=${Math.max(LOG_PAGE, rows.length)}`);
      rows = page.data;
      next = page.next;
    }
    fill(body, rows.map((row) => deliveryRow(hook, row, problem, manage, () => load())));
    more.hidden = !next;
    const text = rows.length
      ? `${rows.length} ${rows.length === 1 ? "attempt" : "attempts"} shown${next ? "; older ones with “Older attempts”" : ""}.`
      : "Nothing has been sent to this webhook yet.";
    if (count.textContent !== text) fill(count, text);
    if (rows.some((row) => row.status === "pending")) {
      timer = setTimeout(() => {
        if (shown && region.isConnected) load().catch(() => {});
      }, POLL_MS);
    }
  }

  async function guarded(button, busy, work) {
    await busyButton(button, busy, async () => {
      fill(problem);
      try {
        await work();
      } catch (error) {
        if (!(error instanceof api.SessionEnded)) fill(problem, h("p", {}, describe(error)));
      }
    });
  }

  async function open() {
    shown = true;
    region.hidden = false;
    show.setAttribute("aria-expanded", "true");
    fill(show, "Hide the delivery log");
    await load();
  }

  show.addEventListener("click", () => {
    if (shown) {
      shown = false;
      stop();
      region.hidden = true;
      show.setAttribute("aria-expanded", "false");
      fill(show, "Show the delivery log");
      return;
    }
    guarded(show, "Loading…", open);
  });
  reload.addEventListener("click", () => guarded(reload, "Loading…", () => load()));
  more.addEventListener("click", () => guarded(more, "Loading…", () => load({ older: true })));
  return { element: h("div", {}, h("div", { class: "actions" }, show), region), open, stop };
}

function deliveryRow(hook, row, problem, manage, reload) {
  const redeliver = h("button", { type: "button", class: "secondary",
    "aria-label": `Redeliver ${row.type} (attempt ${row.attempt} at ${when(row.created_at)})` }, "Redeliver");
  redeliver.addEventListener("click", () => busyButton(redeliver, "Sending…", async () => {
    fill(problem);
    try {
      await api.request("POST", `/webhook/${hook.id}/delivery/${row.id}/redeliver`, { key: api.newKey() });
      await reload();
    } catch (error) {
      if (!(error instanceof api.SessionEnded)) fill(problem, h("p", {}, describe(error)));
    }
  }));
  const at = row.attempted_at || row.created_at;
  return h("tr", {},
    h("td", {}, stamp(at)),
    h("td", { class: "nowrap" }, row.type),
    h("td", {}, row.event_id === null ? "ping" : String(row.event_id)),
    h("td", { class: "num" }, String(row.attempt)),
    h("td", { class: "nowrap" }, { pending: "Pending", succeeded: "Succeeded", failed: "Failed" }[row.status] || row.status),
    h("td", { class: "num" }, row.response_status === null ? "—" : String(row.response_status)),
    h("td", { class: "num" }, row.duration_ms === null ? "—" : `${row.duration_ms} ms`),
    h("td", {}, row.next_attempt_at ? stamp(row.next_attempt_at) : "—"),
    h("td", {}, row.error || "—"),
    h("td", { class: "nowrap" }, manage ? redeliver : "—"));
}

function when(timestamp) {
  return new Date(timestamp).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium" });
}

/** A time in a table cell: the date and the time of day each kept on one line. */
function stamp(timestamp) {
  const moment = new Date(timestamp);
  return h("time", { datetime: timestamp },
    h("span", { class: "nowrap" }, moment.toLocaleDateString("en-GB", { dateStyle: "medium" })), " ",
    h("span", { class: "nowrap" }, moment.toLocaleTimeString("en-GB", { timeStyle: "medium" })));
}

/**
 * The fields of a webhook, for the add and edit forms: URL, events (every one, or a checkbox
 * per type) and description, filled from `hook` when given. `values()` is the body to send.
 */
function webhookFields(hook) {
  const every = !hook || hook.events.includes("*");
  const all = h("input", { type: "checkbox", id: uid("all-events"), name: "all_events", checked: every });
  all.defaultChecked = every; // what form.reset() goes back to
  const boxes = Object.entries(EVENT_NAMES).map(([type, text]) => {
    const on = Boolean(hook) && hook.events.includes(type);
    const box = h("input", { type: "checkbox", id: uid("event"), name: "events", value: type, checked: on });
    box.defaultChecked = on;
    return [box, h("div", { class: "check" }, box, h("label", { for: box.id }, `${text} (${type})`))];
  });
  const chosen = h("div", { class: "event-choices" }, boxes.map(([, row]) => row));
  const hintId = uid("events-hint");
  const errorId = uid("events-error");
  function showChoices() {
    // With "every event" on, the types are moot: hidden, and out of the tab order with them.
    chosen.hidden = all.checked;
  }
  all.addEventListener("change", showChoices);
  showChoices();
  const url = field("URL", "url", {
    type: "url", autocomplete: "off", maxlength: 2048, required: true, spellcheck: "false", value: hook ? hook.url : "",
    hint: "Where to POST each change: an https address of a server that can be reached from the internet.",
  });
  const description = field("Description", "description", {
    maxlength: 200, autocomplete: "off", hint: "Optional: what it is for.", value: hook ? hook.description : "",
  });
  const events = h("fieldset", { "aria-describedby": `${hintId} ${errorId}` },
    h("legend", {}, "Events"),
    h("p", { class: "hint", id: hintId }, "Which changes to send."),
    h("div", { class: "check" }, all, h("label", { for: all.id }, "Every event, those added later too")),
    chosen,
    h("p", { class: "error", id: errorId }));
  return {
    elements: [url, events, description],
    errorId,
    reset: showChoices,
    values: () => ({
      url: url.querySelector("input").value.trim(),
      events: all.checked ? ["*"] : boxes.filter(([box]) => box.checked).map(([box]) => box.value),
      description: description.querySelector("input").value.trim(),
    }),
  };
}

function addForm(storeId, added) {
  const button = h("button", { type: "submit" }, "Add webhook");
  const fields = webhookFields(null);
  const form = h("form", { "aria-labelledby": "add-webhook-heading", novalidate: true },
    h("h2", { id: "add-webhook-heading" }, "Add a webhook"),
    problemSlot(),
    fields.elements,
    h("div", { class: "actions" }, button));
  createOnSubmit(form, button, "Adding…", {
    send: (key) => {
      const { url, events, description } = fields.values();
      return api.request("POST", `/store/${storeId}/webhook`, {
        body: api.jsonBody({ url, events, description: description || undefined }),
        key,
      });
    },
    created: ({ data }) => {
      form.reset();
      fields.reset();
      added(data);
    },
    // showError puts a field's messages next to the control of that name; the checkboxes
    // share one, so the events' messages have a slot of their own.
    failed: (error) => showErrorWithEvents(form, error, fields.errorId),
  });
  return form;
}

/** A webhook's URL, events and description, changed in place (PATCH). */
function editForm(hook, saved, cancelled) {
  const save = h("button", { type: "submit" }, "Save changes");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const fields = webhookFields(hook);
  const headingId = uid("edit-heading");
  const form = h("form", { "aria-labelledby": headingId, novalidate: true, class: "edit-webhook" },
    h("h3", { id: headingId }, `Edit the webhook to ${hook.url}`),
    problemSlot(),
    fields.elements,
    h("div", { class: "actions" }, save, cancel));
  cancel.addEventListener("click", cancelled);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(save, "Saving…", async () => {
      clearErrors(form);
      try {
        const { data } = await api.request("PATCH", `/webhook/${hook.id}`, { body: api.jsonBody(fields.values()) });
        saved(data);
      } catch (error) {
        if (!(error instanceof api.SessionEnded)) showErrorWithEvents(form, error, fields.errorId);
      }
    });
  });
  return form;
}

/** A refusal of a webhook form; the events' messages go to their fieldset's slot. */
function showErrorWithEvents(form, error, errorId) {
  const events = error instanceof api.ApiError && error.status === 422 ? error.fields.events : undefined;
  if (!events) {
    showError(form, error);
    return;
  }
  const { events: _, ...rest } = error.fields;
  if (Object.keys(rest).length) {
    error.fields = rest;
    showError(form, error); // clears every slot first, the events' too
  } else {
    clearErrors(form);
  }
  fill(document.getElementById(errorId), `Events: ${events.join("; ")}`);
  if (!form.querySelector("[aria-invalid]")) form.elements.all_events.focus();
}
