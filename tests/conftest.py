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


def _jupyter_book():
    import pathlib
    import sys

    local = pathlib.Path(sys.executable).parent / "jupyter-book"
    return str(local) if local.exists() else "jupyter-book"


@pytest.fixture(scope="session")
def site_build(tmp_path_factory):
    """One site build per test session (every warning an error, like `make book`), for
    test_site.py (under `--dist loadfile` the module runs on one worker, so the build happens once)."""
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
