"""Hostile BOMs and rules files, and the vectorised screen against the implementation it replaced.

* every bad BOM or rules file is one :class:`DataError` naming file, line and column, with a fix;
* fuzz: malformed BOM rows and mangled rules YAML give a result or a DataError, nothing else;
* the vectorised :func:`critmin.trace.screen.screen` and ``read_bom`` give exactly the results
  of the row-by-row implementation (``benchmarks/screen_baseline.py``) on random valid BOMs,
  thresholds exactly at and within 1e-9 of the boundary included.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from critmin.errors import DataError
from critmin.trace.screen import (
    MAX_MASS_KG,
    THRESHOLD_RTOL,
    Rule,
    load_rules,
    read_bom,
    screen,
)
from tests.fuzzing import fuzz_examples

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
RULE_61 = Path(__file__).resolve().parents[2] / "src/critmin/trace/rules/mofcom-2025-61.yaml"
HEADER = "product_id,product_value_usd,component_id,element,element_mass_kg,origin_country,element_value_usd"
AS_OF = date(2027, 1, 1)


def write(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "bom.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def refused(call: object, *args: object, **kwargs: object) -> DataError:
    with pytest.raises(DataError) as exc:
        call(*args, **kwargs)  # type: ignore[operator]
    err = exc.value
    assert err.fix, str(err)
    assert "\n" not in str(err)
    return err


@pytest.fixture(scope="module")
def baseline() -> Iterator[ModuleType]:
    """``benchmarks/screen_baseline.py``: read_bom and screen before vectorising."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import screen_baseline

        yield screen_baseline
    finally:
        sys.path.remove(str(BENCHMARKS))


# ---------------------------------------------------------------------------- files
def test_non_regular_non_utf8_and_huge_field_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert "is a FIFO" in str(refused(read_bom, fifo))  # and does not block
    assert "is a device" in str(refused(read_bom, "/dev/zero"))
    assert "is a folder" in str(refused(read_bom, tmp_path))
    utf16 = tmp_path / "u16.csv"
    utf16.write_text(HEADER + "\np,1000,m,Dy,0.5,CHN,\n", encoding="utf-16")
    err = refused(read_bom, utf16)
    assert err.path == str(utf16)
    assert err.line == 1
    assert "UTF-16" in str(err)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "\np\xe9,1000,m,Dy,0.5,CHN,\n").encode("latin-1"))
    err = refused(read_bom, latin)
    assert err.line == 2
    assert "not UTF-8" in str(err)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    assert "binary" in str(refused(read_bom, binary))
    # a field longer than the csv module's 131,072-character default is read, then refused
    # where it is wrong (here an element that is not one), with its line and column
    long = write(tmp_path, "p,1000,m,Dy,0.5,CHN,", f"p,1000,m2,{'X' * 200_000},0.5,CHN,", name="long.csv")
    err = refused(read_bom, long)
    assert (err.line, err.column) == (3, "element")
    ok = write(tmp_path, f"{'p' * 200_000},1000,m,Dy,0.5,CHN,", name="longid.csv")
    assert len(read_bom(ok).loc[0, "product_id"]) == 200_000


def test_size_limit_comes_from_infile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRITMIN_MAX_CSV_MB", "0.0001")
    big = write(tmp_path, *[f"p,1000,m{i},Dy,0.001,CHN," for i in range(50)])
    assert "above the 0 MB limit" in str(refused(read_bom, big))


def test_unclosed_quote_names_the_line(tmp_path: Path) -> None:
    bom = write(tmp_path, "p,1000,m,Dy,0.5,CHN,", '"q,1000,m,Dy,0.5,CHN,')
    with pytest.raises(DataError) as exc:
        read_bom(bom)
    assert exc.value.path == str(bom)


