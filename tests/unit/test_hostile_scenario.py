"""Hostile scenario files, run sizes and options (issue 11, slice C).

Every refused scenario must give exit code 2 through the real entry point
(:func:`critmin.cli.main`, in-process here; ``tests/e2e/test_cli_simulate_hostile.py`` runs a
subset through the installed console script), exactly one stderr line naming the file, the line
and the dotted field with a fix, no traceback, and no output file. A hypothesis fuzz test
mutates the bundled scenario documents and asserts that :func:`load_scenario` gives a valid
:class:`Scenario` or a :class:`DataError`, nothing else.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.errors import DataError
from critmin.simulate import budget
from critmin.simulate.executors import executor_for, max_workers
from critmin.simulate.inputs.events import MAX_TONNES, MAX_USD_PER_KG
from critmin.simulate.inputs.params import MAX_LOG_SIGMA, FieldError, clean_loc, parameter_table
from critmin.simulate.inputs.scenario import MAX_MONTHS, Scenario, bundled_scenarios, load_scenario
from critmin.simulate.inputs.yamlload import load_yaml
from tests.fuzzing import fuzz_examples
from tests.hostile import cli as _cli

HEAD = "name: t\nstart: 2025-01\nend: 2026-12\n"  # lines 1-3


def _param(value: str, name: str = "licence.approval_rate") -> str:
    return HEAD + f"parameters:\n  {name}: {value}\n"  # the value is on line 5


def _event(body: str) -> str:
    return HEAD + f"events:\n  - {{id: e, date: 2025-03-01, {body}}}\n"  # the event is on line 5


#: name -> (YAML text, line, dotted field or None, words the message must contain)
CASES: dict[str, tuple[str, int | None, str | None, str]] = {
    "approval rate 5": (_param("5"), 5, "parameters.licence.approval_rate", "outside the bounds [0, 1]"),
    "approval rate -3": (_param("-3"), 5, "parameters.licence.approval_rate", "outside the bounds"),
    "approval rate .nan": (_param(".nan"), 5, "parameters.licence.approval_rate", "finite number"),
    "price elasticity -5": (
        _param("-5", "demand.price_elasticity"),
        5,
        "parameters.demand.price_elasticity",
        "outside the bounds [0, 2]",
    ),
    "growth 1e6 a year": (
        _param("1.0e+6", "demand.growth_per_year"),
        5,
        "parameters.demand.growth_per_year",
        "outside the bounds",
    ),
    "negative cover": (
        _param("-1", "inventory.cover_months"),
        5,
        "parameters.inventory.cover_months",
        "bounds",
    ),
    "negative delay": (
        _param("-4", "capacity.project_delay_months"),
        5,
        "parameters.capacity.project_delay_months",
        "bounds",
    ),
    "lognormal sigma 1000": (
        _param("{dist: lognormal, median: 0.05, sigma: 1000}", "demand.growth_per_year"),
        5,
        "parameters.demand.growth_per_year.sigma",
        f"less than or equal to {MAX_LOG_SIGMA:g}",
    ),
    "normal sd wider than the bounds": (
        _param("{dist: normal, mean: 5, sd: 40}", "licence.mean_lag_months"),
        5,
        "parameters.licence.mean_lag_months",
        "wider than its bounds",
    ),
    "beta a -1": (
        _param("{dist: beta, a: -1, b: 2}"),
        5,
        "parameters.licence.approval_rate.a",
        "greater than 0",
    ),
    "beta a .inf": (_param("{dist: beta, a: .inf, b: 2}"), 5, "parameters.licence.approval_rate.a", "finite"),
    "normal sd 0": (
        _param("{dist: normal, mean: 0.05, sd: 0}", "demand.growth_per_year"),
        5,
        "parameters.demand.growth_per_year.sd",
        "greater than 0",
    ),
    "uniform low > high": (
        _param("{dist: uniform, low: 0.9, high: 0.1}"),
        5,
        "parameters.licence.approval_rate",
        "low 0.9 > high 0.1",
    ),
    "uniform high .inf": (
        _param("{dist: uniform, low: 0, high: .inf}"),
        5,
        "parameters.licence.approval_rate.high",
        "finite",
    ),
    "uniform low .nan": (
        _param("{dist: uniform, low: .nan, high: 0.5}"),
        5,
        "parameters.licence.approval_rate.low",
        "finite",
    ),
    "triangular mode .nan": (
        _param("{dist: triangular, low: 0, mode: .nan, high: 1}"),
        5,
        "parameters.licence.approval_rate.mode",
        "finite",
    ),
    "unknown distribution": (
        _param("{dist: cauchy, x0: 0}"),
        5,
        "parameters.licence.approval_rate",
        "cauchy",
    ),
    "unknown parameter with markup": (
        _param("1", "'[/bold]x.y'"),
        5,
        "parameters.[/bold]x.y",
        "'[/bold]x.y'",
    ),
    "5,000-digit number": (_param("9" * 5000), 5, None, "(5,000 characters)"),
    "stockpile .inf": (
        _event("kind: stockpile, region: USA, amount_t: .inf"),
        5,
        "events.0.amount_t",
        "finite",
    ),
    "stockpile 1e12 t": (
        _event("kind: stockpile, region: USA, amount_t: 1.0e+12"),
        5,
        "events.0.amount_t",
        f"less than or equal to {MAX_TONNES:.0f}",
    ),
    "offtake .inf": (
        _event("kind: offtake, region: USA, seller: AUS, stages: [separation], volume_t_per_year: .inf"),
        5,
        "events.0.volume_t_per_year",
        "finite",
    ),
    "price floor .inf": (
        _event("kind: price_floor, region: USA, stages: [separation], price_usd_per_kg: .inf"),
        5,
        "events.0.price_usd_per_kg",
        "finite",
    ),
    "price floor 1e9 US$/kg": (
        _event("kind: price_floor, region: USA, stages: [separation], price_usd_per_kg: 1.0e+9"),
        5,
        "events.0.price_usd_per_kg",
        f"less than or equal to {MAX_USD_PER_KG:.0f}",
    ),
    "offtake seller is the buyer": (
        _event("kind: offtake, region: USA, seller: USA, stages: [separation], volume_t_per_year: 5"),
        5,
        "events.0.seller",
        "is the buyer",
    ),
    "offtake seller not a region": (
        _event("kind: offtake, region: USA, seller: XXX, stages: [separation], volume_t_per_year: 5"),
        5,
        "events.0.seller",
        "unknown seller 'XXX'",
    ),
    "offtake within one model region": (
        HEAD
        + "regions: [CHN, ROW, USA]\nevents:\n"
        + "  - {id: e, date: 2025-03-01, kind: offtake, region: BRA, seller: AUS, stages: [separation], "
        + "volume_t_per_year: 5}\n",
        6,
        "events.seller",
        "both in the model region 'ROW'",
    ),
    "approval-rate event .nan": (
        _event("kind: approval_rate, approval_rate: .nan"),
        5,
        "events.0.approval_rate",
        "finite",
    ),
    "suspension ends before it starts": (
        _event("kind: suspend, targets: [mofcom-2025-18], until: 2025-01-01"),
        5,
        "events.0.until",
        "before it starts",
    ),
    "duplicate regions": (
        HEAD + "regions: [CHN, ROW, USA, USA]\n",
        4,
        "regions.3",
        "must not repeat: ['USA']",
    ),
    "duplicate regions, block list": (
        HEAD + "regions:\n  - CHN\n  - USA\n  - ROW\n  - USA\n",
        8,
        "regions.3",
        "(first at line 6)",
    ),
    "duplicate key": (
        HEAD + "parameters:\n  licence.approval_rate: 0.5\n  licence.approval_rate: 0.9\n",
        6,
        None,
        "repeats (lines 5 and 6)",
    ),
    "duplicate top-level key": (HEAD + "start: 2025-02\n", 4, None, "'start' repeats (lines 2 and 4)"),
    "duplicate event ids": (
        HEAD
        + "events:\n  - {id: a, date: 2025-03-01, kind: lift, targets: [mofcom-2025-18]}\n"
        + "  - {id: a, date: 2025-04-01, kind: lift, targets: [mofcom-2025-18]}\n",
        6,
        "events.1.id",
        "(first at line 5)",
    ),
    "event id of the history": (
        _event("kind: lift, targets: [mofcom-2025-18]").replace("id: e,", "id: mofcom-2025-18,"),
        5,
        "events.id",
        "already an event of the bundled history",
    ),
    "horizon 1900-01 to 2100-12": (
        "name: t\nstart: 1900-01\nend: 2100-12\n",
        3,
        "end",
        f"at most {MAX_MONTHS}",
    ),
    "end before start": ("name: t\nstart: 2026-01\nend: 2025-01\n", 3, "end", "before start"),
    "month 2025-13": ("name: t\nstart: 2025-13\n", 2, "start", "'2025-13' is not a month"),
    "unknown top-level key": (HEAD + "paramters: {}\n", 4, "paramters", "unknown key 'paramters'"),
    "events not a list": (HEAD + "events: hello\n", 4, "events", "valid tuple"),
    "event without kind": (HEAD + "events:\n  - {id: e, date: 2025-03-01}\n", 5, "events.0", "kind"),
    "not a mapping": ("- a\n- b\n", 1, None, "a scenario is a YAML mapping"),
    "bad YAML": ("name: [unclosed\n", 2, None, "not valid YAML"),
    "python tag": ("name: !!python/object/apply:os.system [ls]\n", 1, None, "not valid YAML"),
}

BYTES: dict[str, tuple[bytes, int, str]] = {
    "UTF-16": (HEAD.encode("utf-16"), 1, "UTF-16"),
    "Latin-1": ((HEAD + "description: caf\xe9\n").encode("latin-1"), 4, "not UTF-8"),
    "binary": (b"\x00\x01\x02\xff" * 50, 1, "binary"),
}


def assert_one_line(
    err: str, path: Path | str | None, line: int | None, column: str | None, needle: str
) -> str:
    """Exactly one ``error: ...`` line with the place, the field, the words and a fix; no traceback."""
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    text = lines[0]
    assert text.startswith("error: "), text
    assert "Traceback" not in err
    assert "Fix:" in text, text
    if path is not None:
        where = f"{path}:{line}:" if line is not None else f"{path}:"
        assert where in text, text
    if column is not None:
        assert f"column {column!r}" in text, text
    assert needle in text, text
    return text


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_scenario_is_one_line_through_the_cli(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, line, column, needle = CASES[name]
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    out = tmp_path / "run.parquet"
    code, stdout, err = _cli(monkeypatch, capsys, "simulate", str(p), "--paths", "5", "--out", str(out))
    assert code == 2, err
    assert_one_line(err, p, line, column, needle)
    assert stdout == ""
    assert list(tmp_path.iterdir()) == [p]  # no output, no sidecar, no temp file


@pytest.mark.parametrize("name", list(BYTES))
def test_non_utf8_scenarios_are_refused(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, line, needle = BYTES[name]
    p = tmp_path / "s.yaml"
    p.write_bytes(data)
    code, _, err = _cli(monkeypatch, capsys, "simulate", str(p), "--paths", "5")
    assert code == 2
    assert_one_line(err, p, line, None, needle)


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_only_regular_files_are_read(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if kind == "folder":
        p = tmp_path / "s.yaml"
        p.mkdir()
        needle = "is a folder"
    elif kind == "fifo":
        p = tmp_path / "s.yaml"
        os.mkfifo(p)  # reading it would block forever
        needle = "FIFO"
    else:
        p = Path("/dev/zero")  # reading it would grow without end
        needle = "is a device"
    code, _, err = _cli(monkeypatch, capsys, "simulate", str(p), "--paths", "5")
    assert code == 2
    assert_one_line(err, p, None, None, needle)


def test_scenario_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(HEAD + "description: " + "x" * (2 * 1024 * 1024) + "\n", encoding="utf-8")
    monkeypatch.setenv("CRITMIN_MAX_YAML_MB", "1")
    with pytest.raises(DataError, match=r"above the 1 MB limit.*CRITMIN_MAX_YAML_MB"):
        load_scenario(str(p))


def test_extends_targets_go_through_the_same_gate(tmp_path: Path) -> None:
    """An ``extends:`` base is a bundled scenario, read by the same reader (and its lines shift)."""
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: t\nextends: controls-reimposed-2026-11\nevents:\n"
        "  - {id: x, date: 2026-12-01, kind: stockpile, region: USA, amount_t: .inf}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as exc:
        load_scenario(str(p))
    # the base's events come first in the merged document: the line is still this file's
    assert f"{p}:4:" in str(exc.value)
    assert "events.0.amount_t" in str(exc.value)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("name: t\ndescription: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(DataError):
        load_scenario(str(p))


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    """``<<:`` merges may be overridden by the mapping's own keys (not a repeated key)."""
    raw, _ = load_yaml("base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  a: 3\n", tmp_path / "x.yaml")
    assert raw["use"] == {"a": 3, "b": 2}


