"""The documentation's code runs, so the docs never rot.

For every page ``docs/**/*.md`` (one test per page):

* every fenced ````python`` block runs, in order, in one fresh namespace per page, with
  the working directory at the root of a temporary copy of the repository (so a block may
  write files, and relative paths such as ``examples/chain.snn`` resolve as they do for a
  reader at the root of a checkout);
* an ````output`` block directly after a ````python`` block (nothing but blank lines
  between) is what that block prints: the printed text must equal it, line by line with
  trailing spaces ignored, where ``...`` stands for any text (doctest's ELLIPSIS: within a
  line, or a whole line standing for any number of lines);
* every ````console``/````bash``/````shell`` block is a transcript: each ``$ neurocomp ...``
  line runs through :func:`neurocomp.cli.main` (a trailing ``\\`` continues the command on
  the next line), and the lines after it, up to the next ``$``, must appear in what it
  printed (stdout and stderr), in that order, each as a whole line (``...`` as above). The
  command must exit with 0, unless the lines shown contain an error (a line with
  ``error:``): then it must fail. A transcript of anything but ``neurocomp`` is an error
  (fence it as ````text``).
* any other fence is illustrative and must say so with its language (``text``, ``snn``,
  ``toml``, ...). In ``docs/tutorial/`` every fence must name one; elsewhere a fence
  without a language is read as text, and a page may not gain more of them than it had
  (``UNTAGGED_ALLOWED``).

Files a page writes under ``docs/tutorial/files/`` must be the ones committed there: the
chapters make their own small data, and the test keeps the committed copies honest
(``pytest tests/test_docs.py --update-golden`` copies them back after a change).

A page whose blocks import an optional package that is not installed (``nir``,
``matplotlib``) is skipped at that block, with the reason shown; nothing else is skipped.
"""

from __future__ import annotations

import contextlib
import doctest
import filecmp
import io
import re
import shlex
import shutil
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TUTORIAL = DOCS / "tutorial"
TUTORIAL_FILES = Path("docs") / "tutorial" / "files"

#: What a temporary working copy holds: everything the pages read (not the package,
#: which is installed, nor version control).
COPIED = ("README.md", "pyproject.toml", "chips", "docs", "examples", "tests", "benchmarks")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", "runs")

#: Fences that are shown, not run.
ILLUSTRATIVE = {"text", "snn", "toml", "json", "yaml", "ini", "csv", "diff", "lark", "math", "html"}
TRANSCRIPTS = {"console", "bash", "shell", "sh"}
OPTIONAL_PACKAGES = {"nir": "nir", "matplotlib": "plot", "distributed": "dask", "dask": "dask"}

#: Fences without a language outside the tutorial, per page, written before this test
#: existed: they read as text. A page may not gain more (name the language instead).
UNTAGGED_ALLOWED: dict[str, int] = {
    "docs/api.md": 1, "docs/compiler.md": 9, "docs/dsl.md": 5, "docs/emulator.md": 1,
    "docs/encoders.md": 7, "docs/energy.md": 3, "docs/models.md": 2, "docs/nir.md": 2,
    "docs/report.md": 1,
}

#: Pages too slow for the default run (over ~5 s warm), with why; marked ``slow``. None is, now:
#: the whole of docs/ runs in about 15 s with Numba's cache warm.
SLOW: dict[str, str] = {}

#: Python blocks known not to run, by page and a piece of the block's text, with why. Each
#: is an expected failure, and a failure once it runs (remove the entry then): never silent.
KNOWN_BROKEN: dict[tuple[str, str], str] = {}

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: its language, text and the line its fence opens on."""

    lang: str
    text: str
    line: int
    follows: "Block | None"  # the block just before it, when only blank lines separate them


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order (CommonMark fences, up to 3 spaces
    of indent; the content loses the fence's indent)."""
    out: list[Block] = []
    lines = text.split("\n")
    i = 0
    last_end = -10  # line index of the previous block's closing fence
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        lang = m["info"].strip().split(" ")[0].lower() if m["info"].strip() else ""
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and set(close) == {fence[0]}:
                break
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i].lstrip())
            i += 1
        between = lines[last_end + 1:start]
        follows = out[-1] if out and last_end >= 0 and all(not s.strip() for s in between) else None
        out.append(Block(lang, "\n".join(body) + ("\n" if body else ""), start + 1, follows))
        last_end = i
        i += 1
    return out


