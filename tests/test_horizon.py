"""Look-ahead years and terminal conditions on the bank (contract section 11), hand-derived.

The look-ahead is checked against a different formulation of the same problem: the explicit
longer scenario, whose tables repeat the last year's rows and whose caps decline by hand,
restricted to the reported years.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from builders import one_sector_case, run_cli, write_case

import optimodel

FIRMS = [{"firm_id": "P1", "sector": "power"}, {"firm_id": "S1", "sector": "steel"}]
STEPS = [("P1", "efficiency", 20.0, 10.0), ("P1", "ccs", 30.0, 50.0), ("S1", "scrap_eaf", 10.0, 30.0), ("S1", "hydrogen_dri", 40.0, 80.0)]
BASELINES = {"P1": 100.0, "S1": 80.0}


def two_firms(
    folder: Path, years: list[int], caps: dict[int, float], horizon: dict | None = None, sector: dict | None = None
) -> Path:
    """The README's two firms (baselines and options every year), banking at 10 % discounting;
    ``sector`` (a sector table) replaces ``caps`` for both sectors when given."""
    emissions = [{"firm_id": firm, "year": year, "gas": "CO2", "baseline_t": value} for year in years for firm, value in BASELINES.items()]
    options = [
        {"firm_id": firm, "option": option, "gas": "CO2", "potential_t": potential, "cost_per_t": cost, "year": year}
        for year in years
        for firm, option, potential, cost in STEPS
    ]
    scenario = {
        "years": years,
        "discount_rate": 0.1,
        "sectors": {
            name: sector or {"cap_tco2e": {str(year): cap for year, cap in caps.items()}} for name in ("power", "steel")
        },
        "markets": {"national": {"sectors": ["power", "steel"], "banking": True}},
    }
    if horizon:
        scenario["horizon"] = horizon
    return write_case(folder, firms=FIRMS, emissions=emissions, options=options, scenario=scenario)


def test_lookahead_equals_the_explicit_longer_scenario_restricted_to_the_reported_years(tmp_path):
    # Caps 70, 60 per sector and two look-ahead years declining 10 %/yr: 54 and 48.6.
    short = two_firms(tmp_path / "short", [2025, 2026], {2025: 70.0, 2026: 60.0}, {"lookahead_years": 2, "lookahead_cap_decline": 0.1})
    long = two_firms(tmp_path / "long", [2025, 2026, 2027, 2028], {2025: 70.0, 2026: 60.0, 2027: 54.0, 2028: 48.6})
    looked = optimodel.solve(optimodel.load_scenario(short))
    explicit = optimodel.solve(optimodel.load_scenario(long))
    reported = explicit.prices["year"] <= 2026
    pd.testing.assert_frame_equal(looked.prices, explicit.prices[reported].reset_index(drop=True), rtol=1e-9, atol=1e-9)
    for name in ("markets", "sectors", "firms", "options"):
        table = getattr(explicit, name)
        pd.testing.assert_frame_equal(getattr(looked, name), table[table["year"] <= 2026].reset_index(drop=True), rtol=1e-9, atol=1e-9)
    lookahead = pd.DataFrame(looked.summary["horizon"]["lookahead"])
    beyond = explicit.markets[explicit.markets["year"] > 2026].reset_index(drop=True)
    assert lookahead["year"].tolist() == [2027, 2028]
    assert lookahead["price"].tolist() == pytest.approx(explicit.prices[~reported]["price"].tolist())
    assert lookahead["bank_end_tco2e"].tolist() == pytest.approx(beyond["bank_end_tco2e"].tolist())
    assert looked.summary["objective"] == pytest.approx(explicit.summary["objective"])
    # The look-ahead changes the reported prices: without it 2025-2026 clear differently.
    alone = optimodel.solve(optimodel.load_scenario(two_firms(tmp_path / "alone", [2025, 2026], {2025: 70.0, 2026: 60.0})))
    assert alone.prices["price"].tolist() != pytest.approx(looked.prices["price"].tolist())


def test_lookahead_rows_of_the_tables_are_the_last_years(tmp_path):
    # The tables' own rows for a look-ahead year are not used: the data are held at 2026's.
    long = two_firms(tmp_path / "long", [2025, 2026, 2027], {2025: 70.0, 2026: 60.0, 2027: 60.0})
    held = two_firms(tmp_path / "held", [2025, 2026], {2025: 70.0, 2026: 60.0}, {"lookahead_years": 1})
    emissions = pd.read_csv(tmp_path / "long" / "emissions.csv")
    emissions.loc[emissions["year"] == 2027, "baseline_t"] = 500.0  # ignored by the look-ahead
    emissions.to_csv(tmp_path / "held" / "emissions.csv", index=False)
    looked = optimodel.solve(optimodel.load_scenario(held))
    explicit = optimodel.solve(optimodel.load_scenario(long))
    assert looked.prices["price"].tolist() == pytest.approx(explicit.prices["price"].tolist()[:2])


def banked_case(folder: Path, horizon: dict) -> Path:
    """One firm of 100 t capped at 100 t (nothing to abate), steps 20 t at 10 and 20 t at 40, banking."""
    return one_sector_case(
        folder, {"A": 100.0}, [("A", 20.0, 10.0), ("A", 20.0, 40.0)], cap=100.0,
        extra={"markets": {"national": {"sectors": ["power"], "banking": True}}, "horizon": horizon},
    )


def test_a_terminal_bank_value_sets_the_last_years_price_while_the_bank_is_positive(tmp_path):
    # Each banked allowance is worth 30: abating the 20 t at 10 and banking them pays, the step
    # at 40 does not. The bank is 20 t, and the price is 30 on both sides.
    result = optimodel.solve(optimodel.load_scenario(banked_case(tmp_path, {"terminal_bank_value": 30.0})))
    assert result.prices[["price", "price_low", "price_high"]].iloc[0].tolist() == pytest.approx([30.0, 30.0, 30.0])
    assert result.markets["bank_end_tco2e"].tolist() == pytest.approx([20.0])
    assert result.summary["objective"] == pytest.approx(20 * 10 - 20 * 30)
    # Worthless without it: nothing is abated and the price is 0.
    plain = optimodel.solve(optimodel.load_scenario(banked_case(tmp_path / "plain", {})))
    assert plain.prices["price"].tolist() == [0.0] and plain.markets["bank_end_tco2e"].tolist() == [0.0]


def test_a_terminal_minimum_bank_prices_the_step_that_fills_it(tmp_path):
    # At least 15 t must be banked: 15 t of the step at 10, partly used: price 10.
    result = optimodel.solve(optimodel.load_scenario(banked_case(tmp_path, {"terminal_bank_min_tco2e": 15.0})))
    assert result.prices[["price", "price_low", "price_high"]].iloc[0].tolist() == pytest.approx([10.0, 10.0, 10.0])
    assert result.markets["bank_end_tco2e"].tolist() == pytest.approx([15.0])


CAPS = {2025: 70.0, 2026: 60.0, 2027: 50.0}
"""Per sector; the two firms must abate 40, 60 and 80 t. Each year's cheap capacity is 60 t
(20 at 10, 10 at 30, 30 at 50), then hydrogen DRI at 80. Discounting at 10 %."""


def rolled(folder: Path, foresight: int | None) -> optimodel.Result:
    horizon = {"foresight_years": foresight} if foresight else {}
    return optimodel.solve(optimodel.load_scenario(two_firms(folder, [2025, 2026, 2027], CAPS, horizon)))


def intervals(result: optimodel.Result) -> list[float]:
    """price, price_low, price_high of each year in turn, flattened for pytest.approx."""
    return result.prices[["price", "price_low", "price_high"]].to_numpy().ravel().tolist()


def test_foresight_one_gives_the_prices_without_banking(tmp_path):
    # Each year alone: 40 t ends 10 t into CCS (50); 60 t ends CCS exactly ([50, 80]); 80 t is 20 t
    # of hydrogen (80). The same scenario with banking off gives the same.
    result = rolled(tmp_path / "one", 1)
    assert intervals(result) == pytest.approx([50, 50, 50, 50, 50, 80, 80, 80, 80])
    assert result.markets["bank_end_tco2e"].tolist() == [0.0, 0.0, 0.0]
    path = two_firms(tmp_path / "no-bank", [2025, 2026, 2027], CAPS)
    path.write_text(path.read_text().replace("banking = true", "banking = false"))
    assert intervals(optimodel.solve(optimodel.load_scenario(path))) == pytest.approx(intervals(result))


def test_full_foresight_is_the_hotelling_path(tmp_path):
    # 180 t over three years, 60 t of cheap capacity a year: every year abates 60 t, banking 20 t
    # in 2025 for 2027. Prices rise at 10 %, each within its step [50, 80]: 2025 in [50, 80/1.21].
    for foresight in (None, 3):
        result = rolled(tmp_path / f"full-{foresight}", foresight)
        assert intervals(result) == pytest.approx([50, 50, 80 / 1.21, 55, 55, 80 / 1.1, 60.5, 60.5, 80])
        assert result.markets["bank_end_tco2e"].tolist() == pytest.approx([20.0, 20.0, 0.0])
        assert "rolling" not in result.summary["horizon"]


def test_a_two_year_window_gives_the_hand_derived_rolling_solution(tmp_path):
    # Window 2025-26: 2026's 60 t fit its own cheap capacity, so nothing is banked and 2025 prices
    # alone at 50. Window 2026-27: 2027 needs 20 t of hydrogen at 80 (72.73 in 2026 money), cheaper
    # than hydrogen in 2026 (80): nothing is banked, and one more 2026 allowance, banked, saves
    # 72.73: 2026 in [72.73, 80]. Window 2027: hydrogen, 80.
    result = rolled(tmp_path, 2)
    assert intervals(result) == pytest.approx([50, 50, 50, 80 / 1.1, 80 / 1.1, 80, 80, 80, 80])
    assert result.markets["bank_end_tco2e"].tolist() == pytest.approx([0.0, 0.0, 0.0])
    assert result.summary["horizon"]["rolling"]["windows"] == 3
    assert result.summary["checks"]["objective_gap"] < 1e-6


def test_a_window_cannot_borrow_from_a_year_it_does_not_see(tmp_path):
    # Borrowing up to all of next year's issue, foresight 1: each window is one year, so nothing is
    # borrowed and the prices are those without banking.
    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS, {"foresight_years": 1})
    path.write_text(path.read_text().replace("banking = true", "banking = true\nborrowing = 1.0"))
    result = optimodel.solve(optimodel.load_scenario(path))
    assert intervals(result) == pytest.approx([50, 50, 50, 50, 50, 80, 80, 80, 80])


def test_terminal_conditions_need_a_banking_market(tmp_path):
    path = one_sector_case(tmp_path, {"A": 100.0}, [("A", 20.0, 10.0)], cap=100.0, extra={"horizon": {"terminal_bank_value": 30.0}})
    with pytest.raises(optimodel.InputError, match="key horizon: terminal conditions on the bank need a market with banking"):
        optimodel.load_scenario(path)


def test_the_cli_reports_only_the_scenarios_years_and_records_the_lookahead(tmp_path):
    path = two_firms(tmp_path, [2025, 2026], {2025: 70.0, 2026: 60.0, 2027: 50.0}, {"lookahead_years": 1})
    completed = run_cli("solve", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    # A cap given for a look-ahead year is used, and no year is outside the modelled ones.
    assert "warning:" not in completed.stderr
    for name in ("prices", "markets", "sectors", "firms", "options"):
        assert set(pd.read_csv(tmp_path / "out" / f"{name}.csv")["year"]) == {2025, 2026}, name
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["horizon"]["modelled_years"] == [2025, 2026, 2027]
    assert [entry["year"] for entry in summary["horizon"]["lookahead"]] == [2027]


def test_the_horizon_command_writes_every_variant_and_warns_when_the_end_sets_the_price(tmp_path):
    # Ends 2026: 2026's 60 t fit its own cheap capacity, 2025 prices at 50. Ends 2028 (one
    # look-ahead year with 2027's cap): 260 t over four years against 240 t of cheap capacity,
    # so 20 t of hydrogen at 80 are bought in 2028 and the Hotelling path from it gives
    # 2025 80 / 1.1^3 = 60.11: the first price moves 20 %.
    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS)
    out = tmp_path / "study"
    completed = run_cli("horizon", str(path), "--ends", "2026,2028", "--foresight", "1,all", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    table = pd.read_csv(out / "horizon.csv", dtype={"end_year": str, "foresight": str}, keep_default_na=False)
    assert list(table.columns) == ["end_year", "foresight", "market", "year", "price", "price_low", "price_high"]
    first = table[table["year"] == 2025].set_index(["end_year", "foresight"])["price"]
    assert first[("2026", "")] == pytest.approx(50.0)
    assert first[("2028", "")] == pytest.approx(80 / 1.1**3)
    assert first[("", "1")] == pytest.approx(50.0) and first[("", "all")] == pytest.approx(50.0)
    # The reported years of a look-ahead variant are the scenario's: 2025-2027.
    assert sorted(table[table["end_year"] == "2028"]["year"]) == [2025, 2026, 2027]
    summary = json.loads((out / "summary.json").read_text())
    codes = {warning["code"] for warning in summary["warnings"]}
    assert codes == {"horizon_dependent_prices", "bank_large_before_end"}
    assert "warning: market national: the 2025 price moves from 50.00 to 60.11" in completed.stderr
    assert json.loads((out / ".optimodel-run").read_text())["kind"] == "horizon"
    report = run_cli("report", str(out))
    assert report.returncode == 0 and "Allowance price by horizon" in (out / "report.html").read_text()


@pytest.mark.parametrize("arguments, fragment", [
    (["--ends", "2020"], "key --ends: 2020 is before the scenario's first year 2025"),
    (["--ends", "soon"], "key --ends: 'soon' is not a positive whole number"),
    (["--foresight", "0"], "key --foresight: '0' is not a positive whole number or all"),
])
def test_the_horizon_command_names_a_bad_option(tmp_path, arguments, fragment):
    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS)
    completed = run_cli("horizon", str(path), *arguments, "--out", str(tmp_path / "study"))
    assert completed.returncode == 2 and completed.stderr.strip() == f"error: {fragment}"
    assert not (tmp_path / "study").exists()
