// A store's team: who works on it and as what; the controls each role may use, and leaving.

import * as api from "../api.js";
import { fill, h } from "../dom.js";
import { busyButton, confirmDialog, createOnSubmit, describe, field, problemSlot, select } from "../ui.js";
import { accessTo, day, roleText, scrollTable } from "./common.js";

const ROLE_OPTIONS = [["staff", "Staff"], ["manager", "Manager"]];

export async function teamView(ctx) {
  const id = Number(ctx.params[0]);
  const { data: store } = await api.request("GET", `/store/${id}`);
  const { role, may } = await accessTo(store);
  const title = `Team of ${store.name}`;
  const crumbs = h("p", { class: "crumbs" }, h("a", { href: "/console/" }, "Stores"), " › ",
    h("a", { href: `/console/store/${id}` }, store.name), " › team");
  if (!may.seeTeam) {
    return {
      title,
      content: [crumbs, h("h1", {}, title),
        h("p", {}, api.me() ? "Only the store's team and admins see who is on it." : "Sign in as one of the store's team to see it.")],
    };
  }
  const members = await api.all(`/store/${id}/member?limit=200`);
  const status = h("p", { role: "status" });
  const body = h("tbody");
  const me = api.me();

  function render() {
    fill(body, members.map((member) => memberRow(member)));
  }

  function memberRow(member) {
    const slot = h("div", { class: "problem", role: "alert" });
    const mine = member.user_id === me.id;
    const controls = [];
    if (member.role !== "owner" && may.changeRoles && !mine) {
      const chooser = select(`Role of ${member.username}`, "role", ROLE_OPTIONS, member.role);
      const save = h("button", { type: "button", class: "secondary", "aria-label": `Save the role of ${member.username}` }, "Save role");
      save.addEventListener("click", () => busyButton(save, "Saving…", async () => {
        fill(slot);
        try {
          const { etag } = await api.request("GET", `/store/${id}/member/${member.user_id}`);
          const { data } = await api.request("PATCH", `/store/${id}/member/${member.user_id}`,
            { body: api.jsonBody({ role: chooser.querySelector("select").value }), etag });
          Object.assign(member, data);
          fill(status, `${data.username} is now ${roleText(data.role).toLowerCase()}.`);
        } catch (error) {
          if (!(error instanceof api.SessionEnded)) fill(slot, h("p", {}, describe(error)));
        }
      }));
      controls.push(chooser, save);
    }
    const mayRemove = member.role !== "owner" && (mine
      || (member.role === "staff" && may.removeStaff)
      || (member.role === "manager" && may.removeManagers));
    if (mayRemove) {
      const label = mine ? "Leave this store" : `Remove ${member.username}`;
      const remove = h("button", { type: "button", class: "danger" }, mine ? "Leave" : "Remove");
      remove.setAttribute("aria-label", label);
      remove.addEventListener("click", async () => {
        const yes = await confirmDialog({
          title: mine ? `Leave “${store.name}”?` : `Remove ${member.username}?`,
          message: mine
            ? "You will no longer be able to change this store unless someone adds you again."
            : `${member.username} will no longer be able to change this store.`,
          confirm: mine ? "Leave" : "Remove",
        });
        if (!yes) return;
        await busyButton(remove, mine ? "Leaving…" : "Removing…", async () => {
          fill(slot);
          try {
            await api.request("DELETE", `/store/${id}/member/${member.user_id}`);
            if (mine) {
              ctx.go(`/console/store/${id}`, { message: `You left “${store.name}”.` });
              return;
            }
            members.splice(members.indexOf(member), 1);
            render();
            fill(status, `${member.username} removed from the team.`);
          } catch (error) {
            if (!(error instanceof api.SessionEnded)) fill(slot, h("p", {}, describe(error)));
          }
        });
      });
      controls.push(remove);
    }
    return h("tr", {},
      h("td", {}, mine ? `${member.username} (you)` : member.username),
      h("td", {}, roleText(member.role)),
      h("td", {}, day(member.added_at)),
      h("td", {}, controls.length ? h("div", { class: "row" }, controls) : "—", slot));
  }

  render();
  const table = h("table", {},
    h("caption", {}, "Team members"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "User"), h("th", { scope: "col" }, "Role"),
      h("th", { scope: "col" }, "Since"), h("th", { scope: "col" }, "Changes"))),
    body);
  return {
    title,
    content: [
      crumbs,
      h("h1", {}, title),
      h("p", {}, `Your role: ${roleText(role)}. Staff add and edit items; managers also delete items, `
        + "manage tags, rename the store and add staff; the owner also adds managers and deletes the store."),
      scrollTable("Team table", table),
      status,
      may.addStaff ? addForm(id, may, (member) => {
        members.push(member);
        members.sort((a, b) => a.user_id - b.user_id);
        render();
        fill(status, `${member.username} added as ${roleText(member.role).toLowerCase()}.`);
      }) : null,
    ],
  };
}

function addForm(storeId, may, added) {
  const button = h("button", { type: "submit" }, "Add to team");
  const roles = may.addManagers ? ROLE_OPTIONS : ROLE_OPTIONS.filter(([value]) => value === "staff");
  const form = h("form", { "aria-labelledby": "add-member-heading" },
    h("h2", { id: "add-member-heading" }, "Add someone"),
    problemSlot(),
    h("div", { class: "row" },
      field("Username", "username", { autocomplete: "off" }),
      select("Role", "role", roles, "staff"),
      h("div", { class: "actions" }, button)));
  createOnSubmit(form, button, "Adding…", {
    send: (key) => api.request("POST", `/store/${storeId}/member`, {
      body: api.jsonBody({ username: form.elements.username.value.trim(), role: form.elements.role.value }),
      key,
    }),
    created: ({ data }) => {
      form.reset();
      added(data);
      form.elements.username.focus();
    },
  });
  return form;
}
