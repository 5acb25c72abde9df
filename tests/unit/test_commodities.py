from __future__ import annotations

import pytest
from pydantic import ValidationError

from critmin.errors import UnknownCommodityError
from critmin.model.commodities import Commodity, registry
from critmin.model.stages import Stage

REE = ["La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Sc", "Y"]


def test_all_17_rare_earth_elements_and_groups() -> None:
    reg = registry()
    ids = {reg.get(sym).id for sym in REE}
    assert len(ids) == 17
    re = reg.get("rare_earths")
    assert set(re.members) == ids
    assert set(reg.get("lree").members) | set(reg.get("hree").members) == ids - {"scandium"}
    assert set(reg.get("ndpr").members) == {"neodymium", "praseodymium"}
    assert re.stages == tuple(Stage)


def test_stage_chains() -> None:
    reg = registry()
    assert reg.get("graphite").stages == (Stage.MINING, Stage.SEPARATION, Stage.END_USE)
    assert reg.get("gallium").stages == (Stage.SEPARATION, Stage.END_USE)
    assert reg.get("aluminum").basis_at("mining").startswith("bauxite")


def test_unknown_commodity_suggests() -> None:
    with pytest.raises(UnknownCommodityError, match="rare_earths"):
        registry().get("rare_earth")


def test_stage_order_is_validated() -> None:
    with pytest.raises(ValidationError, match="chain order"):
        Commodity(id="x", name="X", kind="mineral", unit="t", basis="b", stages=(Stage.END_USE, Stage.MINING))


def test_unit_is_validated() -> None:
    with pytest.raises(ValidationError):
        Commodity(id="x", name="X", kind="mineral", unit="bushel", basis="b", stages=(Stage.MINING,))
