"""The published site: built once per session (conftest's ``site_build``), read as files, then
driven in Chromium.

The site mirrors the folder book/: ``index.html`` and ``glossary.html`` (the bilingual landing
project), ``en/...`` and ``zh/...`` (two editions, each its own Sphinx project with its own
navigation, search index and interface language); `make site` adds ``en/reflosses-en.pdf`` and
``zh/reflosses-zh.pdf``.

In Chromium (Debian's, through Playwright, the site served on 127.0.0.1): every page loads cleanly
(no console error, no failed request, no other host), with its formulas typeset and its images
loaded; a chapter's first visit stays under 1 MB and 25 requests (a table for three pages and the
heaviest chapter goes to tests/artifacts/weight.md); nothing moves after the load event and no raw
TeX shows at first paint, also with the CPU slowed four times; no page is wider than a phone and
no table column narrower than its longest word at 320 and 390 px; the language button keeps the
reader's section on every page; each edition's search finds its own pages and shows the matching
sentence; Chinese on English pages takes Simplified Chinese glyphs. Screenshots go to
tests/artifacts/. Without /usr/bin/chromium the browser tests skip locally and fail under CI=true.
(One module, so that one pytest worker builds the site and runs everything that reads it.)
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
EDITIONS = ("en", "zh")
CJK = re.compile(r"[\u4e00-\u9fff]")
RESOURCE_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch",
                 "icon", "shortcut", "apple-touch-icon", "manifest", "mask-icon"}
sys.path.insert(0, str(ROOT / "book" / "_ext"))


# ----------------------------------------------------------------------------- the pages

SKIP = ("_static/", "_sources/", "_images/", "_downloads/", "jupyter_execute/")


def content_pages(site: Path) -> list[Path]:
    """Every HTML page of the site (not the copied assets, sources or the index/search pages)."""
    pages = []
    for p in sorted(site.rglob("*.html")):
        rel = p.relative_to(site).as_posix()
        inner = rel.split("/", 1)[1] if rel.split("/")[0] in EDITIONS else rel
        if inner.startswith(SKIP) or inner in ("search.html", "genindex.html"):
            continue
        pages.append(p)
    return pages


def lang_of(site: Path, page: Path) -> str | None:
    first = page.relative_to(site).parts[0]
    return first if first in EDITIONS else None


def twin_path(site: Path, page: Path) -> Path:
    parts = list(page.relative_to(site).parts)
    parts[0] = {"en": "zh", "zh": "en"}[parts[0]]
    return site.joinpath(*parts)


@functools.lru_cache(maxsize=None)
def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def tree(page: Path):
    """A page parsed once per session by lxml (read it only: the tests share it)."""
    import lxml.html

    return lxml.html.fromstring(_text(page))


def text_of(el) -> str:
    return "".join(el.itertext())


NOT_CODE = ("not(ancestor-or-self::code) and not(ancestor-or-self::pre) and not(ancestor::span[contains(@class,'math')])"
            " and not(ancestor::*[contains(@class,'highlight')]) and not(ancestor::script) and not(ancestor::style)")


def chapter_pages(site: Path, lang: str) -> list[Path]:
    """Notebook chapters (their source is a notebook) in one edition."""
    out = []
    for p in content_pages(site):
        if lang_of(site, p) == lang:
            rel = p.relative_to(site / lang).with_suffix(".ipynb")
            if (ROOT / "book" / lang / rel).is_file():
                out.append(p)
    return out


def resolve(page: Path, href: str) -> Path:
    return Path(unquote(urlsplit(urljoin(page.as_uri(), href)).path))


# ----------------------------------------------------------------------------- static checks

def is_external(url: str) -> bool:
    url = url.strip()
    return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.I)) and not url.lower().startswith("file:")


def css_urls(text: str) -> list[str]:
    urls = [m.group(2) for m in re.finditer(r"url\(\s*(['\"]?)(.*?)\1\s*\)", text)]
    urls += [m.group(2) for m in re.finditer(r"@import\s+(['\"])(.*?)\1", text)]
    return [u for u in urls if not u.startswith("data:")]


def test_no_resource_from_another_host(site):
    offenders = []
    for page in content_pages(site):
        doc = tree(page)
        rel = page.relative_to(site).as_posix()
        for tag in doc.xpath("//script[@src] | //img[@src] | //iframe[@src] | //embed[@src] | //source[@src]"
                             " | //video[@src] | //audio[@src] | //track[@src]"):
            if is_external(tag.get("src")):
                offenders.append(f"{rel}: <{tag.tag} src={tag.get('src')}>")
        for tag in doc.xpath("//object[@data]"):
            if is_external(tag.get("data")):
                offenders.append(f"{rel}: <object data={tag.get('data')}>")
        for tag in doc.xpath("//link[@href]"):
            rels = set((tag.get("rel") or "").split())
            if rels & RESOURCE_RELS and is_external(tag.get("href")):
                offenders.append(f"{rel}: <link rel={sorted(rels)} href={tag.get('href')}>")
        for tag in doc.xpath("//script[not(@src)]"):
            url = re.search(r"https?://[^\s\"']+", tag.text or "")
            if url:
                offenders.append(f"{rel}: inline <script> mentions {url[0]}")
        for tag in doc.xpath("//*[@style]"):
            offenders += [f"{rel}: style url {u}" for u in css_urls(tag.get("style")) if is_external(u)]
        for tag in doc.xpath("//style"):
            offenders += [f"{rel}: <style> url {u}" for u in css_urls(tag.text or "") if is_external(u)]
    for css in site.rglob("_static/**/*.css"):
        offenders += [f"{css.relative_to(site)}: {u}" for u in css_urls(css.read_text(encoding="utf-8", errors="replace"))
                      if is_external(u)]
    assert not offenders, "\n".join(offenders)


def test_every_internal_link_and_anchor_resolves(site):
    """Every link of every page (navigation, prev/next, cross-edition links such as the twin link
    and the glossary, the PDFs) reaches a file of the site, and its #anchor an id on that page."""
    from build_site import EDITIONS as BUILT
    from build_site import pdf_name

    problems, checked, pdfs = [], 0, set()
    for page in content_pages(site):
        for a in tree(page).xpath("//a[@href]"):
            href = a.get("href")
            if is_external(href) or href.startswith(("mailto:", "javascript:")) or href == "#":
                continue
            if href.endswith(".pdf"):  # printed by `make site`, not by the test build
                pdfs.add(resolve(page, href).relative_to(site).as_posix())
                continue
            target = resolve(page, href)
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                problems.append(f"{page.relative_to(site)}: {href} -> missing")
                continue
            anchor = urlsplit(href).fragment
            if anchor and target.suffix == ".html" and f'id="{anchor}"' not in _text(target):
                problems.append(f"{page.relative_to(site)}: {href} -> no id {anchor!r}")
    assert checked > 1000 and not problems, "\n".join(problems[:30])
    assert pdfs == {pdf_name(e) for e in BUILT}, pdfs


