"""Analytic instances for the market balance: hand-derived prices and intervals."""

from __future__ import annotations

import pytest
from builders import one_sector_case

import optimodel
from optimodel.inputs.data import load_data
from optimodel.model import build_model
from optimodel.solver.compiler import compile_model
from optimodel.solver.session import solve_lp


def price_table(result):
    return {(row.market, row.year): (row.price, row.price_low, row.price_high) for row in result.prices.itertuples()}


def test_two_firms_trading_across_sectors(examples):
    # Hand derivation in the header of scenarios/examples/two-firms.toml.
    result = optimodel.solve(optimodel.load_scenario(examples / "two-firms.toml"))
    prices = price_table(result)
    assert prices[("national", 2025)] == pytest.approx((50.0, 50.0, 50.0))
    low, high = prices[("national", 2026)][1:]
    assert (low, high) == pytest.approx((50.0, 80.0))
    assert low <= prices[("national", 2026)][0] <= high
    assert result.summary["objective"] == pytest.approx(1000.0 + 2000.0)
    firms = result.firms.set_index(["firm_id", "year"])
    assert firms.loc[("P1", 2025), "abatement_tco2e"] == pytest.approx(30.0)
    assert firms.loc[("S1", 2025), "abatement_tco2e"] == pytest.approx(10.0)
    # P1 sells 10 allowances in 2026 at the reported price: compliance = cost + price x net purchase.
    price_2026 = prices[("national", 2026)][0]
    assert firms.loc[("P1", 2026), "compliance_cost"] == pytest.approx(1700.0 - 10.0 * price_2026)


def test_separate_markets_give_separate_prices(examples):
    result = optimodel.solve(optimodel.load_scenario(examples / "two-firms-separate.toml"))
    prices = price_table(result)
    assert prices[("power", 2025)] == pytest.approx((50.0, 50.0, 50.0))
    assert prices[("steel", 2025)][1:] == pytest.approx((30.0, 80.0))
    assert prices[("power", 2026)] == pytest.approx((50.0, 50.0, 50.0))
    assert prices[("steel", 2026)] == pytest.approx((80.0, 80.0, 80.0))


def test_cap_on_step_boundary_gives_the_interval_between_steps(tmp_path):
    # 100 t baseline, cap 70: 30 t to abate = exactly the first step (30 t @ 12), next step @ 40.
    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 30.0, 12.0), ("A", 50.0, 40.0)], cap=70.0)
    prices = price_table(optimodel.solve(optimodel.load_scenario(path)))
    point, low, high = prices[("national", 2025)]
    assert (low, high) == pytest.approx((12.0, 40.0))
    assert low <= point <= high


def test_slack_cap_has_zero_price_and_zero_interval(tmp_path):
    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 30.0, 12.0)], cap=150.0)
    prices = price_table(optimodel.solve(optimodel.load_scenario(path)))
    assert prices[("national", 2025)] == pytest.approx((0.0, 0.0, 0.0))


def test_cap_at_full_abatement_has_infinite_price_high(tmp_path):
    # Cap 70 with 30 t of potential: one fewer allowance would be infeasible.
    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 30.0, 12.0)], cap=70.0)
    point, low, high = price_table(optimodel.solve(optimodel.load_scenario(path)))[("national", 2025)]
    assert low == pytest.approx(12.0)
    assert high == float("inf")


def test_no_regret_steps_are_taken_even_under_a_loose_cap(tmp_path):
    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 10.0, -5.0), ("A", 20.0, 30.0)], cap=200.0)
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.sectors["abatement_tco2e"].iloc[0] == pytest.approx(10.0)
    assert result.summary["objective"] == pytest.approx(-50.0)
    assert price_table(result)[("national", 2025)] == pytest.approx((0.0, 0.0, 0.0))


