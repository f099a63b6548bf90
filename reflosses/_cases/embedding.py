"""Seeded cases for the embedding losses: margins, p, weights, swap, eps, custom distances,
unbatched and 0-d inputs, broadcasting.

Random inputs keep clear of the kinks (a hinge exactly at 0), where a gradient is not defined:
the draws are continuous, so a tie has probability 0.
"""

from __future__ import annotations

import torch

from . import Case

REDUCTIONS = ("none", "mean", "sum")


def _signs(shape, g, dtype):
    """Labels in {1, -1}, as floats."""
    return (torch.randint(0, 2, shape, generator=g) * 2 - 1).to(dtype)


def _ranking(shape=(6,), shape2=None, target_shape=None):
    def make(g, dtype):
        return {"input1": torch.randn(shape, generator=g, dtype=dtype),
                "input2": torch.randn(shape2 or shape, generator=g, dtype=dtype),
                "target": _signs(target_shape or shape, g, dtype)}

    return make


def _scores(shape=(6,), scale=2.0, odd_targets=False, positive=False):
    """input ~ N(0, scale^2) (|.| for distances); target in {1, -1} (or also 0 and 2)."""

    def make(g, dtype):
        x = torch.randn(shape, generator=g, dtype=dtype) * scale
        if odd_targets:
            y = torch.randint(-1, 3, shape, generator=g).to(dtype)
        else:
            y = _signs(shape, g, dtype)
        return {"input": x.abs() if positive else x, "target": y}

    return make


def _cosine(n=6, d=5, shape2=None, unbatched=False, scale=1.0, zero_row=False, odd_targets=False):
    def make(g, dtype):
        s1, s2 = ((d,), shape2 or (d,)) if unbatched else ((n, d), shape2 or (n, d))
        x1 = torch.randn(s1, generator=g, dtype=dtype) * scale
        x2 = torch.randn(s2, generator=g, dtype=dtype) * scale
        if zero_row:
            x1 = torch.cat([torch.zeros_like(x1[:1]), x1[1:]])
        tshape = () if unbatched else (n,)
        y = torch.randint(-1, 3, tshape, generator=g).to(dtype) if odd_targets else _signs(tshape, g, dtype)
        return {"input1": x1, "input2": x2, "target": y}

    return make


def _multiclass(n=4, c=5, unbatched=False, weight=False, target_shape=None):
    """Scores (N, C) or (C), class indices, optional positive per-class weights."""

    def make(g, dtype):
        x = torch.randn(() if c == 0 else ((c,) if unbatched else (n, c)), generator=g, dtype=dtype)
        classes = max(c, 1)
        y = torch.randint(0, classes, target_shape if target_shape is not None else ((n,) if not unbatched else ()),
                          generator=g)
        t = {"input": x, "target": y}
        if weight:
            t["weight"] = torch.rand(classes, generator=g, dtype=dtype) + 0.2
        return t

    return make


def _multilabel(n=4, c=5, unbatched=False):
    """Per sample, k random distinct classes, then -1, then (ignored) valid junk indices."""

    def make(g, dtype):
        rows = []
        for _ in range(1 if unbatched else n):
            perm = torch.randperm(c, generator=g)
            k = int(torch.randint(0, c + 1, (), generator=g))
            row = perm.clone()
            if k < c:
                row[k] = -1  # entries after the first -1 are ignored
            rows.append(row)
        t = torch.stack(rows) if rows else torch.zeros(0, c, dtype=torch.long)
        x = torch.randn(t.shape, generator=g, dtype=dtype)
        return {"input": x[0], "target": t[0]} if unbatched else {"input": x, "target": t}

    return make


def _multilabel_soft(shape=(4, 5), weight=None):
    def make(g, dtype):
        t = {"input": torch.randn(shape, generator=g, dtype=dtype) * 3,
             "target": (torch.rand(shape, generator=g) < 0.4).to(dtype)}
        if weight is not None:
            t["weight"] = torch.rand(weight, generator=g, dtype=dtype) + 0.2
        return t

    return make


def _triplet(shape=(5, 6), pos_shape=None, scale=1.0):
    def make(g, dtype):
        return {"anchor": torch.randn(shape, generator=g, dtype=dtype) * scale,
                "positive": torch.randn(pos_shape or shape, generator=g, dtype=dtype) * scale,
                "negative": torch.randn(shape, generator=g, dtype=dtype) * scale}

    return make


