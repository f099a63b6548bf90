"""Reductions and input checks shared by every loss.

Each loss computes an element-wise (or sample-wise) loss tensor and hands it to
:func:`reduce`; the checks here raise the same exception classes as torch, with a
message that names the offending argument.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    """Raise ``ValueError`` unless ``reduction`` is one of ``allowed``."""
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"reduction={reduction!r} is not a valid value for reduction; expected one of {choices}")


def check_tensors(name: str, **args) -> None:
    """Optional tensor arguments (``weight``, ``pos_weight``) must be tensors: ``TypeError`` naming
    the argument (torch fails with an ``AttributeError`` or ``TypeError`` from deep inside)."""
    for arg, value in args.items():
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"{name}: {arg} must be a Tensor or None, got {type(value).__name__}")


def reduce(loss: Tensor, reduction: str) -> Tensor:
    """Apply ``reduction`` ('none' | 'mean' | 'sum') to an unreduced loss tensor.

    The mean of an empty tensor is ``nan`` and its sum is ``0``, as in torch.
    """
    check_reduction(reduction)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def weighted_mean(loss: Tensor, weight: Tensor, reduction: str) -> Tensor:
    """Reduce ``loss`` whose entries carry ``weight``: 'mean' divides by the weight total.

    ``mean = sum(loss) / sum(weight)`` is the convention of ``nll_loss`` and
    ``cross_entropy`` with class weights; it is ``nan`` when the total weight is 0
    (for instance when every target equals ``ignore_index``).
    """
    check_reduction(reduction)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / weight.sum()


def check_same_size(input: Tensor, target: Tensor, name: str = "target") -> tuple[Tensor, Tensor]:
    """Broadcast ``input`` and ``target`` like torch's element-wise losses do.

    torch warns (``UserWarning``) and broadcasts when the sizes differ, and raises
    ``RuntimeError`` when they cannot be broadcast; so do we.
    """
    if target.shape != input.shape:
        try:
            shape = torch.broadcast_shapes(input.shape, target.shape)
        except RuntimeError as err:
            raise RuntimeError(
                f"{name} size ({tuple(target.shape)}) cannot be broadcast to input size ({tuple(input.shape)})"
            ) from err
        warnings.warn(
            f"Using a {name} size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )
        input, target = input.expand(shape), target.expand(shape)
    return input, target


def check_broadcast(name: str, **tensors: Tensor | torch.Size) -> None:
    """The tensors (or shapes) must broadcast together (torch raises ``RuntimeError`` from the arithmetic)."""
    shapes = {k: getattr(t, "shape", t) for k, t in tensors.items()}
    try:
        torch.broadcast_shapes(*shapes.values())
    except RuntimeError:
        sizes = ", ".join(f"{k} of size {list(s)}" for k, s in shapes.items())
        raise RuntimeError(f"{name}: the sizes of {sizes} cannot be broadcast together") from None
