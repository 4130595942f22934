"""Price collar: a ceiling (unlimited allowances at a price) and a floor (withheld allowances)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyomo.core as pyo
from pydantic import Field

from optimodel.errors import InputError
from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import MAX_PRICE, ClosedModel, Scenario
from optimodel.model.registry import DiagnosisBounds, PolicyFamily, PolicyLine, SolvedModel, WarmMove, share_at_prices


class CollarRules(ClosedModel):
    """The price collar: this family's keys in every ``[markets.NAME]`` table."""

    price_ceiling: float | None = Field(default=None, ge=0.0, le=MAX_PRICE, allow_inf_nan=False)
    """Unlimited extra allowances are sold at this price (money per tCO2e of the year)."""
    price_floor: float | None = Field(default=None, ge=0.0, le=MAX_PRICE, allow_inf_nan=False)
    """Issued allowances are withheld (up to all of them) while the price would fall below this."""


def _check(scenario: Scenario, file: str) -> None:
    for market, policy in scenario.markets.items():
        rules = policy.rules(CollarRules)
        if rules.price_floor is not None and rules.price_ceiling is not None and rules.price_floor > rules.price_ceiling:
            raise InputError("price_floor is above price_ceiling", file=file, key=f"markets.{market}.price_floor")


def add_price_collar(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""Ceiling sales and floor withholding per market-year.

    .. math::

        z_{m,t} \ge 0 \ \text{(cost } \delta_t P^{\max}_m z_{m,t}\text{)}, \qquad
        w_{m,t} \ge 0 \ \text{(cost } -\delta_t P^{\min}_m w_{m,t}\text{)}

        w_{m,t} \le I_{m,t} \qquad (\texttt{withholding\_limit})

    Ceiling sales :math:`z` add to the market-year's supply, so the allowance price never exceeds
    :math:`P^{\max}` and the scenario can no longer be infeasible. Withholding :math:`w` removes
    issued allowances: it pays while the price would fall below :math:`P^{\min}`, so the price
    never falls below the floor unless every issued allowance is withheld. Both enter the ledger
    ``terms.supply``. Returns early when no market has a ceiling or a floor.

    | symbol | component | scenario | unit |
    |---|---|---|---|
    | :math:`z_{m,t}` | ``ceiling_sales[market, year]`` | markets.M.price_ceiling | scaled tCO2e |
    | :math:`w_{m,t}` | ``withheld[market, year]`` | markets.M.price_floor | scaled tCO2e |
    | :math:`I_{m,t}` | ledger ``terms.issued`` | see ``add_allocation`` | scaled tCO2e |
    """
    policies = scenario.market_rules(CollarRules)
    discount = data.discount_by_year()
    ceiling = [(m, t) for m in data.markets if policies[m].price_ceiling is not None for t in data.years]
    floor = [(m, t) for m in data.markets if policies[m].price_floor is not None for t in data.years]
    if not ceiling and not floor:
        return
    terms = model.terms
    model.ceiling_market_years = pyo.Set(initialize=ceiling, ordered=True)
    model.ceiling_sales = pyo.Var(model.ceiling_market_years, domain=pyo.NonNegativeReals)
    for market, year in ceiling:
        terms.supply.add((market, year), [1.0], [model.ceiling_sales[market, year]])
        terms.cost.add(None, [(policies[market].price_ceiling or 0.0) * discount[year]], [model.ceiling_sales[market, year]])

    model.floor_market_years = pyo.Set(initialize=floor, ordered=True)
    model.withheld = pyo.Var(model.floor_market_years, domain=pyo.NonNegativeReals)
    for market, year in floor:
        terms.supply.add((market, year), [-1.0], [model.withheld[market, year]])
        terms.cost.add(None, [-(policies[market].price_floor or 0.0) * discount[year]], [model.withheld[market, year]])

    def withholding_limit_rule(model, market, year):
        key = (market, year)
        right_hand_side = terms.right_hand_side("withholding_limit", key, [(1.0, "issued", key)])
        return terms.expression([(-1.0, "issued", key)], ([1.0], [model.withheld[key]])) <= right_hand_side

    model.withholding_limit = pyo.Constraint(model.floor_market_years, rule=withholding_limit_rule)


def _market_values(solved: SolvedModel) -> dict[str, np.ndarray]:
    policies = solved.scenario.market_rules(CollarRules)
    ceiling = solved.market_year_totals("ceiling_sales")
    price = np.array([policies[market].price_ceiling or 0.0 for market in solved.data.markets for _ in solved.data.years])
    return {
        "ceiling_tco2e": ceiling,
        "withheld_tco2e": solved.market_year_totals("withheld"),
        "ceiling_revenue": ceiling * price,
    }


def _reported_supply(markets: pd.DataFrame) -> pd.Series:
    return markets["ceiling_tco2e"] - markets["withheld_tco2e"]


def _reported_cost(solved: SolvedModel, result) -> float:
    policies = solved.scenario.market_rules(CollarRules)
    money = 0.0
    for row in result.markets.itertuples(index=False):
        policy = policies[row.market]
        if policy.price_ceiling is not None:
            money += policy.price_ceiling * solved.discount(row.year) * row.ceiling_tco2e
        if policy.price_floor is not None:
            money -= policy.price_floor * solved.discount(row.year) * row.withheld_tco2e
    return money


def _diagnosis(data: ModelData, scenario: Scenario, bounds: DiagnosisBounds) -> None:
    """A ceiling sells without limit: its market is never short."""
    for market, policy in scenario.market_rules(CollarRules).items():
        if policy.price_ceiling is not None:
            for year in data.years:
                bounds.add_extra((market, year), math.inf)


def _warm_mask(dump: dict) -> None:
    # A collar price is an objective coefficient; whether a market has one is structure.
    for policy in dump["markets"].values():
        for name in ("price_ceiling", "price_floor"):
            policy[name] = policy[name] is not None


def _warm_move(move: WarmMove) -> None:
    discount = move.point_data.discount_by_year()
    policies = move.point.market_rules(CollarRules)
    for (market, year), column in move.compiled.columns.get("ceiling_sales", {}).items():
        move.cost[column] = (policies[market].price_ceiling or 0.0) * discount[year]
    for (market, year), column in move.compiled.columns.get("withheld", {}).items():
        move.cost[column] = -(policies[market].price_floor or 0.0) * discount[year]


def _draw_statistics(scenario: Scenario, market: str, year: int, prices: np.ndarray, draws: pd.DataFrame) -> dict[str, float]:
    """price_quantiles.csv ``p_at_ceiling``: the share of solved draws priced at the ceiling."""
    ceiling = scenario.market_policies()[market].rules(CollarRules).price_ceiling
    return {"p_at_ceiling": share_at_prices(prices, [ceiling] if ceiling is not None else [])}


def _policy_lines(scenario: Scenario, market: str, years: list[int]) -> list[PolicyLine]:
    """The market's price ceiling and floor (money of each year) on its price chart."""
    rules = scenario.market_rules(CollarRules).get(market)
    if rules is None:
        return []
    lines = []
    for name, level in (("price ceiling", rules.price_ceiling), ("price floor", rules.price_floor)):
        if level is not None:
            lines.append(PolicyLine(market, name, list(years), [float(level)] * len(years)))
    return lines


FAMILY = PolicyFamily(
    name="price_collar",
    title="Price collar",
    add=add_price_collar,
    variables=("ceiling_sales", "withheld"),
    rows=("withholding_limit",),
    market_values=_market_values,
    reported_supply=_reported_supply,
    reported_cost=_reported_cost,
    diagnosis=_diagnosis,
    warm_mask=_warm_mask,
    warm_move=_warm_move,
    market_rules=CollarRules,
    check=_check,
    draw_columns=("ceiling_tco2e",),
    revenue_columns={"ceiling_revenue": "ceiling sales"},
    draw_statistics=_draw_statistics,
    policy_lines=_policy_lines,
    # None of its numbers is one a Monte Carlo draw scales (costs, baselines, offset quantities).
    draw_neutral=True,
)
