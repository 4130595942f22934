"""Price risk: Monte Carlo draws of costs, baselines and offset supply (contract section 10).

Each draw multiplies abatement costs, baselines (with the options' potentials, which are shares of
the baseline) or offset quantities by one multiplier per factor, shared across the factor's scope
and years, and solves the scenario exactly. The LP is built once per worker: a draw is a warm
re-solve of it with objective coefficients, bounds and right-hand sides moved in place by the
families that own them (``PolicyFamily.draw_move``), never a rebuild.

Reproducible whatever the split: draw d's multipliers come from its own random stream (the seed
and d), so they are fixed before any solve and do not depend on how many draws there are; and
every draw starts HiGHS from the same state (its solver data cleared, the base scenario's optimal
basis), so its result does not depend on which draw the worker solved before. The same seed
therefore gives byte-identical outputs with one worker, several, or a Dask cluster.

Quantiles are over the optimal draws; infeasible draws are counted and listed. The standard error
of each quantile is distribution-free, from the order statistics that bound a 95 % confidence
interval for it (``quantile_standard_error``): prices are step-shaped, so a density-based error
would be meaningless where the price sits on a step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimodel.errors import InputError
from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Distribution, FactorTarget, Scenario, UncertaintyFactor, UncertaintyOptions
from optimodel.model.build import FAMILIES

log = logging.getLogger(__name__)

DRAW_COLUMNS = ["draw", "market", "year", "price", "price_low", "price_high", "bank_end_tco2e", "status"]
"""draws.parquet (contract section 10); the factor columns come after ``draw``."""
DRAW_EXTRA_COLUMNS = ["total_cost", "ceiling_tco2e", "reserve_released_tco2e"]
"""Optional additions to draws.parquet: the draw's discounted total cost (its objective, money of
the first year), and what the price ceiling sold and the reserve released in the market-year."""
QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
QUANTILE_COLUMNS = ["market", "year", "mean", "sd", "p05", "p25", "p50", "p75", "p95", "p_at_ceiling", "draws_solved"]
"""price_quantiles.csv (contract section 10); the additions follow."""
QUANTILE_EXTRA_COLUMNS = [
    "draws_infeasible", "p_at_reserve_trigger", "p_reserve_release",
    "se_mean", "se_p05", "se_p25", "se_p50", "se_p75", "se_p95",
]
CONFIDENCE_Z = 1.959963984540054
"""The normal quantile of a two-sided 95 % interval, for the quantiles' standard errors."""


def factor_names(options: UncertaintyOptions) -> list[str]:
    """factor_1, factor_2, ... in file order (the draws.parquet columns)."""
    return [f"factor_{number}" for number in range(1, len(options.factors) + 1)]


def multipliers(options: UncertaintyOptions, draws: int, seed: int) -> np.ndarray:
    """The multipliers of draws 1..``draws`` (one row per draw, one column per factor). Draw d
    uses its own stream, seeded with (seed, d): its multipliers do not depend on the number of
    draws, nor on which worker solves it."""
    values = np.empty((draws, len(options.factors)))
    for draw in range(1, draws + 1):
        stream = np.random.default_rng([seed, draw])
        values[draw - 1] = [_sample(factor, stream) for factor in options.factors]
    return values


def _sample(factor: UncertaintyFactor, stream: np.random.Generator) -> float:
    if factor.distribution == Distribution.lognormal:
        return float(math.exp((factor.sigma or 0.0) * stream.standard_normal()))
    if factor.distribution == Distribution.normal:
        return max(0.0, 1.0 + (factor.sd or 0.0) * stream.standard_normal())
    low, high = factor.low or 0.0, factor.high or 0.0
    if factor.distribution == Distribution.uniform:
        return low + (high - low) * float(stream.random())
    return float(stream.triangular(low, factor.mode or low, high)) if high > low else low


@dataclass(frozen=True)
class FactorScopes:
    """Which steps, firms and offsets each factor reaches (computed once per built LP)."""

    cost: list[tuple[int, np.ndarray]]
    """(factor position, mask over data.steps) of cost factors."""
    baseline: list[tuple[int, np.ndarray]]
    """(factor position, mask over data.firms) of baseline factors."""
    offsets: list[int]
    """Factor positions of offsets factors."""
    capex: list[tuple[int, np.ndarray]] = dataclasses.field(default_factory=list)
    """(factor position, mask over data.steps) of capex factors."""


