"""Embedding losses: differential tests, hand-computed values, edge cases, errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiff import same_error

import reflosses
from reflosses import embedding as E
from reflosses._cases.embedding import cosine_distance

DTYPES = (torch.float64, torch.float32)
D = torch.float64


def _t(*rows, dtype=D):
    return torch.tensor(rows if len(rows) > 1 else rows[0], dtype=dtype)


# --- hand-computed values ------------------------------------------------------------------------


def test_margin_ranking_by_hand():
    x1, x2, y = _t([0.9, 0.2, 0.5]), _t([0.4, 0.6, 0.5]), _t([1.0, 1.0, -1.0])
    # max(0, -y (x1 - x2) + 0.3): [max(0, -0.5 + 0.3), max(0, 0.4 + 0.3), max(0, 0 + 0.3)]
    assert E.margin_ranking_loss(x1, x2, y, margin=0.3, reduction="none").tolist() == pytest.approx([0, 0.7, 0.3])


def test_hinge_embedding_by_hand_and_odd_targets():
    x, y = _t([0.3, 0.3, 1.5, 0.4]), _t([1.0, -1.0, -1.0, 0.0])
    # y=1: x; y=-1: max(0, 1 - x); y=0 (neither): both terms, x + max(0, 1 - x) = 1 for x < 1
    assert E.hinge_embedding_loss(x, y, reduction="none").tolist() == pytest.approx([0.3, 0.7, 0.0, 1.0])
    assert F.hinge_embedding_loss(x, y, reduction="none").tolist() == pytest.approx([0.3, 0.7, 0.0, 1.0])


def test_soft_margin_by_hand_and_overflow_like_torch():
    x, y = _t([0.0, 2.0]), _t([1.0, -1.0])
    assert E.soft_margin_loss(x, y, reduction="none").tolist() == pytest.approx([math.log(2), math.log1p(math.e**2)])
    big = torch.tensor([100.0], dtype=torch.float32)
    assert torch.isinf(E.soft_margin_loss(big, -torch.ones(1))) and torch.isinf(F.soft_margin_loss(big, -torch.ones(1)))


def test_cosine_by_hand_and_eps():
    a, b = _t([1.0, 0.0], [1.0, 1.0]), _t([1.0, 1.0], [-1.0, -1.0])
    cos = [1 / math.sqrt(2), -1.0]
    out = E.cosine_embedding_loss(a, b, _t([1.0, -1.0]), margin=-0.5, reduction="none")
    assert out.tolist() == pytest.approx([1 - cos[0], max(0.0, cos[1] + 0.5)], rel=1e-10)
    # a zero vector: cosine 0, so a similar pair costs exactly 1 and a dissimilar one 0
    z = E.cosine_embedding_loss(torch.zeros(2, 3, dtype=D), torch.ones(2, 3, dtype=D), _t([1.0, -1.0]), reduction="none")
    assert z.tolist() == [1.0, 0.0]
    # the eps is torch's single-precision 1e-12
    assert E._COSINE_EPS == 9.999999960041972e-13
    tiny = torch.randn(4, 3, dtype=D, generator=torch.Generator().manual_seed(3)) * 1e-6
    y = torch.ones(4, dtype=D)
    assert torch.equal(E.cosine_embedding_loss(tiny, tiny.flip(0), y, reduction="none"),
                       F.cosine_embedding_loss(tiny, tiny.flip(0), y, reduction="none"))


def test_multi_margin_by_hand():
    x = _t([[0.1, 0.2, 0.4, 0.8], [0.3, -0.2, 0.5, 0.1]])
    y = torch.tensor([3, 1])
    # row 0: [1 - 0.7, 1 - 0.6, 1 - 0.4] / 4; row 1: [1 + 0.5, 1 + 0.7, 1 + 0.3] / 4
    assert E.multi_margin_loss(x, y, reduction="none").tolist() == pytest.approx([1.3 / 4, 4.5 / 4])
    sq = [(0.09 + 0.16 + 0.36) / 4, (2.25 + 2.89 + 1.69) / 4]
    assert E.multi_margin_loss(x, y, p=2, reduction="none").tolist() == pytest.approx(sq)
    w = _t([1.0, 2.0, 3.0, 4.0])
    # 'mean' is the plain average of the weighted losses (not divided by the weights)
    assert E.multi_margin_loss(x, y, weight=w).item() == pytest.approx((4 * 1.3 / 4 + 2 * 4.5 / 4) / 2)


def test_multilabel_margin_by_hand_stops_at_first_minus_one():
    x = _t([[0.1, 0.2, 0.4, 0.8]])
    y = torch.tensor([[3, 0, -1, 1]])  # targets {3, 0}; the 1 after -1 is ignored
    by_hand = ((1 - 0.8 + 0.2) + (1 - 0.8 + 0.4) + (1 - 0.1 + 0.2) + (1 - 0.1 + 0.4)) / 4
    assert E.multilabel_margin_loss(x, y, reduction="none").tolist() == pytest.approx([by_hand])
    # a repeated class counts twice, as in torch
    dup = torch.tensor([[3, 3, -1, 1]])
    assert E.multilabel_margin_loss(x, dup).item() == pytest.approx(F.multilabel_margin_loss(x, dup).item())
    # no targets, or every class a target: nothing to compare, loss 0
    assert E.multilabel_margin_loss(x, torch.tensor([[-1, 0, 1, 2]])).item() == 0
    assert E.multilabel_margin_loss(x, torch.tensor([[0, 1, 2, 3]])).item() == 0


def test_multilabel_soft_margin_equals_mean_bce_with_logits_and_handles_huge_logits():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(3, 5, generator=g, dtype=D), (torch.rand(3, 5, generator=g) < 0.5).to(D)
    bce = F.binary_cross_entropy_with_logits(x, y, reduction="none").mean(-1)
    torch.testing.assert_close(E.multilabel_soft_margin_loss(x, y, reduction="none"), bce, rtol=1e-13, atol=0)
    huge = E.multilabel_soft_margin_loss(torch.tensor([[1000.0, -1000.0]]), torch.tensor([[0.0, 1.0]]))
    assert huge.item() == 1000.0


def test_triplet_by_hand_and_swap():
    a, p, n = _t([0.0, 0.0]), _t([3.0, 4.0]), _t([0.0, 1.0])
    d = lambda u, v: math.dist((u + 1e-6).tolist(), v.tolist())  # ||u - v + eps||_2
    assert E.triplet_margin_loss(a, p, n).item() == pytest.approx(d(a, p) - d(a, n) + 1, rel=1e-12)
    # swap: d(p, n) = ||(3, 3)|| > d(a, n), so the anchor's negative distance is kept
    assert E.triplet_margin_loss(a, p, n, swap=True).item() == pytest.approx(d(a, p) - d(a, n) + 1, rel=1e-12)
    n2 = _t([3.0, 3.0])  # now the positive is closer to the negative: swap uses d(p, n)
    assert E.triplet_margin_loss(a, p, n2, swap=True).item() == pytest.approx(d(a, p) - d(p, n2) + 1, rel=1e-12)
    # identical anchor and positive: distance eps * sqrt(D), gradient finite
    x = torch.zeros(2, dtype=D, requires_grad=True)
    E.triplet_margin_loss(x, x.detach(), n).backward()
    assert torch.isfinite(x.grad).all()


def test_triplet_with_distance_default_equals_triplet_margin_loss():
    g = torch.Generator().manual_seed(1)
    a, p, n = (torch.randn(4, 3, generator=g, dtype=D) for _ in range(3))
    # against torch's triplet_margin_loss: reflosses' two functions share a helper, so comparing
    # them with each other would hold by construction
    torch.testing.assert_close(E.triplet_margin_with_distance_loss(a, p, n, reduction="none"),
                               F.triplet_margin_loss(a, p, n, reduction="none"), rtol=1e-13, atol=0)
    out = E.triplet_margin_with_distance_loss(a, p, n, distance_function=cosine_distance, margin=0.5)
    ref = F.triplet_margin_with_distance_loss(a, p, n, distance_function=cosine_distance, margin=0.5)
    assert out.item() == pytest.approx(ref.item(), rel=1e-13)


def test_unbatched_equals_batch_of_one():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(5, generator=g, dtype=D)
    assert E.multi_margin_loss(x, torch.tensor(2)).item() == E.multi_margin_loss(x[None], torch.tensor([2])).item()
    t = torch.tensor([4, 1, -1, 0, 0])
    assert E.multilabel_margin_loss(x, t).item() == E.multilabel_margin_loss(x[None], t[None]).item()
    a, b = torch.randn(2, 5, generator=g, dtype=D)
    y = torch.tensor(-1.0, dtype=D)
    assert E.cosine_embedding_loss(a, b, y).item() == E.cosine_embedding_loss(a[None], b[None], y[None]).item()


def test_empty_batches():
    # reflosses: sum 0 and mean nan; torch 2.13 returns uninitialised memory for these two losses
    e = torch.zeros(0, 4, dtype=D)
    assert E.multi_margin_loss(e, torch.zeros(0, dtype=torch.long), reduction="sum").item() == 0
    assert E.multi_margin_loss(e, torch.zeros(0, dtype=torch.long)).isnan()
    assert E.multilabel_margin_loss(e, torch.zeros(0, 4, dtype=torch.long)).isnan()
    assert E.triplet_margin_loss(e, e, e).isnan() and F.triplet_margin_loss(e, e, e).isnan()
    assert E.margin_ranking_loss(e[:, 0], e[:, 0], e[:, 0], reduction="sum").item() == 0


# --- randomized ----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_multilabel_margin_random(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g, dtype=D)
    t = torch.randint(-1, c, (n, c), generator=g)  # -1 anywhere: the list stops at the first one
    torch.testing.assert_close(E.multilabel_margin_loss(x, t, reduction="none"),
                               F.multilabel_margin_loss(x, t, reduction="none"), rtol=1e-12, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(p=st.sampled_from([1, 2]), margin=st.floats(0.1, 3.0), weighted=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_multi_margin_random(p, margin, weighted, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 4, generator=g, dtype=D)
    y = torch.randint(0, 4, (3,), generator=g)
    w = torch.rand(4, generator=g, dtype=D) if weighted else None
    kw = dict(p=p, margin=margin, weight=w, reduction="none")
    torch.testing.assert_close(E.multi_margin_loss(x, y, **kw), F.multi_margin_loss(x, y, **kw), rtol=1e-12, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(p=st.floats(0.25, 6.0), eps=st.floats(0.0, 0.1), swap=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_triplet_random(p, eps, swap, seed):
    g = torch.Generator().manual_seed(seed)
    a, pos, neg = (torch.randn(3, 5, generator=g, dtype=D) for _ in range(3))
    kw = dict(p=p, eps=eps, swap=swap, margin=1.5, reduction="none")
    torch.testing.assert_close(E.triplet_margin_loss(a, pos, neg, **kw), F.triplet_margin_loss(a, pos, neg, **kw),
                               rtol=1e-11, atol=1e-13)


# --- errors: same exception class as torch, message naming the argument ---------------------------

X = torch.randn(3, 4, dtype=D)
V = torch.randn(3, dtype=D)
Y = torch.tensor([0, 1, 3])
L = torch.tensor([[0, -1, 0, 0], [1, 2, -1, 0], [3, -1, 0, 0]])
ERRORS = [
    ("margin_ranking_loss", RuntimeError, "dimensions", (X, V, V), {}),
    ("margin_ranking_loss", ValueError, "reduction", (V, V, V), {"reduction": "avg"}),
    ("margin_ranking_loss", RuntimeError, "input2", (V, V[:2], V), {}),
    ("hinge_embedding_loss", ValueError, "reduction", (V, V), {"reduction": "avg"}),
    ("hinge_embedding_loss", RuntimeError, "target", (V, V[:2]), {}),
    ("soft_margin_loss", RuntimeError, "target", (V, V[:2]), {}),
    ("soft_margin_loss", ValueError, "reduction", (V, V), {"reduction": "x"}),
    ("cosine_embedding_loss", RuntimeError, "target", (X, X, V[:, None]), {}),
    ("cosine_embedding_loss", RuntimeError, "input1", (X[0], X[0], V), {}),
    ("cosine_embedding_loss", RuntimeError, "input1", (X, X[0], V), {}),
    ("cosine_embedding_loss", RuntimeError, "input1", (X[0, 0], X[0, 0], V[0]), {}),
    ("cosine_embedding_loss", RuntimeError, "input2", (X, X[:, :3], V), {}),
    ("cosine_embedding_loss", RuntimeError, "target", (X, X, V[:2]), {}),
    ("cosine_embedding_loss", ValueError, "reduction", (X, X, V), {"reduction": "x"}),
    ("multi_margin_loss", ValueError, "p", (X, Y), {"p": 3}),
    ("multi_margin_loss", ValueError, "weight", (X, Y), {"weight": torch.ones(1, 4, dtype=D)}),
    ("multi_margin_loss", RuntimeError, "weight", (X, Y), {"weight": torch.ones(3, dtype=D)}),
    ("multi_margin_loss", RuntimeError, "weight", (X, Y), {"weight": torch.ones(4)}),
    ("multi_margin_loss", RuntimeError, "target", (X, torch.tensor([0, 1, 4])), {}),
    ("multi_margin_loss", RuntimeError, "target", (X, torch.tensor([0, -1, 2])), {}),
    ("multi_margin_loss", RuntimeError, "target", (X, Y[:2]), {}),
    ("multi_margin_loss", RuntimeError, "target", (X, Y[:, None]), {}),
    ("multi_margin_loss", RuntimeError, "target", (X, Y.double()), {}),
    ("multi_margin_loss", RuntimeError, "input", (X[None], Y), {}),
    ("multi_margin_loss", RuntimeError, "input", (X[:, :0], Y), {}),
    ("multi_margin_loss", ValueError, "reduction", (X, Y), {"reduction": "x"}),
    ("multilabel_margin_loss", RuntimeError, "target", (X, L[:, :3]), {}),
    ("multilabel_margin_loss", RuntimeError, "target", (X[:1], L[0]), {}),
    ("multilabel_margin_loss", RuntimeError, "target", (X, L.double()), {}),
    ("multilabel_margin_loss", RuntimeError, "target", (X, L.clamp(max=0) + torch.tensor([0, 0, 0, 4])), {}),
    ("multilabel_margin_loss", RuntimeError, "target", (X, L - 1), {}),
    ("multilabel_margin_loss", RuntimeError, "input", (X[None], L[None]), {}),
    ("multilabel_margin_loss", RuntimeError, "input", (X[:, :0], L[:, :0]), {}),
    ("multilabel_margin_loss", ValueError, "reduction", (X, L), {"reduction": "x"}),
    ("multilabel_soft_margin_loss", IndexError, "input", (X[0, 0], X[0, 0]), {}),
    ("multilabel_soft_margin_loss", RuntimeError, "target", (X, X[:, :3]), {}),
    ("multilabel_soft_margin_loss", RuntimeError, "weight", (X, X), {"weight": torch.ones(3, dtype=D)}),
    ("triplet_margin_loss", ValueError, "margin", (X, X, X), {"margin": 0.0}),
    ("triplet_margin_loss", ValueError, "margin", (X, X, X), {"margin": -1.0}),
    ("triplet_margin_loss", RuntimeError, "positive", (X, X[0], X), {}),
    ("triplet_margin_loss", RuntimeError, "positive", (X, X[:, :3], X), {}),
    ("triplet_margin_loss", ValueError, "reduction", (X, X, X), {"reduction": "x"}),
    ("triplet_margin_with_distance_loss", ValueError, "margin", (X, X, X), {"margin": 0.0}),
    ("triplet_margin_with_distance_loss", ValueError, "margin", (X, X, X), {"margin": -2}),
    ("triplet_margin_with_distance_loss", RuntimeError, "negative", (X, X, X[0]), {}),
    ("triplet_margin_with_distance_loss", TypeError, "distance_function", (X, X, X), {"distance_function": 3}),
    ("triplet_margin_with_distance_loss", ValueError, "reduction", (X, X, X), {"reduction": "x"}),
]


@pytest.mark.parametrize("name, exc, word, args, kwargs", ERRORS,
                         ids=[f"{e[0]}-{e[2] or 'shape'}-{i}" for i, e in enumerate(ERRORS)])
def test_errors_match_torch(name, exc, word, args, kwargs):
    with pytest.raises(exc):
        getattr(F, name)(*args, **kwargs)
    with pytest.raises(exc, match=word):
        getattr(reflosses, name)(*args, **kwargs)


def test_distance_function_is_keyword_only():
    with pytest.raises(TypeError):
        E.triplet_margin_with_distance_loss(X, X, X, cosine_distance)
    with pytest.raises(TypeError):
        F.triplet_margin_with_distance_loss(X, X, X, cosine_distance)


def test_the_piecewise_log_sigmoid_the_docs_warn_about_has_twice_the_gradient_at_zero():
    """multilabel_soft_margin_loss's docstring and the verification page say a piecewise
    min(x, 0) - log1p(exp(-|x|)) gets autograd's gradient at 0 wrong (1, not 1/2), which made a
    first version's gradient twice torch's; reflosses' softplus form gets 1/2. The naive form's
    value at 0 depends on clamp's backward at its bound: 1 on torch 2.13, 0 on 2.15; never 1/2."""
    x = torch.zeros(1, dtype=D, requires_grad=True)
    (naive,) = torch.autograd.grad((x.clamp(max=0) - torch.log1p(torch.exp(-x.abs()))).sum(), x)
    assert naive.item() in (0.0, 1.0) and torch.sigmoid(-x).item() == 0.5
    y = torch.ones(1, 1, dtype=D)
    (ours,) = torch.autograd.grad(reflosses.multilabel_soft_margin_loss(x[None], y), x)
    (theirs,) = torch.autograd.grad(F.multilabel_soft_margin_loss(x[None], y), x)
    assert ours.item() == theirs.item() == -0.5  # d/dx softplus(-x) at 0


@pytest.mark.parametrize("x_shape,y_shape", [((4, 1), (4,)), ((5,), (4, 5))])
def test_soft_margin_target_may_not_widen_the_input(x_shape, y_shape):
    """torch writes the loss into the input's shape: (4, 1) against (4,) is an error, not (4, 4)."""
    x, y = torch.randn(x_shape, dtype=D), torch.ones(y_shape, dtype=D)
    same_error(lambda m: m.soft_margin_loss(x, y, reduction="none"), "target")


def test_soft_margin_loss_has_the_input_dtype():
    x, y = torch.randn(6), torch.tensor([1.0, -1.0] * 3, dtype=D)
    ours, theirs = E.soft_margin_loss(x, y, reduction="none"), F.soft_margin_loss(x, y, reduction="none")
    assert ours.dtype == theirs.dtype == torch.float32 and torch.equal(ours, theirs)
