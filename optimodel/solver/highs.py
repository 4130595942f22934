"""HiGHS through highspy: a quiet instance holding a compiled LP, its options, and HiGHS's log on
stderr (stdout carries the price table only)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import highspy
import numpy as np

from optimodel.errors import SolverError
from optimodel.inputs.scenario import Scenario, SolverMethod
from optimodel.model.lp import CompiledLp

log = logging.getLogger(__name__)




AUTO_IPM_COLUMNS = 300_000
"""Without a crash basis, above this many columns ``auto`` uses IPM + crossover instead of dual
simplex. Measured cold (docs/performance.md): 193,643 columns, dual simplex 0.46 s against IPM
0.77 s; 369,683 columns (the default looking ahead to 2045), 21 s against 2.7 s. From the crash
basis dual simplex wins at every size measured: the look-ahead in 0.32 s against 3.5 s, 10x
the default (1.9M columns) in 1.9 s against 13.6 s."""


def resolved_method(method: SolverMethod, columns: int, crash: bool = True) -> SolverMethod:
    """The HiGHS algorithm ``method`` stands for on an LP with ``columns`` columns, started from
    the crash basis or (``crash`` False) cold."""
    if method is not SolverMethod.auto:
        return method
    return SolverMethod.ipm if columns > AUTO_IPM_COLUMNS and not crash else SolverMethod.simplex


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


def new_highs(compiled: CompiledLp, scenario: Scenario) -> highspy.Highs:
    highs = quiet_highs()
    highs.setOptionValue("output_flag", log.isEnabledFor(logging.DEBUG))
    highs.setOptionValue("random_seed", 0)
    options = scenario.solver
    # Presolve off by default: on this model's shape HiGHS's presolve (its aggregator) costs far
    # more than the solve it saves (benchmarks/README.md).
    highs.setOptionValue("presolve", "on" if options.presolve else "off")
    method = resolved_method(options.method, compiled.shape[1], options.crash)
    highs.setOptionValue("solver", method.value)
    if method is SolverMethod.ipm:
        # Crossover gives the basis that ranging and warm re-solves need.
        highs.setOptionValue("run_crossover", "on")
    if options.time_limit_seconds is not None:
        highs.setOptionValue("time_limit", float(options.time_limit_seconds))
    matrix = compiled.matrix
    status = pass_arrays(
        highs, compiled.cost, compiled.col_lower, compiled.col_upper, compiled.row_lower, compiled.row_upper,
        matrix.indptr, matrix.indices, matrix.data, compiled.offset,
    )
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")
    return highs


def pass_arrays(
    highs: highspy.Highs,
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    start: np.ndarray,
    index: np.ndarray,
    value: np.ndarray,
    offset: float = 0.0,
) -> highspy.HighsStatus:
    """Hand HiGHS the LP min cost x + offset, row_lower <= A x <= row_upper, col_lower <= x <=
    col_upper, with A by column (``start`` has one entry per column and one past the last).

    The arrays go to HiGHS's C interface as they are: 0.01 s on the default, where filling a
    HighsLp converts them element by element (0.06 s). Integrality all 0: every column continuous."""
    n_cols, n_rows = len(cost), len(row_lower)
    return highs.passModel(
        n_cols,
        n_rows,
        len(index),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        float(offset),
        np.ascontiguousarray(cost, dtype=float),
        np.ascontiguousarray(col_lower, dtype=float),
        np.ascontiguousarray(col_upper, dtype=float),
        np.ascontiguousarray(row_lower, dtype=float),
        np.ascontiguousarray(row_upper, dtype=float),
        np.asarray(start[:-1], dtype=np.int32),
        np.asarray(index, dtype=np.int32),
        np.ascontiguousarray(value, dtype=float),
        np.zeros(n_cols, dtype=np.int32),
    )


def use_dual_simplex(highs: highspy.Highs) -> None:
    highs.setOptionValue("solver", "simplex")
    highs.setOptionValue("simplex_strategy", 1)
    highs.setOptionValue("presolve", "off")

