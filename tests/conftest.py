"""Collection rules for `make test` (`pytest tests book --nbval ...`).

The site build writes copies of every notebook under book/_build (html/_sources, jupyter_execute);
nbval must validate the chapters in book/en and book/zh only, never those copies. This conftest is
loaded before collection because `tests` is one of the command's arguments.
"""

from __future__ import annotations

import pytest


def pytest_configure(config):
    for pattern in ("_build", ".ipynb_checkpoints"):
        config.addinivalue_line("norecursedirs", pattern)
    # two xdist workers on two cores: one torch thread each, instead of two each fighting for them
    import torch

    torch.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the markers into "@group" node ids
def pytest_collection_modifyitems(config, items):
    """`make test` distributes tests over the workers one by one (`--dist loadgroup`), except what
    must stay together: the cells of one notebook (one kernel runs them in order) and the site tests
    (one build, one server). Spreading the thousands of differential cases keeps both workers busy."""
    for item in items:
        path = str(item.fspath)
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(name=path))
        elif path.endswith("test_site.py") or path.endswith("test_book_build.py"):
            item.add_marker(pytest.mark.xdist_group(name="site"))


def _jupyter_book():
    import pathlib
    import sys

    local = pathlib.Path(sys.executable).parent / "jupyter-book"
    return str(local) if local.exists() else "jupyter-book"


@pytest.fixture(scope="session")
def site_build(tmp_path_factory):
    """One site build per test session (every warning an error, like `make book`), shared by
    test_book_build.py and test_site.py (both run on the same worker: the "site" group)."""
    import pathlib
    import subprocess
    import time

    root = pathlib.Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("site")
    cmd = [_jupyter_book(), "build", str(root), "--path-output", str(out), "--warningiserror", "--nitpick", "--keep-going"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=900)
    return {"html": out / "_build" / "html", "rc": proc.returncode, "log": proc.stdout + proc.stderr,
            "seconds": time.perf_counter() - start, "cmd": cmd}
