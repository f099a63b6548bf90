"""Sequence losses: connectionist temporal classification (CTC).

Chapter: book/en/sequence/ctc_loss.ipynb
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ._reduction import check_reduction


def _lengths(value: Tensor | Sequence[int], name: str, batch: int) -> Tensor:
    """``input_lengths`` / ``target_lengths`` as a 1-D int64 tensor of size ``batch``."""
    if isinstance(value, Tensor):
        if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
            raise RuntimeError(f"{name} must be integral, got dtype {value.dtype}")
        lengths = value.reshape(-1).long()
    elif isinstance(value, (tuple, list)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        lengths = torch.tensor(value, dtype=torch.long).reshape(-1)
    else:
        raise TypeError(f"{name} must be a tensor or a tuple/list of ints, got {type(value).__name__}")
    if lengths.numel() != batch:
        raise RuntimeError(f"{name} must be of size batch_size ({batch}), got {lengths.numel()} values")
    return lengths


def _padded_targets(targets: Tensor, target_lengths: Tensor, batch: int) -> Tensor:
    """Targets as an (N, max target length) int64 tensor; entries past each length are 0."""
    s_max = int(target_lengths.max()) if batch else 0
    positions = torch.arange(s_max)
    valid = positions < target_lengths[:, None]  # (N, S)
    if targets.dim() == 2:
        if targets.shape[0] != batch:
            raise RuntimeError(f"targets has batch size {targets.shape[0]}, expected {batch} (the batch size of log_probs)")
        if targets.shape[1] < s_max:
            raise RuntimeError(f"targets has {targets.shape[1]} columns, fewer than the largest target_lengths ({s_max})")
        padded = targets[:, :s_max].long()
    else:
        total = int(target_lengths.sum())
        if targets.numel() != total:
            raise RuntimeError(f"concatenated targets has {targets.numel()} values, but target_lengths sum to {total}")
        # sample n's labels sit at offset[n] + 0 .. offset[n] + target_lengths[n] - 1
        offsets = target_lengths.cumsum(0) - target_lengths
        index = (offsets[:, None] + positions).clamp(max=max(total - 1, 0))
        padded = targets.long()[index] if total else torch.zeros(batch, s_max, dtype=torch.long)
    return torch.where(valid, padded, 0)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    r"""Connectionist temporal classification loss (Graves et al., 2006).

    The negative log-probability of the label sequence ``l`` (length ``S``) summed over every
    alignment: a path of ``T`` frame labels that becomes ``l`` after merging repeats and then
    removing blanks. Insert a blank around every label, ``l' = (b, l_1, b, l_2, ..., l_S, b)``
    (``2S + 1`` states), and run the forward recursion in log space::

        alpha_0(s) = log y_0(l'_s)                       for s in {0, 1}, else -inf
        alpha_t(s) = log y_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s - 1),
                                               alpha_{t-1}(s - 2) if l'_s != b and l'_s != l'_{s-2})
        loss = -logsumexp(alpha_{T-1}(2S), alpha_{T-1}(2S - 1))

    where ``log y_t(k)`` is ``log_probs[t, n, k]`` and ``T`` is the sample's input length. The
    skip from ``s - 2`` is forbidden between two equal labels, so ``aa`` needs a blank between
    its letters (an alignment needs ``T >= S + repeats``); otherwise the loss is ``inf``.

    The recursion is vectorised over the batch and the states and loops over time only.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities, e.g. ``log_softmax(-1)`` of logits.
        targets: padded (N, S) class indices (only the first ``target_lengths[n]`` of row ``n``
            are read), or the targets of every sample concatenated, 1-D of size
            ``sum(target_lengths)``; for unbatched input (S,) or (1, S).
        input_lengths: (N,) tensor or tuple of ints, each in ``[0, T]``.
        target_lengths: (N,) tensor or tuple of ints, each ``>= 0``.
        blank: index of the blank class, in ``[0, C)``. A target equal to ``blank`` is not
            rejected (torch does not reject it either) and is treated as an ordinary label.
        reduction: ``'none'`` (per-sample losses, shape (N,) or () unbatched), ``'sum'``, or
            ``'mean'``: each loss divided by its target length clamped to at least 1, then the
            mean over the batch.
        zero_infinity: replace infinite losses (impossible alignments) by 0, and their gradient by 0.

    Returns:
        The loss, a tensor of the dtype of ``log_probs``.

    Note:
        torch's ``ctc_loss`` has a hand-written backward that assumes ``log_probs`` came out of
        ``log_softmax``: it returns ``exp(log_probs) - posterior`` per frame, which is the
        gradient with respect to the *logits* implied by a softmax, not the gradient of the
        formula above with respect to arbitrary ``log_probs`` (which is ``-posterior``). Here
        autograd differentiates the formula, so the gradients w.r.t. ``log_probs`` themselves
        differ from torch's; they agree once both are taken through ``log_softmax`` of logits,
        because the softmax Jacobian removes the extra ``exp(log_probs)`` term.

    Chapter: book/en/sequence/ctc_loss.ipynb
    """
    check_reduction(reduction)
    if not isinstance(log_probs, Tensor) or log_probs.dim() not in (2, 3):
        dims = log_probs.dim() if isinstance(log_probs, Tensor) else type(log_probs).__name__
        raise RuntimeError(f"log_probs must be a 3-D (T, N, C) or 2-D (T, C) tensor, got {dims} dimensions")
    if not log_probs.is_floating_point():
        raise NotImplementedError(f"log_probs must be a floating-point tensor, got dtype {log_probs.dtype}")
    if log_probs.numel() == 0:
        raise RuntimeError(f"log_probs must not be empty, got shape {tuple(log_probs.shape)}")
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        if targets.dim() == 1:
            targets = targets.unsqueeze(0)
    T, N, C = log_probs.shape
    if isinstance(blank, bool) or not isinstance(blank, int):
        raise TypeError(f"blank must be an int, got {type(blank).__name__}")
    if not 0 <= blank < C:
        raise RuntimeError(f"blank must be in label range [0, {C}), got blank={blank}")
    if not isinstance(targets, Tensor) or targets.dim() not in (1, 2):
        dims = targets.dim() if isinstance(targets, Tensor) else type(targets).__name__
        raise RuntimeError(f"targets must be 1-D (concatenated) or 2-D (N, S) (padded), got {dims} dimensions")
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):
        raise TypeError("input_lengths and target_lengths must both be tensors or both be tuples/lists of ints, "
                        f"got {type(input_lengths).__name__} and {type(target_lengths).__name__}")
    input_lengths = _lengths(input_lengths, "input_lengths", N)
    target_lengths = _lengths(target_lengths, "target_lengths", N)
    if (input_lengths < 0).any() or (input_lengths > T).any():
        raise RuntimeError(f"input_lengths must lie in [0, {T}] (T = log_probs.shape[0]), got {input_lengths.tolist()}")
    if (target_lengths < 0).any():
        raise RuntimeError(f"target_lengths must be >= 0, got {target_lengths.tolist()}")

    labels = _padded_targets(targets, target_lengths, N)  # (N, S)
    S = labels.shape[1]
    valid = torch.arange(S) < target_lengths[:, None]
    if ((labels < 0) | (labels >= C))[valid].any():
        # torch does not check this on CPU and reads memory out of range; we refuse.
        bad = labels[valid & ((labels < 0) | (labels >= C))][0].item()
        raise RuntimeError(f"targets must be class indices in [0, {C}), got {bad}")

    # Extended labels l' = (b, l_1, b, l_2, ..., l_S, b): L = 2S + 1 states.
    L = 2 * S + 1
    ext = torch.full((N, L), blank, dtype=torch.long)
    ext[:, 1::2] = labels
    # The skip s-2 -> s is allowed into a label state whose label differs from the one before.
    skip = torch.zeros(N, L, dtype=torch.bool)
    skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
    # log 0 is represented by a huge finite number NEG, not -inf: torch.logsumexp's gradient is
    # nan where all its inputs are -inf (an unreachable state), and 0 * nan would poison the
    # whole backward pass. exp(NEG - x) is exactly 0 for any reachable x, so reachable values are
    # unchanged. Clamping alpha at NEG after every frame keeps unreachable states from drifting
    # to -inf (log_probs may hold -inf, i.e. probability 0); they end below NEG / 2.
    dtype = log_probs.dtype
    neg = torch.finfo(dtype).min / 4
    skip_log = torch.full((N, L), neg, dtype=dtype).masked_fill(skip, 0.0)

    # emit[t][n, s] = log y_t(l'_s), gathered once for every frame.
    steps = int(input_lengths.max())
    emit = log_probs[:steps].gather(2, ext.unsqueeze(0).expand(steps, N, L)).unbind(0)

    # alpha before the first frame: all the mass on state 0 (log 1 = 0), so that step t = 0
    # of the loop produces alpha_0 and a sample with input length 0 reads this vector.
    alpha = torch.full((N, L), neg, dtype=dtype)
    alpha[:, 0] = 0.0
    pad = torch.full((N, 2), neg, dtype=dtype)
    history = [alpha]
    for t in range(steps):
        shifted = torch.cat([pad, alpha], dim=1)  # shifted[:, s + 2] = alpha[:, s]
        # alpha_t(s) = log y_t(l'_s) + logsumexp(alpha(s), alpha(s - 1), alpha(s - 2) if skip allowed)
        alpha = (torch.stack([alpha, shifted[:, 1:-1], shifted[:, :-2] + skip_log]).logsumexp(0) + emit[t]).clamp(min=neg)
        history.append(alpha)
    # alpha after frame input_lengths[n] - 1 of each sample, i.e. history[input_lengths[n]].
    final = torch.stack(history)[input_lengths, torch.arange(N)]  # (N, L)

    # The path ends in the last label (state 2S_n - 1) or the blank after it (state 2S_n).
    last = final.gather(1, (2 * target_lengths)[:, None])
    before = final.gather(1, (2 * target_lengths - 1).clamp(min=0)[:, None])
    before = torch.where(target_lengths[:, None] > 0, before, neg)
    log_likelihood = torch.cat([last, before], dim=1).logsumexp(1)
    # No alignment (too few frames for the labels and their required blanks): probability 0.
    loss = torch.where(log_likelihood < neg / 2, float("inf"), -log_likelihood)
    if steps == 0:
        # Every input length is 0: no frame is read, but the result still belongs to log_probs'
        # graph (with a zero gradient), as torch's does. An empty slice sums to exactly 0.
        loss = loss + log_probs[:0].sum()

    if zero_infinity:
        loss = torch.where(loss == float("inf"), 0.0, loss)
    if reduction == "mean":
        loss = (loss / target_lengths.clamp(min=1).to(loss.dtype)).mean()
    elif reduction == "sum":
        loss = loss.sum()
    elif unbatched:
        loss = loss.squeeze(0)
    return loss
