"""The book's structure: twins, table of contents, notebook hygiene and the Chinese glossary.

Everything here reads files only (no kernel, no build), so it runs in a second or two.
"""

from __future__ import annotations

import io
import json
import pathlib
import re
import tokenize

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
EN, ZH = BOOK / "en", BOOK / "zh"
# the plain python3 kernel: a downloaded notebook runs in any Jupyter with torch and reflosses installed
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LABEL = {"en": "中文", "zh": "English"}  # the twin link's text on an en / zh page


def _pages(tree: pathlib.Path, suffix: str) -> list[pathlib.Path]:
    return sorted(
        p for p in tree.rglob(f"*{suffix}")
        if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
    )


def _rel(p: pathlib.Path) -> str:
    return p.relative_to(ROOT).as_posix()


def _twin(p: pathlib.Path) -> pathlib.Path:
    rel = p.relative_to(BOOK)
    other = "zh" if rel.parts[0] == "en" else "en"
    return BOOK / other / pathlib.Path(*rel.parts[1:])


NOTEBOOKS = _pages(EN, ".ipynb") + _pages(ZH, ".ipynb")
CHAPTERS = [p for p in NOTEBOOKS if p.parent.name not in ("en", "zh", "appendix", "families")]  # under a family folder
MD_PAGES = _pages(EN, ".md") + _pages(ZH, ".md")
PAGES = NOTEBOOKS + MD_PAGES
EN_NOTEBOOKS = _pages(EN, ".ipynb")


def _nb(p: pathlib.Path) -> dict:
    return json.loads(p.read_text(encoding="utf-8"))


def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _markdown_text(p: pathlib.Path) -> str:
    if p.suffix == ".ipynb":
        return "\n\n".join(_src(c) for c in _nb(p)["cells"] if c["cell_type"] == "markdown")
    return p.read_text(encoding="utf-8")


# ---------------------------------------------------------------- helpers that the rules rely on

