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


@dataclass(frozen=True)
class PriceDifference:
    """One market-year whose price does not match."""

    market: str
    year: int
    expected: float
    actual: float

    def __str__(self) -> str:
        return f"{self.market} {self.year}: expected {self.expected:.6g}, got {self.actual:.6g}"


def read_prices(prices: pd.DataFrame | str | Path) -> pd.DataFrame:
    table = pd.read_csv(prices) if isinstance(prices, (str, Path)) else prices
    missing = [column for column in (*KEY, "price") if column not in table.columns]
    if missing:
        raise ValueError(f"a prices table needs the columns market, year, price (missing {', '.join(missing)})")
    return table.assign(market=table["market"].astype(str), year=table["year"].astype(int))


def compare_prices(
    actual: pd.DataFrame | str | Path, expected: pd.DataFrame | str | Path, rtol: float = 1e-6, atol: float = 1e-6
) -> list[PriceDifference]:
    """Every market-year whose price differs by more than atol + rtol x |expected| (the rule of
    numpy.isclose), or that is in one table and not the other (shown as NaN)."""
    merged = read_prices(expected)[[*KEY, "price"]].merge(
        read_prices(actual)[[*KEY, "price"]], on=KEY, how="outer", suffixes=("_expected", "_actual")
    )
    expected_price = merged["price_expected"].to_numpy(dtype=float)
    actual_price = merged["price_actual"].to_numpy(dtype=float)
    close = np.isclose(actual_price, expected_price, rtol=rtol, atol=atol, equal_nan=False)
    both_infinite = np.isinf(actual_price) & np.isinf(expected_price) & (np.sign(actual_price) == np.sign(expected_price))
    return [
        PriceDifference(row.market, int(row.year), row.price_expected, row.price_actual)
        for row, ok in zip(merged.itertuples(index=False), close | both_infinite)
        if not ok
    ]


def assert_prices_close(
    actual: pd.DataFrame | str | Path, expected: pd.DataFrame | str | Path, rtol: float = 1e-6, atol: float = 1e-6
) -> None:
    """Fail (AssertionError listing every difference) unless every market-year's price matches."""
    differences = compare_prices(actual, expected, rtol=rtol, atol=atol)
    if differences:
        listing = "\n  ".join(str(difference) for difference in differences)
        raise AssertionError(f"{len(differences)} price(s) differ (rtol={rtol}, atol={atol}):\n  {listing}")