#: Pages that run first, in this order (the others follow in name order). Under pytest-xdist
#: each page is a unit of work of its own (``tests/conftest.py``), handed out in this
#: order, so the two processes start on different kernel families and a later page finds
#: the other process's kernels in Numba's cache: chapter 4 compiles the partitioners (every
#: compile for a chip needs them) while chapters 1 and 3 compile the float model and the
#: lowering, which need none; chapter 6 the Loihi kernel before the pages that run it.
#: Only the time depends on it (a page runs alone, in a fresh copy of the repository).
FIRST = ("docs/tutorial/04-on-a-chip.md", "docs/tutorial/01-one-neuron.md", "docs/tutorial/06-energy.md",
         "docs/tutorial/03-networks.md", "docs/tutorial/02-encodings.md", "docs/tutorial/05-truenorth-splitters.md",
         "docs/tutorial/08-akida-frames.md", "docs/tutorial/09-plasticity.md", "docs/tutorial/07-quantization.md")


def pages() -> list[Path]:
    rank = {page: k for k, page in enumerate(FIRST)}
    return sorted(DOCS.rglob("*.md"), key=lambda p: (rank.get(page_id(p), len(rank)), p))


def page_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def page_params() -> list:
    params = []
    for path in pages():
        rel = page_id(path)
        marks = [pytest.mark.slow] if rel in SLOW else []
        params.append(pytest.param(path, id=rel, marks=marks))
    return params


# --------------------------------------------------------------------------- matching


_CHECKER = doctest.OutputChecker()


def _line_matches(want: str, got: str) -> bool:
    want, got = want.rstrip(), got.rstrip()
    if "..." not in want:
        return want == got
    return _CHECKER.check_output(want + "\n", got + "\n", doctest.ELLIPSIS)


def output_matches(want: str, got: str) -> bool:
    """The whole printed text against an ``output`` block (trailing spaces ignored)."""
    norm = lambda s: "\n".join(line.rstrip() for line in s.rstrip("\n").split("\n")) + "\n"  # noqa: E731
    return _CHECKER.check_output(norm(want), norm(got), doctest.ELLIPSIS)


def missing_lines(shown: list[str], printed: str) -> list[str]:
    """The shown lines that do not appear, in order, as whole lines of ``printed``
    (a line of ``...`` alone skips nothing: it is implied)."""
    got = printed.split("\n")
    k = 0
    missing = []
    for want in shown:
        if not want.strip() or want.strip() == "...":
            continue
        j = k
        while j < len(got) and not _line_matches(want, got[j]):
            j += 1
        if j == len(got):
            missing.append(want)
        else:
            k = j + 1
    return missing


# --------------------------------------------------------------------------- transcripts


@dataclass(frozen=True)
class Command:
    argv: list[str]
    shown: list[str]
    line: int


def commands(block: Block, where: str) -> list[Command]:
    """The ``$`` commands of a transcript block and the output lines shown after each."""
    out: list[Command] = []
    lines = block.text.rstrip("\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            if not out:
                pytest.fail(f"{where}:{block.line}: a {block.lang} block must start with a '$ neurocomp ...' "
                            f"command (got {line!r}); fence an illustrative one as text")
            out[-1].shown.append(line)
            i += 1
            continue
        start = i
        cmd = line[2:]
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd[:-1] + " " + lines[i].strip()
        argv = shlex.split(cmd, comments=True)
        if not argv or argv[0] != "neurocomp":
            pytest.fail(f"{where}:{block.line + 1 + start}: only 'neurocomp' commands run in a {block.lang} "
                        f"block (got {cmd!r}); fence it as text")
        out.append(Command(argv[1:], [], block.line + 1 + start))
        i += 1
    return out


def run_command(argv: list[str], capsys) -> tuple[int, str]:
    from neurocomp.cli import main

    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the command line reports its own warnings
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --------------------------------------------------------------------------- running a page


def working_copy(dest: Path) -> Path:
    """A copy of what the pages read, at ``dest``, without ``docs/tutorial/files/``."""
    dest.mkdir(parents=True)
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=IGNORED, symlinks=True)
        elif src.exists():
            shutil.copy2(src, dest / name)
    # the chapters make these themselves; the committed copies are checked against them
    shutil.rmtree(dest / TUTORIAL_FILES, ignore_errors=True)
    return dest


def _block_error(where: str, block: Block, exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in tb if f.filename == where] or tb[-1:]
    line = frames[-1].lineno or 0
    return (f"{where}:{block.line + line}: python block (line {line} of the block) raised "
            f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_list(tb[-4:])))


def known_broken(where: str, block: Block) -> str | None:
    for (page, piece), why in KNOWN_BROKEN.items():
        if page == where and piece in block.text:
            return why
    return None


