"""The calibrated default dataset: reproducible from its generator and true to the facts in
docs/calibration.md."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from optimodel.datasets.generate import AR5, DEFAULT_FIRMS, DEFAULT_FOLDER, DEFAULT_SEED, MIN_FIRM_TCO2E, generate


@pytest.fixture(scope="module")
def dataset():
    return generate(DEFAULT_FIRMS, DEFAULT_SEED)


@pytest.mark.parametrize("table", ["firms", "emissions", "options", "activity"])
def test_generator_reproduces_the_shipped_tables(dataset, table):
    shipped = pd.read_parquet(DEFAULT_FOLDER / f"{table}.parquet")
    pd.testing.assert_frame_equal(getattr(dataset, table).reset_index(drop=True), shipped, check_exact=False, rtol=1e-9, atol=0.002)


def test_firm_counts(dataset):
    counts = dataset.firms["sector"].value_counts().to_dict()
    assert counts == {"power": 2200, "steel": 600, "cement": 800, "aluminium": 100}


def test_sector_totals_in_2025_match_calibration(dataset):
    totals = dataset.sector_baselines()[2025] / 1e9
    # Gt CO2e (AR5): power 5.1, steel 1.75, cement 1.07, aluminium 0.075; ~8 Gt in all.
    assert totals.to_dict() == pytest.approx({"power": 5.1, "steel": 1.75, "cement": 1.07, "aluminium": 0.075}, rel=1e-6)
    assert totals.sum() == pytest.approx(8.0, abs=0.01)


def test_no_firm_below_the_inclusion_threshold(dataset):
    emissions = dataset.emissions[dataset.emissions["year"] == 2025]
    tco2e = (emissions["baseline_t"] * emissions["gas"].map(AR5)).groupby(emissions["firm_id"]).sum()
    assert tco2e.min() >= MIN_FIRM_TCO2E * 0.999


def test_aluminium_emits_pfcs_in_a_ten_to_one_mass_ratio(dataset):
    aluminium = dataset.emissions[dataset.emissions["firm_id"].str.startswith("ALU") & (dataset.emissions["year"] == 2025)]
    by_gas = aluminium.groupby("gas")["baseline_t"].sum()
    assert by_gas["CF4"] / by_gas["C2F6"] == pytest.approx(10.0, rel=1e-3)
    # 0.145 tCO2e of PFC per t of aluminium.
    output = dataset.activity[dataset.activity["firm_id"].str.startswith("ALU") & (dataset.activity["year"] == 2025)]["output"].sum()
    pfc = by_gas["CF4"] * AR5["CF4"] + by_gas["C2F6"] * AR5["C2F6"]
    assert pfc / output == pytest.approx(0.145, rel=1e-3)
    options = dataset.options[dataset.options["option"] == "anode_effect_control"]
    assert set(options["gas"]) == {"CF4", "C2F6"}


def test_mean_intensities(dataset):
    intensity = dataset.sector_intensities()
    assert intensity["power"] == pytest.approx(0.80, rel=0.02)
    assert intensity["cement"] == pytest.approx(0.85, rel=0.02)


def test_potentials_ramp_up_to_2030(dataset):
    options = dataset.options[(dataset.options["option"] == "efficiency_retrofit")]
    by_year = options.groupby("year")["potential_t"].sum()
    power = dataset.sector_baselines().loc["power"]
    shares = by_year / power
    assert shares[2025] == pytest.approx(0.3 * shares[2030], rel=1e-6)


def test_generate_command_writes_a_solvable_instance(tmp_path):
    out = tmp_path / "instance"
    completed = subprocess.run(
        [sys.executable, "-m", "optimodel", "data", "generate", "--firms", "40", "--seed", "3", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    for name in ("firms.parquet", "emissions.parquet", "options.parquet", "activity.parquet", "scenario.toml"):
        assert (out / name).exists()
    solved = subprocess.run(
        [sys.executable, "-m", "optimodel", "solve", str(out / "scenario.toml"), "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
    )
    assert solved.returncode == 0, solved.stderr
    firms = pd.read_csv(tmp_path / "run" / "firms.csv")
    assert firms["firm_id"].nunique() == 40
