"""Rules the market runs on (contract section 9), hand-derived: cap paths and bank limits.

The README's two firms over three years at 10 % discounting, banking (tests/test_horizon.py):
they must abate 40, 60 and 80 t; each year's cheap capacity is 60 t (20 at 10, 10 at 30, 30 at
50), then hydrogen DRI at 80.
"""

from __future__ import annotations

import pytest
from builders import run_cli
from test_horizon import CAPS, intervals, two_firms

import optimodel


def test_a_cap_path_gives_the_caps_written_out(tmp_path):
    # 70 from 2025 declining 10 %/yr: 70, 63, 56.7 per sector.
    written = two_firms(tmp_path / "written", [2025, 2026, 2027], {2025: 70.0, 2026: 63.0, 2027: 56.7})
    path = two_firms(
        tmp_path / "path", [2025, 2026, 2027], {}, sector={"cap_path": {"from_year": 2025, "start_tco2e": 70.0, "decline": 0.1}}
    )
    by_path = optimodel.solve(optimodel.load_scenario(path))
    by_hand = optimodel.solve(optimodel.load_scenario(written))
    assert intervals(by_path) == pytest.approx(intervals(by_hand))
    assert by_path.markets["issued_tco2e"].tolist() == pytest.approx([140.0, 126.0, 113.4])


def test_a_cap_path_is_swept_warm_and_continues_into_the_look_ahead(tmp_path):
    from optimodel.workflows.sweep import parse_assignment, run_sweep

    sector = {"cap_tco2e": {"2025": 70.0}, "cap_path": {"from_year": 2026, "start_tco2e": 60.0, "decline": 0.0}}
    path = two_firms(tmp_path, [2025, 2026, 2027], {}, {"lookahead_years": 1}, sector=sector)
    result = optimodel.solve(optimodel.load_scenario(path))
    # The look-ahead year 2028 continues the path (60), not the look-ahead decline.
    assert [entry["year"] for entry in result.summary["horizon"]["lookahead"]] == [2028]
    assert result.markets["issued_tco2e"].tolist() == pytest.approx([140.0, 120.0, 120.0])
    sweep = run_sweep(path, [parse_assignment("sectors.power.cap_path.decline=0.0,0.1")])
    assert [point.warm for point in sweep.points] == [True, True]
    cold = optimodel.solve(optimodel.load_scenario(path).model_copy())
    assert sweep.points[0].result.prices.equals(cold.prices)


def test_a_binding_bank_limit_breaks_the_hotelling_path(tmp_path):
    # Without a limit: every year abates 60 t, banking 20 t; prices rise at 10 %: 50, 55, 60.5.
    # With at most 10 t carried out of a year: 2025 banks 10 (abates 50, inside CCS: 50).
    # 2026 abates its 60 and carries 10, both banks at the limit: one more 2026 allowance lets
    # 2025 bank one less and abate one less, saving CCS at 50 in 2025 money, 55 in 2026's; one
    # fewer costs a unit of 2027's hydrogen, 80 / 1.1 = 72.73: [55, 72.73]. 2027 buys 10 t of
    # hydrogen: 80. Not 50, 55, 60.5: the limit breaks the path.
    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS)
    path.write_text(path.read_text().replace("banking = true", "banking = true\nbank_limit_tco2e = 10.0"))
    result = optimodel.solve(optimodel.load_scenario(path))
    assert intervals(result) == pytest.approx([50, 50, 50, 55, 55, 80 / 1.1, 80, 80, 80])
    assert result.markets["bank_end_tco2e"].tolist() == pytest.approx([10.0, 10.0, 0.0])


def test_a_bank_limit_for_a_year_outside_the_scenario_warns(tmp_path):
    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS)
    path.write_text(path.read_text().replace("banking = true", "banking = true\nbank_limit_tco2e = { 2025 = 10.0, 2040 = 5.0 }"))
    completed = run_cli("validate", str(path))
    assert completed.returncode == 0
    assert "warning: markets.national.bank_limit_tco2e has values for 2040, outside the scenario's years" in completed.stderr


def test_a_negative_bank_limit_is_an_error(tmp_path):
    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS)
    path.write_text(path.read_text().replace("banking = true", "banking = true\nbank_limit_tco2e = -1.0"))
    with pytest.raises(optimodel.InputError, match="key markets.national.bank_limit_tco2e"):
        optimodel.load_scenario(path)


