"""Infeasibility in policy terms: which market-years lack allowances, and by how much."""

from __future__ import annotations

import pyomo.environ as pyo

from .data import ModelData
from .errors import InfeasibleError, Shortfall
from .scenario import Scenario
from .tolerances import SHORTFALL_ROUNDING
from .solver import CompiledLp, ConstantRowInfeasible, compile_model, solve_elastic


def lowest_reachable_emissions(data: ModelData) -> dict[tuple[str, int], float]:
    """Each market-year's emissions with every option at full use (model units): per firm, gas
    and year the options abate at most the baseline."""
    steps = data.steps
    keys = ["firm", "gas", "year"]
    most = steps.groupby(keys)["potential_scaled"].sum().rename("most").reset_index()
    merged = data.baselines.merge(most, on=keys, how="left").fillna({"most": 0.0})
    merged["lowest"] = merged["baseline_scaled"] - merged[["most", "baseline_scaled"]].min(axis=1)
    merged["market"] = data.firms["market"].to_numpy()[merged["firm"].to_numpy()]
    totals = merged.groupby(["market", "year"])["lowest"].sum()
    return {
        (data.markets[market], data.years[year]): float(totals.get((market, year), 0.0))
        for market in range(len(data.markets))
        for year in range(len(data.years))
    }


def most_issued(data: ModelData) -> dict[tuple[str, int], float]:
    """Each market-year's issued allowances at their most (model units): caps, plus benchmark x
    output with no output given up."""
    from .model.allocation import benchmark_by_firm_year

    issued = {(market, year): 0.0 for market in data.markets for year in data.years}
    for row in data.sector_years[data.sector_years["cap_scaled"].notna()].itertuples(index=False):
        issued[(data.markets[row.market], data.years[row.year])] += row.cap_scaled
    benchmark = benchmark_by_firm_year(data)
    firm_market = data.firms["market"].to_numpy()
    for firm, year, output in zip(data.activity["firm"], data.activity["year"], data.activity["output"]):
        key = (data.markets[firm_market[firm]], data.years[year])
        issued[key] += data.scaling.to_model(benchmark[(int(firm), int(year))] * output)
    return issued


def presolve_shortfalls(data: ModelData, scenario: Scenario) -> dict[tuple[str, int], float]:
    """Market-years whose allowances cannot cover their lowest reachable emissions, found before
    any solve (model units).

    In each market, year by year: the lowest reachable emissions L, less the most offsets usable
    (the market's offer, at most offset_limit x L), against the most issued allowances I plus
    what earlier surpluses banked and what borrowing may bring from the next year's I. A market
    with a price ceiling is never short. Every supply here is an upper bound, so a market-year
    named here cannot be feasible; HiGHS's proof and the elastic solve remain the final word.
    """
    lowest = lowest_reachable_emissions(data)
    issued = most_issued(data)
    offers = data.offset_steps.groupby(["market", "year"])["quantity_scaled"].sum()
    shortfalls = {}
    for market_position, (market, policy) in enumerate(scenario.market_policies().items()):
        if policy.price_ceiling is not None:
            continue
        banked = owed = 0.0
        for year_position, year in enumerate(data.years):
            offer = float(offers.get((market_position, year_position), 0.0)) if policy.offset_limit > 0 else 0.0
            usable = min(offer, policy.offset_limit * lowest[(market, year)])
            later = data.years[year_position + 1] if year_position + 1 < len(data.years) else None
            room = policy.borrowing * issued[(market, later)] if later is not None else 0.0
            need = lowest[(market, year)] - usable - issued[(market, year)] - banked + owed
            owed = min(max(need, 0.0), room)
            short = need - owed
            if short > SHORTFALL_ROUNDING * max(1.0, lowest[(market, year)]):
                shortfalls[(market, year)] = short
            banked = max(-need, 0.0) if policy.banking else 0.0
    return shortfalls


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
