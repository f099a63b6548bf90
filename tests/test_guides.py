"""The guide pages: the cheat sheet and "Choosing a loss", in both editions.

Reads the stored notebooks only (no kernel; nbval re-runs them): both pages name every loss of
``reflosses.CATALOG``, the cheat sheet opens with a table that has one row per catalog entry, the
two pages agree on each loss's input convention, and a class links to its chapter exactly when
the chapter exists in both editions.
"""

from __future__ import annotations

import re

import pytest
from test_book_structure import BOOK, _code_cells, _nb, _src

from reflosses import CATALOG

LANGS = ("en", "zh")
GUIDES = ("cheatsheet", "choosing")
CLASSES = [e.torch_class for e in CATALOG]


def _page(guide, lang):
    return BOOK / lang / f"{guide}.ipynb"


def _outputs(cell, mime):
    out = []
    for o in cell.get("outputs", []):
        data = o.get("data", {})
        if mime in data:
            out.append("".join(data[mime]) if isinstance(data[mime], list) else data[mime])
    return out


def _shown_text(nb):
    """What a reader sees: the markdown cells and the Markdown outputs (the generated tables)."""
    parts = [_src(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    for c in _code_cells(nb):
        parts += _outputs(c, "text/markdown")
    return "\n".join(parts)


def _plain_table(text):
    """Rows of reflosses.book.Table's text form: columns are separated by two or more spaces,
    aligned under the header, whose cells contain no double space."""
    lines = text.splitlines()
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", lines[0])]
    ends = starts[1:] + [None]
    return [[line[s:e].strip() for s, e in zip(starts, ends)] for line in lines]


def _table_cell(nb, first_header):
    """The code cell whose text/plain output is a Table starting with ``first_header``."""
    for c in _code_cells(nb):
        for text in _outputs(c, "text/plain"):
            if text.split("  ", 1)[0] == first_header:
                return c, _plain_table(text)
    raise AssertionError(f"no table with the column {first_header!r}")


def _written(e):
    return all((BOOK / lang / f"{e.chapter}.ipynb").is_file() for lang in LANGS)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("guide", GUIDES)
def test_guide_names_every_loss(guide, lang):
    text = _shown_text(_nb(_page(guide, lang)))
    missing = [cls for cls in CLASSES if not re.search(rf"\b{cls}\b", text)]
    assert missing == [], f"book/{lang}/{guide}.ipynb does not name {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_cheatsheet_opens_with_a_row_per_catalog_entry(lang):
    nb = _nb(_page("cheatsheet", lang))
    first = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    before = "\n".join(_src(c) for c in nb["cells"][:first])
    assert not re.search(r"^##\s", before, flags=re.M), "the table must come before any section"
    cell = nb["cells"][first]
    assert {"hide-input", "remove-input"} & set(cell.get("metadata", {}).get("tags", [])), (
        "the table's code must be collapsed or removed, so that the page opens with the table"
    )
    table_cell, rows = _table_cell(nb, "class")
    assert table_cell is cell, "the first code cell must be the table"
    assert [r[0] for r in rows[1:]] == CLASSES
    markdown = _outputs(cell, "text/markdown")
    assert len(markdown) == 1
    body = [line for line in markdown[0].splitlines()[2:] if line.startswith("|")]
    assert len(body) == len(CATALOG)
    for line, cls in zip(body, CLASSES):
        assert re.match(rf"^\| \[?{cls}\b", line), line


@pytest.mark.parametrize("lang", LANGS)
def test_the_guides_agree_on_input_conventions(lang):
    _, cheat = _table_cell(_nb(_page("cheatsheet", lang)), "class")
    _, tree = _table_cell(_nb(_page("choosing", lang)), "target")
    cheat_input = {r[0]: r[cheat[0].index("input / target")].split(" / ")[0] for r in cheat[1:]}
    col = tree[0].index("input")
    loss = tree[0].index("loss")
    for r in tree[1:]:
        assert r[col] == cheat_input[r[loss]], f"{r[loss]}: {r[col]!r} on the choosing page, {cheat_input[r[loss]]!r} on the cheat sheet"
    assert {r[loss] for r in tree[1:]} == set(CLASSES)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("guide", GUIDES)
def test_guides_link_exactly_the_chapters_written_in_both_editions(guide, lang):
    nb = _nb(_page(guide, lang))
    markdown = "\n".join(o for c in _code_cells(nb) for o in _outputs(c, "text/markdown"))
    linked = set(re.findall(r"\]\(([\w/]+)\.ipynb\)", markdown))
    want = {e.chapter for e in CATALOG if _written(e)}
    assert linked - want == set(), f"links to chapters that are not written in both editions: {linked - want}"
    assert want - linked == set(), f"re-run book/{lang}/{guide}.ipynb: no link yet to {want - linked}"


@pytest.mark.parametrize("lang", LANGS)
def test_choosing_draws_the_tree_with_alt_text(lang):
    nb = _nb(_page("choosing", lang))
    figures = [c for c in _code_cells(nb)
               if any(k.startswith("image/") for o in c.get("outputs", []) for k in o.get("data", {}))]
    assert len(figures) == 1
    alt = figures[0].get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
    assert len(alt) > 40
    assert bool(re.search(r"[\u4e00-\u9fff]", alt)) == (lang == "zh"), "alt text in the page's language"
    assert "plt.show()" in _src(figures[0])
