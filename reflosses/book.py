"""Small helpers for the book's notebooks (not part of the reference losses).

Needs the ``book`` extra (matplotlib, pygments, pylopdf-fonts-zh-cn); imported lazily so the
package itself depends on torch alone.
"""

from __future__ import annotations

import inspect
from typing import Callable

# One palette for every chapter, so the same loss has the same colour everywhere.
COLORS = {
    "l1_loss": "#1f77b4",
    "mse_loss": "#d62728",
    "smooth_l1_loss": "#2ca02c",
    "huber_loss": "#9467bd",
    "grad": "#ff7f0e",
}


def setup_matplotlib() -> None:
    """Deterministic matplotlib settings and a CJK font shipped by a PyPI package.

    Noto Sans SC comes from ``pylopdf-fonts-zh-cn`` (pinned in requirements.lock), so Chinese
    labels render the same on every machine, with no system font and no missing-glyph warning.
    DejaVu Sans stays first in the fallback list, so Latin text and the minus sign look as usual.
    """
    import matplotlib
    from matplotlib import font_manager
    from pylopdf_fonts_zh_cn import sans_path

    matplotlib.use("module://matplotlib_inline.backend_inline") if _in_ipython() else matplotlib.use("Agg")
    font_manager.fontManager.addfont(str(sans_path()))
    matplotlib.rcParams.update(
        {
            "font.family": ["DejaVu Sans", "Noto Sans SC"],
            "figure.figsize": (7.0, 3.2),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "reflosses",
        }
    )


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


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
