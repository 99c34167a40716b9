// Live: predictions against truth, rolling R² and skill, energy per model, the active model
// over time with markers, updated by server-sent events (resumed by the browser after a
// reconnect with the Last-Event-ID it was last sent).
import uPlot from "./vendor/uPlot.esm.js";
import { api, el, fmt } from "./app.js";

const KEEP = 1500;
const MARKER_COLOURS = { switch: "#7b3fe4", reuse: "#16a3a3", retrain: "#e4572e", drift: "#f2a900" };

function card(title, ...children) {
  return el("section", { className: "card" }, el("h2", {}, title), ...children);
}

function width(node) { return Math.max(320, node.clientWidth - 32); }

function markerPlugin(state) {
  return {
    hooks: {
      draw: [u => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.lineWidth = 2 * devicePixelRatio;
        for (const m of state.markers) {
          const x = u.valToPos(m.row, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = MARKER_COLOURS[m.kind];
          ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

function makeCharts(state, boxes) {
  const sync = uPlot.sync("live");
  const cursor = { sync: { key: sync.key } };
  const plugins = [markerPlugin(state)];
  const common = (title, box) => ({ title, width: width(box), height: 240, cursor, plugins, scales: { x: { time: false } } });
  state.charts.pred = new uPlot({
    ...common("Predictions and truth", boxes.pred),
    series: [{ label: "row" }, { label: "truth", stroke: "#1d2430", width: 1 }, { label: "predicted", stroke: "#2463c9", width: 1 }],
  }, [[], [], []], boxes.pred);
  state.charts.score = new uPlot({
    ...common("Rolling R² and skill over persistence (100 predictions)", boxes.score),
    series: [{ label: "row" }, { label: "R²", stroke: "#1f7a3a", width: 1.5 }, { label: "skill", stroke: "#e4572e", width: 1.5 }],
    scales: { x: { time: false }, y: { range: (u, lo, hi) => [Math.min(-0.5, lo ?? 0), 1] } },
  }, [[], [], []], boxes.score);
  state.charts.model = new uPlot({
    ...common("Active model and version", boxes.model),
    height: 180,
    series: [{ label: "row" }, {
      label: "model", stroke: "#7b3fe4", width: 2, paths: uPlot.paths.stepped({ align: 1 }),
      value: (u, v, si, i) => (i == null ? "–" : `${state.rows.model[i]} v${state.rows.version[i]}`),
    }],
    axes: [{}, { values: (u, ticks) => ticks.map(t => state.kinds[t] ?? "") , size: 70 }],
    scales: { x: { time: false }, y: { range: () => [-0.5, Math.max(state.kinds.length - 0.5, 0.5)] } },
  }, [[], []], boxes.model);
}

function merge(state, data) {
  const rows = state.rows;
  for (const key of Object.keys(rows)) rows[key] = rows[key].concat(data.rows[key]).slice(-KEEP);
  state.markers = state.markers.concat(data.markers).filter(m => m.row >= (rows.id[0] ?? 0));
  for (const kind of rows.model) if (!state.kinds.includes(kind)) state.kinds.push(kind);
  state.lastRow = data.last_row_id;
  if (Object.keys(data.energy).length) state.energy = data.energy;
  if (data.meter) state.meter = data.meter;
}

function redraw(state, nodes) {
  const r = state.rows;
  state.charts.pred.setData([r.id, r.truth, r.pred]);
  state.charts.score.setData([r.id, r.r2, r.skill]);
  state.charts.model.setData([r.id, r.model.map(k => state.kinds.indexOf(k))]);
  const n = r.id.length;
  const lastR2 = n ? r.r2[n - 1] : null;
  const lastSkill = n ? r.skill[n - 1] : null;
  nodes.figures.replaceChildren(
    figure(fmt(state.lastRow, 0), "predictions logged"),
    figure(n ? `${r.model[n - 1]} v${r.version[n - 1]}` : "–", "serving now"),
    figure(fmt(lastR2), "rolling R²"),
    figure(fmt(lastSkill), "skill over persistence"),
  );
  const kind = state.meter ? state.meter.kind : null;
  nodes.energy.replaceChildren(el("table", {},
    el("tr", {}, el("th", {}, "model"), el("th", {}, "µJ per prediction (recent)"), el("th", {}, "meter")),
    Object.entries(state.energy).map(([model, uj]) => el("tr", {},
      el("td", {}, model), el("td", { className: "num" }, fmt(uj, 2)),
      el("td", {}, kind ? el("span", { className: `badge ${kind}` }, kind) : "–",
        state.meter ? ` ${state.meter.source}` : "")))));
  nodes.root.dataset.lastRow = String(state.lastRow);
  nodes.root.dataset.updates = String((Number(nodes.root.dataset.updates) || 0) + 1);
}

function figure(value, label) {
  return el("div", { className: "figure" }, el("b", {}, value), el("span", {}, label));
}

function overviewChart(box, overview) {
  if (!overview || !overview.id.length) return null;
  return new uPlot({
    title: "Whole history when the page opened (downsampled)", width: width(box), height: 160, scales: { x: { time: false } },
    series: [{ label: "row" }, { label: "truth", stroke: "#1d2430" }, { label: "predicted", stroke: "#2463c9" }],
  }, [overview.id, overview.truth, overview.pred], box);
}

export async function render(root) {
  const data = await api("/api/live");
  const state = { rows: { id: [], truth: [], pred: [], model: [], version: [], r2: [], skill: [] },
                  markers: [], kinds: [], energy: {}, meter: null, charts: {}, lastRow: 0 };
  const nodes = { root, figures: el("div", { className: "figures" }), energy: el("div") };
  const boxes = { pred: el("div"), score: el("div"), model: el("div"), overview: el("div") };
  const legend = el("div", { className: "legend-markers" },
    Object.entries(MARKER_COLOURS).map(([k, c]) => el("span", {}, el("i", { className: `m-${k}` }), k)));
  const status = el("span", { className: "muted" }, "connecting…");
  root.append(
    card("Now", nodes.figures, status),
    el("div", { className: "row" }, card("Predictions", boxes.pred), card("Accuracy", boxes.score)),
    el("div", { className: "row" }, card("Models over time", boxes.model, legend), card("Energy per prediction", nodes.energy)),
    card("History", boxes.overview));
  makeCharts(state, boxes);
  merge(state, data);
  redraw(state, nodes);
  const overview = overviewChart(boxes.overview, data.overview);
  if (!overview) boxes.overview.append(el("p", { className: "muted" }, "No predictions logged yet."));
  const stream = new EventSource(`/api/stream?from=${data.last_row_id}:${data.last_event_id}`);
  stream.addEventListener("open", () => { status.textContent = " live"; });
  stream.addEventListener("error", () => { status.textContent = " reconnecting…"; });
  stream.addEventListener("live", message => {
    const update = JSON.parse(message.data);
    if (update.overview) {  // the workspace was reset: start again
      for (const key of Object.keys(state.rows)) state.rows[key] = [];
      state.markers = [];
    }
    merge(state, update);
    redraw(state, nodes);
  });
  return () => {
    stream.close();
    Object.values(state.charts).forEach(chart => chart.destroy());
    if (overview) overview.destroy();
  };
}
