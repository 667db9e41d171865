"""Calculators in pages: ``<!-- calc: NAME -->`` becomes a form with pre-rendered results.

* ``on_files`` builds the ``calculators`` wheel (a small deterministic zip builder below), copies the
  Pyodide runtime from ``node_modules/pyodide`` (``npm ci``) to ``assets/pyodide/<version>/`` and
  writes a ``pyodide-lock.json`` that lists only our wheel, with its sha256: Pyodide's
  ``loadPackage`` checks that digest before installing.  Wheel and lock live in a folder named after
  the digest, so a browser cache can never pair an old wheel with a new lock.
* ``on_page_content`` replaces each marker with the HTML form rendered from the declaration in
  :mod:`calculators.forms`, with the default inputs' results computed now by the same Python the
  browser runs (:func:`calculators.display.page_result`), so the page is right with JavaScript off.
  ``<!-- calc: vllm tp=2 gpu=h200 -->`` overrides defaults (checked here).  An unknown name or a bad
  override fails the build, naming the page.
* ``on_post_page`` adds the stylesheet, the module script, its JSON configuration and the inline
  ``early.js`` (which starts the worker from ``<head>``) to pages that have a calculator, and to no
  other page: a plain page loads no Pyodide byte.

Material's ``navigation.instant`` stays off on purpose (see also hooks/vendor.py): these tags are
added per page, and instant navigation would swap the page body without running them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from calculators import display, forms

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "calculators"
ASSETS_URI = "assets/calculators"
PYODIDE_URI = "assets/pyodide"
# The five files Pyodide needs for a pure-Python package (the lock is replaced by ours).
PYODIDE_RUNTIME = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
_CHARSET = re.compile(r"<meta\s+charset=[\"']?utf-8[\"']?\s*/?>", re.IGNORECASE)  # as hooks/csp.py
MARKER = re.compile(r"<!--\s*calc:\s*(?P<body>[^>]*?)\s*-->")
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
# Inputs a link must never set (calculators.js neither reads them from the URL nor writes them into
# it): what a Kubernetes manifest runs and where, and which secret it reads. A shared link could
# otherwise swap in someone else's image or namespace without the reader noticing.
NOT_FROM_LINK = frozenset({"image", "namespace"})


def from_link_allowed(name: str) -> bool:
    return name not in NOT_FROM_LINK and "secret" not in name

# Pages (by src_uri) that received a calculator in this build.
_pages_with_calculators: set[str] = set()
_state: dict[str, str] = {}


# ---------------------------------------------------------------- wheel and lock


def package_version(root: Path = ROOT) -> str:
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if match is None:
        raise PluginError("hooks/calculator_pages.py: no version in pyproject.toml")
    return match.group(1)


def _package_files(root: Path) -> list[Path]:
    pkg = root / PACKAGE
    keep = (".py", ".json", ".toml", ".typed")
    return sorted(
        p for p in pkg.rglob("*") if p.is_file() and p.suffix in keep and "__pycache__" not in p.parts
    )


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(out_dir: Path, root: Path = ROOT, extra: list[tuple[str, bytes]] | None = None) -> Path:
    """A pure-Python wheel of the package, byte-identical for identical sources.

    ``extra``: more (path, bytes) entries, such as the package's ``__pycache__/*.pyc`` (see
    :func:`wheel_with_pyc`).
    """
    version = package_version(root)
    dist_info = f"{PACKAGE}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = [
        (p.relative_to(root).as_posix(), p.read_bytes()) for p in _package_files(root)
    ] + sorted(extra or [])
    entries.append((f"{dist_info}/METADATA", (
        f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\nRequires-Python: >=3.11\n"
        "Summary: vLLM Field Notes calculators (standard library only)\n"
    ).encode()))
    entries.append((f"{dist_info}/WHEEL", (
        b"Wheel-Version: 1.0\nGenerator: hooks/calculator_pages.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )))
    entries.append((f"{dist_info}/top_level.txt", f"{PACKAGE}\n".encode()))
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{PACKAGE}-{version}-py3-none-any.whl"
    tmp = wheel.with_suffix(f".{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(wheel)
    return wheel


def lock_for(wheel: Path, npm_lock: Path) -> dict[str, Any]:
    """A Pyodide lock file (schema of ``pyodide lockfile add-wheels``) that lists only ``wheel``."""
    base = json.loads(npm_lock.read_text(encoding="utf-8"))
    version = wheel.name.split("-")[1]
    entry = {
        "name": PACKAGE,
        "version": version,
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "package_type": "package",
        "imports": [PACKAGE],
        "depends": [],
        "unvendored_tests": False,
        "tool": {},
    }
    return {"info": base["info"], "packages": {PACKAGE: entry}}


def pyodide_dir(config: MkDocsConfig) -> Path:
    path = Path(config.config_file_path).resolve().parent / "node_modules" / "pyodide"
    if not (path / "pyodide.mjs").is_file():
        raise PluginError(f"hooks/calculator_pages.py: {path} is missing. Run `npm ci` (make build does).")
    return path


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def precompiled_stdlib(npm: Path, wheel: Path, lock: dict[str, Any]) -> Path:
    """The precompiled stdlib zip; see :func:`precompiled_artefacts`."""
    return precompiled_artefacts(npm, wheel, lock)[0]


def precompiled_artefacts(npm: Path, wheel: Path, lock: dict[str, Any]) -> tuple[Path, Path]:
    """The stdlib modules the package and Pyodide's start-up import, as ``.pyc`` in a zip.

    Made by ``scripts/stdlib-pyc.mjs`` with Pyodide's own interpreter under Node, so the bytecode
    is the pinned Pyodide's; cached in ``build/stdlib-pyc/`` by the digest of its inputs.  The
    worker checks its sha256 and falls back to ``python_stdlib.zip`` on any mismatch.  Second: a
    zip of the package's own modules compiled by the same run (``calculators/__pycache__/*.pyc``),
    which :func:`wheel_with_pyc` adds to the wheel the site ships.
    """
    script = ROOT / "scripts" / "stdlib-pyc.mjs"
    key = _digest(npm / "python_stdlib.zip", npm / "pyodide.asm.wasm", wheel, script)
    out_dir = ROOT / "build" / "stdlib-pyc"
    out = out_dir / f"stdlib-{key}.zip"
    pkg = out_dir / f"package-{key}.zip"
    if out.is_file() and pkg.is_file():
        return out, pkg
    work = out_dir / f"work-{key}-{os.getpid()}"  # per process: two builds may run at once
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy2(wheel, work / wheel.name)
    (work / "pyodide-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    pkg_tmp = pkg.with_suffix(f".{os.getpid()}.tmp")
    done = subprocess.run(
        ["node", str(script), "build", "--index", f"{npm}/", "--lock", str(work / "pyodide-lock.json"),
         "--out", str(tmp), "--package-out", str(pkg_tmp)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        raise PluginError(f"hooks/calculator_pages.py: scripts/stdlib-pyc.mjs failed:\n{done.stderr[-2000:]}")
    tmp.replace(out)
    pkg_tmp.replace(pkg)
    return out, pkg


def wheel_with_pyc(pyc_zip: Path, out_dir: Path, root: Path = ROOT) -> Path:
    """The wheel of :func:`build_wheel` plus the package's ``.pyc`` made by Pyodide's interpreter
    (:func:`precompiled_artefacts`): unchecked hash-based pycs in ``calculators/__pycache__/``,
    so Pyodide imports the package without compiling it (the ``.py`` stay, for tracebacks)."""
    with zipfile.ZipFile(pyc_zip) as zf:
        extra = [(name, zf.read(name)) for name in zf.namelist()]
    if not extra or any(not n.startswith(f"{PACKAGE}/") or not n.endswith(".pyc") for n, _ in extra):
        raise PluginError(f"hooks/calculator_pages.py: {pyc_zip} is no set of {PACKAGE}/**/*.pyc")
    return build_wheel(out_dir, root, extra)


def shipped_wheel(npm: Path, build_dir: Path) -> tuple[Path, dict[str, Any], Path]:
    """(wheel with .pyc, its lock, precompiled stdlib): what the site ships.  The stdlib is made
    with the plain wheel (``build_dir``/plain); the shipped wheel goes to ``build_dir``/pyc."""
    plain = build_wheel(build_dir / "plain")
    stdlib, pyc_zip = precompiled_artefacts(npm, plain, lock_for(plain, npm / "pyodide-lock.json"))
    wheel = wheel_with_pyc(pyc_zip, build_dir / "pyc")
    return wheel, lock_for(wheel, npm / "pyodide-lock.json"), stdlib


def memory_snapshot(npm: Path, wheel: Path, stdlib: Path) -> Path:
    """A gzipped Pyodide memory snapshot taken after the package is imported and every calculator
    has run once (``scripts/memory-snapshot.mjs``, Pyodide's ``makeMemorySnapshot`` under Node).

    The worker boots from it with ``_loadSnapshot`` (the same precompiled stdlib) and is live without
    importing or reading anything (every module and the bundled configs are in the snapshot); it
    unpacks the wheel after its first answer, checks the sha256 first and falls back to a normal
    boot on any mismatch or error.  Cached in
    ``build/memory-snapshot/`` by the digest of its inputs.
    """
    script = ROOT / "scripts" / "memory-snapshot.mjs"
    key = _digest(npm / "pyodide.asm.wasm", npm / "pyodide.asm.mjs", wheel, stdlib, script)
    out_dir = ROOT / "build" / "memory-snapshot"
    out = out_dir / f"snapshot-{key}.bin.gz"
    if out.is_file():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    done = subprocess.run(
        ["node", str(script), "build", "--index", f"{npm}/", "--wheel", str(wheel), "--stdlib", str(stdlib),
         "--out", str(tmp)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise PluginError(f"hooks/calculator_pages.py: scripts/memory-snapshot.mjs failed:\n{done.stderr[-2000:]}")
    tmp.replace(out)
    return out


def on_files(files: Files, config: MkDocsConfig) -> Files:
    _pages_with_calculators.clear()
    npm = pyodide_dir(config)
    pyodide_version = json.loads((npm / "package.json").read_text(encoding="utf-8"))["version"]
    build_dir = Path(config.config_file_path).resolve().parent / "build" / "calculators-wheel"
    # -- the wheel with the package as .pyc, and the precompiled stdlib (issue 11): see shipped_wheel().
    wheel, lock, stdlib = shipped_wheel(npm, build_dir)
    pkg_uri = f"{ASSETS_URI}/py/{lock['packages'][PACKAGE]['sha256'][:12]}"
    runtime_uri = f"{PYODIDE_URI}/{pyodide_version}"
    for name in PYODIDE_RUNTIME:
        files.append(File.generated(config, f"{runtime_uri}/{name}", abs_src_path=str(npm / name)))
    files.append(File.generated(config, f"{pkg_uri}/{wheel.name}", abs_src_path=str(wheel)))
    files.append(File.generated(config, f"{pkg_uri}/pyodide-lock.json", content=json.dumps(lock, indent=1)))
    # -- precompiled stdlib (issue 11): see precompiled_artefacts() above.
    stdlib_sha = hashlib.sha256(stdlib.read_bytes()).hexdigest()
    stdlib_uri = f"{pkg_uri}/stdlib-{stdlib_sha[:12]}.zip"
    files.append(File.generated(config, stdlib_uri, abs_src_path=str(stdlib)))
    _state.update(stdlib_uri=stdlib_uri, stdlib_sha256=stdlib_sha)
    # -- end precompiled stdlib
    # -- memory snapshot (issue 11): see memory_snapshot() above.
    snapshot = memory_snapshot(npm, wheel, stdlib)
    snapshot_gz = snapshot.read_bytes()
    snapshot_sha = hashlib.sha256(snapshot_gz).hexdigest()
    # the inflated bytes' digest: worker.js checks the copy it keeps in the Cache API against it
    snapshot_raw_sha = hashlib.sha256(gzip.decompress(snapshot_gz)).hexdigest()
    snapshot_uri = f"{pkg_uri}/snapshot-{snapshot_sha[:12]}.bin.gz"
    files.append(File.generated(config, snapshot_uri, abs_src_path=str(snapshot)))
    _state.update(snapshot_uri=snapshot_uri, snapshot_sha256=snapshot_sha,
                  snapshot_raw_sha256=snapshot_raw_sha, wheel_uri=f"{pkg_uri}/{wheel.name}",
                  wheel_sha256=lock["packages"][PACKAGE]["sha256"])
    docs = Path(config.docs_dir) / ASSETS_URI
    # early.js is inlined into the <head> of calculator pages (on_post_page), not served as a file.
    early = files.get_file_from_path(f"{ASSETS_URI}/early.js")
    if early is not None:
        files.remove(early)
    early_js = (docs / "early.js").read_text(encoding="utf-8").strip()
    if "</script" in early_js.lower() or "<!--" in early_js:
        raise PluginError(f"hooks/calculator_pages.py: {ASSETS_URI}/early.js cannot be inlined (</script or <!--)")
    _state["early_js"] = early_js
    _state.update(
        runtime_uri=runtime_uri,
        pkg_uri=pkg_uri,
        js_version=_digest(docs / "calculators.js", docs / "worker.js", docs / "early.js"),
        css_version=_digest(docs / "calculators.css"),
    )
    return files


# ---------------------------------------------------------------- markers and forms


def parse_marker(body: str, where: str) -> tuple[forms.Calculator, dict[str, str]]:
    """``NAME [input=value …]`` → the declaration and the checked overrides."""
    words = body.split()
    if not words:
        known = ", ".join(forms.CALCULATORS)
        raise PluginError(f"{where}: empty calculator marker; write <!-- calc: NAME --> ({known})")
    calc = forms.CALCULATORS.get(words[0])
    if calc is None:
        raise PluginError(f"{where}: unknown calculator {words[0]!r}; known: {', '.join(forms.CALCULATORS)}")
    try:
        overrides = forms.key_values(words[1:], "input")
    except ValueError as exc:
        raise PluginError(f"{where}: calculator {calc.name}: {exc}") from None
    out = display.page_result(calc.name, overrides)
    if not out["ok"]:
        raise PluginError(f"{where}: calculator {calc.name}: {out['field']}: {out['message']}")
    return calc, overrides


def _attr(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _render_input(calc: forms.Calculator, inp: forms.Input, value: Any, fid: str) -> str:
    iid = f"{fid}-{inp.name}"
    help_id = f"{iid}-help"
    err_id = f"{iid}-error"
    described = f'aria-describedby="{help_id}" data-help-id="{help_id}" data-error-id="{err_id}"'
    label = _attr(inp.label) + (f' <span class="fn-calc__unit">({_attr(inp.unit)})</span>' if inp.unit else "")
    shown = "" if value is None else str(value)
    default = shown  # the page's default: the declaration's, or the marker's override
    common = f'id="{iid}" name="{_attr(inp.name)}" data-default="{_attr(default)}" {described}'
    if not from_link_allowed(inp.name) or (inp.file is not None and not inp.file.in_link):
        # a pasted file such as a benchmark result is too big for a link and may be private
        common += ' data-link="never"'
    before = ""  # markup above the label (the model search box)
    if inp.kind in ("choice", "model"):
        options = inp.choices() if inp.choices else []

        def opts(pairs: list[tuple[str, str]]) -> str:
            return "".join(
                f'<option value="{_attr(v)}"{" selected" if v == shown else ""}>{html.escape(lbl)}</option>'
                for v, lbl in pairs
            )

        if inp.kind == "model":
            # Presets grouped by family, with a search box that calculators.js reveals and wires up.
            groups = "".join(
                f'<optgroup label="{_attr(family)}">{opts(pairs)}</optgroup>'
                for family, pairs in forms.model_groups(options)
            )
            before = _render_model_search(iid)
            control = f"<select {common}>{groups}</select>"
        else:
            control = f"<select {common}>{opts(options)}</select>"
    elif inp.kind in ("int", "float"):
        step = _num(inp.step) if inp.step is not None else ("1" if inp.kind == "int" else "any")
        bounds = "".join(
            f' {k}="{_num(v)}"' for k, v in (("min", inp.minimum), ("max", inp.maximum)) if v is not None
        )
        placeholder = ' placeholder="default"' if inp.optional else ""
        control = (
            f'<input type="number" {common} value="{_attr(shown)}" step="{step}"{bounds}{placeholder}'
            f' inputmode="{"numeric" if inp.kind == "int" else "decimal"}">'
        )
    elif inp.kind == "bool":
        checked = " checked" if value else ""
        control = f'<input type="checkbox" {common} value="true"{checked}>'
    elif inp.file is not None:
        drop = inp.file
        control = (
            f'<textarea {common} rows="4" spellcheck="false" autocomplete="off" data-drop-zone '
            f'data-file-max="{drop.max_chars}" data-file-what="{_attr(drop.what)}" '
            f'data-file-too-big="{_attr(drop.too_big)}" '
            f'placeholder="Paste a {_attr(drop.what)} here, or drop the file">{html.escape(shown)}</textarea>'
        )
    else:
        control = f'<input type="text" {common} value="{_attr(shown)}" autocomplete="off">'
    help_text = html.escape(inp.help)
    if inp.optional and inp.kind in ("int", "float"):
        help_text += " Leave empty for the default."
    return (
        f'<div class="fn-calc__field" data-field="{_attr(inp.name)}">{before}'
        f'<label for="{iid}">{label}</label>{control}'
        f'<p class="fn-calc__help" id="{help_id}">{help_text}</p>'
        f'<p class="fn-calc__error" id="{err_id}" data-role="error" hidden></p></div>'
    )


def _render_model_search(iid: str) -> str:
    """A search box over the model select; hidden until calculators.js makes it work (no ``name``: not an input)."""
    sid = f"{iid}-search"
    return (
        f'<div class="fn-calc__search" data-role="model-search" hidden>'
        f'<label for="{sid}">Search models <span class="fn-calc__unit">(name or family)</span></label>'
        f'<input type="search" id="{sid}" aria-controls="{iid}" aria-describedby="{sid}-count" '
        'placeholder="e.g. qwen3, gemma, mla" autocomplete="off" spellcheck="false">'
        f'<p class="fn-calc__help" id="{sid}-count" data-role="model-count" aria-live="polite"></p></div>'
    )


def _file_role(inp: forms.Input) -> str:
    """``config-file`` for ``config-json``, ``bench-file`` for ``bench-json``: the picker's data-role."""
    return f"{inp.name.removesuffix('-json')}-file"


def _render_file(inp: forms.Input, fid: str) -> str:
    """A file picker beside paste and drop for an input declared with ``file``; hidden until calculators.js
    wires it up (no ``name``: not an input of the calculator)."""
    assert inp.file is not None
    role = _file_role(inp)
    # config-json keeps the id it always had
    iid = f"{fid}-file" if inp.name == "config-json" else f"{fid}-{role}"
    return (
        f'<div class="fn-calc__field fn-calc__file" data-role="{role}-box" data-file-for="{_attr(inp.name)}" hidden>'
        f'<label for="{iid}">{_attr(inp.file.label)}</label>'
        f'<input type="file" id="{iid}" data-role="{role}" data-file-input accept="{_attr(inp.file.accept)}" '
        f'aria-describedby="{iid}-help">'
        f'<p class="fn-calc__help" id="{iid}-help">Read in your browser and pasted above; nothing is uploaded.</p>'
        "</div>"
    )


def _render_hf(fid: str) -> str:
    iid = f"{fid}-hf"
    return (
        f'<div class="fn-calc__field fn-calc__hf" data-role="hf">'
        f'<label for="{iid}">Or fetch a config.json from Hugging Face</label>'
        f'<span class="fn-calc__row"><input type="text" id="{iid}" data-role="hf-repo" '
        f'placeholder="org/model" autocomplete="off" spellcheck="false" aria-describedby="{iid}-help {iid}-status">'
        f'<button type="button" class="md-button" data-role="hf-fetch">Fetch</button></span>'
        f'<p class="fn-calc__help" id="{iid}-help">Only when you press Fetch, your browser asks huggingface.co for '
        "that repository's config.json and pastes it above. Gated models need a login there: download "
        "the file yourself and paste it.</p>"
        f'<p class="fn-calc__help" id="{iid}-status" data-role="hf-status" aria-live="polite"></p></div>'
    )


def _render_outputs(calc: forms.Calculator, out: dict[str, Any]) -> str:
    result = out["result"]
    rows = []
    for o in calc.outputs:
        value = out["values"][o.name]
        text = html.escape(out["text"][o.name])
        if o.format == "code":
            rows.append(
                f'<div class="fn-calc__out fn-calc__out--code"><dt>{html.escape(o.label)}</dt><dd>'
                f'<pre><code data-output="{_attr(o.name)}" data-value="{_attr(result.get(o.name))}">'
                f"{text}</code></pre></dd></div>"
            )
            continue
        raw = result.get(o.name)
        data_value = raw if isinstance(raw, str) else value
        rows.append(
            f'<div class="fn-calc__out"><dt>{html.escape(o.label)}</dt><dd>'
            f'<output data-output="{_attr(o.name)}" data-value="{_attr(data_value)}">{text}</output></dd></div>'
        )
    return f'<dl class="fn-calc__outputs">{"".join(rows)}</dl>'


def _headline(calc: forms.Calculator) -> forms.Output | None:
    """The output a phone's pinned summary shows: the first that is not a code block."""
    return next((o for o in calc.outputs if o.format != "code"), None)


def _render_pin(calc: forms.Calculator, out: dict[str, Any]) -> str:
    """One line pinned to the bottom of a phone's screen while the form is on it (calculators.css,
    calculators.js).  aria-hidden: the results section is the live region; this only repeats it."""
    o = _headline(calc)
    if o is None:
        return ""
    return (
        f'<div class="fn-calc__pin" data-role="pin" aria-hidden="true">'
        f'<span class="fn-calc__pin-label">{html.escape(o.label)}:</span> '
        f'<span data-role="pin-value" data-pin="{_attr(o.name)}">{html.escape(out["text"][o.name])}</span></div>'
    )


def _render_options_table(result: dict[str, Any]) -> str:
    """The planner's every option (``options_table``, made by calculators.forms), recommendation first."""
    table = result.get("options_table")
    if not isinstance(table, dict):
        return ""
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in table["columns"])
    rows = []
    for row in table["rows"]:
        cls = "fn-calc__rec" if row["recommended"] else ("" if row["feasible"] else "fn-calc__infeasible")
        cells = [html.escape(c) for c in row["cells"]]
        first = f'{cells[0]}{" (recommended)" if row["recommended"] else ""}'
        rest = "".join(f"<td>{c}</td>" for c in cells[1:])
        rows.append(f'<tr class="{cls}" data-index="{row["index"]}"><th scope="row">{first}</th>{rest}</tr>')
    return (
        '<div class="fn-calc__table" role="region" aria-label="Every option the planner tried" tabindex="0">'
        '<table class="fn-calc__options" data-role="options-table">'
        f'<caption data-role="options-caption">Every GPU × TP option tried ({len(rows)}), the recommended one '
        f"first</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _render_downloads(result: dict[str, Any]) -> str:
    """Download buttons (calculators.js fills and reveals them once the numbers are live)."""
    buttons = []
    if "options_table" in result:
        buttons += [("json", "Download the plan (JSON)"), ("csv", "Download the options (CSV)")]
    if "manifest" in result:
        buttons.append(("yaml", "Download the manifest (YAML)"))
    if not buttons:
        return ""
    inner = " ".join(
        f'<button type="button" class="md-button" data-role="download" data-format="{fmt}">{label}</button>'
        for fmt, label in buttons
    )
    return f'<p class="fn-calc__downloads" data-role="downloads" hidden>{inner}</p>'


def _render_notes(result: dict[str, Any]) -> str:
    items = []
    for key, label in (("warnings", "Warning"), ("advice", "Advice"), ("assumptions", "Assumption")):
        for item in result.get(key) or []:
            items.append(f"<li><strong>{label}:</strong> {html.escape(str(item))}</li>")
    return f'<ul class="fn-calc__notes" data-role="notes">{"".join(items)}</ul>'


def _render_how(calc: forms.Calculator, out: dict[str, Any]) -> str:
    formulas = "".join(
        f"<li><strong>{html.escape(o.label)}</strong>: {html.escape(o.explain)}</li>" for o in calc.outputs if o.explain
    )
    fields = "".join(
        f"<li><code>{html.escape(k)}</code> = {html.escape(v)}</li>" for k, v in out.get("config_fields", [])
    )
    used = (
        f'<p>Config fields used:</p><ul class="fn-calc__fields" data-role="config-fields">{fields}</ul>'
        if calc.needs_model
        else ""
    )
    return (
        '<details class="fn-calc__how"><summary>How this was computed</summary>'
        f"<ul>{formulas}</ul>{used}</details>"
    )


def render_calculator(calc: forms.Calculator, overrides: dict[str, str], index: int) -> str:
    """The form for ``calc`` with the results of its (overridden) defaults, as HTML."""
    fid = f"calc-{calc.name}-{index}"
    out = display.page_result(calc.name, overrides)
    values = forms.validate(calc, overrides)
    fields: list[str] = []
    more: list[str] = []  # advanced inputs, folded under "More options"
    for inp in calc.inputs:
        if inp.cli_only:
            continue
        (more if inp.advanced else fields).append(_render_input(calc, inp, values.get(inp.name), fid))
        if inp.file is not None:
            (more if inp.advanced else fields).append(_render_file(inp, fid))
        if inp.name == "config-json":
            fields.append(_render_hf(fid))
    if more:
        fields.append(f'<details class="fn-more"><summary>More options</summary>{"".join(more)}</details>')
    chart = out["result"].get("chart_svg") or ""
    # The chart is SVG made by calculators.charts, which escapes every label.
    chart_html = f'<figure class="fn-calc__chart" data-role="chart">{chart}</figure>' if chart else ""
    return (
        f'<form class="fn-calc" id="{fid}" data-calculator="{_attr(calc.name)}" '
        "novalidate "
        f'aria-labelledby="{fid}-title" autocomplete="off">'
        f'<div class="fn-calc__head"><span class="fn-calc__title" id="{fid}-title">{html.escape(calc.title)}</span>'
        f'<span class="fn-calc__status" data-role="status" data-state="static">'
        "static results</span></div>"
        # The one status region: what the numbers are (build-time defaults, live, stale); calculators.js.
        f'<p class="fn-calc__boot" data-role="boot" data-state="static" role="status"></p>'
        f'<p class="fn-calc__notice" data-role="notice" hidden></p>'
        f'<div class="fn-calc__body"><fieldset class="fn-calc__inputs"><legend>Inputs</legend>{"".join(fields)}'
        f'<p class="fn-calc__actions"><button type="button" class="md-button" data-role="reset">Reset</button> '
        f'<a data-role="share" href="?">Link to these inputs</a></p></fieldset>'
        f'<section class="fn-calc__results" aria-label="Results" aria-live="polite">'
        f'{_render_outputs(calc, out)}{_render_notes(out["result"])}{chart_html}{_render_how(calc, out)}'
        f"</section></div>{_render_options_table(out['result'])}{_render_downloads(out['result'])}"
        f"{_render_pin(calc, out)}</form>"
    )


def on_page_content(output: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    where = f"docs/{page.file.src_uri}"
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        calc, overrides = parse_marker(match.group("body"), where)
        count += 1
        return render_calculator(calc, overrides, count)

    # Markdown keeps an HTML comment on its own line as raw HTML; in code blocks it is escaped
    # (&lt;!--) and therefore left alone.  A marker inside a paragraph is wrapped in <p>: unwrap it.
    output = re.sub(r"<p>\s*(<!--\s*calc:[^>]*-->)\s*</p>", r"\1", output)
    output = MARKER.sub(replace, output)
    if count:
        _pages_with_calculators.add(page.file.src_uri)
    return output


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    if page.file.src_uri not in _pages_with_calculators:
        return output

    def url(uri: str) -> str:
        return get_relative_url(uri, page.file.url)

    settings = {
        "worker": f"{url(ASSETS_URI + '/worker.js')}?v={_state['js_version']}",
        "indexURL": url(_state["runtime_uri"]) + "/",
        "lockFileURL": url(_state["pkg_uri"] + "/pyodide-lock.json"),
        "packageBaseUrl": url(_state["pkg_uri"]) + "/",
        "package": PACKAGE,
        "stdlib": url(_state["stdlib_uri"]),
        "stdlibSha256": _state["stdlib_sha256"],
        "snapshot": url(_state["snapshot_uri"]),
        "snapshotSha256": _state["snapshot_sha256"],
        "snapshotRawSha256": _state["snapshot_raw_sha256"],
        "wheel": url(_state["wheel_uri"]),
        "wheelSha256": _state["wheel_sha256"],
        "early": True,  # early.js starts the worker from <head> (issue 11)
    }
    # JSON inside <script>: "</" and "<!--" cannot appear once "<" is escaped.
    config_json = json.dumps(settings).replace("<", "\\u003c")
    # At the top of <head>, right after <meta charset> (hooks/csp.py puts the policy between them):
    # the settings, then early.js inline, which starts the worker while the page still loads; above
    # every stylesheet, because a stylesheet delays the inline scripts after it until it has loaded.
    # csp.py allows the inline script by its sha256.  The stylesheet goes at the end of <head>
    # (after Material's), the module script that drives the forms at the end of <body>.
    early = (
        f'\n<script type="application/json" id="fn-calculators-config">{config_json}</script>\n'
        f"<script>{_state['early_js']}</script>"
    )
    charset = _CHARSET.search(output)
    if charset is None:
        raise PluginError(f"hooks/calculator_pages.py: docs/{page.file.src_uri} has no <meta charset>")
    output = output[: charset.end()] + early + output[charset.end() :]
    css = f'<link rel="stylesheet" href="{url(ASSETS_URI + "/calculators.css")}?v={_state["css_version"]}">\n'
    js = f'<script type="module" src="{url(ASSETS_URI + "/calculators.js")}?v={_state["js_version"]}"></script>\n'
    output = output.replace("</head>", css + "</head>", 1)
    return output.replace("</body>", js + "</body>", 1)
