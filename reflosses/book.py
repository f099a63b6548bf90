"""Helpers for the book's notebooks (not part of the reference losses).

Needs the ``book`` extra (matplotlib, pygments, pylopdf-fonts-zh-cn); imported lazily so the
package itself depends on torch alone. Every chapter starts with ``setup("en")`` or
``setup("zh")``; after that the tables and figures below label themselves in that language.

- :func:`api_table`: every parameter of the torch function and module, read by
  ``inspect.signature`` from the installed torch, so the page cannot list a wrong signature.
- :func:`shapes_table`: input, target and output shapes, measured by calling torch.
- :func:`plot_loss_and_grad`: the loss and its gradient side by side, drawn the same way in every
  chapter (kinks as open circles at the one-sided limits plus a dot at autograd's value; joints
  where two smooth pieces meet as a dashed line), at twice the screen resolution.
- :func:`show_source`: the installed source of a function.
"""

from __future__ import annotations

import inspect
from typing import Callable, Iterable, Sequence

# One palette for every chapter, so the same loss has the same colour everywhere.
COLORS = {
    "l1_loss": "#1f77b4",
    "mse_loss": "#d62728",
    "smooth_l1_loss": "#2ca02c",
    "huber_loss": "#9467bd",
    "cross_entropy": "#8c564b",
    "nll_loss": "#e377c2",
    "binary_cross_entropy": "#17becf",
    "binary_cross_entropy_with_logits": "#bcbd22",
    "kl_div": "#393b79",
    "poisson_nll_loss": "#637939",
    "gaussian_nll_loss": "#8c6d31",
    "soft_margin_loss": "#843c39",
    "multilabel_soft_margin_loss": "#7b4173",
    "multi_margin_loss": "#3182bd",
    "multilabel_margin_loss": "#e6550d",
    "margin_ranking_loss": "#31a354",
    "hinge_embedding_loss": "#756bb1",
    "cosine_embedding_loss": "#636363",
    "triplet_margin_loss": "#6baed6",
    "triplet_margin_with_distance_loss": "#fd8d3c",
    "ctc_loss": "#74c476",
    "grad": "#ff7f0e",
    "other": "#7f7f7f",
}

# Parameters that torch added after 2.0, with the first release that has them. Each was read off
# the released wheels' torch/nn/functional.py (2.5.1 lacks `weight` in l1/mse/huber, 2.6.0 has it).
# tests/test_book_helpers.py checks that every entry names a parameter the installed torch has.
ADDED = {
    ("l1_loss", "weight"): "2.6",
    ("mse_loss", "weight"): "2.6",
    ("huber_loss", "weight"): "2.6",
}
DEPRECATED = ("size_average", "reduce")

_LANG = "en"
WORDS = {
    "en": {
        "parameter": "parameter", "note": "note", "required": "required", "call": "required, in the call", "absent": "—",
        "deprecated": "deprecated: use `reduction`", "added": "added in torch {v}",
        "loss": "loss", "gradient": "gradient ∂ℓ/∂x", "error": "error d = x − y",
        "autograd": "autograd's value at the kink", "limits": "one-sided limits", "joint": "joint",
        "reduction": "reduction", "output": "output",
    },
    "zh": {
        "parameter": "参数", "note": "说明", "required": "必填", "call": "调用时必填", "absent": "—",
        "deprecated": "已弃用，改用 `reduction`", "added": "torch {v} 起才有",
        "loss": "损失", "gradient": "梯度 ∂ℓ/∂x", "error": "误差 d = x − y",
        "autograd": "autograd 在折点处的取值", "limits": "单侧极限", "joint": "分段衔接处",
        "reduction": "reduction", "output": "输出",
    },
}


def setup(lang: str = "en") -> None:
    """Set the page's language, make matplotlib deterministic, sharp and CJK-capable, and run
    torch on one thread: the same sums in the same order on every machine (printed digits do not
    depend on the core count), and two notebooks checked side by side do not fight over cores."""
    global _LANG
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {sorted(WORDS)}, got {lang!r}")
    _LANG = lang
    import torch

    torch.set_num_threads(1)
    setup_matplotlib()


def word(key: str) -> str:
    """A label in the page's language (see :data:`WORDS`)."""
    return WORDS[_LANG][key]


