"""``usgs_series.yaml``: which registry commodity and stage each USGS MCS world-table row feeds.

One rule maps (file code, Type regex, optional column product tag) to a commodity and stage;
see :mod:`critmin.data.importers.usgs_mcs`, which re-exports :class:`SeriesRule` and
:func:`series_rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from critmin import yamlio
from critmin.errors import DataError
from critmin.model.commodities import registry
from critmin.units import canonical

__all__ = ["SeriesRule", "series_rules"]


@dataclass(frozen=True)
class SeriesRule:
    """One line of ``usgs_series.yaml``: (file code, Type regex, column tag) -> commodity + stage."""

    codes: tuple[str, ...]
    type_pattern: re.Pattern[str]
    commodity: str
    stage: str
    column_pattern: re.Pattern[str] | None = None
    measure: str | None = None
    edition: int | None = None
    unit_fixes: dict[str, str] = field(default_factory=dict)
    evidence: str | None = None
    skip: str | None = None

    def matches(self, code: str, edition: int, type_text: str, product: str) -> bool:
        """True if this rule applies to a cell of ``code``/``edition`` with this Type and product tag."""
        if code not in self.codes or (self.edition is not None and self.edition != edition):
            return False
        if not self.type_pattern.search(type_text):
            return False
        return self.column_pattern is None or bool(self.column_pattern.search(product))


@cache
def series_rules() -> tuple[SeriesRule, ...]:
    """The rules in ``critmin/data/usgs_series.yaml``, validated against the commodity registry."""
    where = "critmin/data/usgs_series.yaml"
    text = resources.files("critmin.data").joinpath("usgs_series.yaml").read_text("utf-8")
    raw = yamlio.safe_load(text)
    if not isinstance(raw, list):
        raise DataError("expected a list of rules", path=where, fix="see the comment at the top of the file")
    reg = registry()
    rules: list[SeriesRule] = []
    for i, item in enumerate(raw, start=1):
        key = f"rule {i}"
        if not isinstance(item, dict) or not {"code", "type_pattern", "commodity", "stage"} <= set(item):
            raise DataError(
                "a rule needs code, type_pattern, commodity and stage", path=where, column=key, fix="add them"
            )
        commodity = reg.get(str(item["commodity"]))
        if not commodity.has_stage(str(item["stage"])):
            msg = f"stage {item['stage']!r} is not in the chain of {commodity.id!r}"
            raise DataError(msg, path=where, column=key, fix="use a stage listed in commodities.yaml")
        codes = item["code"] if isinstance(item["code"], list) else [item["code"]]
        col = item.get("column_pattern")
        fixes = {str(k): canonical(str(v)) for k, v in (item.get("unit_fixes") or {}).items()}
        rules.append(
            SeriesRule(
                codes=tuple(str(c).lower() for c in codes),
                type_pattern=re.compile(str(item["type_pattern"]), re.IGNORECASE),
                commodity=commodity.id,
                stage=str(item["stage"]),
                column_pattern=re.compile(str(col), re.IGNORECASE) if col is not None else None,
                measure=item.get("measure"),
                edition=int(item["edition"]) if item.get("edition") is not None else None,
                unit_fixes=fixes,
                evidence=item.get("evidence"),
                skip=item.get("skip"),
            )
        )
    return tuple(rules)
