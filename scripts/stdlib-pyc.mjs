// A trimmed, precompiled standard library for the calculators page, made with Pyodide's own
// interpreter under Node (so the bytecode magic is the pinned Pyodide's).
//
//   node scripts/stdlib-pyc.mjs build --index DIR/ --lock LOCK --out ZIP [--cases JSON]
//     boots Pyodide, installs the calculators wheel named by LOCK, imports the package and runs
//     every calculator (and the cases in JSON: [[name, values], ...]), then keeps the stdlib's
//     top-level modules and whole packages found in sys.modules (plus MARGIN), compiled to .pyc
//     with the layout of python_stdlib.zip (files at the zip's root).
//   node scripts/stdlib-pyc.mjs check --index DIR/ --lock LOCK --stdlib ZIP --cases JSON
//     boots Pyodide with stdLibURL=ZIP and prints, as JSON, page_result for every case.
//
// Called by hooks/calculator_pages.py at build time and by tests/pyodide/test_stdlib_pyc.py.
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    index: { type: "string", default: "node_modules/pyodide/" },
    lock: { type: "string" },
    out: { type: "string" },
    stdlib: { type: "string" },
    cases: { type: "string" },
    "package-out": { type: "string" },
  },
});
const mode = positionals[0];
if (!["build", "check"].includes(mode) || !opts.lock || (mode === "build" ? !opts.out : !opts.stdlib || !opts.cases)) {
  console.error("usage: node scripts/stdlib-pyc.mjs build|check --lock LOCK [--out ZIP | --stdlib ZIP --cases JSON]");
  process.exit(2);
}

const indexURL = path.resolve(opts.index) + "/";
const lockFile = path.resolve(opts.lock);
const { loadPyodide } = await import(path.join(indexURL, "pyodide.mjs"));
const pyodide = await loadPyodide({
  indexURL,
  lockFileURL: lockFile,
  packageBaseUrl: path.dirname(lockFile) + "/",
  ...(mode === "check" ? { stdLibURL: path.resolve(opts.stdlib) } : {}),
  stdout: (s) => process.stderr.write(s + "\n"),
  stderr: (s) => process.stderr.write(s + "\n"),
});
let loadError = null;
await pyodide.loadPackage("calculators", {
  checkIntegrity: true,
  messageCallback: () => {},
  errorCallback: (m) => { loadError = m; },
});
if (loadError) {
  console.error(`stdlib-pyc: could not load the calculators wheel: ${loadError}`);
  process.exit(1);
}
const cases = opts.cases ? fs.readFileSync(opts.cases, "utf-8") : "[]";
pyodide.globals.set("cases_json", cases);

// The worker's own set-up (docs/assets/calculators/worker.js), then every case.
const RUN = `
import json
from calculators import forms
from calculators.display import page_result_json as _fn_run

_results = []
for _name, _values in [(n, {}) for n in forms.CALCULATORS] + [tuple(c) for c in json.loads(cases_json)]:
    _results.append(json.loads(_fn_run(_name, json.dumps(_values))))
`;

if (mode === "check") {
  pyodide.runPython(RUN);
  const out = pyodide.runPython(`
import os, sys, importlib.util
_cached = {n: bool(m.__spec__.cached) and os.path.isfile(m.__spec__.cached)
           for n, m in sorted(sys.modules.items()) if n == "calculators" or n.startswith("calculators.")}
json.dumps({'modules': sorted(sys.modules), 'magic': importlib.util.MAGIC_NUMBER.hex(),
            'cache_tag': sys.implementation.cache_tag, 'package_cached': _cached,
            'stdlib': [m.__spec__.origin for m in [json, sys.modules['encodings']]], 'results': _results})
`);
  process.stdout.write(out, () => process.exit(0)); // exit only once a pipe has taken it all
  await new Promise(() => {});
}

