"""The GitHub workflows: only a tested site is deployed, and every action is pinned to a commit.

Read from ``.github/`` (no build needed). The deploy rule is checked on the workflow's structure:
the job that uploads the Pages artifact runs ``make test`` in an earlier step of its own, with
nothing that lets a failure through, and the job that deploys depends on that job.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
# `if:` expressions that run a step or job even when an earlier one failed.
RUNS_AFTER_FAILURE = re.compile(r"always\(\)|failure\(\)|cancelled\(\)")


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return data


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def runs_make_test(step: dict[str, Any]) -> bool:
    return any(line.strip() == "make test" for line in str(step.get("run", "")).splitlines())


def make_test_before(job: dict[str, Any], action: str) -> bool:
    """``make test`` runs in ``job`` before the step using ``action``, and no failure gets past it."""
    if job.get("continue-on-error"):
        return False
    steps: list[dict[str, Any]] = job.get("steps", [])
    target = next(i for i, s in enumerate(steps) if uses(s, action))
    for step in steps[:target]:
        if runs_make_test(step):
            safe = not step.get("continue-on-error") and "if" not in step
            later = steps[steps.index(step) + 1 : target + 1]
            return safe and not any(RUNS_AFTER_FAILURE.search(str(s.get("if", ""))) for s in later)
    return False


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def runs_tests(job: dict[str, Any]) -> bool:
    """A job with a plain ``make test`` step: the job fails when the tests fail."""
    return not job.get("continue-on-error") and any(
        runs_make_test(s) and not s.get("continue-on-error") and "if" not in s for s in job.get("steps", [])
    )


def make_test_guards(jobs: dict[str, Any], name: str, action: str, seen: frozenset[str] = frozenset()) -> bool:
    """``action`` in job ``name`` runs only after ``make test`` passed: earlier in that job, or in a
    job it needs (transitively) without a condition that would run it after a failure."""
    job = jobs[name]
    if any(uses(s, action) for s in job.get("steps", [])) and make_test_before(job, action):
        return True
    if RUNS_AFTER_FAILURE.search(str(job.get("if", ""))):
        return False
    return any(
        dep not in seen and (runs_tests(jobs[dep]) or make_test_guards(jobs, dep, action, seen | {name}))
        for dep in needs(job)
    )


def test_pages_artifact_is_uploaded_only_after_make_test_passed() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    uploaders = [n for n, j in jobs.items() if any(uses(s, "actions/upload-pages-artifact") for s in j["steps"])]
    assert uploaders, "deploy.yml uploads no Pages artifact"
    for name in uploaders:
        assert make_test_guards(jobs, name, "actions/upload-pages-artifact"), (
            f"deploy.yml: job {name!r} uploads the site without `make test` passing first"
        )


def test_deploy_job_needs_the_tested_upload() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    deployers = [n for n, j in jobs.items() if any(uses(s, "actions/deploy-pages") for s in j["steps"])]
    assert deployers, "deploy.yml has no deploy-pages step"
    for name in deployers:
        job = jobs[name]
        assert not RUNS_AFTER_FAILURE.search(str(job.get("if", ""))), f"{name} runs even when tests fail"
        deps = needs(job)
        assert deps, f"deploy.yml: job {name!r} needs no job, so it can deploy without the tests"
        assert any(
            make_test_guards(jobs, dep, "actions/upload-pages-artifact")
            for dep in deps
            if any(uses(s, "actions/upload-pages-artifact") for s in jobs[dep]["steps"])
        ), f"deploy.yml: job {name!r} does not depend on a tested upload"


def test_the_checker_rejects_an_untested_deploy() -> None:
    """The checks above would catch the old workflow (make build, then upload)."""
    jobs: dict[str, Any] = {
        "build": {"steps": [{"run": "make build"}, {"uses": "actions/upload-pages-artifact@x"}]},
        "deploy": {"needs": "build", "steps": [{"uses": "actions/deploy-pages@x"}]},
    }
    assert not make_test_guards(jobs, "build", "actions/upload-pages-artifact")
    jobs["build"]["steps"].insert(0, {"run": "make test", "continue-on-error": True})
    assert not make_test_guards(jobs, "build", "actions/upload-pages-artifact")
    jobs["build"]["steps"][0] = {"run": "make test"}
    jobs["build"]["steps"][2]["if"] = "always()"
    assert not make_test_guards(jobs, "build", "actions/upload-pages-artifact")
    del jobs["build"]["steps"][2]["if"]
    assert make_test_guards(jobs, "build", "actions/upload-pages-artifact")


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_actions_are_pinned_to_commits(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    found = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", text, re.MULTILINE)
    assert found, f"{name}: no actions"
    for ref, rest in found:
        if ref.startswith("./"):
            continue
        assert PINNED.match(ref), f"{name}: {ref} is not pinned to a full commit SHA"
        assert re.search(r"#\s*v\d", rest), f"{name}: {ref} has no `# vX.Y.Z` tag comment"


def test_dependabot_updates_the_pinned_actions() -> None:
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"] for u in config["updates"]}
    assert {"github-actions", "pip", "npm"} <= ecosystems


def test_actionlint_runs_shellcheck_on_run_scripts(tmp_path: Path) -> None:
    """The `actionlint` layer checks shell too: shellcheck is installed (requirements.txt) and used."""
    venv_bin = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"
    path = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    actionlint = shutil.which("actionlint", path=path)
    assert actionlint and shutil.which("shellcheck", path=path), "actionlint or shellcheck is not installed"
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ls $HOME/*.txt\n",
        encoding="utf-8",
    )
    proc = subprocess.run([actionlint, "-no-color", str(bad)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": path}, cwd=tmp_path)
    assert proc.returncode != 0 and "shellcheck" in proc.stdout, proc.stdout + proc.stderr
