"""The command line's manners (contract section 8): warnings for what was almost certainly not
meant, errors that say what to fix, logging that keeps stdout the price table, and checks that
compare price intervals. Each case runs the real command line on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from builders import copy_example, edit, run_cli, write_case

SCENARIO = "two-firms.toml"
FIRMS, EMISSIONS, OPTIONS = "data/two-firms-firms.csv", "data/two-firms-emissions.csv", "data/two-firms-options.csv"
CAPS = "cap_tco2e = { 2025 = 70, 2026 = 60 }"
PRICE_TABLE = [
    "market          year       price         low        high   (CNY/tCO2e)",
    "national        2025       50.00       50.00       50.00",
    "national        2026       50.00       50.00       80.00",
]


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def solve_with_warnings(case: Path, scenario: str = SCENARIO) -> tuple[list[str], list[dict]]:
    """Solve; return the warning lines and summary.json's warnings. validate must print the same."""
    completed = run_cli("solve", str(case / scenario), "--out", str(case / "out"))
    assert completed.returncode == 0, completed.stderr
    validated = run_cli("validate", str(case / scenario))
    assert validated.returncode == 0 and warnings_of(validated.stderr) == warnings_of(completed.stderr)
    summary = json.loads((case / "out" / "summary.json").read_text())
    return warnings_of(completed.stderr), summary["warnings"]


# Warnings --------------------------------------------------------------------------------------


def test_a_plain_scenario_has_no_warning(case: Path) -> None:
    lines, recorded = solve_with_warnings(case)
    assert lines == [] and recorded == []


def test_a_cap_for_a_year_outside_years_warns(case: Path) -> None:
    edit(case / SCENARIO, CAPS, "cap_tco2e = { 2025 = 70, 2026 = 60, 2040 = 10 }")
    lines, recorded = solve_with_warnings(case)
    assert lines == [
        "warning: sectors.power.cap_tco2e has values for 2040, outside the scenario's years (2025-2026); they are ignored"
    ]
    assert recorded == [{"code": "year_outside_years", "message": lines[0].removeprefix("warning: ")}]


def test_a_cap_outside_years_through_extends_warns(case: Path) -> None:
    (case / "short.toml").write_text('extends = "two-firms.toml"\nname = "short"\nyears = [2025]\n')
    lines, recorded = solve_with_warnings(case, "short.toml")
    # One line for the kind, naming both sectors.
    assert len(lines) == 1 and "sectors.power.cap_tco2e has values for 2026" in lines[0]
    assert "sectors.steel.cap_tco2e has values for 2026" in lines[0]
    assert [warning["code"] for warning in recorded] == ["year_outside_years"]


def test_a_sweep_setting_a_year_outside_years_warns_once(case: Path) -> None:
    completed = run_cli(
        "sweep", str(case / SCENARIO), "--set", "sectors.power.cap_tco2e.2040=50,40", "--out", str(case / "sweep")
    )
    assert completed.returncode == 0, completed.stderr
    lines = warnings_of(completed.stderr)
    assert len([line for line in lines if "2040, outside the scenario's years" in line]) == 1
    assert any("all 2 solved points gave identical prices" in line for line in lines)


def test_a_sector_name_differing_in_case_or_spaces_is_an_error(case: Path) -> None:
    for written in ("Power", " power", "power "):
        (case / FIRMS).write_text(f"firm_id,sector,region\nP1,{written},Shandong\nS1,steel,Hebei\n")
        for command in ("validate", "solve"):
            completed = run_cli(command, SCENARIO, *(["--out", "out"] if command == "solve" else []), cwd=case)
            assert completed.returncode == 2, (written, completed.stderr)
            line = completed.stderr.strip()
            assert line.startswith(f"error: {FIRMS}, column sector, row 1: sector {written!r} is not the covered sector 'power'")
    assert not (case / "out").exists()


def test_a_discount_rate_typed_as_a_percentage_is_an_error(case: Path) -> None:
    edit(case / SCENARIO, 'gwp = "AR5"', 'gwp = "AR5"\ndiscount_rate = 5')
    completed = run_cli("solve", str(case / SCENARIO), "--out", str(case / "out"))
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        f"error: {case / SCENARIO}, key discount_rate: 5 would be 500% a year; a rate is a fraction (0.05 is 5 %)"
    )


def test_a_high_discount_rate_warns(case: Path) -> None:
    edit(case / SCENARIO, 'gwp = "AR5"', 'gwp = "AR5"\ndiscount_rate = 0.5')
    lines, _ = solve_with_warnings(case)
    assert lines == ["warning: discount_rate = 0.5 is 50% a year; a rate is a fraction (0.05 is 5 %)"]


