"""Run the installed ``critmin`` console script (the real entry point) for end-to-end tests."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

EXE = Path(sys.executable).parent / "critmin"


def run_cli(*args: str, home: Path, ok: bool = True, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run ``critmin ARGS`` with its own ``CRITMIN_HOME``; assert success unless ``ok=False``."""
    env = {**os.environ, "CRITMIN_HOME": str(home), "COLUMNS": "200"}
    proc = subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def run_main(*args: str, home: Path, ok: bool = True, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run the real entry point function (``critmin.cli.main``) in this process, like :func:`run_cli`.

    Same arguments and result as :func:`run_cli`, without the interpreter start-up (about 1 s):
    for the many parametrised hostile-input cases. Every module keeps some :func:`run_cli` cases,
    which go through the installed console script. ``timeout`` is accepted for symmetry only.
    """
    from critmin.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_argv, saved_home = sys.argv, os.environ.get("CRITMIN_HOME")
    sys.argv = ["critmin", *args]
    os.environ["CRITMIN_HOME"] = str(home)
    code: int = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved_argv
        if saved_home is None:
            os.environ.pop("CRITMIN_HOME", None)
        else:
            os.environ["CRITMIN_HOME"] = saved_home
    proc = subprocess.CompletedProcess(["critmin", *args], code, out.getvalue(), err.getvalue())
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc
