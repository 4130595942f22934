"""The allowance reserve: price-triggered release tiers from a finite stock, and an intake.

China's "allowance reserve and market adjustment mechanism" (Opinions on deepening the ETS,
Aug 2025) has no published size or trigger. It is modelled the way California's price
containment reserve and RGGI's cost and emissions containment reserves work: rules on the price.
A quantity-triggered rule such as the EU Market Stability Reserve (intake of a share of the bank
above a threshold) does not fit a least-cost LP: the optimiser, which stands for every firm at
once, would keep the bank under the threshold to dodge the intake, which no market of price-taking
firms does. It is left out on purpose (``add_reserve``, docs/formulation.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.core as pyo

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.registry import DiagnosisBounds, PolicyFamily, SolvedModel, WarmMove, family_data

if TYPE_CHECKING:
    from optimodel.inputs.plausibility import InputWarning

RELEASE, INTAKE = "release", "intake"


@dataclass(frozen=True)
class ReserveData:
    """The reserve tiers of every market, one row per market, year, kind and tier (scaled)."""

    tiers: pd.DataFrame
    """market, year, kind ("release" or "intake"), tier (its position in the scenario list),
    trigger (money of the year) and quantity_scaled (the most per year, model units)."""
    stock_scaled: dict[str, float]
    """market -> stock at the start of the first modelled year, model units."""

    def triggers(self, kind: str) -> dict[tuple[str, int, int], float]:
        """(market, year, tier) -> trigger price (money of the year) of the tiers of ``kind``:
        the index of ``reserve_release`` or ``reserve_intake``."""
        chosen = self.tiers[self.tiers["kind"] == kind]
        return dict(zip(zip(chosen["market"], chosen["year"], chosen["tier"]), chosen["trigger"].tolist()))


def prepare_reserve(scenario: Scenario, data: ModelData) -> ReserveData:
    """The tiers of each market with a reserve, for every modelled year."""
    rows: list[tuple] = []
    stock: dict[str, float] = {}
    for market, policy in scenario.market_policies().items():
        reserve = policy.reserve
        if reserve is None or market not in data.markets:
            continue
        stock[market] = data.scaling.to_model(reserve.stock_tco2e)
        for kind, tiers in ((RELEASE, reserve.release), (INTAKE, reserve.intake)):
            for position, tier in enumerate(tiers):
                quantity = data.scaling.to_model(tier.quantity_tco2e)
                rows.extend((market, year, kind, position, tier.trigger(year), quantity) for year in data.years)
    columns = ["market", "year", "kind", "tier", "trigger", "quantity_scaled"]
    return ReserveData(pd.DataFrame(rows, columns=columns), stock)


def add_reserve(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""Releases from and intake into each market's allowance reserve, and its stock.

    .. math::

        0 \le r_{m,t,k} \le R_k \ \text{(cost } \delta_t P_{k,t} r_{m,t,k}\text{)}, \qquad
        0 \le q_{m,t,j} \le Q_j \ \text{(cost } -\delta_t P_{j,t} q_{m,t,j}\text{)}

        \sum_{\tau \le t} \Big( \sum_k r_{m,\tau,k} - \sum_j q_{m,\tau,j} \Big) \le S_m
        \qquad \forall (m,t) \in \text{reserve\_market\_years}
        \quad (\texttt{reserve\_stock\_limit} \leftrightarrow \lambda_{m,t} \ge 0)

        \sum_j q_{m,t,j} \le I_{m,t} \qquad (\texttt{reserve\_intake\_limit})

    A release :math:`r` adds to the market-year's supply (ledger ``terms.supply``) and is sold at
    its trigger :math:`P_{k,t}`; an intake :math:`q` withholds issued allowances into the stock.
    The stock at the end of year :math:`t` is :math:`S_m` plus the intake less the releases up to
    :math:`t`, never negative: ``reserve_stock_limit`` keeps the releases so far within the
    starting stock plus the intake so far. Its dual :math:`\lambda_{m,t}` (first-year money) is
    the scarcity value of one more allowance in the reserve through year :math:`t`. While tier
    :math:`k` is partly used the allowance price is :math:`\pi_{m,t} = P_{k,t} +
    \sum_{\tau \ge t} \lambda_{m,\tau} / \delta_t`: its trigger while the stock lasts, and above it
    when the stock binds later (then the price is set by the next step of the cost curve). A
    partly used intake tier prices the same way, :math:`\pi = P_{j,t} + \sum \lambda / \delta_t`,
    so where the stock binds the intake runs above its trigger (a warning,
    ``reserve_intake_above_trigger``): a withheld allowance is worth its trigger plus the value of
    the release it makes possible. Returns early when no market has a reserve.

    The triggers are prices, as in California's price containment reserve and RGGI's cost and
    emissions containment reserves. A quantity trigger on the bank, as in the EU Market Stability
    Reserve (intake of a share of the bank above a threshold), is not modelled: in a least-cost LP
    the optimiser, standing for every firm at once, would keep the bank just under the threshold
    to dodge the intake, which no market of price-taking firms does.

    | symbol | component | scenario | unit |
    |---|---|---|---|
    | :math:`r_{m,t,k}` | ``reserve_release[market, year, tier]`` | markets.M.reserve.release | scaled tCO2e |
    | :math:`q_{m,t,j}` | ``reserve_intake[market, year, tier]`` | markets.M.reserve.intake | scaled tCO2e |
    | :math:`R_k, Q_j` | upper bounds | release / intake quantity_tco2e | scaled tCO2e |
    | :math:`P_{k,t}, P_{j,t}` | objective coefficients | release / intake price | money/tCO2e |
    | :math:`S_m` | ``reserve_stock_limit`` right-hand side | markets.M.reserve.stock_tco2e | scaled tCO2e |
    | :math:`I_{m,t}` | ledger ``terms.issued`` | see ``add_allocation`` | scaled tCO2e |
    """
    reserve: ReserveData | None = family_data(FAMILY, scenario, data)
    if reserve is None or reserve.tiers.empty:
        return
    tiers = reserve.tiers
    discount = data.discount_by_year()
    terms = model.terms
    by_kind = {kind: tiers[tiers["kind"] == kind] for kind in (RELEASE, INTAKE)}
    keys = {kind: list(zip(table["market"], table["year"], table["tier"])) for kind, table in by_kind.items()}
    quantity = {kind: dict(zip(keys[kind], table["quantity_scaled"].tolist())) for kind, table in by_kind.items()}

    model.reserve_release_tiers = pyo.Set(initialize=keys[RELEASE], dimen=3, ordered=True)
    model.reserve_release = pyo.Var(
        model.reserve_release_tiers, bounds=lambda model, *key: (0.0, quantity[RELEASE][key])
    )
    model.reserve_intake_tiers = pyo.Set(initialize=keys[INTAKE], dimen=3, ordered=True)
    model.reserve_intake = pyo.Var(model.reserve_intake_tiers, bounds=lambda model, *key: (0.0, quantity[INTAKE][key]))
    variables = {RELEASE: model.reserve_release, INTAKE: model.reserve_intake}
    sign = {RELEASE: 1.0, INTAKE: -1.0}

    flows: dict[tuple[str, int], tuple[list[float], list]] = {}
    intakes: dict[tuple[str, int], list] = {}
    for kind, table in by_kind.items():
        triggers = table["trigger"].tolist()
        chosen = [variables[kind][key] for key in keys[kind]]
        for key, variable in zip(keys[kind], chosen):
            coefficients, flow = flows.setdefault((key[0], key[1]), ([], []))
            coefficients.append(sign[kind])
            flow.append(variable)
            terms.supply.add((key[0], key[1]), [sign[kind]], [variable])
            if kind == INTAKE:
                intakes.setdefault((key[0], key[1]), []).append(variable)
        terms.cost.add(
            None, [sign[kind] * trigger * discount[key[1]] for trigger, key in zip(triggers, keys[kind])], chosen
        )

    markets = [market for market in data.markets if market in reserve.stock_scaled]
    model.reserve_market_years = pyo.Set(initialize=[(market, year) for market in markets for year in data.years], ordered=True)

    def reserve_stock_limit_rule(model, market, year):
        coefficients: list[float] = []
        chosen: list = []
        for earlier in data.years[: data.years.index(year) + 1]:
            own = flows.get((market, earlier), ([], []))
            coefficients.extend(own[0])
            chosen.extend(own[1])
        if not chosen:
            return pyo.Constraint.Skip
        return terms.expression([], (coefficients, chosen)) <= reserve.stock_scaled[market]

    model.reserve_stock_limit = pyo.Constraint(model.reserve_market_years, rule=reserve_stock_limit_rule)

    model.reserve_intake_market_years = pyo.Set(initialize=list(intakes), ordered=True)

    def reserve_intake_limit_rule(model, market, year):
        key = (market, year)
        taken = intakes[key]
        right_hand_side = terms.right_hand_side("reserve_intake_limit", key, [(1.0, "issued", key)])
        return terms.expression([(-1.0, "issued", key)], ([1.0] * len(taken), taken)) <= right_hand_side

    model.reserve_intake_limit = pyo.Constraint(model.reserve_intake_market_years, rule=reserve_intake_limit_rule)


