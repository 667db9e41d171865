"""MkDocs hook: a repository path written as code in a page becomes a link to it.

``calculators/vllm.py`` or ``notes/roofline.md`` in backticks (a ``<code>`` element outside ``<pre>``
and outside a link) links to the file on the repository (``repo_url``/blob/main/PATH) when the path
exists in this checkout; a published data file under ``docs/`` (e.g. ``docs/data/measured/….json``)
links to its copy on this site instead, so the reader gets the very bytes the page quotes.  Paths
that do not exist are left as code (and nothing is guessed).
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

ROOT = Path(__file__).resolve().parents[1]
TOP = ("calculators", "hooks", "scripts", "tests", "notes", "docs", "blog", ".github")
#: <code>PATH</code>, PATH a relative path under a top folder (code blocks and links: see SKIP)
CODE = re.compile(r"<code>(?P<path>(?:" + "|".join(re.escape(t) for t in TOP) + r")/[A-Za-z0-9_./-]*)</code>")
SKIP = re.compile(r"<pre\b.*?</pre>|<a\b.*?</a>", re.DOTALL)


def link_paths(html: str, repo_url: str, page_url: str, root: Path = ROOT) -> str:
    """``html`` with each existing repository path in <code> wrapped in a link."""
    blob = repo_url.rstrip("/") + "/blob/main/"

    def link(match: re.Match[str]) -> str:
        path = match.group("path")
        target = root / path
        if ".." in path.split("/") or not (target.is_file() or target.is_dir()):
            return match.group(0)
        if path.startswith("docs/") and target.is_file() and not path.endswith(".md"):
            href = get_relative_url(path.removeprefix("docs/"), page_url)
        else:
            href = blob + path.rstrip("/")
        return f'<a class="fn-repo-path" href="{href}">{match.group(0)}</a>'

    out: list[str] = []
    last = 0
    for skipped in SKIP.finditer(html):  # leave code blocks and existing links alone
        out.append(CODE.sub(link, html[last:skipped.start()]))
        out.append(skipped.group(0))
        last = skipped.end()
    out.append(CODE.sub(link, html[last:]))
    return "".join(out)


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    repo = config.repo_url
    return link_paths(html, repo, page.file.url) if repo else html
