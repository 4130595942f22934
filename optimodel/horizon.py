"""Limited foresight: a rolling horizon over the modelled years (contract section 11).

With ``horizon.foresight_years = F`` shorter than the modelled years, year t is decided by
solving the window of years t .. t + F - 1 (within the modelled years), starting from the bank
the earlier years left. Year t's bank is then fixed, and its price is year t's market dual in that
window, with its exact interval.

Every window is the one LP of the whole horizon with bounds moved, so each is re-solved warm from
the last window's basis (dual simplex): the banks of the years already decided are fixed; the
bank out of the window's last year is fixed at 0 (a window neither values a bank it cannot use
nor borrows from a year it does not see); later years have their market rows freed and their
banks fixed at 0, so they neither constrain nor reach the window. Other variables that carry a
state across years (``PolicyFamily.window_decided``: a reserve's releases and intake, which move
its stock) are treated like the banks: fixed once their year is decided, 0 after the window. A window that reaches the last
modelled year sees the terminal conditions on the bank as they are. Prices of year t in money of
year t do not depend on which year costs are discounted to.

Once every bank is fixed, the years no longer interact: the same LP with every row restored gives
every other decision (abatement, offsets, ceiling sales) as the windows chose them, up to ties
between equally cheap options. That solve is certified like any other and gives the result
tables; their prices are the windows'.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time

import numpy as np
import pandas as pd

from .data import ModelData
from .scenario import Scenario
from .solver import INFINITY, CompiledLp, Infeasible, LpSolver, prices_from_duals

log = logging.getLogger(__name__)


def limited(scenario: Scenario) -> bool:
    """Whether the scenario asks for a rolling horizon (foresight shorter than the modelled years)."""
    foresight = scenario.horizon.foresight_years
    return foresight is not None and foresight < len(scenario.modelled_years)


@dataclasses.dataclass
class RollingPlan:
    """What the windows decided: each year's prices and the bank carried out of it."""

    prices: dict[tuple[str, int], dict[str, float]]
    """(market, year) -> price, price_low, price_high (and offset columns), money of the year."""
    bank: dict[tuple[str, int], float]
    """(market, year) -> bank out of that year, model units."""
    windows: int
    seconds: float


def roll(compiled: CompiledLp, solver: LpSolver, scenario: Scenario, data: ModelData) -> RollingPlan:
    """Solve the windows in turn on ``solver`` (see the module docstring) and leave it with every
    bank fixed at the windows' decisions and every row as built. Raises ``InfeasibleError``
    naming the market-years of the first window that cannot be met."""
    from .certificate import certify_lp
    from .diagnose import infeasible_lp_error

    started = time.perf_counter()
    years = data.years
    foresight = scenario.horizon.foresight_years or len(years)
    balance = compiled.rows.get("market_balance", {})
    banks = compiled.columns.get("bank", {})
    carried = _carried_columns(compiled)
    built_rows = (compiled.row_lower.copy(), compiled.row_upper.copy())
    built_banks = (compiled.col_lower.copy(), compiled.col_upper.copy())
    prices: dict[tuple[str, int], dict[str, float]] = {}
    decided: dict[tuple[str, int], float] = {}
    decided_columns: dict[int, float] = {}
    for first, year in enumerate(years):
        last = min(first + foresight, len(years)) - 1
        _see_window(solver, balance, banks, decided, years, first, last, built_rows, built_banks)
        _see_window_carried(solver, carried, decided_columns, years, first, last, built_banks)
        try:
            solution = solver.solve(interval_years={year})
        except Infeasible:
            raise infeasible_lp_error(compiled, data, scenario) from None
        certify_lp(compiled, solution)
        window_prices = prices_from_duals(solution, compiled, data)
        for market in data.markets:
            prices[(market, year)] = window_prices[(market, year)]
            if (market, year) in banks:
                decided[(market, year)] = float(solution.col_value[banks[(market, year)]])
        for column, column_year in carried:
            if column_year == year:
                decided_columns[column] = float(solution.col_value[column])
        log.info("window %d-%d solved", year, years[last])
    # Every bank decided, every row as built: the LP the final solve certifies.
    _see_window(solver, balance, banks, decided, years, len(years), len(years) - 1, built_rows, built_banks)
    _see_window_carried(solver, carried, decided_columns, years, len(years), len(years) - 1, built_banks)
    return RollingPlan(prices, decided, len(years), time.perf_counter() - started)