# ---------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    ("row", "column", "pattern"),
    [
        ("p,1000,m,Dy,1e308,CHN,", "element_mass_kg", r"1e\+308 is beyond 1e\+09"),
        ("p,1000,m,Dy,2e9,CHN,", "element_mass_kg", r"2e\+09 is beyond 1e\+09"),
        ("p,1e308,m,Dy,0.5,CHN,", "product_value_usd", r"1e\+308 is beyond 1e\+15"),
        ("p,1000,m,Dy,,CHN,1e16", "element_value_usd", r"1e\+16 is beyond 1e\+15"),
        ("p,1000,m,Dy,nan,CHN,", "element_mass_kg", "'nan' is not a finite number"),
        ("p,1000,m,Dy,-inf,CHN,", "element_mass_kg", "'-inf' is not a finite number"),
        ("p,NaN,m,Dy,0.5,CHN,", "product_value_usd", "'NaN' is not a finite number"),
        ("p,1000,m,Dy,,CHN,Infinity", "element_value_usd", "not a finite number"),
        ("p,-5,m,Dy,0.5,CHN,", "product_value_usd", "-5 is out of range"),
        ("p,1000,m,Dy,-1e-300,CHN,", "element_mass_kg", "out of range"),
        ("p,1000,m,Dy,1e999,CHN,", "element_mass_kg", "not a finite number"),
        ("p,1000,m,Dy,0x10,CHN,", "element_mass_kg", "not a number"),
        ("p,1000,m,Dy,'0.5,CHN,", "element_mass_kg", "not a number"),
    ],
)
def test_absurd_numbers_name_line_and_column(tmp_path: Path, row: str, column: str, pattern: str) -> None:
    bom = write(tmp_path, "p,1000,m0,Tb,0.1,CHN,", row.replace(",m,", ",m1,"))
    err = refused(read_bom, bom)
    assert (err.path, err.line, err.column) == (str(bom), 3, column)
    assert str(err).startswith(f"{bom}:3: column '{column}': ")
    assert re.search(pattern, str(err)), str(err)


def test_largest_accepted_numbers_screen_without_overflow(tmp_path: Path) -> None:
    bom = write(tmp_path, f"p,1e15,m,Tb,{MAX_MASS_KG:g},CHN,")
    result = screen(bom, load_rules("all"), as_of=AS_OF)
    assert math.isfinite(result.products.loc[0, "controlled_value_usd"])
    assert 0 < result.products.loc[0, "share"] <= 1


# ---------------------------------------------------------------------------- cross-row checks
def test_identical_rows_are_refused_naming_both_lines(tmp_path: Path) -> None:
    bom = write(
        tmp_path,
        "p,1000,magnet,Dy,0.01,CHN,",
        "p,1000,rotor,Nd,0.2,CHN,",
        "p,1000.0,magnet,dysprosium,0.010,China,",  # the same row, spelled differently
    )
    err = refused(read_bom, bom)
    assert (err.line, err.column) == (4, "component_id")
    assert "repeats line 2 exactly" in str(err)
    assert "product 'p', component 'magnet', Dy from CHN" in str(err)
    assert "give each its own component_id" in str(err)


@pytest.mark.parametrize(
    "second",
    [
        "p,1000,magnet,Dy,0.02,CHN,",  # another mass: a second part of the component
        "p,1000,magnet-2,Dy,0.01,CHN,",  # another component id
        "p,1000,magnet,Dy,0.01,JPN,",  # another origin
        "q,1000,magnet,Dy,0.01,CHN,",  # another product
    ],
)
def test_rows_that_differ_in_one_column_are_summed(tmp_path: Path, second: str) -> None:
    frame = read_bom(write(tmp_path, "p,1000,magnet,Dy,0.01,CHN,", second))
    assert len(frame) == 2


def test_rows_that_differ_only_in_a_note_are_two_entries(tmp_path: Path) -> None:
    header = HEADER + ",note"
    bom = write(tmp_path, "p,1000,m,Dy,0.01,CHN,,left", "p,1000,m,Dy,0.01,CHN,,right", header=header)
    result = screen(bom, load_rules("mofcom-2025-61"), as_of=AS_OF)
    assert result.products.loc[0, "controlled_value_usd"] == pytest.approx(2 * 0.01 * 260)
    same = write(tmp_path, "p,1000,m,Dy,0.01,CHN,,x", "p,1000,m,Dy,0.01,CHN,,x", header=header, name="s.csv")
    assert "repeats line 2" in str(refused(read_bom, same))


