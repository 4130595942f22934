"""Offsets (e.g. CCER): credit supply in price steps, and the usage limit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.core as pyo
from pydantic import Field, RootModel

from optimodel.errors import InputError
from optimodel.inputs.data import ModelData
from optimodel.inputs.plausibility import InputWarning, WarningCode
from optimodel.inputs.scenario import MAX_PRICE, MAX_SCENARIO_QUANTITY, ClosedModel, Scenario
from optimodel.model.registry import DiagnosisBounds, DrawMove, PolicyFamily, ScenarioSection, SolvedModel, family_data


class OffsetRules(ClosedModel):
    """Offsets: this family's key in every ``[markets.NAME]`` table."""

    offset_limit: float = Field(default=0.0, ge=0.0, le=1.0)
    """Offsets surrendered <= offset_limit x the market's verified emissions in that year."""


class OffsetStep(ClosedModel):
    """One step of offset credit (e.g. CCER) supply: a quantity available per year at a price."""

    quantity_tco2e: float = Field(ge=0.0, le=MAX_SCENARIO_QUANTITY, allow_inf_nan=False)
    """Credits available in each year the step applies to, tCO2e."""
    price: float = Field(ge=-MAX_PRICE, le=MAX_PRICE, allow_inf_nan=False)
    """Price of a credit, money per tCO2e of the year."""
    years: list[int] | None = None
    """Years the step is offered; default every scenario year."""
    markets: list[str] | None = None
    """Markets that may buy from this step (optional addition); default every market."""


class OffsetSupply(RootModel[list[OffsetStep]]):
    """The scenario's ``[[offsets]]``: offset credit supply steps."""


def offer_steps(scenario: Scenario) -> list[OffsetStep]:
    """The scenario's ``[[offsets]]`` steps (none when it gives none)."""
    supply = scenario.section(OffsetSupply)
    return list(supply.root) if supply is not None else []


@dataclass(frozen=True)
class OffsetData:
    """The offers: one row per supply step, market and modelled year it reaches."""

    steps: pd.DataFrame
    """step (position in ``[[offsets]]``), year and market (positions), quantity_scaled (model
    units), price (money per tCO2e of the year)."""


def prepare_offsets(scenario: Scenario, data: ModelData) -> OffsetData:
    """Each step offered to each market in each modelled year it covers."""
    rows = []
    for step_position, step in enumerate(offer_steps(scenario)):
        for year_position, year in enumerate(data.years):
            if step.years is not None and year not in step.years:
                continue
            for market_position, market in enumerate(data.markets):
                if step.markets is not None and market not in step.markets:
                    continue
                quantity = data.scaling.to_model(step.quantity_tco2e)
                rows.append((step_position, year_position, market_position, quantity, step.price))
    columns = {"step": np.int64, "year": np.int64, "market": np.int64, "quantity_scaled": float, "price": float}
    return OffsetData(pd.DataFrame(rows, columns=list(columns)).astype(columns))


def _offers(scenario: Scenario, data: ModelData) -> pd.DataFrame:
    return family_data(FAMILY, scenario, data).steps


def _check(scenario: Scenario, file: str) -> None:
    """Every market and year a step names exists."""
    market_names = set(scenario.market_policies())
    years = set(scenario.years)
    for index, step in enumerate(offer_steps(scenario)):
        for market in step.markets or []:
            if market not in market_names:
                raise InputError(f"unknown market {market!r}", file=file, key=f"offsets.{index}.markets")
        for year in step.years or []:
            if year not in years:
                raise InputError(f"year {year} is not a scenario year", file=file, key=f"offsets.{index}.years")


def _scenario_warnings(scenario: Scenario) -> list[InputWarning]:
    """A limit with nothing offered to use it, or offers no market may use."""
    found = []
    limits = {market: rules.offset_limit for market, rules in scenario.market_rules(OffsetRules).items()}
    offered = {market: False for market in limits}
    steps = offer_steps(scenario)
    for step in steps:
        if step.quantity_tco2e > 0:
            for market in step.markets or list(limits):
                offered[market] = True
    for market, limit in limits.items():
        if limit > 0 and not offered[market]:
            found.append(
                InputWarning(
                    WarningCode.offset_limit_without_offsets,
                    f"markets.{market}.offset_limit = {limit:g}, but no [[offsets]] supply is offered "
                    "to it: no offsets will be used",
                )
            )
    if steps and not any(offered[market] and limits[market] > 0 for market in limits):
        found.append(
            InputWarning(
                WarningCode.offsets_without_limit,
                "[[offsets]] are offered, but offset_limit is 0 in every market they are offered to: none can be surrendered",
            )
        )
    return found


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
    | :math:`U_{o,t}` | bound, ``offset_supply`` rhs | OffsetData.steps.quantity_scaled ([[offsets]] quantity_tco2e) | scaled tCO2e |
    | :math:`p_o` | objective coefficient | OffsetData.steps.price ([[offsets]] price) | money/tCO2e |
    | :math:`\ell_m` | ``offset_limit`` coefficient | markets.M.offset_limit | share |
    | :math:`E_{m,t}` | ledger ``terms.emissions`` | see ``add_abatement`` | scaled tCO2e |
    """
    policies = scenario.market_rules(OffsetRules)
    limited = {market for market in data.markets if policies[market].offset_limit > 0}
    offers = _offers(scenario, data)
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
    prices = [step.price for step in offer_steps(solved.scenario)]
    return sum(prices[step] * solved.discount(year) * value for (step, _, year), value in solved.values("offset_use").items())


def _diagnosis(data: ModelData, scenario: Scenario, bounds: DiagnosisBounds) -> None:
    """At most the credits offered, and at most offset_limit x the lowest reachable emissions."""
    offers = _offers(scenario, data).groupby(["market", "year"])["quantity_scaled"].sum()
    for (market, year), offer in offers.items():
        key = (data.markets[market], data.years[year])
        limit = scenario.market_policies()[key[0]].rules(OffsetRules).offset_limit
        if limit > 0:
            bounds.add_extra(key, min(float(offer), limit * bounds.lowest_emissions.get(key, 0.0)))


def _draw_move(move: DrawMove) -> None:
    """Every offset step's quantity times the offsets multiplier: the purchases' bounds and the
    shared steps' supply rows."""
    columns = np.fromiter(move.compiled.columns.get("offset_use", {}).values(), dtype=np.int64)
    rows = np.fromiter(move.compiled.rows.get("offset_supply", {}).values(), dtype=np.int64)
    move.col_upper[columns] = move.base_col_upper[columns] * move.offset_quantity
    move.row_upper[rows] = move.base_row_upper[rows] * move.offset_quantity


def _price_columns(prices: dict[str, float], row_prices: dict[str, float]) -> dict[str, float]:
    """``offset_spread``: the offset_limit dual in money of the year (the allowance price less what
    one more usable credit is worth), and ``offset_price`` = price - spread."""
    if "offset_limit" not in row_prices:
        return {}
    spread = row_prices["offset_limit"]
    return {"offset_price": prices["price"] - spread, "offset_spread": spread}


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
    section=ScenarioSection("offsets", OffsetSupply),
    market_rules=OffsetRules,
    prepare=prepare_offsets,
    check=_check,
    scenario_warnings=_scenario_warnings,
    price_rows=("offset_limit",),
    price_columns=_price_columns,
)
