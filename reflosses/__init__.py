"""reflosses: every ``torch.nn`` loss re-implemented from its formula, verified against torch.

Each function has the name and signature of its ``torch.nn.functional`` counterpart
(without the deprecated ``size_average`` and ``reduce``). ``CATALOG`` lists them all;
``python -m reflosses check`` compares them with the installed torch.
"""

from .catalog import CATALOG, EXCLUDED
from .classification import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll_loss
from .distributions import gaussian_nll_loss, kl_div, poisson_nll_loss
from .embedding import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .regression import huber_loss, l1_loss, mse_loss, smooth_l1_loss
from .sequence import ctc_loss

__version__ = "0.1.0"

__all__ = [
    "CATALOG",
    "EXCLUDED",
    "l1_loss",
    "mse_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "multilabel_margin_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "cosine_embedding_loss",
    "multi_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "ctc_loss",
]