def normalise_code(source: str) -> list[tuple[int, str]]:
    """The code's tokens without comments, with the contents of every string literal emptied.

    Two twins' cells must give the same list: only comments and string contents (labels, titles)
    may differ between the English and the Chinese notebook.
    """
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]  # IPython magics
    tokens = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.STRING:
                prefix = re.match(r"^[A-Za-z]*", tok.string).group(0).lower()
                if "f" in prefix:  # keep an f-string's replacement fields: they are code
                    tokens.append((tok.type, prefix + ":" + "|".join(re.findall(r"\{[^{}]*\}", tok.string))))
                else:
                    tokens.append((tok.type, prefix))
                continue
            if getattr(tokenize, "FSTRING_MIDDLE", None) == tok.type:  # Python >= 3.12 splits f-strings
                continue
            tokens.append((tok.type, tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:  # pragma: no cover - reported below
        raise AssertionError(f"cannot tokenize a code cell: {exc}\n{source}") from exc
    return tokens


def text_outputs(cell: dict) -> list[str]:
    """stdout and text/plain outputs of a code cell, in order (images and HTML excluded).

    Consecutive stdout chunks are joined: the kernel may flush one print in two stream messages.
    """
    out: list[str] = []
    stream = False
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream" and o.get("name") == "stdout":
            text = "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
            if stream:
                out[-1] += text
            else:
                out.append(text)
            stream = True
            continue
        stream = False
        if o["output_type"] in ("execute_result", "display_data") and "text/plain" in o.get("data", {}):
            t = o["data"]["text/plain"]
            out.append("".join(t) if isinstance(t, list) else t)
    return out


def heading_counts(markdown: str) -> dict[int, int]:
    """Number of ATX headings per level, outside fenced code blocks."""
    counts: dict[int, int] = {}
    fence = None
    for line in markdown.splitlines():
        m = re.match(r"^\s*(`{3,}|~{3,}|:{3,})", line)
        if m:
            mark = m.group(1)[0]
            if fence is None:
                fence = mark
            elif fence == mark:
                fence = None
            continue
        if fence in ("`", "~"):
            continue
        h = re.match(r"^(#{1,6})\s+\S", line)
        if h:
            counts[len(h.group(1))] = counts.get(len(h.group(1)), 0) + 1
    return counts


def twin_link_target(p: pathlib.Path) -> pathlib.Path | None:
    """Where the link at the very top of an en/zh page points, resolved; None if there is none."""
    text = _markdown_text(p).lstrip()
    lang = p.relative_to(BOOK).parts[0]
    m = re.match(r"^\[" + LABEL[lang] + r"\]\(([^)\s]+)\)", text)
    return (p.parent / m.group(1)).resolve() if m else None


def toc_files() -> list[str]:
    """The pages of an edition (relative to book/en and book/zh: both are built from _toc.yml)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found: list[str] = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


def _toc_path(entry: str, lang: str = "en") -> pathlib.Path | None:
    for suffix in ("", ".md", ".ipynb"):
        p = BOOK / lang / (entry + suffix)
        if p.is_file():
            return p
    return None


def glossary_rules() -> list[tuple[str, list[str]]]:
    """(preferred, [avoided variants]) rows of the glossary's '中文用词约定' table."""
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    section = text.split("## 中文用词约定", 1)[1].split("\n## ", 1)[0]
    rules = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.lstrip().startswith("|") or set(cells[0]) <= set("-: "):
            continue
        if cells[0].startswith("推荐"):
            continue
        rules.append((cells[0], [v.strip() for v in re.split(r"[、,，]", cells[1]) if v.strip()]))
    return rules


def _prose_and_comments(nb: dict) -> str:
    """A zh notebook's markdown and code comments, with inline code and fenced code removed."""
    parts = []
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            parts.append(re.sub(r"```.*?```", "", _src(c), flags=re.S))
        elif c["cell_type"] == "code":
            parts += [m.group(0) for m in re.finditer(r"#.*", _src(c))]
    return re.sub(r"`[^`\n]*`", "", "\n".join(parts))


# ------------------------------------------------------------------------------ the rules

def test_the_book_has_both_editions():
    assert (EN / "index.md").is_file() and (ZH / "index.md").is_file()
    assert NOTEBOOKS, "no notebooks under book/en or book/zh"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_every_page_has_a_twin(page):
    assert _twin(page).is_file(), f"{_rel(page)} has no twin {_rel(_twin(page))}"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_every_page_starts_with_a_link_to_its_twin(page):
    target = twin_link_target(page)
    lang = page.relative_to(BOOK).parts[0]
    assert target is not None, f"{_rel(page)} must start with [{LABEL[lang]}](<relative path to its twin>)"
    assert target == _twin(page).resolve(), f"{_rel(page)}: the top link points to {target}, not its twin"
    assert target.is_file()


def test_landing_page_links_both_editions_first():
    first = (BOOK / "index.md").read_text(encoding="utf-8").lstrip().splitlines()[0]
    targets = {(BOOK / t).resolve() for t in re.findall(r"\]\(([^)\s]+)\)", first)}
    assert {(EN / "index.md").resolve(), (ZH / "index.md").resolve()} <= targets, first
    assert "](glossary.md)" in (BOOK / "index.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", [p for p in PAGES if p.is_relative_to(EN)], ids=_rel)
def test_twins_have_the_same_headings_per_level(page):
    twin = _twin(page)
    if not twin.is_file():
        pytest.fail(f"no twin for {_rel(page)}")
    assert heading_counts(_markdown_text(page)) == heading_counts(_markdown_text(twin))


@pytest.mark.parametrize("nb_path", EN_NOTEBOOKS, ids=_rel)
def test_twins_have_the_same_code_and_text_outputs(nb_path):
    twin = _twin(nb_path)
    if not twin.is_file():
        pytest.fail(f"no twin for {_rel(nb_path)}")
    a, b = _code_cells(_nb(nb_path)), _code_cells(_nb(twin))
    assert len(a) == len(b), f"{len(a)} code cells in en, {len(b)} in zh"
    for i, (ca, cb) in enumerate(zip(a, b), start=1):
        assert normalise_code(_src(ca)) == normalise_code(_src(cb)), (
            f"code cell {i} differs beyond comments and string contents:\n--- en\n{_src(ca)}\n--- zh\n{_src(cb)}"
        )
        assert text_outputs(ca) == text_outputs(cb), f"code cell {i}: the text outputs differ"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=_rel)
def test_notebook_hygiene(nb_path):
    nb = _nb(nb_path)
    assert nb["metadata"].get("kernelspec", {}) == KERNELSPEC, "kernelspec must be the plain python3 kernel"
    cells = _code_cells(nb)
    assert [c.get("execution_count") for c in cells] == list(range(1, len(cells) + 1)), (
        "execution counts must be 1..n in order: re-run the notebook from a fresh kernel"
    )
    for i, c in enumerate(cells, start=1):
        assert "execution" not in c.get("metadata", {}), (
            f"code cell {i} stores execution timestamps: they change on every run (strip cell metadata 'execution')"
        )
        for o in c.get("outputs", []):
            assert o["output_type"] != "error", f"code cell {i} has an error output"
            text = "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
            assert "does not have a glyph" not in text and "missing from font" not in text, (
                f"code cell {i}: matplotlib could not draw a character: {text[:200]}"
            )
            assert not (o["output_type"] == "stream" and o.get("name") == "stderr"), (
                f"code cell {i} writes to stderr: {''.join(o.get('text', ''))[:200]}"
            )
            if o["output_type"] == "execute_result":
                assert o.get("execution_count") == c["execution_count"], f"code cell {i}: stale execute_result"


def _only_figures(cell: dict) -> bool:
    outs = cell.get("outputs", [])
    return bool(outs) and all(
        o["output_type"] == "display_data"
        and any(k.startswith("image/") for k in o.get("data", {}))
        and set(o["data"]) <= {"image/png", "image/svg+xml", "image/jpeg", "text/plain"}
        for o in outs
    )


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=_rel)
def test_nbval_markers(nb_path):
    for i, c in enumerate(_code_cells(_nb(nb_path)), start=1):
        src, tags = _src(c), c.get("metadata", {}).get("tags", [])
        for marker in ("NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION", "nbval-skip", "raises-exception"):
            assert marker not in src and marker not in tags, f"code cell {i}: {marker} hides a cell from nbval"
        if "NBVAL_IGNORE_OUTPUT" in src or "nbval-ignore-output" in tags:
            assert _only_figures(c), f"code cell {i}: NBVAL_IGNORE_OUTPUT is allowed only on figure-only cells"


