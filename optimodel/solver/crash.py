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

Capacity options couple their steps through rows of their own (each step within the capacity
in service, which builds of earlier years provide), so their steps have three entries and no
pattern to share. A family names such a block (``PolicyFamily.crash_block``): its columns start
basic (the builds), its rows tight or basic. The block's tight-row duals follow from its basic
columns' costs (each build's reduced cost zero: a triangular system, solved by substitution), and
the small LP sees each coupled step alone, priced at its cost plus those duals (a capacity step at
its operating cost plus the capacity rent of its year), so it is summed into buckets with the
others. On the 10x capacity instance the small LP went from 1.08M rows (13 s) to 22 rows.

Only the starting point changes: HiGHS still solves the LP as built, to the same tolerances,
and everything after (duals, intervals, the certificate) reads that solve. Where the small LP
is not solved to optimality, the full LP starts cold as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import highspy
import numpy as np

from optimodel.model.lp import CompiledLp, CrashBlock, CscMatrix
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
MAX_SUBSTITUTIONS = 1000
"""A block's duals are found by substitution in at most this many sweeps (one per year of the
longest chain of builds), or the block is left in the small LP."""


def crash_basis(compiled: CompiledLp, blocks: Sequence[CrashBlock] = ()) -> highspy.HighsBasis | None:
    """A valid basis of ``compiled`` built from the aggregated LP, or None (start cold). The
    ``blocks`` (from the families) are left out of the small LP and start as they say."""
    reduced = _without_blocks(compiled, blocks) if blocks else None
    if reduced is None:
        statuses = _aggregated_statuses(compiled)
        if statuses is None:
            return None
        col_status, row_status = statuses
    else:
        lp, kept_columns, kept_rows = reduced
        statuses = _aggregated_statuses(lp)
        if statuses is None:
            return None
        n_rows, n_cols = compiled.shape
        col_status = np.full(n_cols, BASIC, dtype=np.int64)
        col_status[kept_columns] = statuses[0]
        row_status = np.full(n_rows, BASIC, dtype=np.int64)
        row_status[kept_rows] = statuses[1]
        for block in blocks:
            row_status[block.tight_rows] = UPPER
    basis = highspy.HighsBasis()
    basis.col_status = [_STATUS[code] for code in col_status.tolist()]
    basis.row_status = [_STATUS[code] for code in row_status.tolist()]
    basis.valid = True
    return basis


def _without_blocks(compiled: CompiledLp, blocks: Sequence[CrashBlock]) -> tuple[CompiledLp, np.ndarray, np.ndarray] | None:
    """The LP without the blocks' columns and rows, each other column's cost less its entries in
    the tight rows times their duals; with the positions of the columns and rows it keeps. None
    when a block's duals cannot be found by substitution."""
    n_rows, n_cols = compiled.shape
    matrix = compiled.matrix
    dual = np.zeros(n_rows)
    coupled = np.zeros(n_rows, dtype=bool)
    kept = np.ones(n_cols, dtype=bool)
    for block in blocks:
        block_dual = _block_duals(compiled, block)
        if block_dual is None:
            return None
        dual[block.tight_rows] = block_dual
        coupled[block.tight_rows] = coupled[block.basic_rows] = True
        kept[block.basic_columns] = False
    # Entries stay in column order and the kept rows keep their order: the CSC arrays are
    # filtered, not sorted again (10.9M entries at 10x with capacity).
    counts = np.diff(matrix.indptr)
    keep_entry = ~coupled[matrix.indices] & np.repeat(kept, counts)
    kept_columns, kept_rows = np.flatnonzero(kept), np.flatnonzero(~coupled)
    new_row = np.cumsum(~coupled) - 1
    running = np.concatenate(([0], np.cumsum(keep_entry, dtype=np.int64)))
    kept_counts = (running[matrix.indptr[1:]] - running[matrix.indptr[:-1]])[kept_columns]
    reduced = CscMatrix(
        shape=(len(kept_rows), len(kept_columns)),
        indptr=np.concatenate(([0], np.cumsum(kept_counts))).astype(np.int64),
        indices=new_row[matrix.indices[keep_entry]],
        data=matrix.data[keep_entry],
    )
    # Each column's cost less its entries in the tight rows times their duals.
    in_tight = np.flatnonzero(dual[matrix.indices] != 0.0)
    column_of_entry = np.searchsorted(matrix.indptr, in_tight, side="right") - 1
    cost = compiled.cost - np.bincount(column_of_entry, weights=matrix.data[in_tight] * dual[matrix.indices[in_tight]], minlength=n_cols)
    lp = CompiledLp(
        cost=cost[kept_columns], offset=0.0, col_lower=compiled.col_lower[kept_columns], col_upper=compiled.col_upper[kept_columns],
        row_lower=compiled.row_lower[kept_rows], row_upper=compiled.row_upper[kept_rows], matrix=reduced,
    )
    return lp, kept_columns, kept_rows


def _block_duals(compiled: CompiledLp, block: CrashBlock) -> np.ndarray | None:
    """The tight rows' duals y that make every basic column's reduced cost zero with the basic
    rows' duals zero: sum over tight rows r of a_rj y_r = c_j. Column j's entry in row j is its
    diagonal; the rest is triangular (a build serves later years' rows), so substitution sweeps
    end exact. None when a basic column reaches a row outside the block, or they do not end."""
    matrix = compiled.matrix
    n = len(block.basic_columns)
    position = np.full(compiled.shape[0], -1, dtype=np.int64)
    position[block.tight_rows] = np.arange(n)
    in_block = np.zeros(compiled.shape[0], dtype=bool)
    in_block[block.basic_rows] = True
    entries, counts = _column_entries(matrix, block.basic_columns)
    owner = np.repeat(np.arange(n), counts)
    rows, values = matrix.indices[entries], matrix.data[entries]
    tight = position[rows] >= 0
    if not np.all(tight | in_block[rows]):
        return None
    target, values, owner = position[rows[tight]], values[tight], owner[tight]
    on_diagonal = target == owner
    diagonal = np.zeros(n)
    diagonal[owner[on_diagonal]] = values[on_diagonal]
    if np.any(diagonal == 0.0):
        return None
    cost = compiled.cost[block.basic_columns]
    off = ~on_diagonal
    dual = cost / diagonal
    for _ in range(MAX_SUBSTITUTIONS):
        others = np.bincount(owner[off], weights=values[off] * dual[target[off]], minlength=n)
        following = (cost - others) / diagonal
        if np.array_equal(following, dual):
            return dual
        dual = following
    return None


def _column_entries(matrix: CscMatrix, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions in ``matrix.indices`` and ``matrix.data`` of the entries of ``columns``, in
    order, and each column's number of entries."""
    starts = matrix.indptr[columns]
    counts = matrix.indptr[columns + 1] - starts
    return np.repeat(starts, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)), counts


def _aggregated_statuses(compiled: CompiledLp) -> tuple[np.ndarray, np.ndarray] | None:
    """Column and row status codes of ``compiled`` from its aggregated LP, or None."""
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
    other_entries, other_counts = _column_entries(matrix, others)
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
    log.debug("crash: %d steps in %d buckets", len(steps), n_buckets)
    return status, np.array([int(code) for code in small.row_status], dtype=np.int64)
