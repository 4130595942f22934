"""The certificate refuses solutions that are not what HiGHS claims."""

from __future__ import annotations

import copy

import pytest

import optimodel
from optimodel.api import result_for
from optimodel.inputs.data import load_data
from optimodel.model import build_model
from optimodel.solver.compiler import compile_model
from optimodel.solver.session import solve_lp


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
    assert checks["max_balance_violation_tco2e"] <= 1e-9 and checks["max_slack_price"] == 0.0


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
    with pytest.raises(optimodel.SolverError, match=r"its dual 0 lies outside its interval \[7, 7\]"):
        result_for(scenario, data, compiled, solution)


# The certificate on what HiGHS returns: a wrapper corrupts the solver's own output, before any
# of optimodel's rounding, and the run must be refused (exit 1) with nothing written.


class CorruptedHighs:
    """A HiGHS instance whose getSolution() is corrupted by ``corrupt`` (every call, including
    the re-solves that measure price intervals)."""

    def __init__(self, highs, corrupt) -> None:
        self._highs = highs
        self._corrupt = corrupt

    def __getattr__(self, name):
        return getattr(self._highs, name)

    def getSolution(self):  # noqa: N802 - highspy's name
        solution = self._highs.getSolution()
        self._corrupt(solution)
        return solution


def flip_the_largest_dual(solution) -> None:
    duals = list(solution.row_dual)
    largest = max(range(len(duals)), key=lambda row: abs(duals[row]))
    duals[largest] = -duals[largest]
    solution.row_dual = duals


def perturb_a_primal_value(solution) -> None:
    values = list(solution.col_value)
    values[0] += 5.0
    solution.col_value = values


def swap_the_sign_convention(solution) -> None:
    solution.row_dual = [-value for value in solution.row_dual]
    solution.col_dual = [-value for value in solution.col_dual]


@pytest.mark.parametrize(
    "corrupt, expected",
    [
        (flip_the_largest_dual, "dual infeasible: market_balance[national, 2025] has a dual of the wrong sign"),
        (perturb_a_primal_value, "HiGHS reported the objective"),
        (swap_the_sign_convention, "dual infeasible"),
    ],
)
def test_a_corrupted_solver_output_is_refused(examples, tmp_path, monkeypatch, capsys, corrupt, expected):
    import optimodel.solver.highs
    from optimodel.cli import main

    real = optimodel.solver.highs.quiet_highs
    monkeypatch.setattr(optimodel.solver.highs, "quiet_highs", lambda: CorruptedHighs(real(), corrupt))
    out = tmp_path / "out"
    assert main(["solve", str(examples / "two-firms.toml"), "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: refusing to report: ") and "\n" not in error
    assert expected in error
    assert not out.exists()


def test_the_same_wrapper_without_corruption_passes(examples, tmp_path, monkeypatch):
    import optimodel.solver.highs
    from optimodel.cli import main

    real = optimodel.solver.highs.quiet_highs
    monkeypatch.setattr(optimodel.solver.highs, "quiet_highs", lambda: CorruptedHighs(real(), lambda solution: None))
    assert main(["-q", "solve", str(examples / "two-firms.toml"), "--out", str(tmp_path / "out")]) == 0


def test_a_raw_dual_outside_its_interval_is_refused_before_clamping(solved):
    # 2026 sits on a step: interval [50, 80]. A raw dual of -90 (price 90) used to be clamped
    # into the interval and reported as 80; now the certificate refuses it first.
    scenario, data, compiled, solution = solved
    broken = copy.deepcopy(solution)
    broken.row_dual[compiled.rows["market_balance"][("national", 2026)]] = -90.0
    with pytest.raises(optimodel.SolverError, match=r"its dual 90 lies outside its interval \[50, 80\]"):
        result_for(scenario, data, compiled, broken)


# verify(): each check on the result tables, triggered by a table changed after a sound solve.


def verified(solved, change) -> None:
    from optimodel.solver.certificate import verify

    scenario, data, compiled, solution = solved
    result = result_for(*solved)
    change(result)
    verify(scenario, data, compiled, solution, result)


def test_verify_refuses_a_market_table_short_of_allowances(solved):
    def short(result):
        result.markets.loc[0, "emissions_tco2e"] += 5.0

    with pytest.raises(optimodel.SolverError, match="a market balance is short by 5 tCO2e"):
        verified(solved, short)


def test_verify_refuses_a_price_where_allowances_are_spare(solved):
    # 2025 prices at 50 with its cap binding; 10 more issued allowances leave 10 to spare.
    def spare(result):
        result.markets.loc[0, "issued_tco2e"] += 10.0

    with pytest.raises(optimodel.SolverError, match="allowances to spare has price_low 50"):
        verified(solved, spare)


def test_verify_refuses_costs_that_do_not_add_up_to_the_objective(solved):
    # The worked example's objective is 1,000 + 2,000 = 3,000; one firm-year's cost is changed by 7.
    def dearer(result):
        result.firms.loc[0, "abatement_cost"] += 7.0

    with pytest.raises(optimodel.SolverError, match="differs from the sum of reported costs by 7"):
        verified(solved, dearer)
