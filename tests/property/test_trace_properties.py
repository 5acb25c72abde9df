"""Invariants of firm-level origin tracing on random small networks (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import critmin.trace.firms as tf
from critmin.model.stages import Stage
from critmin.trace import UNKNOWN, trace_firms

COUNTRIES = ("AUS", "CHN", "MYS", "USA")
STAGES = tuple(s.value for s in Stage)
SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def networks(draw: st.DrawFn, max_firms: int = 9) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    n = draw(st.integers(1, max_firms))
    firms = pd.DataFrame(
        {
            "firm_id": [f"f{i}" for i in range(n)],
            "country": draw(st.lists(st.sampled_from(COUNTRIES), min_size=n, max_size=n)),
            "stage": draw(st.lists(st.sampled_from(STAGES[:4]), min_size=n, max_size=n)),
        }
    )
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    qty = draw(
        st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.5]), min_size=len(pairs), max_size=len(pairs))
    )
    edges = pd.DataFrame(
        {
            "supplier_id": [f"f{s}" for s, _ in pairs],
            "customer_id": [f"f{c}" for _, c in pairs],
            "quantity": np.asarray(qty, dtype=np.float64),
        }
    )
    # An exact copy of an edge is refused as a copy-paste error (parallel edges that differ are
    # summed), so the strategy draws each (supplier, customer, quantity) once.
    edges = edges.drop_duplicates(ignore_index=True)
    return firms, edges, draw(st.sampled_from(STAGES[:4]))


def wide(shares: pd.DataFrame) -> pd.DataFrame:
    return shares.pivot_table(
        index="firm_id", columns="origin", values="share", fill_value=0.0, observed=True
    )


def reference(firms: pd.DataFrame, edges: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Dense fixed-point iteration ``Y <- M Y + B`` from 0 (the minimal solution), then x = W Y."""
    n = len(firms)
    pos = {f: i for i, f in enumerate(firms["firm_id"])}
    Q = np.zeros((n, n))
    for s, c, q in edges.itertuples(index=False):
        Q[pos[c], pos[s]] += q
    total = Q.sum(axis=1)
    W = np.divide(Q, total[:, None], out=np.zeros_like(Q), where=total[:, None] > 0)
    origin = (firms["stage"] == stage).to_numpy()
    countries = sorted(set(firms["country"][origin]))
    B = np.zeros((n, len(countries)))
    for i in np.flatnonzero(origin):
        B[i, countries.index(firms["country"].iloc[i])] = 1.0
    M = W * ~origin[:, None]
    Y = np.zeros_like(B)
    for _ in range(200_000):
        new = M @ Y + B
        if np.abs(new - Y).max(initial=0.0) < 1e-15:
            break
        Y = new
    X = W @ Y
    out = pd.DataFrame(X, index=firms["firm_id"], columns=countries)
    out[UNKNOWN] = 1.0 - X.sum(axis=1)
    return out


@SETTINGS
@given(networks())
def test_shares_non_negative_and_sum_to_one(net: tuple[pd.DataFrame, pd.DataFrame, str]) -> None:
    firms, edges, stage = net
    res = trace_firms(firms, edges, stage)
    s = res.shares
    assert (s["share"] > 0).all()
    assert (s["share"] <= 1 + 1e-12).all()
    sums = s.groupby("firm_id")["share"].sum()
    assert set(sums.index) == set(firms["firm_id"])
    assert np.allclose(sums, 1.0, atol=1e-12)
    assert not s.duplicated(["firm_id", "origin"]).any()
    known = res.coverage["known_mass_share"]
    assert known is None or -1e-12 <= known <= 1 + 1e-12


@SETTINGS
@given(networks(), st.sampled_from([1e-6, 0.37, 3.0, 1e9]))
def test_scaling_quantities_leaves_shares_unchanged(
    net: tuple[pd.DataFrame, pd.DataFrame, str], factor: float
) -> None:
    firms, edges, stage = net
    base = wide(trace_firms(firms, edges, stage).shares)
    scaled_edges = edges.assign(quantity=edges["quantity"] * factor)
    scaled = wide(trace_firms(firms, scaled_edges, stage).shares)
    pd.testing.assert_frame_equal(base, scaled, check_exact=False, atol=1e-9, rtol=0)


@SETTINGS
@given(networks(), st.sampled_from(COUNTRIES), st.integers(1, 4))
def test_firm_buying_only_from_origin_firms_in_x_is_all_x(
    net: tuple[pd.DataFrame, pd.DataFrame, str], x: str, k: int
) -> None:
    firms, edges, stage = net
    # Add k origin-stage firms in X (each with arbitrary inputs of its own) and a buyer.
    new = pd.DataFrame(
        {
            "firm_id": [f"x{i}" for i in range(k)] + ["buyer"],
            "country": [x] * k + ["DEU"],
            "stage": [stage] * k + ["end_use"],
        }
    )
    if stage == "end_use":
        new.loc[k, "stage"] = "component"
    others = list(firms["firm_id"])
    extra = [(f"x{i}", "buyer", float(i + 1)) for i in range(k)]
    extra += [(others[i % len(others)], f"x{i}", 1.0) for i in range(k)]  # upstream of the X firms
    extra += [("buyer", others[0], 2.0)]  # the buyer also sells on, which must not matter
    all_edges = pd.concat([edges, pd.DataFrame(extra, columns=list(edges.columns))], ignore_index=True)
    res = trace_firms(pd.concat([firms, new], ignore_index=True), all_edges, stage).shares
    buyer = res[res["firm_id"] == "buyer"]
    assert buyer["origin"].astype(str).tolist() == [x]
    assert buyer["share"].iloc[0] == pytest.approx(1.0)


@SETTINGS
@given(networks(), st.booleans())
def test_matches_dense_reference(net: tuple[pd.DataFrame, pd.DataFrame, str], iterative: bool) -> None:
    firms, edges, stage = net
    with pytest.MonkeyPatch.context() as mp:
        if iterative:  # every cycle through the Gauss-Seidel sweeps instead of sparse LU
            mp.setattr(tf, "_DIRECT_MAX", 1)
        got = wide(trace_firms(firms, edges, stage).shares)
    want = reference(firms, edges, stage)
    got = got.reindex(index=want.index, columns=want.columns, fill_value=0.0)
    assert np.allclose(got.to_numpy(), want.to_numpy(), atol=1e-8)


@SETTINGS
@given(networks(), st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(net: tuple[pd.DataFrame, pd.DataFrame, str], seed: int) -> None:
    firms, edges, stage = net
    rng = np.random.default_rng(seed)
    a = trace_firms(firms, edges, stage).shares
    b = trace_firms(
        firms.iloc[rng.permutation(len(firms))], edges.iloc[rng.permutation(len(edges))], stage
    ).shares
    pd.testing.assert_frame_equal(wide(a), wide(b), check_exact=False, atol=1e-12, rtol=0)
    assert a["firm_id"].tolist() == b["firm_id"].tolist()