def test_clean_loc_drops_value_union_steps() -> None:
    assert clean_loc(("parameters", "x.y", "<distribution>", "beta", "a")) == ("parameters", "x.y", "a")
    assert clean_loc(("parameters", "x.y", "<number>")) == ("parameters", "x.y")
    assert clean_loc(("overrides", "beta", "parameters")) == ("overrides", "beta", "parameters")


def test_field_error_carries_its_location() -> None:
    e = FieldError("m", ("a", 1), first=("a", 0), fix="f")
    assert isinstance(e, ValueError)
    assert (e.loc, e.first, e.fix) == (("a", 1), ("a", 0), "f")


def test_event_bounds_follow_the_parameter_table() -> None:
    table = parameter_table()
    assert table["volume.mining_t_per_year"].bounds[1] == MAX_TONNES
    assert table["value.output_usd_per_kg_magnet"].bounds[1] == MAX_USD_PER_KG


def test_override_block_parameters_are_checked_with_their_line(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        HEAD + "overrides:\n  fast:\n    parameters:\n      licence.approval_rate: 7\n", encoding="utf-8"
    )
    with pytest.raises(DataError) as exc:
        load_scenario(str(p))
    assert f"{p}:7:" in str(exc.value)
    assert "overrides.fast.parameters.licence.approval_rate" in str(exc.value)


