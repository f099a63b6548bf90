"""The "Run it yourself" page (book/en/run.md, book/zh/run.md) checked against what it describes.

Every shell command the page prints names real things: the repository URL of _config.yml, the
extras of pyproject.toml, the CPU index that CI uses, the nbval flags of `make test`, the
subcommands of ``python -m reflosses``. The torch and Python versions it states are those of
pyproject.toml and the two lock files; the output of ``python -m reflosses check`` is as the page
describes it; and one chapter, copied out of the repository under its download name, passes the
page's own nbval command with the plain python3 kernel.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import io
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from test_workflow import pinned_torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
LANGS = ("en", "zh")
TWIN_LINK = {"en": "[中文](../zh/run.md)", "zh": "[English](../en/run.md)"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# Installed by the page but declared nowhere in pyproject.toml: the notebook interface itself.
NOT_DECLARED = {"jupyterlab": "the notebook interface the page starts with `jupyter lab`"}


def page(lang: str) -> str:
    return (BOOK / lang / "run.md").read_text(encoding="utf-8")


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return re.findall(r"^```(\w*)\n(.*?)^```\s*$", text, re.S | re.M)


def prose(text: str) -> str:
    return re.sub(r"^```\w*\n.*?^```\s*$", "", text, flags=re.S | re.M)


def inline_code(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", prose(text))


def commands(lang: str) -> list[list[str]]:
    """Every command line of the page's code blocks, split like a shell, comments dropped."""
    out = []
    for _, body in code_blocks(page(lang)):
        for line in body.splitlines():
            line = re.sub(r"(^|\s+)#.*$", "", line).strip()
            if line:
                out.append(shlex.split(line))
    return out


def makefile_test_command() -> str:
    """The pytest line of `make test`'s recipe."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", text, re.M)
    assert recipe, "no `test` target in the Makefile"
    lines = [line.strip() for line in recipe.group(1).splitlines() if "-m pytest" in line]
    assert len(lines) == 1, lines
    return lines[0]


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"]


def ci_index_url() -> str:
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    return ci["env"]["PIP_EXTRA_INDEX_URL"]


def torch_specifier() -> SpecifierSet:
    reqs = [Requirement(d) for d in PYPROJECT["project"]["dependencies"]]
    return next(r.specifier for r in reqs if r.name == "torch")


def notebook(lang: str, file_name: str) -> pathlib.Path:
    """The chapter behind a download name such as ``l1_loss.en.ipynb``."""
    m = re.fullmatch(r"(\w+)\.(en|zh)\.ipynb", file_name)
    assert m, f"{file_name} is not a download name <chapter>.<lang>.ipynb"
    assert m.group(2) == lang, f"the {lang} page runs the {m.group(2)} notebook {file_name}"
    found = sorted((BOOK / lang).glob(f"*/{m.group(1)}.ipynb"))
    assert len(found) == 1, f"{file_name}: chapters found {found}"
    return found[0]


def reflosses_cli_accepts(args: list[str]) -> bool:
    """Whether ``python -m reflosses <args>`` parses (argparse exits 0 on --help, 2 on a bad argument)."""
    from reflosses.__main__ import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main([*args, "--help"])
        except SystemExit as exc:
            return exc.code == 0
    return False


# ------------------------------------------------------------------------------ the two pages


@pytest.mark.parametrize("lang", LANGS)
def test_page_starts_with_its_twin_link_then_the_title(lang):
    lines = page(lang).splitlines()
    assert lines[0] == TWIN_LINK[lang]
    rest = [line for line in lines[1:] if line.strip()]
    assert rest[0].startswith("# ")
    assert sum(line.startswith("# ") for line in prose(page(lang)).splitlines()) == 1


def section_labels(text: str) -> list[str]:
    """The label of every ``## `` section, which must stand on the line above it."""
    lines = prose(text).splitlines()
    labels = []
    for i, line in enumerate(lines):
        if line.startswith("## "):
            m = re.fullmatch(r"\(([a-z0-9-]+)\)=", lines[i - 1].strip())
            assert m, f"section {line!r} has no label on the line above"
            labels.append(m.group(1))
    assert re.findall(r"^\(([^)]*)\)=\s*$", text, re.M) == labels, "a label that does not open a section"
    return labels


