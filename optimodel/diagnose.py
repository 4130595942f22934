"""Infeasibility in policy terms: which market-years lack allowances, and by how much."""

from __future__ import annotations

import pyomo.environ as pyo

from .data import ModelData
from .errors import InfeasibleError, Shortfall
from .scenario import Scenario
from .solve import CompiledLp, ConstantRowInfeasible, compile_model, solve_elastic


def constant_shortfalls(model: pyo.ConcreteModel) -> dict[tuple[str, int], float]:
    """Market rows with no variable at all (nothing to abate, no instrument) whose baseline
    emissions exceed the allowances issued: shortfall in model units."""
    shortfalls = {}
    for key, row in model.market_balance.items():
        if row.body.nargs() == 0 and row.upper is not None and pyo.value(row.upper) < 0:
            shortfalls[key] = -pyo.value(row.upper)
    return shortfalls


def diagnose_infeasible(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> InfeasibleError:
    """Every market-year short of allowances, with the least total shortfall in tCO2e.

    Rows with nothing in them are read off directly; for the rest the market rows are made
    elastic (each may be exceeded at unit cost) and the least total excess is found by HiGHS.
    With banking or borrowing the total is exact; how it is spread over linked years is one of
    the least-shortfall answers.
    """
    shortfalls = constant_shortfalls(model)
    for key in shortfalls:
        model.market_balance[key].deactivate()
    try:
        compiled = compile_model(model)
    except ConstantRowInfeasible:
        compiled = None
    finally:
        for key in shortfalls:
            model.market_balance[key].activate()
    if compiled is not None:
        shortfalls.update(solve_elastic(compiled, scenario))
    return shortfall_error(shortfalls, data)


def infeasible_lp_error(compiled: CompiledLp, data: ModelData, scenario: Scenario) -> InfeasibleError:
    """The same diagnosis on an already compiled LP (e.g. one whose caps a sweep has moved)."""
    return shortfall_error(solve_elastic(compiled, scenario), data)


def shortfall_error(shortfalls: dict[tuple[str, int], float], data: ModelData) -> InfeasibleError:
    order = {market: position for position, market in enumerate(data.markets)}
    listed = [
        Shortfall(market, year, float(data.scaling.from_model(value)))
        for (market, year), value in sorted(shortfalls.items(), key=lambda item: (order[item[0][0]], item[0][1]))
    ]
    return InfeasibleError(listed)
