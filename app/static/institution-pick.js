// The institution pick-list of the intake form: an ARIA combobox over the registry's codes,
// names and aliases (app/institutions/registry.yaml). Typing filters it; Arrow keys move,
// Enter picks, Escape closes. On leaving the field a name or an alias (工行, 支付宝, 微信)
// becomes its code. The server resolves the same names, so a submit without this works too.
(function () {
  "use strict";
  const form = document.getElementById("intake");
  const list = document.getElementById("inst-list");
  if (!form || !list) return;
  const cfg = JSON.parse(document.getElementById("intake-config").textContent);
  const MAX = 8;
  const key = (text) => text.normalize("NFKC").replace(/\s+/g, "").toLowerCase();
  const entries = cfg.institutions.map((i) => ({
    code: i.code, name: i.name, keys: [i.code, i.name, ...i.also].map(key),
  }));
  let input = null; // the input the list is open for
  let active = -1;

  // Exact code, name or alias first, then prefixes, then any part of one.
  function matches(text) {
    const wanted = key(text);
    if (!wanted) return [];
    const rank = (e) => (e.keys.includes(wanted) ? 0 : e.keys.some((k) => k.startsWith(wanted)) ? 1
      : e.keys.some((k) => k.includes(wanted)) ? 2 : 3);
    return entries.map((e) => [rank(e), e]).filter(([r]) => r < 3)
      .sort((a, b) => a[0] - b[0]).slice(0, MAX).map(([, e]) => e);
  }

  // What a whole entry names: `工行`, `icbc`, or `ICBC 中国工商银行` by its first word.
  function exact(text) {
    const words = text.trim().split(/\s+/);
    const named = (wanted) => entries.find((e) => e.keys.includes(key(wanted)));
    return named(text) || (words.length > 1 ? named(words[0]) : null);
  }

  function open(target) {
    const found = matches(target.value);
    input = target;
    active = -1;
    list.replaceChildren(...found.map((e, n) => {
      const li = document.createElement("li");
      li.id = `inst-opt-${n}`;
      li.setAttribute("role", "option");
      li.dataset.code = e.code;
      const code = document.createElement("strong");
      code.textContent = e.code;
      li.append(code, " ", e.name);
      return li;
    }));
    if (!found.length) return close();
    const box = target.getBoundingClientRect();
    list.style.left = `${box.left + window.scrollX}px`;
    list.style.top = `${box.bottom + window.scrollY + 2}px`;
    list.hidden = false;
    target.setAttribute("aria-expanded", "true");
  }

  function close() {
    list.hidden = true;
    if (input) { input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); }
    input = null;
    active = -1;
  }

  function move(step) {
    const options = Array.from(list.children);
    if (!options.length) return;
    active = (active + step + options.length) % options.length;
    options.forEach((o, n) => o.setAttribute("aria-selected", n === active ? "true" : "false"));
    input.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  function pick(target, code) {
    const entry = entries.find((e) => e.code === code);
    target.value = code;
    target.title = entry ? entry.name : "";
    close();
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }

  const isInst = (el) => el && el.getAttribute && el.getAttribute("role") === "combobox";

  form.addEventListener("input", (e) => {
    // Typing opens the list; the input event `pick` sends itself (a plain Event) does not.
    if (isInst(e.target) && e instanceof InputEvent) open(e.target);
  });

  // Capture: the list's keys come before the form's own Enter (next row) handling.
  form.addEventListener("keydown", (e) => {
    if (!isInst(e.target) || e.isComposing || e.altKey || e.ctrlKey) return;
    const shown = !list.hidden && input === e.target;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!shown) open(e.target);
      if (!list.hidden) move(e.key === "ArrowDown" ? 1 : -1);
      e.preventDefault();
    } else if (e.key === "Enter" && shown && active >= 0) {
      pick(e.target, list.children[active].dataset.code);
      e.preventDefault();
      e.stopPropagation();
    } else if (e.key === "Escape" && shown) {
      close();
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);

  list.addEventListener("mousedown", (e) => {
    const option = e.target.closest("[role=option]");
    e.preventDefault(); // keep the focus in the input
    if (option && input) pick(input, option.dataset.code);
  });

  form.addEventListener("focusout", (e) => {
    if (!isInst(e.target)) return;
    close();
    const text = e.target.value.trim();
    const found = text && exact(text);
    if (found && text !== found.code) pick(e.target, found.code);
    else if (found) e.target.title = found.name;
  }, true);
})();
