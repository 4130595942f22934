"""Solve the scenario library and draw the charts of docs/results.md.

    .venv/bin/pip install -e ".[docs]" && .venv/bin/python docs/make_results.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import optimodel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ["expansion", "power-only", "sector-markets", "tight-caps", "gwp-ar6"]


def main() -> None:
    results = {name: optimodel.solve(optimodel.load_scenario(ROOT / "scenarios" / f"{name}.toml")) for name in SCENARIOS}
    figure, (prices_axis, bank_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, result in results.items():
        for market, prices in result.prices.groupby("market", sort=False):
            label = name if market == "national" else f"{name}: {market}"
            if name == "sector-markets" and market in ("steel", "cement"):
                continue
            style = "--" if name == "sector-markets" else "-"
            prices_axis.plot(prices["year"], prices["price"], style, marker="o", markersize=3, label=label)
    prices_axis.axhspan(40, 106, color="grey", alpha=0.12, label="traded 2021-2025")
    prices_axis.set(title="Allowance price (CNY/tCO2e, money of each year)", xlabel="year", ylabel="CNY/tCO2e")
    prices_axis.legend(fontsize=7)
    markets = results["expansion"].markets
    bank_axis.bar(markets["year"], markets["bank_end_tco2e"] / 1e6, color="tab:blue", label="bank at year end")
    bank_axis.plot(markets["year"], (markets["emissions_tco2e"] - markets["issued_tco2e"]) / 1e6, "k.-", label="emissions - issued")
    bank_axis.axhline(0, color="black", linewidth=0.6)
    bank_axis.set(title="expansion.toml: bank and yearly balance (Mt CO2e)", xlabel="year", ylabel="Mt CO2e")
    bank_axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(ROOT / "docs" / "img" / "default-prices.png", dpi=120)


if __name__ == "__main__":
    main()