def test_an_auction_share_moves_money_and_leaves_prices_and_abatement_alone(tmp_path):
    # Power auctions 10 % of its cap: 7 t in 2025 and 6 t in 2026, bought at 50 (the price).
    # P1 emits 70 and 50 t (as without the auction), gets 63 and 54 t free: it buys 7 t in 2025
    # (compliance 700 + 50 x 7 = 1,050) and sells 4 t in 2026 (1,700 - 200 = 1,500).
    from builders import EXAMPLES

    plain = optimodel.solve(optimodel.load_scenario(EXAMPLES / "two-firms.toml"))
    path = tmp_path / "auction.toml"
    path.write_text(f'extends = "{EXAMPLES / "two-firms.toml"}"\nname = "auction"\n[sectors.power]\nauction_share = 0.1\n')
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.prices.equals(plain.prices)
    assert result.firms["abatement_tco2e"].tolist() == plain.firms["abatement_tco2e"].tolist()
    assert result.markets["auction_tco2e"].tolist() == pytest.approx([7.0, 6.0])
    assert result.markets["auction_revenue"].tolist() == pytest.approx([350.0, 300.0])
    assert result.markets["issued_tco2e"].tolist() == pytest.approx([140.0, 120.0])
    power = result.firms[result.firms["firm_id"] == "P1"]
    assert power["allocation_tco2e"].tolist() == pytest.approx([63.0, 54.0])
    assert power["compliance_cost"].tolist() == pytest.approx([1050.0, 1500.0])
    assert result.regions is not None
    shandong = result.regions[result.regions["region"] == "Shandong"]
    assert shandong["compliance_cost"].tolist() == pytest.approx([1050.0, 1500.0])
    assert result.summary["totals"]["discounted"]["auction_revenue"] == pytest.approx(650.0)
    assert [entry["auction_revenue"] for entry in result.summary["totals"]["by_year"]] == pytest.approx([350.0, 300.0])


def test_regions_csv_is_written_when_firms_have_regions(tmp_path):
    from builders import EXAMPLES

    completed = run_cli("solve", str(EXAMPLES / "two-firms.toml"), "--out", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    import pandas as pd

    regions = pd.read_csv(tmp_path / "out" / "regions.csv")
    assert list(regions.columns) == [
        "region", "year", "firms", "baseline_tco2e", "abatement_tco2e", "emissions_tco2e", "allocation_tco2e",
        "net_purchase_tco2e", "abatement_cost", "compliance_cost",
    ]
    expected = [["Hebei", 2025, 1], ["Hebei", 2026, 1], ["Shandong", 2025, 1], ["Shandong", 2026, 1]]
    assert regions[["region", "year", "firms"]].values.tolist() == expected


def test_carry_over_allowed_is_the_per_firm_rule_on_the_solutions_net_sales(tmp_path):
    # The bank-limit case above: P1 sells 10 t in 2025 (abates 40 of 100, gets 70) and 10 in 2026
    # (abates 50, gets 60), then nothing; S1 sells nothing, then buys 10 and 10. Cumulative net
    # sales: P1 10, 20, 20; S1 0, -10, -20 (counts as 0). With the rule's 1.5 x and no per-firm
    # term: 15, 30, 30; with 0.5 x: 5, 10, 10, and the 2025 bank of 10 is above it: a warning.
    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS)
    market = "banking = true\nbank_limit_tco2e = 10.0\ncarry_over_base_tco2e = 0.0"
    path.write_text(path.read_text().replace("banking = true", market))
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.markets["carry_over_allowed_tco2e"].tolist() == pytest.approx([15.0, 30.0, 30.0])
    assert "bank_above_carry_over_rule" not in [warning["code"] for warning in result.summary["warnings"]]
    path.write_text(path.read_text().replace(market, market + "\ncarry_over_sales_multiple = 0.5"))
    completed = run_cli("solve", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    assert "warning: the bank out of national 2025 exceeds what the per-firm carry-over rule would allow" in completed.stderr
    import pandas as pd

    markets = pd.read_csv(tmp_path / "out" / "markets.csv")
    assert markets["carry_over_allowed_tco2e"].tolist() == pytest.approx([5.0, 10.0, 10.0])


def test_the_default_per_firm_term_is_ten_thousand_tonnes(tmp_path):
    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS)
    result = optimodel.solve(optimodel.load_scenario(path))
    # Unlimited banking (Hotelling, 60 t abated a year): P1 abates 50 t a year and gets 70, 60, 50:
    # it sells 20, 10, 0 (cumulative 20, 30, 30); S1 never sells. Two firms x 10,000 t plus 1.5 x that.
    assert result.markets["carry_over_allowed_tco2e"].tolist() == pytest.approx([20_030.0, 20_045.0, 20_045.0])


def test_bank_limits_are_swept_warm(tmp_path):
    from optimodel.workflows.sweep import parse_assignment, run_sweep

    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS)
    sweep = run_sweep(path, [parse_assignment("markets.national.bank_limit_tco2e=10,1000")])
    assert [point.warm for point in sweep.points] == [True, True]
    # 10: the hand-derived broken path above; 1000: the Hotelling path 50, 55, 60.5.
    assert intervals(sweep.points[0].result) == pytest.approx([50, 50, 50, 55, 55, 80 / 1.1, 80, 80, 80])
    assert sweep.points[1].result.prices["price"].tolist() == pytest.approx([50.0, 55.0, 60.5])
