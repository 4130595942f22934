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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.core as pyo
from pydantic import Field, field_validator

from optimodel.errors import InputError
from optimodel.inputs.data import ModelData
from optimodel.inputs.plausibility import InputWarning, WarningCode, years_text
from optimodel.inputs.scenario import MAX_PRICE, MAX_SCENARIO_QUANTITY, ClosedModel, Scenario
from optimodel.model.collar import CollarRules
from optimodel.model.registry import DiagnosisBounds, PolicyFamily, PolicyLine, ReportContext, SolvedModel, WarmMove, family_data, share_at_prices

RELEASE, INTAKE = "release", "intake"


class ReserveTier(ClosedModel):
    """One tier of an allowance reserve: a yearly quantity at a trigger price."""

    price: float | dict[int, float]
    """Trigger price, money per tCO2e of the year: one number, or one per year (a year not given
    takes the nearest earlier year's price; the first scenario year must be given)."""
    quantity_tco2e: float = Field(ge=0.0, le=MAX_SCENARIO_QUANTITY, allow_inf_nan=False)
    """The most this tier releases (or takes in) each year, tCO2e."""

    @field_validator("price")
    @classmethod
    def _a_price(cls, price: float | dict[int, float]) -> float | dict[int, float]:
        for value in price.values() if isinstance(price, dict) else [price]:
            if not math.isfinite(value) or not 0.0 <= value <= MAX_PRICE:
                raise ValueError(f"a trigger price must be between 0 and {MAX_PRICE:g}, got {value}")
        return price

    def trigger(self, year: int) -> float:
        """The trigger price of ``year`` (money of that year)."""
        if not isinstance(self.price, dict):
            return self.price
        earlier = [given for given in self.price if given <= year]
        return self.price[max(earlier)] if earlier else self.price[min(self.price)]


class ReservePolicy(ClosedModel):
    """An allowance reserve with price triggers (contract section 9): a finite stock that releases
    allowances in tiers while the price reaches their triggers (a containment reserve), and an
    optional intake that withholds issued allowances into the stock while the price would fall
    below its triggers (an emissions containment reserve). The stock carries across years."""

    stock_tco2e: float = Field(default=0.0, ge=0.0, le=MAX_SCENARIO_QUANTITY, allow_inf_nan=False)
    """Allowances in the reserve at the start of the first modelled year, tCO2e."""
    release: list[ReserveTier] = Field(default_factory=list)
    """Release tiers: each year, up to quantity_tco2e sold at the tier's price."""
    intake: list[ReserveTier] = Field(default_factory=list)
    """Intake tiers: each year, up to quantity_tco2e of issued allowances withheld into the stock
    while the price would fall below the tier's price."""


class ReserveRules(ClosedModel):
    """The allowance reserve: this family's key in every ``[markets.NAME]`` table."""

    reserve: ReservePolicy | None = None
    """An allowance reserve with price-triggered release and intake tiers; default none."""


def _check(scenario: Scenario, file: str) -> None:
    for market, rules in scenario.market_rules(ReserveRules).items():
        if rules.reserve is not None:
            _check_reserve(rules.reserve, scenario, file, f"markets.{market}.reserve")


def _check_reserve(reserve: ReservePolicy, scenario: Scenario, file: str, key: str) -> None:
    """Trigger tables start by the first year, and no intake trigger reaches a release trigger
    (else the reserve would take in and release the same allowances in one year for a profit)."""
    first = scenario.years[0]
    for kind, tiers in (("release", reserve.release), ("intake", reserve.intake)):
        for index, tier in enumerate(tiers):
            if isinstance(tier.price, dict) and min(tier.price) > first:
                raise InputError(
                    f"a trigger table must give the first scenario year {first}", file=file, key=f"{key}.{kind}.{index}.price"
                )
    for year in scenario.modelled_years:
        for index, intake in enumerate(reserve.intake):
            for release in reserve.release:
                if intake.trigger(year) >= release.trigger(year):
                    raise InputError(
                        f"in {year} the intake trigger {intake.trigger(year):g} is not below the release trigger "
                        f"{release.trigger(year):g}",
                        file=file,
                        key=f"{key}.intake.{index}.price",
                    )


