"""Infeasibility in policy terms: which market-years lack allowances, and by how much."""

from __future__ import annotations

import math

import highspy
import numpy as np
import pyomo.core as pyo

from optimodel.errors import InfeasibleError, Shortfall, SolverError
from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.build import FAMILIES
from optimodel.model.lp import INFINITY, CompiledLp
from optimodel.model.registry import DiagnosisBounds
from optimodel.solver.compiler import ConstantRowInfeasible, compile_model
from optimodel.solver.highs import new_highs, run_highs
from optimodel.tolerances import SHORTFALL_ROUNDING, SOLVER_FEASIBILITY


def diagnosis_bounds(data: ModelData, scenario: Scenario) -> DiagnosisBounds:
    """What every registered family knows, before solving, about each market-year's emissions
    and supply (``registry.DiagnosisBounds``)."""
    bounds = DiagnosisBounds(lowest_emissions={}, most_issued={})
    for family in FAMILIES:
        if family.diagnosis is not None:
            family.diagnosis(data, scenario, bounds)
    return bounds


def presolve_shortfalls(data: ModelData, scenario: Scenario) -> dict[tuple[str, int], float]:
    """Market-years whose allowances cannot cover their lowest reachable emissions, found before
    any solve (model units).

    In each market, year by year: the lowest reachable emissions L against the most issued
    allowances I, the most every family can add (offsets, reserve releases, ...; infinite under a
    price ceiling), what earlier surpluses banked and what borrowing may bring from the next
    year's I. Every supply here is an upper bound, so a market-year named here cannot be
    feasible; HiGHS's proof and the elastic solve remain the final word.
    """
    bounds = diagnosis_bounds(data, scenario)
    shortfalls = {}
    for market in data.markets:
        banking, borrowing = bounds.carry.get(market, (False, 0.0))
        banked = owed = 0.0
        for position, year in enumerate(data.years):
            key = (market, year)
            lowest = bounds.lowest_emissions.get(key, 0.0)
            extra = bounds.extra_supply.get(key, 0.0)
            if math.isinf(extra):
                banked = owed = 0.0
                continue
            later = data.years[position + 1] if position + 1 < len(data.years) else None
            room = borrowing * bounds.most_issued.get((market, later), 0.0) if later is not None else 0.0
            need = lowest - extra - bounds.most_issued.get(key, 0.0) - banked + owed
            owed = min(max(need, 0.0), room)
            short = need - owed
            if short > SHORTFALL_ROUNDING * max(1.0, lowest):
                shortfalls[key] = short
            banked = min(max(-need, 0.0), bounds.bank_limit.get(key, math.inf)) if banking else 0.0
    return shortfalls


def constant_shortfalls(model: pyo.ConcreteModel) -> dict[tuple[str, int], float]:
    """Market rows with no variable at all (nothing to abate, no instrument) whose baseline
    emissions exceed the allowances issued: shortfall in model units."""
    shortfalls = {}
    for key, row in model.market_balance.items():
        empty = row.body.nargs() == 0 and not model.terms.block_parts_of(row.body)
        if empty and row.upper is not None and pyo.value(row.upper) < 0:
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


def solve_elastic(compiled: CompiledLp, scenario: Scenario) -> dict:
    """The least total shortfall: each market row may be exceeded at unit cost, nothing else
    costs anything. Returns {market-year: shortfall in model units} for rows that fall short."""
    rows = compiled.rows.get("market_balance", {})
    highs = new_highs(compiled, scenario)
    highs.setOptionValue("solver", "simplex")
    n_cols = compiled.shape[1]
    highs.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), np.zeros(n_cols))
    keys = list(rows)
    for key in keys:
        highs.addCol(1.0, 0.0, INFINITY, 1, np.array([rows[key]], dtype=np.int32), np.array([-1.0]))
    run_highs(highs)
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        # No number of allowances helps: a row of another family cannot be met.
        raise InfeasibleError([], detail=unmet_rows(compiled, scenario))
    if status != highspy.HighsModelStatus.kOptimal:
        # Never "no market-year is short": the diagnosis itself did not finish.
        raise SolverError(f"the scenario is infeasible, and the shortfall diagnosis ended {highs.modelStatusToString(status)}")
    values = highs.getSolution().col_value[n_cols:]
    return {key: value for key, value in zip(keys, values) if value > SOLVER_FEASIBILITY * max(1.0, abs(compiled.row_upper[rows[key]]))}


SHOWN_ROWS = 3
"""How many unmet rows an infeasibility names before it says "and N more"."""


def unmet_rows(compiled: CompiledLp, scenario: Scenario) -> str:
    """The rows that cannot be met even with unlimited allowances, named by component and index
    (``reserve_stock_limit['national']``): every row may be violated at unit cost, and the rows
    the least total violation needs are the ones at fault."""
    highs = new_highs(compiled, scenario)
    highs.setOptionValue("solver", "simplex")
    n_rows, n_cols = compiled.shape
    highs.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), np.zeros(n_cols))
    # Two elastic columns a row: one lets it go above its upper bound, one below its lower.
    for row in range(n_rows):
        for sign in (-1.0, 1.0):
            highs.addCol(1.0, 0.0, INFINITY, 1, np.array([row], dtype=np.int32), np.array([sign]))
    run_highs(highs)
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return "the rows at fault could not be found"
    violation = np.asarray(highs.getSolution().col_value[n_cols:]).reshape(n_rows, 2).sum(axis=1)
    names = {position: (name, index) for name, positions in compiled.rows.items() for index, position in positions.items()}
    # Each row's violation is judged against the size of its own finite bound.
    finite = np.where(np.isfinite(compiled.row_upper), np.abs(compiled.row_upper), 0.0)
    bound = np.maximum(finite, np.where(np.isfinite(compiled.row_lower), np.abs(compiled.row_lower), 0.0))
    unmet = [
        f"{names[row][0]}[{names[row][1]!r}] by {violation[row]:.6g}" if row in names else f"row {row} by {violation[row]:.6g}"
        for row in np.flatnonzero(violation > SOLVER_FEASIBILITY * np.maximum(1.0, bound))
    ]
    more = f" and {len(unmet) - SHOWN_ROWS} more" if len(unmet) > SHOWN_ROWS else ""
    return "cannot be met: " + ", ".join(unmet[:SHOWN_ROWS]) + more + " (model units)" if unmet else "the rows at fault could not be found"

