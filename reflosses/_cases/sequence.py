"""Seeded cases for ``ctc_loss``.

Every case draws logits and passes ``logits.log_softmax(-1)`` as ``log_probs``: torch's
hand-written CTC backward assumes log-softmax inputs, so gradients are compared with respect
to the logits, where the two agree (see the docstring of ``reflosses.ctc_loss``).
"""

from __future__ import annotations

import torch

from . import Case


def _call(fn, t, kw):
    return fn(t["logits"].log_softmax(-1), t["targets"], t["input_lengths"], t["target_lengths"], **kw)


def _labels(g: torch.Generator, shape: tuple[int, ...], C: int, blank: int) -> torch.Tensor:
    """Class indices in [0, C) other than ``blank`` (a target must never be the blank)."""
    v = torch.randint(0, C - 1, shape, generator=g)
    return v + (v >= blank).long()


def _make(T: int, N: int, C: int, S: int, blank: int = 0, *, concatenated: bool = False,
          input_lengths: list[int] | None = None, target_lengths: list[int] | None = None,
          repeats: bool = False, unbatched: bool = False, as_tuples: bool = False):
    def make(g: torch.Generator, dtype: torch.dtype) -> dict:
        logits = torch.randn((T, C) if unbatched else (T, N, C), generator=g, dtype=dtype) * 2
        targets = _labels(g, (N, S), C, blank)
        if repeats:  # pairs of equal labels l_1 l_1 l_2 l_2 ... with l_k != l_{k+1}: T >= S + S // 2
            for k in range(2, S, 2):
                prev, cur = targets[:, k - 2], targets[:, k]
                nxt = (cur + 1) % C
                nxt = torch.where(nxt == blank, (nxt + 1) % C, nxt)
                targets[:, k] = torch.where(cur == prev, nxt, cur)
            targets[:, 1::2] = targets[:, 0 : S - 1 : 2]
        il = torch.tensor(input_lengths if input_lengths is not None else [T] * N)
        tl = torch.tensor(target_lengths if target_lengths is not None else [S] * N)
        if concatenated:
            targets = torch.cat([targets[n, : tl[n]] for n in range(N)])
        if unbatched:
            targets, il, tl = targets[0], il[0], tl[0]
        if as_tuples:
            il, tl = tuple(il.reshape(-1).tolist()), tuple(tl.reshape(-1).tolist())
        return {"logits": logits, "targets": targets, "input_lengths": il, "target_lengths": tl}

    return make


def _case(label: str, make, grad=("logits",), **kwargs) -> Case:
    # Measured on these cases (seeds 0-2): values agree to the last bit in float64 and float32,
    # gradients (autograd through our recursion vs torch's alpha-beta backward) to ~1e-15 in
    # float64 and ~1e-6 in float32; the default tolerances hold with margin.
    return Case("ctc_loss", label, make, kwargs, call=_call, grad=grad, rtol64=1e-12, rtol32=1e-5)


CASES: list[Case] = [
    _case("padded targets", _make(16, 4, 6, 5, input_lengths=[16, 14, 12, 16], target_lengths=[5, 3, 4, 1])),
    _case("concatenated targets", _make(16, 4, 6, 5, concatenated=True,
                                        input_lengths=[16, 13, 10, 16], target_lengths=[5, 2, 4, 3])),
    _case("unbatched (T, C)", _make(12, 1, 5, 4, unbatched=True)),
    _case("lengths as tuples", _make(10, 3, 5, 3, input_lengths=[10, 8, 9], target_lengths=[3, 2, 1],
                                     as_tuples=True)),
    _case("blank=4 (last class)", _make(14, 3, 5, 4, blank=4, input_lengths=[14, 10, 12]), blank=4),
    _case("blank=2 (middle class)", _make(14, 3, 5, 4, blank=2, target_lengths=[4, 2, 3]), blank=2),
    _case("zero-length targets", _make(10, 4, 5, 3, input_lengths=[10, 7, 0, 10], target_lengths=[0, 3, 0, 2])),
    _case("repeated labels", _make(14, 3, 4, 6, repeats=True, input_lengths=[14, 12, 9], target_lengths=[6, 4, 4])),
    _case("repeated labels, tight length", _make(9, 2, 4, 6, repeats=True, input_lengths=[9, 9], target_lengths=[6, 6]),
          reduction="none"),
    _case("reduction='none'", _make(12, 4, 6, 4, input_lengths=[12, 9, 11, 6], target_lengths=[4, 2, 3, 1]),
          reduction="none"),
    _case("reduction='sum'", _make(12, 4, 6, 4, input_lengths=[12, 9, 11, 6], target_lengths=[4, 2, 3, 1]),
          reduction="sum"),
    # sample 1 has 4 labels in 2 frames: no alignment, loss inf; zero_infinity makes it 0 (gradient 0).
    _case("zero_infinity, impossible sample", _make(10, 3, 5, 4, input_lengths=[10, 2, 8], target_lengths=[4, 4, 2]),
          zero_infinity=True, reduction="none"),
    _case("zero_infinity, mean", _make(10, 3, 5, 4, input_lengths=[10, 2, 8], target_lengths=[4, 4, 2]),
          zero_infinity=True),
    # Without zero_infinity the impossible sample's loss is inf; torch's gradient there is nan,
    # so values only.
    _case("impossible sample is inf", _make(10, 3, 5, 4, input_lengths=[10, 2, 8], target_lengths=[4, 4, 2]),
          grad=(), reduction="none"),
]