def test_each_edition_navigates_within_itself(site):
    """Sidebar, previous/next and the root link of an edition's pages stay in that edition."""
    problems = []
    for page in content_pages(site):
        lang = lang_of(site, page)
        if lang is None:
            continue
        links = tree(page).xpath("//nav[contains(@class,'bd-docs-nav')]//a[@href] | //a[contains(@class,'left-prev')]"
                                 " | //a[contains(@class,'right-next')] | //a[contains(@class,'navbar-brand')]")
        assert links, page
        for a in links:
            target = resolve(page, a.get("href"))
            if site / lang not in target.parents:
                problems.append(f"{page.relative_to(site)}: {text_of(a).strip()[:40]!r} -> {a.get('href')}")
    assert not problems, "\n".join(problems[:20])
    # the first Chinese page has no "previous" in English, the last English page no "next" in Chinese
    for lang in EDITIONS:
        doc = tree(site / lang / "index.html")
        assert not doc.xpath("//a[contains(@class,'left-prev')]")
        nav = doc.xpath("//nav[contains(@class,'bd-docs-nav')]//a[@href]")
        assert (CJK.search(text_of(nav[0])) is not None) == (lang == "zh"), text_of(nav[0])


def test_math_is_rendered_at_build_time(site):
    """No MathJax script on any page: formulas arrive as CHTML with hidden MathML, styled by the
    project's stylesheet, whose MathJax fonts are served from the site."""
    for page_path in content_pages(site):
        doc = tree(page_path)
        assert not [s for s in doc.xpath("//script/@src") if "mathjax" in s.lower()], page_path
        assert not [t for t in doc.xpath("//script/@type") if "mathjax" in t.lower()], page_path
    for lang in EDITIONS:
        maths = tree(site / lang / "regression" / "l1_loss.html").xpath("//*[contains(concat(' ',@class,' '),' math ')]")
        assert maths and all(m.xpath(".//mjx-container") for m in maths)
        assert all(m.xpath(".//math") for m in maths), "every formula carries MathML for screen readers"
        css = (site / lang / "_static" / "site.css").read_text(encoding="utf-8")
        assert "mjx-container" in css
        fonts = re.findall(r'url\("?([^")]+\.woff)"?\)', css)
        assert fonts and all((site / lang / "_static" / f).is_file() for f in fonts)


def test_one_stylesheet_and_no_font_awesome_script(site):
    """Each page links its project's one stylesheet (plus sphinx-design's where it is used); Font
    Awesome comes as CSS with fonts cut to the glyphs used, embedded; the search scripts and index
    load on the search page only."""
    for page in content_pages(site):
        doc = tree(page)
        sheets = [h.split("?")[0].rsplit("_static/", 1)[-1] for h in doc.xpath("//link[@rel='stylesheet']/@href")]
        assert sheets[0] == "site.css" and set(sheets[1:]) <= {"sphinx-design.min.css"}, (page, sheets)
        scripts = " ".join(doc.xpath("//script/@src"))
        assert "fontawesome" not in scripts and "searchindex" not in scripts and "thebe" not in scripts, (page, scripts)
    for project in (site, site / "en", site / "zh"):
        css = (project / "_static" / "site.css").read_text(encoding="utf-8")
        assert "vendor/fontawesome" not in css
        assert len(re.findall(r"@font-face\{[^}]*Font Awesome[^}]*data:font/woff;base64,", css)) == 3
        assert ".fa-bars:before" in css and ".fa-yelp:before" not in css  # used / never used
        assert "Font Awesome Free" in css, "the licence comment stays"
        assert "searchindex.js" in _text(project / "search.html")


def test_every_icon_the_css_draws_is_in_its_embedded_font(site):
    """Font Awesome glyphs are drawn from fonts cut down at build time: every glyph a rule of the
    stylesheet can still show (icon classes, and the theme's --pst-icon-* variables behind the
    admonition titles and "hide search matches") must be in the font; and Bootstrap's tooltip
    arrows, whose classes are built at run time, survive the purge."""
    import base64
    import io

    from fontTools.ttLib import TTFont

    for project in (site, site / "en", site / "zh"):
        css = (project / "_static" / "site.css").read_text(encoding="utf-8")
        wanted = {int(c, 16) for c in re.findall(r'content:"\\(f[0-9a-f]{3})"', css)}
        wanted |= {ord(c) for c in re.findall("--pst-icon-[a-z-]+:\"([\ue000-\uf8ff])\"", css)}
        assert 0xF0F3 in wanted and 0xF010 in wanted  # the bell and the search-minus
        have = set()
        for data in re.findall(r"Font Awesome[^}]*?data:font/woff;base64,([A-Za-z0-9+/=]+)", css):
            have |= set(TTFont(io.BytesIO(base64.b64decode(data))).getBestCmap())
        assert not wanted - have, sorted(hex(c) for c in wanted - have)
        assert ".bs-tooltip-auto[data-popper-placement^=top] .tooltip-arrow" in css


def test_purge_keeps_what_pages_or_scripts_may_use():
    from site_assets import _selector_used, purge

    css = ("/*! licence */ .a{x:1} .b,.c{y:2} .d:not(.e){z:3} @media (max-width:9px){.b{w:1}.a .f{v:2}}"
           "@font-face{font-family:q} #g{u:1} [data-x=\".h\"]{t:1} /* gone */")
    out = purge(css, {"a", "c", "d"})
    assert "/*! licence */" in out and "gone" not in out
    assert ".a{x:1}" in out and ".c{y:2}" in out and ".b," not in out and ".b{" not in out
    assert ".d:not(.e){z:3}" in out and "@font-face{font-family:q}" in out and "#g" not in out
    assert "@media (max-width:9px)" not in out  # every rule inside it was dropped
    assert "[data-x" in out
    assert _selector_used(".a:is(.zz) > p", {"a"}) and not _selector_used("p .zz", {"a"})


