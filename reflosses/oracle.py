"""A high-precision oracle: each loss's formula at 50 digits on edge-case inputs.

torch is the yardstick of ``check``, but torch is not always right: at a logit of 40,
``binary_cross_entropy_with_logits``'s gradient is 0 in torch while the exact value is
-4.25e-18. Where the two disagree, this module decides. Each :data:`EDGES` case is evaluated
three ways: the formula in ``mpmath`` at 50 significant digits on the exact float64 inputs,
``reflosses`` and ``torch.nn.functional``; :func:`run` reports the relative error of each against
the exact value, for the loss (``reduction='sum'``) and its gradient with respect to the input.

``python -m reflosses oracle`` prints the table that the verification page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import mpmath as mp
import torch
import torch.nn.functional as F

import reflosses

mp.mp.dps = 50


def _softplus(z):
    """log(1 + e^z) without cancellation: e^z is below 1e-50 relative to 1 only where it is tiny."""
    return z + mp.log1p(mp.exp(-z)) if z > 0 else mp.log1p(mp.exp(z))


def _bce_clamped(p, y):
    """BCE with torch's documented clamp of each log at -100."""
    logp = max(mp.log(p), -100) if p > 0 else mp.mpf(-100)
    log1mp = max(mp.log1p(-p), -100) if p < 1 else mp.mpf(-100)
    return -(y * logp + (1 - y) * log1mp)


def _sigmoid(z):
    return 1 / (1 + mp.exp(-z))


def _sign(z):
    return mp.mpf((z > 0) - (z < 0))


# Element-wise formulas: f(x, y) for one element; the loss with reduction='sum' is their sum.
FORMULAS: dict[str, Callable] = {
    "l1_loss": lambda x, y: abs(x - y),
    "mse_loss": lambda x, y: (x - y) ** 2,
    "smooth_l1_loss": lambda x, y: (x - y) ** 2 / 2 if abs(x - y) < 1 else abs(x - y) - mp.mpf(1) / 2,
    "huber_loss": lambda x, y: (x - y) ** 2 / 2 if abs(x - y) <= 1 else abs(x - y) - mp.mpf(1) / 2,
    "soft_margin_loss": lambda x, y: _softplus(-y * x),
    "binary_cross_entropy_with_logits": lambda x, y: (1 - y) * x + _softplus(-x),
    "binary_cross_entropy": _bce_clamped,
    "poisson_nll_loss": lambda x, y: mp.exp(x) - y * x,  # log_input=True, full=False
    "kl_div": lambda x, y: y * (mp.log(y) - x) if y > 0 else mp.mpf(0),  # log_target=False
}


# Their derivatives with respect to x, written out (numerical differentiation is unreliable at
# 1e-300 or next to a kink).
DERIVATIVES: dict[str, Callable] = {
    "l1_loss": lambda x, y: _sign(x - y),
    "mse_loss": lambda x, y: 2 * (x - y),
    "smooth_l1_loss": lambda x, y: (x - y) if abs(x - y) < 1 else _sign(x - y),
    "huber_loss": lambda x, y: (x - y) if abs(x - y) <= 1 else _sign(x - y),
    "soft_margin_loss": lambda x, y: -y * _sigmoid(-y * x),
    "binary_cross_entropy_with_logits": lambda x, y: _sigmoid(x) - y,
    "binary_cross_entropy": lambda p, y: (p - y) / (p * (1 - p)),  # inside the clamp
    "poisson_nll_loss": lambda x, y: mp.exp(x) - y,
    "kl_div": lambda x, y: -y,
}


@dataclass(frozen=True)
class Edge:
    loss: str
    label: str
    input: tuple[float, ...]
    target: tuple[float, ...]
    grad: bool = True  # compare the gradient too (False where the formula has a kink or a clamp)
    label_zh: str = ""  # the label on the Chinese verification page (default: the English one)