def test_no_lax_nbval_anywhere():
    files = [ROOT / "Makefile", ROOT / "pyproject.toml", ROOT / "README.md"]
    for d in (ROOT / ".ci", ROOT / ".github"):
        files += [p for p in d.rglob("*") if p.is_file()] if d.is_dir() else []
    offenders = [_rel(p) for p in files if p.is_file() and "nbval-lax" in p.read_text(encoding="utf-8", errors="replace")]
    assert offenders == []


@pytest.mark.parametrize("nb_path", _pages(ZH, ".ipynb"), ids=_rel)
def test_zh_notebooks_label_their_code_toggles_in_chinese(nb_path):
    """MyST-NB's "Show code cell content" toggle is configured per file (metadata "mystnb")."""
    prompts = _nb(nb_path)["metadata"].get("mystnb", {})
    for key in ("code_prompt_show", "code_prompt_hide"):
        assert re.search(r"[\u4e00-\u9fff]", prompts.get(key, "")), f"metadata mystnb.{key} must be Chinese"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_chapters_have_the_twelve_sections_the_index_promises(nb_path):
    """book/en/index.md says every chapter has "the same twelve sections", book/zh/index.md 十二节."""
    lang = nb_path.relative_to(BOOK).parts[0]
    index = (BOOK / lang / "index.md").read_text(encoding="utf-8")
    assert ("twelve sections" if lang == "en" else "十二节") in index
    markdown = "\n".join(_src(c) for c in _nb(nb_path)["cells"] if c["cell_type"] == "markdown")
    assert heading_counts(markdown).get(2, 0) == 12


