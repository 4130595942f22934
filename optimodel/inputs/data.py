"""Input tables: one schema per table, validated at load, turned into one frozen ``ModelData``.

Model code never reads files and never sees an unchecked column. Every fault raises an
``InputError`` naming the file, the column and the row (rows count from 1 after the header).
Quantities are converted to tCO2e through the scenario's GWP set and scaled to model units here
(``units.py``), and nowhere else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimodel.errors import InputError, display_path, plain
from optimodel.inputs.gwp import normalise_gas, resolve_gwp
from optimodel.inputs.scenario import Scenario
from optimodel.inputs.units import Scaling, choose_scaling
from optimodel.tolerances import BASELINE_LIMIT_ROUNDING

log = logging.getLogger(__name__)


MAX_TONNES = 1.0e12
"""Largest tonnage accepted in a cell (25 times world CO2 emissions)."""
MAX_MONEY_PER_TONNE = 1.0e12
"""Largest cost per tonne of gas accepted (a PFC's cost per tonne is its cost per tCO2e x GWP)."""
MAX_OUTPUT = 1.0e15
"""Largest output accepted (MWh or tonnes of product in a year)."""


class Kind(str, Enum):
    """Column types of the input tables."""

    text = "str"
    integer = "int"
    number = "float"


@dataclass(frozen=True)
class Column:
    """One column of an input table."""

    name: str
    kind: Kind
    unit: str
    meaning: str
    required: bool = True
    """The column must be present; its cells must not be blank."""
    minimum: float | None = None
    """Smallest allowed value (inclusive), for numbers."""
    maximum: float | None = None
    """Largest allowed magnitude, for numbers: beyond it a value is a typo, not data (world CO2
    is ~4e10 t a year), and would ruin the LP's numerics."""
    default: float | str | None = None
    """Value used when an optional column is absent or a cell is blank."""


@dataclass(frozen=True)
class TableSchema:
    """The columns of one input table."""

    name: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


FIRMS = TableSchema(
    "firms",
    (
        Column("firm_id", Kind.text, "-", "unique identifier of the firm"),
        Column("sector", Kind.text, "-", "sector; firms of sectors the scenario does not cover are outside the ETS"),
        Column("region", Kind.text, "-", "province or region", required=False, default=""),
    ),
)
EMISSIONS = TableSchema(
    "emissions",
    (
        Column("firm_id", Kind.text, "-", "firm, must exist in firms"),
        Column("year", Kind.integer, "year", "year"),
        Column("gas", Kind.text, "-", "gas named in the GWP table (case-insensitive)"),
        Column("baseline_t", Kind.number, "t gas", "emissions with no abatement", minimum=0.0, maximum=MAX_TONNES),
    ),
)
MAX_LIFETIME_YEARS = 200.0
"""Longest capacity lifetime accepted: beyond it a value is a typo."""

OPTIONS = TableSchema(
    "options",
    (
        Column("firm_id", Kind.text, "-", "firm, must exist in firms"),
        Column("option", Kind.text, "-", "name of the abatement option"),
        Column("gas", Kind.text, "-", "gas the option abates", required=False, default="CO2"),
        Column("potential_t", Kind.number, "t gas / yr", "most it can abate in one year", minimum=0.0, maximum=MAX_TONNES),
        Column("cost_per_t", Kind.number, "money / t gas", "cost per tonne of gas abated (may be negative)", maximum=MAX_MONEY_PER_TONNE),
        Column("year", Kind.integer, "year", "year the row holds for; blank: every year", required=False),
        Column(
            "output_loss",
            Kind.number,
            "output unit / t gas",
            "output given up per tonne abated (output-reduction options)",
            required=False,
            minimum=0.0,
            maximum=MAX_OUTPUT,
            default=0.0,
        ),
        Column(
            "lifetime_years",
            Kind.integer,
            "years",
            "given: a capacity option, built once and in service this many years; blank: an annual step",
            required=False,
            minimum=1.0,
            maximum=MAX_LIFETIME_YEARS,
        ),
        Column(
            "capex_per_t",
            Kind.number,
            "money / (t gas / yr)",
            "cost of building one t of gas a year of capacity, money of the build year; required with lifetime_years",
            required=False,
            minimum=0.0,
            maximum=MAX_MONEY_PER_TONNE,
        ),
        Column(
            "max_build_t",
            Kind.number,
            "t gas / yr",
            "most capacity built in the row's year (blank: no limit)",
            required=False,
            minimum=0.0,
            maximum=MAX_TONNES,
        ),
    ),
)
ACTIVITY = TableSchema(
    "activity",
    (
        Column("firm_id", Kind.text, "-", "firm, must exist in firms"),
        Column("year", Kind.integer, "year", "year"),
        Column("output", Kind.number, "sector output unit", "output (MWh, t steel, t clinker, t aluminium)", minimum=0.0, maximum=MAX_OUTPUT),
    ),
)
SCHEMAS = (FIRMS, EMISSIONS, OPTIONS, ACTIVITY)


PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"
"""An .xlsx workbook is a zip archive."""
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
"""An old .xls workbook."""
GZIP_MAGIC = b"\x1f\x8b"
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
"""Separators spreadsheets use instead of the comma, by locale."""


def _sniff(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(8)


def _wrong_file_type(path: Path, where: str) -> InputError | None:
    """An error naming what the file really is when its content does not match its ending."""
    suffix = path.suffix.lower()
    head = _sniff(path)
    if suffix in EXCEL_SUFFIXES or (suffix != ".parquet" and head.startswith((ZIP_MAGIC, OLE_MAGIC))):
        return InputError(
            "this is an Excel workbook; export the sheet as CSV UTF-8 (.csv) or Parquet and name that file", file=where
        )
    if suffix == ".parquet":
        if not head.startswith(PARQUET_MAGIC):
            kind = "text (a CSV table?); rename it to .csv" if _looks_like_text(head) else "not a Parquet file"
            return InputError(f"the file ends in .parquet but is {kind}", file=where)
        return None
    if suffix not in (".csv", ".gz") and not path.name.lower().endswith(".csv.gz"):
        return InputError("unsupported file type (use .csv, .csv.gz or .parquet)", file=where)
    if head.startswith(PARQUET_MAGIC):
        return InputError("this is a Parquet file named .csv; rename it to .parquet (the ending chooses the reader)", file=where)
    if suffix == ".gz" and not head.startswith(GZIP_MAGIC) and head:
        return InputError("the file ends in .gz but is not gzip-compressed; rename it to .csv", file=where)
    return None


def _looks_like_text(head: bytes) -> bool:
    return bool(head) and all(byte >= 32 or byte in (9, 10, 13) for byte in head.lstrip(b"\xef\xbb\xbf"))


def _encoding_error(path: Path, where: str) -> InputError:
    """The first byte that is not UTF-8, located by row, with what to do about it."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        position = len(raw)
    except UnicodeDecodeError as exc:
        position = exc.start
    line = raw.count(b"\n", 0, position) + 1
    encoding, origin = "", "an unknown encoding"
    for candidate, described in (("gb18030", "GBK/GB18030, as Chinese-locale spreadsheets save CSV"), ("cp1252", "Latin-1/Windows-1252")):
        try:
            raw.decode(candidate)
        except UnicodeDecodeError:
            continue
        encoding, origin = candidate, described
        break
    convert = f" or convert it: iconv -f {encoding.upper()} -t UTF-8 in.csv > out.csv" if encoding else ""
    byte = raw[position : position + 1].hex() if position < len(raw) else ""
    return InputError(
        f"not UTF-8 text (byte 0x{byte}); the file looks like {origin}. Save it as 'CSV UTF-8'{convert}",
        file=where,
        row=line - 1 if line > 1 else None,
    )


def _read_cells(path: Path, where: str) -> pd.DataFrame:
    """Every cell as text (CSV or Parquet), headers as column names."""
    if path.suffix.lower() == ".parquet":
        # Numeric columns stay numeric (a missing value is NaN); others become text cells.
        raw = pd.read_parquet(path)
        for name in raw.columns:
            column = raw[name]
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                continue
            if column.isna().any():
                column = column.astype(object).where(column.notna(), "")
            if not pd.api.types.is_string_dtype(column) or column.dtype == object:
                column = column.astype(str)
            raw[name] = column
        return raw
    # header=None: the header line counts as a row, so a data row with more fields than the
    # header is a parse error instead of pandas silently making column 1 the index. Spaces
    # after a comma are kept (and stripped later) so that a padded sector name can be told.
    try:
        cells = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
    except UnicodeDecodeError:
        raise _encoding_error(path, where) from None
    raw = cells.iloc[1:].reset_index(drop=True)
    raw.columns = cells.iloc[0].tolist()
    return raw


def _separator_hint(columns: list[str]) -> str:
    """Advice when the header is one column holding another separator."""
    if len(columns) == 1:
        for separator, name in SEPARATORS.items():
            if separator in columns[0]:
                return (
                    f"; the header {columns[0]!r} looks separated by {name}: optimodel reads comma-separated "
                    "CSV (save as 'CSV UTF-8 (comma delimited)')"
                )
    return ""


def read_table(path: Path, schema: TableSchema, keep_raw: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet table and check it against ``schema``.

    Returns a DataFrame with the schema's columns, typed, plus ``row`` (1-based data row) for
    locating later errors, and ``raw_<column>`` (the cells before surrounding spaces are stripped)
    for each column in ``keep_raw``. Extra columns are ignored. A UTF-8 byte order mark is
    accepted; another encoding, another separator, a file whose content does not match its
    ending and a table with a header but no rows are errors that say what to do.
    """
    where = display_path(path)
    if not path.exists():
        raise InputError(f"{schema.name} table not found", file=where)
    try:
        wrong = _wrong_file_type(path, where)
        if wrong is not None:
            raise wrong
        raw = _read_cells(path, where)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty (no header row)", file=where) from None
    except pd.errors.ParserError as exc:
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if fields:
            expected, line, seen = (int(group) for group in fields.groups())
            raise InputError(f"{seen} fields where the header has {expected}", file=where, row=line - 1) from None
        raise InputError(f"cannot read table ({str(exc).splitlines()[0]})", file=where) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read table ({str(exc).splitlines()[0]})", file=where) from None
    raw.columns = [str(name).strip() for name in raw.columns]
    duplicated = raw.columns[raw.columns.duplicated()]
    if len(duplicated):
        raise InputError("column appears twice", file=where, column=duplicated[0])
    table = pd.DataFrame({"row": np.arange(1, len(raw) + 1, dtype=np.int64)})
    for column in schema.columns:
        if column.name not in raw.columns:
            if column.required:
                raise InputError(f"required column is missing{_separator_hint(list(raw.columns))}", file=where, column=column.name)
            table[column.name] = _absent(column, len(raw))
            continue
        cells = raw[column.name]
        if pd.api.types.is_numeric_dtype(cells):
            table[column.name] = _parse_numbers(cells, column, where)
        elif column.kind is Kind.text:
            table[column.name] = _parse_text(cells, column, where)
        else:
            table[column.name] = _parse_column(cells.str.strip(), column, where)
        if column.name in keep_raw:
            table[f"raw_{column.name}"] = raw[column.name].to_numpy()
    if raw.empty:
        raise InputError(f"the {schema.name} table has a header but no rows", file=where)
    return table


def _absent(column: Column, length: int) -> pd.Series:
    if column.kind is Kind.text:
        return pd.Series([column.default] * length, dtype=object)
    if column.default is None:
        return pd.Series(np.full(length, np.nan))
    return pd.Series(np.full(length, float(column.default)))


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _parse_text(cells: pd.Series, column: Column, where: str) -> pd.Series:
    """A text column, stripped of surrounding spaces: each distinct value is handled once (a
    table of 193,600 steps names 3,700 firms and a handful of options and gases)."""
    codes, values = pd.factorize(cells, use_na_sentinel=False)
    stripped = np.array([str(value).strip() for value in values], dtype=object)
    blank = (stripped == "")[codes]
    if blank.any():
        if column.required:
            raise InputError("blank value", file=where, column=column.name, row=_first(blank) + 1)
        stripped[stripped == ""] = column.default
    return pd.Series(stripped[codes], dtype=object)


def _parse_column(cells: pd.Series, column: Column, where: str) -> pd.Series:
    blank = (cells == "").to_numpy()
    if column.kind is Kind.text:
        if blank.any():
            if column.required:
                raise InputError("blank value", file=where, column=column.name, row=_first(blank) + 1)
            cells = cells.where(~blank, column.default)
        return cells.astype(object)
    numbers = pd.to_numeric(cells.where(~blank, None), errors="coerce").to_numpy(dtype=float)
    not_numbers = np.isnan(numbers) & ~blank
    if not_numbers.any():
        row = _first(not_numbers)
        raise InputError(f"{plain(cells.iloc[row])} is not a number", file=where, column=column.name, row=row + 1)
    return _check_numbers(numbers, blank, cells, column, where)


def _parse_numbers(cells: pd.Series, column: Column, where: str) -> pd.Series:
    """A typed (Parquet) numeric column: nothing to parse, the same checks as for text cells."""
    if column.kind is Kind.text:
        text = cells.astype(object).where(cells.notna(), "").astype(str)
        return _parse_column(text.str.replace(r"\.0$", "", regex=True), column, where)
    numbers = cells.to_numpy(dtype=float)
    return _check_numbers(numbers, np.isnan(numbers), cells, column, where)


def _check_numbers(numbers: np.ndarray, blank: np.ndarray, cells: pd.Series, column: Column, where: str) -> pd.Series:
    """Blank, finite, magnitude, minimum and whole-number checks of a parsed numeric column."""
    if blank.any():
        if column.required:
            raise InputError("blank value", file=where, column=column.name, row=_first(blank) + 1)
        if column.default is not None:
            numbers = np.where(blank, float(column.default), numbers)
    present = ~np.isnan(numbers)
    infinite = present & ~np.isfinite(numbers)
    if infinite.any():
        raise InputError("value must be finite", file=where, column=column.name, row=_first(infinite) + 1)
    if column.maximum is not None:
        above = present & (np.abs(numbers) > column.maximum)
        if above.any():
            row = _first(above)
            raise InputError(
                f"{numbers[row]:g} is beyond the plausible magnitude {column.maximum:g}", file=where, column=column.name, row=row + 1
            )
    if column.minimum is not None:
        below = present & (numbers < column.minimum)
        if below.any():
            row = _first(below)
            raise InputError(
                f"{numbers[row]:g} is below the minimum {column.minimum:g}", file=where, column=column.name, row=row + 1
            )
    if column.kind is Kind.integer:
        fractional = present & (numbers != np.round(numbers))
        if fractional.any():
            row = _first(fractional)
            raise InputError(f"{plain(cells.iloc[row])} is not a whole number", file=where, column=column.name, row=row + 1)
    return pd.Series(numbers)


def _normalised_gases(gases: pd.Series) -> pd.Series:
    """Gas names as the GWP table spells them, normalising each distinct name once."""
    codes, names = pd.factorize(gases)
    normalised = pd.Index([normalise_gas(name) for name in names])
    return pd.Series(normalised.take(codes).to_numpy(), index=gases.index) if len(codes) else gases


def _categories(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and distinct values of a text column: look-ups on 193,600 steps then touch only
    their few thousand distinct names (firm ids) or handful (gases, options)."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes, pd.Index(uniques)


def _reject_duplicates(table: pd.DataFrame, keys: list[str], where: str, what: str) -> None:
    duplicated = table.duplicated(subset=keys, keep="first").to_numpy()
    if duplicated.any():
        row = table.iloc[_first(duplicated)]
        values = ", ".join(f"{key}={plain(row[key], quote=False)}" for key in keys)
        raise InputError(f"duplicate {what} ({values})", file=where, column=keys[0], row=int(row["row"]))


def _reject_near_sector_names(firms: pd.DataFrame, sectors: tuple[str, ...], where: str) -> None:
    """A sector cell that matches a covered sector only up to case or surrounding spaces is an
    error (contract section 8): the firm would silently fall outside the ETS and move prices."""
    folded = {sector.strip().casefold(): sector for sector in sectors}
    raw = firms["raw_sector"]
    near = ~raw.isin(sectors) & raw.str.strip().str.casefold().isin(list(folded))
    if near.to_numpy().any():
        row = firms[near.to_numpy()].iloc[0]
        meant = folded[str(row["raw_sector"]).strip().casefold()]
        raise InputError(
            f"sector {row['raw_sector']!r} is not the covered sector {meant!r} (names must match exactly, "
            "without other case or surrounding spaces)",
            file=where,
            column="sector",
            row=int(row["row"]),
        )


def _reject_unknown(table: pd.DataFrame, column: str, known: pd.Index, where: str, what: str) -> None:
    unknown = ~table[column].isin(known).to_numpy()
    if unknown.any():
        row = table.iloc[_first(unknown)]
        raise InputError(f"unknown {what} {row[column]!r}", file=where, column=column, row=int(row["row"]))


@dataclass(frozen=True)
class ModelData:
    """Validated, scaled inputs of one scenario. The model sees only this.

    Quantities ending ``_scaled`` are tCO2e divided by ``scaling.tco2e_per_unit`` (model units);
    money is per tCO2e, which needs no scaling.
    Integer columns ``firm``, ``market``, ``sector``, ``year`` are positions in the tuples below.
    """

    years: tuple[int, ...]
    markets: tuple[str, ...]
    sectors: tuple[str, ...]
    gases: tuple[str, ...]
    gwp: dict[str, float]
    discount: np.ndarray
    """Discount weight per year position: (1 + r)^-(t - t0)."""
    firms: pd.DataFrame
    """Covered firms: firm_id, sector_name, region, sector, market."""
    baselines: pd.DataFrame
    """firm, gas, year, baseline_scaled: baseline emissions per gas in scaled tCO2e."""
    firm_baselines: pd.DataFrame
    """firm, year, baseline_scaled: all gases together."""
    steps: pd.DataFrame
    """Abatement steps (one option in one year): firm, sector, market, year, option, gas,
    potential_scaled (capped at the firm's baseline of the gas), cost_per_tco2e,
    output_loss_per_tco2e (output units given up per tCO2e abated), limit (the baseline_limit row
    it belongs to, or -1), row (of the options table); for capacity options (contract section
    12) lifetime (years; 0 for an annual step), capex_per_tco2e (money per tCO2e a year of
    capacity), max_build_scaled (inf: no limit) and technical_scaled (the potential before the
    baseline caps it). Ordered by market, year and cost."""
    baseline_limits: pd.DataFrame
    """Firm-gas-years whose options could together abate more than the baseline: firm, gas, year,
    baseline_scaled. Only these need a baseline_limit row."""
    sector_years: pd.DataFrame
    """sector, year, market, cap_scaled (NaN under a benchmark), benchmark (NaN under a cap),
    auction_share (of the issued allowances, sold instead of given free)."""
    activity: pd.DataFrame
    """firm, year, output for firms whose sector-year allocates by benchmark."""
    scaling: Scaling = Scaling(1.0)
    """Model units of this instance (chosen from the largest market-year baseline)."""
    input_hashes: dict[str, str] = field(default_factory=dict)
    """SHA-256 of every input file."""
    families: dict[str, Any] = field(default_factory=dict)
    """Family name -> the data its ``PolicyFamily.prepare`` made from the scenario (scaled), made
    on first use by ``model.registry.family_data``; the inputs never name a family."""
    reported_years: tuple[int, ...] = ()
    """The scenario's years: ``years`` less the look-ahead years, which are solved, not reported."""

    def discount_by_year(self) -> dict[int, float]:
        """year -> its discount weight (``discount`` keyed by year instead of position)."""
        return dict(zip(self.years, self.discount.tolist()))

    def sector_year_table(self, column: str, missing: float = np.nan) -> np.ndarray:
        """A column of ``sector_years`` as a sectors x years array (``missing`` where absent)."""
        table = np.full((len(self.sectors), len(self.years)), missing)
        sector_years = self.sector_years
        table[sector_years["sector"].to_numpy(), sector_years["year"].to_numpy()] = sector_years[column].to_numpy()
        return table

    def activity_benchmark(self) -> np.ndarray:
        """The benchmark (tCO2e per unit of output) of each row of ``activity`` (the firm-years
        whose sector allocates by benchmark)."""
        table = self.sector_year_table("benchmark")
        firm_sector = self.firms["sector"].to_numpy()
        return table[firm_sector[self.activity["firm"].to_numpy()], self.activity["year"].to_numpy()]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_data(scenario: Scenario, max_memory: int | None = None, progress=None) -> ModelData:
    """Read, validate and scale the scenario's tables into a ``ModelData``.

    ``max_memory`` (bytes) refuses tables too big to read within it; ``progress`` is called with
    the name of each stage as it starts (for a progress bar)."""
    from optimodel.inputs.memory import check_reading

    paths = scenario.data
    check_reading([path for path in (paths.firms, paths.emissions, paths.options, paths.activity) if path], max_memory)
    step = progress or (lambda stage: None)
    step("firms")
    scenario_file = display_path(scenario.source) if scenario.source else "scenario"
    gwp = resolve_gwp(scenario.gwp)
    # The modelled years: the scenario's, then its look-ahead years (solved, never reported).
    years = scenario.modelled_years
    year_position = {year: position for position, year in enumerate(years)}
    market_of_sector = scenario.market_of_sector()
    markets = tuple(scenario.market_policies())
    sectors = tuple(sorted(scenario.covered_sectors))

    firms_where = display_path(paths.firms)
    firms = read_table(paths.firms, FIRMS, keep_raw=("sector",))
    _reject_duplicates(firms, ["firm_id"], firms_where, "firm_id")
    _reject_near_sector_names(firms, sectors, firms_where)
    for sector in sectors:
        if not (firms["sector"] == sector).any():
            raise InputError(f"no firm in {firms_where} has sector {sector!r}", file=scenario_file, key=f"sectors.{sector}")
    outside = ~firms["sector"].isin(sectors)
    if outside.any():
        log.info("%d firms are in sectors the scenario does not cover; they are outside the ETS", int(outside.sum()))
    all_firm_ids = pd.Index(firms["firm_id"])
    covered = firms[~outside].reset_index(drop=True)
    covered = covered.rename(columns={"sector": "sector_name"})
    covered["sector"] = covered["sector_name"].map({name: i for i, name in enumerate(sectors)}).astype(np.int64)
    covered["market"] = (
        covered["sector_name"].map(market_of_sector).map({name: i for i, name in enumerate(markets)}).astype(np.int64)
    )
    firm_position = pd.Series(np.arange(len(covered), dtype=np.int64), index=covered["firm_id"])

    step("emissions")
    emissions_where = display_path(paths.emissions)
    emissions = _read_firm_gas_table(paths.emissions, EMISSIONS, all_firm_ids, gwp)
    _reject_duplicates(emissions, ["firm_id", "year", "gas"], emissions_where, "firm, year and gas")
    emissions = _held_through_lookahead(emissions[emissions["firm_id"].isin(firm_position.index)], scenario)
    baseline_tco2e = emissions["baseline_t"].to_numpy() * emissions["gas"].map(gwp).to_numpy()
    firm_of_row = firm_position.loc[emissions["firm_id"]].to_numpy()
    year_of_row = emissions["year"].map(year_position).to_numpy(dtype=np.int64)
    scaling = _scaling(baseline_tco2e, covered["market"].to_numpy()[firm_of_row], year_of_row)
    baselines = pd.DataFrame(
        {
            "firm": firm_of_row,
            "gas": emissions["gas"].to_numpy(),
            "year": year_of_row,
            "baseline_scaled": scaling.to_model(baseline_tco2e),
        }
    )
    baselines = baselines.sort_values(["firm", "gas", "year"], kind="stable").reset_index(drop=True)
    firm_baselines = _firm_year_totals(baselines, len(covered), len(years))

    step("options")
    options_where = display_path(paths.options)
    options = _read_firm_gas_table(paths.options, OPTIONS, all_firm_ids, gwp)
    _check_capacity_columns(options, options_where)
    steps = _expand_steps(_held_through_lookahead(options, scenario), years, options_where)
    steps = steps[steps["firm_id"].isin(firm_position.index)]
    steps = _scale_steps(steps, firm_position, covered, year_position, gwp, scaling)
    steps, baseline_limits = _cap_at_baselines(steps, baselines)

    step("activity")
    sector_years = _sector_years(scenario, sectors, markets, market_of_sector, scaling)
    activity = _activity(scenario, covered, firm_position, sector_years, year_position, all_firm_ids)

    step("hashes")
    hashes = {"scenario": file_sha256(scenario.source)} if scenario.source else {}
    for name in ("firms", "emissions", "options", "activity"):
        path = getattr(paths, name)
        if path is not None:
            hashes[name] = file_sha256(path)

    discount = np.array([scenario.discount_factor(year) for year in years])
    _freeze(discount)
    data = ModelData(
        years=years,
        markets=markets,
        sectors=sectors,
        gases=tuple(sorted(gwp)),
        gwp=gwp,
        discount=discount,
        firms=covered[["firm_id", "sector_name", "region", "sector", "market"]],
        baselines=baselines,
        firm_baselines=firm_baselines,
        steps=steps,
        baseline_limits=baseline_limits,
        sector_years=sector_years,
        activity=activity,
        scaling=scaling,
        input_hashes=hashes,
        reported_years=tuple(scenario.years),
    )
    return data


def derive_from_scenario(scenario: Scenario, data: ModelData) -> ModelData:
    """``data`` with every part that comes from scenario numbers alone (caps, benchmarks, offer
    steps, families' data) made again for ``scenario``: what a warm sweep point needs, without
    reading a table. The scenario must have the same sectors, markets and years."""
    markets, sectors = data.markets, data.sectors
    discount = np.array([scenario.discount_factor(year) for year in data.years])
    _freeze(discount)
    derived = dataclasses.replace(
        data,
        sector_years=_sector_years(scenario, sectors, markets, scenario.market_of_sector(), data.scaling),
        discount=discount,
        # The families' data are made again, from this scenario, when first asked for.
        families={},
    )
    return derived


def reusable_data(scenario: Scenario, base: Scenario, data: ModelData) -> ModelData | None:
    """``data`` (loaded for ``base``) derived for ``scenario`` when every table reads the same for
    both: the same files, GWP set, modelled years and sectors in the same markets, and caps and
    benchmarks in the same sector-years (the activity table is checked against those). None when
    the tables must be read again."""
    same = (
        scenario.data == base.data
        and scenario.gwp == base.gwp
        and scenario.modelled_years == base.modelled_years
        and sorted(scenario.covered_sectors) == sorted(base.covered_sectors)
        and scenario.market_of_sector() == base.market_of_sector()
        and tuple(scenario.market_policies()) == tuple(base.market_policies())
    )
    if not same:
        return None
    derived = derive_from_scenario(scenario, data)
    for column in ("cap_scaled", "benchmark"):
        if not np.array_equal(derived.sector_years[column].isna().to_numpy(), data.sector_years[column].isna().to_numpy()):
            return None
    return derived


def _scaling(baseline_tco2e: np.ndarray, market: np.ndarray, year: np.ndarray) -> Scaling:
    """Model units from the largest market-year baseline (see ``units.choose_scaling``)."""
    if len(baseline_tco2e) == 0:
        return choose_scaling(0.0)
    totals = pd.Series(baseline_tco2e).groupby([market, year]).sum()
    return choose_scaling(float(totals.max()))


def _freeze(array: np.ndarray) -> None:
    array.setflags(write=False)


def _firm_year_totals(baselines: pd.DataFrame, n_firms: int, n_years: int) -> pd.DataFrame:
    totals = np.zeros((n_firms, n_years))
    np.add.at(totals, (baselines["firm"].to_numpy(), baselines["year"].to_numpy()), baselines["baseline_scaled"].to_numpy())
    firm_index, year_index = np.meshgrid(np.arange(n_firms), np.arange(n_years), indexing="ij")
    return pd.DataFrame({"firm": firm_index.ravel(), "year": year_index.ravel(), "baseline_scaled": totals.ravel()})


def _held_through_lookahead(table: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The rows of the scenario's years (and rows with a blank year, which hold for every year),
    plus for each look-ahead year a copy of the last scenario year's rows: contract section 11
    holds baselines, options and activity at the last year's values. Rows keep their table row
    numbers for messages."""
    years = scenario.years
    kept = table[table["year"].isin(years) | table["year"].isna()]
    lookahead = scenario.modelled_years[len(years):]
    if not lookahead:
        return kept
    last = kept[kept["year"] == years[-1]]
    return pd.concat([kept, *(last.assign(year=float(year)) for year in lookahead)], ignore_index=True)


def _read_firm_gas_table(path: Path, schema: TableSchema, firm_ids: pd.Index, gwp: dict[str, float]) -> pd.DataFrame:
    """A table of firms and gases (emissions, options): read, every firm known, gases spelled as
    the GWP table spells them and all in it."""
    where = display_path(path)
    table = read_table(path, schema)
    _reject_unknown(table, "firm_id", firm_ids, where, "firm_id")
    table["gas"] = _normalised_gases(table["gas"])
    _reject_unknown(table, "gas", pd.Index(gwp), where, "gas (not in the GWP table)")
    return table


def _check_capacity_columns(options: pd.DataFrame, where: str) -> None:
    """A row with ``lifetime_years`` needs ``capex_per_t``, and every row of one firm, option and
    gas is either a capacity option or an annual step (contract section 12)."""
    lifetime = options["lifetime_years"].to_numpy(dtype=float)
    capacity = ~np.isnan(lifetime)
    missing = capacity & np.isnan(options["capex_per_t"].to_numpy(dtype=float))
    if missing.any():
        raise InputError(
            "a capacity option (lifetime_years given) needs capex_per_t", file=where, column="capex_per_t",
            row=int(options["row"].iat[_first(missing)]),
        )
    if not capacity.any():
        return
    mixed = options.assign(capacity=capacity).groupby(["firm_id", "option", "gas"], sort=False)["capacity"].transform("nunique") > 1
    if mixed.any():
        first = _first(mixed.to_numpy() & ~capacity)
        raise InputError(
            "lifetime_years is blank here but given in another year of the same firm, option and gas: "
            "a capacity option needs it in every row",
            file=where, column="lifetime_years", row=int(options["row"].iat[first]),
        )


def _expand_steps(options: pd.DataFrame, years: tuple[int, ...], where: str) -> pd.DataFrame:
    """Rows with a blank year hold for every scenario year; rows for other years are dropped."""
    every_year = options["year"].isna()
    specific = options[~every_year & options["year"].isin(years)]
    if every_year.any():
        expanded = options[every_year].drop(columns="year").merge(pd.DataFrame({"year": list(years)}), how="cross")
        steps = pd.concat([specific, expanded], ignore_index=True).sort_values("row", kind="stable")
    else:
        # Every row names its year (the shipped tables): nothing to expand, already in row order.
        steps = specific.copy()
    steps["year"] = steps["year"].astype(np.int64)
    # A step is one option of one gas at one firm in one year: a blank-year row and a specific row
    # for the same option would both claim it.
    _reject_duplicates(steps, ["firm_id", "option", "gas", "year"], where, "option for firm, gas and year")
    return steps.reset_index(drop=True)


def _scale_steps(
    steps: pd.DataFrame,
    firm_position: pd.Series,
    covered: pd.DataFrame,
    year_position: dict[int, int],
    gwp: dict[str, float],
    scaling: Scaling,
) -> pd.DataFrame:
    firm_codes, firm_ids = _categories(steps["firm_id"])
    firm = firm_position.loc[firm_ids].to_numpy()[firm_codes]
    gas_codes, gases = _categories(steps["gas"])
    gas_gwp = np.array([gwp[gas] for gas in gases], dtype=float)[gas_codes]
    option_codes, options = _categories(steps["option"])
    modelled_years = np.array(sorted(year_position), dtype=np.int64)
    year_of = np.array([year_position[year] for year in modelled_years], dtype=np.int64)
    year = year_of[np.searchsorted(modelled_years, steps["year"].to_numpy(dtype=np.int64))]
    market = covered["market"].to_numpy()[firm]
    cost = steps["cost_per_t"].to_numpy() / gas_gwp
    row = steps["row"].to_numpy()
    # Steps go to HiGHS in this order: grouped by market and year, cheapest first. Dual simplex
    # then walks each year's merit order through memory in sequence: 0.54 s instead of 0.67 s on
    # the default (benchmarks/README.md). The table row breaks ties, so the order is reproducible.
    order = np.lexsort((row, cost, year, market))
    return pd.DataFrame(
        {
            "firm": firm[order],
            "sector": covered["sector"].to_numpy()[firm[order]],
            "market": market[order],
            "year": year[order],
            # Categorical: a handful of names over 193,600 steps, grouped by code in the results.
            "option": pd.Categorical.from_codes(option_codes[order], categories=options),
            "gas": pd.Categorical.from_codes(gas_codes[order], categories=gases),
            "potential_scaled": scaling.to_model(steps["potential_t"].to_numpy()[order] * gas_gwp[order]),
            "cost_per_tco2e": cost[order],
            "output_loss_per_tco2e": steps["output_loss"].to_numpy()[order] / gas_gwp[order],
            "row": row[order],
            # Capacity options (contract section 12): lifetime 0 marks an annual step.
            "lifetime": np.nan_to_num(steps["lifetime_years"].to_numpy(dtype=float)[order], nan=0.0).astype(np.int64),
            "capex_per_tco2e": np.nan_to_num(steps["capex_per_t"].to_numpy(dtype=float)[order], nan=0.0) / gas_gwp[order],
            "max_build_scaled": np.where(
                np.isnan(steps["max_build_t"].to_numpy(dtype=float)[order]),
                np.inf,
                scaling.to_model(steps["max_build_t"].to_numpy(dtype=float)[order] * gas_gwp[order]),
            ),
            "technical_scaled": scaling.to_model(steps["potential_t"].to_numpy()[order] * gas_gwp[order]),
        }
    )


def _cap_at_baselines(steps: pd.DataFrame, baselines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cap each step at its firm's baseline of the gas, and keep a baseline_limit row only where
    the steps of a firm-gas-year could together abate more than the baseline: elsewhere the row
    could never bind, and dropping it keeps the LP small. Limits are numbered in firm, gas, year
    order. Firm-gas-years are matched as integer keys (no merge of text columns)."""
    step_gas_codes, step_gas_names = _categories(steps["gas"])
    baseline_gas_codes, baseline_gas_names = _categories(baselines["gas"])
    gases = np.array(sorted(set(step_gas_names) | set(baseline_gas_names)), dtype=object)
    n_years = int(max(steps["year"].to_numpy().max(initial=0), baselines["year"].to_numpy().max(initial=0))) + 1

    def keys(firm: np.ndarray, codes: np.ndarray, names: pd.Index, year: np.ndarray) -> np.ndarray:
        gas = np.searchsorted(gases, names.to_numpy(dtype=object))[codes]
        return (firm.astype(np.int64) * len(gases) + gas) * n_years + year.astype(np.int64)

    baseline_keys = keys(baselines["firm"].to_numpy(), baseline_gas_codes, baseline_gas_names, baselines["year"].to_numpy())
    order = np.argsort(baseline_keys, kind="stable")
    sorted_keys, sorted_baselines = baseline_keys[order], baselines["baseline_scaled"].to_numpy()[order]
    step_keys = keys(steps["firm"].to_numpy(), step_gas_codes, step_gas_names, steps["year"].to_numpy())
    at = np.minimum(np.searchsorted(sorted_keys, step_keys), max(len(sorted_keys) - 1, 0))
    found = (sorted_keys[at] == step_keys) if len(sorted_keys) else np.zeros(len(step_keys), dtype=bool)
    baseline = np.where(found, sorted_baselines[at] if len(sorted_keys) else 0.0, 0.0)
    potential = np.minimum(steps["potential_scaled"].to_numpy(), baseline)
    unique_keys, first, inverse = np.unique(step_keys, return_index=True, return_inverse=True)
    total = np.bincount(inverse, weights=potential, minlength=len(unique_keys))
    binding = total > baseline[first] * (1 + BASELINE_LIMIT_ROUNDING)
    limit_of_key = np.where(binding, np.cumsum(binding) - 1, -1)
    capped = steps.assign(potential_scaled=potential, limit=limit_of_key[inverse].astype(np.int64))
    bound_keys = unique_keys[binding]
    limits = pd.DataFrame(
        {
            "firm": bound_keys // n_years // len(gases),
            "gas": gases[(bound_keys // n_years) % len(gases)],
            "year": bound_keys % n_years,
            "baseline_scaled": baseline[first[binding]],
        }
    )
    return capped, limits


def _sector_years(
    scenario: Scenario,
    sectors: tuple[str, ...],
    markets: tuple[str, ...],
    market_of_sector: dict[str, str],
    scaling: Scaling,
) -> pd.DataFrame:
    rows = []
    for sector_position, sector in enumerate(sectors):
        policy = scenario.sectors[sector]
        market = markets.index(market_of_sector[sector])
        for year_position, year in enumerate(scenario.modelled_years):
            cap, benchmark = _cap_or_benchmark(scenario, policy, year)
            rows.append(
                {
                    "sector": sector_position,
                    "year": year_position,
                    "market": market,
                    "cap_scaled": np.nan if cap is None else scaling.to_model(cap),
                    "benchmark": np.nan if benchmark is None else benchmark,
                    "auction_share": policy.auctioned(year),
                }
            )
    return pd.DataFrame(rows)


def _cap_or_benchmark(scenario: Scenario, policy, year: int) -> tuple[float | None, float | None]:
    """A sector-year's cap (explicit, or from its cap path) or benchmark. A look-ahead year
    without one of its own continues the sector's cap path if it has one, else the last scenario
    year's cap or benchmark, declining at ``horizon.lookahead_cap_decline`` and compounding."""
    if year in policy.cap_tco2e or year in policy.benchmark or year <= scenario.years[-1] or policy.cap_path is not None:
        return policy.cap(year), policy.benchmark.get(year)
    last = scenario.years[-1]
    factor = (1.0 - scenario.horizon.lookahead_cap_decline) ** (year - last)
    if last in policy.cap_tco2e:
        return policy.cap_tco2e[last] * factor, None
    return None, policy.benchmark[last] * factor


def _activity(
    scenario: Scenario,
    covered: pd.DataFrame,
    firm_position: pd.Series,
    sector_years: pd.DataFrame,
    year_position: dict[int, int],
    all_firm_ids: pd.Index,
) -> pd.DataFrame:
    empty = pd.DataFrame({"firm": pd.Series(dtype=np.int64), "year": pd.Series(dtype=np.int64), "output": pd.Series(dtype=float)})
    if scenario.data.activity is None:
        return empty
    where = display_path(scenario.data.activity)
    table = read_table(scenario.data.activity, ACTIVITY)
    _reject_unknown(table, "firm_id", all_firm_ids, where, "firm_id")
    _reject_duplicates(table, ["firm_id", "year"], where, "firm and year")
    table = _held_through_lookahead(table[table["firm_id"].isin(firm_position.index)], scenario)
    activity = pd.DataFrame(
        {
            "firm": firm_position.loc[table["firm_id"]].to_numpy(),
            "year": table["year"].map(year_position).to_numpy(dtype=np.int64),
            "output": table["output"].to_numpy(),
        }
    )
    benchmarked = sector_years.loc[sector_years["benchmark"].notna(), ["sector", "year"]]
    needed = covered[["sector"]].reset_index(names="firm").merge(benchmarked, on="sector")[["firm", "year"]]
    needed = needed.merge(activity, on=["firm", "year"], how="left")
    missing = needed["output"].isna().to_numpy()
    if missing.any():
        row = needed.iloc[_first(missing)]
        firm = covered.iloc[int(row["firm"])]
        raise InputError(
            f"no output for firm {firm['firm_id']} in year {scenario.years[int(row['year'])]}, "
            f"but sector {firm['sector_name']} allocates by benchmark that year",
            file=where,
            column="output",
        )
    return needed.sort_values(["firm", "year"]).reset_index(drop=True)
