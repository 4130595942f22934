"""Property tests: random one-market instances against the independent merit-order oracle."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
from builders import one_sector_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import merit_order

import optimodel


@st.composite
def instances(draw):
    n_firms = draw(st.integers(1, 4))
    steps, baselines = [], {}
    for firm in range(n_firms):
        name = f"F{firm}"
        firm_steps = draw(
            st.lists(st.tuples(st.integers(1, 60), st.integers(-30, 120)), min_size=1, max_size=3)
        )
        steps += [(name, float(potential), float(cost)) for potential, cost in firm_steps]
        # Baselines at least the firm's total potential, so the merit order alone decides.
        baselines[name] = float(sum(potential for potential, _ in firm_steps) + draw(st.integers(0, 80)))
    total_baseline = sum(baselines.values())
    ordered = sorted(potential for _, potential, _ in steps)
    # Caps on step boundaries are where intervals appear: draw them often.
    on_boundary = draw(st.booleans())
    if on_boundary:
        costs_sorted = sorted(((cost, potential) for _, potential, cost in steps))
        k = draw(st.integers(0, len(costs_sorted)))
        required = sum(potential for _, potential in costs_sorted[:k])
    else:
        required = draw(st.integers(0, int(sum(ordered)) + 10))
    # A cap cannot be negative: at most the whole baseline is required.
    required = min(required, total_baseline)
    cap = total_baseline - required
    return baselines, steps, cap


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_prices_and_intervals_match_the_merit_order(instance):
    baselines, steps, cap = instance
    required = sum(baselines.values()) - cap
    expected = merit_order([(potential, cost) for _, potential, cost in steps], required)
    with tempfile.TemporaryDirectory() as folder:
        path = one_sector_case(Path(folder), baselines, steps, cap=cap)
        scenario = optimodel.load_scenario(path)
        if not expected.feasible:
            with pytest.raises(optimodel.InfeasibleError) as caught:
                optimodel.solve(scenario)
            shortfall = caught.value.shortfalls[0].shortfall_tco2e
            assert shortfall == pytest.approx(required - sum(p for _, p, _ in steps), abs=1e-6)
            return
        result = optimodel.solve(scenario)
    price = result.prices.iloc[0]
    assert price.price_low == pytest.approx(expected.price_low, abs=1e-6)
    if math.isinf(expected.price_high):
        assert math.isinf(price.price_high)
    else:
        assert price.price_high == pytest.approx(expected.price_high, abs=1e-6)
    assert price.price_low - 1e-9 <= price.price <= price.price_high + 1e-9
    assert result.summary["objective"] == pytest.approx(expected.cost, abs=1e-6)
