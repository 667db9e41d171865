// Calculators in the page (hooks/calculator_pages.py renders the forms and pre-rendered results).
//
// A module Web Worker (worker.js) runs the calculators package in Pyodide.  The page's <head>
// starts it (early.js, inlined by the hook: its downloads and boot overlap the page's loading);
// this script adopts it when a calculator scrolls into view or is touched.  Every input change
// is sent (debounced) as {name, values}; the reply fills the outputs.  Rules kept here:
// * all user and URL text is data: set with .value / .textContent, never parsed as HTML;
// * an invalid value marks its field (aria-invalid + message via aria-describedby) and keeps the
//   text; no Python traceback is ever shown;
// * if Pyodide cannot load, the pre-rendered numbers stay, with a notice;
// * a computation that takes longer than COMPUTE_TIMEOUT_MS, or that breaks the interpreter (a
//   fatal Pyodide error such as a JS stack overflow), gets a message, and the worker is replaced
//   by a fresh one, so the next input computes again;
// * inputs live in the URL query (only values that differ from the page's defaults), except the
//   fields marked data-link="never" (deployment image, namespace, secret names): a link never
//   sets those, and says so;
// * the notice about a link's bad parameters says each thing once, and stays short;
// * the status line (the form's one role=status) says what the numbers are: build-time defaults
//   until Python is live; an error on an input folded under "More options" opens the fold;
// * results stay in sight while editing: a sticky column on wide screens, a pinned aria-hidden
//   line on phones; downloads (plan JSON/CSV, manifest YAML) are Blobs made on click.
// Material's instant navigation is off for this site (see hooks/calculator_pages.py): this script runs
// on each full page load of a page that has a calculator.

const DEBOUNCE_MS = 150;
const LOAD_TIMEOUT_MS = 90000;
const COMPUTE_TIMEOUT_MS = 20000; // one computation; the worker is restarted past it
const MAX_JSON_DEPTH = 32; // as the package (calculators/models.py); checked here before sending
const MAX_NOTICE_ITEMS = 4; // sentences shown in a notice; the rest are counted
const MAX_NOTICE_CHARS = 800;
const IGNORED_PARAMS = new Set(["h"]); // Material's search highlight (?h=word), not ours
const MAX_URL_VALUE = 8000; // longer values (a big pasted config.json) are not put in the link
const MAX_CONFIG_BYTES = 2000000;
const HF_REPO = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const NUMBER = /^[-+]?(\d[\d_,]*)?(\.\d+)?([eE][-+]?\d+)?$/;

// The status line under a calculator's title, by state (the pill beside the title is the short form).
const STATUS_LINES = {
  loading: "Starting the calculator in your browser… the numbers below are this page's build-time defaults.",
  live: "Live: the results follow your inputs.",
  error: "Fix the marked field: the results below are for the last inputs that could be computed.",
  offline: "Not live: the numbers below are this page's build-time defaults.",
};

const settingsEl = document.getElementById("fn-calculators-config");
const SETTINGS = settingsEl ? JSON.parse(settingsEl.textContent) : null;

const stats = { readyMs: null, stages: null, computeMs: [], restarts: 0 };
window.fnCalculators = stats; // read by the benchmark (scripts/bench.py)

// ---------------------------------------------------------------- the worker

let worker = null;
let ready = null; // Promise resolved when Python is ready, rejected if it cannot load
let nextId = 1;
const waiting = new Map(); // id -> {resolve, timer}