def factor_scopes(options: UncertaintyOptions, data: ModelData, file: str) -> FactorScopes:
    """Each factor's scope; an option named by a factor that no step in its sectors has is an
    error (a typo would otherwise leave the factor without effect)."""
    step_sector = np.array(data.sectors, dtype=object)[data.steps["sector"].to_numpy()]
    firm_sector = np.array(data.sectors, dtype=object)[data.firms["sector"].to_numpy()]
    step_option = data.steps["option"].to_numpy()
    cost: list[tuple[int, np.ndarray]] = []
    capex: list[tuple[int, np.ndarray]] = []
    baseline: list[tuple[int, np.ndarray]] = []
    offsets: list[int] = []
    for position, factor in enumerate(options.factors):
        key = f"uncertainty.factors.{position}"
        sectors = set(factor.sectors) if factor.sectors is not None else set(data.sectors)
        if factor.target in (FactorTarget.cost, FactorTarget.capex):
            mask = np.isin(step_sector, list(sectors))
            if factor.options is not None:
                known = set(step_option[mask].tolist())
                missing = [option for option in factor.options if option not in known]
                if missing:
                    raise InputError(f"no option {missing[0]!r} in sectors {', '.join(sorted(sectors))}", file=file, key=f"{key}.options")
                mask &= np.isin(step_option, factor.options)
            (cost if factor.target == FactorTarget.cost else capex).append((position, mask))
        elif factor.target == FactorTarget.baseline:
            baseline.append((position, np.isin(firm_sector, list(sectors))))
        else:
            offsets.append(position)
    return FactorScopes(cost, baseline, offsets, capex)


def _multipliers(length: int, scopes: list[tuple[int, np.ndarray]], values: np.ndarray) -> np.ndarray:
    """Per entry, the product of the factors whose scope (mask) reaches it."""
    product = np.ones(length)
    for position, mask in scopes:
        product[mask] *= values[position]
    return product