EDGES: tuple[Edge, ...] = (
    Edge("soft_margin_loss", "margins y·x = 30, 40 (tiny loss)", (30.0, 40.0), (1.0, 1.0), label_zh="间隔 y·x = 30、40（损失极小）"),
    Edge("soft_margin_loss", "margin y·x = -30 (large loss)", (-30.0,), (1.0,), label_zh="间隔 y·x = -30（损失很大）"),
    Edge("binary_cross_entropy_with_logits", "logits 30, 40, target 1", (30.0, 40.0), (1.0, 1.0), label_zh="logits 30、40，目标 1"),
    Edge("binary_cross_entropy_with_logits", "logit -40, target 0", (-40.0,), (0.0,), label_zh="logit -40，目标 0"),
    Edge("binary_cross_entropy_with_logits", "logit 40, target 0 (large loss)", (40.0,), (0.0,), label_zh="logit 40，目标 0（损失很大）"),
    Edge("binary_cross_entropy_with_logits", "logits ±1e-10, target 0.5", (1e-10, -1e-10), (0.5, 0.5), label_zh="logits ±1e-10，目标 0.5"),
    Edge("binary_cross_entropy", "p = 1e-50, 1e-300, target 1 (clamped log)", (1e-50, 1e-300), (1.0, 1.0), grad=False, label_zh="p = 1e-50、1e-300，目标 1（对数被截断）"),
    Edge("binary_cross_entropy", "p = 1e-10, target 0 (tiny loss)", (1e-10,), (0.0,), label_zh="p = 1e-10，目标 0（损失极小）"),
    Edge("binary_cross_entropy", "p = 1 - 2^-40, target 1", (1.0 - 2.0 ** -40,), (1.0,), label_zh="p = 1 - 2^-40，目标 1"),
    Edge("mse_loss", "errors 1e-8, 3e-150", (1e-8, 3e-150), (0.0, 0.0), label_zh="误差 1e-8、3e-150"),
    Edge("l1_loss", "errors 1e-300, -2.5e-310 (subnormal)", (1e-300, -2.5e-310), (0.0, 0.0), label_zh="误差 1e-300、-2.5e-310（非规格化数）"),
    Edge("smooth_l1_loss", "errors 1e-10, 1e-160", (1e-10, 1e-160), (0.0, 0.0), label_zh="误差 1e-10、1e-160"),
    Edge("huber_loss", "errors 1e-10, 1e-160", (1e-10, 1e-160), (0.0, 0.0), label_zh="误差 1e-10、1e-160"),
    Edge("poisson_nll_loss", "log-rate -40, count 0", (-40.0,), (0.0,), label_zh="对数速率 -40，计数 0"),
    Edge("poisson_nll_loss", "log-rate 1e-12, count 1", (1e-12,), (1.0,), label_zh="对数速率 1e-12，计数 1"),
    Edge("kl_div", "log q = log p + 1e-12", (float(mp.log(mp.mpf("0.25"))) + 1e-12,), (0.25,),
         label_zh="log q = log p + 1e-12"),
)


def exact(edge: Edge) -> tuple[mp.mpf, list[mp.mpf]]:
    """The loss (sum) and its gradient with respect to each input element, at 50 digits."""
    f = FORMULAS[edge.loss]
    xs = [mp.mpf(x) for x in edge.input]
    ys = [mp.mpf(y) for y in edge.target]
    value = mp.fsum(f(x, y) for x, y in zip(xs, ys))
    df = DERIVATIVES[edge.loss]
    grads = [df(x, y) for x, y in zip(xs, ys)] if edge.grad else []
    return value, grads


def _torch_side(fn: Callable, edge: Edge) -> tuple[float, list[float]]:
    x = torch.tensor(edge.input, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(edge.target, dtype=torch.float64)
    out = fn(x, y, reduction="sum")
    (g,) = torch.autograd.grad(out, x)
    return out.item(), g.tolist()


def _rel(approx: float, exact_value: mp.mpf) -> float:
    if exact_value == 0:
        return 0.0 if approx == 0 else float("inf")
    return float(abs((mp.mpf(approx) - exact_value) / exact_value))


@dataclass
class Verdict:
    edge: Edge
    value: mp.mpf
    value_err: dict[str, float]  # "reflosses" / "torch" -> relative error of the loss
    grad_err: dict[str, float]  # the same, max over the gradient's entries (0 if not compared)


def run() -> list[Verdict]:
    verdicts = []
    for edge in EDGES:
        value, grads = exact(edge)
        v_err, g_err = {}, {}
        for name, module in (("reflosses", reflosses), ("torch", F)):
            got, got_g = _torch_side(getattr(module, edge.loss), edge)
            v_err[name] = _rel(got, value)
            g_err[name] = max((_rel(a, b) for a, b in zip(got_g, grads)), default=0.0)
        verdicts.append(Verdict(edge, value, v_err, g_err))
    return verdicts


WORDS = {
    "en": ("loss", "edge case", "exact loss", "reflosses loss", "torch loss", "reflosses gradient", "torch gradient",
           "exact", "wrong (0 or inf)", "not compared"),
    "zh": ("损失函数", "边界输入", "精确损失值", "reflosses 损失值", "torch 损失值", "reflosses 梯度", "torch 梯度",
           "精确", "错误（0 或 inf）", "不比较"),
}


def markdown(verdicts: list[Verdict], lang: str = "en") -> str:
    """The verification page's table: relative errors against the 50-digit value."""
    *head, exact_w, wrong_w, skip_w = WORDS[lang]

    def fmt(err: float) -> str:
        return exact_w if err == 0 else wrong_w if err == float("inf") else f"{err:.0e}"

    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in verdicts:
        g = {k: fmt(v.grad_err[k]) if v.edge.grad else skip_w for k in ("reflosses", "torch")}
        label = v.edge.label_zh if lang == "zh" and v.edge.label_zh else v.edge.label
        rows.append(f"| `{v.edge.loss}` | {label} | {mp.nstr(v.value, 4)} | {fmt(v.value_err['reflosses'])} "
                    f"| {fmt(v.value_err['torch'])} | {g['reflosses']} | {g['torch']} |")
    return "\n".join(rows)


def main(lang: str = "en") -> int:
    print(markdown(run(), lang))
    return 0
