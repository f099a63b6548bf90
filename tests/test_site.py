"""The published site, read as files: built once per session (conftest's ``site_build``).

The site mirrors the folder book/: ``index.html`` and ``glossary.html`` (the bilingual landing
project), ``en/...`` and ``zh/...`` (two editions, each its own Sphinx project with its own
navigation, search index and interface language), ``en/reflosses-en.pdf`` and
``zh/reflosses-zh.pdf``. These tests read the HTML; tests/test_site_browser.py drives Chromium.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

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
    problems, checked = [], 0
    for page in content_pages(site):
        for a in tree(page).xpath("//a[@href]"):
            href = a.get("href")
            if is_external(href) or href.startswith(("mailto:", "javascript:")) or href == "#":
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
    assert "gradient" not in zh["terms"] or docs_for(zh, "gradient") <= set(zh["docnames"])


def test_twin_button_lang_and_the_edition_named_download(site):
    problems, chapters = [], 0
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
        if page not in chapter_pages(site, lang):
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


def test_landing_page_counts_the_chapters_that_exist(site):
    """The landing page says how many chapters are written, from the files (never typed)."""
    from reflosses import CATALOG

    written = [e for e in CATALOG if all((ROOT / "book" / lang / f"{e.chapter}.ipynb").is_file() for lang in EDITIONS)]
    text = " ".join(text_of(tree(site / "index.html")).split())
    assert f"{len(written)} of the {len(CATALOG)} losses have a chapter" in text
    assert f"{len(CATALOG)} 个损失函数中已有 {len(written)} 个写成了章节" in text
    assert all(e.torch_class in text for e in written)
    assert "{{" not in text


def test_the_pdfs_are_whole_editions_with_chinese_fonts(site):
    """Each edition as one PDF, linked from the landing page; the Chinese one embeds a CJK font."""
    links = [h for h in tree(site / "index.html").xpath("//a/@href") if h.endswith(".pdf")]
    assert sorted(links) == ["en/reflosses-en.pdf", "zh/reflosses-zh.pdf"]
    for lang in EDITIONS:
        data = (site / lang / f"reflosses-{lang}.pdf").read_bytes()
        assert data.startswith(b"%PDF")
        pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
        assert pages > 100, (lang, pages)  # every chapter, not a page of it
        fonts = set(re.findall(rb"/FontName\s*/[A-Z]{6}\+([\w-]+)", data))
        if lang == "zh":
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
