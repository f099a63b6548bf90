"""reflosses.regression against torch: seeded cases, random shapes, hand-computed values, edges, errors."""

from __future__ import annotations

import math
import re
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiff import same_error

import reflosses

LOSSES = ("l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss")
F64 = torch.float64


# ---------------------------------------------------------------- random shapes and values

@settings(max_examples=40, deadline=None)
@given(
    loss=st.sampled_from(LOSSES),
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1e-3, 1.0, 5.0, 1e3]),
    param=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    reduction=st.sampled_from(["none", "mean", "sum"]),
)
def test_random_inputs_match_torch(loss, shape, seed, scale, param, reduction):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g, dtype=F64) * scale).requires_grad_()
    y = torch.randn(shape, generator=g, dtype=F64) * scale
    kw = {"reduction": reduction}
    if loss == "smooth_l1_loss":
        kw["beta"] = param
    elif loss == "huber_loss":
        kw["delta"] = param or 1.0
    ours, theirs = getattr(reflosses, loss)(x, y, **kw), getattr(F, loss)(x, y, **kw)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True)
    if ours.numel():
        (gx,) = torch.autograd.grad(ours.sum(), x)
        (tx,) = torch.autograd.grad(theirs.sum(), x)
        torch.testing.assert_close(gx, tx, rtol=1e-10, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- hand-computed values

def _all_three(loss, x, y, expected, **kw):
    """The hand value, reflosses and torch must agree."""
    ours = getattr(reflosses, loss)(x, y, **kw).item()
    theirs = getattr(F, loss)(x, y, **kw).item()
    assert ours == pytest.approx(expected, abs=1e-12)
    assert theirs == pytest.approx(expected, abs=1e-12)


def test_seed_example_ones_vs_0123():
    x, y = torch.ones(2, 2, dtype=F64), torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=F64)
    d = [1 - 0, 1 - 1, 1 - 2, 1 - 3]  # element-wise errors
    l1 = sum(abs(v) for v in d) / 4
    mse = sum(v * v for v in d) / 4
    smooth = sum(0.5 * v * v if abs(v) < 1 else abs(v) - 0.5 for v in d) / 4
    assert (l1, smooth, mse) == (1.0, 0.625, 1.5)
    _all_three("l1_loss", x, y, l1)
    _all_three("smooth_l1_loss", x, y, smooth)
    _all_three("mse_loss", x, y, mse)
    _all_three("huber_loss", x, y, smooth)  # delta = beta = 1: the two coincide


def test_seed_l1_is_a_mean_not_a_sum():
    x = torch.tensor([2.0, 3.0, 4.0, 5.0], dtype=F64)
    y = torch.tensor([1.5, 3.5, 3.8, 5.2], dtype=F64)
    total = 0.5 + 0.5 + 0.2 + 0.2
    _all_three("l1_loss", x, y, total / 4)  # 0.35: the default reduction is 'mean'
    _all_three("l1_loss", x, y, total, reduction="sum")  # 1.4 is reduction='sum'


def test_weighted_means_differ_between_l1_mse_and_huber():
    x = torch.tensor([0.0, 0.0, 0.0], dtype=F64)
    y = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    w = torch.tensor([1.0, 2.0, 0.5], dtype=F64)
    l1 = (1 * 1 + 2 * 2 + 0.5 * 3) / (1 + 2 + 0.5)  # divided by the weight total
    mse = (1 * 1 + 2 * 4 + 0.5 * 9) / (1 + 2 + 0.5)
    huber = (1 * 0.5 + 2 * 1.5 + 0.5 * 2.5) / 3  # divided by the element count
    _all_three("l1_loss", x, y, l1, weight=w)
    _all_three("mse_loss", x, y, mse, weight=w)
    _all_three("huber_loss", x, y, huber, weight=w)


# ---------------------------------------------------------------- edges

