"""Package-wide contracts: no torch.nn inside the losses, the catalog, the check command."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import pathlib
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import reflosses
from reflosses import CATALOG, EXCLUDED
from reflosses import check as check_mod

PKG = pathlib.Path(reflosses.__file__).parent
BANNED = ("torch.nn", "torch._refs", "torch._decomp")
# check.py and oracle.py are the yardsticks that call torch.nn.functional; no loss imports them
# (and the run-time spy in check.py catches a loss that reaches torch's by any other path).
YARDSTICK = {"check.py", "oracle.py"}


def _banned_uses(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Attribute):
            parts, cur = [node.attr], node.value
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name):
                names = [".".join([cur.id, *reversed(parts)])]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module"):
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        for n in names:
            if any(n == b or n.startswith(b + ".") for b in BANNED) or n in ("torch.nn", "nn"):
                found.append(f"{path.name}:{getattr(node, 'lineno', '?')}: {n}")
    return found


def test_package_never_uses_torch_nn():
    files = [p for p in PKG.rglob("*.py") if p.name not in YARDSTICK or p.parent != PKG]
    assert len(files) >= 8
    problems = [u for p in files for u in _banned_uses(p)]
    assert not problems, problems


def test_ast_check_catches_each_banned_form(tmp_path):
    forms = ["import torch.nn.functional as F", "from torch.nn import functional", "from torch import nn",
             "import torch\ntorch.nn.functional.l1_loss", "import torch._refs", "from torch._decomp import x",
             "__import__('torch.nn')"]
    for src in forms:
        p = tmp_path / "m.py"
        p.write_text(src + "\n")
        assert _banned_uses(p), src


def test_losses_do_not_import_the_yardstick():
    for p in PKG.rglob("*.py"):
        if p.name not in YARDSTICK | {"__main__.py"}:
            assert not {"check", "oracle"} & {a.name for n in ast.walk(ast.parse(p.read_text()))
                                         if isinstance(n, ast.ImportFrom) and n.module in (None, "") for a in n.names}, p


def test_catalog_covers_every_torch_loss_class():
    torch_losses = {n for n in dir(torch.nn) if n.endswith("Loss") or n == "NLLLoss2d"}
    covered = {e.torch_class for e in CATALOG}
    assert covered.isdisjoint(EXCLUDED)
    assert torch_losses - covered == set(EXCLUDED), "losses missing from CATALOG or EXCLUDED"
    assert covered <= torch_losses, "CATALOG names a class torch does not have"


def test_catalog_entries_are_consistent():
    assert len(CATALOG) == 21
    assert len({e.name for e in CATALOG}) == 21
    for e in CATALOG:
        assert getattr(reflosses, e.name) is e.function
        assert e.family in {"regression", "classification", "distributions", "embedding", "sequence"}
        assert e.summary_en and e.summary_zh and any("\u4e00" <= c <= "\u9fff" for c in e.summary_zh)
        address = f"book/en/{e.chapter}.ipynb"
        assert f"Chapter: {address}" in (e.function.__doc__ or ""), f"{e.name}: docstring lacks its chapter"
        assert (PKG.parent / address).is_file(), f"{e.name}: its docstring names {address}, which does not exist"
    assert sorted(reflosses.__all__) == sorted([e.name for e in CATALOG] + ["CATALOG", "EXCLUDED"])


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_signature_matches_torch_without_deprecated_args(entry):
    ours = inspect.signature(entry.function)
    theirs = inspect.signature(getattr(F, entry.name))
    expected = [(p.name, p.kind, p.default) for p in theirs.parameters.values()
                if p.name not in ("size_average", "reduce")]
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == expected


def test_every_loss_has_check_cases_in_both_dtypes():
    losses = {c.loss for c in check_mod.all_cases()}
    assert losses == {e.name for e in CATALOG}


def test_check_fails_on_a_wrong_loss(monkeypatch, capsys):
    real = reflosses.l1_loss
    monkeypatch.setattr(reflosses, "l1_loss", lambda *a, **k: real(*a, **k) * (1 + 1e-6))
    case = next(c for c in check_mod.all_cases() if c.loss == "l1_loss")
    res = check_mod.compare(case, torch.float64)
    assert not res.ok and "value" in res.message


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_invalid_reduction_is_a_value_error_naming_the_argument(entry):
    case = next(c for c in check_mod.all_cases() if c.loss == entry.name)
    tensors = case.make(torch.Generator().manual_seed(0), torch.float64)
    bad = dataclasses.replace(case, kwargs={**case.kwargs, "reduction": "average"})
    with pytest.raises(ValueError):
        bad.run(getattr(F, entry.name), tensors)
    with pytest.raises(ValueError, match="reduction"):
        bad.run(entry.function, tensors)


def test_python_m_reflosses_check_command():
    proc = subprocess.run([sys.executable, "-m", "reflosses", "check"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "float64" in lines[1] and "max value err" in lines[2] and "status" in lines[2]
    for e in CATALOG:
        assert any(line.startswith(e.name + " ") and line.rstrip().endswith("ok") for line in lines), e.name
    assert proc.stdout.rstrip().endswith(" 0 failed")


def test_ruff_is_clean():
    """`make lint` as a test: the package, tests and benchmarks pass ruff (settings in pyproject.toml)."""
    ruff = pathlib.Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        if os.environ.get("CI") == "true":  # never skip a check in CI
            pytest.fail("ruff is not installed in this environment (pip install -r requirements.lock)")
        pytest.skip("ruff is not installed in this environment (pip install -r requirements.lock)")
    root = PKG.parent
    out = subprocess.run([str(ruff), "check", "reflosses", "tests", "benchmarks", "book/_ext"], cwd=root,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_facts_the_appendix_states_about_the_excluded_classes():
    """book/*/appendix/not_covered.md explains each exclusion with facts about torch; check them."""
    import warnings

    nn = torch.nn
    asm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4], div_value=4.0)
    assert not issubclass(nn.AdaptiveLogSoftmaxWithLoss, nn.modules.loss._Loss)
    assert [name for name, _ in asm.named_children()] == ["head", "tail"]
    out = asm(torch.randn(3, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 5, 9]))
    assert out._fields == ("output", "loss") and torch.allclose(out.loss, -out.output.mean())

    lce = nn.LinearCrossEntropyLoss(8, 10)
    assert [name for name, _ in lce.named_children()] == ["linear"]
    x, y = torch.randn(5, 8, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 3, 9, 2, 2])
    torch.testing.assert_close(lce(x, y), F.cross_entropy(F.linear(x, lce.linear.weight), y))

    assert issubclass(nn.NLLLoss2d, nn.NLLLoss)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.NLLLoss2d()
    assert any(issubclass(w.category, FutureWarning) and "NLLLoss" in str(w.message) for w in caught)
