"""Typed errors. Each carries what the user needs to fix the problem; the CLI maps each type
to its exit code (contract section 3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def one_line(text: str) -> str:
    """``text`` with every character that is not printable (line breaks of any kind, controls)
    written as an escape, so that an error stays one line whatever a file name holds."""
    return "".join(character if character.isprintable() else character.encode("unicode_escape").decode("ascii") for character in text)


def plain(value: object, quote: bool = True) -> str:
    """A cell as a message shows it: numbers as plain numbers (2025, not 2025.0 nor
    np.float64(2025.0)), text in quotes (unless ``quote`` is False) so that spaces and blanks can be seen."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            value = item()  # A numpy scalar becomes the Python number or string it holds.
        except (TypeError, ValueError):
            pass
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    if isinstance(value, int):
        return str(value)
    return repr(str(value)) if quote else str(value)


def display_path(path: str | Path) -> str:
    """A path as messages show it: relative to the current folder when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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
        super().__init__(one_line(f"{', '.join(place)}: {message}" if place else message))


@dataclass(frozen=True)
class Shortfall:
    """A market-year whose allowances cannot cover its lowest reachable emissions."""

    market: str
    year: int
    shortfall_tco2e: float


MEGATONNE = 1.0e6
"""tCO2e in one Mt: quantities in messages are read in Mt CO2e."""
SMALLEST_MT_SHOWN = 5.0e3
"""Below this many tCO2e a quantity would read as "0.00 Mt", so it is shown in tCO2e."""


def readable_tco2e(value: float) -> str:
    """A quantity as a planner reads it: ``2,613.48 Mt CO2e``, or ``60 tCO2e`` when it is too
    small for Mt to show it (exact tCO2e go into summary.json, never only into a message)."""
    if abs(value) >= SMALLEST_MT_SHOWN:
        return f"{value / MEGATONNE:,.2f} Mt CO2e"
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{'0' if text in ('-0', '') else text} tCO2e"


class InfeasibleError(OptimodelError):
    """The scenario has no feasible solution. Exit code 3. Lists every market-year short of
    allowances, with the shortfall in tCO2e."""

    exit_code = 3

    def __init__(self, shortfalls: list[Shortfall], detail: str = "") -> None:
        self.shortfalls = shortfalls
        parts = [f"market {s.market} year {s.year} short by {readable_tco2e(s.shortfall_tco2e)}" for s in shortfalls]
        text = "infeasible: " + ("; ".join(parts) if parts else "no market-year is short of allowances, another limit cannot be met")
        if detail:
            text += f" ({detail})"
        super().__init__(text)


class SolverError(OptimodelError):
    """HiGHS did not reach a trustworthy optimum (time limit, numerical trouble, failed check).
    Exit code 1."""

    exit_code = 1
