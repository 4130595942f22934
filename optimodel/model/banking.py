"""Banking and borrowing: allowances carried between consecutive scenario years."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.core as pyo

from ..data import ModelData
from ..scenario import Scenario
from .registry import DiagnosisBounds, PolicyFamily, SolvedModel


def add_banking(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""The bank of each market at the end of each modelled year, and the terminal conditions.

    .. math::

        b_{m,t} \ge 0 \ \text{unless borrowing}, \qquad b_{m,t} \le \bar b_{m,t} \ \text{if banking, else } 0

        -b_{m,t} \le \theta_m I_{m,t'} \qquad \forall (m,t) \in \text{borrowing\_market\_years}

        b_{m,T} \ge \underline{B} \ \text{(cost } -\delta_T V b_{m,T}\text{)}
        \qquad \text{for banking markets, when the horizon sets } V \text{ or } \underline{B}

    :math:`b_{m,t}` is carried from year :math:`t` to the next scenario year :math:`t'`: it leaves
    the supply of :math:`t` and joins the supply of :math:`t'` (ledger ``terms.supply``). A
    negative bank is borrowing; ``borrowing_limit`` keeps it within the share :math:`\theta_m` of
    the next year's issued allowances (its dual is the value of one more unit of borrowing room).
    With discounting, prices in money of their year then rise at the discount rate while the bank
    is positive (Hotelling), unless a bank limit :math:`\bar b_{m,t}` binds (the aggregate form of
    a per-firm carry-over limit): then the years on either side price apart. Without terminal conditions no bank leaves the last modelled year
    :math:`T`: allowances left then expire, so the whole price path hangs on the last year. With
    ``horizon.terminal_bank_value`` :math:`V` each allowance banked out of :math:`T` is worth
    :math:`V` (money of :math:`T`), so while that bank is positive the price of :math:`T` is
    :math:`V`; ``horizon.terminal_bank_min_tco2e`` :math:`\underline{B}` requires at least that
    bank. Returns early when no market banks or borrows.

    | symbol | component | data / scenario | unit |
    |---|---|---|---|
    | :math:`b_{m,t}` | ``bank[market, year]`` | markets.M.banking | scaled tCO2e |
    | :math:`\theta_m` | ``borrowing_limit`` coefficient | markets.M.borrowing | share |
    | :math:`I_{m,t'}` | ledger ``terms.issued`` | see ``add_allocation`` | scaled tCO2e |
    | :math:`\bar b_{m,t}` | upper bound of ``bank[market, year]`` | markets.M.bank_limit_tco2e (none: no bound) | scaled tCO2e |
    | :math:`V` | objective coefficient of ``bank[market, T]`` | horizon.terminal_bank_value | money/tCO2e |
    | :math:`\underline{B}` | lower bound of ``bank[market, T]`` | horizon.terminal_bank_min_tco2e | scaled tCO2e |
    """
    policies = scenario.market_policies()
    carrying = [market for market in data.markets if policies[market].banking or policies[market].borrowing > 0]
    horizon = scenario.horizon
    terminal = horizon.terminal_bank_value is not None or horizon.terminal_bank_min_tco2e is not None
    last = data.years[-1]
    ending = [market for market in carrying if policies[market].banking] if terminal else []
    if not carrying or (len(data.years) < 2 and not ending):
        return
    next_year = dict(zip(data.years[:-1], data.years[1:]))
    model.bank_market_years = pyo.Set(
        initialize=[(market, year) for market in carrying for year in data.years[:-1]] + [(market, last) for market in ending],
        ordered=True,
    )
    least = data.scaling.to_model(horizon.terminal_bank_min_tco2e or 0.0)

    def bank_bounds(model, market, year):
        if year == last:
            return (least, None)
        policy = policies[market]
        limit = policy.bank_limit(year)
        upper = (None if limit is None else data.scaling.to_model(limit)) if policy.banking else 0.0
        return (None if policy.borrowing > 0 else 0.0, upper)

    model.bank = pyo.Var(model.bank_market_years, bounds=bank_bounds)
    for market, year in model.bank_market_years:
        model.terms.supply.add((market, year), [-1.0], [model.bank[market, year]])
        if year != last:
            model.terms.supply.add((market, next_year[year]), [1.0], [model.bank[market, year]])
    if horizon.terminal_bank_value:
        value = -horizon.terminal_bank_value * float(data.discount[-1])
        model.terms.cost.add(None, [value] * len(ending), [model.bank[market, last] for market in ending])

    model.borrowing_market_years = pyo.Set(
        initialize=[key for key in model.bank_market_years if policies[key[0]].borrowing > 0], ordered=True
    )

    def borrowing_limit_rule(model, market, year):
        share, later = policies[market].borrowing, (market, next_year[year])
        right_hand_side = model.terms.right_hand_side("borrowing_limit", (market, year), [(share, "issued", later)])
        return model.terms.expression([(-share, "issued", later)], ([-1.0], [model.bank[market, year]])) <= right_hand_side

    model.borrowing_limit = pyo.Constraint(model.borrowing_market_years, rule=borrowing_limit_rule)


def _market_values(solved: SolvedModel) -> dict[str, np.ndarray]:
    return {"bank_end_tco2e": solved.market_year_totals("bank")}


def _reported_supply(markets: pd.DataFrame) -> pd.Series:
    """The bank carried in from the year before, less the bank carried out."""
    carried_in = markets.groupby("market")["bank_end_tco2e"].shift(1).fillna(0.0)
    return carried_in - markets["bank_end_tco2e"]


def _reported_cost(solved: SolvedModel, result) -> float:
    """The terminal bank's value, which the objective subtracts."""
    value = solved.scenario.horizon.terminal_bank_value
    if not value:
        return 0.0
    last = solved.data.years[-1]
    banked = sum(amount for (market, year), amount in solved.values("bank").items() if year == last)
    return -value * solved.discount(last) * banked


def _diagnosis(data: ModelData, scenario: Scenario, bounds: DiagnosisBounds) -> None:
    for market, policy in scenario.market_policies().items():
        bounds.carry[market] = (policy.banking, policy.borrowing)
        for year in data.years:
            limit = policy.bank_limit(year)
            if limit is not None:
                bounds.bank_limit[(market, year)] = data.scaling.to_model(limit)


FAMILY = PolicyFamily(
    name="banking",
    title="Banking and borrowing",
    add=add_banking,
    variables=("bank",),
    rows=("borrowing_limit",),
    market_values=_market_values,
    reported_supply=_reported_supply,
    reported_cost=_reported_cost,
    diagnosis=_diagnosis,
)
