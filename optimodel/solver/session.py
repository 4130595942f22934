"""The LP session: one HiGHS instance holding a compiled LP that is solved, then re-solved warm
after its right-hand sides, bounds or costs move (sweeps, rolling windows, Monte Carlo draws).
Duals are read only from an Optimal solve; the price intervals come from ``intervals``."""

from __future__ import annotations

import logging
import time

import highspy
import numpy as np

from optimodel.errors import SolverError
from optimodel.inputs.scenario import Scenario, SolverMethod
from optimodel.model.lp import CompiledLp, CrashBlock, LpSolution
from optimodel.solver.crash import crash_basis
from optimodel.solver.highs import highs_version, new_highs, resolved_method, run_highs, use_dual_simplex
from optimodel.solver.intervals import price_intervals

log = logging.getLogger(__name__)


class Infeasible(Exception):
    """HiGHS proved the LP infeasible; the caller diagnoses it in policy terms."""


class LpSolver:
    """One HiGHS instance holding a compiled LP that can be re-solved after its right-hand sides
    or costs change, warm-started from the last optimal basis (dual simplex: a change of
    right-hand sides keeps the basis dual feasible)."""

    def __init__(self, compiled: CompiledLp, scenario: Scenario) -> None:
        self.compiled = compiled
        self.scenario = scenario
        self.highs = new_highs(compiled, scenario)
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
            use_dual_simplex(highs)
            highs.setBasis(self.basis)
        elif self.scenario.solver.crash and resolved_method(self.scenario.solver.method, self.compiled.shape[1], True) is SolverMethod.simplex:
            # The first solve of a large LP starts from the aggregated LP's basis (``crash``).
            crashed = crash_basis(self.compiled, crash_blocks(self.compiled))
            if crashed is not None:
                highs.setBasis(crashed)
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
            use_dual_simplex(highs)
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
            price_intervals(highs, self.compiled, result, interval_years)
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


def crash_blocks(compiled: CompiledLp) -> list[CrashBlock]:
    """The blocks the families keep out of the crash basis's small LP (``PolicyFamily.crash_block``)."""
    from optimodel.model.build import FAMILIES

    blocks = []
    for family in FAMILIES:
        if family.crash_block is not None:
            block = family.crash_block(compiled)
            if block is not None:
                blocks.append(block)
    return blocks


def solve_lp(compiled: CompiledLp, scenario: Scenario) -> LpSolution:
    """Solve the compiled LP once (see ``LpSolver`` for re-solves)."""
    return LpSolver(compiled, scenario).solve()

