"""Shared linear terms that several constraint families contribute to.

GenX-style: each ``add_*`` adds its terms to a ledger (the market-year's emissions, its issued
allowances, its other allowance supply, the objective), and the family that owns a row reads the
finished ledger. A family therefore never needs to know which other families are switched on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pyomo.core.expr.numeric_expr import LinearExpression


@dataclass(frozen=True)
class ColumnBlock:
    """LP columns declared as arrays, never as Pyomo objects: the 193,600 abatement steps of the
    default instance cost 0.5 s as Pyomo variables (creating them, setting their bounds, reading
    the bounds back) and nothing as a block. Column k of block ``name`` stands for
    ``name[k]``; the compiler places the block after the Pyomo columns. With
    ``ModelTerms(materialise=True)`` the same declarations make a Pyomo Var instead, which is how
    tests hold the fast compiler against Pyomo's own."""

    name: str
    upper: np.ndarray
    """Upper bound of each column (the lower bound is 0)."""
    labels: list | None = None
    """Index of each column in ``CompiledLp.columns[name]`` (default its position): (market,
    year, ...) tuples let a rolling horizon find a column's year (``window_decided``)."""


BlockPart = tuple[str, np.ndarray, np.ndarray]
"""(block name, column positions in the block, coefficients) of a linear expression."""


@dataclass(frozen=True)
class BlockRow:
    """A row of block columns alone (``sum coefficient x column <= upper``), compiled without Pyomo."""

    index: Hashable
    upper: float
    part: BlockPart
    more: tuple[BlockPart, ...] = ()
    """Parts of further blocks in the same row (a capacity row: abatement less capacity built)."""

    @property
    def parts(self) -> tuple[BlockPart, ...]:
        return (self.part, *self.more)


@dataclass(frozen=True)
class BlockRowSet:
    """Many rows of block columns given as arrays (``BlockRow`` one by one costs a Python object
    per row: 0.5 s for the 108,000 capacity rows of a large instance). Row k is ``sum of
    coefficient x block[position] over the entries with row k <= upper[k]``."""

    index: Sequence
    """Label of each row in ``CompiledLp.rows[name]`` (a ``range`` from 0: rows numbered in order)."""
    upper: np.ndarray
    entries: tuple[tuple[str, np.ndarray, np.ndarray, np.ndarray], ...]
    """(block, row, position, coefficient) arrays, one group per block."""

    def rows(self) -> list[BlockRow]:
        """The same rows one by one (the reference formulation declares them in Pyomo)."""
        parts: list[list[BlockPart]] = [[] for _ in self.index]
        for block, row, position, coefficient in self.entries:
            order = np.argsort(row, kind="stable")
            bounds = np.searchsorted(row[order], np.arange(len(self.index) + 1))
            for k in range(len(self.index)):
                chosen = order[bounds[k] : bounds[k + 1]]
                if len(chosen):
                    parts[k].append((block, position[chosen], coefficient[chosen]))
        return [
            BlockRow(label, float(upper), found[0] if found else ("", np.zeros(0, dtype=np.int64), np.zeros(0)), tuple(found[1:]))
            for label, upper, found in zip(self.index, self.upper.tolist(), parts)
        ]


