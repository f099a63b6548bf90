"""The guide pages: "Common misconceptions" and the five family overviews, in both languages.

Reads the stored notebooks only (no kernel); strict nbval re-runs their cells.

How a chapter's misconception box is matched to the misconceptions page
----------------------------------------------------------------------
A box is a ``:::{admonition} A common misconception`` block (zh: ``常见误解``) in the markdown of a
chapter notebook, ``book/<lang>/<family>/<name>.ipynb``. Its claims are the block quotes at its
top: each quoted paragraph (consecutive ``> `` lines) is one claim; a box may hold several.

The key of a claim is ``(chapter file, normalised quote)``. Normalising lowercases the text and
drops everything that is not a letter or a digit (quote marks “” "", backticks, punctuation, TeX
backslashes, spaces, line breaks), so rewrapping a line or changing the quote marks does not
matter, while any change of wording does.

The misconceptions page lists its items as boxes of the same kind, one per wrong claim, each
quoting the claim and linking to the chapter section(s) that treat it, followed by the code cell
that disproves it. A chapter claim is covered when a box on the page of the *same language*

1. links to the chapter's file (any anchor), and
2. quotes a text whose normalised form contains the claim's normalised form (so one item may
   quote the fuller of two wordings that two chapters use for the same claim).

The test therefore fails when a chapter gains a box or rewords a claim, and names the missing
(chapter, claim) pairs, until the page follows. Claims the page adds on its own (not from a
chapter box) need no chapter counterpart, but every one of its links must resolve.
"""

from __future__ import annotations

import json
import re

import pytest
from test_book_structure import BOOK, NOTEBOOKS, _code_cells, _nb, _rel, _src, _twin
from test_chapter_anatomy import MISCONCEPTION, SOURCE_WORDS

from reflosses import CATALOG

LANGS = ("en", "zh")
FAMILIES = sorted({e.family for e in CATALOG})
PAGE = {lang: BOOK / lang / "misconceptions.ipynb" for lang in LANGS}
FAMILY_PAGES = {(lang, f): BOOK / lang / "families" / f"{f}.ipynb" for lang in LANGS for f in FAMILIES}
GUIDES = [PAGE[lang] for lang in LANGS] + [FAMILY_PAGES[k] for k in sorted(FAMILY_PAGES)]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _lang(p):
    return p.relative_to(BOOK).parts[0]


def chapters(lang: str):
    """Every chapter notebook of an edition: book/<lang>/<folder>/<name>.ipynb, the family
    overviews excluded (they are guide pages, not chapters)."""
    return [p for p in NOTEBOOKS
            if p.relative_to(BOOK).parts[0] == lang and len(p.relative_to(BOOK).parts) == 3
            and p.parent.name != "families"]


def normalise(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def boxes(markdown: str, lang: str) -> list[str]:
    """The bodies of the misconception boxes in a piece of markdown."""
    pattern = r"^(:{3,})\{admonition\} " + MISCONCEPTION[lang] + r"\n(.*?)^\1$"
    return [m.group(2) for m in re.finditer(pattern, markdown, flags=re.M | re.S)]


def quotes(body: str) -> list[str]:
    """The quoted paragraphs of a box body, each joined into one string."""
    found, current = [], []
    for line in body.splitlines():
        if line.startswith(">"):
            current.append(line[1:].strip())
        elif current:
            found.append(" ".join(current))
            current = []
    if current:
        found.append(" ".join(current))
    return found


def chapter_claims(lang: str) -> list[tuple[str, str]]:
    """(chapter path relative to book/<lang>, quoted claim) for every box of every chapter."""
    claims = []
    for p in chapters(lang):
        markdown = "\n\n".join(_src(c) for c in _nb(p)["cells"] if c["cell_type"] == "markdown")
        for body in boxes(markdown, lang):
            rel = p.relative_to(BOOK / lang).as_posix()
            claims += [(rel, q) for q in quotes(body)]
    return claims


def page_items(lang: str) -> list[dict]:
    """The boxes on the misconceptions page: quotes, link targets, and whether a code cell follows."""
    cells = _nb(PAGE[lang])["cells"]
    items = []
    for i, c in enumerate(cells):
        if c["cell_type"] != "markdown":
            continue
        for body in boxes(_src(c), lang):
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            items.append({"cell": i, "quotes": quotes(body), "links": LINK.findall(body),
                          "proof": nxt is not None and nxt["cell_type"] == "code", "body": body})
    return items


def markdown_outputs(nb: dict) -> list[str]:
    out = []
    for c in _code_cells(nb):
        for o in c.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if md is not None:
                out.append("".join(md) if isinstance(md, list) else md)
    return out


def _resolve(page, href):
    """(target file, anchor or None) of a relative link; None for a link to another site."""
    if re.match(r"^[a-z]+:", href) or href.startswith("#"):
        return None
    path, _, anchor = href.partition("#")
    return (page.parent / path).resolve(), anchor or None


def _labels(target) -> str:
    if target.suffix == ".ipynb":
        return "\n".join(_src(c) for c in _nb(target)["cells"] if c["cell_type"] == "markdown")
    return target.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------- tests

@pytest.mark.parametrize("page", GUIDES, ids=_rel)
def test_guide_page_exists(page):
    assert page.is_file(), f"{_rel(page)} is missing"


@pytest.mark.parametrize("lang", LANGS)
def test_chapters_have_misconception_boxes(lang):
    """Guards the parser: if it finds no claim at all, the coverage test below proves nothing."""
    assert len(chapter_claims(lang)) >= 10


@pytest.mark.parametrize("lang", LANGS)
def test_every_chapter_misconception_is_on_the_page(lang):
    items = page_items(lang)
    missing = []
    for chapter, claim in chapter_claims(lang):
        target = (BOOK / lang / chapter).resolve()
        covered = any(
            any(r is not None and r[0] == target for r in (_resolve(PAGE[lang], h) for h in item["links"]))
            and any(normalise(claim) in normalise(q) for q in item["quotes"])
            for item in items
        )
        if not covered:
            missing.append(f"{chapter}: {claim}")
    assert missing == [], f"book/{lang}/misconceptions.ipynb lacks these chapter claims:\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", LANGS)
