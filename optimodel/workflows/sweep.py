"""Scenario sweeps: solve a scenario for every combination of values of some keys.

A point that differs from the base scenario only in numbers that are right-hand sides or costs
of the built LP (sector caps of years that have a cap, and the prices of existing ceilings and
floors) is a *warm* point: the LP is built once and re-solved from the last optimal basis, after
moving those numbers in place. Any other difference (years, gases, GWP set, discount rate,
benchmarks, offsets, a ceiling that did not exist, ...) rebuilds the model for that point.

Points run in this process (``workers=1``), in local worker processes, or on a Dask
distributed cluster. Each worker builds once per chunk of points and warm-starts the rest. A
point that fails is reported as failed, never left out: sweep_status.csv lists every point.
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimodel.api import load_scenario
from optimodel.errors import InfeasibleError, InputError, OptimodelError
from optimodel.inputs.scenario import Scenario, derived_scenario
from optimodel.results.outputs import FolderPlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assignment:
    """One ``--set KEY=V1,V2,...``: a dotted key into the scenario file and its values."""

    key: str
    values: tuple[Any, ...]


def parse_assignment(text: str) -> Assignment:
    """Parse ``KEY=V1,V2``; each value is read as a TOML value (number, boolean, string)."""
    key, separator, values = text.partition("=")
    key = key.strip()
    if not separator or not key or not values.strip():
        raise InputError(f"expected KEY=V1,V2,... but got {text!r}", key="--set")
    return Assignment(key, tuple(_toml_value(value.strip(), key) for value in values.split(",")))


def _toml_value(text: str, key: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        if text.startswith(("'", '"', "[", "{")):
            raise InputError(f"cannot read value {text!r}", key=key) from None
        return text


def set_dotted(document: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested dict, creating tables on the way. A number names an entry of
    an array of tables, counting from 0 as error messages do (``markets.national.reserve.release.0.price``)."""
    parts = key.split(".")
    table: Any = document
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if isinstance(table, list):
            if not part.isdigit() or int(part) >= len(table):
                raise InputError(f"{'.'.join(parts[:position])} has {len(table)} entries; {part!r} is not one of 0..{len(table) - 1}", key=key)
            if last:
                table[int(part)] = value
                return
            table = table[int(part)]
            continue
        if last:
            table[part] = value
            return
        child = table.get(part)
        if child is None:
            child = table[part] = {}
        if not isinstance(child, (dict, list)):
            raise InputError(f"{part!r} is not a table", key=key)
        table = child


@dataclass(frozen=True)
class Point:
    """One combination of values: its run name and its scenario."""

    run: str
    values: dict[str, Any]
    scenario: Scenario


def sweep_points(base: Scenario, assignments: list[Assignment]) -> list[Point]:
    """Every combination of the assigned values, each validated as a full scenario. A key set
    twice is an input error: the second would silently replace the first in every point."""
    keys = [assignment.key for assignment in assignments]
    for key in keys:
        if keys.count(key) > 1:
            raise InputError(f"{key} is set twice; give its values once: --set {key}=V1,V2,...", key="--set")
    points = []
    combinations = list(itertools.product(*(assignment.values for assignment in assignments)))
    width = max(3, len(str(len(combinations))))
    for number, values in enumerate(combinations, start=1):
        raw = copy.deepcopy(base.resolved)
        chosen = {}
        for assignment, value in zip(assignments, values):
            set_dotted(raw, assignment.key, value)
            chosen[assignment.key] = value
        points.append(Point(f"run-{number:0{width}d}", chosen, derived_scenario(raw, base)))
    return points


# Warm re-solves -----------------------------------------------------------------------------


def _structure(scenario: Scenario) -> dict:
    """The scenario (with every family's own section) with the numbers a warm re-solve can move
    masked out by the families that move them (``PolicyFamily.warm_mask``)."""
    from optimodel.model.build import FAMILIES

    dump = scenario.model_dump(mode="json")
    # Each market's table as written: its sectors and every family's keys.
    dump["markets"] = {market: policy.document() for market, policy in scenario.markets.items()}
    dump["sections"] = {name: section.model_dump(mode="json") for name, section in scenario.sections.items()}
    for family in FAMILIES:
        if family.warm_mask is not None:
            family.warm_mask(dump)
    dump["name"] = dump["description"] = ""
    return dump


