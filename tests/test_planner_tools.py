"""check, snapshot, the testing helper, and compare."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import optimodel
from optimodel.testing import assert_prices_close, compare_prices

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"


def cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimodel", *arguments], capture_output=True, text=True, timeout=300)


def test_snapshot_then_check_passes_and_a_changed_price_fails(tmp_path):
    expected = tmp_path / "expected" / "prices.csv"
    assert cli("snapshot", str(EXAMPLES / "two-firms.toml"), "--out", str(expected)).returncode == 0
    passed = cli("check", str(EXAMPLES / "two-firms.toml"), "--expect", str(expected))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    table = pd.read_csv(expected)
    table.loc[table["year"] == 2026, "price"] = 55.0
    table.to_csv(expected, index=False)
    failed = cli("check", str(EXAMPLES / "two-firms.toml"), "--expect", str(expected))
    assert failed.returncode == 1
    assert "national 2026: expected 55, got 50" in failed.stdout
    # Within the tolerance it passes again: |50 - 55| <= 0.1 x 55.
    assert cli("check", str(EXAMPLES / "two-firms.toml"), "--expect", str(expected), "--rtol", "0.1").returncode == 0


def test_check_with_a_missing_or_malformed_file_is_an_input_error(tmp_path):
    missing = cli("check", str(EXAMPLES / "two-firms.toml"), "--expect", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and missing.stderr.startswith("error:")
    (tmp_path / "bad.csv").write_text("market,when,value\nnational,2025,1\n")
    malformed = cli("check", str(EXAMPLES / "two-firms.toml"), "--expect", str(tmp_path / "bad.csv"))
    assert malformed.returncode == 2 and "year" in malformed.stderr


def test_assert_prices_close_names_every_difference():
    result = optimodel.solve(optimodel.load_scenario(EXAMPLES / "two-firms-separate.toml"))
    assert_prices_close(result.prices, result.prices)
    expected = result.prices.copy()
    expected.loc[0, "price"] += 1.0
    expected = expected[expected["market"] != "steel"]  # a market missing from the expectation
    with pytest.raises(AssertionError) as caught:
        assert_prices_close(result.prices, expected)
    message = str(caught.value)
    assert "power 2025: expected 51, got 50" in message and "steel 2025: expected nan" in message
    assert len(compare_prices(result.prices, expected)) == 3


def test_compare_puts_runs_side_by_side_with_differences(tmp_path):
    for name, scenario in (("one", "two-firms.toml"), ("split", "two-firms-separate.toml")):
        assert cli("solve", str(EXAMPLES / scenario), "--out", str(tmp_path / name)).returncode == 0
    out = tmp_path / "compare.csv"
    completed = cli("compare", str(tmp_path / "one"), str(tmp_path / "split"), "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    table = pd.read_csv(out).set_index(["table", "entity", "year", "metric"])
    # Splitting the market: power abates 40 t in 2026 instead of 50, steel 20 instead of 10.
    assert table.loc[("sectors", "power", 2026, "abatement_tco2e"), "split - one"] == pytest.approx(-10.0)
    assert table.loc[("sectors", "steel", 2026, "abatement_tco2e"), "split - one"] == pytest.approx(10.0)
    assert table.loc[("prices", "steel", 2025, "price_high"), "split"] == pytest.approx(80.0)
    assert table.loc[("prices", "national", 2026, "price_high"), "one"] == pytest.approx(80.0)


def test_compare_reads_a_sweep_folder(tmp_path):
    sweep = tmp_path / "sweep"
    assert cli("sweep", str(EXAMPLES / "two-firms.toml"), "--set", "sectors.power.cap_tco2e.2026=60,55", "--out", str(sweep)).returncode == 0
    completed = cli("compare", str(sweep), "--out", str(tmp_path / "c.csv"))
    assert completed.returncode == 0, completed.stderr
    table = pd.read_csv(tmp_path / "c.csv").set_index(["table", "entity", "year", "metric"])
    assert table.loc[("prices", "national", 2026, "price"), "sweep/run-002 - sweep/run-001"] == pytest.approx(30.0)


def test_compare_needs_run_folders(tmp_path):
    completed = cli("compare", str(tmp_path), str(tmp_path))
    assert completed.returncode == 2 and completed.stderr.startswith("error:")


def test_xlsx_format_writes_one_sheet_per_table(tmp_path):
    completed = cli("solve", str(EXAMPLES / "two-firms.toml"), "--out", str(tmp_path / "run"), "--format", "xlsx")
    assert completed.returncode == 0, completed.stderr
    sheets = pd.read_excel(tmp_path / "run" / "results.xlsx", sheet_name=None)
    # The example's firms have regions, so regions.csv is a table too (contract section 9).
    assert set(sheets) == {"prices", "markets", "sectors", "firms", "options", "regions"}
    prices = sheets["prices"].set_index("year")
    assert prices.loc[2026, "price_high"] == pytest.approx(80.0)
    assert (tmp_path / "run" / "prices.csv").exists()
