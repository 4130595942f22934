"""The Pyomo model in standard form: sparse matrices plus the Pyomo rows and columns they came from.

This does what Pyomo's ``LinearStandardFormCompiler(mixed_form=True)`` does, with the same
column order (first appearance: the objective, then the constraints in declaration order), the
same rows, senses and coefficients, and the same treatment of rows without variables (dropped
when met, an error when not). ``tests/test_compiler.py`` checks that the two agree entry for entry
on instances with every policy family.

It exists for speed (benchmarks/README.md). Every large row of this model is built as one
LinearExpression by ``ModelTerms.expression``, whose lists are read here as they are, while
Pyomo's compiler walks each term through its expression visitor; and the matrix is built with
numpy alone (``CscMatrix``), so scipy, and with it scipy.stats, is never imported. On the default
instance 1.2 s of compiling and 0.5 s of importing become about 0.4 s. Any other expression goes
through Pyomo's own ``generate_standard_repn``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.core as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn.standard_repn import generate_standard_repn

LESS_EQUAL, EQUAL, GREATER_EQUAL = 1, 0, -1
"""Row senses, as Pyomo's mixed form numbers them."""


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
        """From (row, column, value) entries, each (row, column) at most once."""
        order = np.lexsort((rows, columns))
        counts = np.bincount(columns, minlength=shape[1])
        indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return cls(shape, indptr, rows[order].astype(np.int64), values[order].astype(float))

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


@dataclass(frozen=True)
class StandardForm:
    """min c x + offset subject to A x (sense) rhs, row by row; columns are Pyomo variables."""

    c: np.ndarray
    offset: float
    A: CscMatrix
    """Rows x columns."""
    rhs: np.ndarray
    rows: list[tuple[Any, int]]
    """(Pyomo constraint, sense) per row."""
    columns: list[Any]
    """Pyomo variable per column."""
    column_of: dict[int, int]
    """id(Pyomo variable) -> its column."""


def _terms(expression, recorded: dict) -> tuple[list, list[float], float]:
    """(variables, coefficients, constant) of a linear expression, duplicates not yet merged.
    ``recorded`` holds the lists of expressions made by ``ModelTerms.expression`` (constant 0)."""
    made = recorded.get(id(expression))
    if made is not None and made[0] is expression:
        return made[1], made[2], 0.0
    if type(expression) is LinearExpression:
        coefficients = [value if type(value) is float or type(value) is int else pyo.value(value) for value in expression.linear_coefs]
        constant = expression.constant
        return list(expression.linear_vars), coefficients, float(pyo.value(constant))
    repn = generate_standard_repn(expression, compute_values=True, quadratic=False)
    if repn.nonlinear_expr is not None or repn.quadratic_vars:
        raise ValueError(f"a nonlinear expression cannot be compiled to a linear program: {expression}")
    return list(repn.linear_vars), [float(value) for value in repn.linear_coefs], float(repn.constant)


class _Columns:
    """Column positions in order of first appearance."""

    def __init__(self) -> None:
        self.position: dict[int, int] = {}
        self.variables: list[Any] = []

    def of(self, variables: list) -> list[int]:
        known = self.position.get
        positions = [known(id(variable)) for variable in variables]
        if None in positions:
            for place, variable in enumerate(variables):
                if positions[place] is None:
                    key = id(variable)
                    if key not in self.position:
                        self.position[key] = len(self.variables)
                        self.variables.append(variable)
                    positions[place] = self.position[key]
        return positions  # type: ignore[return-value]


def _merged(positions: list[int], coefficients: list[float]) -> tuple[list[int], list[float]]:
    """One coefficient per column, in order of first appearance (as Pyomo merges a repeated variable)."""
    if len(set(positions)) == len(positions):
        return positions, coefficients
    merged: dict[int, float] = {}
    for position, coefficient in zip(positions, coefficients):
        merged[position] = merged.get(position, 0.0) + coefficient
    return list(merged), list(merged.values())


def standard_form(model: pyo.ConcreteModel) -> StandardForm:
    """The model in mixed standard form (see the module docstring). Raises Pyomo's
    ``InfeasibleConstraintException`` for a row without variables that cannot be met."""
    columns = _Columns()
    terms = getattr(model, "terms", None)
    recorded = terms.recorded if terms is not None else {}
    objective = next(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    variables, coefficients, offset = _terms(objective.expr, recorded)
    objective_columns, objective_values = _merged(columns.of(variables), coefficients)
    if objective.sense == pyo.maximize:
        raise ValueError("optimodel compiles minimisations only")

    row_entries: list[tuple[Any, int]] = []
    rhs: list[float] = []
    row_index: list[np.ndarray] = []
    col_index: list[list[int]] = []
    values: list[list[float]] = []
    for constraint in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        lower, body, upper = constraint.to_bounded_expression()
        lower = None if lower is None else float(pyo.value(lower))
        upper = None if upper is None else float(pyo.value(upper))
        if lower is None and upper is None:
            continue
        variables, coefficients, constant = _terms(body, recorded)
        if not variables:
            if (lower is None or lower <= constant) and (upper is None or upper >= constant):
                continue
            raise InfeasibleConstraintException(f"model contains a trivially infeasible constraint, '{constraint.name}'")
        positions, coefficients = _merged(columns.of(variables), coefficients)
        senses = [(EQUAL, upper)] if lower == upper else [
            *([(LESS_EQUAL, upper)] if upper is not None else []),
            *([(GREATER_EQUAL, lower)] if lower is not None else []),
        ]
        for sense, bound in senses:
            assert bound is not None
            row_index.append(np.full(len(positions), len(rhs)))
            col_index.append(positions)
            values.append(coefficients)
            row_entries.append((constraint, sense))
            rhs.append(bound - constant)

    n_columns = len(columns.variables)
    matrix = CscMatrix.from_entries(
        np.concatenate(row_index) if row_index else np.zeros(0, dtype=np.int64),
        np.concatenate([np.asarray(part, dtype=np.int64) for part in col_index]) if col_index else np.zeros(0, dtype=np.int64),
        np.concatenate([np.asarray(part, dtype=float) for part in values]) if values else np.zeros(0),
        (len(rhs), n_columns),
    )
    cost = np.zeros(n_columns)
    np.add.at(cost, np.asarray(objective_columns, dtype=np.int64), np.asarray(objective_values, dtype=float))
    return StandardForm(
        c=cost, offset=offset, A=matrix, rhs=np.asarray(rhs, dtype=float), rows=row_entries, columns=columns.variables,
        column_of=columns.position,
    )
