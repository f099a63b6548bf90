"""Every check case of every loss (reflosses/_cases) against torch.nn.functional.

The same comparison as ``python -m reflosses check``, one test per case, dtype and seed, so a
failure names exactly what differs: values and the gradient of every differentiable argument,
float64 to ~1e-12 relative and float32 to single precision (tolerances in reflosses/check.py).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from reflosses._cases import all_cases
from reflosses.check import DTYPES, compare


@pytest.mark.parametrize("seed", (0, 1))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@pytest.mark.parametrize("case", all_cases(), ids=lambda c: f"{c.loss}[{c.label}]")
def test_matches_torch(case, dtype: torch.dtype, seed: int):
    res = compare(case, dtype, seed)
    assert res.ok, res.message


def _on_a_grid(case, step: float = 0.5):
    """The case with every floating-point input rounded to a multiple of ``step``: exact zeros,
    ties and hinges sitting exactly on their margin, where random inputs never land. A loss whose
    pieces each have a kink at the same point (min(x, 0) - log1p(exp(-|x|)), say) gets autograd's
    gradient wrong exactly there; these runs catch it."""
    def make(g, dtype):
        return {k: (v / step).round() * step if isinstance(v, torch.Tensor) and v.is_floating_point() else v
                for k, v in case.make(g, dtype).items()}
    # BCE at p = 0 or 1: torch's hand-written backward is not the gradient of its clamped formula
    # (binary_cross_entropy's docstring); there only the values are compared.
    grad = () if case.loss == "binary_cross_entropy" else case.grad
    return dataclasses.replace(case, make=make, grad=grad, label=case.label + " on a grid")


@pytest.mark.parametrize("seed", (0, 1, 2))
@pytest.mark.parametrize("case", [_on_a_grid(c) for c in all_cases()], ids=lambda c: f"{c.loss}[{c.label}]")
def test_matches_torch_at_exact_zeros_ties_and_margins(case, seed: int):
    res = compare(case, torch.float64, seed)
    assert res.ok, res.message
