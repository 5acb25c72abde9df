"""The bundled scenarios still give the results in their golden files (``golden/*.json``).

Each bundled scenario is rerun as :data:`tests.regression.golden.RUNS` says (200 paths at seed
0 with the mass-balance check, and the deterministic medians run) and every summary row and
sampled band row is compared with its golden file at rtol 1e-9 (see ``golden.py``). A failure
lists the rows that moved, largest first, as ``row: p50 old -> new``. If the change is
intended, regenerate with ``python scripts/regen_golden.py`` and say why in the commit.

These files took over the pins of ``controls-reimposed-2026-11`` (200 paths, seed 0, and the
one-path run) that ``tests/unit/test_engine_toy.py`` used to hold; why those pins were reset
over time (allied trade, the price floor's supply effect, the Dy + Tb feed) is in that file's
git history.
"""

from __future__ import annotations

import copy
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.regression import golden

ROOT = Path(__file__).resolve().parents[2]


def test_every_bundled_scenario_has_a_golden_file_and_no_other() -> None:
    stored = sorted(p.stem for p in golden.GOLDEN_DIR.glob("*.json"))
    assert stored == golden.scenarios(), f"regenerate with {golden.REGENERATE}"


@pytest.mark.parametrize("name", golden.scenarios())
def test_bundled_scenario_matches_its_golden_file(name: str) -> None:
    old = golden.load(name)
    new = golden.compute(name)
    changes = golden.compare(old, new)
    assert not changes, golden.report(name, old, new, changes) + f"\nregenerate with {golden.REGENERATE}"


@pytest.mark.parametrize("name", golden.scenarios())
def test_golden_files_are_strict_json_one_row_per_line(name: str) -> None:
    doc = golden.load(name)  # strict: a NaN or Infinity token raises
    assert doc["scenario"] == name
    assert [r["paths"] for r in doc["runs"]] == [r.paths for r in golden.RUNS]
    # the file is exactly what the regeneration writes (so a regeneration diffs row by row)
    assert golden.path(name).read_text(encoding="utf-8") == golden.dumps(doc)


# ------------------------------------------------------------------ the comparison can fail
def _row(doc: dict[str, Any]) -> dict[str, Any]:
    """The first summary row of the 200-path run with a non-zero p50."""
    return next(r for r in doc["runs"][0]["summary"] if r["p50"])


def _nudged(doc: dict[str, Any], rel: float) -> dict[str, Any]:
    """``doc`` with that row's p50 moved by the relative amount ``rel``."""
    out = copy.deepcopy(doc)
    _row(out)["p50"] *= 1 + rel
    return out


def test_the_comparison_reports_a_moved_added_or_removed_row() -> None:
    doc = golden.load("controls-reimposed-2026-11")
    assert golden.compare(doc, copy.deepcopy(doc)) == []
    assert golden.compare(doc, _nudged(doc, 5e-10)) == []  # within rtol 1e-9
    moved = golden.compare(doc, _nudged(doc, 3e-9))
    assert len(moved) == 1
    row = _row(doc)
    assert moved[0].key == ("200 paths, seed 0", "summary", row["region"], row["product"], row["metric"])
    assert f"p50 {row['p50']:.10g} -> " in moved[0].describe()
    assert "(+3.00e-09)" in moved[0].describe()
    fewer = copy.deepcopy(doc)
    gone = fewer["runs"][1]["summary"].pop()
    [removed] = golden.compare(doc, fewer)
    assert removed.new is None
    assert "row gone" in removed.describe()
    assert gone["metric"] in removed.describe()
    [added] = golden.compare(fewer, doc)
    assert added.old is None
    assert "new row" in added.describe()
    text = golden.report(
        "controls-reimposed-2026-11", doc, _nudged(doc, 1e-3), golden.compare(doc, _nudged(doc, 1e-3))
    )
    assert text.startswith("controls-reimposed-2026-11: 1 of ")


@pytest.fixture
def regen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regen_golden", ROOT / "scripts" / "regen_golden.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regen_check_exits_1_and_prints_the_row_that_moved(
    regen: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "backtest-2025-04"  # the shortest horizon
    assert regen.main(["--check", name]) == 0
    assert f"{name}: unchanged" in capsys.readouterr().out
    # a golden directory whose file has one p50 off by 1e-6
    shutil.copy(golden.path(name), tmp_path / f"{name}.json")
    monkeypatch.setattr(golden, "GOLDEN_DIR", tmp_path)
    stored = golden.load(name)
    golden.path(name).write_text(golden.dumps(_nudged(stored, 1e-6)), encoding="utf-8")
    before = golden.path(name).read_text(encoding="utf-8")
    assert regen.main(["--check", name]) == 1
    out = capsys.readouterr().out
    row = _row(stored)
    assert f"{name}: 1 of " in out
    assert f"summary {row['region']} {row['product']} {row['metric']}: p50 " in out
    assert "regenerate with python scripts/regen_golden.py" in out
    assert golden.path(name).read_text(encoding="utf-8") == before  # --check writes nothing
    # without --check the file is rewritten to the fresh run
    assert regen.main([name]) == 0
    assert golden.path(name).read_text(encoding="utf-8") == (
        ROOT / "tests/regression/golden" / f"{name}.json"
    ).read_text(encoding="utf-8")


def test_regen_refuses_an_unknown_scenario(regen: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert regen.main(["--check", "no-such-scenario"]) == 2
    assert "unknown scenario(s) no-such-scenario" in capsys.readouterr().err
