// Module worker: Pyodide from this site, our wheel checked against the lock's sha256, then
// calculators.display.page_result(name, values) for every "run" message.
// Protocol: in {type: "init", indexURL, lockFileURL, packageBaseUrl, package, stdlib, stdlibSha256,
// snapshot, snapshotSha256, wheel, wheelSha256} then
// {type: "run", id, name, values}; out {type: "ready", ms} | {type: "failed", message} |
// {type: "result", id, reply, ms}.  Python errors never cross as tracebacks: page_result turns
// bad input into {ok: false, field, message}; anything else becomes a fixed message.
// An error that is not a Python exception (a fatal Pyodide error, e.g. "Maximum call stack size
// exceeded") leaves the interpreter unusable: the reply says {fatal: true}, and the page replaces
// this worker with a fresh one.

let run = null;
let PythonError = null;

const PY_SETUP = "from calculators.display import page_result_json as _fn_run";

// The bytes of a response, or of a fetch of url, checked against the sha256 the page was built with.
async function fetchChecked(url, sha256) {
  return checkedBytes(await fetch(url), url, sha256);
}

async function checkedBytes(response, url, sha256) {
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  const bytes = await response.arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (hex !== sha256) throw new Error(`sha256 ${hex} of ${url}, expected ${sha256}`);
  return bytes;
}

// The precompiled, trimmed stdlib (.pyc, made at build time by scripts/stdlib-pyc.mjs), checked
// against the sha256 the page was built with; handed to Pyodide as a blob: URL of the checked
// bytes.  null (with a console warning) when it is missing or does not match: a plain boot then.
//
// Bytes per second of the stdlib download: how fast this visitor's link is (see snapshotBoot).
let linkBytesPerS = Infinity;

