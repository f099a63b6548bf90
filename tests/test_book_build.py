"""Builds the whole site once, as `make book` does (every warning is an error), into a temporary
directory, and checks that every page exists in both languages.

All tests of this module share one build (a module-scoped fixture); under `--dist loadfile` the
module runs in a single xdist worker, so the build happens once per session.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]

_NO_JB = (shutil.which("jupyter-book", path=str(pathlib.Path(sys.executable).parent)) is None
          and shutil.which("jupyter-book") is None)
if _NO_JB and os.environ.get("CI") == "true":  # a skip would hide the whole site check in CI
    raise RuntimeError("jupyter-book is not installed: CI must build the site (pip install -r requirements.lock)")
pytestmark = pytest.mark.skipif(_NO_JB, reason="jupyter-book is not installed (the `book` extra)")


def _jupyter_book() -> str:
    local = pathlib.Path(sys.executable).parent / "jupyter-book"
    return str(local) if local.exists() else "jupyter-book"


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            pages.extend([node["file"]] if "file" in node else [])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", []))
    return pages


@pytest.fixture(scope="module")
def site(site_build):
    print(f"jupyter-book build: {site_build['seconds']:.1f} s")
    return site_build


def _warnings(log: str) -> list[str]:
    return [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln]


def test_build_succeeds_with_warnings_as_errors(site):
    assert site["rc"] == 0, "\n".join(_warnings(site["log"])[:40]) or site["log"][-3000:]
    assert _warnings(site["log"]) == []


def test_every_toc_page_has_html(site):
    missing = [p for p in _toc_pages() if not (site["html"] / f"{p}.html").is_file()]
    assert missing == []


def test_every_chapter_has_html_in_both_languages(site):
    from reflosses import CATALOG

    written = [e for e in CATALOG if (ROOT / "book" / "en" / f"{e.chapter}.ipynb").exists()
               or (ROOT / "book" / "zh" / f"{e.chapter}.ipynb").exists()]
    assert written, "no chapter notebooks found"
    for e in written:
        for lang in ("en", "zh"):
            page = site["html"] / "book" / lang / f"{e.chapter}.html"
            assert page.is_file(), f"{page.relative_to(site['html'])} was not built"


def test_cheatsheet_links_resolve_to_chapters(site):
    from reflosses import CATALOG

    for lang in ("en", "zh"):
        html = (site["html"] / "book" / lang / "cheatsheet.html").read_text(encoding="utf-8")
        tables = "".join(re.findall(r"<table.*?</table>", html, flags=re.S))  # the generated tables, not the sidebar
        assert "LinearCrossEntropyLoss" in tables and "CTCLoss" in tables
        assert ".ipynb" not in tables, f"{lang} cheat sheet: a link was left unresolved"
        for e in CATALOG:
            if (ROOT / "book" / lang / f"{e.chapter}.ipynb").exists():
                assert f'href="{e.chapter}.html"' in tables, f"{lang} cheat sheet: no link to {e.chapter}.html"