def test_search_index_per_edition(site):
    """Each edition has its own index: English words stemmed in English, Chinese segmented by
    jieba; neither indexes the other's pages."""
    def load(project):
        text = (project / "searchindex.js").read_text(encoding="utf-8")
        assert text.startswith("Search.setIndex(")
        return json.loads(text[len("Search.setIndex("):text.rstrip().rindex(")")])

    def docs_for(index, term):
        hits = set()
        for table in ("terms", "titleterms"):
            found = index[table].get(term)
            for i in ([] if found is None else found if isinstance(found, list) else [found]):
                hits.add(index["docnames"][i])
        return hits

    en, zh = load(site / "en"), load(site / "zh")
    assert en["docnames"] == zh["docnames"], "the same pages in both editions"
    assert docs_for(zh, "损失") and docs_for(zh, "梯度")
    assert not docs_for(en, "梯度") and not docs_for(en, "损失")
    assert docs_for(en, "gradient")  # the English stemmer: "gradients" and "gradient" share a stem
    long_runs = [t for t in zh["terms"] if CJK.search(t) and len(t) > 8]
    assert not long_runs, "jieba's segmentation, not one index entry per sentence"


def test_twin_button_lang_and_the_edition_named_download(site):
    problems, chapters = [], 0
    notebooks = {lang: set(chapter_pages(site, lang)) for lang in EDITIONS}
    for page in content_pages(site):
        lang = lang_of(site, page)
        rel = page.relative_to(site).as_posix()
        doc = tree(page)
        switch = doc.xpath("//a[contains(@class,'btn-language-switch')]/@href")
        if lang is None:
            if switch:
                problems.append(f"{rel}: a bilingual page has a language button")
            continue
        if not switch or resolve(page, switch[0]) != twin_path(site, page):
            problems.append(f"{rel}: language button {switch}")
        if doc.get("lang") != {"en": "en", "zh": "zh-CN"}[lang]:
            problems.append(f"{rel}: <html lang={doc.get('lang')}>")
        if page not in notebooks[lang]:
            continue
        chapters += 1
        download = doc.xpath("//a[contains(@class,'btn-download-source-button')]/@href")
        want = f"{page.stem}.{lang}.ipynb"
        if not download or not download[0].endswith("/" + want):
            problems.append(f"{rel}: download {download}, want {want}")
            continue
        nb = json.loads(resolve(page, download[0]).read_text(encoding="utf-8"))
        if nb["nbformat"] != 4 or nb["metadata"]["kernelspec"]["name"] != "python3":
            problems.append(f"{rel}: the download is not a python3 notebook")
    assert chapters >= 40 and not problems, "\n".join(problems)


def test_titles_and_favicon(site):
    problems = []
    for page in content_pages(site):
        rel = page.relative_to(site).as_posix()
        doc = tree(page)
        title = "".join(doc.xpath("//title/text()"))
        head = title.split(" \u2014 ")[0].strip()
        if not head or head == "<no title>":
            problems.append(f"{rel}: title {title!r}")
        if lang_of(site, page) == "zh" and not CJK.search(title):
            problems.append(f"{rel}: Chinese page without a Chinese title: {title!r}")
        icon = doc.xpath("//link[@rel='icon']/@href")
        if not icon or not resolve(page, icon[0]).is_file():
            problems.append(f"{rel}: favicon missing")
    assert not problems, "\n".join(problems)


# The theme's interface words as the English edition has them, and what the Chinese one must say.
UI_WORDS = {"Contents", "Search", "Back to top", "Skip to main content", "previous", "next"}
UI_LABELS = {"Search this book...", "Download this page", "Print to PDF", "Color mode", "Link to this heading",
             "Toggle primary sidebar", "Toggle secondary sidebar", "next page", "previous page", "System Settings"}


def interface_words(page: Path) -> set[str]:
    """The English interface words and labels found on a page (words outside its article)."""
    doc = tree(page)
    labels = {v for v in doc.xpath("//@title | //@aria-label | //@placeholder | //@data-bs-title") if v in UI_LABELS}
    words = {t.strip() for t in doc.xpath("//text()[not(ancestor::article)]") if t.strip() in UI_WORDS}
    return labels | words


def test_the_chinese_edition_speaks_chinese_around_the_text(site):
    """The interface of the Chinese edition comes from the message catalogs (language zh_CN and
    book/_locales): no English interface word on its pages, the words readers see in Chinese."""
    problems, english = [], 0
    for page in content_pages(site):
        lang = lang_of(site, page)
        if lang == "zh":
            if found := interface_words(page):
                problems.append(f"{page.relative_to(site).as_posix()}: {sorted(found)}")
        elif lang == "en":
            english += 1
            assert {"Contents", "Back to top", "Link to this heading", "Color mode"} <= interface_words(page), page
    assert english and not problems, "\n".join(problems[:10])
    text = _text(site / "zh" / "regression" / "l1_loss.html")
    for zh in ("目录", "回到顶部", "搜索", "打印为 PDF", "下载本页", "配色", "点击展开", "本节链接"):
        assert zh in text, zh
    assert "列印" not in text and "The reflosses authors" not in text
    assert "搜索" in "".join(tree(site / "zh" / "search.html").xpath("//title/text()"))


def test_no_line_break_inside_chinese_sentences(site):
    """A source line break between two CJK characters must not reach the HTML: browsers draw it
    as a space (the site extension's join_cjk_lines removes it)."""
    cjk = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
    broken = re.compile(f"[{cjk}]\n[{cjk}]")
    problems = []
    for page in content_pages(site):
        if lang_of(site, page) == "en":
            continue
        for p in tree(page).xpath("//p"):
            # each run of text between tags; a formula's text is its hidden MathML, not prose
            for text in p.xpath(".//text()[not(ancestor::span[contains(@class,'math')])]"):
                if m := broken.search(text):
                    problems.append(f"{page.relative_to(site).as_posix()}: {m.group(0)!r} in {text[:60]!r}")
    assert not problems, "\n".join(problems[:20])


def test_no_unrendered_markdown_emphasis(site):
    """A literal ** in running text means emphasis that did not parse: in CommonMark a closing
    ** right after Chinese punctuation and before a Chinese character (**标题：**正文) is not
    a closing delimiter. Put the punctuation outside (**标题**：正文)."""
    problems = []
    for page in content_pages(site):
        for el in tree(page).xpath("//p | //li | //td | //dd | //h1 | //h2 | //h3"):
            text = "".join(el.xpath(f"./text() | .//*[{NOT_CODE}]/text()"))
            if "**" in text:
                problems.append(f"{page.relative_to(site).as_posix()}: {text[:80]!r}")
    assert not problems, "\n".join(problems[:20])


def test_verification_page_in_both_languages(site):
    for lang in EDITIONS:
        text = text_of(tree(site / lang / "verification.html"))
        assert "nbval" in text and "python -m reflosses check" in text


