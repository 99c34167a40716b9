// Approach and policy: the approach and each loop's state in words (when it runs next, what its runs
// did), refreshed every two seconds; change the approach; edit harmone.toml, checked by the server
// and shown as a diff before it is saved (an empty file asks for confirmation).
import { api, post, el, fmt, fmtWait, task, toast } from "./app.js";

const COUNT_WORDS = { runs: "runs", switches: "switches", detections: "drift detections", reuses: "reuses",
                      keeps: "kept the serving version", retrains: "retrainings", failures: "failed retrainings",
                      errors: "errors" };

function countsText(counts) {
  const parts = Object.entries(counts || {}).map(([k, v]) => `${v} ${COUNT_WORDS[k] || k}`);
  return parts.length ? parts.join(", ") : "no runs yet";
}

function loopCard(name, state, next, extra) {
  const when = el("b", { className: "next-run", "data-loop": name }, next ? next.words : "–");
  if (next && next.in_s !== null) when.dataset.due = String(Date.now() + next.in_s * 1000);
  const lines = [el("p", {}, "When: ", when), el("p", {}, "So far: ", countsText(state && state.counts))];
  return el("section", { className: "card loop", "data-loop-card": name }, el("h3", {}, name), ...lines, ...extra);
}

function switchLines(state) {
  if (!state) return [];
  const emas = Object.entries(state.ema || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
  return [el("p", {}, `Score EMA by model: ${emas || "–"}`),
          el("p", {}, `Energy budget ${fmt(state.budget)}`
            + (state.recovery ? `; recovering: no switch for ${state.recovery} more runs` : ""))];
}

function loopsView(data) {
  const loops = data.loops;
  const active = new Set(data.active_loops);
  const cards = [
    loopCard("switch", loops.switch, data.next.switch, switchLines(loops.switch)),
    loopCard("drift", loops.drift, data.next.drift,
      [el("p", {}, `Detector's last score ${fmt(data.drift_score)}`)]),
    loopCard("retrain", loops.retrain, data.next.retrain,
      [el("p", { id: "drift-retrainings" }, `The drift loop retrained ${data.drift_retrainings} times`
        + (data.drift_retrain_failures ? ` (${data.drift_retrain_failures} failed)` : "")
        + "; periodic retrainings are counted above.")]),
  ];
  cards.forEach(c => { if (!active.has(c.dataset.loopCard)) c.classList.add("inactive"); });
  const manager = data.manager
    ? `The managing system runs: ${data.manager}, time scale ${fmt(data.time_scale)}.`
    : "The managing system is not running (start `harmone manage` here or on Run control).";
  return [el("p", { id: "manager-state" }, manager), el("div", { className: "row" }, cards)];
}

function diffView(text) {
  return el("pre", { id: "config-diff" }, text.split("\n").map(line =>
    el("span", { className: line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "" }, line + "\n")));
}

async function configCard() {
  const config = await api("/api/config");
  let base = config.text;
  const area = el("textarea", { id: "config-text", spellcheck: false, value: base });
  const check = el("button", { className: "secondary", textContent: "Check and show diff" });
  const save = el("button", { id: "config-save", textContent: "Save", disabled: true });
  const out = el("div", { id: "config-result" });
  area.addEventListener("input", () => { save.disabled = true; });
  check.addEventListener("click", async () => {
    try {
      const checked = await post("/api/config/check", { text: area.value });
      out.replaceChildren(checked.changed ? diffView(checked.diff) : el("p", { className: "muted" }, "Valid; no change."));
      save.disabled = !checked.changed;
    } catch (error) {
      out.replaceChildren(el("p", { className: "error" }, error.message));
      save.disabled = true;
    }
  });
  save.addEventListener("click", async () => {
    const send = confirm => post("/api/config/save", { text: area.value, base, confirm });
    try {
      try {
        await send(false);
      } catch (error) {
        if (!error.answer || !error.answer.confirm || !window.confirm(`${error.message}?`)) throw error;
        await send(true);
      }
      base = area.value;
      save.disabled = true;
      out.replaceChildren(el("p", {}, `Saved ${config.file}; runs started from now on use it.`));
      toast(`${config.file} saved`);
    } catch (error) { out.replaceChildren(el("p", { className: "error" }, error.message)); }
  });
  return el("section", { className: "card" }, el("h2", {}, config.file), area, el("div", { className: "row" }, check, save), out);
}

export async function render(root) {
  const data = await api("/api/approach");
  const select = el("select", { id: "approach-select" },
    data.approaches.map(a => el("option", { value: a.name, selected: a.name === data.approach },
      `${a.name} — ${a.loops.join(", ") || "no loops"}`)));
  const change = el("button", { id: "approach-change", textContent: "Change approach" });
  const description = el("p", { className: "muted" });
  const describe = () => { description.textContent = data.approaches.find(a => a.name === select.value).description; };
  select.addEventListener("change", describe);
  describe();
  const current = el("b", { id: "approach-current" }, data.approach);
  const summary = el("span");
  const loops = el("section", { className: "card", id: "loops" });
  const show = fresh => {
    summary.textContent = ` · serving ${fresh.active_model} v${fmt(fresh.active_version)} · ${fresh.predictions} predictions`
      + ` · recent ${task.metric} ${fmt(fresh.recent_metric)}`;
    loops.replaceChildren(el("h2", {}, "Loops"), ...loopsView(fresh));
  };
  change.addEventListener("click", async () => {
    try {
      const done = await post("/api/approach", { name: select.value });
      toast(`Approach: ${done.approach}`);
      current.textContent = done.approach;
    } catch (error) { toast(error.message, true); }
  });
  show(data);
  root.append(
    el("section", { className: "card" }, el("h2", {}, "Approach"), el("p", {}, "Current: ", current, summary),
      el("div", { className: "row" }, select, change), description),
    loops, await configCard());
  // Live: the state every two seconds, the countdowns every second in between.
  const refresh = setInterval(async () => { try { show(await api("/api/approach")); } catch (e) { /* next time */ } }, 2000);
  const tick = setInterval(() => {
    root.querySelectorAll(".next-run[data-due]").forEach(node => {
      const left = (Number(node.dataset.due) - Date.now()) / 1000;
      node.textContent = left < 0.5 ? "due now" : `next run in ${fmtWait(left)}`;
    });
  }, 1000);
  return () => { clearInterval(refresh); clearInterval(tick); };
}
