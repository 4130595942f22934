"""The LP as arrays: the standard form the compiler makes of the Pyomo model (``CompiledLp``) and
what a solve returns (``LpSolution``), both by row and column position, with the map back to the
components they came from. Plain data (numpy only), so that the families' result hooks can read
a solved LP without importing the solver."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

INFINITY = float("inf")
"""HiGHS's infinity (``highspy.kHighsInf`` is IEEE inf): an absent bound."""


class Positions(Mapping):
    """Index k -> position ``start + k`` for k in 0..size-1: the map of a column block or row set
    numbered from 0, without a dict entry per column (a dict of the 1.9 million abatement steps
    at 10x the default held 0.15 GB through the solve)."""

    __slots__ = ("start", "size")

    def __init__(self, start: int, size: int) -> None:
        self.start, self.size = int(start), int(size)

    def __getitem__(self, key: Any) -> int:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < self.size:
            return self.start + int(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.size))

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"Positions(start={self.start}, size={self.size})"

    def __reduce__(self):
        return (Positions, (self.start, self.size))


@dataclass(frozen=True)
class CscMatrix:
    """A sparse matrix in compressed sparse column form, as HiGHS takes it.

    numpy only: importing scipy next to Pyomo makes Pyomo import scipy.stats (0.5 s of every
    command's start-up) for nothing this model uses."""

    shape: tuple[int, int]
    indptr: np.ndarray
    """Column j's entries are ``indices[indptr[j]:indptr[j + 1]]`` (rows) and the same slice of ``data``."""
    indices: np.ndarray
    data: np.ndarray

    @classmethod
    def from_entries(cls, rows: np.ndarray, columns: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> CscMatrix:
        """From (row, column, value) entries; entries at the same (row, column) are summed (a
        column block's column may reach one row through two ledgers)."""
        order = np.lexsort((rows, columns))
        rows, columns, values = rows[order].astype(np.int64), columns[order].astype(np.int64), values[order].astype(float)
        if len(rows) > 1:
            repeated = (rows[1:] == rows[:-1]) & (columns[1:] == columns[:-1])
            if repeated.any():
                first = np.concatenate(([True], ~repeated))
                group = np.cumsum(first) - 1
                values = np.bincount(group, weights=values)
                rows, columns = rows[first], columns[first]
        counts = np.bincount(columns, minlength=shape[1])
        indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return cls(shape, indptr, rows, values)

    @property
    def nnz(self) -> int:
        return int(len(self.data))

    def _entry_columns(self) -> np.ndarray:
        return np.repeat(np.arange(self.shape[1]), np.diff(self.indptr))

    def dot(self, x: np.ndarray) -> np.ndarray:
        """A x."""
        return np.bincount(self.indices, weights=self.data * x[self._entry_columns()], minlength=self.shape[0])

    def transpose_dot(self, y: np.ndarray) -> np.ndarray:
        """A^T y."""
        return np.bincount(self._entry_columns(), weights=self.data * y[self.indices], minlength=self.shape[1])

    def toarray(self) -> np.ndarray:
        dense = np.zeros(self.shape)
        dense[self.indices, self._entry_columns()] = self.data
        return dense



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
    columns: dict[str, Mapping] = field(default_factory=dict)
    """component name -> {index: column position} (``Positions`` for a block numbered from 0)."""
    rows: dict[str, Mapping] = field(default_factory=dict)
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


@dataclass(frozen=True)
class CrashBlock:
    """Columns and rows a crash basis keeps out of its small aggregated LP, with the status each
    takes in the full LP's starting basis (``solver.crash``): ``basic_columns[j]`` pairs with
    ``tight_rows[j]`` (its entry there is its diagonal), the tight rows sit at their upper bound,
    the ``basic_rows`` are basic. Capacity: builds, ``capacity_use`` and ``capacity_potential``."""

    basic_columns: np.ndarray
    tight_rows: np.ndarray
    basic_rows: np.ndarray


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

