"""The published site: built once per session, checked statically, then driven in Chromium.

Static checks read the build (no host outside the site in any <script>/<link>/<img>/CSS url(),
MathJax copied from the pinned package, jieba-segmented Chinese and English words in the
search index, a twin-language link and a notebook download on every chapter, favicon, titles).
Browser checks serve the build on 127.0.0.1 and open every page in Debian's Chromium through
Playwright: no console error, no failed request, no request to another host, math typeset,
images loaded; the language button lands on the twin page; search finds 损失 and "gradient";
screenshots of a chapter in both languages at desktop and phone widths go to tests/artifacts/.

Without /usr/bin/chromium the browser tests are skipped locally and fail under CI=true.
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
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CJK = re.compile(r"[\u4e00-\u9fff]")
RESOURCE_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch",
                 "icon", "shortcut", "apple-touch-icon", "manifest", "mask-icon"}


# ----------------------------------------------------------------------------- the build

@pytest.fixture(scope="session")
def site(request) -> Path:
    """The book built once per session (every warning an error, like `make book`; conftest's
    ``site_build``). REFLOSSES_SITE_HTML=<dir> reuses an existing build instead (for working on
    these tests)."""
    if os.environ.get("REFLOSSES_SITE_HTML"):
        return Path(os.environ["REFLOSSES_SITE_HTML"]).resolve()
    build = request.getfixturevalue("site_build")
    html = build["html"]
    ARTIFACTS.mkdir(exist_ok=True)  # the build log is uploaded by CI when a job fails
    (ARTIFACTS / "build.log").write_text(f"$ {' '.join(build['cmd'])}\n# {build['seconds']:.1f} s, exit {build['rc']}\n"
                                         f"{build['log']}", encoding="utf-8")
    if build["rc"] != 0 or not (html / "searchindex.js").is_file():
        pytest.fail(f"jupyter-book build failed ({build['rc']}):\n{build['log'][-6000:]}")
    return html


def content_pages(site: Path) -> list[Path]:
    """Every HTML page of the book (not the copied assets or sources, not the redirect stub)."""
    pages = []
    for p in sorted(site.rglob("*.html")):
        rel = p.relative_to(site).as_posix()
        if rel.startswith(("_static/", "_sources/", "_images/")):
            continue
        if 'http-equiv="Refresh"' in p.read_text(encoding="utf-8")[:2000]:
            continue  # index.html: the redirect jupyter-book writes to the root page
        pages.append(p)
    return pages


def lang_of(site: Path, page: Path) -> str | None:
    parts = page.relative_to(site).parts
    for part in parts[:2]:
        if part in ("en", "zh"):
            return part
    return None


def twin_path(site: Path, page: Path) -> Path:
    parts = list(page.relative_to(site).parts)
    i = next(i for i, p in enumerate(parts[:2]) if p in ("en", "zh"))
    parts[i] = {"en": "zh", "zh": "en"}[parts[i]]
    return site.joinpath(*parts)


def soup(page: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def chapter_pages(site: Path, lang: str) -> list[Path]:
    """Notebook chapters (they have a .ipynb source) in one language."""
    return [p for p in content_pages(site) if lang_of(site, p) == lang
            and (site / "_sources" / p.relative_to(site).with_suffix(".ipynb")).is_file()]


@pytest.fixture(scope="session")
def chapter(site) -> Path:
    """An English chapter with formulas and a plot whose Chinese twin exists (L1Loss if built)."""
    preferred = [p for p in chapter_pages(site, "en") if p.name == "l1_loss.html"]
    for page in preferred + chapter_pages(site, "en"):
        text = page.read_text(encoding="utf-8")
        if 'class="math' in text and "<img" in text and twin_path(site, page).is_file():
            return page
    pytest.fail("no English chapter with math, a plot and a Chinese twin in the build")


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
    for page in content_pages(site) + [site / "index.html"]:
        doc = soup(page)
        rel = page.relative_to(site).as_posix()
        for tag in doc.find_all(["script", "img", "iframe", "embed", "source", "video", "audio", "track"]):
            if tag.get("src") and is_external(tag["src"]):
                offenders.append(f"{rel}: <{tag.name} src={tag['src']}>")
        for tag in doc.find_all("object"):
            if tag.get("data") and is_external(tag["data"]):
                offenders.append(f"{rel}: <object data={tag['data']}>")
        for tag in doc.find_all("link"):
            rels = set(tag.get("rel") or [])
            if rels & RESOURCE_RELS and is_external(tag.get("href", "")):
                offenders.append(f"{rel}: <link rel={sorted(rels)} href={tag['href']}>")
        for tag in doc.find_all("script", src=False):
            body = tag.string or ""
            url = re.search(r"https?://[^\s\"']+", body)
            if url:
                offenders.append(f"{rel}: inline <script> mentions {url[0]}")
        for tag in doc.find_all(style=True):
            offenders += [f"{rel}: style url {u}" for u in css_urls(tag["style"]) if is_external(u)]
        for tag in doc.find_all("style"):
            offenders += [f"{rel}: <style> url {u}" for u in css_urls(tag.string or "") if is_external(u)]
    for css in (site / "_static").rglob("*.css"):
        offenders += [f"{css.relative_to(site)}: {u}" for u in css_urls(css.read_text(encoding="utf-8", errors="replace"))
                      if is_external(u)]
    assert not offenders, "\n".join(offenders)


def test_math_is_rendered_at_build_time(site, chapter):
    """No MathJax script on any page: formulas arrive as CHTML with hidden MathML, styled by one
    local stylesheet whose fonts are served from the site."""
    for page_path in content_pages(site):
        doc = soup(page_path)
        assert not [s for s in doc.find_all("script", src=True) if "mathjax" in s["src"].lower()], page_path
        assert not doc.find_all("script", type=re.compile("mathjax", re.I)), page_path
    doc = soup(chapter)
    maths = doc.select(".math")
    assert maths and all(m.find("mjx-container") is not None for m in maths)
    assert all(m.find("math") is not None for m in maths), "every formula carries MathML for screen readers"
    css_links = [link["href"] for link in doc.find_all("link", rel="stylesheet") if "mathjax/chtml.css" in link["href"]]
    assert len(css_links) == 1
    css = (site / "_static" / "mathjax" / "chtml.css").read_text(encoding="utf-8")
    fonts = re.findall(r'url\("?([^")]+\.woff)"?\)', css)
    assert fonts and all((site / "_static" / "mathjax" / f.strip("\"'")).is_file() for f in fonts)


def load_search_index(site: Path) -> dict:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    assert text.startswith("Search.setIndex(") and text.rstrip().endswith(")")
    return json.loads(text[len("Search.setIndex("):text.rstrip().rindex(")")])


def docs_for(index: dict, term: str) -> set[str]:
    hits = set()
    for table in ("terms", "titleterms"):
        found = index[table].get(term)
        if found is None:
            continue
        for i in (found if isinstance(found, list) else [found]):
            hits.add(index["docnames"][i])
    return hits


def test_search_index_has_chinese_and_english_words(site):
    index = load_search_index(site)
    for word in ("损失", "梯度"):
        docs = docs_for(index, word)
        assert any("zh/" in d for d in docs), (word, sorted(docs)[:5])
    # the English stemmer still runs on Latin words: "gradients" and "gradient" share a stem
    docs = docs_for(index, "gradient")
    assert any("en/" in d for d in docs), sorted(docs)[:5]
    # jieba's segmentation, not one index entry per sentence: no indexed term is a long CJK run
    long_runs = [t for t in index["terms"] if CJK.search(t) and len(t) > 8]
    assert not long_runs, "\n".join(long_runs)


def test_every_page_has_twin_button_and_chapters_a_notebook_download(site):
    problems, chapters = [], 0
    for page in content_pages(site):
        lang = lang_of(site, page)
        if lang is None:
            continue  # the bilingual intro, glossary, search and index pages
        rel = page.relative_to(site).as_posix()
        doc = soup(page)
        twin = twin_path(site, page)
        switch = doc.select_one("a.btn-language-switch")
        if switch is None:
            problems.append(f"{rel}: no language button")
        elif Path(unquote(urlsplit(urljoin(page.as_uri(), switch["href"])).path)) != twin:
            problems.append(f"{rel}: language button goes to {switch['href']}")
        expected = "zh-CN" if lang == "zh" else "en"
        if doc.html.get("lang") != expected:
            problems.append(f"{rel}: <html lang={doc.html.get('lang')}>")
        if page not in chapter_pages(site, lang):
            continue
        chapters += 1
        download = doc.select_one("a.btn-download-source-button")
        if download is None or not download["href"].endswith(".ipynb"):
            problems.append(f"{rel}: no notebook download")
            continue
        nb = Path(unquote(urlsplit(urljoin(page.as_uri(), download["href"])).path))
        try:
            assert json.loads(nb.read_text(encoding="utf-8"))["nbformat"] == 4
        except (OSError, ValueError, KeyError, AssertionError) as exc:
            problems.append(f"{rel}: download {download['href']} is not a notebook ({exc!r})")
    assert chapters >= 2
    assert not problems, "\n".join(problems)


def test_titles_and_favicon(site):
    problems = []
    for page in content_pages(site):
        rel = page.relative_to(site).as_posix()
        doc = soup(page)
        title = doc.title.string if doc.title else ""
        head = title.split(" \u2014 ")[0].strip()
        if not head or head == "<no title>":
            problems.append(f"{rel}: title {title!r}")
        if lang_of(site, page) == "zh" and not CJK.search(title):
            problems.append(f"{rel}: Chinese page without a Chinese title: {title!r}")
        icon = doc.find("link", rel="icon")
        if icon is None or not Path(unquote(urlsplit(urljoin(page.as_uri(), icon["href"])).path)).is_file():
            problems.append(f"{rel}: favicon missing")
    assert not problems, "\n".join(problems)
    svg = (site / "_static" / "favicon.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "viewBox" in svg


# The theme's interface words, as they stand on the English pages.
UI_WORDS = {"Contents", "Search", "Back to top", "Skip to main content", "previous", "next"}
UI_LABELS = {"Search this book...", "Download this page", "Print to PDF", "Color mode", "Link to this heading",
             "Toggle primary sidebar", "Toggle secondary sidebar", "next page", "previous page"}


def interface_words(page: Path) -> set[str]:
    """The English interface words and labels found on a page, outside its article."""
    doc = soup(page)
    labels = {v for tag in doc.find_all(True) for k in ("title", "aria-label", "placeholder")
              if isinstance(v := tag.get(k), str) and v in UI_LABELS}
    article = doc.find("article", class_="bd-article")
    if article is not None:
        article.decompose()
    words = {t.strip() for t in doc.find_all(string=True) if t.strip() in UI_WORDS}
    return labels | words


def test_chinese_pages_speak_chinese_around_the_text(site):
    """The theme's own words (Contents, Search, previous / next, tooltips) are Chinese on the
    Chinese pages (reflosses_site.localise_zh_pages) and stay English on the English ones;
    code in the article is never touched."""
    problems, english = [], 0
    for page in content_pages(site):
        found = interface_words(page)
        if lang_of(site, page) == "zh":
            if found:
                problems.append(f"{page.relative_to(site).as_posix()}: {sorted(found)}")
            text = page.read_text(encoding="utf-8")
            for zh in ("目录", "回到顶部", "搜索"):
                assert zh in text, f"{page.name}: no {zh}"
        elif lang_of(site, page) == "en":
            english += 1
            assert {"Contents", "Back to top", "Link to this heading"} <= found, page
    assert english and not problems, "\n".join(problems)


def test_localise_leaves_the_article_alone():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from reflosses_site import localise

    page = ('<button title="Search">Search</button><article class="bd-article"><span>next</span>'
            '<a title="Link to this heading">#</a></article><p class="prev-next-subtitle">next</p>')
    assert localise(page) == ('<button title="搜索">搜索</button><article class="bd-article"><span>next</span>'
                              '<a title="本节链接">#</a></article><p class="prev-next-subtitle">下一页</p>')
    with pytest.raises(ValueError, match="bd-article"):
        localise("<main>no article</main>")


def test_no_line_break_inside_chinese_sentences(site):
    """A source line break between two CJK characters must not reach the HTML: browsers draw it
    as a space (the site extension's join_cjk_lines removes it)."""
    cjk = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
    broken = re.compile(f"[{cjk}]\n[{cjk}]")
    problems = []
    for page in content_pages(site):
        for p in soup(page).find_all("p"):
            for math in p.select("span.math"):  # a formula's text is its hidden MathML, not prose
                math.replace_with(" ")
            m = broken.search(p.get_text())
            if m:
                problems.append(f"{page.relative_to(site).as_posix()}: {m.group(0)!r} in {p.get_text()[:60]!r}")
    assert not problems, "\n".join(problems[:20])


def test_no_unrendered_markdown_emphasis(site):
    """A literal ** in running text means emphasis that did not parse: in CommonMark a closing
    ** right after Chinese punctuation and before a Chinese character (**标题：**正文) is not
    a closing delimiter. Put the punctuation outside (**标题**：正文)."""
    problems = []
    for page in content_pages(site):
        for el in soup(page).find_all(["p", "li", "td", "dd", "h1", "h2", "h3"]):
            for code in el.find_all(["code", "pre", "span"], class_=re.compile("pre|literal|highlight|math")):
                code.decompose()
            if "**" in el.get_text():
                problems.append(f"{page.relative_to(site).as_posix()}: {el.get_text()[:80]!r}")
    assert not problems, "\n".join(problems[:20])


def test_verification_page_in_both_languages(site):
    found = {lang_of(site, p): p for p in content_pages(site) if p.name == "verification.html"}
    assert set(found) == {"en", "zh"}
    for page in found.values():
        text = soup(page).get_text()
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
    for lang in ("en", "zh"):
        text = (ROOT / "book" / lang / "verification.md").read_text(encoding="utf-8")
        assert f"| `float64` | `{defaults['rtol64']:g}` | `{defaults['rtol64']:g}` × 100 |" in text, lang
        assert f"| `float32` | `{defaults['rtol32']:g}` | `{defaults['rtol32']:g}` × 10 |" in text, lang
        assert "--nbval --nbval-current-env" in text
        step = inspect.signature(on_a_grid).parameters["step"].default
        assert f"{step:g}" in text and "float64" in text, lang  # the grid runs' step
        assert ("with two seeds" if lang == "en" else "两个随机种子") in text
    assert inspect.signature(check.run_all).parameters["seeds"].default == (0, 1)
    assert "torch==2.13.0" in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    for lang in ("en", "zh"):
        assert "torch==2.13.0" in (ROOT / "book" / lang / "verification.md").read_text(encoding="utf-8")
    assert "--nbval --nbval-current-env" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_external_url_detection():
    assert is_external("https://cdn.example.org/x.js") and is_external("//fonts.example.org/a.css")
    assert not is_external("../_static/x.js") and not is_external("data:font/woff;base64,AA")
    assert css_urls("a{background:url('https://x.org/a.png')} @import 'b.css';") == ["https://x.org/a.png", "b.css"]


# ----------------------------------------------------------------------------- the browser

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
          also: tuple[int, ...] = ()) -> dict[str, tuple[list[str], dict]]:
    """Open every url in Chromium, ``tabs`` at a time, in a ``width`` x ``height`` viewport; per url:
    (problems seen, PAGE_STATE). For each width in ``also`` the loaded page is resized and
    ``state["widths"][w]`` is the page's width then.

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

                await page.route("**/*", route)
                page.on("console", lambda m: m.type == "error" and seen.append(f"console error: {m.text}"))
                page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
                page.on("requestfailed", lambda r: navigation_abort(r) or seen.append(
                    f"failed request: {r.url} ({r.failure})"))
                page.on("response", lambda r: r.status >= 400 and seen.append(f"HTTP {r.status}: {r.url}"))
                while not queue.empty():
                    url = queue.get_nowait()
                    seen.clear()
                    await page.goto(url, wait_until="load")
                    await page.evaluate(MATHJAX_DONE)
                    state = await page.evaluate(PAGE_STATE)
                    state["widths"] = {}
                    for w in also:
                        await page.set_viewport_size({"width": w, "height": height})
                        state["widths"][w] = await page.evaluate("() => document.documentElement.scrollWidth")
                    if also:
                        await page.set_viewport_size({"width": width, "height": height})
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


def test_every_page_loads_cleanly_with_math_and_images(site, server, browser_context, tmp_path):
    pages = content_pages(site)
    urls = {page_url(server, site, path): path.relative_to(site).as_posix() for path in pages}
    results = crawl(list(urls), server, tmp_path / "crawl-profile", tabs=(os.cpu_count() or 2) + 1)
    problems, math_pages = [], 0
    for url, rel in urls.items():
        seen, state = results[url]
        problems += [f"{rel}: {p}" for p in seen]
        if state["math"]:
            math_pages += 1
            if state["raw"] or state["untypeset"] or state["errors"]:
                problems.append(f"{rel}: math not rendered {state}")
        problems += [f"{rel}: image not loaded: {src}" for src, ok in state["images"] if not ok]
        problems += [f"{rel}: raw TeX in the text: {t!r}" for t in state["rawtex"]]
        problems += [f"{rel}: blank image: {src}" for src in state["blank"]]
    assert len(pages) > 3 and math_pages > 0
    assert not problems, "\n".join(problems)


def test_no_page_scrolls_sideways_on_a_phone(site, server, browser_context, tmp_path):
    """At the widths of small phones every page fits: long inline code and one-word headings
    break, wide display formulas scroll inside their own box (reflosses.css). Pages load at
    320 px (the smallest iPhone) and are measured again at 360 px (the common small Android)."""
    first, *others = widths = (320, 360)
    urls = {page_url(server, site, path): path.relative_to(site).as_posix() for path in content_pages(site)}
    results = crawl(list(urls), server, tmp_path / "phone-profile", tabs=(os.cpu_count() or 2) + 1,
                    width=first, height=740, also=tuple(others))
    wide = {}
    for url, rel in urls.items():
        state = results[url][1]
        measured = {first: state["width"], **state["widths"]}
        assert set(measured) == set(widths)
        wide.update({f"{rel} at {w} px": m for w, m in measured.items() if m > w})
    assert not wide, f"pages wider than the phone: {wide}"


def test_a_displayed_formula_is_not_broken_on_a_phone(site, server, browser_context, watch):
    """A displayed formula keeps its desktop height at 320 px (it is never broken into lines) and
    scrolls sideways in its own box when it is wider than the phone."""
    site_page = site / "book" / "en" / "regression" / "l1_loss.html"
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


@pytest.mark.parametrize("query, lang", [("损失", "zh"), ("梯度", "zh"), ("gradient", "en")])
def test_search_in_the_browser(site, server, page, watch, query, lang):
    watch.problems.clear()
    page.goto(f"{server}search.html?q={query}", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=15000)
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    assert any(f"/{lang}/" in h for h in hrefs), hrefs[:10]
    assert not watch.problems, "\n".join(watch.problems)
    if query == "损失":
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "search-zh.png"))


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
    page.goto(server + "search.html", wait_until="load")
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


def test_landing_page_counts_the_chapters_that_exist(site):
    """The landing page says how many chapters are written, from the files (never typed)."""
    from reflosses import CATALOG

    written = [e for e in CATALOG if all((ROOT / "book" / lang / f"{e.chapter}.ipynb").is_file() for lang in ("en", "zh"))]
    text = " ".join(soup(site / "book" / "intro.html").get_text().split())
    assert f"{len(written)} of the {len(CATALOG)} losses have a chapter" in text
    assert f"{len(CATALOG)} 个损失函数中已有 {len(written)} 个写成了章节" in text
    assert all(e.torch_class in text for e in written)
    assert "{{" not in text


@pytest.mark.parametrize("width", [1280, 390])
def test_no_output_line_is_cut_off(site, server, page, chapter, width):
    """Printed output wraps (reflosses.css): nothing a cell printed hides past the right edge."""
    page.set_viewport_size({"width": width, "height": 800})
    for path in (chapter, twin_path(site, chapter)):
        open_page(page, page_url(server, site, path))
        clipped = page.evaluate("""() => [...document.querySelectorAll('.cell_output pre')]
            .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60))""")
        assert clipped == [], (path.name, width, clipped)


# ------------------------------------------------ the build itself (one build, shared with the tests above)

def _toc_pages_of_the_build() -> list[str]:
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


def _warnings(log: str) -> list[str]:
    return [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln]


def test_build_succeeds_with_warnings_as_errors(site_build):
    assert site_build["rc"] == 0, "\n".join(_warnings(site_build["log"])[:40]) or site_build["log"][-3000:]
    assert _warnings(site_build["log"]) == []


def test_every_toc_page_has_html(site_build):
    missing = [p for p in _toc_pages_of_the_build() if not (site_build["html"] / f"{p}.html").is_file()]
    assert missing == []


def test_every_chapter_has_html_in_both_languages(site_build):
    from reflosses import CATALOG

    written = [e for e in CATALOG if (ROOT / "book" / "en" / f"{e.chapter}.ipynb").exists()
               or (ROOT / "book" / "zh" / f"{e.chapter}.ipynb").exists()]
    assert written, "no chapter notebooks found"
    for e in written:
        for lang in ("en", "zh"):
            page = site_build["html"] / "book" / lang / f"{e.chapter}.html"
            assert page.is_file(), f"{page.relative_to(site['html'])} was not built"


def test_cheatsheet_links_resolve_to_chapters(site_build):
    from reflosses import CATALOG

    for lang in ("en", "zh"):
        html = (site_build["html"] / "book" / lang / "cheatsheet.html").read_text(encoding="utf-8")
        tables = "".join(re.findall(r"<table.*?</table>", html, flags=re.S))  # the generated tables, not the sidebar
        assert "LinearCrossEntropyLoss" in tables and "CTCLoss" in tables
        assert ".ipynb" not in tables, f"{lang} cheat sheet: a link was left unresolved"
        for e in CATALOG:
            if (ROOT / "book" / lang / f"{e.chapter}.ipynb").exists():
                assert f'href="{e.chapter}.html"' in tables, f"{lang} cheat sheet: no link to {e.chapter}.html"
