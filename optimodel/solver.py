"""Solving: the Pyomo model compiled to matrices, HiGHS through highspy, and prices from duals.

One formulation: the Pyomo model is the model. Pyomo's standard-form compiler turns it into
sparse matrices together with the list of Pyomo rows and columns they came from, so every
result is mapped back through those objects, never by parsing names. HiGHS then runs on the
matrices directly, which gives us presolve control, warm starts, ranging and cheap re-solves.

Duals become prices in ``prices_from_duals`` and nowhere else. Sign convention (checked by a
test): HiGHS reports for each row the change of the objective per unit increase of its upper
bound. A market balance is ``emissions - supply <= issued - baseline``, so one more allowance
raises the right-hand side and lowers cost: the dual y is <= 0 and the price in first-year money
is -y. The objective is discounted, so the price in money of year t is -y / (1 + r)^-(t - t0).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pyomo.core as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.gc_manager import PauseGC

from .compiler import CscMatrix, standard_form
from .data import ModelData
from .errors import InfeasibleError, SolverError
from .scenario import Scenario, SolverMethod
from .tolerances import PROBE_FLOOR_FACTOR, SOLVER_FEASIBILITY

log = logging.getLogger(__name__)

INFINITY = highspy.kHighsInf
MAX_INTERVAL_REFINEMENTS = 40


class ConstantRowInfeasible(Exception):
    """A market row without any variable cannot be met (raised by the compiler)."""


@dataclass
class CompiledLp:
    """The LP as HiGHS takes it, with the map back to the Pyomo components."""

    cost: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: CscMatrix
    """Rows x columns, compressed by column."""
    columns: dict[str, dict] = field(default_factory=dict)
    """component name -> {index: column position}."""
    rows: dict[str, dict] = field(default_factory=dict)
    """component name -> {index: row position}; a row the compiler dropped (constant and met) is absent."""
    constant_rows: dict[str, dict] = field(default_factory=dict)
    """component name -> {index: spare} for rows the compiler dropped because no variable is in
    them: spare = upper bound - constant body (>= 0, since the row is met)."""
    ledger_rows: dict[tuple[str, Any], list[tuple[int, float]]] = field(default_factory=dict)
    """(ledger, key) -> [(row position, scale)]: rows whose right-hand side holds scale x that
    ledger constant (``ModelTerms.dependents``), for warm sweeps."""
    ledger_dropped: set = field(default_factory=set)
    """(ledger, key) of constants held by a row the compiler dropped."""

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape


def compile_model(model: pyo.ConcreteModel) -> CompiledLp:
    """Compile the Pyomo model to matrices (one formulation, no second builder). The variables
    and rows of every registered family are mapped to their positions by component and index."""
    # As in build_model: compiling makes many objects and no cycles worth collecting.
    with PauseGC():
        return _compile(model)


def _compile(model: pyo.ConcreteModel) -> CompiledLp:
    try:
        info = standard_form(model)
    except InfeasibleConstraintException as exc:
        raise ConstantRowInfeasible(str(exc)) from None
    n_rows, n_cols = info.A.shape
    column_of = info.column_of
    bounds = np.array([var.bounds for var in info.columns], dtype=float).reshape(-1, 2)
    col_lower = np.concatenate((np.where(np.isnan(bounds[:, 0]), -INFINITY, bounds[:, 0]), np.zeros(len(info.block_upper))))
    col_upper = np.concatenate((np.where(np.isnan(bounds[:, 1]), INFINITY, bounds[:, 1]), info.block_upper))
    rhs = np.asarray(info.rhs, dtype=float)
    sense = np.array([multiplier for _, multiplier in info.rows], dtype=int)
    row_lower = np.where(sense == 1, -INFINITY, rhs)
    row_upper = np.where(sense == -1, INFINITY, rhs)
    row_of = {id(constraint): position for position, (constraint, _) in enumerate(info.rows) if constraint is not None}
    compiled = CompiledLp(
        cost=info.c,
        offset=info.offset,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=row_lower,
        row_upper=row_upper,
        matrix=info.A,
    )
    # Every variable and row component is mapped by its name, whichever family declared it;
    # a column block's column k is its index k.
    for name, start in info.block_columns.items():
        size = len(model.terms.blocks[name].upper)
        compiled.columns[name] = dict(zip(range(size), range(start, start + size)))
    compiled.rows.update(info.block_rows)
    for component in model.component_objects(pyo.Var, descend_into=True):
        found = column_of(list(component.values()))
        compiled.columns[component.local_name] = {
            index: position for index, position in zip(component.keys(), found.tolist()) if position >= 0
        }
    for component in model.component_objects(pyo.Constraint, descend_into=True):
        name = component.local_name
        compiled.rows[name] = {index: row_of[id(row)] for index, row in component.items() if id(row) in row_of}
        compiled.constant_rows[name] = {
            index: float(pyo.value(row.upper) - pyo.value(row.body))
            for index, row in component.items()
            if id(row) not in row_of and row.active and row.upper is not None
        }
    # The lists the compiler read are not needed again (a second compile, for the diagnosis, reads
    # the expressions themselves): holding them would only add to peak memory.
    model.terms.recorded.clear()
    for row_name, index, ledger, key, scale in model.terms.dependents:
        position = compiled.rows.get(row_name, {}).get(index)
        if position is None:
            compiled.ledger_dropped.add((ledger, key))
        else:
            compiled.ledger_rows.setdefault((ledger, key), []).append((position, scale))
    return compiled


@dataclass
class LpSolution:
    """What the solve returns: primal values, duals and the price intervals, all by position."""

    status: str
    objective: float
    col_value: np.ndarray
    row_value: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """HiGHS's reduced costs (the certificate recomputes its own from the row duals)."""
    balance_low: dict = field(default_factory=dict)
    """market-year -> marginal value of one more allowance, first-year money, as measured (the
    certificate checks it is >= 0 before ``prices_from_duals`` rounds tiny negatives to 0)."""
    balance_high: dict = field(default_factory=dict)
    """market-year -> the cost of one fewer allowance (may be inf), as measured."""
    unverified: list = field(default_factory=list)
    """Market-years whose interval is a bound, not exact: another step of the cost curve lies
    closer to the cap than the solver can resolve."""
    solver_version: str = ""
    iterations: int = 0
    interval_seconds: float = 0.0
    residuals: dict = field(default_factory=dict)


