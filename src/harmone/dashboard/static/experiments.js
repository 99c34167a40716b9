// Experiments: each experiment folder's results table and plots (rolling R², timeline and the
// energy-accuracy trade-off), as written by `harmone experiment`.
import { api, el, fmt } from "./app.js";

const COLUMNS = ["approach", "predictions", "r2", "mae", "energy_mj_per_prediction", "switches", "reuses", "retrains",
  "drift_detections", "meter_kind"];

export async function render(root) {
  const data = await api("/api/experiments");
  if (!data.experiments.length) {
    root.append(el("section", { className: "card" }, el("h2", {}, "Experiments"),
      el("p", { className: "muted" }, "No experiment folder in this workspace yet (run `harmone experiment`).")));
  }
  for (const x of data.experiments) {
    const columns = x.rows.length ? COLUMNS.filter(c => c in x.rows[0]) : [];
    root.append(el("section", { className: "card", "data-experiment": x.name },
      el("h2", {}, `Experiment ${x.name}`),
      x.error ? el("p", { className: "error" }, x.error) : null,
      el("table", {}, el("tr", {}, columns.map(c => el("th", {}, c))),
        x.rows.map(r => el("tr", {}, columns.map(c => el("td", { className: typeof r[c] === "number" ? "num" : "" }, fmt(r[c], 4)))))),
      el("div", { className: "row" }, [...x.plots].sort((a, b) => (b === "energy_vs_r2.png") - (a === "energy_vs_r2.png")).map(p => el("figure", {},
        el("img", { className: "plot", alt: p, src: `/api/experiments/file?${new URLSearchParams({ name: x.name, file: p })}` }),
        el("figcaption", { className: "muted" }, p))))));
  }
}
