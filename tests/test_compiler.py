"""optimodel's standard-form compiler against Pyomo's own (LinearStandardFormCompiler): the same
columns in the same order, the same rows, senses, right-hand sides, objective and matrix, entry
for entry, on instances that switch on every policy family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from builders import write_case
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

import optimodel
from optimodel.compiler import standard_form
from optimodel.data import load_data
from optimodel.model import build_model

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"


def every_family(folder: Path) -> Path:
    """Two markets, banking and borrowing, shared offset supply with a limit, a ceiling and a
    floor, a benchmark sector with an output-reducing option, a PFC, and a step whose firm has no
    baseline limit row."""
    firms = [{"firm_id": "P1", "sector": "power"}, {"firm_id": "S1", "sector": "steel"}, {"firm_id": "A1", "sector": "aluminium"}]
    emissions = [
        {"firm_id": firm, "year": year, "gas": gas, "baseline_t": value}
        for year in (2025, 2026, 2027)
        for firm, gas, value in (("P1", "CO2", 100.0), ("S1", "CO2", 80.0), ("A1", "CO2", 10.0), ("A1", "CF4", 0.002))
    ]
    options = [
        {"firm_id": "P1", "option": "efficiency", "gas": "CO2", "potential_t": 60.0, "cost_per_t": 10.0, "output_loss": 0.0},
        {"firm_id": "P1", "option": "ccs", "gas": "CO2", "potential_t": 60.0, "cost_per_t": 50.0, "output_loss": 0.0},
        {"firm_id": "S1", "option": "scrap", "gas": "CO2", "potential_t": 20.0, "cost_per_t": 30.0, "output_loss": 0.0},
        {"firm_id": "S1", "option": "curtail", "gas": "CO2", "potential_t": 20.0, "cost_per_t": 60.0, "output_loss": 0.5},
        {"firm_id": "A1", "option": "anode", "gas": "CF4", "potential_t": 0.001, "cost_per_t": 200000.0, "output_loss": 0.0},
    ]
    activity = [{"firm_id": "S1", "year": year, "output": 50.0} for year in (2025, 2026, 2027)]
    scenario = {
        "years": [2025, 2026, 2027],
        "discount_rate": 0.05,
        "data": {"activity": "activity.csv"},
        "sectors": {
            "power": {"cap_tco2e": {"2025": 90.0, "2026": 80.0, "2027": 70.0}},
            "steel": {"benchmark": {"2025": 1.5, "2026": 1.4, "2027": 1.3}},
            "aluminium": {"cap_tco2e": {"2025": 20.0, "2026": 20.0, "2027": 20.0}},
        },
        "markets": {
            "national": {"sectors": ["power", "steel"], "banking": True, "borrowing": 0.1, "offset_limit": 0.05, "price_ceiling": 150.0},
            "metals": {"sectors": ["aluminium"], "banking": True, "offset_limit": 0.1, "price_floor": 5.0},
        },
        "offsets": [{"quantity_tco2e": 5.0, "price": 20.0}, {"quantity_tco2e": 3.0, "price": 40.0, "markets": ["national"]}],
    }
    return write_case(folder, firms=firms, emissions=emissions, options=options, activity=activity, scenario=scenario)


@pytest.mark.parametrize("scenario", ["every_family", "two-firms.toml", "two-firms-separate.toml"])
def test_the_compiler_agrees_with_pyomos_entry_for_entry(scenario: str, tmp_path: Path) -> None:
    path = every_family(tmp_path) if scenario == "every_family" else EXAMPLES / scenario
    loaded = optimodel.load_scenario(path)
    model = build_model(load_data(loaded), loaded)
    ours = standard_form(model)
    pyomos = LinearStandardFormCompiler().write(model, mixed_form=True)
    assert [id(variable) for variable in ours.columns] == [id(variable) for variable in pyomos.columns]
    assert [(id(row), sense) for row, sense in ours.rows] == [(id(row), sense) for row, sense in pyomos.rows]
    np.testing.assert_array_equal(ours.rhs, np.asarray(pyomos.rhs, dtype=float))
    np.testing.assert_array_equal(ours.c, pyomos.c.toarray().ravel())
    assert ours.offset == float(pyomos.c_offset[0])
    np.testing.assert_array_equal(ours.A.toarray(), pyomos.A.toarray())
    assert ours.A.nnz == pyomos.A.nnz


def test_matrix_products_agree_with_dense_algebra(tmp_path: Path) -> None:
    loaded = optimodel.load_scenario(every_family(tmp_path))
    matrix = standard_form(build_model(load_data(loaded), loaded)).A
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=matrix.shape[1]), rng.normal(size=matrix.shape[0])
    np.testing.assert_allclose(matrix.dot(x), matrix.toarray() @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(matrix.transpose_dot(y), matrix.toarray().T @ y, rtol=1e-12, atol=1e-12)


def test_the_every_family_instance_solves_and_is_certified(tmp_path: Path) -> None:
    result = optimodel.solve(optimodel.load_scenario(every_family(tmp_path)))
    assert result.summary["status"] == "optimal" and result.summary["checks"]["duality_gap"] < 1e-6