def _see_window(solver, balance, banks, decided, years, first, last, built_rows, built_banks) -> None:
    """Bounds for the window of years ``first`` .. ``last`` (positions): decided banks fixed,
    the window's end bank and every later bank at 0, later market rows free; the rest as built."""
    rows = np.array(list(balance.values()), dtype=np.int32)
    row_years = np.array([years.index(key[1]) for key in balance], dtype=np.int64)
    later = row_years > last
    lower = np.where(later, -INFINITY, built_rows[0][rows])
    upper = np.where(later, INFINITY, built_rows[1][rows])
    solver.set_row_bounds(rows, lower, upper)
    columns, lower_bounds, upper_bounds = [], [], []
    for key, column in banks.items():
        position = years.index(key[1])
        if key in decided and position < first:
            value = decided[key]
            bounds = (value, value)
        elif position > last or (position == last and last < len(years) - 1):
            # After the window, or its end bank short of the last modelled year: nothing carried.
            bounds = (0.0, 0.0)
        else:
            bounds = (built_banks[0][column], built_banks[1][column])
        columns.append(column)
        lower_bounds.append(bounds[0])
        upper_bounds.append(bounds[1])
    solver.set_column_bounds(np.array(columns, dtype=np.int32), np.array(lower_bounds), np.array(upper_bounds))


def _carried_columns(compiled: CompiledLp) -> list[tuple[int, int]]:
    """(column, year) of every registered family's ``window_decided`` variables."""
    from .model.build import FAMILIES

    return [
        (column, int(index[1]))
        for family in FAMILIES
        for name in family.window_decided
        for index, column in compiled.columns.get(name, {}).items()
    ]


def _see_window_carried(solver, carried, decided, years, first, last, built) -> None:
    """Bounds of the carried columns for the window ``first`` .. ``last``: decided ones fixed,
    those after the window at 0, the rest as built."""
    if not carried:
        return
    columns = np.array([column for column, _ in carried], dtype=np.int32)
    positions = np.array([years.index(year) for _, year in carried])
    lower, upper = built[0][columns].copy(), built[1][columns].copy()
    fixed = np.array([column in decided and position < first for column, position in zip(columns, positions)])
    values = np.array([decided.get(int(column), 0.0) for column in columns])
    lower[fixed] = upper[fixed] = values[fixed]
    after = positions > last
    lower[after] = upper[after] = 0.0
    solver.set_column_bounds(columns, lower, upper)


# The `optimodel horizon` command: how the prices depend on where the model stops looking --------

HORIZON_COLUMNS = ["end_year", "foresight", "market", "year", "price", "price_low", "price_high"]
"""horizon.csv (contract section 11): one row per variant, market and reported year."""
FIRST_PRICE_SHIFT = 0.10
"""A first-year price moving more than this (relative) between the two longest horizons tried is
still set by where the scenario stops: a warning."""
LARGE_BANK_SHARE = 0.10
"""A bank above this share of the year's emissions one year before the end: the end still binds."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """One horizon tried: the scenario stopping in ``end_year`` (looking ahead past its last year
    when later), or with ``foresight`` years of foresight (None: perfect)."""

    end_year: int | None = None
    foresight: int | None = None

    @classmethod
    def from_row(cls, end_year, foresight) -> Variant:
        """The variant of a horizon.csv row (``end_year`` or ``foresight``, a number or "all")."""
        if str(end_year) != "":
            return cls(end_year=int(end_year))
        return cls(foresight=None if str(foresight) == "all" else int(foresight))

    @property
    def label(self) -> str:
        if self.end_year is not None:
            return f"ends {self.end_year}"
        return "perfect foresight" if self.foresight is None else f"foresight {self.foresight}"


def variant_scenario(scenario: Scenario, variant: Variant) -> Scenario:
    """The scenario cut at (or looking ahead to) ``variant.end_year``, or with its foresight."""
    from .scenario import derived_scenario

    raw = copy.deepcopy(scenario.resolved)
    horizon = dict(raw.get("horizon", {}))
    if variant.end_year is not None:
        last = scenario.years[-1]
        if variant.end_year >= last:
            horizon["lookahead_years"] = variant.end_year - last
        else:
            raw["years"] = [year for year in scenario.years if year <= variant.end_year]
            horizon["lookahead_years"] = 0
            # Values for the years cut off are dropped, not reported as outside the years.
            for policy in raw.get("sectors", {}).values():
                for key in ("cap_tco2e", "benchmark"):
                    if isinstance(policy.get(key), dict):
                        policy[key] = {year: value for year, value in policy[key].items() if int(year) <= variant.end_year}
            for step in raw.get("offsets", []):
                if isinstance(step.get("years"), list):
                    step["years"] = [year for year in step["years"] if year <= variant.end_year]
    else:
        horizon.pop("foresight_years", None)
        if variant.foresight is not None:
            horizon["foresight_years"] = variant.foresight
    raw["horizon"] = horizon
    return derived_scenario(raw, scenario)


@dataclasses.dataclass
class HorizonStudy:
    """Every variant's prices (horizon.csv) and what they say (warnings)."""

    table: pd.DataFrame
    warnings: list
    summaries: dict[str, dict]