def test_beta_zero_is_exactly_l1_with_its_gradient():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 4.0], dtype=F64, requires_grad=True)
    y = torch.zeros(5, dtype=F64)
    a = reflosses.smooth_l1_loss(x, y, beta=0.0, reduction="sum")
    (ga,) = torch.autograd.grad(a, x)
    b = reflosses.l1_loss(x, y, reduction="sum")
    (gb,) = torch.autograd.grad(b, x)
    assert a.item() == b.item() == 6.8
    assert ga.tolist() == gb.tolist() == [-1.0, -1.0, 0.0, 1.0, 1.0]
    assert torch.isfinite(ga).all()


@pytest.mark.parametrize("loss,kw", [("smooth_l1_loss", {"beta": 1.5}), ("huber_loss", {"delta": 1.5}),
                                     ("l1_loss", {}), ("mse_loss", {})])
def test_gradient_at_zero_error_and_at_the_kink(loss, kw):
    x = torch.tensor([0.0, 1.5, -1.5, 1.5 + 1e-9], dtype=F64, requires_grad=True)
    y = torch.zeros(4, dtype=F64)
    (ours,) = torch.autograd.grad(getattr(reflosses, loss)(x, y, reduction="sum", **kw), x)
    xt = x.detach().clone().requires_grad_()
    (theirs,) = torch.autograd.grad(getattr(F, loss)(xt, y, reduction="sum", **kw), xt)
    assert ours[0] == 0
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_huber_is_delta_times_smooth_l1():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(50, generator=g, dtype=F64) * 3, torch.randn(50, generator=g, dtype=F64)
    for b in (0.1, 1.0, 2.5):
        torch.testing.assert_close(reflosses.huber_loss(x, y, delta=b, reduction="none"),
                                   b * reflosses.smooth_l1_loss(x, y, beta=b, reduction="none"))


# ---------------------------------------------------------------- the clamp form c (d - c/2): joint, extremes, double backward

PIECEWISE = [("smooth_l1_loss", "beta"), ("huber_loss", "delta")]
THRESHOLDS = (1e-3, 1.0, 7.5)
EPS = {F64: torch.finfo(F64).eps, torch.float32: torch.finfo(torch.float32).eps}


def _both(loss, x, y, order=1, **kw):
    """(reflosses, torch): the unreduced losses and their first ``order`` derivatives w.r.t. ``x``."""
    out = []
    for fn in (getattr(reflosses, loss), getattr(F, loss)):
        xx = x.detach().clone().requires_grad_()
        val = fn(xx, y, reduction="none", **kw)
        res, g = [val.detach()], val
        for _ in range(order):
            (g,) = torch.autograd.grad(g.sum(), xx, create_graph=True)
            res.append(g.detach())
        out.append(res)
    return out


def _around(p, dtype):
    """0, the joint |d| == p and its nearest floating-point neighbours on both sides, inside and outside."""
    p_ = torch.tensor(p, dtype=dtype)
    below, above = torch.nextafter(p_, torch.zeros_like(p_)), torch.nextafter(p_, torch.full_like(p_, 1e30))
    pos = torch.stack([p_ / 2, below, p_, above, 3 * p_])
    return torch.cat([torch.zeros(1, dtype=dtype), pos, -pos])


