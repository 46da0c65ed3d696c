// Any console path that names no page.

import { h } from "../dom.js";

export async function notFoundView() {
  return {
    title: "Page not found",
    content: [
      h("h1", {}, "Page not found"),
      h("p", {}, "The console has no page at this address."),
      h("p", {}, h("a", { href: "/console/" }, "Go to the stores")),
    ],
  };
}
