"""The scenario: a typed, closed description of one policy case (contract section 2).

A scenario file is TOML. ``load_scenario`` reads it, follows ``extends`` (tables merge key by key,
the extending file wins, data paths stay relative to the file that names them), validates it
against the pydantic models below (unknown keys are rejected), and checks the rules that tie
sections together (every covered sector in exactly one market, one cap or benchmark per
covered sector-year, ...). Every failure is an ``InputError`` naming the file and dotted key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from optimodel.errors import InputError
from optimodel.inputs.gwp import GwpSet, normalise_gas

DEFAULT_MARKET = "national"
MAX_SCENARIO_QUANTITY = 1.0e13
"""Largest cap or offset quantity (tCO2e) accepted: beyond it a value is a typo."""
MAX_PRICE = 1.0e9
"""Largest price (money per tCO2e) accepted."""
MAX_DISCOUNT_RATE = 1.0
"""Largest discount rate accepted: above 100 %/yr a rate is a percentage typed as a number."""


class ClosedModel(BaseModel):
    """Base for every scenario table: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


_Closed = ClosedModel
Rules = TypeVar("Rules", bound=BaseModel)


@dataclass(frozen=True)
class ScenarioRules:
    """What the policy families add to the scenario file, handed to ``load_scenario`` by the
    layer that knows them (``optimodel.api.load_scenario`` passes the registry's): the inputs
    never import the families."""

    sections: dict[str, tuple[str, type[BaseModel]]] = field(default_factory=dict)
    """Family name -> (its top-level table's key, its closed model)."""
    market: dict[str, type[BaseModel]] = field(default_factory=dict)
    """Family name -> the closed model of its keys in every ``[markets.NAME]`` table."""
    checks: tuple[Callable[[Scenario, str], None], ...] = ()
    """Rules tying a family's settings to the rest of the scenario; each raises ``InputError``."""


class DataPaths(_Closed):
    """Where the input tables are. Relative paths are taken from the scenario file naming them."""

    firms: Path
    """Table of firms: firm_id, sector, region (contract section 1)."""
    emissions: Path
    """Baseline emissions by firm, year and gas, in tonnes of gas."""
    options: Path
    """Abatement options (the per-firm marginal abatement cost curve)."""
    activity: Path | None = None
    """Output by firm and year; required when any sector-year allocates by benchmark."""


class CapPath(_Closed):
    """A declining cap: cap(t) = start_tco2e x (1 - decline)^(t - from_year) for every year
    from ``from_year`` on that has neither ``cap_tco2e`` nor ``benchmark`` (contract section 9)."""

    from_year: int
    """First year of the path."""
    start_tco2e: float = Field(ge=0.0, le=MAX_SCENARIO_QUANTITY, allow_inf_nan=False)
    """The cap in ``from_year``, tCO2e."""
    decline: float = Field(default=0.0, ge=0.0, lt=1.0)
    """Yearly decline, compounding (0.02 is 2 %/yr)."""

    def cap(self, year: int) -> float | None:
        """The path's cap in ``year`` (None before ``from_year``)."""
        return None if year < self.from_year else self.start_tco2e * (1.0 - self.decline) ** (year - self.from_year)


class SectorPolicy(_Closed):
    """One covered sector: firms of sectors without such a table are outside the ETS."""

    covered: bool = True
    """False takes the sector out of the ETS (optional addition: lets a variant that
    ``extends`` another scenario drop a sector, since tables merge key by key)."""
    cap_tco2e: dict[int, float] = Field(default_factory=dict)
    """Absolute cap: allowances issued to the sector each year, tCO2e."""
    benchmark: dict[int, float] = Field(default_factory=dict)
    """Intensity benchmark per year, tCO2e per unit of output; allocation = benchmark x output."""
    cap_path: CapPath | None = None
    """Caps for the years from its ``from_year`` on that have neither cap_tco2e nor benchmark."""
    auction_share: float | dict[int, float] = 0.0
    """Share of the sector's issued allowances sold at the market price instead of given free:
    one number, or one per year (years not given: 0). It moves money, never abatement or prices."""

    @field_validator("auction_share")
    @classmethod
    def _a_share(cls, share: float | dict[int, float]) -> float | dict[int, float]:
        for value in share.values() if isinstance(share, dict) else [share]:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"a share must be between 0 and 1, got {value}")
        return share

    def auctioned(self, year: int) -> float:
        """The auction share of ``year``."""
        if isinstance(self.auction_share, dict):
            return self.auction_share.get(year, 0.0)
        return self.auction_share

    def cap(self, year: int) -> float | None:
        """The sector's cap in ``year``: its cap_tco2e, else (unless a benchmark applies) its cap path."""
        if year in self.cap_tco2e:
            return self.cap_tco2e[year]
        if year in self.benchmark or self.cap_path is None:
            return None
        return self.cap_path.cap(year)

    def caps(self, years) -> dict[int, float]:
        """The caps of ``years`` that have one (explicit or from the path)."""
        return {year: cap for year in years if (cap := self.cap(year)) is not None}

    @field_validator("cap_tco2e", "benchmark")
    @classmethod
    def _non_negative_finite(cls, values: dict[int, float]) -> dict[int, float]:
        for year, value in values.items():
            if not math.isfinite(value) or value < 0 or value > MAX_SCENARIO_QUANTITY:
                raise ValueError(f"year {year}: must be a number between 0 and {MAX_SCENARIO_QUANTITY:g}, got {value}")
        return values