# ------------------------------------------------------------------ run size and options


def test_estimate_scales_with_paths_months_regions_and_chains() -> None:
    one = budget.estimate_bytes(("rare_earths",), 144, 12, 1000)
    assert budget.estimate_bytes(("rare_earths",), 144, 12, 2000) == 2 * one
    assert budget.estimate_bytes(("rare_earths",), 288, 12, 1000) > one
    assert budget.estimate_bytes(("rare_earths", "gallium"), 144, 12, 1000) > one
    assert budget.estimate_bytes(("gallium",), 144, 12, 1000) < one / 5  # no sectors, no feed
    assert budget.estimate_bytes(("rare_earths",), 144, 12, 1000, keep_trace=True) > 5 * one
    # the measured figure the constants come from: 19.7 kB a path at 144 months, 12 regions
    assert 15_000 < one / 1000 < 25_000


def test_run_over_the_memory_limit_is_refused_with_what_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(budget.MEMORY_ENV, "100")
    with pytest.raises(DataError) as exc:
        budget.check_run(("rare_earths",), 144, 12, 100_000)
    msg = str(exc.value)
    assert "would need about 1,9" in msg
    assert "the limit is 100 MB (set by CRITMIN_MAX_RUN_MB)" in msg
    per = budget.estimate_bytes(("rare_earths",), 144, 12, 1)
    fits = 100 * 1024 * 1024 // per
    assert f"--paths {fits} or less" in msg
    assert budget.check_run(("rare_earths",), 144, 12, fits) <= 100 * 1024 * 1024
    with pytest.raises(DataError, match=r"--n 256 or less"):  # a power of two of N (D + 2) paths
        budget.check_run(("rare_earths",), 144, 12, 1024 * 17, option="--n", per=17, power_of_two=True)


