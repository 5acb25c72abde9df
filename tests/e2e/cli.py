"""Run the installed ``critmin`` console script (the real entry point) for end-to-end tests."""

from __future__ import annotations

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