class MarketPolicy(_Closed):
    """A market: sectors whose allowances trade with each other. Its instruments (banking,
    offsets, a collar, a reserve ...) are keys of the same ``[markets.NAME]`` table that belong
    to the policy families: each family's closed model validates its own keys, read back with
    ``rules(TheFamilysModel)``."""

    sectors: list[str] | None = None
    """Covered sectors whose allowances trade in this market. Omitted (optional addition): every
    covered sector that no other market names; at most one market may omit it."""

    _rules: dict[type, BaseModel] = PrivateAttr(default_factory=dict)

    def document(self) -> dict[str, Any]:
        """The market's table as JSON-ready values: its sectors and every family's keys."""
        document = self.model_dump(mode="json")
        for rules in self._rules.values():
            document.update(rules.model_dump(mode="json"))
        return document

    def rules(self, kind: type[Rules]) -> Rules:
        """This market's settings of one family (its defaults where the table gives none)."""
        found = self._rules.get(kind)
        return found if isinstance(found, kind) else kind()


EU_FREE_ALLOCATION = {2026: 0.975, 2027: 0.95, 2028: 0.90, 2029: 0.775, 2030: 0.515, 2031: 0.39, 2032: 0.265, 2033: 0.14, 2034: 0.0}
"""Share of EU free allocation kept in CBAM sectors, by year (Directive (EU) 2023/959)."""


class CbamDeduction(str, Enum):
    """Which Chinese carbon price the EU deducts from the CBAM charge."""

    effective = "effective"
    """The price times the share of emissions the sector actually pays for (net purchases over
    emissions, at least 0): free allocation is not a price paid."""
    full = "full"
    """The full allowance price for every tonne."""


class CbamPolicy(_Closed):
    """EU CBAM exposure of exporters (optional addition): computed after the solve, cbam.csv."""

    eu_price_eur: float | dict[int, float] = Field(default=85.0)
    """EU allowance price, EUR per tCO2e: one value or one per year (years missing use the nearest earlier one)."""
    eur_cny: float = Field(default=8.2, gt=0.0, allow_inf_nan=False)
    """CNY per EUR (or the scenario currency per EUR)."""
    free_allocation: dict[int, float] = Field(default_factory=lambda: dict(EU_FREE_ALLOCATION))
    """Share of EU free allocation kept, by year; the CBAM charge applies to the rest. Before
    the first year CBAM charges nothing; after the last the last share holds."""
    export_share: dict[str, float] = Field(default_factory=dict)
    """Share of each sector's emissions embedded in goods exported to the EU (sectors switched
    off with ``covered = false`` are skipped)."""
    deduction: CbamDeduction = CbamDeduction.effective
    """Which Chinese carbon price is deducted."""

    @field_validator("free_allocation", "export_share")
    @classmethod
    def _shares(cls, values: dict) -> dict:
        for key, value in values.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key}: a share must be between 0 and 1, got {value}")
        return values


class SolverMethod(str, Enum):
    """HiGHS algorithm for the main solve."""

    auto = "auto"
    """Dual simplex from the crash basis; with ``crash = false``, interior point with crossover
    above ``AUTO_IPM_COLUMNS`` columns (measured in docs/performance.md: at 1.9M columns a cold
    dual simplex took 351 s, IPM 15 s, dual simplex from the crash basis 1.9 s)."""
    simplex = "simplex"
    ipm = "ipm"
    pdlp = "pdlp"
    choose = "choose"