function startWorker() {
  if (ready) return ready;
  ready = new Promise((resolve, reject) => {
    let timer = setTimeout(() => reject(new Error("timed out")), LOAD_TIMEOUT_MS);
    // The worker the page's <head> started (early.js; issue 11), once; else a new one from there.
    let started = window.fnCalculatorsEarly;
    window.fnCalculatorsEarly = null;
    try {
      started = started || window.fnCalculatorsWorker();
    } catch (err) {
      clearTimeout(timer);
      reject(err);
      return;
    }
    worker = started.worker;
    const t0 = started.t0;
    worker.onmessage = (event) => {
      const msg = event.data || {};
      if (msg.type === "ready") {
        clearTimeout(timer);
        stats.readyMs = performance.now() - t0;
        stats.stages = msg.stages; // worker's ms since it started: import, boot, wheel, imported
        resolve();
      } else if (msg.type === "failed") {
        clearTimeout(timer);
        reject(new Error(msg.message));
      } else if (msg.type === "result") {
        const done = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (done) {
          clearTimeout(done.timer);
          done.resolve(msg);
        }
        // The interpreter is broken (it said so): answer the others and start a fresh one.
        if (msg.fatal) restartWorker("the Python runtime failed on another input and was restarted");
      }
    };
    worker.onerror = (event) => {
      if (event.preventDefault) event.preventDefault();
      clearTimeout(timer);
      reject(new Error("the worker could not start"));
      // After a successful start, an uncaught error in the worker: replace it.
      if (stats.readyMs !== null && waiting.size) restartWorker("the Python runtime failed and was restarted");
    };
    // What an early worker said before this script ran ("ready", "failed", an error), in order.
    for (const event of started.events.splice(0)) {
      if (event.type === "error") worker.onerror(event);
      else worker.onmessage(event);
    }
  });
  ready.catch(() => {
    if (worker) worker.terminate();
    for (const calc of calculators) calc.offline();
  });
  for (const calc of calculators) calc.loading();
  return ready;
}

// Stop the worker (the only way to interrupt Python), answer every pending call with `message`,
// and start a fresh worker for the next input.
function restartWorker(message) {
  stats.restarts++;
  if (worker) {
    worker.onmessage = null;
    worker.onerror = null;
    worker.terminate();
  }
  worker = null;
  ready = null;
  const pending = [...waiting.values()];
  waiting.clear();
  for (const { resolve, timer } of pending) {
    clearTimeout(timer);
    resolve({ reply: { ok: false, field: "input", message }, ms: 0, restarted: true });
  }
  startWorker().catch(() => {});
}

async function call(name, values) {
  await startWorker();
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      restartWorker(`the calculation took longer than ${COMPUTE_TIMEOUT_MS / 1000} s and was stopped ` +
        "(the Python runtime was restarted); change the inputs to try again");
    }, COMPUTE_TIMEOUT_MS);
    waiting.set(id, { resolve, timer });
    worker.postMessage({ type: "run", id, name, values });
  });
}

// The deepest nesting of [ and { in JSON text, outside strings (stops counting past `limit`).
function jsonDepth(text, limit) {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 91 || c === 123) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return max;
}

// ---------------------------------------------------------------- SVG from Python, re-checked

const SVG_TAGS = new Set(["svg", "title", "desc", "g", "rect", "text", "tspan", "line", "path", "polyline",
  "polygon", "circle"]);
const SVG_ATTRS = new Set(["xmlns", "viewBox", "width", "height", "role", "aria-label", "class", "x", "y", "x1",
  "x2", "y1", "y2", "cx", "cy", "r", "d", "points", "fill", "stroke", "stroke-width", "stroke-opacity",
  "stroke-dasharray", "fill-opacity", "opacity", "font-size", "font-weight", "text-anchor",
  "dominant-baseline", "transform"]);

const SVG_NS = "http://www.w3.org/2000/svg";

// chart_svg holds one or more top-level <svg> elements (the roofline calculator sends two): parse
// them inside one wrapper element (an XML document has a single root), then keep only <svg>
// children of the wrapper, each with the allow-listed elements and attributes. Returns the
// imported <svg> elements, or null when the text is not well-formed or holds no chart.
function safeSvg(text) {
  const doc = new DOMParser().parseFromString(`<fn-charts>${text}</fn-charts>`, "image/svg+xml");
  const root = doc.documentElement;
  if (root.nodeName !== "fn-charts" || doc.getElementsByTagName("parsererror").length) return null;
  const walk = (el) => {
    for (const child of [...el.children]) {
      if (!SVG_TAGS.has(child.nodeName)) child.remove();
      else walk(child);
    }
    for (const attr of [...el.attributes]) {
      if (!SVG_ATTRS.has(attr.name) || /^\s*(javascript|data):/i.test(attr.value)) el.removeAttribute(attr.name);
    }
  };
  const svgs = [...root.children].filter((el) => el.nodeName === "svg" && el.namespaceURI === SVG_NS);
  for (const svg of svgs) walk(svg);
  return svgs.length ? svgs.map((svg) => document.importNode(svg, true)) : null;
}

// ---------------------------------------------------------------- downloads

