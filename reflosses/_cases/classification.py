"""Seeded cases for the classification losses.

torch refuses gradients with respect to class weights (``weight`` of ``nll_loss``,
``cross_entropy`` with class indices, ``binary_cross_entropy``, ``pos_weight``), so those
cases differentiate ``input`` (and probability targets) only. ``binary_cross_entropy`` cases
keep probabilities in [0.01, 0.99], away from the log clamp where torch's hand-written
backward is not the gradient of the formula; the saturated case compares values only.
"""

from __future__ import annotations

import torch

from . import Case

N, C = 6, 5


def _indices(g: torch.Generator, shape: tuple[int, ...], ignore: int | None) -> torch.Tensor:
    t = torch.randint(0, C, shape, generator=g)
    if ignore is not None:  # every third position is ignored
        t.view(-1)[::3] = ignore
    return t


def _ce(shape=(N, C), *, probs=False, weight=False, ignore=None, log_softmax=False, all_ignored=False,
        scale=1.0):
    """Logits ``input`` of ``shape`` (class dim 1, or 0 when unbatched) and a matching target."""

    def make(g: torch.Generator, dtype: torch.dtype) -> dict:
        x = torch.randn(shape, generator=g, dtype=dtype) * scale
        class_dim = 0 if len(shape) == 1 else 1
        if log_softmax:
            x = x.log_softmax(class_dim)
        if probs:
            target = torch.randn(shape, generator=g, dtype=dtype).softmax(class_dim)
        else:
            tshape = () if len(shape) == 1 else (shape[0], *shape[2:])
            target = _indices(g, tshape, ignore)
            if all_ignored:
                target = torch.full_like(target, -100)
        t = {"input": x, "target": target}
        if weight:
            t["weight"] = torch.rand(shape[class_dim], generator=g, dtype=dtype) + 0.1
        return t

    return make


def _bce(shape=(4, 5), *, logits=False, weight=None, pos_weight=None, scale=2.0):
    def make(g: torch.Generator, dtype: torch.dtype) -> dict:
        x = torch.randn(shape, generator=g, dtype=dtype) * scale
        t = {"input": x if logits else x.sigmoid() * 0.98 + 0.01,
             "target": torch.rand(shape, generator=g, dtype=dtype)}
        if weight is not None:
            t["weight"] = torch.rand(weight, generator=g, dtype=dtype) + 0.1
        if pos_weight is not None:
            t["pos_weight"] = torch.rand(pos_weight, generator=g, dtype=dtype) * 3
        return t

    return make


def _fixed(input, target, **extra):
    """Hand-picked values (saturated probabilities, huge logits) in the requested dtype."""

    def make(g: torch.Generator, dtype: torch.dtype) -> dict:
        t = {"input": torch.tensor(input, dtype=dtype), "target": torch.tensor(target, dtype=dtype)}
        t.update({k: torch.tensor(v, dtype=dtype) for k, v in extra.items()})
        return t

    return make


X = ("input",)
XT = ("input", "target")
CASES: list[Case] = []
for _r in ("none", "mean", "sum"):
    CASES += [
        Case("cross_entropy", f"class indices, reduction={_r!r}", _ce(), {"reduction": _r}),
        Case("cross_entropy", f"indices, weight, ignore_index, label_smoothing=0.2, reduction={_r!r}",
             _ce(weight=True, ignore=-100), {"reduction": _r, "label_smoothing": 0.2}, grad=X),
        Case("cross_entropy", f"probabilities, weight, label_smoothing=0.1, reduction={_r!r}",
             _ce(probs=True, weight=True), {"reduction": _r, "label_smoothing": 0.1}, grad=XT),
        Case("nll_loss", f"reduction={_r!r}", _ce(log_softmax=True), {"reduction": _r}),
        Case("nll_loss", f"weight, ignore_index=-100, reduction={_r!r}", _ce(log_softmax=True, weight=True, ignore=-100),
             {"reduction": _r}, grad=X),
        Case("nll_loss", f"K-dim (2, 5, 3, 4), weight, ignore, reduction={_r!r}",
             _ce((2, C, 3, 4), log_softmax=True, weight=True, ignore=-100), {"reduction": _r}, grad=X),
        Case("binary_cross_entropy", f"reduction={_r!r}", _bce(), {"reduction": _r}, grad=XT),
        Case("binary_cross_entropy_with_logits", f"reduction={_r!r}", _bce(logits=True), {"reduction": _r}),
        Case("binary_cross_entropy_with_logits", f"weight (5,), pos_weight (5,), reduction={_r!r}",
             _bce(logits=True, weight=(5,), pos_weight=(5,)), {"reduction": _r}, grad=XT),
    ]