def test_dual_sign_convention(tmp_path):
    """HiGHS's dual of a market row is <= 0 and equals d(objective)/d(rhs): one more allowance
    (rhs + 1) lowers cost by the price. Checked against a re-solve with the cap moved."""
    base = one_sector_case(tmp_path / "base", {"A": 100.0}, [("A", 40.0, 25.0)], cap=80.0)
    moved = one_sector_case(tmp_path / "moved", {"A": 100.0}, [("A", 40.0, 25.0)], cap=81.0)
    scenario = optimodel.load_scenario(base)
    data = load_data(scenario)
    compiled = compile_model(build_model(data, scenario))
    solution = solve_lp(compiled, scenario)
    row = compiled.rows["market_balance"][("national", 2025)]
    assert solution.row_dual[row] == pytest.approx(-25.0)
    cheaper = optimodel.solve(optimodel.load_scenario(moved)).summary["objective"]
    expensive = optimodel.solve(scenario).summary["objective"]
    assert expensive - cheaper == pytest.approx(25.0)
    assert price_table(optimodel.solve(scenario))[("national", 2025)][0] == pytest.approx(25.0)


def test_baseline_limit_binds_when_options_overlap(tmp_path):
    # Two options of 80 t each on a 100 t baseline: at most 100 t can go. Cap 10 needs 90 t:
    # 80 t of the cheap option, 10 t of the dear one: price 60. Cap 0 would need 100: feasible
    # only to the baseline, and one fewer allowance is impossible.
    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 80.0, 20.0), ("A", 80.0, 60.0)], cap=10.0)
    result = optimodel.solve(optimodel.load_scenario(path))
    assert price_table(result)[("national", 2025)] == pytest.approx((60.0, 60.0, 60.0))
    assert result.firms["abatement_tco2e"].iloc[0] == pytest.approx(90.0)
    path = one_sector_case(tmp_path / "zero", {"A": 100.0}, [("A", 80.0, 20.0), ("A", 80.0, 60.0)], cap=0.0)
    point, low, high = price_table(optimodel.solve(optimodel.load_scenario(path)))[("national", 2025)]
    assert low == pytest.approx(60.0) and high == float("inf")
    assert optimodel.solve(optimodel.load_scenario(path)).firms["emissions_tco2e"].iloc[0] == pytest.approx(0.0)


def test_firms_outside_covered_sectors_are_left_out(tmp_path):
    from builders import write_case

    path = write_case(
        tmp_path,
        firms=[{"firm_id": "A", "sector": "power"}, {"firm_id": "X", "sector": "chemicals"}],
        emissions=[
            {"firm_id": "A", "year": 2025, "gas": "CO2", "baseline_t": 100},
            {"firm_id": "X", "year": 2025, "gas": "CO2", "baseline_t": 500},
        ],
        options=[{"firm_id": "A", "option": "e", "potential_t": 50, "cost_per_t": 10}],
        scenario={"years": [2025], "sectors": {"power": {"cap_tco2e": {"2025": 90}}}},
    )
    result = optimodel.solve(optimodel.load_scenario(path))
    assert list(result.firms["firm_id"]) == ["A"]
    assert result.markets["emissions_tco2e"].iloc[0] == pytest.approx(90.0)


@pytest.mark.parametrize("method", ["simplex", "ipm", "pdlp"])
def test_every_solver_method_gives_the_same_prices_and_intervals(examples, tmp_path, method):
    text = (examples / "two-firms.toml").read_text().replace('name = "two-firms"', f'name = "two-firms-{method}"')
    text = text.replace("data/", str(examples / "data") + "/") + f'\n[solver]\nmethod = "{method}"\n'
    path = tmp_path / "case.toml"
    path.write_text(text)
    prices = price_table(optimodel.solve(optimodel.load_scenario(path)))
    assert prices[("national", 2025)] == pytest.approx((50.0, 50.0, 50.0), abs=1e-6)
    assert prices[("national", 2026)][1:] == pytest.approx((50.0, 80.0), abs=1e-6)


def test_a_market_without_sectors_takes_the_rest(examples, tmp_path):
    # [markets.steel] names steel; [markets.rest] names nothing and so takes power: the same
    # split as two-firms-separate.toml, so the same prices.
    path = tmp_path / "case.toml"
    path.write_text(
        f'extends = "{examples / "two-firms.toml"}"\n[markets.steel]\nsectors = ["steel"]\n[markets.rest]\nbanking = false\n'
    )
    prices = price_table(optimodel.solve(optimodel.load_scenario(path)))
    assert prices[("rest", 2025)] == pytest.approx((50.0, 50.0, 50.0))
    assert prices[("steel", 2025)][1:] == pytest.approx((30.0, 80.0))
