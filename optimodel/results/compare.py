"""Several runs side by side: prices with their intervals, and sector abatement, emissions and
costs, with differences against the first run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from optimodel.errors import InputError

PRICE_METRICS = ["price", "price_low", "price_high"]
SECTOR_METRICS = ["abatement_tco2e", "emissions_tco2e", "abatement_cost"]
DEFAULT_CURRENCY = "CNY"
COMPARISON_KEY = ["table", "entity", "year", "metric"]
"""The first columns of a comparison table (how ``compare --out`` knows a file it wrote)."""


def run_folders(paths: list[Path]) -> dict[str, Path]:
    """Run name -> folder. A sweep folder (sweep_prices.csv and runs/) gives each of its runs."""
    runs: dict[str, Path] = {}
    for path in paths:
        if (path / "prices.csv").exists():
            runs[path.name if path.name not in runs else str(path)] = path
        elif (path / "sweep_prices.csv").exists() and (path / "runs").is_dir():
            for run in sorted((path / "runs").iterdir()):
                if (run / "prices.csv").exists():
                    runs[f"{path.name}/{run.name}"] = run
        else:
            raise InputError("not a run folder (no prices.csv) nor a sweep folder (no sweep_prices.csv)", file=str(path))
    if len(runs) < 2:
        raise InputError("compare needs at least two runs")
    return runs


def _read(folder: Path, name: str) -> pd.DataFrame:
    try:
        return pd.read_csv(folder / name)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(f"cannot read ({error})", file=str(folder / name)) from None


def currency_of(folder: Path) -> str:
    """The currency a run's money is in (summary.json), CNY when it does not say."""
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DEFAULT_CURRENCY
    currency = summary.get("currency") if isinstance(summary, dict) else None
    return currency if isinstance(currency, str) and currency else DEFAULT_CURRENCY


def units(currency: str) -> dict[str, str]:
    """metric -> its unit: prices per tCO2e in money of each year, quantities in tCO2e, costs in money of each year."""
    return {
        **{metric: f"{currency}/tCO2e" for metric in PRICE_METRICS},
        "abatement_tco2e": "tCO2e",
        "emissions_tco2e": "tCO2e",
        "abatement_cost": currency,
    }


def compare_runs(paths: list[Path]) -> pd.DataFrame:
    """Long-to-wide: one row per (table, entity, year, metric) with its unit, one column per run,
    then ``<run> - <first>`` differences. Runs in different currencies are not comparable."""
    runs = run_folders(paths)
    currencies = {run: currency_of(folder) for run, folder in runs.items()}
    if len(set(currencies.values())) > 1:
        listed = ", ".join(f"{run} in {currency}" for run, currency in currencies.items())
        raise InputError(f"the runs are in different currencies ({listed}); compare runs of one currency")
    frames = []
    for run, folder in runs.items():
        prices = _read(folder, "prices.csv").melt(["market", "year"], [m for m in PRICE_METRICS], var_name="metric")
        frames.append(prices.rename(columns={"market": "entity"}).assign(table="prices", run=run))
        sectors = _read(folder, "sectors.csv").melt(["sector", "year"], SECTOR_METRICS, var_name="metric")
        frames.append(sectors.rename(columns={"sector": "entity"}).assign(table="sectors", run=run))
    long = pd.concat(frames, ignore_index=True)
    # Rows grouped by table, entity (in order of appearance) and year, with their metrics together.
    entity_order = {entity: position for position, entity in enumerate(dict.fromkeys(long["entity"]))}
    metric_order = {metric: position for position, metric in enumerate(PRICE_METRICS + SECTOR_METRICS)}
    long = long.sort_values(
        ["table", "entity", "year", "metric"],
        key=lambda column: column.map(entity_order) if column.name == "entity" else (column.map(metric_order) if column.name == "metric" else column),
        kind="stable",
    )
    order = list(runs)
    index = COMPARISON_KEY
    rows = pd.MultiIndex.from_frame(long[index].drop_duplicates())
    wide = long.set_index([*index, "run"])["value"].unstack("run").reindex(index=rows, columns=order)
    first = order[0]
    for run in order[1:]:
        wide[f"{run} - {first}"] = wide[run] - wide[first]
    wide.columns.name = None
    wide = wide.reset_index()
    wide.insert(len(COMPARISON_KEY), "unit", wide["metric"].map(units(currencies[first])))
    return wide


def format_prices(table: pd.DataFrame) -> str:
    """The price rows as a compact terminal table."""
    prices = table[(table["table"] == "prices") & (table["metric"] == "price")]
    unit = prices["unit"].iloc[0] if len(prices) else ""
    shown = prices.drop(columns=["table", "metric", "unit"]).rename(columns={"entity": "market"})
    text = shown.to_string(index=False, float_format=lambda value: f"{value:,.2f}")
    return f"{text}\nprices in {unit}, money of each year" if unit else text
