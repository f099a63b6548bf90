"""Seeded test cases shared by ``python -m reflosses check`` and the differential tests.

A :class:`Case` makes a dict of tensors from a seeded generator. Unless the case says
otherwise, the loss is called as ``fn(**tensors, **kwargs)`` (keyword names are those of
``torch.nn.functional``), and every floating-point tensor is differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import torch
from torch import Tensor

Make = Callable[[torch.Generator, torch.dtype], dict[str, Tensor]]


@dataclass(frozen=True)
class Case:
    loss: str  # reflosses / torch.nn.functional function name
    label: str  # short description shown in the check table, e.g. "reduction='sum'"
    make: Make
    kwargs: dict = field(default_factory=dict)  # non-tensor keyword arguments
    # call(fn, tensors, kwargs) -> loss; default fn(**tensors, **kwargs)
    call: Callable[[Callable, dict, dict], Tensor] | None = None
    grad: tuple[str, ...] | None = None  # tensors to differentiate; None = every float tensor
    rtol64: float = 1e-12  # relative tolerance of values in float64 (gradients use rtol64 * 100)
    rtol32: float = 1e-5  # relative tolerance in float32 (values and gradients)

    def differentiated(self, tensors: dict[str, Tensor]) -> tuple[str, ...]:
        """The names of the tensors whose gradients are compared: ``grad``, or every float tensor."""
        if self.grad is not None:
            return self.grad
        return tuple(k for k, v in tensors.items() if isinstance(v, Tensor) and v.is_floating_point())

    def run(self, fn: Callable, tensors: dict[str, Tensor]) -> Tensor:
        if self.call is not None:
            return self.call(fn, tensors, self.kwargs)
        return fn(**tensors, **self.kwargs)


def all_cases() -> list[Case]:
    from . import classification, distributions, embedding, regression, sequence

    return [c for m in (regression, classification, distributions, embedding, sequence) for c in m.CASES]


def on_a_grid(case: Case, step: float = 0.5) -> Case:
    """``case`` with every floating-point input rounded to a multiple of ``step``.

    Random inputs never land exactly on a kink; rounded ones give exact zeros, ties and hinges
    sitting on their margin, where a formula whose pieces each have a kink at the same point
    (``min(x, 0) - log1p(exp(-|x|))``, say) gets autograd's gradient wrong. For
    ``binary_cross_entropy`` only values are compared: at p = 0 or 1 torch's hand-written
    backward is not the gradient of its clamped formula (see its docstring).
    """
    def make(g: torch.Generator, dtype: torch.dtype) -> dict[str, Tensor]:
        return {k: (v / step).round() * step if isinstance(v, Tensor) and v.is_floating_point() else v
                for k, v in case.make(g, dtype).items()}

    grad = () if case.loss == "binary_cross_entropy" else case.grad
    return replace(case, make=make, grad=grad, label=f"{case.label}, inputs on a {step} grid")
