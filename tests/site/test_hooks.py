"""The site's own small hooks, on hand-written HTML (no build needed)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, cast

import pytest
from mkdocs.exceptions import PluginError

REPO = Path(__file__).resolve().parents[2]


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"site_hook_{name}", REPO / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


a11y = load_hook("a11y")
calculator_pages = load_hook("calculator_pages")
vendor = load_hook("vendor")

PAGE = cast(Any, SimpleNamespace(file=SimpleNamespace(url="calculators/", src_uri="calculators/index.md")))
CONFIG = cast(Any, SimpleNamespace(plugins={"material/search": object()}))
BUNDLE = '<script src="../assets/javascripts/bundle.0123abcd.min.js"></script>'


def page_html(body: str) -> str:
    return f"<html><head></head><body>{a11y.SEARCH_DIALOG}{body}{BUNDLE}</body></html>"


def test_a11y_names_the_search_dialog_and_focuses_notebook_code() -> None:
    out = a11y.on_post_page(page_html('<div class="highlight-ipynb hl-python"></div>'), PAGE, CONFIG)
    assert 'role="dialog" aria-label="Search"' in out
    assert '<div tabindex="0" class="highlight-ipynb' in out


def test_a11y_fails_when_material_markup_changes() -> None:
    with pytest.raises(PluginError, match="search dialog"):
        a11y.on_post_page("<html><body></body></html>", PAGE, CONFIG)


def test_vendor_adds_nothing_to_a_plain_page() -> None:
    html = page_html("<p>text</p>")
    assert vendor.on_post_page(html, PAGE, CONFIG) == html


def test_vendor_serves_mermaid_before_materials_bundle() -> None:
    out = vendor.on_post_page(page_html('<div class="mermaid">graph LR</div>'), PAGE, CONFIG)
    mermaid = out.index('<script src="../assets/vendor/mermaid/mermaid.min.js">')
    assert mermaid < out.index(BUNDLE)
    assert "katex" not in out


def test_vendor_adds_katex_to_math_and_drops_the_cdn_mathjax_loader() -> None:
    loader = '<script data-mkdocs-jupyter-mathjax="{&quot;url&quot;: &quot;https://cdn.x/mathjax.js&quot;}">x</script>'
    out = vendor.on_post_page(page_html(f'<span class="arithmatex">\\(x\\)</span>{loader}'), PAGE, CONFIG)
    assert "mkdocs-jupyter-mathjax" not in out and "cdn.x" not in out
    assert '<link rel="stylesheet" href="../assets/vendor/katex/katex.min.css">\n</head>' in out
    for uri in vendor.KATEX_JS:
        assert f'src="../{uri}"' in out


def test_a11y_wraps_tables_in_focusable_named_regions() -> None:
    table = "<table><thead><tr><th>GPU</th><th><em>TP</em> &amp; PP</th></tr></thead><tbody></tbody></table>"
    out = a11y.on_post_page(page_html(table + '<table class="dataframe"></table>'), PAGE, CONFIG)
    wrapper = '<div class="fn-table-scroll" tabindex="0" role="region" aria-label="Table: GPU, TP &amp; PP">'
    assert f"{wrapper}{table}</div>" in out
    assert out.count("fn-table-scroll") == 1  # a table with a class (notebook output) is left alone


def test_deploy_image_namespace_and_secrets_are_marked_never_from_a_link() -> None:
    from calculators import forms

    html = calculator_pages.render_calculator(forms.CALCULATORS["deploy"], {}, 1)
    for name in ("image", "namespace"):
        assert re.search(rf'<[^>]* name="{name}"[^>]* data-link="never"', html), name
    assert not re.search(r'<[^>]* name="tp"[^>]* data-link="never"', html)
    assert not calculator_pages.from_link_allowed("hf-secret")


def test_definition_terms_get_anchors() -> None:
    out = a11y.anchor_terms("<dl><dt>TTFT (time to first token)</dt><dd>x</dd><dt>End-to-end <em>latency</em></dt>"
                            "<dd>y</dd><dt>TTFT</dt></dl>")
    assert '<dt id="ttft">TTFT (time to first token)</dt>' in out
    assert '<dt id="end-to-end-latency">End-to-end <em>latency</em></dt>' in out
    assert '<dt id="ttft-2">TTFT</dt>' in out


def test_glossary_terms_can_be_linked(site_dir: Path) -> None:
    page = (site_dir / "kb" / "glossary" / "index.html").read_text(encoding="utf-8")
    for term in ("ttft", "tpot", "itl", "throughput"):
        assert f'<dt id="{term}">' in page, term


repo_links = load_hook("repo_links")


def test_repository_paths_in_code_become_links() -> None:
    html = ("<p><code>calculators/vllm.py</code> and <code>docs/data/measured/h100-sxm-2026-11-28.json</code>, "
            "<code>notes/no-such-file.md</code>, <a href='x'><code>notes/roofline.md</code></a></p>"
            "<pre><code>calculators/vllm.py</code></pre>")
    out = repo_links.link_paths(html, "https://github.com/o/r", "kb/gpu-math/")
    assert '<a class="fn-repo-path" href="https://github.com/o/r/blob/main/calculators/vllm.py">' in out
    # a published data file links to this site's copy, relative to the page
    assert 'href="../../data/measured/h100-sxm-2026-11-28.json"' in out
    assert "<code>notes/no-such-file.md</code>," in out and "no-such-file.md</code></a>" not in out
    assert out.count("fn-repo-path") == 2  # not inside an existing link, not in a code block


def test_measured_data_quoted_on_gpu_math_is_linked(site_dir: Path) -> None:
    page = (site_dir / "kb" / "gpu-math" / "index.html").read_text(encoding="utf-8")
    assert 'href="../../data/measured/h100-sxm-2026-11-28.json"' in page
    assert (site_dir / "data" / "measured" / "h100-sxm-2026-11-28.json").is_file()
