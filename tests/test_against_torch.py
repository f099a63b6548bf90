"""Every check case of every loss (reflosses/_cases) against torch.nn.functional.

The same comparison as ``python -m reflosses check``, one test per case, dtype and seed, so a
failure names exactly what differs: values and the gradient of every differentiable argument,
float64 to ~1e-12 relative and float32 to single precision (tolerances in reflosses/check.py).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from reflosses._cases import all_cases, on_a_grid
from reflosses.check import DTYPES, compare


@pytest.mark.parametrize("seed", (0, 1))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@pytest.mark.parametrize("case", all_cases(), ids=lambda c: f"{c.loss}[{c.label}]")
def test_matches_torch(case, dtype: torch.dtype, seed: int):
    res = compare(case, dtype, seed)
    assert res.ok, res.message


@pytest.mark.parametrize("seed", (0, 1, 2))
@pytest.mark.parametrize("case", [on_a_grid(c) for c in all_cases()], ids=lambda c: f"{c.loss}[{c.label}]")
def test_matches_torch_at_exact_zeros_ties_and_margins(case, seed: int):
    res = compare(case, torch.float64, seed)
    assert res.ok, res.message


def _strided(t):
    """The same values in a non-contiguous tensor (every other element of a wider one)."""
    if not isinstance(t, torch.Tensor) or t.numel() <= 1:  # one element is always contiguous
        return t
    out = torch.stack([t, torch.zeros_like(t)], dim=-1)[..., 0]
    assert not out.is_contiguous()
    return out


def non_contiguous(case):
    make = case.make
    return replace(case, make=lambda g, dtype: {k: _strided(v) for k, v in make(g, dtype).items()},
                   label=f"{case.label}, non-contiguous")


@pytest.mark.parametrize("case", [non_contiguous(c) for c in all_cases()], ids=lambda c: f"{c.loss}[{c.label}]")
def test_matches_torch_on_non_contiguous_inputs(case):
    res = compare(case, torch.float64, 0)
    assert res.ok, res.message