def setup_matplotlib() -> None:
    """Deterministic matplotlib settings and a CJK font shipped by a PyPI package.

    Noto Sans SC comes from ``pylopdf-fonts-zh-cn`` (pinned in requirements.lock), so Chinese
    labels render the same on every machine. Figures are stored at twice their display size
    ("retina"), so they stay sharp on phones.
    """
    import matplotlib
    from matplotlib import font_manager
    from pylopdf_fonts_zh_cn import sans_path

    if _in_ipython():
        matplotlib.use("module://matplotlib_inline.backend_inline")
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    else:
        matplotlib.use("Agg")
    font_manager.fontManager.addfont(str(sans_path()))
    matplotlib.rcParams.update(
        {
            "font.family": ["DejaVu Sans", "Noto Sans SC"],
            "figure.figsize": (7.0, 3.0),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "legend.fontsize": 9,
            "svg.hashsalt": "reflosses",
        }
    )


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


# ----------------------------------------------------------------------------------- tables

class Table:
    """A small table that renders as Markdown (in the page's language) in the book and as aligned
    text in a notebook.

    nbval compares both forms, so a table generated from torch is re-checked on every run. The text
    form is the same in both editions (``plain``: English words), so the twins' outputs can be
    compared with each other.
    """

    def __init__(self, header: Sequence[str], rows: Iterable[Sequence[str]], plain: "Table | None" = None):
        self.header = list(header)
        self.rows = [list(r) for r in rows]
        self.plain = plain

    def _repr_markdown_(self) -> str:
        esc = lambda s: s.replace("|", "\\|")
        lines = ["| " + " | ".join(esc(h) for h in self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.plain is not None:
            return repr(self.plain)
        plain = [[c.replace("`", "") for c in r] for r in [self.header, *self.rows]]
        widths = [max(_width(r[i]) for r in plain) for i in range(len(self.header))]
        out = []
        for r in plain:
            out.append("  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths)).rstrip())
        return "\n".join(out)


def _width(s: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in s)


def _default(p: inspect.Parameter) -> str:
    if p.default is inspect.Parameter.empty:
        return word("required")
    return f"`{p.default!r}`"


def _in_english(build: Callable[[], Table]) -> Table:
    """``build()`` in the page's language, with its text form built in English."""
    global _LANG
    table = build()
    if _LANG != "en":
        lang, _LANG = _LANG, "en"
        try:
            table.plain = build()
        finally:
            _LANG = lang
    return table


def api_table(function: Callable, module: type, reference: Callable | None = None) -> Table:
    """Every parameter of ``function`` (torch.nn.functional) and ``module`` (torch.nn), with defaults.

    Read from the installed torch by ``inspect.signature``. Deprecated parameters are marked, and
    parameters added after torch 2.0 carry the release that added them (:data:`ADDED`). With
    ``reference`` (the reflosses function) a third column shows which parameters it takes.
    """
    return _in_english(lambda: _api_table(function, module, reference))


def _api_table(function: Callable, module: type, reference: Callable | None) -> Table:
    fn_params = inspect.signature(function).parameters
    mod_params = dict(inspect.signature(module).parameters)
    forward = [n for n in inspect.signature(module.forward).parameters if n != "self"]
    ref_params = inspect.signature(reference).parameters if reference is not None else None
    names = list(fn_params) + [n for n in mod_params if n not in fn_params]
    header = [word("parameter"), f"`F.{function.__name__}`", f"`nn.{module.__name__}`"]
    if ref_params is not None:
        header.append(f"`reflosses.{reference.__name__}`")
    header.append(word("note"))
    rows = []
    for n in names:
        row = [f"`{n}`"]
        row.append(_default(fn_params[n]) if n in fn_params else word("absent"))
        row.append(_default(mod_params[n]) if n in mod_params else word("call") if n in forward else word("absent"))
        if ref_params is not None:
            row.append(_default(ref_params[n]) if n in ref_params else word("absent"))
        notes = []
        if n in DEPRECATED:
            notes.append(word("deprecated"))
        if (function.__name__, n) in ADDED:
            notes.append(word("added").format(v=ADDED[(function.__name__, n)]))
        row.append("; ".join(notes))
        rows.append(row)
    return Table(header, rows)


def _shape(t, symbols: dict[int, str]) -> str:
    shape = tuple(t.shape)
    if not shape:
        return "()"
    dims = [symbols.get(s, str(s)) for s in shape]
    return "(" + dims[0] + ",)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"


def shapes_table(module: type, cases: Sequence[dict], symbols: dict[int, str], **kwargs) -> Table:
    """Input and output shapes of ``module(reduction=r, **kwargs)`` for each case and reduction.

    ``cases`` are dicts of the forward arguments (tensors, in call order); ``symbols`` maps each
    size used to the letter the book uses for it (choose distinct sizes, e.g. {3: "N", 5: "C"}).
    The shapes are measured by calling torch, not typed.
    """
    args = list(cases[0])
    header = [f"`{a}`" for a in args] + [f"`{r!r}`" for r in ("none", "mean", "sum")]
    rows = []
    for case in cases:
        row = [_shape(case[a], symbols) for a in args]
        for r in ("none", "mean", "sum"):
            out = module(reduction=r, **kwargs)(*case.values())
            row.append(_shape(out, symbols))
        rows.append(row)
    return Table(header, rows)


# ---------------------------------------------------------------------------------- figures

def plot_loss_and_grad(
    curves: Sequence[tuple],
    d,
    *,
    joints: Sequence[float] = (),
    xlabel: str | None = None,
    titles: tuple[str, str] | None = None,
    grad_ylim: tuple[float, float] | None = None,
):
    """Draw each curve's loss (left) and its autograd gradient (right) against ``d``.

    ``curves`` are ``(label, loss_fn, color)`` or ``(label, loss_fn, color, kinks)``, where
    ``loss_fn(d)`` returns the element-wise loss (``reduction='none'``) of the errors ``d`` and
    ``kinks`` lists where that curve's gradient jumps. At each kink the gradient
    is drawn in pieces, with open circles at the one-sided limits and a filled dot at the value
    autograd returns there. ``joints`` (two smooth pieces meet, the gradient is continuous) are
    dashed vertical lines. Returns the figure; the chapter calls ``plt.show()``.
    """
    import matplotlib.pyplot as plt
    import torch

    d = d.detach().to(torch.float64)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.0, 3.0))
    eps = 1e-9
    any_kink = False
    for label, fn, color, *rest in curves:
        kinks = rest[0] if rest else ()
        any_kink = any_kink or bool(kinks)
        x = d.clone().requires_grad_()
        loss = fn(x)
        (grad,) = torch.autograd.grad(loss.sum(), x)
        ax1.plot(d, loss.detach(), color=color, label=label)
        edges = [d.min().item() - 1, *sorted(kinks), d.max().item() + 1]
        for lo, hi in zip(edges[:-1], edges[1:]):
            inside = (d > lo) & (d < hi)
            ax2.plot(d[inside], grad[inside], color=color)
        for k in kinks:
            pts = torch.tensor([k - eps, k + eps, k], dtype=torch.float64, requires_grad=True)
            (g,) = torch.autograd.grad(fn(pts).sum(), pts)
            ax2.plot([k, k], g[:2].tolist(), "o", mfc="white", color=color, ms=6, zorder=3)
            ax2.plot([k], [g[2].item()], "o", color=color, ms=5, zorder=4)
    for j in joints:
        for ax in (ax1, ax2):
            ax.axvline(j, color=COLORS["other"], ls="--", lw=0.8)
    ax1.set(title=(titles or (word("loss"), word("gradient")))[0], xlabel=xlabel or word("error"))
    ax2.set(title=(titles or (word("loss"), word("gradient")))[1], xlabel=xlabel or word("error"))
    if grad_ylim is not None:
        ax2.set_ylim(*grad_ylim)
    if len(curves) > 1:
        ax1.legend()
    if any_kink:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], ls="", marker="o", mfc="white", color=COLORS["other"], label=word("limits")),
                   Line2D([], [], ls="", marker="o", color=COLORS["other"], label=word("autograd"))]
        ax2.legend(handles=handles, loc="best")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------- source

class Source:
    """The source of a function, for display in a notebook.

    Its plain-text form is the exact source, so nbval fails if the package changes and the
    chapter was not re-run; its HTML form is highlighted with inline styles (no global CSS).
    """

    def __init__(self, fn: Callable):
        self.text = inspect.getsource(fn)

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        return highlight(self.text, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True))


def show_source(fn: Callable) -> Source:
    """Display ``fn``'s source code, as it is in the installed package."""
    return Source(fn)
