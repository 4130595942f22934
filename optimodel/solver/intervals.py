"""Exact price intervals: the left and right slopes of the optimal cost in each market row's
right-hand side, by HiGHS ranging and, where the basis changes at the cap, by re-solves from the
optimal basis (``price_intervals``)."""

from __future__ import annotations

import logging
import math

import highspy

from optimodel.errors import SolverError
from optimodel.model.lp import INFINITY, CompiledLp, LpSolution
from optimodel.solver.highs import run_highs, use_dual_simplex
from optimodel.tolerances import PROBE_FLOOR_FACTOR, SOLVER_FEASIBILITY

log = logging.getLogger(__name__)

MAX_INTERVAL_REFINEMENTS = 40


def price_intervals(highs: highspy.Highs, compiled: CompiledLp, result: LpSolution, years: set[int] | None = None) -> None:
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
    use_dual_simplex(highs)
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

