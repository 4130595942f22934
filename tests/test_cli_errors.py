"""Bad input through the real command line: exit 2, one `error:` line naming the place, no
traceback, nothing left in the output folder. Infeasible scenarios: exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import copy_example, edit, run_cli


@pytest.fixture
def case(tmp_path: Path) -> Path:
    """A copy of the two-firm example to break."""
    return copy_example(tmp_path)


def assert_input_error(case: Path, *fragments: str) -> None:
    out = case / "out"
    for command in (["validate"], ["solve", "--out", str(out)]):
        completed = run_cli(command[0], str(case / "two-firms.toml"), *command[1:])
        assert completed.returncode == 2, completed.stderr
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), completed.stderr
        assert "Traceback" not in completed.stderr
        for fragment in fragments:
            assert fragment in lines[0], (fragment, lines[0])
    assert not out.exists() or not any(out.iterdir())


FIRMS, EMISSIONS, OPTIONS = "data/two-firms-firms.csv", "data/two-firms-emissions.csv", "data/two-firms-options.csv"
SCENARIO = "two-firms.toml"

TABLE_FAULTS = {
    # name: (file, old, new, fragments the message must contain)
    "unknown firm id": (EMISSIONS, "S1,2026,CO2,80", "S9,2026,CO2,80", ["two-firms-emissions.csv", "column firm_id", "row 4", "S9"]),
    "duplicate firm": (FIRMS, "S1,steel,Hebei", "P1,steel,Hebei", ["two-firms-firms.csv", "column firm_id", "row 2", "duplicate"]),
    "duplicate emissions row": (EMISSIONS, "P1,2026,CO2,100", "P1,2025,CO2,100", ["column firm_id", "row 2", "duplicate"]),
    "negative baseline": (EMISSIONS, "S1,2025,CO2,80", "S1,2025,CO2,-80", ["column baseline_t", "row 3", "minimum"]),
    "negative potential": (OPTIONS, "P1,ccs,CO2,30,50,", "P1,ccs,CO2,-30,50,", ["column potential_t", "row 2"]),
    "text in a number": (OPTIONS, "P1,ccs,CO2,30,50,", "P1,ccs,CO2,30,fifty,", ["column cost_per_t", "row 2", "'fifty'"]),
    "nan in a number": (OPTIONS, "S1,scrap_eaf,CO2,10,30,", "S1,scrap_eaf,CO2,nan,30,", ["column potential_t", "row 3"]),
    "infinite number": (OPTIONS, "S1,scrap_eaf,CO2,10,30,", "S1,scrap_eaf,CO2,10,inf,", ["column cost_per_t", "row 3", "finite"]),
    "blank required cell": (EMISSIONS, "S1,2025,CO2,80", "S1,2025,CO2,", ["column baseline_t", "row 3", "blank"]),
    "fractional year": (EMISSIONS, "S1,2025,CO2,80", "S1,2025.5,CO2,80", ["column year", "row 3", "whole number"]),
    # Found by tests/test_fuzz.py: pandas took column 1 as the index when a row had one field too many.
    "extra field in a row": (EMISSIONS, "P1,2025,CO2,100", ",0,2025,CO2,100", ["two-firms-emissions.csv", "row 1", "5 fields"]),
    "extra field in a later row": (EMISSIONS, "S1,2026,CO2,80", "S1,2026,CO2,80,1", ["two-firms-emissions.csv", "row 4", "5 fields"]),
    "missing column": (EMISSIONS, "firm_id,year,gas,baseline_t", "firm_id,year,gas,baseline", ["two-firms-emissions.csv", "column baseline_t", "missing"]),
    "unknown gas": (EMISSIONS, "S1,2025,CO2,80", "S1,2025,SF6,80", ["column gas", "row 3", "SF6"]),
    "unknown option gas": (OPTIONS, "P1,ccs,CO2,30,50,", "P1,ccs,N2O,30,50,", ["two-firms-options.csv", "column gas", "row 2"]),
    "unknown option firm": (OPTIONS, "P1,ccs,CO2,30,50,", "Q7,ccs,CO2,30,50,", ["two-firms-options.csv", "column firm_id", "row 2", "Q7"]),
    "duplicate option": (OPTIONS, "P1,ccs,CO2,30,50,", "P1,efficiency,CO2,30,50,", ["two-firms-options.csv", "duplicate"]),
    "unknown sector in a market": (SCENARIO, "[sectors.steel]", '[markets.national]\nsectors = ["power", "cement"]\n\n[sectors.steel]', ["key markets.national.sectors", "cement"]),
    "sector in two markets": (SCENARIO, "[sectors.steel]", '[markets.a]\nsectors = ["power", "steel"]\n[markets.b]\nsectors = ["steel"]\n\n[sectors.steel]', ["key markets.b.sectors", "two markets"]),
    "covered sector with no firms": (SCENARIO, "[sectors.steel]", "[sectors.cement]\ncap_tco2e = { 2025 = 1, 2026 = 1 }\n\n[sectors.steel]", ["key sectors.cement", "no firm"]),
    "two markets without sectors": (SCENARIO, "[sectors.steel]", "[markets.a]\nbanking = true\n[markets.b]\nbanking = true\n\n[sectors.steel]", ["key markets.b.sectors", "only one market"]),
    "missing cap year": (SCENARIO, "cap_tco2e = { 2025 = 70, 2026 = 60 }", "cap_tco2e = { 2025 = 70 }", ["key sectors.power.cap_tco2e.2026"]),
    "unknown GWP set": (SCENARIO, 'gwp = "AR5"', 'gwp = "AR3"', ["two-firms.toml", "key gwp"]),
    "unsorted years": (SCENARIO, "years = [2025, 2026]", "years = [2026, 2025]", ["key years", "increasing"]),
    "TOML syntax": (SCENARIO, 'name = "two-firms"', 'name = "two-firms', ["two-firms.toml", "TOML"]),
    "unknown scenario key": (SCENARIO, 'gwp = "AR5"', 'gwp = "AR5"\ncolour = "red"', ["key colour", "unknown key"]),
    "unknown market key": (SCENARIO, "[sectors.steel]", '[markets.national]\nsectors = ["power", "steel"]\nbankng = true\n\n[sectors.steel]', ["key markets.national.bankng", "unknown key"]),
    "wrong type": (SCENARIO, "years = [2025, 2026]", 'years = "2025"', ["key years"]),
    "negative discount rate": (SCENARIO, 'gwp = "AR5"', 'gwp = "AR5"\ndiscount_rate = -0.1', ["key discount_rate"]),
    "missing required key": (SCENARIO, 'name = "two-firms"\n', "", ["key name", "missing"]),
    "missing data file": (SCENARIO, 'firms = "data/two-firms-firms.csv"', 'firms = "data/nope.csv"', ["nope.csv", "not found"]),
    "missing data key": (SCENARIO, 'firms = "data/two-firms-firms.csv"\n', "", ["key data.firms", "missing"]),
    "cap and benchmark in one year": (SCENARIO, "cap_tco2e = { 2025 = 70, 2026 = 60 }\n\n[sectors.steel]", "cap_tco2e = { 2025 = 70, 2026 = 60 }\nbenchmark = { 2025 = 0.8 }\n\n[sectors.steel]", ["key sectors.power.benchmark.2025", "both"]),
    "benchmark without activity": (SCENARIO, "cap_tco2e = { 2025 = 70, 2026 = 60 }\n\n[sectors.steel]", "benchmark = { 2025 = 0.8, 2026 = 0.8 }\n\n[sectors.steel]", ["key data.activity"]),
    "negative cap": (SCENARIO, "cap_tco2e = { 2025 = 70, 2026 = 60 }", "cap_tco2e = { 2025 = -70, 2026 = 60 }", ["key sectors.power.cap_tco2e"]),
}


@pytest.mark.parametrize("fault", sorted(TABLE_FAULTS))
def test_bad_input_gives_exit_2_and_a_located_error(case: Path, fault: str) -> None:
    file, old, new, fragments = TABLE_FAULTS[fault]
    edit(case / file, old, new)
    assert_input_error(case, *fragments)


def test_empty_file(case: Path) -> None:
    (case / FIRMS).write_text("")
    assert_input_error(case, "two-firms-firms.csv", "empty")


def test_unsupported_file_type(case: Path) -> None:
    (case / "data" / "firms.xlsx").write_text("x")
    edit(case / SCENARIO, "data/two-firms-firms.csv", "data/firms.xlsx")
    assert_input_error(case, "firms.xlsx", "unsupported")


def test_missing_scenario_file(tmp_path: Path) -> None:
    completed = run_cli("solve", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "out"))
    assert completed.returncode == 2
    assert completed.stderr.startswith("error:") and "nope.toml" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_infeasible_names_market_year_and_shortfall(case: Path) -> None:
    # 2026 caps 10 + 10 = 20 t against 180 t of baseline and 100 t of potential: short by 60 t.
    edit(case / SCENARIO, "cap_tco2e = { 2025 = 70, 2026 = 60 }", "cap_tco2e = { 2025 = 70, 2026 = 10 }")
    edit(case / SCENARIO, "cap_tco2e = { 2025 = 70, 2026 = 60 }", "cap_tco2e = { 2025 = 70, 2026 = 10 }")
    out = case / "out"
    completed = run_cli("solve", str(case / SCENARIO), "--out", str(out))
    assert completed.returncode == 3, completed.stderr
    line = completed.stderr.strip()
    assert line.startswith("error:") and "\n" not in line
    assert "market national year 2026 short by 60 tCO2e" in line
    assert "2025" not in line.replace("2026", "")
    assert not out.exists() or not any(out.iterdir())


def test_failed_run_leaves_the_earlier_run_folder_as_it_was(case: Path) -> None:
    """Contract section 8: an earlier run folder is replaced only once the new run is complete."""
    out = case / "out"
    assert run_cli("solve", str(case / SCENARIO), "--out", str(out)).returncode == 0
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    edit(case / EMISSIONS, "S1,2025,CO2,80", "S1,2025,CO2,eighty")
    assert run_cli("solve", str(case / SCENARIO), "--out", str(out)).returncode == 2
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
    assert not [path for path in case.iterdir() if path.name.startswith(".out")]


def test_solve_writes_every_contract_file_and_prints_prices(case: Path) -> None:
    out = case / "out"
    completed = run_cli("solve", str(case / SCENARIO), "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    assert "national" in completed.stdout and "80.00" in completed.stdout
    assert "Running HiGHS" not in completed.stdout
    for name in ("prices.csv", "markets.csv", "sectors.csv", "firms.csv", "options.csv", "summary.json"):
        assert (out / name).exists(), name
    assert not [path for path in case.iterdir() if path.name.startswith(".out")]


def test_default_output_folder_is_runs_name(case: Path) -> None:
    completed = run_cli("solve", str(case / SCENARIO), cwd=case)
    assert completed.returncode == 0, completed.stderr
    assert (case / "runs" / "two-firms" / "prices.csv").exists()


def test_max_memory_fails_cleanly_before_building(case: Path) -> None:
    out = case / "out"
    completed = run_cli("solve", str(case / SCENARIO), "--out", str(out), "--max-memory", "1MB")
    assert completed.returncode == 1
    line = completed.stderr.strip()
    assert line.startswith("error:") and "--max-memory" in line and "\n" not in line
    assert not out.exists() or not any(out.iterdir())


def test_max_memory_allows_what_fits(case: Path) -> None:
    completed = run_cli("solve", str(case / SCENARIO), "--out", str(case / "out"), "--max-memory", "8GB")
    assert completed.returncode == 0, completed.stderr


def test_max_memory_must_be_a_size(case: Path) -> None:
    completed = run_cli("validate", str(case / SCENARIO), "--max-memory", "lots")
    assert completed.returncode == 2 and "key --max-memory" in completed.stderr