@pytest.mark.parametrize("value", ["0", "-5", "nan", "abc"])
def test_bad_memory_limit_env(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(budget.MEMORY_ENV, value)
    with pytest.raises(DataError, match="CRITMIN_MAX_RUN_MB"):
        budget.limit_bytes()


def test_available_memory_is_known_here() -> None:
    avail = budget.available_bytes()
    assert avail is None or avail > 0
    monkeypatch_free = budget.limit_bytes()
    assert monkeypatch_free is None or monkeypatch_free > 0


@pytest.mark.parametrize("paths", [0, -1, budget.MAX_PATHS + 1, 10**20, True, 1.5])
def test_paths_are_bounded(paths: Any) -> None:
    with pytest.raises(DataError, match="paths must be a whole number"):
        budget.check_paths(paths)


@pytest.mark.parametrize("seed", [-1, 2**63, 10**30, True])
def test_seeds_are_bounded(seed: Any) -> None:
    with pytest.raises(DataError, match="seed must be a whole number"):
        budget.check_seed(seed)
    assert budget.check_seed(2**63 - 1) == 2**63 - 1


@pytest.mark.parametrize("workers", [0, -2, max_workers() + 1])
def test_workers_are_bounded(workers: int) -> None:
    with pytest.raises(DataError, match="--workers must be from 1"):
        executor_for(workers, None)


#: CLI arguments -> (field, words)
OPTIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "paths 10^20": (("simulate", "baseline", "--paths", str(10**20)), "paths", "from 1 to 10,000,000"),
    "paths 0": (("simulate", "baseline", "--paths", "0"), "paths", "from 1 to"),
    "seed -1": (("simulate", "baseline", "--seed", "-1"), "seed", "from 0 to 2^63 - 1"),
    "seed 10^30": (("simulate", "baseline", "--seed", str(10**30)), "seed", "from 0 to 2^63 - 1"),
    "workers 10^5": (("simulate", "baseline", "--workers", "100000"), "workers", "4 per CPU core"),
    "sensitivity paths 0": (("sensitivity", "baseline", "--paths", "0"), "paths", "from 1 to"),
    "sensitivity seed -1": (("sensitivity", "baseline", "--seed", "-1"), "seed", "from 0"),
    "sobol n 2^30": (
        ("sensitivity", "baseline", "--method", "sobol", "--n", str(2**30)),
        "n",
        "above 1,048,576",
    ),
    "backtest paths -1": (("backtest", "--paths", "-1"), "paths", "from 1 to"),
    "backtest seed -4": (("backtest", "--seed", "-4"), "seed", "from 0"),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_numeric_options_are_bounded(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args, column, needle = OPTIONS[name]
    code, out, err = _cli(monkeypatch, capsys, *args)
    assert code == 2, err
    assert_one_line(err, None, None, column, needle)
    assert out == ""


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", "controls-reimposed-2026-11", "--paths", "1000000"),
        ("sensitivity", "baseline", "--paths", "300000"),
        ("sensitivity", "baseline", "--method", "sobol", "--n", "262144"),
        ("backtest", "--paths", "1000000"),
    ],
)
def test_runs_too_big_for_memory_are_refused_before_running(
    args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(budget.MEMORY_ENV, "512")
    code, out, err = _cli(monkeypatch, capsys, *args)
    assert code == 2, err
    text = assert_one_line(err, None, None, "paths", "the limit is 512 MB")
    assert "or less" in text
    assert out == ""


# ------------------------------------------------------------------ fuzz

BUNDLED = {name: yaml.safe_load(p.read_text("utf-8")) for name, p in bundled_scenarios().items()}

_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["2025-13", "0001-01", "9999-12", "[/bold]x", "beta", "CHN", "USA", "-1e308", ".inf"]),
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _mutate(doc: Any, where: tuple[Any, ...], action: str, value: Any) -> Any:
    if not where:
        return value if action == "replace" else doc
    parent = doc
    for k in where[:-1]:
        parent = parent[k]
    key = where[-1]
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = value
    elif action == "add" and isinstance(parent[key], dict):
        parent[key][str(value)[:8]] = value
    return doc


