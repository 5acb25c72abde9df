"""End-product output at risk by sector (sectors.yaml ``value``; docs/model.md 5.7b).

The metric: shortfall of magnets (kg) x the factory-gate value of the whole product that stops
without them, per kg of NdFeB it contains (``product_usd / magnet_kg``). A region's total is the
sum over its sectors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.data.dataset import Dataset
from critmin.data.load import load_dataset
from critmin.errors import DataError
from critmin.simulate.engine.sectors import SectorAccumulator, load_sectors, sector_shares
from critmin.simulate.run import simulate


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset()


def test_bundled_values_by_hand(ds: Dataset) -> None:
    """EV US$35,000 / 2 kg; wind EUR 1.04M x 1.08 / 737.5 kg per MW; the rest labelled."""
    s = sector_shares(ds, ("CHN", "USA"))
    v = dict(zip(s.sectors, s.usd_per_kg, strict=True))
    assert v["ev_traction"] == pytest.approx(17_500.0)
    assert v["wind"] == pytest.approx(1.04e6 * 1.08 / 737.5)  # US$1,523/kg, US$1.12M per MW
    assert v["wind"] * 737.5 < 1.2e6  # the old flat US$12,000/kg gave US$8.9M per MW
    assert v["industrial_motors"] == pytest.approx(5_000.0)
    assert v["consumer_electronics"] == pytest.approx(20_000.0)
    assert v["defence"] == pytest.approx(50_000.0)
    assert v["other"] == pytest.approx(5_000.0)
    # demand-weighted mean, close to the old flat figure
    mean = float(s.shares[0] @ s.usd_per_kg)
    assert 10_000 < mean < 16_000
    assert "web:e-ecu-com-citing-vestas:1cc63c4a" in s.source_ids
    assert {"assumption:sim-value-ev-price", "assumption:sim-value-defence"} <= set(s.assumption_ids)


def test_toy_output_at_risk_by_sector_exact_usd() -> None:
    """Two sectors 60/40 of one region's 100 t demand, 70 t delivered, one tier: each sector gets
    70% of its demand: shortfalls 18 t and 12 t; at US$17,500 and US$1,523.2/kg:
    US$315.0M + US$18.2784M = US$333.2784M, the region's total."""
    acc = SectorAccumulator(
        np.array([[0.6, 0.4]]), [1, 1], n_paths=1, usd_per_t_by_sector=[17_500_000.0, 1_523_200.0]
    )
    acc.update(np.array([[100.0]]), np.array([[70.0]]))
    m = acc.metrics()
    np.testing.assert_allclose(m["cumulative_shortfall_t"][0, 0], [18.0, 12.0])
    np.testing.assert_allclose(m["output_at_risk_usd"][0, 0], [315.0e6, 18.2784e6])
    assert m["output_at_risk_usd"][0, 0].sum() == pytest.approx(333.2784e6)


def test_region_total_is_the_sum_over_sectors_in_a_run(ds: Dataset) -> None:
    """controls-reimposed-2026-11: per path and region, output at risk = sum over sectors of
    (shortfall_s x value_s), and equals the sum of the sector rows."""
    res = simulate("controls-reimposed-2026-11", paths=20, seed=0, dataset=ds)
    by = res.metrics.by_sector
    assert by is not None
    v = sector_shares(ds, res.scenario.regions).usd_per_kg
    total = res.metrics.output_at_risk_usd
    np.testing.assert_allclose(by["output_at_risk_usd"].sum(axis=2), total, rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(
        (by["cumulative_shortfall_t"] * 1000.0 * v).sum(axis=2), total, rtol=1e-9, atol=1e-3
    )
    assert (total[:, res.scenario.regions.index("EU27")] > 0).any()


def test_bad_value_spec_is_rejected(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "src/critmin/simulate/engine/sectors.yaml").read_text("utf-8")
    bad = text.replace("      magnet_kg: 2.0\n", "      magnet_kg: 0\n", 1)
    p = tmp_path / "s.yaml"
    p.write_text(bad, "utf-8")
    with pytest.raises(DataError, match="magnet_kg"):
        load_sectors(p)
    nosrc = text.replace(
        "      source: web:magnetics-magazine-mp-materials:d6a16f06\n"
        "      assumption: assumption:sim-value-ev-price\n",
        "",
        1,
    )
    p.write_text(nosrc, "utf-8")
    with pytest.raises(DataError, match="source or an assumption"):
        load_sectors(p)
