"""Crawl the built site: every internal link and asset exists, and nothing is loaded from elsewhere.

* Links (``<a href>``) inside the site must point at a file that exists, and a ``#fragment`` at
  an element of that page with that id. Links to other sites are allowed (they are navigation).
* Resources the browser loads by itself (scripts, stylesheets, icons, images, fonts, frames, CSS
  ``url()`` and ``@import``) must come from the site: no ``http(s)://`` or ``//`` address.
* Inline scripts carry no off-site address either (a loader could fetch it at run time).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest

from tests.site.conftest import REPO

# <link rel=...> values whose target the browser fetches without a click.
FETCHED_LINK_RELS = {
    "stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload",
    "prefetch", "prerender", "manifest", "preconnect", "dns-prefetch", "mask-icon",
}  # fmt: skip
# (tag, attribute) pairs whose URL the browser fetches when the page loads.
RESOURCE_ATTRS = {
    ("script", "src"), ("img", "src"), ("img", "srcset"), ("source", "src"), ("source", "srcset"),
    ("iframe", "src"), ("embed", "src"), ("object", "data"), ("video", "src"), ("video", "poster"),
    ("audio", "src"), ("track", "src"), ("image", "href"), ("use", "href"), ("input", "src"),
}  # fmt: skip
OFF_SITE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
URL_IN_TEXT = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'<>)]*", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.IGNORECASE)
SKIP_SCHEMES = ("data:", "mailto:", "tel:", "javascript:", "blob:", "about:")


@dataclass
class ParsedPage:
    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)  # <a href>, <area href>
    resources: list[tuple[str, str]] = field(default_factory=list)  # (what, url)
    inline_scripts: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)  # <style> blocks and style="" attributes
    base_href: str | None = None


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._script: list[str] | None = None
        self._style: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v is not None}
        page = self.page
        for key in ("id", "name"):
            if key in a and (key == "id" or tag == "a"):
                page.ids.add(a[key])
        if "style" in a:
            page.styles.append(a["style"])
        if tag == "base" and "href" in a:
            page.base_href = a["href"]
        if tag in ("a", "area") and "href" in a:
            page.links.append(a["href"])
        if tag == "link" and "href" in a:
            rels = set(a.get("rel", "").lower().split())
            if rels & FETCHED_LINK_RELS:
                page.resources.append((f"<link rel={a.get('rel')}>", a["href"]))
        for attr in ("src", "srcset", "href", "xlink:href", "data", "poster"):
            if attr in a and (tag, attr.removeprefix("xlink:")) in RESOURCE_ATTRS:
                for url in _srcset(a[attr]) if attr == "srcset" else [a[attr]]:
                    page.resources.append((f"<{tag} {attr}>", url))
        if tag == "script" and "src" not in a:
            self._script = []
        if tag == "style":
            self._style = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.page.inline_scripts.append("".join(self._script))
            self._script = None
        if tag == "style" and self._style is not None:
            self.page.styles.append("".join(self._style))
            self._style = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)
        if self._style is not None:
            self._style.append(data)


def _srcset(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


@functools.cache
def parse(path: Path) -> ParsedPage:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.page


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def css_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.css"))


def site_prefix(site: Path) -> str:
    """The path part of site_url ("/vllm-field-notes/"), used by absolute-path URLs (404.html).

    The first entry of sitemap.xml is the home page, whose URL is site_url.
    """
    sitemap = site / "sitemap.xml"
    text = sitemap.read_text(encoding="utf-8") if sitemap.exists() else ""
    match = re.search(r"<loc>([^<]+)</loc>", text)
    return urlsplit(match.group(1)).path if match else "/"


def resolve(site: Path, page: Path, url: str, prefix: str) -> Path | None:
    """The file in site/ a same-site URL points at (None for schemes with no file)."""
    if url.startswith(SKIP_SCHEMES) or OFF_SITE.match(url):
        return None
    path = unquote(urlsplit(url).path)
    if not path:
        return page
    if path.startswith("/"):
        if not path.startswith(prefix):
            return site / "__outside_site_prefix__" / path.lstrip("/")
        target = site / path[len(prefix) :]
    else:
        target = page.parent / PurePosixPath(path)
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


def _rel(site: Path, path: Path) -> str:
    return path.resolve().relative_to(site.resolve()).as_posix() if path.exists() else str(path)


def broken_links(site: Path) -> Iterator[str]:
    prefix = site_prefix(site)
    for page in html_files(site):
        parsed = parse(page)
        for url in parsed.links:
            target = resolve(site, page, url, prefix)
            if target is None:
                continue
            name = page.relative_to(site).as_posix()
            if not target.resolve().is_relative_to(site.resolve()) or not target.is_file():
                yield f"{name}: link {url!r} -> missing {target}"
                continue
            fragment = unquote(urlsplit(url).fragment)
            if fragment and target.suffix == ".html" and fragment not in parse(target).ids:
                yield f"{name}: link {url!r} -> no id {fragment!r} in {_rel(site, target)}"


def missing_or_off_site_resources(site: Path) -> Iterator[str]:
    prefix = site_prefix(site)
    for page in html_files(site):
        name = page.relative_to(site).as_posix()
        parsed = parse(page)
        resources = list(parsed.resources)
        for style in parsed.styles:
            resources += [("CSS url() in page", url) for url in _css_urls(style)]
        for what, url in resources:
            if OFF_SITE.match(url):
                yield f"{name}: {what} loads {url!r} from another site"
                continue
            target = resolve(site, page, url, prefix)
            if target is not None and urlsplit(url).path and not target.is_file():
                yield f"{name}: {what} {url!r} -> missing {target}"
        for script in parsed.inline_scripts:
            for url in URL_IN_TEXT.findall(script):
                yield f"{name}: inline <script> mentions off-site address {url!r}"
    for css in css_files(site):
        name = css.relative_to(site).as_posix()
        for url in _css_urls(css.read_text(encoding="utf-8")):
            if OFF_SITE.match(url):
                yield f"{name}: url({url!r}) loads from another site"
                continue
            target = resolve(site, css, url, prefix)
            if target is not None and urlsplit(url).path and not target.is_file():
                yield f"{name}: url({url!r}) -> missing {target}"


def _css_urls(text: str) -> list[str]:
    return [m.group(2) or m.group(4) or "" for m in CSS_URL.finditer(text) if (m.group(2) or m.group(4))]


def _report(problems: list[str]) -> str:
    shown = "\n".join(problems[:50])
    more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
    return f"{len(problems)} problem(s):\n{shown}{more}"


def test_site_has_pages(site_dir: Path) -> None:
    pages = {p.relative_to(site_dir).as_posix() for p in html_files(site_dir)}
    for expected in ("index.html", "blog/index.html", "kb/index.html", "calculators/index.html"):
        assert expected in pages
    assert any(p.startswith("blog/20") for p in pages), "no blog post was built"


def test_no_broken_internal_links(site_dir: Path) -> None:
    problems = list(broken_links(site_dir))
    assert not problems, _report(problems)


def test_no_missing_or_off_site_assets(site_dir: Path) -> None:
    problems = list(missing_or_off_site_resources(site_dir))
    assert not problems, _report(problems)


def test_drafts_and_template_are_not_published(site_dir: Path) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in html_files(site_dir))
    assert "Copy this file to blog/posts/" not in text, "blog/posts/_template.md was published"
    for post in (REPO / "blog" / "posts").glob("*.md"):
        if re.search(r"^draft:\s*true\s*$", post.read_text(encoding="utf-8"), re.MULTILINE):
            title = re.search(r"^# (.+)$", post.read_text(encoding="utf-8"), re.MULTILINE)
            assert title is not None
            assert f">{title.group(1)}<" not in text, f"draft {post.name} was published"


def test_feeds_list_the_posts(site_dir: Path) -> None:
    for feed in ("feed_rss_created.xml", "feed_json_created.json"):
        text = (site_dir / feed).read_text(encoding="utf-8")
        assert "/blog/20" in text, f"{feed} lists no post"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://cdn.example.com/x.js", False),
        ("//cdn.example.com/x.js", False),
        ("assets/x.js", True),
        ("../assets/x.js", True),
        ("data:image/png;base64,AAAA", True),
    ],
)
def test_off_site_pattern(url: str, ok: bool) -> None:
    assert (OFF_SITE.match(url) is None) is ok


def test_crawler_finds_problems(tmp_path: Path) -> None:
    """The checks above would see a missing page, a missing anchor and a CDN script."""
    (tmp_path / "index.html").write_text(
        '<a href="missing/">x</a><a href="#nowhere">y</a><a href="https://example.com/">ok</a>'
        '<script src="https://cdn.example.com/lib.js"></script>'
        "<script>load('https://cdn.example.com/other.js')</script>"
        '<link rel="stylesheet" href="style.css"><img src="data:image/png;base64,AA" alt="">',
        encoding="utf-8",
    )
    (tmp_path / "style.css").write_text(
        "@font-face{src:url(fonts/a.woff2)} .x{background:url('https://cdn.example.com/b.png')}",
        encoding="utf-8",
    )
    links = list(broken_links(tmp_path))
    assert len(links) == 2 and "missing/" in links[0] and "nowhere" in links[1]
    assets = "\n".join(missing_or_off_site_resources(tmp_path))
    assert "lib.js" in assets and "other.js" in assets and "fonts/a.woff2" in assets
    assert "b.png" in assets and "style.css'" not in assets


def test_edit_links_point_at_the_source_files(site_dir: Path) -> None:
    """Pages edit docs/<page>; blog posts edit blog/posts/<post> (hooks/blog.py)."""
    edit = re.compile(r'href="([^"]+)"[^>]*class="md-content__button md-icon"')
    home = edit.search((site_dir / "index.html").read_text(encoding="utf-8"))
    assert home is not None and home.group(1).endswith("/edit/main/docs/index.md")
    posts = sorted(site_dir.glob("blog/20*/**/index.html"))
    assert posts
    for post in posts:
        link = edit.search(post.read_text(encoding="utf-8"))
        assert link is not None, post
        assert "/edit/main/blog/posts/" in link.group(1), link.group(1)
        source = REPO / link.group(1).split("/edit/main/", 1)[1]
        assert source.is_file(), f"{post}: edit link names {source}, which does not exist"
