"""Random valid instances (several markets, years, gases, banking, discounting) against an
independent formulation: the LP written directly as matrices from the raw tables and solved by
scipy's linprog. Objectives must agree, infeasibility must agree, and each linprog marginal price
must lie inside optimodel's [price_low, price_high]."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from builders import write_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import optimodel

GWP = {"CO2": 1.0, "CF4": 6630.0}
SECTOR_MARKET = {"a": "m1", "b": "m1", "c": "m2"}


@st.composite
def instances(draw):
    years = [2025, 2026, 2027][: draw(st.sampled_from([1, 2, 3, 3]))]
    firms: list[dict] = []
    emissions: list[dict] = []
    options: list[dict] = []
    for index in range(draw(st.integers(2, 5))):
        firm, sector = f"F{index}", draw(st.sampled_from(sorted(SECTOR_MARKET)))
        firms.append({"firm_id": firm, "sector": sector})
        for year in years:
            emissions.append({"firm_id": firm, "year": year, "gas": "CO2", "baseline_t": float(draw(st.integers(20, 100)))})
            if sector == "c":
                emissions.append({"firm_id": firm, "year": year, "gas": "CF4", "baseline_t": draw(st.integers(1, 5)) / 1000})
        for number in range(draw(st.integers(1, 3))):
            gas = "CF4" if sector == "c" and draw(st.booleans()) else "CO2"
            potential = float(draw(st.integers(5, 60))) if gas == "CO2" else draw(st.integers(1, 6)) / 1000
            cost = float(draw(st.integers(-10, 90))) * (GWP[gas] if gas == "CF4" else 1.0)
            options.append({"firm_id": firm, "option": f"o{number}", "gas": gas, "potential_t": potential, "cost_per_t": cost})
    sectors = sorted({row["sector"] for row in firms})
    caps = {}
    sector_of = {row["firm_id"]: row["sector"] for row in firms}
    for sector in sectors:
        base = sum(
            row["baseline_t"] * GWP[row["gas"]]
            for row in emissions
            if row["year"] == years[0] and sector_of[row["firm_id"]] == sector
        )
        caps[sector] = {str(year): float(round(base * draw(st.floats(0.75, 1.05)), 3)) for year in years}
    banking = draw(st.sampled_from([True, True, False]))
    discount = draw(st.sampled_from([0.0, 0.05]))
    markets: dict[str, dict] = {}
    for sector in sectors:
        markets.setdefault(SECTOR_MARKET[sector], {"sectors": [], "banking": banking})["sectors"].append(sector)
    scenario = {"years": years, "gwp": "AR5", "discount_rate": discount,
                "sectors": {s: {"cap_tco2e": caps[s]} for s in sectors}, "markets": markets}
    return firms, emissions, options, scenario


def independent_lp(firms, emissions, options, scenario):
    """min sum delta_t c x  s.t. firm-gas-year baseline limits, market balances with banking."""
    years, sector_of = scenario["years"], {f["firm_id"]: f["sector"] for f in firms}
    market_of = {s: m for m, p in scenario["markets"].items() for s in p["sectors"]}
    delta = {t: (1 + scenario["discount_rate"]) ** -(t - years[0]) for t in years}
    baseline = {(r["firm_id"], r["gas"], r["year"]): r["baseline_t"] * GWP[r["gas"]] for r in emissions}
    columns: list[tuple] = []
    cost: list[float] = []
    upper: list[float | None] = []
    for option in options:
        for year in years:
            columns.append(("abate", option["firm_id"], option["gas"], year))
            cost.append(delta[year] * option["cost_per_t"] / GWP[option["gas"]])
            upper.append(option["potential_t"] * GWP[option["gas"]])
    market_years = [(m, t) for m in scenario["markets"] for t in years]
    banks = [(m, t) for m, p in scenario["markets"].items() if p["banking"] for t in years[:-1]]
    for market, year in banks:
        columns.append(("bank", market, year))
        cost.append(0.0)
        upper.append(None)
    rows, rhs = [], []
    limits = sorted({(c[1], c[2], c[3]) for c in columns if c[0] == "abate"})
    for firm, gas, year in limits:
        rows.append([1.0 if c[0] == "abate" and (c[1], c[2], c[3]) == (firm, gas, year) else 0.0 for c in columns])
        rhs.append(baseline.get((firm, gas, year), 0.0))
    balance_rows = []
    for market, year in market_years:
        row = []
        for c in columns:
            if c[0] == "abate":
                row.append(-1.0 if market_of[sector_of[c[1]]] == market and c[3] == year else 0.0)
            else:
                carried_in = c[1] == market and years.index(c[2]) + 1 == years.index(year)
                row.append(1.0 if (c[1], c[2]) == (market, year) else (-1.0 if carried_in else 0.0))
        emitted = sum(v for (f, g, t), v in baseline.items() if t == year and market_of[sector_of[f]] == market)
        issued = sum(scenario["sectors"][s]["cap_tco2e"][str(year)] for s in scenario["markets"][market]["sectors"])
        balance_rows.append(len(rows))
        rows.append(row)
        rhs.append(issued - emitted)
    solution = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=[(0.0, u) for u in upper], method="highs")
    if solution.status == 2:
        return None
    assert solution.status == 0, solution.message
    prices = {key: -solution.ineqlin.marginals[row] / delta[key[1]] for key, row in zip(market_years, balance_rows)}
    return solution.fun, prices


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_agrees_with_an_independent_formulation(instance):
    firms, emissions, options, scenario = instance
    expected = independent_lp(firms, emissions, options, scenario)
    with tempfile.TemporaryDirectory() as folder:
        path = write_case(Path(folder), firms=firms, emissions=emissions, options=options, scenario=scenario)
        loaded = optimodel.load_scenario(path)
        if expected is None:
            with pytest.raises(optimodel.InfeasibleError):
                optimodel.solve(loaded)
            return
        result = optimodel.solve(loaded)
    objective, prices = expected
    assert result.summary["objective"] == pytest.approx(objective, rel=1e-7, abs=1e-6)
    for row in result.prices.itertuples():
        price = prices[(row.market, row.year)]
        assert row.price_low - 1e-6 <= price <= row.price_high + 1e-6, (row, price)