// The plan's options as CSV (RFC 4180 quoting), in the table's order: the recommendation first.
const CSV_KEYS = ["gpu", "tp", "feasible", "replicas", "gpus", "batch_per_replica", "ttft_s", "tpot_s",
  "binding_constraint", "cost_per_hour", "output_tokens_per_s_per_replica", "kv_headroom", "kv_max_batch", "note"];

function planCsv(result) {
  const quote = (v) => {
    const text = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const options = result.options || [];
  const order = (result.options_table && result.options_table.rows || []).map((r) => r.index);
  const lines = [["recommended", ...CSV_KEYS].join(",")];
  for (const i of order.length ? order : options.map((_, i) => i)) {
    const o = options[i];
    if (!o) continue;
    lines.push([i === result.recommended ? "true" : "false", ...CSV_KEYS.map((k) => quote(o[k]))].join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

// ---------------------------------------------------------------- one calculator

class Calculator {
  constructor(form, prefix) {
    this.form = form;
    this.name = form.dataset.calculator;
    this.prefix = prefix; // "" on a page with one calculator, "NAME." when there are several
    this.status = form.querySelector("[data-role=status]");
    this.boot = form.querySelector("[data-role=boot]"); // the status line (role=status)
    this.result = null; // the latest live result (downloads)
    this.notice = form.querySelector("[data-role=notice]");
    this.timer = null;
    this.latest = 0;
    this.fromUrl = new Set();
    this.messages = [];
    this.live = false;
    this.fields = [...form.elements].filter((el) => el.name);
    form.addEventListener("submit", (e) => e.preventDefault());
    form.addEventListener("input", (e) => this.changed(e.target));
    // Text fields fire "input" on every edit and "change" again on blur: handling that second one
    // cleared the field's error and moved the form under the pointer (a click on the next field
    // missed it). "change" is still needed for selects (the model search sets one) and checkboxes.
    form.addEventListener("change", (e) => {
      if (e.target.tagName === "SELECT" || e.target.type === "checkbox") this.changed(e.target);
    });
    form.addEventListener("focusin", () => this.touch(), { once: true });
    form.addEventListener("pointerdown", () => this.touch(), { once: true });
    const reset = form.querySelector("[data-role=reset]");
    if (reset) reset.addEventListener("click", () => this.reset());
    this.setupHf();
    this.setupDrop();
    this.setupFile();
    this.setupDownloads();
    this.setupPin();
    this.setupSticky();
    this.restoreFromUrl();
    this.searches = [...form.querySelectorAll("[data-role=model-search]")].map((box) => this.setupSearch(box));
  }

  field(name) {
    return this.fields.find((el) => el.name === name) || null;
  }

  touch() {
    if (SETTINGS) startWorker().then(() => this.compute(), () => {});
  }

  changed(el) {
    if (!el || !el.name) return;
    this.fromUrl.delete(el.name);
    this.clearError(el);
    this.markStale();
    this.latest++; // a reply still in flight answers older inputs: ignore it when it lands
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.touch(), DEBOUNCE_MS);
  }

  values() {
    const values = {};
    for (const el of this.fields) {
      if (el.type === "checkbox") values[el.name] = el.checked ? "true" : "false";
      else values[el.name] = el.value;
    }
    return values;
  }

  // ---- status and notices

  setStatus(state, text) {
    this.status.dataset.state = state;
    this.status.textContent = text;
    // The status line says the same in a sentence; it is the form's one role=status region.
    if (this.boot && this.boot.dataset.state !== state) {
      this.boot.dataset.state = state;
      this.boot.textContent = STATUS_LINES[state] || "";
    }
  }

  loading() {
    if (!this.live) this.setStatus("loading", "static results · loading Python…");
  }

  offline() {
    this.live = false;
    this.setStatus("offline", "static results");
    const changed = this.fields.some((el) => el.value !== (el.dataset.default ?? el.value));
    this.say("Live calculation is unavailable here (the Python runtime could not be loaded). The results " +
      "below were computed when this page was built, for the page's default inputs" +
      (changed ? "; press Reset to show those inputs." : "."));
    this.form.classList.remove("fn-calc--stale");
  }

  say(text) {
    if (this.messages.includes(text)) return; // the same sentence once, however often it comes
    this.messages.push(text);
    const shown = this.messages.slice(0, MAX_NOTICE_ITEMS).join(" ");
    const more = this.messages.length - MAX_NOTICE_ITEMS;
    let out = more > 0 ? `${shown} (${more} more ${more === 1 ? "problem" : "problems"} not listed.)` : shown;
    if (out.length > MAX_NOTICE_CHARS) out = `${out.slice(0, MAX_NOTICE_CHARS - 1)}…`;
    this.notice.textContent = out;
    this.notice.hidden = false;
  }

  clearNotice() {
    this.messages = [];
    this.notice.textContent = "";
    this.notice.hidden = true;
  }

  markStale() {
    this.form.classList.add("fn-calc--stale");
  }

  // ---- errors on fields

  setError(el, message) {
    const err = document.getElementById(el.dataset.errorId);
    const fold = el.closest("details.fn-more");
    if (fold && !fold.open) {
      // The field is folded under "More options": open it so the mark is seen; move the focus there
      // unless the reader is typing in another field (their keystrokes must not land elsewhere).
      fold.open = true;
      const active = document.activeElement;
      const typing = active && active !== el && this.form.contains(active) &&
        (active.tagName === "TEXTAREA" || (active.tagName === "INPUT" && active.type !== "checkbox"));
      if (!typing) el.focus();
    }
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-describedby", `${el.dataset.helpId} ${el.dataset.errorId}`);
    if (err) {
      err.textContent = message;
      err.hidden = false;
    }
  }

  clearError(el) {
    if (!el.dataset || !el.dataset.errorId) return;
    const err = document.getElementById(el.dataset.errorId);
    el.removeAttribute("aria-invalid");
    el.setAttribute("aria-describedby", el.dataset.helpId);
    if (err) {
      err.textContent = "";
      err.hidden = true;
    }
  }

  clearErrors() {
    for (const el of this.fields) this.clearError(el);
  }

  // ---- compute

  async compute() {
    // A number field holding text the browser cannot parse reports an empty value: catch it here.
    for (const el of this.fields) {
      if (el.validity && el.validity.badInput) {
        this.setError(el, "is not a number");
        this.setStatus("error", "fix the marked field");
        return;
      }
    }
    const deep = [...this.form.querySelectorAll("textarea[data-file-what][name]")]
      .find((el) => jsonDepth(el.value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH);
    if (deep) {
      // Deep nesting overflows Pyodide's stack before Python can refuse it: refuse it here.
      this.live = true;
      this.setError(deep, `JSON nested more than ${MAX_JSON_DEPTH} levels deep; a ${deep.dataset.fileWhat} ` +
        "is not (real ones nest a few levels). Not computed.");
      this.setStatus("error", "fix the marked field");
      this.markStale();
      this.form.dispatchEvent(new CustomEvent("calculator:error", { bubbles: true }));
      return;
    }
    const id = ++this.latest;
    const values = this.values();
    let msg;
    try {
      msg = await call(this.name, values);
    } catch (err) {
      return; // the runtime could not (re)start: offline() has said so
    }
    if (id !== this.latest) return; // a newer input is on its way
    const reply = msg.reply;
    stats.computeMs.push(msg.ms);
    if (!reply.ok) {
      this.showError(reply);
      return;
    }
    this.live = true;
    this.clearErrors();
    if (!this.messages.some((m) => m.startsWith("The link"))) this.clearNotice();
    this.render(reply);
    this.writeUrl();
    this.form.classList.remove("fn-calc--stale");
    this.setStatus("live", "live");
    this.form.dispatchEvent(new CustomEvent("calculator:result", { bubbles: true, detail: { ms: msg.ms } }));
  }

  showError(reply) {
    const message = String(reply.message || "is not valid").slice(0, 300);
    let el = this.field(reply.field);
    if (el && this.fromUrl.has(el.name)) {
      // A value from the link that Python rejects: back to the default, and say so.
      this.fromUrl.delete(el.name);
      el.value = el.dataset.default ?? "";
      this.say(`The link's value for “${el.name}” was not used (${message}); the default is shown.`);
      this.compute();
      return;
    }
    const config = this.field("config-json");
    let text = message;
    if (!el && config && config.value.trim() !== "") {
      el = config;
      text = reply.field === "config" ? message : `config.json field ${String(reply.field).slice(0, 60)}: ${message}`;
    }
    this.live = true;
    this.setStatus("error", "fix the marked field");
    this.markStale();
    if (el) this.setError(el, text);
    else this.say(`Cannot compute: ${text}`);
    this.form.dispatchEvent(new CustomEvent("calculator:error", { bubbles: true }));
  }

  render(reply) {
    for (const out of this.form.querySelectorAll("[data-output]")) {
      const key = out.dataset.output;
      if (!(key in reply.text)) continue;
      out.textContent = reply.text[key];
      const raw = reply.result[key];
      out.dataset.value = typeof raw === "string" ? raw : reply.values[key];
    }
    const notes = this.form.querySelector("[data-role=notes]");
    if (notes) {
      notes.replaceChildren();
      for (const [key, label] of [["warnings", "Warning"], ["advice", "Advice"], ["assumptions", "Assumption"]]) {
        for (const item of reply.result[key] || []) {
          const li = document.createElement("li");
          const strong = document.createElement("strong");
          strong.textContent = `${label}:`;
          li.append(strong, " ", String(item));
          notes.append(li);
        }
      }
    }
    const fields = this.form.querySelector("[data-role=config-fields]");
    if (fields) {
      fields.replaceChildren();
      for (const [key, value] of reply.config_fields || []) {
        const li = document.createElement("li");
        const code = document.createElement("code");
        code.textContent = key;
        li.append(code, ` = ${value}`);
        fields.append(li);
      }
    }
    this.result = reply.result;
    const pin = this.form.querySelector("[data-role=pin-value]");
    if (pin && pin.dataset.pin in reply.text) pin.textContent = reply.text[pin.dataset.pin];
    this.renderTable(reply.result.options_table);
    const downloads = this.form.querySelector("[data-role=downloads]");
    if (downloads) downloads.hidden = false;
    if (this.fitSticky) this.fitSticky();
    const chart = this.form.querySelector("[data-role=chart]");
    if (chart && typeof reply.result.chart_svg === "string") {
      const svgs = safeSvg(reply.result.chart_svg);
      if (svgs) chart.replaceChildren(...svgs);
    }
  }

  // The planner's table of every option (result.options_table, made by calculators/forms.py).
  renderTable(table) {
    const el = this.form.querySelector("[data-role=options-table]");
    if (!el || !table || !Array.isArray(table.rows)) return;
    const body = el.tBodies[0];
    body.replaceChildren();
    for (const row of table.rows) {
      const tr = document.createElement("tr");
      tr.className = row.recommended ? "fn-calc__rec" : row.feasible ? "" : "fn-calc__infeasible";
      tr.dataset.index = String(row.index);
      row.cells.forEach((text, i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        cell.textContent = i === 0 && row.recommended ? `${text} (recommended)` : String(text);
        tr.append(cell);
      });
      body.append(tr);
    }
    const caption = this.form.querySelector("[data-role=options-caption]");
    if (caption) caption.textContent = `Every GPU × TP option tried (${table.rows.length}), the recommended one first`;
  }

  // ---- downloads (plan as JSON and CSV, manifest as YAML): a Blob and an object URL, made on click

  setupDownloads() {
    for (const button of this.form.querySelectorAll("[data-role=download]")) {
      button.addEventListener("click", () => this.download(button.dataset.format));
    }
  }

  download(format) {
    const result = this.result;
    if (!result) return;
    let text;
    let type;
    if (format === "json") {
      text = JSON.stringify(result, null, 2) + "\n";
      type = "application/json";
    } else if (format === "csv") {
      text = planCsv(result);
      type = "text/csv";
    } else if (format === "yaml" && typeof result.manifest === "string") {
      text = result.manifest.endsWith("\n") ? result.manifest : `${result.manifest}\n`;
      type = "application/yaml";
    } else {
      return;
    }
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${this.name}.${format}`;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---- wide screens: the results column held under the header (calculators.css makes it sticky)

  // A sticky box cannot leave its grid row, so near the end of a long form a tall results column
  // would be pushed up out of view with its first lines (the verdict) first. Its height is capped
  // to the room between the header and the row's end (and the window), so its top stays in sight
  // and the rest scrolls inside it. Only when the form is the taller column: otherwise the results
  // make the row and nothing sticks (a cap would then shrink the row with it).
  setupSticky() {
    const body = this.form.querySelector(".fn-calc__body");
    const inputs = this.form.querySelector(".fn-calc__inputs");
    const results = this.form.querySelector(".fn-calc__results");
    if (!body || !inputs || !results || !window.matchMedia) return;
    const wide = window.matchMedia("screen and (min-width: 76em)");
    let queued = false;
    const fit = () => {
      queued = false;
      if (!wide.matches || inputs.offsetHeight <= results.scrollHeight) {
        results.style.removeProperty("max-height");
        return;
      }
      const top = parseFloat(getComputedStyle(results).top) || 0;
      const room = Math.min(window.innerHeight - top - 12, body.getBoundingClientRect().bottom - top);
      results.style.maxHeight = `${Math.max(160, Math.round(room))}px`;
    };
    this.fitSticky = () => {
      if (!queued) {
        queued = true;
        requestAnimationFrame(fit);
      }
    };
    window.addEventListener("scroll", this.fitSticky, { passive: true });
    window.addEventListener("resize", this.fitSticky);
    if (wide.addEventListener) wide.addEventListener("change", this.fitSticky);
    this.form.addEventListener("toggle", this.fitSticky, true); // "More options", "How this was computed"
    this.fitSticky();
  }

  // ---- phones: the headline result pinned to the bottom while the form is on screen

  setupPin() {
    const pin = this.form.querySelector("[data-role=pin]");
    const inputs = this.form.querySelector(".fn-calc__inputs");
    const results = this.form.querySelector(".fn-calc__results");
    if (!pin || !inputs || !results || !("IntersectionObserver" in window)) return;
    let inputsShown = false;
    let resultsShown = false;
    const update = () => {
      this.form.classList.toggle("fn-calc--pinned", inputsShown && !resultsShown);
      // The page keeps room under a focused field for the pinned line (calculators.css).
      document.documentElement.classList.toggle("fn-calc-pin-shown", document.querySelector(".fn-calc--pinned") !== null);
    };
    new IntersectionObserver((entries) => {
      for (const e of entries) inputsShown = e.isIntersecting;
      update();
    }).observe(inputs);
    // "Results in view" means its first lines, not a sliver of its bottom edge.
    new IntersectionObserver((entries) => {
      for (const e of entries) resultsShown = e.isIntersecting;
      update();
    }, { rootMargin: "0px 0px -48px 0px" }).observe(results.firstElementChild || results);
  }

  reset() {
    for (const el of this.fields) {
      if (el.type === "checkbox") el.checked = el.dataset.default === "True";
      else el.value = el.dataset.default ?? "";
    }
    this.fromUrl.clear();
    for (const clear of this.searches) clear();
    this.clearErrors();
    this.clearNotice();
    this.markStale();
    this.touch();
  }

  // ---- shareable state

  writeUrl() {
    const params = new URLSearchParams(location.search);
    for (const key of [...params.keys()]) {
      if (this.prefix ? key.startsWith(this.prefix) : this.field(key)) params.delete(key);
    }
    let tooLong = false;
    for (const el of this.fields) {
      if (el.dataset.link === "never") continue; // never put in a link (see restoreFromUrl)
      const value = el.type === "checkbox" ? (el.checked ? "true" : "false") : el.value;
      const def = el.type === "checkbox" ? (el.dataset.default === "True" ? "true" : "false") : el.dataset.default;
      if (value === def) continue;
      if (value.length > MAX_URL_VALUE) {
        tooLong = true;
        continue;
      }
      params.set(this.prefix + el.name, value);
    }
    const query = params.toString();
    const url = location.pathname + (query ? `?${query}` : "") + location.hash;
    history.replaceState(history.state, "", url);
    const share = this.form.querySelector("[data-role=share]");
    if (share) {
      share.href = url;
      share.title = tooLong ? "The pasted config.json is too long for a link and is left out." : "";
    }
  }

  restoreFromUrl() {
    const params = new URLSearchParams(location.search);
    let applied = false;
    for (const [key, value] of params) {
      let name = key;
      if (this.prefix) {
        if (!key.startsWith(this.prefix)) continue;
        name = key.slice(this.prefix.length);
      }
      const el = this.field(name);
      const shown = name.slice(0, 40);
      if (!el && IGNORED_PARAMS.has(name)) continue;
      if (!el) {
        if (this.prefix || !document.querySelector(`form[data-calculator] [name="${CSS.escape(name)}"]`)) {
          this.say(`The link's parameter “${shown}” is not an input here and was ignored.`);
        }
        continue;
      }
      if (el.dataset.link === "never" && el.dataset.fileWhat) {
        // A pasted file is never taken from a link (nor written into one).
        this.say(`The link's value for “${shown}” was not used: a link never fills in a ` +
          `${el.dataset.fileWhat}. Paste or drop the file here.`);
        continue;
      }
      if (el.dataset.link === "never") {
        // What a manifest runs, where, and with which secret is never taken from a link.
        const value40 = value.length > 60 ? `${value.slice(0, 60)}…` : value;
        this.say(`The link's value for “${shown}” (“${value40}”) was not used: a link never sets the image, ` +
          "namespace or secret names of the deployment. Type them yourself if you want them.");
        continue;
      }
      const problem = this.check(el, value);
      if (problem) {
        this.say(`The link's value for “${shown}” was not used (${problem}); the default is shown.`);
        continue;
      }
      if (el.type === "checkbox") el.checked = value === "true";
      else el.value = value;
      if (el.value !== el.dataset.default) {
        this.fromUrl.add(name);
        applied = true;
      }
    }
    for (const name of this.fromUrl) {
      const fold = this.field(name)?.closest("details.fn-more");
      if (fold) fold.open = true; // a link set a folded input: show it
    }
    if (applied) {
      // The pre-rendered numbers are for the defaults: compute now rather than on scroll.
      this.markStale();
      this.urgent = true;
    }
  }

  check(el, value) {
    if (value.length > (el.dataset.fileMax ? Number(el.dataset.fileMax) : 200)) return "too long";
    if (el.tagName === "SELECT") {
      return [...el.options].some((o) => o.value === value) ? null : "not one of the choices";
    }
    if (el.type === "checkbox") return value === "true" || value === "false" ? null : "not true or false";
    if (el.type === "number") {
      if (value.trim() === "") return null;
      if (!NUMBER.test(value.trim())) return "not a number";
      const n = Number(value.trim().replace(/[_,]/g, ""));
      if (!Number.isFinite(n)) return "not a number";
      if (el.min !== "" && n < Number(el.min)) return `below the minimum ${el.min}`;
      if (el.max !== "" && n > Number(el.max)) return `above the maximum ${el.max}`;
    }
    return null;
  }

  // ---- model input: search box, Hugging Face fetch, file drop

  // The search box (no name: not an input of the calculator) hides the options of the grouped
  // <select> whose "id family" text lacks one of its words; the selected option always stays.
  // Enter picks the first match (when the selection is not one) and moves to the list.
  setupSearch(box) {
    const input = box.querySelector("input[type=search]");
    const select = document.getElementById(input.getAttribute("aria-controls"));
    const count = box.querySelector("[data-role=model-count]");
    const options = [...select.options].map((o) => [o, `${o.value} ${o.text} ${o.parentElement.label || ""}`.toLowerCase()]);
    let matches = [];
    const filter = () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      matches = options.filter(([, text]) => words.every((w) => text.includes(w))).map(([o]) => o);
      for (const [o] of options) o.hidden = !o.selected && !matches.includes(o);
      for (const group of select.querySelectorAll("optgroup")) group.hidden = [...group.children].every((o) => o.hidden);
      count.textContent = !words.length ? "" : matches.length
        ? `${matches.length} of ${options.length} models match.`
        : `No model matches; ${select.value} stays selected.`;
    };
    input.addEventListener("input", filter);
    input.addEventListener("search", filter);
    select.addEventListener("change", filter);
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      if (matches.length && !matches.some((o) => o.selected)) {
        select.value = matches[0].value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      select.focus();
    });
    box.hidden = false;
    filter();
    return () => {
      input.value = "";
      filter();
    };
  }

  setupHf() {
    const box = this.form.querySelector("[data-role=hf]");
    const config = this.field("config-json");
    if (!box || !config) return;
    const repo = box.querySelector("[data-role=hf-repo]");
    const button = box.querySelector("[data-role=hf-fetch]");
    const status = box.querySelector("[data-role=hf-status]");
    const fetchConfig = async () => {
      const id = repo.value.trim();
      repo.removeAttribute("aria-invalid");
      if (!HF_REPO.test(id)) {
        repo.setAttribute("aria-invalid", "true");
        status.textContent = "Write the repository id as org/name, for example Qwen/Qwen3-8B.";
        return;
      }
      const [org, model] = id.split("/");
      const url = `https://huggingface.co/${encodeURIComponent(org)}/${encodeURIComponent(model)}/resolve/main/config.json`;
      status.textContent = `Asking huggingface.co for ${id}/config.json…`;
      button.disabled = true;
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 20000);
      try {
        const response = await fetch(url, { credentials: "omit", signal: abort.signal, referrerPolicy: "no-referrer" });
        if (response.status === 401 || response.status === 403) {
          status.textContent = `${id} is gated or private (HTTP ${response.status}): Hugging Face wants a login ` +
            "and an accepted licence. Download its config.json there and paste it above.";
        } else if (response.status === 404) {
          status.textContent = `No config.json at ${id} (HTTP 404): check the spelling and the case of the id.`;
        } else if (!response.ok) {
          status.textContent = `Hugging Face answered HTTP ${response.status}; try again later, or paste the file.`;
        } else {
          const text = await response.text();
          if (text.length > MAX_CONFIG_BYTES) {
            status.textContent = "That config.json is larger than 2 MB, which no model config is; not used.";
          } else {
            config.value = text;
            status.textContent = `Fetched ${id}/config.json (${text.length.toLocaleString()} characters).`;
            this.changed(config);
          }
        }
      } catch (err) {
        status.textContent = abort.signal.aborted
          ? "huggingface.co did not answer within 20 s. Paste the config.json instead."
          : "Could not reach huggingface.co: you may be offline, or a firewall or content blocker stops the " +
            "request. Download the config.json another way and paste it above.";
      } finally {
        clearTimeout(timer);
        button.disabled = false;
      }
    };
    button.addEventListener("click", fetchConfig);
    repo.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        fetchConfig();
      }
    });
  }

  // Every text field declared with a file (forms.FileDrop: data-drop-zone) takes a dropped file.
  setupDrop() {
    for (const el of this.form.querySelectorAll("textarea[data-drop-zone][name]")) {
      el.addEventListener("dragover", (e) => {
        e.preventDefault();
        el.classList.add("fn-calc--drop");
      });
      el.addEventListener("dragleave", () => el.classList.remove("fn-calc--drop"));
      el.addEventListener("drop", async (e) => {
        e.preventDefault();
        el.classList.remove("fn-calc--drop");
        const file = e.dataTransfer && e.dataTransfer.files[0];
        if (file) await this.readFile(el, file);
      });
    }
  }

  // A dropped or chosen file: its text goes into the field, checked like pasted text. The field's
  // limit (data-file-max) counts characters as the package does; a UTF-8 file has at least as many
  // bytes as characters and at most four bytes for one, so only a file over four times the limit is
  // refused unread. A file that is too big or cannot be read leaves the field's text as it was.
  async readFile(el, file) {
    const max = Number(el.dataset.fileMax) || MAX_CONFIG_BYTES;
    const name = file.name.slice(0, 80);
    const tooBig = () => this.setError(el, `${name} ${el.dataset.fileTooBig || `is larger than ${max} characters.`}`);
    if (file.size > 4 * max) {
      tooBig();
      return;
    }
    let text;
    try {
      text = await file.text();
    } catch (err) {
      const what = el.dataset.fileWhat || "file";
      this.setError(el, `${name} could not be read (${(err && err.name) || "error"}); ` +
        `paste the ${what}'s text instead.`);
      return;
    }
    if (text.length > max) {
      tooBig();
      return;
    }
    el.value = text;
    this.changed(el);
  }

  // The file pickers (data-file-for names the field they fill); hidden until this runs.
  setupFile() {
    for (const box of this.form.querySelectorAll("[data-file-for]")) {
      const el = this.field(box.dataset.fileFor);
      const input = box.querySelector("input[type=file]");
      if (!el || !input) continue;
      input.addEventListener("change", async () => {
        const file = input.files && input.files[0];
        if (file) await this.readFile(el, file);
      });
      box.hidden = false;
    }
  }
}

// ---------------------------------------------------------------- start

const forms = [...document.querySelectorAll("form[data-calculator]")];
const calculators = forms.map((form) => new Calculator(form, forms.length > 1 ? `${form.dataset.calculator}.` : ""));

if (!SETTINGS || typeof Worker === "undefined" || typeof window.fnCalculatorsWorker !== "function") {
  for (const calc of calculators) calc.offline();
} else if (calculators.some((calc) => calc.urgent)) {
  for (const calc of calculators) calc.touch();
} else if ("IntersectionObserver" in window) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      observer.disconnect();
      for (const calc of calculators) calc.touch();
    }
  });
  for (const form of forms) observer.observe(form);
} else {
  for (const calc of calculators) calc.touch();
}