def test_every_item_quotes_links_and_is_proved_by_a_cell(lang):
    items = page_items(lang)
    assert len(items) >= len({normalise(q) for _, q in chapter_claims(lang)}) // 2
    for item in items:
        assert ":class: misconception" in item["body"], item["body"][:80]
        assert item["quotes"], f"cell {item['cell']}: no quoted claim"
        assert item["links"], f"cell {item['cell']}: no link to the chapter that treats the claim"
        assert item["proof"], f"cell {item['cell']}: the next cell must be the code that disproves the claim"


def test_both_editions_list_the_same_number_of_items():
    assert len(page_items("zh")) == len(page_items("en"))


@pytest.mark.parametrize("page", GUIDES, ids=_rel)
def test_every_link_on_the_guide_pages_resolves(page):
    """Links in the prose and in the generated lists: the file exists, and so does the anchor."""
    nb = _nb(page)
    texts = [_src(c) for c in nb["cells"] if c["cell_type"] == "markdown"] + markdown_outputs(nb)
    hrefs = [h for t in texts for h in LINK.findall(t)]
    assert hrefs
    for href in hrefs:
        resolved = _resolve(page, href)
        if resolved is None:
            continue
        target, anchor = resolved
        assert target.is_file(), f"{_rel(page)}: {href} points to a missing file"
        twin = target == _twin(page).resolve()
        assert twin or target.is_relative_to(BOOK / _lang(page)), f"{_rel(page)}: {href} leaves the {_lang(page)} edition"
        if anchor:
            assert f"({anchor})=" in _labels(target), f"{_rel(page)}: {href}: no label ({anchor})= in the target"


@pytest.mark.parametrize("lang", LANGS)
def test_guide_pages_name_every_loss(lang):
    text = ""
    for page in [PAGE[lang]] + [FAMILY_PAGES[(lang, f)] for f in FAMILIES]:
        nb = _nb(page)
        text += "\n".join(_src(c) for c in nb["cells"] if c["cell_type"] == "markdown") + "\n"
        text += "\n".join(markdown_outputs(nb)) + "\n"
    unnamed = [e.torch_class for e in CATALOG if not re.search(r"\b" + e.torch_class + r"\b", text)]
    assert unnamed == []


@pytest.mark.parametrize("key", sorted(FAMILY_PAGES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_family_page_lists_its_losses_from_the_catalog(key):
    """The stored list is what the catalog gives today: every member in catalog order, a link
    exactly where the chapter exists in both editions, the summary in the page's language."""
    lang, family = key
    outputs = markdown_outputs(_nb(FAMILY_PAGES[key]))
    assert len(outputs) == 1, "one generated list per family page"
    lines = [ln for ln in outputs[0].splitlines() if ln.startswith("- ")]
    members = [e for e in CATALOG if e.family == family]
    assert len(lines) == len(members)
    for line, e in zip(lines, members):
        both = all((BOOK / lg / f"{e.chapter}.ipynb").is_file() for lg in LANGS)
        name = f"[{e.torch_class}](../{e.chapter}.ipynb)" if both else e.torch_class
        summary = e.summary_en if lang == "en" else e.summary_zh
        assert line == f"- {name} (`F.{e.name}`): {summary}", "re-run the page: the catalog or the chapters changed"


@pytest.mark.parametrize("key", sorted(FAMILY_PAGES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_family_page_has_one_figure_with_alt_text(key):
    lang, _ = key
    figures = [c for c in _code_cells(_nb(FAMILY_PAGES[key]))
               if any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert len(figures) == 1
    alt = figures[0]["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
    assert len(alt) >= 20 and (lang == "en" or re.search(r"[\u4e00-\u9fff]", alt)), alt
    assert "COLORS[" in _src(figures[0]) and "plot_loss_and_grad(" in _src(figures[0])


@pytest.mark.parametrize("page", GUIDES, ids=_rel)
def test_guide_pages_set_their_language_and_never_name_the_sources(page):
    lang = _lang(page)
    nb = _nb(page)
    assert f'setup("{lang}")' in "\n".join(_src(c) for c in _code_cells(nb))
    text = "\n".join(_src(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert not SOURCE_WORDS[lang].search(text)


def test_the_parser_finds_boxes_quotes_and_keys():
    body = boxes(':::{admonition} A common misconception\n:class: misconception\n> "One\n> claim."\n\n'
                 '> Two.\n\nText [x](a/b.ipynb#b-pitfalls).\n:::\n', "en")
    assert len(body) == 1 and quotes(body[0]) == ['"One claim."', "Two."]
    assert normalise("“`BCELoss` takes\n`pos_weight`.”") == normalise('"BCELoss takes pos_weight."')
    assert normalise("BCELoss takes pos_weight.") in normalise("BCELoss takes `pos_weight` to weigh positives.")
    assert json.dumps(normalise("交叉熵，等于 −log 0.6。"), ensure_ascii=False) == '"交叉熵等于log06"'