class LinearTerms:
    """Sums of ``constant + coefficient x variable`` terms, one per key; variables are Pyomo
    variables or columns of a ``ColumnBlock``."""

    def __init__(self, owner: ModelTerms | None = None) -> None:
        self._owner = owner
        self._constant: defaultdict[Hashable, float] = defaultdict(float)
        self._coefficients: defaultdict[Hashable, list[float]] = defaultdict(list)
        self._variables: defaultdict[Hashable, list] = defaultdict(list)
        self._blocks: defaultdict[Hashable, list[BlockPart]] = defaultdict(list)

    def add_block(self, key: Hashable, block: str, positions: np.ndarray, coefficients: np.ndarray) -> None:
        """``sum coefficients x block[positions]`` added to ``key``."""
        if self._owner is not None and self._owner.materialise:
            variables = self._owner.block_variables(block)
            self.add(key, np.asarray(coefficients, dtype=float).tolist(), [variables[position] for position in np.asarray(positions).tolist()])
            return
        self._blocks[key].append((block, np.asarray(positions, dtype=np.int64), np.asarray(coefficients, dtype=float)))

    def block_parts(self, key: Hashable, scale: float = 1.0) -> list[BlockPart]:
        """The block part of ``key``, each coefficient times ``scale``."""
        return [(block, positions, coefficients * scale) for block, positions, coefficients in self._blocks.get(key, [])]

    def add_constant(self, key: Hashable, value: float) -> None:
        self._constant[key] += float(value)

    def add(self, key: Hashable, coefficients: Iterable[float], variables: Iterable) -> None:
        # Callers pass lists of Python floats (numpy's tolist()) or ints; float() makes them uniform.
        self._coefficients[key].extend(map(float, coefficients))
        self._variables[key].extend(variables)

    def constant(self, key: Hashable) -> float:
        return self._constant.get(key, 0.0)

    def linear(self, key: Hashable, scale: float = 1.0) -> tuple[list[float], list]:
        """The variable part of ``key``, each coefficient times ``scale``."""
        coefficients = self._coefficients.get(key, [])
        if scale != 1.0:
            coefficients = [scale * value for value in coefficients]
        return list(coefficients), list(self._variables.get(key, []))


