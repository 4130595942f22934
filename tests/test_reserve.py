"""The allowance reserve (contract section 9), hand-derived on the README's two firms.

Each year the two firms can abate 20 t at 10, 10 at 30, 30 at 50 (60 t of cheap capacity), then
40 t of hydrogen DRI at 80; baselines total 180 t. Discounting at 10 %/yr, no banking unless said.
Prices are in money of their year.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import run_cli
from test_horizon import intervals, two_firms

import optimodel


def reserve_case(
    folder: Path, caps: dict[int, float], reserve: dict, banking: bool = False, horizon: dict | None = None
) -> Path:
    """Two firms with ``caps`` per sector and a reserve table on the national market."""
    path = two_firms(folder, sorted(caps), caps, horizon)
    text = path.read_text()
    if not banking:
        text = text.replace("banking = true", "banking = false")
    lines = ["", "[markets.national.reserve]", f"stock_tco2e = {reserve.get('stock_tco2e', 0.0)}"]
    for kind in ("release", "intake"):
        tiers = ", ".join(
            f"{{ price = {_toml_price(tier[0])}, quantity_tco2e = {tier[1]} }}" for tier in reserve.get(kind, [])
        )
        lines.append(f"{kind} = [{tiers}]")
    path.write_text(text + "\n".join(lines) + "\n")
    return path


def _toml_price(price) -> str:
    if isinstance(price, dict):
        return "{ " + ", ".join(f"{year} = {value}" for year, value in price.items()) + " }"
    return str(price)


def solve(path: Path) -> optimodel.Result:
    return optimodel.solve(optimodel.load_scenario(path))


def test_a_partly_used_release_tier_prices_at_its_trigger(tmp_path):
    # Caps of 55 each: 70 t to abate. 60 t cheap (ends at 50), then the tier at 60 releases the
    # other 10 of its 20: the price is its trigger, exactly. Without the reserve it is hydrogen's 80.
    result = solve(reserve_case(tmp_path, {2025: 55.0}, {"stock_tco2e": 100.0, "release": [(60.0, 20.0)]}))
    assert intervals(result) == pytest.approx([60.0, 60.0, 60.0])
    markets = result.markets.iloc[0]
    assert markets["reserve_released_tco2e"] == pytest.approx(10.0)
    assert markets["reserve_stock_end_tco2e"] == pytest.approx(90.0)
    assert markets["reserve_revenue"] == pytest.approx(600.0)
    assert result.summary["totals"]["by_year"][0]["reserve_revenue"] == pytest.approx(600.0)


def test_a_stock_that_binds_prices_at_the_next_step_and_is_shared_across_years(tmp_path):
    # 70 t to abate in both years; the tier (60, money of each year) would release 10 a year but the
    # stock holds 15. A release saves 80 - 60 = 20 in 2025 and 20 / 1.1 = 18.18 (2025 money) in
    # 2026, so 2025 takes 10 and 2026 the last 5, then 5 t of hydrogen: 2026 prices at 80, the next
    # step. 2025's tier is partly used but a 2025 allowance is worth its trigger plus the stock's
    # scarcity value 18.18 (2025 money): 78.18, exactly (one more or one fewer 2025 allowance moves
    # a release to or from 2026).
    path = reserve_case(tmp_path, {2025: 55.0, 2026: 55.0}, {"stock_tco2e": 15.0, "release": [(60.0, 20.0)]})
    result = solve(path)
    scarcity = 20.0 / 1.1
    assert intervals(result) == pytest.approx([60 + scarcity] * 3 + [80.0] * 3)
    assert result.markets["reserve_released_tco2e"].tolist() == pytest.approx([10.0, 5.0])
    assert result.markets["reserve_stock_end_tco2e"].tolist() == pytest.approx([5.0, 0.0])
    assert result.markets["reserve_revenue"].tolist() == pytest.approx([600.0, 300.0])


def test_a_fully_used_tier_lets_the_price_rise_to_the_next_tier(tmp_path):
    # 70 t to abate: tier 1 (60) releases its 4, tier 2 (70) 6 of its 10: the price is 70.
    reserve = {"stock_tco2e": 100.0, "release": [(60.0, 4.0), (70.0, 10.0)]}
    result = solve(reserve_case(tmp_path, {2025: 55.0}, reserve))
    assert intervals(result) == pytest.approx([70.0, 70.0, 70.0])
    assert result.markets["reserve_revenue"].tolist() == pytest.approx([4 * 60.0 + 6 * 70.0])


def test_an_intake_below_its_trigger_when_the_tier_is_full(tmp_path):
    # Caps of 100 each: 20 t to spare and a price of 0 without a reserve. The intake (trigger 40)
    # takes in all of its 45 t: 25 t to abate, 20 at 10 and 5 of the 10 at 30: the price is 30,
    # below the trigger, because the tier is full.
    result = solve(reserve_case(tmp_path, {2025: 100.0}, {"intake": [(40.0, 45.0)]}))
    assert intervals(result) == pytest.approx([30.0, 30.0, 30.0])
    markets = result.markets.iloc[0]
    assert markets["reserve_intake_tco2e"] == pytest.approx(45.0)
    assert markets["reserve_stock_end_tco2e"] == pytest.approx(45.0)
    assert markets["issued_tco2e"] == pytest.approx(200.0)
    assert markets["reserve_revenue"] == 0.0


def test_a_partly_used_intake_holds_the_price_at_its_trigger(tmp_path):
    # Room for 100 t of intake: taking in pays while abatement is cheaper than 40, so 30 t are
    # abated (20 at 10, 10 at 30) and 50 t taken in; ccs at 50 is dearer: the price is 40.
    result = solve(reserve_case(tmp_path, {2025: 100.0}, {"intake": [(40.0, 100.0)]}))
    assert intervals(result) == pytest.approx([40.0, 40.0, 40.0])
    assert result.markets["reserve_intake_tco2e"].tolist() == pytest.approx([50.0])


def test_an_intake_runs_above_its_trigger_when_the_stock_binds_later_and_warns(tmp_path, capsys):
    # 2025 has no shortage (caps 90 each), 2026 a deep one (caps 20: 140 t to abate). The reserve
    # starts empty. Every 2025 allowance taken in is released in 2026 at 60 instead of hydrogen at
    # 80: worth 20 / 1.1 = 18.18 in 2025 money on top of the intake trigger 40. So 2025 abates its
    # 60 cheap tonnes (ccs at 50 < 58.18) to take in 60, the 2026 tier releases all 60 and the
    # stock binds; 2026 still needs 20 t of hydrogen: 80. 2025's intake is partly used (60 of 100):
    # its price is 40 + 18.18 = 58.18, above the trigger.
    reserve = {"release": [(60.0, 100.0)], "intake": [(40.0, 100.0)]}
    path = reserve_case(tmp_path, {2025: 90.0, 2026: 20.0}, reserve)
    result = solve(path)
    assert intervals(result) == pytest.approx([40 + 20 / 1.1] * 3 + [80.0] * 3)
    assert result.markets["reserve_intake_tco2e"].tolist() == pytest.approx([60.0, 0.0])
    assert result.markets["reserve_released_tco2e"].tolist() == pytest.approx([0.0, 60.0])
    assert result.markets["reserve_stock_end_tco2e"].tolist() == pytest.approx([60.0, 0.0])
    codes = [warning["code"] for warning in result.summary["warnings"]]
    assert "reserve_intake_above_trigger" in codes
    completed = run_cli("solve", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    assert "warning: the reserve takes in allowances above its intake trigger in national 2025" in completed.stderr


def test_a_trigger_table_by_year_is_in_money_of_each_year(tmp_path):
    # The tier's trigger is 60 in 2025 and 66 from 2026; 70 t to abate each year, no banking:
    # each year's price is its own trigger.
    reserve = {"stock_tco2e": 100.0, "release": [({2025: 60.0, 2026: 66.0}, 20.0)]}
    result = solve(reserve_case(tmp_path, {2025: 55.0, 2026: 55.0, 2027: 55.0}, reserve))
    assert result.prices["price"].tolist() == pytest.approx([60.0, 66.0, 66.0])


def test_a_cap_only_the_reserve_makes_feasible_is_feasible(tmp_path):
    # Caps of 30 each: 120 t to abate, 100 t of options. Without the reserve: infeasible, named.
    # With 30 t in a tier at 200: 20 released, the price is 200.
    plain = two_firms(tmp_path / "plain", [2025], {2025: 30.0})
    completed = run_cli("solve", str(plain), "--out", str(tmp_path / "plain-out"))
    assert completed.returncode == 3
    result = solve(reserve_case(tmp_path / "reserve", {2025: 30.0}, {"stock_tco2e": 30.0, "release": [(200.0, 30.0)]}))
    assert intervals(result) == pytest.approx([200.0, 200.0, 200.0])


def test_a_reserve_too_small_is_named_short_by_the_diagnosis(tmp_path):
    # 120 t to abate, 100 t of options and a stock of 10: 10 t short, before any solve.
    path = reserve_case(tmp_path, {2025: 30.0}, {"stock_tco2e": 10.0, "release": [(200.0, 30.0)]})
    completed = run_cli("solve", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 3
    assert completed.stderr == "error: infeasible: market national year 2025 short by 10 tCO2e\n"


def test_reserve_prices_are_independent_of_a_banking_formulation(tmp_path):
    # A free tier (trigger 0) holding the whole stock, with banking, is the stock issued in the
    # first year: checked against that formulation (15 t more 2025 cap). The bank is positive, so
    # 2025's price is 2026's discounted (Hotelling).
    reserve = {"stock_tco2e": 15.0, "release": [(0.0, 15.0)]}
    with_reserve = solve(reserve_case(tmp_path / "reserve", {2025: 55.0, 2026: 55.0}, reserve, banking=True))
    as_cap = solve(two_firms(tmp_path / "extra", [2025, 2026], {2025: 62.5, 2026: 55.0}))
    # 140 t to abate over both years, 120 cheap: 20 t of hydrogen, in 2026 (discounted, cheaper).
    assert with_reserve.prices["price"].tolist() == pytest.approx([80 / 1.1, 80.0])
    assert intervals(with_reserve) == pytest.approx(intervals(as_cap))


def test_the_certificate_checks_the_reserve(tmp_path):
    path = reserve_case(tmp_path, {2025: 90.0, 2026: 20.0}, {"release": [(60.0, 100.0)], "intake": [(40.0, 100.0)]})
    checks = solve(path).summary["checks"]
    assert all(value is not False for value in checks.values()), checks


def test_an_intake_trigger_at_or_above_a_release_trigger_is_an_error(tmp_path):
    path = reserve_case(tmp_path, {2025: 55.0}, {"release": [(60.0, 20.0)], "intake": [(60.0, 20.0)]})
    with pytest.raises(optimodel.InputError, match="key markets.national.reserve.intake.0.price"):
        optimodel.load_scenario(path)


def test_a_trigger_table_must_start_by_the_first_year(tmp_path):
    path = reserve_case(tmp_path, {2025: 55.0, 2026: 55.0}, {"release": [({2026: 60.0}, 20.0)]})
    with pytest.raises(optimodel.InputError, match="key markets.national.reserve.release.0.price"):
        optimodel.load_scenario(path)


def test_trigger_prices_tier_sizes_and_the_stock_are_swept_warm(tmp_path):
    from optimodel.workflows.sweep import parse_assignment, run_sweep

    path = reserve_case(tmp_path, {2025: 55.0, 2026: 55.0}, {"stock_tco2e": 15.0, "release": [(60.0, 20.0)]})
    sweep = run_sweep(
        path,
        [
            parse_assignment("markets.national.reserve.release.0.price=60,65"),
            parse_assignment("markets.national.reserve.release.0.quantity_tco2e=20,4"),
            parse_assignment("markets.national.reserve.stock_tco2e=15,100"),
        ],
    )
    assert all(point.warm for point in sweep.points)
    base = optimodel.load_scenario(path)
    for point in sweep.points:
        values = point.values
        raw = dict(base.resolved)
        reserve = raw["markets"]["national"]["reserve"]
        reserve["release"] = [{"price": float(values["markets.national.reserve.release.0.price"]),
                               "quantity_tco2e": float(values["markets.national.reserve.release.0.quantity_tco2e"])}]
        reserve["stock_tco2e"] = float(values["markets.national.reserve.stock_tco2e"])
        from optimodel.inputs.scenario import derived_scenario

        cold = optimodel.solve(derived_scenario(raw, base))
        assert intervals(point.result) == pytest.approx(intervals(cold)), values


def test_a_rolling_horizon_decides_the_reserve_year_by_year(tmp_path):
    # Foresight 1 with the shared stock of 15: 2025 cannot see 2026, so it releases its 10 at the
    # trigger (60), leaving 5 for 2026, which then prices at hydrogen's 80.
    path = reserve_case(
        tmp_path, {2025: 55.0, 2026: 55.0}, {"stock_tco2e": 15.0, "release": [(60.0, 20.0)]}, horizon={"foresight_years": 1}
    )
    result = solve(path)
    assert intervals(result) == pytest.approx([60.0] * 3 + [80.0] * 3)
    assert result.markets["reserve_released_tco2e"].tolist() == pytest.approx([10.0, 5.0])


def test_a_reserve_that_cannot_act_warns(tmp_path):
    path = reserve_case(tmp_path, {2025: 55.0, 2026: 55.0}, {"release": [({2025: 60.0, 2040: 70.0}, 20.0)]})
    completed = run_cli("validate", str(path))
    assert completed.returncode == 0, completed.stderr
    assert "warning: markets.national.reserve has release tiers but no stock_tco2e and no intake" in completed.stderr
    assert "warning: markets.national.reserve.release.0.price has values for 2040, outside the modelled years" in completed.stderr
