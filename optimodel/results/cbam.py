"""EU CBAM exposure: what exporters of steel, cement and aluminium pay at the EU border, net of
the Chinese carbon price already paid.

Per sector and year (money of the year):

    exported    = sector emissions x export share          (tCO2e embedded in EU exports)
    charged     = 1 - EU free allocation kept that year     (the CBAM phase-in)
    eu_price    = EU allowance price x EUR/CNY
    paid_price  = Chinese price x paid share                (effective: max(net purchases, 0) /
                                                             emissions; full: 1)
    net_charge  = exported x charged x max(eu_price - paid_price, 0)

Simplifications (docs/calibration.md): exports carry the sector's average intensity, the free
allocation adjustment scales the deduction as it scales the charge, and indirect emissions
(cement's purchased power) are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimodel.inputs.scenario import CbamDeduction, CbamPolicy, Scenario

CBAM_COLUMNS = [
    "sector", "year", "exported_tco2e", "charged_share", "eu_price", "china_price", "paid_share",
    "gross_charge", "deduction", "net_charge", "net_charge_per_tco2e",
]


def _by_year(values: float | dict[int, float], year: int, before: float) -> float:
    """A value or a year -> value map; a year missing takes the nearest earlier one (``before``
    when there is none)."""
    if not isinstance(values, dict):
        return float(values)
    earlier = [key for key in values if key <= year]
    return float(values[max(earlier)]) if earlier else before


def cbam_exposure(scenario: Scenario, sectors: pd.DataFrame, firms: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame | None:
    """cbam.csv's table, or None when the scenario has no [cbam]."""
    policy: CbamPolicy | None = scenario.cbam
    if policy is None:
        return None
    market_of = scenario.market_of_sector()
    price = prices.set_index(["market", "year"])["price"]
    net_purchase = firms.groupby(["sector", "year"])["net_purchase_tco2e"].sum()
    rows = []
    # Only covered sectors have results; export shares of sectors switched off are skipped.
    for row in sectors[sectors["sector"].isin(list(policy.export_share))].itertuples(index=False):
        share = policy.export_share[row.sector]
        exported = row.emissions_tco2e * share
        charged = 1.0 - _by_year(policy.free_allocation, row.year, before=1.0)
        eu_price = _by_year(policy.eu_price_eur, row.year, before=np.nan) * policy.eur_cny
        china_price = float(price[(market_of[row.sector], row.year)])
        if policy.deduction is CbamDeduction.full:
            paid_share = 1.0
        else:
            paid_share = max(float(net_purchase.get((row.sector, row.year), 0.0)), 0.0) / row.emissions_tco2e if row.emissions_tco2e > 0 else 0.0
        gross = exported * charged * (eu_price if np.isfinite(eu_price) else 0.0)
        deduction = min(gross, exported * charged * china_price * paid_share)
        net = gross - deduction
        rows.append(
            {
                "sector": row.sector, "year": row.year, "exported_tco2e": exported, "charged_share": charged,
                "eu_price": eu_price, "china_price": china_price, "paid_share": paid_share, "gross_charge": gross,
                "deduction": deduction, "net_charge": net, "net_charge_per_tco2e": net / exported if exported > 0 else 0.0,
            }
        )
    return pd.DataFrame(rows, columns=CBAM_COLUMNS)
