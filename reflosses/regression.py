"""Regression losses: element-wise distances between a prediction and a target.

Every loss here takes ``input`` and ``target`` of the same shape (torch broadcasts them with a
``UserWarning`` when they differ, and so do we), computes one loss per element and reduces.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._reduction import check_reduction, check_same_size, reduce, weighted_mean


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
        The gradient is ``sign(x - y)``: its size never shrinks near the target, and at
        ``x == y`` it is 0. Integer inputs work with ``'none'`` and ``'sum'``, and with ``'mean'``
        when ``weight`` is given (a true division); the plain mean of an integer tensor is an
        error, as in torch.
    """
    check_reduction(reduction)
    if weight is not None:
        _check_weight(weight, input)
    input, target = check_same_size(input, target)
    loss = (input - target).abs()
    if reduction == "mean" and weight is None and not loss.is_floating_point():
        raise RuntimeError(f"l1_loss: reduction='mean' needs a floating-point input or target, got {loss.dtype}")
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

    Note:
        The gradient ``2 (x - y)`` grows with the error, so a few outliers dominate it.
    """
    check_reduction(reduction)
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
               = c_i / beta * (d_i - c_i / 2)   with  c_i = clamp(d_i, -beta, beta)

    Args:
        input: predictions, any floating-point shape.
        target: same shape as ``input`` (broadcast with a ``UserWarning`` otherwise).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        beta: where the quadratic part ends; must be >= 0 (``RuntimeError`` otherwise).

    Returns:
        The loss: a scalar, or the shape of the broadcast inputs when ``reduction='none'``.

    Note:
        The clamp form is exact and needs no branch: inside, ``c = d`` and ``c (d - c/2) = d^2/2``;
        outside, ``c = beta sign(d)`` and ``c (d - c/2) = beta (|d| - beta/2)``. Its derivative
        ``c + c' (d - c)`` is ``c`` everywhere (``d - c = 0`` wherever ``c' = 1``), so the gradient
        ``clamp(d / beta, -1, 1)`` is continuous and never exceeds 1; the second derivative is
        ``1/beta`` inside, 0 outside. Nothing larger than ``beta`` is ever squared, so the
        forward pass cannot overflow. ``c / beta`` comes first: it is exactly 1 in size on the
        linear pieces, and a tiny ``beta`` cannot underflow a product. ``beta = 0`` is exactly L1
        (``c / beta`` would be ``0/0``, so it takes the L1 path); so is a ``beta`` that rounds
        to 0 in the input's dtype, and one that rounds to ``inf`` gives 0, as in torch.
        ``smooth_l1_loss(x, y, beta=b) == huber_loss(x, y, delta=b) / b``.
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
    c = d.clamp(-beta_t, beta_t)  # the gradient of the loss, times beta
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
               = w_i * c_i * (d_i - c_i / 2)        with  c_i = clamp(d_i, -delta, delta)

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
        The clamp form is exact and needs no branch: inside, ``c = d`` and ``c (d - c/2) = d^2/2``;
        outside, ``c = delta sign(d)`` and ``c (d - c/2) = delta (|d| - delta/2)``. Its
        derivative ``c + c' (d - c)`` is ``c`` everywhere: the gradient is
        ``clamp(d, -delta, delta)`` itself, continuous at the kink; the second derivative is 1
        inside, 0 outside. Nothing larger than ``delta`` is ever squared: the loss overflows only
        where ``delta * |d|`` does. ``huber_loss(x, y, delta=b) == b * smooth_l1_loss(x, y, beta=b)``.
    """
    check_reduction(reduction)
    _check_floating("huber_loss", input, target)
    if not input.is_floating_point():  # torch computes in input's dtype: a float result cannot be cast back
        raise RuntimeError(f"huber_loss: input must be floating point, got {input.dtype}")
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got delta={delta}")
    if weight is not None:
        _check_weight(weight, input)
    input, target = check_same_size(input, target.to(input.dtype))  # torch computes in input's dtype
    d = input - target
    delta_t = torch.tensor(delta, dtype=d.dtype, device=d.device)  # in d's dtype delta may round to inf
    c = d.clamp(-delta_t, delta_t)  # the gradient of the loss
    # c (d - c/2)  =  0.5 d^2  if |d| <= delta,  else  delta (|d| - 0.5 delta)
    loss = c * (d - 0.5 * c)
    if weight is not None:
        loss = loss * weight
    return reduce(loss, reduction)