def warm_compatible(base: Scenario, point: Scenario) -> bool:
    """Whether ``point`` differs from ``base`` only in numbers the families can move in the built
    LP (caps of capped years, collar prices, ...)."""
    return _structure(base) == _structure(point)


@dataclass
class PointResult:
    """What one point gave: prices (and the full result) or a status and message."""

    run: str
    values: dict[str, Any]
    status: str
    """"optimal", "infeasible", "invalid" or "failed"."""
    message: str = ""
    result: Any = None
    warm: bool = False
    seconds: float = 0.0


class WarmSession:
    """A built and solved base LP that points are re-solved on."""

    def __init__(self, scenario: Scenario) -> None:
        from optimodel.inputs.data import load_data
        from optimodel.model import build_model
        from optimodel.solver.compiler import compile_model
        from optimodel.solver.session import LpSolver

        self.scenario = scenario
        self.data = load_data(scenario)
        self.compiled = compile_model(build_model(self.data, scenario))
        self.base_upper = self.compiled.row_upper.copy()
        self.base_cost = self.compiled.cost.copy()
        self.base_col_upper = self.compiled.col_upper.copy()
        self.solver = LpSolver(self.compiled, scenario)

    def _move(self, point: Scenario):
        """The point's data and the moves every family asks for, or None when the point touches
        something the built LP cannot move (then it is solved cold)."""
        from optimodel.inputs.data import derive_from_scenario
        from optimodel.model.build import FAMILIES
        from optimodel.model.registry import WarmMove

        data = derive_from_scenario(point, self.data)
        move = WarmMove(
            base=self.scenario, point=point, base_data=self.data, point_data=data, compiled=self.compiled,
            row_upper=self.base_upper.copy(), cost=self.base_cost.copy(),
            col_upper=self.base_col_upper.copy(),
        )
        for family in FAMILIES:
            if family.warm_move is not None:
                family.warm_move(move)
        return None if move.cold else (data, move)

    def solve(self, point: Scenario):
        """Move the point's numbers into the LP, re-solve warm, and return the result tables (as
        ``optimodel.solve`` would); None when the point must be solved cold."""
        from optimodel.api import result_for
        from optimodel.solver.session import Infeasible

        prepared = self._move(point)
        if prepared is None:
            return None
        data, move = prepared
        self.solver.move_to(move.cost, move.col_upper, move.row_upper)
        self.solver.scenario = point
        try:
            solution = self.solver.solve()
        except Infeasible:
            from optimodel.solver.diagnose import infeasible_lp_error

            raise infeasible_lp_error(self.compiled, data, point) from None
        return result_for(point, data, self.compiled, solution)


def run_points(base: Scenario, points: list[Point], progress: Callable[[int], None] | None = None) -> list[PointResult]:
    """Solve points in order: warm-compatible ones on one built LP, others from scratch."""
    import time

    from optimodel.api import solve

    results: list[PointResult] = []
    session: WarmSession | None = None
    for point in points:
        started = time.perf_counter()
        warm = warm_compatible(base, point.scenario)
        try:
            result = None
            if warm:
                if session is None:
                    session = WarmSession(base)
                result = session.solve(point.scenario)
                warm = result is not None
            if result is None:
                result = solve(point.scenario)
            entry = PointResult(point.run, point.values, "optimal", result=result, warm=warm)
        except InfeasibleError as error:
            entry = PointResult(point.run, point.values, "infeasible", str(error), warm=warm)
        except InputError as error:
            entry = PointResult(point.run, point.values, "invalid", str(error), warm=warm)
        except OptimodelError as error:
            entry = PointResult(point.run, point.values, "failed", str(error), warm=warm)
        except Exception as error:  # noqa: BLE001 - one point's crash must not lose the others
            log.debug("point %s failed:\n%s", point.run, traceback.format_exc())
            entry = PointResult(point.run, point.values, "failed", f"{type(error).__name__}: {error}", warm=warm)
        entry.seconds = time.perf_counter() - started
        results.append(entry)
        if progress:
            progress(1)
    return results


