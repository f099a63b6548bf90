"""Distribution losses: negative log-likelihoods and the Kullback-Leibler divergence.

Each loss scores a target against a predicted distribution (a categorical one given by
log-probabilities, a Poisson rate, a Gaussian mean and variance), element by element, then
reduces. ``input`` and ``target`` broadcast against each other silently, as in torch.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor

from ._reduction import check_broadcast, check_reduction, reduce

_LOG_2PI = math.log(2 * math.pi)


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``KL(target || exp(input))``, point-wise.

    ``loss_i = target_i * (log target_i - input_i)``, or with ``log_target=True`` (the target
    given as log-probabilities ``t``) ``loss_i = exp(t_i) * (t_i - input_i)``.

    Chapter: book/en/distributions/kl_div.ipynb

    Args:
        input: log-probabilities ``log q``, any shape (usually ``(N, C)``; ``log_softmax`` output).
        target: probabilities ``p`` (or ``log p`` with ``log_target=True``), broadcastable with
            ``input``.
        reduction: ``'none'`` | ``'batchmean'`` | ``'mean'`` | ``'sum'``. ``'batchmean'`` divides
            the sum by ``input.size(0)`` (the sum itself for a 0-dim input) and is the true
            KL divergence per sample; ``'mean'`` divides by the number of elements, which also
            divides by the number of classes (torch warns about it, and so do we).
        log_target: whether ``target`` holds log-probabilities.

    Returns:
        A scalar, or the broadcast shape with ``reduction='none'``.

    Note:
        Entries with ``target_i = 0`` contribute exactly 0 (the convention ``0 log 0 = 0``,
        computed with ``xlogy``), not ``nan``. Their gradient with respect to ``target`` is not
        defined (``log 0``) and is ``nan``, as in torch. A negative target gives ``nan``.
        ``log_target=True`` avoids ``log`` altogether and is the stabler choice when the
        target is itself the output of a ``log_softmax``.
    """
    check_reduction(reduction, ("none", "batchmean", "mean", "sum"))
    for name, t in (("input", input), ("target", target)):
        if not (t.is_floating_point() or t.is_complex()):
            raise RuntimeError(f"kl_div: integral {name} not supported ({name} has dtype {t.dtype})")
    check_broadcast("kl_div", input=input, target=target)
    if log_target:
        # loss = exp(t) * (t - x)
        loss = torch.exp(target) * (target - input)
    else:
        # loss = p * log p - p * x, with 0 * log 0 = 0
        loss = torch.xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.size(0) if input.dim() != 0 else total
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total by the number of elements (batch size times "
            "support size); reduction='batchmean' divides by the batch size only and is the KL divergence.",
            UserWarning,
            stacklevel=2,
        )
    return reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target ~ Poisson(rate)``, dropping the constant ``log(target!)``.

    ``loss_i = exp(x_i) - y_i * x_i`` when ``log_input`` (``x`` is the log-rate), else
    ``loss_i = x_i - y_i * log(x_i + eps)`` (``x`` is the rate). With ``full=True`` the
    Stirling approximation of ``log(y!)``, ``y log y - y + 0.5 log(2 pi y)``, is added where
    ``y > 1`` (for ``y`` in ``{0, 1}``, ``log(y!) = 0``).

    Chapter: book/en/distributions/poisson_nll_loss.ipynb

    Args:
        input: log-rates (``log_input=True``) or rates, any shape.
        target: counts, broadcastable with ``input``.
        log_input: whether ``input`` is the log of the rate.
        full: add the Stirling term, so the loss is the full negative log-likelihood.
        eps: added to the rate before the log when ``log_input=False``, so a zero rate gives
            a large finite loss instead of ``inf``.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or the broadcast shape with ``reduction='none'``.

    Note:
        ``log_input=True`` is the stable parametrisation: any real input is a valid log-rate.
        With ``full=True`` and ``target == 0`` the Stirling term is masked to 0, but its
        gradient with respect to ``target`` is ``nan`` there (``0 * log 0``), as in torch.
    """
    check_reduction(reduction)
    check_broadcast("poisson_nll_loss", input=input, target=target)
    if log_input:
        # loss = exp(x) - y x
        loss = torch.exp(input) - target * input
    else:
        # loss = x - y log(x + eps)
        loss = input - target * torch.log(input + eps)
    if full:
        # log(y!) ~ y log y - y + 0.5 log(2 pi y), used only where y > 1
        stirling = target * torch.log(target) - target + 0.5 * torch.log(2 * math.pi * target)
        loss = loss + torch.where(target > 1, stirling, torch.zeros_like(stirling))
    return reduce(loss, reduction)


def _gaussian_var(var: Tensor | float, input: Tensor) -> Tensor:
    """Bring ``var`` to a shape that broadcasts with ``input``, or raise like torch."""
    if isinstance(var, bool) or not isinstance(var, (Tensor, float)):
        raise TypeError(f"var must be a Tensor or a float, got {type(var).__name__}")
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has a negative entry: var must be >= 0")
        return torch.full_like(input, var)
    if var.shape != input.shape:
        if var.shape == input.shape[:-1]:
            # one variance per sample, shared by the last dimension (homoscedastic)
            var = var.unsqueeze(-1)
        else:
            differing = [d for d in range(var.dim()) if var.dim() == input.dim() and var.size(d) != input.size(d)]
            if var.dim() != input.dim() or len(differing) != 1 or var.size(differing[0]) != 1:
                raise ValueError(
                    f"var is of incorrect size {tuple(var.shape)} for input of size {tuple(input.shape)}: "
                    "expected the input's shape, the input's shape with one dimension equal to 1, "
                    "or the input's shape without its last dimension")
    if torch.any(var < 0):
        raise ValueError("var has negative entry/entries: var must be >= 0")
    return var


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target ~ Normal(input, var)``.

    ``loss_i = 0.5 * (log(max(var_i, eps)) + (input_i - target_i)^2 / max(var_i, eps))``,
    plus ``0.5 * log(2 pi)`` when ``full=True``.

    Chapter: book/en/distributions/gaussian_nll_loss.ipynb

    Args:
        input: predicted means, shape ``(N, *)`` or ``(*)``.
        target: observations, broadcastable with ``input``.
        var: predicted variances, ``>= 0``: a tensor of the shape of ``input``, of that shape
            with one dimension equal to 1, or without the last dimension (one variance per
            sample); or a Python float (the same variance everywhere).
        full: add the constant ``0.5 * log(2 pi)``.
        eps: lower bound on the variance, for stability.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Returns:
        A scalar, or the broadcast shape with ``reduction='none'``.

    Note:
        The clamp at ``eps`` changes the value but not the path of the gradient: as in torch,
        ``var`` is clamped outside autograd, so the gradient with respect to ``var`` is the
        gradient of the formula evaluated at the clamped variance (not 0 below ``eps``). A
        negative variance is an error; an integer ``var`` (not a float) is a ``TypeError``.
    """
    check_reduction(reduction)
    check_broadcast("gaussian_nll_loss", input=input, target=target)
    var = _gaussian_var(var, input)
    # straight-through clamp: value max(var, eps), gradient as if there were no clamp
    var = var + (eps - var).clamp(min=0).detach()  # adds 0 wherever var >= eps (var = inf stays inf)
    # loss = 0.5 (log var + (x - y)^2 / var)
    loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * _LOG_2PI
    return reduce(loss, reduction)