CASES += [
    Case("cross_entropy", "class indices, weight", _ce(weight=True), {}, grad=X),
    Case("cross_entropy", "ignore_index=-100 on every third target", _ce(ignore=-100), {}),
    Case("cross_entropy", "ignore_index=2 (a real class)", _ce(), {"ignore_index": 2, "reduction": "none"}),
    Case("cross_entropy", "every target ignored: mean is nan", _ce(all_ignored=True), {}),
    Case("cross_entropy", "every target ignored, reduction='sum'", _ce(all_ignored=True), {"reduction": "sum"}),
    Case("cross_entropy", "label_smoothing=0.3", _ce(), {"label_smoothing": 0.3}),
    Case("cross_entropy", "label_smoothing=1.0", _ce(), {"label_smoothing": 1.0, "reduction": "none"}),
    Case("cross_entropy", "K-dim (2, 5, 3, 4), indices, ignore, weight, smoothing",
         _ce((2, C, 3, 4), weight=True, ignore=-100), {"label_smoothing": 0.1}, grad=X),
    Case("cross_entropy", "K-dim (2, 5, 3, 4), indices, reduction='none'", _ce((2, C, 3, 4)), {"reduction": "none"}),
    Case("cross_entropy", "K-dim (2, 5, 3), probabilities", _ce((2, C, 3), probs=True), {}),
    Case("cross_entropy", "K-dim (2, 5, 3), probabilities, weight, smoothing, reduction='none'",
         _ce((2, C, 3), probs=True, weight=True), {"label_smoothing": 0.25, "reduction": "none"}, grad=XT),
    Case("cross_entropy", "probabilities", _ce(probs=True), {}),
    Case("cross_entropy", "unbatched (5,), class index", _ce((C,)), {}),
    Case("cross_entropy", "unbatched (5,), index, weight, reduction='none'", _ce((C,), weight=True),
         {"reduction": "none"}, grad=X),
    Case("cross_entropy", "unbatched (5,), probabilities, smoothing", _ce((C,), probs=True), {"label_smoothing": 0.1}),
    Case("cross_entropy", "empty batch (0, 5): mean is nan", _ce((0, C)), {}),
    Case("cross_entropy", "empty batch (0, 5), probabilities, sum", _ce((0, C), probs=True), {"reduction": "sum"}),
    Case("cross_entropy", "logits of scale 1e3", _ce(scale=1e3), {"reduction": "none"}),
    Case("nll_loss", "unbatched (5,)", _ce((C,), log_softmax=True), {"reduction": "none"}),
    Case("nll_loss", "unbatched (5,), weight", _ce((C,), log_softmax=True, weight=True), {}, grad=X),
    Case("nll_loss", "every target ignored: mean is nan", _ce(log_softmax=True, all_ignored=True), {}),
    Case("nll_loss", "ignore_index=0", _ce(log_softmax=True), {"ignore_index": 0}),
    Case("nll_loss", "empty batch (0, 5)", _ce((0, C), log_softmax=True), {"reduction": "sum"}),
    Case("binary_cross_entropy", "weight (4, 5)", _bce(weight=(4, 5)), {}, grad=XT),
    Case("binary_cross_entropy", "weight (5,) broadcast", _bce(weight=(5,)), {"reduction": "none"}, grad=XT),
    Case("binary_cross_entropy", "3-D (2, 3, 4)", _bce((2, 3, 4)), {}, grad=XT),
    Case("binary_cross_entropy", "empty: mean is nan", _bce((0,)), {}, grad=XT),
    Case("binary_cross_entropy", "tiny p 1e-50, 1e-300, 1e-40, 1e-44 (float32 subnormal): log clamped at -100",
         _fixed([1e-50, 1e-300, 1e-40, 1e-44], [1.0, 1.0, 1.0, 0.5]), {"reduction": "none"}, grad=()),
    Case("binary_cross_entropy", "saturated p in {0, 1, 1e-50}: log clamped at -100 (values only)",
         _fixed([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5], [1.0, 0.0, 0.0, 1.0, 1.0, 0.3]), {"reduction": "none"}, grad=()),
    Case("binary_cross_entropy_with_logits", "pos_weight (5,) only", _bce(logits=True, pos_weight=(5,)), {}, grad=XT),
    Case("binary_cross_entropy_with_logits", "pos_weight (4, 5), weight (4, 1)",
         _bce(logits=True, weight=(4, 1), pos_weight=(4, 5)), {"reduction": "none"}, grad=XT),
    Case("binary_cross_entropy_with_logits", "logits of scale 1e3", _bce(logits=True, scale=1e3), {"reduction": "none"}),
    Case("binary_cross_entropy_with_logits", "logits +-1e4 and 0, hard and soft targets",
         _fixed([1e4, -1e4, 1e4, -1e4, 0.0, 50.0, -50.0], [1.0, 0.0, 0.0, 1.0, 1.0, 0.3, 0.7]), {"reduction": "none"}),
    Case("binary_cross_entropy_with_logits", "logits +-1e4 with pos_weight 2.5",
         _fixed([1e4, -1e4, 1e4, -1e4], [1.0, 0.0, 0.0, 1.0], pos_weight=[2.5]), {"reduction": "sum"}, grad=XT),
    Case("binary_cross_entropy_with_logits", "empty: sum is 0", _bce((0, 5), logits=True), {"reduction": "sum"}),
]
