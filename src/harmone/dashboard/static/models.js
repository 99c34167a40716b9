// Models: every stored version of each kind with its metadata, held-out metrics and training
// data; promote a newer version or roll back to an older one.
import { api, post, el, fmt, toast } from "./app.js";

function pairs(object) {
  return Object.entries(object || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
}

function versionRow(kind, active, v, refresh) {
  let button = el("span", { className: "badge on" }, "active");
  if (v.version !== active) {
    const older = active !== null && v.version < active;
    button = el("button", { className: older ? "secondary" : "", textContent: older ? "Roll back" : "Promote",
                            "data-promote": `${kind}:${v.version}` });
    button.addEventListener("click", async () => {
      try {
        const done = await post("/api/models/promote", { kind, version: v.version });
        toast(`${kind} v${done.version} is active (${done.action})`);
        await refresh();
      } catch (error) { toast(error.message, true); }
    });
  }
  return el("tr", { className: v.version === active ? "active-version" : "" },
    el("td", { className: "num" }, `v${v.version}`),
    el("td", {}, v.created || "–"),
    el("td", {}, v.reason || "–"),
    el("td", {}, pairs(v.metrics)),
    el("td", {}, pairs(v.data)),
    el("td", { className: "num" }, fmt(v.train_time_s, 2)),
    el("td", {}, button));
}

export async function render(root) {
  async function refresh() {
    const data = await api("/api/models");
    root.replaceChildren();
    if (!data.kinds.length) root.append(el("p", { className: "muted" }, "No trained model yet (run `harmone train`)."));
    for (const k of data.kinds) {
      root.append(el("section", { className: "card", "data-kind": k.kind },
        el("h2", {}, k.kind, k.serving ? el("span", { className: "badge on" }, " serving ") : ""),
        el("table", {},
          el("tr", {}, ["version", "created", "reason", "held-out metrics", "training data", "train s", ""].map(h => el("th", {}, h))),
          k.versions.map(v => versionRow(k.kind, k.active_version, v, refresh)))));
    }
  }
  await refresh();
}
