"""``python -m reflosses check``: compare every reflosses function with the installed torch.

This module is the one place in the package that calls ``torch.nn.functional``: it is the
yardstick, not a loss. The losses themselves never import it (a test reads their AST).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

import reflosses

from ._cases import Case, all_cases, on_a_grid

DTYPES = (torch.float64, torch.float32)


@dataclass
class Result:
    case: Case
    dtype: torch.dtype
    value_err: float = 0.0  # max |a - b| / max |b| over the loss values (normwise relative)
    grad_err: float = 0.0  # the same over all compared gradients together
    ok: bool = True
    message: str = ""

    def __str__(self) -> str:
        status = "ok" if self.ok else f"FAIL: {self.message}"
        return (f"{self.case.loss} [{self.case.label}] {str(self.dtype).replace('torch.', '')}: "
                f"value err {self.value_err:.1e}, grad err {self.grad_err:.1e}, {status}")


def _special(a: torch.Tensor, b: torch.Tensor) -> str:
    """Why ``a`` cannot be compared with torch's ``b`` at all ('' if it can)."""
    if a.shape != b.shape:
        return f"shape {tuple(a.shape)} != torch's {tuple(b.shape)}"
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} != torch's {b.dtype}"
    a, b = a.detach(), b.detach()
    if not torch.equal(a.isnan(), b.isnan()) or not torch.equal(a.isinf(), b.isinf()):
        return "nan/inf in different places"
    if not torch.equal(a[a.isinf()], b[b.isinf()]):
        return "infinities of different sign"
    return ""


def _error(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, str]:
    """Normwise relative error of ``a`` against torch's ``b`` over all pairs together.

    ``max |a - b| / max |b|`` over the finite entries, with ``max |b|`` floored at the dtype's
    smallest normal number. Relative all the way down: a loss of 4e-18 returned as 0 is an error
    of 1, not 4e-18. Normwise, because a gradient entry that is exactly 0 by cancellation of
    terms of size ``s`` is legitimately computed as about ``eps * s``.
    """
    num, den = 0.0, 0.0
    for a, b in pairs:
        msg = _special(a, b)
        if msg:
            return math.inf, msg
        finite = a.isfinite()
        if finite.any():
            a64, b64 = a.detach().double()[finite], b.detach().double()[finite]
            num = max(num, (a64 - b64).abs().max().item())
            den = max(den, b64.abs().max().item())
    if num == 0.0:
        return 0.0, ""
    tiny = min(torch.finfo(a.dtype).tiny for a, _ in pairs)
    return num / max(den, tiny), ""


# What a reference implementation must never reach: torch's own losses, by any path.
_LOSS_NAME = re.compile(r"loss|cross_entropy|kl_div|nll|ctc")


class _FunctionSpy(TorchFunctionMode):
    def __init__(self, seen: list[str]):
        super().__init__()
        self.seen = seen

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        if _LOSS_NAME.search(name):
            self.seen.append(f"{getattr(func, '__module__', '') or ''}.{name}".lstrip("."))
        return func(*args, **(kwargs or {}))


class _DispatchSpy(TorchDispatchMode):
    def __init__(self, seen: list[str]):
        super().__init__()
        self.seen = seen

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.name()
        if _LOSS_NAME.search(name.split("::")[-1]):
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


def torch_losses_reached(thunk) -> list[str]:
    """Run ``thunk()`` and list every torch loss function or aten loss kernel it reached.

    Composite losses (``torch.margin_ranking_loss``) decompose before dispatch, so the function
    mode sees them; kernels reached through ``torch.ops.aten`` or ``torch._C`` show up in the
    dispatch mode, forward and backward alike.
    """
    seen: list[str] = []
    with _FunctionSpy(seen), _DispatchSpy(seen):
        thunk()
    return seen


def _run(case: Case, fn, dtype: torch.dtype, seed: int, seen: list[str] | None = None):
    """Call the loss and backpropagate random weights; with ``seen``, under the spies."""
    if seen is not None:
        box = []
        seen += torch_losses_reached(lambda: box.append(_run(case, fn, dtype, seed)))
        return box[0]
    tensors = case.make(torch.Generator().manual_seed(seed), dtype)
    names = case.differentiated(tensors)
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
    reached: list[str] = []
    ref_out, ref_grads = _run(case, getattr(reflosses, case.loss), dtype, seed, seen=reached)
    out, grads = _run(case, getattr(F, case.loss), dtype, seed)
    res.value_err, msg = _error([(ref_out, out)])
    value_tol = case.rtol64 if dtype == torch.float64 else case.rtol32
    grad_tol = case.rtol64 * 100 if dtype == torch.float64 else case.rtol32 * 10
    problems = [f"reflosses.{case.loss} reached torch's own loss: {', '.join(sorted(set(reached)))}"] if reached else []
    if res.value_err > value_tol:
        problems.append(f"value: {msg or f'error {res.value_err:.1e} > {value_tol:.0e}'}")
    if set(ref_grads) != set(grads):
        problems.append(f"gradients for {sorted(ref_grads)} but torch gives {sorted(grads)}")
    common = sorted(set(ref_grads) & set(grads))
    if common:
        res.grad_err, msg = _error([(ref_grads[k], grads[k]) for k in common])
        if res.grad_err > grad_tol:
            problems.append(f"grad {', '.join(common)}: {msg or f'error {res.grad_err:.1e} > {grad_tol:.0e}'}")
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