class SolverOptions(_Closed):
    """How HiGHS is run (optional addition to the contract)."""

    method: SolverMethod = SolverMethod.auto
    """Algorithm for the main solve; price intervals always re-solve with dual simplex."""
    presolve: bool = False
    """HiGHS presolve. Off by default: on this model's shape it costs far more than it saves."""
    time_limit_seconds: float | None = Field(default=None, gt=0.0)
    """Stop the main solve after this long (then exit 1: no prices from an unfinished solve)."""
    crash: bool = True
    """Start the first dual simplex solve of a large LP from the basis of a small LP whose
    abatement steps are summed in cost order (optional addition; ``optimodel.solver.crash``).
    Only where HiGHS starts changes: it still solves the LP as built."""
    price_intervals: bool = True
    """Compute [price_low, price_high] exactly for every market-year (re-solves near each cap).
    They need an optimal basis: after PDLP, which has none, dual simplex solves again."""


MAX_LOOKAHEAD_YEARS = 100
"""More look-ahead years than this is a typo (a century past the scenario)."""


class HorizonOptions(_Closed):
    """How the model sees beyond the scenario's years (contract section 11)."""

    lookahead_years: int = Field(default=0, ge=0, le=MAX_LOOKAHEAD_YEARS)
    """Consecutive years after the last scenario year that are solved but not reported in the
    contract tables. Their baselines, options and activity are the last scenario year's; their caps
    are given in cap_tco2e, or else decline from the last scenario year's cap (or benchmark) at
    ``lookahead_cap_decline``, compounding."""
    lookahead_cap_decline: float = Field(default=0.0, ge=0.0, lt=1.0)
    """Yearly decline of caps (and benchmarks) through the look-ahead years (0.02 is 2 %/yr)."""
    terminal_bank_value: float | None = Field(default=None, ge=0.0, le=MAX_PRICE, allow_inf_nan=False)
    """Each allowance banked out of the last modelled year is worth this (money of that year);
    default: a leftover bank is worthless. Applies to markets that bank."""
    terminal_bank_min_tco2e: float | None = Field(default=None, ge=0.0, le=MAX_SCENARIO_QUANTITY, allow_inf_nan=False)
    """The bank out of the last modelled year is at least this, in each market that banks."""
    foresight_years: int | None = Field(default=None, ge=1)
    """Limited foresight: year t is decided by solving years t .. t + foresight_years - 1 (within
    the modelled years) with the bank into t fixed from the year before, and its price is its dual
    in that window. At or above the number of modelled years it is perfect foresight (one solve);
    default: perfect foresight."""


class FactorTarget(str, Enum):
    """What an uncertainty factor multiplies."""

    cost = "cost"
    """Abatement options' cost_per_t (each option's cost, negative ones included), and the
    capex_per_t of capacity options (contract section 12)."""
    capex = "capex"
    """The capex_per_t of capacity options only (contract section 12)."""
    baseline = "baseline"
    """Firms' baseline_t, and with it their options' potentials (which are shares of the baseline)."""
    offsets = "offsets"
    """The quantity of every offset supply step."""


class Distribution(str, Enum):
    """The distribution of a factor's multiplier."""

    lognormal = "lognormal"
    """exp(sigma x N(0, 1)): median 1, never negative."""
    normal = "normal"
    """1 + sd x N(0, 1), mean 1; a draw below 0 is taken as 0."""
    uniform = "uniform"
    """Uniform between low and high."""
    triangular = "triangular"
    """Triangular between low and high, peaking at mode."""


DISTRIBUTION_PARAMETERS = {
    Distribution.lognormal: ("sigma",),
    Distribution.normal: ("sd",),
    Distribution.uniform: ("low", "high"),
    Distribution.triangular: ("low", "mode", "high"),
}
"""The parameters each distribution takes (and requires)."""
MAX_SPREAD = 10.0
"""Largest sigma or sd accepted: beyond it a multiplier spans orders of magnitude, a typo."""


