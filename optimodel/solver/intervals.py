"""Exact price intervals: the left and right slopes of the optimal cost in each market row's
right-hand side, by ranging and, where the basis changes at the cap, by re-solves
(``price_intervals``)."""

from __future__ import annotations

import logging
import math

import highspy
import numpy as np

from optimodel.errors import SolverError
from optimodel.model.lp import INFINITY, CompiledLp, LpSolution
from optimodel.solver.highs import run_highs, use_dual_simplex
from optimodel.tolerances import PROBE_FLOOR_FACTOR, SOLVER_FEASIBILITY

log = logging.getLogger(__name__)

MAX_INTERVAL_REFINEMENTS = 40
RATE_ZERO = 1e-12
"""Entries of B^-1 e_row smaller than this are zero in the ratio test (HiGHS's ranging does the same)."""


def price_intervals(highs: highspy.Highs, compiled: CompiledLp, result: LpSolution, years: set[int] | None = None) -> None:
    """The exact left and right slopes of the optimal cost in each market row's right-hand side.

    The cost is convex and piecewise linear in the right-hand side b of a market row, and its
    slopes either side of b are the least and the greatest price over all optimal duals. Where
    the optimal basis stays optimal on both sides of b (``row_range``), its dual is the slope on
    both sides. Where it does not (b sits on a step of the cost curve), re-solve with b moved by d
    and take the new dual, after checking that the new basis is still optimal back at b, so that
    no other step lies between; otherwise halve the distance. One fewer allowance that makes the
    LP infeasible has an infinite cost.

    Rows that a column strictly inside its bounds links (a bank carried between two years: its
    reduced cost is zero in every optimal dual, by complementary slackness) have prices tied by
    that column, so the rows it links share one interval, mapped along the links
    (``_linked_rows``): one row of each group is probed, not each.

    Any optimal basis at b serves: a probe starts from wherever the last probe ended (dual
    feasible, as dual simplex leaves every basis), the other rows back at b, so that each probe
    costs one re-solve. HiGHS gets the optimal basis back at the end.
    """
    basis = highs.getBasis()
    # Dual simplex from the optimal basis: a few iterations per re-solve. After IPM + crossover
    # the simplex solver has not factored the basis yet, and ranging needs that: a run from the
    # optimal basis does it without iterating.
    use_dual_simplex(highs)
    if not _has_simplex_factor(highs):
        highs.setBasis(basis)
        run_highs(highs)
    priced = {
        key: row
        for key, row in compiled.rows["market_balance"].items()
        # Not asked for, or a row a rolling window has freed (no price): the raw dual stays.
        if (years is None or key[1] in years) and math.isfinite(compiled.row_upper[row])
    }
    basic_rows = _basic_rows(highs)
    probes: dict[int, _Probe] = {}
    # Each side as the optimal basis shows it, where it can; None: the basis changes there.
    low: dict[int, float | None] = {}
    high: dict[int, float | None] = {}
    for key, row in priced.items():
        right_hand_side = compiled.row_upper[row]
        scale = max(1.0, abs(right_hand_side), abs(result.row_value[row]))
        tolerance = SOLVER_FEASIBILITY * scale
        slope = -result.row_dual[row]
        probes[row] = _Probe(highs, compiled, basis, row, right_hand_side, scale, tolerance, key, result)
        if row in basic_rows:
            # The slack is in the basis: one more allowance changes nothing; one fewer does only
            # when no allowance is spare.
            low[row] = 0.0
            high[row] = 0.0 if right_hand_side - result.row_value[row] > tolerance else None
        else:
            # How far b may move either way with this basis still optimal.
            down, up = row_range(highs, compiled, row, right_hand_side, result.col_value, result.row_value)
            low[row] = slope if up > tolerance else None
            high[row] = slope if down > tolerance else None
    for members in _linked_rows(compiled, result, list(priced.values())):
        _settle_group(members, low, high, probes)
    for key, row in priced.items():
        # As measured: the certificate checks signs and order before prices_from_duals rounds.
        result.balance_low[key] = low[row]
        result.balance_high[key] = high[row]
    if any(probe.runs for probe in probes.values()):
        highs.setBasis(basis)


def _settle_group(members: list[tuple[int, float, float]], low: dict, high: dict, probes: dict) -> None:
    """Fill the unknown sides of one group of linked rows, each ``(row, scale, offset)`` with
    slope = scale x the first row's slope + offset in every optimal dual: from a side some member
    knows, mapped, or else from one probe of the first row."""
    root = members[0][0]
    root_low = root_high = None
    for row, scale, offset in members:
        # A member's low side is the first row's low side when the map rises, its high side when it falls.
        for side, value in ((+1, low[row]), (-1, high[row])):
            if value is None:
                continue
            root_value = (value - offset) / scale
            if side * scale > 0:
                root_low = root_value if root_low is None else root_low
            else:
                root_high = root_value if root_high is None else root_high
    if root_low is None:
        root_low = probes[root].slope(+1)
    if root_high is None:
        root_high = probes[root].slope(-1)
    guessed = probes[root].unverified
    for row, scale, offset in members:
        mapped = sorted((scale * root_low + offset, scale * root_high + offset))
        if guessed and row != root and (low[row] is None or high[row] is None):
            probes[row].result.unverified.append(probes[row].key)
        if low[row] is None:
            low[row] = mapped[0]
        if high[row] is None:
            high[row] = mapped[1]