@pytest.mark.parametrize("dtype", [F64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("p", THRESHOLDS)
@pytest.mark.parametrize("loss,param", PIECEWISE)
def test_values_and_gradients_at_the_joint_match_torch(loss, param, p, dtype):
    x = _around(p, dtype)
    (ours, ours_g), (theirs, theirs_g) = _both(loss, x, torch.zeros_like(x), **{param: p})
    # Huber's c (d - c/2) rounds exactly like torch's two branches; SmoothL1's division by beta
    # may round differently from torch's in the last bit
    tol = 0 if loss == "huber_loss" else 2 * EPS[dtype]
    torch.testing.assert_close(ours, theirs, rtol=tol, atol=0)
    torch.testing.assert_close(ours_g, theirs_g, rtol=tol, atol=0)
    assert ours[0] == 0 and ours_g[0] == 0  # d == 0


@pytest.mark.parametrize("p", THRESHOLDS)
@pytest.mark.parametrize("loss,param", PIECEWISE)
def test_huge_float32_errors_are_finite_like_torch_and_nothing_overflows(loss, param, p):
    from torch.utils._python_dispatch import TorchDispatchMode

    class NoInf(TorchDispatchMode):  # looks at every intermediate tensor, forward and backward
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor) and t.is_floating_point():
                    assert not t.isinf().any(), f"{func} produced inf"
            return out

    x = torch.tensor([1e20, -1e20, 1.0], dtype=torch.float32)  # (1e20)^2 is beyond float32's 3.4e38
    y = torch.tensor([0.0, 0.0, -1e20], dtype=torch.float32)
    for reduction in ("none", "sum", "mean"):
        xs = [x.clone().requires_grad_() for _ in range(2)]
        with NoInf():
            ours = getattr(reflosses, loss)(xs[0], y, reduction=reduction, **{param: p})
            (g_ours,) = torch.autograd.grad(ours.sum(), xs[0])
        theirs = getattr(F, loss)(xs[1], y, reduction=reduction, **{param: p})
        (g_theirs,) = torch.autograd.grad(theirs.sum(), xs[1])
        assert torch.isfinite(ours).all() and torch.isfinite(g_ours).all()
        torch.testing.assert_close(ours, theirs, rtol=2 * EPS[torch.float32], atol=0)
        torch.testing.assert_close(g_ours, g_theirs, rtol=2 * EPS[torch.float32], atol=0)


@pytest.mark.parametrize("p", THRESHOLDS)
@pytest.mark.parametrize("loss,param", PIECEWISE)
def test_second_derivative_matches_torch_inside_and_outside_the_joint(loss, param, p):
    x = _around(p, F64)
    (_, _, ours), (_, _, theirs) = _both(loss, x, torch.zeros_like(x), order=2, **{param: p})
    inside = 1 / p if loss == "smooth_l1_loss" else 1.0
    expected = torch.tensor([inside, inside, inside, inside, 0, 0] + [inside, inside, inside, 0, 0], dtype=F64)
    joint = torch.tensor([False, False, False, True, False, False, False, False, True, False, False])
    assert torch.equal(ours[~joint], theirs[~joint]), (ours, theirs)  # includes d == 0
    assert torch.equal(ours[~joint], expected[~joint])
    # exactly at the joint the second derivative does not exist: clamp passes its gradient at the
    # bound, so reflosses gives the inside value; torch's double backward gives 0 there
    assert torch.equal(ours[joint], torch.full((2,), inside, dtype=F64))


@pytest.mark.parametrize("dtype,beta", [(F64, 1e-300), (F64, 1e-310), (torch.float32, 1e-40)])
def test_tiny_beta_neither_underflows_nor_overflows(dtype, beta):
    # c / beta is computed first: c * (d - c/2) / beta would underflow the product and 1/beta overflow
    x = torch.tensor([1e-20, -1e-6, 1.0, 1e3], dtype=dtype)
    (ours, ours_g), (theirs, theirs_g) = _both("smooth_l1_loss", x, torch.zeros_like(x), beta=beta)
    torch.testing.assert_close(ours, theirs, rtol=2 * EPS[dtype], atol=0)
    assert torch.equal(ours_g, theirs_g), (ours_g, theirs_g)


@pytest.mark.parametrize("loss,param", PIECEWISE)
def test_inf_and_nan_errors_behave_like_torch(loss, param):
    inf, nan = float("inf"), float("nan")
    x = torch.tensor([inf, -inf, nan, inf, 1.0, inf, 0.0], dtype=F64)
    y = torch.tensor([0.0, 0.0, 0.0, inf, nan, -inf, -inf], dtype=F64)
    for p in THRESHOLDS:
        for reduction in ("none", "sum", "mean"):
            got = []
            for fn in (getattr(reflosses, loss), getattr(F, loss)):
                xx, yy = x.clone().requires_grad_(), y.clone().requires_grad_()
                val = fn(xx, yy, reduction=reduction, **{param: p})
                got.append((val.detach(), *torch.autograd.grad(val.sum(), (xx, yy))))
            for ours, theirs in zip(*got):
                torch.testing.assert_close(ours, theirs, rtol=1e-15, atol=0, equal_nan=True)


@pytest.mark.parametrize("loss", LOSSES)
def test_empty_input_gives_nan_mean_and_zero_sum(loss):
    e = torch.zeros(0, dtype=F64)
    fn = getattr(reflosses, loss)
    assert torch.isnan(fn(e, e)) and fn(e, e, reduction="sum").item() == 0
    assert fn(e, e, reduction="none").shape == (0,)


@pytest.mark.parametrize("loss", LOSSES)
def test_broadcasting_warns_like_torch(loss):
    x, y = torch.zeros(3, 4, dtype=F64), torch.arange(4, dtype=F64)
    with pytest.warns(UserWarning, match="target size") as ours:
        a = getattr(reflosses, loss)(x, y)
    with pytest.warns(UserWarning, match="target size"):
        b = getattr(F, loss)(x, y)
    assert ours[0].filename == __file__  # the warning points at the caller
    assert a.item() == pytest.approx(b.item(), rel=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_broadcasting_warning_says_what_torch_says(loss):
    x, y = torch.zeros(3, 4, dtype=F64), torch.arange(4, dtype=F64)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        getattr(reflosses, loss)(x, y)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        getattr(F, loss)(x, y)
    def shapes_as_tuples(text):  # torch prints torch.Size([3, 4]) where we print (3, 4)
        return re.sub(r"torch\.Size\(\[([^\]]*)\]\)", lambda m: str(tuple(int(v) for v in m.group(1).split(", ") if v)), text)

    assert [(w.category, shapes_as_tuples(str(w.message))) for w in theirs] == [(w.category, str(w.message)) for w in ours]


def test_same_shapes_do_not_warn():
    x = torch.zeros(3, dtype=F64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss in LOSSES:
            getattr(reflosses, loss)(x, x)


def test_integer_inputs_follow_torch():
    a, b = torch.tensor([1, 2, 3]), torch.tensor([0, 2, 5])
    for r in ("none", "sum"):
        ours, theirs = reflosses.l1_loss(a, b, reduction=r), F.l1_loss(a, b, reduction=r)
        assert ours.dtype == theirs.dtype == torch.int64 and torch.equal(ours, theirs)
    assert reflosses.mse_loss(a.double(), b).item() == F.mse_loss(a.double(), b).item() == 5 / 3


def test_mixed_dtypes_promote_like_torch():
    x, y, w = torch.ones(3), torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64)
    for loss in LOSSES:
        assert getattr(reflosses, loss)(x, y).dtype == getattr(F, loss)(x, y).dtype
    for loss in ("l1_loss", "mse_loss", "huber_loss"):
        assert getattr(reflosses, loss)(x, x, weight=w).dtype == getattr(F, loss)(x, x, weight=w).dtype


# ---------------------------------------------------------------- errors: torch's class, a message naming the argument

X, Y = torch.zeros(3, 4, dtype=F64), torch.ones(3, 4, dtype=F64)
XI, YI = torch.tensor([1, 2, 3]), torch.tensor([0, 2, 5])
ERRORS = [
    ("bad reduction", lambda m, n: getattr(m, n)(X, Y, reduction="average"), "reduction", LOSSES),
    ("shapes do not broadcast", lambda m, n: getattr(m, n)(X, torch.zeros(5, dtype=F64)), "target", LOSSES),
    ("weight of another shape", lambda m, n: getattr(m, n)(X, Y, weight=torch.ones(4, dtype=F64)), "weight",
     ("l1_loss", "mse_loss", "huber_loss")),
    ("weight of the target's shape", lambda m, n: getattr(m, n)(X[0], Y, weight=Y), "weight",
     ("l1_loss", "mse_loss", "huber_loss")),
    ("integer inputs", lambda m, n: getattr(m, n)(XI, YI), "input", ("mse_loss", "smooth_l1_loss", "huber_loss")),
    ("integer mean", lambda m, n: getattr(m, n)(XI, YI), "mean", ("l1_loss",)),
    ("integer input, float target", lambda m, n: getattr(m, n)(XI, YI.double()), "input", ("huber_loss",)),
    ("negative beta", lambda m, n: getattr(m, n)(X, Y, beta=-0.5), "beta", ("smooth_l1_loss",)),
    ("negative delta", lambda m, n: getattr(m, n)(X, Y, delta=-0.5), "delta", ("huber_loss",)),
    ("zero delta", lambda m, n: getattr(m, n)(X, Y, delta=0.0), "delta", ("huber_loss",)),
]


@pytest.mark.parametrize("what,call,name,loss",
                         [(w, c, n, loss) for w, c, n, losses in ERRORS for loss in losses],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_errors_match_torch(what, call, name, loss):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        same_error(lambda m: call(m, loss), name)


def _exact(loss: str, d: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Value and derivative of the loss at float64 errors ``d`` for a threshold ``t`` in [0, inf]."""
    a = d.abs()
    if loss == "smooth_l1_loss":
        if t == 0:
            return a, d.sign()
        if t == math.inf:
            return torch.zeros_like(d), torch.zeros_like(d)
        return torch.where(a < t, 0.5 * a * a / t, a - 0.5 * t), (d / t).clamp(-1, 1)
    if t == math.inf:
        return 0.5 * d * d, d
    return torch.where(a <= t, 0.5 * a * a, t * (a - 0.5 * t)), d.clamp(-t, t)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)  # torch computes half types in float32
@pytest.mark.parametrize("threshold", [1e-330, 1e-310, 1e-300, 1e-46, 1e-45, 1e-8, 1e39, 1e300])
@pytest.mark.parametrize("loss,arg", [("smooth_l1_loss", "beta"), ("huber_loss", "delta")])
def test_thresholds_that_round_to_zero_or_inf_in_the_dtype(loss, arg, threshold, dtype):
    """beta/delta is taken in the input's dtype, where it may round to 0 (SmoothL1 is then L1) or
    to inf (the parabola everywhere). Finite errors get the exact loss and gradient of that
    rounded threshold, and the value torch gives wherever torch's value is finite."""
    d = torch.tensor([1.0, -2.0, 0.0, 3e4], dtype=dtype)
    if loss == "huber_loss" and threshold == 0:  # 1e-330 is 0.0 already as a Python float
        return same_error(lambda m: m.huber_loss(d, torch.zeros_like(d), delta=threshold), "delta")
    (ours, grad), (theirs, _) = _both(loss, d, torch.zeros_like(d), **{arg: threshold})
    t = torch.tensor(threshold, dtype=dtype).item()
    value, slope = (v.to(dtype) for v in _exact(loss, d.double(), t))
    torch.testing.assert_close(ours, value, rtol=1e-2, atol=0)
    torch.testing.assert_close(grad, slope, rtol=1e-2, atol=0)
    finite = theirs.isfinite()
    torch.testing.assert_close(ours[finite], theirs[finite], rtol=1e-2, atol=0)


def test_integer_l1_with_integer_weight_takes_the_weighted_mean_like_torch():
    x, y, w = torch.tensor([1, 2, 3]), torch.tensor([0, 2, 5]), torch.tensor([1, 2, 1])
    for reduction in ("mean", "sum", "none"):
        ours, theirs = reflosses.l1_loss(x, y, reduction, w), F.l1_loss(x, y, reduction=reduction, weight=w)
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs), (reduction, ours, theirs)
