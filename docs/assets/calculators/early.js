// Early start (issue 11): hooks/calculator_pages.py inlines this file into the <head> of every page
// that has a calculator, after the page's JSON settings (#fn-calculators-config), and into no
// other page.  It is the one place that creates the calculators' worker (worker.js) and sends it
// its init message: window.fnCalculatorsWorker() returns {worker, t0, events}.  With the setting
// "early" it is called here at once, while the browser still parses the page, so the worker's
// downloads (wasm, stdlib, wheel) and Pyodide's boot overlap the rest of the page's loading;
// calculators.js adopts that worker (window.fnCalculatorsEarly) and replays the messages it got
// in the meantime (events).  hooks/csp.py allows this inline script by its sha256.
(() => {
  const el = document.getElementById("fn-calculators-config");
  if (!el || typeof Worker === "undefined") return;
  const s = JSON.parse(el.textContent);
  const abs = (u) => (u ? new URL(u, document.baseURI).href : null);
  window.fnCalculatorsWorker = () => {
    const started = { worker: new Worker(abs(s.worker), { type: "module" }), t0: performance.now(), events: [] };
    started.worker.onmessage = started.worker.onerror = (event) => {
      if (event.type === "error" && event.preventDefault) event.preventDefault();
      started.events.push(event);
    };
    started.worker.postMessage({
      type: "init",
      indexURL: abs(s.indexURL),
      lockFileURL: abs(s.lockFileURL),
      packageBaseUrl: abs(s.packageBaseUrl),
      package: s.package,
      stdlib: abs(s.stdlib), // precompiled stdlib (issue 11)
      stdlibSha256: s.stdlibSha256 || null,
      snapshot: abs(s.snapshot), // memory snapshot (issue 11)
      snapshotSha256: s.snapshotSha256 || null,
      snapshotRawSha256: s.snapshotRawSha256 || null, // of the inflated bytes (the Cache API copy)
      wheel: abs(s.wheel),
      wheelSha256: s.wheelSha256 || null,
      // optional: the stdlib download rate above which a first visit fetches the snapshot (worker.js)
      fastLinkBytesPerS: typeof s.fastLinkBytesPerS === "number" ? s.fastLinkBytesPerS : null,
    });
    return started;
  };
  if (s.early) {
    try {
      window.fnCalculatorsEarly = window.fnCalculatorsWorker();
    } catch {
      // calculators.js tries again when a calculator is needed, and says so if it fails
    }
  }
})();