def _linked_rows(compiled: CompiledLp, result: LpSolution, rows: list[int]) -> list[list[tuple[int, float, float]]]:
    """The rows in groups whose slopes are tied in every optimal dual, each member as
    ``(row, scale, offset)``: slope = scale x the group's first slope + offset.

    A column j strictly inside its bounds at the optimum has a zero reduced cost in every
    optimal dual: c_j - a_1 y_1 - a_2 y_2 = 0. If its only entries are in two priced rows, their
    slopes s = -y obey s_2 = (-a_1 / a_2) s_1 - c_j / a_2."""
    matrix = compiled.matrix
    priced = np.zeros(compiled.shape[0], dtype=bool)
    priced[rows] = True
    counts = np.diff(matrix.indptr)
    pairs = np.flatnonzero(counts == 2)
    first, second = matrix.indptr[pairs], matrix.indptr[pairs] + 1
    value = result.col_value[pairs]
    margin = SOLVER_FEASIBILITY * np.maximum(1.0, np.abs(value))
    inside = (value - compiled.col_lower[pairs] > margin) & (compiled.col_upper[pairs] - value > margin)
    linking = inside & priced[matrix.indices[first]] & priced[matrix.indices[second]]
    parent: dict[int, tuple[int, float, float]] = {row: (row, 1.0, 0.0) for row in rows}

    def find(row: int) -> tuple[int, float, float]:
        """(root, scale, offset) with slope(row) = scale x slope(root) + offset."""
        scale, offset = 1.0, 0.0
        while parent[row][0] != row:
            above, step_scale, step_offset = parent[row]
            scale, offset = scale * step_scale, scale * step_offset + offset
            row = above
        return row, scale, offset

    for column, one, two in zip(pairs[linking], first[linking], second[linking], strict=True):
        row_one, row_two = int(matrix.indices[one]), int(matrix.indices[two])
        a_one, a_two = float(matrix.data[one]), float(matrix.data[two])
        # slope(row_two) = scale x slope(row_one) + offset.
        scale, offset = -a_one / a_two, -float(compiled.cost[column]) / a_two
        root_one, scale_one, offset_one = find(row_one)
        root_two, scale_two, offset_two = find(row_two)
        if root_one == root_two:
            continue
        # slope(root_two) = (scale x (scale_one x slope(root_one) + offset_one) + offset - offset_two) / scale_two.
        parent[root_two] = (root_one, scale * scale_one / scale_two, (scale * offset_one + offset - offset_two) / scale_two)
    groups: dict[int, list[tuple[int, float, float]]] = {}
    for row in rows:
        root, scale, offset = find(row)
        groups.setdefault(root, []).append((row, scale, offset))
    # The root first: its own map is (1, 0).
    ordered = []
    for root, members in groups.items():
        ordered.append([member for member in members if member[0] == root] + [member for member in members if member[0] != root])
    return ordered


def _has_simplex_factor(highs: highspy.Highs) -> bool:
    """Whether the last run ended in simplex (so its factorisation of the basis is current)."""
    return highs.getInfo().ipm_iteration_count == 0 and highs.getInfo().pdlp_iteration_count == 0


def _basic_variables(highs: highspy.Highs) -> np.ndarray:
    """The basis in HiGHS's order: a column's index, or -1 - r for row r (as numpy, unlike
    ``getBasis``, whose statuses convert one Python object each: 2 s on a million columns)."""
    # getBasicVariables and getBasisSolve exist in highspy but are missing from its type stubs.
    status, basic = highs.getBasicVariables()  # type: ignore[attr-defined]
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS has no factored basis to range")
    return np.asarray(basic)


def _basic_rows(highs: highspy.Highs) -> set[int]:
    basic = _basic_variables(highs)
    return set((-basic[basic < 0] - 1).tolist())


