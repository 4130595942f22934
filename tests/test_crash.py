"""The crash basis changes where HiGHS starts, never what it finds.

Each instance is solved twice: cold, and from the basis of the aggregated LP
(``optimodel.solver.crash``). The objective, every interval and the certificate must agree; a
point price where the interval is wider than a point may be any dual in it (both solves are
optimal), so it is held inside the interval. The small instances lower the size threshold so
that they are crashed too; the default instance is crashed as shipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import EXAMPLES, write_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimodel
from optimodel.inputs.data import load_data
from optimodel.model import build_model
from optimodel.solver import crash
from optimodel.solver.compiler import compile_model
from optimodel.solver.highs import new_highs
from optimodel.solver.session import crash_blocks

ROOT = Path(__file__).resolve().parents[1]


def both(scenario):
    """(cold result, crashed result) of one scenario."""
    cold = optimodel.solve(scenario.model_copy(update={"solver": scenario.solver.model_copy(update={"crash": False})}))
    crashed = optimodel.solve(scenario)
    return cold, crashed


def assert_same_answer(cold, crashed) -> None:
    assert crashed.summary["objective"] == pytest.approx(cold.summary["objective"], rel=1e-9, abs=1e-9)
    for column in ("price_low", "price_high"):
        assert crashed.prices[column].to_numpy() == pytest.approx(cold.prices[column].to_numpy(), rel=1e-9, abs=1e-9)
    inside = (crashed.prices["price"] >= crashed.prices["price_low"] - 1e-9) & (crashed.prices["price"] <= crashed.prices["price_high"] + 1e-9)
    assert inside.all()
    assert crashed.summary["checks"]["objective_gap"] < 1e-6


@pytest.fixture
def every_lp_crashed(monkeypatch):
    monkeypatch.setattr(crash, "CRASH_ABOVE_COLUMNS", 1)
    monkeypatch.setattr(crash, "BUCKET_STEPS", 2)


@pytest.mark.parametrize("example", ["two-firms.toml", "two-firms-separate.toml"])
def test_the_worked_examples_crashed(every_lp_crashed, example):
    cold, crashed = both(optimodel.load_scenario(EXAMPLES / example))
    assert_same_answer(cold, crashed)
    # README: 2026 sits on the CCS step, [50, 80], in one market.
    if example == "two-firms.toml":
        assert crashed.prices[["price_low", "price_high"]].iloc[1].tolist() == pytest.approx([50.0, 80.0])


@st.composite
def markets_with_banking(draw):
    firms: list[dict[str, Any]] = []
    emissions: list[dict[str, Any]] = []
    options: list[dict[str, Any]] = []
    for index in range(draw(st.integers(2, 6))):
        firm = f"F{index}"
        firms.append({"firm_id": firm, "sector": draw(st.sampled_from(["a", "b"]))})
        for year in (2025, 2026, 2027):
            emissions.append({"firm_id": firm, "year": year, "gas": "CO2", "baseline_t": float(draw(st.integers(40, 100)))})
        for number in range(draw(st.integers(1, 4))):
            options.append({"firm_id": firm, "option": f"o{number}", "potential_t": float(draw(st.integers(1, 30))),
                            "cost_per_t": float(draw(st.integers(0, 120)))})
    sectors = sorted({row["sector"] for row in firms})
    base = {sector: sum(float(row["baseline_t"]) for row in emissions if row["year"] == 2025 and row["firm_id"] in
                        {firm["firm_id"] for firm in firms if firm["sector"] == sector}) for sector in sectors}
    caps = {sector: {str(year): round(base[sector] * draw(st.floats(0.7, 1.0)), 2) for year in (2025, 2026, 2027)} for sector in sectors}
    scenario = {
        "years": [2025, 2026, 2027],
        "discount_rate": draw(st.sampled_from([0.0, 0.05])),
        "sectors": {sector: {"cap_tco2e": caps[sector]} for sector in sectors},
        "markets": {"national": {"banking": draw(st.booleans()), **draw(st.sampled_from([{}, {"price_ceiling": 90.0}]))}},
    }
    return firms, emissions, options, scenario


@given(markets_with_banking())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_markets_crashed(every_lp_crashed, tmp_path_factory, instance):
    assert_crash_keeps_the_answer(tmp_path_factory.mktemp("crash"), instance)


def assert_crash_keeps_the_answer(folder: Path, instance) -> None:
    """Solve a drawn instance cold and crashed; an infeasible one has nothing to compare."""
    firms, emissions, options, scenario = instance
    path = write_case(folder, firms=firms, emissions=emissions, options=options, scenario=scenario)
    try:
        cold, crashed = both(optimodel.load_scenario(path))
    except optimodel.InfeasibleError:
        return
    assert_same_answer(cold, crashed)


def test_the_default_starts_one_step_from_its_optimum():
    scenario = optimodel.load_scenario(ROOT / "scenarios" / "expansion.toml")
    compiled = compile_model(build_model(load_data(scenario), scenario))
    basis = crash.crash_basis(compiled)
    assert basis is not None
    basic = sum(int(status) == crash.BASIC for status in basis.col_status) + sum(int(status) == crash.BASIC for status in basis.row_status)
    assert basic == compiled.shape[0]
    cold, warm = new_highs(compiled, scenario), new_highs(compiled, scenario)
    cold.run()
    warm.setBasis(basis)
    warm.run()
    assert warm.getInfo().objective_function_value == pytest.approx(cold.getInfo().objective_function_value, rel=1e-12)
    # Cold: 11 iterations of dual simplex (benchmarks/README.md); crashed: at most 3.
    assert warm.getInfo().simplex_iteration_count <= 3 < cold.getInfo().simplex_iteration_count
    assert np.allclose(warm.getSolution().row_dual, cold.getSolution().row_dual, rtol=1e-9, atol=1e-12)


# Capacity options: their builds and rows stay out of the small LP (``PolicyFamily.crash_block``).


@st.composite
def markets_with_capacity(draw):
    firms, emissions, options = [], [], []
    for index in range(draw(st.integers(1, 4))):
        firm = f"F{index}"
        firms.append({"firm_id": firm, "sector": "power"})
        for year in (2025, 2026, 2027):
            emissions.append({"firm_id": firm, "year": year, "gas": "CO2", "baseline_t": 100.0})
        options.append({"firm_id": firm, "option": "annual", "potential_t": float(draw(st.integers(1, 30))),
                        "cost_per_t": float(draw(st.integers(0, 120)))})
        for number in range(draw(st.integers(1, 2))):
            options.append({"firm_id": firm, "option": f"plant{number}", "potential_t": float(draw(st.integers(5, 40))),
                            "cost_per_t": float(draw(st.integers(0, 40))), "lifetime_years": draw(st.integers(1, 4)),
                            "capex_per_t": float(draw(st.integers(0, 400)))})
    total = 100.0 * len(firms)
    caps = {str(year): round(total * draw(st.floats(0.7, 1.0)), 2) for year in (2025, 2026, 2027)}
    scenario = {
        "years": [2025, 2026, 2027],
        "discount_rate": draw(st.sampled_from([0.0, 0.05])),
        "sectors": {"power": {"cap_tco2e": caps}},
        "markets": {"national": {"banking": draw(st.booleans())}},
        "investment": {"interest_rate": draw(st.sampled_from([0.0, 0.08]))},
    }
    return firms, emissions, options, scenario


@given(markets_with_capacity())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_capacity_markets_crashed(every_lp_crashed, tmp_path_factory, instance):
    assert_crash_keeps_the_answer(tmp_path_factory.mktemp("crash-capacity"), instance)


def test_a_capacity_block_prices_each_year_at_its_capacity_rent(tmp_path):
    # One firm, one plant with a 10-year life over 2025-2027 at capex 300 per t a year, rate 0:
    # a charge of 30 a year; a build in 2025 is charged in all three years (90), one in 2026 in
    # two (60), one in 2027 in one (30). With every build basic, the rows' duals y solve
    # y_2025 + y_2026 + y_2027 = -90, y_2026 + y_2027 = -60, y_2027 = -30: each year -30, the
    # year's rent of a tonne of capacity, and each step is priced at its cost plus 30.
    path = write_case(
        tmp_path,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": year, "gas": "CO2", "baseline_t": 100.0} for year in (2025, 2026, 2027)],
        options=[{"firm_id": "A", "option": "plant", "potential_t": 40.0, "cost_per_t": 5.0, "lifetime_years": 10, "capex_per_t": 300.0}],
        scenario={"years": [2025, 2026, 2027], "discount_rate": 0.0, "sectors": {"power": {"cap_tco2e": {"2025": 90, "2026": 80, "2027": 70}}},
                  "investment": {"interest_rate": 0.0}},
    )
    scenario = optimodel.load_scenario(path)
    compiled = compile_model(build_model(load_data(scenario), scenario))
    (block,) = crash_blocks(compiled)
    assert crash._block_duals(compiled, block) == pytest.approx([-30.0, -30.0, -30.0])
    reduced = crash._without_blocks(compiled, [block])
    assert reduced is not None
    lp, kept_columns, kept_rows = reduced
    steps = [compiled.columns["abatement"][step] for step in range(3)]
    assert lp.cost[np.searchsorted(kept_columns, steps)] == pytest.approx([35.0, 35.0, 35.0])
    assert lp.shape == (compiled.shape[0] - 6, compiled.shape[1] - 3)


def test_the_capacity_scenario_starts_next_to_its_optimum():
    scenario = optimodel.load_scenario(ROOT / "scenarios" / "capacity.toml")
    compiled = compile_model(build_model(load_data(scenario), scenario))
    basis = crash.crash_basis(compiled, crash_blocks(compiled))
    assert basis is not None
    basic = sum(int(status) == crash.BASIC for status in basis.col_status) + sum(int(status) == crash.BASIC for status in basis.row_status)
    assert basic == compiled.shape[0]
    cold, warm = new_highs(compiled, scenario), new_highs(compiled, scenario)
    cold.run()
    warm.setBasis(basis)
    warm.run()
    assert warm.getInfo().objective_function_value == pytest.approx(cold.getInfo().objective_function_value, rel=1e-10)
    # Measured: 1 iteration from the crash basis (the block's rents were the optimum's).
    assert warm.getInfo().simplex_iteration_count <= 5 < cold.getInfo().simplex_iteration_count
