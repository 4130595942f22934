"""Offsets: supply steps, the usage limit, and the spread between allowance and offset prices."""

from __future__ import annotations

import pytest
from builders import write_case

import optimodel


def offset_case(tmp_path, *, limit: float, offsets: list[dict], cap: float = 80.0):
    """One firm, 100 t baseline, one option of 100 t at 50; cap 80."""
    return write_case(
        tmp_path,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": 2025, "gas": "CO2", "baseline_t": 100.0}],
        options=[{"firm_id": "A", "option": "retrofit", "potential_t": 100.0, "cost_per_t": 50.0}],
        scenario={
            "years": [2025],
            "sectors": {"power": {"cap_tco2e": {"2025": cap}}},
            "markets": {"national": {"sectors": ["power"], "offset_limit": limit}},
            "offsets": offsets,
        },
    )


def test_binding_offset_limit_opens_a_spread(tmp_path):
    # Plenty of credits at 30, usable up to 5 % of verified emissions E. With the limit binding:
    # E = 80 + 0.05 E, so E = 84.2105 and u = 4.2105 credits, abatement a = 15.7895.
    # KKT: credits  30 - pi + mu = 0;  abatement  50 - pi + 0.05 mu = 0  (abating also shrinks
    # the limit). So mu = 20 / 0.95 = 21.0526 and pi = 51.0526; offset price pi - mu = 30.
    path = offset_case(tmp_path, limit=0.05, offsets=[{"quantity_tco2e": 1000.0, "price": 30.0}])
    result = optimodel.solve(optimodel.load_scenario(path))
    price = result.prices.iloc[0]
    mu = 20.0 / 0.95
    assert price.price == pytest.approx(30.0 + mu)
    assert price.offset_spread == pytest.approx(mu)
    assert price.offset_price == pytest.approx(30.0)
    market = result.markets.iloc[0]
    assert market.emissions_tco2e == pytest.approx(80.0 / 0.95)
    assert market.offsets_tco2e == pytest.approx(0.05 * 80.0 / 0.95)
    assert result.summary["objective"] == pytest.approx(50.0 * (100 - 80 / 0.95) + 30.0 * (0.05 * 80 / 0.95))


def test_scarce_offsets_take_the_allowance_price(tmp_path):
    # Only 10 credits at 30, limit 50 %: all 10 are used, the limit is slack (spread 0), the other
    # 10 t are abated at 50. The credits' scarcity rent makes them worth the allowance price.
    path = offset_case(tmp_path, limit=0.5, offsets=[{"quantity_tco2e": 10.0, "price": 30.0}])
    result = optimodel.solve(optimodel.load_scenario(path))
    price = result.prices.iloc[0]
    assert price.price == pytest.approx(50.0)
    assert price.offset_spread == pytest.approx(0.0)
    assert price.offset_price == pytest.approx(50.0)
    assert result.markets.iloc[0].offsets_tco2e == pytest.approx(10.0)


def test_offset_steps_clear_in_merit_order(tmp_path):
    # Steps 5 @ 20 and 100 @ 40, limit 50 %: 20 t of cover needed, and credits are cheaper than
    # abatement (50): 5 @ 20, then 15 @ 40. Price 40. Nothing is abated, so E = 100 and the
    # 20 credits are well under the limit of 50.
    path = offset_case(
        tmp_path, limit=0.5, offsets=[{"quantity_tco2e": 5.0, "price": 20.0}, {"quantity_tco2e": 100.0, "price": 40.0}]
    )
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.prices.iloc[0].price == pytest.approx(40.0)
    assert result.markets.iloc[0].offsets_tco2e == pytest.approx(20.0)
    assert result.summary["objective"] == pytest.approx(5 * 20.0 + 15 * 40.0)


def test_no_offsets_without_a_limit(tmp_path):
    path = offset_case(tmp_path, limit=0.0, offsets=[{"quantity_tco2e": 1000.0, "price": 1.0}])
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.prices.iloc[0].price == pytest.approx(50.0)
    assert result.markets.iloc[0].offsets_tco2e == pytest.approx(0.0)


def test_offsets_restricted_to_years(tmp_path):
    path = write_case(
        tmp_path,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": y, "gas": "CO2", "baseline_t": 100.0} for y in (2025, 2026)],
        options=[{"firm_id": "A", "option": "retrofit", "potential_t": 100.0, "cost_per_t": 50.0}],
        scenario={
            "years": [2025, 2026],
            "sectors": {"power": {"cap_tco2e": {"2025": 90.0, "2026": 90.0}}},
            "markets": {"national": {"sectors": ["power"], "offset_limit": 0.5}},
            "offsets": [{"quantity_tco2e": 100.0, "price": 10.0, "years": [2026]}],
        },
    )
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.prices["price"].tolist() == pytest.approx([50.0, 10.0])
    assert result.markets["offsets_tco2e"].tolist() == pytest.approx([0.0, 10.0])
