"""Shared pieces of the hostile-input tests: run the real entry point in-process, check the line.

:func:`cli` runs ``critmin.cli.main`` (the console script's function) in this process through
:func:`tests.e2e.cli.run_main` and returns (exit code, stdout, stderr). :func:`assert_one_line`
checks the house rule for bad input: exactly one ``error: ...`` line, with the place, the field,
what is wrong and a fix, and no traceback. :func:`only_data_errors` is the fuzz tests' check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from critmin.errors import DataError
from tests.e2e.cli import run_main


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """``critmin ARGS`` in the test's own ``CRITMIN_HOME``: (exit code, stdout, stderr).

    ``monkeypatch`` and ``capsys`` stay in the signature the hostile modules call it with;
    :func:`~tests.e2e.cli.run_main` patches ``sys.argv`` and captures the output itself.
    """
    del monkeypatch, capsys
    proc = run_main(*args, home=Path(os.environ["CRITMIN_HOME"]), ok=False)
    return proc.returncode, proc.stdout, proc.stderr


def only_data_errors(call: Callable[[], Any]) -> None:
    """``call()`` succeeds, or raises a DataError on one line with a fix; anything else fails."""
    try:
        call()
    except DataError as exc:
        message = str(exc)
    else:
        return
    assert "\n" not in message, message
    assert "Fix:" in message, message


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
