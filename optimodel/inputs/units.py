"""Units and scaling, in one place.

HiGHS works best when the numbers it sees are near 1. The model therefore counts quantities in
a unit of 10^k tCO2e chosen per instance (``choose_scaling``): the largest market-year's baseline
becomes about 10^3 units (a national market of 8 Gt is counted in Mt; a two-firm test in tonnes).
Money is scaled by the same factor, so costs and prices per tCO2e need no scaling at all, and the
duals of the market rows come out directly in money per tCO2e.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TARGET_LARGEST_QUANTITY = 1.0e3
"""The largest market-year baseline, in model units, is brought near this value."""
FINEST_UNIT_TCO2E = 1.0
COARSEST_UNIT_TCO2E = 1.0e6


@dataclass(frozen=True)
class Scaling:
    """Conversion between user units (tCO2e, money) and model units."""

    tco2e_per_unit: float
    """tCO2e in one model quantity unit; money in one model objective unit is the same factor."""

    def to_model(self, tco2e):
        """tCO2e -> model units. Works on floats and numpy arrays."""
        return tco2e / self.tco2e_per_unit

    def from_model(self, quantity):
        """Model units -> tCO2e."""
        return quantity * self.tco2e_per_unit

    def money_from_model(self, value):
        """Objective units -> money."""
        return value * self.tco2e_per_unit


def choose_scaling(largest_quantity_tco2e: float) -> Scaling:
    """A power of ten between 1 t and 1 Mt that brings the largest quantity near 10^3 units."""
    if not largest_quantity_tco2e > 0 or not math.isfinite(largest_quantity_tco2e):
        return Scaling(FINEST_UNIT_TCO2E)
    exponent = math.floor(math.log10(largest_quantity_tco2e / TARGET_LARGEST_QUANTITY))
    unit = min(max(10.0**exponent, FINEST_UNIT_TCO2E), COARSEST_UNIT_TCO2E)
    return Scaling(unit)