def run_page(path: Path, where: str, capsys, *, tutorial: bool) -> None:
    """Run one page's blocks (see the module docstring); ``where`` names it in messages,
    ``tutorial`` asks every fence to name its language."""
    page = blocks(path.read_text(encoding="utf-8"))
    scope: dict = {"__name__": "__docs__"}
    printed: dict[int, str] = {}  # block index -> what it printed
    for k, block in enumerate(page):
        lang = block.lang
        if lang in ("python", "py"):
            broken = known_broken(where, block)
            buf = io.StringIO()
            try:
                code = compile(block.text, where, "exec")
                with contextlib.redirect_stdout(buf), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pages show warnings by printing them
                    exec(code, scope)  # noqa: S102
            except ModuleNotFoundError as exc:
                if exc.name in OPTIONAL_PACKAGES:
                    pytest.skip(f"{where}:{block.line} needs the optional package '{exc.name}' "
                                f"(pip install neurocomp[{OPTIONAL_PACKAGES[exc.name]}])")
                if broken:
                    pytest.xfail(f"{where}:{block.line}: {broken}")
                pytest.fail(_block_error(where, block, exc))
            except Exception as exc:  # noqa: BLE001 - the message says which block and line
                if broken:
                    pytest.xfail(f"{where}:{block.line}: {broken}")
                pytest.fail(_block_error(where, block, exc))
            if broken:
                pytest.fail(f"{where}:{block.line}: the block now runs; remove it from KNOWN_BROKEN")
            printed[k] = buf.getvalue()
        elif lang == "output":
            before = page.index(block.follows) if block.follows is not None else -1
            if before < 0 or page[before].lang not in ("python", "py"):
                pytest.fail(f"{where}:{block.line}: an output block must follow a python block "
                            f"directly (only blank lines between)")
            got = printed[before]
            if not output_matches(block.text, got):
                pytest.fail(f"{where}:{block.line}: the python block at line {page[before].line} printed\n"
                            f"{got}\nnot what the page shows:\n{block.text}")
        elif lang in TRANSCRIPTS:
            for cmd in commands(block, where):
                code, out = run_command(cmd.argv, capsys)
                shows_error = any("error:" in line for line in cmd.shown)
                if shows_error and code == 0:
                    pytest.fail(f"{where}:{cmd.line}: 'neurocomp {shlex.join(cmd.argv)}' succeeded, but the page "
                                f"shows an error:\n{out}")
                if not shows_error and code != 0:
                    pytest.fail(f"{where}:{cmd.line}: 'neurocomp {shlex.join(cmd.argv)}' exited with {code}:\n{out}")
                missing = missing_lines(cmd.shown, out)
                if missing:
                    pytest.fail(f"{where}:{cmd.line}: 'neurocomp {shlex.join(cmd.argv)}' did not print, in "
                                f"this order:\n" + "\n".join(missing) + f"\n--- it printed:\n{out}")
        elif lang == "" and not tutorial:
            continue  # an untagged fence outside the tutorial reads as text
        elif lang not in ILLUSTRATIVE:
            pytest.fail(f"{where}:{block.line}: a fence must name its language: python, output, console, "
                        f"or one of {', '.join(sorted(ILLUSTRATIVE))} for a block that is only shown "
                        f"(got {lang!r})")


@pytest.mark.parametrize("path", page_params())
def test_page_runs(path: Path, tmp_path, monkeypatch, capsys, update_golden) -> None:
    workdir = working_copy(tmp_path / "repo")
    monkeypatch.chdir(workdir)
    run_page(path, page_id(path), capsys, tutorial=path.is_relative_to(TUTORIAL))
    check_tutorial_files(workdir, update_golden)


def check_tutorial_files(workdir: Path, update: bool) -> None:
    """Files the page wrote under docs/tutorial/files/ are the committed ones."""
    written = workdir / TUTORIAL_FILES
    if not written.is_dir():
        return
    stale = []
    for file in sorted(p for p in written.rglob("*") if p.is_file()):
        rel = file.relative_to(workdir)
        committed = ROOT / rel
        if committed.exists() and filecmp.cmp(file, committed, shallow=False):
            continue
        if update:
            committed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, committed)
        else:
            stale.append(rel.as_posix())
    if stale:
        pytest.fail("the page writes files that differ from (or are missing in) the repository: "
                    + ", ".join(stale) + "; run pytest tests/test_docs.py --update-golden and commit them")


# --------------------------------------------------------------------------- the harness itself


def test_blocks_are_found_with_their_language_line_and_neighbour() -> None:
    text = ("Intro\n\n```python\nprint(1)\n```\n\n```output\n1\n```\n\nProse.\n\n"
            "```output\n2\n```\n  ```snn\n  network x\n  ```\n````text\n```\n````\n")
    found = blocks(text)
    assert [(b.lang, b.line) for b in found] == [("python", 3), ("output", 7), ("output", 13),
                                                 ("snn", 16), ("text", 19)]
    assert found[1].follows is found[0]          # only a blank line between
    assert found[2].follows is None               # prose between
    assert found[3].text == "network x\n"         # the fence's indent is removed
    assert found[4].text == "```\n"               # a longer fence holds a shorter one


