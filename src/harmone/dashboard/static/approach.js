// Approach and policy: the approach and each loop's state; change the approach; edit
// harmone.toml, checked by the server and shown as a diff before it is saved.
import { api, post, el, fmt, toast } from "./app.js";

function stateTable(title, state) {
  if (!state) return el("div", {}, el("h3", {}, title), el("p", { className: "muted" }, "not run yet"));
  const rows = Object.entries(state).map(([k, v]) => el("tr", {}, el("th", {}, k),
    el("td", {}, v && typeof v === "object" ? Object.entries(v).map(([a, b]) => `${a}: ${fmt(b)}`).join(", ") : fmt(v))));
  return el("div", {}, el("h3", {}, title), el("table", {}, rows));
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
    try {
      await post("/api/config/save", { text: area.value, base });
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
  change.addEventListener("click", async () => {
    try {
      const done = await post("/api/approach", { name: select.value });
      toast(`Approach: ${done.approach}`);
      current.textContent = done.approach;
    } catch (error) { toast(error.message, true); }
  });
  const current = el("b", { id: "approach-current" }, data.approach);
  const loops = data.loops;
  root.append(
    el("section", { className: "card" }, el("h2", {}, "Approach"),
      el("p", {}, "Current: ", current, ` · serving ${data.active_model} v${fmt(data.active_version)} · `,
        `${data.predictions} predictions · recent R² ${fmt(data.recent_r2)} · drift score ${fmt(data.drift_score)}`),
      el("div", { className: "row" }, select, change), description),
    el("section", { className: "card" }, el("h2", {}, "Loops"),
      el("div", { className: "row" }, stateTable("switch", loops.switch), stateTable("drift", loops.drift),
        stateTable("retrain", loops.retrain))),
    await configCard());
}
