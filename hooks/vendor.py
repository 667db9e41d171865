"""Serve KaTeX and Mermaid from the site itself (from ``node_modules``, installed by ``npm ci``).

* ``on_files`` adds the files listed in ``VENDOR`` to the build under ``assets/vendor/``.
* ``on_post_page`` adds KaTeX only to pages with math (``.arithmatex`` or a notebook) and Mermaid
  only to pages with a ``mermaid`` block (3.5 MB: not on every page). Mermaid is loaded before
  Material's bundle, which then uses the global ``mermaid`` instead of fetching it from a CDN.
* mkdocs-jupyter adds a loader that fetches MathJax from a CDN to every page: it is removed, and
  notebook math is typeset by KaTeX (``docs/assets/javascripts/katex-init.js``).

Tags are injected per page, so Material's ``navigation.instant`` must stay off (it would not run
the scripts of the page it navigates to).
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

VENDOR_URI = "assets/vendor"

# (npm package, glob inside the package) -> copied to assets/vendor/<package>/<path inside dist>
VENDOR: dict[str, tuple[str, ...]] = {
    "katex": (
        "dist/katex.min.js",
        "dist/katex.min.css",
        "dist/contrib/auto-render.min.js",
        "dist/fonts/*",
        "LICENSE",
    ),
    "mermaid": ("dist/mermaid.min.js", "LICENSE"),
}

KATEX_CSS = f"{VENDOR_URI}/katex/katex.min.css"
KATEX_JS = (
    f"{VENDOR_URI}/katex/katex.min.js",
    f"{VENDOR_URI}/katex/contrib/auto-render.min.js",
    "assets/javascripts/katex-init.js",
)
MERMAID_JS = f"{VENDOR_URI}/mermaid/mermaid.min.js"

_JUPYTER_MATHJAX = re.compile(r"<script data-mkdocs-jupyter-mathjax=.*?</script>\s*", re.DOTALL)
_MATERIAL_BUNDLE = re.compile(r'<script src="[^"]*assets/javascripts/bundle\.[0-9a-f]+\.min\.js"')


def node_modules(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).parent / "node_modules"


def vendor_files(config: MkDocsConfig) -> dict[str, Path]:
    """Destination URI in the site -> source file in node_modules."""
    out: dict[str, Path] = {}
    for package, patterns in VENDOR.items():
        root = node_modules(config) / package
        if not root.is_dir():
            raise PluginError(f"hooks/vendor.py: {root} is missing. Run `npm ci` (make serve/test/build do).")
        for pattern in patterns:
            matches = sorted(p for p in root.glob(pattern) if p.is_file())
            if not matches:
                raise PluginError(f"hooks/vendor.py: nothing matches {package}/{pattern}")
            for path in matches:
                rel = path.relative_to(root).as_posix().removeprefix("dist/")
                out[f"{VENDOR_URI}/{package}/{rel}"] = path
    return out


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for uri, path in vendor_files(config).items():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    def url(uri: str) -> str:
        return get_relative_url(uri, page.file.url)

    output = _JUPYTER_MATHJAX.sub("", output)
    if 'class="arithmatex"' in output or 'class="jupyter-wrapper"' in output:
        css = f'<link rel="stylesheet" href="{url(KATEX_CSS)}">\n'
        output = output.replace("</head>", css + "</head>", 1)
        js = "".join(f'<script src="{url(uri)}"></script>\n' for uri in KATEX_JS)
        output = output.replace("</body>", js + "</body>", 1)
    if 'class="mermaid"' in output:
        bundle = _MATERIAL_BUNDLE.search(output)
        if bundle is None:
            raise PluginError(f"hooks/vendor.py: no Material bundle script in {page.file.src_uri}")
        tag = f'<script src="{url(MERMAID_JS)}"></script>\n'
        output = output[: bundle.start()] + tag + output[bundle.start() :]
    return output