// The stdlib's rate is taken from its Resource Timing entry (request sent to last byte received,
// as the network stack saw them), not from this thread's clock: this thread is busy meanwhile
// evaluating Pyodide's 1.2 MB script (prefetch), which on a busy machine made a local link look slow.
async function transferRate(url, bytes, t0) {
  for (let i = 0; i < 3; i++) {
    const entry = performance.getEntriesByName(url, "resource").pop();
    const start = entry && (entry.requestStart || entry.fetchStart || entry.startTime);
    if (entry && start > 0 && entry.responseEnd > start) {
      return (entry.encodedBodySize || bytes) / Math.max(1e-3, (entry.responseEnd - start) / 1000);
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // the entry may be queued a task later
  }
  return bytes / Math.max(1e-3, (performance.now() - t0) / 1000);
}

async function checkedStdlib(msg) {
  if (!msg.stdlib || !msg.stdlibSha256) return null;
  try {
    const t0 = performance.now();
    const bytes = await fetchChecked(msg.stdlib, msg.stdlibSha256);
    linkBytesPerS = await transferRate(new URL(msg.stdlib, self.location.href).href, bytes.byteLength, t0);
    return URL.createObjectURL(new Blob([bytes], { type: "application/zip" }));
  } catch (err) {
    console.warn("calculators worker: precompiled stdlib not used, falling back to a normal boot:", String(err));
    return null;
  }
}

async function boot(msg, stdLibURL, snapshot = null) {
  const { loadPyodide } = await import(msg.indexURL + "pyodide.mjs");
  return loadPyodide({
    indexURL: msg.indexURL,
    lockFileURL: msg.lockFileURL,
    // Set explicitly: Pyodide's fallback for packages is a CDN, which this site never uses.
    packageBaseUrl: msg.packageBaseUrl,
    ...(stdLibURL ? { stdLibURL } : {}),
    ...(snapshot ? { _loadSnapshot: snapshot } : {}),
    stdout: () => {},
    stderr: () => {},
  });
}

// The memory snapshot (made at build time by scripts/memory-snapshot.mjs with the same stdlib,
// after the package was imported and every calculator ran once): the interpreter comes back
// warm.  The file system is not part of a snapshot, so the wheel (checked against the lock's
// sha256) is unpacked again for the package's data files.  null, with a console warning, on any
// mismatch or error: a normal boot then.
//
// When to use it: a snapshot already in the HTTP cache (a repeat visit) always; otherwise only on a
// fast link, judged by the stdlib download just made (FAST_LINK_BYTES_PER_S: the ~6 MB snapshot
// then costs about a second, less than the start-up it saves).  The stdlib shares the link with the
// wasm and Pyodide's script, downloaded at the same time (prefetch), so its own rate is about half
// the link's: 3 MB/s of it means a link of about 6 MB/s.  On a slow link the page boots normally
// and fetches the snapshot at low priority once live, for the next visit.  The page's settings may
// set fastLinkBytesPerS instead (the tests set 0: a loopback server under load is not always fast).
const FAST_LINK_BYTES_PER_S = 3e6;
let prefetchSnapshot = false;

async function cachedSnapshot(msg) {
  try {
    const response = await fetch(msg.snapshot, { cache: "only-if-cached", mode: "same-origin" });
    return response.ok ? response : null;
  } catch {
    return null;
  }
}

async function snapshotBoot(msg, stdLibURL, stages) {
  if (!msg.snapshot || !msg.snapshotSha256 || !msg.wheel || !msg.wheelSha256 || !stdLibURL) return null;
  const cached = await cachedSnapshot(msg);
  stages.snapshotSource = cached ? "cache" : "network";
  const fast = typeof msg.fastLinkBytesPerS === "number" ? msg.fastLinkBytesPerS : FAST_LINK_BYTES_PER_S;
  if (!cached && linkBytesPerS < fast) {
    stages.snapshotSkipped = `slow link (${(linkBytesPerS / 1e6).toFixed(1)} MB/s)`;
    prefetchSnapshot = true;
    return null;
  }
  try {
    const [gz, wheel] = await Promise.all([
      cached ? checkedBytes(cached, msg.snapshot, msg.snapshotSha256) : fetchChecked(msg.snapshot, msg.snapshotSha256),
      // with the integrity option: the prefetched wheel (the browser checks it too)
      fetch(msg.wheel, { integrity: sri(msg.wheelSha256) }).then((r) => checkedBytes(r, msg.wheel, msg.wheelSha256)),
    ]);
    const raw = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
    const pyodide = await boot(msg, stdLibURL, new Uint8Array(raw));
    const site = pyodide.runPython("import sysconfig\nsysconfig.get_paths()['purelib']");
    pyodide.unpackArchive(new Uint8Array(wheel), "wheel", { extractDir: site });
    return pyodide;
  } catch (err) {
    console.warn("calculators worker: memory snapshot not used, falling back to a normal boot:", String(err));
    return null;
  }
}

// Downloads started before Pyodide asks for them (issue 11): on the precompiled path the stdlib is
// fetched and checked before loadPyodide runs, so the wasm, Pyodide's two scripts, the lock and our
// wheel start at the same time instead of after it (their transfer and the wasm's streaming
// compile overlap the stdlib's, and the wheel arrives during the boot instead of after it).
// Pyodide fetches with the global fetch: the first fetch of a prefetched URL with the same
// integrity option gets the response already under way (the wheel is fetched with the lock's
// sha256 as its integrity, as Pyodide's loadPackage asks for it, so the browser checks it the
// same); the modules are the same module records when Pyodide imports them.
const early = new Map(); // absolute URL -> {response: Promise<Response>, integrity}
const plainFetch = self.fetch.bind(self);
self.fetch = (input, options) => {
  const url = input instanceof Request ? input.url : new URL(String(input), self.location.href).href;
  const pending = early.get(url);
  if (pending && !(input instanceof Request) && ((options && options.integrity) || "") === pending.integrity) {
    early.delete(url);
    return pending.response;
  }
  return plainFetch(input, options);
};

// "sha256-<base64>" for a hex sha256, as Pyodide's loadPackage writes the lock's digest.
const sri = (hex) => "sha256-" + btoa(String.fromCharCode(...hex.match(/../g).map((h) => parseInt(h, 16))));

function prefetch(msg) {
  const start = (url, integrity = "") => {
    const href = new URL(url, self.location.href).href;
    early.set(href, { response: plainFetch(href, integrity ? { integrity } : {}), integrity });
  };
  start(new URL("pyodide.asm.wasm", msg.indexURL).href);
  start(msg.lockFileURL);
  if (msg.wheel && msg.wheelSha256) start(msg.wheel, sri(msg.wheelSha256));
  for (const name of ["pyodide.mjs", "pyodide.asm.mjs"]) import(msg.indexURL + name).catch(() => {});
}

async function init(msg) {
  const t0 = performance.now();
  const stages = {};
  const mark = (name) => { stages[name] = Math.round(performance.now() - t0); };
  try {
    if (msg.stdlib && msg.stdlibSha256) prefetch(msg);
    const stdLibURL = await checkedStdlib(msg);
    mark("stdlib");
    let pyodide = await snapshotBoot(msg, stdLibURL, stages);
    stages.snapshot = Boolean(pyodide);
    stages.precompiled = Boolean(stdLibURL);
    if (pyodide) {
      mark("boot");
    } else {
      try {
        pyodide = await boot(msg, stdLibURL);
      } catch (err) {
        if (!stdLibURL) throw err;
        console.warn("calculators worker: boot with the precompiled stdlib failed, falling back to a normal boot:", err);
        pyodide = await boot(msg, null);
        stages.precompiled = false;
      }
      mark("boot");
      let loadError = null;
      await pyodide.loadPackage(msg.package, {
        checkIntegrity: true,
        messageCallback: () => {},
        errorCallback: (text) => { loadError = text; },
      });
      if (loadError) throw new Error(loadError);
      mark("wheel");
    }
    pyodide.runPython(PY_SETUP);
    run = pyodide.globals.get("_fn_run");
    PythonError = pyodide.ffi.PythonError;
    mark("imported");
    self.postMessage({ type: "ready", ms: performance.now() - t0, stages });
    if (prefetchSnapshot) {
      // for the next visit: into the HTTP cache, read to the end so that it is stored
      fetch(msg.snapshot, { priority: "low" }).then((r) => r.arrayBuffer()).catch(() => {});
    }
  } catch (err) {
    // Details for the console of whoever debugs; the page shows a fixed sentence.
    console.error("calculators worker: Pyodide did not load", err);
    self.postMessage({ type: "failed", message: "the Python runtime could not be loaded" });
  }
}

self.onmessage = (event) => {
  const msg = event.data || {};
  if (msg.type === "init") {
    init(msg);
    return;
  }
  if (msg.type !== "run" || run === null) return;
  const t0 = performance.now();
  let reply;
  let fatal = false;
  try {
    reply = JSON.parse(run(String(msg.name), JSON.stringify(msg.values || {})));
  } catch (err) {
    fatal = !(PythonError && err instanceof PythonError);
    console.error("calculators worker:", err);
    reply = fatal
      ? { ok: false, field: "input", message: "the Python runtime failed on this input and was restarted" }
      : { ok: false, field: "input", message: "could not compute this input" };
  }
  if (fatal) run = null; // answer nothing more: the page terminates this worker
  self.postMessage({ type: "result", id: msg.id, reply, fatal, ms: performance.now() - t0 });
};
