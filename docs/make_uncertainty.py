"""Draw the fan chart of README.md and docs/results.md from an uncertainty run folder.

    .venv/bin/optimodel uncertainty scenarios/uncertainty.toml --workers 2 --out runs/uncertainty
    .venv/bin/pip install -e ".[docs]" && .venv/bin/python docs/make_uncertainty.py runs/uncertainty
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(folder: Path) -> None:
    quantiles = pd.read_csv(folder / "price_quantiles.csv")
    summary = json.loads((folder / "summary.json").read_text())
    sensitivity = pd.read_csv(folder / "price_sensitivity.csv")
    figure, (fan_axis, factor_axis) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    for market, table in quantiles.groupby("market", sort=False):
        fan_axis.fill_between(table["year"], table["p05"], table["p95"], color="tab:blue", alpha=0.18, label="5-95 %")
        fan_axis.fill_between(table["year"], table["p25"], table["p75"], color="tab:blue", alpha=0.35, label="25-75 %")
        fan_axis.plot(table["year"], table["p50"], "o-", color="tab:blue", markersize=3, label=f"median ({market})")
        fan_axis.plot(table["year"], table["mean"], ":", color="tab:blue", label="mean")
    fan_axis.axhspan(40, 106, color="grey", alpha=0.1, label="traded 2021-2025")
    fan_axis.set(title=f"{summary['scenario']}: allowance price over {summary['draws_optimal']:,} draws",
                 xlabel="year", ylabel=f"{summary.get('currency', '')}/tCO2e, money of each year")
    fan_axis.legend(fontsize=7, loc="upper left")
    factors = {entry["column"]: f"{entry['target']}" + (f" ({', '.join(entry['sectors'])})" if entry.get("sectors") else "")
               for entry in summary["factors"]}
    for factor, table in sensitivity.groupby("factor", sort=False):
        factor_axis.plot(table["year"], table["rank_correlation"], "o-", markersize=3, label=factors.get(factor, factor))
    factor_axis.axhline(0, color="black", linewidth=0.6)
    factor_axis.set(title="What moves the price: rank correlation with it", xlabel="year", ylim=(-1, 1))
    factor_axis.legend(fontsize=7)
    figure.tight_layout()
    out = ROOT / "docs" / "img" / "uncertainty-fan.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
