// The header's language switch: choosing a language submits its form. A file of our own, not
// an inline onchange attribute, which the Content-Security-Policy blocks.
(function () {
  "use strict";
  document.addEventListener("change", (event) => {
    const select = event.target;
    if (select instanceof HTMLSelectElement && select.matches("select[data-submit-on-change]")) {
      select.form.submit();
    }
  });
})();

// A fresh Idempotency-Key for a form's action (dashboard.js, status.js). randomUUID needs
// a secure context (HTTPS or localhost); getRandomValues works everywhere.
window.stopayKey = function () {
  if (window.crypto.randomUUID) return window.crypto.randomUUID().replaceAll("-", "");
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
};

// The header's shortcuts: Alt and the key its link names (data-shortcut="KeyM": "my cases"),
// from any page and whatever has focus. Page shortcuts (intake.js: Alt+N, K, S, D) use others.
(function () {
  "use strict";
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const link = document.querySelector(`header a[data-shortcut="${event.code}"]`);
    if (!link) return;
    event.preventDefault();
    location.assign(link.href);
  });
})();
