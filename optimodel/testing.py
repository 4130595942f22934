"""Helpers for users' own regression tests.

    # test_my_scenarios.py
    import optimodel
    from optimodel.testing import assert_prices_close

    def test_my_cap_path():
        result = optimodel.solve(optimodel.load_scenario("scenarios/my-case.toml"))
        assert_prices_close(result.prices, "expected/my-case-prices.csv", rtol=1e-6)

Make the expected file once with ``optimodel snapshot scenarios/my-case.toml --out
expected/my-case-prices.csv`` and commit it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

KEY = ["market", "year"]


INTERVAL = ["price_low", "price_high"]
"""Compared as well as ``price`` whenever the expected table has them: inside a degenerate
interval the point price is arbitrary, so the interval is what pins the result."""


@dataclass(frozen=True)
class PriceDifference:
    """One market-year whose price (or price_low or price_high) does not match."""

    market: str
    year: int
    expected: float
    actual: float
    column: str = "price"

    def __str__(self) -> str:
        label = "" if self.column == "price" else f" {self.column}"
        return f"{self.market} {self.year}{label}: expected {self.expected:.6g}, got {self.actual:.6g}"


def read_prices(prices: pd.DataFrame | str | Path) -> pd.DataFrame:
    """A prices table (a DataFrame or a prices.csv path) with market as text and year as int.
    Raises ``ValueError`` saying what was expected for anything else."""
    if isinstance(prices, (str, Path)):
        path = Path(prices)
        if path.suffix.lower() != ".csv":
            # A scenario (.toml) or a Parquet table is the usual slip: say what is wanted instead
            # of what pandas makes of the bytes.
            kind = f"a {path.suffix} file" if path.suffix else "a file without the .csv ending"
            raise ValueError(f"expected a prices table (prices.csv: market, year, price), got {kind}")
        try:
            table = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise ValueError(f"expected a prices table (prices.csv: market, year, price); cannot read it as CSV ({error})") from None
    else:
        table = prices
    missing = [column for column in (*KEY, "price") if column not in table.columns]
    if missing:
        raise ValueError(f"a prices table needs the columns market, year, price (missing {', '.join(missing)})")
    try:
        return table.assign(market=table["market"].astype(str), year=table["year"].astype(int))
    except (ValueError, TypeError):
        raise ValueError("a prices table's year column must hold whole numbers") from None


def tolerance_is_valid(value: float) -> bool:
    """A tolerance is a finite number >= 0: inf would pass any price, nan none, and a negative
    one means nothing."""
    return bool(np.isfinite(value)) and value >= 0.0


def compare_prices(
    actual: pd.DataFrame | str | Path, expected: pd.DataFrame | str | Path, rtol: float = 1e-6, atol: float = 1e-6
) -> list[PriceDifference]:
    """Every market-year whose price differs by more than atol + rtol x |expected| (the rule of
    numpy.isclose), or that is in one table and not the other (shown as NaN). price_low and
    price_high are compared too whenever the expected table has them; infinities match only
    infinities of the same sign. Raises ``ValueError`` for a tolerance that is not finite and >= 0."""
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not tolerance_is_valid(value):
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    expected_table = read_prices(expected)
    columns = ["price", *(column for column in INTERVAL if column in expected_table.columns)]
    actual_table = read_prices(actual)
    for column in columns:
        if column not in actual_table.columns:
            actual_table = actual_table.assign(**{column: np.nan})
    merged = expected_table[[*KEY, *columns]].merge(
        actual_table[[*KEY, *columns]], on=KEY, how="outer", suffixes=("_expected", "_actual")
    )
    differences = []
    for row in merged.itertuples(index=False):
        # A market-year in one table only is one difference, shown on its price.
        one_sided = np.isnan(row.price_expected) or np.isnan(row.price_actual)
        for column in columns[:1] if one_sided else columns:
            expected_value = float(getattr(row, f"{column}_expected"))
            actual_value = float(getattr(row, f"{column}_actual"))
            if not _close(actual_value, expected_value, rtol, atol):
                differences.append(PriceDifference(row.market, int(row.year), expected_value, actual_value, column))
    return differences


def _close(actual: float, expected: float, rtol: float, atol: float) -> bool:
    if np.isinf(actual) or np.isinf(expected):
        return bool(actual == expected)
    return bool(np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=False))


def assert_prices_close(
    actual: pd.DataFrame | str | Path, expected: pd.DataFrame | str | Path, rtol: float = 1e-6, atol: float = 1e-6
) -> None:
    """Fail (AssertionError listing every difference) unless every market-year's price, and its
    interval where the expected table has one, matches."""
    differences = compare_prices(actual, expected, rtol=rtol, atol=atol)
    if differences:
        listing = "\n  ".join(str(difference) for difference in differences)
        raise AssertionError(f"{len(differences)} price(s) differ (rtol={rtol}, atol={atol}):\n  {listing}")
