"""Limited foresight: a rolling horizon over the modelled years (contract section 11).

With ``horizon.foresight_years = F`` shorter than the modelled years, year t is decided by
solving the window of years t .. t + F - 1 (within the modelled years), starting from the bank
the earlier years left. Year t's bank is then fixed, and its price is year t's market dual in that
window, with its exact interval. A window cannot borrow from a year it does not see (its last year
has no next year), and the terminal conditions on the bank apply only to a window that reaches
the last modelled year; before that, a bank left at the window's end is worth nothing, which is
what limited foresight means.

Once every year's bank is fixed, the years no longer interact: one solve of the whole horizon
with the bank held at those values gives every other decision (abatement, offsets, ceiling sales)
exactly as the windows chose them, up to ties between equally cheap options. That solve is
certified like any other and gives the result tables; their prices are the windows'.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import time

import numpy as np
import pandas as pd

from .data import ModelData, _family_data
from .errors import SolverError
from .model import build_model
from .scenario import HorizonOptions, Scenario
from .solver import CompiledLp, ConstantRowInfeasible, Infeasible, LpSolver, compile_model, prices_from_duals

log = logging.getLogger(__name__)


def limited(scenario: Scenario) -> bool:
    """Whether the scenario asks for a rolling horizon (foresight shorter than the modelled years)."""
    foresight = scenario.horizon.foresight_years
    return foresight is not None and foresight < len(scenario.modelled_years)


def window_scenario(scenario: Scenario, years: list[int], reaches_end: bool) -> Scenario:
    """The scenario as one window sees it: its years, and terminal conditions only at the end."""
    horizon = scenario.horizon
    kept = horizon if reaches_end else HorizonOptions(lookahead_years=horizon.lookahead_years)
    return scenario.model_copy(update={"years": years, "horizon": kept})


def window_data(data: ModelData, positions: list[int], scenario: Scenario, initial_bank: dict[str, float]) -> ModelData:
    """``data`` restricted to the years at ``positions`` (renumbered from 0), discounted from the
    window's first year, with ``initial_bank`` (model units) banked into it."""
    renumber = {old: new for new, old in enumerate(positions)}

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        kept = frame[frame["year"].isin(positions)].copy()
        kept["year"] = kept["year"].map(renumber).astype(np.int64)
        return kept.reset_index(drop=True)

    limits = data.baseline_limits.assign(limit=np.arange(len(data.baseline_limits)))
    limits = limits[limits["year"].isin(positions)]
    new_limit = dict(zip(limits["limit"].tolist(), range(len(limits))))
    steps = keep(data.steps)
    steps["limit"] = steps["limit"].map(new_limit).fillna(-1).astype(np.int64)
    years = tuple(data.years[position] for position in positions)
    discount = np.array([scenario.discount_factor(year) for year in years])
    discount.setflags(write=False)
    window = dataclasses.replace(
        data,
        years=years,
        discount=discount,
        baselines=keep(data.baselines),
        firm_baselines=keep(data.firm_baselines),
        steps=steps,
        baseline_limits=keep(limits.drop(columns="limit")),
        sector_years=keep(data.sector_years),
        activity=keep(data.activity),
        offset_steps=keep(data.offset_steps),
        reported_years=(years[0],),
        initial_bank=dict(initial_bank),
    )
    return dataclasses.replace(window, families=_family_data(scenario, window))


@dataclasses.dataclass
class RollingPlan:
    """What the windows decided: each year's prices and the bank carried out of it."""

    prices: dict[tuple[str, int], dict[str, float]]
    """(market, year) -> price, price_low, price_high (and offset columns), money of the year."""
    bank: dict[tuple[str, int], float]
    """(market, year) -> bank out of that year, model units."""
    windows: int
    seconds: float


