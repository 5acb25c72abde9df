"""BGS World Mineral Statistics: per-commodity JSON files -> production rows.

The raw files (``data/raw/bgs_wms/``, mirrored from GitHub ``JacopoOttaviani/mineral.watch``)
have the shape ``{"Production": {"<year>": {"<ISO3>": tonnes, ...}, ...}}``.

Quirks handled:

* years are JSON object keys (strings) and are not sorted;
* codes are ISO 3166 alpha-3 plus historical codes. ``ZAR`` (Zaire) is mapped to ``COD``. The
  dissolved states ``SUN`` (USSR), ``CSK`` (Czechoslovakia), ``DDR`` (East Germany) and ``YUG``
  (Yugoslavia) are kept under their ISO 3166-3 historic alpha-3 code, because splitting their
  output between successor states would invent numbers; the row's ``note`` names the state.
  Any other code that is neither a current nor a historic (``pycountry.historic_countries``)
  country raises :class:`~critmin.errors.DataError`. Because
  :func:`critmin.model.countries.is_known_code` (and so the bundled dataset) does not accept
  historic codes, ``historic="drop_year"`` drops every year in which one appears -- the whole
  year, so that no cross-section is left without the dissolved state's output (for the bundled
  files this removes refined cobalt 1972-1991; all other files start in 1992 or later);
* BGS has no world-total row, so shares computed from these rows are shares of the *listed*
  countries (stated in every row's ``note``);
* units are not stated in the file; the BGS convention (tonnes of the commodity's basis) is
  assumed and passed in as ``unit``.

Every row is ``measure`` production, ``qualifier`` exact, ``estimated`` False, ``vintage`` = the
latest year in the file. The BGS :class:`~critmin.data.catalogue.Source` has priority
:data:`BGS_PRIORITY`, below the USGS vintages, so a USGS cross-section wins where both exist.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pycountry

from critmin.data.catalogue import Source
from critmin.data.dataset import validate_table
from critmin.data.schemas import table_columns
from critmin.errors import DataError
from critmin.model.commodities import registry
from critmin.model.countries import is_country
from critmin.model.stages import Stage
from critmin.units import canonical

BGS_PRIORITY = 100
"""Source priority of BGS rows: lower than any USGS vintage (which must use a higher value)."""

BGS_NOTE = "BGS has no world-total row; shares are of listed countries"

#: BGS / World Bank codes that are not ISO 3166-1 but name the same economy today.
_RENAMED: dict[str, str] = {"ZAR": "COD"}

#: raw file name -> (commodity, stage, series label). Units are tonnes (BGS convention).
BGS_FILES: dict[str, tuple[str, str, str]] = {
    "rare-earth-oxides.json": ("rare_earths", "mining", "BGS WMS rare-earth oxides production (t REO)"),
    "gallium-primary.json": ("gallium", "separation", "BGS WMS primary gallium production (t Ga)"),
    "cobalt-refined.json": ("cobalt", "separation", "BGS WMS refined cobalt production (t Co)"),
    "graphite_production_2015-2024_subset.json": (
        "graphite",
        "mining",
        "BGS WMS natural graphite production (t; 2015-2024 subset of graphite.json)",
    ),
}

_COLUMNS = table_columns("production")


def bgs_source(file_name: str) -> Source:
    """The :class:`Source` for one BGS JSON file (one id per file, same publisher and URL)."""
    stem = re.sub(r"[^a-z0-9_.\-]+", "-", Path(file_name).stem.lower())
    return Source(
        id=f"bgs:wms:{stem}",
        kind="dataset",
        publisher="British Geological Survey",
        title="World Mineral Statistics",
        url="https://www2.bgs.ac.uk/mineralsuk/statistics/wms.cfc",
        licence=(
            "Data © UKRI/BGS; free to use with acknowledgement (exact licence not stated in the "
            "mirror; check BGS terms before redistribution)"
        ),
        via="GitHub JacopoOttaviani/mineral.watch@1b63a33d7dcd28f9a697814b8d9290d8fcf43e80",
        quality="third-party JSON built from BGS data; units assumed from BGS conventions",
        priority=BGS_PRIORITY,
        notes=f"file map_data/data/{file_name} (as mirrored); {BGS_NOTE}.",
    )


def _country(code: str, *, path: Path, column: str) -> tuple[str, str | None]:
    """ISO3 code for a BGS code, plus a note for historic codes."""
    c = code.strip()
    if c in _RENAMED:
        return _RENAMED[c], f"BGS code {c} mapped to {_RENAMED[c]}"
    if is_country(c):
        return c, None
    hist = pycountry.historic_countries.get(alpha_3=c)
    if hist is not None:
        return (
            c,
            f"historic code {c} ({hist.name}; dissolved state, ISO 3166-3), not split between successors",
        )
    raise DataError(
        f"unknown country code {code!r}",
        path=path,
        column=column,
        fix="use an ISO 3166 alpha-3 code (current or ISO 3166-3 historic)",
    )


def read_bgs_json(
    path: Path | str,
    *,
    commodity: str,
    stage: str,
    unit: str = "t",
    series: str | None = None,
    historic: Literal["keep", "drop_year"] = "keep",
) -> tuple[pd.DataFrame, Source]:
    """Read one BGS World Mineral Statistics JSON into :class:`ProductionSchema` rows.

    ``commodity`` must be in the registry and have ``stage``; ``unit`` must be a known unit
    (``"t"`` by BGS convention). ``series`` labels the rows (default: the file name).
    ``historic="keep"`` keeps dissolved states under their ISO 3166-3 code; ``"drop_year"``
    drops every year in which one appears (``vintage`` is still the file's latest year). Raises
    :class:`DataError` naming the file and the JSON key path (``Production/<year>/<code>``) on a
    malformed structure, a non-integer year, a negative or non-numeric value, an unknown code or
    two codes mapping to the same country in one year.
    """
    p = Path(path)
    com = registry().get(commodity)
    try:
        st = Stage(stage)
    except ValueError:
        raise DataError(
            f"unknown stage {stage!r}", column="stage", fix=f"use one of {', '.join(s.value for s in Stage)}"
        ) from None
    if not com.has_stage(st):
        raise DataError(
            f"commodity {com.id!r} has no stage {st.value!r}",
            column="stage",
            fix=f"use one of {', '.join(s.value for s in com.stages)}",
        )
    unit_symbol = canonical(unit)
    try:
        raw: Any = json.loads(p.read_text("utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read BGS file: {exc}", path=p, fix="give a UTF-8 JSON file") from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"invalid JSON: {exc.msg}", path=p, line=exc.lineno, fix="give the BGS JSON as mirrored"
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("Production"), dict):
        raise DataError(
            "no 'Production' object at the top level",
            path=p,
            column="Production",
            fix='the file must look like {"Production": {"<year>": {"<ISO3>": tonnes}}}',
        )
    block: dict[str, Any] = raw["Production"]
    source = bgs_source(p.name)
    records: list[dict[str, Any]] = []
    years: list[int] = []
    historic_years: set[int] = set()
    for year_key, by_country in block.items():
        col = f"Production/{year_key}"
        if not re.fullmatch(r"\d{4}", str(year_key)) or not 1900 <= int(year_key) <= 2100:
            raise DataError(
                f"year key {year_key!r} is not a year", path=p, column=col, fix="use 4-digit year keys"
            )
        year = int(year_key)
        if not isinstance(by_country, dict):
            raise DataError(
                "expected an object of country: tonnes", path=p, column=col, fix="see the BGS format"
            )
        years.append(year)
        seen: dict[str, str] = {}
        for code, value in by_country.items():
            vcol = f"{col}/{code}"
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DataError(
                    f"value {value!r} is not a number", path=p, column=vcol, fix="write tonnes as a number"
                )
            v = float(value)
            if not math.isfinite(v) or v < 0:
                raise DataError(
                    f"value {value!r} is not a non-negative number", path=p, column=vcol, fix="fix the value"
                )
            iso, note = _country(str(code), path=p, column=vcol)
            if not is_country(iso):
                historic_years.add(year)
            if iso in seen:
                raise DataError(
                    f"codes {seen[iso]!r} and {code!r} both map to {iso} in {year}",
                    path=p,
                    column=vcol,
                    fix="keep one of them",
                )
            seen[iso] = str(code)
            records.append(
                {
                    "country": iso,
                    "year": year,
                    "value": v,
                    "note": BGS_NOTE if note is None else f"{BGS_NOTE}; {note}",
                }
            )
    if not years:
        raise DataError(
            "the 'Production' object is empty", path=p, column="Production", fix="give a non-empty file"
        )
    if historic == "drop_year":
        records = [r for r in records if r["year"] not in historic_years]
    frame = pd.DataFrame.from_records(records, columns=["country", "year", "value", "note"])
    frame = frame.assign(
        commodity=com.id,
        stage=st.value,
        measure="production",
        unit=unit_symbol,
        qualifier="exact",
        estimated=False,
        vintage=max(years),
        series=series or f"BGS WMS {p.name}",
        source_id=source.id,
    )[_COLUMNS]
    frame = frame.sort_values(["year", "country"]).reset_index(drop=True)
    return validate_table(frame, "production", path=p), source


def build_bgs(raw_dir: Path | str) -> dict[str, tuple[pd.DataFrame, list[Source]]]:
    """All bundled BGS files as one ``production`` table: ``{"production": (rows, sources)}``.

    Reads ``raw_dir/bgs_wms/`` per :data:`BGS_FILES` (rare-earth oxides -> rare_earths/mining,
    primary gallium -> gallium/separation, refined cobalt -> cobalt/separation, graphite subset
    -> graphite/mining), every one in tonnes. Years with a dissolved state's code (refined
    cobalt 1972-1991: USSR, Czechoslovakia) are dropped, since the bundled dataset only takes
    current ISO codes and a year without them would overstate every other country's share.
    """
    root = Path(raw_dir) / "bgs_wms"
    frames: list[pd.DataFrame] = []
    sources: list[Source] = []
    for name, (commodity, stage, series) in BGS_FILES.items():
        frame, source = read_bgs_json(
            root / name, commodity=commodity, stage=stage, unit="t", series=series, historic="drop_year"
        )
        frames.append(frame)
        sources.append(source)
    rows = pd.concat(frames, ignore_index=True)
    return {"production": (validate_table(rows, "production"), sources)}


__all__ = ["BGS_FILES", "BGS_NOTE", "BGS_PRIORITY", "bgs_source", "build_bgs", "read_bgs_json"]