def test_same_section_labels_in_the_same_order():
    en, zh = section_labels(page("en")), section_labels(page("zh"))
    assert en == zh
    assert len(en) >= 5 and len(set(en)) == len(en)
    assert all(label.startswith("run-") for label in en)


@pytest.mark.parametrize("lang", LANGS)
def test_links_stay_inside_the_edition(lang):
    body = prose(page(lang)).split("\n", 1)[1]  # the twin link on line 1 is the one way out
    targets = re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", body)
    for t in targets:
        if t.startswith("https://"):
            continue
        path = t.split("#")[0]
        assert not path.startswith(("/", "..")), f"{t} leaves book/{lang}"
        assert (BOOK / lang / path).is_file(), f"{t} does not exist in book/{lang}"
    assert not [t for t in targets if t.startswith("http://")]
    assert "verification.md" in targets and "regression/l1_loss.ipynb" in targets


def test_both_pages_print_the_same_commands():
    def normal(lang):
        return [" ".join(argv).replace(f".{lang}.ipynb", ".LANG.ipynb").replace(f"book/{lang}/", "book/LANG/")
                for argv in commands(lang)]

    assert normal("en") == normal("zh")
    for lang in LANGS:
        assert all(kind == "bash" for kind, _ in code_blocks(page(lang)))


# ------------------------------------------------------------------------------ the commands


@pytest.mark.parametrize("lang", LANGS)
def test_every_command_names_real_things(lang):
    extras = PYPROJECT["project"]["optional-dependencies"]
    declared = {canonicalize_name(Requirement(d).name)
                for d in PYPROJECT["project"]["dependencies"] + [r for rs in extras.values() for r in rs]}
    make_test = makefile_test_command()
    venv = cloned = None
    installed: set[str] = set()
    seen: set[str] = set()
    for argv in commands(lang):
        prog = argv[0]
        if argv[:3] == ["python3", "-m", "venv"]:
            venv = argv[3]
        elif prog == "source":
            assert venv and argv[1] == f"{venv}/bin/activate"
        elif argv[:2] == ["git", "clone"]:
            assert argv[2] == repository_url()
            cloned = argv[2].rstrip("/").rsplit("/", 1)[1]
        elif prog == "cd":
            assert argv[1] == cloned, "cd into the clone"
        elif argv[:2] == ["pip", "install"]:
            args = iter(argv[2:])
            for a in args:
                if a == "--index-url":
                    assert next(args) == ci_index_url(), "the CPU index is the one CI uses"
                elif a == "-e":
                    m = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", next(args))
                    assert m and cloned, "an editable install of the clone"
                    for extra in (m.group(1) or "").split(","):
                        assert not extra or extra in extras, f"pyproject.toml has no extra {extra!r}"
                    installed.add("reflosses")
                else:
                    name = canonicalize_name(a)
                    assert name in declared or name in NOT_DECLARED, f"pip install {a}: not a dependency of reflosses"
                    installed.add(name)
        elif argv[:2] == ["jupyter", "lab"]:
            assert len(argv) == 2 and "jupyterlab" in installed
        elif prog == "pytest":
            assert "nbval" in installed
            flags = [a for a in argv[1:] if a.startswith("-")]
            assert "--nbval" in flags and "--nbval-current-env" in flags
            for flag in flags:
                assert f" {flag} " in f" {make_test} ", f"{flag} is not in `make test`: {make_test}"
            files = [a for a in argv[1:] if not a.startswith("-")]
            assert len(files) == 1
            notebook(lang, files[0])
        elif argv[:3] == ["python", "-m", "reflosses"]:
            assert "reflosses" in installed
            assert reflosses_cli_accepts(argv[3:]), f"python -m reflosses does not accept {argv[3:]}"
        else:
            pytest.fail(f"this test does not know the command {argv}: check it and teach the test")
        seen.add(prog)
    assert {"git", "pip", "jupyter", "pytest", "python"} <= seen