@pytest.mark.fuzz
@settings(
    max_examples=fuzz_examples(60),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    name=st.sampled_from(sorted(BUNDLED)),
    picks=st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(["delete", "replace", "add"]), _junk),
        min_size=1,
        max_size=3,
    ),
)
def test_fuzz_mutated_bundled_scenarios_give_a_scenario_or_one_data_error(
    tmp_path: Path, name: str, picks: list[tuple[int, str, Any]]
) -> None:
    doc = copy.deepcopy(BUNDLED[name])
    for index, action, value in picks:
        spots = _paths(doc)
        doc = _mutate(doc, spots[index % len(spots)], action, value)
    p = tmp_path / "fuzz.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        sc = load_scenario(str(p))
    except DataError as exc:
        error: str | None = str(exc)
    else:
        error = None
    if error is not None:
        assert "Fix:" in error, error
        return
    assert isinstance(sc, Scenario)
    for v in sc.parameters.values():
        if isinstance(v, int | float):
            assert math.isfinite(v)
    assert len(sc.months()) <= MAX_MONTHS


@pytest.mark.fuzz
@settings(max_examples=fuzz_examples(60), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{},&*!| \n'\"0.9e+")), max_size=80))
def test_fuzz_raw_yaml_text_gives_a_scenario_or_one_data_error(tmp_path: Path, text: str) -> None:
    p = tmp_path / "raw.yaml"
    p.write_text("name: t\n" + text, encoding="utf-8")
    try:
        load_scenario(str(p))
    except DataError as exc:
        error = str(exc)
    else:
        return
    assert "Fix:" in error


@pytest.mark.parametrize("kind", ["latin1", "fifo", "duplicate key"])
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_scenarios_show_reads_through_the_same_gate(
    tmp_path: Path, kind: str, fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "s.yaml"
    if kind == "latin1":
        p.write_bytes((HEAD + "description: caf\xe9\n").encode("latin-1"))
        line, needle = 4, "not UTF-8"
    elif kind == "fifo":
        os.mkfifo(p)
        line, needle = None, "FIFO"
    else:
        p.write_text(HEAD + "start: 2025-02\n", encoding="utf-8")
        line, needle = 4, "repeats"
        if fmt == "yaml":  # printed as written: the file is text, its keys are not parsed
            line, needle = None, ""
    code, out, err = _cli(monkeypatch, capsys, "scenarios", "show", str(p), "--format", fmt)
    if needle == "":
        assert code == 0
        assert out == HEAD + "start: 2025-02\n"
        return
    assert code == 2, err
    assert_one_line(err, p, line, None, needle)