class DrawSession:
    """One built LP of the scenario, solved once as given, that draws are re-solved on."""

    def __init__(self, scenario: Scenario) -> None:
        from optimodel.inputs.data import load_data
        from optimodel.model import build_model
        from optimodel.solver.compiler import compile_model
        from optimodel.solver.session import Infeasible, LpSolver

        started = time.perf_counter()
        _keep_freed_memory()
        self.scenario = scenario
        self.data = load_data(scenario)
        options = scenario.uncertainty or UncertaintyOptions()
        self.scopes = factor_scopes(options, self.data, str(scenario.source or scenario.name))
        self.compiled = compile_model(build_model(self.data, scenario))
        self.base_cost = self.compiled.cost.copy()
        self.base_col_lower = self.compiled.col_lower.copy()
        self.base_col_upper = self.compiled.col_upper.copy()
        self.base_row_upper = self.compiled.row_upper.copy()
        self.solver = LpSolver(self.compiled, scenario)
        # One thread per worker: workers are the parallelism, and HiGHS's helper threads would
        # compete with the other workers for the same cores. HiGHS refuses a thread count other
        # than that of its process-wide scheduler once one has run (as in a library user's
        # process), so the scheduler is reset first; later solves of any instance accept it.
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
        self.solver.highs.setOptionValue("threads", 1)
        try:
            self.solver.solve()
        except Infeasible:
            # Draws then start from no basis at all, equally for every draw.
            pass
        self.base_basis = self.solver.basis
        # Measured on the default (benchmarks/README.md): HiGHS's cost perturbation made a draw
        # that moves the price far (a long market) spend 1.2 s cleaning it up after one
        # iteration; without it the mean draw took 0.37 s instead of 0.62, with the same prices.
        # Every draw is still certified (primal and dual feasibility, strong duality).
        self.solver.highs.setOptionValue("dual_simplex_cost_perturbation_multiplier", 0.0)
        self.cache: dict[str, Any] = {}
        self.reported_keys = [(market, year) for market in self.data.markets for year in self.data.reported_years]
        # Position of each market-year in markets.csv order (market-major), as families' columns are.
        self.market_year_index = {
            key: index for index, key in enumerate((market, year) for market in self.data.markets for year in self.data.years)
        }
        log.info("built and solved the base LP for the draws in %.2f s", time.perf_counter() - started)

    def solve(self, draw: int, values: np.ndarray) -> list[dict]:
        """The draws.parquet rows of one draw: one per market and reported year."""
        from optimodel.errors import InfeasibleError, SolverError
        from optimodel.model.registry import DrawMove, SolvedModel
        from optimodel.results.tables import objective_money
        from optimodel.solver.certificate import certify_lp
        from optimodel.solver.prices import prices_from_duals
        from optimodel.solver.rolling import limited, roll
        from optimodel.solver.session import Infeasible

        data, compiled, solver = self.data, self.compiled, self.solver
        step_cost = _multipliers(len(data.steps), self.scopes.cost, values)
        step_capex = _multipliers(len(data.steps), self.scopes.capex, values)
        firm_baseline = _multipliers(len(data.firms), self.scopes.baseline, values)
        offset_quantity = float(np.prod([values[position] for position in self.scopes.offsets]))
        move = DrawMove(
            data=data, compiled=compiled, base_cost=self.base_cost, base_col_upper=self.base_col_upper,
            base_row_upper=self.base_row_upper, cost=self.base_cost.copy(), col_upper=self.base_col_upper.copy(),
            row_upper=self.base_row_upper.copy(), step_cost=step_cost, step_capex=step_capex, firm_baseline=firm_baseline,
            offset_quantity=offset_quantity, cache=self.cache,
        )
        for family in FAMILIES:
            if family.draw_move is not None:
                family.draw_move(move)
        if not move.movable:
            raise SolverError(f"draw {draw} changes a market-year whose balance has no variable left; the LP cannot move it")
        # A rolling horizon leaves the banks it decided fixed: lower bounds go back to the base too.
        solver.move_to(move.cost, move.col_upper, move.row_upper, col_lower=self.base_col_lower)
        # The same starting state for every draw, whatever was solved before it.
        solver.restart_from(self.base_basis)
        keys = self.reported_keys
        try:
            # Limited foresight: the windows decide each year's bank and price, as in ``solve``.
            plan = roll(compiled, solver, self.scenario, data) if limited(self.scenario) else None
            solution = solver.solve()
        except (Infeasible, InfeasibleError):
            return [{"draw": draw, "market": market, "year": year, "status": "infeasible"} for market, year in keys]
        certify_lp(compiled, solution)
        prices = plan.prices if plan is not None else prices_from_duals(solution, compiled, data)
        solved = SolvedModel(self.scenario, data, compiled, solution)
        columns: dict[str, np.ndarray] = {}
        for family in FAMILIES:
            if family.market_values is not None:
                columns.update(family.market_values(solved))
        index_of = self.market_year_index
        total = float(objective_money(data, solution))
        rows = []
        for key in keys:
            entry = prices[key]
            row = {
                "draw": draw, "market": key[0], "year": key[1], "price": entry["price"], "price_low": entry["price_low"],
                "price_high": entry["price_high"], "status": "optimal", "total_cost": total,
            }
            for name in (name for family in FAMILIES for name in family.draw_columns):
                row[name] = float(columns[name][index_of[key]]) if name in columns else 0.0
            rows.append(row)
        return rows


MAX_CHUNK_DRAWS = 10
"""Draws per chunk at most: a worker that gets the last chunk finishes at most this many draws
after the others (with 50, 1,000 draws of the default on 2 workers ended 20 s after one idled)."""
MMAP_THRESHOLD_BYTES = 64 * 2**20
TRIM_THRESHOLD_BYTES = 128 * 2**20