def row_range(
    highs: highspy.Highs, compiled: CompiledLp, row: int, bound: float, col_value: np.ndarray, row_value: np.ndarray
) -> tuple[float, float]:
    """How far the upper bound of nonbasic ``row`` may fall and rise from ``bound``, where it is, before
    HiGHS's current basis turns primal infeasible: what ``getRanging`` gives as ``row_bound_dn``
    and ``row_bound_up`` (less the bound), for one row, by one solve with the factored basis.

    Moving the row's bound by t moves basic column j by t x (B^-1 e_row)_j and basic row i's
    activity by -t x (B^-1 e_row)_i (HiGHS's logical columns are +I on minus the activity;
    tests/test_intervals.py holds this against ``getRanging``)."""
    basic = _basic_variables(highs)
    unit = np.zeros(compiled.shape[0])
    unit[row] = 1.0
    status, direction = highs.getBasisSolve(unit)  # type: ignore[attr-defined]
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS could not solve with its basis")
    direction = np.asarray(direction)
    is_column = basic >= 0
    columns, rows = basic[is_column], -basic[~is_column] - 1
    rate = np.concatenate([direction[is_column], -direction[~is_column]])
    value = np.concatenate([col_value[columns], row_value[rows]])
    lower = np.concatenate([compiled.col_lower[columns], compiled.row_lower[rows]])
    upper = np.concatenate([compiled.col_upper[columns], compiled.row_upper[rows]])
    rising, falling = rate > RATE_ZERO, rate < -RATE_ZERO
    with np.errstate(invalid="ignore"):
        # Rows and columns with an infinite bound never block: (inf - value) / rate is inf.
        up = np.concatenate([(upper - value)[rising] / rate[rising], (lower - value)[falling] / rate[falling]])
        down = np.concatenate([(value - lower)[rising] / rate[rising], (upper - value)[falling] / -rate[falling]])
    # The bound cannot fall below the row's own lower bound (as in getRanging).
    own = float(bound - compiled.row_lower[row])
    return (min(float(down.min()) if len(down) else math.inf, own), float(up.min()) if len(up) else math.inf)


class _Probe:
    """Re-solves of one market row with its right-hand side moved (``slope``)."""

    def __init__(
        self, highs, compiled: CompiledLp, basis, row: int, right_hand_side: float, scale: float, tolerance: float, key, result: LpSolution
    ) -> None:
        self.highs, self.compiled, self.basis, self.row = highs, compiled, basis, row
        self.right_hand_side, self.scale, self.tolerance = right_hand_side, scale, tolerance
        self.key, self.result = key, result
        self.runs = 0
        self.unverified = False
        """Whether a slope measured is only a bound (see ``slope``)."""

    def slope(self, direction: int) -> float:
        """Minus the dual just beside the right-hand side (direction +1: one more allowance).

        The probe distance never falls below ``PROBE_FLOOR_FACTOR`` x the tolerance: closer than
        that, HiGHS's own feasibility tolerance would accept the old basis and hide the step. If a
        probe at that floor still finds another step between it and the cap, its slope is only a
        bound (the cost is convex, so the interval it gives contains the exact one): ``key`` is
        then listed in ``result.unverified`` and the run reports it as a warning.
        """
        highs, row, right_hand_side, tolerance = self.highs, self.row, self.right_hand_side, self.tolerance
        floor = PROBE_FLOOR_FACTOR * tolerance
        distance = max(1e-4 * self.scale, floor)
        try:
            for _ in range(MAX_INTERVAL_REFINEMENTS):
                moved = right_hand_side + direction * distance
                highs.changeRowBounds(row, -INFINITY, moved)
                run_highs(highs)
                self.runs += 1
                status = highs.getModelStatus()
                if direction < 0 and status in (
                    highspy.HighsModelStatus.kInfeasible,
                    highspy.HighsModelStatus.kUnboundedOrInfeasible,
                ):
                    # The next probe starts from the optimal basis, not from a proof of infeasibility.
                    highs.setBasis(self.basis)
                    if distance <= floor:
                        return math.inf
                    distance = max(distance / 1000.0, floor)
                    continue
                if status != highspy.HighsModelStatus.kOptimal:
                    raise SolverError(f"re-solve for a price interval ended {highs.modelStatusToString(status)}")
                solution = highs.getSolution()
                dual = solution.row_dual[row]
                row_value = np.asarray(solution.row_value)
                if row in _basic_rows(highs):
                    # A basic row's solution does not depend on its bound: valid back at the
                    # original right-hand side while the row fits under it.
                    reaches = row_value[row] <= right_hand_side + tolerance
                    edge = row_value[row] - right_hand_side
                else:
                    # The new basis must still be optimal back at the original right-hand side.
                    down, up = row_range(highs, self.compiled, row, moved, np.asarray(solution.col_value), row_value)
                    if direction > 0:
                        edge = moved - down - right_hand_side
                        reaches = edge <= tolerance
                    else:
                        edge = right_hand_side - (moved + up)
                        reaches = edge <= tolerance
                if reaches:
                    return -dual
                if distance <= floor:
                    self.unverified = True
                    self.result.unverified.append(self.key)
                    return -dual
                distance = max(edge / 2.0, floor)
            raise SolverError("price interval did not converge; another step lies too close to the cap")
        finally:
            highs.changeRowBounds(row, -INFINITY, right_hand_side)
