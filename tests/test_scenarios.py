"""Every scenario in scenarios/ solves, and the default's results are pinned.

Regression values (layer c): each carries its tolerance and the date and reason it was set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import optimodel

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
ALL = sorted(path.relative_to(SCENARIOS).as_posix() for path in SCENARIOS.rglob("*.toml"))


@pytest.fixture(scope="module")
def solved() -> dict[str, optimodel.Result]:
    return {}


def solve(name: str, cache: dict) -> optimodel.Result:
    if name not in cache:
        cache[name] = optimodel.solve(optimodel.load_scenario(SCENARIOS / name))
    return cache[name]


@pytest.mark.parametrize("name", ALL)
def test_every_scenario_solves(name, solved):
    result = solve(name, solved)
    assert result.summary["status"] == "optimal"
    assert (result.prices["price_low"] <= result.prices["price"] + 1e-9).all()
    assert (result.prices["price"] <= result.prices["price_high"] + 1e-9).all()


def test_default_first_year_price_is_plausible(solved):
    # Allowances traded at 40-106 CNY/t in 2021-2025 (exchange data, docs/calibration.md).
    price = solve("expansion.toml", solved).prices.set_index("year").loc[2025, "price"]
    assert 40.0 <= price <= 106.0


# Set 2026-11-25 from the first calibrated dataset (seed 2025, HiGHS 1.16, dual simplex).
# 2035's price is one firm's step cost (76.73 CNY/t, its dispatch-shift option); the bank stays
# positive, so earlier prices are that discounted at 5 %/yr (Hotelling): 76.73 / 1.05^10 =
# 47.1056 in 2025. rtol 1e-6: anything beyond solver noise is a real change of the model or data.
EXPANSION_PRICES = {2025: 76.73 / 1.05**10, 2030: 76.73 / 1.05**5, 2035: 76.73}


@pytest.mark.parametrize("year", sorted(EXPANSION_PRICES))
def test_expansion_prices_regression(year, solved):
    prices = solve("expansion.toml", solved).prices.set_index("year")
    assert prices.loc[year, "price"] == pytest.approx(EXPANSION_PRICES[year], rel=1e-6)


def test_expansion_prices_rise_at_the_discount_rate_while_banking(solved):
    result = solve("expansion.toml", solved)
    prices = result.prices.set_index("year")["price"]
    banked = result.markets.set_index("year")["bank_end_tco2e"]
    for year in range(2025, 2035):
        if banked[year] > 1.0:
            assert prices[year + 1] == pytest.approx(prices[year] * 1.05, rel=1e-6)


def test_expansion_covers_about_eight_gigatonnes(solved):
    markets = solve("expansion.toml", solved).markets.set_index("year")
    sectors = solve("expansion.toml", solved).sectors
    baseline_2025 = sectors[sectors["year"] == 2025]["baseline_tco2e"].sum()
    assert baseline_2025 == pytest.approx(8.0e9, rel=0.01)
    assert markets.loc[2025, "emissions_tco2e"] < baseline_2025


def test_one_national_market_is_cheaper_than_sector_markets(solved):
    national = solve("expansion.toml", solved).summary["objective"]
    separate = solve("sector-markets.toml", solved).summary["objective"]
    assert national <= separate + 1e-6 * abs(separate)


def test_power_only_covers_only_power(solved):
    result = solve("power-only.toml", solved)
    assert set(result.firms["sector"]) == {"power"}
    assert result.firms["firm_id"].nunique() == 2200


def test_tighter_caps_raise_every_price(solved):
    base = solve("expansion.toml", solved).prices.set_index("year")["price"]
    tight = solve("tight-caps.toml", solved).prices.set_index("year")["price"]
    assert (tight > base).all()


def test_lookahead_2045_regression(solved):
    # 2026-11-25: the default solved to 2045 with caps declining 2 %/yr after 2035 (contract
    # section 11). The bank stays positive to 2044, so 2025's price is 2045's marginal step,
    # 226.2779 CNY/t, discounted 20 years at 5 %: 85.2818. rel 1e-6, as above.
    result = solve("lookahead-2045.toml", solved)
    assert result.prices["year"].tolist() == list(range(2025, 2036))
    lookahead = {entry["year"]: entry["price"] for entry in result.summary["horizon"]["lookahead"]}
    assert sorted(lookahead) == list(range(2036, 2046))
    assert lookahead[2045] == pytest.approx(226.27789708, rel=1e-6)
    assert result.prices["price"].iloc[0] == pytest.approx(lookahead[2045] / 1.05**20, rel=1e-6)


# Set 2026-11-25 (same data and solver as above) for scenarios/official-plan.toml. Its aggregate
# carry-over limit binds in 2029 (a bank of exactly 200 Mt), which splits the path in two:
# - 2030-2035: 2030's price is the first CCER step's price, 65 CNY/t (that step is partly used),
#   and the bank stays positive to 2034, so 2035 is 65 x 1.05^5 = 82.9583.
# - 2025-2029: 2029's own step, 34.66, and 2026-2028 that discounted at 5 %/yr; 2025 banks
#   nothing and prices at its own step, 31.39. The reserve's intake (trigger 40 rising 5 %/yr)
#   takes in its full 30 Mt in each of these years, because prices sit below it.
# rtol 1e-6: anything beyond solver noise is a real change of the model or data.
OFFICIAL_PLAN_PRICES = {2025: 31.39, 2026: 34.66 / 1.05**3, 2029: 34.66, 2030: 65.0, 2035: 65.0 * 1.05**5}


@pytest.mark.parametrize("year", sorted(OFFICIAL_PLAN_PRICES))
def test_official_plan_prices_regression(year, solved):
    prices = solve("official-plan.toml", solved).prices.set_index("year")
    assert prices.loc[year, "price"] == pytest.approx(OFFICIAL_PLAN_PRICES[year], rel=1e-6)


def test_official_plan_rules_act_as_documented(solved):
    markets = solve("official-plan.toml", solved).markets.set_index("year")
    assert markets.loc[2029, "bank_end_tco2e"] == pytest.approx(2.0e8, rel=1e-9)
    assert markets.loc[2025:2029, "reserve_intake_tco2e"].tolist() == pytest.approx([3.0e7] * 5)
    assert markets.loc[2030:, "reserve_intake_tco2e"].sum() == 0.0
    assert markets["reserve_released_tco2e"].sum() == 0.0
    assert markets.loc[2035, "reserve_stock_end_tco2e"] == pytest.approx(4.0e8 + 5 * 3.0e7)
    # Auctions from 2030 (5 % rising to 17.5 %) raise share x issued x price.
    row = markets.loc[2035]
    assert row["auction_revenue"] == pytest.approx(0.175 * row["issued_tco2e"] * row["price"], rel=1e-9)
    assert markets.loc[:2029, "auction_revenue"].sum() == 0.0


def test_the_bank_limit_lowers_early_prices_and_raises_later_ones(solved):
    # no-banking-limit.toml is the official plan with the limit lifted: Hotelling from 2025 to 2035.
    limited = solve("official-plan.toml", solved).prices.set_index("year")["price"]
    free = solve("no-banking-limit.toml", solved).prices.set_index("year")["price"]
    assert free.loc[2035] == pytest.approx(free.loc[2025] * 1.05**10, rel=1e-6)
    assert (limited.loc[:2029] < free.loc[:2029]).all()
    assert (limited.loc[2030:] > free.loc[2030:]).all()


def test_the_reserve_alone_leaves_the_default_untouched(solved):
    # The default's prices (47.11 rising 5 %/yr) lie between the reserve's intake trigger (40 rising
    # 5 %/yr) and its first release trigger (120 rising 5 %/yr): neither acts.
    default = solve("expansion.toml", solved)
    reserve = solve("reserve.toml", solved)
    assert reserve.prices["price"].tolist() == pytest.approx(default.prices["price"].tolist(), rel=1e-9)
    assert reserve.markets["reserve_stock_end_tco2e"].tolist() == pytest.approx([4.0e8] * 11)
