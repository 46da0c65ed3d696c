// Item photos: the thumbnail of a table row, and the item page's photo with its upload
// (choose or drop a file, see it before sending), replace and remove.

import * as api from "../api.js";
import { fill, h, uid } from "../dom.js";
import { busyButton, confirmDialog, describe, problemSlot } from "../ui.js";

const TYPES = ["image/jpeg", "image/png", "image/webp"];
const MAX_BYTES = 10 * 1024 * 1024;

/** A table cell with the item's thumbnail, or a dash when it has no photo. */
export function thumbnailCell(item) {
  if (!item.image) return h("td", { class: "thumb" }, "—");
  return h("td", { class: "thumb" }, h("img", {
    src: item.image.thumbnail_url, alt: `Photo of ${item.name}`, loading: "lazy", width: "48", height: "48",
  }));
}

/** Why a chosen file cannot be sent, or null: the server says the same, this says it sooner. */
function refusal(file) {
  if (!TYPES.includes(file.type)) return "Choose a JPEG, PNG or WebP image.";
  if (file.size > MAX_BYTES) return "The image is larger than 10 MiB.";
  return null;
}

/**
 * The item page's photo section. `state` holds the item and its ETag (the item's JSON changes
 * with its photo); `changed()` runs after an upload or removal has updated them.
 */
export function photoSection(state, editable, changed) {
  const picture = h("div", { class: "photo" });
  const status = h("p", { role: "status" });
  const slot = problemSlot();

  function showPicture() {
    const image = state.item.image;
    fill(picture, image
      ? h("img", { src: image.url.replace("?v=", "?size=medium&v="), alt: `Photo of ${state.item.name}` })
      : h("p", { class: "muted" }, "No photo yet."));
  }
  showPicture();

  const heading = h("h2", { id: "photo-heading", tabindex: "-1" }, "Photo");
  if (!editable) return h("section", { "aria-labelledby": "photo-heading" }, heading, picture);

  const inputId = uid("photo-file");
  const input = h("input", { id: inputId, type: "file", name: "file", accept: TYPES.join(","),
    "aria-describedby": `${inputId}-hint` });
  const preview = h("div", { class: "preview", hidden: true });
  const send = h("button", { type: "submit", hidden: true }, "Upload photo");
  const remove = h("button", { type: "button", class: "danger", hidden: !state.item.image }, "Remove photo");
  const zone = h("label", { class: "drop", for: inputId },
    h("span", {}, "Choose a photo, or drop one here"));
  let chosen = null;
  let previewUrl = null;

  function choose(file) {
    fill(slot);
    fill(status);
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    chosen = null;
    fill(preview);
    preview.hidden = true;
    send.hidden = true;
    if (!file) return;
    const problem = refusal(file);
    if (problem) {
      fill(slot, h("p", {}, problem));
      return;
    }
    chosen = file;
    previewUrl = URL.createObjectURL(file);
    fill(preview, h("p", {}, `Preview of ${file.name}:`), h("img", { src: previewUrl, alt: `Preview of ${file.name}` }));
    preview.hidden = false;
    send.textContent = state.item.image ? "Replace photo" : "Upload photo";
    send.hidden = false;
  }

  input.addEventListener("change", () => choose(input.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const file = event.dataTransfer.files[0];
    choose(file);
    if (file) send.focus();
  });

  function updated(item, etag, message) {
    state.item = item;
    state.etag = etag;
    showPicture();
    remove.hidden = !item.image;
    changed();
    fill(status, message);
  }

  const form = h("form", { "aria-labelledby": "photo-heading" },
    slot,
    zone,
    input,
    h("p", { id: `${inputId}-hint`, class: "hint muted" }, "JPEG, PNG or WebP, at most 10 MiB. Its metadata (camera, place) is removed."),
    preview,
    h("div", { class: "actions" }, send, remove));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!chosen) return;
    busyButton(send, "Uploading…", async () => {
      fill(slot);
      try {
        const { data, etag } = await api.request("PUT", `/item/${state.item.id}/image`, { body: chosen, type: chosen.type });
        const verb = state.item.image ? "replaced" : "added";
        input.value = "";
        choose(null);
        updated(data, etag, `Photo ${verb}.`);
        heading.focus();
      } catch (error) {
        if (!(error instanceof api.SessionEnded)) {
          const said = (error.fields && error.fields.file) || [];
          fill(slot, h("p", {}, said.length ? `The photo was refused: ${said.join(" ")}` : describe(error)));
        }
      }
    });
  });
  remove.addEventListener("click", async () => {
    const yes = await confirmDialog({
      title: "Remove the photo?",
      message: `The photo of “${state.item.name}” is removed.`,
      confirm: "Remove photo",
    });
    if (!yes) return;
    await busyButton(remove, "Removing…", async () => {
      fill(slot);
      try {
        await api.request("DELETE", `/item/${state.item.id}/image`);
        const { data, etag } = await api.request("GET", `/item/${state.item.id}`);
        updated(data, etag, "Photo removed.");
        heading.focus();
      } catch (error) {
        if (!(error instanceof api.SessionEnded)) fill(slot, h("p", {}, describe(error)));
      }
    });
  });
  return h("section", { "aria-labelledby": "photo-heading" }, heading, picture, form, status);
}
