"""Licence processing (engine/licences.py): dead time, destination approval, general licences,
bans that stop pending licences; hand-worked on toy chains.

Toy A (``tests.unit.test_engine_toy``): China makes 100 t/month of magnets and ships all of
them to the USA. Toy B: the same with China's magnets split 50/50 between the USA and Japan.
A licence on every magnet (controlled share 1) starts in month 3 (2024-04).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError

from critmin.model.stages import Stage
from critmin.simulate.engine.licences import LicenceBook, ban_cancel, dead_time_weights
from critmin.simulate.inputs.events import EventKind, parse_event
from critmin.simulate.inputs.policy import compile_policy
from tests.unit import helpers
from tests.unit.helpers import engine_run, frozen_params
from tests.unit.test_engine_toy import event, run_toy, toy_params

US, JP = 1, 2
LIC = {"stages": (Stage.MAGNET,), "controlled_share": 1.0}


def exports(dead: float, lag: float = 1.0, approval: float = 1.0) -> np.ndarray:
    _, tr = run_toy(
        [event(EventKind.LICENCE, 3, **LIC)],
        toy_params(licence_dead_time_months=dead, licence_lag_months=lag, approval_rate=approval),
    )
    return tr.exports_chn[:, 0, US]


def test_dead_time_weights_split_fractional_months() -> None:
    w = dead_time_weights(np.array([0.0, 2.0, 1.5, 2.1]))
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[0, :2], [1.0, 0.0])
    np.testing.assert_allclose(w[1, 2], 1.0)
    np.testing.assert_allclose(w[2, 1:3], [0.5, 0.5])
    np.testing.assert_allclose(w[3, 2:4], [0.9, 0.1])
    with pytest.raises(ValueError, match="dead time"):
        dead_time_weights(np.array([-1.0]))


def test_integer_dead_time_gives_first_approval_exactly_d_months_later() -> None:
    """Dead time 2, lag 1, approval 1: month 3's applications are decided in month 5.

    Exports: 100 in months 0-2, 0 in months 3-4, then 100 a month (each month's filing two
    months later)."""
    np.testing.assert_allclose(exports(2.0), [100] * 3 + [0, 0] + [100] * 7, atol=1e-9)


def test_dead_time_one_is_the_former_next_month_rule() -> None:
    np.testing.assert_allclose(exports(1.0), [100] * 3 + [0] + [100] * 8, atol=1e-9)


def test_zero_dead_time_decides_in_the_filing_month() -> None:
    np.testing.assert_allclose(exports(0.0), [100] * 12, atol=1e-9)


def test_fractional_dead_time_splits_a_month_between_two_ages() -> None:
    """Dead time 1.5: half of month 3's filing is decided in month 4, half in month 5.

    Exports: month 4 = 50 (half of month 3), month 5 on = 50 + 50 = 100."""
    np.testing.assert_allclose(exports(1.5), [100] * 3 + [0, 50] + [100] * 7, atol=1e-9)


def test_dead_time_then_geometric_review() -> None:
    """Dead time 2, lag 2 (half the pool decided a month): month 5 = 50, month 6 = 25 + 50 = 75,
    month 7 = 37.5 + 50 = 87.5."""
    np.testing.assert_allclose(exports(2.0, lag=2.0)[3:8], [0, 0, 50, 75, 87.5], atol=1e-9)


def test_ban_sends_pending_licences_back_to_the_exporter() -> None:
    """Licence from month 3 (dead time 2, lag 2, approval 1), US ban from month 6.

    Before month 6: pool 50 (month 3's rest) + queue 100 (month 4's) + 100 (month 5's) = 250
    pending; the ban returns all 250 to China, plus the month's 100 kept home: China's
    inventory in month 6 is 350 and rises 100 a month after; nothing reaches the US."""
    events = [
        event(EventKind.LICENCE, 3, **LIC),
        event(EventKind.BAN, 6, stages=(Stage.MAGNET,), destinations=("USA",)),
    ]
    _, tr = run_toy(
        events, toy_params(licence_dead_time_months=2.0, licence_lag_months=2.0, approval_rate=1.0)
    )
    np.testing.assert_allclose(tr.exports_chn[3:, 0, US], [0, 0, 50, 0, 0, 0, 0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(tr.inventory[5:9, 0, 0], [0, 350, 450, 550], atol=1e-9)


def test_ban_cancel_is_the_rise_of_the_banned_fraction() -> None:
    assert ban_cancel(np.array([0.0, 1.0]), np.array([0.0, 1.0])) is None
    np.testing.assert_allclose(ban_cancel(np.array([0.0, 0.5]), np.array([1.0, 1.0])), [1.0, 1.0])
    np.testing.assert_allclose(ban_cancel(np.array([0.0]), np.array([0.03])), [0.03])


def test_licence_book_conserves_mass() -> None:
    book = LicenceBook(2, 1, np.array([1.5, 0.0]), np.array([2.0, 1.0]))
    total_in = total_out = 0.0
    for t in range(6):
        a, r, c = book.month(np.full((2, 1), 10.0), 0.5, np.array([0.5]) if t == 3 else None)
        total_in += 20.0
        total_out += float((a + r + c).sum())
    assert total_in == pytest.approx(total_out + float(book.pending().sum()))


def run_b(events: list[object], **over: float) -> np.ndarray:
    params = frozen_params(1, 3, **{"licence_dead_time_months": 1.0, "approval_rate": 1.0, **over})
    pol = compile_policy(tuple(events), "2024-01", 12, ("CHN", "USA", "JPN"), 1, None, defence_share=0.03)  # type: ignore[arg-type]
    _, _, tr = engine_run(helpers.three_regions(), params, pol, 12, keep_trace=True, check_balance=True)
    assert tr is not None
    return tr.exports_chn[:, 0, :]


def ev(kind: EventKind, month: int, **kw: object) -> object:
    return parse_event(
        {"id": f"{kind.value}-{month}", "date": dt.date(2024, 1 + month, 1), "kind": kind, **kw}
    )


def test_destination_specific_approval_rate() -> None:
    """Approval 0 for Japan only from month 3: the US still gets 50 a month (a month late),
    Japan nothing from month 3 on."""
    x = run_b(
        [
            ev(EventKind.LICENCE, 3, **LIC),
            ev(EventKind.APPROVAL_RATE, 3, approval_rate=0.0, destinations=["JPN"]),
        ]
    )
    np.testing.assert_allclose(x[:, US], [50] * 3 + [0] + [50] * 8, atol=1e-9)
    np.testing.assert_allclose(x[:, JP], [50] * 3 + [0] * 9, atol=1e-9)


def test_general_licence_share_ships_without_review() -> None:
    """Approval 0 everywhere; a general licence for 40% of the US flow from month 5: the US
    gets 0 in months 3-4, then 0.4 x 50 = 20 a month; Japan nothing."""
    gl = ev(EventKind.GENERAL_LICENCE, 5, stages=["magnet"], destinations=["USA"], share=0.4)
    x = run_b([ev(EventKind.LICENCE, 3, **LIC), gl], approval_rate=0.0)
    np.testing.assert_allclose(x[3:, US], [0, 0] + [20] * 7, atol=1e-9)
    np.testing.assert_allclose(x[3:, JP], [0] * 9, atol=1e-9)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("share", 1.5, "share must lie in"),
        ("destinations", ["XXX"], "unknown destination"),
        ("exporter", "USA", "not modelled"),
    ],
)
def test_general_licence_fields_are_validated(field: str, value: object, match: str) -> None:
    raw = {"id": "gl", "date": "2025-12-01", "kind": "general_licence", "share": 0.5, field: value}
    with pytest.raises(ValidationError, match=match):
        parse_event(raw)


def test_approval_destinations_are_validated() -> None:
    with pytest.raises(ValidationError, match="unknown destination"):
        parse_event(
            {
                "id": "a",
                "date": "2026-01-01",
                "kind": "approval_rate",
                "approval_rate": 0,
                "destinations": ["ZZZ"],
            }
        )
