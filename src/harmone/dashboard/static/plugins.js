// Plugins: what the installed packages provide (read-only: a plugin arrives by `pip install`,
// never through this page).
import { api, el } from "./app.js";

export async function pluginsCard() {
  const data = await api("/api/plugins");
  return el("section", { className: "card", id: "plugins" },
    el("h2", {}, "Plugins"),
    el("p", { className: "muted" }, "Installed tasks, model kinds, detectors and policies (`harmone plugins`)."),
    el("div", { className: "scroll" }, el("table", {},
      el("tr", {}, ["name", "group", "package", "version"].map(h => el("th", {}, h))),
      data.plugins.map(p => el("tr", {}, el("td", {}, p.name), el("td", {}, p.group),
        el("td", {}, p.package || "(in code)"), el("td", {}, p.version))))));
}
