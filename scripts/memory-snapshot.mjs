// A Pyodide memory snapshot taken after the calculators package is imported and every calculator
// has run once, so the page's worker starts from an interpreter that is already warm (issue 11).
//
//   node scripts/memory-snapshot.mjs build --index DIR/ --wheel WHL --stdlib ZIP --out SNAPSHOT.gz
//     boots Pyodide (stdLibURL = the precompiled stdlib the page uses) with _makeSnapshot, unpacks
//     the wheel into site-packages (loadPackage before a snapshot is refused by Pyodide), imports
//     the package, runs every calculator with its defaults, and writes the gzipped snapshot.
//   node scripts/memory-snapshot.mjs check --index DIR/ --wheel WHL --stdlib ZIP --snapshot SNAPSHOT.gz
//                                          --cases JSON
//     boots from the snapshot as the worker does before its first answer (restore only: the file
//     system is not part of a snapshot, so the package's modules and data must all be in it) and
//     prints, as JSON, page_result for every calculator's defaults and every case.
//
// Called by hooks/calculator_pages.py at build time and by tests/pyodide/test_memory_snapshot.py.
// The worker (docs/assets/calculators/worker.js) checks the snapshot's sha256 and falls back to a
// normal boot on any mismatch or error.
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import zlib from "node:zlib";
import { parseArgs } from "node:util";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    index: { type: "string", default: "node_modules/pyodide/" },
    wheel: { type: "string" },
    stdlib: { type: "string" },
    out: { type: "string" },
    snapshot: { type: "string" },
    cases: { type: "string" },
  },
});
const mode = positionals[0];
const usable = ["build", "check"].includes(mode) && opts.wheel && opts.stdlib
  && (mode === "build" ? opts.out : opts.snapshot && opts.cases);
if (!usable) {
  console.error("usage: node scripts/memory-snapshot.mjs build|check --wheel WHL --stdlib ZIP "
    + "[--out SNAPSHOT.gz | --snapshot SNAPSHOT.gz --cases JSON]");
  process.exit(2);
}

const indexURL = path.resolve(opts.index) + "/";
const { loadPyodide } = await import(path.join(indexURL, "pyodide.mjs"));
const quiet = { stdout: (s) => process.stderr.write(s + "\n"), stderr: (s) => process.stderr.write(s + "\n") };
const wheel = new Uint8Array(fs.readFileSync(opts.wheel));
const stdLibURL = path.resolve(opts.stdlib);

// The worker's set-up (docs/assets/calculators/worker.js PY_SETUP), then every calculator once.
const RUN = `
import json, sysconfig
from calculators import forms
from calculators.display import page_result_json as _fn_run

_results = [json.loads(_fn_run(n, "{}")) for n in forms.CALCULATORS]
`;

// Before the snapshot: every module of the package imported and the bundled configs read into
// memory (models.preload_presets), so that a worker restored from it answers before the wheel is
// unpacked (the file system is not part of a snapshot; the worker unpacks it after its first answer).
const PRELOAD = `
import importlib, os, calculators
from calculators import models
for _m in sorted(os.listdir(calculators.__path__[0])):  # the trimmed stdlib has no pkgutil
    if _m.endswith(".py") and _m not in ("__main__.py", "cli.py"):  # the command line: not in the page
        importlib.import_module("calculators." + _m[:-3])
models.preload_presets()
del _m
`;

function unpackWheel(pyodide) {
  const site = pyodide.runPython("import sysconfig\nsysconfig.get_paths()['purelib']");
  pyodide.unpackArchive(wheel, "wheel", { extractDir: site });
}

if (mode === "build") {
  const pyodide = await loadPyodide({ indexURL, stdLibURL, _makeSnapshot: true, ...quiet });
  unpackWheel(pyodide);
  pyodide.runPython(PRELOAD);
  pyodide.runPython(RUN);
  pyodide.runPython("del _results");
  const snapshot = pyodide.makeMemorySnapshot();
  const gz = zlib.gzipSync(snapshot, { level: 9 });
  fs.writeFileSync(opts.out, gz);
  console.error(`memory-snapshot: ${snapshot.length} bytes, ${gz.length} gzipped -> ${opts.out}`);
} else {
  const raw = zlib.gunzipSync(fs.readFileSync(opts.snapshot));
  const pyodide = await loadPyodide({ indexURL, stdLibURL, _loadSnapshot: new Uint8Array(raw), ...quiet });
  // no unpackWheel here: the worker answers its first run before it unpacks the wheel, so every case
  // must work from the snapshot alone (a file the package still read would fail here)
  pyodide.globals.set("cases_json", fs.readFileSync(opts.cases, "utf-8"));
  pyodide.runPython(RUN + "\n_results += [json.loads(_fn_run(n, json.dumps(v))) for n, v in json.loads(cases_json)]");
  const out = pyodide.runPython("json.dumps({'results': _results})");
  process.stdout.write(out, () => process.exit(0)); // exit only once a pipe has taken it all
  await new Promise(() => {});
}
