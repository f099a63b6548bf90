"""kl_div, poisson_nll_loss, gaussian_nll_loss: differential tests, hand-computed values, edge cases, errors."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import reflosses
from reflosses.distributions import gaussian_nll_loss, kl_div, poisson_nll_loss

DTYPES = (torch.float64, torch.float32)
D = torch.float64


def test_exported():
    assert reflosses.kl_div is kl_div and reflosses.gaussian_nll_loss is gaussian_nll_loss
    assert reflosses.poisson_nll_loss is poisson_nll_loss


# --- hand-computed values ------------------------------------------------------------------------


def test_kl_div_by_hand_and_batchmean_vs_mean():
    p = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], dtype=D)
    q = torch.tensor([[0.25, 0.25, 0.5], [0.2, 0.6, 0.2]], dtype=D)
    # row 0: 2 * 0.5 log(0.5 / 0.25) + 0 (0 log 0 = 0); row 1: 0 + 0.3 log(0.5) + 0.5 log(2.5)
    rows = [math.log(2), 0.3 * math.log(0.5) + 0.5 * math.log(2.5)]
    assert kl_div(q.log(), p, reduction="sum").item() == pytest.approx(sum(rows), rel=1e-14)
    assert kl_div(q.log(), p, reduction="batchmean").item() == pytest.approx(sum(rows) / 2, rel=1e-14)
    with pytest.warns(UserWarning, match="batchmean"):
        mean = kl_div(q.log(), p, reduction="mean").item()
    assert mean == pytest.approx(sum(rows) / 6, rel=1e-14)
    # log_target gives the same divergence
    assert kl_div(q.log(), p.log(), reduction="sum", log_target=True).isnan()  # exp(-inf) * (-inf - x) = nan
    p2 = p[1:]
    assert kl_div(q[1:].log(), p2.log(), reduction="sum", log_target=True).item() == pytest.approx(rows[1], rel=1e-14)


def test_kl_div_zero_target_contributes_zero_and_nan_target_gradient():
    x = torch.tensor([-1.0, -2.0], dtype=D, requires_grad=True)
    t = torch.tensor([0.0, 1.0], dtype=D, requires_grad=True)
    out = kl_div(x, t, reduction="none")
    assert out.tolist() == [0.0, 2.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, -1.0]
    assert t.grad[0].isnan() and t.grad[1].item() == pytest.approx(1 + 2.0)
    t2 = t.detach().clone().requires_grad_()
    F.kl_div(x.detach(), t2, reduction="none").sum().backward()
    assert t2.grad[0].isnan()


def test_kl_div_batchmean_divides_by_input_size0_not_broadcast_size():
    x = torch.randn(4, dtype=D).log_softmax(0)
    t = torch.rand(3, 4, dtype=D)
    assert kl_div(x, t, reduction="batchmean").item() == pytest.approx(kl_div(x, t, reduction="sum").item() / 4)
    assert kl_div(x, t, reduction="batchmean").item() == pytest.approx(F.kl_div(x, t, reduction="batchmean").item())


def test_poisson_by_hand():
    x = torch.tensor([0.0, math.log(2.0), math.log(3.0)], dtype=D)
    y = torch.tensor([0.0, 1.0, 4.0], dtype=D)
    # exp(x) - y x
    plain = [1.0, 2 - math.log(2), 3 - 4 * math.log(3)]
    assert poisson_nll_loss(x, y, reduction="none").tolist() == pytest.approx(plain, rel=1e-14)
    # Stirling only for y > 1: 4 log 4 - 4 + 0.5 log(8 pi); the exact NLL adds log(4!) = log 24
    stirling = 4 * math.log(4) - 4 + 0.5 * math.log(8 * math.pi)
    full = poisson_nll_loss(x, y, full=True, reduction="none").tolist()
    assert full == pytest.approx([plain[0], plain[1], plain[2] + stirling], rel=1e-14)
    assert abs(stirling - math.log(24)) < 0.04  # the approximation is close to log(y!)
    rate = x.exp()
    assert poisson_nll_loss(rate, y, log_input=False, eps=0.0, reduction="sum").item() == pytest.approx(sum(plain))


def test_poisson_zero_rate_eps_keeps_it_finite():
    out = poisson_nll_loss(torch.zeros(1, dtype=D), torch.ones(1, dtype=D), log_input=False)
    assert out.item() == pytest.approx(-math.log(1e-8))
    assert torch.isinf(poisson_nll_loss(torch.zeros(1, dtype=D), torch.ones(1, dtype=D), log_input=False, eps=0.0))


def test_gaussian_by_hand_and_var_shapes_agree():
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0]], dtype=D)
    y = torch.tensor([[0.0, 0.0], [0.0, 1.0]], dtype=D)
    v = torch.tensor([[2.0, 2.0], [0.5, 0.5]], dtype=D)
    by_hand = [[0.5 * (math.log(2) + 1 / 2), 0.5 * (math.log(2) + 4 / 2)],
               [0.5 * math.log(0.5), 0.5 * (math.log(0.5) + 4 / 0.5)]]
    out = gaussian_nll_loss(x, y, v, reduction="none")
    assert out.tolist()[0] == pytest.approx(by_hand[0], rel=1e-14)
    assert out.tolist()[1] == pytest.approx(by_hand[1], rel=1e-14)
    # one variance per sample, given three ways
    for var in (v[:, 0], v[:, :1]):
        assert torch.equal(gaussian_nll_loss(x, y, var, reduction="none"), out)
    full = gaussian_nll_loss(x, y, v, full=True, reduction="none")
    assert torch.allclose(full - out, torch.full_like(out, 0.5 * math.log(2 * math.pi)))


def test_gaussian_var_clamp_value_and_straight_through_gradient():
    v = torch.tensor([1e-9, 0.0], dtype=D, requires_grad=True)
    x = torch.tensor([1e-3, 0.0], dtype=D)
    y = torch.zeros(2, dtype=D)
    out = gaussian_nll_loss(x, y, v, reduction="none")
    eps = 1e-6
    assert out.tolist() == pytest.approx([0.5 * (math.log(eps) + 1e-6 / eps), 0.5 * math.log(eps)], rel=1e-14)
    out.sum().backward()
    # d/dv 0.5 (log v + d^2 / v) evaluated at v = eps, not 0 although the clamp is active
    assert v.grad.tolist() == pytest.approx([0.5 * (1 / eps - 1e-6 / eps**2), 0.5 / eps], rel=1e-12)
    v2 = v.detach().clone().requires_grad_()
    F.gaussian_nll_loss(x, y, v2, reduction="none").sum().backward()
    assert torch.allclose(v.grad, v2.grad, rtol=1e-12)


def test_gaussian_float_var_keeps_input_dtype():
    x = torch.randn(3, 2)
    assert gaussian_nll_loss(x, x + 1, 0.5).dtype == torch.float32
    assert gaussian_nll_loss(x, x + 1, 0.5).item() == pytest.approx(F.gaussian_nll_loss(x, x + 1, 0.5).item(), rel=1e-6)


# --- randomized ----------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), log_target=st.booleans(), seed=st.integers(0, 2**31 - 1),
       reduction=st.sampled_from(["none", "sum", "batchmean"]))
def test_kl_div_random(n, c, log_target, seed, reduction):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g, dtype=D).log_softmax(-1)
    t = torch.randn(n, c, generator=g, dtype=D) * 3
    t = t.log_softmax(-1) if log_target else t.softmax(-1)
    kw = dict(reduction=reduction, log_target=log_target)
    torch.testing.assert_close(kl_div(x, t, **kw), F.kl_div(x, t, **kw), rtol=1e-12, atol=1e-14)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), var_mode=st.sampled_from(["same", "drop", "one"]),
       full=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_gaussian_random_var_shapes(shape, var_mode, full, seed):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(shape, generator=g, dtype=D), torch.randn(shape, generator=g, dtype=D)
    vshape = {"same": shape, "drop": shape[:-1], "one": shape[:-1] + [1]}[var_mode]
    v = torch.rand(vshape, generator=g, dtype=D) * 2 + 1e-7
    kw = dict(full=full, reduction="none")
    torch.testing.assert_close(gaussian_nll_loss(x, y, v, **kw), F.gaussian_nll_loss(x, y, v, **kw), rtol=1e-12, atol=1e-14)


@settings(max_examples=20, deadline=None)
@given(log_input=st.booleans(), full=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_poisson_random(log_input, full, seed):
    g = torch.Generator().manual_seed(seed)
    rate = torch.rand(6, generator=g, dtype=D) * 5
    y = torch.poisson(torch.full((6,), 2.5, dtype=D), generator=g)
    x = rate.log() if log_input else rate
    kw = dict(log_input=log_input, full=full, reduction="none")
    torch.testing.assert_close(poisson_nll_loss(x, y, **kw), F.poisson_nll_loss(x, y, **kw), rtol=1e-12, atol=1e-14)


# --- errors: same exception class as torch, message naming the argument ---------------------------

X, T = torch.randn(3, 4, dtype=D), torch.rand(3, 4, dtype=D)
ERRORS = [
    ("kl_div", ValueError, "reduction", (X, T), {"reduction": "avg"}),
    ("kl_div", RuntimeError, "input", (torch.zeros(3, dtype=torch.long), torch.zeros(3)), {}),
    ("kl_div", RuntimeError, "target", (torch.zeros(3), torch.zeros(3, dtype=torch.long)), {}),
    ("kl_div", RuntimeError, "target", (X, torch.rand(3, 5, dtype=D)), {"reduction": "none"}),
    ("poisson_nll_loss", ValueError, "reduction", (X, T), {"reduction": "batchmean"}),
    ("poisson_nll_loss", RuntimeError, "target", (X, T[:, :3]), {}),
    ("gaussian_nll_loss", ValueError, "reduction", (X, T, T), {"reduction": "bad"}),
    ("gaussian_nll_loss", ValueError, "var", (X, T, -T), {}),
    ("gaussian_nll_loss", ValueError, "var", (X, T, -1.0), {}),
    ("gaussian_nll_loss", TypeError, "var", (X, T, 2), {}),
    ("gaussian_nll_loss", ValueError, "var", (X, T, torch.ones(4, dtype=D)), {}),
    ("gaussian_nll_loss", ValueError, "var", (X, T, torch.ones(2, 4, dtype=D)), {}),
    ("gaussian_nll_loss", ValueError, "var", (X, T, torch.ones(1, 1, dtype=D)), {}),
    ("gaussian_nll_loss", ValueError, "var", (X, T, torch.ones(3, 4, 1, dtype=D)), {}),
    ("gaussian_nll_loss", ValueError, "var", (X, T, torch.tensor(1.0, dtype=D)), {}),
    ("gaussian_nll_loss", ValueError, "var", (X[:, :1], T[:, :1], torch.ones(3, 4, dtype=D)), {}),
    ("gaussian_nll_loss", RuntimeError, "target", (X, torch.rand(5, dtype=D), T), {}),
]


@pytest.mark.parametrize("name, exc, word, args, kwargs", ERRORS,
                         ids=[f"{e[0]}-{e[2] or 'shape'}-{i}" for i, e in enumerate(ERRORS)])
def test_errors_match_torch(name, exc, word, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(exc):
            getattr(F, name)(*args, **kwargs)
        with pytest.raises(exc, match=word):
            getattr(reflosses, name)(*args, **kwargs)


def test_empty_batch():
    e = torch.zeros(0, 3, dtype=D)
    assert kl_div(e, e, reduction="sum").item() == 0
    assert kl_div(e, e, reduction="batchmean").isnan() and F.kl_div(e, e, reduction="batchmean").isnan()
    assert gaussian_nll_loss(e, e, e).isnan() and F.gaussian_nll_loss(e, e, e).isnan()
    assert poisson_nll_loss(e, e, reduction="sum").item() == 0
