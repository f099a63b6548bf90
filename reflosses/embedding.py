"""Embedding losses: margins, rankings and metric learning.

Hinge losses ``max(0, margin - score)`` that are zero once a pair, a ranking or a class is
separated by a margin, their smooth logistic cousins, and the triplet losses of metric learning.
Targets in ``{1, -1}`` say whether a pair is similar or dissimilar.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from ._reduction import check_broadcast, check_reduction, check_tensors, reduce

# cosine_embedding_loss adds this to each squared norm; torch stores it in single precision,
# so in float64 it is 9.999999960041972e-13, not 1e-12.
_COSINE_EPS = torch.tensor(1e-12, dtype=torch.float32).item()


# --------------------------------------------------------------------------- shared checks

def _check_class_input(name: str, input: Tensor) -> int:
    """``input`` must be ``(C)``, ``(N, C)`` (``N`` may be 0) or a 0-dim score; returns ``C``."""
    if input.dim() > 2 or (input.dim() >= 1 and input.size(-1) == 0):
        raise RuntimeError(
            f"{name}: input must be a non-empty vector or matrix (C) or (N, C) with optional 0-dim batch size, "
            f"but got input of size {list(input.shape)}")
    return input.size(-1) if input.dim() > 0 else 1


def _check_long_target(name: str, target: Tensor) -> None:
    if target.dtype != torch.int64:
        raise RuntimeError(f"{name}: target must hold class indices of dtype torch.int64, got {target.dtype}")


def _check_same_dims(name: str, **tensors: Tensor) -> None:
    if len({t.dim() for t in tensors.values()}) > 1:
        dims = ", ".join(f"{k} {t.dim()}D" for k, t in tensors.items())
        raise RuntimeError(f"{name}: {', '.join(tensors)} must have the same number of dimensions, got {dims}")


def _check_margin_positive(margin: float) -> None:
    if not margin > 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dimension (eps is added to every difference)."""
    d = (x1 - x2 + eps).abs()
    if p == math.inf:
        return d.amax(-1)
    if p == -math.inf:
        return d.amin(-1)
    if p == 0:
        # number of non-zero differences; |d|^0 keeps the (zero) gradient connected to the inputs
        return torch.where(d != 0, d**0, d).sum(-1)
    # (sum_k |d_k|^p)^(1/p)
    return (d**p).sum(-1) ** (1 / p)


# --------------------------------------------------------------------------- pairs and rankings

