"""A strict Content-Security-Policy in every page, as ``<meta http-equiv>`` (GitHub Pages sends no
custom headers).

After the build (``on_post_build``, last of all hooks), every ``*.html`` file in the site gets one
``<meta http-equiv="Content-Security-Policy">`` right after ``<meta charset>``, before any script.
Its ``script-src`` lists the sha256 of each inline script *of that page* (Material's small head
and palette scripts, mkdocs-jupyter's clipboard helper on notebooks), computed from the bytes
written now, so the list is never kept by hand and a theme upgrade cannot silently break a page.

The build fails, naming the file, when a page has something the policy would block or that must
not exist: an inline event handler (``onclick=``…), a ``javascript:`` URL, or a script before the
place where the policy goes.

``mkdocs serve`` injects a live-reload ``<script>`` into each response after the build, different
on every request: while serving, ``script-src`` allows inline scripts (``'unsafe-inline'``, no
hashes) and everything else stays as built. ``mkdocs build`` (CI, deploy) always gets the hashes.

``style-src`` keeps ``'unsafe-inline'``: Mermaid writes ``<style>`` and ``style=""`` into the
diagrams it draws in the browser, KaTeX sets inline sizes, and notebooks carry ``<style>`` blocks.
Styles cannot run code; scripts are what the policy locks down.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

# Directives in order; script-src gets the page's hashes appended.
POLICY: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self' 'wasm-unsafe-eval'"),
    ("worker-src", "'self'"),
    ("connect-src", "'self' https://huggingface.co"),
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
)

META_START = '<meta http-equiv="Content-Security-Policy" content="'
_CHARSET = re.compile(r"<meta\s+charset=[\"']?utf-8[\"']?\s*/?>", re.IGNORECASE)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
# Script types the browser runs (so script-src applies); others (application/json…) are data.
_RUN_TYPES = {
    "", "text/javascript", "application/javascript", "application/ecmascript", "text/ecmascript",
    "module", "importmap", "speculationrules",
}  # fmt: skip

_serving = {"on": False}


class _Scan(HTMLParser):
    """Inline scripts (type, body) and the things a strict policy forbids, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline: list[tuple[str, str]] = []
        self.problems: list[str] = []
        self.first_script: int | None = None  # offset (line, col) of the first <script>
        self._in_script: str | None = None
        self._body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"inline event handler <{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction", "xlink:href") and value:
                if re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith("javascript:"):
                    self.problems.append(f"javascript: URL in <{tag} {name}>")
        if tag == "script":
            a = {k: (v or "") for k, v in attrs}
            if "src" not in a:
                self._in_script = a.get("type", "").split(";")[0].strip().lower()
                self._body = []

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._body.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.inline.append((self._in_script, "".join(self._body)))
            self._in_script = None


def script_hash(body: str) -> str:
    """The CSP source expression for an inline script with this text (as the browser parses it)."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def policy(hashes: list[str], serving: bool = False) -> str:
    parts = []
    for name, value in POLICY:
        if name == "script-src":
            value += " 'unsafe-inline'" if serving else "".join(f" {h}" for h in hashes)
        parts.append(f"{name} {value}")
    return "; ".join(parts)


def add_policy(html: str, where: str, serving: bool = False) -> str:
    """``html`` with the page's policy inserted after ``<meta charset>``; raises on forbidden markup."""
    if META_START in html:
        raise PluginError(f"hooks/csp.py: {where} already has a Content-Security-Policy")
    scan = _Scan()
    scan.feed(html)
    scan.close()
    if scan.problems:
        raise PluginError(f"hooks/csp.py: {where}: {'; '.join(sorted(set(scan.problems)))} (blocked by the CSP)")
    anchor = _CHARSET.search(html) or _HEAD.search(html)
    if anchor is None:
        raise PluginError(f"hooks/csp.py: {where} has no <head> to put the Content-Security-Policy in")
    first_script = html.lower().find("<script")
    if 0 <= first_script < anchor.end():
        raise PluginError(f"hooks/csp.py: {where} has a <script> before <meta charset>: the policy would come too late")
    hashes = sorted({script_hash(body) for kind, body in scan.inline if kind in _RUN_TYPES})
    meta = f'\n    {META_START}{policy(hashes, serving)}">'
    return html[: anchor.end()] + meta + html[anchor.end() :]


def on_startup(command: str, dirty: bool) -> None:
    _serving["on"] = command == "serve"


@event_priority(-100)  # after every plugin and hook has written its pages
def on_post_build(config: MkDocsConfig) -> None:
    site = Path(config.site_dir)
    for path in sorted(site.rglob("*.html")):
        where = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8")
        if "<html" not in text[:2000].lower():
            continue  # an HTML fragment, not a page
        path.write_text(add_policy(text, where, _serving["on"]), encoding="utf-8")