AUTO_IPM_COLUMNS = 300_000
"""Above this many columns ``auto`` uses IPM + crossover instead of dual simplex. Measured
(docs/performance.md): 193,643 columns, dual simplex 0.46 s against IPM 0.77 s; 369,683 columns
(the default looking ahead to 2045), dual simplex 21 s against IPM 2.7 s."""


def resolved_method(method: SolverMethod, columns: int) -> SolverMethod:
    """The HiGHS algorithm ``method`` stands for on an LP with ``columns`` columns."""
    if method is not SolverMethod.auto:
        return method
    return SolverMethod.ipm if columns > AUTO_IPM_COLUMNS else SolverMethod.simplex


@contextlib.contextmanager
def _stdout_to(descriptor: int):
    """Point file descriptor 1 elsewhere for a while: HiGHS writes from C++ to stdout, which must
    stay the price table only (contract section 8)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(descriptor, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def quiet_highs() -> highspy.Highs:
    """A Highs object whose constructor does not print its banner on stdout.

    HiGHS 1.16 prints the banner from C++ inside the constructor, before any option can be set
    (ERGO-Code/HiGHS#1702, #2749), so stdout is pointed at /dev/null for that one call, or at
    stderr when HiGHS's log is wanted (debug level, ``optimodel -v``).
    """
    if log.isEnabledFor(logging.DEBUG):
        with _stdout_to(2):
            return highspy.Highs()
    with open(os.devnull, "w") as devnull, _stdout_to(devnull.fileno()):
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def run_highs(highs: highspy.Highs) -> None:
    """``highs.run()``, with HiGHS's log (on at debug level, ``optimodel -v``) sent to stderr."""
    flag = highs.getOptionValue("output_flag")
    # highspy returns (status, value) here; some releases return the value alone.
    if flag[1] if isinstance(flag, tuple) else flag:
        with _stdout_to(2):
            highs.run()
    else:
        highs.run()


def highs_version(highs: highspy.Highs | None = None) -> str:
    """HiGHS's version, read from ``highs`` (or a new, quiet instance when none is at hand)."""
    highs = highs or quiet_highs()
    return f"{highs.versionMajor()}.{highs.versionMinor()}.{highs.versionPatch()}"


def _new_highs(compiled: CompiledLp, scenario: Scenario) -> highspy.Highs:
    highs = quiet_highs()
    highs.setOptionValue("output_flag", log.isEnabledFor(logging.DEBUG))
    highs.setOptionValue("random_seed", 0)
    options = scenario.solver
    # Presolve off by default: on this model's shape HiGHS's presolve (its aggregator) costs far
    # more than the solve it saves (benchmarks/README.md).
    highs.setOptionValue("presolve", "on" if options.presolve else "off")
    method = resolved_method(options.method, compiled.shape[1])
    highs.setOptionValue("solver", method.value)
    if method is SolverMethod.ipm:
        # Crossover gives the basis that ranging and warm re-solves need.
        highs.setOptionValue("run_crossover", "on")
    if options.time_limit_seconds is not None:
        highs.setOptionValue("time_limit", float(options.time_limit_seconds))
    lp = highspy.HighsLp()
    n_rows, n_cols = compiled.shape
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = compiled.cost
    lp.offset_ = compiled.offset
    lp.col_lower_ = compiled.col_lower
    lp.col_upper_ = compiled.col_upper
    lp.row_lower_ = compiled.row_lower
    lp.row_upper_ = compiled.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = n_rows
    lp.a_matrix_.start_ = compiled.matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = compiled.matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = compiled.matrix.data.astype(float)
    status = highs.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")
    return highs


class Infeasible(Exception):
    """HiGHS proved the LP infeasible; the caller diagnoses it in policy terms."""


class LpSolver:
    """One HiGHS instance holding a compiled LP that can be re-solved after its right-hand sides
    or costs change, warm-started from the last optimal basis (dual simplex: a change of
    right-hand sides keeps the basis dual feasible)."""

    def __init__(self, compiled: CompiledLp, scenario: Scenario) -> None:
        self.compiled = compiled
        self.scenario = scenario
        self.highs = _new_highs(compiled, scenario)
        self.basis: highspy.HighsBasis | None = None

    def set_row_upper(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Change the upper bounds of ``rows`` (a market balance's right-hand side, ...)."""
        rows = np.asarray(rows, dtype=np.int32)
        values = np.asarray(values, dtype=float)
        if len(rows):
            # changeRowsBounds exists in highspy but is missing from its type stubs.
            self.highs.changeRowsBounds(len(rows), rows, self.compiled.row_lower[rows], values)  # type: ignore[attr-defined]
            self.compiled.row_upper[rows] = values

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Change both bounds of ``rows`` (a rolling window frees the rows it does not see)."""
        rows = np.asarray(rows, dtype=np.int32)
        if len(rows):
            lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
            self.highs.changeRowsBounds(len(rows), rows, lower, upper)  # type: ignore[attr-defined]
            self.compiled.row_lower[rows], self.compiled.row_upper[rows] = lower, upper

    def set_column_bounds(self, columns: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Change both bounds of ``columns`` (a rolling horizon fixes the bank it has decided)."""
        columns = np.asarray(columns, dtype=np.int32)
        if len(columns):
            lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
            self.highs.changeColsBounds(len(columns), columns, lower, upper)
            self.compiled.col_lower[columns], self.compiled.col_upper[columns] = lower, upper

    def set_costs(self, columns: np.ndarray, values: np.ndarray) -> None:
        """Change the objective coefficients of ``columns``."""
        columns = np.asarray(columns, dtype=np.int32)
        values = np.asarray(values, dtype=float)
        if len(columns):
            self.highs.changeColsCost(len(columns), columns, values)
            self.compiled.cost[columns] = values

    def move_to(
        self,
        cost: np.ndarray,
        col_upper: np.ndarray,
        row_upper: np.ndarray,
        col_lower: np.ndarray | None = None,
    ) -> None:
        """Give the LP these objective coefficients, column bounds and row upper bounds (whole
        arrays), passing HiGHS only the entries that differ from what it holds now (a warm sweep
        point or a Monte Carlo draw). ``col_lower`` None keeps the lower bounds as they are."""
        compiled = self.compiled
        changed = np.flatnonzero(cost != compiled.cost)
        self.set_costs(changed, cost[changed])
        lower = compiled.col_lower if col_lower is None else col_lower
        bounded = np.flatnonzero((col_upper != compiled.col_upper) | (lower != compiled.col_lower))
        self.set_column_bounds(bounded, lower[bounded], col_upper[bounded])
        moved = np.flatnonzero(row_upper != compiled.row_upper)
        self.set_row_upper(moved, row_upper[moved])

    def restart_from(self, basis: highspy.HighsBasis | None) -> None:
        """Clear HiGHS's solver data and start the next solve from ``basis`` (None: from scratch),
        so that its result does not depend on what was solved before."""
        self.highs.clearSolver()
        self.basis = basis

    def solve(self, interval_years: set[int] | None = None) -> LpSolution:
        """Run HiGHS; read duals only from an Optimal solve; compute the price intervals (of the
        market-years in ``interval_years`` only, when given: a rolling window prices one year;
        the others keep their raw dual as a point)."""
        highs = self.highs
        if self.basis is not None:
            _use_dual_simplex(highs)
            highs.setBasis(self.basis)
        run_highs(highs)
        status = highs.getModelStatus()
        if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            self.basis = None
            raise Infeasible()
        if status == highspy.HighsModelStatus.kModelEmpty:
            # No variable and no row left (every market row constant and met): nothing to choose.
            return self._empty_solution()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"HiGHS stopped without an optimal solution: {highs.modelStatusToString(status)}")
        if self.scenario.solver.price_intervals and not highs.getBasis().valid:
            # PDLP ends without a basis; intervals need one, so dual simplex solves again and
            # every number reported (primal, duals, objective) comes from that one solve.
            _use_dual_simplex(highs)
            highs.clearSolver()
            run_highs(highs)
            if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                raise SolverError("dual simplex could not confirm the optimum for the price intervals")
        solution = highs.getSolution()
        if not solution.dual_valid:
            raise SolverError("HiGHS reported Optimal but no valid duals")
        info = highs.getInfo()
        result = LpSolution(
            status="optimal",
            objective=float(info.objective_function_value),
            col_value=np.array(solution.col_value),
            row_value=np.array(solution.row_value),
            row_dual=np.array(solution.row_dual),
            col_dual=np.array(solution.col_dual),
            solver_version=highs_version(highs),
            iterations=int(info.simplex_iteration_count + info.ipm_iteration_count),
            residuals={
                "max_primal_infeasibility": float(info.max_primal_infeasibility),
                "max_dual_infeasibility": float(info.max_dual_infeasibility),
            },
        )
        balance_rows = self.compiled.rows["market_balance"]
        for key, row in balance_rows.items():
            result.balance_low[key] = result.balance_high[key] = -result.row_dual[row]
        if self.scenario.solver.price_intervals and balance_rows:
            started = time.perf_counter()
            _price_intervals(highs, self.compiled, result, interval_years)
            result.interval_seconds = time.perf_counter() - started
        # The interval re-solves restore the optimal basis: keep it for the next warm start.
        basis = highs.getBasis()
        self.basis = basis if basis.valid else None
        return result


    def _empty_solution(self) -> LpSolution:
        n_rows, n_cols = self.compiled.shape
        return LpSolution(
            status="optimal",
            objective=self.compiled.offset,
            col_value=np.zeros(n_cols),
            row_value=np.zeros(n_rows),
            row_dual=np.zeros(n_rows),
            col_dual=np.zeros(n_cols),
            solver_version=highs_version(self.highs),
        )


def solve_lp(compiled: CompiledLp, scenario: Scenario) -> LpSolution:
    """Solve the compiled LP once (see ``LpSolver`` for re-solves)."""
    return LpSolver(compiled, scenario).solve()


def _use_dual_simplex(highs: highspy.Highs) -> None:
    highs.setOptionValue("solver", "simplex")
    highs.setOptionValue("simplex_strategy", 1)
    highs.setOptionValue("presolve", "off")


def _price_intervals(highs: highspy.Highs, compiled: CompiledLp, result: LpSolution, years: set[int] | None = None) -> None:
    """The exact left and right slopes of the optimal cost in each market row's right-hand side.

    The cost is convex and piecewise linear in the right-hand side b of a market row. Where the
    optimal basis stays optimal on both sides of b (HiGHS ranging), the dual is the slope on both
    sides. Where it does not (b sits on a step of the cost curve), re-solve from the optimal
    basis with b moved by d and take the new dual, after checking by ranging that the new basis
    is still optimal back at b, so that no other step lies between; otherwise halve the
    distance. One fewer allowance that makes the LP infeasible has an infinite cost.
    """
    # Dual simplex from the optimal basis: a few iterations per re-solve. After IPM + crossover
    # the simplex solver has not factored the basis yet, and ranging needs that: a run from the
    # optimal basis does it without iterating.
    basis = highs.getBasis()
    _use_dual_simplex(highs)
    if not _has_simplex_factor(highs):
        highs.setBasis(basis)
        run_highs(highs)
    ranging = _ranging(highs)
    for key, row in compiled.rows["market_balance"].items():
        right_hand_side = compiled.row_upper[row]
        if (years is not None and key[1] not in years) or not math.isfinite(right_hand_side):
            # Not asked for, or a row a rolling window has freed (no price): the raw dual stays.
            continue
        scale = max(1.0, abs(right_hand_side), abs(result.row_value[row]))
        tolerance = SOLVER_FEASIBILITY * scale
        slope = -result.row_dual[row]
        if basis.row_status[row] == highspy.HighsBasisStatus.kBasic:
            # The slack is in the basis: one more allowance changes nothing; one fewer does only
            # when no allowance is spare.
            low = 0.0
            spare = right_hand_side - result.row_value[row] > tolerance
            high = 0.0 if spare else _one_sided_slope(highs, basis, row, right_hand_side, -1, scale, tolerance, key, result)
        else:
            # HiGHS ranging: the interval of right-hand sides over which this basis stays optimal.
            # Otherwise the basis changes there: measure that side by a re-solve.
            if ranging.row_bound_up.value_[row] > right_hand_side + tolerance:
                low = slope
            else:
                low = _one_sided_slope(highs, basis, row, right_hand_side, +1, scale, tolerance, key, result)
            if ranging.row_bound_dn.value_[row] < right_hand_side - tolerance:
                high = slope
            else:
                high = _one_sided_slope(highs, basis, row, right_hand_side, -1, scale, tolerance, key, result)
        # As measured: the certificate checks signs and order before prices_from_duals rounds.
        result.balance_low[key] = low
        result.balance_high[key] = high


def _has_simplex_factor(highs: highspy.Highs) -> bool:
    """Whether the last run ended in simplex (so its factorisation of the basis is current)."""
    return highs.getInfo().ipm_iteration_count == 0 and highs.getInfo().pdlp_iteration_count == 0


def _ranging(highs: highspy.Highs):
    status, ranging = highs.getRanging()
    if status == highspy.HighsStatus.kError or not ranging.valid:
        raise SolverError("HiGHS could not range the optimal basis")
    return ranging


def _one_sided_slope(
    highs: highspy.Highs,
    basis,
    row: int,
    right_hand_side: float,
    direction: int,
    scale: float,
    tolerance: float,
    key,
    result: LpSolution,
) -> float:
    """Minus the dual just beside ``right_hand_side`` (direction +1: one more allowance).

    The probe distance never falls below ``PROBE_FLOOR_FACTOR`` x the tolerance: closer than that,
    HiGHS's own feasibility tolerance would accept the old basis and hide the step. If a probe at
    that floor still finds another step between it and the cap, its slope is only a bound (the
    cost is convex, so the interval it gives contains the exact one): ``key`` is then listed in
    ``result.unverified`` and the run reports it as a warning.
    """
    floor = PROBE_FLOOR_FACTOR * tolerance
    distance = max(1e-4 * scale, floor)
    try:
        for _ in range(MAX_INTERVAL_REFINEMENTS):
            highs.changeRowBounds(row, -INFINITY, right_hand_side + direction * distance)
            highs.setBasis(basis)
            run_highs(highs)
            status = highs.getModelStatus()
            if direction < 0 and status in (
                highspy.HighsModelStatus.kInfeasible,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            ):
                if distance <= floor:
                    return math.inf
                distance = max(distance / 1000.0, floor)
                continue
            if status != highspy.HighsModelStatus.kOptimal:
                raise SolverError(f"re-solve for a price interval ended {highs.modelStatusToString(status)}")
            probe = highs.getSolution()
            dual = probe.row_dual[row]
            if highs.getBasis().row_status[row] == highspy.HighsBasisStatus.kBasic:
                # A basic row's solution does not depend on its bound: valid back at the
                # original right-hand side while the row fits under it.
                reaches = probe.row_value[row] <= right_hand_side + tolerance
                edge = probe.row_value[row] - right_hand_side
            else:
                # The new basis must still be optimal back at the original right-hand side.
                ranging = _ranging(highs)
                if direction > 0:
                    reaches = ranging.row_bound_dn.value_[row] <= right_hand_side + tolerance
                    edge = ranging.row_bound_dn.value_[row] - right_hand_side
                else:
                    reaches = ranging.row_bound_up.value_[row] >= right_hand_side - tolerance
                    edge = right_hand_side - ranging.row_bound_up.value_[row]
            if reaches:
                return -dual
            if distance <= floor:
                result.unverified.append(key)
                return -dual
            distance = max(edge / 2.0, floor)
        raise SolverError("price interval did not converge; another step lies too close to the cap")
    finally:
        highs.changeRowBounds(row, -INFINITY, right_hand_side)
        highs.setBasis(basis)


def solve_elastic(compiled: CompiledLp, scenario: Scenario) -> dict:
    """The least total shortfall: each market row may be exceeded at unit cost, nothing else
    costs anything. Returns {market-year: shortfall in model units} for rows that fall short."""
    rows = compiled.rows.get("market_balance", {})
    highs = _new_highs(compiled, scenario)
    highs.setOptionValue("solver", "simplex")
    n_cols = compiled.shape[1]
    highs.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), np.zeros(n_cols))
    keys = list(rows)
    for key in keys:
        highs.addCol(1.0, 0.0, INFINITY, 1, np.array([rows[key]], dtype=np.int32), np.array([-1.0]))
    run_highs(highs)
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        # No number of allowances helps: a row of another family cannot be met.
        raise InfeasibleError([], detail=unmet_rows(compiled, scenario))
    if status != highspy.HighsModelStatus.kOptimal:
        # Never "no market-year is short": the diagnosis itself did not finish.
        raise SolverError(f"the scenario is infeasible, and the shortfall diagnosis ended {highs.modelStatusToString(status)}")
    values = highs.getSolution().col_value[n_cols:]
    return {key: value for key, value in zip(keys, values) if value > SOLVER_FEASIBILITY * max(1.0, abs(compiled.row_upper[rows[key]]))}