def test_verification_page_states_the_tolerances_of_the_code():
    """The verification pages quote the default tolerances; they must be the ones the code uses."""
    import dataclasses
    import inspect

    from reflosses import check
    from reflosses._cases import Case, on_a_grid

    defaults = {f.name: f.default for f in dataclasses.fields(Case)}
    source = inspect.getsource(check.compare)
    assert "case.rtol64 * 100" in source and "case.rtol32 * 10" in source
    for lang in EDITIONS:
        text = (ROOT / "book" / lang / "verification.md").read_text(encoding="utf-8")
        assert f"| `float64` | `{defaults['rtol64']:g}` | `{defaults['rtol64']:g}` × 100 |" in text, lang
        assert f"| `float32` | `{defaults['rtol32']:g}` | `{defaults['rtol32']:g}` × 10 |" in text, lang
        assert "--nbval --nbval-current-env" in text
        step = inspect.signature(on_a_grid).parameters["step"].default
        assert f"{step:g}" in text and "float64" in text, lang  # the grid runs' step
        assert ("with two seeds" if lang == "en" else "两个随机种子") in text
        assert "torch==2.13.0" in text
    assert inspect.signature(check.run_all).parameters["seeds"].default == (0, 1)
    assert "torch==2.13.0" in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    assert "--nbval --nbval-current-env" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_external_url_detection():
    assert is_external("https://cdn.example.org/x.js") and is_external("//fonts.example.org/a.css")
    assert not is_external("../_static/x.js") and not is_external("data:font/woff;base64,AA")
    assert css_urls("a{background:url('https://x.org/a.png')} @import 'b.css';") == ["https://x.org/a.png", "b.css"]


def test_landing_page_leads_to_each_editions_search(site):
    """The landing project's own search covers the landing page and the glossary; the page links
    the search of each edition, where the chapters are."""
    links = tree(site / "index.html").xpath("//article//a/@href")
    for lang in EDITIONS:
        assert f"{lang}/search.html" in links
        assert 'id="search-results"' in _text(site / lang / "search.html")


def test_landing_page_counts_the_chapters_that_exist(site):
    """The landing page says how many chapters are written, from the files (never typed)."""
    from reflosses import CATALOG

    written = [e for e in CATALOG if all((ROOT / "book" / lang / f"{e.chapter}.ipynb").is_file() for lang in EDITIONS)]
    text = " ".join(text_of(tree(site / "index.html")).split())
    assert f"{len(written)} of the {len(CATALOG)} losses have a chapter" in text
    assert f"{len(CATALOG)} 个损失函数中已有 {len(written)} 个写成了章节" in text
    assert all(e.torch_class in text for e in written)
    assert "{{" not in text


def test_chromium_prints_a_page_with_its_chinese(site, tmp_path):
    """`make site` prints each edition's single-page build with build_site.print_pdf; here the
    same function prints the bilingual landing page: a PDF whose Chinese has a CJK font embedded."""
    from build_site import CHROMIUM, print_pdf

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found")
    pdf = tmp_path / "landing.pdf"
    print_pdf(site, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and re.findall(rb"/Type\s*/Page[^s]", data)
    fonts = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([\w-]+)", data))
    assert any(b"CJK" in f for f in fonts), fonts


# ------------------------------------------------ the build itself

def _warnings(log: str) -> list[str]:
    return [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln]


def test_build_succeeds_with_warnings_as_errors(site_build):
    assert site_build["rc"] == 0, "\n".join(_warnings(site_build["log"])[:40]) or site_build["log"][-3000:]
    assert _warnings(site_build["log"]) == []


def test_every_toc_page_has_html_in_both_editions(site):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]] + [c["file"] for c in toc["chapters"]]
    missing = [f"{lang}/{p}" for lang in EDITIONS for p in pages if not (site / lang / f"{p}.html").is_file()]
    assert missing == [] and (site / "index.html").is_file() and (site / "glossary.html").is_file()


def test_cheatsheet_links_resolve_to_chapters(site):
    from reflosses import CATALOG

    for lang in EDITIONS:
        html = _text(site / lang / "cheatsheet.html")
        tables = "".join(re.findall(r"<table.*?</table>", html, flags=re.S))  # the generated tables, not the sidebar
        assert "LinearCrossEntropyLoss" in tables and "CTCLoss" in tables
        assert ".ipynb" not in tables, f"{lang} cheat sheet: a link was left unresolved"
        for e in CATALOG:
            if (ROOT / "book" / lang / f"{e.chapter}.ipynb").exists():
                assert f'href="{e.chapter}.html"' in tables, f"{lang} cheat sheet: no link to {e.chapter}.html"


# ----------------------------------------------------------------------------- the browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
MAX_BYTES, MAX_REQUESTS = 1_000_000, 25


@pytest.fixture(scope="session")
def chapter(site) -> Path:
    """The English L1Loss chapter (formulas, plots, a Chinese twin)."""
    page = site / "en" / "regression" / "l1_loss.html"
    assert page in chapter_pages(site, "en") and twin_path(site, page).is_file()
    return page


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def server(site):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " -- browser tests are never skipped in CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800}, service_workers="block",
        )
        yield context
        context.close()


def navigation_abort(request) -> bool:
    """Chromium fetches the favicon after the load event; moving on to the next page aborts it.
    (A missing favicon still fails: as an HTTP 404, and in test_titles_and_favicon.)"""
    return request.failure == "net::ERR_ABORTED" and request.url.endswith("/_static/favicon.svg")


