"""Infeasibility in policy terms: every short market-year, with its shortfall, at once."""

from __future__ import annotations

import pytest
from builders import write_case

import optimodel
from optimodel.inputs.data import load_data
from optimodel.solver.diagnose import presolve_shortfalls


def two_year_case(tmp_path, caps: dict, market: dict | None = None):
    # One firm, baseline 100 t a year, one option of 30 t a year: lowest reachable emissions 70.
    return write_case(
        tmp_path,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": year, "gas": "CO2", "baseline_t": 100.0} for year in (2025, 2026)],
        options=[{"firm_id": "A", "option": "retrofit", "potential_t": 30.0, "cost_per_t": 10.0}],
        scenario={
            "years": [2025, 2026],
            "sectors": {"power": {"cap_tco2e": {str(year): cap for year, cap in caps.items()}}},
            "markets": {"national": {"sectors": ["power"], **(market or {})}},
        },
    )


def shortfalls(path) -> dict:
    with pytest.raises(optimodel.InfeasibleError) as caught:
        optimodel.solve(optimodel.load_scenario(path))
    return {(s.market, s.year): s.shortfall_tco2e for s in caught.value.shortfalls}


def test_every_short_year_is_named_at_once(tmp_path):
    assert shortfalls(two_year_case(tmp_path, {2025: 60.0, 2026: 50.0})) == pytest.approx(
        {("national", 2025): 10.0, ("national", 2026): 20.0}
    )


def test_every_short_market_is_named_at_once(examples, tmp_path):
    # Separate markets, 2026 caps 10 each: power lowest 100 - 50 = 50 (short 40), steel 80 - 50 = 30 (short 20).
    path = tmp_path / "case.toml"
    path.write_text(
        f'extends = "{examples / "two-firms-separate.toml"}"\n'
        "[sectors.power]\ncap_tco2e = { 2025 = 70, 2026 = 10 }\n[sectors.steel]\ncap_tco2e = { 2025 = 70, 2026 = 10 }\n"
    )
    assert shortfalls(path) == pytest.approx({("power", 2026): 40.0, ("steel", 2026): 20.0})


def test_a_banked_surplus_covers_a_later_year(tmp_path):
    # 2025: cap 90 against lowest 70: 20 spare, banked. 2026: cap 55 against 70: short 15 < 20.
    path = two_year_case(tmp_path / "ok", {2025: 90.0, 2026: 55.0}, {"banking": True})
    scenario = optimodel.load_scenario(path)
    assert presolve_shortfalls(load_data(scenario), scenario) == {}
    assert optimodel.solve(scenario).summary["status"] == "optimal"
    # 2026 cap 40: short 30, the bank covers 20, 10 remain short.
    assert shortfalls(two_year_case(tmp_path / "short", {2025: 90.0, 2026: 40.0}, {"banking": True})) == pytest.approx(
        {("national", 2026): 10.0}
    )


def test_borrowing_covers_an_earlier_year(tmp_path):
    # 2025: cap 60, lowest 70: short 10; borrowing 20 % of 2026's 100 covers it; 2026 then has 90 for 70.
    path = two_year_case(tmp_path, {2025: 60.0, 2026: 100.0}, {"borrowing": 0.2})
    scenario = optimodel.load_scenario(path)
    assert presolve_shortfalls(load_data(scenario), scenario) == {}
    assert optimodel.solve(scenario).summary["status"] == "optimal"


def test_offsets_count_up_to_their_limit(tmp_path):
    # Lowest 70 in 2026 against a cap of 60 and up to 10 % x 70 = 7 offsets: short 3.
    path = write_case(
        tmp_path,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": 2026, "gas": "CO2", "baseline_t": 100.0}],
        options=[{"firm_id": "A", "option": "retrofit", "potential_t": 30.0, "cost_per_t": 10.0}],
        scenario={
            "years": [2026],
            "sectors": {"power": {"cap_tco2e": {"2026": 60.0}}},
            "markets": {"national": {"sectors": ["power"], "offset_limit": 0.1}},
            "offsets": [{"quantity_tco2e": 1000.0, "price": 5.0}],
        },
    )
    assert shortfalls(path) == pytest.approx({("national", 2026): 3.0})


def test_shortfalls_read_in_mt_with_separators():
    """Contract section 8: "2,613.48 Mt CO2e"; a quantity too small to show in Mt stays in tCO2e."""
    from optimodel.errors import InfeasibleError, Shortfall

    error = InfeasibleError(
        [Shortfall("national", 2030, 2_613_477_011.364), Shortfall("national", 2031, 61_234_567.0), Shortfall("steel", 2031, 0.25)]
    )
    assert str(error) == (
        "infeasible: market national year 2030 short by 2,613.48 Mt CO2e; market national year 2031 short by "
        "61.23 Mt CO2e; market steel year 2031 short by 0.25 tCO2e"
    )
