"""The checks themselves can fail: each hole an audit found, with the bug that slipped through.

Every test here injects a realistic bug (a wrapped torch loss, a naive formula, a missing clamp,
a gradient that is wrong while the value is right) and asserts that the check now catches it.
"""

from __future__ import annotations

import pathlib

import pytest
import torch

import reflosses
from reflosses import oracle
from reflosses._cases import all_cases
from reflosses.check import _error, compare, torch_losses_reached

ROOT = pathlib.Path(__file__).resolve().parents[1]
F64 = torch.float64


def _case(loss: str, label_part: str):
    return next(c for c in all_cases() if c.loss == loss and label_part in c.label)


# ------------------------------------------------------------- 1. a loss that calls torch's own

REDUCTION = {"none": 0, "mean": 1, "sum": 2}
WRAPPERS = {  # loss -> a wrapper that hands the work to torch by a path the AST ban does not see
    "margin_ranking_loss": lambda input1, input2, target, margin=0.0, reduction="mean":
        torch.margin_ranking_loss(input1, input2, target, margin, REDUCTION[reduction]),
    "mse_loss": lambda input, target, reduction="mean", weight=None:
        torch._C._nn.mse_loss(input, target, REDUCTION[reduction]),
    "smooth_l1_loss": lambda input, target, reduction="mean", beta=1.0:
        torch.ops.aten.smooth_l1_loss(input, target, REDUCTION[reduction], beta),
    "cross_entropy": lambda *a, **k: __import__("torch.nn.functional", fromlist=["F"]).cross_entropy(*a, **k),
    "kl_div": lambda input, target, reduction="mean", log_target=False:
        torch.kl_div(input, target, REDUCTION.get(reduction, 1), log_target=log_target),
}


@pytest.mark.parametrize("loss", sorted(WRAPPERS))
def test_a_wrapped_torch_loss_fails_check(monkeypatch, loss):
    case = next(c for c in all_cases() if c.loss == loss and "reduction='sum'" in c.label)
    assert compare(case).ok, "the real reference passes"
    monkeypatch.setattr(reflosses, loss, WRAPPERS[loss])
    res = compare(case)
    assert not res.ok and "reached torch's own loss" in res.message, res.message


def test_plain_tensor_operations_reach_no_torch_loss():
    x = torch.randn(4, 5, dtype=F64, requires_grad=True)
    y = torch.randint(0, 5, (4,))
    assert torch_losses_reached(lambda: reflosses.cross_entropy(x, y).backward()) == []
    assert torch_losses_reached(lambda: torch.nn.functional.cross_entropy(x, y)) != []


# ------------------------------------------------------- 2. a metric relative all the way down

def test_the_metric_is_relative_below_one():
    exact = torch.tensor([4.2e-18], dtype=F64)
    assert _error([(torch.zeros(1, dtype=F64), exact)])[0] == pytest.approx(1.0)
    assert _error([(exact * (1 + 1e-3), exact)])[0] == pytest.approx(1e-3)
    # normwise over all gradients: an entry that is 0 by cancellation of terms of size 1 may be 1e-17
    big = torch.tensor([1.0, -1.0], dtype=F64)
    assert _error([(torch.tensor([1e-17], dtype=F64), torch.zeros(1, dtype=F64)), (big, big)])[0] < 1e-16


def test_a_naive_soft_margin_loss_fails_check(monkeypatch):
    case = _case("soft_margin_loss", "saturated margins")
    assert compare(case).ok
    monkeypatch.setattr(reflosses, "soft_margin_loss", lambda input, target, reduction="mean":
                        reflosses._reduction.reduce(torch.log(1 + torch.exp(-target * input)), reduction))
    res = compare(case)
    assert not res.ok and "value" in res.message, res.message


