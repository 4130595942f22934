"""An independent merit-order calculation of one market-year (no LP involved).

Steps are (potential, cost). The least cost of abating at least R is found by taking every
negative-cost step (it pays for itself) and then filling R from the cheapest steps up. The
allowance price is the slope of that cost in R: price_low is the cost of the last tonne needed
(the saving from one more allowance), price_high the cost of the next tonne (one fewer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class MeritOrder:
    feasible: bool
    cost: float
    price_low: float
    price_high: float


def merit_order(steps: list[tuple[float, float]], required: float) -> MeritOrder:
    ordered = sorted(steps, key=lambda step: step[1])
    total = sum(potential for potential, _ in ordered)
    if required > total:
        return MeritOrder(False, math.nan, math.nan, math.nan)
    free = sum(potential for potential, cost in ordered if cost < 0)
    abate = max(required, free)
    cost, filled = 0.0, 0.0
    for potential, unit_cost in ordered:
        take = min(potential, abate - filled)
        if take <= 0:
            break
        cost += take * unit_cost
        filled += take
    if required < free:
        return MeritOrder(True, cost, 0.0, 0.0)
    # Left slope: the step holding the tonne just below `required`; right slope: just above.
    cumulative, low, high = 0.0, 0.0, math.inf
    for potential, unit_cost in ordered:
        start, end = cumulative, cumulative + potential
        if potential > 0 and start < required <= end:
            low = unit_cost
        if potential > 0 and start <= required < end:
            high = unit_cost
            break
        cumulative = end
    return MeritOrder(True, cost, max(low, 0.0), max(high, 0.0))
