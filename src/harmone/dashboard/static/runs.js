// Run control: start and stop `harmone infer` and `harmone manage` for this workspace, with the
// options the command line has (interval, steps, from the start of the stream, time scale).
import { api, post, el, toast } from "./app.js";

function field(label, input) { return el("label", {}, `${label} `, input); }

function runCard(run, refresh) {
  const c = run.command;
  const inputs = {
    time_scale: el("input", { type: "number", min: "0.001", step: "any", id: `${c}-time-scale`,
                              placeholder: c === "manage" ? "as infer, else 1" : "1" }),
  };
  if (c === "infer") {
    inputs.interval = el("input", { type: "number", min: "0", step: "0.01", placeholder: "config", id: "infer-interval" });
    inputs.steps = el("input", { type: "number", min: "1", step: "1", placeholder: "to the end", id: "infer-steps" });
    inputs.from_start = el("input", { type: "checkbox", id: "infer-from-start" });
  }
  const start = el("button", { textContent: `Start ${c}`, disabled: run.running, id: `start-${c}` });
  const stop = el("button", { className: "secondary", textContent: `Stop ${c}`, disabled: !run.running, id: `stop-${c}` });
  start.addEventListener("click", async () => {
    const options = { command: c };
    for (const [name, input] of Object.entries(inputs)) {
      if (input.type === "checkbox") { if (input.checked) options[name] = true; }
      else if (input.value !== "") options[name] = Number(input.value);
    }
    start.disabled = true;
    try { await post("/api/runs/start", options); toast(`${c} started`); } catch (e) { toast(e.message, true); }
    await refresh();
  });
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try { await post("/api/runs/stop", { command: c }); toast(`${c} stopped`); } catch (e) { toast(e.message, true); }
    await refresh();
  });
  const state = run.running ? `running (pid ${run.pid}, time scale ${run.time_scale})`
    : run.exit_code === null ? "not started" : `ended (exit ${run.exit_code})`;
  const fields = c === "infer"
    ? [field("interval s", inputs.interval), field("steps", inputs.steps), field("time scale", inputs.time_scale),
       field("from the start of the stream", inputs.from_start)]
    : [field("time scale", inputs.time_scale)];
  return el("section", { className: "card", "data-run": c, "data-running": String(run.running),
                         "data-exit": run.exit_code === null ? "" : String(run.exit_code) },
    el("h2", {}, `harmone ${c}`),
    el("p", {}, el("span", { className: run.running ? "badge on" : run.exit_code ? "badge bad" : "badge" }, state)),
    el("div", { className: "row" }, fields),
    el("div", { className: "row" }, start, stop),
    run.output ? el("pre", {}, run.output) : null);
}

export async function render(root) {
  const seen = {};
  async function refresh() {
    const data = await api("/api/runs");
    for (const run of data.runs) {  // a run that ended badly since the last look is said out loud
      if (seen[run.command] && !run.running && run.exit_code) toast(`${run.command} ended with exit code ${run.exit_code}`, true);
      seen[run.command] = run.running;
    }
    root.replaceChildren(...data.runs.map(run => runCard(run, refresh)),
      el("p", { className: "muted" }, "Runs take the workspace lock as on the command line; stopping sends SIGTERM "
        + "(logged predictions are kept). A start is confirmed once the run holds its lock; if it fails first, "
        + "its error is shown."));
  }
  await refresh();
  const timer = setInterval(() => {
    if (!document.activeElement || document.activeElement.tagName !== "INPUT") refresh();
  }, 2000);
  return () => clearInterval(timer);
}
