"""The published site in Chromium (Debian's, through Playwright), served on 127.0.0.1.

Every page loads cleanly (no console error, no failed request, no other host), with its formulas
typeset and its images loaded; a chapter's first visit stays under 1 MB and 25 requests (a table
for three pages goes to tests/artifacts/weight.md); nothing moves after the load event and no raw
TeX shows at first paint, also with the CPU slowed four times; no page is wider than a phone
and no table column narrower than its longest word at 320 and 390 px; the language button keeps
the reader's section; each edition's search finds its own pages and shows the matching sentence;
Chinese on English pages takes Simplified Chinese glyphs. Screenshots go to tests/artifacts/.

Without /usr/bin/chromium these tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path

import pytest
from test_site import ARTIFACTS, CJK, chapter_pages, content_pages, twin_path

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


def weight_table(rows: list[tuple[str, dict]]) -> str:
    lines = ["| page | requests | bytes | largest |", "|---|---:|---:|---|"]
    for rel, state in rows:
        sizes = state["transfer"]
        big = ", ".join(f"{u.rsplit('/', 1)[-1].split('?')[0]} {b / 1024:.0f} KiB" for b, u in sizes[:3])
        lines.append(f"| {rel} | {len(sizes)} | {sum(b for b, _ in sizes):,} | {big} |")
    return "\n".join(lines) + "\n"


def test_every_page_loads_cleanly_with_math_images_and_light(site, server, browser_context, tmp_path):
    """Every page, in Chromium: no problem seen, formulas typeset, images loaded, no raw TeX, no
    blank plot; every chapter's first visit (cold cache) within 1 MB and 25 requests."""
    pages = content_pages(site)
    urls = {page_url(server, site, path): path.relative_to(site).as_posix() for path in pages}
    results = crawl(list(urls), server, tmp_path / "crawl-profile", tabs=(os.cpu_count() or 2) + 1)
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


def test_no_page_scrolls_sideways_on_a_phone(site, server, browser_context, tmp_path):
    """At the widths of small phones every page fits: long inline code and one-word headings
    break, wide display formulas scroll inside their own box (reflosses.css). Pages load at
    320 px (the smallest iPhone) and are measured again at 390 px (a common phone)."""
    first, *others = widths = (320, 390)
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


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_language_switch_keeps_the_readers_section_on_every_page(site, server, page, lang):
    """On every page with sections, in both directions: scroll to a labelled section (no #hash in
    the address), click the switch, land on the twin at the same section."""
    checked = 0
    for path in [p for p in content_pages(site) if p.relative_to(site).parts[0] == lang]:
        page.set_viewport_size({"width": 1280, "height": 800})
        open_page(page, page_url(server, site, path))
        ids = page.evaluate("""() => [...document.querySelectorAll('article.bd-article section[id]')]
            .map(s => s.id).filter(id => !/^id[0-9]+$/.test(id))""")
        twin_ids = set(re.findall(r'<section id="([^"]+)"', twin_path(site, path).read_text(encoding="utf-8")))
        shared = [i for i in ids[1:] if i in twin_ids]
        if not shared:
            continue
        target = next((t for t in shared[: len(shared) // 2 + 1][::-1]
                       if page.evaluate("id => { document.getElementById(id).scrollIntoView(); return true; }", t)
                       and page.evaluate(SECTION_AT_TOP, t)), None)
        if target is None:
            continue  # a short page: no section but the first reaches the top of the window
        box = page.locator("a.btn-language-switch").first.bounding_box()  # a reader's click: no scrolling first
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url(page_url(server, site, twin_path(site, path)) + "#" + target)
        page.wait_for_load_state("load")
        assert page.evaluate(SECTION_AT_TOP, target), (path.name, target)
        checked += 1
    assert checked >= 20  # every chapter and guide; a few short pages have no second section


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


@pytest.mark.parametrize("width", [320, 390])
def test_no_table_column_narrower_than_its_longest_word_on_phones(site, server, page, width):
    page.set_viewport_size({"width": width, "height": 800})
    problems = {}
    tables = [p for p in content_pages(site) if "<table" in p.read_text(encoding="utf-8")]
    for path in tables:
        open_page(page, page_url(server, site, path))
        broken = page.evaluate(CELL_WORDS)
        if broken:
            problems[path.relative_to(site).as_posix()] = broken[:5]
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, path
    assert len(tables) >= 20 and not problems, problems


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


