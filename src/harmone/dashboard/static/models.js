// Models: every stored version of each kind with its metadata, where it came from (the command or
// the loop run that trained it, on which data) and its held-out metrics; compare two versions side
// by side; promote a newer version or roll back to an older one.
import { api, post, el, fmt, fmtEnergy, toast } from "./app.js";
import { pluginsCard } from "./plugins.js";

function pairs(object) {
  return Object.entries(object || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
}

// Where a version came from: the loop run that trained it, or `harmone train`.
function madeBy(v) {
  const m = v.made_by;
  if (m) {
    return [`${m.loop} loop, event #${m.event} (${m.decision}${m.outcome ? ` → ${m.outcome}` : ""})`,
            el("div", { className: "muted small" },
              `trained on ${fmt(m.values)} true values up to row ${fmt(m.row)}; cost ${fmtEnergy(m.energy_uj)}`)];
  }
  if (v.reason === "initial") return "`harmone train` (the first training data)";
  return v.reason ? `${v.reason} retraining` : "–";
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
  return el("tr", { className: v.version === active ? "active-version" : "", "data-version": `${kind}:${v.version}` },
    el("td", { className: "num" }, `v${v.version}`),
    el("td", {}, v.created || "–"),
    el("td", {}, madeBy(v)),
    el("td", {}, pairs(v.metrics)),
    el("td", {}, pairs(v.data)),
    el("td", { className: "num" }, fmt(v.train_time_s, 2)),
    el("td", {}, button));
}

function flat(prefix, object, out = {}) {
  for (const [k, v] of Object.entries(object || {})) {
    if (v && typeof v === "object" && !Array.isArray(v)) flat(`${prefix}${k}.`, v, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

function compareCard(k) {
  if (k.versions.length < 2) return null;
  const options = () => k.versions.map(v => el("option", { value: String(v.version) }, `v${v.version}`));
  const a = el("select", { className: "compare-a" }, options());
  const b = el("select", { className: "compare-b" }, options());
  a.value = String(k.versions[k.versions.length - 2].version);
  b.value = String(k.versions[k.versions.length - 1].version);
  const out = el("div", { className: "scroll" });
  const show = () => {
    const [va, vb] = [a, b].map(s => k.versions.find(v => String(v.version) === s.value));
    const fa = { ...flat("metrics.", va.metrics), ...flat("data.", va.data), ...flat("params.", va.params), created: va.created, reason: va.reason };
    const fb = { ...flat("metrics.", vb.metrics), ...flat("data.", vb.data), ...flat("params.", vb.params), created: vb.created, reason: vb.reason };
    const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
    out.replaceChildren(el("table", { className: "compare" },
      el("tr", {}, el("th", {}, ""), el("th", {}, `v${va.version}`), el("th", {}, `v${vb.version}`)),
      keys.map(key => el("tr", { className: JSON.stringify(fa[key]) === JSON.stringify(fb[key]) ? "" : "differs" },
        el("th", {}, key), el("td", {}, fmt(fa[key], 4)), el("td", {}, fmt(fb[key], 4))))));
  };
  a.addEventListener("change", show);
  b.addEventListener("change", show);
  show();
  return el("details", { className: "compare-box" }, el("summary", {}, "Compare two versions"),
    el("div", { className: "row" }, a, el("span", {}, "with"), b), out);
}

export async function render(root) {
  async function refresh() {
    const data = await api("/api/models");
    root.replaceChildren();
    if (!data.kinds.length) root.append(el("p", { className: "muted" }, "No trained model yet (run `harmone train`)."));
    for (const k of data.kinds) {
      root.append(el("section", { className: "card", "data-kind": k.kind },
        el("h2", {}, k.kind, k.serving ? el("span", { className: "badge on" }, " serving ") : ""),
        el("div", { className: "scroll" }, el("table", {},
          el("tr", {}, ["version", "created", "made by", "held-out metrics", "training data", "train s", ""].map(h => el("th", {}, h))),
          k.versions.map(v => versionRow(k.kind, k.active_version, v, refresh)))),
        compareCard(k)));
    }
    root.append(await pluginsCard());
  }
  await refresh();
}