class Watch:
    """Collects what must not happen while a page is open."""

    def __init__(self, context, origin: str):
        self.origin = origin.rstrip("/")
        self.problems: list[str] = []
        context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.origin + "/") or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.problems.append(f"request to another host: {url}")
            route.abort()

    def attach(self, page):
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: navigation_abort(r) or self.problems.append(
            f"failed request: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        return page


@pytest.fixture(scope="session")
def watch(browser_context, server):
    return Watch(browser_context, server)


@pytest.fixture
def page(browser_context, watch):
    """A fresh tab; whatever the watch records while the test runs fails the test."""
    watch.problems.clear()
    p = watch.attach(browser_context.new_page())
    yield p
    p.close()
    problems, watch.problems[:] = list(watch.problems), []
    assert not problems, "\n".join(problems)


MATHJAX_DONE = """() => document.fonts.ready.then(() => true)"""  # formulas are in the HTML; wait for fonts

PAGE_STATE = """() => {
  const math = [...document.querySelectorAll('.math.notranslate')];  // Sphinx's math elements
  return {
    math: math.length,
    raw: math.filter(e => /\\\\[\\(\\[]/.test(e.innerText)).length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).length,
    errors: [...document.querySelectorAll('.tex-error, mjx-merror, .merror')].map(e => e.textContent),
    images: [...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
    // TeX left as text outside math, code and scripts (a `$x$` the parser did not take, say)
    rawtex: (() => {
      const root = document.querySelector('article') || document.body;
      const skip = 'pre, code, script, style, .math, .MathJax, .MathJax_Display, .MathJax_Preview, mjx-container';
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {acceptNode: n =>
        n.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
      const hits = [];
      while (walker.nextNode()) {
        const t = walker.currentNode.textContent;
        if (/\\$[^$\\s][^$]*\\$|\\\\[\\(\\[]|\\\\(frac|begin|sum|lvert|mathrm|operatorname)\\b/.test(t)) hits.push(t.trim().slice(0, 80));
      }
      return hits;
    })(),
    // figures that are one flat colour (a blank plot)
    blank: [...document.querySelectorAll('article img')].filter(i => i.complete && i.naturalWidth > 0).filter(i => {
      const c = document.createElement('canvas'); c.width = 64; c.height = 64;
      const g = c.getContext('2d'); g.drawImage(i, 0, 0, 64, 64);
      const d = g.getImageData(0, 0, 64, 64).data;
      let lo = 765, hi = 0;
      for (let k = 0; k < d.length; k += 4) { const v = d[k] + d[k + 1] + d[k + 2]; lo = Math.min(lo, v); hi = Math.max(hi, v); }
      return hi - lo < 24;
    }).map(i => i.getAttribute('src')),
    width: document.documentElement.scrollWidth,  // wider than the viewport: the page scrolls sideways
  };
}"""


def open_page(page, url: str) -> dict:
    page.goto(url, wait_until="load")
    page.evaluate(MATHJAX_DONE)
    return page.evaluate(PAGE_STATE)


def page_url(server: str, site: Path, path: Path) -> str:
    return server + path.relative_to(site).as_posix()


def crawl(urls: list[str], origin: str, profile: Path, tabs: int = 3, width: int = 1280, height: int = 800,
          also: tuple[int, ...] = (), measure: str | None = None, then=None) -> dict[str, tuple[list[str], dict]]:
    """Open every url in Chromium, ``tabs`` at a time, in a ``width`` x ``height`` viewport; per url:
    (problems seen, PAGE_STATE). For each width in ``also`` the loaded page is resized and
    ``state["widths"][w]`` is the page's width then; ``state["measure"][w]`` is what the script
    ``measure`` returns at each width. ``then(page, url, state)`` (async) may act on the page last.

    Each page waits for its fonts, so the pages are spread over a few tabs of a
    second browser driven by Playwright's async API in its own thread (the sync API of the other
    tests cannot run pages concurrently).
    """
    import asyncio

    from playwright.async_api import async_playwright

    results: dict[str, tuple[list[str], dict]] = {}
    failure: list[BaseException] = []

    async def main():
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": width, "height": height}, service_workers="block")
            queue: asyncio.Queue[str] = asyncio.Queue()
            for url in urls:
                queue.put_nowait(url)

            async def worker():
                page = await context.new_page()
                seen: list[str] = []

                async def route(r):
                    url = r.request.url
                    if url.startswith(origin) or url.startswith(("data:", "blob:", "about:")):
                        await r.continue_()
                    else:
                        seen.append(f"request to another host: {url}")
                        await r.abort()

                await page.route("**/*", route)  # routing also disables the cache: every load is a first visit
                finished: list = []
                page.on("requestfinished", lambda r: finished.append(r))
                page.on("console", lambda m: m.type == "error" and seen.append(f"console error: {m.text}"))
                page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
                page.on("requestfailed", lambda r: navigation_abort(r) or seen.append(
                    f"failed request: {r.url} ({r.failure})"))
                page.on("response", lambda r: r.status >= 400 and seen.append(f"HTTP {r.status}: {r.url}"))
                while not queue.empty():
                    url = queue.get_nowait()
                    seen.clear()
                    finished.clear()
                    await page.goto(url, wait_until="load")
                    await page.evaluate(MATHJAX_DONE)
                    await page.wait_for_timeout(100)
                    state = await page.evaluate(PAGE_STATE)
                    sizes = [((await r.sizes())["responseBodySize"], r.url) for r in list(finished)]
                    state["transfer"] = sorted(sizes, reverse=True)
                    state["widths"], state["measure"] = {}, {}
                    if measure:
                        state["measure"][width] = await page.evaluate(measure)
                    for w in also:
                        await page.set_viewport_size({"width": w, "height": height})
                        state["widths"][w] = await page.evaluate("() => document.documentElement.scrollWidth")
                        if measure:
                            state["measure"][w] = await page.evaluate(measure)
                    if also:
                        await page.set_viewport_size({"width": width, "height": height})
                    if then is not None:
                        await then(page, url, state)
                    results[url] = (list(seen), state)
                await page.close()

            try:
                await asyncio.gather(*(worker() for _ in range(tabs)))
            finally:
                await context.close()

    def run():
        try:
            asyncio.run(main())
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=300)
    if failure:
        raise failure[0]
    assert not thread.is_alive(), "the crawl did not finish in 5 minutes"
    return results


def weight_table(rows: list[tuple[str, dict]]) -> str:
    lines = ["| page | requests | bytes | largest |", "|---|---:|---:|---|"]
    for rel, state in rows:
        sizes = state["transfer"]
        big = ", ".join(f"{u.rsplit('/', 1)[-1].split('?')[0]} {b / 1024:.0f} KiB" for b, u in sizes[:3])
        lines.append(f"| {rel} | {len(sizes)} | {sum(b for b, _ in sizes):,} | {big} |")
    return "\n".join(lines) + "\n"


SWITCH_PICK = """twinIds => {
  // a labelled section the twin also has, from the first half of the page, scrolled to the top
  const ids = [...document.querySelectorAll('article.bd-article section[id]')].map(s => s.id)
    .slice(1).filter(id => !/^id[0-9]+$/.test(id) && twinIds.includes(id));
  for (const id of ids.slice(0, Math.floor(ids.length / 2) + 1).reverse()) {
    const el = document.getElementById(id);
    el.scrollIntoView();
    const top = el.getBoundingClientRect().top;
    if (top > -5 && top < 120) return id;
  }
  return null;
}"""


def switch_keeps_the_section(site: Path, server: str):
    """For crawl(): scroll to a labelled section (no #hash in the address), click the language
    switch where a reader would, and record whether the twin opened at that section."""
    async def then(page, url, state):
        path = site / url[len(server):]
        if path.relative_to(site).parts[0] not in ("en", "zh"):
            return
        twin = twin_path(site, path)
        twin_ids = re.findall(r'<section id="([^"]+)"', twin.read_text(encoding="utf-8"))
        target = await page.evaluate(SWITCH_PICK, twin_ids)
        if target is None:
            return  # a short page: no second section reaches the top of the window
        box = await page.locator("a.btn-language-switch").first.bounding_box()  # no scrolling first
        await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        want = page_url(server, site, twin) + "#" + target
        try:
            await page.wait_for_url(want, timeout=10000)
            await page.wait_for_load_state("load")
            state["switch"] = (target, await page.evaluate(SECTION_AT_TOP, target))
        except Exception as exc:  # noqa: BLE001  (recorded, the test reports it)
            state["switch"] = (target, f"{want} not reached: {page.url} ({type(exc).__name__})")

    return then


