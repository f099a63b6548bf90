"""Seeded cases for the distribution losses: every reduction (with ``batchmean``), ``log_target``,
``log_input`` / ``full`` / ``eps``, and every shape of ``var`` that torch accepts."""

from __future__ import annotations

import warnings

import torch

from . import Case

REDUCTIONS = ("none", "mean", "sum")


def _quiet(fn, t, kw):
    """kl_div with reduction='mean': torch and reflosses both warn; the check table stays clean."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(**t, **kw)


def _kl(shape=(4, 5), target_shape=None, log_target=False, zeros=False):
    """input = log_softmax of random logits; target = probabilities (or log-probabilities)."""

    def make(g: torch.Generator, dtype: torch.dtype) -> dict:
        x = torch.randn(shape, generator=g, dtype=dtype)
        t = torch.randn(target_shape or shape, generator=g, dtype=dtype) * 2
        if len(shape) == 0:
            return {"input": -x.abs(), "target": t.sigmoid().log() if log_target else t.sigmoid()}
        p = t.softmax(-1)
        if zeros:  # some target entries exactly 0 (0 log 0 = 0); keep the rows summing to 1
            p = torch.where(torch.rand(p.shape, generator=g, dtype=dtype) < 0.3, torch.zeros_like(p), p)
            p = p / p.sum(-1, keepdim=True).clamp(min=torch.finfo(dtype).tiny)
        return {"input": x.log_softmax(-1), "target": t.log_softmax(-1) if log_target else p}

    return make


def _poisson(shape=(4, 5), log_input=True, target_shape=None):
    """Counts 0..~9 from a Poisson draw, so the Stirling mask (target > 1) splits them."""

    def make(g: torch.Generator, dtype: torch.dtype) -> dict:
        rate = torch.rand(shape, generator=g, dtype=dtype) * 4 + 0.05
        target = torch.poisson(torch.full(target_shape or shape, 3.0, dtype=dtype), generator=g)
        return {"input": rate.log() if log_input else rate, "target": target}

    return make


def _gauss(shape=(4, 5), var_shape=(4, 5), target_shape=None, tiny=False):
    """var ~ U(0.1, 2); with ``tiny`` a third of the variances lie below eps = 1e-6 (clamped)."""

    def make(g: torch.Generator, dtype: torch.dtype) -> dict:
        t = {"input": torch.randn(shape, generator=g, dtype=dtype),
             "target": torch.randn(target_shape or shape, generator=g, dtype=dtype)}
        if var_shape is not None:
            v = torch.rand(var_shape, generator=g, dtype=dtype) * 1.9 + 0.1
            if tiny:
                low = torch.rand(var_shape, generator=g, dtype=dtype) < 1 / 3
                v = torch.where(low, torch.rand(var_shape, generator=g, dtype=dtype) * 1e-7, v)
            t["var"] = v
        return t

    return make


CASES: list[Case] = []

# kl_div
for _r in ("none", "sum", "batchmean", "mean"):
    for _lt in (False, True):
        CASES.append(Case("kl_div", f"reduction={_r!r}, log_target={_lt}", _kl(log_target=_lt),
                          {"reduction": _r, "log_target": _lt}, call=_quiet if _r == "mean" else None))
# the gradient with respect to a zero target is nan in torch and here (log 0): compared as nan in the same places
CASES.append(Case("kl_div", "target with zeros (0 log 0 = 0), reduction='none'", _kl(zeros=True), {"reduction": "none"}))
CASES.append(Case("kl_div", "target with zeros, grad of input only, 'batchmean'", _kl(zeros=True),
                  {"reduction": "batchmean"}, grad=("input",)))
CASES.append(Case("kl_div", "3-D input (2, 3, 4), 'batchmean'", _kl((2, 3, 4)), {"reduction": "batchmean"}))
CASES.append(Case("kl_div", "0-d input, 'batchmean' (no batch to divide by)", _kl(()), {"reduction": "batchmean"}))
CASES.append(Case("kl_div", "0-d input, log_target", _kl((), log_target=True), {"reduction": "none", "log_target": True}))
CASES.append(Case("kl_div", "target (3, 4, 5) broadcast over input (4, 5), 'batchmean'", _kl((4, 5), (3, 4, 5)),
                  {"reduction": "batchmean"}))
CASES.append(Case("kl_div", "empty batch (0, 3), 'sum'", _kl((0, 3)), {"reduction": "sum"}))
CASES.append(Case("kl_div", "empty batch (0, 3), 'batchmean' (nan)", _kl((0, 3)), {"reduction": "batchmean"}))

# poisson_nll_loss
for _li in (True, False):
    for _full in (False, True):
        for _r in REDUCTIONS:
            CASES.append(Case("poisson_nll_loss", f"log_input={_li}, full={_full}, reduction={_r!r}",
                              _poisson(log_input=_li), {"log_input": _li, "full": _full, "reduction": _r}))
CASES.append(Case("poisson_nll_loss", "log_input=False, eps=0.5", _poisson(log_input=False),
                  {"log_input": False, "eps": 0.5, "reduction": "none"}))
CASES.append(Case("poisson_nll_loss", "log_input=True ignores eps=0.5", _poisson(), {"eps": 0.5, "reduction": "sum"}))
CASES.append(Case("poisson_nll_loss", "0-d, full", _poisson(()), {"full": True, "reduction": "none"}))
CASES.append(Case("poisson_nll_loss", "target (5,) broadcast over input (4, 5), full", _poisson((4, 5), target_shape=(5,)),
                  {"full": True}))
CASES.append(Case("poisson_nll_loss", "empty input, 'mean' (nan)", _poisson((0, 3)), {}))

# gaussian_nll_loss
for _r in REDUCTIONS:
    for _full in (False, True):
        CASES.append(Case("gaussian_nll_loss", f"var like input, full={_full}, reduction={_r!r}", _gauss(),
                          {"full": _full, "reduction": _r}))
for _vs, _what in (((4,), "(4,): one per sample, last dim dropped"), ((4, 1), "(4, 1): trailing dim 1"),
                   ((1, 5), "(1, 5): leading dim 1")):
    CASES.append(Case("gaussian_nll_loss", f"var {_what}", _gauss(var_shape=_vs), {"reduction": "none"}))
    CASES.append(Case("gaussian_nll_loss", f"var {_what}, 'mean'", _gauss(var_shape=_vs), {}))
CASES.append(Case("gaussian_nll_loss", "var (2, 1, 4) for input (2, 3, 4)", _gauss((2, 3, 4), (2, 1, 4)), {"reduction": "none"}))
CASES.append(Case("gaussian_nll_loss", "var (2, 3) for input (2, 3, 4)", _gauss((2, 3, 4), (2, 3)), {"reduction": "sum"}))
for _v in (0.7, 1e-9):
    CASES.append(Case("gaussian_nll_loss", f"var={_v} as a float", _gauss(var_shape=None), {"var": _v, "reduction": "none"}))
CASES.append(Case("gaussian_nll_loss", "var below eps: clamped, gradient passed straight through",
                  _gauss(tiny=True), {"reduction": "none"}, rtol64=1e-12, rtol32=1e-5))
CASES.append(Case("gaussian_nll_loss", "var below eps, eps=1e-3, full", _gauss(tiny=True),
                  {"eps": 1e-3, "full": True, "reduction": "sum"}))
CASES.append(Case("gaussian_nll_loss", "unbatched (5,), var ()", _gauss((5,), ()), {"reduction": "none"}))
CASES.append(Case("gaussian_nll_loss", "0-d input, target and var", _gauss((), ()), {"full": True}))
CASES.append(Case("gaussian_nll_loss", "target (5,) broadcast over input (4, 5)", _gauss((4, 5), (4, 5), (5,)),
                  {"reduction": "none"}))
CASES.append(Case("gaussian_nll_loss", "empty batch (0, 3), 'sum'", _gauss((0, 3), (0, 3)), {"reduction": "sum"}))