SHOWN_ROWS = 3
"""How many unmet rows an infeasibility names before it says "and N more"."""


def unmet_rows(compiled: CompiledLp, scenario: Scenario) -> str:
    """The rows that cannot be met even with unlimited allowances, named by component and index
    (``reserve_stock_limit['national']``): every row may be violated at unit cost, and the rows
    the least total violation needs are the ones at fault."""
    highs = _new_highs(compiled, scenario)
    highs.setOptionValue("solver", "simplex")
    n_rows, n_cols = compiled.shape
    highs.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), np.zeros(n_cols))
    # Two elastic columns a row: one lets it go above its upper bound, one below its lower.
    for row in range(n_rows):
        for sign in (-1.0, 1.0):
            highs.addCol(1.0, 0.0, INFINITY, 1, np.array([row], dtype=np.int32), np.array([sign]))
    run_highs(highs)
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return "the rows at fault could not be found"
    violation = np.asarray(highs.getSolution().col_value[n_cols:]).reshape(n_rows, 2).sum(axis=1)
    names = {position: (name, index) for name, positions in compiled.rows.items() for index, position in positions.items()}
    # Each row's violation is judged against the size of its own finite bound.
    finite = np.where(np.isfinite(compiled.row_upper), np.abs(compiled.row_upper), 0.0)
    bound = np.maximum(finite, np.where(np.isfinite(compiled.row_lower), np.abs(compiled.row_lower), 0.0))
    unmet = [
        f"{names[row][0]}[{names[row][1]!r}] by {violation[row]:.6g}" if row in names else f"row {row} by {violation[row]:.6g}"
        for row in np.flatnonzero(violation > SOLVER_FEASIBILITY * np.maximum(1.0, bound))
    ]
    more = f" and {len(unmet) - SHOWN_ROWS} more" if len(unmet) > SHOWN_ROWS else ""
    return "cannot be met: " + ", ".join(unmet[:SHOWN_ROWS]) + more + " (model units)" if unmet else "the rows at fault could not be found"


