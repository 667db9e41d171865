// Run pytest inside real Pyodide under Node: node tests/pyodide/run.mjs --help
//
// Loads Pyodide from node_modules/pyodide, installs the calculators wheel named by a Pyodide lock
// file (the one the site build writes, or one made by tests/pyodide/test_pyodide.py), unpacks the
// pure wheels of pytest and its dependencies, copies the given files and folders of the repository
// into Pyodide's file system, and calls pytest.main.  Exit status: pytest's, except that "no tests
// collected" (5) is reported as a failure (1).
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    index: { type: "string", default: "node_modules/pyodide/" },
    lock: { type: "string" },
    wheels: { type: "string" },
    copy: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", default: false },
  },
});
if (opts.help || !opts.lock || !opts.wheels) {
  console.log("usage: node tests/pyodide/run.mjs --lock DIR/pyodide-lock.json --wheels DIR " +
    "[--copy PATH]... [--index node_modules/pyodide/] -- PYTEST_ARGS...");
  process.exit(opts.help ? 0 : 2);
}

const REPO = "/home/pyodide/repo";
const indexURL = path.resolve(opts.index) + "/";
const lockFile = path.resolve(opts.lock);
const t0 = Date.now();
const { loadPyodide } = await import(path.join(indexURL, "pyodide.mjs"));
const pyodide = await loadPyodide({
  indexURL,
  lockFileURL: lockFile,
  packageBaseUrl: path.dirname(lockFile) + "/",
});
const boot = Date.now() - t0;
let loadError = null;
await pyodide.loadPackage("calculators", {
  checkIntegrity: true,
  messageCallback: () => {},
  errorCallback: (m) => { loadError = m; },
});
if (loadError) {
  console.error(`pyodide: could not load the calculators wheel: ${loadError}`);
  process.exit(1);
}

// pytest and its pure-Python dependencies, from wheels downloaded with pip (see test_pyodide.py).
const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
const wheels = fs.readdirSync(opts.wheels).filter((f) => f.endsWith(".whl")).sort();
for (const name of wheels) {
  const bytes = new Uint8Array(fs.readFileSync(path.join(opts.wheels, name)));
  pyodide.unpackArchive(bytes, "wheel", { extractDir: sitePackages });
}

// --copy PATH copies PATH (relative to the current folder) to the same place under REPO;
// --copy HOST=PATH copies the file or folder HOST to PATH under REPO.
function copyIn(spec, target) {
  const [rel, to] = spec.includes("=") ? spec.split("=", 2) : [spec, target ?? spec];
  const src = path.resolve(rel);
  const dst = path.posix.join(REPO, to.split(path.sep).join("/"));
  const stat = fs.statSync(src);
  if (stat.isDirectory()) {
    pyodide.FS.mkdirTree(dst);
    for (const entry of fs.readdirSync(src)) {
      if (entry === "__pycache__" || entry.startsWith(".")) continue;
      copyIn(path.join(rel, entry), path.join(to, entry));
    }
  } else {
    pyodide.FS.mkdirTree(path.posix.dirname(dst));
    pyodide.FS.writeFile(dst, fs.readFileSync(src));
  }
}
pyodide.FS.mkdirTree(REPO);
for (const spec of opts.copy) copyIn(spec);

pyodide.globals.set("pytest_args", pyodide.toPy(positionals));
let rc;
try {
  rc = await pyodide.runPythonAsync(`
import os, sys
os.chdir(${JSON.stringify(REPO)})
sys.path.insert(0, ${JSON.stringify(REPO)})
import pytest
print(f"pyodide: Python {sys.version.split()[0]} on {sys.platform}, pytest {pytest.__version__}", flush=True)
int(pytest.main(["-p", "no:cacheprovider", *pytest_args]))
`);
} catch (err) {
  // A Python error outside the tests (an import, say): its message, not Pyodide's JS stack.
  console.error(`pyodide: ${err.message ?? err}`);
  process.exit(1);
}
console.log(`pyodide: boot ${(boot / 1000).toFixed(1)} s, total ${((Date.now() - t0) / 1000).toFixed(1)} s, pytest exit ${rc}`);
if (rc === 5) {
  console.error("pyodide: pytest collected no tests: that is a failure here");
  process.exit(1);
}
process.exit(rc);
