"""Every input gets an answer (contract section 14): the fourteen things a new user tripped on,
each reproduced through the real command line on real files, and the smaller answers that came
with them. Prices asserted here are derived by hand from the two-firm example's merit order:
P1 efficiency 20 t @ 10, S1 scrap-EAF 10 t @ 30, P1 CCS 30 t @ 50, S1 hydrogen DRI 40 t @ 80,
against baselines P1 100 t and S1 80 t."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from builders import copy_example, edit, run_cli, write_case

SCENARIO = "two-firms.toml"
HOLD = "OPTIMODEL_HOLD_AT_STAGE"
UNCERTAIN = """
[uncertainty]
draws = 12
seed = 7

[[uncertainty.factors]]
target = "cost"
distribution = "lognormal"
sigma = 0.2
"""


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def one_error_line(completed: subprocess.CompletedProcess) -> str:
    """The single stderr line of an input error (exit 2), which must name what is at fault."""
    assert completed.returncode == 2, (completed.returncode, completed.stderr)
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), completed.stderr
    assert "internal failure" not in lines[0] and "Traceback" not in completed.stderr
    return lines[0]


def started(arguments: list[str], environment: dict[str, str] | None = None) -> subprocess.Popen:
    """The command in a new process whose Ctrl-C (SIGINT) acts as at a terminal, whatever the
    disposition the test runner hands down (a process that ignores SIGINT passes that on)."""

    def default_interrupts() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    return subprocess.Popen(
        [sys.executable, "-m", "optimodel", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(environment or {})},
        preexec_fn=default_interrupts,
    )


def held_at(arguments: list[str], stage: str) -> subprocess.Popen:
    """The command started and waiting at ``stage`` (the CLI's hold hook): a known moment."""
    process = started(arguments, {HOLD: stage})
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith(f"holding at stage {stage}"):
            return process
    process.wait(timeout=60)
    raise AssertionError(f"the run never reached stage {stage} (exit {process.returncode})")


def interrupted(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    return process.returncode, rest


def tree(folder: Path) -> dict[str, bytes | None]:
    return {path.relative_to(folder).as_posix(): None if path.is_dir() else path.read_bytes() for path in sorted(folder.rglob("*"))}


# 1. Duplicate --ends (and --foresight) -------------------------------------------------------------


@pytest.mark.parametrize("option, values", [("--ends", "2026,2026"), ("--foresight", "1,all,1")])
def test_a_horizon_value_given_twice_is_an_input_error(case: Path, option: str, values: str) -> None:
    line = one_error_line(run_cli("horizon", str(case / SCENARIO), option, values, "--out", str(case / "h")))
    assert line == f"error: key {option}: {values.split(',')[0]} is given twice"
    assert not (case / "h").exists()


# 2. The same --set key twice -----------------------------------------------------------------------


def test_a_sweep_key_set_twice_is_an_input_error(case: Path) -> None:
    completed = run_cli(
        "sweep", str(case / SCENARIO), "--set", "discount_rate=0.01", "--set", "discount_rate=0.02", "--out", str(case / "s")
    )
    line = one_error_line(completed)
    assert "--set" in line and "discount_rate is set twice" in line
    assert not (case / "s").exists()


# 3. A malformed --scheduler ------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["not a url", "tcp://host", "http://127.0.0.1:8786", "127.0.0.1:99999", "127.0.0.1:port"])
@pytest.mark.parametrize("command", ["uncertainty", "sweep"])
def test_a_malformed_scheduler_address_is_an_input_error(case: Path, command: str, address: str) -> None:
    edit(case / SCENARIO, 'gwp = "AR5"', 'gwp = "AR5"\n' + UNCERTAIN)
    extra = ["--set", "discount_rate=0.01,0.02"] if command == "sweep" else []
    line = one_error_line(run_cli(command, str(case / SCENARIO), *extra, "--scheduler", address, "--out", str(case / "o")))
    assert line.startswith("error: key --scheduler:") and repr(address) in line
    assert "tcp://127.0.0.1:8786" in line  # It says what an address looks like.


# 4. A negative --seed ------------------------------------------------------------------------------


def test_a_negative_generator_seed_is_an_input_error(case: Path) -> None:
    line = one_error_line(run_cli("data", "generate", "--firms", "10", "--seed=-1", "--out", str(case / "generated")))
    assert line == "error: key --seed: must be a whole number >= 0, got -1"
    assert not (case / "generated").exists()


def test_a_negative_uncertainty_seed_is_an_input_error(case: Path) -> None:
    edit(case / SCENARIO, 'gwp = "AR5"', 'gwp = "AR5"\n' + UNCERTAIN)
    line = one_error_line(run_cli("uncertainty", str(case / SCENARIO), "--seed", "-1", "--out", str(case / "u")))
    assert "--seed" in line


# 5. check --rtol/--atol not finite and >= 0 -------------------------------------------------------


@pytest.mark.parametrize("option, value", [("--rtol", "inf"), ("--rtol", "nan"), ("--rtol", "-1"), ("--atol", "inf"), ("--atol", "-0.5")])
def test_check_refuses_a_tolerance_that_is_not_finite_and_non_negative(case: Path, option: str, value: str) -> None:
    # Nonsense prices that an infinite tolerance would have passed.
    expected = case / "expected.csv"
    expected.write_text("market,year,price\nnational,2025,999\nnational,2026,999\n")
    line = one_error_line(run_cli("check", str(case / SCENARIO), "--expect", str(expected), option, value))
    assert line.startswith(f"error: key {option}: must be a finite number >= 0")


def test_assert_prices_close_refuses_an_infinite_tolerance() -> None:
    from optimodel.testing import assert_prices_close

    table = pd.DataFrame({"market": ["national"], "year": [2025], "price": [50.0]})
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        assert_prices_close(table, table.assign(price=999.0), rtol=float("inf"))


@pytest.mark.parametrize("name, kind", [("two-firms.toml", "a .toml file"), ("prices.parquet", "a .parquet file")])
def test_check_expecting_another_kind_of_file_says_what_it_expected(case: Path, name: str, kind: str) -> None:
    path = case / name
    if not path.exists():
        pd.DataFrame({"market": ["national"], "year": [2025], "price": [50.0]}).to_parquet(path)
    line = one_error_line(run_cli("check", str(case / SCENARIO), "--expect", str(path)))
    assert line == f"error: {path}: expected a prices table (prices.csv: market, year, price), got {kind}"


# 6. cap_tco2e = {} clears an inherited table, so that a cap_path takes over ------------------------


def test_an_empty_cap_table_clears_the_inherited_one_and_the_path_sets_the_caps(case: Path) -> None:
    # Power's path: 70 in 2025, 35 in 2026. 2026 then has 35 + 60 = 95 t for 180 t of baseline:
    # 85 t abated = 20 + 10 + 30 + 25 of hydrogen DRI, so the price is DRI's 80 exactly.
    (case / "path.toml").write_text(
        'extends = "two-firms.toml"\nname = "path"\n\n[sectors.power]\ncap_tco2e = {}\n'
        "cap_path = { from_year = 2025, start_tco2e = 70.0, decline = 0.5 }\n"
    )
    completed = run_cli("solve", str(case / "path.toml"), "--out", str(case / "out"))
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    sectors = pd.read_csv(case / "out" / "sectors.csv").set_index(["sector", "year"])
    assert sectors.loc[("power", 2025), "cap_tco2e"] == pytest.approx(70.0)
    assert sectors.loc[("power", 2026), "cap_tco2e"] == pytest.approx(35.0)
    prices = pd.read_csv(case / "out" / "prices.csv").set_index("year")
    assert prices.loc[2026, ["price", "price_low", "price_high"]].tolist() == pytest.approx([80.0, 80.0, 80.0])
    # The run folder's resolved scenario solves to the same prices on its own.
    again = run_cli("solve", str(case / "out" / "scenario.toml"), "--out", str(case / "again"))
    assert again.returncode == 0, again.stderr
    assert pd.read_csv(case / "again" / "prices.csv").equals(pd.read_csv(case / "out" / "prices.csv"))


def test_a_cap_path_that_sets_no_year_warns(case: Path) -> None:
    (case / "path.toml").write_text(
        'extends = "two-firms.toml"\nname = "path"\n\n[sectors.power]\n'
        "cap_path = { from_year = 2025, start_tco2e = 70.0, decline = 0.5 }\n"
    )
    completed = run_cli("solve", str(case / "path.toml"), "--out", str(case / "out"))
    assert completed.returncode == 0
    assert completed.stderr.strip() == (
        "warning: sectors.power.cap_path sets no year's cap: every modelled year from 2025 on has a cap_tco2e or "
        "benchmark already (write cap_tco2e = {} to clear an inherited table)"
    )
    summary = json.loads((case / "out" / "summary.json").read_text())
    assert [warning["code"] for warning in summary["warnings"]] == ["cap_path_sets_no_year"]
    # The inherited caps hold: 2026 is the worked example's [50, 80].
    prices = pd.read_csv(case / "out" / "prices.csv").set_index("year")
    assert prices.loc[2026, ["price_low", "price_high"]].tolist() == [50.0, 80.0]


# 7. A name that is not a folder name -------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "a\\\\b", ".."])
def test_a_name_that_would_leave_runs_is_an_input_error(case: Path, name: str) -> None:
    edit(case / SCENARIO, 'name = "two-firms"', f'name = "{name}"')
    line = one_error_line(run_cli("solve", str(case / SCENARIO), cwd=case))
    assert line.startswith(f"error: {case / SCENARIO}, key name:")
    assert sorted(path.name for path in case.iterdir()) == ["data", SCENARIO]
    assert not (case.parent / "escaped").exists() and not (case.parent.parent / "escaped").exists()


# 8. Scenario years without any baseline -----------------------------------------------------------


def test_years_past_the_emissions_table_warn_naming_sectors_and_years(case: Path) -> None:
    (case / "long.toml").write_text(
        'extends = "two-firms.toml"\nname = "long"\nyears = [2025, 2026, 2027, 2028, 2029]\n\n'
        "[sectors.power]\ncap_tco2e = { 2027 = 50, 2028 = 50, 2029 = 50 }\n\n"
        "[sectors.steel]\ncap_tco2e = { 2027 = 50, 2028 = 50, 2029 = 50 }\n"
    )
    completed = run_cli("solve", str(case / "long.toml"), "--out", str(case / "out"))
    assert completed.returncode == 0
    expected = (
        "warning: no baseline emissions for power in 2027-2029, steel in 2027-2029: those sector-years have nothing "
        "to abate (does the emissions table end before the scenario?)"
    )
    assert completed.stderr.strip() == expected
    summary = json.loads((case / "out" / "summary.json").read_text())
    assert summary["warnings"] == [{"code": "sector_years_without_baseline", "message": expected.removeprefix("warning: ")}]


# 9. Two runs into one --out at once ----------------------------------------------------------------


def test_a_second_run_into_a_folder_in_use_is_refused_and_only_one_writes(case: Path) -> None:
    out = case / "out"
    first = held_at(["solve", str(case / SCENARIO), "--out", str(out)], "solve")
    try:
        second = run_cli("solve", str(case / SCENARIO), "--out", str(out))
        assert one_error_line(second) == f"error: {out} is in use by another optimodel run; wait for it to finish or choose another --out"
        assert second.stdout == "" and not out.exists()
    finally:
        code, rest = interrupted(first)
    assert code == 1 and "error: interrupted" in rest
    # The lock went with the run: the folder can be written now, and once.
    third = run_cli("solve", str(case / SCENARIO), "--out", str(out))
    assert third.returncode == 0 and third.stdout.count("results written to") == 1


def test_the_lock_is_on_the_folder_however_it_is_named(case: Path) -> None:
    first = held_at(["solve", str(case / SCENARIO), "--out", str(case / "out")], "build")
    try:
        line = one_error_line(run_cli("solve", SCENARIO, "--out", "./data/../out", cwd=case))
        assert "is in use by another optimodel run" in line
    finally:
        interrupted(first)


# 10. An interrupted uncertainty run ---------------------------------------------------------------


def test_an_interrupted_uncertainty_run_leaves_the_earlier_run_and_names_the_new_folder(case: Path, monkeypatch, capsys) -> None:
    from optimodel import cli
    from optimodel.workflows import uncertainty

    edit(case / SCENARIO, 'gwp = "AR5"', 'gwp = "AR5"\n' + UNCERTAIN)
    out = case / "out"
    assert cli.main(["-q", "uncertainty", str(case / SCENARIO), "--out", str(out)]) == 0
    before = tree(out)
    real, calls = uncertainty.solve_chunk, {"count": 0}

    def interrupted_on_the_second_chunk(*arguments):
        calls["count"] += 1
        if calls["count"] == 2:
            raise KeyboardInterrupt
        return real(*arguments)

    monkeypatch.setattr(uncertainty, "solve_chunk", interrupted_on_the_second_chunk)
    assert cli.main(["uncertainty", str(case / SCENARIO), "--out", str(out)]) == 1
    assert tree(out) == before
    partial = case / "out-interrupted"
    assert f"the finished draws are in {partial} (summary.json complete = false)" in capsys.readouterr().err
    summary = json.loads((partial / "summary.json").read_text())
    assert summary["complete"] is False and 0 < summary["draws_done"] < 12
    # A second interruption does not replace the first's draws either.
    calls["count"] = 0
    assert cli.main(["-q", "uncertainty", str(case / SCENARIO), "--out", str(out)]) == 1
    assert (case / "out-interrupted-2" / "summary.json").exists() and tree(out) == before


# 11. No library's deprecation text on stderr ------------------------------------------------------


def test_an_option_larger_than_its_baseline_prints_nothing_but_the_result(tmp_path: Path) -> None:
    # One firm of 100 t with one option of 150 t at 40: the baseline limit binds at 100 t. A cap
    # of 30 asks 70 t, on the option: price 40.
    path = write_case(
        tmp_path,
        firms=[{"firm_id": "P1", "sector": "power"}],
        emissions=[{"firm_id": "P1", "year": 2025, "gas": "CO2", "baseline_t": 100.0}],
        options=[{"firm_id": "P1", "option": "big", "potential_t": 150.0, "cost_per_t": 40.0},
                 {"firm_id": "P1", "option": "small", "potential_t": 10.0, "cost_per_t": 20.0}],
        scenario={"years": [2025], "sectors": {"power": {"cap_tco2e": {"2025": 30.0}}}},
    )
    for loudness in ([], ["-q"]):
        completed = run_cli(*loudness, "solve", str(path), "--out", str(tmp_path / "out"))
        assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    assert pd.read_csv(tmp_path / "out" / "prices.csv")["price"].tolist() == [40.0]


# 12. data generate beyond the machine's memory -----------------------------------------------------


def test_generating_more_firms_than_memory_holds_is_refused_before_any_work(case: Path) -> None:
    line = one_error_line(run_cli("data", "generate", "--firms", "1000000000", "--out", str(case / "big")))
    assert line.startswith("error: key --firms: 1,000,000,000 firms need about") and "GB of memory" in line
    assert not (case / "big").exists()


def test_the_generation_estimate_follows_the_measured_figures() -> None:
    from optimodel.errors import InputError
    from optimodel.inputs.memory import GENERATE_BASE_BYTES, GENERATE_BYTES_PER_FIRM, check_generating

    # Measured: 3,700 firms peaked at 0.25 GB and 200,000 at 2.63 GB; the estimate must cover both.
    for firms, measured in ((3700, 0.25 * 2**30), (200_000, 2.63 * 2**30)):
        assert GENERATE_BASE_BYTES + GENERATE_BYTES_PER_FIRM * firms >= measured
    check_generating(3700, available=2**30)
    with pytest.raises(InputError, match="at most about"):
        check_generating(200_000, available=2**30)


# 13. Interrupting a run at a known stage ---------------------------------------------------------


@pytest.mark.parametrize("stage", ["build", "solve", "results", "write"])
def test_a_run_interrupted_at_any_stage_leaves_the_earlier_run_folder(case: Path, stage: str) -> None:
    out = case / "out"
    assert run_cli("solve", str(case / SCENARIO), "--out", str(out)).returncode == 0
    before = tree(out)
    code, rest = interrupted(held_at(["solve", str(case / SCENARIO), "--out", str(out)], stage))
    assert code == 1, rest
    assert rest.strip() == "error: interrupted; nothing was written, and an earlier result folder is as it was"
    assert tree(out) == before
    assert [path.name for path in case.iterdir() if ".tmp-" in path.name or ".old-" in path.name] == []


# 14. Ctrl-C while Python imports the package --------------------------------------------------------


# From 0.1 s: before that the interpreter may still be in its own start-up (runpy, site), which
# no program can guard; optimodel's code starts right after.
@pytest.mark.parametrize("delay", [0.1, 0.2, 0.35, 0.6])
def test_ctrl_c_at_start_up_never_shows_a_traceback(case: Path, delay: float) -> None:
    process = started(["solve", str(case / SCENARIO), "--out", str(case / "out")])
    time.sleep(delay)
    code, rest = interrupted(process)
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest, rest
    # Before Python's own handler is in place the signal ends the process silently (-2); from then
    # on it is the one clean line; a run that was already done exits 0.
    if code == -signal.SIGINT:
        assert rest == ""
    elif code == 1:
        assert rest.strip() == "error: interrupted; nothing was written, and an earlier result folder is as it was"
    else:
        assert code == 0, rest
    assert not (case / "out").exists() or code == 0


def test_the_package_imports_without_the_modelling_stack() -> None:
    # What keeps the start-up window short: `import optimodel` loads neither Pyomo nor pandas.
    code = "import sys, optimodel.cli; print(sorted(m for m in ('pyomo', 'pandas', 'highspy') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.stdout.strip() == "[]", completed.stderr


# The smaller answers ------------------------------------------------------------------------------


def test_compare_names_its_units(case: Path) -> None:
    for run in ("a", "b"):
        assert run_cli("solve", str(case / SCENARIO), "--out", str(case / run)).returncode == 0
    completed = run_cli("compare", str(case / "a"), str(case / "b"), "--out", str(case / "cmp.csv"))
    assert completed.returncode == 0
    assert "prices in CNY/tCO2e, money of each year" in completed.stdout
    table = pd.read_csv(case / "cmp.csv")
    units = dict(zip(table["metric"], table["unit"]))
    assert units == {
        "price": "CNY/tCO2e", "price_low": "CNY/tCO2e", "price_high": "CNY/tCO2e",
        "abatement_tco2e": "tCO2e", "emissions_tco2e": "tCO2e", "abatement_cost": "CNY",
    }


def test_sweep_prints_each_points_first_price(case: Path) -> None:
    # Power's 2025 cap at 70 gives the worked example's 50; at 20 the two firms must abate
    # 180 - 90 = 90 t: 20 + 10 + 30 + 30 of DRI, price 80.
    completed = run_cli(
        "sweep", str(case / SCENARIO), "--set", "sectors.power.cap_tco2e.2025=70,20", "--out", str(case / "s")
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].split() == ["run", "sectors.power.cap_tco2e.2025", "status", "national", "2025"]
    assert lines[1].split() == ["run-001", "70", "optimal", "50.00"]
    assert lines[2].split() == ["run-002", "20", "optimal", "80.00"]
    assert lines[3].startswith("first-year prices in CNY/tCO2e; 2 points: 2 optimal")


def test_horizon_says_how_lookahead_caps_are_made(case: Path) -> None:
    completed = run_cli("horizon", str(case / SCENARIO), "--ends", "2026,2028", "--out", str(case / "h"))
    assert completed.returncode == 0, completed.stderr
    assert "look-ahead years 2027-2028: power, steel caps are held at the 2026 cap (lookahead_cap_decline = 0)" in completed.stdout
    edit(case / SCENARIO, 'gwp = "AR5"', 'gwp = "AR5"\n\n[horizon]\nlookahead_cap_decline = 0.02\n')
    completed = run_cli("horizon", str(case / SCENARIO), "--ends", "2028", "--out", str(case / "h"))
    assert "power, steel caps decline 2.0%/yr from the 2026 cap (lookahead_cap_decline)" in completed.stdout


def test_messages_show_plain_numbers(case: Path) -> None:
    from optimodel.errors import plain

    assert [plain(value) for value in (pd.Series([2025.0]).iloc[0], 2025, 1.5, "F1")] == ["2025", "2025", "1.5", "'F1'"]
    emissions = case / "data" / "two-firms-emissions.csv"
    emissions.write_text(emissions.read_text() + "S1,2026.0,CO2,80\n")
    line = one_error_line(run_cli("validate", str(case / SCENARIO)))
    assert line.endswith("duplicate firm, year and gas (firm_id=S1, year=2026, gas=CO2)")
    assert "2026.0" not in line and "np." not in line


def test_a_bank_limit_without_banking_warns(case: Path) -> None:
    edit(case / SCENARIO, "[sectors.power]", "[markets.national]\nbank_limit_tco2e = 10.0\n\n[sectors.power]")
    completed = run_cli("solve", str(case / SCENARIO), "--out", str(case / "out"))
    assert completed.returncode == 0
    assert completed.stderr.strip() == (
        "warning: markets.national.bank_limit_tco2e is set but banking = false: nothing is banked, so the limit does nothing"
    )


def test_a_usage_mistake_is_one_error_line() -> None:
    completed = run_cli("check", "x.toml", "--expect", "p.csv", "--rtol", "abc")
    assert one_error_line(completed) == "error: argument --rtol: invalid float value: 'abc' (see optimodel check -h)"