def test_a_cap_typed_in_mt_warns_and_still_solves(tmp_path: Path) -> None:
    # The case: a power sector of 5,100 Mt with its cap typed as 4715.4 (meant Mt). The
    # one option (5,100 Mt at 912) must then abate all but 4,715.4 t: price 912.
    path = write_case(
        tmp_path,
        firms=[{"firm_id": "P1", "sector": "power"}],
        emissions=[{"firm_id": "P1", "year": 2027, "gas": "CO2", "baseline_t": 5.1e9}],
        options=[{"firm_id": "P1", "option": "everything", "potential_t": 5.1e9, "cost_per_t": 912.0}],
        scenario={"years": [2027], "sectors": {"power": {"cap_tco2e": {"2027": 4715.4}}}},
    )
    lines, recorded = solve_with_warnings(tmp_path, path.name)
    assert lines == [
        "warning: sectors.power.cap_tco2e is below 10 % of the sector's baseline in every year (4,715.4 tCO2e against "
        "a baseline of 5,100.00 Mt CO2e in 2027); caps are in tCO2e: was it typed in Mt?"
    ]
    assert recorded[0]["code"] == "cap_far_below_baseline"
    assert pd.read_csv(tmp_path / "out" / "prices.csv")["price"].tolist() == [912.0]


def test_a_cap_jump_and_a_cap_far_above_the_baseline_warn(case: Path) -> None:
    edit(case / SCENARIO, CAPS, "cap_tco2e = { 2025 = 7000, 2026 = 6000 }")
    edit(case / SCENARIO, CAPS, "cap_tco2e = { 2025 = 70, 2026 = 6 }")
    lines, recorded = solve_with_warnings(case)
    assert [warning["code"] for warning in recorded] == ["cap_jump", "cap_far_above_baseline"]
    assert lines[0] == "warning: sectors.steel.cap_tco2e falls from 70 tCO2e in 2025 to 6 tCO2e in 2026 (12x); caps are in tCO2e"
    assert lines[1].startswith("warning: sectors.power.cap_tco2e is above 10x the sector's baseline in every year")


def test_an_offset_limit_without_offsets_warns(case: Path) -> None:
    edit(case / SCENARIO, "[sectors.power]", '[markets.national]\noffset_limit = 0.05\n\n[sectors.power]')
    lines, _ = solve_with_warnings(case)
    assert lines == [
        "warning: markets.national.offset_limit = 0.05, but no [[offsets]] supply is offered to it: no offsets will be used"
    ]


def test_warnings_do_not_change_an_input_errors_single_line(case: Path) -> None:
    edit(case / SCENARIO, CAPS, "cap_tco2e = { 2025 = 70, 2026 = 60, 2040 = 10 }")
    edit(case / EMISSIONS, "S1,2025,CO2,80", "S1,2025,CO2,eighty")
    completed = run_cli("validate", str(case / SCENARIO))
    assert completed.returncode == 2 and len(completed.stderr.strip().splitlines()) == 1


# Logging -----------------------------------------------------------------------------------------


def test_verbose_logs_stages_and_highs_on_stderr_and_never_dumps_the_model(case: Path) -> None:
    completed = run_cli("-v", "solve", str(case / SCENARIO), "--out", str(case / "out"))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [*PRICE_TABLE, f"results written to {case / 'out'}"]
    for stage in ("loaded 2 covered firms", "built the LP", "solved (optimal)", "result tables and checks"):
        assert stage in completed.stderr, stage
    assert "HiGHS" in completed.stderr and "Objective value" in completed.stderr
    # Pyomo's debug output (the model dump the issue measured at 193,781 lines) stays off.
    assert "pyomo" not in completed.stderr.lower()
    assert len(completed.stderr.splitlines()) < 200


def test_quiet_prints_nothing_but_warnings_and_errors(case: Path) -> None:
    completed = run_cli("-q", "solve", str(case / SCENARIO), "--out", str(case / "out"))
    assert completed.returncode == 0 and completed.stdout == "" and completed.stderr == ""
    edit(case / SCENARIO, CAPS, "cap_tco2e = { 2025 = 70, 2026 = 60, 2040 = 10 }")
    completed = run_cli("-q", "solve", str(case / SCENARIO), "--out", str(case / "out"))
    assert completed.stdout == "" and len(warnings_of(completed.stderr)) == 1


def test_version() -> None:
    from optimodel import __version__

    completed = run_cli("--version")
    assert completed.returncode == 0 and completed.stdout.strip() == f"optimodel {__version__}"


# Regression checks compare the interval --------------------------------------------------------------


def test_check_fails_on_a_tampered_price_high(case: Path) -> None:
    expected = case / "expected.csv"
    assert run_cli("snapshot", str(case / SCENARIO), "--out", str(expected)).returncode == 0
    table = pd.read_csv(expected)
    table.loc[table["year"] == 2026, "price_high"] = 999.0
    table.to_csv(expected, index=False)
    completed = run_cli("check", str(case / SCENARIO), "--expect", str(expected))
    assert completed.returncode == 1
    assert "national 2026 price_high: expected 999, got 80" in completed.stdout
    from optimodel import load_scenario, solve
    from optimodel.testing import assert_prices_close

    with pytest.raises(AssertionError, match="national 2026 price_high: expected 999, got 80"):
        assert_prices_close(solve(load_scenario(case / SCENARIO)).prices, expected)


def test_check_without_an_interval_compares_the_price_only(case: Path) -> None:
    expected = case / "expected.csv"
    expected.write_text("market,year,price\nnational,2025,50\nnational,2026,50\n")
    completed = run_cli("check", str(case / SCENARIO), "--expect", str(expected))
    assert completed.returncode == 0 and "all 2 prices match" in completed.stdout


