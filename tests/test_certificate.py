"""The certificate refuses solutions that are not what HiGHS claims."""

from __future__ import annotations

import copy

import pytest

import optimodel
from optimodel.api import result_for
from optimodel.data import load_data
from optimodel.model import build_model
from optimodel.solve import compile_model, solve_lp


@pytest.fixture
def solved(examples):
    scenario = optimodel.load_scenario(examples / "two-firms.toml")
    data = load_data(scenario)
    compiled = compile_model(build_model(data, scenario))
    return scenario, data, compiled, solve_lp(compiled, scenario)


def test_a_sound_solution_passes_and_records_its_residuals(solved):
    result = result_for(*solved)
    checks = result.summary["checks"]
    assert checks["max_row_violation"] <= 1e-9
    assert checks["objective_gap"] <= 1e-6
    assert checks["min_price"] >= 0.0


def test_an_infeasible_point_is_refused(solved):
    scenario, data, compiled, solution = solved
    broken = copy.deepcopy(solution)
    broken.col_value = broken.col_value * 0.5  # half the abatement: the caps are missed
    with pytest.raises(optimodel.SolverError, match="refusing to report"):
        result_for(scenario, data, compiled, broken)


def test_a_wrong_sign_dual_is_refused(solved):
    scenario, data, compiled, solution = solved
    broken = copy.deepcopy(solution)
    row = compiled.rows["market_balance"][("national", 2025)]
    broken.row_dual[row] = 50.0
    broken.balance_low[("national", 2025)] = -50.0
    with pytest.raises(optimodel.SolverError, match="negative"):
        result_for(scenario, data, compiled, broken)


def test_an_objective_that_disagrees_with_the_costs_is_refused(solved):
    scenario, data, compiled, solution = solved
    broken = copy.deepcopy(solution)
    broken.objective += 100.0
    with pytest.raises(optimodel.SolverError, match="objective"):
        result_for(scenario, data, compiled, broken)


def test_a_price_on_a_slack_market_is_refused(tmp_path):
    from builders import one_sector_case

    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 30.0, 12.0)], cap=150.0)
    scenario = optimodel.load_scenario(path)
    data = load_data(scenario)
    compiled = compile_model(build_model(data, scenario))
    solution = solve_lp(compiled, scenario)
    solution.balance_low[("national", 2025)] = 7.0
    solution.balance_high[("national", 2025)] = 7.0
    with pytest.raises(optimodel.SolverError, match="to spare"):
        result_for(scenario, data, compiled, solution)