def test_every_page_loads_cleanly_light_and_switches_language_in_place(site, server, browser_context, tmp_path):
    """Every page, in Chromium: no problem seen, formulas typeset, images loaded, no raw TeX, no
    blank plot; every chapter's first visit (cold cache) within 1 MB and 25 requests; and the
    language switch, clicked while a section is at the top, opens the twin at that section."""
    pages = content_pages(site)
    urls = {page_url(server, site, path): path.relative_to(site).as_posix() for path in pages}
    results = crawl(list(urls), server, tmp_path / "crawl-profile", tabs=(os.cpu_count() or 2) + 1,
                    then=switch_keeps_the_section(site, server))
    switched = {rel: results[url][1]["switch"] for url, rel in urls.items() if "switch" in results[url][1]}
    wrong = {rel: r for rel, r in switched.items() if r[1] is not True}
    assert len(switched) >= 40 and not wrong, wrong  # every chapter and guide in both editions
    chapters = {p.relative_to(site).as_posix() for lang in ("en", "zh") for p in chapter_pages(site, lang)}
    problems, math_pages = [], 0
    heavy = {}
    for url, rel in urls.items():
        seen, state = results[url]
        total = sum(b for b, _ in state["transfer"])
        if rel in chapters and (total > MAX_BYTES or len(state["transfer"]) > MAX_REQUESTS):
            problems.append(f"{rel}: {total:,} bytes in {len(state['transfer'])} requests")
        heavy[rel] = state
        problems += [f"{rel}: {p}" for p in seen]
        if state["math"]:
            math_pages += 1
            if state["raw"] or state["untypeset"] or state["errors"]:
                problems.append(f"{rel}: math not rendered {state}")
        problems += [f"{rel}: image not loaded: {src}" for src, ok in state["images"] if not ok]
        problems += [f"{rel}: raw TeX in the text: {t!r}" for t in state["rawtex"]]
        problems += [f"{rel}: blank image: {src}" for src in state["blank"]]
    assert len(pages) > 3 and math_pages > 0
    ARTIFACTS.mkdir(exist_ok=True)
    shown = ["en/regression/l1_loss.html", "zh/classification/cross_entropy.html", "index.html"]
    largest = max(chapters, key=lambda r: sum(b for b, _ in heavy[r]["transfer"]))
    (ARTIFACTS / "weight.md").write_text(weight_table([(r, heavy[r]) for r in shown + [largest]]), encoding="utf-8")
    assert not problems, "\n".join(problems)


def test_phones_no_page_wider_than_the_screen_no_column_narrower_than_a_word(site, server, browser_context, tmp_path):
    """At the widths of small phones every page fits: long inline code and one-word headings
    break, wide display formulas and tables scroll inside their own box (reflosses.css), and no
    table column is narrower than its longest word (no "元/素", no identifier one letter per line).
    Pages load at 320 px (the smallest iPhone) and are measured again at 390 px (a common phone)."""
    first, *others = widths = (320, 390)
    urls = {page_url(server, site, path): path.relative_to(site).as_posix() for path in content_pages(site)}
    results = crawl(list(urls), server, tmp_path / "phone-profile", tabs=(os.cpu_count() or 2) + 1,
                    width=first, height=740, also=tuple(others), measure=CELL_WORDS)
    wide, broken, tables = {}, {}, 0
    for url, rel in urls.items():
        state = results[url][1]
        measured = {first: state["width"], **state["widths"]}
        assert set(measured) == set(widths) == set(state["measure"])
        wide.update({f"{rel} at {w} px": m for w, m in measured.items() if m > w})
        broken.update({f"{rel} at {w} px": words[:5] for w, words in state["measure"].items() if words})
        tables += "<table" in (site / rel).read_text(encoding="utf-8")
    assert tables >= 20
    assert not wide, f"pages wider than the phone: {wide}"
    assert not broken, f"words broken across lines in table cells: {broken}"


def test_a_displayed_formula_is_not_broken_on_a_phone(site, server, browser_context, watch):
    """A displayed formula keeps its desktop height at 320 px (it is never broken into lines) and
    scrolls sideways in its own box when it is wider than the phone."""
    site_page = site / "en" / "regression" / "l1_loss.html"
    p = watch.attach(browser_context.new_page())
    watch.problems.clear()
    try:
        for path in (site_page, twin_path(site, site_page)):
            heights = []
            for width in (1280, 320):
                p.set_viewport_size({"width": width, "height": 800})
                open_page(p, page_url(server, site, path))
                heights.append(p.evaluate("""() => [...document.querySelectorAll('div.math mjx-container')]
                    .map(d => d.getBoundingClientRect().height)"""))
            desktop, phone = heights
            assert desktop and len(desktop) == len(phone)
            assert all(abs(a - b) <= 2 for a, b in zip(desktop, phone)), (path, desktop, phone)
            assert p.evaluate("() => document.documentElement.scrollWidth") <= 320
    finally:
        p.close()
    assert not watch.problems, "\n".join(watch.problems)


def test_one_search_box_on_a_wide_screen(site, server, page, chapter):
    """pydata-sphinx-theme's own top bar with a second search field is switched off
    (reflosses_site.theme_options): on a desktop the sidebar's search box is the only one."""
    page.set_viewport_size({"width": 1280, "height": 800})
    open_page(page, page_url(server, site, chapter))
    visible = page.evaluate("""() => [...document.querySelectorAll('.search-button-field')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height > 0).length""")
    assert visible == 1
    assert page.evaluate("() => document.querySelector('#pst-header').getBoundingClientRect().height") == 0


def test_math_rendered_on_a_chapter(site, server, page, chapter):
    state = open_page(page, page_url(server, site, chapter))
    assert state["math"] > 0 and state["untypeset"] == 0 and state["raw"] == 0 and not state["errors"], state
    # the glyphs are drawn with MathJax's web font, loaded from the site
    width = page.evaluate("() => document.querySelector('mjx-container').getBoundingClientRect().width")
    assert width > 10
    assert page.evaluate("() => [...document.fonts].some(f => f.family.startsWith('MJXZERO') || f.family.startsWith('MJXTEX')"
                         " && f.status === 'loaded')")
    # inline formulas sit on the text baseline (reflosses.css undoes the theme's flex box)
    assert page.evaluate("() => getComputedStyle(document.querySelector('span.math')).display") == "inline"