@pytest.mark.parametrize("loss", ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"])
def test_tiny_errors_are_compared_relatively(monkeypatch, loss):
    case = _case(loss, "tiny errors")
    original = getattr(reflosses, loss)
    # off by 1e-14 absolutely: invisible to the old |a - b| / (1 + |b|) < 1e-12, but relatively
    # 1e-6 (L1's sum is ~1e-8) or far more (MSE's is ~1e-17)
    monkeypatch.setattr(reflosses, loss, lambda *a, **k: original(*a, **k) + 1e-14)
    assert not compare(case).ok


# --------------------------------------------------------------------- 3. an exact oracle

VERDICTS = oracle.run()


@pytest.mark.parametrize("v", VERDICTS, ids=lambda v: f"{v.edge.loss}[{v.edge.label}]")
def test_reflosses_is_never_less_accurate_than_torch(v):
    for errs in (v.value_err, v.grad_err):
        assert errs["reflosses"] <= max(errs["torch"] * 1.01, 1e-15), (v.edge, errs)


def test_reflosses_is_exact_where_torch_is_not():
    """The audit's points: at logit 40 (target 1) torch's gradient is 0, at -40 (target 0) its loss is 0."""
    better = {(v.edge.loss, v.edge.label) for v in VERDICTS
              if max(v.value_err["reflosses"], v.grad_err["reflosses"]) < 1e-15
              < max(v.value_err["torch"], v.grad_err["torch"])}
    assert ("binary_cross_entropy_with_logits", "logits 30, 40, target 1") in better
    assert ("binary_cross_entropy_with_logits", "logit -40, target 0") in better


def test_bce_without_its_log_floor_fails_the_oracle(monkeypatch):
    def unclamped(input, target, weight=None, reduction="mean"):
        loss = -(target * input.log() + (1 - target) * (1 - input).log())
        return reflosses._reduction.reduce(loss, reduction)

    edge = next(e for e in oracle.EDGES if e.loss == "binary_cross_entropy" and "1e-50" in e.label)
    value, _ = oracle.exact(edge)
    monkeypatch.setattr(reflosses, "binary_cross_entropy", unclamped)
    got, _ = oracle._torch_side(reflosses.binary_cross_entropy, edge)
    assert oracle._rel(got, value) > 0.1
    # and the differential check sees it too, at tiny positive p (not only at p = 0 or 1)
    assert not compare(_case("binary_cross_entropy", "tiny p")).ok


def test_the_verification_pages_show_the_current_oracle_table():
    for lang in ("en", "zh"):
        page = (ROOT / "book" / lang / "verification.md").read_text(encoding="utf-8")
        assert oracle.markdown(VERDICTS, lang) in page, (
            f"book/{lang}/verification.md: paste the output of `python -m reflosses oracle --lang {lang}`")


# ---------------------------------------------------------- 4. gradients against finite differences

# Why a float64 case is not gradchecked: finite differences need a smooth neighbourhood of the
# point and a differentiable argument. Every exclusion names its reason.
NO_GRADCHECK = [  # (loss, part of the case label or "" for every case, why)
    ("poisson_nll_loss", "full=True", "full=True adds Stirling's term only where target > 1: a step in the target"),
    ("gaussian_nll_loss", "eps", "var below eps is clamped: a kink in var"),
    ("ctc_loss", "", "torch's backward assumes log_softmax inputs; gradients are checked through log_softmax"),
    ("binary_cross_entropy", "saturated", "p on the log clamp at -100"),
    ("binary_cross_entropy", "tiny p", "p on the log clamp at -100"),
    ("mse_loss", "scale 1e6", "a step of 1e-6 is below the rounding of a loss of 1e12"),
    ("l1_loss", "tiny errors", "errors of 1e-9 lie within a finite-difference step of the kink at 0"),
    ("cross_entropy", "every target ignored", "the loss is nan by definition"),
    ("nll_loss", "every target ignored", "the loss is nan by definition"),
    ("kl_div", "target with zeros", "target = 0 is the edge of y log y's domain (derivative -inf)"),
    ("cosine_embedding_loss", "tiny vectors", "inputs of size 1e-6 are the size of a finite-difference step"),
    ("cosine_embedding_loss", "a zero row", "a zero row sits on the eps clamp of the norm"),
]
NO_GRADGRADCHECK = [  # in addition to NO_GRADCHECK
    ("", "1e3", "at |x| ~ 1e3 the second derivative underflows to 0 and a step of 1e-6 leaves only rounding"),
    ("", "1e4", "at |x| ~ 1e4 the second derivative underflows to 0 and a step of 1e-6 leaves only rounding"),
]
TWICE_DIFFERENTIABLE = {"mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "kl_div",
                        "soft_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss", "gaussian_nll_loss"}


def _gradcheck_inputs(case, seed=0):
    tensors = case.make(torch.Generator().manual_seed(seed), F64)
    return tensors, [n for n in case.differentiated(tensors) if tensors[n].numel() > 0]


def _gradcheck_cases(only=None, exclude=()):
    out = []
    for c in all_cases():
        if only is not None and c.loss not in only:
            continue
        reason = next((why for loss, part, why in [*NO_GRADCHECK, *exclude]
                       if c.loss.startswith(loss) and part in c.label), None)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        out.append(pytest.param(c, id=f"{c.loss}[{c.label}]", marks=marks))
    return out


def _leaves_and_fn(case):
    tensors, names = _gradcheck_inputs(case)
    if not names:
        pytest.skip("no differentiable argument in this case (grad=())")
    fn = getattr(reflosses, case.loss)

    def f(*leaves):
        return case.run(fn, {**tensors, **dict(zip(names, leaves))})

    return f, [tensors[n].detach().clone().requires_grad_() for n in names]


@pytest.mark.parametrize("case", _gradcheck_cases())
def test_gradcheck_every_float64_case(case):
    f, leaves = _leaves_and_fn(case)
    assert torch.autograd.gradcheck(f, leaves, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("case", _gradcheck_cases(TWICE_DIFFERENTIABLE, NO_GRADGRADCHECK))
def test_gradgradcheck_where_twice_differentiable(case):
    f, leaves = _leaves_and_fn(case)
    assert torch.autograd.gradgradcheck(f, leaves, eps=1e-6, atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------------- 5. surviving mutants

def test_compare_checks_gradients_not_only_values(monkeypatch):
    """A loss right in value and wrong in gradient (the input detached, 0 * x added back)."""
    case = _case("mse_loss", "reduction='sum'")
    real = reflosses.mse_loss
    monkeypatch.setattr(reflosses, "mse_loss",
                        lambda input, target, **k: real(input.detach(), target, **k) + 0 * input.sum())
    res = compare(case)
    assert res.value_err == 0 and not res.ok and "grad input" in res.message, res.message


def test_cross_entropy_label_smoothing_with_probability_targets_by_hand():
    """(1 - eps) * CE(p) + eps/C * sum_c -log q_c, the eps/C term on every class, true one included."""
    x = torch.tensor([[2.0, 0.5, -1.0]], dtype=F64)
    p = torch.tensor([[0.7, 0.2, 0.1]], dtype=F64)
    eps, c = 0.3, 3
    logq = x - torch.logsumexp(x, 1, keepdim=True)
    hand = (1 - eps) * -(p * logq).sum() + eps / c * -logq.sum()
    for fn in (reflosses.cross_entropy, torch.nn.functional.cross_entropy):
        assert fn(x, p, label_smoothing=eps).item() == pytest.approx(hand.item(), rel=1e-14)


def test_multi_margin_gradient_exactly_on_the_hinge():
    """margin - x_y + x_i == 0 exactly: the hinge is on its kink; torch's subgradient there is 0."""
    x = torch.tensor([[1.0, 0.0, 0.5]], dtype=F64, requires_grad=True)  # 1 - 1 + 0 = 0 for class 1
    y = torch.tensor([0])
    for fn in (reflosses.multi_margin_loss, torch.nn.functional.multi_margin_loss):
        (g,) = torch.autograd.grad(fn(x, y, reduction="sum"), x)
        assert g.tolist() == [[-1 / 3, 0.0, 1 / 3]], (fn, g)


# ------------------------------------------------ 7. one registry of bad inputs, exact exception types

X45, Y45 = torch.randn(4, 5, dtype=F64), torch.rand(4, 5, dtype=F64)
IDX = torch.tensor([0, 1, 2, 3])
XI = torch.tensor([1, 2, 3])
BAD_INPUTS = [  # (id, call, exact exception class, what the message must contain)
    ("l1 weight=2.0", lambda m: m.l1_loss(X45, Y45, weight=2.0), TypeError, "l1_loss: weight"),
    ("mse weight=2.0", lambda m: m.mse_loss(X45, Y45, weight=2.0), TypeError, "mse_loss: weight"),
    ("huber weight=2.0", lambda m: m.huber_loss(X45, Y45, weight=2.0), TypeError, "huber_loss: weight"),
    ("mse integer inputs", lambda m: m.mse_loss(XI, XI), NotImplementedError, "mse_loss"),
    ("smooth_l1 integer inputs", lambda m: m.smooth_l1_loss(XI, XI), NotImplementedError, "smooth_l1_loss"),
    ("huber integer inputs", lambda m: m.huber_loss(XI, XI), NotImplementedError, "huber_loss"),
    ("nll weight=2.0", lambda m: m.nll_loss(X45, IDX, weight=2.0), TypeError, "weight"),
    ("cross_entropy weight=2.0", lambda m: m.cross_entropy(X45, IDX, weight=2.0), TypeError, "weight"),
    ("bce weight=2.0", lambda m: m.binary_cross_entropy(Y45, Y45, weight=2.0), TypeError, "weight"),
    ("bce_with_logits weight=2.0", lambda m: m.binary_cross_entropy_with_logits(X45, Y45, weight=2.0), TypeError, "weight"),
    ("bce_with_logits pos_weight=2.0", lambda m: m.binary_cross_entropy_with_logits(X45, Y45, pos_weight=2.0),
     TypeError, "pos_weight"),
    ("multi_margin weight=2.0", lambda m: m.multi_margin_loss(X45, IDX, weight=2.0), TypeError, "weight"),
    ("reduction='avg'", lambda m: m.mse_loss(X45, Y45, reduction="avg"), ValueError, "reduction"),
    ("class index out of range", lambda m: m.cross_entropy(X45, torch.tensor([0, 1, 2, 9])), IndexError, "9"),
    ("bce target outside [0, 1]", lambda m: m.binary_cross_entropy(Y45, Y45 + 2), RuntimeError, "target"),
]


@pytest.mark.parametrize("what,call,exc,word", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_exactly(what, call, exc, word):
    with pytest.raises(Exception) as info:
        call(reflosses)
    assert type(info.value) is exc, f"{type(info.value).__name__}: {info.value}"  # not a subclass
    assert word in str(info.value), str(info.value)


def test_a_plain_number_weight_works_where_torch_takes_it():
    """multilabel_soft_margin_loss multiplies by ``weight``: torch takes a plain number, so do we."""
    ours = reflosses.multilabel_soft_margin_loss(X45, Y45, weight=2.0)
    assert torch.equal(ours, torch.nn.functional.multilabel_soft_margin_loss(X45, Y45, weight=2.0))