def study(scenario: Scenario, variants: list[Variant]) -> HorizonStudy:
    """Solve every variant (see ``optimodel horizon``) and compare them."""
    from .api import solve
    from .data import load_data
    from .plausibility import InputWarning, WarningCode

    frames: list[pd.DataFrame] = []
    summaries: dict[str, dict] = {}
    outcomes = []
    base = load_data(scenario) if any(variant.end_year is None for variant in variants) else None
    for variant in variants:
        varied = variant_scenario(scenario, variant)
        result = solve(varied, data=base if variant.end_year is None else None)
        frame = result.prices[["market", "year", "price", "price_low", "price_high"]].copy()
        frame.insert(0, "foresight", "" if variant.end_year is not None else ("all" if variant.foresight is None else variant.foresight))
        frame.insert(0, "end_year", variant.end_year if variant.end_year is not None else "")
        frames.append(frame)
        summaries[variant.label] = {"objective": result.summary["objective"], "horizon": result.summary["horizon"]}
        outcomes.append((variant, result))
    warnings = []
    ends = sorted((variant.end_year, result) for variant, result in outcomes if variant.end_year is not None)
    if len(ends) >= 2:
        (shorter, first), (longer, second) = ends[-2], ends[-1]
        for market in scenario.market_policies():
            low = _first_price(first, market)
            high = _first_price(second, market)
            if max(abs(low), abs(high)) > 0 and abs(high - low) > FIRST_PRICE_SHIFT * max(abs(low), abs(high)):
                warnings.append(InputWarning(
                    WarningCode.horizon_dependent_prices,
                    f"market {market}: the {scenario.years[0]} price moves from {low:,.2f} to {high:,.2f} between the "
                    f"horizons ending {shorter} and {longer}: it is still set by where the model stops looking",
                ))
    for variant, result in outcomes:
        markets = result.markets
        if len(markets["year"].unique()) < 2:
            continue
        before_end = markets[markets["year"] == sorted(markets["year"].unique())[-2]]
        for row in before_end.itertuples(index=False):
            if row.emissions_tco2e > 0 and row.bank_end_tco2e > LARGE_BANK_SHARE * row.emissions_tco2e:
                warnings.append(InputWarning(
                    WarningCode.bank_large_before_end,
                    f"{variant.label}: market {row.market} still banks {row.bank_end_tco2e / 1e6:,.2f} Mt CO2e out of "
                    f"{row.year}, one year before the end: the allowances left at the end would expire",
                ))
    return HorizonStudy(pd.concat(frames, ignore_index=True)[HORIZON_COLUMNS], warnings, summaries)


def lookahead_caps(scenario: Scenario, end_year: int) -> str:
    """How the caps of the look-ahead years up to ``end_year`` are made, in one sentence (empty
    when ``end_year`` is not past the scenario's last year): a planner must know whether the
    years the model looks into are held, declining or on a path (contract section 11)."""
    last = scenario.years[-1]
    if end_year <= last:
        return ""
    decline = scenario.horizon.lookahead_cap_decline
    rules: dict[str, list[str]] = {}
    for sector, policy in scenario.covered_sectors.items():
        given = [year for year in range(last + 1, end_year + 1) if year in policy.cap_tco2e or year in policy.benchmark]
        if policy.cap_path is not None:
            path = policy.cap_path
            rule = f"continue the cap_path ({path.decline:.1%}/yr from {path.from_year})"
        else:
            kind = "cap" if last in policy.cap_tco2e or policy.cap(last) is not None else "benchmark"
            rule = (
                f"decline {decline:.1%}/yr from the {last} {kind} (lookahead_cap_decline)"
                if decline > 0
                else f"are held at the {last} {kind} (lookahead_cap_decline = 0)"
            )
        if given:
            rule += f", except the years given ({', '.join(str(year) for year in given)})"
        rules.setdefault(rule, []).append(sector)
    span = f"{last + 1}-{end_year}" if end_year > last + 1 else str(end_year)
    return f"look-ahead years {span}: " + "; ".join(f"{', '.join(sectors)} caps {rule}" for rule, sectors in rules.items())


def _first_price(result, market: str) -> float:
    prices = result.prices[result.prices["market"] == market]
    return float(prices.sort_values("year")["price"].iloc[0])
