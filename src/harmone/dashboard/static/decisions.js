// Decisions: the event log, newest first: when (clock time), which loop, what it decided and why,
// each compared value beside its threshold, what acting cost in readable units; filter by loop and
// decision; "Older" pages back by event id.
import { api, el, fmt, fmtClock, fmtEnergy } from "./app.js";

function seenText(seen) {
  return Object.entries(seen).map(([key, value]) => {
    if (value && typeof value === "object") {
      value = Object.entries(value).map(([k, v]) => `${k}: ${fmt(v)}`).join(", ");
      return `${key} {${value}}`;
    }
    return `${key} ${fmt(value)}`;
  }).join(" · ");
}

// "window-kl score 0.876 > 0.75 (drift.threshold)"
function comparedList(items) {
  return items.map(c => el("div", { className: "compared" },
    `${c.what} `, el("b", {}, fmt(c.value)), ` ${c.op} `,
    c.threshold === null || c.threshold === undefined ? "–" : fmt(c.threshold),
    el("span", { className: "muted" }, ` (${c.setting})`)));
}

function eventRow(e, names) {
  return el("tr", { "data-event": String(e.id) },
    el("td", { className: "num" }, e.id),
    el("td", { className: "num", title: `${fmt(e.time, 1)} s on the clock` }, fmtClock(e.time)),
    el("td", {}, e.loop),
    el("td", {}, e.action),
    el("td", {}, el("span", { className: "badge" }, names[e.decision] || e.decision), e.outcome ? ` → ${e.outcome}` : ""),
    el("td", {}, e.model ? `${e.model}${e.version ? " v" + e.version : ""}` : "–"),
    el("td", {}, comparedList(e.compared), e.why ? el("div", { className: "why" }, e.why) : null,
      el("div", { className: "muted small" }, seenText(e.seen))),
    el("td", { className: "num" }, e.energy_uj ? fmtEnergy(e.energy_uj) : "–"));
}

export async function render(root) {
  const loop = el("select", { id: "filter-loop" }, el("option", { value: "" }, "every loop"));
  const decision = el("select", { id: "filter-decision" }, el("option", { value: "" }, "every decision"));
  const body = el("tbody");
  const more = el("button", { className: "secondary", textContent: "Older" });
  let oldest = null;
  async function load(reset) {
    if (reset) { body.replaceChildren(); oldest = null; }
    const query = new URLSearchParams({ loop: loop.value, decision: decision.value });
    if (oldest) query.set("before", oldest);
    const page = await api(`/api/decisions?${query}`);
    if (loop.options.length === 1) {
      page.loops.forEach(name => loop.append(el("option", { value: name }, name)));
      page.decisions.forEach(name => decision.append(el("option", { value: name }, page.decision_names[name] || name)));
    }
    page.events.forEach(e => body.append(eventRow(e, page.decision_names)));
    if (page.events.length) oldest = page.events[page.events.length - 1].id;
    more.hidden = !page.more;
    if (!body.children.length) body.append(el("tr", {}, el("td", { colSpan: 8, className: "muted" }, "No events.")));
  }
  loop.addEventListener("change", () => load(true));
  decision.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load(false));
  root.append(el("section", { className: "card" }, el("h2", {}, "Decisions of the loops and operators"),
    el("div", { className: "row" }, loop, decision),
    el("p", { className: "muted" }, "Each compared value is shown beside the threshold it was compared against, "
      + "as harmone.toml sets it now. Time is the managing system's clock."),
    el("div", { className: "scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, ["id", "time", "loop", "action", "decision", "model", "compared with · why · what it saw",
        "energy"].map(h => el("th", {}, h)))), body)), more));
  await load(true);
}