def test_chapter_plot_is_loaded(site, server, page, chapter):
    open_page(page, page_url(server, site, chapter))
    plots = page.evaluate("""() => [...document.querySelectorAll('.cell_output img')]
        .map(i => ({w: i.naturalWidth, h: i.naturalHeight, complete: i.complete}))""")
    assert plots and all(p["complete"] and p["w"] > 0 and p["h"] > 0 for p in plots), plots


def test_language_button_and_text_link_land_on_the_twin(site, server, page, chapter):
    en_url = page_url(server, site, chapter)
    zh_url = page_url(server, site, twin_path(site, chapter))
    open_page(page, en_url)
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator("a.btn-language-switch").first.click()
    page.wait_for_url(zh_url)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert CJK.search(page.title())
    page.locator("a.btn-language-switch").first.click()
    page.wait_for_url(en_url)
    # the in-text link at the top of the page (written by the chapter authors) agrees
    page.locator("article a", has_text="中文").first.click()
    page.wait_for_url(zh_url)


SECTION_AT_TOP = """id => { const el = document.getElementById(id); const top = el.getBoundingClientRect().top;
    return top > -5 && top < 120; }"""


@pytest.mark.parametrize("query, lang", [("梯度", "zh"), ("gradient", "en"), ("归约", "zh")])
def test_each_edition_searches_its_own_pages_and_shows_the_sentence(site, server, page, watch, query, lang):
    watch.problems.clear()
    page.goto(f"{server}{lang}/search.html?q={query}", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=15000)
    page.wait_for_function("() => document.querySelectorAll('#search-results ul.search li p.context').length > 0",
                           timeout=15000)
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    assert hrefs and all(f"/{lang}/" in h for h in hrefs), hrefs[:10]
    snippets = page.eval_on_selector_all("#search-results ul.search li p.context", "els => els.map(e => e.textContent)")
    matching = [t for t in snippets if query in t.lower()]
    assert len(matching) >= len(snippets) // 2, snippets[:5]  # the sentence that matched, not a table of contents
    assert not any(t.strip().startswith(("Contents", "目录")) for t in snippets)
    if lang == "zh":
        assert page.title().startswith("搜索")
        assert not re.search(r"Search|found|page", page.locator("#search-results").inner_text())
    assert not watch.problems, "\n".join(watch.problems)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"search-{lang}.png"))


FIRST_PAINT = """() => {
  window.__firstPaint = null;
  const record = () => {
    const heads = [...document.querySelectorAll('article h1, article h2, article h3')].map(h => h.getBoundingClientRect().top + scrollY);
    const raw = [...document.querySelectorAll('article p, article li')].filter(e => /\\\\(?:frac|sum|ell|mathrm)\\b|\\$[^$ ]+\\$/.test(e.textContent)).length;
    window.__firstPaint = {heads, raw, math: document.querySelectorAll('.math mjx-container').length};
  };
  document.addEventListener('DOMContentLoaded', record);  // the first layout, before any font has loaded
}"""


@pytest.mark.parametrize("slowdown", [1, 4])
def test_formulas_at_first_paint_and_nothing_moves_after_load(site, server, browser_context, watch, chapter, slowdown):
    """Formulas are in the HTML: at the first frame they are typeset, no raw TeX shows, and the
    headings are where they stay after the load event and the fonts (also with the CPU slowed
    four times, as on a mid-range phone)."""
    p = watch.attach(browser_context.new_page())
    watch.problems.clear()
    try:
        # a first visit: no search terms left to highlight by an earlier test's search (Sphinx would
        # add a "hide search matches" line above the title after the page loads)
        p.goto(server + "en/search.html", wait_until="load")
        p.evaluate("() => localStorage.clear()")
        cdp = browser_context.new_cdp_session(p)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
        p.add_init_script(f"({FIRST_PAINT})()")
        for path in (chapter, twin_path(site, chapter)):
            p.goto(page_url(server, site, path), wait_until="load")
            p.evaluate(MATHJAX_DONE)
            p.wait_for_timeout(300)
            first = p.evaluate("() => window.__firstPaint")
            later = p.evaluate("""() => [...document.querySelectorAll('article h1, article h2, article h3')]
                .map(h => h.getBoundingClientRect().top + scrollY)""")
            assert first is not None and first["raw"] == 0 and first["math"] > 10, first
            assert len(first["heads"]) == len(later) > 5
            moved = [(a, b) for a, b in zip(first["heads"], later) if abs(a - b) > 1]
            assert not moved, (path.name, slowdown, moved[:5], first["heads"][:3], later[:3])
    finally:
        p.close()
    assert not watch.problems, "\n".join(watch.problems)


CELL_WORDS = """() => {
  // every word of every table cell on one line: a column is never narrower than its longest word
  // (identifiers are words; CJK runs of up to four characters count as one word)
  const broken = [];
  for (const cell of document.querySelectorAll('article td, article th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, text = node.textContent;
      if (node.parentElement.closest('mjx-assistive-mml, .math')) continue;
      const re = /[A-Za-z0-9_.()'\\-]+|[\u4e00-\u9fff]{2,4}/g;
      let m;
      while ((m = re.exec(text))) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


SIDEBAR_SCROLLED = "() => document.querySelector('.bd-sidebar-primary').scrollTop > 0"


def test_small_faults_stay_fixed(site, server, page):
    """The sidebar's search box stays in view on a late page of an edition, with no link showing
    above it; on a phone no heading
    link wraps onto a line of its own; the landing page's sidebar names the site once."""
    page.set_viewport_size({"width": 1280, "height": 800})
    for lang in ("en", "zh"):
        open_page(page, page_url(server, site, site / lang / "sequence" / "ctc_loss.html"))
        page.wait_for_function(SIDEBAR_SCROLLED)  # the theme scrolls the sidebar to the current page
        box = page.locator(".bd-sidebar-primary .search-button-field").bounding_box()
        assert box and 0 <= box["y"] and box["y"] + box["height"] <= 800, (lang, box)
        sidebar = page.locator(".bd-sidebar-primary").bounding_box()
        item = page.locator(".bd-sidebar-primary .sidebar-primary-item:has(> .search-button-field)").bounding_box()
        above = page.evaluate("""([x, top, bottom]) => { const hits = [];
            for (let y = top + 1; y < bottom; y += 3) { const e = document.elementFromPoint(x, y);
              if (e && e.closest('nav.bd-docs-nav')) hits.push(y); } return hits; }""",
                              [item["x"] + 20, sidebar["y"], item["y"]])
        assert above == [], (lang, above)  # no sidebar link shows above the sticky search box
    page.set_viewport_size({"width": 390, "height": 844})
    for path in [site / "en" / "regression" / "smooth_l1_loss.html", site / "zh" / "regression" / "huber_loss.html"]:
        open_page(page, page_url(server, site, path))
        lines = page.evaluate("""() => { const h = document.querySelector('article h1');
            const tops = new Set([...document.createRange().getClientRects.call((() => { const r = document.createRange(); r.selectNodeContents(h); return r; })())]
                .filter(r => r.width > 0).map(r => Math.round(r.top)));
            const text = document.createRange(); text.selectNodeContents(h.firstChild);
            const textTops = new Set([...text.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
            return [tops.size, textTops.size]; }""")
        assert lines[0] == lines[1], (path.name, lines)  # the heading has no line beyond its text's
    open_page(page, page_url(server, site, site / "index.html"))
    titles = page.evaluate("() => [...document.querySelectorAll('.bd-sidebar-primary a')].map(a => a.textContent.trim())")
    assert sum(t.startswith("reflosses: PyTorch losses") for t in titles) == 1, titles


