"""Every hint and cross-reference points at something that exists.

* CLI options named in strings in ``src/`` (error hints, fixes, help texts) and in the README's
  commands exist in the Typer app (the click command tree from ``typer.main.get_command``);
  where the string names the command (``critmin simulate --list-parameters``), on that command.
* ``docs/model.md`` section numbers quoted in ``src/`` code (``section 5.10``, ``§3.8``) and in
  the README are headings of ``docs/model.md``.
* Relative links in the Markdown files, and repository paths the README quotes, exist.
* Counts the README quotes (commodities, sources, table rows) are the tool's.

``KNOWN_MISSING`` lists references known to be broken today, each with who fixes it. An
entry that is no longer broken fails the test, so the list cannot go stale: delete it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer.main

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "critmin"
README = ROOT / "README.md"
MODEL_MD = ROOT / "docs" / "model.md"

#: Known-broken references: (kind, reference) -> who fixes it. Delete an entry once fixed.
KNOWN_MISSING: dict[tuple[str, str], str] = {}

_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_COMMAND = re.compile(r"\bcritmin((?:\s+[^\s`;\"')]+)+)")
#: Options click adds to every command without listing them in ``params``.
_IMPLICIT = frozenset({"--help"})
#: A "section N" right after one of these cites another document, not docs/model.md.
_OTHER_DOCUMENT = re.compile(r"(PROVENANCE\.md|EUR \d+|RFC \d+|Guidelines[^.]*|Regulation[^.]*),?\s*$")
_SECTION = re.compile(r"(?:§\s?|\bsection\s+)(\d+[a-z]?(?:\.\d+[a-z]?)*)", re.IGNORECASE)


@cache
def _tree() -> Any:
    from critmin.cli import app

    return typer.main.get_command(app)


def _options(cmd: Any) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")} | _IMPLICIT


def _all_options() -> set[str]:
    out: set[str] = set()

    def walk(cmd: Any) -> None:
        out.update(_options(cmd))
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(_tree())
    return out


def _resolve(words: list[str]) -> tuple[Any, list[str]] | None:
    """The command ``critmin WORDS...`` names and the words after it (None: not a command)."""
    node, rest = _tree(), list(words)
    depth = 0
    while rest and hasattr(node, "commands") and rest[0] in node.commands:
        node = node.commands[rest.pop(0)]
        depth += 1
    return (node, rest) if depth else None


def _strings(path: Path) -> Iterator[tuple[int, str]]:
    """String constants of a Python file (f-string parts included), with their line."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _src_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _known(kind: str, ref: str, missing: set[tuple[str, str]]) -> bool:
    if (kind, ref) in KNOWN_MISSING:
        missing.add((kind, ref))
        return True
    return False


def _check_allowlist(kind: str, missing: set[tuple[str, str]]) -> None:
    stale = [key for key in KNOWN_MISSING if key[0] == kind and key not in missing]
    assert not stale, f"KNOWN_MISSING entries no longer missing (delete them): {stale}"


# --------------------------------------------------------------------------- CLI options
def _command_spans(text: str) -> Iterator[tuple[str, list[str]]]:
    """(the span, its words) for every ``critmin WORDS`` in ``text``."""
    for m in _COMMAND.finditer(text):
        yield m.group(0), m.group(1).split()


def _option_problems(text: str, where: str, seen: set[tuple[str, str]]) -> list[str]:
    problems: list[str] = []
    every = _all_options()
    scoped: set[int] = set()
    for m in _COMMAND.finditer(text):
        resolved = _resolve(m.group(1).split())
        if resolved is None:
            continue
        cmd, rest = resolved
        have = _options(cmd)
        scoped.update(range(m.start(), m.end()))
        for opt in _OPTION.findall(" ".join(rest)):
            if opt not in have and not _known("option", f"{cmd.name} {opt}", seen):
                problems.append(f"{where}: `critmin ... {cmd.name}` has no option {opt}")
    for m in _OPTION.finditer(text):
        if m.start() not in scoped and m.group(0) not in every and not _known("option", m.group(0), seen):
            problems.append(f"{where}: no command has the option {m.group(0)}")
    return problems


def test_options_named_in_src_strings_exist() -> None:
    seen: set[tuple[str, str]] = set()
    problems = [
        p
        for path in _src_files()
        for line, text in _strings(path)
        for p in _option_problems(text, f"{path.relative_to(ROOT)}:{line}", seen)
    ]
    assert not problems, "\n".join(problems)
    _check_allowlist("option", seen)


def test_options_in_the_readme_commands_exist() -> None:
    seen: set[tuple[str, str]] = set()
    problems: list[str] = []
    for n, line in enumerate(README.read_text("utf-8").splitlines(), start=1):
        for span, words in _command_spans(line):
            resolved = _resolve(words)
            if resolved is None:
                continue
            cmd, rest = resolved
            for opt in _OPTION.findall(" ".join(rest)):
                if opt not in _options(cmd) and not _known("option", f"{cmd.name} {opt}", seen):
                    problems.append(f"README.md:{n}: {span!r}: {cmd.name} has no option {opt}")
    assert not problems, "\n".join(problems)