# Messages that say what to fix ---------------------------------------------------------------------


def test_a_scenario_file_with_a_byte_order_mark_is_read(case: Path) -> None:
    path = case / SCENARIO
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert run_cli("solve", str(path), "--out", str(case / "out")).returncode == 0


def test_a_csv_with_a_byte_order_mark_is_read(case: Path) -> None:
    path = case / FIRMS
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert run_cli("solve", str(case / SCENARIO), "--out", str(case / "out")).returncode == 0


@pytest.mark.parametrize(
    "encoding, named",
    [("gbk", "GBK/GB18030, as Chinese-locale spreadsheets save CSV"), ("latin-1", "Latin-1/Windows-1252")],
)
def test_a_csv_in_another_encoding_names_the_row_and_what_to_do(case: Path, encoding: str, named: str) -> None:
    # A byte before the line end is no GB18030 pair, so the Latin-1 file cannot pass for GBK.
    region = "山东" if encoding == "gbk" else "Bogotá"
    (case / FIRMS).write_bytes(f"firm_id,sector,region\nP1,power,Hebei\nS1,steel,{region}\n".encode(encoding))
    completed = run_cli("validate", SCENARIO, cwd=case)
    assert completed.returncode == 2
    line = completed.stderr.strip()
    assert line.startswith(f"error: {FIRMS}, row 2: not UTF-8 text")
    assert named in line and "Save it as 'CSV UTF-8'" in line and "iconv" in line


def test_a_semicolon_separated_csv_is_named(case: Path) -> None:
    (case / FIRMS).write_text("firm_id;sector;region\nP1;power;Shandong\nS1;steel;Hebei\n")
    completed = run_cli("validate", str(case / SCENARIO))
    assert completed.returncode == 2
    assert "looks separated by semicolons: optimodel reads comma-separated CSV" in completed.stderr


def test_a_parquet_file_named_csv_is_named(case: Path) -> None:
    pd.read_csv(case / FIRMS).to_parquet(case / "firms.parquet")
    (case / FIRMS).write_bytes((case / "firms.parquet").read_bytes())
    completed = run_cli("validate", SCENARIO, cwd=case)
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        f"error: {FIRMS}: this is a Parquet file named .csv; rename it to .parquet (the ending chooses the reader)"
    )


def test_a_csv_named_parquet_and_an_excel_workbook_are_named(case: Path) -> None:
    (case / "data" / "firms.parquet").write_text((case / FIRMS).read_text())
    edit(case / SCENARIO, FIRMS, "data/firms.parquet")
    completed = run_cli("validate", str(case / SCENARIO))
    assert completed.returncode == 2 and "is text (a CSV table?); rename it to .csv" in completed.stderr
    (case / "data" / "firms.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    edit(case / SCENARIO, "data/firms.parquet", "data/firms.xlsx")
    completed = run_cli("validate", str(case / SCENARIO))
    assert completed.returncode == 2 and "this is an Excel workbook; export the sheet as CSV UTF-8" in completed.stderr


def test_a_header_only_table_is_named(case: Path) -> None:
    (case / OPTIONS).write_text("firm_id,option,gas,potential_t,cost_per_t,year\n")
    completed = run_cli("solve", SCENARIO, "--out", "out", cwd=case)
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"error: {OPTIONS}: the options table has a header but no rows"


def test_a_shortfall_reads_in_mt_with_separators(tmp_path: Path) -> None:
    # 3,000 Mt of baseline, nothing to abate, a cap of 386,522,988.636 t: short by 2,613,477,011.364 t.
    path = write_case(
        tmp_path,
        firms=[{"firm_id": "P1", "sector": "power"}],
        emissions=[{"firm_id": "P1", "year": 2025, "gas": "CO2", "baseline_t": 3.0e9}],
        options=[{"firm_id": "P1", "option": "none", "potential_t": 0.0, "cost_per_t": 10.0}],
        scenario={"years": [2025], "sectors": {"power": {"cap_tco2e": {"2025": 386_522_988.636}}}},
    )
    completed = run_cli("solve", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 3
    assert "error: infeasible: market national year 2025 short by 2,613.48 Mt CO2e" in completed.stderr


def test_validate_shows_what_will_be_solved(case: Path) -> None:
    completed = run_cli("validate", str(case / SCENARIO))
    assert completed.returncode == 0
    lines = completed.stdout.splitlines()
    assert lines[0].endswith("valid (2 covered firms, 8 abatement steps, 1 market(s), 2 years)")
    assert lines[1].split() == [
        "sector", "market", "firms", "baseline", "2025", "allowances", "2025", "baseline", "2026", "allowances", "2026",
        "allocation", "(tCO2e)",
    ]
    assert lines[2].split() == ["power", "national", "1", "100.00", "70.00", "100.00", "60.00", "cap", "2025-2026"]
    assert lines[3].split() == ["steel", "national", "1", "80.00", "70.00", "80.00", "60.00", "cap", "2025-2026"]
