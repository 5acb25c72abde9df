"""Shared pieces of the hostile-input tests: run the real entry point in-process, check the line.

:func:`cli` runs ``critmin.cli.main`` (the console script's function) with ``sys.argv`` patched and
returns (exit code, stdout, stderr). :func:`assert_one_line` checks the house rule for bad input:
exactly one ``error: ...`` line, with the place, the field, what is wrong and a fix, and no
traceback.
"""

from __future__ import annotations

import sys

import pytest

from critmin.cli import main


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run ``critmin ARGS`` through ``critmin.cli.main`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["critmin", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(
    err: str, where: str, column: str | None, needle: str, *, max_len: int | None = None
) -> str:
    """Exactly one ``error:`` line holding ``where``, ``column 'COLUMN'``, ``needle`` and ``Fix:``."""
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    text = lines[0]
    assert text.startswith("error: "), err
    assert "Traceback" not in err
    assert "Fix:" in text, err
    assert where in text, err
    if column is not None:
        assert f"column {column!r}" in text, err
    assert needle in text, err
    if max_len is not None:
        assert len(text) < max_len, "a hostile value must be shown cut short"
    return text
