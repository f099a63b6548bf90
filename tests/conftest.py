"""Collection rules for `make test` (`pytest tests book --nbval ...`).

The site build writes copies of every notebook under book/_build (html/_sources, jupyter_execute);
nbval must validate the chapters in book/en and book/zh only, never those copies. This conftest is
loaded before collection because `tests` is one of the command's arguments.
"""

from __future__ import annotations


def pytest_configure(config):
    for pattern in ("_build", ".ipynb_checkpoints"):
        config.addinivalue_line("norecursedirs", pattern)