def test_every_toc_entry_exists_in_both_editions():
    missing = [f"{lang}/{e}" for lang in ("en", "zh") for e in toc_files() if _toc_path(e, lang) is None]
    assert missing == []


def test_every_page_is_in_the_toc():
    listed = {_toc_path(e, lang) for lang in ("en", "zh") for e in toc_files()}
    unlisted = [_rel(p) for p in PAGES if p not in listed]
    assert unlisted == []


def test_every_written_catalog_chapter_is_in_the_toc():
    from reflosses import CATALOG

    listed = set(toc_files())
    for e in CATALOG:
        for lang in ("en", "zh"):
            if (BOOK / lang / f"{e.chapter}.ipynb").exists():
                assert e.chapter in listed, f"{e.chapter} is missing from _toc.yml"


def test_every_written_chapter_is_linked_from_its_edition_index():
    from reflosses import CATALOG

    for lang in ("en", "zh"):
        index = (BOOK / lang / "index.md").read_text(encoding="utf-8")
        for e in CATALOG:
            if (BOOK / lang / f"{e.chapter}.ipynb").exists():
                assert f"]({e.chapter}.ipynb)" in index, f"book/{lang}/index.md does not link {e.chapter}"


def test_chapter_notebooks_are_catalog_chapters():
    from reflosses import CATALOG

    chapters = {e.chapter for e in CATALOG}
    for p in CHAPTERS:
        rel = p.relative_to(BOOK).with_suffix("").parts[1:]
        assert "/".join(rel) in chapters, f"{_rel(p)} is not a chapter path of reflosses.CATALOG"


def test_glossary_rules_are_well_formed():
    rules = glossary_rules()
    assert len(rules) >= 10
    preferred = {p for p, _ in rules}
    for p, avoid in rules:
        assert avoid, f"no avoided variant for {p}"
        assert not preferred & set(avoid), f"{p}: a variant is also preferred elsewhere"


def avoided_terms(text: str) -> list[str]:
    """The glossary's avoided variants found in ``text`` (the preferred term itself never counts,
    even where a variant is part of it, as 超参 is of 超参数)."""
    found = []
    for preferred, avoid in glossary_rules():
        rest = text.replace(preferred, "\0")
        found += [f"{a} → {preferred}" for a in avoid if a in rest]
    return found


@pytest.mark.parametrize("nb_path", _pages(ZH, ".ipynb"), ids=_rel)
def test_zh_notebooks_use_the_glossary_terms(nb_path):
    found = avoided_terms(_prose_and_comments(_nb(nb_path)))
    assert found == [], f"use the glossary's preferred terms (book/glossary.md): {found}"


def test_zh_md_pages_use_the_glossary_terms():
    for p in _pages(ZH, ".md"):
        text = re.sub(r"`[^`\n]*`", "", p.read_text(encoding="utf-8"))
        found = avoided_terms(text)
        assert found == [], f"{_rel(p)}: {found}"


def test_nbval_collects_the_chapters_and_not_the_build_copies():
    """`make test` runs `pytest tests book --nbval`: it must validate exactly the notebooks in
    book/en and book/zh, never the copies a site build leaves under book/_build."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "tests/conftest.py", "book", "--nbval", "--nbval-current-env"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    collected = {line.split("::")[0] for line in proc.stdout.splitlines() if ".ipynb::" in line}
    assert collected == {_rel(p) for p in NOTEBOOKS}, proc.stdout[-2000:] + proc.stderr[-2000:]