class UncertaintyFactor(_Closed):
    """One uncertain multiplier (contract section 10): drawn once per draw, shared by every
    firm, option and year in its scope."""

    target: FactorTarget
    """What it multiplies: "cost", "baseline" or "offsets"."""
    sectors: list[str] | None = None
    """Covered sectors in its scope; default every covered sector (ignored for offsets)."""
    options: list[str] | None = None
    """Options in its scope (cost only); default every option."""
    distribution: Distribution
    """"lognormal" (sigma), "normal" (sd), "uniform" (low, high) or "triangular" (low, mode, high)."""
    sigma: float | None = Field(default=None, ge=0.0, le=MAX_SPREAD)
    """Lognormal: the standard deviation of the multiplier's logarithm."""
    sd: float | None = Field(default=None, ge=0.0, le=MAX_SPREAD)
    """Normal: the standard deviation of the multiplier."""
    low: float | None = Field(default=None, ge=0.0, le=1.0e3)
    """Uniform, triangular: the smallest multiplier."""
    mode: float | None = Field(default=None, ge=0.0, le=1.0e3)
    """Triangular: the most likely multiplier."""
    high: float | None = Field(default=None, ge=0.0, le=1.0e3)
    """Uniform, triangular: the largest multiplier."""

    @model_validator(mode="after")
    def _parameters_of_its_distribution(self) -> UncertaintyFactor:
        wanted = DISTRIBUTION_PARAMETERS[self.distribution]
        for name in ("sigma", "sd", "low", "mode", "high"):
            given = getattr(self, name) is not None
            if name in wanted and not given:
                raise ValueError(f"a {self.distribution.value} factor needs {name}")
            if name not in wanted and given:
                raise ValueError(f"{name} is not a parameter of {self.distribution.value} (it takes {', '.join(wanted)})")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low:g}) is above high ({self.high:g})")
        if self.mode is not None and not (self.low or 0.0) <= self.mode <= (self.high or 0.0):
            raise ValueError(f"mode ({self.mode:g}) is not between low and high")
        if self.options is not None and self.target != FactorTarget.cost:
            raise ValueError("options applies to cost factors only")
        return self


class UncertaintyOptions(_Closed):
    """Monte Carlo draws (contract section 10): ``optimodel uncertainty``."""

    draws: int = Field(default=500, ge=1, le=1_000_000)
    """Number of draws; ``--draws`` overrides it."""
    seed: int = Field(default=2025, ge=0)
    """Seed of the draws: the same seed gives the same multipliers and byte-identical outputs
    whatever the workers; ``--seed`` overrides it."""
    factors: list[UncertaintyFactor] = Field(default_factory=list)
    """The uncertain multipliers, factor_1, factor_2, ... in file order."""


