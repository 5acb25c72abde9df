"""VSS >= 0 and EVPI >= 0 (critmin.plan.value), on random toy stockpile problems."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.plan.solve import solve_plan
from critmin.plan.toy import toy_inputs, toy_spec
from critmin.plan.value import eev, value_of_information

warnings.filterwarnings("ignore", module="linopy")


def _toy(avail: list[float]) -> tuple[object, object]:
    """Two years, three futures; China's availability in year 2 differs by future; 100 t of
    ex-China spot in year 1 to fill a stockpile."""
    inp = toy_inputs(
        years=(2027, 2028),
        futures=3,
        china_avail=np.array([[1.0, a] for a in avail]).reshape(3, 2, 1, 1),
        other_exchina_t=np.array([100.0, 0.0]).reshape(1, 2, 1, 1),
        holding=1.0,
    )
    return toy_spec(years={"start": 2027, "end": 2028}), inp


def test_vss_of_a_stockpile_by_hand() -> None:
    """Availability in year 2 is 0, 1, 1 (mean 2/3). RP stocks 100 t in year 1 (US$1 m + holding
    US$0.2 m) besides year 1's China supply (US$1 m); in year 2 the cut-off future uses the stock
    and the other two buy from China (US$1 m) and keep the stock (valued -US$1 m): RP = US$2.2 m.
    The mean-value plan stocks 33.3 t (the mean shortfall): year 1 costs 1 + 0.333 + 0.0667; in
    year 2 the cut-off future is 66.7 t short at US$200/kg (US$13.33 m), the others buy from
    China and value the stock at -US$0.333 m: EEV = 1.4 + (13.333 + 2 x 0.667) / 3 = US$6.29 m."""
    spec, inp = _toy([0.0, 1.0, 1.0])
    rp = solve_plan(spec, inp, shadow=False).objective_musd
    e, note = eev(spec, inp)
    assert rp is not None
    assert e is not None
    assert note == ""
    assert rp == pytest.approx(2.2, abs=1e-6)
    # EV stocks 33.33 t: 1 + 0.333 + 0.0667 (holding) + year 2: future 0 short 66.7 t x US$200/kg
    # = 13.33 and uses the stock; futures 1-2 buy 100 t from China (1.0) and value the stock
    # at -0.333: EEV = 1.4 + (13.333 + 2 x (1 - 0.3333)) / 3 = 1.4 + 4.889 = 6.289
    assert e == pytest.approx(1.4 + (13.3333333 + 2 * (1 - 0.3333333)) / 3, abs=1e-4)


@pytest.mark.slow
@settings(max_examples=2)
@given(st.lists(st.sampled_from([0.0, 0.3, 0.7, 1.0]), min_size=3, max_size=3))
def test_vss_and_evpi_are_not_negative(avail: list[float]) -> None:
    spec, inp = _toy(avail)
    r = solve_plan(spec, inp, shadow=False)
    v = value_of_information(r, inp, evpi_futures=3).value
    assert v is not None
    assert v.vss_musd is not None
    assert v.evpi_musd is not None
    assert v.vss_musd >= -1e-6
    assert v.evpi_musd >= -1e-6
    assert v.rp_sub_musd == pytest.approx(r.objective_musd, abs=1e-6)  # all three futures