@dataclass
class ModelTerms:
    """The ledger of one model (stored as ``model.terms``). Keys are (market, year) pairs."""

    model: Any = None
    """The Pyomo model this ledger belongs to (it declares materialised blocks on it)."""
    materialise: bool = False
    """Declare column blocks and block rows as Pyomo components (the reference formulation)."""
    emissions: LinearTerms = field(init=False)
    """Verified emissions of a market-year, scaled tCO2e: baseline minus abatement."""
    issued: LinearTerms = field(init=False)
    """Allowances issued to a market-year, scaled tCO2e: caps plus benchmark x output."""
    supply: LinearTerms = field(init=False)
    """Other allowance supply of a market-year: bank, borrowing, offsets, ceiling sales, withholding."""
    cost: LinearTerms = field(init=False)
    """Objective terms (key None): money discounted to the first year, divided by the model unit."""
    blocks: dict[str, ColumnBlock] = field(default_factory=dict)
    """Column blocks, in declaration order (the compiler's order)."""
    block_rows: dict[str, list[BlockRow]] = field(default_factory=dict)
    """Row components made of block columns alone, by name."""
    block_row_sets: dict[str, BlockRowSet] = field(default_factory=dict)
    """Row components made of block columns alone, given as arrays, by name."""
    materialised: dict[str, list] = field(default_factory=dict)
    """With ``materialise``: each block's Pyomo variables in column order, listed once."""
    dependents: list[tuple[str, Hashable, str, Hashable, float]] = field(default_factory=list)
    """(row component, row index, ledger, ledger key, scale): the row's right-hand side holds
    scale x that ledger constant. A warm sweep that changes a constant moves exactly these rows."""

    recorded: dict[int, tuple[LinearExpression, list, list[float], list[BlockPart]]] = field(default_factory=dict)
    """id(expression) -> (expression, variables, coefficients, block parts) for every expression
    made by ``expression``: ``compiler.standard_form`` reads these lists as they are instead of
    rebuilding them from Pyomo's term objects (0.25 s on the default instance), and adds the
    block columns Pyomo does not know of."""

    def __post_init__(self) -> None:
        self.emissions, self.issued, self.supply, self.cost = (LinearTerms(self) for _ in range(4))

    def declare_block(self, name: str, upper: np.ndarray, labels: list | None = None) -> None:
        """Columns ``name[0..n-1]``, each between 0 and ``upper`` (None or inf: unbounded above):
        a ``ColumnBlock``, or with ``materialise`` a Pyomo Var of that name on the model, indexed
        by ``labels`` when given."""
        if self.materialise:
            import pyomo.core as pyo

            bounds = [None if not np.isfinite(value) else value for value in np.asarray(upper, dtype=float).tolist()]
            index = list(labels) if labels is not None else list(range(len(bounds)))
            position = {label: k for k, label in enumerate(index)}

            def column_bounds(model, *label):
                return (0.0, bounds[position[label if len(label) > 1 else label[0]]])

            variable = pyo.Var(index, domain=pyo.NonNegativeReals, bounds=column_bounds)
            self.model.add_component(name, variable)
            self.materialised[name] = [variable[label] for label in index]
            return
        self.blocks[name] = ColumnBlock(name, np.asarray(upper, dtype=float), list(labels) if labels is not None else None)

    def block_variables(self, name: str) -> list:
        """The Pyomo variables of a materialised block, in column order."""
        return self.materialised[name]

    def add_block_rows(self, name: str, rows: list[BlockRow]) -> None:
        """Rows of block columns alone: compiled directly, or with ``materialise`` a Pyomo
        Constraint of that name indexed like ``rows``."""
        if self.materialise:
            import pyomo.core as pyo

            by_index = {row.index: row for row in rows}

            def rule(model, index):
                row = by_index[index]
                coefficients: list[float] = []
                variables: list = []
                for block, positions, values in row.parts:
                    columns = self.block_variables(block)
                    coefficients.extend(values.tolist())
                    variables.extend(columns[k] for k in positions.tolist())
                return LinearExpression(constant=0.0, linear_coefs=coefficients, linear_vars=variables) <= row.upper

            self.model.add_component(name, pyo.Constraint([row.index for row in rows], rule=rule))
            return
        self.block_rows[name] = rows

    def add_block_row_set(self, name: str, rows: BlockRowSet) -> None:
        """Rows of block columns alone given as arrays: compiled directly, or with
        ``materialise`` declared one by one as a Pyomo Constraint (``add_block_rows``)."""
        if self.materialise:
            self.add_block_rows(name, rows.rows())
            return
        self.block_row_sets[name] = rows

    def block_parts_of(self, expression: object) -> list[BlockPart]:
        """The block columns of an expression made by ``expression`` (none for any other)."""
        made = self.recorded.get(id(expression))
        return made[3] if made is not None and made[0] is expression else []

    def expression(
        self,
        parts: Sequence[tuple[float, str, Hashable]],
        own: tuple[list[float], list] = ([], []),
    ) -> LinearExpression:
        """``own`` terms (coefficients, variables) plus the variable part of ``sum(scale x
        ledger[key])`` over ``parts`` (scale, ledger name, key), as one flat Pyomo
        LinearExpression and its block columns; constants are left out (callers move them to the
        right-hand side)."""
        coefficients: list[float] = list(own[0])
        variables: list = list(own[1])
        blocks: list[BlockPart] = []
        for scale, ledger, key in parts:
            terms = getattr(self, ledger)
            part_coefficients, part_variables = terms.linear(key, scale)
            coefficients.extend(part_coefficients)
            variables.extend(part_variables)
            blocks.extend(terms.block_parts(key, scale))
        made = LinearExpression(constant=0.0, linear_coefs=coefficients, linear_vars=variables)
        self.recorded[id(made)] = (made, variables, coefficients, blocks)
        return made

    def right_hand_side(self, row: str, index: Hashable, parts: Sequence[tuple[float, str, Hashable]]) -> float:
        """sum(scale x constant of ledger[key]) for a row built from the ledger, recording which
        constants it holds (``dependents``)."""
        total = 0.0
        for scale, ledger, key in parts:
            self.dependents.append((row, index, ledger, key, scale))
            total += scale * getattr(self, ledger).constant(key)
        return total


def group_positions(*keys: np.ndarray) -> dict[tuple, np.ndarray]:
    """Positions of each distinct key tuple, built in one sort (never a scan per group)."""
    if len(keys[0]) == 0:
        return {}
    order = np.lexsort(keys[::-1])
    stacked = np.column_stack([key[order] for key in keys])
    change = np.flatnonzero(np.any(stacked[1:] != stacked[:-1], axis=1)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(order)]))
    return {tuple(int(value) for value in stacked[start]): order[start:end] for start, end in zip(starts, ends)}
