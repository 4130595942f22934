"""Result tables (contract section 4) from a solved model, and writing them atomically."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimodel.inputs.data import ModelData
from optimodel.model.allocation import firm_allocation
from optimodel.model.build import FAMILIES
from optimodel.model.lp import CompiledLp, LpSolution
from optimodel.model.registry import SolvedModel
from optimodel.results.outputs import FolderKind, FolderPlan, plan_folder, write_folder

PRICE_COLUMNS = ["market", "year", "price", "price_low", "price_high"]
MARKET_COLUMNS = [
    "market", "year", "issued_tco2e", "emissions_tco2e", "offsets_tco2e", "bank_end_tco2e",
    "ceiling_tco2e", "withheld_tco2e", "price",
]
SECTOR_COLUMNS = ["sector", "year", "baseline_tco2e", "abatement_tco2e", "emissions_tco2e", "cap_tco2e", "abatement_cost"]
FIRM_COLUMNS = [
    "firm_id", "sector", "market", "year", "baseline_tco2e", "abatement_tco2e", "emissions_tco2e",
    "allocation_tco2e", "net_purchase_tco2e", "abatement_cost", "compliance_cost",
]
OPTION_COLUMNS = ["sector", "option", "gas", "year", "abatement_tco2e", "abatement_cost"]


@dataclass
class Result:
    """A solved scenario: the contract's tables as DataFrames, and the run summary."""

    prices: pd.DataFrame
    markets: pd.DataFrame
    sectors: pd.DataFrame
    firms: pd.DataFrame
    options: pd.DataFrame
    summary: dict = field(default_factory=dict)
    inputs: dict[str, Path] = field(default_factory=dict)
    """Input table paths by name (firms, emissions, options, activity), for the run folder."""
    cbam: pd.DataFrame | None = None
    """EU CBAM exposure by sector and year (scenarios with [cbam]); written as cbam.csv."""
    regions: pd.DataFrame | None = None
    """Firms' results summed by region and year (when firms have a region); written as regions.csv."""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The families' own tables (``PolicyFamily.tables``: capacity.csv), written as NAME.csv."""
    reads: tuple[Path, ...] = ()
    """Every file the run read (scenario files and input tables): never replaced by a write."""

    def write(
        self, directory: str | Path, shared_inputs: Path | None = None, xlsx: bool = False, plan: FolderPlan | None = None
    ) -> Path:
        """Write every output file into the run folder ``directory`` (contract sections 4 and 8).

        The folder may be new, or an earlier run folder, which is replaced only once the new one
        is complete; anything else raises ``InputError`` before a file is written
        (``outputs.plan_folder``; pass ``plan`` when the folder was checked before solving).
        The folder also gets what reproduces the run: ``inputs/`` (copies of the input tables;
        or, with ``shared_inputs``, a reference to a folder already holding them, as a sweep's
        runs share one) and ``scenario.toml``, the scenario as resolved with its data paths
        pointing there. ``optimodel solve DIR/scenario.toml --out OTHER`` gives the same results.
        With ``xlsx`` the tables also go into results.xlsx, one sheet each, for spreadsheet users.
        """
        plan = plan or plan_folder(directory, FolderKind.run, reads=self.reads)

        def fill(staging: Path) -> None:
            for name in ("prices", "markets", "sectors", "firms", "options", "cbam", "regions"):
                table = getattr(self, name)
                if table is not None:
                    write_csv(table, staging / f"{name}.csv")
            for name, table in self.tables.items():
                write_csv(table, staging / f"{name}.csv")
            (staging / "summary.json").write_text(json.dumps(self.summary, indent=2, sort_keys=False) + "\n")
            if xlsx:
                self._write_xlsx(staging / "results.xlsx")
            self._write_reproduction(staging, shared_inputs)

        return write_folder(plan, str(self.summary.get("scenario", "")), fill)

    def _write_xlsx(self, path: Path) -> None:
        with pd.ExcelWriter(path, engine="openpyxl") as workbook:
            for name in ("prices", "markets", "sectors", "firms", "options", "cbam", "regions"):
                table = getattr(self, name)
                if table is not None:
                    # Excel has no infinity: an infinite price_high becomes an empty cell.
                    rounded(table).replace([np.inf, -np.inf], np.nan).to_excel(workbook, sheet_name=name, index=False)

    def _write_reproduction(self, staging: Path, shared_inputs: Path | None) -> None:
        """inputs/ and scenario.toml (see ``Result.write``)."""
        from tomli_w import dumps

        resolved = self.summary.get("scenario_resolved")
        if not resolved or not self.inputs:
            return
        if shared_inputs is None:
            names = copy_inputs(self.inputs, staging / "inputs")
            where = "inputs"
        else:
            names = {table: f"{table}{''.join(path.suffixes)}" for table, path in self.inputs.items()}
            where = os.path.relpath(shared_inputs, staging)
        document = dict(resolved)
        document["data"] = {table: f"{where}/{name}" for table, name in names.items()}
        header = "# The scenario of this run as resolved (after `extends`), reading the run's copy of its inputs.\n"
        (staging / "scenario.toml").write_text(header + dumps(document), encoding="utf-8")


