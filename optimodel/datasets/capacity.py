"""The default dataset's heavy options as capacity options (contract section 12; docs/calibration.md).

The default options table prices every option as a levelised annual step: ``cost_per_t`` per
tCO2 abated, capital included. Here the heavy options (hydrogen DRI, the scrap-EAF shift, CCS
and CCUS, inert anodes) become capacity options: each keeps its potential, gets a lifetime and a
capex per tCO2 a year of capacity, and its ``cost_per_t`` becomes the operating cost, namely the
levelised cost less the annuity of that capex at ``CONVERSION_RATE``. So with
``[investment] lifetimes = false`` and that interest rate, each option costs exactly what it did:
``scenarios/capacity-annual.toml`` reproduces the default's prices (tested), and the difference
``scenarios/capacity.toml`` makes is lock-in alone.

    .venv/bin/python -m optimodel.datasets.capacity    # rewrites optimodel/datasets/default/options-capacity.parquet
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CNY_PER_USD = 7.1
"""2024 average exchange rate (M)."""
CONVERSION_RATE = 0.05
"""The interest rate at which the levelised costs are split: the default's discount rate."""


@dataclass(frozen=True)
class CapacitySpec:
    """One heavy option's capital: CNY per tCO2 a year of capacity, and its lifetime."""

    lifetime_years: int
    capex_per_tco2: float
    basis: str
    """Where the numbers come from (docs/calibration.md tags: F, M, D, A)."""


HEAVY: dict[tuple[str, str], CapacitySpec] = {
    ("steel", "hydrogen_dri"): CapacitySpec(
        40,
        580.0 / 1.4 * CNY_PER_USD,
        "D: 580 USD per t of steel a year (MESSAGEix-China) / 1.4 tCO2 avoided per t (A: 1.7 t of the "
        "average route less 0.3 left) x 7.1 CNY/USD; lifetime 40 years (open technology-cost data, M)",
    ),
    ("steel", "scrap_eaf_shift"): CapacitySpec(
        40,
        143.0 / 1.3 * CNY_PER_USD,
        "D: EAF 143 USD per t of steel a year (MESSAGEix-China) / 1.3 tCO2 avoided per t (A) x 7.1; "
        "lifetime 40 years (M)",
    ),
    ("power", "ccs"): CapacitySpec(
        25,
        1420.0,
        "D/A: capture at 165-219 CNY/tCO2 (second-generation capture in China, F), half of it capital "
        "(A): 96 CNY/tCO2 a year, an annuity-due over 25 years at 5 % (factor 0.0676)",
    ),
    ("steel", "ccus"): CapacitySpec(25, 1420.0, "A: as power CCS; lifetime 20-25 years for a capture retrofit (M)"),
    ("cement", "ccus"): CapacitySpec(25, 1420.0, "A: as power CCS; lifetime 20-25 years for a capture retrofit (M)"),
    ("aluminium", "inert_anodes"): CapacitySpec(30, 2000.0, "A: no public capex; a potline retrofit over 30 years"),
}


def annuity_factor(rate: float, lifetime: float) -> float:
    """Annual charge per unit of capex (annuity-due; 1 / L at r = 0), as in ``model.capacity``."""
    return 1.0 / lifetime if rate == 0 else rate / ((1.0 + rate) * (1.0 - (1.0 + rate) ** -lifetime))


def with_capacity(options: pd.DataFrame, firms: pd.DataFrame) -> pd.DataFrame:
    """``options`` with the heavy options as capacity options: ``lifetime_years`` and
    ``capex_per_t`` set, ``cost_per_t`` the operating cost (see the module docstring). Only CO2
    options are heavy here, so a tonne of the gas is a tCO2."""
    sector = options["firm_id"].map(dict(zip(firms["firm_id"], firms["sector"])))
    table = options.copy()
    table["lifetime_years"] = pd.array([pd.NA] * len(table), dtype="Int64")
    table["capex_per_t"] = np.nan
    for (sector_name, option), spec in HEAVY.items():
        chosen = ((sector == sector_name) & (table["option"] == option) & (table["gas"] == "CO2")).to_numpy()
        table.loc[chosen, "lifetime_years"] = spec.lifetime_years
        table.loc[chosen, "capex_per_t"] = spec.capex_per_tco2
        charge = spec.capex_per_tco2 * annuity_factor(CONVERSION_RATE, spec.lifetime_years)
        table.loc[chosen, "cost_per_t"] = table.loc[chosen, "cost_per_t"] - charge
    return table


def write_default(folder: Path | None = None) -> Path:
    """Rewrite ``options-capacity.parquet`` from the shipped default tables."""
    folder = folder or Path(__file__).resolve().parent / "default"
    table = with_capacity(pd.read_parquet(folder / "options.parquet"), pd.read_parquet(folder / "firms.parquet"))
    target = folder / "options-capacity.parquet"
    table.to_parquet(target, index=False, compression="zstd")
    return target


if __name__ == "__main__":
    print(write_default())