# Running a sweep --------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """Every point's outcome, in grid order."""

    keys: list[str]
    points: list[PointResult] = field(default_factory=list)
    scenario: str = ""
    """Name of the swept scenario (recorded in the sweep folder's marker)."""

    @property
    def prices(self) -> pd.DataFrame:
        """run, one column per key, market, year, price, price_low, price_high."""
        frames = []
        for point in self.points:
            if point.status != "optimal":
                continue
            frame = point.result.prices[["market", "year", "price", "price_low", "price_high"]].copy()
            for key in reversed(self.keys):
                frame.insert(0, key, _cell(point.values[key]))
            frame.insert(0, "run", point.run)
            frames.append(frame)
        columns = ["run", *self.keys, "market", "year", "price", "price_low", "price_high"]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)

    def first_prices(self) -> pd.DataFrame:
        """Each point's status and its first year's price per market (one column per market): what
        the command prints, so that a planner sees at once whether the swept keys moved anything."""
        table = self.status[["run", *self.keys, "status"]]
        prices = self.prices
        if prices.empty:
            return table
        first = prices[prices["year"] == prices["year"].min()]
        year = int(first["year"].iloc[0])
        wide = first.pivot(index="run", columns="market", values="price")
        wide.columns = [f"{market} {year}" for market in wide.columns]
        return table.merge(wide, left_on="run", right_index=True, how="left")

    @property
    def status(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"run": p.run, **{k: _cell(p.values[k]) for k in self.keys}, "status": p.status, "warm": p.warm,
                 "seconds": round(p.seconds, 3), "message": p.message}
                for p in self.points
            ]
        )

    @property
    def failed(self) -> list[PointResult]:
        return [point for point in self.points if point.status in ("failed", "invalid")]

    def write(self, directory: str | Path, plan: FolderPlan | None = None, reads: tuple[Path, ...] = ()) -> Path:
        """Write sweep_prices.csv, sweep_status.csv and one contract run folder per solved point
        into the sweep folder ``directory``, under the rules of ``outputs.write_folder``: it is
        new or replaces an earlier sweep folder, and only once complete."""
        from optimodel.results.outputs import FolderKind, plan_folder, write_folder
        from optimodel.results.tables import copy_inputs, write_csv

        solved = [point for point in self.points if point.status == "optimal"]
        plan = plan or plan_folder(directory, FolderKind.sweep, reads=reads or (solved[0].result.reads if solved else ()))

        def fill(staging: Path) -> None:
            if solved:
                # The runs share one copy of the inputs (they differ only in scenario values).
                copy_inputs(solved[0].result.inputs, staging / "inputs")
            for point in solved:
                point.result.write(staging / "runs" / point.run, shared_inputs=staging / "inputs")
            write_csv(self.prices, staging / "sweep_prices.csv")
            write_csv(self.status, staging / "sweep_status.csv")

        return write_folder(plan, self.scenario, fill)


def _cell(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def _chunks(points: list[Point], count: int) -> list[list[Point]]:
    """Contiguous chunks, so that neighbouring grid values (close bases) share a worker."""
    size = math.ceil(len(points) / max(count, 1))
    return [points[start : start + size] for start in range(0, len(points), size)]


def run_sweep(
    scenario_path: str | Path,
    assignments: list[Assignment],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_runner: Callable[..., list[PointResult]] = run_points,
) -> SweepResult:
    """Solve every point of the grid; see the module docstring."""
    base = load_scenario(scenario_path)
    points = sweep_points(base, assignments)
    keys = [assignment.key for assignment in assignments]
    outcome = SweepResult(keys, scenario=base.name)
    by_run: dict[str, PointResult] = {}
    if scheduler:
        from optimodel.workflows.distributed import run_on_dask

        def failed(chunk: list[Point], reason: str) -> list[PointResult]:
            return [PointResult(point.run, point.values, "failed", reason) for point in chunk]

        for entry in run_on_dask(scheduler, base, _chunks(points, 2 * max(workers, 1) or 1), chunk_runner, failed, progress):
            by_run[entry.run] = entry
    elif workers > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(chunk_runner, base, chunk): chunk for chunk in _chunks(points, workers)}
            for future in as_completed(futures):
                try:
                    entries = future.result()
                except Exception as error:  # noqa: BLE001 - a dead worker fails its points, visibly
                    entries = [
                        PointResult(p.run, p.values, "failed", f"worker failed: {type(error).__name__}: {error}")
                        for p in futures[future]
                    ]
                for entry in entries:
                    by_run[entry.run] = entry
                if progress:
                    progress(len(entries))
    else:
        # One chunk: every warm point re-solves the one LP built for the first.
        for entry in chunk_runner(base, points, progress):
            by_run[entry.run] = entry
    outcome.points = [
        by_run.get(point.run) or PointResult(point.run, point.values, "failed", "no result came back") for point in points
    ]
    return outcome
