"""``python -m reflosses check``: compare every reflosses function with the installed torch.

This module is the one place in the package that calls ``torch.nn.functional``: it is the
yardstick, not a loss. The losses themselves never import it (a test reads their AST).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import reflosses

from ._cases import Case, all_cases, on_a_grid

DTYPES = (torch.float64, torch.float32)


@dataclass
class Result:
    case: Case
    dtype: torch.dtype
    value_err: float = 0.0  # max |a - b| / (1 + |b|) over the loss values
    grad_err: float = 0.0  # the same over every compared gradient
    ok: bool = True
    message: str = ""

    def __str__(self) -> str:
        status = "ok" if self.ok else f"FAIL: {self.message}"
        return (f"{self.case.loss} [{self.case.label}] {str(self.dtype).replace('torch.', '')}: "
                f"value err {self.value_err:.1e}, grad err {self.grad_err:.1e}, {status}")


def _error(a: torch.Tensor, b: torch.Tensor) -> tuple[float, str]:
    """Max mixed error |a - b| / (1 + |b|); inf and nan must sit in the same places."""
    if a.shape != b.shape:
        return math.inf, f"shape {tuple(a.shape)} != torch's {tuple(b.shape)}"
    if a.dtype != b.dtype:
        return math.inf, f"dtype {a.dtype} != torch's {b.dtype}"
    a, b = a.detach().double(), b.detach().double()
    if not torch.equal(a.isnan(), b.isnan()) or not torch.equal(a.isinf(), b.isinf()):
        return math.inf, "nan/inf in different places"
    if not torch.equal(a[a.isinf()], b[b.isinf()]):
        return math.inf, "infinities of different sign"
    finite = a.isfinite()
    if not finite.any():
        return 0.0, ""
    return ((a - b).abs() / (1 + b.abs()))[finite].max().item(), ""


def _run(case: Case, fn, dtype: torch.dtype, seed: int):
    tensors = case.make(torch.Generator().manual_seed(seed), dtype)
    names = case.grad if case.grad is not None else tuple(
        k for k, v in tensors.items() if isinstance(v, torch.Tensor) and v.is_floating_point())
    leaves = {k: (v.detach().clone().requires_grad_(k in names) if isinstance(v, torch.Tensor) else v)
              for k, v in tensors.items()}
    out = case.run(fn, leaves)
    grads = {}
    if names and out.requires_grad:
        w = torch.rand(out.shape, generator=torch.Generator().manual_seed(seed + 1), dtype=out.dtype)
        (out * w).sum().backward()
        grads = {k: leaves[k].grad if leaves[k].grad is not None else torch.zeros_like(leaves[k]) for k in names}
    return out, grads


def compare(case: Case, dtype: torch.dtype = torch.float64, seed: int = 0) -> Result:
    """Run ``case`` with reflosses and with torch.nn.functional and compare values and gradients."""
    res = Result(case, dtype)
    ref_out, ref_grads = _run(case, getattr(reflosses, case.loss), dtype, seed)
    out, grads = _run(case, getattr(F, case.loss), dtype, seed)
    res.value_err, msg = _error(ref_out, out)
    value_tol = case.rtol64 if dtype == torch.float64 else case.rtol32
    grad_tol = case.rtol64 * 100 if dtype == torch.float64 else case.rtol32 * 10
    problems = [f"value: {msg or f'error {res.value_err:.1e} > {value_tol:.0e}'}"] if res.value_err > value_tol else []
    if set(ref_grads) != set(grads):
        problems.append(f"gradients for {sorted(ref_grads)} but torch gives {sorted(grads)}")
    for k in sorted(set(ref_grads) & set(grads)):
        err, msg = _error(ref_grads[k], grads[k])
        res.grad_err = max(res.grad_err, err)
        if err > grad_tol:
            problems.append(f"grad {k}: {msg or f'error {err:.1e} > {grad_tol:.0e}'}")
    res.ok, res.message = not problems, "; ".join(problems)
    return res


def run_all(seeds: tuple[int, ...] = (0, 1)) -> list[Result]:
    """Every case, in float64 and float32, and on a grid of exact zeros and ties in float64
    (:func:`on_a_grid`), for each seed; the worst seed is kept per case."""
    results = []
    cases = all_cases()
    runs_of = [(case, dtype) for case in cases for dtype in DTYPES] + [(on_a_grid(c), torch.float64) for c in cases]
    for case, dtype in runs_of:
        runs = [compare(case, dtype, s) for s in seeds]
        failed = [r for r in runs if not r.ok]
        results.append(failed[0] if failed else max(runs, key=lambda r: (r.value_err, r.grad_err)))
    return results


def table(results: list[Result]) -> str:
    """A fixed-width table, one row per loss: the worst errors over its cases per dtype, and the status."""
    rows: dict[str, list[Result]] = {}
    for r in results:
        rows.setdefault(r.case.loss, []).append(r)

    def worst(rs: list[Result], dtype: torch.dtype, attr: str) -> str:
        errs = [getattr(r, attr) for r in rs if r.dtype == dtype]
        return f"{max(errs):.1e}" if errs else "-"

    head = (f"{'loss':<34} {'cases':>5}  {'max value err':>13} {'max grad err':>12}"
            f"  {'max value err':>13} {'max grad err':>12}  status")
    over = f"{'':<34} {'':>5}  {'float64':-^26}  {'float32':-^26}"
    lines = [over, head, "-" * len(head)]
    for loss, rs in rows.items():
        bad = [r for r in rs if not r.ok]
        status = "ok" if not bad else f"MISMATCH ({len(bad)})"
        cells = [worst(rs, d, a) for d in DTYPES for a in ("value_err", "grad_err")]
        lines.append(f"{loss:<34} {len({r.case.label for r in rs}):>5}  {cells[0]:>13} {cells[1]:>12}"
                     f"  {cells[2]:>13} {cells[3]:>12}  {status}")
    for r in results:
        if not r.ok:
            lines.append(f"  {r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    results = run_all()
    print(f"reflosses {reflosses.__version__} against torch {torch.__version__} "
          f"({len(results)} runs: every case in float64 and float32, and on a grid of exact zeros and ties;"
          " values and gradients)")
    print(table(results))
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0
