"""Regression losses: element-wise distances between a prediction and a target.

Every loss here takes ``input`` and ``target`` of the same shape (torch broadcasts them with a
``UserWarning`` when they differ, and so do we), computes one loss per element and reduces.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._reduction import check_reduction, check_same_size, check_tensors, reduce, weighted_mean


def _check_floating(name: str, input: Tensor, target: Tensor) -> None:
    """torch implements these kernels only for floating-point inputs (``NotImplementedError``)."""
    if not (input.is_floating_point() or target.is_floating_point()):
        raise NotImplementedError(
            f"{name}: input and target must be floating point, got input {input.dtype} and target {target.dtype}")


def _check_weight(weight: Tensor, input: Tensor) -> None:
    """``weight`` must have exactly the shape of ``input`` (torch raises ``ValueError``)."""
    if weight.shape != input.shape:
        raise ValueError(
            f"weight size ({tuple(weight.shape)}) must be the same as input size ({tuple(input.shape)})")


def _clip(d: Tensor, bound: Tensor) -> Tensor:
    """``d`` clipped to ``[-bound, bound]``, with derivative 1 at the bounds on every torch release.

    ``clamp`` would do, but its backward at the bounds changed between releases (1 in torch 2.13, 0
    in 2.15), which moves autograd's second derivative at the joint of the two pieces.
    """
    return torch.where(d.abs() <= bound, d, d.clamp(-bound, bound))


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error: ``loss_i = w_i * |input_i - target_i|``.

    Chapter: book/en/regression/l1_loss.ipynb

    Args:
        input: predictions, any shape.
        target: same shape as ``input`` (broadcast with a ``UserWarning`` otherwise).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        weight: optional per-element weights with the shape of ``input``. With ``'mean'`` the
            result is ``sum(w * |x - y|) / sum(w)``, a weighted average.

    Returns:
        The loss: a scalar, or the shape of the broadcast inputs when ``reduction='none'``.

    Note:
        Integer tensors work except for the unweighted ``'mean'``: ``Tensor.mean`` refuses them.
    """
    check_reduction(reduction)
    check_tensors("l1_loss", weight=weight)
    if weight is not None:
        _check_weight(weight, input)
    input, target = check_same_size(input, target)
    loss = (input - target).abs()
    # the unweighted mean of an integer tensor: torch's own error (RuntimeError on torch 2.13,
    # NotImplementedError on 2.15), raised by the same .mean() call
    if weight is None:
        return reduce(loss, reduction)
    return weighted_mean(loss * weight, weight, reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error: ``loss_i = w_i * (input_i - target_i)^2``.

    Chapter: book/en/regression/mse_loss.ipynb

    Args:
        input: predictions, any floating-point shape.
        target: same shape as ``input`` (broadcast with a ``UserWarning`` otherwise).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        weight: optional per-element weights with the shape of ``input``. With ``'mean'`` the
            result is ``sum(w * (x - y)^2) / sum(w)``, a weighted average.

    Returns:
        The loss: a scalar, or the shape of the broadcast inputs when ``reduction='none'``.

    """
    check_reduction(reduction)
    check_tensors("mse_loss", weight=weight)
    _check_floating("mse_loss", input, target)
    if weight is not None:
        _check_weight(weight, input)
    input, target = check_same_size(input, target)
    loss = (input - target) ** 2
    if weight is None:
        return reduce(loss, reduction)
    return weighted_mean(loss * weight, weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1: quadratic for errors below ``beta``, linear (slope 1) above it.

    Chapter: book/en/regression/smooth_l1_loss.ipynb

    With ``d = input - target``::

        loss_i = 0.5 * d_i^2 / beta    if |d_i| < beta
                 |d_i| - 0.5 * beta    otherwise

    Args:
        input: predictions, any floating-point shape.
        target: same shape as ``input`` (broadcast with a ``UserWarning`` otherwise).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        beta: where the quadratic part ends; must be >= 0 (``RuntimeError`` otherwise).

    Returns:
        The loss: a scalar, or the shape of the broadcast inputs when ``reduction='none'``.

    Note:
        Computed as ``c / beta * (d - c / 2)`` with ``c = d`` where ``|d| <= beta`` and
        ``beta * sign(d)`` elsewhere: one formula for both pieces that never squares anything
        larger than ``beta``. ``beta = 0`` is L1.
    """
    check_reduction(reduction)
    _check_floating("smooth_l1_loss", input, target)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got beta={beta}")
    input, target = check_same_size(input, target)
    d = input - target
    beta_t = torch.tensor(beta, dtype=d.dtype, device=d.device)  # in d's dtype beta may round to 0 or inf
    if beta_t == 0:
        return reduce(d.abs(), reduction)
    c = _clip(d, beta_t)  # the gradient of the loss, times beta
    # c / beta * (d - c/2)  =  0.5 d^2 / beta  if |d| < beta,  else  |d| - 0.5 beta
    return reduce(c / beta_t * (d - 0.5 * c), reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None
) -> Tensor:
    """Huber loss: quadratic for errors up to ``delta``, linear (slope ``delta``) beyond.

    Chapter: book/en/regression/huber_loss.ipynb

    With ``d = input - target``::

        loss_i = w_i * 0.5 * d_i^2                  if |d_i| <= delta
                 w_i * delta * (|d_i| - 0.5 delta)  otherwise

    Args:
        input: predictions, any floating-point shape.
        target: same shape as ``input`` (broadcast with a ``UserWarning`` otherwise).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        delta: where the quadratic part ends; must be > 0 (``RuntimeError`` otherwise).
        weight: optional per-element weights with the shape of ``input``. Unlike ``l1_loss``
            and ``mse_loss``, ``'mean'`` divides ``sum(w * loss)`` by the number of elements,
            not by ``sum(w)`` (this is what torch does).

    Returns:
        The loss: a scalar, or the shape of the broadcast inputs when ``reduction='none'``.

    Note:
        Computed as ``c * (d - c / 2)`` with ``c`` the error clipped to ``[-delta, delta]``, as in
        ``smooth_l1_loss``. Like torch, the element-wise loss is computed in the promoted dtype and
        rounded to ``input``'s (a float64 target with a float32 input gives float32).
    """
    check_reduction(reduction)
    check_tensors("huber_loss", weight=weight)
    _check_floating("huber_loss", input, target)
    if not input.is_floating_point():  # torch rounds the loss to input's dtype: an integer cannot hold it
        raise RuntimeError(f"huber_loss: input must be floating point, got {input.dtype}")
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got delta={delta}")
    if weight is not None:
        _check_weight(weight, input)
    input, target = check_same_size(input, target)
    d = input - target
    delta_t = torch.tensor(delta, dtype=d.dtype, device=d.device)  # in d's dtype delta may round to inf
    c = _clip(d, delta_t)  # the gradient of the loss
    # c (d - c/2)  =  0.5 d^2  if |d| <= delta,  else  delta (|d| - 0.5 delta)
    loss = (c * (d - 0.5 * c)).to(input.dtype)
    if weight is not None:
        loss = loss * weight
    return reduce(loss, reduction)