def test_controlled_value_above_the_product_value_is_refused(tmp_path: Path) -> None:
    bom = write(
        tmp_path,
        "motor,1000,magnet,Dy,,CHN,600",
        "motor,1000,sensor,Tb,,CHN,500",
        "motor,1000,housing,Nd,100,CHN,",  # not controlled by No. 61: does not count
    )
    err = refused(screen, bom, load_rules("mofcom-2025-61"), as_of=AS_OF)
    text = str(err)
    assert (err.path, err.line, err.column) == (str(bom), 3, "element_value_usd")
    assert "product 'motor': its controlled content is worth 1,100 USD (lines 2, 3)" in text
    assert "above its product_value_usd of 1,000 USD (line 2)" in text
    assert "cannot exceed the product's value" in text
    # grams written in the kg column: mass x price, named by its mass column
    grams = write(tmp_path, "speaker,25,magnet,Dy,10,CHN,", name="g.csv")
    err = refused(screen, grams, load_rules("all"), as_of=AS_OF)
    assert (err.line, err.column) == (2, "element_mass_kg")
    assert "2,600 USD" in str(err)
    # exactly the product value (a pure-metal product) is accepted
    whole = write(tmp_path, "ingot,260,bar,Dy,1,CHN,", name="w.csv")
    assert screen(whole, load_rules("all"), as_of=AS_OF).products.loc[0, "share"] == 1.0


def test_uncontrolled_content_above_the_value_is_not_refused(tmp_path: Path) -> None:
    bom = write(tmp_path, "p,100,m,Nd,5,CHN,")  # Nd is not controlled by No. 61
    assert screen(bom, load_rules("mofcom-2025-61"), as_of=AS_OF).products.loc[0, "share"] == 0.0


# ---------------------------------------------------------------------------- rules files
def _rule_text(**changes: object) -> str:
    raw = yaml.safe_load(RULE_61.read_text())
    raw.update(changes)
    return yaml.safe_dump(raw, sort_keys=False)


def test_rules_files_enter_through_infile(tmp_path: Path) -> None:
    fifo = tmp_path / "rules.yaml"
    os.mkfifo(fifo)
    assert "rules file is a FIFO" in str(refused(load_rules, str(fifo)))
    assert "rules file is a folder" in str(refused(load_rules, str(tmp_path)))
    assert "rules file is a device" in str(refused(load_rules, "/dev/zero"))
    u16 = tmp_path / "u16.yaml"
    u16.write_text(_rule_text(), encoding="utf-16")
    assert "UTF-16" in str(refused(load_rules, u16))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes((_rule_text() + "# caf\xe9\n").encode("latin-1"))
    assert "not UTF-8" in str(refused(load_rules, latin))
    missing = refused(load_rules, str(tmp_path / "nope.yaml"))
    assert "rules file not found" in str(missing)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("id: a\nid: b\n", r":2: key 'id' given twice \(lines 1 and 2\)"),
        ("threshold_share: 1" + "0" * 5000 + "\n", "a value cannot be read"),
        ("effective_date: 2026-02-30\n", "a value cannot be read"),
        ("[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply|not valid YAML"),
        ("a: &x [1]\nb: *x\n", "a rules file|unknown key"),
        ("- 1\n- 2\n", "holds one mapping"),
        ("id: [unclosed\n", "not valid YAML"),
        ("!!python/object:os.system\n", "not valid YAML"),
    ],
)
def test_bad_rules_yaml_is_one_line(tmp_path: Path, text: str, pattern: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    err = refused(load_rules, path)
    assert str(err).startswith(str(path))
    assert re.search(pattern, str(err)), str(err)


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"threshold_share": float("nan")}, "threshold_share"),
        ({"threshold_share": float("inf")}, "threshold_share"),
        ({"threshold_share": -0.001}, "threshold_share"),
        ({"controlled_elements": []}, "controlled_elements"),
        ({"effective_date": 20250101}, "effective_date"),
    ],
)
def test_absurd_rule_values_name_the_key(tmp_path: Path, changes: dict[str, object], pattern: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(_rule_text(**changes))
    err = refused(load_rules, path)
    assert pattern in str(err)
    assert err.line is not None


def test_suspension_to_the_last_date_does_not_overflow(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    window = {"start": "2026-01-01", "end": "9999-12-31", "source_id": "usgs-mcs2023"}
    path.write_text(_rule_text(id="forever", suspensions=[window], end_date=None))
    rule = load_rules(path)[0]
    status = rule.status(date(2030, 1, 1))
    assert not status.in_force
    assert "open-ended" in status.reason
    assert rule.status(date(9999, 12, 31)).state.value == "suspended"


# ---------------------------------------------------------------------------- fuzz
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-0",
            "1",
            "0.5",
            "-1",
            "1e308",
            "1e-320",
            "nan",
            "inf",
            "-inf",
            "1_000",
            "1,5",
            "Dy",
            "dy",
            "Nd",
            "Xx",
            "CHN",
            "China",
            "WLD",
            "ROW",
            "Atlantis",
            "=1+1",
            '"',
            "\x00",
            "é",
        ]
    ),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@pytest.mark.fuzz