@pytest.mark.parametrize("lang", LANGS)
def test_commands_and_flags_named_in_the_text_exist(lang):
    spans = inline_code(page(lang))
    make_test = makefile_test_command()
    for span in spans:
        if span.startswith("python -m reflosses "):
            assert reflosses_cli_accepts(span.split()[3:]), span
        elif span.startswith("--lang"):
            assert reflosses_cli_accepts(["oracle", *span.split()]), span  # the page names it with `oracle`
        elif span == "--nbval-lax":
            assert span not in make_test, "the page says the book never uses the lax mode"
        elif span.startswith("-") or span.startswith("make "):
            target = span.split()[1] if span.startswith("make ") else None
            if target:
                assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M), span
            else:
                assert f" {span} " in f" {make_test} ", f"{span} is not in `make test`: {make_test}"
        elif re.fullmatch(r"book/(en|zh)/.+\.ipynb", span):
            assert (ROOT / span).is_file(), span
        elif re.fullmatch(r"\w+\.(en|zh)\.ipynb", span):
            notebook(span.split(".")[1], span)
    assert "python -m reflosses oracle" in spans and "make compat" in spans


@pytest.mark.parametrize("lang", LANGS)
def test_the_download_names_are_the_sites(lang):
    """The page tells readers the downloaded file is ``l1_loss.<lang>.ipynb``: the site names it so."""
    spec = importlib.util.spec_from_file_location("reflosses_site_for_run_page", BOOK / "_ext" / "reflosses_site.py")
    site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site)
    for edition in LANGS:
        name = pathlib.PurePosixPath(site.download_name("regression/l1_loss", ".ipynb", edition)).name
        assert f"`{name}`" in page(lang)


# ------------------------------------------------------------------------------ versions


@pytest.mark.parametrize("lang", LANGS)
def test_torch_versions_are_those_of_the_locks(lang):
    text = page(lang)
    pinned, latest = pinned_torch("requirements.lock"), pinned_torch("requirements-latest.lock")
    spec = torch_specifier()
    assert set(re.findall(r"\b\d+\.\d+\.\d+\b", text)) == {pinned, latest}
    assert pinned in spec and latest in spec
    cited = re.findall(r"torch\s+(\d+\.\d+\.\d+)\s*[(（]`(requirements(?:-latest)?\.lock)`", text)
    assert sorted(set(cited)) == sorted({(pinned, "requirements.lock"), (latest, "requirements-latest.lock")})
    stated = [SpecifierSet(s) for s in inline_code(text) if re.fullmatch(r"[<>=!~][^`]*\d", s)]
    assert stated == [spec], f"the page states torch {stated}, pyproject.toml {spec}"


@pytest.mark.parametrize("lang", LANGS)
def test_python_versions_are_those_of_the_project(lang):
    minimum = re.fullmatch(r">=\s*(\d+\.\d+)", PYPROJECT["project"]["requires-python"]).group(1)
    header = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()[0]
    locked = re.search(r"\(Python (\d+\.\d+)", header).group(1)
    assert set(re.findall(r"Python\D{0,4}?(3\.\d+)", page(lang))) == {minimum, locked}


def _requirement_closure(roots: list[Requirement]) -> set[str]:
    """Every installed distribution that ``roots`` pull in, following installed metadata."""
    seen: set[tuple[str, frozenset]] = set()
    names: set[str] = set()
    stack = [(r.name, frozenset(r.extras)) for r in roots]
    while stack:
        name, extras = stack.pop()
        if (canonicalize_name(name), extras) in seen:
            continue
        seen.add((canonicalize_name(name), extras))
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        names.add(canonicalize_name(name))
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                stack.append((req.name, frozenset(req.extras)))
    return names