def test_search_field_and_plots_keep_their_shape(site, server, page):
    """The search icon sits beside the text field, not over it (without Font Awesome's script it
    stays an <i> the theme's CSS would position absolutely); a plot keeps its aspect ratio on a
    phone."""
    page.set_viewport_size({"width": 1280, "height": 800})
    for lang in ("en", "zh"):
        open_page(page, f"{server}{lang}/search.html")
        icon = page.locator("#search-results, .bd-search-container").locator("form.bd-search i").first.bounding_box()
        field = page.locator(".bd-search-container form.bd-search input").first.bounding_box()
        assert icon["x"] + icon["width"] <= field["x"] + 1, (lang, icon, field)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in (site / "en" / "regression" / "l1_loss.html", site / "zh" / "classification" / "cross_entropy.html"):
        open_page(page, page_url(server, site, path))
        ratios = page.evaluate("""() => [...document.querySelectorAll('article img')].filter(i => i.naturalWidth)
            .map(i => [i.naturalWidth / i.naturalHeight, i.getBoundingClientRect().width / i.getBoundingClientRect().height])""")
        assert ratios and all(abs(a - b) / a < 0.02 for a, b in ratios), (path.name, ratios)


def test_chinese_on_english_pages_takes_simplified_forms(site, server, page):
    """The glossary is an English-language page with Chinese columns: its Han characters are drawn
    with the Simplified Chinese font, not a Japanese one (reflosses.css names the SC font)."""
    open_page(page, page_url(server, site, site / "glossary.html"))
    assert page.locator("html").get_attribute("lang") == "en"
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    cells = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "article td:nth-child(2)"})["nodeIds"]
    assert len(cells) > 20
    families = set()
    for node in cells[:5]:
        for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
            families.add(font["familyName"])
    cjk = {f for f in families if "CJK" in f or "Han" in f}
    assert cjk and all("SC" in f for f in cjk), families


def test_icons_are_drawn_without_the_font_awesome_script(site, server, page, chapter):
    """The header's icons (Font Awesome glyphs from the cut-down embedded fonts) have ink."""
    open_page(page, page_url(server, site, chapter))
    assert page.evaluate("() => typeof window.FontAwesome === 'undefined'")
    widths = page.evaluate("""() => [...document.querySelectorAll('.article-header-buttons .fa-solid, .article-header-buttons .fab')]
        .filter(i => i.getClientRects().length && i.closest('button, a').getClientRects().length && getComputedStyle(i).display !== 'none')
        .map(i => i.getBoundingClientRect().width)""")
    assert widths and all(w > 5 for w in widths), widths
    assert page.evaluate("""() => document.fonts.check('900 16px "Font Awesome 6 Free"', '\uf0c9')""")


@pytest.mark.parametrize("width, height, name", [(1280, 800, "desktop"), (390, 844, "phone")])
def test_screenshots(site, server, browser_context, watch, chapter, width, height, name):
    ARTIFACTS.mkdir(exist_ok=True)
    p = watch.attach(browser_context.new_page())
    watch.problems.clear()
    try:
        p.set_viewport_size({"width": width, "height": height})
        for lang, path in (("en", chapter), ("zh", twin_path(site, chapter))):
            open_page(p, page_url(server, site, path))
            shot = ARTIFACTS / f"chapter-{lang}-{name}.png"
            p.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            # nothing wider than the viewport (no horizontal scrolling of the whole page on phones)
            assert p.evaluate("() => document.documentElement.scrollWidth") <= width + 1
            # and the parts worth looking at: the first display formula and the first plot
            for part, selector in (("math", "div.math"), ("plot", ".cell_output img")):
                p.locator(selector).first.scroll_into_view_if_needed()
                p.screenshot(path=str(ARTIFACTS / f"chapter-{lang}-{name}-{part}.png"))
    finally:
        p.close()
    assert not watch.problems, "\n".join(watch.problems)


def test_raw_tex_and_blank_images_are_caught(page):
    """PAGE_STATE's checks can fail: TeX the parser left as text, and a plot that is all white."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(buf, format="PNG")
    white = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    page.set_content(f"<article><p>the loss $\\ell_n = |d_n|$ is</p><p>ok: <code>$HOME</code></p>"
                     f"<img src='{white}'></article>")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    state = page.evaluate(PAGE_STATE)
    assert state["rawtex"] == ["the loss $\\ell_n = |d_n|$ is"], state["rawtex"]
    assert state["blank"] == [white], state["blank"]


def test_the_watch_catches_what_it_must(server, page, watch):
    """The browser checks can fail: an off-site request, a 404 and a console error are all caught."""
    watch.problems.clear()
    page.goto(server + "en/search.html", wait_until="load")
    page.evaluate("""() => new Promise(resolve => {
        const img = new Image(); img.onerror = img.onload = () => resolve();
        img.src = 'https://cdn.example.invalid/pixel.png';
        const missing = new Image(); missing.src = '/no-such-file.png';
        console.error('deliberate');
    })""")
    page.wait_for_timeout(300)
    text = "\n".join(watch.problems)
    assert "request to another host: https://cdn.example.invalid/pixel.png" in text
    assert "HTTP 404" in text and "no-such-file.png" in text
    assert "console error: deliberate" in text
    watch.problems.clear()


@pytest.mark.parametrize("width", [1280, 390])
def test_no_output_line_is_cut_off(site, server, page, chapter, width):
    """Printed output wraps (reflosses.css): nothing a cell printed hides past the right edge."""
    page.set_viewport_size({"width": width, "height": 800})
    for path in (chapter, twin_path(site, chapter)):
        open_page(page, page_url(server, site, path))
        clipped = page.evaluate("""() => [...document.querySelectorAll('.cell_output pre')]
            .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60))""")
        assert clipped == [], (path.name, width, clipped)