class Scenario(_Closed):
    """One policy case: the years, gases, covered sectors, markets and their instruments."""

    name: str = Field(min_length=1)
    """Names the run; the default output folder is runs/<name>."""
    description: str = ""
    """Free text shown in reports."""
    years: list[int] = Field(min_length=1)
    """Model years, strictly increasing."""
    gwp: GwpSet | dict[str, float] = GwpSet.AR5
    """A named GWP100 set (AR4, AR5, AR6) or a table {GAS = tCO2e per tonne}."""
    discount_rate: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    """Costs of year t weigh (1 + r)^-(t - first year). A fraction: 0.05 is 5 %/yr; above 1 is an
    error (it is almost always a percentage typed as a number)."""
    currency: str = "CNY"
    """Currency of every money figure (labels only)."""
    data: DataPaths
    """Input tables."""
    sectors: dict[str, SectorPolicy] = Field(min_length=1)
    """Covered sectors and their caps or benchmarks."""
    markets: dict[str, MarketPolicy] = Field(default_factory=dict)
    """Markets; default one market 'national' of every covered sector."""
    solver: SolverOptions = Field(default_factory=SolverOptions)
    """HiGHS settings."""
    cbam: CbamPolicy | None = None
    """EU CBAM exposure of exporters; none computed when absent."""
    horizon: HorizonOptions = Field(default_factory=HorizonOptions)
    """Look-ahead years, terminal conditions on the bank, foresight (contract section 11)."""
    uncertainty: UncertaintyOptions | None = None
    """Monte Carlo draws for ``optimodel uncertainty`` (contract section 10); ``solve`` ignores it."""

    _source: Path | None = PrivateAttr(default=None)
    _resolved: dict[str, Any] = PrivateAttr(default_factory=dict)
    _files: tuple[Path, ...] = PrivateAttr(default=())
    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)
    _rules: ScenarioRules = PrivateAttr(default_factory=ScenarioRules)

    @field_validator("name")
    @classmethod
    def _a_folder_name(cls, name: str) -> str:
        # The name becomes runs/<name>: a separator or ".." would write the run elsewhere.
        if "/" in name or "\\" in name or ".." in name or name.strip() in ("", "."):
            raise ValueError(f"{name!r} cannot name a folder under runs/: use no '/', '\\' or '..'")
        if any(ord(character) < 32 for character in name):
            raise ValueError(f"{name!r} holds a control character; a name is one line of text")
        return name

    @field_validator("years")
    @classmethod
    def _strictly_increasing(cls, years: list[int]) -> list[int]:
        for earlier, later in zip(years, years[1:]):
            if later <= earlier:
                raise ValueError(f"years must be strictly increasing ({earlier} then {later})")
        return years

    @field_validator("discount_rate")
    @classmethod
    def _a_fraction(cls, rate: float) -> float:
        if rate > MAX_DISCOUNT_RATE:
            raise ValueError(f"{rate:g} would be {rate:.0%} a year; a rate is a fraction (0.05 is 5 %)")
        return rate

    @field_validator("gwp")
    @classmethod
    def _gwp_table(cls, gwp: GwpSet | dict[str, float]) -> GwpSet | dict[str, float]:
        if isinstance(gwp, dict):
            normalised = {normalise_gas(gas): value for gas, value in gwp.items()}
            if "CO2" not in normalised:
                raise ValueError("a custom GWP table must include CO2")
            for gas, value in normalised.items():
                if not math.isfinite(value) or value <= 0:
                    raise ValueError(f"GWP of {gas} must be a finite number > 0")
        return gwp

    @property
    def source(self) -> Path | None:
        """The scenario file this scenario was read from."""
        return self._source

    @property
    def sections(self) -> dict[str, BaseModel]:
        """Family name -> its validated scenario section, for families registered with their own
        top-level table (``registry.ScenarioSection``) that the file gives."""
        return dict(self._sections)

    def section(self, kind: type[Rules]) -> Rules | None:
        """The family section of model ``kind``, or None when the file gives none."""
        return next((section for section in self._sections.values() if isinstance(section, kind)), None)

    @property
    def rules(self) -> ScenarioRules:
        """The families' sections, market keys and checks this scenario was validated with."""
        return self._rules

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file a run of this scenario reads: the scenario file, the files it ``extends``
        and its input tables. Commands never write over or replace a folder holding one."""
        tables = (self.data.firms, self.data.emissions, self.data.options, self.data.activity)
        return self._files + tuple(Path(table) for table in tables if table is not None)

    @property
    def resolved(self) -> dict[str, Any]:
        """The scenario as a plain dict after following ``extends`` (for run records)."""
        return self._resolved

    @property
    def modelled_years(self) -> tuple[int, ...]:
        """The scenario's years, then its look-ahead years (solved, not reported)."""
        last = self.years[-1]
        return (*self.years, *range(last + 1, last + 1 + self.horizon.lookahead_years))

    @property
    def covered_sectors(self) -> dict[str, SectorPolicy]:
        """Sectors in the ETS (those not switched off with ``covered = false``)."""
        return {name: policy for name, policy in self.sectors.items() if policy.covered}

    def market_of_sector(self) -> dict[str, str]:
        """Covered sector -> the market it trades in."""
        return {sector: market for market, policy in self.market_policies().items() for sector in policy.sectors or ()}

    def market_policies(self) -> dict[str, MarketPolicy]:
        """Markets with their sectors resolved: as declared, a market without ``sectors`` taking
        every covered sector no other market names, or by default one market "national" of
        every covered sector."""
        if not self.markets:
            return {DEFAULT_MARKET: MarketPolicy(sectors=sorted(self.covered_sectors))}
        named = {sector for policy in self.markets.values() for sector in policy.sectors or []}
        rest = sorted(sector for sector in self.covered_sectors if sector not in named)
        return {
            market: policy if policy.sectors is not None else policy.model_copy(update={"sectors": rest})
            for market, policy in self.markets.items()
        }

    def market_rules(self, kind: type[Rules]) -> dict[str, Rules]:
        """Market -> its settings of one family (``MarketPolicy.rules``), for every market."""
        return {market: policy.rules(kind) for market, policy in self.market_policies().items()}

    def discount_factor(self, year: int) -> float:
        """Weight of money in ``year``: (1 + r)^-(year - first year)."""
        return (1.0 + self.discount_rate) ** -(year - self.years[0])


