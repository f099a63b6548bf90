"""Classification losses: cross-entropy over C classes and binary cross-entropy.

Class dimension conventions (as in torch): ``input`` is ``(N, C)``, ``(N, C, d1, ..., dk)`` for
K-dimensional data such as images, or ``(C,)`` for one unbatched sample. Class-index targets
drop the class dimension: ``(N,)``, ``(N, d1, ..., dk)`` or ``()``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._reduction import check_reduction, check_tensors, reduce, weighted_mean


def _check_class_weight(weight: Tensor | None, input: Tensor, num_classes: int, same_dtype: bool) -> None:
    """``weight`` is one number per class: a 1-D tensor of length C (torch raises ``RuntimeError``)."""
    if weight is None:
        return
    if weight.dim() != 1 or weight.numel() != num_classes:
        raise RuntimeError(
            f"weight must hold one value for each of the {num_classes} classes, got shape {tuple(weight.shape)}")
    if same_dtype and weight.dtype != input.dtype:
        raise RuntimeError(f"weight dtype {weight.dtype} must match input dtype {input.dtype}")


def _check_index_target(input: Tensor, target: Tensor, ignore_index: int) -> None:
    """Shapes, dtype and range of class-index targets, with torch's exception classes."""
    if target.dtype not in (torch.int64, torch.uint8):
        raise RuntimeError(f"target must hold class indices of dtype int64 (or uint8), got {target.dtype}")
    if input.dim() == 1:
        if target.numel() != 1 or target.dim() > 1:
            raise ValueError(f"for an unbatched input of shape {tuple(input.shape)}, target must be one class index, "
                             f"got shape {tuple(target.shape)}")
    elif input.dim() == 2 and target.dim() > 1:
        raise RuntimeError(f"target must be 1-D (one class index per sample) for input of shape "
                           f"{tuple(input.shape)}, got shape {tuple(target.shape)}")
    else:
        batch = target.shape[0] if target.dim() > 0 else 0
        if batch != input.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({batch})")
        expected = (input.shape[0], *input.shape[2:])
        if target.shape != expected:
            raise RuntimeError(f"target shape {tuple(target.shape)} must be {expected} for input of shape "
                               f"{tuple(input.shape)}")
    num_classes = input.shape[1] if input.dim() > 1 else input.shape[0]
    t = target.long()
    bad = (t != ignore_index) & ((t < 0) | (t >= num_classes))
    if bad.any():
        raise IndexError(f"target {t[bad][0].item()} is out of bounds: class indices must lie in "
                         f"[0, {num_classes - 1}] (or equal ignore_index={ignore_index})")


