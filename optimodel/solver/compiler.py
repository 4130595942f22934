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

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.core as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn.standard_repn import generate_standard_repn

from optimodel.model.lp import INFINITY, CompiledLp, CscMatrix, Positions

log = logging.getLogger(__name__)

LESS_EQUAL, EQUAL, GREATER_EQUAL = 1, 0, -1
"""Row senses, as Pyomo's mixed form numbers them."""


@dataclass(frozen=True)
class StandardForm:
    """min c x + offset subject to A x (sense) rhs, row by row; columns are Pyomo variables."""

    c: np.ndarray
    offset: float
    A: CscMatrix
    """Rows x columns."""
    rhs: np.ndarray
    rows: list[tuple[Any, int]]
    """(Pyomo constraint, sense) per row; (None, LESS_EQUAL) for a block row."""
    columns: list[Any]
    """Pyomo variable per column (the Pyomo columns come first, then the column blocks)."""
    column_of: Callable[[list], np.ndarray]
    """Pyomo variables -> their columns (-1 for a variable that is not one)."""
    block_columns: dict[str, int] = field(default_factory=dict)
    """Column block name -> the position of its first column (its columns follow in order)."""
    block_rows: dict[str, Mapping[Any, int]] = field(default_factory=dict)
    """Block row component name -> {index: row position} (they follow the Pyomo rows)."""
    block_upper: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Upper bound of each block column, in order after the Pyomo columns (their lower bound is 0;
    the Pyomo columns' bounds are read from the variables)."""


def _terms(expression, recorded: dict) -> tuple[list, list[float], float, list]:
    """(variables, coefficients, constant, block parts) of a linear expression, duplicates not
    yet merged. ``recorded`` holds the lists of expressions made by ``ModelTerms.expression``
    (constant 0) and the column-block parts Pyomo does not see."""
    made = recorded.get(id(expression))
    if made is not None and made[0] is expression:
        return made[1], made[2], 0.0, made[3]
    if type(expression) is LinearExpression:
        coefficients = [value if type(value) is float or type(value) is int else pyo.value(value) for value in expression.linear_coefs]
        constant = expression.constant
        return list(expression.linear_vars), coefficients, float(pyo.value(constant)), []
    repn = generate_standard_repn(expression, compute_values=True, quadratic=False)
    if repn.nonlinear_expr is not None or repn.quadratic_vars:
        raise ValueError(f"a nonlinear expression cannot be compiled to a linear program: {expression}")
    return list(repn.linear_vars), [float(value) for value in repn.linear_coefs], float(repn.constant), []


class _Columns:
    """Column positions in order of first appearance, looked up by id() with numpy (a Python
    dict lookup per term cost seconds at 10x the default instance)."""

    def __init__(self) -> None:
        self.variables: list[Any] = []
        self._sorted_ids = np.zeros(0, dtype=np.int64)
        self._sorted_positions = np.zeros(0, dtype=np.int64)

    def of(self, variables: list) -> np.ndarray:
        ids = np.fromiter(map(id, variables), dtype=np.int64, count=len(variables))
        place = np.searchsorted(self._sorted_ids, ids)
        inside = place < len(self._sorted_ids)
        known = np.zeros(len(ids), dtype=bool)
        known[inside] = self._sorted_ids[place[inside]] == ids[inside]
        positions = np.empty(len(ids), dtype=np.int64)
        positions[known] = self._sorted_positions[place[known]]
        if not known.all():
            unknown = np.flatnonzero(~known)
            new_ids, first = np.unique(ids[unknown], return_index=True)
            order = np.argsort(first, kind="stable")
            new_positions = np.empty(len(new_ids), dtype=np.int64)
            new_positions[order] = len(self.variables) + np.arange(len(new_ids))
            self.variables.extend(variables[index] for index in unknown[first[order]].tolist())
            positions[unknown] = new_positions[np.searchsorted(new_ids, ids[unknown])]
            merged_ids = np.concatenate((self._sorted_ids, new_ids))
            merged_positions = np.concatenate((self._sorted_positions, new_positions))
            sort = np.argsort(merged_ids, kind="stable")
            self._sorted_ids, self._sorted_positions = merged_ids[sort], merged_positions[sort]
        return positions

    def lookup(self, variables: list) -> np.ndarray:
        """The column of each variable, -1 for one in no row and not in the objective."""
        ids = np.fromiter(map(id, variables), dtype=np.int64, count=len(variables))
        place = np.minimum(np.searchsorted(self._sorted_ids, ids), max(len(self._sorted_ids) - 1, 0))
        if not len(self._sorted_ids):
            return np.full(len(ids), -1, dtype=np.int64)
        return np.where(self._sorted_ids[place] == ids, self._sorted_positions[place], -1)


def _merged(positions: np.ndarray, coefficients: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """One coefficient per column, in order of first appearance (as Pyomo merges a repeated variable)."""
    values = np.asarray(coefficients, dtype=float)
    unique, first, inverse = np.unique(positions, return_index=True, return_inverse=True)
    if len(unique) == len(positions):
        return positions, values
    totals = np.bincount(inverse, weights=values, minlength=len(unique))
    order = np.argsort(first, kind="stable")
    return unique[order], totals[order]


def standard_form(model: pyo.ConcreteModel) -> StandardForm:
    """The model in mixed standard form (see the module docstring): the Pyomo columns in order of
    first appearance, then the column blocks of ``model.terms``; the Pyomo rows in declaration
    order, then the block rows. Raises Pyomo's ``InfeasibleConstraintException`` for a row
    without variables that cannot be met."""
    columns = _Columns()
    terms = getattr(model, "terms", None)
    recorded = terms.recorded if terms is not None else {}
    blocks = list(terms.blocks.values()) if terms is not None else []
    objective = next(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    variables, coefficients, offset, objective_parts = _terms(objective.expr, recorded)
    objective_columns, objective_values = _merged(columns.of(variables), coefficients)
    if objective.sense == pyo.maximize:
        raise ValueError("optimodel compiles minimisations only")

    row_entries: list[tuple[Any, int]] = []
    rhs: list[float] = []
    row_index: list[np.ndarray] = []
    col_index: list[np.ndarray] = []
    values: list[np.ndarray] = []
    block_entries: list[tuple[int, Any]] = []
    """(row, block part) of every block column in a row: placed once the Pyomo columns are counted."""
    for constraint in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        lower, body, upper = constraint.to_bounded_expression()
        lower = None if lower is None else float(pyo.value(lower))
        upper = None if upper is None else float(pyo.value(upper))
        if lower is None and upper is None:
            continue
        variables, coefficients, constant, parts = _terms(body, recorded)
        if not variables and not parts:
            if (lower is None or lower <= constant) and (upper is None or upper >= constant):
                continue
            raise InfeasibleConstraintException(f"model contains a trivially infeasible constraint, '{constraint.name}'")
        positions, row_values = _merged(columns.of(variables), coefficients) if variables else (np.zeros(0, dtype=np.int64), np.zeros(0))
        senses = [(EQUAL, upper)] if lower == upper else [
            *([(LESS_EQUAL, upper)] if upper is not None else []),
            *([(GREATER_EQUAL, lower)] if lower is not None else []),
        ]
        for sense, bound in senses:
            assert bound is not None
            row_index.append(np.full(len(positions), len(rhs)))
            col_index.append(positions)
            values.append(row_values)
            block_entries.extend((len(rhs), part) for part in parts)
            row_entries.append((constraint, sense))
            rhs.append(bound - constant)
    block_rows: dict[str, Mapping[Any, int]] = {}
    for name, rows in (terms.block_rows.items() if terms is not None else []):
        placed = block_rows[name] = {}
        for row in rows:
            placed[row.index] = len(rhs)
            block_entries.extend((len(rhs), part) for part in row.parts)
            row_entries.append((None, LESS_EQUAL))
            rhs.append(row.upper)
    block_sets: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    """(block, row, position, coefficient) arrays of the row sets, rows counted from 0."""
    for name, row_set in (terms.block_row_sets.items() if terms is not None else []):
        first = len(rhs)
        index = row_set.index
        numbered = isinstance(index, range) and index.start == 0 and index.step == 1
        block_rows[name] = Positions(first, len(index)) if numbered else dict(zip(index, range(first, first + len(index))))
        block_sets.extend((block, row + first, position, coefficient) for block, row, position, coefficient in row_set.entries)
        row_entries.extend([(None, LESS_EQUAL)] * len(row_set.index))
        rhs.extend(np.asarray(row_set.upper, dtype=float).tolist())

    block_columns: dict[str, int] = {}
    n_columns = len(columns.variables)
    for block in blocks:
        block_columns[block.name] = n_columns
        n_columns += len(block.upper)
    for row, (block_name, block_positions, block_values) in block_entries:
        row_index.append(np.full(len(block_positions), row))
        col_index.append(block_positions + block_columns[block_name])
        values.append(block_values)
    for block_name, rows, block_positions, block_values in block_sets:
        row_index.append(np.asarray(rows, dtype=np.int64))
        col_index.append(block_positions + block_columns[block_name])
        values.append(block_values)
    matrix = CscMatrix.from_entries(
        np.concatenate(row_index) if row_index else np.zeros(0, dtype=np.int64),
        np.concatenate([np.asarray(part, dtype=np.int64) for part in col_index]) if col_index else np.zeros(0, dtype=np.int64),
        np.concatenate([np.asarray(part, dtype=float) for part in values]) if values else np.zeros(0),
        (len(rhs), n_columns),
    )
    cost = np.zeros(n_columns)
    np.add.at(cost, np.asarray(objective_columns, dtype=np.int64), np.asarray(objective_values, dtype=float))
    for block_name, block_positions, block_values in objective_parts:
        np.add.at(cost, block_positions + block_columns[block_name], block_values)
    return StandardForm(
        c=cost, offset=offset, A=matrix, rhs=np.asarray(rhs, dtype=float), rows=row_entries, columns=columns.variables,
        column_of=columns.lookup, block_columns=block_columns, block_rows=block_rows,
        block_upper=np.concatenate([block.upper for block in blocks]) if blocks else np.zeros(0),
    )


class ConstantRowInfeasible(Exception):
    """A market row without any variable cannot be met (raised by the compiler)."""


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
    # a column block's column k is its label k (its position unless labelled).
    for name, start in info.block_columns.items():
        block = model.terms.blocks[name]
        size = len(block.upper)
        compiled.columns[name] = Positions(start, size) if block.labels is None else dict(zip(block.labels, range(start, start + size)))
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

