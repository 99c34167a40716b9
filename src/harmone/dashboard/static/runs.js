// Run control: start and stop `harmone infer` and `harmone manage` for this workspace.
import { api, post, el, toast } from "./app.js";

function runCard(run, refresh) {
  const interval = el("input", { type: "number", min: "0", step: "0.01", placeholder: "config", id: `${run.command}-interval` });
  const steps = el("input", { type: "number", min: "1", step: "1", placeholder: "to the end", id: `${run.command}-steps` });
  const start = el("button", { textContent: `Start ${run.command}`, disabled: run.running, id: `start-${run.command}` });
  const stop = el("button", { className: "secondary", textContent: `Stop ${run.command}`, disabled: !run.running, id: `stop-${run.command}` });
  start.addEventListener("click", async () => {
    const options = { command: run.command };
    if (interval.value !== "") options.interval = Number(interval.value);
    if (steps.value !== "") options.steps = Number(steps.value);
    try { await post("/api/runs/start", options); toast(`${run.command} started`); } catch (e) { toast(e.message, true); }
    await refresh();
  });
  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try { await post("/api/runs/stop", { command: run.command }); toast(`${run.command} stopped`); } catch (e) { toast(e.message, true); }
    await refresh();
  });
  const state = run.running ? `running (pid ${run.pid})` : run.exit_code === null ? "not started" : `ended (exit ${run.exit_code})`;
  return el("section", { className: "card", "data-run": run.command, "data-running": String(run.running) },
    el("h2", {}, `harmone ${run.command}`),
    el("p", {}, el("span", { className: run.running ? "badge on" : "badge" }, state)),
    run.command === "infer" ? el("div", { className: "row" }, el("label", {}, "interval s ", interval), el("label", {}, "steps ", steps)) : null,
    el("div", { className: "row" }, start, stop),
    run.output ? el("pre", {}, run.output) : null);
}

export async function render(root) {
  let timer = null;
  async function refresh() {
    const data = await api("/api/runs");
    root.replaceChildren(...data.runs.map(run => runCard(run, refresh)),
      el("p", { className: "muted" }, `Runs take the workspace lock as on the command line; stopping sends SIGTERM (logged predictions are kept).`));
  }
  await refresh();
  timer = setInterval(() => { if (!document.activeElement || document.activeElement.tagName !== "INPUT") refresh(); }, 2000);
  return () => clearInterval(timer);
}
