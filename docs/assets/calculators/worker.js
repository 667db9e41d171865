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
let keepRaw = null; // Promise<Uint8Array> of a snapshot inflated on this visit, to keep (keepRawSnapshot)
let pendingWheel = null; // after a snapshot boot: unpacks the wheel's files (snapshotBoot)

async function cachedSnapshot(msg) {
  try {
    const response = await fetch(msg.snapshot, { cache: "only-if-cached", mode: "same-origin" });
    return response.ok ? response : null;
  } catch {
    return null;
  }
}

// The checked, inflated snapshot bytes of a response (a promise: Pyodide's loadPyodide awaits its
// _loadSnapshot option only after it has started the wasm's compile and imported its scripts, so
// handing it the promise overlaps those with this read, check and inflate).
async function inflatedSnapshot(response, msg, mark) {
  const gz = await (response ? checkedBytes(response, msg.snapshot, msg.snapshotSha256)
    : fetchChecked(msg.snapshot, msg.snapshotSha256));
  mark("snapshotChecked");
  const raw = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
  mark("snapshotInflated");
  return new Uint8Array(raw);
}

// Repeat visits keep the inflated snapshot in the Cache API (RAW_CACHE, one entry: this build's),
// written once live after a boot from the gzipped file; reading it back skips the ~0.2 s inflate.
// The bytes are checked against the sha256 of the inflated snapshot the page was built with
// (snapshotRawSha256); an entry that fails is deleted and the gzipped file used instead.
const RAW_CACHE = "fieldnotes-calculators-snapshot";
const rawKey = (msg) => new URL(msg.snapshot, self.location.href).href + "?inflated";

async function rawSnapshot(msg) {
  if (!msg.snapshotRawSha256 || typeof caches === "undefined") return null;
  let cache = null;
  try {
    cache = await caches.open(RAW_CACHE);
    const response = await cache.match(rawKey(msg));
    return response ? new Uint8Array(await checkedBytes(response, rawKey(msg), msg.snapshotRawSha256)) : null;
  } catch (err) {
    console.warn("calculators worker: stored snapshot not used:", String(err));
    if (cache) cache.delete(rawKey(msg)).catch(() => {});
    return null;
  }
}

// After a boot from the gzipped snapshot: its inflated bytes into RAW_CACHE for the next visit,
// older builds' entries removed.  Best effort (storage may be full or off).
async function keepRawSnapshot(msg, raw) {
  if (!msg.snapshotRawSha256 || typeof caches === "undefined") return;
  try {
    const cache = await caches.open(RAW_CACHE);
    for (const request of await cache.keys()) {
      if (request.url !== rawKey(msg)) await cache.delete(request);
    }
    await cache.put(rawKey(msg), new Response(raw, { headers: { "Content-Type": "application/octet-stream" } }));
  } catch {
    // the next visit inflates the gzipped file again
  }
}

// A repeat visit: the snapshot from the Cache API, else from the HTTP cache (read, checked and
// inflated), started at once, while the stdlib is read.  Resolves to null when neither has it,
// else to {source, bytes: Promise<Uint8Array>}; a failure surfaces where the bytes are used
// (snapshotBoot).
function cachedSnapshotEarly(msg, mark) {
  if (!msg.snapshot || !msg.snapshotSha256 || !msg.wheel || !msg.wheelSha256) return Promise.resolve(null);
  return (async () => {
    const raw = await rawSnapshot(msg);
    if (raw) {
      mark("snapshotChecked");
      return { source: "cache storage", bytes: Promise.resolve(raw) };
    }
    const cached = await cachedSnapshot(msg);
    if (!cached) return null;
    const bytes = inflatedSnapshot(cached, msg, mark);
    bytes.catch(() => {}); // reported by snapshotBoot, or unused when the stdlib failed
    return { source: "cache", bytes };
  })();
}

async function snapshotBoot(msg, stdLibURL, stages, mark, early) {
  if (!msg.snapshot || !msg.snapshotSha256 || !msg.wheel || !msg.wheelSha256 || !stdLibURL) return null;
  const cached = await early;
  stages.snapshotSource = cached ? cached.source : "network";
  const fast = typeof msg.fastLinkBytesPerS === "number" ? msg.fastLinkBytesPerS : FAST_LINK_BYTES_PER_S;
  if (!cached && linkBytesPerS < fast) {
    stages.snapshotSkipped = `slow link (${(linkBytesPerS / 1e6).toFixed(1)} MB/s)`;
    prefetchSnapshot = true;
    return null;
  }
  try {
    // with the integrity option: the prefetched wheel (the browser checks it too)
    const wheel = fetch(msg.wheel, { integrity: sri(msg.wheelSha256) })
      .then((r) => checkedBytes(r, msg.wheel, msg.wheelSha256));
    wheel.catch(() => {}); // awaited by unpackWheel
    const bytes = cached ? cached.bytes : inflatedSnapshot(null, msg, mark);
    const pyodide = await boot(msg, stdLibURL, bytes);
    mark("snapshotRestored");
    if (!cached || cached.source !== "cache storage") keepRaw = bytes;
    // The snapshot holds every module and the bundled configs (scripts/memory-snapshot.mjs), so the
    // first answer needs no file; the wheel's files (the file system is not in a snapshot) are
    // unpacked after it, for anything later (see answer()).
    pendingWheel = async () => {
      const site = pyodide.runPython("import sysconfig\nsysconfig.get_paths()['purelib']");
      pyodide.unpackArchive(new Uint8Array(await wheel), "wheel", { extractDir: site });
    };
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
    const early = cachedSnapshotEarly(msg, mark);
    const stdLibURL = await checkedStdlib(msg);
    mark("stdlib");
    let pyodide = await snapshotBoot(msg, stdLibURL, stages, mark, early);
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
    if (keepRaw) keepRaw.then((raw) => keepRawSnapshot(msg, raw)).catch(() => {});
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
  answer(msg);
};

// The wheel's files, once (after a snapshot boot); a failure is logged: the snapshot still answers.
async function unpackPendingWheel() {
  const unpack = pendingWheel;
  pendingWheel = null;
  if (!unpack) return;
  try {
    await unpack();
  } catch (err) {
    console.warn("calculators worker: the wheel's files could not be unpacked:", String(err));
  }
}

function compute(msg) {
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
  return { reply, fatal };
}

// One "run" message.  After a snapshot boot the first answer comes before the wheel is unpacked;
// a refusal while it is still pending is computed again once it is (in case the refusal came from a
// missing file), and the wheel is unpacked right after the first answer, in a task of its own.
async function answer(msg) {
  const t0 = performance.now();
  let { reply, fatal } = compute(msg);
  if (pendingWheel && !fatal && reply && reply.ok === false) {
    await unpackPendingWheel();
    ({ reply, fatal } = compute(msg));
  }
  if (fatal) run = null; // answer nothing more: the page terminates this worker
  self.postMessage({ type: "result", id: msg.id, reply, fatal, ms: performance.now() - t0 });
  if (pendingWheel) setTimeout(unpackPendingWheel, 0);
}
