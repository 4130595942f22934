"""Monte Carlo price distributions (contract section 10), against analytic distributions.

Every case is one firm in one year, so each draw's price is a known function of its multiplier:
the tests check that function draw by draw (an exact, independent derivation), and the sample's
quantiles and step frequencies against the distribution's own, within the sampling error the
run reports.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from builders import one_sector_case, run_cli

import optimodel
from optimodel.workflows.uncertainty import multipliers, quantile_standard_error, run_uncertainty

FACTORS_LOGNORMAL = [{"target": "cost", "distribution": "lognormal", "sigma": 0.3}]


def case(folder: Path, steps: list[tuple[str, float, float]], cap: float, factors: list[dict], draws: int, seed: int = 1) -> Path:
    """One firm (baseline 100 t) with ``steps``, a cap, and an [uncertainty] table."""
    extra = {"uncertainty": {"draws": draws, "seed": seed, "factors": factors}}
    return one_sector_case(folder, {"F1": 100.0}, steps, cap, extra=extra)


def solve_draws(path: Path, **options) -> optimodel.workflows.uncertainty.UncertaintyResult:
    return run_uncertainty(optimodel.load_scenario(path), **options)


def test_a_lognormal_cost_gives_lognormal_price_quantiles(tmp_path):
    # One step of 60 t at 50, 30 t to abate: the step is partly used, so every draw's price is
    # 50 x its cost multiplier m, exactly; m = exp(0.3 Z), so the price's p-quantile is
    # 50 exp(0.3 z_p) and its mean 50 exp(0.045).
    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, FACTORS_LOGNORMAL, draws=400)
    result = solve_draws(path)
    draws = result.draws
    assert (draws["status"] == "optimal").all()
    assert draws["price"].to_numpy() == pytest.approx(50.0 * draws["factor_1"].to_numpy(), rel=1e-9)
    row = result.quantiles.iloc[0]
    assert row["draws_solved"] == 400
    for probability in (0.05, 0.25, 0.5, 0.75, 0.95):
        name = f"p{round(probability * 100):02d}"
        exact = 50.0 * math.exp(0.3 * NormalDist().inv_cdf(probability))
        # Within four standard errors of the quantile (the run's own, from order statistics).
        assert abs(row[name] - exact) <= 4 * row[f"se_{name}"], (name, row[name], exact, row[f"se_{name}"])
    assert abs(row["mean"] - 50.0 * math.exp(0.045)) <= 4 * row["se_mean"]


def test_a_two_step_curve_under_a_normal_baseline_gives_the_step_probabilities(tmp_path):
    # Baseline 100 m and the options' potentials (shares of the baseline) 30 m at 20, 30 m at 50,
    # 100 m at 200, cap 50: 100 m - 50 t to abate. The price is 0 below m = 0.5, 20 up to
    # m = 5/7, 50 up to m = 1.25, then 200. With m ~ N(1, 0.25): P(0) = 0.0228, P(20) = 0.1037,
    # P(50) = 0.7148, P(200) = 0.1587.
    factors = [{"target": "baseline", "distribution": "normal", "sd": 0.25}]
    path = case(tmp_path, [("F1", 30.0, 20.0), ("F1", 30.0, 50.0), ("F1", 100.0, 200.0)], 50.0, factors, draws=400, seed=3)
    draws = solve_draws(path).draws

    def price(multiplier: float) -> float:
        if multiplier < 0.5:
            return 0.0
        if multiplier < 5 / 7:
            return 20.0
        return 50.0 if multiplier < 1.25 else 200.0

    assert draws["price"].tolist() == pytest.approx([price(m) for m in draws["factor_1"]])
    normal = NormalDist(1.0, 0.25)
    expected = {
        0.0: normal.cdf(0.5),
        20.0: normal.cdf(5 / 7) - normal.cdf(0.5),
        50.0: normal.cdf(1.25) - normal.cdf(5 / 7),
        200.0: 1 - normal.cdf(1.25),
    }
    for level, probability in expected.items():
        share = (draws["price"] == level).mean()
        assert abs(share - probability) <= 4 * math.sqrt(probability * (1 - probability) / 400), (level, share, probability)


def test_infeasible_draws_are_counted_listed_and_left_out_of_the_quantiles(tmp_path):
    # 30 t of options and 100 m - 70 t to abate: every draw with m > 1 is infeasible.
    factors = [{"target": "baseline", "distribution": "normal", "sd": 0.1}]
    path = case(tmp_path, [("F1", 30.0, 20.0)], 70.0, factors, draws=60, seed=5)
    completed = run_cli("uncertainty", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    draws = pd.read_parquet(tmp_path / "out" / "draws.parquet")
    expected = sorted(int(draw) for draw, m in zip(draws["draw"], draws["factor_1"]) if m > 1.0)
    assert 10 < len(expected) < 50
    assert sorted(draws.loc[draws["status"] == "infeasible", "draw"].tolist()) == expected
    assert draws.loc[draws["status"] == "infeasible", "price"].isna().all()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["infeasible_draws"] == expected and summary["draws_infeasible"] == len(expected)
    assert summary["draws_optimal"] == 60 - len(expected)
    quantiles = pd.read_csv(tmp_path / "out" / "price_quantiles.csv")
    assert quantiles["draws_solved"].tolist() == [60 - len(expected)]
    assert quantiles["draws_infeasible"].tolist() == [len(expected)]
    assert f"warning: {len(expected)} of 60 draws are infeasible" in completed.stderr


FILES = ("draws.parquet", "price_quantiles.csv", "price_sensitivity.csv", "summary.json")


def two_factor_case(folder: Path, draws: int = 40) -> Path:
    factors = [
        {"target": "cost", "distribution": "lognormal", "sigma": 0.3},
        {"target": "baseline", "distribution": "triangular", "low": 0.9, "mode": 1.0, "high": 1.2},
    ]
    return case(folder, [("F1", 30.0, 20.0), ("F1", 30.0, 50.0), ("F1", 100.0, 200.0)], 50.0, factors, draws=draws, seed=9)


def test_the_same_seed_gives_byte_identical_files_whatever_the_workers(tmp_path):
    path = two_factor_case(tmp_path)
    one = run_cli("uncertainty", str(path), "--out", str(tmp_path / "one"))
    two = run_cli("uncertainty", str(path), "--workers", "2", "--out", str(tmp_path / "two"))
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    for name in FILES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_a_real_dask_cluster_gives_byte_identical_files(tmp_path, dask_cluster):
    path = two_factor_case(tmp_path)
    local = run_cli("uncertainty", str(path), "--out", str(tmp_path / "local"))
    remote = run_cli("uncertainty", str(path), "--scheduler", dask_cluster.scheduler_address, "--out", str(tmp_path / "dask"))
    assert local.returncode == 0 and remote.returncode == 0, (local.stderr, remote.stderr)
    for name in FILES:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name


def test_a_draw_does_not_depend_on_the_draws_solved_before_it(tmp_path):
    # Chunks of 1 and of 7 draws solve each draw after different predecessors.
    path = two_factor_case(tmp_path, draws=14)
    small = solve_draws(path, chunk_size=1).draws
    large = solve_draws(path, chunk_size=7).draws
    pd.testing.assert_frame_equal(small, large, check_exact=True)


def test_a_draws_multipliers_do_not_depend_on_the_number_of_draws():
    scenario_options = optimodel.inputs.scenario.UncertaintyOptions.model_validate(
        {"factors": [{"target": "cost", "distribution": "lognormal", "sigma": 0.3},
                     {"target": "offsets", "distribution": "uniform", "low": 0.5, "high": 1.5}]}
    )
    few, many = multipliers(scenario_options, 5, 11), multipliers(scenario_options, 50, 11)
    assert (few == many[:5]).all()
    assert ((many[:, 1] >= 0.5) & (many[:, 1] <= 1.5)).all()


def test_draws_override_the_file_and_the_seed_changes_the_draws(tmp_path):
    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, FACTORS_LOGNORMAL, draws=400)
    assert len(solve_draws(path, draws=7).draws) == 7
    assert not solve_draws(path, draws=7, seed=2).draws["factor_1"].equals(solve_draws(path, draws=7).draws["factor_1"])


def test_ctrl_c_keeps_the_finished_draws_and_says_so(tmp_path, monkeypatch, capsys):
    from optimodel import cli
    from optimodel.workflows import uncertainty

    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, FACTORS_LOGNORMAL, draws=40)
    real = uncertainty.solve_chunk
    calls = {"count": 0}

    def interrupted(*arguments):
        calls["count"] += 1
        if calls["count"] == 3:
            raise KeyboardInterrupt
        return real(*arguments)

    monkeypatch.setattr(uncertainty, "solve_chunk", interrupted)
    code = cli.main(["uncertainty", str(path), "--out", str(tmp_path / "out")])
    assert code == 1
    chunk = min(10, math.ceil(40 / 8))
    assert f"error: interrupted after {2 * chunk} of 40 draws; the finished draws are in" in capsys.readouterr().err
    # An interrupted run never takes the folder asked for (contract section 14): it goes beside it.
    summary = json.loads((tmp_path / "out-interrupted" / "summary.json").read_text())
    assert summary["complete"] is False and summary["draws_done"] == 2 * chunk
    draws = pd.read_parquet(tmp_path / "out-interrupted" / "draws.parquet")
    assert draws["draw"].tolist() == list(range(1, 2 * chunk + 1))


def test_quantile_standard_error_from_order_statistics():
    # n = 100, p = 0.5: j, k = 50 -+ 1.96 x 5 = 40.2, 59.8 -> the 40th and 60th values; on 1..100
    # that is (60 - 40) / (2 x 1.96).
    ordered = np.arange(1.0, 101.0)
    assert quantile_standard_error(ordered, 0.5) == pytest.approx(20 / (2 * 1.959963984540054))
    assert quantile_standard_error(np.full(100, 7.0), 0.5) == 0.0


def test_rank_correlation_names_the_factor_that_moves_the_price(tmp_path):
    # The cost multiplier sets the price exactly (price = 50 m); the offsets factor reaches nothing.
    factors = [*FACTORS_LOGNORMAL, {"target": "offsets", "distribution": "uniform", "low": 0.5, "high": 1.5}]
    result = solve_draws(case(tmp_path, [("F1", 60.0, 50.0)], 70.0, factors, draws=50))
    by_factor = result.sensitivity.set_index("factor")["rank_correlation"]
    assert by_factor["factor_1"] == pytest.approx(1.0)
    assert abs(by_factor["factor_2"]) < 0.5


@pytest.mark.parametrize(
    "factor, key, message",
    [
        ({"target": "cost", "distribution": "lognormal"}, "uncertainty.factors.0", "needs sigma"),
        ({"target": "cost", "distribution": "normal", "sd": 0.1, "sigma": 0.2}, "uncertainty.factors.0", "sigma is not a parameter"),
        ({"target": "cost", "distribution": "uniform", "low": 1.2, "high": 0.8}, "uncertainty.factors.0", "low (1.2) is above high"),
        ({"target": "wages", "distribution": "lognormal", "sigma": 0.1}, "uncertainty.factors.0.target", ""),
        ({"target": "baseline", "distribution": "lognormal", "sigma": 0.1, "sectors": ["steel"]}, "uncertainty.factors.0.sectors",
         "not covered"),
    ],
)
def test_a_bad_factor_is_an_input_error_naming_its_key(tmp_path, factor, key, message):
    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, [factor], draws=5)
    completed = run_cli("uncertainty", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 2
    assert completed.stderr.startswith("error:") and key in completed.stderr and message in completed.stderr
    assert not (tmp_path / "out").exists()


def test_an_option_no_step_has_is_an_input_error(tmp_path):
    factor = {"target": "cost", "distribution": "lognormal", "sigma": 0.1, "options": ["hydrogen_drii"]}
    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, [factor], draws=5)
    completed = run_cli("uncertainty", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 2
    assert "key uncertainty.factors.0.options" in completed.stderr and "hydrogen_drii" in completed.stderr


def test_a_scenario_without_factors_is_an_input_error(tmp_path):
    path = one_sector_case(tmp_path, {"F1": 100.0}, [("F1", 60.0, 50.0)], 70.0)
    completed = run_cli("uncertainty", str(path), "--out", str(tmp_path / "out"))
    assert completed.returncode == 2 and "key uncertainty" in completed.stderr


def test_an_options_scope_reaches_only_its_option(tmp_path):
    # Two steps: 30 t at 20 (cheap) and 60 t at 50; 40 t to abate: the price is the 50 step's.
    # A factor on the cheap option alone never moves the price (while it stays below 50).
    factors = [{"target": "cost", "distribution": "uniform", "low": 0.5, "high": 2.0, "options": ["step0"]}]
    path = case(tmp_path, [("F1", 30.0, 20.0), ("F1", 60.0, 50.0)], 60.0, factors, draws=20)
    assert solve_draws(path).draws["price"].tolist() == pytest.approx([50.0] * 20)


def test_limited_foresight_is_rolled_in_every_draw(tmp_path):
    # The two firms of tests/test_horizon.py with foresight 1: each year alone prices at 50, 50
    # and 80 (test_foresight_one_gives_the_prices_without_banking). A cost multiplier m on every
    # option scales every price: 50 m, 50 m, 80 m, where perfect foresight would give Hotelling.
    from test_horizon import CAPS, two_firms

    path = two_firms(tmp_path, [2025, 2026, 2027], CAPS, {"foresight_years": 1})
    path.write_text(path.read_text() + '\n[uncertainty]\ndraws = 6\n[[uncertainty.factors]]\ntarget = "cost"\n'
                    'distribution = "uniform"\nlow = 0.8\nhigh = 1.2\n')
    draws = solve_draws(path).draws
    for draw, rows in draws.groupby("draw"):
        m = rows["factor_1"].iloc[0]
        assert rows["price"].tolist() == pytest.approx([50 * m, 50 * m, 80 * m]), draw
    assert (draws["bank_end_tco2e"] == 0).all()


def test_a_normal_factor_that_often_falls_below_zero_warns(tmp_path):
    factors = [{"target": "baseline", "distribution": "normal", "sd": 0.5}]
    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, factors, draws=5)
    completed = run_cli("validate", str(path))
    assert completed.returncode == 0
    # P(1 + 0.5 Z < 0) = P(Z < -2) = 2.3 %.
    assert "warning: uncertainty.factors.0: a normal multiplier with sd 0.5 is below 0 in 2.3% of draws" in completed.stderr


def test_draws_run_in_a_process_that_has_already_solved(tmp_path):
    # HiGHS's process-wide scheduler, started by an earlier solve, must not stop the draws (which
    # run HiGHS on one thread) nor a later solve.
    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, FACTORS_LOGNORMAL, draws=3)
    scenario = optimodel.load_scenario(path)
    before = optimodel.solve(scenario).prices["price"].tolist()
    assert solve_draws(path, draws=3).draws["status"].tolist() == ["optimal"] * 3
    assert optimodel.solve(scenario).prices["price"].tolist() == before == [50.0]


def test_an_unreachable_scheduler_is_an_input_error(tmp_path):
    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, FACTORS_LOGNORMAL, draws=3)
    # Nothing listens on port 9: a short wait (the default is 20 s) is enough to be refused.
    completed = run_cli(
        "uncertainty", str(path), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "out"),
        env={**os.environ, "OPTIMODEL_DASK_CONNECT_TIMEOUT": "2"},
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ") and "--scheduler" in completed.stderr
    assert "after 2 s" in completed.stderr or "Connection refused" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_an_offsets_factor_ignores_sectors(tmp_path):
    factors = [{"target": "offsets", "distribution": "uniform", "low": 0.5, "high": 1.5, "sectors": ["not-a-sector"]}]
    path = case(tmp_path, [("F1", 60.0, 50.0)], 70.0, factors, draws=3)
    assert solve_draws(path).draws["price"].tolist() == pytest.approx([50.0] * 3)