def test_output_matching_is_exact_except_for_ellipses_and_trailing_spaces() -> None:
    assert output_matches("a  1\nb\n", "a  1   \nb\n")
    assert not output_matches("a 1\n", "a  1\n")
    assert not output_matches("a\n", "a\nb\n")        # every printed line is shown
    assert output_matches("a\n...\nz\n", "a\nb\nc\nz\n")
    assert output_matches("took ... s\n", "took 0.25 s\n")
    assert missing_lines(["x = 1", "...", "z"], "header\nx = 1\ny\nz\n") == []
    assert missing_lines(["z", "x = 1"], "x = 1\nz\n") == ["x = 1"]   # order matters
    assert missing_lines(["x"], "xx\n") == ["x"]                       # whole lines only


def test_transcripts_run_only_neurocomp_and_join_continued_lines() -> None:
    block = Block("console", "$ neurocomp compile a.snn \\\n    --chip loihi\ncompiled ...\n$ neurocomp chips\n",
                  10, None)
    cmds = commands(block, "page.md")
    assert [c.argv for c in cmds] == [["compile", "a.snn", "--chip", "loihi"], ["chips"]]
    assert cmds[0].shown == ["compiled ..."] and cmds[0].line == 11 and cmds[1].line == 14
    with pytest.raises(pytest.fail.Exception, match="only 'neurocomp' commands"):
        commands(Block("bash", "$ pip install neurocomp\n", 1, None), "page.md")
    with pytest.raises(pytest.fail.Exception, match="must start with"):
        commands(Block("console", "neurocomp chips\n", 1, None), "page.md")


def test_a_page_that_rots_fails(tmp_path, monkeypatch, capsys) -> None:
    """The harness itself: a wrong output, a failing command, an untagged tutorial fence."""
    monkeypatch.chdir(ROOT)
    cases = {
        "```python\nprint(2 + 2)\n```\n```output\n5\n```\n": "printed",
        "```console\n$ neurocomp check examples/nope.snn\n```\n": "exited with",
        "```console\n$ neurocomp chips\nloihi  Intel  999 cores\n```\n": "did not print",
        "```console\n$ neurocomp chips\nerror: nothing\n```\n": "succeeded",
        "```python\n1 / 0\n```\n": "ZeroDivisionError",
        "Prose.\n\n```output\n1\n```\n": "must follow a python block",
        "```\nshown\n```\n": "must name its language",
    }
    page = tmp_path / "page.md"
    for text, message in cases.items():
        page.write_text(text, encoding="utf-8")
        with pytest.raises(pytest.fail.Exception, match=message):
            run_page(page, "page.md", capsys, tutorial=True)
    page.write_text("```python\nprint(2 + 2)\n```\n\n```output\n4\n```\n\n```\nshown\n```\n", encoding="utf-8")
    run_page(page, "page.md", capsys, tutorial=False)   # an untagged fence is text outside the tutorial


def test_no_page_gains_a_fence_without_a_language() -> None:
    grown = []
    for path in pages():
        where = page_id(path)
        untagged = [b.line for b in blocks(path.read_text(encoding="utf-8")) if b.lang == ""]
        allowed = 0 if path.is_relative_to(TUTORIAL) else UNTAGGED_ALLOWED.get(where, 0)
        if len(untagged) > allowed:
            grown.append(f"{where}: fences at lines {untagged} name no language ({allowed} allowed)")
    assert not grown, ("name the language of each fence (text, snn, toml, python, console, ...):\n"
                       + "\n".join(grown))


def test_pages_run_first_in_order_each_a_unit_of_work_of_its_own() -> None:
    import conftest

    ids = [page_id(p) for p in pages()]
    assert ids[:len(FIRST)] == list(FIRST)               # every page FIRST names exists
    assert ids[len(FIRST):] == sorted(ids[len(FIRST):])
    page = "tests/test_docs.py::test_page_runs[docs/tutorial/04-on-a-chip.md]"
    assert conftest.unit_of(page) == page
    assert conftest.unit_of("tests/test_docs.py::test_output_matching_is_exact_except_for_ellipses_and_trailing_spaces") \
        == "tests/test_docs.py"
    assert conftest.unit_of("tests/test_cli.py::TestRun::test_x[a::b]") == "tests/test_cli.py"


def test_every_tutorial_chapter_is_in_its_index() -> None:
    index = (TUTORIAL / "README.md").read_text(encoding="utf-8")
    chapters = sorted(p.name for p in TUTORIAL.glob("[0-9][0-9]-*.md"))
    assert len(chapters) >= 7
    for name in chapters:
        assert f"({name})" in index, f"docs/tutorial/README.md does not link {name}"
    assert "docs/tutorial/" in (ROOT / "README.md").read_text(encoding="utf-8")
