"""Every command's --help prints (argparse formats help strings with %, so a stray % breaks it)."""

from __future__ import annotations

import contextlib
import io

import pytest

from calculators import cli, forms


@pytest.mark.parametrize("name", list(forms.CALCULATORS))
def test_help(name: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main([name, "--help"]) == 0
    assert f"usage: python -m calculators {name}" in out.getvalue()
