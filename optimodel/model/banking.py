"""Banking and borrowing: allowances carried between consecutive scenario years."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyomo.core as pyo
from pydantic import Field, field_validator

from optimodel.errors import InputError
from optimodel.inputs.data import ModelData
from optimodel.inputs.plausibility import InputWarning, WarningCode, years_text
from optimodel.inputs.scenario import MAX_SCENARIO_QUANTITY, ClosedModel, Scenario
from optimodel.model.registry import DiagnosisBounds, PolicyFamily, PolicyLine, ReportContext, SolvedModel, WarmMove

CARRY_OVER_BASE_TCO2E = 10_000.0
"""Per-firm allowance of the 2023-24 carry-over rule (MEE plan of 15 Oct 2024)."""
CARRY_OVER_SALES_MULTIPLE = 1.5
"""Multiple of a firm's net allowance sales it may carry over under that rule."""


class BankingRules(ClosedModel):
    """Banking and borrowing: this family's keys in every ``[markets.NAME]`` table."""

    banking: bool = False
    """Unused allowances carry into the next scenario year."""
    borrowing: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of next year's issued allowances usable this year (0 = no borrowing)."""
    bank_limit_tco2e: float | dict[int, float] | None = None
    """At most this many allowances carried out of a year (one number, or one per year): the
    aggregate form of a per-firm carry-over limit (contract section 9). Default: no limit."""
    carry_over_base_tco2e: float = Field(default=CARRY_OVER_BASE_TCO2E, ge=0.0, le=MAX_SCENARIO_QUANTITY)
    """Per-firm term of the carry-over rule reported ex post in markets.csv
    ``carry_over_allowed_tco2e`` (optional addition; default the 2023-24 power plan's 10,000 t)."""
    carry_over_sales_multiple: float = Field(default=CARRY_OVER_SALES_MULTIPLE, ge=0.0, le=1.0e3)
    """Multiple of each firm's net allowance sales in that rule (optional addition; default 1.5)."""

    @field_validator("bank_limit_tco2e")
    @classmethod
    def _a_quantity(cls, limit: float | dict[int, float] | None) -> float | dict[int, float] | None:
        for value in (limit.values() if isinstance(limit, dict) else [] if limit is None else [limit]):
            if not math.isfinite(value) or value < 0 or value > MAX_SCENARIO_QUANTITY:
                raise ValueError(f"must be a number between 0 and {MAX_SCENARIO_QUANTITY:g}, got {value}")
        return limit

    def bank_limit(self, year: int) -> float | None:
        """The bank limit out of ``year`` (None: unlimited)."""
        if isinstance(self.bank_limit_tco2e, dict):
            return self.bank_limit_tco2e.get(year)
        return self.bank_limit_tco2e


def _check(scenario: Scenario, file: str) -> None:
    horizon = scenario.horizon
    terminal = horizon.terminal_bank_value is not None or horizon.terminal_bank_min_tco2e is not None
    if terminal and not any(rules.banking for rules in scenario.market_rules(BankingRules).values()):
        raise InputError("terminal conditions on the bank need a market with banking = true", file=file, key="horizon")


def _scenario_warnings(scenario: Scenario) -> list[InputWarning]:
    """A bank limit that cannot act: no banking, or years outside the scenario's."""
    found = []
    years = set(scenario.modelled_years)
    span = f"{scenario.years[0]}-{scenario.years[-1]}" if len(scenario.years) > 1 else str(scenario.years[0])
    for market, policy in scenario.markets.items():
        rules = policy.rules(BankingRules)
        if rules.bank_limit_tco2e is not None and not rules.banking:
            found.append(
                InputWarning(
                    WarningCode.bank_limit_without_banking,
                    f"markets.{market}.bank_limit_tco2e is set but banking = false: nothing is banked, so the limit does nothing",
                )
            )
        if isinstance(rules.bank_limit_tco2e, dict):
            outside = [year for year in rules.bank_limit_tco2e if year not in years]
            if outside:
                found.append(
                    InputWarning(
                        WarningCode.year_outside_years,
                        f"markets.{market}.bank_limit_tco2e has values for {years_text(outside)}, outside the scenario's years "
                        f"({span}); they are ignored",
                    )
                )
    return found


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
    policies = scenario.market_rules(BankingRules)
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
        return (None if policy.borrowing > 0 else 0.0, bank_upper(policy, year, data))

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


def bank_upper(policy: BankingRules, year: int, data: ModelData) -> float | None:
    """The most banked out of ``year`` (not the last modelled year), model units; None: no limit."""
    if not policy.banking:
        return 0.0
    limit = policy.bank_limit(year)
    return None if limit is None else data.scaling.to_model(limit)


def _market_values(solved: SolvedModel) -> dict[str, np.ndarray]:
    return {"bank_end_tco2e": solved.market_year_totals("bank"), "carry_over_allowed_tco2e": carry_over_allowed(solved)}