def test_the_checker_can_fail() -> None:
    """A made-up option and a made-up command option are both reported."""
    assert _option_problems("see `critmin simulate --no-such-flag`", "x", set())
    assert _option_problems("use --definitely-not-an-option", "x", set())
    assert not _option_problems("see `critmin data sources --kind assumption`", "x", set())
    # --kind exists (on data sources), but not on simulate
    assert _option_problems("`critmin simulate --kind x`", "x", set())


# --------------------------------------------------------------------------- docs/model.md sections
@cache
def _model_sections() -> frozenset[str]:
    heads = re.findall(r"^#{2,4}\s+(\d+[a-z]?(?:\.\d+[a-z]?)*)\.?\s", MODEL_MD.read_text("utf-8"), re.M)
    return frozenset(heads)


def _section_refs(text: str) -> Iterator[str]:
    for m in _SECTION.finditer(text):
        if _OTHER_DOCUMENT.search(text[max(0, m.start() - 60) : m.start()]):
            continue
        yield m.group(1)


def test_model_md_has_numbered_headings() -> None:
    assert {"3.8", "5.5b", "5.10", "11"} <= _model_sections()


def test_model_md_sections_quoted_in_src_exist() -> None:
    seen: set[tuple[str, str]] = set()
    problems = []
    for path in _src_files():
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            for ref in _section_refs(line):
                if ref not in _model_sections() and not _known("section", ref, seen):
                    problems.append(f"{path.relative_to(ROOT)}:{n}: docs/model.md has no section {ref}")
    assert not problems, "\n".join(problems)
    _check_allowlist("section", seen)


def test_model_md_sections_quoted_in_the_readme_exist() -> None:
    text = README.read_text("utf-8")
    refs = [m.group(1) for m in re.finditer(r"model\.md\s*§\s?(\d+[a-z]?(?:\.\d+[a-z]?)*)", text)]
    assert refs, "the README quotes docs/model.md sections; the pattern found none"
    assert [r for r in refs if r not in _model_sections()] == []


def test_section_refs_skip_other_documents() -> None:
    assert list(_section_refs("Blengini et al. 2017, EUR 28654, section 3.1")) == []
    assert list(_section_refs("see PROVENANCE.md section 7")) == []
    assert list(_section_refs("in docs/model.md section 5.10 and §3.8")) == ["5.10", "3.8"]


# --------------------------------------------------------------------------- links and paths
_MARKDOWN = [README, ROOT / "scenarios" / "README.md", MODEL_MD]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_REPO_PATH = re.compile(
    r"`((?:src|docs|benchmarks|scripts|tests|scenarios|critmin|simulate|report)/[^`\s]*)`"
)


@pytest.mark.parametrize("doc", _MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_exist(doc: Path) -> None:
    missing = []
    for target in _LINK.findall(doc.read_text("utf-8")):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        path = target.split("#", 1)[0]
        if not (doc.parent / path).exists():
            missing.append(target)
    assert missing == []


def test_repository_paths_the_readme_quotes_exist() -> None:
    quoted = set(_REPO_PATH.findall(README.read_text("utf-8")))
    assert "critmin/trace/ree_chain.yaml" in quoted
    bases = (ROOT, ROOT / "src", SRC)
    missing = sorted(q for q in quoted if not any((b / q).exists() for b in bases))
    assert missing == []


def test_the_scenarios_folder_has_no_broken_links() -> None:
    folder = ROOT / "scenarios"
    broken = [p.name for p in folder.iterdir() if p.is_symlink() and not p.exists()]
    assert broken == []
    assert (folder / "README.md").read_text("utf-8").count("critmin scenarios") >= 3


# --------------------------------------------------------------------------- counts
def test_readme_counts_are_the_tools() -> None:
    from critmin.data.load import load_dataset
    from critmin.model.commodities import registry

    text = README.read_text("utf-8")
    n_commodities = len(registry().commodities)
    quoted = [int(n) for n in re.findall(r"\b(\d+) commodities\b", text)]
    assert quoted, "the README quotes the commodity count"
    assert set(quoted) == {n_commodities}
    ds = load_dataset()
    assert f"lists all {len(ds.sources)} sources" in text
    for table, rows in ds.summary()["tables"].items():
        assert re.search(rf"\| `{table}` \| {rows:,} \|", text), f"README row count of {table}: {rows:,}"


# --------------------------------------------------------------------------- README Python API
def test_the_readme_python_api_block_runs_as_written(tmp_path: Path) -> None:
    """The ``## Python API`` example, run in a fresh interpreter after a bare ``import critmin``."""
    import subprocess
    import sys

    text = README.read_text("utf-8")
    section = text.split("## Python API", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    assert "critmin.trace.country.origin_matrix" in code
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
