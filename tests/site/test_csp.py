"""The Content-Security-Policy of the built site (hooks/csp.py), read from ``site/``.

Every page carries one ``<meta http-equiv="Content-Security-Policy">`` before any script or
stylesheet; its ``script-src`` allows exactly the sha256 of that page's own inline scripts (no more,
no fewer), and nothing in the page needs what the policy forbids (event-handler attributes,
``javascript:`` URLs, eval). That the pages also *work* under it is tests/browser/test_csp.py.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest
from mkdocs.exceptions import PluginError

REPO = Path(__file__).resolve().parents[2]

EXPECTED = {
    "default-src": ["'self'"],
    "worker-src": ["'self'"],
    "connect-src": ["'self'", "https://huggingface.co"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}
RUN_TYPES = {"", "text/javascript", "application/javascript", "module"}


def load_csp() -> ModuleType:
    spec = importlib.util.spec_from_file_location("site_hook_csp", REPO / "hooks" / "csp.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


csp = load_csp()


class _Page(HTMLParser):
    """Independent of the hook: the policy, the inline scripts and what comes before the policy."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.policies: list[str] = []
        self.before_policy: list[str] = []  # scripts / stylesheets met before the policy
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self._type: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and a.get("http-equiv", "").lower() == "content-security-policy":
            self.policies.append(a.get("content", ""))
        if not self.policies and (tag == "script" or (tag == "link" and a.get("rel") == "stylesheet")):
            self.before_policy.append(tag)
        self.handlers += [f"<{tag} {k}>" for k in a if k.startswith("on")]
        self.handlers += [f"<{tag} {k}>" for k, v in a.items() if v.strip().lower().startswith("javascript:")]
        if tag == "script" and "src" not in a:
            self._type = a.get("type", "").lower()
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._type is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._type is not None:
            if self._type in RUN_TYPES:
                self.scripts.append("".join(self._text))
            self._type = None


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            assert words[0] not in out, f"{words[0]} twice"
            out[words[0]] = words[1:]
    return out


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def html_pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20, "too few pages: is site/ built?"
    return pages


def test_every_page_has_one_policy_before_any_script(site_dir: Path) -> None:
    problems = []
    for path in html_pages(site_dir):
        page = parse(path)
        where = path.relative_to(site_dir)
        if len(page.policies) != 1:
            problems.append(f"{where}: {len(page.policies)} CSP meta elements")
        if page.before_policy:
            problems.append(f"{where}: {page.before_policy} before the CSP")
    assert not problems, "\n".join(problems)


def test_policy_is_strict_and_allows_exactly_the_pages_inline_scripts(site_dir: Path) -> None:
    problems = []
    for path in html_pages(site_dir):
        page = parse(path)
        where = path.relative_to(site_dir)
        got = directives(page.policies[0])
        script_src = got.pop("script-src")
        if got != EXPECTED:
            problems.append(f"{where}: {got}")
        keywords = [w for w in script_src if not w.startswith("'sha256-")]
        if keywords != ["'self'", "'wasm-unsafe-eval'"]:
            problems.append(f"{where}: script-src keywords {keywords}")
        hashes = {w for w in script_src if w.startswith("'sha256-")}
        wanted = {sha256(s) for s in page.scripts}
        if hashes != wanted:
            problems.append(f"{where}: allowed {sorted(hashes)}, inline scripts {sorted(wanted)}")
        if page.handlers:
            problems.append(f"{where}: {page.handlers}")
    assert not problems, "\n".join(problems)


def test_every_page_kind_has_inline_scripts_covered(site_dir: Path) -> None:
    """Material's inline scripts exist (else the hash check above proves little) and are allowed."""
    page = parse(site_dir / "index.html")
    assert any("__md_scope" in s for s in page.scripts)
    assert any("__palette" in s for s in page.scripts)
    notebook = parse(site_dir / "notebooks" / "kv-budget" / "index.html")
    assert any("clipboard-copy" in s for s in notebook.scripts)


# ---------------------------------------------------------------- the hook on hand-written HTML

HEAD = '<!doctype html><html><head><meta charset="utf-8"><title>t</title>'


def test_hook_hashes_inline_scripts_and_skips_data_blocks() -> None:
    data = '<script type="application/json">{"x": 1}</script>'
    html = HEAD + f"<script>var a=1;</script>{data}</head><body></body></html>"
    out = csp.add_policy(html, "t.html")
    policy = re.search(r'content="([^"]*)"', out.split("<title>")[0])
    assert policy is not None
    assert sha256("var a=1;") in policy.group(1)
    assert sha256('{"x": 1}') not in policy.group(1)
    assert out.index("Content-Security-Policy") < out.index("<script>")


@pytest.mark.parametrize(
    "body",
    ['<button onclick="go()">x</button>', '<a href=" javascript:alert(1)">x</a>', '<img src=x ONERROR="x()">'],
)
def test_hook_fails_the_build_on_what_the_policy_would_block(body: str) -> None:
    with pytest.raises(PluginError, match="t.html"):
        csp.add_policy(HEAD + f"</head><body>{body}</body></html>", "t.html")


def test_hook_fails_when_a_script_comes_before_the_policy() -> None:
    html = '<html><head><script>x()</script><meta charset="utf-8"></head></html>'
    with pytest.raises(PluginError, match="before"):
        csp.add_policy(html, "t.html")


def test_serve_allows_the_live_reload_script_instead_of_hashes() -> None:
    out = csp.add_policy(HEAD + "<script>var a=1;</script></head></html>", "t.html", serving=True)
    assert "script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline';" in out
    assert "sha256-" not in out
