"""ctc_loss: differential tests against torch, a brute-force check of the recursion, edge cases, errors."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reflosses.sequence import ctc_loss

DTYPES = (torch.float64, torch.float32)


# --- brute force: sum the probability of every path that collapses to the target -------------


def _collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    """Merge repeated labels, then drop blanks: the CTC many-to-one map B."""
    merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
    return tuple(k for k in merged if k != blank)


def _brute_force(log_probs: torch.Tensor, target: tuple[int, ...], blank: int) -> float:
    """-log of the sum over all C**T paths (T <= 4) of prod_t y_t(path_t) with B(path) = target."""
    T, C = log_probs.shape
    total = 0.0
    for path in itertools.product(range(C), repeat=T):
        if _collapse(path, blank) == target:
            total += math.exp(sum(log_probs[t, k].item() for t, k in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf


TINY = [((), 0), ((1,), 0), ((2,), 0), ((1, 2), 0), ((1, 1), 0), ((2, 1, 2), 0), ((1, 1, 1), 0),
        ((0,), 1), ((0, 2), 1), ((2, 2), 1), ((0, 0), 2), ((1, 0, 1), 2)]


@pytest.mark.parametrize("T", [1, 2, 3, 4])
@pytest.mark.parametrize("target,blank", TINY, ids=str)
def test_recursion_equals_sum_over_all_alignments(T, target, blank):
    g = torch.Generator().manual_seed(T * 100 + len(target))
    log_probs = torch.randn(T, 3, generator=g, dtype=torch.float64).log_softmax(-1)
    expected = _brute_force(log_probs, target, blank)
    got = ctc_loss(log_probs, torch.tensor(target, dtype=torch.long), (T,), (len(target),),
                   blank=blank, reduction="sum").item()
    if math.isinf(expected):  # e.g. (1, 1) in 2 frames, or 3 labels in 2 frames
        assert got == math.inf
    else:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_brute_force_counts_paths_correctly():
    # With uniform probabilities the loss is log(C**T / number of valid paths). For T = 3,
    # C = 3, blank 0 and target (1,), the valid paths are one block of 1s among blanks:
    # 100, 010, 001, 110, 011, 111 -- 6 paths, counted by hand, checked by both functions.
    uniform = torch.full((3, 3), -math.log(3), dtype=torch.float64)
    expected = math.log(27 / 6)
    assert _brute_force(uniform, (1,), 0) == pytest.approx(expected, rel=1e-14)
    assert ctc_loss(uniform, torch.tensor([1]), (3,), (1,), reduction="sum").item() == pytest.approx(expected, rel=1e-14)


# --- edge cases -----------------------------------------------------------------------------------


def _batch(seed=0, T=8, N=3, C=5, S=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(T, N, C, generator=g, dtype=dtype)
    targets = torch.randint(1, C, (N, S), generator=g)
    return logits, targets


def test_mean_divides_by_clamped_target_length_then_averages():
    logits, targets = _batch()
    lp = logits.log_softmax(-1)
    il, tl = torch.tensor([8, 6, 5]), torch.tensor([3, 0, 2])
    per_sample = ctc_loss(lp, targets, il, tl, reduction="none")
    expected = (per_sample / torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64)).mean()
    assert torch.allclose(ctc_loss(lp, targets, il, tl), expected, rtol=1e-15, atol=0)
    assert torch.allclose(ctc_loss(lp, targets, il, tl, reduction="sum"), per_sample.sum(), rtol=1e-15, atol=0)


def test_concatenated_and_padded_targets_give_the_same_loss():
    logits, targets = _batch(seed=3)
    lp = logits.log_softmax(-1)
    tl = torch.tensor([3, 1, 2])
    flat = torch.cat([targets[0, :3], targets[1, :1], targets[2, :2]])
    padded = targets.clone()
    padded[1, 1:] = 99  # padding past target_lengths is never read (not even range-checked)
    il = torch.tensor([8, 8, 8])
    a = ctc_loss(lp, padded, il, tl, reduction="none")
    b = ctc_loss(lp, flat, il, tl, reduction="none")
    assert torch.equal(a, b)


def test_unbatched_equals_batch_of_one():
    logits, targets = _batch(seed=4, N=1)
    lp = logits.log_softmax(-1)
    batched = ctc_loss(lp, targets, (8,), (3,), reduction="none")
    unbatched = ctc_loss(lp[:, 0], targets[0], torch.tensor(8), torch.tensor(3), reduction="none")
    assert unbatched.shape == () and batched.shape == (1,)
    assert torch.equal(unbatched, batched[0])


def test_input_length_zero():
    logits, targets = _batch(seed=5, N=2)
    lp = logits.log_softmax(-1).requires_grad_()
    loss = ctc_loss(lp, targets, (0, 0), (0, 2), reduction="none")
    assert loss.tolist() == [0.0, math.inf]
    assert loss.requires_grad  # still in log_probs' graph, like torch's
    assert torch.equal(loss, F.ctc_loss(lp, targets, (0, 0), (0, 2), reduction="none"))


def test_impossible_alignment_and_zero_infinity_gradient():
    logits, targets = _batch(seed=6)
    targets[0] = torch.tensor([2, 2, 2])  # needs 5 frames
    il, tl = torch.tensor([4, 8, 8]), torch.tensor([3, 3, 3])
    lp = logits.log_softmax(-1)
    assert ctc_loss(lp, targets, il, tl, reduction="none")[0].item() == math.inf
    assert ctc_loss(lp, targets, torch.tensor([5, 8, 8]), tl, reduction="none")[0].isfinite()
    x = logits.clone().requires_grad_()
    loss = ctc_loss(x.log_softmax(-1), targets, il, tl, reduction="none", zero_infinity=True)
    assert loss[0].item() == 0.0 and loss[1:].isfinite().all()
    loss.sum().backward()
    assert torch.equal(x.grad[:, 0], torch.zeros(8, 5, dtype=torch.float64))
    assert x.grad.isfinite().all() and x.grad[:, 1:].abs().sum() > 0


def test_dtype_is_preserved():
    logits, targets = _batch(dtype=torch.float32)
    assert ctc_loss(logits.log_softmax(-1), targets, (8, 8, 8), (3, 3, 3)).dtype == torch.float32


def test_gradient_wrt_raw_log_probs_differs_from_torch_by_exp_log_probs():
    # torch's backward returns exp(log_probs) - posterior (the logits' gradient under a softmax);
    # autograd of the formula returns -posterior. The difference is exactly exp(log_probs) on
    # the frames each sample reads, and both are 0 past its input length.
    logits, targets = _batch(seed=7)
    lp = logits.log_softmax(-1)
    il, tl = torch.tensor([8, 6, 7]), torch.tensor([3, 2, 3])
    ours = lp.clone().requires_grad_()
    ctc_loss(ours, targets, il, tl, reduction="sum").backward()
    theirs = lp.clone().requires_grad_()
    F.ctc_loss(theirs, targets, il, tl, reduction="sum").backward()
    read = (torch.arange(8)[:, None] < il)[:, :, None]  # (T, N, 1)
    expected = torch.where(read, lp.exp(), 0.0)
    assert torch.allclose(theirs.grad - ours.grad, expected, rtol=0, atol=1e-13)
    # -posterior sums to -1 over the classes of every frame read (one state is occupied).
    sums = ours.grad.sum(-1)
    assert torch.allclose(sums, torch.where(read[..., 0], -1.0, 0.0).double(), atol=1e-13)


def test_targets_containing_blank_same_value_true_gradient():
    # The docs say a target must not be the blank, but torch accepts it; the value is the
    # recursion's and matches torch. Our gradient is the derivative of that value (gradcheck);
    # torch 2.13's hand-written one is not when blank != 0, so it is not compared.
    g = torch.Generator().manual_seed(8)
    x = torch.randn(6, 1, 3, generator=g, dtype=torch.float64, requires_grad=True)
    targets, il, tl = torch.tensor([[2, 1]]), (6,), (2,)
    ours = ctc_loss(x.log_softmax(-1), targets, il, tl, blank=1)
    assert torch.equal(ours, F.ctc_loss(x.log_softmax(-1), targets, il, tl, blank=1))
    assert torch.autograd.gradcheck(lambda x: ctc_loss(x.log_softmax(-1), targets, il, tl, blank=1), (x,))


@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 7), N=st.integers(1, 3), C=st.integers(2, 5), S=st.integers(0, 4),
       blank_at=st.floats(0, 0.999), seed=st.integers(0, 2**16))
def test_random_shapes_match_torch(T, N, C, S, blank_at, seed):
    blank = int(blank_at * C)
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(T, N, C, generator=g, dtype=torch.float64)
    v = torch.randint(0, C - 1, (N, max(S, 1)), generator=g)
    targets = v + (v >= blank).long()
    il = torch.randint(0, T + 1, (N,), generator=g)
    tl = torch.randint(0, S + 1, (N,), generator=g)
    lp = logits.log_softmax(-1)
    ours = ctc_loss(lp, targets, il, tl, blank=blank, reduction="none")
    theirs = F.ctc_loss(lp, targets, il, tl, blank=blank, reduction="none")
    assert torch.equal(ours.isinf(), theirs.isinf())
    assert torch.allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# --- errors: the same exception class as torch, a message naming the argument --------------------


def _args():
    logits, targets = _batch(seed=9, T=6, N=2, C=4, S=3)
    return logits.log_softmax(-1), targets, torch.tensor([6, 6]), torch.tensor([3, 3])


def _errors():
    lp, tg, il, tl = _args()
    return [
        ("blank", RuntimeError, (lp, tg, il, tl), {"blank": 4}),
        ("blank", RuntimeError, (lp, tg, il, tl), {"blank": -1}),
        ("input_lengths", RuntimeError, (lp, tg, torch.tensor([7, 6]), tl), {}),
        ("input_lengths", RuntimeError, (lp, tg, torch.tensor([-1, 6]), tl), {}),
        ("target_lengths", RuntimeError, (lp, tg, il, torch.tensor([-1, 3])), {}),
        ("target_lengths", RuntimeError, (lp, tg, il, torch.tensor([4, 3])), {}),  # longer than padded targets
        ("target_lengths", RuntimeError, (lp, tg.flatten(), il, torch.tensor([2, 3])), {}),  # 6 values, sum 5
        ("input_lengths", RuntimeError, (lp, tg, torch.tensor([6.0, 6.0]), tl), {}),
        ("target_lengths", RuntimeError, (lp, tg, il, torch.tensor([3.0, 3.0])), {}),
        ("input_lengths", RuntimeError, (lp, tg, torch.tensor([6]), tl), {}),
        ("target_lengths", RuntimeError, (lp, tg, (6, 6), (3, 3, 3)), {}),
        ("target_lengths", TypeError, (lp, tg, il, (3, 3)), {}),  # a tensor and a tuple
        ("input_lengths", TypeError, (lp[:, 0], tg[0], 6, (3,)), {}),
        ("log_probs", RuntimeError, (lp[None], tg, il, tl), {}),
        ("log_probs", RuntimeError, (lp[:0], tg, il, tl), {}),
        ("log_probs", NotImplementedError, (lp.long(), tg, il, tl), {}),
        ("targets", RuntimeError, (lp, tg[None], il, tl), {}),
        ("targets", RuntimeError, (lp, tg[:1], il, tl), {}),  # batch of 1 padded row for 2 samples
        ("reduction", ValueError, (lp, tg, il, tl), {"reduction": "average"}),
    ]


@pytest.mark.parametrize("name,exc,args,kwargs", _errors(), ids=lambda v: v if isinstance(v, str) else "")
def test_errors_match_torch(name, exc, args, kwargs):
    with pytest.raises(exc, match=name):
        ctc_loss(*args, **kwargs)
    with pytest.raises(exc):
        F.ctc_loss(*args, **kwargs)


@pytest.mark.parametrize("bad", [4, -1])
def test_target_out_of_range_raises(bad):
    # torch 2.13 on CPU does not check and reads out of range; a reference must refuse.
    lp, tg, il, tl = _args()
    tg = tg.clone()
    tg[1, 2] = bad
    with pytest.raises(RuntimeError, match="targets"):
        ctc_loss(lp, tg, il, tl)
