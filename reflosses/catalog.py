"""``CATALOG``: one entry per loss, the source of the book's index and cheat sheet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import classification, distributions, embedding, regression, sequence


@dataclass(frozen=True)
class Entry:
    name: str  # function name, as in torch.nn.functional
    function: Callable
    torch_class: str  # the torch.nn module class
    family: str  # regression | classification | distributions | embedding | sequence
    summary_en: str
    summary_zh: str

    @property
    def chapter(self) -> str:
        """The chapter's path in the book, relative to ``book/en`` or ``book/zh``."""
        return f"{self.family}/{self.name}"


def _e(fn: Callable, torch_class: str, summary_en: str, summary_zh: str) -> Entry:
    family = fn.__module__.rsplit(".", 1)[-1]
    return Entry(fn.__name__, fn, torch_class, family, summary_en, summary_zh)


CATALOG: tuple[Entry, ...] = (
    _e(regression.l1_loss, "L1Loss",
       "Mean absolute error |x - y|; robust to outliers, constant gradient.",
       "平均绝对误差 |x − y|：对离群点稳健，梯度大小恒定。"),
    _e(regression.mse_loss, "MSELoss",
       "Mean squared error (x - y)^2; smooth, but outliers dominate it.",
       "均方误差 (x − y)²：处处光滑，但容易被离群点主导。"),
    _e(regression.smooth_l1_loss, "SmoothL1Loss",
       "Quadratic below beta, linear above it, scaled so the gradient is at most 1.",
       "误差小于 beta 时为二次、大于 beta 时为线性，梯度绝对值不超过 1。"),
    _e(regression.huber_loss, "HuberLoss",
       "Quadratic below delta, linear above it; equals delta * SmoothL1(beta=delta).",
       "误差小于 delta 时为二次、大于 delta 时为线性，等于 delta 乘以 SmoothL1(beta=delta)。"),
    _e(classification.cross_entropy, "CrossEntropyLoss",
       "Softmax cross-entropy of logits against class indices or class probabilities.",
       "对 logits 做 softmax 后的交叉熵，目标可以是类别索引或类别概率。"),
    _e(classification.nll_loss, "NLLLoss",
       "Negative log-likelihood: picks -log p of the target class from log-probabilities.",
       "负对数似然：从对数概率中取出目标类别的 −log p。"),
    _e(classification.binary_cross_entropy, "BCELoss",
       "Binary cross-entropy of probabilities in [0, 1]; no sigmoid inside.",
       "二元交叉熵，输入是 [0, 1] 内的概率，内部不做 sigmoid。"),
    _e(classification.binary_cross_entropy_with_logits, "BCEWithLogitsLoss",
       "Sigmoid plus binary cross-entropy in one numerically stable step; takes pos_weight.",
       "sigmoid 与二元交叉熵合为一步，数值稳定，支持 pos_weight。"),
    _e(distributions.kl_div, "KLDivLoss",
       "Kullback-Leibler divergence KL(target || input) with input given as log-probabilities.",
       "KL 散度 KL(target ‖ input)，其中 input 是对数概率。"),
    _e(distributions.poisson_nll_loss, "PoissonNLLLoss",
       "Negative log-likelihood of a Poisson-distributed target (counts).",
       "目标服从泊松分布（计数）时的负对数似然。"),
    _e(distributions.gaussian_nll_loss, "GaussianNLLLoss",
       "Negative log-likelihood of a Gaussian with predicted mean and variance.",
       "以预测均值与方差建模的高斯分布负对数似然。"),
    _e(embedding.margin_ranking_loss, "MarginRankingLoss",
       "max(0, -y (x1 - x2) + margin): ranks x1 above or below x2 by a margin.",
       "max(0, −y (x1 − x2) + margin)：要求 x1 比 x2 高（或低）出一个间隔。"),
    _e(embedding.hinge_embedding_loss, "HingeEmbeddingLoss",
       "x for similar pairs (y = 1), max(0, margin - x) for dissimilar pairs (y = -1).",
       "相似对 (y = 1) 取 x，不相似对 (y = −1) 取 max(0, margin − x)。"),
    _e(embedding.multilabel_margin_loss, "MultiLabelMarginLoss",
       "Multi-label hinge loss: each target class must beat each non-target class by 1.",
       "多标签合页损失：每个目标类的得分都要比每个非目标类高出 1。"),
    _e(embedding.soft_margin_loss, "SoftMarginLoss",
       "Two-class logistic loss log(1 + exp(-y x)) with labels in {-1, 1}.",
       "二分类逻辑损失 log(1 + exp(−y x))，标签取 {−1, 1}。"),
    _e(embedding.multilabel_soft_margin_loss, "MultiLabelSoftMarginLoss",
       "One-versus-all logistic loss, averaged over classes, for multi-label targets.",
       "多标签的一对多逻辑损失，对类别取平均。"),
    _e(embedding.cosine_embedding_loss, "CosineEmbeddingLoss",
       "Pulls pairs together (y = 1) or pushes their cosine below a margin (y = -1).",
       "相似对 (y = 1) 拉近余弦相似度，不相似对 (y = −1) 把余弦压到 margin 以下。"),
    _e(embedding.multi_margin_loss, "MultiMarginLoss",
       "Multi-class hinge loss: the target score must beat every other score by a margin.",
       "多分类合页损失：目标类得分要比其他每个类高出 margin。"),
    _e(embedding.triplet_margin_loss, "TripletMarginLoss",
       "max(0, d(a, p) - d(a, n) + margin) with the p-norm distance.",
       "max(0, d(a, p) − d(a, n) + margin)，距离为 p-范数。"),
    _e(embedding.triplet_margin_with_distance_loss, "TripletMarginWithDistanceLoss",
       "Triplet margin loss with any distance function you pass in.",
       "三元组间隔损失，距离函数可以自定义。"),
    _e(sequence.ctc_loss, "CTCLoss",
       "Connectionist temporal classification: sums over all alignments of a label sequence.",
       "连接时序分类：对标签序列的所有对齐方式求和。"),
)

# torch.nn loss classes that have no chapter of their own, and why (the book's appendix says more).
EXCLUDED: dict[str, str] = {
    "AdaptiveLogSoftmaxWithLoss": "a module with its own trainable parameters (an output layer), not a loss formula",
    "LinearCrossEntropyLoss": "a fused linear layer plus cross_entropy, an optimisation of cross_entropy",
    "NLLLoss2d": "deprecated alias of NLLLoss, which takes (N, C, H, W) inputs directly",
}

BY_NAME: dict[str, Entry] = {e.name: e for e in CATALOG}
