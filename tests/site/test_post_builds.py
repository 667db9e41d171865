"""How posts go through the strict build: a post with a broken link, or with a category outside the
allow-list, fails it and the error names the post's file; a draft is left out; an image in a folder
beside its post is published with it.

Each case builds a temporary copy of the repository plus one bad post: the site's sources are
copied, everything else hooks may read (the calculators package, pyproject.toml, node_modules, ...)
is linked, and outputs (site/, build/, dist/) stay in the copy. Notebooks are converted but not
executed (faster).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COPIED = {"mkdocs.yml", "docs", "blog", "hooks", "overrides"}
NOT_LINKED = {".git", ".venv", "site", "build", "dist"}

GOOD_FRONT_MATTER = """---
date:
  created: 2026-11-28
authors:
  - field-notes
categories:
  - {category}
---

# A test post

Text.
"""


def build_copy_with_post(
    tmp_path: Path, name: str, text: str, extra: dict[str, bytes] | None = None
) -> subprocess.CompletedProcess[str]:
    """Build a copy of the site with blog/posts/<name> = text (and extra files under blog/posts/)."""
    root = tmp_path / "repo"
    root.mkdir()
    for source in REPO.iterdir():
        if source.name in COPIED and source.is_dir():
            shutil.copytree(source, root / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.name in COPIED:
            shutil.copy2(source, root / source.name)
        elif source.name not in NOT_LINKED:
            (root / source.name).symlink_to(source, target_is_directory=source.is_dir())
    (root / "blog" / "posts" / name).write_text(text, encoding="utf-8")
    for rel, data in (extra or {}).items():
        (root / "blog" / "posts" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "blog" / "posts" / rel).write_bytes(data)
    env = {**os.environ, "FIELDNOTES_EXECUTE_NOTEBOOKS": "false", "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_post_with_broken_link_fails_naming_the_file(tmp_path: Path) -> None:
    text = GOOD_FRONT_MATTER.format(category="Notes") + "\nSee [this page](no-such-page.md).\n"
    result = build_copy_with_post(tmp_path, "broken-link.md", text)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "blog/posts/broken-link.md" in output, output
    assert "no-such-page.md" in output, output


@pytest.mark.slow
def test_post_with_unknown_category_fails_naming_the_file(tmp_path: Path) -> None:
    text = GOOD_FRONT_MATTER.format(category="Not A Real Category")
    result = build_copy_with_post(tmp_path, "bad-category.md", text)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "blog/posts/bad-category.md" in output, output
    assert "not in allow list" in output, output


@pytest.mark.slow
def test_draft_is_left_out_and_images_beside_a_post_are_published(tmp_path: Path) -> None:
    draft = GOOD_FRONT_MATTER.format(category="Notes").replace("# A test post", "# A draft post")
    draft = draft.replace("---\n\n#", "draft: true\n---\n\n#", 1)
    post = GOOD_FRONT_MATTER.format(category="Notes") + "\n![A figure](with-image/figure.png)\n"
    png = (REPO / "docs" / "assets" / "screenshot.png").read_bytes()
    result = build_copy_with_post(
        tmp_path, "with-image.md", post, {"draft.md": draft.encode(), "with-image/figure.png": png}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = tmp_path / "site"
    html = "\n".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "A draft post" not in html
    assert "A test post" in html
    assert (site / "blog" / "with-image" / "figure.png").read_bytes() == png
    assert 'src="../../../../with-image/figure.png"' in html