def _pick(values: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int) -> tuple[Tensor, Tensor, Tensor]:
    """For batched ``values`` (N, C, ...): ``values[n, target[n]]``, the class weight and the not-ignored mask.

    Ignored positions get a weight of 0 and a safe index 0, so ``gather`` never sees ``ignore_index``.
    """
    t = target.long()
    keep = t != ignore_index
    safe = torch.where(keep, t, 0)
    picked = values.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = weight[safe] if weight is not None else torch.ones_like(picked)
    w = torch.where(keep, w, 0)
    return picked, w, keep


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: ``loss_n = -weight[y_n] * input[n, y_n]``.

    Chapter: book/en/classification/nll_loss.ipynb

    ``input`` holds log-probabilities (e.g. from ``log_softmax``); the loss only picks the
    entry of the target class, it applies no softmax itself.

    Args:
        input: log-probabilities, ``(N, C)``, ``(N, C, d1, ..., dk)`` or unbatched ``(C,)``.
        target: class indices (int64), ``(N,)``, ``(N, d1, ..., dk)`` or ``()``; values in
            ``[0, C)`` or equal to ``ignore_index``.
        weight: optional 1-D tensor of C class weights (same dtype as ``input``).
        ignore_index: targets equal to it contribute 0 and are left out of the mean.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``. ``'mean'`` is the weighted average
            ``sum(loss) / sum(weight[y_n])`` over the non-ignored targets: ``nan`` when every
            target is ignored (0 / 0), as in torch.

    Returns:
        A scalar, or the target's shape when ``reduction='none'``.
    """
    check_reduction(reduction)
    check_tensors("nll_loss", weight=weight)
    if input.dim() == 0:
        raise ValueError("input must have 1 or more dimensions (the classes), got a 0-d tensor")
    if not input.is_floating_point():
        raise NotImplementedError(f"nll_loss: input must hold floating-point log-probabilities, got {input.dtype}")
    _check_index_target(input, target, ignore_index)
    _check_class_weight(weight, input, input.shape[1] if input.dim() > 1 else input.shape[0], same_dtype=True)
    unbatched = input.dim() == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.reshape(1)
    picked, w, keep = _pick(input, target, weight, ignore_index)
    # -w[y] * input[y] on kept targets, 0 on ignored ones (avoids 0 * inf = nan)
    loss = torch.where(keep, -w * picked, 0)
    if unbatched and reduction == "none":
        return loss[0]
    return weighted_mean(loss, w, reduction)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits against class indices or class probabilities.

    Chapter: book/en/classification/cross_entropy.ipynb

    With ``logp = log_softmax(input)`` over the class dimension, ``C`` classes, class weights
    ``w`` (default 1) and ``eps = label_smoothing``:

    * class indices ``y``::

          loss_n = (1 - eps) * w[y_n] * (-logp[n, y_n]) + eps / C * sum_c w[c] * (-logp[n, c])

      and ``'mean'`` divides the sum by ``sum_n w[y_n]`` over non-ignored targets, like
      ``nll_loss`` (``nan`` if every target is ignored);
    * class probabilities ``t`` (same shape as ``input``, floating point)::

          loss_n = -sum_c w[c] * t'[n, c] * logp[n, c],   t' = (1 - eps) * t + eps / C

      and ``'mean'`` divides by the number of samples (N times d1...dk), not by the weights.

    Args:
        input: logits, ``(N, C)``, ``(N, C, d1, ..., dk)`` or unbatched ``(C,)``.
        target: class indices (int64) of shape ``(N,)`` / ``(N, d1, ..., dk)`` / ``()``, or
            class probabilities with the shape of ``input``.
        weight: optional 1-D tensor of C class weights.
        ignore_index: class-index targets equal to it are skipped; not allowed with
            probability targets.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        label_smoothing: mixes the target with the uniform distribution; in [0, 1]
            (``RuntimeError`` otherwise). torch rejects values above 1 but silently ignores
            negative ones (it computes the unsmoothed loss); here they are an error too.

    Returns:
        A scalar, or the per-sample losses (shape of ``input`` without the class dimension)
        when ``reduction='none'``.

    Note:
        ``log_softmax`` is computed as ``input - logsumexp(input)``, which never overflows;
        the input is *logits*, not probabilities.
    """
    check_reduction(reduction)
    check_tensors("cross_entropy", weight=weight)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if not input.is_floating_point():
        raise NotImplementedError(f"cross_entropy: input must hold floating-point logits, got {input.dtype}")
    if input.dim() == 0:
        raise RuntimeError("cross_entropy: input must have a class dimension, got a 0-d tensor")
    class_dim = 0 if input.dim() == 1 else 1
    num_classes = input.shape[class_dim]
    logp = input - input.logsumexp(class_dim, keepdim=True)

    if target.shape == input.shape:  # class probabilities
        if not target.is_floating_point():
            raise RuntimeError(f"target with class probabilities must be floating point, got {target.dtype}")
        if ignore_index != -100:
            raise RuntimeError("ignore_index is not supported for class-probability targets")
        _check_class_weight(weight, input, num_classes, same_dtype=False)
        t = target * (1 - label_smoothing) + label_smoothing / num_classes
        if weight is not None:
            t = t * weight.reshape(num_classes, *[1] * (input.dim() - class_dim - 1))
        # -sum_c w[c] t'[n, c] logp[n, c]
        return reduce(-(t * logp).sum(class_dim), reduction)

    _check_index_target(input, target, ignore_index)
    _check_class_weight(weight, input, num_classes, same_dtype=True)
    unbatched = input.dim() == 1
    if unbatched:
        logp, target = logp.unsqueeze(0), target.reshape(1)
    picked, w, keep = _pick(logp, target, weight, ignore_index)
    loss = torch.where(keep, -w * picked, 0)
    if label_smoothing != 0:
        wc = logp if weight is None else logp * weight.reshape(num_classes, *[1] * (logp.dim() - 2))
        # (1 - eps) * w[y] * (-logp[y]) + eps / C * sum_c w[c] * (-logp[c])
        smooth = torch.where(keep, -wc.sum(1), 0)
        loss = (1 - label_smoothing) * loss + label_smoothing / num_classes * smooth
    if unbatched and reduction == "none":
        return loss[0]
    return weighted_mean(loss, w, reduction)


