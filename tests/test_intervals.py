"""The one-row ranging the price intervals' probes use, held against HiGHS's own ranging.

``optimodel.solver.intervals.row_range`` reads how far a nonbasic row's bound may move before
the basis turns infeasible from one solve with HiGHS's factored basis (B^-1 e_row), where
``getRanging`` ranges every row and column (4.6 s on a million rows). On random LPs, at their
optimal basis, both must give the same limits for every nonbasic row with a finite upper bound.
"""

from __future__ import annotations

import math

import highspy
import numpy as np
import pytest
from builders import write_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimodel
from optimodel.inputs.data import load_data
from optimodel.model import build_model
from optimodel.model.lp import INFINITY, CompiledLp, CscMatrix
from optimodel.solver.compiler import compile_model
from optimodel.solver.highs import pass_arrays, quiet_highs, run_highs
from optimodel.solver.intervals import _linked_rows, row_range
from optimodel.solver.session import solve_lp


def random_lp(seed: int) -> CompiledLp:
    """A bounded LP min c x, A x <= b, 0 <= x <= u, with mixed signs in A and c."""
    rng = np.random.default_rng(seed)
    n_rows, n_cols = int(rng.integers(2, 10)), int(rng.integers(3, 25))
    dense = (rng.random((n_rows, n_cols)) < 0.35) * rng.normal(size=(n_rows, n_cols))
    rows, columns = np.nonzero(dense)
    matrix = CscMatrix.from_entries(rows, columns, dense[rows, columns], (n_rows, n_cols))
    # Some rows with a finite lower bound too, so that basic rows can block from below.
    row_lower = np.where(rng.random(n_rows) < 0.3, -rng.random(n_rows) * 2.0, -INFINITY)
    return CompiledLp(
        cost=rng.normal(size=n_cols),
        offset=0.0,
        col_lower=np.zeros(n_cols),
        col_upper=np.round(rng.random(n_cols) * 5.0, 1),
        row_lower=row_lower,
        row_upper=np.round(rng.random(n_rows) * 2.0, 1),
        matrix=matrix,
    )


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_range_matches_highs_ranging(seed: int) -> None:
    compiled = random_lp(seed)
    highs = quiet_highs()
    highs.setOptionValue("presolve", "off")
    matrix = compiled.matrix
    pass_arrays(
        highs, compiled.cost, compiled.col_lower, compiled.col_upper, compiled.row_lower, compiled.row_upper,
        matrix.indptr, matrix.indices, matrix.data,
    )
    run_highs(highs)
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return
    status, ranging = highs.getRanging()
    assert status != highspy.HighsStatus.kError and ranging.valid
    solution = highs.getSolution()
    col_value, row_value = np.asarray(solution.col_value), np.asarray(solution.row_value)
    basis = highs.getBasis()
    checked = 0
    for row in range(compiled.shape[0]):
        if basis.row_status[row] != highspy.HighsBasisStatus.kUpper:
            continue
        bound = compiled.row_upper[row]
        down, up = row_range(highs, compiled, row, bound, col_value, row_value)
        expected_up, expected_down = ranging.row_bound_up.value_[row], ranging.row_bound_dn.value_[row]
        if expected_up >= INFINITY:
            assert up == np.inf
        else:
            assert bound + up == pytest.approx(expected_up, rel=1e-7, abs=1e-7)
        if expected_down <= -INFINITY:
            assert down == np.inf
        else:
            assert bound - down == pytest.approx(expected_down, rel=1e-7, abs=1e-7)
        checked += 1
    assert checked == sum(status == highspy.HighsBasisStatus.kUpper for status in basis.row_status)


# Intervals in banked markets against finite differences of the optimal cost. Banking ties the
# years' prices (``_linked_rows`` probes one year of each linked group and maps the rest): the
# slopes of the cost in each year's cap, measured by re-solving the scenario with that cap moved
# by a hundredth of a tonne, must equal the intervals. With integer tonnes every break of the
# cost curve lies on a whole tonne, so a hundredth never crosses one.

DISCOUNT_RATE = 0.05
YEARS = [2025, 2026, 2027]
STEP = 0.01


