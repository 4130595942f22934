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
