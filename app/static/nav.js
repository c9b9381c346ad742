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
