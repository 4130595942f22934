"""Price collar: a ceiling (unlimited allowances at a price) and a floor (withheld allowances)."""

from __future__ import annotations

import pyomo.environ as pyo

from ..data import ModelData
from ..scenario import Scenario
from .terms import linear_expression


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
    policies = scenario.market_policies()
    discount = dict(zip(data.years, data.discount.tolist()))
    ceiling = [(m, t) for m in data.markets if policies[m].price_ceiling is not None for t in data.years]
    floor = [(m, t) for m in data.markets if policies[m].price_floor is not None for t in data.years]
    if not ceiling and not floor:
        return
    terms = model.terms
    model.ceiling_market_years = pyo.Set(initialize=ceiling, ordered=True)
    model.ceiling_sales = pyo.Var(model.ceiling_market_years, domain=pyo.NonNegativeReals)
    for market, year in ceiling:
        terms.supply.add((market, year), [1.0], [model.ceiling_sales[market, year]])
        terms.cost.add(None, [policies[market].price_ceiling * discount[year]], [model.ceiling_sales[market, year]])

    model.floor_market_years = pyo.Set(initialize=floor, ordered=True)
    model.withheld = pyo.Var(model.floor_market_years, domain=pyo.NonNegativeReals)
    for market, year in floor:
        terms.supply.add((market, year), [-1.0], [model.withheld[market, year]])
        terms.cost.add(None, [-policies[market].price_floor * discount[year]], [model.withheld[market, year]])

    def withholding_limit_rule(model, market, year):
        key = (market, year)
        return model.withheld[key] + linear_expression([(-1.0, terms.issued, key)]) <= terms.issued.constant(key)

    model.withholding_limit = pyo.Constraint(model.floor_market_years, rule=withholding_limit_rule)