OUTPUT_DECIMALS = 6
"""Files carry tonnes and money to 1e-6: finer digits are noise from scaling and solver
tolerances, and rounding makes identical inputs give identical files."""


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` rounded (``rounded``) as comma-separated UTF-8 with "\\n" line ends.

    pyarrow writes the body: 0.03 s for the default's firms.csv (40,700 rows) where pandas took
    0.27 s (benchmarks/README.md). Numbers are spelled shortest (``50``, ``0.000001``) and read
    back to the same doubles. Text is never quoted, so a table with a comma, quote or line break
    in some text cell (or one pyarrow cannot type) is written by pandas, which quotes those cells.
    Booleans keep Python's spelling (``True``).
    """
    import pyarrow as pa
    import pyarrow.compute as arrow_compute
    import pyarrow.csv as arrow_csv

    table = rounded(table)
    for column in table.columns:
        if pd.api.types.is_bool_dtype(table[column]):
            table[column] = table[column].map({True: "True", False: "False"})
    try:
        arrow = pa.Table.from_pandas(table, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arrow = None
    needs_quotes = arrow is None or any(
        arrow_compute.any(arrow_compute.match_substring_regex(column, r'[,"\r\n]')).as_py()
        for column in arrow.columns
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    )
    if arrow is None or needs_quotes or any(_needs_quotes(str(name)) for name in table.columns):
        table.to_csv(path, index=False, lineterminator="\n")
        return
    with open(path, "wb") as stream:
        stream.write((",".join(str(name) for name in table.columns) + "\n").encode("utf-8"))
        if len(table):
            options = arrow_csv.WriteOptions(include_header=False, quoting_style="none")
            arrow_csv.write_csv(arrow, stream, write_options=options)


def _needs_quotes(text: str) -> bool:
    return any(character in text for character in ',"\n\r')


def rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Round float columns for writing; adding 0.0 turns -0.0 into 0.0."""
    columns = {}
    for column in table.columns:
        values = table[column]
        columns[column] = np.round(values.to_numpy(), OUTPUT_DECIMALS) + 0.0 if pd.api.types.is_float_dtype(values) else values.to_numpy()
    return pd.DataFrame(columns, columns=table.columns)


def copy_inputs(inputs: dict[str, Path], folder: Path) -> dict[str, str]:
    """Copy the input tables into ``folder``; return their new file names by table."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for table, path in inputs.items():
        names[table] = f"{table}{''.join(path.suffixes)}"
        shutil.copyfile(path, folder / names[table])
    return names


def make_result(
    scenario, data: ModelData, compiled: CompiledLp, solution: LpSolution, prices: dict[tuple[str, int], dict[str, float]]
) -> Result:
    """Map the solution back to firms, sectors, options and markets, in tCO2e and money of each year."""
    steps = data.steps
    abatement_columns = compiled.columns["abatement"]
    step_abatement_scaled = np.zeros(len(steps))
    if abatement_columns:
        mapped = np.fromiter(abatement_columns.keys(), dtype=np.int64, count=len(abatement_columns))
        columns = np.fromiter(abatement_columns.values(), dtype=np.int64, count=len(abatement_columns))
        step_abatement_scaled[mapped] = solution.col_value[columns]
    # Abatement never goes below zero; HiGHS may return -1e-12.
    step_abatement = data.scaling.from_model(np.clip(step_abatement_scaled, 0.0, None))
    step_cost = step_abatement * steps["cost_per_tco2e"].to_numpy()

    price_table = pd.DataFrame(
        [{"market": market, "year": year, **entry} for (market, year), entry in prices.items()]
    )
    # The families' price columns (``PolicyFamily.price_columns``) follow the contract's.
    extra = [column for column in price_table.columns if column not in PRICE_COLUMNS]
    price_table = price_table[PRICE_COLUMNS + extra]

    firms = _firm_table(data, step_abatement, step_cost, prices)
    sectors = _sector_table(data, firms)
    options = _option_table(data, steps, step_abatement, step_cost)
    solved = SolvedModel(scenario, data, compiled, solution, firms)
    markets = _market_table(solved, firms, prices)
    tables = {name: table for family in FAMILIES if family.tables is not None for name, table in family.tables(solved).items()}
    return Result(
        prices=price_table, markets=markets, sectors=sectors, firms=firms, options=options, regions=region_table(data, firms),
        tables=tables,
    )


REGION_COLUMNS = [
    "region", "year", "firms", "baseline_tco2e", "abatement_tco2e", "emissions_tco2e", "allocation_tco2e",
    "net_purchase_tco2e", "abatement_cost", "compliance_cost",
]


def region_table(data: ModelData, firms: pd.DataFrame) -> pd.DataFrame | None:
    """The firms' results summed by region and year (contract section 9); None when no firm has a region."""
    region_of = dict(zip(data.firms["firm_id"], data.firms["region"]))
    regions = firms["firm_id"].map(region_of)
    if not (regions != "").any():
        return None
    summed = REGION_COLUMNS[3:]
    grouped = firms.assign(region=regions).groupby(["region", "year"], sort=True)
    table = grouped[summed].sum().join(grouped.size().rename("firms")).reset_index()
    return table[REGION_COLUMNS]


def _firm_year_sum(data: ModelData, values: np.ndarray) -> np.ndarray:
    totals = np.zeros((len(data.firms), len(data.years)))
    np.add.at(totals, (data.steps["firm"].to_numpy(), data.steps["year"].to_numpy()), values)
    return totals.ravel()


def _firm_table(data: ModelData, step_abatement: np.ndarray, step_cost: np.ndarray, prices: dict) -> pd.DataFrame:
    n_firms, n_years = len(data.firms), len(data.years)
    firm_index = np.repeat(np.arange(n_firms), n_years)
    year_index = np.tile(np.arange(n_years), n_firms)
    baseline = data.scaling.from_model(data.firm_baselines["baseline_scaled"].to_numpy())
    abatement = _firm_year_sum(data, step_abatement)
    cost = _firm_year_sum(data, step_cost)
    emissions = baseline - abatement
    lost_output = _firm_year_sum(data, step_abatement * data.steps["output_loss_per_tco2e"].to_numpy())
    issued = firm_allocation(data, lost_output)
    share = data.sector_year_table("auction_share", missing=0.0)
    # Auctioned allowances are bought at the market price: the firm's free allocation is the rest.
    auctioned = issued * share[data.firms["sector"].to_numpy()[firm_index], year_index]
    allocation = issued - auctioned
    firm_market = data.firms["market"].to_numpy()[firm_index]
    market_names = np.array(data.markets, dtype=object)[firm_market]
    year_values = np.array(data.years)[year_index]
    market_year_price = np.array([[prices[(market, year)]["price"] for year in data.years] for market in data.markets])
    price = market_year_price[firm_market, year_index]
    net_purchase = emissions - allocation
    return pd.DataFrame(
        {
            "firm_id": data.firms["firm_id"].to_numpy()[firm_index],
            "sector": data.firms["sector_name"].to_numpy()[firm_index],
            "market": market_names,
            "year": year_values,
            "baseline_tco2e": baseline,
            "abatement_tco2e": abatement,
            "emissions_tco2e": emissions,
            "allocation_tco2e": allocation,
            "net_purchase_tco2e": net_purchase,
            "abatement_cost": cost,
            "compliance_cost": cost + price * net_purchase,
            "auctioned_tco2e": auctioned,
        }
    )


def _sector_table(data: ModelData, firms: pd.DataFrame) -> pd.DataFrame:
    grouped = firms.assign(cap_tco2e=firms["allocation_tco2e"] + firms["auctioned_tco2e"]).groupby(["sector", "year"], sort=False)[
        ["baseline_tco2e", "abatement_tco2e", "emissions_tco2e", "cap_tco2e", "abatement_cost"]
    ].sum()
    table = grouped.reset_index()
    order = {name: position for position, name in enumerate(data.sectors)}
    table = table.sort_values(["sector", "year"], key=lambda column: column.map(order) if column.name == "sector" else column)
    return table[SECTOR_COLUMNS].reset_index(drop=True)


def _option_table(data: ModelData, steps: pd.DataFrame, step_abatement: np.ndarray, step_cost: np.ndarray) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "sector": np.array(data.sectors, dtype=object)[steps["sector"].to_numpy()],
            # Grouped by the steps' categorical codes (a handful of names), then spelled out.
            "option": pd.Categorical(steps["option"]),
            "gas": pd.Categorical(steps["gas"]),
            "year": np.array(data.years)[steps["year"].to_numpy()],
            "abatement_tco2e": step_abatement,
            "abatement_cost": step_cost,
        }
    )
    columns = ["sector", "option", "gas", "year"]
    grouped = table.groupby(columns, sort=True, observed=True)[["abatement_tco2e", "abatement_cost"]].sum().reset_index()
    for name in ("option", "gas"):
        grouped[name] = grouped[name].astype(object).astype(str)
    return grouped[OPTION_COLUMNS]


def _market_table(solved: SolvedModel, firms: pd.DataFrame, prices: dict) -> pd.DataFrame:
    """One row per market-year: the contract's columns, then each registered family's own
    (``PolicyFamily.market_values``); a contract column no family fills is 0."""
    data = solved.data
    keys = [(market, year) for market in data.markets for year in data.years]
    # firms.csv is firm-major with every modelled year per firm: its rows' market-years by position.
    n_years = len(data.years)
    market_year = np.repeat(data.firms["market"].to_numpy() * n_years, n_years) + np.tile(np.arange(n_years), len(data.firms))

    def total(column: str) -> np.ndarray:
        return np.bincount(market_year, weights=firms[column].to_numpy(), minlength=len(keys))

    price = np.array([prices[key]["price"] for key in keys])
    auctioned = total("auctioned_tco2e")
    columns: dict[str, np.ndarray] = {
        "issued_tco2e": total("allocation_tco2e") + auctioned,
        "emissions_tco2e": total("emissions_tco2e"),
        "auction_tco2e": auctioned,
        "auction_revenue": auctioned * price,
    }
    for family in FAMILIES:
        if family.market_values is not None:
            columns.update(family.market_values(solved))
    table = pd.DataFrame({"market": [key[0] for key in keys], "year": [key[1] for key in keys]})
    for name in MARKET_COLUMNS[2:]:
        if name == "price":
            table[name] = [prices[key]["price"] for key in keys]
        else:
            table[name] = columns.pop(name, np.zeros(len(keys)))
    for name, values in columns.items():
        table[name] = values
    for name in dict.fromkeys(name for key in keys for name in prices[key] if name not in ("price", "price_low", "price_high")):
        table[name] = [prices[key].get(name, np.nan) for key in keys]
    return table


def objective_money(data: ModelData, solution: LpSolution) -> float:
    """The LP objective in money (first-year money when discounting)."""
    return float(data.scaling.money_from_model(solution.objective))