def prices_from_duals(
    solution: LpSolution, compiled: CompiledLp, data: ModelData
) -> dict[tuple[str, int], dict[str, float]]:
    """Allowance prices per market-year in money of that year (the one place duals become prices).

    Sign and discounting: HiGHS's dual y of ``market_balance[m, t]`` is the change of the
    discounted objective per unit more right-hand side (one more allowance), so y <= 0 and the
    price in first-year money is -y; in money of year t it is -y / delta_t with
    delta_t = (1 + r)^-(t - t0). ``price_low`` and ``price_high`` are the measured one-sided slopes,
    divided the same way. Called only after ``certificate.certify_lp`` has checked the raw duals
    and intervals (signs, order, the dual inside its interval); only then are solver-noise
    negatives rounded to 0 and the point price clamped into its interval (it is HiGHS's dual from
    the main solve, deterministic for the same inputs).

    A market row the compiler dropped (no variable in it, and met) has price 0; its price_high is
    infinite when it is met with nothing to spare (one fewer allowance is infeasible).
    ``offset_spread`` is the offset_limit dual in money of the year and ``offset_price`` = price -
    spread (the value of one more usable credit).
    """
    discount = data.discount_by_year()
    balance_rows = compiled.rows.get("market_balance", {})
    constant_balances = compiled.constant_rows.get("market_balance", {})
    offset_rows = compiled.rows.get("offset_limit", {})
    prices = {}
    for market in data.markets:
        for year in data.years:
            key = (market, year)
            weight = discount[year]
            if key in balance_rows:
                low = max(solution.balance_low[key], 0.0) / weight
                high = max(solution.balance_high[key], solution.balance_low[key], 0.0) / weight
                point = min(max(-solution.row_dual[balance_rows[key]] / weight, low), high)
            else:
                spare = constant_balances.get(key, math.inf)
                point = low = 0.0
                high = math.inf if abs(spare) <= SOLVER_FEASIBILITY * max(1.0, abs(spare)) else 0.0
            entry = {"price": point, "price_low": low, "price_high": high}
            if key in offset_rows:
                spread = max(-solution.row_dual[offset_rows[key]] / weight, 0.0)
                entry["offset_spread"] = spread
                entry["offset_price"] = point - spread
            prices[key] = entry
    return prices
