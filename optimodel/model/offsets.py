"""Offsets (e.g. CCER): credit supply in price steps, and the usage limit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.core as pyo

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.registry import DiagnosisBounds, DrawMove, PolicyFamily, SolvedModel


def add_offsets(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""Offset credits bought by each market from each supply step, and the limit on using them.

    .. math::

        0 \le u_{o,m,t} \le U_{o,t}

        \sum_{m} u_{o,m,t} \le U_{o,t} \qquad \forall (o,t) \text{ shared by several markets}
        \quad (\texttt{offset\_supply})

        \sum_{o} u_{o,m,t} \le \ell_m E_{m,t} \qquad \forall (m,t),\ \ell_m > 0
        \quad (\texttt{offset\_limit} \leftrightarrow \mu_{m,t} \ge 0)

    Credits join the market-year's supply (ledger ``terms.supply``) and cost
    :math:`\delta_t p_o u_{o,m,t}`. The ``offset_limit`` dual :math:`\mu_{m,t}` is the spread
    between the allowance price and the offset price while the limit binds; the offset price
    (what one more usable credit is worth) is :math:`\pi_{m,t} - \mu_{m,t}`. Only markets with
    ``offset_limit > 0`` may use offsets. Returns early when no offsets can be used.

    | symbol | component | data / scenario | unit |
    |---|---|---|---|
    | :math:`u_{o,m,t}` | ``offset_use[step, market, year]`` | | scaled tCO2e |
    | :math:`U_{o,t}` | bound, ``offset_supply`` rhs | offset_steps.quantity_scaled ([[offsets]] quantity_tco2e) | scaled tCO2e |
    | :math:`p_o` | objective coefficient | offset_steps.price ([[offsets]] price) | money/tCO2e |
    | :math:`\ell_m` | ``offset_limit`` coefficient | markets.M.offset_limit | share |
    | :math:`E_{m,t}` | ledger ``terms.emissions`` | see ``add_abatement`` | scaled tCO2e |
    """
    policies = scenario.market_policies()
    limited = {market for market in data.markets if policies[market].offset_limit > 0}
    offers = data.offset_steps
    offers = offers[[data.markets[market] in limited for market in offers["market"]]].reset_index(drop=True)
    if offers.empty:
        return
    years, markets = data.years, data.markets
    purchases = [
        (int(step), markets[market], years[year])
        for step, market, year in zip(offers["step"], offers["market"], offers["year"])
    ]
    quantity = dict(zip(purchases, offers["quantity_scaled"].tolist()))
    model.offset_purchases = pyo.Set(initialize=purchases, dimen=3, ordered=True)
    model.offset_use = pyo.Var(model.offset_purchases, bounds=lambda model, *purchase: (0.0, quantity[purchase]))

    by_market_year: dict[tuple[str, int], list] = {}
    by_step_year: dict[tuple[int, int], list] = {}
    for purchase in purchases:
        step, market, year = purchase
        by_market_year.setdefault((market, year), []).append(purchase)
        by_step_year.setdefault((step, year), []).append(purchase)
    for key, members in by_market_year.items():
        model.terms.supply.add(key, [1.0] * len(members), [model.offset_use[p] for p in members])
    discount = data.discount_by_year()
    model.terms.cost.add(
        None,
        [price * discount[purchase[2]] for price, purchase in zip(offers["price"].tolist(), purchases)],
        [model.offset_use[p] for p in purchases],
    )

    shared = {key: purchases for key, purchases in by_step_year.items() if len(purchases) > 1}
    model.offset_step_years = pyo.Set(initialize=sorted(shared), ordered=True)
    model.offset_supply = pyo.Constraint(
        model.offset_step_years,
        rule=lambda model, step, year: sum(model.offset_use[p] for p in shared[(step, year)])
        <= quantity[shared[(step, year)][0]],
    )

    model.offset_market_years = pyo.Set(initialize=sorted(by_market_year, key=lambda key: (markets.index(key[0]), key[1])), ordered=True)

    def offset_limit_rule(model, market, year):
        share = policies[market].offset_limit
        used = [model.offset_use[p] for p in by_market_year[(market, year)]]
        right_hand_side = model.terms.right_hand_side("offset_limit", (market, year), [(share, "emissions", (market, year))])
        return model.terms.expression([(-share, "emissions", (market, year))], ([1.0] * len(used), used)) <= right_hand_side

    model.offset_limit = pyo.Constraint(model.offset_market_years, rule=offset_limit_rule)


def _market_values(solved: SolvedModel) -> dict[str, np.ndarray]:
    return {"offsets_tco2e": solved.market_year_totals("offset_use", market=1, year=2)}


def _reported_supply(markets: pd.DataFrame) -> pd.Series:
    return markets["offsets_tco2e"]


def _reported_cost(solved: SolvedModel, result) -> float:
    prices = [step.price for step in solved.scenario.offsets]
    return sum(prices[step] * solved.discount(year) * value for (step, _, year), value in solved.values("offset_use").items())


def _diagnosis(data: ModelData, scenario: Scenario, bounds: DiagnosisBounds) -> None:
    """At most the credits offered, and at most offset_limit x the lowest reachable emissions."""
    offers = data.offset_steps.groupby(["market", "year"])["quantity_scaled"].sum()
    for (market, year), offer in offers.items():
        key = (data.markets[market], data.years[year])
        limit = scenario.market_policies()[key[0]].offset_limit
        if limit > 0:
            bounds.add_extra(key, min(float(offer), limit * bounds.lowest_emissions.get(key, 0.0)))


def _draw_move(move: DrawMove) -> None:
    """Every offset step's quantity times the offsets multiplier: the purchases' bounds and the
    shared steps' supply rows."""
    columns = np.fromiter(move.compiled.columns.get("offset_use", {}).values(), dtype=np.int64)
    rows = np.fromiter(move.compiled.rows.get("offset_supply", {}).values(), dtype=np.int64)
    move.col_upper[columns] = move.base_col_upper[columns] * move.offset_quantity
    move.row_upper[rows] = move.base_row_upper[rows] * move.offset_quantity


FAMILY = PolicyFamily(
    name="offsets",
    title="Offsets",
    add=add_offsets,
    variables=("offset_use",),
    rows=("offset_supply", "offset_limit"),
    market_values=_market_values,
    reported_supply=_reported_supply,
    reported_cost=_reported_cost,
    diagnosis=_diagnosis,
    draw_move=_draw_move,
)
