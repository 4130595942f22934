"""Limited foresight: a rolling horizon over the modelled years (contract section 11).

Below ``api`` (which rolls a scenario with foresight_years in every solve); ``horizon`` studies
the horizon above it.

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

import dataclasses
import logging
import time

import numpy as np

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.build import FAMILIES
from optimodel.model.lp import INFINITY, CompiledLp
from optimodel.solver.prices import prices_from_duals
from optimodel.solver.session import Infeasible, LpSolver

log = logging.getLogger(__name__)


def limited(scenario: Scenario) -> bool:
    """Whether the scenario asks for a rolling horizon (foresight shorter than the modelled years)."""
    foresight = scenario.horizon.foresight_years
    return foresight is not None and foresight < len(scenario.modelled_years)


@dataclasses.dataclass
class RollingPlan:
    """What the windows decided: each year's prices and the state carried out of it."""

    prices: dict[tuple[str, int], dict[str, float]]
    """(market, year) -> price, price_low, price_high (and the families' price columns), money of the year."""
    carried_out: dict[tuple[str, str, int], float]
    """(variable, market, year) -> what the windows carried out of that year (a bank), model units."""
    windows: int
    seconds: float


def roll(compiled: CompiledLp, solver: LpSolver, scenario: Scenario, data: ModelData) -> RollingPlan:
    """Solve the windows in turn on ``solver`` (see the module docstring) and leave it with every
    bank fixed at the windows' decisions and every row as built. Raises ``InfeasibleError``
    naming the market-years of the first window that cannot be met."""
    from optimodel.solver.certificate import certify_lp
    from optimodel.solver.diagnose import infeasible_lp_error

    started = time.perf_counter()
    years = data.years
    foresight = scenario.horizon.foresight_years or len(years)
    balance = compiled.rows.get("market_balance", {})
    banks = _state_columns(compiled)
    carried = _carried_columns(compiled)
    built_rows = (compiled.row_lower.copy(), compiled.row_upper.copy())
    built_banks = (compiled.col_lower.copy(), compiled.col_upper.copy())
    prices: dict[tuple[str, int], dict[str, float]] = {}
    decided: dict[tuple[str, str, int], float] = {}
    decided_columns: dict[int, float] = {}
    for first, year in enumerate(years):
        last = min(first + foresight, len(years)) - 1
        _charge_window(solver, data, compiled, last)
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
        for key, column in banks.items():
            if key[2] == year:
                decided[key] = float(solution.col_value[column])
        for column, column_year in carried:
            if column_year == year:
                decided_columns[column] = float(solution.col_value[column])
        log.info("window %d-%d solved", year, years[last])
    # Every bank decided, every row and cost as built: the LP the final solve certifies.
    _charge_window(solver, data, compiled, len(years) - 1)
    _see_window(solver, balance, banks, decided, years, len(years), len(years) - 1, built_rows, built_banks)
    _see_window_carried(solver, carried, decided_columns, years, len(years), len(years) - 1, built_banks)
    return RollingPlan(prices, dict(decided), len(years), time.perf_counter() - started)


def _see_window(solver, balance, banks, decided, years, first, last, built_rows, built_banks) -> None:
    """Bounds for the window of years ``first`` .. ``last`` (positions): decided states (banks)
    fixed, the one out of the window's last year and every later one at 0, later market rows
    free; the rest as built."""
    rows = np.array(list(balance.values()), dtype=np.int32)
    row_years = np.array([years.index(key[1]) for key in balance], dtype=np.int64)
    later = row_years > last
    lower = np.where(later, -INFINITY, built_rows[0][rows])
    upper = np.where(later, INFINITY, built_rows[1][rows])
    solver.set_row_bounds(rows, lower, upper)
    columns, lower_bounds, upper_bounds = [], [], []
    for key, column in banks.items():
        position = years.index(key[2])
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


def _charge_window(solver, data: ModelData, compiled: CompiledLp, last: int) -> None:
    """The families' costs as a window that sees the modelled years up to position ``last``
    charges them (``PolicyFamily.window_costs``: a build is charged for the years it serves there)."""
    for family in FAMILIES:
        if family.window_costs is not None:
            columns, costs = family.window_costs(data, compiled, last)
            solver.set_costs(columns, costs)


def _state_columns(compiled: CompiledLp) -> dict[tuple[str, str, int], int]:
    """(variable, market, year) -> column of every registered family's ``window_state``
    variables (a bank: what a market carries out of a year)."""
    return {
        (name, index[0], int(index[1])): column
        for family in FAMILIES
        for name in family.window_state
        for index, column in compiled.columns.get(name, {}).items()
    }


def _carried_columns(compiled: CompiledLp) -> list[tuple[int, int]]:
    """(column, year) of every registered family's ``window_decided`` variables."""
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

