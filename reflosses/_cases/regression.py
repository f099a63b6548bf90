"""Seeded cases for the regression losses: every reduction, weights, beta / delta, broadcasting."""

from __future__ import annotations

import warnings

import torch

from . import Case

REDUCTIONS = ("none", "mean", "sum")


def _pair(shape=(4, 5), target_shape=None, weight=None, scale=2.0):
    """Input ~ N(0, scale^2) so errors land on both sides of beta = delta = 1; target ~ N(0, 1)."""

    def make(g: torch.Generator, dtype: torch.dtype) -> dict:
        t = {"input": torch.randn(shape, generator=g, dtype=dtype) * scale,
             "target": torch.randn(target_shape or shape, generator=g, dtype=dtype)}
        if weight is not None:
            t["weight"] = torch.rand(weight, generator=g, dtype=dtype) + 0.1
        return t

    return make


def _quiet(fn, t, kw):
    """Broadcasting cases: torch and reflosses both warn; the check table stays clean."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(**t, **kw)


CASES: list[Case] = []
for _loss in ("l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"):
    for _r in REDUCTIONS:
        CASES.append(Case(_loss, f"reduction={_r!r}", _pair(), {"reduction": _r}))
    CASES.append(Case(_loss, "3-D input (2, 3, 4)", _pair((2, 3, 4)), {}))
    CASES.append(Case(_loss, "0-d input and target", _pair(()), {"reduction": "none"}))
    CASES.append(Case(_loss, "target (5,) broadcast to (4, 5)", _pair((4, 5), (5,)), {}, call=_quiet))
    CASES.append(Case(_loss, "empty input, reduction='sum'", _pair((0, 3)), {"reduction": "sum"}))
    CASES.append(Case(_loss, "empty input, reduction='mean' (nan)", _pair((0, 3)), {}))
    if _loss != "smooth_l1_loss":
        for _r in REDUCTIONS:
            CASES.append(Case(_loss, f"weight (4, 5), reduction={_r!r}", _pair(weight=(4, 5)), {"reduction": _r}))
for _b in (0.0, 0.3, 3.0):
    for _r in ("none", "mean"):
        CASES.append(Case("smooth_l1_loss", f"beta={_b}, reduction={_r!r}", _pair(), {"beta": _b, "reduction": _r}))
for _d in (0.3, 3.0):
    CASES.append(Case("huber_loss", f"delta={_d}", _pair(), {"delta": _d, "reduction": "none"}))
    CASES.append(Case("huber_loss", f"delta={_d}, weight, reduction='mean'", _pair(weight=(4, 5)),
                      {"delta": _d, "reduction": "mean"}))
CASES.append(Case("l1_loss", "weight (5,) with input (5,) and target (3, 5) broadcast",
                  _pair((5,), (3, 5), weight=(5,)), {}, call=_quiet))
CASES.append(Case("mse_loss", "large errors (scale 1e6)", _pair(scale=1e6), {"reduction": "sum"}))


def _tiny_errors(g: torch.Generator, dtype: torch.dtype) -> dict:
    """Errors of about 1e-9 (their squares are tiny): a metric relative all the way down sees them."""
    target = torch.randn(4, 5, generator=g, dtype=dtype)
    return {"input": target + torch.randn(4, 5, generator=g, dtype=dtype) * 1e-9, "target": target}


for _loss in ("l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"):
    CASES.append(Case(_loss, "tiny errors (|d| ~ 1e-9)", _tiny_errors, {"reduction": "sum"}))
