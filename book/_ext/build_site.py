"""Build the site: two editions of one book, a bilingual landing page, and a PDF per edition.

    python book/_ext/build_site.py [--out book/_build/html] [--pdf]

The site mirrors the folder ``book/``::

    index.html, glossary.html   the landing project (srcdir book/, root intro.md): bilingual
    en/...                      the English edition (srcdir book/en), its own search and navigation
    zh/...                      the Chinese edition (srcdir book/zh), interface in Chinese
    en/reflosses-en.pdf, zh/reflosses-zh.pdf   with --pdf: each edition as one PDF (a single-page
                                build printed by Chromium, with the machine's CJK fonts)

``_config.yml`` and ``_toc.yml`` at the top of the repository are the single source: every project
reads ``_config.yml``; ``sphinx.config.reflosses_editions`` holds what differs per edition
(language, search language, title ...), and ``_toc.yml`` lists the pages of an edition, relative
to its folder (book/en and book/zh have the same files). Paths in ``_config.yml`` are relative to
the repository, as for ``jupyter-book build .``. The two editions are built at the same time in
two processes, and so are the two PDFs; every warning is an error. `make book` builds the HTML
(about 40 s on two cores), `make site` the HTML and the PDFs (about 90 s more).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
CONFIG = ROOT / "_config.yml"
TOC = ROOT / "_toc.yml"
EDITIONS = ("en", "zh")
LANDING = "landing"
# Sphinx reads these relative to its configuration directory, which is the source folder of each
# project here: make them absolute from the repository root.
PATH_KEYS = ("html_static_path", "templates_path", "locale_dirs", "html_favicon", "html_logo")
CHROMIUM = Path("/usr/bin/chromium")


def sphinx_config() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8")).get("sphinx", {}).get("config", {})


def absolute_paths(config: dict) -> dict:
    out = {}
    for key in PATH_KEYS:
        value = config.get(key)
        if isinstance(value, str):
            out[key] = str(ROOT / value)
        elif isinstance(value, list):
            out[key] = [str(ROOT / v) for v in value]
    return out


def overrides(project: str, toc: Path) -> dict:
    """Sphinx settings for one project: the edition's own, from ``reflosses_editions``."""
    config = sphinx_config()
    editions = config.get("reflosses_editions", {})
    if set(editions) != set(EDITIONS) | {LANDING}:
        raise SystemExit(f"_config.yml: sphinx.config.reflosses_editions must describe {EDITIONS} and {LANDING!r}")
    return {**absolute_paths(config), **editions[project], "external_toc_path": str(toc),
            "reflosses_edition": project, "nitpicky": True, "latex_individualpages": False}


def landing_toc(tmp: Path) -> Path:
    """The landing project: the bilingual front page and the shared glossary."""
    path = tmp / "toc-landing.yml"
    path.write_text(yaml.safe_dump({"format": "jb-book", "root": "index", "chapters": [{"file": "glossary"}]}),
                    encoding="utf-8")
    return path


def build_one(project: str, out: Path, builder: str, toc: Path) -> int:
    """One Sphinx build, in this process (called by the subprocesses of ``build``)."""
    from jupyter_book.sphinx import build_sphinx

    srcdir = BOOK if project == LANDING else BOOK / project
    doctrees = out.parent / ".doctrees" / project
    target = out if project == LANDING else out / project
    if builder == "singlehtml":
        target = out.parent / "singlehtml" / project
    result = build_sphinx(srcdir, target, noconfig=True, path_config=str(CONFIG), confoverrides=overrides(project, toc),
                          doctreedir=doctrees, builder=builder, warningiserror=True, keep_going=True, quiet=True)
    return result if isinstance(result, int) else 1


def pdf_name(edition: str) -> str:
    """Where an edition's PDF lands, relative to the site (the landing page links these)."""
    return f"{edition}/reflosses-{edition}.pdf"


def print_pdf(singlehtml: Path, pdf: Path) -> None:
    """Chromium prints the single-page build of an edition (its fonts: fonts-noto-cjk for Chinese)."""
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium and fonts-noto-cjk for the PDFs")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={profile}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               "--virtual-time-budget=20000", f"--print-to-pdf={pdf}", (singlehtml / "index.html").as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size < 10_000:
        raise SystemExit(f"printing {pdf.name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def run_parallel(jobs: list[list[str]], log) -> None:
    procs = [(job, subprocess.Popen(job, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)) for job in jobs]
    failed = []
    for job, proc in procs:
        text, _ = proc.communicate()
        log.write(text)
        if proc.returncode != 0:
            failed.append(f"{' '.join(job[2:])}: exit {proc.returncode}")
    if failed:
        raise SystemExit("site build failed:\n" + "\n".join(failed))


def build(out: Path, pdf: bool, log=sys.stdout) -> dict:
    """The whole site into ``out``; returns the seconds each stage took."""
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    me = [sys.executable, str(Path(__file__).resolve())]
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        toc_landing = landing_toc(Path(tmp))
        start = time.perf_counter()
        run_parallel([me + ["--one", p, "--out", str(out), "--toc", str(TOC)] for p in EDITIONS], log)
        times["editions"] = time.perf_counter() - start
        start = time.perf_counter()
        jobs = [me + ["--one", LANDING, "--out", str(out), "--toc", str(toc_landing)]]
        if pdf:
            jobs += [me + ["--one", p, "--out", str(out), "--toc", str(TOC), "--builder", "singlehtml"] for p in EDITIONS]
        run_parallel(jobs, log)
        times["landing" + (" and single pages" if pdf else "")] = time.perf_counter() - start
    if pdf:
        from concurrent.futures import ThreadPoolExecutor

        start = time.perf_counter()
        with ThreadPoolExecutor(len(EDITIONS)) as pool:
            list(pool.map(lambda p: print_pdf(out.parent / "singlehtml" / p, out / pdf_name(p)), EDITIONS))
        times["PDFs"] = time.perf_counter() - start
    (out / ".nojekyll").touch()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BOOK / "_build" / "html")
    parser.add_argument("--pdf", action="store_true", help="also print each edition as one PDF")
    parser.add_argument("--one", choices=EDITIONS + (LANDING,), help=argparse.SUPPRESS)
    parser.add_argument("--toc", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--builder", default="html", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        sys.exit(build_one(args.one, args.out.resolve(), args.builder, args.toc))
    start = time.perf_counter()
    times = build(args.out, pdf=args.pdf)
    print(json.dumps({k: round(v, 1) for k, v in times.items()}), f"total {time.perf_counter() - start:.1f} s",
          f"-> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
