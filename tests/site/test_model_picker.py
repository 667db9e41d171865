"""The model picker in the built pages: a <select> grouped by family, every preset once, a search box.

The expected groups come from :func:`calculators.forms.model_groups` (the presets in
``calculators/data/models/``); the markup from ``hooks/calculator_pages.py``.  The search box is
hidden in the HTML: calculators.js reveals it, so without JavaScript the plain grouped select is
all there is.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from calculators import forms, models
from calculators.errors import CalcError

REPO = Path(__file__).resolve().parents[2]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Picker:
    select_id: str
    default: str
    options: list[tuple[str | None, str, bool]] = field(default_factory=list)  # (optgroup label, value, selected)


@dataclass
class Search:
    attrs: dict[str, str | None]
    hidden: bool  # inside an element with the hidden attribute


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.pickers: list[Picker] = []
        self.searches: list[Search] = []
        self.labels: dict[str, str] = {}
        self._label: str | None = None
        self._picker: Picker | None = None  # the model <select> being read

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        if tag == "select" and attrs.get("name") == "model":
            self._picker = Picker(attrs.get("id") or "", attrs.get("data-default") or "")
            self.pickers.append(self._picker)
        elif tag == "option" and self._picker is not None:
            group = next((a.get("label") for t, a in reversed(self.stack) if t == "optgroup"), None)
            self._picker.options.append((group, attrs.get("value") or "", "selected" in attrs))
        elif tag == "input" and attrs.get("type") == "search":
            self.searches.append(Search(attrs, any("hidden" in a for _, a in self.stack)))
        elif tag == "label" and attrs.get("for"):
            self._label = attrs.get("for") or ""
            self.labels[self._label] = ""
        if tag not in VOID:
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label = None
        elif tag == "select":
            self._picker = None
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self.labels[self._label] += data


def parse(path: Path) -> _Parser:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def pages_with_pickers(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if 'name="model"' in p.read_text(encoding="utf-8"))


def test_every_model_select_is_grouped_by_family_with_each_preset_once(site_dir: Path) -> None:
    pages = pages_with_pickers(site_dir)
    assert site_dir / "calculators" / "vllm" / "index.html" in pages
    ids = models.preset_ids()
    expected = [(family, value) for family, pairs in forms.model_groups() for value, _ in pairs]
    problems = []
    for page in pages:
        where = page.relative_to(site_dir).as_posix()
        parsed = parse(page)
        assert parsed.pickers, where
        for picker in parsed.pickers:
            values = [v for _, v, _ in picker.options]
            groups = [g for g, _, _ in picker.options]
            if None in groups:
                problems.append(f"{where}: an option outside an <optgroup>")
            missing, doubled = set(ids) - set(values), {v for v in values if values.count(v) > 1}
            if missing or doubled or sorted(values) != ids:
                problems.append(f"{where}: missing {sorted(missing)}, twice {sorted(doubled)}, "
                                f"unknown {sorted(set(values) - set(ids))}")
            if [(g, v) for g, v, _ in picker.options] != expected:
                problems.append(f"{where}: the groups differ from forms.model_groups()")
            labels = [g for i, g in enumerate(groups) if i == 0 or g != groups[i - 1]]
            if len(labels) != len(set(labels)) or "" in labels:
                problems.append(f"{where}: a family label is empty or its options are split: {labels}")
            selected = [v for _, v, s in picker.options if s]
            if picker.default in ids and selected != [picker.default]:
                problems.append(f"{where}: selected {selected}, the default is {picker.default}")
    assert not problems, problems


def test_the_search_box_is_labelled_hidden_until_scripted_and_not_an_input(site_dir: Path) -> None:
    for page in pages_with_pickers(site_dir):
        where = page.relative_to(site_dir).as_posix()
        parsed = parse(page)
        controls = [s.attrs.get("aria-controls") for s in parsed.searches]
        assert sorted(controls, key=str) == sorted((p.select_id for p in parsed.pickers), key=str), where
        for search in parsed.searches:
            assert "name" not in search.attrs, f"{where}: the search box would become a calculator input"
            assert search.hidden, f"{where}: the search box must stay hidden until calculators.js wires it up"
            sid = search.attrs.get("id") or ""
            assert "Search models" in parsed.labels.get(sid, ""), f"{where}: no <label for={sid}>"


# ---------------------------------------------------------------- grouping, without a build


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("site_hook_calculator_pages", REPO / "hooks/calculator_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unknown_or_unreadable_presets_go_to_other_and_wrappers_are_unwrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    configs: dict[str, Any] = {
        "a/llama": {"model_type": "llama", "num_hidden_layers": 2},
        "b/brand-new": {"model_type": "brand_new_arch", "num_hidden_layers": 2},
        "c/wrapped": {"model_type": "gemma3", "text_config": {"hidden_size": 8}},
        "d/wrapped-typed": {"model_type": "mistral3", "text_config": {"model_type": "mistral"}},
        "e/no-type": {"num_hidden_layers": 2},
        "f/not-a-dict": ["model_type", "llama"],
        "g/kimi": {"model_type": "kimi_k2", "num_hidden_layers": 2},
    }

    def record(model_id: str) -> dict[str, Any]:
        if model_id == "h/missing":
            raise CalcError("model", "no bundled preset")
        return {"id": model_id, "config": configs[model_id]}

    monkeypatch.setattr(models, "preset_record", record)
    ids = [*configs, "h/missing"]
    groups = dict(forms.model_groups([(i, i) for i in ids]))
    assert list(groups)[-1] == "Other"
    assert [v for v, _ in groups["Other"]] == ["b/brand-new", "e/no-type", "f/not-a-dict", "h/missing"]
    assert [v for v, _ in groups["Gemma"]] == ["c/wrapped"]
    assert [v for v, _ in groups["Mistral"]] == ["d/wrapped-typed"]
    assert [v for v, _ in groups["Llama"]] == ["a/llama"]
    assert [v for v, _ in groups["DeepSeek / Kimi (MLA)"]] == ["g/kimi"]
    # The CLI's choices stay the flat list of preset ids.
    assert forms.MODEL.choices is not None
    assert forms.MODEL.choices() == [(i, i) for i in models.preset_ids()]

    monkeypatch.setattr(models, "preset_ids", lambda: sorted(ids))
    html = _hook()._render_input(forms.CALCULATORS["kv"], forms.MODEL, "a/llama", "calc-kv-1")
    assert html.count("<optgroup") == len(groups)
    assert '<optgroup label="Other">' in html
    assert '<option value="a/llama" selected>' in html
    assert '<input type="search" id="calc-kv-1-model-search" aria-controls="calc-kv-1-model"' in html
