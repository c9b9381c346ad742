// The supervisors' pages: legal-clock actions as small forms posting JSON to our own API,
// the completion-time chart (from /api/v1/dashboard/completion) and the money-trail graph.
// Panels are morphed in from the server's SSE stream (htmx, live.js); the charts redraw after.
(function () {
  "use strict";
  const root = document.getElementById("dashboard") || document.getElementById("case-page");
  if (!root) return;
  // A fate's colour is the stylesheet's (.st-<fate>, the swatches beside each row): the chart
  // asks a hidden swatch, so the two can never disagree.
  const probe = document.createElement("span");
  probe.style.display = "none"; // `hidden` would lose to .swatch's display: inline-block
  document.body.append(probe);
  // Asked once per fate, not per node and redraw: each question recomputes the page's style.
  const colours = new Map();
  const colourOf = (status) => {
    if (!colours.has(status)) {
      probe.className = `swatch st-${status}`;
      colours.set(status, getComputedStyle(probe).backgroundColor);
    }
    return colours.get(status);
  };
  // `key`: the form's Idempotency-Key (keyOf), so a double click is one action.
  const headers = (key) => ({
    "Content-Type": "application/json", Accept: "application/json",
    "Accept-Language": root.dataset.lang, "X-CSRF-Token": root.dataset.csrf,
    ...(key ? { "Idempotency-Key": key } : {}),
  });

  // ECharts puts a tooltip formatter's string in as HTML: names from banks are text.
  const escapeHTML = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  function problemText(problem) {
    const first = (problem.errors || [])[0];
    return (first && first.message) || problem.detail || problem.title || "error";
  }

  async function send(url, method, body, key) {
    const answer = await fetch(url, { method, headers: headers(key), body: body && JSON.stringify(body) });
    const data = await answer.json().catch(() => ({}));
    return { ok: answer.ok, status: answer.status, data };
  }

  // Made in the browser on a form's first submit (pages render no key, so an unchanged
  // panel renders the same and the stream sends nothing), kept on the form until the action
  // has a definite answer: a double click, or a retry after a lost or 5xx answer, is one action.
  const keyOf = (form) => (form.dataset.idempotencyKey ||= window.stopayKey());
  const settle = (form, status) => { if (status < 500) delete form.dataset.idempotencyKey; };

  // Legal-clock actions and "handled": every named input becomes a JSON field.
  root.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    event.preventDefault();
    const error = form.querySelector(".err");
    error.textContent = "";
    if (form.classList.contains("return")) return proposeReturn(form, error);
    if (!form.classList.contains("api")) return;
    const body = {};
    for (const input of form.querySelectorAll("input[name]")) {
      if (input.value.trim() !== "") body[input.name] = input.value.trim();
    }
    const button = form.querySelector("button");
    button.disabled = true;
    form.classList.add("sending");
    const { ok, status, data } = await send(form.dataset.url, "POST", body, keyOf(form));
    form.classList.remove("sending");
    settle(form, status);
    if (ok) {
      // Once: a second submit of the same action gets the first answer again.
      if (!form.classList.contains("done")) button.textContent = "✓ " + button.textContent;
      form.classList.add("done");
      return; // the stream brings the new state
    }
    button.disabled = false;
    error.textContent = problemText(data);
  });

  async function proposeReturn(form, error) {
    const q = new URLSearchParams({ institution: form.dataset.institution, account_no: form.dataset.account });
    const url = `/api/v1/cases/${form.dataset.case}/returns/proposal?${q}`;
    const { ok, data } = await send(url, "GET");
    if (!ok) { error.textContent = problemText(data); return; }
    const box = form.querySelector(".proposal");
    box.replaceChildren();
    for (const share of data.shares) {
      const line = document.createElement("div");
      line.textContent = `${share.case_no} ${share.victim_name}: ¥${share.amount} (${data.rule})`;
      box.append(line);
    }
    const confirm = document.createElement("button");
    confirm.type = "button";
    confirm.textContent = root.dataset.lang === "zh-CN" ? "确认返还方案" : "Confirm this split";
    confirm.addEventListener("click", async () => {
      const body = { institution: data.institution, account_no: data.account_no, fingerprint: data.fingerprint };
      const key = `${keyOf(form)}-${data.fingerprint}`.slice(0, 200);
      const answer = await send(`/api/v1/cases/${form.dataset.case}/returns`, "POST", body, key);
      settle(form, answer.status);
      if (!answer.ok) error.textContent = problemText(answer.data);
      else confirm.disabled = true;
    });
    box.append(confirm);
  }

  // Completion time by institution, drawn from our own API. The window is the supervisor's
  // pick, or (auto) the server's choice from the data, the axis then starting at the first
  // bucket; the unit fits the figures (ms, s, min, h) and reads in the page's language.
  const completion = document.getElementById("completion-chart");
  const completionEmpty = document.getElementById("completion-empty");
  const windowPick = document.getElementById("completion-window");
  const zone = root.dataset.zone || undefined;
  const clock = (options) => new Intl.DateTimeFormat(root.dataset.lang, { ...options, hourCycle: "h23", timeZone: zone });
  const hourMinute = clock({ hour: "2-digit", minute: "2-digit" });
  const dayHour = clock({ month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  const UNITS = [["ms", 1, 1000], ["s", 120, 1], ["min", 7200, 1 / 60], ["h", Infinity, 1 / 3600]];
  let completionChart = null;
  let lastDrawn = 0;
  async function drawCompletion() {
    if (!completion || !window.echarts) return;
    lastDrawn = Date.now();
    const picked = windowPick && windowPick.value !== "auto" ? `?hours=${windowPick.value}` : "";
    const { ok, data } = await send(`/api/v1/dashboard/completion${picked}`, "GET");
    if (!ok) return;
    completionEmpty.hidden = data.points.length > 0;
    completion.hidden = data.points.length === 0;
    if (!data.points.length) return;
    const slowest = Math.max(...data.points.map((p) => p.completion_p50_ms / 1000));
    const [unit, , factor] = UNITS.find(([, below]) => slowest < below);
    const byInstitution = {};
    for (const p of data.points) {
      (byInstitution[p.institution] ||= []).push([Date.parse(p.bucket_start), p.completion_p50_ms / 1000 * factor]);
    }
    const now = Date.now();
    const first = Math.min(...data.points.map((p) => Date.parse(p.bucket_start)));
    // At least six buckets or a quarter of an hour across, so labels a minute apart differ.
    const least = Math.max(6 * data.bucket_minutes, 15) * 60e3;
    const from = picked ? now - data.hours * 3600e3 : Math.min(first, now - least);
    const label = now - from > 20 * 3600e3 ? dayHour : hourMinute;
    const unitName = completion.dataset[`unit${unit[0].toUpperCase()}${unit.slice(1)}`];
    completionChart ||= window.echarts.init(completion, null, { renderer: "svg" });
    completionChart.resize();
    completionChart.setOption({
      tooltip: { trigger: "axis", valueFormatter: (v) => `${Number(v).toFixed(v < 10 ? 1 : 0)} ${unitName}` },
      legend: { type: "scroll", top: 0, left: 0, right: 0 },
      grid: { left: 56, right: 24, top: 64, bottom: 28 },
      xAxis: { type: "time", min: from, max: now,
               axisLabel: { formatter: (v) => label.format(v), hideOverlap: true,
                            alignMinLabel: "left", alignMaxLabel: "right" } },
      yAxis: { type: "value", min: 0, name: completion.dataset[`axis${unit[0].toUpperCase()}${unit.slice(1)}`],
               nameLocation: "end", nameGap: 14, nameTextStyle: { align: "left", padding: [0, 0, 0, -48] } },
      animation: false,
      series: Object.entries(byInstitution).map(([name, points]) => ({
        name, type: "line", showSymbol: points.length < 3, data: points,
      })),
    }, true);
  }
  if (windowPick) windowPick.addEventListener("change", drawCompletion);

  // The money trail: victim → level 1 → level 2 → level 3, one column per level and one row
  // per account, on hidden axes so a row is ROW pixels however many there are. Each label
  // carries what the account received; edges have no labels (with many edges they collide),
  // their amounts are in the tooltip.
  const trail = document.getElementById("trail-chart");
  let trailChart = null;
  const ROW = 22, LABEL_ROOM = 180, PAD = 16, MIN_STEP = 210, MAX_STEP = 380, MIN_HEIGHT = 140;
  const yuan = (value) => `¥${Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  // Each column in the order of the rows its money came from (fewer crossing edges).
  function ordered(columns, links) {
    const row = {};
    const sources = {};
    for (const l of links) (sources[l.target] ||= []).push(l.source);
    return columns.map((members) => {
      const place = (n) => {
        const rows = (sources[n.id] || []).map((s) => row[s]).filter((r) => r !== undefined);
        return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
      };
      const sorted = members.map((n, i) => [place(n), i, n]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      sorted.forEach(([, , n], r) => { row[n.id] = r; });
      return sorted.map(([, , n]) => n);
    });
  }
  function trailLayout(graph, width) {
    const levels = [...new Set(graph.nodes.map((n) => n.level))].sort((a, b) => a - b);
    const columns = ordered(levels.map((level) => graph.nodes.filter((n) => n.level === level)), graph.links);
    const rows = Math.max(1, ...columns.map((c) => c.length));
    const room = (width - LABEL_ROOM - 2 * PAD) / Math.max(1, levels.length - 1);
    const step = Math.max(MIN_STEP, Math.min(MAX_STEP, room));
    const received = {};
    for (const l of graph.links) received[l.target] = (received[l.target] || 0) + Number(l.amount);
    const nodes = columns.flatMap((members, column) => members.map(({ x, y, ...n }, row) => ({
      ...n, received: received[n.id], value: [column * step, ((rows - members.length) / 2 + row) * ROW],
    })));
    return { nodes, width: Math.max(1, (levels.length - 1) * step), height: Math.max(1, (rows - 1) * ROW), rows };
  }
  function drawTrail() {
    const source = document.getElementById("trail-data");
    if (!trail || !source || !window.echarts) return;
    const graph = JSON.parse(source.textContent);
    const layout = trailLayout(graph, trail.parentElement.clientWidth || 960);
    const height = Math.max(MIN_HEIGHT, layout.height + 2 * PAD + ROW);
    const margin = Math.max(0, height - 2 * PAD - ROW - layout.height) / 2; // a short trail sits midway
    trail.style.height = `${height}px`;
    trail.style.minWidth = `${layout.width + LABEL_ROOM + 2 * PAD}px`;
    trailChart ||= window.echarts.init(trail, null, { renderer: "svg" });
    trailChart.resize();
    const axis = (max) => ({ type: "value", min: 0, max, show: false });
    trailChart.setOption({
      tooltip: { formatter: (p) => p.dataType === "edge" ? escapeHTML(yuan(p.data.amount))
        : [p.data.account_no, p.data.holder, p.data.received && `→ ${yuan(p.data.received)}`,
           p.data.held && `⏸ ${yuan(p.data.held)}`].filter(Boolean).map(escapeHTML).join("<br>") },
      animation: false,
      grid: { left: PAD, top: PAD + ROW / 2, right: LABEL_ROOM + PAD, bottom: PAD + ROW / 2 },
      // Axes in pixels: a row is ROW high and a column `step` wide, whatever the chart's size.
      xAxis: axis(Math.max(layout.width, trail.clientWidth - LABEL_ROOM - 2 * PAD)),
      yAxis: { ...axis(layout.height + margin), min: -margin, inverse: true },
      series: [{
        type: "graph", coordinateSystem: "cartesian2d", edgeSymbol: ["none", "arrow"], edgeSymbolSize: 7,
        label: { show: true, position: "right", fontSize: 11, color: "#1d2733",
                 backgroundColor: "rgba(255,255,255,.85)", padding: [1, 2],
                 formatter: (p) => p.data.received ? `${p.data.name}  ${yuan(p.data.received)}` : p.data.name },
        lineStyle: { color: "#9aa4b1", width: 1.2, opacity: 0.7 },
        data: layout.nodes.map((n) => ({
          ...n, symbolSize: n.level === 0 ? 16 : 12, itemStyle: { color: colourOf(n.status) },
        })),
        links: graph.links.map((l) => ({ ...l, value: Number(l.amount) })),
      }],
    }, true);
  }

  // The timeline's filter (case page): one group at a time, kept when the stream re-renders.
  function filterTimeline() {
    const panel = document.getElementById("panel-timeline");
    if (!panel) return;
    const chosen = root.dataset.timelineGroup || "";
    for (const chip of panel.querySelectorAll(".tl-filter .chip")) {
      chip.setAttribute("aria-pressed", String(chip.dataset.group === chosen));
    }
    for (const item of panel.querySelectorAll("#timeline > li")) {
      item.hidden = chosen !== "" && item.dataset.group !== chosen;
    }
  }
  root.addEventListener("click", (event) => {
    const chip = event.target.closest(".tl-filter .chip");
    if (chip) { root.dataset.timelineGroup = chip.dataset.group; filterTimeline(); return; }
    // A link to an instruction opens the list it is in before the browser goes to it.
    if (event.target.closest('a[href^="#instruction-"]')) {
      const box = document.getElementById("instructions-box");
      if (box) box.open = true;
    }
  });

  // New outcomes change the chart: at most one fetch every 5 s however busy it is, and
  // always one after the last change.
  let pending = null;
  function completionChanged() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; drawCompletion(); },
                         Math.max(0, 5000 - (Date.now() - lastDrawn)));
  }
  // A refused Reveal (htmx does not swap error answers): the problem's words on the button.
  document.body.addEventListener("htmx:responseError", (event) => {
    const button = event.detail.elt;
    if (!button.classList.contains("reveal")) return;
    let problem = {};
    try { problem = JSON.parse(event.detail.xhr.responseText); } catch (_) { /* not JSON */ }
    button.textContent = problemText(problem);
    button.disabled = true;
  });
  // An actions menu the supervisor opened stays open when the stream re-renders the trail.
  let openMenus = [];
  document.body.addEventListener("htmx:sseBeforeMessage", (event) => {
    if (event.target.id !== "panel-trail") return;
    openMenus = [...event.target.querySelectorAll("tr.account details.actions[open]")]
      .map((menu) => menu.closest("tr.account").id);
  });
  function reopenMenus() {
    for (const id of openMenus) {
      const menu = document.getElementById(id)?.querySelector("details.actions");
      if (menu) menu.open = true;
    }
  }
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const id = event.target && event.target.id;
    if (id === "panel-trail") { reopenMenus(); drawTrail(); }
    if (id === "panel-timeline") filterTimeline();
    if (id === "panel-scorecard") completionChanged();
  });
  window.addEventListener("resize", () => { completionChart && completionChart.resize(); trailChart && trailChart.resize(); });
  function start() { drawCompletion(); drawTrail(); }
  if (window.echarts) start(); else window.addEventListener("load", start);
})();
