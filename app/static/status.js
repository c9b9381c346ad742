// The case's live status: elapsed times tick between server updates; a mismatch is corrected
// in place and resent with Enter (POST /api/v1/cases/{case_no}/instructions/{id}/resend): its
// input holds the value that was sent, and takes the focus when nothing else has it.
(function () {
  "use strict";
  const live = document.getElementById("case-live");
  if (!live) return;

  function tick() {
    const now = Date.now();
    for (const cell of live.querySelectorAll("td.elapsed[data-start]")) {
      if (cell.dataset.end) continue;
      const seconds = Math.max(0, (now - new Date(cell.dataset.start).getTime()) / 1000);
      cell.textContent = seconds < 600 ? `${seconds.toFixed(0)} s` : `${Math.floor(seconds / 60)} min`;
    }
  }
  setInterval(tick, 1000);
  tick();

  // A bounced stop-payment's input, ready for the correction; never taken from someone typing.
  function focusCorrection() {
    const idle = !document.activeElement || document.activeElement === document.body;
    const input = live.querySelector("form.resend input:not([data-offered])");
    if (!input) return;
    input.dataset.offered = "1"; // offered once: a later re-render does not take focus back
    if (idle) { input.focus(); input.select(); }
  }
  live.addEventListener("htmx:afterSettle", focusCorrection);
  focusCorrection();

  live.addEventListener("submit", async (e) => {
    const form = e.target.closest("form.resend");
    if (!form) return;
    e.preventDefault();
    const input = form.querySelector("input");
    const error = form.querySelector(".err");
    const name = form.dataset.field;
    let value = input.value.trim();
    const parse = window.stopayParse;
    if (name === "amount" && parse) value = parse.parseAmount(value) || value;
    if (name === "transaction_time" && parse) { const t = parse.parseTime(value); value = t ? t.iso : value; }
    const answer = await fetch(
      `/api/v1/cases/${live.dataset.case}/instructions/${form.dataset.instruction}/resend`,
      {
        method: "POST",
        headers: {
          "Content-Type": "application/json", Accept: "application/json",
          "Accept-Language": live.dataset.lang, "X-CSRF-Token": live.dataset.csrf,
          // Made on the form's first submit, kept until a definite answer: a double
          // click is one resend (the page renders no key: an unchanged status renders
          // the same, and its stream sends nothing).
          "Idempotency-Key": (form.dataset.idempotencyKey ||= window.stopayKey()),
        },
        body: JSON.stringify({ [name]: value }),
      },
    );
    if (answer.status < 500) delete form.dataset.idempotencyKey;
    if (answer.status === 201) { location.reload(); return; }
    const problem = await answer.json();
    error.textContent = ((problem.errors || [])[0] || problem).message || problem.detail;
    input.focus();
  });
})();
