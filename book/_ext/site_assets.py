"""Lighter pages: what book/_ext/reflosses_site.py does to the built assets of each project.

Measured on the L1 chapter before this (one project, cold cache, no compression): 3.55 MB in 60
requests, of which Font Awesome's script was 1.49 MB, its fonts 274 KB and the theme's CSS 397 KB.

- One stylesheet per project (``_static/site.css``): the theme's CSS files, Sphinx's and the
  extensions', concatenated in the order the pages link them, with their relative ``url()``\\ s
  rewritten; the template (``book/_templates/layout.html``) links it instead of a dozen files.
- Font Awesome by CSS and font, without its script: the icon rules of glyphs no page shows are
  dropped, and its three fonts are cut down to the glyphs the pages use (fontTools, which
  matplotlib already needs) and embedded in the stylesheet.
- Rules no page can match are dropped (``purge``): a rule stays when every class and id its
  selector names occurs in a page of the project or as a word of one of its scripts.
- MathJax's smallest fonts (``SMALL_FONT``) are embedded in the stylesheet: one request fewer each.
- The plots (``_images/*.png``) are stored with a 256-colour palette when that is at least 20 %
  smaller; matplotlib's anti-aliased lines on white need few colours.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
IMPORT = re.compile(r"@import\s+(?:url\()?\s*['\"]([^'\"]+)['\"]\s*\)?\s*;")
FA_RULE = re.compile(r"((?:\.fa-[a-z0-9-]+::?before,?)+)\{content:\"\\([0-9a-f]+)\"\}")
FA_FONT = re.compile(r"@font-face\{[^}]*?src:url\(\"?vendor/fontawesome/webfonts/(fa-[a-z]+-\d+)\.woff2\"?\)[^}]*\}")
# the theme's icon variables (admonition titles, "hide search matches") hold the glyph itself
ICON_VAR = re.compile("--pst-icon-[a-z-]+:\"([\ue000-\uf8ff])\"")


def _inline(css_path: Path, static: Path) -> str:
    """A stylesheet's text with @imports inlined and url()s made relative to ``_static``."""
    text = css_path.read_text(encoding="utf-8")
    text = IMPORT.sub(lambda m: _inline((css_path.parent / m.group(1)).resolve(), static), text)

    def rewrite(m: re.Match) -> str:
        url = m.group(2).strip()
        if url.startswith(("data:", "#", "/")) or re.match(r"^[a-z]+:", url):
            return m.group(0)
        path, _, rest = url.partition("?")
        target = (css_path.parent / path).resolve()
        return f'url("{target.relative_to(static.resolve()).as_posix()}")'

    return URL.sub(rewrite, text)


def slim_font_awesome(css: str, used: set[str], fonts: Path) -> str:
    """Drop the icon rules nobody uses; embed the fonts cut down to the glyphs still named."""
    import logging

    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.WARNING)

    def keep(m: re.Match) -> str:
        names = {s.split(":")[0][1:] for s in m.group(1).split(",") if s}
        return m.group(0) if names & used else ""

    css = FA_RULE.sub(keep, css)
    codepoints = {int(c, 16) for c in re.findall(r"content:\"\\(f[0-9a-f]{3})\"", css)}
    codepoints |= {ord(c) for c in ICON_VAR.findall(css)}
    if 0xF0F3 not in codepoints:  # the bell of every plain admonition: the variables were not found
        raise RuntimeError("pydata-sphinx-theme's --pst-icon-* variables not found: has its CSS changed?")

    def embed(m: re.Match) -> str:
        font = TTFont(fonts / f"{m.group(1)}.ttf")  # the .woff2 twin needs brotli to read
        options = subset.Options()
        options.layout_features = []
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        buf = io.BytesIO()
        font.flavor = "woff"  # woff2 needs brotli, which is not installed; woff uses zlib
        font.save(buf)
        data = base64.b64encode(buf.getvalue()).decode()
        face = m.group(0)
        src = re.search(r"src:[^;}]+", face).group(0)
        return face.replace(src, f'src:url("data:font/woff;base64,{data}") format("woff")')

    out = FA_FONT.sub(embed, css)
    if "vendor/fontawesome/webfonts" in out:
        raise RuntimeError("a Font Awesome font is still linked: has the theme's CSS changed?")
    return out


def write_bundle(outdir: Path, css_files: list[str], per_page: list[str] = ()) -> Path:
    """``_static/site.css`` from the stylesheets (paths under ``_static``), in this order."""
    static = outdir / "_static"
    parts = []
    for name in css_files:
        path = static / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: a stylesheet the pages link is missing from the build")
        parts.append(f"/* {name} */\n" + _inline(path, static))
    css = "\n".join(parts)
    tokens = css_tokens(outdir)  # the fa-* icon classes among them name the icons the pages use
    css = slim_font_awesome(css, {t for t in tokens if t.startswith("fa-")}, static / "vendor" / "fontawesome" / "webfonts")
    css = purge(css, tokens)
    css = embed_small_fonts(css, static)
    for name in per_page:  # linked by some pages only: slimmed in place
        path = static / name
        path.write_text(purge(_inline(path, static), tokens), encoding="utf-8")
    bundle = static / "site.css"
    bundle.write_text(css, encoding="utf-8")
    return bundle