# Loading ---------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("scenario file not found", file=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a scenario file", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read scenario file ({exc.strerror or exc})", file=str(path)) from None
    try:
        # utf-8-sig: editors on Windows start UTF-8 files with a byte order mark; TOML does not allow one.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"line {line}: not UTF-8 text (byte 0x{raw[exc.start:exc.start + 1].hex()}); save the scenario file as UTF-8",
            file=str(path),
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"TOML syntax: {exc}", file=str(path)) from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in ``override`` replaces the one in ``base``. An
    empty table (``cap_tco2e = {}``) replaces, that is clears, the inherited one (contract section
    14): merging it would change nothing, so the only thing it can mean is "none of these"."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and value and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw_with_extends(path: Path, seen: tuple[Path, ...], top: Path, read: list[Path]) -> dict[str, Any]:
    read.append(path)
    raw = _read_toml(path)
    data = raw.get("data")
    if isinstance(data, dict):
        # Data paths stay relative to the file that names them, whichever file extends it.
        raw["data"] = {
            key: str((path.parent / value).resolve()) if isinstance(value, str) else value
            for key, value in data.items()
        }
    parent_name = raw.pop("extends", None)
    if parent_name is None:
        return raw
    if not isinstance(parent_name, str):
        raise InputError("must be a path to another scenario file", file=str(top), key="extends")
    parent = (path.parent / parent_name).resolve()
    if parent in seen:
        raise InputError(f"extends cycle through {parent.name}", file=str(top), key="extends")
    if not parent.exists():
        raise InputError(f"extended scenario {parent_name} not found", file=str(path), key="extends")
    return _merge(_raw_with_extends(parent, seen + (parent,), top, read), raw)


_TYPE_TAGS = {"str", "int", "float", "bool", "dict", "list"}


def _dotted(location: tuple[Any, ...]) -> str:
    """A pydantic error location as the scenario's dotted key. Union members add a type tag to
    the location (``str-enum[GwpSet]``); that is pydantic's detail, not a key the user wrote."""
    parts = [
        str(part)
        for part in location
        if part != "[key]" and not (isinstance(part, str) and ("[" in part or part in _TYPE_TAGS))
    ]
    return ".".join(parts) or "(top level)"


def scenario_error(exc: ValidationError, file: str, prefix: str = "") -> InputError:
    """The pydantic error as one InputError naming the dotted key (under ``prefix``, the section
    a family's model validated)."""
    # For a union (gwp: name or table) pydantic reports one error per member; the deepest
    # location is the member the user meant (a table's bad entry beats "not a name").
    first = max(exc.errors(), key=lambda error: len(error["loc"]))
    message = first["msg"]
    if first["type"] == "value_error":
        # pydantic prefixes the validator's own sentence with its error type; the user needs the sentence.
        message = message.removeprefix("Value error, ")
    elif first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key is missing"
    key = _dotted(first["loc"])
    if prefix:
        key = prefix if key == "(top level)" else f"{prefix}.{key}"
    return InputError(message, file=file, key=key)


def validate_scenario(raw: dict[str, Any], file: str, rules: ScenarioRules) -> Scenario:
    """Validate a scenario dict: each family's own top-level table and its keys in every
    ``[markets.NAME]`` table with that family's model (``rules``), the rest with ``Scenario``
    (unknown keys rejected everywhere). Raises ``InputError``."""
    rest = dict(raw)
    sections: dict[str, BaseModel] = {}
    for name, (key, section_model) in rules.sections.items():
        if key in rest:
            try:
                sections[name] = section_model.model_validate(rest.pop(key))
            except ValidationError as exc:
                raise scenario_error(exc, file, prefix=key) from None
    market_rules: dict[str, dict[type, BaseModel]] = {}
    if isinstance(rest.get("markets"), dict):
        markets = {}
        for market, table in rest["markets"].items():
            if isinstance(table, dict):
                table = dict(table)
                found: dict[type, BaseModel] = {}
                for model in rules.market.values():
                    own = {key: table.pop(key) for key in list(table) if key in model.model_fields}
                    try:
                        found[model] = model.model_validate(own)
                    except ValidationError as exc:
                        raise scenario_error(exc, file, prefix=f"markets.{market}") from None
                market_rules[market] = found
            markets[market] = table
        rest["markets"] = markets
    try:
        scenario = Scenario.model_validate(rest)
    except ValidationError as exc:
        raise scenario_error(exc, file) from None
    for market, policy in scenario.markets.items():
        policy._rules = market_rules.get(market, {})
    scenario._sections = sections
    scenario._rules = rules
    return scenario


