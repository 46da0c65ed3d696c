// A store's items as a CSV file: the export button of the store page, and the import page,
// which checks the file first (a dry run), shows what each row would do, then applies it.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import { busyButton, checkbox, clearErrors, describe, field, problemSlot, showError } from "../ui.js";
import { accessTo, scrollTable } from "./common.js";

const POLL_MS = 500;
// A file may have 50,000 rows: more than a table should hold. The failed rows come first.
const ROWS_SHOWN = 500;
const DONE = new Set(["succeeded", "failed"]);

/** "Export CSV": fetches the file with the session's token and saves it as a download. */
export function exportButton(storeId) {
  const button = h("button", { type: "button", class: "secondary" }, "Export CSV");
  const status = h("span", { role: "status", class: "muted" });
  button.addEventListener("click", () => busyButton(button, "Exporting…", async () => {
    fill(status);
    try {
      const { blob, filename } = await api.download(`/store/${storeId}/item`, "text/csv");
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: filename, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      fill(status, `Saved ${filename}.`);
    } catch (error) {
      fill(status, describe(error));
    }
  }));
  return h("span", { class: "export" }, button, " ", status);
}

export async function importView(ctx) {
  const id = Number(ctx.params[0]);
  const { data: store } = await api.request("GET", `/store/${id}`);
  const title = `Import items into ${store.name}`;
  const back = h("p", {}, h("a", { href: `/console/store/${id}` }, `Back to ${store.name}`));
  const crumbs = h("p", { class: "crumbs" },
    h("a", { href: "/console/" }, "Stores"), " › ", h("a", { href: `/console/store/${id}` }, store.name), " › import");
  const { may } = await accessTo(store);
  if (!may.importItems) {
    return {
      title,
      content: [crumbs, h("h1", {}, title),
        h("p", {}, "Only the store's owner, its managers or an admin can import items into it."), back],
    };
  }
  const file = field("CSV file", "file", {
    type: "file",
    accept: ".csv,text/csv",
    hint: "Columns id, name, price, quantity, description, tags (as an export has them). A row updates the item of the same name or creates one; an empty cell leaves a field as it is.",
  });
  const atomic = checkbox("All or nothing: change nothing if any row fails", "atomic");
  const check = h("button", { type: "submit" }, "Check the file");
  const form = h("form", { "aria-label": "Import a file", novalidate: true },
    problemSlot(), file, atomic, h("div", { class: "actions" }, check));
  const progress = h("p", { role: "status" });
  const outcome = h("div");

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busyButton(check, "Checking…", async () => {
      clearErrors(form);
      fill(outcome);
      const chosen = form.elements.namedItem("file").files[0];
      if (!chosen) {
        showError(form, new api.ApiError(422, { detail: "No file was chosen.", errors: { file: ["choose a CSV file first"] } }));
        return;
      }
      const isAtomic = form.elements.namedItem("atomic").checked;
      try {
        const job = await runImport(id, chosen, { dryRun: true, atomic: isAtomic }, progress);
        showDryRun(job, chosen, isAtomic);
      } catch (error) {
        fill(progress);
        showError(form, error);
      }
    });
  });

  function showDryRun(job, chosen, isAtomic) {
    const result = job.result;
    if (job.status !== "succeeded" || !result) {
      fill(outcome, h("p", { class: "problem", role: "alert" }, "The check could not be finished; try again later."));
      return;
    }
    const changes = result.created + result.updated;
    const blocked = isAtomic && result.failed > 0;
    const apply = h("button", { type: "button" }, "Apply");
    const heading = h("h2", { tabindex: "-1" }, "What the import would do");
    fill(outcome, heading, summary(result, true), rowsTable(result, id),
      blocked
        ? h("p", {}, "With “all or nothing”, a failed row stops the whole import: correct the file and check it again.")
        : (changes ? h("div", { class: "actions" }, apply) : h("p", {}, "Nothing would change.")));
    heading.focus();
    apply.addEventListener("click", () => busyButton(apply, "Importing…", async () => {
      try {
        const done = await runImport(id, chosen, { dryRun: false, atomic: isAtomic }, progress);
        showApplied(done);
      } catch (error) {
        fill(progress, describe(error));
      }
    }));
  }

  function showApplied(job) {
    const heading = h("h2", { tabindex: "-1" }, "Imported");
    if (job.status !== "succeeded" || !job.result) {
      fill(outcome, h("p", { class: "problem", role: "alert" }, "The import failed; nothing more was changed."));
      return;
    }
    const result = job.result;
    fill(outcome, heading,
      result.applied ? summary(result, false) : h("p", {}, "Nothing was changed: a row failed."),
      rowsTable(result, id), back.cloneNode(true));
    heading.focus();
  }

  return { title, content: [crumbs, h("h1", {}, title), form, progress, outcome, back] };
}

/** Send the file as an import, then poll its job until it has finished; the job. */
async function runImport(storeId, file, { dryRun, atomic }, progress) {
  const query = new URLSearchParams({ dry_run: String(dryRun), atomic: String(atomic) });
  const started = await api.request("POST", `/store/${storeId}/import?${query}`, {
    body: file,
    type: "text/csv",
    key: api.newKey(),
  });
  let job = started.data;
  const what = dryRun ? "Checking the file" : "Importing";
  while (!DONE.has(job.status)) {
    const done = job.result && job.result.progress;
    fill(progress, done ? `${what}… ${done.rows_done} of ${done.rows} rows` : `${what}… (${job.status})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = (await api.request("GET", `/job/${job.id}`)).data;
  }
  fill(progress, dryRun ? "The file was checked." : "The import has finished.");
  return job;
}

function summary(result, dryRun) {
  const counts = [
    [result.created, dryRun ? "would be created" : "created"],
    [result.updated, dryRun ? "would be updated" : "updated"],
    [result.unchanged, "unchanged"],
    [result.failed, "failed"],
  ];
  return h("ul", { class: "summary", "aria-label": "Counts" },
    counts.map(([n, text]) => h("li", {}, `${n} ${n === 1 ? "row" : "rows"} ${text}`)));
}

const STATUS_TEXT = { created: "Created", updated: "Updated", unchanged: "Unchanged", failed: "Failed" };

function rowsTable(result, storeId) {
  const failed = result.rows.filter((row) => row.status === "failed");
  const rest = result.rows.filter((row) => row.status !== "failed");
  const shown = failed.concat(rest).slice(0, ROWS_SHOWN);
  const table = h("table", {},
    h("caption", {}, "Rows of the file"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", class: "num" }, "Line"), h("th", { scope: "col" }, "Outcome"),
      h("th", { scope: "col" }, "Item"), h("th", { scope: "col" }, "Problems"))),
    h("tbody", {}, shown.map((row) => h("tr", {},
      h("td", { class: "num" }, String(row.line)),
      h("td", {}, STATUS_TEXT[row.status] || row.status),
      h("td", {}, row.item_id ? h("a", { href: `/console/item/${row.item_id}` }, `#${row.item_id}`) : "—"),
      h("td", {}, problems(row.errors))))));
  const more = result.rows.length - shown.length;
  return [
    scrollTable("Rows of the file", table),
    more > 0 ? h("p", { class: "muted" }, `${more} more rows are not shown (failed rows come first).`) : null,
    h("p", { class: "muted" }, h("a", { href: `/console/store/${storeId}` }, "See the store's items")),
  ];
}

function problems(errors) {
  const entries = Object.entries(errors || {});
  if (!entries.length) return "—";
  return entries.map(([column, messages]) => `${column}: ${messages.join("; ")}`).join(". ");
}
