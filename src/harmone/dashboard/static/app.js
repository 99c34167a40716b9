// The page shell: talks to the server (with the session's CSRF token on every change) and
// shows one page at a time, chosen by the URL's #fragment. Each page module exports
// render(root, ctx) and may return a function that stops what it started.
import * as live from "./live.js";
import * as decisions from "./decisions.js";
import * as models from "./models.js";
import * as approach from "./approach.js";
import * as experiments from "./experiments.js";
import * as runs from "./runs.js";

const pages = { live, decisions, models, approach, experiments, runs };
let csrf = null;

// The words of the workspace's task, sent once with the session: metric ("R²", "accuracy"), skill
// ("skill", "kappa-temporal"), baseline, error ("MAE", "error rate"), skill_over, window, and
// values (true when truth and predictions are values that can share an axis, not class indices).
export const task = {};
let stop = null;

export async function api(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// A change: JSON with the session's CSRF token. A refusal throws an Error carrying the answer
// (`error.answer.confirm` when the server wants the change confirmed first).
export async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) {
    const error = new Error(answer.error || response.statusText);
    error.answer = answer;
    throw error;
  }
  return answer;
}

export function toast(message, isError = false) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = isError ? "error" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 3000);
}

// Build an element: el("td", {className: "num"}, "1.5").
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Energy in the unit that reads best: 21.1 J, 3.2 mJ, 114 µJ.
export function fmtEnergy(uj, digits = 3) {
  if (uj === null || uj === undefined || !Number.isFinite(uj)) return "–";
  const size = Math.abs(uj);
  const [value, unit] = size >= 1e6 ? [uj / 1e6, "J"] : size >= 1e3 ? [uj / 1e3, "mJ"] : [uj, "µJ"];
  return `${Number(value.toPrecision(digits))} ${unit}`;
}

// Clock seconds (the loops' and the stream's clock) as 2 d 03:04:05, 03:04:05 or 4:05.
export function fmtClock(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const pad = n => String(n).padStart(2, "0");
  if (d) return `${d} d ${pad(h)}:${pad(m)}:${pad(s % 60)}`;
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

// A wait in words: 12 s, 4 min, 1.5 h.
export function fmtWait(seconds) {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// Keep a chart as wide as its box: called now and whenever the box changes size.
export function fitWidth(box, chart, height) {
  const fit = () => chart.setSize({ width: Math.max(200, box.clientWidth), height });
  const observer = new ResizeObserver(fit);
  observer.observe(box);
  fit();
  return () => observer.disconnect();
}

export function fmt(value, digits = 3) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

let generation = 0;

async function show() {
  const name = (location.hash || "#live").slice(1);
  const page = pages[name] || live;
  const mine = ++generation;
  if (stop) { stop(); stop = null; }
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.dataset.page === name));
  const root = document.getElementById("page");
  const container = el("div", { className: "page" });
  root.replaceChildren(container);
  root.dataset.page = name;
  root.dataset.ready = "";
  let stopper = null;
  try {
    stopper = (await page.render(container)) || null;
  } catch (error) {
    container.append(el("p", { className: "error" }, error.message));
  }
  if (mine !== generation) {  // another page was chosen meanwhile
    if (stopper) stopper();
    return;
  }
  stop = stopper;
  root.dataset.ready = "1";
}

async function start() {
  const session = await api("/api/session");
  csrf = session.csrf;
  Object.assign(task, session.task);
  document.getElementById("workspace").textContent = session.workspace;
  window.addEventListener("hashchange", show);
  await show();
}

start().catch(error => { document.getElementById("page").textContent = error.message; });
