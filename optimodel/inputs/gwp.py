"""Named GWP100 sets (IPCC assessment reports) and custom tables.

Values are 100-year global warming potentials, tCO2e per tonne of gas. Sources: IPCC AR4 WG1
table 2.14, AR5 WG1 table 8.A.1, AR6 WG1 table 7.SM.7 (see docs/calibration.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType


class GwpSet(str, Enum):
    """A named set of GWP100 values."""

    AR4 = "AR4"
    AR5 = "AR5"
    AR6 = "AR6"


NAMED_GWP_SETS: Mapping[GwpSet, Mapping[str, float]] = MappingProxyType(
    {
        GwpSet.AR4: MappingProxyType({"CO2": 1.0, "CF4": 7390.0, "C2F6": 12200.0}),
        GwpSet.AR5: MappingProxyType({"CO2": 1.0, "CF4": 6630.0, "C2F6": 11100.0}),
        GwpSet.AR6: MappingProxyType({"CO2": 1.0, "CF4": 7380.0, "C2F6": 12400.0}),
    }
)


def normalise_gas(name: str) -> str:
    """Gas names compare case-insensitively; upper case is the canonical spelling."""
    return name.strip().upper()


def resolve_gwp(gwp: GwpSet | Mapping[str, float]) -> dict[str, float]:
    """Return the GWP table {GAS: tCO2e per tonne} for a named set or a custom table."""
    if isinstance(gwp, GwpSet):
        return dict(NAMED_GWP_SETS[gwp])
    return {normalise_gas(gas): float(value) for gas, value in gwp.items()}
