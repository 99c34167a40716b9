// Experiments: each experiment folder's results table with every figure the command line shows
// (the metric, skill and mean error of the results' task, in the words the server sends with
// them; energy split into inference, adaptation and retraining, latency, adaptations, how the
// energies were obtained) and its plots, each opening at full size.
import { api, el, fmt } from "./app.js";

// [column, heading, digits] of results measured on a task with these words
const COLUMNS = words => [["approach", "approach"], ["predictions", "predictions", 0], ["r2", words.metric, 4],
  ["skill", words.skill, 3], ["mae", words.error, words.values ? 2 : 4], ["energy_mj_per_prediction", "mJ/prediction", 4],
  ["inference_energy_mj_per_prediction", "of it inference", 4], ["adaptation_energy_mj_per_prediction", "adaptation", 4],
  ["retraining_energy_mj_per_prediction", "of it retraining", 4], ["latency_ms_mean", "latency ms", 4],
  ["latency_ms_p95", "p95 ms", 4], ["switches", "switches", 0], ["reuses", "reuses", 0], ["retrains", "retrains", 0],
  ["drift_detections", "drift detections", 0], ["energies", "energies"]];

function plot(x, name) {
  const src = `/api/experiments/file?${new URLSearchParams({ name: x.name, file: name })}`;
  return el("figure", {},
    el("a", { href: src, target: "_blank", rel: "noopener", title: "open at full size", className: "plot-link" },
      el("img", { className: "plot", alt: name, src })),
    el("figcaption", { className: "muted" }, `${name} (click to open at full size)`));
}

export async function render(root) {
  const data = await api("/api/experiments");
  if (!data.experiments.length) {
    root.append(el("section", { className: "card" }, el("h2", {}, "Experiments"),
      el("p", { className: "muted" }, "No experiment folder in this workspace yet (run `harmone experiment`).")));
  }
  for (const x of data.experiments) {
    const columns = x.rows.length ? COLUMNS(x.words).filter(([c]) => x.rows.some(r => c in r)) : [];
    const modelled = x.rows.some(r => r.energies === "modelled");
    root.append(el("section", { className: "card", "data-experiment": x.name },
      el("h2", {}, `Experiment ${x.name}`),
      x.error ? el("p", { className: "error" }, x.error) : null,
      el("div", { className: "scroll" }, el("table", { className: "results" },
        el("tr", {}, columns.map(([, heading]) => el("th", {}, heading))),
        x.rows.map(r => el("tr", {}, columns.map(([c, , digits]) =>
          el("td", { className: typeof r[c] === "number" ? "num" : "" }, fmt(r[c], digits ?? 4))))))),
      modelled ? el("p", { className: "muted" }, "Energies marked modelled come from an energy model "
        + "(`--meter model`): fixed costs per prediction, loop run and retraining, not a measurement.") : null,
      el("div", { className: "row plots" }, [...x.plots].sort((a, b) => (b === "energy_vs_r2.png") - (a === "energy_vs_r2.png"))
        .map(p => plot(x, p)))));
  }
}
