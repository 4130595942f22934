"""Allocation: caps shared by baseline, and intensity benchmarks (the TPS effect)."""

from __future__ import annotations

import pytest
from builders import write_case

import optimodel

FIRMS = [{"firm_id": "A", "sector": "cement"}, {"firm_id": "B", "sector": "cement"}]
OPTIONS = [
    {"firm_id": "A", "option": "efficiency", "potential_t": 10.0, "cost_per_t": 20.0, "output_loss": 0.0},
    # Cutting output: 1 unit of clinker less per tonne abated.
    {"firm_id": "A", "option": "output_cut", "potential_t": 50.0, "cost_per_t": 5.0, "output_loss": 1.0},
    {"firm_id": "B", "option": "efficiency", "potential_t": 10.0, "cost_per_t": 30.0, "output_loss": 0.0},
]


def cement_case(tmp_path, policy: dict, years=(2026,)):
    return write_case(
        tmp_path,
        firms=FIRMS,
        emissions=[
            row
            for year in years
            for row in (
                {"firm_id": "A", "year": year, "gas": "CO2", "baseline_t": 100.0},
                {"firm_id": "B", "year": year, "gas": "CO2", "baseline_t": 80.0},
            )
        ],
        options=OPTIONS,
        activity=[
            row
            for year in years
            for row in ({"firm_id": "A", "year": year, "output": 100.0}, {"firm_id": "B", "year": year, "output": 106.25})
        ],
        scenario={"years": list(years), "sectors": {"cement": policy}},
    )


def test_benchmark_allocation_moves_with_output(tmp_path):
    # Benchmark 0.8: issued = 0.8 (100 - cut) + 0.8 x 106.25 = 165 - 0.8 cut against emissions
    # 180 - eA - cut - eB. So eA + eB + 0.2 cut >= 15: a tonne cut earns only 0.2 t of
    # compliance (it also loses 0.8 allowances), at 5 / 0.2 = 25 per net tonne.
    # Merit order: eA 10 @ 20, then the cut @ 25 for the other 5 net tonnes (cut = 25 t).
    # Price 25; emissions 145; cost 10 x 20 + 25 x 5 = 325.
    result = optimodel.solve(optimodel.load_scenario(cement_case(tmp_path, {"benchmark": {"2026": 0.8}})))
    assert result.prices.iloc[0][["price", "price_low", "price_high"]].tolist() == pytest.approx([25.0] * 3)
    firms = result.firms.set_index("firm_id")
    assert firms.loc["A", "abatement_tco2e"] == pytest.approx(35.0)
    assert firms.loc["A", "allocation_tco2e"] == pytest.approx(0.8 * (100.0 - 25.0))
    assert firms.loc["B", "allocation_tco2e"] == pytest.approx(85.0)
    assert result.sectors.iloc[0].cap_tco2e == pytest.approx(145.0)
    assert result.markets.iloc[0].issued_tco2e == pytest.approx(145.0)
    assert result.sectors.iloc[0].emissions_tco2e == pytest.approx(145.0)
    assert result.summary["objective"] == pytest.approx(325.0)


def test_an_equal_emissions_cap_costs_less_than_the_benchmark(tmp_path):
    # The same 145 t as an absolute cap: 35 t to abate, all from the 5-cost output cut:
    # price 5, cost 175 < 325. This gap is the tradable-performance-standard effect.
    result = optimodel.solve(optimodel.load_scenario(cement_case(tmp_path, {"cap_tco2e": {"2026": 145.0}})))
    assert result.prices.iloc[0].price == pytest.approx(5.0)
    assert result.summary["objective"] == pytest.approx(175.0)
    firms = result.firms.set_index("firm_id")
    # Cap shared by baseline: A gets 145 x 100/180, B 145 x 80/180.
    assert firms.loc["A", "allocation_tco2e"] == pytest.approx(145.0 * 100 / 180)
    assert firms.loc["B", "allocation_tco2e"] == pytest.approx(145.0 * 80 / 180)
    assert firms["net_purchase_tco2e"].sum() == pytest.approx(0.0, abs=1e-9)


def test_switch_from_benchmark_to_cap(tmp_path):
    path = cement_case(tmp_path, {"benchmark": {"2026": 0.8}, "cap_tco2e": {"2027": 145.0}}, years=(2026, 2027))
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.prices["price"].tolist() == pytest.approx([25.0, 5.0])
    assert result.summary["objective"] == pytest.approx(325.0 + 175.0)
