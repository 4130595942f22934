"""Capacity options (contract section 12), derived by hand on one firm over one to three years.

Firm A emits 100 t of CO2 a year. Its options: "plant", a capacity option of 50 t/yr at an
operating cost of 10 per t, and "dear", an annual step of 100 t at 100 per t. Caps of 70 t leave
30 t a year to abate. With r = 0 a build of capex C and lifetime L costs C / L in each year of
service the model sees.

Every test asserts prices with their intervals, the objective and capacity.csv, and the
certificate has checked each solve (``checks``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import write_case
from scipy.optimize import linprog

import optimodel
from optimodel.model.capacity import annual_charge


def case(folder: Path, years: list[int], caps: list[float], *, capex: float = 60.0, lifetime: int = 2,
         max_build: float | None = None, market: dict | None = None, investment: dict | None = None,
         discount_rate: float = 0.0) -> Path:
    plant = {"firm_id": "A", "option": "plant", "gas": "CO2", "potential_t": 50.0, "cost_per_t": 10.0,
             "lifetime_years": lifetime, "capex_per_t": capex}
    if max_build is not None:
        plant["max_build_t"] = max_build
    options = [plant, {"firm_id": "A", "option": "dear", "gas": "CO2", "potential_t": 100.0, "cost_per_t": 100.0}]
    scenario: dict = {
        "years": years,
        "discount_rate": discount_rate,
        "sectors": {"power": {"cap_tco2e": {str(year): cap for year, cap in zip(years, caps)}}},
    }
    if market:
        scenario["markets"] = {"national": {"sectors": ["power"], **market}}
    if investment:
        scenario["investment"] = investment
    return write_case(
        folder,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": year, "gas": "CO2", "baseline_t": 100.0} for year in years],
        options=options,
        scenario=scenario,
    )


def solved(path: Path, folder: Path):
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.summary["checks"]["objective_gap"] < 1e-6
    result.write(folder / "run")
    capacity = pd.read_csv(folder / "run" / "capacity.csv")
    return result, capacity


def intervals(result) -> list[float]:
    """price_low, price_high of each year in turn."""
    return result.prices[["price_low", "price_high"]].to_numpy().ravel().tolist()


def test_a_build_serves_later_years(tmp_path):
    # Build 30 in 2025 (L = 2) for both years: capital 60 x 30 = 1,800, operating 600.
    # 2025: one more allowance saves 10 + 60 but needs a 2026 build (30): 40; one fewer costs a
    # build serving both years: 70. 2026: one more saves only the operating 10; one fewer needs
    # a 2026 build charged in 2026 alone: 40. The build is basic, so p2025 + p2026 = 80.
    result, capacity = solved(case(tmp_path, [2025, 2026], [70.0, 70.0]), tmp_path)
    assert result.summary["objective"] == pytest.approx(2400.0)
    assert intervals(result) == pytest.approx([40.0, 70.0, 10.0, 40.0])
    assert result.prices["price"].sum() == pytest.approx(80.0)
    assert capacity[["year", "built_t", "in_service_t", "abated_t", "capex", "capital_charge"]].to_numpy().ravel().tolist() == pytest.approx(
        [2025, 30.0, 30.0, 30.0, 1800.0, 900.0, 2026, 0.0, 30.0, 30.0, 0.0, 900.0]
    )
    totals = result.summary["totals"]
    assert [entry["capex"] for entry in totals["by_year"]] == pytest.approx([1800.0, 0.0])
    assert totals["discounted"]["capital_charges"] == pytest.approx(1800.0)


def test_a_lifetime_shorter_than_the_horizon_is_rebuilt(tmp_path):
    # L = 2 over three years: build 30 in 2025 (60 a unit, two years) and again in 2027 (30 a
    # unit: 2028 is not modelled). A 2026 build instead would cost 60 a unit.
    result, capacity = solved(case(tmp_path, [2025, 2026, 2027], [70.0, 70.0, 70.0]), tmp_path)
    assert result.summary["objective"] == pytest.approx(30 * 60 + 30 * 30 + 3 * 300)
    assert capacity["built_t"].tolist() == pytest.approx([30.0, 0.0, 30.0])
    assert capacity["in_service_t"].tolist() == pytest.approx([30.0, 30.0, 30.0])
    # 2027: a tonne more or less is a unit of the 2027 build (30) and its operation (10).
    assert intervals(result)[4:] == pytest.approx([40.0, 40.0])


def test_a_lifetime_longer_than_the_horizon_is_charged_only_inside_it(tmp_path):
    # capex 100, L = 10: 10 a year, charged in 2025 and 2026 only (the rest is salvage value).
    result, capacity = solved(case(tmp_path, [2025, 2026], [70.0, 70.0], capex=100.0, lifetime=10), tmp_path)
    assert result.summary["objective"] == pytest.approx(30 * 10 * 2 + 600.0)
    assert capacity["capex"].tolist() == pytest.approx([3000.0, 0.0])
    assert capacity["capital_charge"].tolist() == pytest.approx([300.0, 300.0])
    # 2025: one fewer costs a build charged in both years (20) and 10; one more saves 20 + 10 but
    # needs a 2026 build (10): 20. 2026: 10 saved, or a 2026 build (10) and 10.
    assert intervals(result) == pytest.approx([20.0, 30.0, 10.0, 20.0])


def test_the_annuity_due_charge_at_a_positive_rate(tmp_path):
    # r = 10 %: a = 60 x 0.1 / (1.1 x (1 - 1.1^-2)) = 31.43 a year, whose two payments, the
    # second discounted, are worth exactly the capex of 60 in the build year.
    charge = 60.0 * 0.1 / (1.1 * (1.0 - 1.1**-2))
    assert charge + charge / 1.1 == pytest.approx(60.0)
    assert annual_charge(np.array([60.0]), 0.1, np.array([2]))[0] == pytest.approx(charge)
    assert annual_charge(np.array([60.0]), 0.0, np.array([2]))[0] == pytest.approx(30.0)
    path = case(tmp_path, [2025, 2026], [70.0, 70.0], investment={"interest_rate": 0.1}, discount_rate=0.1)
    result, capacity = solved(path, tmp_path)
    assert capacity["capital_charge"].tolist() == pytest.approx([30 * charge, 30 * charge])
    assert result.summary["objective"] == pytest.approx(30 * 60.0 + 300.0 + 300.0 / 1.1)
    assert result.summary["totals"]["discounted"]["capital_charges"] == pytest.approx(1800.0)


def test_a_binding_build_limit(tmp_path):
    # One year, L = 5, capex 50: 10 charged in 2025. At most 20 built: 20 t at 10 + 10, the
    # other 10 t by "dear" at 100, which sets the price; without the limit it is 20.
    result, capacity = solved(case(tmp_path, [2025], [70.0], capex=50.0, lifetime=5, max_build=20.0), tmp_path)
    assert result.summary["objective"] == pytest.approx(20 * 20 + 10 * 100)
    assert intervals(result) == pytest.approx([100.0, 100.0])
    assert capacity["built_t"].tolist() == pytest.approx([20.0])
    free = tmp_path / "free"
    unlimited, _ = solved(case(free, [2025], [70.0], capex=50.0, lifetime=5), free)
    assert unlimited.prices["price"].tolist() == pytest.approx([20.0])


def test_banking_with_capacity_prices_at_the_levelised_cost(tmp_path):
    # 60 t over two years with banking (cap 100 then 40). Abating 30 a year on a 2025 build
    # (capital 60 a unit over 2 t) and 60 in 2026 on a 2026 build (30 a unit) both cost
    # 40 a tonne: the levelised cost a + c = 30 + 10 prices both years.
    result, _ = solved(case(tmp_path, [2025, 2026], [100.0, 40.0], market={"banking": True}), tmp_path)
    assert result.summary["objective"] == pytest.approx(60 * 40.0)
    assert intervals(result) == pytest.approx([40.0, 40.0, 40.0, 40.0])


def test_lifetimes_false_is_the_annual_menu_at_the_levelised_cost(tmp_path):
    # No builds: each year the plant is an annual step at 10 + 30 = 40; the price is 40 in
    # both years, a point, where with lifetimes it spreads over [40, 70] and [10, 40].
    path = case(tmp_path, [2025, 2026], [70.0, 70.0], investment={"lifetimes": False})
    result, capacity = solved(path, tmp_path)
    assert result.summary["objective"] == pytest.approx(2400.0)
    assert intervals(result) == pytest.approx([40.0, 40.0, 40.0, 40.0])
    assert capacity["built_t"].tolist() == pytest.approx([0.0, 0.0])
    assert capacity["capital_charge"].tolist() == pytest.approx([900.0, 900.0])


def test_a_capacity_row_needs_capex(tmp_path):
    path = case(tmp_path, [2025], [70.0])
    table = pd.read_csv(tmp_path / "options.csv")
    table.loc[0, "capex_per_t"] = math.nan
    table.to_csv(tmp_path / "options.csv", index=False)
    with pytest.raises(optimodel.InputError, match="capex_per_t.*row 1|row 1.*capex_per_t"):
        optimodel.solve(optimodel.load_scenario(path))


def independent_capacity_lp(caps: list[float], capex: float, lifetime: int, rate: float) -> float:
    """The rebuilt case written directly for scipy: per year abatement on the plant (a_t), on
    "dear" (d_t) and a build (x_t); capacity in service bounds a_t; first-year money."""
    years = len(caps)
    charge = capex / lifetime if rate == 0 else capex * rate / ((1 + rate) * (1 - (1 + rate) ** -lifetime))
    weight = [(1 + rate) ** -t for t in range(years)]
    n = 3 * years  # a_0..a_T, d_0..d_T, x_0..x_T
    cost = np.zeros(n)
    for t in range(years):
        cost[t] = 10.0 * weight[t]
        cost[years + t] = 100.0 * weight[t]
        cost[2 * years + t] = charge * sum(weight[u] for u in range(t, min(years, t + lifetime)))
    rows, bounds_upper = [], []
    for t in range(years):
        need = np.zeros(n)
        need[t] = need[years + t] = -1.0
        rows.append(need)
        bounds_upper.append(-(100.0 - caps[t]))
        use = np.zeros(n)
        use[t] = 1.0
        for v in range(years):
            if v <= t <= v + lifetime - 1:
                use[2 * years + v] = -1.0
        rows.append(use)
        bounds_upper.append(0.0)
    bounds = [(0, 50.0)] * years + [(0, 100.0)] * years + [(0, None)] * years
    solution = linprog(cost, A_ub=np.array(rows), b_ub=np.array(bounds_upper), bounds=bounds, method="highs")
    assert solution.status == 0
    return float(solution.fun)


@pytest.mark.parametrize(("caps", "lifetime", "rate"), [([70.0, 70.0, 70.0], 2, 0.0), ([80.0, 60.0, 50.0], 2, 0.05), ([90.0, 60.0, 40.0], 3, 0.08)])
def test_the_formulation_agrees_with_an_independent_lp(tmp_path, caps, lifetime, rate):
    path = case(tmp_path, [2025, 2026, 2027], caps, lifetime=lifetime, investment={"interest_rate": rate}, discount_rate=rate)
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.summary["objective"] == pytest.approx(independent_capacity_lp(caps, 60.0, lifetime, rate), rel=1e-9)


def test_rolling_foresight_fixes_earlier_builds_and_charges_a_window_its_own_years(tmp_path):
    # Foresight of one year. The 2025 window sees only 2025, so a 2025 build costs it 30 a unit
    # (one year of charges): 30 t built, price 40, a point. The 2026 window finds that build in
    # service: one more allowance saves the operating 10, one fewer needs a 2026 build (30)
    # and 10. The final solve charges the build in both years: 1,800 of capital, 600 operating.
    path = case(tmp_path, [2025, 2026], [70.0, 70.0])
    path.write_text(path.read_text() + "\n[horizon]\nforesight_years = 1\n")
    result, capacity = solved(path, tmp_path)
    assert intervals(result) == pytest.approx([40.0, 40.0, 10.0, 40.0])
    assert capacity["built_t"].tolist() == pytest.approx([30.0, 0.0])
    assert result.summary["objective"] == pytest.approx(2400.0)


@pytest.mark.parametrize(("target", "price"), [("capex", lambda m: 10.0 + 10.0 * m), ("cost", lambda m: 20.0 * m)])
@pytest.mark.parametrize("lifetimes", [True, False])
def test_draws_scale_the_capital_charge(tmp_path, target, price, lifetimes):
    # One year, L = 5, capex 50: the plant, partly used, prices at its operating 10 plus its
    # charge 10. A capex factor m scales the charge alone (10 + 10 m); a cost factor scales both
    # (20 m). With lifetimes = false the charge sits in the annual step's cost, scaled the same.
    from optimodel.workflows.uncertainty import run_uncertainty

    path = case(tmp_path, [2025], [70.0], capex=50.0, lifetime=5, investment={"lifetimes": lifetimes})
    path.write_text(path.read_text().replace("[investment]", "[uncertainty]\ndraws = 12\nseed = 5\n"
                    f'factors = [{{ target = "{target}", distribution = "lognormal", sigma = 0.3 }}]\n\n[investment]'))
    draws = run_uncertainty(optimodel.load_scenario(path)).draws
    assert (draws["status"] == "optimal").all()
    assert draws["price"].to_numpy() == pytest.approx(np.array([price(m) for m in draws["factor_1"]]), rel=1e-9)


@pytest.mark.parametrize("lifetimes", [True, False])
def test_sweeps_move_interest_capex_and_build_limits_warm(tmp_path, lifetimes):
    # Each point, re-solved warm in the built LP, must equal the same scenario solved cold.
    from optimodel.workflows.sweep import parse_assignment, run_sweep, sweep_points

    path = case(tmp_path, [2025, 2026, 2027], [80.0, 60.0, 50.0], max_build=40.0, discount_rate=0.05,
                investment={"lifetimes": lifetimes})
    assignments = [parse_assignment("investment.interest_rate=0.0,0.1"), parse_assignment("investment.capex_multiplier=1,2.5"),
                   parse_assignment("investment.max_build_multiplier=1,0.5")]
    sweep = run_sweep(path, assignments)
    scenarios = {point.run: point.scenario for point in sweep_points(optimodel.load_scenario(path), assignments)}
    assert len(sweep.points) == 8 and all(point.warm for point in sweep.points[1:])
    for point in sweep.points:
        cold = optimodel.solve(scenarios[point.run])
        assert point.result.summary["objective"] == pytest.approx(cold.summary["objective"], rel=1e-9)
        for column in ("price_low", "price_high"):
            assert point.result.prices[column].to_numpy() == pytest.approx(cold.prices[column].to_numpy(), rel=1e-9)


def test_the_report_draws_builds_and_capacity_in_service(tmp_path):
    from optimodel.workflows.report import write_report

    _, capacity = solved(case(tmp_path, [2025, 2026, 2027], [70.0, 70.0, 70.0]), tmp_path)
    page = write_report(tmp_path / "run", tmp_path / "report.html").read_text()
    assert "Abatement capacity: built each year" in page
    assert "plant (CO2): in service" in page and "plant (CO2): built" in page


ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_capacity_options_are_the_default_options_converted():
    from optimodel.datasets.capacity import CONVERSION_RATE, HEAVY, annuity_factor, with_capacity

    folder = ROOT / "optimodel" / "datasets" / "default"
    options, firms = pd.read_parquet(folder / "options.parquet"), pd.read_parquet(folder / "firms.parquet")
    shipped = pd.read_parquet(folder / "options-capacity.parquet")
    pd.testing.assert_frame_equal(shipped, with_capacity(options, firms))
    # Each converted row's operating cost plus the annuity of its capex is the levelised cost it had.
    converted = shipped["lifetime_years"].notna().to_numpy()
    assert converted.any() and set(shipped.loc[converted, "option"]) == {option for _, option in HEAVY}
    lifetimes = shipped["lifetime_years"].astype(float).to_numpy()
    factor = np.array([annuity_factor(CONVERSION_RATE, life) if converted_row else 0.0 for life, converted_row in zip(lifetimes, converted)])
    charge = np.nan_to_num(shipped["capex_per_t"].to_numpy(dtype=float)) * factor
    assert shipped["cost_per_t"].to_numpy() + charge == pytest.approx(options["cost_per_t"].to_numpy(), rel=1e-12, abs=1e-9)
    assert annual_charge(np.array([1.0]), CONVERSION_RATE, np.array([25]))[0] == pytest.approx(annuity_factor(CONVERSION_RATE, 25))


def test_the_annual_menu_of_the_capacity_dataset_prices_as_the_default():
    # capacity-annual.toml charges each capacity option its levelised cost at the rate the
    # dataset was split at: the default's own costs, so its prices and objective.
    default = optimodel.solve(optimodel.load_scenario(ROOT / "scenarios" / "expansion.toml"))
    annual = optimodel.solve(optimodel.load_scenario(ROOT / "scenarios" / "capacity-annual.toml"))
    assert annual.prices["price"].to_numpy() == pytest.approx(default.prices["price"].to_numpy(), rel=1e-9)
    assert annual.summary["objective"] == pytest.approx(default.summary["objective"], rel=1e-9)
