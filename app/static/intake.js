// The call-taker's form: live parts on top of a page that also works as a plain form post.
// Amount and time rules mirror app/intake/parsing.py (the tests pin the Python side; the
// browser tests drive these). Inputs are named by the API's field paths.
(function () {
  "use strict";
  const zoneOf = document.querySelector("[data-zone]");
  const ZONE = zoneOf ? zoneOf.dataset.zone : "Asia/Shanghai";

  // ---------- amounts and times (same rules as app/intake/parsing.py) ----------
  const UNITS = { "万": 4, "w": 4, "亿": 8 };
  function parseAmount(text) {
    let raw = text.normalize("NFKC").trim().toLowerCase();
    for (const noise of ["¥", "cny", "rmb", "元", " "]) raw = raw.split(noise).join("");
    let shift = 0;
    if (raw && raw.slice(-1) in UNITS) { shift = UNITS[raw.slice(-1)]; raw = raw.slice(0, -1); }
    if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(raw)) raw = raw.split(",").join("");
    if (!/^\d+(\.\d+)?$|^\.\d+$/.test(raw)) return null;
    let [whole, frac = ""] = raw.split(".");
    frac = frac.padEnd(shift, "0");
    whole = (whole + frac.slice(0, shift)).replace(/^0+(?=\d)/, "") || "0";
    frac = frac.slice(shift);
    if (/[1-9]/.test(frac.slice(2))) return null; // fractions of a fen: a typo
    return whole + "." + frac.slice(0, 2).padEnd(2, "0");
  }

  const localFmt = new Intl.DateTimeFormat("sv-SE", {
    timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const local = (date) => localFmt.format(date).replace(",", ""); // "2026-11-22 14:05:00"
  const NOW_WORDS = ["now", "just now", "现在", "刚才", "刚刚"];
  const YESTERDAY = ["yesterday", "昨天", "昨晚", "昨日"];
  const CLOCK = /^(\d{1,2})(?::|点|时)(\d{2})?(?:(?::|分)(\d{2})?)?(?:秒)?$/;
  const AGO = /^(\d+)\s*(?:(m|min|mins|minute|minutes|分钟|分)|(h|hr|hrs|hour|hours|小时|个小时))\s*(?:ago|前|之前)?$/;
  const pad = (n) => String(n).padStart(2, "0");

  // Returns {iso, display, relative} or null. `iso` without an offset is centre time.
  function parseTime(text, now = new Date()) {
    let raw = text.normalize("NFKC").trim().toLowerCase();
    const minute = new Date(Math.floor(now.getTime() / 60000) * 60000);
    const back = (ms) => {
      const at = new Date(minute.getTime() - ms);
      const shown = local(at).slice(0, 16);
      // Today's times as 14:05 (read back the same way); earlier ones with their date.
      const display = shown.slice(0, 10) === local(now).slice(0, 10) ? shown.slice(11) : shown;
      return { iso: at.toISOString(), display, relative: true };
    };
    if (NOW_WORDS.includes(raw)) return back(0);
    if (raw === "半小时前" || raw === "half an hour ago") return back(30 * 60000);
    const ago = AGO.exec(raw);
    if (ago) return back(Number(ago[1]) * (ago[2] ? 60000 : 3600000));
    let daysBack = 0;
    for (const word of YESTERDAY) {
      if (raw.startsWith(word)) { raw = raw.slice(word.length).trim(); daysBack = 1; break; }
    }
    const clock = CLOCK.exec(raw);
    if (clock) {
      const [h, m, s] = [clock[1], clock[2], clock[3]].map((g) => Number(g || 0));
      if (h > 23 || m > 59 || s > 59) return null;
      const today = local(now).slice(0, 10);
      let day = today;
      const at = `${pad(h)}:${pad(m)}:${pad(s)}`;
      if (daysBack || `${today} ${at}` > local(new Date(now.getTime() + 5 * 60000))) {
        const [y, mo, d] = today.split("-").map(Number);
        const prev = new Date(Date.UTC(y, mo - 1, d - 1));
        day = prev.toISOString().slice(0, 10);
      }
      return { iso: `${day}T${at}`, display: `${day} ${at.slice(0, 5)}`, relative: false };
    }
    if (daysBack) return null;
    const full = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ t](\d{1,2}):(\d{2})(?::(\d{2}))?(z|[+-]\d{2}:?\d{2})?$/.exec(raw);
    if (!full) return null;
    const [, y, mo, d, h, mi, s = "0", zone] = full;
    const naive = `${y}-${pad(mo)}-${pad(d)}T${pad(h)}:${mi}:${pad(s)}`;
    if (zone) {
      const at = new Date(naive + zone.toUpperCase());
      return isNaN(at) ? null : { iso: at.toISOString(), display: local(at).slice(0, 16), relative: false };
    }
    return { iso: naive, display: text.trim(), relative: false };
  }

  // The instant of a centre-time ISO string without offset (for the clock).
  function instantOf(iso) {
    if (/z$|[+-]\d{2}:?\d{2}$/i.test(iso)) return new Date(iso);
    const guess = new Date(iso + "Z");
    const shown = new Date(local(guess).replace(" ", "T") + "Z");
    return new Date(guess.getTime() - (shown.getTime() - guess.getTime()));
  }

  window.stopayParse = { parseAmount, parseTime }; // the status page's resend uses them too
  const form = document.getElementById("intake");
  if (!form) return;
  const cfg = JSON.parse(document.getElementById("intake-config").textContent);
  const msg = (key) => cfg.messages[key] || key;
  const $ = (id) => document.getElementById(id);
  const field = (name) => form.elements.namedItem(name);

  // ---------- rows ----------
  // A transfer row counts as entered once one of these is (not the carried paying account).
  const TYPED = ["to.account_no", "to.holder_name", "amount", "occurred_at", "reference"];
  const transferRows = $("transfer-rows");
  const contactRows = $("contact-rows");
  const rowsOf = (body) => Array.from(body.children);

  function renumber(body, section) {
    rowsOf(body).forEach((row, i) => {
      row.dataset.row = i;
      const num = row.querySelector(".num");
      if (num) num.textContent = i + 1;
      row.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach((el) => {
        for (const attr of ["name", "id", "for", "aria-describedby"]) {
          const v = el.getAttribute(attr);
          if (v) el.setAttribute(attr, v.replace(new RegExp(`${section}\\.(\\d+|__i__)\\.`), `${section}.${i}.`));
        }
      });
    });
  }

  function addRow(kind, { focus = true, copyFrom = true } = {}) {
    const body = kind === "transfers" ? transferRows : contactRows;
    const template = $(kind === "transfers" ? "transfer-row-template" : "contact-row-template");
    const previous = body.lastElementChild;
    if (focus && previous && isBlank(previous, kind)) {
      // Never a second empty row: the empty one at the end is where the next entry goes.
      const name = kind === "transfers" ? "to.account_no" : "value";
      const first = previous.querySelector(`[name$=".${name}"]`);
      (first.closest("tr") && !previous.querySelector('[name$=".from.account_no"]').value
        ? previous.querySelector("input") : first).focus();
      return previous;
    }
    const row = template.content.firstElementChild.cloneNode(true);
    body.appendChild(row);
    renumber(body, kind);
    const i = rowsOf(body).length - 1;
    let target = row.querySelector("input");
    if (kind === "transfers" && previous && copyFrom) {
      // The victim usually pays from one account: carry it (and the channel) forward.
      const p = previous.dataset.row;
      for (const name of ["from.account_no", "from.institution", "channel"]) {
        field(`transfers.${i}.${name}`).value = field(`transfers.${p}.${name}`).value;
      }
      if (field(`transfers.${i}.from.account_no`).value) target = field(`transfers.${i}.to.account_no`);
    }
    if (focus) target.focus();
    changed();
    return row;
  }

  function isBlank(row, kind) {
    const names = kind === "transfers" ? TYPED : ["value"];
    return names.every((n) => !row.querySelector(`[name$=".${n}"]`).value.trim());
  }

  function removeRow(row) {
    const body = row.parentElement;
    const kind = body === transferRows ? "transfers" : "contacts";
    const next = row.nextElementSibling || row.previousElementSibling;
    if (rowsOf(body).length === 1) {
      row.querySelectorAll("input").forEach((el) => { el.value = ""; });
    } else {
      row.remove();
      renumber(body, kind);
    }
    (next && body.contains(next) ? next : body.lastElementChild).querySelector("input").focus();
    changed();
    scheduleValidate();
  }

  function ensureRows(kind, count) {
    const body = kind === "transfers" ? transferRows : contactRows;
    while (rowsOf(body).length < count) addRow(kind, { focus: false, copyFrom: false });
  }

  // ---------- BIN: the card's bank from its first digits ----------
  const binTable = [];
  for (const inst of cfg.institutions) for (const bin of inst.bins) binTable.push([bin, inst.code]);
  binTable.sort((a, b) => b[0].length - a[0].length);
  const names = Object.fromEntries(cfg.institutions.map((i) => [i.code, i.name]));

  function fillBank(input) {
    const m = /^transfers\.(\d+)\.(from|to)\.account_no$/.exec(input.name);
    if (!m) return;
    const inst = field(`transfers.${m[1]}.${m[2]}.institution`);
    const digits = input.value.replace(/[\s-]/g, "");
    const hit = /^\d{6,}$/.test(digits) ? binTable.find(([bin]) => digits.startsWith(bin)) : null;
    if (hit && (!inst.value || inst.dataset.auto === "1")) {
      inst.value = hit[1];
      inst.dataset.auto = "1";
      inst.title = names[hit[1]] || "";
    } else if (!hit && inst.dataset.auto === "1") {
      inst.value = "";
      inst.dataset.auto = "";
      inst.title = "";
    }
  }

  // ---------- the body the API takes (same as app/intake/form.py) ----------
  const val = (name) => { const el = field(name); return el ? el.value.trim() : ""; };
  // Searchable: a code, a label, or a piece of exactly one label (as app/intake/form.py).
  function fraudType(text) {
    const wanted = text.trim().toLowerCase();
    if (!wanted) return null;
    const names = (entry) => entry.map((name) => name.toLowerCase());
    const exact = cfg.fraudTypes.filter((e) => names(e).includes(wanted));
    const partial = cfg.fraudTypes.filter((e) => names(e).some((name) => name.includes(wanted)));
    const found = exact.length ? exact : partial;
    return found.length === 1 ? found[0] : null;
  }

  // Returns {body, problems}. With `fill`, blanks get stand-ins so that the rules behind
  // them still run (the stand-ins' own errors are never shown).
  function buildPayload({ fill = false } = {}) {
    const problems = {};
    // Inputs given a stand-in: what the API says of the stand-in itself is not shown.
    const filled = new Set();
    const standIn = (name, value) => { if (!fill) return undefined; filled.add(name); return value; };
    const time = (name) => {
      const raw = val(name);
      const parsed = raw ? parseTime(raw) : null;
      if (raw && !parsed) problems[name] = msg("form.time_unreadable");
      return parsed ? parsed.iso : standIn(name, new Date().toISOString());
    };
    const body = {
      received_at: time("received_at"),
      channel: val("channel") || "phone_call",
      victim: {
        name: val("victim.name") || standIn("victim.name", "?") || "",
        id_no: val("victim.id_no") || undefined,
        phone: val("victim.phone") || undefined,
        is_enterprise: field("victim.is_enterprise").checked,
        enterprise_name: val("victim.enterprise_name") || undefined,
      },
      narrative: field("narrative").value,
    };
    // A blank phone is a choice the call-taker confirms (Alt+P), never an oversight.
    if (!body.victim.phone && !field("victim.no_phone").checked) problems["victim.phone"] = msg("form.phone_confirm");
    const fraud = val("fraud_type");
    body.fraud_type = (fraudType(fraud) || [])[0];
    if (!body.fraud_type) {
      problems.fraud_type = msg(fraud ? "form.fraud_type_unknown" : "form.fraud_type_required");
      body.fraud_type = standIn("fraud_type", "other");
    }

    const transfers = rowsOf(transferRows).map((row, i) => {
      const p = `transfers.${i}.`;
      if (!TYPED.some((n) => val(p + n))) return null;
      let amount = val(p + "amount") ? parseAmount(val(p + "amount")) : undefined;
      if (amount === null) { problems[p + "amount"] = msg("form.amount_unreadable"); amount = undefined; }
      if (amount === undefined) amount = standIn(p + "amount", "1.00");
      const account = (side) => {
        const inst = val(`${p}${side}.institution`);
        return {
          // As typed: the server finds a code, a name or an alias (工行, 支付宝).
          institution: inst || undefined,
          account_no: val(`${p}${side}.account_no`),
          holder_name: val(`${p}${side}.holder_name`) || undefined,
        };
      };
      return {
        occurred_at: time(p + "occurred_at"), amount,
        from: account("from"), to: account("to"),
        channel: val(p + "channel") || "other", reference: val(p + "reference") || undefined,
      };
    });
    // Blank rows are left out; `rows` maps the body's transfers back to the form's rows.
    const rows = transfers.map((t, i) => (t ? i : null)).filter((i) => i !== null);
    body.transfers = transfers.filter(Boolean);
    const receivers = new Set(body.transfers.map((t) => t.to.account_no));
    for (const t of body.transfers) {
      if (!t.from.holder_name && !receivers.has(t.from.account_no)) {
        t.from.holder_name = body.victim.name || undefined;
      }
    }
    body.contacts = rowsOf(contactRows)
      .map((row, i) => ({ kind: val(`contacts.${i}.kind`) || "phone", value: val(`contacts.${i}.value`) }))
      .filter((c) => c.value);
    return { body: JSON.parse(JSON.stringify(body)), problems, rows, filled };
  }

  // ---------- errors beside their inputs ----------
  const touched = new Set();
  let serverErrors = {};
  let showAll = false;

  function showErrors(clientProblems) {
    const all = { ...serverErrors, ...clientProblems };
    form.querySelectorAll(".err").forEach((span) => {
      const name = span.id.slice(4);
      const message = all[name] && (showAll || touched.has(name)) ? all[name] : "";
      span.textContent = message;
      const input = field(name);
      if (input && input.setAttribute) {
        if (message) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    });
    const alert = $("form-alert");
    const general = showAll
      ? Object.entries(all).filter(([name]) => !$("err-" + name)).map(([, m]) => m)
      : [];
    const anyShown = form.querySelector('[aria-invalid="true"]') || general.length;
    alert.hidden = !(showAll && anyShown);
    alert.replaceChildren();
    if (!alert.hidden) {
      const strong = document.createElement("strong");
      strong.textContent = msg("form.fix_above");
      alert.appendChild(strong);
      for (const m of general) { const d = document.createElement("div"); d.textContent = m; alert.appendChild(d); }
    }
  }

  function apiHeaders(extra = {}) {
    return {
      "Content-Type": "application/json", Accept: "application/json",
      "Accept-Language": cfg.lang, "X-CSRF-Token": cfg.csrf, ...extra,
    };
  }

  let validateSeq = 0;
  let validateTimer = null;
  function scheduleValidate() { clearTimeout(validateTimer); validateTimer = setTimeout(validate, 150); }

  // As you go, blanks you have not reached are stood in for; once every mark is showing
  // (after a submit) what was typed is checked as it is, too, so a blank shows as missing.
  async function validate() {
    const seq = ++validateSeq;
    const { problems } = buildPayload();
    showErrors(problems);
    try {
      const errors = await serverErrorsFor(showAll ? buildPayload() : null);
      if (seq !== validateSeq) return; // a newer check is under way
      serverErrors = errors;
      showErrors(buildPayload().problems);
    } catch (e) { /* offline: the server checks again on submit */ }
  }

  // The API's errors for the body as typed (`first`, or its own check of `typed`), with what
  // the rules behind blank and unreadable inputs say (checked with stand-ins in their place).
  async function serverErrorsFor(typed, first = null) {
    const errors = first || (typed ? await check(typed.body, typed.rows) : {});
    const stood = buildPayload({ fill: true });
    for (const [name, message] of Object.entries(await check(stood.body, stood.rows))) {
      if (!stood.filled.has(name) && !(name in errors)) errors[name] = message;
    }
    return errors;
  }

  function errorsByField(problem, rows) {
    const out = {};
    for (const e of problem.errors || []) {
      let name = e.field.replace(/^transfers\.(\d+)(?=\.|$)/, (all, k) =>
        Number(k) < rows.length ? `transfers.${rows[Number(k)]}` : all);
      // A paying account's holder is not an input: its account number is.
      if (/^transfers\.\d+\.from\.holder_name$/.test(name)) name = name.replace("holder_name", "account_no");
      if (!(name in out)) out[name] = e.message;
    }
    if (!problem.errors) out["form"] = problem.detail;
    return out;
  }

  // ---------- drafts: this browser at once, the server shortly after ----------
  const LOCAL = `stopay.draft.${cfg.user}.`;
  const CURRENT = `stopay.current.${cfg.user}`;
  let draftKey = cfg.draftKey;
  let serverDirty = false;
  let saveTimer = null;

  function collect() {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.name === "csrf_token" || el.name === "draft_key") continue;
      out[el.name] = el.type === "checkbox" ? (el.checked ? "on" : "") : el.value;
    }
    return out;
  }

  function apply(fields) {
    let transfers = 1, contacts = 1;
    for (const name of Object.keys(fields)) {
      const m = /^(transfers|contacts)\.(\d+)\./.exec(name);
      if (m && Number(m[2]) < 200) {
        if (m[1] === "transfers") transfers = Math.max(transfers, Number(m[2]) + 1);
        else contacts = Math.max(contacts, Number(m[2]) + 1);
      }
    }
    ensureRows("transfers", transfers);
    ensureRows("contacts", contacts);
    for (const [name, value] of Object.entries(fields)) {
      const el = field(name);
      if (!el || el.name === undefined) continue;
      if (el.type === "checkbox") el.checked = value === "on" || value === "true";
      else el.value = value;
    }
  }

  function saveState(text, cls) { const el = $("save-state"); el.textContent = text; el.className = "metric save " + cls; }

  function saveLocal() {
    try {
      localStorage.setItem(LOCAL + draftKey, JSON.stringify({ fields: collect(), savedAt: new Date().toISOString() }));
      localStorage.setItem(CURRENT, draftKey);
    } catch (e) { /* storage full or disabled: the server copy still goes */ }
  }

  async function saveServer({ keepalive = false } = {}) {
    if (!serverDirty || submitted) return;
    serverDirty = false;
    try {
      const answer = await fetch(`/api/v1/drafts/${draftKey}`, {
        method: "PUT", headers: apiHeaders(), keepalive,
        body: JSON.stringify({ fields: collect() }),
      });
      if (!answer.ok) throw new Error(String(answer.status));
      saveState(msg("form.saved_server"), "ok");
    } catch (e) {
      serverDirty = true;
      saveState(msg("form.offline"), "offline");
    }
  }

  function changed() {
    saveLocal();
    serverDirty = true;
    saveState(msg("form.saved_local"), "local");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveServer, 700);
    updateTotal();
    updateClock();
  }

  function restore() {
    // The server's copy came with the page; this browser may hold a newer one (typed while
    // the network was down), or a whole call the server never saw.
    const params = new URLSearchParams(location.search);
    let key = draftKey;
    const pointer = localStorage.getItem(CURRENT);
    if (!cfg.fresh && !cfg.explicit && pointer && localStorage.getItem(LOCAL + pointer)) key = pointer;
    const stored = JSON.parse(localStorage.getItem(LOCAL + key) || "null");
    const serverTime = cfg.savedAt && key === cfg.draftKey ? new Date(cfg.savedAt) : null;
    if (stored && (key !== cfg.draftKey || !serverTime || new Date(stored.savedAt) > serverTime)) {
      draftKey = key;
      form.elements.namedItem("draft_key").value = key;
      apply(stored.fields);
      serverDirty = true;
      saveServer();
    } else if (cfg.savedAt) {
      saveState(msg("form.saved_server"), "ok");
    }
    if (params.has("new") || params.has("draft")) history.replaceState(null, "", "/intake");
    localStorage.setItem(CURRENT, draftKey);
  }

  // ---------- running total and the 30-minute clock ----------
  const money = new Intl.NumberFormat(cfg.lang, { style: "currency", currency: "CNY", currencyDisplay: "narrowSymbol" });
  function updateTotal() {
    const { body } = buildPayload();
    const receivers = new Set(body.transfers.map((t) => t.to && t.to.account_no).filter(Boolean));
    let cents = 0;
    for (const t of body.transfers) {
      if (t.amount && !receivers.has(t.from && t.from.account_no)) cents += Math.round(Number(t.amount) * 100);
    }
    $("total").textContent = money.format(cents / 100);
  }

  function updateClock() {
    const parsed = parseTime(val("received_at"));
    const started = parsed ? instantOf(parsed.iso) : null;
    const minutes = started ? Math.max(0, Math.floor((Date.now() - started.getTime()) / 60000)) : 0;
    $("clock-min").textContent = minutes;
    $("clock-bar").style.width = Math.min(100, (minutes / 30) * 100) + "%";
    $("clock").className = "metric" + (minutes >= 30 ? " over" : minutes >= 20 ? " warn" : "");
  }

  // ---------- submit: one key per call, so a second submit is the same case ----------
  let submitted = false;
  let sending = null;

  // What the API says of a body without storing it: errors by input name ({} when none).
  async function check(body, rows) {
    const answer = await fetch("/api/v1/cases/validate", {
      method: "POST", headers: apiHeaders(), body: JSON.stringify(body),
    });
    if (answer.status === 200) return {};
    if (answer.status === 422) return errorsByField(await answer.json(), rows);
    throw new Error(String(answer.status));
  }

  // One submit shows every error at once: the form's own, the API's for what was typed, and
  // the rules behind blank or unreadable inputs (checked with stand-ins in their place).
  async function submit() {
    const { body, problems, rows } = buildPayload();
    showAll = true;
    markShown();
    const button = $("submit");
    button.setAttribute("aria-busy", "true");
    try {
      let first = null;
      if (!Object.keys(problems).length) {
        // The same body under the same key, however often it is pressed.
        const json = sending || JSON.stringify(body);
        sending = json;
        const answer = await fetch("/api/v1/cases", {
          method: "POST", headers: apiHeaders({ "Idempotency-Key": draftKey }), body: json,
        });
        const result = await answer.json();
        if (answer.status === 201) return done(result.case_no);
        sending = null;
        if (answer.status !== 422) throw new Error(result.detail || String(answer.status));
        if ((result.errors || []).some((e) => e.field === "Idempotency-Key")) return reopenSubmitted();
        first = errorsByField(result, rows);
      }
      serverErrors = await serverErrorsFor({ body, rows }, first);
      showErrors(problems);
      focusFirstError();
    } catch (e) {
      sending = null;
      serverErrors = { form: msg("form.submit_failed") };
      showErrors({});
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  async function reopenSubmitted() {
    const answer = await fetch(`/api/v1/drafts/${draftKey}`, { headers: apiHeaders() });
    const draft = answer.ok ? await answer.json() : null;
    if (draft && draft.case_no) done(draft.case_no);
  }

  function done(caseNo) {
    if (submitted) return;
    submitted = true;
    localStorage.removeItem(LOCAL + draftKey);
    localStorage.removeItem(CURRENT);
    fetch(`/api/v1/drafts/${draftKey}`, { method: "DELETE", headers: apiHeaders(), keepalive: true })
      .finally(() => location.assign(`/intake/cases/${caseNo}`));
  }

  function focusFirstError() {
    // querySelector answers in document order: the first error on the page, top to bottom.
    const first = form.querySelector('[aria-invalid="true"]') || (!$("form-alert").hidden && $("form-alert"));
    if (first) { first.focus(); if (first.select) first.select(); }
  }

  // Which error marks are showing ("*" after a submit, else the inputs left so far) rides
  // with the draft, so a reload brings them back.
  function markShown() {
    const marks = field("shown_errors");
    const value = showAll ? "*" : Array.from(touched).join(",");
    if (marks.value !== value) { marks.value = value; changed(); }
  }

  async function restoreMarks() {
    const value = val("shown_errors");
    if (!value) return;
    if (value === "*") showAll = true;
    else value.split(",").forEach((name) => touched.add(name));
    await validate();
    focusFirstError();
  }

  // ---------- each amount read back beside it: 4.5万 → ¥45,000.00 ----------
  function echoAmount(input) {
    const out = document.getElementById("echo-" + input.name);
    if (!out) return;
    const amount = input.value.trim() ? parseAmount(input.value) : null;
    out.textContent = amount === null ? "" : money.format(Number(amount));
  }

  // ---------- keyboard ----------
  function rowOf(el) { return el.closest && el.closest("tr.transfer, div.contact"); }

  form.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.isComposing || e.altKey || e.ctrlKey) return;
    const el = e.target;
    if (el.tagName === "TEXTAREA" || el.tagName === "BUTTON") return;
    e.preventDefault(); // Enter never submits by accident
    const row = rowOf(el);
    if (row) {
      const next = row.nextElementSibling;
      if (next) next.querySelector("input").focus();
      else addRow(row.classList.contains("transfer") ? "transfers" : "contacts");
      return;
    }
    // Outside the rows Enter moves on, like Tab.
    const focusable = Array.from(form.querySelectorAll("input:not([type=hidden]),select,textarea"))
      .filter((x) => x.tabIndex >= 0);
    const next = focusable[focusable.indexOf(el) + 1];
    if (next) next.focus();
  });

  document.addEventListener("keydown", (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const actions = {
      KeyN: () => addRow("transfers"),
      KeyK: () => addRow("contacts"),
      KeyS: () => submit(),
      KeyD: () => { const row = rowOf(document.activeElement); if (row) removeRow(row); },
      KeyP: () => {
        const box = field("victim.no_phone");
        box.checked = !box.checked;
        touched.add("victim.phone");
        changed();
        scheduleValidate();
      },
    };
    if (actions[e.code]) { e.preventDefault(); actions[e.code](); }
  });

  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("add-transfer").addEventListener("click", () => addRow("transfers"));
  $("add-contact").addEventListener("click", () => addRow("contacts"));
  form.addEventListener("click", (e) => {
    const button = e.target.closest("[data-remove-row]");
    if (button) removeRow(rowOf(button));
  });

  form.addEventListener("input", (e) => {
    if (e.target.name && /\.institution$/.test(e.target.name)) e.target.dataset.auto = "";
    if (e.target.name && /\.account_no$/.test(e.target.name)) fillBank(e.target);
    if (e.target.name && /\.amount$/.test(e.target.name)) echoAmount(e.target);
    changed();
  });
  form.addEventListener("change", changed);
  form.addEventListener("focusout", (e) => {
    const el = e.target;
    if (!el.name) return;
    // A relative time is pinned when the field is left: "20 min ago" means then, not later.
    if (el.name === "received_at" || el.name.endsWith(".occurred_at")) {
      const parsed = el.value.trim() && parseTime(el.value);
      if (parsed && parsed.relative) { el.value = parsed.display; changed(); }
    }
    if (el.name === "fraud_type") {
      const found = fraudType(el.value);
      if (found && el.value !== found[1]) { el.value = found[1]; changed(); }
    }
    touched.add(el.name);
    if (el.name.endsWith(".account_no")) touched.add(el.name.replace("account_no", "institution"));
    markShown();
    scheduleValidate();
  });

  window.addEventListener("online", () => saveServer());
  window.addEventListener("pagehide", () => { saveLocal(); saveServer({ keepalive: true }); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") saveServer({ keepalive: true });
  });
  setInterval(() => { updateClock(); if (serverDirty) saveServer(); }, 5000);

  // ---------- start ----------
  for (const name of Object.keys(cfg.errors || {})) touched.add(name);
  restore();
  form.querySelectorAll('input[name$=".account_no"]').forEach(fillBank);
  form.querySelectorAll('input[name$=".amount"]').forEach(echoAmount);
  updateTotal();
  updateClock();
  restoreMarks();
})();
