"""Bring the top-level ``blog/posts/`` folder into the build at ``blog/posts/...``.

Material's blog plugin picks posts by their path inside the build, so posts (and the images
beside them) are added as files at ``blog/posts/<same path>``. Each added page's edit link points
at ``blog/posts/<same path>`` in the repository rather than under ``docs/``. Files whose name starts
with ``_`` or ``.`` (``_template.md``, ``.authors.yml``) are never published.

Feeds (mkdocs-rss-plugin) that are the same from build to build:

* ``on_config`` sets ``SOURCE_DATE_EPOCH`` (unless already set) to the newest ``date.created`` /
  ``date.updated`` of the published posts, so the channel's ``pubDate`` / ``lastBuildDate`` (and the
  sitemap's dates) are that day, not the build's clock; and gives the feed the site's favicon as its
  image (without one the plugin writes ``<url>None</url>``).
* ``on_page_markdown`` gives a post without ``date.updated`` its ``date.created`` as update date, for
  the feeds only (Material's post header reads its own copy of the front matter): otherwise the
  plugin dates it with the build time and every build "updates" every post.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils.meta import get_data

log = logging.getLogger("mkdocs.hooks.blog")

BLOG_DIR = "blog"  # top-level folder, relative to mkdocs.yml
POSTS_URI = "blog/posts"  # where Material's blog plugin looks for posts inside the build


def _published(path: Path, root: Path) -> bool:
    """True unless some part of the path below ``root`` starts with ``_`` or ``.``."""
    return not any(part.startswith(("_", ".")) for part in path.relative_to(root).parts)


def blog_posts_dir(config: MkDocsConfig) -> Path:
    """The folder holding the posts: ``<folder of mkdocs.yml>/blog/posts``."""
    return Path(config.config_file_path).parent / BLOG_DIR / "posts"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    posts = blog_posts_dir(config)
    if not posts.is_dir():
        log.warning("No blog posts folder at %s", posts)
        return files
    # The edit link is docs_dir-relative; climb out of docs/ to the top-level blog/ folder.
    docs_depth = len(Path(config.docs_dir).relative_to(Path(config.config_file_path).parent).parts)
    climb = "../" * docs_depth
    for path in sorted(posts.rglob("*")):
        if not path.is_file() or not _published(path, posts):
            continue
        rel = path.relative_to(posts).as_posix()
        src_uri = f"{POSTS_URI}/{rel}"
        if files.get_file_from_path(src_uri) is not None:
            raise PluginError(f"hooks/blog.py: {src_uri} exists in both docs/ and blog/posts/")
        file = File.generated(config, src_uri, abs_src_path=str(path))
        file.edit_uri = f"{climb}{BLOG_DIR}/posts/{rel}"
        files.append(file)
    return files


def _front_matter(path: Path) -> dict[str, Any]:
    meta = get_data(path.read_text(encoding="utf-8"))[1]
    return meta if isinstance(meta, dict) else {}


def _as_datetime(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return None


def newest_post_date(posts: Path) -> dt.datetime | None:
    """The newest ``date.created`` / ``date.updated`` among the published posts in ``posts``."""
    newest: dt.datetime | None = None
    for path in sorted(posts.rglob("*.md")) if posts.is_dir() else []:
        if not _published(path, posts):
            continue
        meta = _front_matter(path)
        if meta.get("draft"):
            continue
        date = meta.get("date")
        values = list(date.values()) if isinstance(date, dict) else [date]
        for value in values:
            when = _as_datetime(value)
            if when is not None and (newest is None or when > newest):
                newest = when
    return newest


@event_priority(100)  # before the RSS plugin reads the build date and its image setting
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    if "SOURCE_DATE_EPOCH" not in os.environ:
        newest = newest_post_date(blog_posts_dir(config))
        if newest is not None:
            os.environ["SOURCE_DATE_EPOCH"] = str(int(newest.timestamp()))
    rss = config.plugins.get("rss")
    rss_config = getattr(rss, "config", None)
    if rss_config is not None and not rss_config.get("image"):
        favicon = config.theme.get("favicon") or "assets/images/favicon.png"
        rss_config["image"] = urljoin(config.site_url or "", str(favicon))
    return config


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    date = page.meta.get("date")
    if page.file.src_uri.startswith(POSTS_URI + "/") and isinstance(date, dict):
        if date.get("created") and not date.get("updated"):
            date["updated"] = date["created"]
    return markdown