def _scenario_warnings(scenario: Scenario) -> list[InputWarning]:
    """Trigger tables with years the model never reaches, and release tiers that cannot act."""
    found = []
    modelled = set(scenario.modelled_years)
    for market, policy in scenario.markets.items():
        reserve = policy.rules(ReserveRules).reserve
        if reserve is None:
            continue
        for kind, tiers in (("release", reserve.release), ("intake", reserve.intake)):
            for index, tier in enumerate(tiers):
                outside = [year for year in tier.price if year not in modelled] if isinstance(tier.price, dict) else []
                if outside:
                    found.append(
                        InputWarning(
                            WarningCode.year_outside_years,
                            f"markets.{market}.reserve.{kind}.{index}.price has values for {years_text(outside)}, outside the "
                            "modelled years; they are ignored",
                        )
                    )
        if reserve.release and reserve.stock_tco2e == 0 and not reserve.intake:
            found.append(
                InputWarning(
                    WarningCode.reserve_cannot_act,
                    f"markets.{market}.reserve has release tiers but no stock_tco2e and no intake to fill it: it never releases",
                )
            )
        ceiling = policy.rules(CollarRules).price_ceiling
        if reserve.release and ceiling is not None and all(
            tier.trigger(year) >= ceiling for tier in reserve.release for year in scenario.modelled_years
        ):
            found.append(
                InputWarning(
                    WarningCode.reserve_cannot_act,
                    f"every release trigger of markets.{market}.reserve is at or above its price_ceiling ({ceiling:g}): "
                    "the ceiling sells first, so the reserve never releases",
                )
            )
    return found


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
    for market, rules in scenario.market_rules(ReserveRules).items():
        reserve = rules.reserve
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
RELEASED_TCO2E = 0.5
"""A release below half a tonne is solver noise."""


def _draw_statistics(scenario: Scenario, market: str, year: int, prices: np.ndarray, draws: pd.DataFrame) -> dict[str, float]:
    """price_quantiles.csv ``p_at_reserve_trigger`` (the share of solved draws priced at a
    release trigger) and ``p_reserve_release`` (the share in which the reserve releases)."""
    reserve = scenario.market_policies()[market].rules(ReserveRules).reserve
    triggers = [tier.trigger(year) for tier in reserve.release] if reserve is not None else []
    released = draws["reserve_released_tco2e"].to_numpy(dtype=float)
    return {
        "p_at_reserve_trigger": share_at_prices(prices, triggers),
        "p_reserve_release": float((released > RELEASED_TCO2E).mean()) if len(prices) else math.nan,
    }


RESERVE_COLUMNS = ("reserve_released_tco2e", "reserve_intake_tco2e", "reserve_stock_end_tco2e")


def _reserve_figure(markets: pd.DataFrame, context: ReportContext):
    """The reserve's stock at year end (line) and its yearly releases and intake (bars), Mt."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for market, table in markets.groupby("market", sort=False):
        colour = context.colour("market", market)
        figure.add_trace(go.Scatter(x=table["year"], y=table["reserve_stock_end_tco2e"] / 1e6, mode="lines+markers",
                                    name=f"{market}: stock at year end", line={"color": colour}))
        figure.add_trace(go.Bar(x=table["year"], y=table["reserve_released_tco2e"] / 1e6, name=f"{market}: released",
                                marker={"color": colour}, opacity=0.5))
        figure.add_trace(go.Bar(x=table["year"], y=-table["reserve_intake_tco2e"] / 1e6, name=f"{market}: taken in (negative)",
                                marker={"color": colour, "pattern": {"shape": "/"}}, opacity=0.5))
    figure.update_layout(title="Allowance reserve: stock, releases and intake", xaxis_title="year", yaxis_title="Mt CO2e",
                         barmode="relative")
    return figure




def _policy_lines(scenario: Scenario, market: str, years: list[int]) -> list[PolicyLine]:
    """Each release and intake tier's trigger price on the market's price chart."""
    policy = scenario.market_policies().get(market)
    reserve = policy.rules(ReserveRules).reserve if policy is not None else None
    if reserve is None:
        return []
    lines = []
    for kind, tiers in ((RELEASE, reserve.release), (INTAKE, reserve.intake)):
        for number, tier in enumerate(tiers, start=1):
            name = f"{kind} trigger" + (f" {number}" if len(tiers) > 1 else "")
            lines.append(PolicyLine(market, name, list(years), [float(tier.trigger(year)) for year in years]))
    return lines


def _report_figures(context: ReportContext) -> list:
    """The reserve's chart, when it released, took in or held anything."""
    markets = context.tables["markets"]
    if not all(column in markets.columns for column in RESERVE_COLUMNS) or markets[list(RESERVE_COLUMNS)].abs().to_numpy().sum() == 0:
        return []
    return [_reserve_figure(markets, context)]


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
    market_rules=ReserveRules,
    check=_check,
    draw_columns=("reserve_released_tco2e",),
    revenue_columns={"reserve_revenue": "reserve sales"},
    report_figures=_report_figures,
    policy_lines=_policy_lines,
    draw_statistics=_draw_statistics,
    scenario_warnings=_scenario_warnings,
    window_decided=("reserve_release", "reserve_intake"),
    # None of its numbers is one a Monte Carlo draw scales (costs, baselines, offset quantities).
    draw_neutral=True,
)