def roll(scenario: Scenario, data: ModelData) -> RollingPlan:
    """Solve the windows in turn (see the module docstring). Raises ``InfeasibleError`` naming the
    market-years of the first window that cannot be met, and ``SolverError`` as any solve."""
    from .certificate import certify_lp
    from .diagnose import diagnose_infeasible, infeasible_lp_error

    started = time.perf_counter()
    foresight = scenario.horizon.foresight_years or len(data.years)
    count = len(data.years)
    banking = [market for market, policy in scenario.market_policies().items() if policy.banking or policy.borrowing > 0]
    carried = {market: 0.0 for market in banking}
    prices: dict[tuple[str, int], dict[str, float]] = {}
    bank: dict[tuple[str, int], float] = {}
    for first in range(count):
        positions = list(range(first, min(first + foresight, count)))
        years = [data.years[position] for position in positions]
        seen = window_scenario(scenario, years, reaches_end=positions[-1] == count - 1)
        window = window_data(data, positions, seen, {market: value for market, value in carried.items() if value})
        model = build_model(window, seen)
        try:
            compiled = compile_model(model)
        except ConstantRowInfeasible:
            raise diagnose_infeasible(model, window, seen) from None
        # As in api.solve: the window's Pyomo model is cyclic; freed now, windows never pile up.
        del model
        gc.collect()
        try:
            solution = LpSolver(compiled, seen).solve()
        except Infeasible:
            raise infeasible_lp_error(compiled, window, seen) from None
        certify_lp(compiled, solution)
        window_prices = prices_from_duals(solution, compiled, window)
        year = years[0]
        for market in data.markets:
            prices[(market, year)] = window_prices[(market, year)]
            carried_out = _bank_out(compiled, solution.col_value, market, year)
            bank[(market, year)] = carried_out
            if market in carried:
                carried[market] = carried_out
        log.info("window %d-%d solved", years[0], years[-1])
    return RollingPlan(prices, bank, count, time.perf_counter() - started)


def _bank_out(compiled: CompiledLp, values: np.ndarray, market: str, year: int) -> float:
    position = compiled.columns.get("bank", {}).get((market, year))
    return 0.0 if position is None else float(values[position])


def hold_bank(compiled: CompiledLp, solver: LpSolver, plan: RollingPlan) -> None:
    """Fix every bank column of the whole-horizon LP at the windows' decision."""
    columns = compiled.columns.get("bank", {})
    positions = np.array([columns[key] for key in plan.bank if key in columns], dtype=np.int32)
    values = np.array([plan.bank[key] for key in plan.bank if key in columns], dtype=float)
    if len(positions) == 0:
        return
    solver.highs.changeColsBounds(len(positions), positions, values, values)
    compiled.col_lower[positions] = values
    compiled.col_upper[positions] = values


def check_plan(plan: RollingPlan, data: ModelData) -> None:
    """Every market-year has a price from its window."""
    missing = [key for key in ((market, year) for market in data.markets for year in data.years) if key not in plan.prices]
    if missing:
        raise SolverError(f"the rolling horizon left {len(missing)} market-year(s) without a price")


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

    @property
    def label(self) -> str:
        if self.end_year is not None:
            return f"ends {self.end_year}"
        return "perfect foresight" if self.foresight is None else f"foresight {self.foresight}"


def variant_scenario(scenario: Scenario, variant: Variant) -> Scenario:
    """The scenario cut at (or looking ahead to) ``variant.end_year``, or with its foresight."""
    from .scenario import validate_scenario

    raw = json_copy(scenario.resolved)
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
    source = str(scenario.source) if scenario.source else "scenario"
    cut = validate_scenario(raw, source)
    cut._source, cut._resolved, cut._files = scenario._source, raw, scenario._files
    return cut


def json_copy(document):
    """A deep copy of a plain TOML document."""
    import copy

    return copy.deepcopy(document)


@dataclasses.dataclass
class HorizonStudy:
    """Every variant's prices (horizon.csv) and what they say (warnings)."""

    table: pd.DataFrame
    warnings: list
    summaries: dict[str, dict]


def study(scenario: Scenario, variants: list[Variant], progress=None) -> HorizonStudy:
    """Solve every variant (see ``optimodel horizon``) and compare them."""
    from .api import solve
    from .data import load_data
    from .plausibility import InputWarning, WarningCode

    frames, summaries, outcomes = [], {}, []
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
        if progress:
            progress(1)
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


def _first_price(result, market: str) -> float:
    prices = result.prices[result.prices["market"] == market]
    return float(prices.sort_values("year")["price"].iloc[0])
