// Live: predictions against truth (on a classification stream, whose truth is a class index:
// the rolling accuracy of each serving model instead), the task's rolling metric and skill over
// its baseline (computed by the server), energy per model (calibrated beside live), the active
// model over time with markers, all updated by server-sent events (resumed by the browser after
// a reconnect with the Last-Event-ID it was last sent); then the whole history (min/max per
// group of a series' values, every marker, zoom and pan) and energy over time against the goal.
import uPlot from "./vendor/uPlot.esm.js";
import { api, el, fmt, fmtClock, fmtEnergy, fitWidth, task } from "./app.js";

const KEEP = 1500;
const MARKER_COLOURS = { switch: "#7b3fe4", reuse: "#16a3a3", retrain: "#e4572e", drift: "#f2a900" };
const MODEL_COLOURS = ["#2463c9", "#e4572e", "#1f7a3a", "#7b3fe4", "#f2a900", "#16a3a3"];
const EMPTY_ROWS = () => ({ id: [], truth: [], pred: [], model: [], version: [], metric: [], skill: [], energy_uj: [],
                            model_energy_uj: [] });

function card(title, ...children) {
  return el("section", { className: "card" }, el("h2", {}, title), ...children);
}

function box(id) { return el("div", { className: "chart-box", id }); }

function markerPlugin(markers) {
  return {
    hooks: {
      draw: [u => {
        const { ctx } = u;
        const { top, height, left, width } = u.bbox;
        const shown = markers();
        ctx.save();
        ctx.setLineDash([]);  // a dashed series drawn before (the energy goal) leaves its dash set
        ctx.lineWidth = (shown.length > width / 4 ? 1 : 2) * devicePixelRatio;
        for (const m of shown) {
          const x = u.valToPos(m.row, "x", true);
          if (x < left || x > left + width) continue;
          ctx.strokeStyle = MARKER_COLOURS[m.kind];
          ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

function makeCharts(state, boxes, stops) {
  const sync = uPlot.sync("live");
  const cursor = { sync: { key: sync.key } };
  const plugins = [markerPlugin(() => state.markers)];
  const common = (title, height) => ({ title, width: 400, height, cursor, plugins, scales: { x: { time: false } } });
  state.charts.pred = task.values ? new uPlot({
    ...common("Predictions and truth (newest rows)", 240),
    series: [{ label: "row" }, { label: "truth", stroke: "#1d2430", width: 1 }, { label: "predicted", stroke: "#2463c9", width: 1 }],
  }, [[], [], []], boxes.pred) : new uPlot({
    ...common(`Rolling ${task.metric} by serving model (${task.window} predictions)`, 240),
    series: [{ label: "row" }, ...task.kinds.map((kind, i) => ({ label: kind, stroke: MODEL_COLOURS[i % MODEL_COLOURS.length], width: 1.5 }))],
    scales: { x: { time: false }, y: { range: () => [0, 1] } },
  }, [[], ...task.kinds.map(() => [])], boxes.pred);
  state.charts.score = new uPlot({
    ...common(`Rolling ${task.metric} and ${task.skill_over} (${task.window} predictions)`, 240),
    series: [{ label: "row" }, { label: task.metric, stroke: "#1f7a3a", width: 1.5 }, { label: task.skill, stroke: "#e4572e", width: 1.5 }],
    scales: { x: { time: false }, y: { range: (u, lo, hi) => [Math.min(-0.5, lo ?? 0), 1] } },
  }, [[], [], []], boxes.score);
  state.charts.model = new uPlot({
    ...common("Active model and version", 180),
    series: [{ label: "row" }, {
      label: "model", stroke: "#7b3fe4", width: 2, paths: uPlot.paths.stepped({ align: 1 }),
      value: (u, v, si, i) => (i == null ? "–" : `${state.rows.model[i]} v${state.rows.version[i]}`),
    }],
    axes: [{}, { values: (u, ticks) => ticks.map(t => state.kinds[t] ?? ""), size: 70 }],
    scales: { x: { time: false }, y: { range: () => [-0.5, Math.max(state.kinds.length - 0.5, 0.5)] } },
  }, [[], []], boxes.model);
  stops.push(fitWidth(boxes.pred, state.charts.pred, 240), fitWidth(boxes.score, state.charts.score, 240),
             fitWidth(boxes.model, state.charts.model, 180));
}

function merge(state, data) {
  const rows = state.rows;
  for (const key of Object.keys(rows)) rows[key] = rows[key].concat(data.rows[key] || []).slice(-KEEP);
  state.markers = state.markers.concat(data.markers).filter(m => m.row >= (rows.id[0] ?? 0));
  for (const kind of rows.model) if (!state.kinds.includes(kind)) state.kinds.push(kind);
  state.lastRow = data.last_row_id;
  // The whole-history table comes complete with every update: models never drop out of it.
  if (Object.keys(data.energy).length) state.energy = data.energy;
  if (data.meter) state.meter = data.meter;
  if (data.energy_basis !== undefined) state.basis = data.energy_basis;
}

// Per model over the newest rows: the model's own work and the serving overhead around it, µJ.
function recentEnergy(rows) {
  const sums = {};
  rows.model.forEach((model, i) => {
    const step = rows.energy_uj[i], own = rows.model_energy_uj[i];
    if (step === null || own === null) return;
    const s = sums[model] || (sums[model] = { step: 0, own: 0, n: 0 });
    s.step += step; s.own += own; s.n += 1;
  });
  return Object.fromEntries(Object.entries(sums).map(([m, s]) => [m, { own: s.own / s.n, overhead: (s.step - s.own) / s.n }]));
}

function energyTable(state, reference) {
  const recent = recentEnergy(state.rows);
  const models = [...new Set([...Object.keys(state.energy), ...Object.keys(reference.calibrated_uj || {})])].sort();
  const kind = state.meter ? state.meter.kind : null;
  const newest = `newest ${state.rows.id.length}`;
  const head = ["model", "calibrated: model", "calibrated: overhead", `live, ${newest}: model`,
                `live, ${newest}: overhead`, "live, whole history (step)", "predictions"];
  const table = el("table", { id: "energy-table" },
    el("tr", {}, head.map(h => el("th", {}, h))),
    models.map(model => {
      const live = state.energy[model];
      return el("tr", { "data-model": model },
        el("td", {}, model),
        el("td", { className: "num" }, fmtEnergy(reference.calibrated_uj?.[model])),
        el("td", { className: "num" }, fmtEnergy(reference.calibrated_overhead_uj?.[model])),
        el("td", { className: "num", "data-col": "live-model" }, fmtEnergy(recent[model]?.own)),
        el("td", { className: "num", "data-col": "live-overhead" }, fmtEnergy(recent[model]?.overhead)),
        el("td", { className: "num" }, live ? fmtEnergy(live.mean_uj) : "–"),
        el("td", { className: "num" }, live ? fmt(live.predictions, 0) : "0"));
    }));
  const notes = ["model: the prediction's own work, which the switch loop compares; overhead: choosing the model, metering, logging"];
  if (reference.calibration) notes.push(`calibrated: ${reference.calibration.meter_kind} by ${reference.calibration.meter_source}`);
  else notes.push("no calibration yet (`harmone energy calibrate`)");
  if (kind) notes.push(`live: ${kind} by ${state.meter.source}`);
  if (state.basis) notes.push("live over calibrated model energy (the switch loop's correction): " +
    Object.entries(state.basis.by_kind || {}).map(([m, f]) => `${m} x${fmt(f, 3)}`).join(", "));
  if (reference.goal_uj !== null) notes.push(`energy goal ${fmtEnergy(reference.goal_uj)} per prediction`);
  return [el("div", { className: "scroll" }, table), el("p", { className: "muted" }, notes.join(" · "))];
}

// What the first chart draws: truth and predictions, or each kind's share of the rolling metric.
function predictionSeries(r) {
  if (task.values) return [r.id, r.truth, r.pred];
  return [r.id, ...task.kinds.map(kind => r.metric.map((v, i) => (r.model[i] === kind ? v : null)))];
}

function redraw(state, nodes) {
  const r = state.rows;
  state.charts.pred.setData(predictionSeries(r));
  state.charts.score.setData([r.id, r.metric, r.skill]);
  state.charts.model.setData([r.id, r.model.map(k => state.kinds.indexOf(k))]);
  const n = r.id.length;
  nodes.figures.replaceChildren(
    figure(fmt(state.lastRow, 0), "predictions logged"),
    figure(n ? `${r.model[n - 1]} v${r.version[n - 1]}` : "–", "serving now"),
    figure(fmt(n ? r.metric[n - 1] : null), `rolling ${task.metric}`),
    figure(fmt(n ? r.skill[n - 1] : null), task.skill_over),
  );
  nodes.energy.replaceChildren(...energyTable(state, state.reference));
  nodes.root.dataset.lastRow = String(state.lastRow);
  nodes.root.dataset.updates = String((Number(nodes.root.dataset.updates) || 0) + 1);
}

function figure(value, label) {
  return el("div", { className: "figure" }, el("b", {}, value), el("span", {}, label));
}

// The x axis of the History charts: row ids, and under each the clock time that row was logged at.
function timeAxis(view) {
  return {
    label: "prediction (row id) and its clock time",
    size: 52,
    values: (u, ticks) => ticks.map(t => {
      const i = nearest(view.data.x, t);
      return `${Math.round(t)}\n${i < 0 ? "" : fmtClock(view.data.time_s[i])}`;
    }),
  };
}

function nearest(xs, t) {
  if (!xs.length) return -1;
  let lo = 0, hi = xs.length - 1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid] < t) lo = mid + 1; else hi = mid; }
  return lo;
}

// The whole history and energy over time: min/max per group, every marker, zoom (drag, buttons) and pan.
// Truth and predictions are drawn for a series only (min and max of class indices say nothing);
// the energy chart carries the markers too.
function historyCharts(nodes, stops, onData) {
  const view = { data: null, busy: false, zoomed: false, markers: [] };
  const plugins = [markerPlugin(() => view.markers)];
  // Dragging across a chart selects rows: the selection is loaded at full resolution.
  const selected = u => {
    const { left, width } = u.select;
    if (width > 2) {
      const a = u.posToVal(left, "x"), b = u.posToVal(left + width, "x");
      load(Math.max(1, Math.floor(a)), Math.ceil(b));
    }
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  };
  const drag = { drag: { x: true, y: false, setScale: false } };
  const history = new uPlot({
    title: "History: min and max of each group of rows (drag to zoom)", width: 400, height: 220, plugins,
    scales: { x: { time: false } }, axes: [timeAxis(view), {}], hooks: { setSelect: [selected] }, cursor: drag,
    series: [{ label: "row" }, { label: "truth", stroke: "#1d2430" }, { label: "predicted", stroke: "#2463c9" }],
  }, [[], [], []], nodes.history);
  const goal = { value: null };
  nodes.history.hidden = !task.values;
  const energy = new uPlot({
    title: "Energy per prediction over time (mean of each group) and the energy goal", width: 400, height: 200, plugins,
    scales: { x: { time: false } }, axes: [timeAxis(view), { values: (u, ticks) => ticks.map(t => fmtEnergy(t, 2)), size: 70 }],
    cursor: drag, hooks: { setSelect: [selected] },
    series: [{ label: "row" }, { label: "µJ per prediction", stroke: "#e4572e", value: (u, v) => fmtEnergy(v) },
             { label: "goal", stroke: "#1f7a3a", dash: [6, 4], value: (u, v) => fmtEnergy(v) }],
  }, [[], [], []], nodes.energyChart);
  stops.push(fitWidth(nodes.history, history, 220), fitWidth(nodes.energyChart, energy, 200));

  async function load(first, last) {
    view.busy = true;
    view.zoomed = Boolean(first || last);
    try {
      const width = Math.max(100, Math.min(4000, Math.round((task.values ? nodes.history : nodes.energyChart).clientWidth)));
      const query = new URLSearchParams({ points: String(Math.round(width / 2)) });
      if (first) query.set("first", first);
      if (last) query.set("last", last);
      const data = await api(`/api/history?${query}`);
      view.data = data;
      view.markers = data.markers;
      goal.value = data.energy.goal_uj;
      history.setData([data.x, data.truth, data.pred]);
      energy.setData([data.x, data.energy_uj, data.x.map(() => goal.value)]);
      nodes.span.textContent = data.x.length
        ? `rows ${data.first}–${data.last} of ${data.newest}; ${data.rows_per_group === 1 ? "every row" : `${data.rows_per_group} rows per group`}; ${data.markers.length} markers`
        : "No predictions logged yet.";
      nodes.root.dataset.historyFirst = String(data.first);
      nodes.root.dataset.historyLast = String(data.last);
      onData(data);
    } finally { view.busy = false; }
  }
  const span = () => (view.data ? [view.data.first, view.data.last] : [1, 1]);
  const zoomBy = factor => {
    const [a, b] = span(); const mid = (a + b) / 2, half = Math.max(10, ((b - a) * factor) / 2);
    load(Math.max(1, Math.floor(mid - half)), Math.ceil(mid + half));
  };
  const panBy = share => {
    const [a, b] = span(); const shift = Math.round((b - a) * share);
    const newest = view.data ? view.data.newest : b;
    const first = Math.min(Math.max(1, a + shift), Math.max(1, newest - (b - a)));
    load(first, first + (b - a));
  };
  const button = (text, id, action) => {
    const b = el("button", { className: "secondary", textContent: text, id });
    b.addEventListener("click", action);
    return b;
  };
  nodes.controls.replaceChildren(
    button("◀ earlier", "history-earlier", () => panBy(-0.5)), button("later ▶", "history-later", () => panBy(0.5)),
    button("zoom in", "history-zoom-in", () => zoomBy(0.5)), button("zoom out", "history-zoom-out", () => zoomBy(2)),
    button("whole history", "history-all", () => load(null, null)));
  return { load, zoomed: () => view.zoomed, destroy: () => { history.destroy(); energy.destroy(); } };
}

function gettingStarted(start) {
  return card("Getting started", el("p", {}, "Nothing has been logged in this workspace yet. In order:"),
    el("ol", { id: "getting-started" }, start.steps.map(s => el("li", { className: s.done ? "done" : "" },
      `${s.done ? "✓" : "○"} ${s.what}: `, s.done ? "present" : el("code", {}, s.command)))));
}

export async function render(root) {
  const [data, start] = await Promise.all([api("/api/live"), api("/api/start")]);
  const state = { rows: EMPTY_ROWS(), markers: [], kinds: [], energy: {}, meter: null, charts: {}, lastRow: 0,
                  reference: { calibrated_uj: {}, calibration: null, goal_uj: null } };
  const nodes = { root, figures: el("div", { className: "figures" }), energy: el("div"),
                  history: box("history-chart"), energyChart: box("energy-chart"), span: el("p", { className: "muted" }),
                  controls: el("div", { className: "row controls" }) };
  const boxes = { pred: box("pred-chart"), score: box("score-chart"), model: box("model-chart") };
  const legend = el("div", { className: "legend-markers" },
    Object.entries(MARKER_COLOURS).map(([k, c]) => el("span", {}, el("i", { className: `m-${k}` }), k)));
  const status = el("span", { className: "muted" }, "connecting…");
  const stops = [];
  root.append(
    ...(data.last_row_id === 0 && start.empty ? [gettingStarted(start)] : []),
    card("Now", nodes.figures, status),
    el("div", { className: "row" }, card("Predictions", boxes.pred), card("Accuracy", boxes.score)),
    el("div", { className: "row" }, card("Models over time", boxes.model, legend), card("Energy per prediction", nodes.energy)),
    card("History", nodes.controls, nodes.history, nodes.span, nodes.energyChart));
  makeCharts(state, boxes, stops);
  merge(state, data);
  const whole = historyCharts(nodes, stops, history => { state.reference = history.energy; redraw(state, nodes); });
  await whole.load(null, null);
  let lastHistory = Date.now();
  const stream = new EventSource(`/api/stream?from=${data.last_row_id}:${data.last_event_id}`);
  stream.addEventListener("open", () => { status.textContent = " live"; });
  stream.addEventListener("error", () => { status.textContent = " reconnecting…"; });
  stream.addEventListener("live", message => {
    const update = JSON.parse(message.data);
    if (update.last_row_id < state.lastRow) {  // the workspace was reset: start again
      state.rows = EMPTY_ROWS();
      state.markers = [];
    }
    merge(state, update);
    redraw(state, nodes);
    if (!whole.zoomed() && Date.now() - lastHistory > 30_000) { lastHistory = Date.now(); whole.load(null, null); }
  });
  return () => {
    stream.close();
    stops.forEach(stop => stop());
    Object.values(state.charts).forEach(chart => chart.destroy());
    whole.destroy();
  };
}