def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, reduction: str = "mean"
) -> Tensor:
    """Ranking hinge: ``loss_i = max(0, -y_i * (x1_i - x2_i) + margin)``.

    ``y = 1`` asks for ``x1 >= x2 + margin``, ``y = -1`` for ``x2 >= x1 + margin``.

    Chapter: book/en/embedding/margin_ranking_loss.ipynb

    Args:
        input1, input2: scores, ``(N)`` or ``()`` (any shape, broadcastable).
        target: ``1`` or ``-1``, the same number of dimensions as the inputs.
        margin: the required gap.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or the broadcast shape with ``reduction='none'``.

    Note:
        The three tensors must have the same number of dimensions (torch raises otherwise);
        sizes of 1 broadcast. With the default ``margin=0`` a correctly ordered pair gets no
        gradient at all.
    """
    check_reduction(reduction)
    _check_same_dims("margin_ranking_loss", input1=input1, input2=input2, target=target)
    check_broadcast("margin_ranking_loss", input1=input1, input2=input2, target=target)
    # loss = max(0, -y (x1 - x2) + margin)
    loss = (-target * (input1 - input2) + margin).clamp(min=0)
    return reduce(loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """``loss_i = x_i`` if ``y_i = 1``, ``max(0, margin - x_i)`` if ``y_i = -1``.

    ``input`` is usually a distance between two embeddings: similar pairs (``y = 1``) are
    pulled together, dissimilar pairs (``y = -1``) pushed beyond ``margin``.

    Chapter: book/en/embedding/hinge_embedding_loss.ipynb

    Args:
        input: distances (or any scores), any shape.
        target: ``1`` or ``-1``, broadcastable with ``input``.
        margin: the distance beyond which dissimilar pairs cost nothing.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or the broadcast shape with ``reduction='none'``.

    Note:
        Like torch, a target that is neither 1 nor -1 is not rejected: it gets both terms,
        ``x + max(0, margin - x)``. Only pass 1 and -1.
    """
    check_reduction(reduction)
    check_broadcast("hinge_embedding_loss", input=input, target=target)
    # dissimilar term where y != 1: max(0, margin - x)
    dissimilar = torch.where(target != 1, (margin - input).clamp(min=0), 0.0)
    # similar term where y != -1: x
    similar = torch.where(target != -1, input, 0.0)
    return reduce(dissimilar + similar, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Two-class logistic loss: ``loss_i = log(1 + exp(-y_i * x_i))`` with ``y`` in ``{1, -1}``.

    Chapter: book/en/embedding/soft_margin_loss.ipynb

    Args:
        input: scores (logits), any shape.
        target: ``1`` or ``-1``, broadcastable to ``input``'s shape (not the other way round).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or the broadcast shape with ``reduction='none'``.

    Note:
        Computed as ``log1p(exp(-y x))`` exactly like torch, which is accurate for large
        ``y x`` but overflows to ``inf`` once ``-y x`` exceeds about 88 (float32) or 709
        (float64), where the true loss is ``-y x``. The stable form is
        ``max(-y x, 0) + log1p(exp(-|x|))``; we keep torch's so the two agree everywhere.
    """
    check_reduction(reduction)
    check_broadcast("soft_margin_loss", input=input, target=target)
    if torch.broadcast_shapes(input.shape, target.shape) != input.shape:  # torch writes into input's shape
        raise RuntimeError(f"soft_margin_loss: target of size {tuple(target.shape)} must broadcast to the input's "
                           f"size {tuple(input.shape)}, not widen it")
    # loss = log(1 + exp(-y x)), in input's shape and dtype: torch casts the target to it first
    loss = torch.log1p(torch.exp(-target.to(input.dtype) * input))
    return reduce(loss, reduction)


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, reduction: str = "mean"
) -> Tensor:
    """``loss_i = 1 - cos(x1_i, x2_i)`` if ``y_i = 1``, ``max(0, cos(x1_i, x2_i) - margin)`` if ``y_i = -1``.

    ``cos(a, b) = a . b / sqrt((|a|^2 + eps) (|b|^2 + eps))`` with ``eps = 1e-12``.

    Chapter: book/en/embedding/cosine_embedding_loss.ipynb

    Args:
        input1, input2: embeddings ``(N, D)`` with target ``(N)``, or ``(D)`` with a 0-dim target;
            sizes of 1 broadcast.
        target: ``1`` (similar) or ``-1`` (dissimilar). Other values contribute 0.
        margin: cosine below which a dissimilar pair costs nothing, in ``[-1, 1]``; 0 to 0.5
            is typical.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or ``(N)`` with ``reduction='none'``.

    Note:
        The ``eps`` on each squared norm keeps a zero vector finite (its cosine is 0, so a
        similar pair costs 1) but biases the cosine of very short vectors (norm ~1e-6)
        towards 0. torch stores this eps in single precision, and so do we.
    """
    check_reduction(reduction)
    if target.dim() > 1:
        raise RuntimeError(f"cosine_embedding_loss: target must be 0-D or 1-D, got target of size {list(target.shape)}")
    if input1.dim() != target.dim() + 1 or input2.dim() != target.dim() + 1:
        raise RuntimeError(
            f"cosine_embedding_loss: a {target.dim()}-D target needs {target.dim() + 1}-D input1 and input2, "
            f"got input1 of size {list(input1.shape)} and input2 of size {list(input2.shape)}")
    check_broadcast("cosine_embedding_loss", input1=input1, input2=input2)
    check_broadcast("cosine_embedding_loss", **{"input1 without its last dim": input1.shape[:-1], "target": target})
    dot = (input1 * input2).sum(-1)
    # cos = x1 . x2 / sqrt((|x1|^2 + eps) (|x2|^2 + eps))
    cos = dot / torch.sqrt(((input1 * input1).sum(-1) + _COSINE_EPS) * ((input2 * input2).sum(-1) + _COSINE_EPS))
    # loss = 1 - cos for y = 1; max(0, cos - margin) for y = -1
    loss = torch.where(target == 1, 1 - cos, 0.0) + torch.where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return reduce(loss, reduction)


# --------------------------------------------------------------------------- multi-class and multi-label

def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge: ``loss_n = sum_{i != y_n} w_{y_n} * max(0, margin - x_n[y_n] + x_n[i])^p / C``.

    Chapter: book/en/embedding/multi_margin_loss.ipynb

    Args:
        input: class scores ``(N, C)`` or ``(C)``.
        target: class indices (int64) ``(N)``; for a ``(C)`` input a 0-dim or one-element target.
        p: 1 (hinge) or 2 (squared hinge).
        margin: the gap by which the target score must beat every other score.
        weight: optional per-class weights ``(C)`` of the input's dtype; the loss of a sample
            is scaled by the weight of its target class.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``. ``'mean'`` is a plain average over
            samples, not divided by the weights (unlike ``cross_entropy``).

    Returns:
        A scalar, or the target's shape with ``reduction='none'``.

    Note:
        The division is by ``C`` although only ``C - 1`` terms are summed. With an empty
        batch ``'mean'`` is ``nan`` (torch 2.13 returns an uninitialised number there).
    """
    check_reduction(reduction)
    check_tensors("multi_margin_loss", weight=weight)
    if p != 1 and p != 2:
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got p={p}")
    if weight is not None and weight.dim() != 1:
        raise ValueError(f"multi_margin_loss: weight must be one-dimensional (C), got weight of size {list(weight.shape)}")
    C = _check_class_input("multi_margin_loss", input)
    N = input.size(0) if input.dim() == 2 else 1
    if weight is not None:
        if weight.numel() != C:
            raise RuntimeError(f"multi_margin_loss: inconsistent weight size, expected {C} but got {list(weight.shape)}")
        if weight.dtype != input.dtype:
            raise RuntimeError(f"multi_margin_loss: weight must have the input's dtype {input.dtype}, got {weight.dtype}")
    _check_long_target("multi_margin_loss", target)
    if target.dim() > 1 or target.numel() != N:
        raise RuntimeError(
            f"multi_margin_loss: target must be 1-D with one class index per sample: expected target size [{N}], "
            f"got {list(target.shape)} for input of size {list(input.shape)}")
    if target.numel() and (target.min() < 0 or target.max() >= C):
        raise RuntimeError(f"multi_margin_loss: target out of range: class indices must lie in [0, {C - 1}]")
    x, y = input.reshape(N, C), target.reshape(N, 1)
    # h_ni = max(0, margin - x_n[y_n] + x_ni)^p
    h = (margin - x.gather(1, y) + x).relu() ** p  # relu: no gradient at exactly 0, as in torch
    if weight is not None:
        h = h * weight[y]
    # the target class itself is not a competitor
    h = torch.where(torch.arange(C, device=x.device) != y, h, 0.0)
    loss = (h.sum(1) / C).reshape(target.shape)
    return reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Multi-label hinge: ``loss_n = sum_{j in T_n} sum_{i not in T_n} max(0, 1 - (x_n[j] - x_n[i])) / C``.

    ``T_n`` is the set of target classes of sample ``n``: the entries of ``target[n]`` up to,
    not including, the first ``-1``.

    Chapter: book/en/embedding/multilabel_margin_loss.ipynb

    Args:
        input: class scores ``(N, C)`` or ``(C)``.
        target: int64 of the shape of ``input``: target class indices padded with ``-1``,
            e.g. ``[3, 0, -1, 1]`` means classes {3, 0} (the ``1`` after the ``-1`` is ignored).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or ``(N)`` with ``reduction='none'``.

    Note:
        Every entry must lie in ``[-1, C)``, also after the first ``-1``. A class listed twice
        is counted twice, as in torch. With an empty batch ``'mean'`` is ``nan`` (torch 2.13
        returns an uninitialised number there).
    """
    check_reduction(reduction)
    C = _check_class_input("multilabel_margin_loss", input)
    _check_long_target("multilabel_margin_loss", target)
    ok = target.dim() <= 1 and target.numel() == C if input.dim() <= 1 else target.shape == input.shape
    if not ok:
        raise RuntimeError(
            f"multilabel_margin_loss: inconsistent target size: {list(target.shape)} for input of size {list(input.shape)}")
    if target.numel() and (target.min() < -1 or target.max() >= C):
        raise RuntimeError(f"multilabel_margin_loss: target is out of range: entries must lie in [-1, {C - 1}]")
    x, t = input.reshape(-1, C), target.reshape(-1, C)
    # the target list of each sample ends at its first -1; K = the longest list
    listed = torch.cumprod((t != -1).long(), dim=1).bool()  # (N, C)
    K = int(listed.sum(1).max()) if listed.numel() else 0
    listed, idx = listed[:, :K], t[:, :K].clamp(min=0)  # (N, K)
    is_target = ((idx.unsqueeze(-1) == torch.arange(C, device=x.device)) & listed.unsqueeze(-1)).any(1)  # (N, C)
    # h_nji = max(0, 1 - (x_n[j] - x_n[i])) for listed j and non-target i
    h = (1 - x.gather(1, idx).unsqueeze(-1) + x.unsqueeze(1)).relu()  # (N, K, C); no gradient at 0, as in torch
    h = torch.where(listed.unsqueeze(-1) & ~is_target.unsqueeze(1), h, 0.0)
    loss = (h.sum((1, 2)) / C).reshape(input.shape[:-1] if input.dim() == 2 else ())
    return reduce(loss, reduction)


def multilabel_soft_margin_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """One-versus-all logistic loss averaged over the ``C`` classes.

    ``loss_n = -1/C * sum_c w_c * (y_nc * log sigmoid(x_nc) + (1 - y_nc) * log sigmoid(-x_nc))``

    Chapter: book/en/embedding/multilabel_soft_margin_loss.ipynb

    Args:
        input: logits ``(N, C)`` or ``(C)`` (any shape with classes last).
        target: ``1`` for the classes present, ``0`` for the others; broadcastable with ``input``.
        weight: optional per-class weights, broadcastable with the element-wise loss
            (usually ``(C)``).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or ``input.shape[:-1]`` with ``reduction='none'``.

    Note:
        ``-log sigmoid(x) = softplus(-x) = logaddexp(0, -x)`` never overflows, so logits of any
        size are safe (unlike :func:`soft_margin_loss`), and it is smooth at ``x = 0``: a
        piecewise form such as ``min(x, 0) - log1p(exp(-|x|))`` gets autograd's gradient at 0
        wrong (1 instead of 1/2), since each piece has a kink there. It equals
        ``binary_cross_entropy_with_logits`` averaged over classes.
    """
    check_reduction(reduction)
    if input.dim() == 0:
        raise IndexError("multilabel_soft_margin_loss: input must have a class dimension (C) or (N, C), got a 0-dim input")
    if isinstance(weight, (int, float)):  # torch multiplies by a plain number too
        weight = torch.tensor(weight, dtype=input.dtype)
    check_tensors("multilabel_soft_margin_loss", weight=weight)

    check_broadcast("multilabel_soft_margin_loss", input=input, target=target,
                     **({} if weight is None else {"weight": weight}))
    zero = torch.zeros_like(input)
    # l_nc = -(y log sigmoid(x) + (1 - y) log sigmoid(-x)) = y softplus(-x) + (1 - y) softplus(x)
    loss = target * torch.logaddexp(zero, -input) + (1 - target) * torch.logaddexp(zero, input)
    if weight is not None:
        loss = loss * weight
    return reduce(loss.sum(-1) / input.size(-1), reduction)


# --------------------------------------------------------------------------- triplets

def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """Triplet loss: ``loss_i = max(0, d(a_i, p_i) - d(a_i, n_i) + margin)``.

    ``d(x, y) = ||x - y + eps||_p`` over the last dimension (``eps`` added to each
    difference, as in ``pairwise_distance``).

    Chapter: book/en/embedding/triplet_margin_loss.ipynb

    Args:
        anchor, positive, negative: embeddings ``(N, D)`` or ``(D)`` (any shape with the
            embedding last), all with the same number of dimensions; sizes of 1 broadcast.
        margin: required gap between the negative and the positive distance, ``> 0``.
        p: the norm's degree; any real, with ``inf``/``-inf`` giving max/min ``|diff|`` and
            0 the number of non-zero differences.
        eps: added to each difference so the distance is differentiable when ``a == p``.
        swap: use ``min(d(a, n), d(p, n))`` as the negative distance (the "distance swap"
            of Balntas et al., 2016), which picks the harder negative.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or ``(N)`` with ``reduction='none'``.

    Note:
        Without ``eps`` the gradient of ``||a - p||_2`` at ``a == p`` is ``0/0``; with it, the
        distance of identical vectors is ``eps * D^(1/p)``, not 0.
    """
    check_reduction(reduction)
    _check_margin_positive(margin)
    _check_same_dims("triplet_margin_loss", anchor=anchor, positive=positive, negative=negative)
    check_broadcast("triplet_margin_loss", anchor=anchor, positive=positive, negative=negative)
    return _triplet(anchor, positive, negative, lambda u, v: _pairwise_distance(u, v, p, eps), margin, swap, reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """Triplet loss with any distance: ``loss_i = max(0, d(a_i, p_i) - d(a_i, n_i) + margin)``.

    Chapter: book/en/embedding/triplet_margin_with_distance_loss.ipynb

    Args:
        anchor, positive, negative: embeddings with the same number of dimensions.
        distance_function: ``d(x, y) -> Tensor`` of non-negative distances, e.g.
            ``1 - cosine similarity``; default: the Euclidean ``pairwise_distance``
            (``p = 2``, ``eps = 1e-6``). Keyword-only.
        margin: required gap, ``> 0``.
        swap: use ``min(d(a, n), d(p, n))`` as the negative distance.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or the shape of the distances with ``reduction='none'``.

    Note:
        The loss trusts ``distance_function``: whatever shape it returns is reduced.
    """
    check_reduction(reduction)
    _check_margin_positive(margin)
    _check_same_dims("triplet_margin_with_distance_loss", anchor=anchor, positive=positive, negative=negative)
    if distance_function is None:
        check_broadcast("triplet_margin_with_distance_loss", anchor=anchor, positive=positive, negative=negative)
        distance_function = _pairwise_distance
    elif not callable(distance_function):
        raise TypeError(f"distance_function must be callable, got {type(distance_function).__name__}")
    return _triplet(anchor, positive, negative, distance_function, margin, swap, reduction)


def _triplet(a: Tensor, p: Tensor, n: Tensor, dist: Callable, margin: float, swap: bool, reduction: str) -> Tensor:
    d_ap, d_an = dist(a, p), dist(a, n)
    if swap:
        # the harder of the two negatives: the one closer to the anchor or to the positive
        d_an = torch.minimum(d_an, dist(p, n))
    # loss = max(0, d(a, p) - d(a, n) + margin)
    loss = (d_ap - d_an + margin).clamp(min=0)
    return reduce(loss, reduction)
