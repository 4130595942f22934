"""Check a solution before reporting it: the certificate of optimality in the user's terms.

HiGHS says Optimal; these checks recompute what that claims from the LP's own matrices and the
result tables, independently of HiGHS's reported residuals:

- primal feasibility: every row (A x against its bounds) and every column bound, and the market
  balance as reported (emissions <= issued + offsets + bank in - bank out + ceiling - withheld);
- dual sign: every market price >= 0 (a cap row's dual cannot be positive);
- complementary slackness: a market-year with allowances to spare has price_low = 0;
- the objective equals the sum of the reported costs (abatement, offsets, ceiling purchases,
  minus floor withholding), discounted.

A failed check raises ``SolverError`` (exit 1): optimodel refuses to report numbers it cannot
stand behind.
"""

from __future__ import annotations

import numpy as np

from .data import ModelData
from .errors import SolverError
from .scenario import Scenario
from .solve import CompiledLp, LpSolution

RELATIVE = 1e-6
"""Residuals are compared with this share of the quantity they belong to."""


def verify(scenario: Scenario, data: ModelData, compiled: CompiledLp, solution: LpSolution, result) -> dict:
    """Run every check; return their measured residuals for summary.json, or raise."""
    checks = {
        "max_row_violation": _row_violation(compiled, solution),
        "max_bound_violation": _bound_violation(compiled, solution),
        "max_balance_violation_tco2e": _balance_violation(result),
        "min_price": float(result.prices["price_low"].min()) if len(result.prices) else 0.0,
        "max_slack_price": _slack_price(result),
        "objective_gap": _objective_gap(scenario, data, compiled, solution, result),
    }
    scale = max(1.0, float(np.abs(compiled.row_upper[np.isfinite(compiled.row_upper)]).max(initial=1.0)))
    failures = []
    if checks["max_row_violation"] > RELATIVE * scale:
        failures.append(f"a row is violated by {checks['max_row_violation']:.3g} model units")
    if checks["max_bound_violation"] > RELATIVE * scale:
        failures.append(f"a variable is outside its bounds by {checks['max_bound_violation']:.3g} model units")
    emissions = float(result.markets["emissions_tco2e"].abs().max()) if len(result.markets) else 1.0
    if checks["max_balance_violation_tco2e"] > RELATIVE * max(emissions, 1.0):
        failures.append(f"a market balance is short by {checks['max_balance_violation_tco2e']:.6g} tCO2e")
    if checks["min_price"] < -RELATIVE * max(1.0, float(result.prices["price"].abs().max())):
        failures.append(f"a market price is negative ({checks['min_price']:.6g})")
    if checks["max_slack_price"] > RELATIVE * max(1.0, float(result.prices["price"].abs().max())):
        failures.append(f"a market with allowances to spare has price_low {checks['max_slack_price']:.6g}")
    if checks["objective_gap"] > RELATIVE * max(1.0, abs(float(result.summary.get("objective", 0.0)))):
        failures.append(f"the objective differs from the sum of reported costs by {checks['objective_gap']:.6g}")
    if failures:
        raise SolverError("refusing to report: " + "; ".join(failures))
    return checks


def _row_violation(compiled: CompiledLp, solution: LpSolution) -> float:
    if compiled.shape[0] == 0:
        return 0.0
    activity = compiled.matrix @ solution.col_value
    above = activity - compiled.row_upper
    below = compiled.row_lower - activity
    return float(max(0.0, np.max(above, initial=0.0), np.max(below, initial=0.0)))


def _bound_violation(compiled: CompiledLp, solution: LpSolution) -> float:
    x = solution.col_value
    return float(max(0.0, np.max(x - compiled.col_upper, initial=0.0), np.max(compiled.col_lower - x, initial=0.0)))


def _supply(markets):
    """Allowances available to each market-year, from the reported table: issued + offsets +
    ceiling sales - withheld + the bank carried in - the bank carried out."""
    carried_in = markets.groupby("market")["bank_end_tco2e"].shift(1).fillna(0.0)
    return (
        markets["issued_tco2e"] + markets["offsets_tco2e"] + markets["ceiling_tco2e"] - markets["withheld_tco2e"]
        - markets["bank_end_tco2e"] + carried_in
    )


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
    """|objective - sum of reported costs|, in money."""
    discount = dict(zip(data.years, data.discount.tolist()))
    firms = result.firms
    abatement = float((firms["abatement_cost"] * firms["year"].map(discount)).sum())
    policies = scenario.market_policies()
    offsets = 0.0
    offset_prices = [step.price for step in scenario.offsets]
    for (step, _, year), column in compiled.columns.get("offset_use", {}).items():
        offsets += offset_prices[step] * discount[year] * data.scaling.from_model(solution.col_value[column])
    markets = result.markets
    collar = 0.0
    for row in markets.itertuples(index=False):
        policy = policies[row.market]
        if policy.price_ceiling is not None:
            collar += policy.price_ceiling * discount[row.year] * row.ceiling_tco2e
        if policy.price_floor is not None:
            collar -= policy.price_floor * discount[row.year] * row.withheld_tco2e
    return abs(abatement + offsets + collar - float(result.summary["objective"]))
