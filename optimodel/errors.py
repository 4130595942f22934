"""Typed errors. Each carries what the user needs to fix the problem; the CLI maps each type
to its exit code (contract section 3)."""

from __future__ import annotations

from dataclasses import dataclass


class OptimodelError(Exception):
    """Base class: any failure optimodel reports to the user in one line."""

    exit_code = 1


class InputError(OptimodelError):
    """Bad input: a table cell, a missing column or file, or a scenario key. Exit code 2.

    The message names the place: ``file, column C, row R: problem`` for tables (rows are counted
    from 1 after the header) or ``file: key a.b.c: problem`` for scenario keys.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file, self.column, self.row, self.key, self.problem = file, column, row, key, message
        place = []
        if file is not None:
            place.append(str(file))
        if key is not None:
            place.append(f"key {key}")
        if column is not None:
            place.append(f"column {column}")
        if row is not None:
            place.append(f"row {row}")
        super().__init__(f"{', '.join(place)}: {message}" if place else message)


@dataclass(frozen=True)
class Shortfall:
    """A market-year whose allowances cannot cover its lowest reachable emissions."""

    market: str
    year: int
    shortfall_tco2e: float


def plain_number(value: float) -> str:
    """A number as scripts parse it: no thousands separators, no exponent, at most 3 decimals."""
    if abs(value - round(value)) < 5e-4:
        return str(int(round(value)))
    return f"{value:.3f}".rstrip("0").rstrip(".")


class InfeasibleError(OptimodelError):
    """The scenario has no feasible solution. Exit code 3. Lists every market-year short of
    allowances, with the shortfall in tCO2e."""

    exit_code = 3

    def __init__(self, shortfalls: list[Shortfall], detail: str = "") -> None:
        self.shortfalls = shortfalls
        parts = [f"market {s.market} year {s.year} short by {plain_number(s.shortfall_tco2e)} tCO2e" for s in shortfalls]
        text = "infeasible: " + ("; ".join(parts) if parts else "no market-year is short of allowances, another limit cannot be met")
        if detail:
            text += f" ({detail})"
        super().__init__(text)


class SolverError(OptimodelError):
    """HiGHS did not reach a trustworthy optimum (time limit, numerical trouble, failed check).
    Exit code 1."""

    exit_code = 1
