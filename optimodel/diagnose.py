"""Infeasibility in policy terms: which market-years lack allowances, and by how much."""

from __future__ import annotations

import math

import pyomo.core as pyo

from .data import ModelData
from .errors import InfeasibleError, Shortfall
from .model.build import FAMILIES
from .model.registry import DiagnosisBounds
from .scenario import Scenario
from .solver import CompiledLp, ConstantRowInfeasible, compile_model, solve_elastic
from .tolerances import SHORTFALL_ROUNDING


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