def _flows(solved: SolvedModel, component: str) -> np.ndarray:
    return solved.market_year_totals(component)


def _market_values(solved: SolvedModel) -> dict[str, np.ndarray]:
    reserve: ReserveData | None = family_data(FAMILY, solved.scenario, solved.data)
    released = _flows(solved, "reserve_release")
    intake = _flows(solved, "reserve_intake")
    revenue: dict[tuple[str, int], float] = {}
    if reserve is not None and not reserve.tiers.empty:
        trigger = reserve.triggers(RELEASE)
        for key, value in solved.values("reserve_release").items():
            revenue[(key[0], key[1])] = revenue.get((key[0], key[1]), 0.0) + trigger[key] * value
    stock = np.zeros(len(released))
    years = len(solved.data.years)
    for position, market in enumerate(solved.data.markets):
        if reserve is None or market not in reserve.stock_scaled:
            continue
        span = slice(position * years, (position + 1) * years)
        start = float(solved.data.scaling.from_model(reserve.stock_scaled[market]))
        # The stock never goes below 0; the solver may leave -1e-9.
        stock[span] = np.maximum(start + np.cumsum(intake[span] - released[span]), 0.0)
    return {
        "reserve_released_tco2e": released,
        "reserve_intake_tco2e": intake,
        "reserve_stock_end_tco2e": stock,
        "reserve_revenue": solved.market_year_array(revenue),
    }


