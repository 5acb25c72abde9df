"""Labelled assumptions (``assumptions.yaml``) -> stage-share rows with ``is_assumption`` True.

Where no stored source gives a country split for a stage (rare-earth metal/alloy making), or only
China's share is known (magnets, graphite processing, lithium refining), ``assumptions.yaml``
states the assumed split with its rationale and what would replace it. Each entry becomes one
:class:`~critmin.data.catalogue.Source` of kind ``assumption`` (publisher ``critmin``, the
rationale attached) and one stage-share row per country.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from critmin import yamlio
from critmin.data.catalogue import Source
from critmin.data.dataset import validate_table
from critmin.errors import DataError
from critmin.model.commodities import registry
from critmin.model.countries import is_known_code
from critmin.model.stages import Stage

from .transcribed_shares import STAGE_SHARE_COLUMNS, share_record

ASSUMPTIONS_FILE = Path(__file__).with_name("assumptions.yaml")

ASSUMPTION_LICENCE = "Assumption stated by critmin (no third-party content)"
REMAINDER = "remainder"


def build_assumption_shares(path: Path | str | None = None) -> tuple[pd.DataFrame, list[Source]]:
    """Labelled assumptions (``assumptions.yaml``) -> stage-share rows and ``assumption`` Sources.

    Each entry ``{id, title, commodity, stage, year, scope, shares: {ISO3: fraction |
    "remainder"}, rationale, replaces_when, [basis, qualifier, based_on]}`` becomes one row per
    country with ``is_assumption`` True. ``"remainder"`` (at most one per entry) is 1 minus the
    other shares, qualifier ``computed``. Raises :class:`DataError` naming the file and entry on
    an unknown commodity, stage or country code, or shares that do not fit in [0, 1].
    """
    p = Path(path) if path is not None else ASSUMPTIONS_FILE
    try:
        raw = yamlio.safe_load(p.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read assumptions: {exc}", path=p, fix="give a valid YAML file") from None
    entries = raw.get("assumptions")
    if not isinstance(entries, list) or not entries:
        raise DataError("no 'assumptions' list", path=p, column="assumptions", fix="see the file header")
    records: list[dict[str, Any]] = []
    sources: list[Source] = []
    for i, item in enumerate(entries):
        where = f"assumptions[{i}]"
        if not isinstance(item, dict):
            raise DataError("entry is not a mapping", path=p, column=where, fix="write key: value pairs")
        missing = [
            k
            for k in (
                "id",
                "title",
                "commodity",
                "stage",
                "year",
                "scope",
                "shares",
                "rationale",
                "replaces_when",
            )
            if k not in item
        ]
        if missing:
            raise DataError(f"missing key(s) {missing}", path=p, column=where, fix="fill every required key")
        try:
            commodity = registry().get(str(item["commodity"]))
            stage = Stage(str(item["stage"]))
        except (DataError, ValueError) as exc:
            raise DataError(
                f"{exc}", path=p, column=f"{where}.commodity/stage", fix="use a registry id and a Stage"
            ) from None
        if not commodity.has_stage(stage):
            raise DataError(
                f"commodity {commodity.id!r} has no stage {stage.value!r}",
                path=p,
                column=f"{where}.stage",
                fix=f"use one of {', '.join(s.value for s in commodity.stages)}",
            )
        try:
            source = Source(
                id=str(item["id"]),
                kind="assumption",
                publisher="critmin",
                title=str(item["title"]),
                year=int(item["year"]),
                licence=ASSUMPTION_LICENCE,
                rationale=str(item["rationale"]).strip(),
                quality="assumption",
                notes=f"replaces when: {str(item['replaces_when']).strip()}",
            )
        except ValueError as exc:
            raise DataError(
                f"invalid assumption source: {exc}",
                path=p,
                column=f"{where}.id",
                fix="ids look like 'assumption:lower-case-words'",
            ) from None
        if not source.id.startswith("assumption:"):
            raise DataError(
                f"id {source.id!r} must start with 'assumption:'",
                path=p,
                column=f"{where}.id",
                fix="rename it",
            )
        shares = item["shares"]
        if not isinstance(shares, dict) or not shares:
            raise DataError(
                "'shares' must map country codes to fractions",
                path=p,
                column=f"{where}.shares",
                fix="e.g. {CHN: 0.9, ROW: remainder}",
            )
        fixed: dict[str, float] = {}
        remainder_code: str | None = None
        for code, value in shares.items():
            c = str(code)
            if not is_known_code(c):
                raise DataError(
                    f"unknown country code {c!r}", path=p, column=f"{where}.shares", fix="use ISO3 or ROW"
                )
            if value == REMAINDER:
                if remainder_code is not None:
                    raise DataError(
                        "more than one 'remainder'", path=p, column=f"{where}.shares", fix="keep one"
                    )
                remainder_code = c
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= float(value) <= 1:
                fixed[c] = float(value)
            else:
                raise DataError(
                    f"share {value!r} for {c} is not a fraction in [0, 1] or 'remainder'",
                    path=p,
                    column=f"{where}.shares",
                    fix="write e.g. 0.9",
                )
        total = sum(fixed.values())
        if total > 1 + 1e-9:
            raise DataError(
                f"shares sum to {total:.3f} > 1", path=p, column=f"{where}.shares", fix="lower them"
            )
        qualifier = str(item.get("qualifier", "about"))
        common: dict[str, Any] = {
            "commodity": commodity.id,
            "stage": stage.value,
            "year": int(item["year"]),
            "scope": str(item["scope"]),
            "basis": str(item.get("basis", "volume")),
            "is_projection": False,
            "quality": "assumption",
            "source_id": source.id,
        }
        note = f"labelled assumption {source.id}; replaces when: {str(item['replaces_when']).strip()}"
        for c, v in fixed.items():
            records.append(
                share_record(country=c, share=v, qualifier=qualifier, note=note, is_assumption=True, **common)
            )
        if remainder_code is not None:
            records.append(
                share_record(
                    country=remainder_code,
                    share=round(1.0 - total, 12),
                    qualifier="computed",
                    note=f"1 minus the other assumed shares; {note}",
                    is_assumption=True,
                    **common,
                )
            )
        sources.append(source)
    ids = [s.id for s in sources]
    if len(set(ids)) != len(ids):
        raise DataError("duplicate assumption ids", path=p, column="assumptions", fix="make ids unique")
    frame = pd.DataFrame.from_records(records, columns=STAGE_SHARE_COLUMNS)
    return validate_table(frame, "stage_shares", path=p), sources


__all__ = ["ASSUMPTIONS_FILE", "ASSUMPTION_LICENCE", "REMAINDER", "build_assumption_shares"]
