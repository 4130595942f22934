"""Price ceiling and floor: hand-derived cases."""

from __future__ import annotations

import pytest
from builders import one_sector_case

import optimodel


def solve(path):
    return optimodel.solve(optimodel.load_scenario(path))


def test_ceiling_caps_the_price_and_sells_allowances(tmp_path):
    # 50 t to abate: 30 @ 20, then 20 more at the cheaper of 90 (abatement) and 60 (ceiling).
    path = one_sector_case(
        tmp_path, {"A": 100.0}, [("A", 30.0, 20.0), ("A", 70.0, 90.0)], cap=50.0,
        extra={"markets": {"national": {"sectors": ["power"], "price_ceiling": 60.0}}},
    )
    result = solve(path)
    assert result.prices.iloc[0][["price", "price_low", "price_high"]].tolist() == pytest.approx([60.0] * 3)
    assert result.markets.iloc[0].ceiling_tco2e == pytest.approx(20.0)
    assert result.summary["objective"] == pytest.approx(30 * 20.0 + 20 * 60.0)


def test_ceiling_makes_an_infeasible_cap_feasible(tmp_path):
    # Cap 0 with 30 t of potential: without a ceiling short by 70 t; with one, 70 t are bought.
    steps = [("A", 30.0, 20.0)]
    with pytest.raises(optimodel.InfeasibleError) as caught:
        solve(one_sector_case(tmp_path / "plain", {"A": 100.0}, steps, cap=0.0))
    assert caught.value.shortfalls[0].shortfall_tco2e == pytest.approx(70.0)
    result = solve(
        one_sector_case(
            tmp_path / "ceiling", {"A": 100.0}, steps, cap=0.0,
            extra={"markets": {"national": {"sectors": ["power"], "price_ceiling": 200.0}}},
        )
    )
    assert result.prices.iloc[0].price == pytest.approx(200.0)
    assert result.markets.iloc[0].ceiling_tco2e == pytest.approx(70.0)


def test_floor_withholds_allowances_while_the_price_is_below_it(tmp_path):
    # Cap 90: without a floor 10 t are abated at 10 and the price is 10. With a floor of 40 it
    # pays to withhold allowances and abate at 10 instead: all 50 t of the cheap option go,
    # 40 allowances are withheld, and the price is the floor.
    steps = [("A", 50.0, 10.0), ("A", 50.0, 80.0)]
    plain = solve(one_sector_case(tmp_path / "plain", {"A": 100.0}, steps, cap=90.0))
    assert plain.prices.iloc[0].price == pytest.approx(10.0)
    result = solve(
        one_sector_case(
            tmp_path / "floor", {"A": 100.0}, steps, cap=90.0,
            extra={"markets": {"national": {"sectors": ["power"], "price_floor": 40.0}}},
        )
    )
    assert result.prices.iloc[0][["price", "price_low", "price_high"]].tolist() == pytest.approx([40.0] * 3)
    market = result.markets.iloc[0]
    assert market.withheld_tco2e == pytest.approx(40.0)
    assert market.emissions_tco2e == pytest.approx(50.0)


def test_floor_below_the_price_changes_nothing(tmp_path):
    steps = [("A", 50.0, 10.0), ("A", 50.0, 80.0)]
    result = solve(
        one_sector_case(
            tmp_path, {"A": 100.0}, steps, cap=40.0,
            extra={"markets": {"national": {"sectors": ["power"], "price_floor": 40.0}}},
        )
    )
    assert result.prices.iloc[0].price == pytest.approx(80.0)
    assert result.markets.iloc[0].withheld_tco2e == pytest.approx(0.0)