SMALL_FONT = 6_000  # bytes: MathJax's Zero and Size1-4 fonts, each one request for a few KB


def embed_small_fonts(css: str, static: Path) -> str:
    """Fonts of at most ``SMALL_FONT`` bytes go into the stylesheet as data URIs (fewer requests)."""
    def embed(m: re.Match) -> str:
        path = static / m.group(2)
        if m.group(2).endswith(".woff") and path.is_file() and path.stat().st_size <= SMALL_FONT:
            return f'url("data:font/woff;base64,{base64.b64encode(path.read_bytes()).decode()}")'
        return m.group(0)

    return URL.sub(embed, css)


def shrink_images(outdir: Path) -> tuple[int, int]:
    """Re-store each plot with a 256-colour palette when that saves at least a fifth; returns the
    bytes before and after."""
    from PIL import Image

    before = after = 0
    for png in (outdir / "_images").glob("*.png"):
        raw = png.read_bytes()
        before += len(raw)
        with Image.open(io.BytesIO(raw)) as img:
            if img.mode not in ("RGB", "RGBA"):
                after += len(raw)
                continue
            quantized = img.convert("RGBA").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
            buf = io.BytesIO()
            quantized.save(buf, format="PNG", optimize=True)
        if len(buf.getvalue()) < 0.8 * len(raw):
            png.write_bytes(buf.getvalue())
            after += len(buf.getvalue())
        else:
            after += len(raw)
    return before, after


PAREN = re.compile(r"\([^()]*\)")


# Classes that scripts build from parts at run time, so no page or script spells them out:
# Bootstrap's tooltip and popover placements (`bs-${name}-auto`), which draw the tooltip's arrow.
BUILT_AT_RUN_TIME = {f"bs-{kind}-{side}" for kind in ("tooltip", "popover")
                     for side in ("auto", "top", "bottom", "start", "end")}


def css_tokens(outdir: Path) -> set[str]:
    """Every class and id a page of the project carries, every word of its scripts (classes that
    scripts add: show, active, collapsing ...) and ``BUILT_AT_RUN_TIME``."""
    tokens = set(BUILT_AT_RUN_TIME)
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        for attr in re.findall(r'\b(?:class|id)="([^"]*)"', text):
            tokens |= set(attr.split())
    for script in (outdir / "_static").rglob("*.js"):
        tokens |= set(re.findall(r"[A-Za-z_][\w-]*", script.read_text(encoding="utf-8", errors="replace")))
    return tokens


def _selector_used(selector: str, tokens: set[str]) -> bool:
    plain = selector
    while PAREN.search(plain):  # :not(.x), :is(...), attribute values: never a reason to drop
        plain = PAREN.sub("", plain)
    plain = re.sub(r"\[[^\]]*\]", "", plain)
    names = re.findall(r"[.#]((?:\\.|[\w-])+)", plain)
    return all(n.replace("\\", "") in tokens for n in names)


def _split_top(prelude: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(prelude):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(prelude[start:i])
            start = i + 1
    parts.append(prelude[start:])
    return parts


def purge(css: str, tokens: set[str]) -> str:
    """The stylesheet without the rules whose every selector names a class or id that no page or
    script of the project has. @-rules other than @media/@supports/@layer are kept whole; comments
    are dropped except licence comments (``/*! ... */``), which are kept."""
    licences = re.findall(r"/\*!.*?\*/", css, flags=re.S)
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)

    def block(text: str) -> str:
        out, i, n = [], 0, len(text)
        while i < n:
            brace = text.find("{", i)
            if brace < 0:
                out.append(text[i:])
                break
            prelude = text[i:brace].strip()
            depth, j = 1, brace + 1
            while depth and j < n:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            body = text[brace + 1:j - 1]
            if prelude.startswith(("@media", "@supports", "@layer", "@container")):
                inner = block(body)
                if inner.strip():
                    out.append(f"{prelude}{{{inner}}}")
            elif prelude.startswith("@") or ";" in prelude:
                out.append(f"{prelude}{{{body}}}")
            else:
                kept = [s.strip() for s in _split_top(prelude) if _selector_used(s, tokens)]
                if kept:
                    out.append(f"{','.join(kept)}{{{body}}}")
            i = j
        return "".join(out)

    return "\n".join(licences) + "\n" + block(css)