def cosine_distance(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """1 - cosine similarity over the last dimension, with plain tensor operations."""
    return 1 - (x1 * x2).sum(-1) / (x1.norm(dim=-1) * x2.norm(dim=-1))


def l1_distance(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    return (x1 - x2).abs().sum(-1)


CASES: list[Case] = []

# margin_ranking_loss
for _r in REDUCTIONS:
    CASES.append(Case("margin_ranking_loss", f"reduction={_r!r}", _ranking(), {"reduction": _r}))
CASES.append(Case("margin_ranking_loss", "margin=0.5", _ranking(), {"margin": 0.5, "reduction": "none"}))
CASES.append(Case("margin_ranking_loss", "margin=-0.3", _ranking(), {"margin": -0.3}))
CASES.append(Case("margin_ranking_loss", "2-D (3, 4)", _ranking((3, 4)), {"margin": 0.2, "reduction": "none"}))
CASES.append(Case("margin_ranking_loss", "0-d", _ranking(()), {"margin": 0.2}))
CASES.append(Case("margin_ranking_loss", "input2 (1,) broadcast", _ranking((6,), (1,)), {"margin": 0.2, "reduction": "none"}))
CASES.append(Case("margin_ranking_loss", "empty, 'sum'", _ranking((0,)), {"reduction": "sum"}))

# hinge_embedding_loss
for _r in REDUCTIONS:
    CASES.append(Case("hinge_embedding_loss", f"reduction={_r!r}", _scores(positive=True), {"reduction": _r}))
CASES.append(Case("hinge_embedding_loss", "margin=2.5", _scores(positive=True), {"margin": 2.5, "reduction": "none"}))
CASES.append(Case("hinge_embedding_loss", "signed input, margin=0.5, 2-D", _scores((3, 4)), {"margin": 0.5}))
CASES.append(Case("hinge_embedding_loss", "targets 0 and 2 get both terms", _scores((8,), odd_targets=True),
                  {"reduction": "none"}))
CASES.append(Case("hinge_embedding_loss", "0-d", _scores(()), {}))

# soft_margin_loss (torch refuses a target that requires grad: only the input is differentiated)
_IN = ("input",)
for _r in REDUCTIONS:
    CASES.append(Case("soft_margin_loss", f"reduction={_r!r}", _scores(), {"reduction": _r}, grad=_IN))
CASES.append(Case("soft_margin_loss", "2-D (3, 4), large scores (|x| ~ 30)", _scores((3, 4), scale=30.0),
                  {"reduction": "none"}, grad=_IN))
CASES.append(Case("soft_margin_loss", "0-d", _scores(()), {}, grad=_IN))

# cosine_embedding_loss
for _r in REDUCTIONS:
    CASES.append(Case("cosine_embedding_loss", f"reduction={_r!r}", _cosine(), {"reduction": _r}))
for _m in (0.3, -0.4):
    CASES.append(Case("cosine_embedding_loss", f"margin={_m}", _cosine(), {"margin": _m, "reduction": "none"}))
CASES.append(Case("cosine_embedding_loss", "unbatched (5,), 0-d target", _cosine(unbatched=True), {"margin": 0.1}))
CASES.append(Case("cosine_embedding_loss", "input2 (1, 5) broadcast", _cosine(shape2=(1, 5)), {"reduction": "none"}))
CASES.append(Case("cosine_embedding_loss", "tiny vectors (|x| ~ 1e-6): eps matters", _cosine(scale=1e-6),
                  {"reduction": "none"}))
CASES.append(Case("cosine_embedding_loss", "a zero row (cosine 0)", _cosine(zero_row=True), {"reduction": "none"}))
CASES.append(Case("cosine_embedding_loss", "targets 0 and 2 contribute 0", _cosine(odd_targets=True), {"reduction": "none"}))

# multi_margin_loss (torch refuses a weight that requires grad: only the input is differentiated)
for _p in (1, 2):
    for _r in REDUCTIONS:
        CASES.append(Case("multi_margin_loss", f"p={_p}, reduction={_r!r}", _multiclass(), {"p": _p, "reduction": _r}, grad=_IN))
    CASES.append(Case("multi_margin_loss", f"p={_p}, margin=0.4, weight", _multiclass(weight=True),
                      {"p": _p, "margin": 0.4, "reduction": "none"}, grad=_IN))
    CASES.append(Case("multi_margin_loss", f"p={_p}, margin=2.5, weight, 'mean'", _multiclass(weight=True),
                      {"p": _p, "margin": 2.5}, grad=_IN))
CASES.append(Case("multi_margin_loss", "unbatched (5,), 0-d target", _multiclass(unbatched=True), {"reduction": "none"}, grad=_IN))
CASES.append(Case("multi_margin_loss", "unbatched (5,), target (1,)", _multiclass(unbatched=True, target_shape=(1,)),
                  {"reduction": "none"}, grad=_IN))
CASES.append(Case("multi_margin_loss", "0-d input (one class: loss 0)", _multiclass(c=0, unbatched=True), {}, grad=_IN))
# empty batch: only 'none' is comparable; torch 2.13 reduces an empty batch of this loss to uninitialised memory
CASES.append(Case("multi_margin_loss", "empty batch, 'none'", _multiclass(n=0), {"reduction": "none"}, grad=_IN))

# multilabel_margin_loss
for _r in REDUCTIONS:
    CASES.append(Case("multilabel_margin_loss", f"reduction={_r!r}", _multilabel(n=6), {"reduction": _r}))
CASES.append(Case("multilabel_margin_loss", "unbatched (7,)", _multilabel(c=7, unbatched=True), {}))
CASES.append(Case("multilabel_margin_loss", "one class", _multilabel(n=3, c=1), {"reduction": "none"}))
# empty batch: only 'none' is comparable (torch 2.13 reduces it to uninitialised memory)
CASES.append(Case("multilabel_margin_loss", "empty batch (0, 4), 'none'", _multilabel(n=0, c=4), {"reduction": "none"}))

# multilabel_soft_margin_loss
for _r in REDUCTIONS:
    CASES.append(Case("multilabel_soft_margin_loss", f"reduction={_r!r}", _multilabel_soft(), {"reduction": _r}))
    CASES.append(Case("multilabel_soft_margin_loss", f"weight (5,), reduction={_r!r}", _multilabel_soft(weight=(5,)),
                      {"reduction": _r}))
CASES.append(Case("multilabel_soft_margin_loss", "weight (4, 1) per sample", _multilabel_soft(weight=(4, 1)),
                  {"reduction": "none"}))
CASES.append(Case("multilabel_soft_margin_loss", "unbatched (5,)", _multilabel_soft((5,)), {}))
CASES.append(Case("multilabel_soft_margin_loss", "3-D (2, 3, 5)", _multilabel_soft((2, 3, 5)), {"reduction": "none"}))
CASES.append(Case("multilabel_soft_margin_loss", "huge logits (|x| ~ 1e3)",
                  lambda g, dt: {k: v * (1e3 if k == "input" else 1) for k, v in _multilabel_soft()(g, dt).items()},
                  {"reduction": "none"}))

# triplet_margin_loss
for _r in REDUCTIONS:
    CASES.append(Case("triplet_margin_loss", f"reduction={_r!r}", _triplet(), {"reduction": _r}))
for _p in (1, 3, 0.5, -1.0, float("inf"), float("-inf"), 0):
    CASES.append(Case("triplet_margin_loss", f"p={_p}", _triplet(), {"p": _p, "margin": 2.0, "reduction": "none"}))
CASES.append(Case("triplet_margin_loss", "swap=True", _triplet(), {"swap": True, "reduction": "none"}))
CASES.append(Case("triplet_margin_loss", "swap=True, p=1, margin=0.5", _triplet(), {"swap": True, "p": 1, "margin": 0.5}))
for _e in (0.0, 0.3):
    CASES.append(Case("triplet_margin_loss", f"eps={_e}", _triplet(), {"eps": _e, "margin": 2.0, "reduction": "none"}))
CASES.append(Case("triplet_margin_loss", "unbatched (6,)", _triplet((6,)), {"margin": 3.0}))
CASES.append(Case("triplet_margin_loss", "0-d", _triplet(()), {"margin": 3.0}))
CASES.append(Case("triplet_margin_loss", "3-D (2, 3, 4)", _triplet((2, 3, 4)), {"margin": 2.0, "reduction": "none"}))
CASES.append(Case("triplet_margin_loss", "positive (1, 6) broadcast", _triplet((5, 6), (1, 6)), {"reduction": "none"}))
CASES.append(Case("triplet_margin_loss", "empty batch, 'sum'", _triplet((0, 6)), {"reduction": "sum"}))

# triplet_margin_with_distance_loss
for _r in REDUCTIONS:
    CASES.append(Case("triplet_margin_with_distance_loss", f"default distance, reduction={_r!r}", _triplet(),
                      {"reduction": _r}))
CASES.append(Case("triplet_margin_with_distance_loss", "default distance, swap, margin=0.5", _triplet(),
                  {"swap": True, "margin": 0.5, "reduction": "none"}))
for _fn, _name in ((cosine_distance, "1 - cosine"), (l1_distance, "L1")):
    CASES.append(Case("triplet_margin_with_distance_loss", f"distance {_name}", _triplet(),
                      {"distance_function": _fn, "margin": 0.8, "reduction": "none"}))
    CASES.append(Case("triplet_margin_with_distance_loss", f"distance {_name}, swap, 'mean'", _triplet(),
                      {"distance_function": _fn, "swap": True, "margin": 0.8}))
CASES.append(Case("triplet_margin_with_distance_loss", "unbatched (6,)", _triplet((6,)), {"margin": 3.0}))
CASES.append(Case("triplet_margin_with_distance_loss", "0-d", _triplet(()), {"margin": 3.0}))


def _saturated(g, dtype, classes=None):
    """Scores that agree with their labels by a margin of 30 to 40: losses near e^-30 to e^-40."""
    shape = (4, 5)
    margin = 30 + 10 * torch.rand(shape, generator=g, dtype=dtype)
    y = _signs(shape, g, dtype)
    if classes:  # multi-hot {0, 1} targets
        return {"input": y * margin, "target": (y + 1) / 2}
    return {"input": y * margin, "target": y}


CASES.append(Case("soft_margin_loss", "saturated margins y x in [30, 40] (tiny losses)", _saturated,
                  {"reduction": "none"}, grad=_IN))
CASES.append(Case("multilabel_soft_margin_loss", "saturated logits (|x| in [30, 40], agreeing targets)",
                  lambda g, dt: _saturated(g, dt, classes=True), {"reduction": "none"}, grad=_IN))
