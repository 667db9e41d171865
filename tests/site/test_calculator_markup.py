"""Issue 14: the calculator markup hooks/calculator_pages.py renders (no build needed).

Advanced inputs folded in a closed "More options", one status region, the phone's pinned line,
the config.json file picker, the planner's table and download buttons.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from calculators import forms

REPO = Path(__file__).resolve().parents[2]


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calculator_pages_hook", REPO / "hooks" / "calculator_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fold_is_rendered_closed_with_the_advanced_inputs_inside() -> None:
    hook = _hook()
    page = hook.render_calculator(forms.CALCULATORS["vllm"], {}, 1)
    match = re.search(r'<details class="fn-more"><summary>More options</summary>(.*?)</details>', page, re.DOTALL)
    assert match, "no More options fold"
    inside = set(re.findall(r'name="([a-z-]+)"', match.group(1)))
    assert inside == {i.name for i in forms.CALCULATORS["vllm"].inputs if i.advanced and not i.cli_only}
    outside = set(re.findall(r'name="([a-z-]+)"', page.replace(match.group(0), "")))
    assert {"model", "gpu", "tp", "max-model-len", "kv-cache-dtype"} <= outside
    assert "<details class=\"fn-more\" open" not in page
    # memory has no advanced input: no fold
    assert "fn-more" not in hook.render_calculator(forms.CALCULATORS["memory"], {}, 1)


def test_page_has_one_status_region_and_a_hidden_pin() -> None:
    page = _hook().render_calculator(forms.CALCULATORS["vllm"], {}, 1)
    assert len(re.findall(r'\srole="status"', page)) == 1
    assert 'data-role="boot"' in page
    assert re.search(r'<div class="fn-calc__pin" data-role="pin" aria-hidden="true">.*Verdict:', page)
    assert 'type="file"' in page and 'accept=".json,application/json"' in page


def test_plan_table_rendered_at_build_time() -> None:
    page = _hook().render_calculator(forms.CALCULATORS["plan"], {"preset": "chat"}, 1)
    rows = re.findall(r"<tr class=\"[^\"]*\" data-index=", page)
    out = forms.run("plan", {"preset": "chat"})
    assert len(rows) == len(out["options"])
    rec = out["recommended"]
    assert re.search(rf'<tr class="fn-calc__rec" data-index="{rec}"><th scope="row">[^<]*\(recommended\)', page)
    assert 'data-format="json"' in page and 'data-format="csv"' in page
    assert 'data-format="yaml"' in _hook().render_calculator(forms.CALCULATORS["deploy"], {}, 1)
