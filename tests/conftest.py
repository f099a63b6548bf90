"""Collection rules for `make test` (`pytest tests book --nbval ...`).

The site build writes copies of every notebook under book/_build (html/*/_sources, jupyter_execute);
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


@pytest.fixture(scope="session")
def site_build(tmp_path_factory):
    """The site built once per test session (both editions and the landing page; every warning an
    error, like `make book`) for test_site.py, which runs on one worker under `--dist loadfile`.
    The PDFs (`make site`) are not printed here: test_site.py prints a page with the same function."""
    import pathlib
    import subprocess
    import sys
    import time

    root = pathlib.Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("site") / "html"
    cmd = [sys.executable, str(root / "book" / "_ext" / "build_site.py"), "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=900)
    return {"html": out, "rc": proc.returncode, "log": proc.stdout + proc.stderr, "cmd": cmd,
            "seconds": time.perf_counter() - start}


@pytest.fixture(scope="session")
def site(request):
    """The built site's folder (``site_build``); REFLOSSES_SITE_HTML=<dir> reuses a build made
    with `python book/_ext/build_site.py --out <dir>` (for working on the site tests)."""
    import os
    import pathlib

    if os.environ.get("REFLOSSES_SITE_HTML"):
        return pathlib.Path(os.environ["REFLOSSES_SITE_HTML"]).resolve()
    build = request.getfixturevalue("site_build")
    artifacts = pathlib.Path(__file__).resolve().parent / "artifacts"
    artifacts.mkdir(exist_ok=True)  # the build log is uploaded by CI when a job fails
    (artifacts / "build.log").write_text(f"$ {' '.join(build['cmd'])}\n# {build['seconds']:.1f} s, exit {build['rc']}\n"
                                         f"{build['log']}", encoding="utf-8")
    if build["rc"] != 0 or not (build["html"] / "index.html").is_file():
        pytest.fail(f"the site build failed ({build['rc']}):\n{build['log'][-6000:]}")
    return build["html"]