def carry_over_allowed(solved: SolvedModel) -> np.ndarray:
    """What the per-firm carry-over rule would let each banking market carry out of each year,
    given each firm's net sales in the solution (markets.csv ``carry_over_allowed_tco2e``).

    The rule (MEE, 2023-24 allocation plan): a firm carries over at most ``carry_over_base_tco2e``
    (10,000 t) plus ``carry_over_sales_multiple`` (1.5) x its net allowance sales over the period.
    Here the period runs from the first modelled year to the year carried out of, and a firm's
    net sales in a year are its free allocation less its emissions (its surplus counted as sold:
    the LP has one bank per market, not per firm, so this is the most the rule could allow).
    The sum over firms is not convex in the decisions (max(0, ·) per firm), which is why the LP
    takes the aggregate form ``bank_limit_tco2e`` and this column is computed after the solve.
    Markets that do not bank carry nothing over (0)."""
    data, firms = solved.data, solved.firms
    allowed = np.zeros(len(data.markets) * len(data.years))
    if firms is None or firms.empty:
        return allowed
    policies = solved.scenario.market_rules(BankingRules)
    n_firms, n_years = len(data.firms), len(data.years)
    # firms.csv as made: firm-major, every modelled year of each firm in order.
    sales = -firms["net_purchase_tco2e"].to_numpy().reshape(n_firms, n_years)
    market = data.firms["market"].to_numpy()
    multiple = np.array([policies[name].carry_over_sales_multiple for name in data.markets])[market]
    base = np.array([policies[name].carry_over_base_tco2e for name in data.markets])[market]
    firm_allowed = base[:, None] + multiple[:, None] * np.maximum(np.cumsum(sales, axis=1), 0.0)
    cells = (market[:, None] * n_years + np.arange(n_years)[None, :]).ravel()
    totals = np.bincount(cells, weights=firm_allowed.ravel(), minlength=len(allowed))
    banking = np.repeat([policies[name].banking for name in data.markets], n_years)
    return np.where(banking, totals, 0.0)


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
    for market, policy in scenario.market_rules(BankingRules).items():
        bounds.carry[market] = (policy.banking, policy.borrowing)
        for year in data.years:
            limit = policy.bank_limit(year)
            if limit is not None:
                bounds.bank_limit[(market, year)] = data.scaling.to_model(limit)


def _warm_mask(dump: dict) -> None:
    # A bank limit is a column bound (a year without one has an infinite bound), and the
    # carry-over rule is only reported: neither is structure.
    for policy in dump["markets"].values():
        policy["bank_limit_tco2e"] = None
        policy["carry_over_base_tco2e"] = policy["carry_over_sales_multiple"] = None


def _warm_move(move: WarmMove) -> None:
    policies = move.point.market_rules(BankingRules)
    last = move.point_data.years[-1]
    for (market, year), column in move.compiled.columns.get("bank", {}).items():
        if year != last:
            upper = bank_upper(policies[market], year, move.point_data)
            move.col_upper[column] = np.inf if upper is None else upper


def _result_warnings(solved: SolvedModel, result) -> list:
    """A bank limit looser than the per-firm rule it stands for, given the solution's net sales."""
    policies = solved.scenario.market_rules(BankingRules)
    markets = result.markets
    limited = markets["market"].map(lambda market: policies[market].bank_limit_tco2e is not None)
    over = markets[limited & (markets["bank_end_tco2e"] > markets["carry_over_allowed_tco2e"] * (1 + 1e-6) + 1.0)]
    if over.empty:
        return []
    places = ", ".join(f"{row.market} {row.year}" for row in over.itertuples(index=False))
    return [
        InputWarning(
            WarningCode.bank_above_carry_over_rule,
            f"the bank out of {places} exceeds what the per-firm carry-over rule would allow given each firm's net "
            "sales (markets.csv carry_over_allowed_tco2e): the aggregate bank_limit_tco2e is looser than the rule",
        )
    ]


def _policy_lines(scenario: Scenario, market: str, years: list[int]) -> list[PolicyLine]:
    """The market's bank limit (tCO2e) on its bank chart, in the years it has one."""
    rules = scenario.market_rules(BankingRules).get(market)
    if rules is None:
        return []
    limits = [rules.bank_limit(year) for year in years]
    if all(limit is None for limit in limits):
        return []
    return [PolicyLine(market, "bank limit", list(years), [None if limit is None else float(limit) for limit in limits], chart="bank")]


def _report_figures(context: ReportContext) -> list:
    """The bank at each year end, per market (Mt), with each market's bank limit where it has one."""
    import plotly.graph_objects as go

    from optimodel.palette import POLICY_LINE

    markets = context.tables["markets"]
    figure = go.Figure()
    for market, rows in markets.groupby("market", sort=False):
        colour = context.colour("market", market)
        figure.add_trace(go.Bar(x=rows["year"], y=rows["bank_end_tco2e"] / 1e6, name=f"{market}: bank", marker={"color": colour}))
        lines = _policy_lines(context.scenario, market, [int(year) for year in rows["year"]]) if context.scenario is not None else []
        for line in lines:
            figure.add_trace(go.Scatter(
                x=line.years, y=[None if value is None else value / 1e6 for value in line.values], mode="lines",
                name=f"{market}: {line.name}", line={"color": POLICY_LINE, "dash": "dash"},
            ))
    figure.update_layout(title="Bank at year end (negative: borrowed), Mt CO2e", xaxis_title="year", yaxis_title="Mt CO2e",
                         barmode="group")
    figure.update_xaxes(tickformat="d", dtick=1)
    return [figure]


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
    warm_mask=_warm_mask,
    warm_move=_warm_move,
    result_warnings=_result_warnings,
    market_rules=BankingRules,
    check=_check,
    scenario_warnings=_scenario_warnings,
    draw_columns=("bank_end_tco2e",),
    window_state=("bank",),
    report_figures=_report_figures,
    policy_lines=_policy_lines,
    # None of its numbers is one a Monte Carlo draw scales (costs, baselines, offset quantities).
    draw_neutral=True,
)