def _reported_supply(markets: pd.DataFrame) -> pd.Series:
    return markets["reserve_released_tco2e"] - markets["reserve_intake_tco2e"]


def _reported_cost(solved: SolvedModel, result) -> float:
    """Releases cost their trigger; intake earns its trigger (the LP's valuation of withholding)."""
    reserve: ReserveData | None = family_data(FAMILY, solved.scenario, solved.data)
    if reserve is None or reserve.tiers.empty:
        return 0.0
    money = 0.0
    for kind, component, sign in ((RELEASE, "reserve_release", 1.0), (INTAKE, "reserve_intake", -1.0)):
        trigger = reserve.triggers(kind)
        for key, value in solved.values(component).items():
            money += sign * trigger[key] * solved.discount(key[1]) * value
    return money


def _diagnosis(data: ModelData, scenario: Scenario, bounds: DiagnosisBounds) -> None:
    """A year can draw at most its release tiers, and at most the stock plus every intake so far."""
    reserve: ReserveData | None = family_data(FAMILY, scenario, data)
    if reserve is None or reserve.tiers.empty:
        return
    # Each market-year's total release and intake capacity, summed once (not filtered per year).
    capacity = reserve.tiers.groupby(["market", "year", "kind"])["quantity_scaled"].sum()
    for market, stock in reserve.stock_scaled.items():
        taken_in = stock
        for year in data.years:
            taken_in += float(capacity.get((market, year, INTAKE), 0.0))
            bounds.add_extra((market, year), min(float(capacity.get((market, year, RELEASE), 0.0)), taken_in))


