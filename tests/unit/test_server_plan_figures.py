"""The Plans page's labels and figures (critmin.server.plan_figures), on hand-made tables."""

from __future__ import annotations

import pandas as pd

from critmin.server.plan_figures import (
    cost_figure,
    frontier_figure,
    instrument_words,
    plan_view,
    product_words,
    project_words,
    region_words,
)


def test_labels_are_words() -> None:
    assert product_words("ndfeb_magnet") == "NdFeB magnets"
    assert product_words("dytb_oxide") == "Dy+Tb oxide"
    assert product_words("new_thing") == "new thing"
    assert instrument_words("cofinance") == "Co-financing"
    assert instrument_words("rationing (value of lost load)") == "Rationing (value of lost load)"
    assert region_words("USA") == "United States"
    assert region_words("EU27") == "European Union (27)"
    assert region_words("") == ""
    assert project_words("") == ""
    name = project_words("neo-narva-p2")  # from the economics data: name and company
    assert "Narva" in name
    assert "Neo Performance Materials" in name
    assert "-" not in name.split("(")[0]
    assert project_words("not-a-project") == "not a project"


COSTS = pd.DataFrame(
    [
        ("offtake", "USA", "DoD", 100.0),
        ("floor", "USA", "DoD", 0.0),
        ("spot purchases from China", "USA", "USA users", 40.0),
        ("less: stock fills, bought through the rows above", "USA", "USA users", -10.0),
        ("offtake", "JPN", "JOGMEC", 30.0),
    ],
    columns=["instrument", "region", "payer", "expected_npv_musd"],
)


def test_cost_figure_has_a_segment_per_payer_and_drops_zero_rows() -> None:
    fig = cost_figure(COSTS).to_plotly_json()
    names = [t["name"] for t in fig["data"]]
    assert names == ["DoD", "USA users", "JOGMEC"]
    dod = fig["data"][0]
    assert list(dod["y"]) == ["Offtake contract"]  # the zero floor row is left out
    assert list(dod["x"]) == [100.0]
    users = fig["data"][1]
    assert list(users["x"]) == [40.0, -10.0]  # negative rows stay, to the left of zero
    assert fig["layout"]["barmode"] == "relative"
    assert all("_" not in y for t in fig["data"] for y in t["y"])
    assert "customdata" in dod  # the payer is data, never template text
    assert len(cost_figure(None).data) == 0


def test_frontier_figure_plots_solved_points_and_names_the_rest() -> None:
    f = pd.DataFrame(
        {
            "cutoff_months": [0, 6, 12],
            "status": ["optimal", "optimal", "infeasible"],
            "expected_cost_musd": [10.0, 25.0, None],
        }
    )
    fig = frontier_figure(f).to_plotly_json()
    assert list(fig["data"][0]["x"]) == [0, 6]
    assert list(fig["data"][0]["y"]) == [10.0, 25.0]
    assert "12-month" in fig["layout"]["title"]["text"]
    assert "cut-off" in fig["layout"]["xaxis"]["title"]["text"]


def test_plan_view_labels_every_id() -> None:
    portfolio = pd.DataFrame(
        [
            (
                "offtake",
                "USA",
                "DoD",
                "neo-narva-p2",
                "ndfeb_magnet",
                "EU27",
                "2028",
                3000.0,
                "t/yr contracted",
                "",
            )
        ],
        columns=[
            "instrument",
            "buyer",
            "payer",
            "project",
            "product",
            "host",
            "years",
            "amount",
            "unit",
            "detail",
        ],
    )
    view = plan_view(
        {
            "portfolio": portfolio,
            "costs": COSTS,
            "shadow_prices": pd.DataFrame({"statement": ["one more point costs US$2 m"]}),
            "verification": pd.DataFrame(
                {"target": ["t"], "in_sample": [1.0], "out_of_sample": [0.75], "gap": [0.25]}
            ),
        },
        {"plan": "p", "status": "optimal", "regions": ["USA"], "verification": {"paths": 20, "notes": ["n"]}},
    )
    row = view["portfolio"][0]
    assert row["host_label"] == "European Union (27)"
    assert row["product_label"] == "NdFeB magnets"
    assert row["instrument_label"] == "Offtake contract"
    assert row["unit_label"] == "t a year contracted"
    assert view["costs"][0]["region_label"] == "United States"
    assert view["shadow_prices"] == ["one more point costs US$2 m"]
    assert view["verification"][0]["out_of_sample"] == 0.75
    assert view["verification_paths"] == 20
    assert view["has_frontier"] is False
    assert view["regions"] == [{"id": "USA", "label": "United States"}]


def test_the_dashboard_page_has_no_duplicate_ids() -> None:
    """Every element id is unique (``$(id)`` and the browser tests' selectors find one element),
    and every id the script looks up with ``$("...")`` exists in the page."""
    import re

    from critmin.server.app import STATIC

    html = (STATIC / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    wanted = set(re.findall(r'\$\("([A-Za-z0-9_-]+)"\)', js))
    assert wanted - set(ids) == set()
    assert {"pl-portfolio", "pl-costs", "pl-frontier-fig", "pl-verification"} <= set(ids)
