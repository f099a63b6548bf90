"""reflosses.classification against torch: seeded cases, random shapes, hand-computed values, edges, errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiff import same_error

import reflosses

F64 = torch.float64


# ---------------------------------------------------------------- random shapes and values

@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(0, 4), c=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2),
    seed=st.integers(0, 2**16), smoothing=st.sampled_from([0.0, 0.1, 0.7]),
    weighted=st.booleans(), reduction=st.sampled_from(["none", "mean", "sum"]),
)
def test_random_cross_entropy_matches_torch(n, c, extra, seed, smoothing, weighted, reduction):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, c, *extra, generator=g, dtype=F64) * 3).requires_grad_()
    y = torch.randint(0, c, (n, *extra), generator=g)
    y[torch.rand(y.shape, generator=g) < 0.2] = -100
    w = torch.rand(c, generator=g, dtype=F64) + 0.1 if weighted else None
    kw = {"weight": w, "reduction": reduction, "label_smoothing": smoothing}
    ours, theirs = reflosses.cross_entropy(x, y, **kw), F.cross_entropy(x, y, **kw)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True)
    if ours.numel() and not ours.isnan().any():
        (gx,) = torch.autograd.grad(ours.sum(), x)
        (tx,) = torch.autograd.grad(theirs.sum(), x)
        torch.testing.assert_close(gx, tx, rtol=1e-10, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(0, 4), max_size=3).map(tuple), seed=st.integers(0, 2**16),
       scale=st.sampled_from([0.1, 3.0, 30.0, 1e3]), pw=st.booleans(), reduction=st.sampled_from(["none", "sum"]))
def test_random_bce_with_logits_matches_torch(shape, seed, scale, pw, reduction):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g, dtype=F64) * scale).requires_grad_()
    y = torch.rand(shape, generator=g, dtype=F64)
    kw = {"reduction": reduction, "pos_weight": torch.rand(shape[-1:], generator=g, dtype=F64) * 3 if pw else None}
    ours, theirs = reflosses.binary_cross_entropy_with_logits(x, y, **kw), F.binary_cross_entropy_with_logits(x, y, **kw)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    if ours.numel():
        (gx,) = torch.autograd.grad(ours.sum(), x)
        (tx,) = torch.autograd.grad(theirs.sum(), x)
        torch.testing.assert_close(gx, tx, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- hand-computed values

def test_seed_cross_entropy_takes_logits_not_probabilities():
    logits = [0.1, 0.6, 0.3]
    by_hand = -logits[1] + math.log(sum(math.exp(v) for v in logits))  # -log softmax(logits)[1]
    assert by_hand == pytest.approx(0.8533, abs=5e-5)
    assert by_hand != pytest.approx(-math.log(0.6), abs=0.1)  # the seeds' 0.51 treats logits as probabilities
    x, y = torch.tensor([logits], dtype=F64), torch.tensor([1])
    assert reflosses.cross_entropy(x, y).item() == pytest.approx(by_hand, abs=1e-14)
    assert F.cross_entropy(x, y).item() == pytest.approx(by_hand, abs=1e-14)


def test_label_smoothing_by_hand():
    logits, eps, C = [0.1, 0.6, 0.3], 0.3, 3
    lse = math.log(sum(math.exp(v) for v in logits))
    logp = [v - lse for v in logits]
    by_hand = (1 - eps) * -logp[1] + eps / C * sum(-v for v in logp)
    x, y = torch.tensor([logits], dtype=F64), torch.tensor([1])
    for fn in (reflosses.cross_entropy, F.cross_entropy):
        assert fn(x, y, label_smoothing=eps).item() == pytest.approx(by_hand, abs=1e-14)


def test_weighted_mean_divides_by_the_weights_of_the_targets():
    logp = torch.tensor([[-0.5, -1.0], [-2.0, -0.25], [-1.5, -0.75]], dtype=F64)
    y, w = torch.tensor([0, 1, -100]), torch.tensor([2.0, 3.0], dtype=F64)
    by_hand = (2.0 * 0.5 + 3.0 * 0.25) / (2.0 + 3.0)  # the ignored row adds nothing to either sum
    for fn in (reflosses.nll_loss, F.nll_loss):
        assert fn(logp, y, weight=w).item() == pytest.approx(by_hand, abs=1e-15)


def test_bce_by_hand_and_no_sigmoid_inside():
    p, y = torch.tensor([0.8, 0.3], dtype=F64), torch.tensor([1.0, 0.0], dtype=F64)
    by_hand = -(math.log(0.8) + math.log(1 - 0.3)) / 2
    for fn in (reflosses.binary_cross_entropy, F.binary_cross_entropy):
        assert fn(p, y).item() == pytest.approx(by_hand, abs=1e-15)
    with_sigmoid = -(math.log(1 / (1 + math.exp(-0.8))) + math.log(1 - 1 / (1 + math.exp(-0.3)))) / 2
    for fn in (reflosses.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits):
        assert fn(p, y).item() == pytest.approx(with_sigmoid, abs=1e-15)


# ---------------------------------------------------------------- edges

def test_every_target_ignored_gives_nan_mean_zero_sum():
    x, y = torch.randn(3, 4, dtype=F64), torch.full((3,), -100)
    for fn in (reflosses.cross_entropy, F.cross_entropy, reflosses.nll_loss, F.nll_loss):
        assert torch.isnan(fn(x, y)) and fn(x, y, reduction="sum").item() == 0
        assert fn(x, y, reduction="none").tolist() == [0.0, 0.0, 0.0]


def test_empty_batch():
    for fn in (reflosses.cross_entropy, F.cross_entropy):
        assert torch.isnan(fn(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)))
        assert fn(torch.zeros(0, 4), torch.zeros(0, 4), reduction="sum").item() == 0


def test_unbatched_shapes():
    x = torch.randn(4, dtype=F64)
    for fn in (reflosses.cross_entropy, F.cross_entropy, reflosses.nll_loss, F.nll_loss):
        assert fn(x, torch.tensor(2), reduction="none").shape == ()
    assert reflosses.cross_entropy(x, x.softmax(0), reduction="none").shape == ()


def test_uint8_targets_are_accepted_like_torch():
    x, y = torch.randn(3, 4, dtype=F64), torch.tensor([0, 3, 1], dtype=torch.uint8)
    assert reflosses.cross_entropy(x, y).item() == pytest.approx(F.cross_entropy(x, y).item(), rel=1e-14)


def test_bce_log_clamp_at_minus_100():
    p = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=F64)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=F64)
    ours = reflosses.binary_cross_entropy(p, y, reduction="none")
    assert ours.tolist() == [100.0, 100.0, 0.0, 0.0]
    assert ours.tolist() == F.binary_cross_entropy(p, y, reduction="none").tolist()


def test_bce_gradient_near_the_clamp_is_documented_difference():
    """What is compared at the saturated ends: our gradient is autograd's gradient of the
    clamped formula (0 where a log is clamped); torch's backward is (p - y) / max(p (1 - p), 1e-12).
    Where p (1 - p) >= 1e-12 and no log is clamped, the two agree."""
    p = torch.tensor([0.0, 1e-13, 1e-6, 0.5], dtype=F64, requires_grad=True)
    y = torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=F64)
    (ours,) = torch.autograd.grad(reflosses.binary_cross_entropy(p, y, reduction="sum"), p)
    pt = p.detach().clone().requires_grad_()
    (theirs,) = torch.autograd.grad(F.binary_cross_entropy(pt, y, reduction="sum"), pt)
    assert ours[0] == 0 and theirs[0] == pytest.approx(-1e12)  # log p clamped: flat for us, -1/eps for torch
    assert ours[1] == pytest.approx(-1e13) and theirs[1] == pytest.approx(-(1 - 1e-13) / 1e-12)  # eps floor
    torch.testing.assert_close(ours[2:], theirs[2:], rtol=1e-10, atol=0)  # ordinary region: the same
    ends = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=F64, requires_grad=True)
    soft = torch.tensor([0.0, 0.0, 0.4, 1.0], dtype=F64, requires_grad=True)
    grads = torch.autograd.grad(reflosses.binary_cross_entropy(ends, soft, reduction="sum"), (ends, soft))
    assert all(torch.isfinite(g).all() for g in grads)  # never 0 * inf = nan at p = 0 or 1


def test_huge_logits_are_finite():
    x = torch.tensor([1e4, -1e4, 1e4, -1e4], dtype=torch.float32)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0])
    ours = reflosses.binary_cross_entropy_with_logits(x, y, reduction="none")
    assert ours.tolist() == [0.0, 0.0, 1e4, 1e4]
    assert ours.tolist() == F.binary_cross_entropy_with_logits(x, y, reduction="none").tolist()
    big = torch.tensor([[1e4, -1e4, 0.0]])
    assert reflosses.cross_entropy(big, torch.tensor([1])).item() == F.cross_entropy(big, torch.tensor([1])).item() == 2e4


def test_pos_weight_scales_only_the_positive_term():
    x, y = torch.tensor([0.3, 0.3], dtype=F64), torch.tensor([1.0, 0.0], dtype=F64)
    q = torch.tensor(4.0, dtype=F64)
    base = reflosses.binary_cross_entropy_with_logits(x, y, reduction="none")
    withq = reflosses.binary_cross_entropy_with_logits(x, y, reduction="none", pos_weight=q)
    assert withq[0].item() == pytest.approx(4 * base[0].item(), rel=1e-15)
    assert withq[1].item() == base[1].item()


# ---------------------------------------------------------------- errors: torch's class, a message naming the argument

X, Y = torch.randn(3, 5, dtype=F64), torch.tensor([0, 4, 2])
X4, Y3 = torch.randn(2, 5, 3, 4, dtype=F64), torch.zeros(2, 3, 4, dtype=torch.long)
P, T = torch.rand(3, 5, dtype=F64), torch.rand(3, 5, dtype=F64)
W5 = torch.ones(5, dtype=F64)
ERRORS = [
    ("index too large", lambda m, f: getattr(m, f)(X, torch.tensor([0, 5, 2])), "target", "ce nll"),
    ("negative index", lambda m, f: getattr(m, f)(X, torch.tensor([0, -1, 2])), "target", "ce nll"),
    ("index out of range, K-dim", lambda m, f: getattr(m, f)(X4, Y3 + 7), "target", "ce nll"),
    ("unbatched index out of range", lambda m, f: getattr(m, f)(X[0], torch.tensor(9)), "target", "ce nll"),
    ("batch size mismatch", lambda m, f: getattr(m, f)(X, Y[:2]), "target", "ce nll"),
    ("K-dim batch mismatch", lambda m, f: getattr(m, f)(X4, Y3[:1]), "target", "ce nll"),
    ("K-dim spatial mismatch", lambda m, f: getattr(m, f)(X4, Y3[:, :2]), "target", "ce nll"),
    ("2-D target for 2-D input", lambda m, f: getattr(m, f)(X, Y[:, None]), "target", "ce nll"),
    ("unbatched, two targets", lambda m, f: getattr(m, f)(X[0], Y[:2]), "target", "ce nll"),
    ("int32 target", lambda m, f: getattr(m, f)(X, Y.int()), "target", "ce nll"),
    ("float target of another shape", lambda m, f: getattr(m, f)(X, P[:, :4]), "target", "ce nll"),
    ("weight of wrong length", lambda m, f: getattr(m, f)(X, Y, weight=W5[:4]), "weight", "ce nll"),
    ("2-D weight", lambda m, f: getattr(m, f)(X, Y, weight=W5[None]), "weight", "ce nll"),
    ("weight of another dtype", lambda m, f: getattr(m, f)(X, Y, weight=W5.float()), "weight", "ce nll"),
    ("integer input", lambda m, f: getattr(m, f)(X.long(), Y), "input", "ce nll"),
    ("0-d input", lambda m, f: getattr(m, f)(X[0, 0], Y[0]), "input", "nll"),
    ("bad reduction", lambda m, f: getattr(m, f)(X, Y, reduction="avg"), "reduction", "ce nll"),
    ("label_smoothing above 1", lambda m, f: m.cross_entropy(X, Y, label_smoothing=1.5), "label_smoothing", "ce"),
    ("probabilities with ignore_index", lambda m, f: m.cross_entropy(X, P, ignore_index=1), "ignore_index", "ce"),
    ("probability-shaped integer target", lambda m, f: m.cross_entropy(X, P.long()), "target", "ce"),
    ("probabilities, weight of wrong length", lambda m, f: m.cross_entropy(X, P, weight=W5[:3]), "weight", "ce"),
    ("bce target above 1", lambda m, f: getattr(m, f)(P, T + 1), "target", "bce"),
    ("bce input above 1", lambda m, f: getattr(m, f)(P + 1, T), "input", "bce"),
    ("bce input below 0", lambda m, f: getattr(m, f)(P - 1, T), "input", "bce"),
    ("bce nan input", lambda m, f: getattr(m, f)(P * math.nan, T), "input", "bce"),
    ("bce target dtype", lambda m, f: getattr(m, f)(P, T.float()), "target", "bce"),
    ("integer input", lambda m, f: getattr(m, f)(P.long(), T.long()), "input", "bce bcel"),
    ("target of another shape", lambda m, f: getattr(m, f)(P, T[0]), "target", "bce bcel"),
    ("input of another shape", lambda m, f: getattr(m, f)(P[0], T), "target", "bce bcel"),
    ("weight not broadcastable", lambda m, f: getattr(m, f)(P, T, weight=W5[:3]), "weight", "bce bcel"),
    ("weight larger than input", lambda m, f: getattr(m, f)(P, T, weight=P[None].expand(2, 3, 5)), "weight",
     "bce bcel"),
    ("pos_weight not broadcastable", lambda m, f: m.binary_cross_entropy_with_logits(P, T, pos_weight=W5[:3]),
     "pos_weight", "bcel"),
    ("bad reduction", lambda m, f: getattr(m, f)(P, T, reduction="avg"), "reduction", "bce bcel"),
]
NAMES = {"ce": "cross_entropy", "nll": "nll_loss", "bce": "binary_cross_entropy",
         "bcel": "binary_cross_entropy_with_logits"}


@pytest.mark.parametrize("what,call,name,fn", [(w, c, n, NAMES[k]) for w, c, n, ks in ERRORS for k in ks.split()],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_errors_match_torch(what, call, name, fn):
    same_error(lambda m: call(m, fn), name)


def test_negative_label_smoothing_is_rejected_though_torch_ignores_it():
    """torch silently computes the unsmoothed loss for label_smoothing < 0; we refuse it."""
    assert F.cross_entropy(X, Y, label_smoothing=-0.1).item() == F.cross_entropy(X, Y).item()
    with pytest.raises(RuntimeError, match="label_smoothing"):
        reflosses.cross_entropy(X, Y, label_smoothing=-0.1)