@settings(
    max_examples=fuzz_examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(CELLS, min_size=5, max_size=8), min_size=1, max_size=6))
def test_fuzz_bom_rows_give_a_result_or_a_data_error(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "fuzz.csv"
    text = HEADER + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    err: DataError | None = None
    try:
        frame = read_bom(path)
        screen(frame, load_rules("all"), as_of=AS_OF)
    except DataError as exc:
        err = exc
    if err is not None:
        assert err.path == str(path)
        assert err.fix


RULE_KEYS = list(yaml.safe_load(RULE_61.read_text()))
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.dates(),
    st.lists(st.sampled_from(["Dy", "CHN", "all", "x", "2026-01-01"]), max_size=3),
    st.dictionaries(st.sampled_from(["start", "end", "source_id", "x"]), st.text(max_size=5), max_size=3),
)


@pytest.mark.fuzz
@settings(
    max_examples=fuzz_examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.dictionaries(st.sampled_from([*RULE_KEYS, "extra"]), VALUES, max_size=3),
    drop=st.lists(st.sampled_from(RULE_KEYS), max_size=2),
    cut=st.integers(min_value=0, max_value=4000),
)
def test_fuzz_rules_yaml_gives_rules_or_a_data_error(
    tmp_path: Path, changes: dict[str, object], drop: list[str], cut: int
) -> None:
    raw = yaml.safe_load(RULE_61.read_text())
    raw.update(changes)
    for key in drop:
        raw.pop(key, None)
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    for body in (text, text[:cut]):
        path = tmp_path / "fuzz.yaml"
        path.write_text(body, encoding="utf-8")
        err: DataError | None = None
        try:
            for r in load_rules(path):
                r.status(date(2026, 6, 1))
                r.status(date.max)
        except DataError as exc:
            err = exc
        if err is not None:
            assert str(err).startswith(str(path))
            assert err.fix


# ---------------------------------------------------------------------------- vectorised = old
@settings(max_examples=200, deadline=None)
@given(
    share=st.one_of(
        st.floats(min_value=0, max_value=1),
        st.sampled_from([0.001, 0.0, 1.0]),
        st.integers(min_value=-3, max_value=3).map(lambda k: 0.001 * (1 + k * THRESHOLD_RTOL / 2)),
        st.floats(min_value=-3, max_value=3).map(lambda k: 0.001 * (1 + k * THRESHOLD_RTOL)),
    ),
    cv=st.floats(min_value=0, max_value=1e6),
    comparison=st.sampled_from([">=", ">"]),
    threshold=st.sampled_from([0.0, 0.001, 0.5]),
)
def test_met_array_is_met(share: float, cv: float, comparison: str, threshold: float) -> None:
    rule = load_rules("mofcom-2025-61")[0].model_copy(
        update={"comparison": comparison, "threshold_share": threshold}
    )
    got = rule.met_array(np.array([share, math.nan, math.inf]), np.array([cv, cv, cv]))
    assert got.tolist() == [rule.met(share, cv), rule.met(math.nan, cv), rule.met(math.inf, cv)]


