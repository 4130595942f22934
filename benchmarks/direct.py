"""optimodel against a direct numpy-to-HiGHS build of the same LP (issue 18).

The direct build reads the four Parquet tables with pandas, writes the LP as numpy arrays with
no modelling layer (abatement steps, offset purchases and their supply and limit rows, the bank,
ceiling sales, one market balance per market-year), hands it to HiGHS and reads the prices from
the row duals. It covers what the benchmark scenarios use: caps and intensity benchmarks,
banking, CCER offsets with a usage limit, a price ceiling and discounting; anything else in a
scenario stops it. Both are timed in the same process, tables read from disk each time; each
best of ``--repeat`` runs:

- ``optimodel``: ``optimodel.solve(scenario)``: load and validate, build, solve, exact price
  intervals, result tables and the certificate (no files written);
- ``direct``: read, build, solve, prices (no intervals, no result tables, no checks);

and, from tables already in memory, the LP alone: optimodel's build, compile and solve (price
intervals off) against the direct build and solve.

The direct build passes HiGHS the same options as optimodel (presolve off, dual simplex), since
HiGHS's defaults take 45 s (presolve) on the national instance. Its columns are in table order.
Before timing, its prices must equal optimodel's to 1e-6 relative (the same LP).

    .venv/bin/python benchmarks/direct.py scenarios/expansion.toml benchmarks/scenarios/national-ceiling.toml scenarios/sector-markets.toml
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import highspy
import numpy as np
import pandas as pd

import optimodel
from optimodel.inputs.data import load_data
from optimodel.inputs.gwp import resolve_gwp
from optimodel.model import build_model
from optimodel.model.banking import BankingRules
from optimodel.model.collar import CollarRules
from optimodel.model.offsets import OffsetRules, offer_steps
from optimodel.model.reserve import ReserveRules
from optimodel.solver.compiler import compile_model
from optimodel.solver.highs import quiet_highs
from optimodel.solver.session import LpSolver

MT = 1.0e6
"""The direct build counts tonnes in Mt and money per tCO2e, so its objective is in M money."""


def read_tables(scenario) -> dict[str, pd.DataFrame]:
    """The four input tables, as pandas reads them."""
    return {name: pd.read_parquet(getattr(scenario.data, name)) for name in ("firms", "emissions", "options", "activity")}


def direct_prices(scenario, tables: dict[str, pd.DataFrame] | None = None) -> dict[tuple[str, int], float]:
    """Build the LP as arrays from the tables (read now unless given), solve it, return each
    market-year's price."""
    if tuple(scenario.modelled_years) != tuple(scenario.years):
        raise SystemExit("direct.py does not cover look-ahead years")
    years = list(scenario.years)
    policies = scenario.market_policies()
    markets = list(policies)
    market_of_sector = scenario.market_of_sector()
    gwp = resolve_gwp(scenario.gwp)
    for market in markets:
        policy = policies[market]
        banking, collar = policy.rules(BankingRules), policy.rules(CollarRules)
        if banking.borrowing or banking.bank_limit_tco2e is not None or collar.price_floor is not None or policy.rules(ReserveRules).reserve:
            raise SystemExit(f"direct.py covers banking, offsets and a ceiling only (market {market})")
    tables = tables or read_tables(scenario)
    firms, emissions, options, activity = (tables[name] for name in ("firms", "emissions", "options", "activity"))
    sector_of_firm = dict(zip(firms["firm_id"], firms["sector"]))
    year_index = {year: position for position, year in enumerate(years)}
    n_markets, n_years = len(markets), len(years)
    market_position = {market: position for position, market in enumerate(markets)}

    def market_year_of(firm_ids: pd.Series, table_years: pd.Series) -> np.ndarray:
        market = firm_ids.map(sector_of_firm).map(market_of_sector).map(market_position).to_numpy(dtype=float)
        year = table_years.map(year_index).to_numpy(dtype=float)
        keep = ~np.isnan(market) & ~np.isnan(year)
        return np.where(keep, market * n_years + np.nan_to_num(year), -1).astype(np.int64)

    # Baseline emissions and issued allowances per market-year, in Mt.
    baseline = np.zeros(n_markets * n_years)
    where = market_year_of(emissions["firm_id"], emissions["year"])
    np.add.at(baseline, where[where >= 0], (emissions["baseline_t"] * emissions["gas"].map(gwp)).to_numpy()[where >= 0] / MT)
    issued = np.zeros(n_markets * n_years)
    for sector, policy in scenario.sectors.items():
        if not policy.covered:
            continue
        market = market_position[market_of_sector[sector]]
        for year in years:
            cap = policy.cap(year)
            if cap is not None:
                issued[market * n_years + year_index[year]] += cap / MT
            elif year in policy.benchmark:
                rows = (activity["year"] == year) & (activity["firm_id"].map(sector_of_firm) == sector)
                issued[market * n_years + year_index[year]] += policy.benchmark[year] * activity.loc[rows, "output"].sum() / MT

    # Columns: abatement steps (table order), offset purchases, banks, ceiling sales.
    step_row = market_year_of(options["firm_id"], options["year"])
    kept = step_row >= 0
    step_row = step_row[kept]
    step_gwp = options["gas"].map(gwp).to_numpy()[kept]
    step_upper = options["potential_t"].to_numpy()[kept] * step_gwp / MT
    step_cost = options["cost_per_t"].to_numpy()[kept] / step_gwp
    discount = np.array([(1.0 + scenario.discount_rate) ** -(year - years[0]) for year in years])
    offset_limit = np.array([policies[market].rules(OffsetRules).offset_limit for market in markets])
    offers = offer_steps(scenario)
    n_balance = n_markets * n_years
    limit_rows = {
        key: n_balance + position
        for position, key in enumerate((market, year) for market in range(n_markets) if offset_limit[market] > 0 for year in range(n_years))
    }
    row_upper = list(issued - baseline) + [offset_limit[market] * baseline[market * n_years + year] for market, year in limit_rows]
    entries_row: list[np.ndarray] = [step_row]
    entries_col: list[np.ndarray] = [np.arange(len(step_row))]
    entries_value: list[np.ndarray] = [np.full(len(step_row), -1.0)]
    step_limit = np.array([limit_rows.get((row // n_years, row % n_years), -1) for row in range(n_balance)])[step_row]
    limited = step_limit >= 0
    entries_row.append(step_limit[limited])
    entries_col.append(np.flatnonzero(limited))
    entries_value.append(offset_limit[step_row[limited] // n_years])
    cost, upper = [step_cost * discount[step_row % n_years]], [step_upper]
    column = len(step_row)
    extra_rows, extra_cols, extra_values, extra_cost, extra_upper = [], [], [], [], []
    supply_rows: dict[tuple[int, int], list[int]] = {}
    for step_number, step in enumerate(offers):
        for market in range(n_markets):
            if offset_limit[market] == 0 or (step.markets is not None and markets[market] not in step.markets):
                continue
            for year in range(n_years):
                if step.years is not None and years[year] not in step.years:
                    continue
                extra_rows += [market * n_years + year, limit_rows[(market, year)]]
                extra_cols += [column, column]
                extra_values += [-1.0, 1.0]
                extra_cost.append(step.price * discount[year])
                extra_upper.append(step.quantity_tco2e / MT)
                supply_rows.setdefault((step_number, year), []).append(column)
                column += 1
    next_row = n_balance + len(limit_rows)
    for (step_number, _year), columns in supply_rows.items():
        if len(columns) > 1:
            extra_rows += [next_row] * len(columns)
            extra_cols += columns
            extra_values += [1.0] * len(columns)
            row_upper.append(offers[step_number].quantity_tco2e / MT)
            next_row += 1
    for market in range(n_markets):
        if policies[markets[market]].rules(BankingRules).banking:
            for year in range(n_years - 1):
                # Banked out of year t: leaves t's supply, joins t+1's.
                extra_rows += [market * n_years + year, market * n_years + year + 1]
                extra_cols += [column, column]
                extra_values += [1.0, -1.0]
                extra_cost.append(0.0)
                extra_upper.append(np.inf)
                column += 1
        ceiling = policies[markets[market]].rules(CollarRules).price_ceiling
        if ceiling is not None:
            for year in range(n_years):
                extra_rows.append(market * n_years + year)
                extra_cols.append(column)
                extra_values.append(-1.0)
                extra_cost.append(ceiling * discount[year])
                extra_upper.append(np.inf)
                column += 1
    rows = np.concatenate([*entries_row, np.array(extra_rows, dtype=np.int64)])
    cols = np.concatenate([*entries_col, np.array(extra_cols, dtype=np.int64)])
    values = np.concatenate([*entries_value, np.array(extra_values, dtype=float)])
    order = np.lexsort((rows, cols))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = column, next_row
    lp.col_cost_ = np.concatenate([*cost, np.array(extra_cost, dtype=float)])
    lp.col_lower_ = np.zeros(column)
    lp.col_upper_ = np.concatenate([*upper, np.array(extra_upper, dtype=float)])
    lp.row_lower_ = np.full(next_row, -np.inf)
    lp.row_upper_ = np.array(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(cols[order], np.arange(column + 1)).astype(np.int32)
    lp.a_matrix_.index_ = rows[order].astype(np.int32)
    lp.a_matrix_.value_ = values[order]
    highs = quiet_highs()
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("solver", "simplex")
    highs.setOptionValue("simplex_strategy", 1)
    highs.passModel(lp)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise SystemExit(f"direct LP: {highs.modelStatusToString(highs.getModelStatus())}")
    dual = np.array(highs.getSolution().row_dual)
    return {
        (markets[market], years[year]): float(-dual[market * n_years + year] / discount[year])
        for market in range(n_markets)
        for year in range(n_years)
    }


def best_of(repeat: int, run) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - started)
    return min(times), value


def measure(path: str, repeat: int) -> dict:
    """Check that both give the same prices on ``path``, then time both ways."""
    scenario = optimodel.load_scenario(path)
    expected = direct_prices(scenario)
    result = optimodel.solve(scenario)
    prices = {(row.market, int(row.year)): float(row.price) for row in result.prices.itertuples()}
    worst = max(abs(prices[key] - value) / max(1.0, abs(value)) for key, value in expected.items())
    if worst > 1e-6:
        raise SystemExit(f"{path}: the direct LP's prices differ from optimodel's by {worst:.2e} (relative)")
    optimodel_seconds, _ = best_of(repeat, lambda: optimodel.solve(optimodel.load_scenario(path)))
    direct_seconds, _ = best_of(repeat, lambda: direct_prices(optimodel.load_scenario(path)))
    # The same LP from tables already in memory: optimodel's build, compile and solve (no
    # intervals: the direct build has none) against the direct build and solve.
    bare = scenario.model_copy(update={"solver": scenario.solver.model_copy(update={"price_intervals": False})})
    data, tables = load_data(bare), read_tables(bare)
    optimodel_lp_seconds, _ = best_of(repeat, lambda: LpSolver(compile_model(build_model(data, bare)), bare).solve())
    direct_lp_seconds, _ = best_of(repeat, lambda: direct_prices(bare, tables))
    record = {
        "scenario": path,
        "columns": int(result.summary["model"]["columns"]),
        "optimodel_s": round(optimodel_seconds, 3),
        "direct_s": round(direct_seconds, 3),
        "ratio": round(optimodel_seconds / direct_seconds, 3),
        "optimodel_lp_s": round(optimodel_lp_seconds, 3),
        "direct_lp_s": round(direct_lp_seconds, 3),
        "lp_ratio": round(optimodel_lp_seconds / direct_lp_seconds, 3),
        "prices_agree_to": float(f"{worst:.1e}"),
        "optimodel_phases": result.summary["timings"],
    }
    print(
        f"{path} ({record['columns']:,} columns; prices agree to {worst:.1e}): tables to prices: optimodel "
        f"{optimodel_seconds:.2f} s, direct {direct_seconds:.2f} s ({record['ratio']:.2f}x); build and solve: "
        f"optimodel {optimodel_lp_seconds:.2f} s, direct {direct_lp_seconds:.2f} s ({record['lp_ratio']:.2f}x)",
        file=sys.stderr,
    )
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="append the record to this JSON file")
    arguments = parser.parse_args()
    records = [measure(path, arguments.repeat) for path in arguments.scenarios]
    if arguments.json:
        target = Path(arguments.json)
        existing = json.loads(target.read_text()) if target.exists() else {}
        existing["direct"] = records
        target.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    main()
