"""Edge cases of the solver layer, each hand-derived: a market row with no variable, a price
interval the solver cannot resolve, the diagnosis that does not finish, PDLP, and a warm sweep
that moves a row the compiler dropped."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from builders import one_sector_case, write_case

import optimodel
from optimodel.inputs.data import load_data
from optimodel.model import build_model
from optimodel.solver.compiler import compile_model
from optimodel.solver.diagnose import solve_elastic


def nothing_to_abate(folder, cap: float):
    """One firm of 100 t with no abatement option: the market row has no variable at all."""
    return write_case(
        folder,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": 2025, "gas": "CO2", "baseline_t": 100.0}],
        options=[{"firm_id": "A", "option": "none", "potential_t": 0.0, "cost_per_t": 1.0, "year": 2030}],
        scenario={"years": [2025], "sectors": {"power": {"cap_tco2e": {"2025": cap}}}},
    )


def test_a_row_met_with_nothing_to_spare_has_an_infinite_price_high(tmp_path):
    # Cap 100 = baseline 100 and nothing can abate: one more allowance is worth nothing, one
    # fewer makes the scenario infeasible: the interval is [0, inf].
    prices = optimodel.solve(optimodel.load_scenario(nothing_to_abate(tmp_path / "tight", 100.0))).prices
    assert prices[["price", "price_low"]].iloc[0].tolist() == [0.0, 0.0]
    assert math.isinf(prices["price_high"].iloc[0])
    # Cap 120: 20 allowances to spare, [0, 0].
    prices = optimodel.solve(optimodel.load_scenario(nothing_to_abate(tmp_path / "loose", 120.0))).prices
    assert prices[["price", "price_low", "price_high"]].iloc[0].tolist() == [0.0, 0.0, 0.0]


def test_an_interval_the_solver_cannot_resolve_is_reported_as_a_bound(tmp_path):
    # Cap 50 ends the 50 t step at 10. One fewer allowance would first use a 1e-5 t step at 20,
    # closer to the cap than HiGHS's tolerance resolves (the probe floor is 10 x 1e-7 x 50), then
    # the step at 30: the exact interval is [10, 20]; the bound [10, 30] contains it, and a
    # warning says so.
    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 50.0, 10.0), ("A", 1e-5, 20.0), ("A", 40.0, 30.0)], cap=50.0)
    result = optimodel.solve(optimodel.load_scenario(path))
    row = result.prices.iloc[0]
    assert row["price_low"] == pytest.approx(10.0)
    assert row["price_high"] == pytest.approx(30.0)
    assert [warning["code"] for warning in result.summary["warnings"]] == ["price_interval_bound"]


class StoppedHighs:
    """A HiGHS instance that reports a time limit instead of its real status."""

    def __init__(self, highs) -> None:
        self._highs = highs

    def __getattr__(self, name):
        return getattr(self._highs, name)

    def getModelStatus(self):  # noqa: N802 - highspy's name
        import highspy

        return highspy.HighsModelStatus.kTimeLimit


def test_a_diagnosis_that_does_not_finish_is_an_error_not_no_shortfall(tmp_path, monkeypatch):
    import optimodel.solver.highs

    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 30.0, 10.0)], cap=50.0)
    scenario = optimodel.load_scenario(path)
    compiled = compile_model(build_model(load_data(scenario), scenario))
    real = optimodel.solver.highs.quiet_highs
    monkeypatch.setattr(optimodel.solver.highs, "quiet_highs", lambda: StoppedHighs(real()))
    with pytest.raises(optimodel.SolverError, match="the shortfall diagnosis ended Time limit reached"):
        solve_elastic(compiled, scenario)


def test_pdlp_reports_primal_duals_and_objective_of_one_solve(examples, tmp_path):
    text = (examples / "two-firms.toml").read_text().replace('gwp = "AR5"', 'gwp = "AR5"\n[solver]\nmethod = "pdlp"')
    text = text.replace('firms = "data/', f'firms = "{examples}/data/').replace('emissions = "data/', f'emissions = "{examples}/data/')
    text = text.replace('options = "data/', f'options = "{examples}/data/')
    (tmp_path / "pdlp.toml").write_text(text)
    pdlp = optimodel.solve(optimodel.load_scenario(tmp_path / "pdlp.toml"))
    simplex = optimodel.solve(optimodel.load_scenario(examples / "two-firms.toml"))
    pd.testing.assert_frame_equal(pdlp.prices, simplex.prices)
    pd.testing.assert_frame_equal(pdlp.firms, simplex.firms)
    assert pdlp.summary["objective"] == simplex.summary["objective"]


def test_a_warm_sweep_moving_a_dropped_row_reports_infeasible(tmp_path):
    # The market row has no variable (nothing can abate), so the compiler drops it; a point
    # whose cap falls below the baseline is infeasible by 20 t, never "failed".
    from optimodel.workflows.sweep import parse_assignment, run_sweep

    path = nothing_to_abate(tmp_path, 100.0)
    sweep = run_sweep(path, [parse_assignment("sectors.power.cap_tco2e.2025=110,80")])
    status = {point.run: point.status for point in sweep.points}
    assert status == {"run-001": "optimal", "run-002": "infeasible"}
    assert "short by 20 tCO2e" in sweep.points[1].message