def derived_scenario(raw: dict[str, Any], base: Scenario) -> Scenario:
    """A scenario made from ``base``'s resolved document changed by a sweep or a horizon study:
    validated and checked as if read from ``base``'s file, whose files it reads, with the same
    families' rules."""
    source = str(base.source) if base.source else "scenario"
    scenario = validate_scenario(raw, source, base.rules)
    scenario._source, scenario._resolved, scenario._files = base._source, raw, base._files
    check_scenario(scenario, source)
    return scenario


def load_scenario(path: str | Path, rules: ScenarioRules) -> Scenario:
    """Read, merge, validate and check a scenario file with the families' ``rules`` (the
    public ``optimodel.load_scenario`` passes every registered family's). Raises ``InputError``
    on any fault."""
    path = Path(path)
    resolved_path = path.resolve()
    read: list[Path] = []
    raw = _raw_with_extends(resolved_path, (resolved_path,), path, read)
    scenario = validate_scenario(raw, str(path), rules)
    scenario._source = resolved_path
    scenario._resolved = raw
    scenario._files = tuple(read)
    check_scenario(scenario, str(path))
    return scenario


def check_scenario(scenario: Scenario, file: str) -> None:
    """Rules that tie sections together; the first broken rule raises ``InputError``."""
    seen: dict[str, str] = {}
    implicit = [market for market, policy in scenario.markets.items() if policy.sectors is None]
    if len(implicit) > 1:
        raise InputError(
            f"only one market may leave out its sectors ({' and '.join(implicit)} both do)",
            file=file,
            key=f"markets.{implicit[1]}.sectors",
        )
    for market, policy in scenario.market_policies().items():
        if not policy.sectors:
            raise InputError("a market needs at least one sector", file=file, key=f"markets.{market}.sectors")
        for sector in policy.sectors:
            if sector not in scenario.covered_sectors:
                raise InputError(
                    f"sector {sector!r} is not covered (no [sectors.{sector}] table, or covered = false)",
                    file=file,
                    key=f"markets.{market}.sectors",
                )
            if sector in seen:
                raise InputError(
                    f"sector {sector!r} is in two markets ({seen[sector]} and {market})",
                    file=file,
                    key=f"markets.{market}.sectors",
                )
            seen[sector] = market
    if scenario.markets:
        for sector in scenario.covered_sectors:
            if sector not in seen:
                raise InputError(f"covered sector {sector!r} is in no market", file=file, key=f"sectors.{sector}")
    if not scenario.covered_sectors:
        raise InputError("no sector is covered", file=file, key="sectors")
    for sector, sector_policy in scenario.covered_sectors.items():
        for year in scenario.years:
            has_cap, has_benchmark = sector_policy.cap(year) is not None, year in sector_policy.benchmark
            if year in sector_policy.cap_tco2e and has_benchmark:
                raise InputError(
                    f"year {year} has both cap_tco2e and benchmark; give one",
                    file=file,
                    key=f"sectors.{sector}.benchmark.{year}",
                )
            if not has_cap and not has_benchmark:
                raise InputError(
                    f"year {year} has neither cap_tco2e nor benchmark",
                    file=file,
                    key=f"sectors.{sector}.cap_tco2e.{year}",
                )
        if sector_policy.benchmark and scenario.data.activity is None and any(
            year in sector_policy.benchmark for year in scenario.years
        ):
            raise InputError(
                f"sector {sector} allocates by benchmark, which needs an activity table",
                file=file,
                key="data.activity",
            )
    if scenario.cbam is not None:
        # A sector switched off with covered = false is skipped; one never named is a typo.
        for sector in scenario.cbam.export_share:
            if sector not in scenario.sectors:
                raise InputError(f"unknown sector {sector!r}", file=file, key=f"cbam.export_share.{sector}")
    if scenario.uncertainty is not None:
        for index, factor in enumerate(scenario.uncertainty.factors):
            # An offsets factor ignores sectors (offsets are not a sector's), as the contract says.
            for sector in factor.sectors if factor.sectors is not None and factor.target != FactorTarget.offsets else []:
                if sector not in scenario.covered_sectors:
                    raise InputError(f"sector {sector!r} is not covered", file=file, key=f"uncertainty.factors.{index}.sectors")
    for check in scenario.rules.checks:
        check(scenario, file)