ELEMENTS = ["Nd", "Pr", "Dy", "Tb", "Sm", "Gd", "Y", "Lu", "Ho", "Ce", "dysprosium"]
ORIGINS = ["CHN", "China", "JPN", "VNM", "AUS"]
BOUNDARY = [1.0, 1 + 1e-10, 1 - 1e-10, 1 + 9e-10, 1 - 9e-10, 1 + 2e-9, 1 - 2e-9, 0.9999, 1.0001]


@st.composite
def valid_boms(draw: st.DrawFn) -> str:
    """A valid BOM CSV: products of 1-12 rows, masses or values, some exactly at the 0.1% boundary."""
    lines = [HEADER]
    for p in range(draw(st.integers(min_value=1, max_value=6))):
        n = draw(st.integers(min_value=1, max_value=12))
        if draw(st.booleans()):  # one controlled row at (or within 1e-9 of) 0.1% of 100,000 USD
            factor = draw(st.sampled_from(BOUNDARY))
            lines.append(f"edge-{p},100000,magnet,Dy,,CHN,{100 * factor!r}")
            continue
        value = draw(st.sampled_from(["1000", "25", "123456.78", "1e6"]))
        for c in range(n):
            el = draw(st.sampled_from(ELEMENTS))
            origin = draw(st.sampled_from(ORIGINS))
            unpriced = el in ("Lu", "Ho")
            mass = draw(st.sampled_from(["", "0", "0.001", "0.0123", "1e-5", "0.5"]))
            given = draw(st.sampled_from(["", "0", "0.37", "1.5", "2"]))
            if unpriced or mass == "":
                given = given or "0.25"
            lines.append(f"prod-{p},{value},comp-{c % 9}-{c},{el},{mass},{origin},{given}")
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=valid_boms(), swap=st.booleans(), destination=st.sampled_from([None, "USA", "CHN"]))
def test_vectorised_screen_equals_the_row_by_row_implementation(
    baseline: ModuleType, tmp_path: Path, text: str, swap: bool, destination: str | None
) -> None:
    path = tmp_path / "bom.csv"
    path.write_text(text, encoding="utf-8")
    rules: list[Rule] = [*load_rules("all")]
    rules.append(rules[1].model_copy(update={"id": "strict-61", "comparison": ">"}))
    new_frame = read_bom(path)
    old_frame = baseline.read_bom(path)
    pd.testing.assert_frame_equal(new_frame, old_frame, check_exact=True)
    swaps = {"magnet": "AUS"} if swap and "magnet" in set(new_frame["component_id"]) else {}
    kwargs = {"as_of": AS_OF, "destination": destination, "swaps": swaps}
    try:
        new = screen(new_frame, rules, **kwargs)  # type: ignore[arg-type]
    except DataError as exc:  # controlled content above the value: refused by the new code only
        refusal = str(exc)
        assert "cannot exceed the product's value" in refusal
        return
    old = baseline.screen(old_frame, rules, **kwargs)
    for a, b in ((new.products, old.products), (new.by_rule, old.by_rule), (new.rows, old.rows)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert new.prices == old.prices
    assert new.to_dict() == old.to_dict()


def test_the_comparison_can_fail(baseline: ModuleType, tmp_path: Path) -> None:
    """The old-vs-new check sees a one-ulp difference in one sum."""
    path = write(tmp_path, *[f"p,1000,c{i},Dy,,CHN,0.{i + 1}" for i in range(9)])
    new = screen(read_bom(path), load_rules("all"), as_of=AS_OF)
    old = baseline.screen(baseline.read_bom(path), load_rules("all"), as_of=AS_OF)
    pd.testing.assert_frame_equal(new.products, old.products, check_exact=True)
    bumped = old.products.copy()
    bumped.loc[0, "controlled_value_usd"] = np.nextafter(bumped.loc[0, "controlled_value_usd"], 2e9)
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(new.products, bumped, check_exact=True)
