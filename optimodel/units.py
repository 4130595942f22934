"""Units and scaling, in one place.

The model works in MtCO2e and million units of money, so that HiGHS sees coefficients near 1:
a firm's abatement step of 50 kt is 0.05, a sector cap of 1.7 Gt is 1700. Money per tCO2e is the
same number as million money per MtCO2e, so costs and prices need no scaling at all, and the duals
of the market rows come out directly in money per tCO2e.
"""

from __future__ import annotations

TCO2E_PER_MODEL_UNIT = 1.0e6
"""Tonnes CO2e in one model quantity unit (MtCO2e)."""

MONEY_PER_MODEL_UNIT = 1.0e6
"""Money in one model objective unit (million CNY by default)."""


def to_model_quantity(tco2e):
    """tCO2e -> model units (MtCO2e). Works on floats and numpy arrays."""
    return tco2e / TCO2E_PER_MODEL_UNIT


def from_model_quantity(model_quantity):
    """Model units (MtCO2e) -> tCO2e."""
    return model_quantity * TCO2E_PER_MODEL_UNIT


def from_model_money(model_money):
    """Model objective units (million money) -> money."""
    return model_money * MONEY_PER_MODEL_UNIT