def _warm_mask(dump: dict) -> None:
    # Trigger prices are objective coefficients, tier sizes column bounds and the stock a
    # right-hand side: only how many tiers of each kind a market has is structure.
    for policy in dump["markets"].values():
        reserve = policy.get("reserve")
        if reserve is not None:
            reserve["stock_tco2e"] = None
            for kind in (RELEASE, INTAKE):
                reserve[kind] = len(reserve[kind])


def _warm_move(move: WarmMove) -> None:
    reserve: ReserveData | None = family_data(FAMILY, move.point, move.point_data)
    if reserve is None or reserve.tiers.empty:
        return
    discount = move.point_data.discount_by_year()
    tiers = reserve.tiers
    for kind, component, sign in ((RELEASE, "reserve_release", 1.0), (INTAKE, "reserve_intake", -1.0)):
        columns = move.compiled.columns.get(component, {})
        chosen = tiers[tiers["kind"] == kind]
        for market, year, tier, trigger, quantity in zip(
            chosen["market"], chosen["year"], chosen["tier"], chosen["trigger"], chosen["quantity_scaled"]
        ):
            column = columns[(market, year, tier)]
            move.cost[column] = sign * trigger * discount[year]
            move.col_upper[column] = quantity
    for (market, _), row in move.compiled.rows.get("reserve_stock_limit", {}).items():
        move.row_upper[row] = reserve.stock_scaled[market]


def _result_warnings(solved: SolvedModel, result) -> list[InputWarning]:
    """Intake while the price is above its trigger: the stock binds later (see ``add_reserve``)."""
    # Imported here: plausibility reads the model package, which registers this family.
    from optimodel.inputs.plausibility import InputWarning, WarningCode

    reserve: ReserveData | None = family_data(FAMILY, solved.scenario, solved.data)
    if reserve is None or reserve.tiers.empty:
        return []
    trigger = reserve.triggers(INTAKE)
    price = result.prices.set_index(["market", "year"])["price"]
    places = []
    for key, value in solved.values("reserve_intake").items():
        market_year = (key[0], key[1])
        if value > INTAKE_REPORTED_TCO2E and market_year in price.index and price[market_year] > trigger[key] * (1 + 1e-6) + 1e-6:
            places.append(f"{key[0]} {key[1]} (price {price[market_year]:.2f}, trigger {trigger[key]:g})")
    if not places:
        return []
    return [
        InputWarning(
            WarningCode.reserve_intake_above_trigger,
            "the reserve takes in allowances above its intake trigger in " + ", ".join(sorted(set(places)))
            + ": its stock binds later, so a withheld allowance is worth its trigger plus the release it makes possible",
        )
    ]


INTAKE_REPORTED_TCO2E = 1.0
"""Intake below one tonne is solver noise, not an intake to warn about."""


FAMILY = PolicyFamily(
    name="reserve",
    title="Allowance reserve",
    add=add_reserve,
    variables=("reserve_release", "reserve_intake"),
    rows=("reserve_stock_limit", "reserve_intake_limit"),
    prepare=prepare_reserve,
    market_values=_market_values,
    reported_supply=_reported_supply,
    reported_cost=_reported_cost,
    diagnosis=_diagnosis,
    warm_mask=_warm_mask,
    warm_move=_warm_move,
    result_warnings=_result_warnings,
    window_decided=("reserve_release", "reserve_intake"),
    # None of its numbers is one a Monte Carlo draw scales (costs, baselines, offset quantities).
    draw_neutral=True,
)
