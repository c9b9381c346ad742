// Live panels: the server's SSE stream re-renders a panel and htmx morphs it in
// (hx-swap="morph:innerHTML", idiomorph), so only what changed is touched. What a person is
// doing is theirs, never the stream's: the text typed into a field (focused or not), the
// field that has focus, a form being sent or answered, a menu opened, a value revealed.
(function () {
  "use strict";
  if (!window.Idiomorph) return;
  const typedIn = (element) =>
    (element instanceof HTMLInputElement && element.type !== "hidden"
      || element instanceof HTMLTextAreaElement) && element.value !== element.defaultValue;
  // A form on its way (its Idempotency-Key kept until a definite answer) or answered (✓).
  const inUse = (element) => element instanceof HTMLFormElement
    && (element.classList.contains("sending") || element.classList.contains("done")
        || Boolean(element.dataset.idempotencyKey));
  const callbacks = window.Idiomorph.defaults.callbacks;
  window.Idiomorph.defaults.ignoreActiveValue = true;
  callbacks.beforeAttributeUpdated = (name, element) => {
    if (name === "value" && typedIn(element)) return false;
    if (name === "open" && element instanceof HTMLDetailsElement) return false;
    return true;
  };
  callbacks.beforeNodeMorphed = (old) => {
    if (inUse(old)) return false;
    if (old instanceof Element && old.classList.contains("revealed")) return false;
    return true;
  };
})();
