"""Check a solution before reporting it: the certificate of optimality.

Two stages, both independent of HiGHS's own residuals.

``certify_lp`` runs on the solver's raw output, before any rounding or clamping, and recomputes
from the LP's matrices what "Optimal" claims:

- primal feasibility: every row (A x against its bounds) and every column bound;
- dual feasibility and complementary slackness: the row duals y have the sign their active bound
  allows (a <= row: y <= 0; a row with no active bound: y = 0), and the reduced costs
  d = c - A^T y have the sign the column's position allows (at its lower bound d >= 0, at its
  upper d <= 0, between them d = 0);
- strong duality: the primal objective c^T x equals the dual objective (the active bounds
  weighted by y and d), and HiGHS's reported objective equals c^T x;
- every market row's raw dual lies inside its measured price interval, and the interval is
  ordered and non-negative.

``verify`` then checks the result tables in the user's terms, summing what each registered
family reports (never naming one):

- the market balance as reported: emissions <= issued + what each family reports supplying
  (offsets, bank in - bank out, ceiling sales - withheld, ...);
- every reported price_low >= 0, and 0 where a market-year has allowances to spare;
- the objective equals the sum of each family's reported money (abatement, offsets, ceiling
  purchases minus floor withholding, ...), discounted.

A failed check raises ``SolverError`` (exit 1): optimodel refuses to report numbers it cannot
stand behind.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from optimodel.errors import SolverError
from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.build import FAMILIES
from optimodel.model.lp import CompiledLp, LpSolution
from optimodel.model.registry import SolvedModel
from optimodel.tolerances import CERTIFICATE as RELATIVE

SHOWN_PLACES = 3
"""How many offending rows or columns a refusal names."""


def _names(positions: Mapping[str, Mapping]) -> dict[int, str]:
    """Row or column position -> ``component[index]`` (for messages)."""
    named = {}
    for component, members in positions.items():
        for index, position in members.items():
            label = ", ".join(str(part) for part in index) if isinstance(index, tuple) else str(index)
            named[position] = f"{component}[{label}]"
    return named


def _worst(violation: np.ndarray, positions: Mapping[str, Mapping], what: str) -> str:
    """The rows or columns that violate most, named ``component[index]`` (names are made only
    when a check fails)."""
    names = _names(positions)
    order = np.argsort(-violation)[:SHOWN_PLACES]
    places = [names.get(int(position), f"{what} {int(position)}") for position in order if violation[position] > 0]
    return ", ".join(places)


def certify_lp(compiled: CompiledLp, solution: LpSolution) -> dict:
    """The raw certificate (see the module docstring): return the measured residuals for
    summary.json, or raise ``SolverError`` naming the worst rows or columns."""
    matrix = compiled.matrix
    x, y = np.asarray(solution.col_value, dtype=float), np.asarray(solution.row_dual, dtype=float)
    lower, upper = compiled.row_lower, compiled.row_upper
    col_lower, col_upper = compiled.col_lower, compiled.col_upper
    finite_rows = np.concatenate([np.abs(lower[np.isfinite(lower)]), np.abs(upper[np.isfinite(upper)])])
    primal_scale = max(1.0, float(finite_rows.max(initial=1.0)), float(np.abs(x).max(initial=1.0)))
    dual_scale = max(1.0, float(np.abs(compiled.cost).max(initial=1.0)), float(np.abs(y).max(initial=1.0)))
    primal_tolerance, dual_tolerance = RELATIVE * primal_scale, RELATIVE * dual_scale
    failures = []

    activity = matrix.dot(x) if len(y) else np.zeros(0)
    row_violation = np.maximum(np.maximum(activity - upper, lower - activity), 0.0)
    bound_violation = np.maximum(np.maximum(x - col_upper, col_lower - x), 0.0)
    if row_violation.max(initial=0.0) > primal_tolerance:
        failures.append(f"primal infeasible: {_worst(row_violation, compiled.rows, 'row')} violated by up to {row_violation.max():.3g}")
    if bound_violation.max(initial=0.0) > primal_tolerance:
        worst = _worst(bound_violation, compiled.columns, "column")
        failures.append(f"primal infeasible: {worst} outside its bounds by up to {bound_violation.max():.3g}")

    # A dual may be negative only where the upper bound is active, positive only where the
    # lower one is (minimisation; HiGHS: y = change of the objective per unit of the bound).
    at_upper = np.isfinite(upper) & (upper - activity <= primal_tolerance)
    at_lower = np.isfinite(lower) & (activity - lower <= primal_tolerance)
    row_dual_violation = np.where(at_upper, 0.0, np.maximum(-y, 0.0)) + np.where(at_lower, 0.0, np.maximum(y, 0.0))
    reduced = compiled.cost - (matrix.transpose_dot(y) if len(y) else 0.0)
    col_at_lower = np.isfinite(col_lower) & (x - col_lower <= primal_tolerance)
    col_at_upper = np.isfinite(col_upper) & (col_upper - x <= primal_tolerance)
    col_dual_violation = np.where(col_at_lower, 0.0, np.maximum(reduced, 0.0)) + np.where(col_at_upper, 0.0, np.maximum(-reduced, 0.0))
    if row_dual_violation.max(initial=0.0) > dual_tolerance:
        failures.append(
            f"dual infeasible: {_worst(row_dual_violation, compiled.rows, 'row')} has a dual of the wrong sign "
            f"(by up to {row_dual_violation.max():.3g})"
        )
    if col_dual_violation.max(initial=0.0) > dual_tolerance:
        failures.append(
            f"dual infeasible: {_worst(col_dual_violation, compiled.columns, 'column')} has a reduced cost of the wrong sign "
            f"(by up to {col_dual_violation.max():.3g})"
        )

    primal_objective = float(compiled.cost @ x) + compiled.offset
    row_bound = np.where(y < 0, upper, lower)
    col_bound = np.where(reduced < 0, col_upper, col_lower)
    finite_row, finite_col = np.isfinite(row_bound), np.isfinite(col_bound)
    dual_objective = (
        float(y[finite_row] @ row_bound[finite_row]) + float(reduced[finite_col] @ col_bound[finite_col]) + compiled.offset
    )
    objective_scale = max(1.0, abs(primal_objective))
    duality_gap = abs(primal_objective - dual_objective)
    reported_gap = abs(primal_objective - solution.objective)
    if duality_gap > RELATIVE * objective_scale:
        failures.append(f"no strong duality: primal objective {primal_objective:.10g}, dual objective {dual_objective:.10g}")
    if reported_gap > RELATIVE * objective_scale:
        failures.append(f"HiGHS reported the objective {solution.objective:.10g}, but c'x is {primal_objective:.10g}")

    for key, row in compiled.rows.get("market_balance", {}).items():
        if key not in solution.balance_low:
            continue
        low, high, point = solution.balance_low[key], solution.balance_high[key], -y[row]
        problem = ""
        if low < -dual_tolerance:
            problem = f"price_low {low:.6g} is negative"
        elif high < low - dual_tolerance:
            problem = f"price_high {high:.6g} is below price_low {low:.6g}"
        elif not low - dual_tolerance <= point <= high + dual_tolerance:
            problem = f"its dual {point:.6g} lies outside its interval [{low:.6g}, {high:.6g}]"
        if problem:
            failures.append(f"market_balance[{key[0]}, {key[1]}]: {problem} (first-year money)")
    if failures:
        raise SolverError("refusing to report: " + "; ".join(failures))
    return {
        "max_row_violation": float(row_violation.max(initial=0.0)),
        "max_bound_violation": float(bound_violation.max(initial=0.0)),
        "max_row_dual_violation": float(row_dual_violation.max(initial=0.0)),
        "max_reduced_cost_violation": float(col_dual_violation.max(initial=0.0)),
        "duality_gap": duality_gap,
    }


def verify(scenario: Scenario, data: ModelData, compiled: CompiledLp, solution: LpSolution, result) -> dict:
    """The checks on the result tables; return their measured residuals for summary.json, or
    raise. (The raw solution was certified by ``certify_lp`` before the tables were made.)"""
    checks = {
        "max_balance_violation_tco2e": _balance_violation(result),
        "max_slack_price": _slack_price(result),
        "objective_gap": _objective_gap(scenario, data, compiled, solution, result),
    }
    failures = []
    emissions = float(result.markets["emissions_tco2e"].abs().max()) if len(result.markets) else 1.0
    if checks["max_balance_violation_tco2e"] > RELATIVE * max(emissions, 1.0):
        failures.append(f"a market balance is short by {checks['max_balance_violation_tco2e']:.6g} tCO2e")
    # A negative price cannot reach here: certify_lp refuses a negative price_low on HiGHS's raw
    # output, before prices_from_duals rounds solver noise to 0.
    if checks["max_slack_price"] > RELATIVE * max(1.0, float(result.prices["price"].abs().max())):
        failures.append(f"a market with allowances to spare has price_low {checks['max_slack_price']:.6g}")
    if checks["objective_gap"] > RELATIVE * max(1.0, abs(float(result.summary.get("objective", 0.0)))):
        failures.append(f"the objective differs from the sum of reported costs by {checks['objective_gap']:.6g}")
    if failures:
        raise SolverError("refusing to report: " + "; ".join(failures))
    return checks


def _supply(markets):
    """Allowances available to each market-year, from the reported table: issued, plus what
    every registered family reports supplying (offsets, bank in - bank out, ceiling sales -
    withheld, ...)."""
    supply = markets["issued_tco2e"].astype(float)
    for family in FAMILIES:
        if family.reported_supply is not None:
            supply = supply + family.reported_supply(markets)
    return supply


def _balance_violation(result) -> float:
    markets = result.markets
    if markets.empty:
        return 0.0
    return float(max(0.0, (markets["emissions_tco2e"] - _supply(markets)).max()))


def _slack_price(result) -> float:
    """The largest price_low of a market-year whose balance has allowances to spare."""
    markets = result.markets
    if markets.empty:
        return 0.0
    spare = _supply(markets) - markets["emissions_tco2e"] > RELATIVE * markets["emissions_tco2e"].abs().clip(lower=1.0)
    low = result.prices.set_index(["market", "year"])["price_low"]
    keys = list(zip(markets["market"], markets["year"]))
    values = [low[key] for key, free in zip(keys, spare) if free]
    return float(max(values, default=0.0))


def _objective_gap(scenario: Scenario, data: ModelData, compiled: CompiledLp, solution: LpSolution, result) -> float:
    """|objective - the sum of every registered family's reported, discounted money|."""
    solved = SolvedModel(scenario, data, compiled, solution)
    reported = sum(family.reported_cost(solved, result) for family in FAMILIES if family.reported_cost is not None)
    return abs(reported - float(result.summary["objective"]))