pyodide.runPython(RUN);
// Keep what start-up and the package imported, whole packages, plus a margin for paths the runs
// above may not reach (error formatting, warnings, text encodings).
const BUILD = `
import sys, zipfile, io, importlib.util, marshal
from importlib._bootstrap_external import _code_to_hash_pyc

MARGIN = {"encodings", "json", "collections", "importlib", "re", "warnings", "traceback", "linecache",
          "tokenize", "token", "textwrap", "string", "dataclasses", "enum", "functools", "typing",
          "fractions", "decimal", "_pydecimal", "numbers", "statistics", "random", "bisect", "heapq",
          "tomllib", "copy", "weakref", "contextlib", "operator", "keyword", "reprlib", "types",
          "abc", "codecs", "io", "stat", "posixpath", "os", "genericpath", "_collections_abc",
          "_sitebuiltins", "site", "sysconfig", "pathlib", "fnmatch", "glob", "shutil", "ast",
          "inspect", "dis", "opcode", "_opcode_metadata", "colorsys", "datetime", "_pydatetime",
          "locale", "unicodedata", "difflib", "pprint", "html", "base64", "hashlib", "struct",
          "zipfile", "zipimport", "ntpath", "quopri", "annotationlib", "_colorize", "__future__"}
# Of encodings/ (124 codecs, a tenth of the zip), those imported plus the Unicode family, Latin-1,
# ASCII and the codecs Python itself may reach for (idna for host names, the escapes, charmap).
ENCODINGS = {name.split(".")[1] for name in sys.modules if name.startswith("encodings.")} | {
    "__init__", "aliases", "utf_8", "utf_8_sig", "utf_16", "utf_16_le", "utf_16_be", "utf_32",
    "utf_32_le", "utf_32_be", "ascii", "latin_1", "cp1252", "charmap", "idna", "punycode",
    "raw_unicode_escape", "unicode_escape", "base64_codec", "hex_codec", "mbcs", "oem"}
# Compiled as python -OO compiles (no docstrings, no asserts): about a seventh smaller on the wire.
# Not Pyodide's own packages: it reads docstrings of its Python code to document JS objects.
KEEP_DOCS = {"_pyodide", "pyodide"}
src = f"/lib/python{sys.version_info[0]}{sys.version_info[1]}.zip"
used = {name.split(".")[0] for name in sys.modules} | MARGIN
out = io.BytesIO()
kept = []
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
    for info in sorted(zin.infolist(), key=lambda i: i.filename):
        name = info.filename
        top = name.split("/")[0].removesuffix(".py")
        if top not in used and not top.startswith("_sysconfigdata"):
            continue
        if top == "encodings" and name.endswith(".py") and name.split("/")[-1][:-3] not in ENCODINGS:
            continue
        data = zin.read(name)
        if name.endswith(".py"):
            code = compile(data, src + "/" + name, "exec", dont_inherit=True, optimize=0 if top in KEEP_DOCS else 2)
            data = _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)
            name += "c"
        entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        entry.external_attr = (0o40755 << 16) | 0x10 if name.endswith("/") else 0o644 << 16
        entry.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
        zout.writestr(entry, data)
        kept.append(name)
_zip_bytes = out.getvalue()
_kept = len(kept)
`;
pyodide.runPython(BUILD);
const bytes = pyodide.globals.get("_zip_bytes").toJs();
fs.writeFileSync(opts.out, bytes);
console.error(`stdlib-pyc: ${pyodide.globals.get("_kept")} entries, ${bytes.length} bytes -> ${opts.out}`);

// --package-out ZIP: our package's modules compiled the same way (unchecked hash-based .pyc), at
// the paths a wheel gives them (calculators/__pycache__/NAME.cpython-314.pyc), for
// hooks/calculator_pages.py to add to the wheel it ships: the import then compiles nothing.
if (opts["package-out"]) {
  pyodide.runPython(`
import calculators, pathlib
from importlib._bootstrap_external import _code_to_hash_pyc
_site = pathlib.Path(calculators.__file__).parent.parent
_out = io.BytesIO()
_n = 0
with zipfile.ZipFile(_out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
    for py in sorted(pathlib.Path(calculators.__file__).parent.rglob("*.py")):
        data = py.read_bytes()
        code = compile(data, str(py), "exec", dont_inherit=True)
        pyc = pathlib.Path(importlib.util.cache_from_source(str(py)))
        name = pyc.relative_to(_site).as_posix()  # fails if a pycache_prefix moved it
        entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        entry.external_attr = 0o644 << 16
        entry.compress_type = zipfile.ZIP_DEFLATED
        zout.writestr(entry, _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
        _n += 1
_pkg_bytes = _out.getvalue()
`);
  const pkg = pyodide.globals.get("_pkg_bytes").toJs();
  fs.writeFileSync(opts["package-out"], pkg);
  console.error(`stdlib-pyc: ${pyodide.globals.get("_n")} package modules, ${pkg.length} bytes -> ${opts["package-out"]}`);
}
