"""The market balance: one row per market and year, whose dual is the allowance price."""

from __future__ import annotations

import pyomo.core as pyo

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.registry import PolicyFamily


def add_market_balance(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""Verified emissions are covered by the allowances available in the market-year.

    .. math::

        E_{m,t} \le I_{m,t} + \sum_o u_{o,m,t} + b_{m,t^-} - b_{m,t} + z_{m,t} - w_{m,t}
        \qquad \forall (m,t) \in \text{market\_years}
        \quad (\le \text{cap} \leftrightarrow \text{allowance price } \pi_{m,t} \ge 0)

    Written with every variable on the left and the constants (caps, benchmark x output, baseline
    emissions) on the right, so that raising the right-hand side by one unit is one more
    allowance. HiGHS reports the row dual :math:`y_{m,t} \le 0` (the objective's change per unit
    of right-hand side, in first-year money); the price in money of year t is
    :math:`\pi_{m,t} = -y_{m,t} / \delta_t` (``solver.prices_from_duals``).
    Always declared: every scenario has at least one market-year.

    | symbol | component | source | unit |
    |---|---|---|---|
    | :math:`E_{m,t}` | ledger ``terms.emissions`` | ``add_abatement`` | scaled tCO2e |
    | :math:`I_{m,t}` | ledger ``terms.issued`` | ``add_allocation`` | scaled tCO2e |
    | :math:`u, b, z, w` | ledger ``terms.supply`` | ``add_offsets``, ``add_banking``, ``add_price_collar`` | scaled tCO2e |
    | :math:`\pi_{m,t}` | dual of ``market_balance[market, year]`` | prices.csv price | money/tCO2e |
    """
    terms = model.terms

    def market_balance_rule(model, market, year):
        key = (market, year)
        body = terms.expression([(1.0, "emissions", key), (-1.0, "issued", key), (-1.0, "supply", key)])
        right_hand_side = terms.right_hand_side(
            "market_balance", key, [(1.0, "issued", key), (1.0, "supply", key), (-1.0, "emissions", key)]
        )
        return body <= right_hand_side

    model.market_balance = pyo.Constraint(model.market_years, rule=market_balance_rule)


FAMILY = PolicyFamily(
    name="market_balance",
    title="Market balance",
    add=add_market_balance,
    rows=("market_balance",),
    closing=True,
    # None of its numbers is one a Monte Carlo draw scales (costs, baselines, offset quantities).
    draw_neutral=True,
)
