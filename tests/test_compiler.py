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
from optimodel.inputs.data import load_data
from optimodel.model import build_model
from optimodel.solver.compiler import standard_form

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"


def every_family(folder: Path) -> Path:
    """Two markets, banking and borrowing, shared offset supply with a limit, a ceiling and a
    floor, a benchmark sector with an output-reducing option, a PFC, a step whose firm has no
    baseline limit row, and a capacity option (built, in service two years, a build limit)."""
    firms = [{"firm_id": "P1", "sector": "power"}, {"firm_id": "S1", "sector": "steel"}, {"firm_id": "A1", "sector": "aluminium"}]
    emissions = [
        {"firm_id": firm, "year": year, "gas": gas, "baseline_t": value}
        for year in (2025, 2026, 2027)
        for firm, gas, value in (("P1", "CO2", 100.0), ("S1", "CO2", 80.0), ("A1", "CO2", 10.0), ("A1", "CF4", 0.002))
    ]
    options = [
        {"firm_id": "P1", "option": "efficiency", "gas": "CO2", "potential_t": 60.0, "cost_per_t": 10.0, "output_loss": 0.0},
        {"firm_id": "P1", "option": "ccs", "gas": "CO2", "potential_t": 60.0, "cost_per_t": 20.0, "output_loss": 0.0,
         "lifetime_years": 2, "capex_per_t": 60.0, "max_build_t": 25.0},
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


SCENARIOS = ["every_family", "two-firms.toml", "two-firms-separate.toml"]


def loaded_case(scenario: str, tmp_path: Path):
    path = every_family(tmp_path) if scenario == "every_family" else EXAMPLES / scenario
    loaded = optimodel.load_scenario(path)
    return load_data(loaded), loaded


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_compiler_agrees_with_pyomos_entry_for_entry(scenario: str, tmp_path: Path) -> None:
    # The reference formulation (every column a Pyomo variable) through both compilers.
    data, loaded = loaded_case(scenario, tmp_path)
    model = build_model(data, loaded, materialise=True)
    ours = standard_form(model)
    pyomos = LinearStandardFormCompiler().write(model, mixed_form=True)
    assert [id(variable) for variable in ours.columns] == [id(variable) for variable in pyomos.columns]
    assert [(id(row), sense) for row, sense in ours.rows] == [(id(row), sense) for row, sense in pyomos.rows]
    np.testing.assert_array_equal(ours.rhs, np.asarray(pyomos.rhs, dtype=float))
    np.testing.assert_array_equal(ours.c, pyomos.c.toarray().ravel())
    assert ours.offset == float(pyomos.c_offset[0])
    np.testing.assert_array_equal(ours.A.toarray(), pyomos.A.toarray())
    assert ours.A.nnz == pyomos.A.nnz


def _name(component_data) -> tuple:
    return (component_data.parent_component().local_name, component_data.index())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_column_blocks_compile_to_the_lp_pyomo_makes_of_the_reference(scenario: str, tmp_path: Path) -> None:
    """The fast build (abatement as a column block, baseline limits as block rows) is the same LP
    as the reference formulation compiled by Pyomo: every column and row matched by its
    component and index, every bound, cost, right-hand side and coefficient equal."""
    from optimodel.solver.compiler import compile_model

    data, loaded = loaded_case(scenario, tmp_path)
    fast_model = build_model(data, loaded)
    fast = standard_form(fast_model)
    compiled = compile_model(build_model(data, loaded))
    reference_model = build_model(data, loaded, materialise=True)
    pyomos = LinearStandardFormCompiler().write(reference_model, mixed_form=True)

    expected_blocks = ["abatement", "build"] if scenario == "every_family" else ["abatement"]
    assert list(fast.block_columns) == expected_blocks and not any(name in expected_blocks for name, _ in map(_name, fast.columns))
    fast_columns = [_name(variable) for variable in fast.columns]
    for name, start in fast.block_columns.items():
        assert start == len(fast_columns)
        block = fast_model.terms.blocks[name]
        fast_columns += [(name, label) for label in (block.labels if block.labels is not None else range(len(block.upper)))]
    reference_columns = [_name(variable) for variable in pyomos.columns]
    assert sorted(fast_columns) == sorted(reference_columns)
    if scenario == "every_family":
        assert fast.block_rows["baseline_limit"], "the instance has steps that could exceed a baseline"
        assert len(fast.block_rows["capacity_use"]) == len(fast.block_rows["capacity_potential"]) == 3
    block_rows = {row: (name, index) for name, rows in fast.block_rows.items() for index, row in rows.items()}
    fast_rows = [(*(_name(row) if row is not None else block_rows[position]), sense) for position, (row, sense) in enumerate(fast.rows)]
    reference_rows = [(*_name(row), sense) for row, sense in pyomos.rows]
    assert sorted(fast_rows, key=repr) == sorted(reference_rows, key=repr)

    column_order = [fast_columns.index(name) for name in reference_columns]
    row_order = [fast_rows.index(name) for name in reference_rows]
    np.testing.assert_allclose(fast.A.toarray()[np.ix_(row_order, column_order)], pyomos.A.toarray(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(fast.c[column_order], pyomos.c.toarray().ravel(), rtol=1e-15, atol=0)
    np.testing.assert_array_equal(fast.rhs[row_order], np.asarray(pyomos.rhs, dtype=float))
    reference_bounds = np.array([variable.bounds for variable in pyomos.columns], dtype=float)
    np.testing.assert_array_equal(compiled.col_lower[column_order], np.nan_to_num(reference_bounds[:, 0], nan=-np.inf))
    np.testing.assert_array_equal(compiled.col_upper[column_order], np.nan_to_num(reference_bounds[:, 1], nan=np.inf))


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
