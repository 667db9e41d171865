"""Bring the top-level ``blog/posts/`` folder into the build at ``blog/posts/...``.

Material's blog plugin picks posts by their path inside the build, so posts (and the images
beside them) are added as files at ``blog/posts/<same path>``. Each added page's edit link points
at ``blog/posts/<same path>`` in the repository rather than under ``docs/``. Files whose name starts
with ``_`` or ``.`` (``_template.md``, ``.authors.yml``) are never published.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

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