def test_the_install_commands_bring_what_the_notebooks_import():
    """What the page installs (torch, reflosses with the extras it names, ...) covers every
    third-party module a notebook or ``reflosses.book`` imports."""
    project = PYPROJECT["project"]
    roots = [Requirement(d) for d in project["dependencies"]]
    for argv in commands("en"):
        if argv[:2] == ["pip", "install"]:
            for a in argv[2:]:
                m = re.fullmatch(r"\.\[([\w,-]+)\]", a)
                if m:
                    roots += [Requirement(d) for e in m.group(1).split(",") for d in project["optional-dependencies"][e]]
                elif not a.startswith("-") and not a.startswith("http") and a != ".":
                    roots.append(Requirement(a))
    closure = _requirement_closure(roots)

    modules: set[str] = set()
    for nb_path in sorted(BOOK.glob("[ez][nh]/**/*.ipynb")):
        for cell in json.loads(nb_path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                modules |= set(re.findall(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", src, re.M))
    tree = ast.parse((ROOT / "reflosses" / "book.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names and m not in ("reflosses", "__future__"))
    assert "myst_nb" in third_party and "matplotlib" in third_party  # the scan sees the imports at all
    provided = importlib.metadata.packages_distributions()
    missing = [m for m in third_party if not {canonicalize_name(d) for d in provided.get(m, [])} & closure]
    assert missing == [], f"imported by the notebooks but not installed by the page's commands: {missing}"


# ------------------------------------------------------------------------------ what `check` prints


def test_check_prints_what_the_page_describes(monkeypatch, capsys):
    import torch

    import reflosses
    from reflosses import check
    from reflosses.__main__ import main

    assert check.DTYPES == (torch.float64, torch.float32)
    case = check.all_cases()[0]
    good = check.compare(case)
    assert good.ok, good
    bad = dataclasses.replace(good, ok=False, message="value: error 1.0e+00 > 1e-12")

    monkeypatch.setattr(check, "run_all", lambda: [good, good])
    assert main(["check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"reflosses {reflosses.__version__}" in out[0] and f"torch {torch.__version__}" in out[0]
    assert "(2 runs" in out[0]
    assert "float64" in out[1] and "float32" in out[1]
    assert all(w in out[2] for w in ("loss", "cases", "max value err", "max grad err", "status"))
    rows = [line for line in out if line.startswith(case.loss + " ")]
    assert len(rows) == 1 and rows[0].split()[-1] == "ok"  # one row per loss
    assert out[-1] == "2 passed, 0 failed"

    monkeypatch.setattr(check, "run_all", lambda: [good, bad])
    assert main(["check"]) == 1  # the exit status the page promises
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line.startswith(case.loss + " ")]
    assert len(rows) == 1 and rows[0].endswith("MISMATCH (1)")
    below = out[out.index(rows[0]) + 1:]
    assert any(case.loss in line and case.label in line and bad.message in line for line in below)
    assert out[-1] == "1 passed, 1 failed"

    for lang in LANGS:
        spans = inline_code(page(lang))
        assert {"ok", "MISMATCH (n)", "float64", "float32"} <= set(spans)


def test_version_dependent_cells_are_explained_where_the_page_says():
    """The page: cells tagged ``version-dependent`` may differ on another torch, `make compat`
    skips only their outputs, and the chapter's "For implementers" section explains them."""
    tag = re.search(r'^TAG = "([^"]+)"', (ROOT / "tests" / "compat_notebooks.py").read_text(encoding="utf-8"), re.M)
    assert tag and tag.group(1) == "version-dependent"
    for lang in LANGS:
        assert f"`{tag.group(1)}`" in page(lang)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "tests/compat_notebooks.py" in makefile and "requirements-latest.lock" in makefile
    tagged = 0
    for nb_path in sorted(BOOK.glob("[ez][nh]/**/*.ipynb")):
        cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
        anchors = {m: i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                   for m in re.findall(r"^\([a-z0-9-]+-(implementers|references)\)=", "".join(c["source"]), re.M)}
        for i, c in enumerate(cells):
            if tag.group(1) in c.get("metadata", {}).get("tags", []):
                tagged += 1
                assert anchors.get("implementers", len(cells)) < i < anchors.get("references", len(cells)), (
                    f"{nb_path.relative_to(ROOT)}: cell {i} is tagged {tag.group(1)} outside 'For implementers'")
    assert tagged > 0


# ------------------------------------------------------------------------------ end to end


def test_a_downloaded_notebook_passes_the_pages_nbval_command(tmp_path):
    """The en page's nbval command, on a chapter copied out of the repository under its download
    name: no project conftest or pytest config applies, the kernel is the plain python3 one."""
    argv = next(a for a in commands("en") if a[0] == "pytest")
    src = notebook("en", argv[-1])
    shutil.copy(src, tmp_path / argv[-1])
    proc = subprocess.run([sys.executable, "-m", *argv, "-p", "no:randomly", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    code_cells = sum(c["cell_type"] == "code" for c in json.loads(src.read_text(encoding="utf-8"))["cells"])
    summary = proc.stdout.strip().splitlines()[-1]
    assert re.match(rf"{code_cells} passed\b", summary), summary  # "each code cell is one test"
