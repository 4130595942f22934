"""Banking and borrowing: hand-derived two-year cases."""

from __future__ import annotations

import pytest
from builders import write_case

import optimodel


def two_year_case(tmp_path, market: dict, *, caps: dict, costs: dict, discount_rate: float = 0.0):
    """One firm, 100 t baseline each year, one 100 t option per year at the given cost."""
    years = sorted(caps)
    return write_case(
        tmp_path,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": year, "gas": "CO2", "baseline_t": 100.0} for year in years],
        options=[
            {"firm_id": "A", "option": "retrofit", "potential_t": 100.0, "cost_per_t": costs[year], "year": year}
            for year in years
        ],
        scenario={
            "years": years,
            "discount_rate": discount_rate,
            "sectors": {"power": {"cap_tco2e": {str(year): cap for year, cap in caps.items()}}},
            "markets": {"national": {"sectors": ["power"], **market}},
        },
    )


def solve(path):
    result = optimodel.solve(optimodel.load_scenario(path))
    prices = result.prices.set_index("year")
    return result, prices


CAPS = {2025: 100.0, 2026: 50.0}
COSTS = {2025: 20.0, 2026: 50.0}


def test_without_banking_each_year_clears_alone(tmp_path):
    # 2025: cap = baseline, nothing to abate: price 0. 2026: 50 t of the 50-cost option: 50.
    result, prices = solve(two_year_case(tmp_path, {"banking": False}, caps=CAPS, costs=COSTS, discount_rate=0.1))
    assert prices.loc[2025, "price"] == pytest.approx(0.0)
    assert prices.loc[2026, "price"] == pytest.approx(50.0)
    assert result.markets["bank_end_tco2e"].tolist() == pytest.approx([0.0, 0.0])


def test_banking_prices_rise_at_the_discount_rate(tmp_path):
    # Abating in 2025 at 20 beats 2026 at 50 / 1.1: bank 50 t from 2025. The 2025 option is
    # partly used, so the 2025 price is 20; with a positive bank the discounted prices are equal
    # (Hotelling), so the 2026 price in 2026 money is 20 x 1.1 = 22.
    result, prices = solve(two_year_case(tmp_path, {"banking": True}, caps=CAPS, costs=COSTS, discount_rate=0.1))
    assert prices.loc[2025, ["price", "price_low", "price_high"]].tolist() == pytest.approx([20.0] * 3)
    assert prices.loc[2026, ["price", "price_low", "price_high"]].tolist() == pytest.approx([22.0] * 3)
    markets = result.markets.set_index("year")
    assert markets.loc[2025, "bank_end_tco2e"] == pytest.approx(50.0)
    assert markets.loc[2025, "emissions_tco2e"] == pytest.approx(50.0)
    assert markets.loc[2026, "emissions_tco2e"] == pytest.approx(100.0)
    # Objective in first-year money: 50 t x 20, nothing in 2026.
    assert result.summary["objective"] == pytest.approx(1000.0)


def test_banking_with_zero_discount_gives_equal_prices(tmp_path):
    _, prices = solve(two_year_case(tmp_path, {"banking": True}, caps=CAPS, costs=COSTS))
    assert prices["price"].tolist() == pytest.approx([20.0, 20.0])


def test_borrowing_is_limited_to_a_share_of_next_years_allowances(tmp_path):
    # 2025 cap 50 (50 t to abate at 50), 2026 cap 100 (nothing to abate; the option costs 20).
    # Borrowing 20 % of 2026's 100 allowances moves 20 t of abatement to 2026 at 20:
    # 2025 abates 30 at 50 (price 50), 2026 abates 20 at 20 (price 20). The borrowing limit binds
    # and holds the prices 30 apart.
    result, prices = solve(
        two_year_case(tmp_path, {"borrowing": 0.2}, caps={2025: 50.0, 2026: 100.0}, costs={2025: 50.0, 2026: 20.0})
    )
    assert prices["price"].tolist() == pytest.approx([50.0, 20.0])
    markets = result.markets.set_index("year")
    assert markets.loc[2025, "bank_end_tco2e"] == pytest.approx(-20.0)
    assert markets.loc[2025, "emissions_tco2e"] == pytest.approx(70.0)
    assert markets.loc[2026, "emissions_tco2e"] == pytest.approx(80.0)
    assert result.summary["objective"] == pytest.approx(30 * 50.0 + 20 * 20.0)


def test_no_borrowing_without_the_lever(tmp_path):
    _, prices = solve(two_year_case(tmp_path, {}, caps={2025: 50.0, 2026: 100.0}, costs={2025: 50.0, 2026: 20.0}))
    assert prices["price"].tolist() == pytest.approx([50.0, 0.0])
