"use strict";
/* critmin dashboard: plain JS calling /api/v1. No CDN: plotly.js and the world map come from this server. */
const PLOT_CONFIG = { displaylogo: false, responsive: true, topojsonURL: "/assets/" };
const STAGES = { mining: "Mining", separation: "Separation", metal_alloy: "Metal and alloy", magnet: "Magnets",
  component: "Components", end_use: "End use", refining: "Refining", recycling: "Recycling", processing: "Processing",
  production: "Production", smelting: "Smelting" };
const REGIONS = { exCHN: "All regions outside China", ROW: "Rest of world", EU27: "European Union (27)", CHN: "China",
  USA: "United States", JPN: "Japan", KOR: "South Korea", IND: "India", AUS: "Australia", MYS: "Malaysia",
  VNM: "Viet Nam", BRA: "Brazil", MMR: "Myanmar", CAN: "Canada", GBR: "United Kingdom", TWN: "Taiwan" };
const state = { scenarios: [], job: null, lastRun: null, polling: null, plans: [], planJob: null };

function $(id) { return document.getElementById(id); }
function human(id) { return STAGES[id] || REGIONS[id] || String(id).replace(/[_.]/g, " "); }
function setStatus(text) { $("status").textContent = text || ""; }
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function option(select, value, label) {
  const o = document.createElement("option"); o.value = value; o.textContent = label; select.appendChild(o); return o;
}
function cell(tr, text, cls, tag) {
  const td = document.createElement(tag || "td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td;
}
function pct(v) { return v === null || v === undefined ? "-" : (100 * v).toFixed(v >= 0.1 ? 0 : 1) + "%"; }

async function api(path, opts) {
  opts = opts || {};
  const headers = Object.assign({}, opts.headers || {});
  const tok = sessionStorage.getItem("critmin-token");
  if (tok) headers.Authorization = "Bearer " + tok;
  const r = await fetch("/api/v1" + path, Object.assign({}, opts, { headers }));
  let doc = null;
  try { doc = await r.json(); } catch (e) { doc = { error: "the server answered " + r.status }; }
  if (r.status === 401 || (r.status === 403 && doc && doc.field === "Authorization")) {
    $("token-form").hidden = false;
  }
  if (!r.ok) {
    const msg = (doc && doc.error ? doc.error : "request failed") + (doc && doc.fix && !String(doc.error).includes("Fix:") ? ". Fix: " + doc.fix : "");
    throw new Error(msg);
  }
  return doc;
}

async function plot(div, path) {
  const fig = await api(path);
  fig.layout = fig.layout || {};
  if (!fig.layout.height) fig.layout.height = 600;  // a div without a height would shrink the plot
  await Plotly.react($(div), fig.data, fig.layout, PLOT_CONFIG);
  return fig;
}

async function guarded(fn) {
  try { setStatus(""); await fn(); } catch (e) { setStatus("error: " + e.message); }
}

/* ---------------------------------------------------------------- pages */
function showPage() {
  const page = (location.hash || "#overview").slice(1);
  document.querySelectorAll("section.page").forEach(s => s.classList.toggle("active", s.id === "page-" + page));
  document.querySelectorAll("nav a[data-page]").forEach(a => a.classList.toggle("active", a.dataset.page === page));
  const loaders = { overview: loadOverview, flows: loadFlows, scenarios: loadScenarios, plans: loadPlans, projects: loadProjects, screening: () => {} };
  if (loaders[page] && !showPage.loaded[page]) { showPage.loaded[page] = true; guarded(loaders[page]); }
  document.body.dataset.page = page;
}
showPage.loaded = {};

/* Overview */
let commodities = [];
async function loadOverview() {
  const info = await api("/dataset");
  $("data-version").textContent = "data " + info.data_version;
  commodities = info.commodities;
  const sel = $("ov-commodity"); clear(sel);
  commodities.forEach(c => option(sel, c.id, c.name));
  sel.value = "rare_earths";
  fillStages();
  $("ov-stage").value = "separation";
  await drawOverview();
}
function fillStages() {
  const c = commodities.find(x => x.id === $("ov-commodity").value);
  const sel = $("ov-stage"); clear(sel);
  (c ? c.stages : ["mining"]).forEach(s => option(sel, s, human(s)));
}
async function drawOverview() {
  const c = $("ov-commodity").value, st = $("ov-stage").value, y = $("ov-year").value, imp = $("ov-importer").value || "USA";
  const q = "commodity=" + encodeURIComponent(c) + (y ? "&year=" + encodeURIComponent(y) : "");
  const results = await Promise.allSettled([
    plot("ov-map", "/figures/choropleth?" + q + "&stage=" + encodeURIComponent(st)),
    plot("ov-bars", "/figures/stage-bars?" + q),
    api("/exposure?" + q + "&importer=" + encodeURIComponent(imp)).then(renderExposure),
  ]);
  const bad = results.filter(r => r.status === "rejected").map(r => r.reason.message);
  if (bad.length) setStatus("error: " + bad.join(" | "));
}
function renderExposure(doc) {
  const t = $("ov-table"); clear(t);
  const head = document.createElement("tr");
  ["Stage", "Year", "Largest supplier", "Share", "Top 3", "HHI (0-10,000)", "Supply left without the largest (N-1)", "Basis"].forEach(h => cell(head, h, null, "th"));
  t.appendChild(head);
  (doc.stages || []).forEach(s => {
    const tr = document.createElement("tr");
    cell(tr, human(s.stage) + (s.stage === doc.chokepoint ? " (chokepoint)" : ""));
    cell(tr, s.year, "num");
    cell(tr, s.top1_country ? (REGIONS[s.top1_country] || s.top1_country) : "-");
    cell(tr, pct(s.top1_share), "num"); cell(tr, pct(s.top3_share), "num");
    cell(tr, s.hhi === null ? "-" : Math.round(s.hhi).toLocaleString("en"), "num");
    cell(tr, pct(s.n_minus_1_coverage), "num");
    cell(tr, String(s.basis_kind || "").replace(/_/g, " "));
    t.appendChild(tr);
  });
  const n = doc.net_import_reliance;
  $("ov-nir").textContent = n ? ("Net import reliance of " + (REGIONS[doc.importer] || doc.importer) + ", " + n.year + ": " +
    (n.bound === "net_exporter" ? "net exporter" : pct(n.value)) + (n.form ? " (" + n.form + ")" : "")) :
    "No net import reliance figure for " + (REGIONS[doc.importer] || doc.importer) + ".";
  $("ov-notes").textContent = (doc.notes || []).join(" ");
}

/* Flows */
async function loadFlows() { await drawFlows(); }
async function drawFlows() {
  const min = Math.max(0, Number($("fl-min").value || 0)) / 100;
  await plot("fl-sankey", "/figures/flows?year=" + encodeURIComponent($("fl-year").value) + "&min_share=" + min);
}

/* Projects */
async function loadProjects() { await plot("pj-gantt", "/figures/projects"); }

/* Scenarios */
async function loadScenarios() {
  const doc = await api("/scenarios");
  state.scenarios = doc.scenarios;
  const sel = $("sc-name"); clear(sel);
  doc.scenarios.filter(s => !s.name.startsWith("backtest")).forEach(s => option(sel, s.name, s.name.replace(/-/g, " ")));
  sel.value = "controls-reimposed-2026-11";
  pickScenario();
  await refreshRuns();
}
function pickScenario() {
  const s = state.scenarios.find(x => x.name === $("sc-name").value);
  if (!s) return;
  $("sc-start").value = s.start; $("sc-end").value = s.end;
  $("sc-description").textContent = s.description;
  const box = $("sc-events"); clear(box);
  s.events.forEach(e => {
    const lab = document.createElement("label");
    const cb = document.createElement("input"); cb.type = "checkbox"; cb.checked = true; cb.dataset.event = e.id;
    const d = document.createElement("input"); d.type = "date"; d.value = e.date; d.dataset.eventDate = e.id; d.dataset.original = e.date;
    const txt = document.createElement("span"); txt.textContent = e.id.replace(/-/g, " ") + " (" + String(e.kind).replace(/_/g, " ") + ")";
    lab.appendChild(cb); lab.appendChild(txt); lab.appendChild(d); box.appendChild(lab);
  });
  if (!s.events.length) box.textContent = "(none of its own)";
  const reg = $("sc-region"); clear(reg);
  option(reg, "exCHN", REGIONS.exCHN);
  s.regions.filter(r => r !== "CHN").forEach(r => option(reg, r, REGIONS[r] || r));
  const ch = $("sc-chain"); clear(ch);
  s.chains.forEach(c => option(ch, c, human(c)));
}
function simulationRequest() {
  const body = { scenario: $("sc-name").value, paths: Number($("sc-paths").value || 1), seed: Number($("sc-seed").value || 0) };
  const s = state.scenarios.find(x => x.name === body.scenario);
  if ($("sc-start").value && $("sc-start").value !== s.start) body.start = $("sc-start").value;
  if ($("sc-end").value && $("sc-end").value !== s.end) body.end = $("sc-end").value;
  const params = {};
  const fields = {};
  if ($("sc-approval").value !== "") {
    const rate = Number($("sc-approval").value);
    params["licence.approval_rate"] = rate;  // the regime before the scenario's own changes ...
    s.events.filter(e => e.kind === "approval_rate").forEach(e => { fields[e.id] = { approval_rate: rate }; });  // ... and after
  }
  if ($("sc-stockpile").value !== "") params["stockpile.usa_t"] = Number($("sc-stockpile").value);
  if ($("sc-delay").value !== "") params["capacity.project_delay_months"] = Number($("sc-delay").value);
  if (Object.keys(params).length) body.parameters = params;
  const drop = [], dates = {};
  document.querySelectorAll("#sc-events input[data-event]").forEach(cb => { if (!cb.checked) drop.push(cb.dataset.event); });
  document.querySelectorAll("#sc-events input[data-event-date]").forEach(d => {
    if (d.value && d.value !== d.dataset.original && !drop.includes(d.dataset.eventDate)) dates[d.dataset.eventDate] = d.value;
  });
  if (drop.length) body.drop_events = drop;
  Object.keys(fields).forEach(k => { if (drop.includes(k)) delete fields[k]; });
  if (Object.keys(fields).length) body.event_fields = fields;
  if (Object.keys(dates).length) body.event_dates = dates;
  return body;
}
async function runScenario() {
  document.body.dataset.job = "submitting";
  const job = await api("/simulations", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(simulationRequest()) });
  state.job = job.job_id;
  $("sc-cancel").disabled = false; $("sc-run").disabled = true; $("sc-progress").value = 0;
  await poll(job.job_id);
}
async function poll(id) {
  for (;;) {
    const s = await api("/simulations/" + id);
    $("sc-progress").value = s.progress.fraction;
    if (s.status !== "queued" && s.status !== "running") {
      $("sc-cancel").disabled = true; $("sc-run").disabled = false;
      if (s.status === "done") {
        state.lastRun = s.run_id || s.job_id;
        await drawFans(); await refreshRuns();
        setStatus("");
        document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
      } else {
        setStatus(s.status === "cancelled" ? "run cancelled" : "error: " + ((s.error && s.error.error) || s.status));
      }
      document.body.dataset.job = s.status;
      return s;
    }
    await new Promise(r => setTimeout(r, 250));
  }
}
async function drawFans() {
  if (!state.lastRun) return;
  const base = state.lastRun.startsWith("job-") ? "/simulations/" : "/runs/";
  const other = $("sc-other").value ? "&other=" + encodeURIComponent($("sc-other").value) : "";
  const region = $("sc-region").value, chain = $("sc-chain").value;
  const s = state.scenarios.find(x => x.name === $("sc-name").value);
  const primary = s ? s.chains[0] : chain;
  const q = (region !== "exCHN" ? "&region=" + encodeURIComponent(region) : "") + (chain && chain !== primary ? "&chain=" + encodeURIComponent(chain) : "");
  await plot("sc-fan-shortfall", base + state.lastRun + "/figures/fan?metric=shortfall_pct_ex_china" + q + other);
  await plot("sc-fan-price", base + state.lastRun + "/figures/fan?metric=price_ratio_ex_china" + (chain && chain !== primary ? "&chain=" + encodeURIComponent(chain) : "") + other);
}
async function refreshRuns() {
  const doc = await api("/runs");
  doc.runs = doc.runs.filter(r => r.kind === "simulation");  // plan runs compare on the Plans page's API
  const label = r => r.name + ", " + r.paths + " paths, seed " + r.seed + ", " + r.created_at.slice(0, 19).replace("T", " ") + " (" + r.run_id + ")";
  ["cmp-a", "cmp-b", "sc-other"].forEach(id => {
    const sel = $(id), keep = sel.value; clear(sel);
    if (id === "sc-other") option(sel, "", "(none)");
    doc.runs.slice().reverse().forEach(r => option(sel, r.run_id, label(r)));
    if (keep) sel.value = keep;
  });
  if (doc.runs.length > 1 && !$("cmp-b").dataset.touched) { $("cmp-a").selectedIndex = 1; $("cmp-b").selectedIndex = 0; }
}
async function compareRuns() {
  const a = $("cmp-a").value, b = $("cmp-b").value;
  if (!a || !b) throw new Error("store two runs first (run a scenario twice with different knobs)");
  await plot("cmp-fan-a", "/runs/" + a + "/figures/fan?other=" + encodeURIComponent(b));
  await plot("cmp-fan-b", "/runs/" + a + "/figures/fan?metric=price_ratio_ex_china&other=" + encodeURIComponent(b));
  const doc = await api("/runs/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b));
  const t = $("cmp-table"); clear(t);
  const head = document.createElement("tr");
  ["Region", "Product", "Measure (the main regions; all rows: /api/v1/runs/compare)", "Median A", "Median B", "Difference B - A"].forEach(h => cell(head, h, null, "th"));
  t.appendChild(head);
  const order = { exCHN: 0, USA: 1, EU27: 2, JPN: 3, KOR: 4, IND: 5 };
  doc.rows.filter(r => r.product.indexOf(":") < 0 && (r.p50_a !== 0 || r.p50_b !== 0) && r.region in order)
    .sort((x, y) => order[x.region] - order[y.region]).forEach(r => {
    const tr = document.createElement("tr");
    cell(tr, r.region_label); cell(tr, r.product_label); cell(tr, r.metric_label);
    const f = v => v === null ? "-" : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en") : Number(v).toPrecision(3);
    cell(tr, f(r.p50_a), "num"); cell(tr, f(r.p50_b), "num"); cell(tr, f(r.diff_p50), "num");
    t.appendChild(tr);
  });
}

/* Plans */
function money(musd) {
  if (musd === null || musd === undefined) return "-";
  const v = Number(musd);
  return Math.abs(v) >= 1000 ? "US$ " + (v / 1000).toLocaleString("en", { maximumFractionDigits: 1 }) + " bn" :
    "US$ " + v.toLocaleString("en", { maximumFractionDigits: 1 }) + " m";
}
async function loadPlans() {
  const doc = await api("/plans/bundled");
  state.plans = doc.plans;
  const sel = $("pl-name"); clear(sel);
  doc.plans.forEach(p => option(sel, p.name, p.name + ": " + p.buyers.map(b => b.label).join(", ")));
  sel.value = doc.plans.some(p => p.name === "us") ? "us" : doc.plans[0].name;
  pickPlan();
}
function pickPlan() {
  const p = state.plans.find(x => x.name === $("pl-name").value);
  if (!p) return;
  $("pl-description").textContent = p.description + " Scenario: " + p.scenario.replace(/-/g, " ") + "; " +
    p.years[0] + "-" + p.years[1] + "; products: " + p.products.map(x => x.label).join(", ") +
    "; the plan's own setting is " + p.futures + " futures (seed " + p.seed + ").";
}
function planRequest() {
  const body = { plan: $("pl-name").value, futures: Number($("pl-futures").value || 6) };
  if ($("pl-seed").value !== "") body.seed = Number($("pl-seed").value);
  if ($("pl-verify").checked) { body.verify = true; body.paths = Number($("pl-paths").value || 20); }
  if ($("pl-frontier").checked) {
    body.frontier = true;
    const months = $("pl-months").value.split(/[ ,;]+/).filter(x => x !== "").map(Number);
    if (months.some(m => !Number.isInteger(m))) throw new Error("frontier targets: whole months, e.g. 0, 6, 12");
    if (months.length) body.frontier_months = months;
  }
  return body;
}
async function runPlan() {
  document.body.dataset.planJob = "submitting";
  const body = planRequest();
  const job = await api("/plans", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  state.planJob = job.job_id;
  $("pl-cancel").disabled = false; $("pl-run").disabled = true; $("pl-progress").value = 0;
  try {
    for (;;) {
      const s = await api("/plans/" + job.job_id);
      $("pl-progress").value = s.progress.fraction;
      $("pl-phase").textContent = s.status === "queued" ? "queued" : (s.phase || s.status);
      if (s.status !== "queued" && s.status !== "running") {
        if (s.status === "done") await showPlan(job.job_id);
        else setStatus(s.status === "cancelled" ? "plan cancelled" : "error: " + ((s.error && s.error.error) || s.status));
        document.body.dataset.planJob = s.status;
        return s;
      }
      document.body.dataset.planJob = s.status;
      await new Promise(r => setTimeout(r, 300));
    }
  } finally {
    $("pl-cancel").disabled = true; $("pl-run").disabled = false;
  }
}
function table(t, heads, rows) {
  clear(t);
  const head = document.createElement("tr");
  heads.forEach(h => cell(head, h, null, "th"));
  t.appendChild(head);
  rows.forEach(cells => {
    const tr = document.createElement("tr");
    cells.forEach(c => Array.isArray(c) ? cell(tr, c[0], c[1]) : cell(tr, c));
    t.appendChild(tr);
  });
}
async function showPlan(jobId) {
  const res = await api("/plans/" + jobId + "/result");
  const v = res.view;
  const id = res.run_id || jobId;
  $("pl-headline").textContent = v.plan + ": " + v.status + ", expected net present cost " + money(v.objective_musd) +
    " over " + v.years[0] + "-" + v.years[1] + ", optimised on " + v.futures + " futures of " + String(v.scenario).replace(/-/g, " ") +
    " (seed " + res.seed + ")" + (res.run_id ? ". Stored as run " + res.run_id + "." : ".");
  const conf = $("pl-conflicts"); clear(conf);
  v.conflicts.forEach(c => { const li = document.createElement("li"); li.textContent = "Conflicting target: " + c; conf.appendChild(li); });
  const num = x => x === null || x === undefined ? "-" : Number(x).toLocaleString("en", { maximumFractionDigits: 0 });
  table($("pl-portfolio"), ["Instrument", "Buyer", "Project", "Product", "Host", "Years", "Amount", "Unit", "Terms"],
    v.portfolio.map(r => [r.instrument_label, r.buyer_label, r.project_label || "-", r.product_label, r.host_label,
      r.years, [num(r.amount), "num"], r.unit_label, r.detail]));
  if (!v.portfolio.length) table($("pl-portfolio"), ["Instrument"], [["(no portfolio: " + v.status + ")"]]);
  await plot("pl-costs", "/plans/" + id + "/figures/costs");
  const sh = $("pl-shadows"); clear(sh);
  (v.shadow_prices.length ? v.shadow_prices : ["No target binds: the least-cost portfolio meets every target with room to spare."])
    .forEach(t => { const li = document.createElement("li"); li.textContent = t; sh.appendChild(li); });
  $("pl-frontier-box").hidden = !v.has_frontier;
  if (v.has_frontier) {
    await plot("pl-frontier-fig", "/plans/" + id + "/figures/frontier");
    table($("pl-alternatives"), ["Portfolio", "Status", "Expected cost", "Stockpile (t)", "Offtakes (t a year)", "Projects co-financed", "Price floors"],
      v.alternatives.map(a => [a.portfolio, a.status, [money(a.expected_cost_musd), "num"], [num(a.stockpile_t), "num"],
        [num(a.offtake_t_per_year), "num"], [num(a.cofinanced), "num"], [num(a.floors), "num"]]));
  }
  if (v.verification.length) {
    table($("pl-verification"), ["Target", "In-sample (the " + v.futures + " futures optimised on)", "Out-of-sample (" + v.verification_paths + " unseen futures, full simulator)", "Gap"],
      v.verification.map(r => [r.target, [pct(r.in_sample), "num"], [r.out_of_sample === null ? "not checked" : pct(r.out_of_sample), "num"],
        [r.gap === null ? "-" : (100 * r.gap).toFixed(0) + " points", "num"]]));
    $("pl-verify-notes").textContent = v.verification_notes.join("; ");
  } else {
    table($("pl-verification"), ["Target", "In-sample (the " + v.futures + " futures optimised on)"],
      v.in_sample.map(r => [r.target, [pct(r.share), "num"]]));
    $("pl-verify-notes").textContent = "Tick the closed-loop check to replay the portfolio in the full simulator on futures the optimisation did not see.";
  }
  document.body.dataset.plans = String(Number(document.body.dataset.plans || 0) + 1);
}

/* Screening */
async function screenBom(ev) {
  ev.preventDefault();
  const f = $("scr-file").files[0];
  if (!f) throw new Error("choose a BOM CSV first");
  const form = new FormData(); form.append("bom", f, f.name);
  const q = [];
  if ($("scr-date").value) q.push("as_of=" + encodeURIComponent($("scr-date").value));
  if ($("scr-dest").value) q.push("destination=" + encodeURIComponent($("scr-dest").value));
  const doc = await api("/screen" + (q.length ? "?" + q.join("&") : ""), { method: "POST", body: form });
  const t = $("scr-table"); clear(t);
  const head = document.createElement("tr");
  ["Product", "Value (US$)", "Controlled content (US$)", "Share of value", "Licence", "Under rule", "Components that trip it"].forEach(h => cell(head, h, null, "th"));
  t.appendChild(head);
  doc.verdicts.forEach(v => {
    const tr = document.createElement("tr");
    cell(tr, v.product_id); cell(tr, Number(v.product_value_usd).toLocaleString("en"), "num");
    cell(tr, Number(v.controlled_value_usd).toPrecision(4), "num"); cell(tr, (100 * v.share).toPrecision(3) + "%", "num");
    cell(tr, v.licence_required ? "REQUIRED" : "not needed", v.licence_required ? "required" : null);
    cell(tr, v.rules || "-"); cell(tr, v.tripping_components || "-");
    t.appendChild(tr);
  });
  const box = $("scr-rules"); clear(box);
  (doc.rule_status || []).forEach(r => {
    const p = document.createElement("p");
    const threshold = r.threshold_share === 0 ? "any controlled content" : r.comparison + " " + (100 * r.threshold_share).toPrecision(3) + "% of value";
    p.textContent = r.id + " (" + r.instrument + "; " + threshold + "; " + (r.controlled_elements || []).join(", ") +
      " from " + (r.origin_countries || []).join(", ") + "): " + (r.in_force ? "IN FORCE" : "not in force") + ": " + r.reason +
      ". Who needs the licence: the exporter in " + (r.origin_countries || []).join(", ") + " shipping the controlled content.";
    box.appendChild(p);
  });
}

/* ---------------------------------------------------------------- wiring */
window.addEventListener("hashchange", showPage);
document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", ev => { ev.preventDefault(); sessionStorage.setItem("critmin-token", $("token").value); location.reload(); });
  $("ov-commodity").addEventListener("change", () => { fillStages(); guarded(drawOverview); });
  $("ov-go").addEventListener("click", () => guarded(drawOverview));
  $("fl-go").addEventListener("click", () => guarded(drawFlows));
  $("sc-name").addEventListener("change", pickScenario);
  $("sc-run").addEventListener("click", () => guarded(runScenario));
  $("sc-cancel").addEventListener("click", () => guarded(async () => { if (state.job) await api("/simulations/" + state.job, { method: "DELETE" }); }));
  $("sc-redraw").addEventListener("click", () => guarded(drawFans));
  $("sc-region").addEventListener("change", () => guarded(drawFans));
  $("sc-chain").addEventListener("change", () => guarded(drawFans));
  $("cmp-b").addEventListener("change", () => { $("cmp-b").dataset.touched = "1"; });
  $("cmp-go").addEventListener("click", () => guarded(compareRuns));
  $("scr-form").addEventListener("submit", ev => guarded(() => screenBom(ev)));
  $("pl-name").addEventListener("change", pickPlan);
  $("pl-run").addEventListener("click", () => guarded(runPlan));
  $("pl-cancel").addEventListener("click", () => guarded(async () => { if (state.planJob) await api("/plans/" + state.planJob, { method: "DELETE" }); }));
  $("scr-date").value = new Date().toISOString().slice(0, 10);
  showPage();
});
