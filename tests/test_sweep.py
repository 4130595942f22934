"""Sweeps: warm re-solves equal cold solves; local workers and a real Dask cluster give the
same prices; failures are reported, never lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import write_case

import optimodel
from optimodel.workflows.sweep import parse_assignment, run_sweep, sweep_points, warm_compatible

YEARS = [2025, 2026, 2027]


@pytest.fixture
def instruments_case(tmp_path) -> Path:
    """Two sectors in one market with banking, borrowing, offsets, a ceiling and a floor."""
    firms = [{"firm_id": "P", "sector": "power"}, {"firm_id": "S", "sector": "steel"}]
    emissions = [
        {"firm_id": firm, "year": year, "gas": "CO2", "baseline_t": base * (1 + 0.02 * (year - 2025))}
        for firm, base in (("P", 100.0), ("S", 80.0))
        for year in YEARS
    ]
    options = [
        {"firm_id": firm, "option": f"o{index}", "potential_t": potential, "cost_per_t": cost, "year": year}
        for year in YEARS
        for firm, index, potential, cost in (
            ("P", 1, 15.0, 10.0 + year - 2025), ("P", 2, 25.0, 45.0), ("P", 3, 30.0, 90.0),
            ("S", 1, 10.0, 25.0), ("S", 2, 20.0, 60.0 - 2 * (year - 2025)),
        )
    ]
    scenario = {
        "years": YEARS,
        "discount_rate": 0.04,
        "sectors": {
            "power": {"cap_tco2e": {"2025": 85.0, "2026": 80.0, "2027": 70.0}},
            "steel": {"cap_tco2e": {"2025": 70.0, "2026": 66.0, "2027": 60.0}},
        },
        "markets": {
            "national": {
                "sectors": ["power", "steel"], "banking": True, "borrowing": 0.1, "offset_limit": 0.05,
                "price_ceiling": 150.0, "price_floor": 15.0,
            }
        },
        "offsets": [{"quantity_tco2e": 3.0, "price": 35.0}, {"quantity_tco2e": 5.0, "price": 70.0}],
    }
    return write_case(tmp_path / "case", firms=firms, emissions=emissions, options=options, scenario=scenario)


GRID = [
    "sectors.power.cap_tco2e.2026=95,80,60,40",
    "markets.national.price_ceiling=150,75",
]


def test_warm_sweep_equals_cold_solves(instruments_case):
    assignments = [parse_assignment(text) for text in GRID]
    sweep = run_sweep(instruments_case, assignments)
    assert [point.status for point in sweep.points] == ["optimal"] * 8
    assert all(point.warm for point in sweep.points)
    base = optimodel.load_scenario(instruments_case)
    for point, outcome in zip(sweep_points(base, assignments), sweep.points):
        cold = optimodel.solve(point.scenario)
        warm = outcome.result
        for table in ("prices", "markets", "firms"):
            pd.testing.assert_frame_equal(getattr(warm, table), getattr(cold, table), check_exact=False, rtol=1e-7, atol=1e-6)
        assert warm.summary["objective"] == pytest.approx(cold.summary["objective"], rel=1e-9)


def test_structural_changes_rebuild(instruments_case):
    assignments = [parse_assignment("discount_rate=0.0,0.04")]
    sweep = run_sweep(instruments_case, assignments)
    assert [point.warm for point in sweep.points] == [False, True]
    # The second point re-solves the LP built for the base scenario: one build for the sweep.
    base = optimodel.load_scenario(instruments_case)
    first = sweep_points(base, assignments)[0]
    assert not warm_compatible(base, first.scenario)
    cold = optimodel.solve(first.scenario)
    pd.testing.assert_frame_equal(sweep.points[0].result.prices, cold.prices)


def test_workers_give_the_same_prices(instruments_case):
    assignments = [parse_assignment(text) for text in GRID]
    one = run_sweep(instruments_case, assignments).prices
    two = run_sweep(instruments_case, assignments, workers=2).prices
    pd.testing.assert_frame_equal(one, two, check_exact=False, rtol=1e-9, atol=1e-9)


def test_sweep_command_writes_prices_status_and_run_folders(instruments_case, tmp_path):
    out = tmp_path / "sweep"
    completed = subprocess.run(
        [sys.executable, "-m", "optimodel", "sweep", str(instruments_case), "--set", "markets.national.price_ceiling=150",
         "--set", "sectors.steel.cap_tco2e.2025=70,0", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    status = pd.read_csv(out / "sweep_status.csv")
    assert status["status"].tolist() == ["optimal", "optimal"]  # the ceiling keeps cap 0 feasible
    prices = pd.read_csv(out / "sweep_prices.csv")
    assert list(prices.columns) == [
        "run", "markets.national.price_ceiling", "sectors.steel.cap_tco2e.2025", "market", "year", "price", "price_low", "price_high",
    ]
    assert (out / "runs" / "run-001" / "prices.csv").exists() and (out / "runs" / "run-002" / "summary.json").exists()


def test_an_infeasible_point_is_reported_with_its_shortfall(examples, tmp_path):
    # Power cap 0 in 2026 beside steel's 60: 180 t of baseline, 60 allowances, 100 t of
    # potential: short by 20 t.
    out = tmp_path / "sweep"
    completed = subprocess.run(
        [sys.executable, "-m", "optimodel", "sweep", str(examples / "two-firms.toml"),
         "--set", "sectors.power.cap_tco2e.2026=60,0", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    status = pd.read_csv(out / "sweep_status.csv").set_index("run")
    assert status.loc["run-001", "status"] == "optimal"
    assert status.loc["run-002", "status"] == "infeasible"
    assert "market national year 2026 short by 20 tCO2e" in status.loc["run-002", "message"]
    assert set(pd.read_csv(out / "sweep_prices.csv")["run"]) == {"run-001"}
    assert not (out / "runs" / "run-002").exists()


def test_bad_sweep_value_is_an_input_error(instruments_case, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "optimodel", "sweep", str(instruments_case), "--set", "discount_rate=0.1,-1",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error:") and "key discount_rate" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_two_firm_cap_sweep_matches_the_merit_order(examples, tmp_path):
    # 2026: power cap 60, 55, 50 with steel 60: 60, 65, 70 t to abate. Merit order 20 @ 10,
    # 10 @ 30, 30 @ 50, 40 @ 80: 60 t ends CCS ([50, 80]); 65 and 70 t reach hydrogen DRI (80).
    sweep = run_sweep(examples / "two-firms.toml", [parse_assignment("sectors.power.cap_tco2e.2026=60,55,50")])
    prices = sweep.prices[sweep.prices["year"] == 2026].set_index("run")
    assert prices[["price_low", "price_high"]].to_numpy().tolist() == [[50.0, 80.0], [80.0, 80.0], [80.0, 80.0]]


def test_dask_cluster_gives_identical_results(instruments_case, dask_cluster):
    assignments = [parse_assignment(text) for text in GRID]
    local = run_sweep(instruments_case, assignments).prices
    remote = run_sweep(instruments_case, assignments, scheduler=dask_cluster.scheduler_address, workers=2).prices
    pd.testing.assert_frame_equal(local, remote)


def kill_worker_once(base, chunk, progress=None, marker=None):
    """A chunk runner whose first call kills its worker process (as a crash or OOM kill would)."""
    import os

    from optimodel.workflows.sweep import run_points

    if marker is not None and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return run_points(base, chunk, progress)


def test_a_dying_worker_loses_no_point(instruments_case, dask_cluster, tmp_path):
    import functools

    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    assignments = [parse_assignment(text) for text in GRID]
    runner = functools.partial(kill_worker_once, marker=str(tmp_path / "killed"))
    sweep = run_sweep(instruments_case, assignments, scheduler=dask_cluster.scheduler_address, workers=2, chunk_runner=runner)
    assert (tmp_path / "killed").exists()
    assert len(sweep.points) == 8
    assert all(point.status == "optimal" for point in sweep.points), sweep.status
    local = run_sweep(instruments_case, assignments).prices
    pd.testing.assert_frame_equal(local, sweep.prices)
    assert np.isfinite(sweep.prices["price"]).all()


def test_a_sequential_sweep_builds_the_lp_once(instruments_case, monkeypatch):
    import optimodel.workflows.sweep as sweep_module

    built = []
    original = sweep_module.WarmSession.__init__

    def counting(self, scenario):
        built.append(scenario.name)
        original(self, scenario)

    monkeypatch.setattr(sweep_module.WarmSession, "__init__", counting)
    sweep = run_sweep(instruments_case, [parse_assignment(text) for text in GRID])
    assert len(sweep.points) == 8 and len(built) == 1


def test_sweeping_the_default_markets_ceiling(examples):
    # two-firms.toml has no [markets]: markets.national.price_ceiling creates the default market's
    # ceiling. 2026 needs 60 t: the ceiling at 60 caps the price at 60 only where abatement would
    # cost more (80 for one fewer allowance); 2025's price 50 is below both ceilings.
    sweep = run_sweep(examples / "two-firms.toml", [parse_assignment("markets.national.price_ceiling=60,200")])
    assert [point.status for point in sweep.points] == ["optimal", "optimal"]
    prices = sweep.prices.set_index(["run", "year"])
    assert prices.loc[("run-001", 2025), "price"] == pytest.approx(50.0)
    assert prices.loc[("run-001", 2026), "price_high"] == pytest.approx(60.0)
    assert prices.loc[("run-002", 2026), "price_high"] == pytest.approx(80.0)