def _check_binary(name: str, input: Tensor, target: Tensor, weight: Tensor | None, pos_weight: Tensor | None) -> None:
    """Shared checks of the binary losses: same shapes, floating point, broadcastable weights."""
    if target.shape != input.shape:
        raise ValueError(f"{name}: target size ({tuple(target.shape)}) must be the same as input size "
                         f"({tuple(input.shape)})")
    if not input.is_floating_point():
        raise NotImplementedError(f"{name}: input must be floating point, got {input.dtype}")
    if not target.is_floating_point():
        raise RuntimeError(f"{name}: target must be floating point, got {target.dtype}")
    for arg, w in (("weight", weight), ("pos_weight", pos_weight)):
        if w is None:
            continue
        try:
            ok = torch.broadcast_shapes(w.shape, input.shape) == input.shape
        except RuntimeError:
            ok = False
        if not ok:
            raise RuntimeError(f"{name}: {arg} of shape {tuple(w.shape)} cannot be broadcast to input shape "
                               f"{tuple(input.shape)}")


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy of probabilities: ``loss_i = -w_i [y_i log p_i + (1 - y_i) log(1 - p_i)]``.

    Chapter: book/en/classification/binary_cross_entropy.ipynb

    ``input`` holds probabilities ``p`` in [0, 1]: no sigmoid is applied (use
    ``binary_cross_entropy_with_logits`` for logits).

    Args:
        input: probabilities in [0, 1], any shape (``RuntimeError`` outside, nan included).
        target: same shape and dtype as ``input``, values in [0, 1] (``RuntimeError`` outside;
            a different shape is a ``ValueError``).
        weight: optional weights broadcastable to ``input``'s shape (cast to its dtype).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``; ``'mean'`` averages over elements.

    Returns:
        A scalar, or ``input``'s shape when ``reduction='none'``.

    Note:
        Each log is clamped at -100, so ``p = 0`` with ``y = 1`` costs 100, not infinity.
        The gradient here is autograd's gradient of this clamped formula (0 where a log is
        clamped, finite everywhere on [0, 1]). torch's hand-written
        backward is ``(p - y) / max(p (1 - p), 1e-12)`` for ``input`` and uses the unclamped
        logs for ``target``; the two agree wherever ``p (1 - p) >= 1e-12`` and ``log p``,
        ``log(1 - p)`` lie above -100, and differ only at the saturated ends.
    """
    check_reduction(reduction)
    check_tensors("binary_cross_entropy", weight=weight)
    _check_binary("binary_cross_entropy", input, target, weight, None)
    if target.dtype != input.dtype:
        raise RuntimeError(f"binary_cross_entropy: target dtype {target.dtype} must match input dtype {input.dtype}")
    if not ((input >= 0) & (input <= 1)).all():
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1 (probabilities)")
    if not ((target >= 0) & (target <= 1)).all():
        raise RuntimeError("binary_cross_entropy: all elements of target should be between 0 and 1")
    # log p and log(1 - p), each floored at -100; where p = 0 (or 1) the log is bypassed, so the
    # gradient there is 0 rather than 0 * inf = nan
    log_p = torch.where(input > 0, torch.where(input > 0, input, 1).log(), -100).clamp(min=-100)
    log_1mp = torch.where(input < 1, torch.where(input < 1, -input, 0).log1p(), -100).clamp(min=-100)
    # -(y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))
    loss = -(target * log_p + (1 - target) * log_1mp)
    if weight is not None:
        loss = loss * weight.to(input.dtype)
    return reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable step.

    Chapter: book/en/classification/binary_cross_entropy_with_logits.ipynb

    With logits ``x``, targets ``y``, ``pos_weight`` ``q`` (default 1) and
    ``softplus(z) = log(1 + exp(z))``::

        loss_i = -w_i [q y_i log sigmoid(x_i) + (1 - y_i) log(1 - sigmoid(x_i))]
               =  w_i [(1 - y_i) softplus(x_i) + q y_i softplus(-x_i)]

    Args:
        input: logits, any floating-point shape.
        target: same shape as ``input`` (``ValueError`` otherwise), usually in [0, 1]; values
            outside are not rejected (torch does not reject them either).
        weight: optional weights broadcastable to ``input``'s shape.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        pos_weight: weight of the positive term, broadcastable to ``input``'s shape; for
            (N, C) multi-label inputs, one value per class (shape (C,)).

    Returns:
        A scalar, or ``input``'s shape when ``reduction='none'``.

    Note:
        ``softplus`` is ``logaddexp(0, .)``, and both terms are non-negative, so nothing cancels:
        the loss and its gradient are accurate to rounding for logits of any size (at ``x = -40``,
        ``y = 0`` both are 4.2e-18; torch's ``(1 - y) x + softplus(-x)`` gives a loss of 0).
        At ``x = -inf``, ``y = 1`` the loss is ``inf`` (torch: ``nan``).
    """
    check_reduction(reduction)
    check_tensors("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    _check_binary("binary_cross_entropy_with_logits", input, target, weight, pos_weight)
    input = input.to(target.dtype)  # torch computes in the target's dtype when the two differ
    zero = torch.zeros_like(input)
    # -log(1 - sigmoid(x)) = softplus(x),  -log sigmoid(x) = softplus(-x)
    pos = target if pos_weight is None else pos_weight.to(input.dtype) * target
    loss = (1 - target) * torch.logaddexp(zero, input) + pos * torch.logaddexp(zero, -input)
    if weight is not None:
        loss = loss * weight.to(input.dtype)
    return reduce(loss, reduction)