def _keep_freed_memory() -> None:
    """Let glibc reuse freed memory for the draws' large arrays instead of mapping fresh pages.

    A draw allocates and frees arrays of the LP's size (1.5 MB for the default's columns, in numpy
    and inside HiGHS). Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns
    off glibc's adaptive mmap threshold: every such array then became a fresh mapping, and a draw
    took 1.29x as long (measured, benchmarks/README.md). Raising both thresholds restores the
    reuse. A no-op where the C library is not glibc."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        # M_TRIM_THRESHOLD is -1 and M_MMAP_THRESHOLD -3 in glibc's malloc.h.
        libc.mallopt(-1, TRIM_THRESHOLD_BYTES)
        libc.mallopt(-3, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        log.debug("mallopt is not available; the draws run with the allocator's defaults")


_SESSIONS: dict[str, DrawSession] = {}
"""The built LP of this process (a worker keeps it across the chunks it is given)."""


def _session_key(scenario: Scenario) -> str:
    text = json.dumps([str(scenario.source), scenario.resolved], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def solve_chunk(scenario: Scenario, draws: list[int], values: np.ndarray) -> list[dict]:
    """Solve ``draws`` (with their multiplier rows ``values``) on this process's built LP,
    building it on first use. What workers run, locally or on Dask."""
    key = _session_key(scenario)
    session = _SESSIONS.get(key)
    if session is None:
        # One built LP per process: memory stays that of one solve.
        _SESSIONS.clear()
        session = _SESSIONS[key] = DrawSession(scenario)
    rows: list[dict] = []
    for draw, row in zip(draws, values):
        rows += session.solve(draw, row)
    return rows


def _solve_packed(arguments: tuple[Scenario, list[int], np.ndarray]) -> list[dict]:
    return solve_chunk(*arguments)


def _ignore_interrupts() -> None:
    """Local workers leave Ctrl-C to the parent, which keeps what has finished and stops them."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class UncertaintyResult:
    """The draws and their summaries (contract section 10)."""

    scenario: Scenario
    factors: list[UncertaintyFactor]
    seed: int
    draws_asked: int
    draws: pd.DataFrame
    quantiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: dict = field(default_factory=dict)
    complete: bool = True
    seconds: float = 0.0

    @property
    def draws_done(self) -> int:
        return int(self.draws["draw"].nunique()) if not self.draws.empty else 0

    @property
    def infeasible_draws(self) -> list[int]:
        statuses = self.draws.groupby("draw")["status"].first()
        return [int(draw) for draw, status in statuses.items() if status == "infeasible"]

    def write(self, directory: str | Path, plan=None) -> Path:
        """draws.parquet, price_quantiles.csv, price_sensitivity.csv and summary.json, staged and
        swapped in like every run folder (``outputs.write_folder``)."""
        from optimodel.results.outputs import FolderKind, plan_folder, write_folder
        from optimodel.results.tables import rounded, write_csv

        plan = plan or plan_folder(directory, FolderKind.uncertainty, reads=self.scenario.files)

        def fill(staging: Path) -> None:
            rounded(self.draws).to_parquet(staging / "draws.parquet", index=False)
            write_csv(self.quantiles, staging / "price_quantiles.csv")
            write_csv(self.sensitivity, staging / "price_sensitivity.csv")
            (staging / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")

        return write_folder(plan, self.scenario.name, fill)


def requested(scenario: Scenario, draws: int | None = None, seed: int | None = None) -> tuple[UncertaintyOptions, int, int]:
    """The scenario's [uncertainty] with ``draws`` and ``seed`` overriding its own; InputError
    when it has no factor, fewer than one draw or a negative seed."""
    options = scenario.uncertainty
    if options is None or not options.factors:
        raise InputError("no [[uncertainty.factors]]: nothing is uncertain", file=str(scenario.source or scenario.name), key="uncertainty")
    count = draws if draws is not None else options.draws
    if count < 1:
        raise InputError("must be at least 1", key="--draws")
    chosen_seed = seed if seed is not None else options.seed
    if chosen_seed < 0:
        raise InputError("must be 0 or more", key="--seed")
    return options, count, chosen_seed


def refuse_families_without_draw_moves() -> None:
    """``InputError`` (exit 2) naming every registered family that can neither move its numbers
    for a draw (``draw_move``) nor says that none of them depends on a draw (``draw_neutral``):
    its draws would silently keep the base numbers, so none is solved."""

    missing = [family.name for family in FAMILIES if family.draw_move is None and not family.draw_neutral]
    if missing:
        raise InputError(
            f"the policy famil{'ies' if len(missing) > 1 else 'y'} {', '.join(missing)} cannot follow a draw (no draw_move): "
            "its numbers would keep their base values, so no draw is solved",
            key="uncertainty",
        )


def run_uncertainty(
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int], object] | None = None,
    chunk_size: int | None = None,
) -> UncertaintyResult:
    """Solve every draw (see the module docstring). ``progress`` is called with the number of
    draws each finished chunk held. Ctrl-C keeps the finished draws: the result is then marked
    incomplete, and the caller says so."""
    options, count, chosen_seed = requested(scenario, draws, seed)
    refuse_families_without_draw_moves()
    values = multipliers(options, count, chosen_seed)
    size = chunk_size or max(1, min(MAX_CHUNK_DRAWS, math.ceil(count / (max(workers, 1) * 8))))
    numbers = list(range(1, count + 1))
    chunks = [(scenario, numbers[start : start + size], values[start : start + size]) for start in range(0, count, size)]
    rows: list[dict] = []
    started = time.perf_counter()
    complete = True
    try:
        for chunk_rows in _run_chunks(chunks, workers, scheduler):
            rows += chunk_rows
            if progress:
                progress(len({row["draw"] for row in chunk_rows}))
    except KeyboardInterrupt:
        complete = False
    table = draw_table(rows, values, options)
    result = UncertaintyResult(scenario, list(options.factors), chosen_seed, count, table, complete=complete)
    result.seconds = time.perf_counter() - started
    summarise(result)
    return result


