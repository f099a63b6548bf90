"""The chapter anatomy (second edition, CONTRIBUTING.md): every chapter, in both languages.

Reads the stored notebooks only (no kernel): sections and anchors in order, the generated
signature and shapes tables, the collapsed implementers section, one toggle per exercise
solution, alt text on every figure, misconception boxes, and no words about the book's sources.
"""

from __future__ import annotations

import inspect
import re

import pytest
import torch
from test_book_structure import BOOK, CHAPTERS, _code_cells, _nb, _rel, _src, text_outputs

from reflosses import CATALOG

SECTIONS = [  # (anchor key, English heading, Chinese heading)
    ("glance", "At a glance", "速览"),
    ("when", "When to use it", "何时使用"),
    ("definition", "Definition", "定义"),
    ("implementation", "The reference implementation", "参考实现"),
    ("example", "A worked example by hand", "手算示例"),
    ("parameters", "Every parameter", "逐个看参数"),
    ("pictures", "Pictures", "图像"),
    ("gradient", "The gradient, derived and checked", "梯度：推导与验证"),
    ("pitfalls", "Common pitfalls", "常见陷阱"),
    ("exercises", "Exercises", "练习"),
    ("implementers", "For implementers", "写给实现者"),
    ("references", "References", "参考文献"),
]
MISCONCEPTION = {"en": "A common misconception", "zh": "常见误解"}
ENTRY = {e.chapter: e for e in CATALOG}
# Readers do not know what "the seeds" are; a quoted claim goes in a misconception box instead.
SOURCE_WORDS = {"en": re.compile(r"\bseeds?\b|blog posts? this book|source posts?", re.I),
                "zh": re.compile(r"种子文章|本书取材|源博客|这些博客")}


def _lang(p):
    return p.relative_to(BOOK).parts[0]


def _entry(p):
    return ENTRY["/".join(p.relative_to(BOOK).with_suffix("").parts[1:])]


def _anchor(p, key):
    return f"{_entry(p).name.replace('_', '-')}-{key}"


def _sections(cells):
    """[(index of the cell holding a '## ' heading, heading text, label right above it or None)]."""
    found = []
    for i, c in enumerate(cells):
        if c["cell_type"] != "markdown":
            continue
        lines = _src(c).splitlines()
        for j, line in enumerate(lines):
            if line.startswith("## "):
                above = next((ln.strip() for ln in reversed(lines[:j]) if ln.strip()), "")
                m = re.fullmatch(r"\(([\w-]+)\)=", above)
                found.append((i, line[3:].strip(), m.group(1) if m else None))
    return found


