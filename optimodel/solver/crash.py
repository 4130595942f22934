"""A starting basis for the first dual simplex solve of a large LP, from a small aggregated LP.

Most of this model's columns are boxed abatement steps, and every step of one market-year has
the same column (the same rows, the same coefficients): they differ only in cost and size. From
a cold start, dual simplex walks each year's merit order in long bound-flipping steps, and each
of its iterations visits all 193,600 columns (0.5 s on the default). Here the steps of each
column pattern, in cost order, are summed into buckets of ``BUCKET_STEPS`` (3,036 columns on the
default), that small LP is solved, and its basis is carried over: a bucket's rows keep their
status, a basic bucket hands its place to the member whose reduced cost is nearest zero, and
every other boxed column sits at the bound its reduced cost under the small LP's duals asks for.
HiGHS then solves the full LP from there (one iteration on the default, 0.06 s).

Only the starting point changes: HiGHS still solves the LP as built, to the same tolerances,
and everything after (duals, intervals, the certificate) reads that solve. Where the small LP
is not solved to optimality, the full LP starts cold as before.
"""

from __future__ import annotations

import logging

import highspy
import numpy as np

from optimodel.model.lp import CompiledLp
from optimodel.solver.highs import pass_arrays, quiet_highs, run_highs

log = logging.getLogger(__name__)

CRASH_ABOVE_COLUMNS = 20_000
"""LPs with fewer boxed one- or two-entry columns start cold: they solve in milliseconds, and on
a degenerate small case a cold start is the reference the hand-derived tests were written for."""
BUCKET_STEPS = 64
"""Steps summed into one column of the small LP (measured on the default: 64 gives 3,036
columns, solved in 0.02 s, and leaves the full LP one iteration)."""

_STATUS = [highspy.HighsBasisStatus(code) for code in range(5)]
LOWER, BASIC, UPPER = 0, 1, 2
"""``highspy.HighsBasisStatus`` codes."""


def crash_basis(compiled: CompiledLp) -> highspy.HighsBasis | None:
    """A valid basis of ``compiled`` built from the aggregated LP, or None (start cold)."""
    matrix = compiled.matrix
    n_rows, n_cols = compiled.shape
    counts = np.diff(matrix.indptr)
    boxed = (compiled.col_lower == 0.0) & np.isfinite(compiled.col_upper) & (counts >= 1) & (counts <= 2)
    steps = np.flatnonzero(boxed)
    if len(steps) < CRASH_ABOVE_COLUMNS or n_rows == 0:
        return None
    start = matrix.indptr[steps]
    two = counts[steps] == 2
    second = np.minimum(start + 1, len(matrix.indices) - 1)
    first_row, first_value = matrix.indices[start], matrix.data[start]
    second_row = np.where(two, matrix.indices[second], -1)
    second_value = np.where(two, matrix.data[second], 0.0)
    # Columns of one pattern together, cheapest first.
    order = np.lexsort((compiled.cost[steps], second_value, second_row, first_value, first_row))
    steps, first_row, first_value = steps[order], first_row[order], first_value[order]
    second_row, second_value = second_row[order], second_value[order]
    new_pattern = np.ones(len(steps), dtype=bool)
    new_pattern[1:] = (
        (first_row[1:] != first_row[:-1])
        | (second_row[1:] != second_row[:-1])
        | (first_value[1:] != first_value[:-1])
        | (second_value[1:] != second_value[:-1])
    )
    pattern_start = np.flatnonzero(new_pattern)
    rank = np.arange(len(steps)) - pattern_start[np.cumsum(new_pattern) - 1]
    new_bucket = new_pattern | (rank % BUCKET_STEPS == 0)
    bucket = np.cumsum(new_bucket) - 1
    leaders = np.flatnonzero(new_bucket)
    n_buckets = len(leaders)
    size = np.bincount(bucket, weights=compiled.col_upper[steps], minlength=n_buckets)
    spent = np.bincount(bucket, weights=compiled.cost[steps] * compiled.col_upper[steps], minlength=n_buckets)
    members = np.bincount(bucket, minlength=n_buckets)
    mean_cost = np.bincount(bucket, weights=compiled.cost[steps], minlength=n_buckets) / members
    cost = np.where(size > 0, spent / np.where(size > 0, size, 1.0), mean_cost)

    others = np.flatnonzero(~boxed)
    other_counts = counts[others]
    other_entries = np.repeat(matrix.indptr[others], other_counts) + (
        np.arange(other_counts.sum()) - np.repeat(np.cumsum(other_counts) - other_counts, other_counts)
    )
    bucket_two = two[leaders]
    bucket_counts = 1 + bucket_two.astype(np.int64)
    bucket_rows = np.stack([first_row[leaders], second_row[leaders]], axis=1)
    bucket_values = np.stack([first_value[leaders], second_value[leaders]], axis=1)
    keep = np.stack([np.ones(n_buckets, dtype=bool), bucket_two], axis=1)
    highs = quiet_highs()
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("solver", "simplex")
    highs.setOptionValue("simplex_strategy", 1)
    highs.setOptionValue("random_seed", 0)
    passed = pass_arrays(
        highs,
        np.concatenate([compiled.cost[others], cost]),
        np.concatenate([compiled.col_lower[others], np.zeros(n_buckets)]),
        np.concatenate([compiled.col_upper[others], size]),
        compiled.row_lower,
        compiled.row_upper,
        np.concatenate([[0], np.cumsum(np.concatenate([other_counts, bucket_counts]))]),
        np.concatenate([matrix.indices[other_entries], bucket_rows[keep]]),
        np.concatenate([matrix.data[other_entries], bucket_values[keep]]),
    )
    if passed == highspy.HighsStatus.kError:
        return None
    run_highs(highs)
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        log.debug("crash: the aggregated LP ended %s; starting cold", highs.modelStatusToString(highs.getModelStatus()))
        return None
    small = highs.getBasis()
    if not small.valid:
        return None
    dual = np.asarray(highs.getSolution().row_dual)
    small_status = np.array([int(status) for status in small.col_status], dtype=np.int64)
    reduced = compiled.cost - matrix.transpose_dot(dual)
    status = np.where(reduced < 0.0, UPPER, LOWER)
    status[others] = small_status[: len(others)]
    basic_buckets = small_status[len(others) :] == BASIC
    # A basic bucket's place goes to its member nearest a zero reduced cost: the marginal step.
    candidates = np.flatnonzero(basic_buckets[bucket])
    if len(candidates):
        nearest = np.lexsort((np.abs(reduced[steps[candidates]]), bucket[candidates]))
        ordered = candidates[nearest]
        first_of_bucket = np.ones(len(ordered), dtype=bool)
        first_of_bucket[1:] = bucket[ordered[1:]] != bucket[ordered[:-1]]
        status[steps[ordered[first_of_bucket]]] = BASIC
    basis = highspy.HighsBasis()
    basis.col_status = [_STATUS[code] for code in status.tolist()]
    basis.row_status = list(small.row_status)
    basis.valid = True
    log.debug("crash: %d steps in %d buckets", len(steps), n_buckets)
    return basis