def _run_chunks(chunks: list, workers: int, scheduler: str | None):
    """Yield each chunk's rows as it finishes: in this process, in local worker processes, or on
    a Dask cluster. On Ctrl-C the workers are stopped and the interrupt passes on."""
    if scheduler:
        yield from _run_on_dask(scheduler, chunks)
    elif workers > 1:
        import multiprocessing

        pool = multiprocessing.Pool(processes=workers, initializer=_ignore_interrupts)
        try:
            yield from pool.imap_unordered(_solve_packed, chunks)
            pool.close()
        except KeyboardInterrupt:
            pool.terminate()
            raise
        finally:
            pool.terminate()
            pool.join()
    else:
        for chunk in chunks:
            yield solve_chunk(*chunk)


def _run_on_dask(scheduler: str, chunks: list):
    from optimodel.workflows.distributed import connect

    client = connect(scheduler)
    from distributed import as_completed

    futures = []
    try:
        # pure=False: every chunk is its own task; retries rerun a chunk whose worker died.
        futures = [client.submit(solve_chunk, *chunk, pure=False, retries=2) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()
    except KeyboardInterrupt:
        client.cancel(futures)
        raise
    finally:
        client.close()


def draw_table(rows: list[dict], values: np.ndarray, options: UncertaintyOptions) -> pd.DataFrame:
    """draws.parquet: rows sorted by draw, market (in scenario order) and year, each draw's
    multipliers in factor_k columns after ``draw``."""
    names = factor_names(options)
    columns = ["draw", *names, *DRAW_COLUMNS[1:], *DRAW_EXTRA_COLUMNS]
    if not rows:
        return pd.DataFrame({column: pd.Series(dtype="float64") for column in columns})
    table = pd.DataFrame(rows)
    for column in columns:
        if column not in table.columns:
            table[column] = np.nan
    draw_index = table["draw"].to_numpy() - 1
    for position, name in enumerate(names):
        table[name] = values[draw_index, position]
    # Chunks finish in any order; within a draw the rows come in market and year order already.
    table = table.sort_values("draw", kind="stable")[columns].reset_index(drop=True)
    table["draw"] = table["draw"].astype("int64")
    table["year"] = table["year"].astype("int64")
    return table


def quantile_standard_error(ordered: np.ndarray, probability: float) -> float:
    """Standard error of the sample ``probability`` quantile of ``ordered`` (sorted), from the
    order statistics x_(j) <= x_(k) that bound a distribution-free 95 % confidence interval
    (j, k = n p -+ z sqrt(n p (1 - p))): (x_(k) - x_(j)) / (2 z). 0 when the interval holds one
    value (a price on a step in nearly every draw); NaN below 2 draws."""
    count = len(ordered)
    if count < 2:
        return math.nan
    half = CONFIDENCE_Z * math.sqrt(count * probability * (1.0 - probability))
    lower = min(max(int(math.floor(count * probability - half)), 1), count)
    upper = min(max(int(math.ceil(count * probability + half)), 1), count)
    return float(ordered[upper - 1] - ordered[lower - 1]) / (2.0 * CONFIDENCE_Z)


def price_quantiles(table: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """price_quantiles.csv: per market and year, over the optimal draws."""
    records = []
    for (market, year), rows in table.groupby(["market", "year"], sort=False):
        solved = rows[rows["status"] == "optimal"]
        prices = np.sort(solved["price"].to_numpy(dtype=float))
        count = len(prices)
        record: dict[str, Any] = {"market": market, "year": int(year)}
        record["mean"] = float(prices.mean()) if count else math.nan
        record["sd"] = float(prices.std(ddof=1)) if count > 1 else math.nan
        for probability in QUANTILES:
            record[f"p{round(probability * 100):02d}"] = float(np.quantile(prices, probability)) if count else math.nan
        record["draws_solved"] = count
        record["draws_infeasible"] = int((rows["status"] == "infeasible").sum())
        for family in FAMILIES:
            if family.draw_statistics is not None:
                record.update(family.draw_statistics(scenario, str(market), int(year), prices, solved))
        record["se_mean"] = record["sd"] / math.sqrt(count) if count > 1 else math.nan
        for probability in QUANTILES:
            record[f"se_p{round(probability * 100):02d}"] = quantile_standard_error(prices, probability)
        records.append(record)
    return pd.DataFrame(records, columns=QUANTILE_COLUMNS + QUANTILE_EXTRA_COLUMNS)


def price_sensitivity(table: pd.DataFrame, options: UncertaintyOptions) -> pd.DataFrame:
    """price_sensitivity.csv: the rank (Spearman) correlation of each factor's multiplier with
    each market-year's price over the optimal draws; NaN where either does not vary."""
    names = factor_names(options)
    records = []
    solved = table[table["status"] == "optimal"]
    for (market, year), rows in solved.groupby(["market", "year"], sort=False):
        price_rank = rows["price"].rank().to_numpy()
        for name in names:
            factor_rank = rows[name].rank().to_numpy()
            varies = len(rows) > 2 and np.ptp(price_rank) > 0 and np.ptp(factor_rank) > 0
            correlation = float(np.corrcoef(price_rank, factor_rank)[0, 1]) if varies else math.nan
            records.append({"market": market, "year": int(year), "factor": name, "rank_correlation": correlation})
    return pd.DataFrame(records, columns=["market", "year", "factor", "rank_correlation"])


def summarise(result: UncertaintyResult) -> None:
    """Quantiles, sensitivity and summary.json; the infeasible draws as a warning."""
    from optimodel.inputs.plausibility import InputWarning, WarningCode, emit
    from optimodel.version import __version__

    options = result.scenario.uncertainty or UncertaintyOptions()
    result.quantiles = price_quantiles(result.draws, result.scenario)
    result.sensitivity = price_sensitivity(result.draws, options)
    infeasible = result.infeasible_draws
    warnings = []
    if infeasible:
        listed = ", ".join(str(draw) for draw in infeasible[:20]) + (", ..." if len(infeasible) > 20 else "")
        warnings.append(
            InputWarning(
                WarningCode.infeasible_draws,
                f"{len(infeasible):,} of {result.draws_done:,} draws are infeasible (draws {listed}); the quantiles are over "
                "the optimal draws (summary.json infeasible_draws lists them all)",
            )
        )
        emit(warnings)
    names = factor_names(options)
    result.summary = {
        "scenario": result.scenario.name,
        "currency": result.scenario.currency,
        "draws": result.draws_asked,
        "seed": result.seed,
        "complete": result.complete,
        "draws_done": result.draws_done,
        "draws_optimal": result.draws_done - len(infeasible),
        "draws_infeasible": len(infeasible),
        "infeasible_draws": infeasible,
        "factors": [{"column": name, **factor.model_dump(mode="json", exclude_none=True)} for name, factor in zip(names, options.factors)],
        "warnings": [warning.as_dict() for warning in warnings],
        "optimodel_version": __version__,
        "scenario_resolved": result.scenario.resolved,
    }
