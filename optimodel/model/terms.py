"""Shared linear terms that several constraint families contribute to.

GenX-style: each ``add_*`` adds its terms to a ledger (the market-year's emissions, its issued
allowances, its other allowance supply, the objective), and the family that owns a row reads the
finished ledger. A family therefore never needs to know which other families are switched on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from pyomo.core.expr.numeric_expr import LinearExpression


class LinearTerms:
    """Sums of ``constant + coefficient x variable`` terms, one per key."""

    def __init__(self) -> None:
        self._constant: defaultdict[Hashable, float] = defaultdict(float)
        self._coefficients: defaultdict[Hashable, list[float]] = defaultdict(list)
        self._variables: defaultdict[Hashable, list] = defaultdict(list)

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

    emissions: LinearTerms = field(default_factory=LinearTerms)
    """Verified emissions of a market-year, scaled tCO2e: baseline minus abatement."""
    issued: LinearTerms = field(default_factory=LinearTerms)
    """Allowances issued to a market-year, scaled tCO2e: caps plus benchmark x output."""
    supply: LinearTerms = field(default_factory=LinearTerms)
    """Other allowance supply of a market-year: bank, borrowing, offsets, ceiling sales, withholding."""
    cost: LinearTerms = field(default_factory=LinearTerms)
    """Objective terms (key None): money discounted to the first year, divided by the model unit."""
    dependents: list[tuple[str, Hashable, str, Hashable, float]] = field(default_factory=list)
    """(row component, row index, ledger, ledger key, scale): the row's right-hand side holds
    scale x that ledger constant. A warm sweep that changes a constant moves exactly these rows."""

    recorded: dict[int, tuple[LinearExpression, list, list[float]]] = field(default_factory=dict)
    """id(expression) -> (expression, variables, coefficients) for every expression made by
    ``expression``: ``compiler.standard_form`` reads these lists as they are instead of rebuilding
    them from Pyomo's term objects (0.25 s on the default instance)."""

    def expression(
        self, parts: Sequence[tuple[float, str, Hashable]], own: tuple[list[float], list] = ([], [])
    ) -> LinearExpression:
        """``own`` terms (coefficients, variables) plus the variable part of ``sum(scale x
        ledger[key])`` over ``parts`` (scale, ledger name, key), as one flat Pyomo
        LinearExpression; constants are left out (callers move them to the right-hand side)."""
        coefficients: list[float] = list(own[0])
        variables: list = list(own[1])
        for scale, ledger, key in parts:
            part_coefficients, part_variables = getattr(self, ledger).linear(key, scale)
            coefficients.extend(part_coefficients)
            variables.extend(part_variables)
        made = LinearExpression(constant=0.0, linear_coefs=coefficients, linear_vars=variables)
        self.recorded[id(made)] = (made, variables, coefficients)
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
