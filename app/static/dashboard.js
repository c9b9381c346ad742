// The supervisors' pages: legal-clock actions as small forms posting JSON to our own API,
// the completion-time chart (from /api/v1/dashboard/completion) and the money-trail graph.
// Panels are replaced by the server's SSE stream (htmx); the charts redraw after a swap.
(function () {
  "use strict";
  const root = document.getElementById("dashboard") || document.getElementById("case-page");
  if (!root) return;
  const COLOURS = {
    victim: "#1d2733", waiting: "#9aa4b1", sent: "#3d7be0", stopped: "#2e7d32",
    partial: "#e08a00", frozen: "#1565c0", nothing: "#7a1f1f", escalated: "#d32f2f",
    elsewhere: "#7b4fb3", expired: "#a1887f",
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

  // Completion time by institution over the last hours, drawn from our own API.
  const completion = document.getElementById("completion-chart");
  let completionChart = null;
  let lastDrawn = 0;
  async function drawCompletion() {
    if (!completion || !window.echarts) return;
    lastDrawn = Date.now();
    const { ok, data } = await send("/api/v1/dashboard/completion?hours=6&bucket_minutes=15", "GET");
    if (!ok) return;
    const byInstitution = {};
    for (const p of data.points) {
      (byInstitution[p.institution] ||= []).push([p.bucket_start, p.completion_p50_ms / 1000]);
    }
    completionChart ||= window.echarts.init(completion, null, { renderer: "svg" });
    const series = Object.entries(byInstitution).map(([name, points]) => ({
      name, type: "line", showSymbol: points.length < 3, data: points,
    }));
    completionChart.setOption({
      title: { text: series.length ? completion.dataset.title : completion.dataset.empty,
               left: 0, textStyle: { fontSize: 13, fontWeight: 600 } },
      tooltip: { trigger: "axis", valueFormatter: (v) => `${v.toFixed(1)} s` },
      legend: { type: "scroll", top: 0, right: 0, width: "60%" },
      grid: { left: 48, right: 16, top: 40, bottom: 28 },
      xAxis: { type: "time", min: Date.now() - 6 * 3600e3, max: Date.now() },
      yAxis: { type: "value", name: "s", minInterval: 1 },
      animation: false,
      series,
    }, true);
  }

  // The money trail: victim → level 1 → level 2 → level 3, amounts on the edges.
  const trail = document.getElementById("trail-chart");
  let trailChart = null;
  function drawTrail() {
    const source = document.getElementById("trail-data");
    if (!trail || !source || !window.echarts) return;
    const graph = JSON.parse(source.textContent);
    const rows = Math.max(1, ...graph.nodes.map((n) => n.y / 64 + 1));
    trail.style.height = `${Math.min(900, Math.max(260, rows * 56 + 60))}px`;
    trailChart ||= window.echarts.init(trail, null, { renderer: "svg" });
    trailChart.resize();
    trailChart.setOption({
      tooltip: { formatter: (p) => p.dataType === "edge" ? `¥${escapeHTML(p.data.amount)}`
        : [p.data.account_no, p.data.holder, p.data.held && `¥${p.data.held}`]
          .filter(Boolean).map(escapeHTML).join("<br>") },
      animation: false,
      series: [{
        type: "graph", layout: "none", roam: true, edgeSymbol: ["none", "arrow"], edgeSymbolSize: 8,
        label: { show: true, position: "bottom", fontSize: 11, color: "#1d2733" },
        edgeLabel: { show: true, fontSize: 11, color: "#3a4552", formatter: (p) => `¥${Number(p.data.amount).toLocaleString()}` },
        lineStyle: { color: "#9aa4b1", width: 1.4, curveness: 0.08 },
        data: graph.nodes.map((n) => ({
          ...n, symbolSize: n.level === 0 ? 18 : 14, itemStyle: { color: COLOURS[n.status] },
        })),
        links: graph.links.map((l) => ({ ...l, value: Number(l.amount) })),
      }],
    }, true);
  }

  // New outcomes change the chart: at most one fetch every 5 s however busy it is, and
  // always one after the last change.
  let pending = null;
  function completionChanged() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; drawCompletion(); },
                         Math.max(0, 5000 - (Date.now() - lastDrawn)));
  }
  // A panel is not replaced under a supervisor typing in it (a document number would be
  // lost); the next change brings it (the stream sends a panel only when it changed). What
  // was typed in a form being sent, or sent, is not held back: after Enter the focus stays
  // in the field, and the panel the action changed would otherwise never come.
  document.body.addEventListener("htmx:sseBeforeMessage", (event) => {
    const typing = document.activeElement;
    if (typing && typing.tagName === "INPUT" && typing.value && event.target.contains(typing)
        && !typing.closest("form.sending, form.done")) {
      event.preventDefault();
    }
  });
  // A refused Reveal (htmx does not swap error answers): the problem's words on the button.
  document.body.addEventListener("htmx:responseError", (event) => {
    const button = event.detail.elt;
    if (!button.classList.contains("reveal")) return;
    let problem = {};
    try { problem = JSON.parse(event.detail.xhr.responseText); } catch (_) { /* not JSON */ }
    button.textContent = problemText(problem);
    button.disabled = true;
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const id = event.target && event.target.id;
    if (id === "panel-trail") drawTrail();
    if (id === "panel-scorecard") completionChanged();
  });
  window.addEventListener("resize", () => { completionChart && completionChart.resize(); trailChart && trailChart.resize(); });
  function start() { drawCompletion(); drawTrail(); }
  if (window.echarts) start(); else window.addEventListener("load", start);
})();