def _section_cells(cells, key):
    secs = _sections(cells)
    keys = [k for k, _, _ in SECTIONS]
    start = secs[keys.index(key)][0]
    nxt = keys.index(key) + 1
    end = secs[nxt][0] if nxt < len(secs) else len(cells)
    return start, cells[start:end]


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_sections_and_anchors_in_order(nb_path):
    lang = _lang(nb_path)
    got = [(h, label) for _, h, label in _sections(_nb(nb_path)["cells"])]
    want = [(en if lang == "en" else zh, _anchor(nb_path, key)) for key, en, zh in SECTIONS]
    assert got == want


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_the_page_opens_with_title_and_at_a_glance(nb_path):
    first = _src(_nb(nb_path)["cells"][0])
    lines = [ln for ln in first.splitlines() if ln.strip()]
    assert lines[1].startswith("# "), "the twin link, then the title"
    assert f"({_anchor(nb_path, 'glance')})=" in first, "'At a glance' opens the page, in the first cell"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_at_a_glance_has_training_step_signatures_and_shapes(nb_path):
    e = _entry(nb_path)
    _, cells = _section_cells(_nb(nb_path)["cells"], "glance")
    code = "\n".join(_src(c) for c in cells if c["cell_type"] == "code")
    prose = "\n".join(_src(c) for c in cells if c["cell_type"] == "markdown")
    assert f"criterion = nn.{e.torch_class}(" in code, "a training step that uses the torch.nn module"
    assert ".backward()" in code and ".step()" in code
    assert f"api_table(F.{e.name}, nn.{e.torch_class}, reflosses.{e.name})" in code
    assert f"shapes_table(nn.{e.torch_class}" in code
    assert "$$" in prose, "the formula"
    assert "torch.nn" in prose and "reflosses" in prose, "say: use torch.nn in your code; reflosses is for reading"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_signature_table_lists_every_parameter_of_torch(nb_path):
    e = _entry(nb_path)
    fn = getattr(torch.nn.functional, e.name)
    module = getattr(torch.nn, e.torch_class)
    cell = next(c for c in _code_cells(_nb(nb_path)) if "api_table(" in _src(c))
    table = "\n".join(text_outputs(cell))
    rows = {ln.split()[0] for ln in table.splitlines()[1:] if ln.strip()}
    params = set(inspect.signature(fn).parameters) | set(inspect.signature(module).parameters)
    assert params <= rows, f"missing from the page's signature table: {sorted(params - rows)}"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_implementers_section_is_collapsed(nb_path):
    start, cells = _section_cells(_nb(nb_path)["cells"], "implementers")
    head = _src(cells[0]).split("## ", 1)[1].split("\n", 1)
    rest = head[1].strip() if len(head) > 1 else ""
    assert not rest or rest.startswith((":::{dropdown}", "::::{dropdown}")), "text after the heading must be in a dropdown"
    assert len(cells) > 1 or rest, "the section is empty"
    for c in cells[1:]:
        if c["cell_type"] == "code":
            assert "hide-cell" in c["metadata"].get("tags", []), f"implementers code must be hide-cell: {_src(c)[:60]}"
        else:
            assert _src(c).lstrip().startswith((":::{dropdown}", "::::{dropdown}")), f"not collapsed: {_src(c)[:60]}"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_one_toggle_per_exercise_solution(nb_path):
    lang = _lang(nb_path)
    _, cells = _section_cells(_nb(nb_path)["cells"], "exercises")
    questions = re.findall(r"^\d+\. ", "\n".join(_src(c) for c in cells if c["cell_type"] == "markdown"), flags=re.M)
    solutions = [c for c in cells if c["cell_type"] == "code"]
    assert questions and len(solutions) == len(questions), "one solution cell per numbered exercise"
    assert all(c["cell_type"] == "code" for c in cells[1:]), "no separate solution text: explain in the solution cell"
    for k, c in enumerate(solutions, start=1):
        assert c["metadata"].get("tags") == ["hide-cell"]
        prompt = c["metadata"].get("mystnb", {}).get("code_prompt_show", "")
        assert prompt == (f"Solution {k}" if lang == "en" else f"解答 {k}"), prompt
        assert _src(c).lstrip().startswith("#"), "the solution's explanation opens the cell, as comments"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_figures_have_alt_text_in_the_page_language(nb_path):
    lang = _lang(nb_path)
    for c in _code_cells(_nb(nb_path)):
        if not any("image/png" in o.get("data", {}) for o in c.get("outputs", [])):
            continue
        alt = c["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
        assert len(alt) >= 20 and not re.search(r"\.(png|svg)\b|/", alt), f"alt text: {alt!r}\n{_src(c)[:80]}"
        if lang == "zh":
            assert re.search(r"[\u4e00-\u9fff]", alt), alt
        for o in c["outputs"]:
            if "image/png" in o.get("data", {}):
                width = o.get("metadata", {}).get("image/png", {}).get("width")
                assert width, "figures are stored at 2x with their display width (setup() does this)"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_misconceptions_are_boxes_that_quote_the_claim(nb_path):
    lang = _lang(nb_path)
    text = "\n".join(_src(c) for c in _nb(nb_path)["cells"] if c["cell_type"] == "markdown")
    assert not SOURCE_WORDS[lang].search(text), SOURCE_WORDS[lang].search(text).group(0)
    for m in re.finditer(r"^(:{3,})\{admonition\} " + MISCONCEPTION[lang] + r"\n(.*?)^\1$", text, flags=re.M | re.S):
        body = m.group(2)
        assert ":class: misconception" in body
        assert re.search(r"^> ", body, flags=re.M), "the box quotes the claim as a block quote"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=_rel)
def test_setup_sets_the_page_language(nb_path):
    code = "\n".join(_src(c) for c in _code_cells(_nb(nb_path)))
    assert f'setup("{_lang(nb_path)}")' in code


def main_text_words(nb_path) -> int:
    """English words a learner reads: markdown prose outside 'For implementers' and 'References',
    without math, code blocks, directive options and anchors."""
    cells = _nb(nb_path)["cells"]
    skip = set()
    for key in ("implementers", "references"):
        start, part = _section_cells(cells, key)
        skip |= set(range(start + 1, start + len(part)))
        skip.add(start) if key == "references" else None
    text = "\n".join(_src(c) for i, c in enumerate(cells) if c["cell_type"] == "markdown" and i not in skip)
    if "## For implementers" in text:
        text = text.split("## For implementers")[0]
    text = re.sub(r"\$\$.*?\$\$|```.*?```", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$|^\([\w-]+\)=$|^:\w[\w-]*:.*$|\]\([^)]*\)|\{\w+(:\w+)?\}`[^`]*`", " ", text, flags=re.M)
    return len(re.findall(r"[A-Za-z][A-Za-z'’-]*", text))


WORD_BUDGET = 2100  # "about 1,800" words for the main text (DESIGN.md); past this a chapter is too dense


@pytest.mark.parametrize("nb_path", [p for p in CHAPTERS if _lang(p) == "en"], ids=_rel)
def test_main_text_fits_a_learners_sitting(nb_path):
    assert main_text_words(nb_path) <= WORD_BUDGET


if __name__ == "__main__":  # python tests/test_chapter_anatomy.py: the word counts for the closing note
    for p in CHAPTERS:
        if _lang(p) == "en":
            print(f"{main_text_words(p):5d}  {_rel(p)}")