@st.composite
def banked_markets(draw):
    firms = ["A", "B"][: draw(st.integers(1, 2))]
    options = []
    for firm in firms:
        for year in YEARS:
            for index in range(draw(st.integers(1, 2))):
                options.append(
                    {
                        "firm_id": firm,
                        "option": f"step{index}",
                        # Potentials and caps in tens: caps often fall on a break of the cost
                        # curve, where the intervals are wide and the probes run.
                        "potential_t": 10.0 * draw(st.integers(1, 4)),
                        "cost_per_t": float(draw(st.integers(0, 90))),
                        "year": year,
                    }
                )
    baseline = 100.0
    caps = {year: 10.0 * draw(st.integers(6, 10)) * len(firms) for year in YEARS}
    # No borrowing: its limit is a share of the next year's allowances, so a cap moved in the
    # scenario would move that limit too, not the market row alone that an interval is about.
    return firms, options, baseline, caps, 0.0


def solve_banked(folder, firms, options, baseline, caps, borrowing):
    path = write_case(
        folder,
        firms=[{"firm_id": firm, "sector": "power"} for firm in firms],
        emissions=[{"firm_id": firm, "year": year, "gas": "CO2", "baseline_t": baseline} for firm in firms for year in YEARS],
        options=options,
        scenario={
            "years": YEARS,
            "discount_rate": DISCOUNT_RATE,
            "sectors": {"power": {"cap_tco2e": {str(year): cap for year, cap in caps.items()}}},
            "markets": {"national": {"sectors": ["power"], "banking": True, "borrowing": borrowing}},
        },
    )
    try:
        return optimodel.solve(optimodel.load_scenario(path))
    except optimodel.InfeasibleError:
        return None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(market=banked_markets())
def test_banked_intervals_match_finite_differences(tmp_path_factory, market) -> None:
    firms, options, baseline, caps, borrowing = market
    folder = tmp_path_factory.mktemp("banked")
    result = solve_banked(folder / "base", firms, options, baseline, caps, borrowing)
    if result is None:
        return
    cost = result.summary["objective"]
    prices = result.prices.set_index("year")
    for position, year in enumerate(YEARS):
        # Prices are in money of their year, the objective in first-year money.
        discount = (1.0 + DISCOUNT_RATE) ** -position
        more = solve_banked(folder / f"more{year}", firms, options, baseline, {**caps, year: caps[year] + STEP}, borrowing)
        fewer = solve_banked(folder / f"fewer{year}", firms, options, baseline, {**caps, year: caps[year] - STEP}, borrowing)
        assert more is not None
        low = (cost - more.summary["objective"]) / STEP / discount
        assert prices.loc[year, "price_low"] == pytest.approx(low, abs=1e-4)
        if fewer is None:
            assert math.isinf(prices.loc[year, "price_high"])
        else:
            high = (fewer.summary["objective"] - cost) / STEP / discount
            assert prices.loc[year, "price_high"] == pytest.approx(high, abs=1e-4)


def test_a_bank_links_the_years_it_carries(tmp_path) -> None:
    # One firm, two years, 100 t baseline, caps 100 and 50, a 100 t option at 20 in 2025 and 50
    # in 2026 (tests/test_banking.py): 50 t are banked from 2025, so the bank column sits inside
    # its bounds and ties the two years' prices: one group, 2026's slope = 1 x 2025's + 0.
    path = write_case(
        tmp_path,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": year, "gas": "CO2", "baseline_t": 100.0} for year in (2025, 2026)],
        options=[
            {"firm_id": "A", "option": "retrofit", "potential_t": 100.0, "cost_per_t": cost, "year": year}
            for year, cost in ((2025, 20.0), (2026, 50.0))
        ],
        scenario={
            "years": [2025, 2026],
            "discount_rate": 0.1,
            "sectors": {"power": {"cap_tco2e": {"2025": 100.0, "2026": 50.0}}},
            "markets": {"national": {"sectors": ["power"], "banking": True}},
        },
    )
    scenario = optimodel.load_scenario(path)
    data = load_data(scenario)
    compiled = compile_model(build_model(data, scenario))
    solution = solve_lp(compiled, scenario)
    rows = compiled.rows["market_balance"]
    groups = _linked_rows(compiled, solution, list(rows.values()))
    assert len(groups) == 1
    (root, *others) = groups[0]
    assert root == (rows[("national", 2025)], 1.0, 0.0)
    assert others == [(rows[("national", 2026)], pytest.approx(1.0), pytest.approx(0.0))]
