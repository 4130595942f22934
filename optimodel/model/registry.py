"""The registry of policy families: everything that iterates over families reads it.

A policy family is one object (``PolicyFamily``): its scenario section, its data preparation,
its Pyomo components and ledger terms (``add``, whose docstring is its section of
docs/formulation.md), its columns in markets.csv, its terms of the certificate (the allowances it
reports supplying and the money it reports spending), its bound for the infeasibility diagnosis,
and the scenario numbers a warm sweep can move. Build, the formulation docs, the compiled
component maps, the result tables, the certificate, the diagnosis and sweeps iterate over
``FAMILIES``; none of them names a family. A new rule is one module that defines its family and
one ``FAMILIES.register`` line (``optimodel/model/build.py``).

Families are built in registration order. The closing families (the market balance and the
objective) come after every policy family, because they read the finished ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from optimodel.inputs.scenario import MarketPolicy, ScenarioRules

if TYPE_CHECKING:
    import pyomo.core as pyo

    from optimodel.inputs.data import ModelData
    from optimodel.inputs.plausibility import InputWarning
    from optimodel.inputs.scenario import Scenario
    from optimodel.model.lp import CompiledLp, CrashBlock, LpSolution


@dataclass(frozen=True)
class PolicyLine:
    """A line a rule draws on a chart where it binds: ``name`` says which ("price ceiling",
    "release trigger 1", "bank limit"), one value per year (None: not in force that year), on
    ``chart`` "price" (money of each year per tCO2e) or "bank" (tCO2e)."""

    market: str
    name: str
    years: list[int]
    values: list[float | None]
    chart: str = "price"


@dataclass
class ReportContext:
    """What a family's report figures are drawn from: the run's tables by name, the scenario
    (None when the run folder has none), the currency, and the page's colours by kind
    (``optimodel.palette``: sector, market, option, run)."""

    tables: dict[str, pd.DataFrame]
    scenario: Scenario | None
    currency: str
    colours: dict[str, dict[str, str]]

    def colour(self, kind: str, name: str) -> str:
        """The page's colour of ``name``; a name the page did not list takes one no other has."""
        from optimodel.palette import next_colour

        known = self.colours.setdefault(kind, {})
        if name not in known:
            known[name] = next_colour(kind, name, set(known.values()))
        return known[name]


@dataclass(frozen=True)
class ScenarioSection:
    """A top-level table of the scenario file that belongs to one family (``[key]``)."""

    key: str
    model: type[BaseModel]
    """A closed pydantic model (unknown keys rejected, a docstring on every field)."""


@dataclass(frozen=True)
class SolvedModel:
    """What result, certificate and sweep hooks see: the data, the LP and its solution."""

    scenario: Scenario
    data: ModelData
    compiled: CompiledLp
    solution: LpSolution
    firms: pd.DataFrame | None = None
    """firms.csv as made so far (for columns that sum firms' results, such as the carry-over rule)."""

    def values(self, component: str) -> dict[Any, float]:
        """index -> value in tCO2e of every variable of ``component`` (absent: none)."""
        positions = self.compiled.columns.get(component, {})
        values = self.solution.col_value
        scaling = self.data.scaling
        return {index: float(scaling.from_model(values[position])) for index, position in positions.items()}

    def market_year_array(self, by_market_year: dict[tuple[str, int], float]) -> np.ndarray:
        """A {(market, year): value} dict as an array in markets.csv order (market-major)."""
        return np.array(
            [by_market_year.get((market, year), 0.0) for market in self.data.markets for year in self.data.years], dtype=float
        )

    def market_year_totals(self, component: str, market: int = 0, year: int = 1) -> np.ndarray:
        """The values of ``component`` summed by the market and year at positions ``market`` and
        ``year`` of its index (markets.csv order)."""
        totals: dict[tuple[str, int], float] = {}
        for index, value in self.values(component).items():
            key = (index[market], index[year]) if isinstance(index, tuple) else index
            totals[key] = totals.get(key, 0.0) + value
        return self.market_year_array(totals)

    def discount(self, year: int) -> float:
        return float(self.data.discount[self.data.years.index(year)])


@dataclass
class DiagnosisBounds:
    """What the pre-solve infeasibility diagnosis knows about each market-year, model units.

    Every number is a bound in the direction that can only make a market-year look *less* short:
    a market-year named short is then surely infeasible (``diagnose.presolve_shortfalls``)."""

    lowest_emissions: dict[tuple[str, int], float]
    """The emissions left with every option at full use."""
    most_issued: dict[tuple[str, int], float]
    """The most allowances issued (caps, benchmark x full output)."""
    extra_supply: dict[tuple[str, int], float] = field(default_factory=dict)
    """The most other allowances a family can bring (offsets, reserve releases, ...); inf for an
    unlimited supply such as a price ceiling."""
    carry: dict[str, tuple[bool, float]] = field(default_factory=dict)
    """market -> (surpluses bank into the next year, share of the next year's issue borrowable)."""
    bank_limit: dict[tuple[str, int], float] = field(default_factory=dict)
    """(market, year) -> the most that may be banked out of that year."""

    def add_extra(self, key: tuple[str, int], quantity: float) -> None:
        self.extra_supply[key] = self.extra_supply.get(key, 0.0) + quantity


@dataclass
class WarmMove:
    """What a warm sweep point asks of the families: move numbers of the built LP in place."""

    base: Scenario
    point: Scenario
    base_data: ModelData
    point_data: ModelData
    compiled: CompiledLp
    row_upper: np.ndarray
    """The base LP's row upper bounds; families add their changes here (applied after all moved)."""
    cost: np.ndarray
    """The base LP's objective coefficients; families overwrite what they move."""
    col_upper: np.ndarray
    """The base LP's column upper bounds (tier sizes, bank limits); families overwrite what they move."""
    cold: bool = False
    """Set when the point touches something the LP cannot move (then it is solved cold)."""

    def shift_ledger(self, ledger: str, changes: dict[Any, float]) -> None:
        """A ledger constant (``issued``, ``supply``, ``emissions``) changes by ``changes[key]``
        model units: move every row whose right-hand side holds it, by its recorded scale. A
        change reaching a row the compiler dropped (no variable in it) makes the point cold."""
        if not shift_ledger(self.compiled, self.row_upper, ledger, changes):
            self.cold = True


def shift_ledger(compiled: CompiledLp, row_upper: np.ndarray, ledger: str, changes: dict[Any, float]) -> bool:
    """Add ``scale x changes[key]`` to ``row_upper`` of every row holding ledger constant ``key``
    (``terms.dependents``). False when a change reaches a row the compiler dropped (no variable
    in it), which the built LP cannot move."""
    movable = True
    for key, change in changes.items():
        if not change:
            continue
        if (ledger, key) in compiled.ledger_dropped:
            movable = False
        for row, scale in compiled.ledger_rows.get((ledger, key), ()):
            row_upper[row] += scale * change
    return movable


@dataclass
class DrawMove:
    """What one Monte Carlo draw asks of the families: scale numbers of the built LP in place
    (``optimodel.workflows.uncertainty``). Every array starts as the base LP's; families overwrite what
    their multipliers reach, always from the base values, so a draw never depends on the last."""

    data: ModelData
    compiled: CompiledLp
    base_cost: np.ndarray
    base_col_upper: np.ndarray
    base_row_upper: np.ndarray
    cost: np.ndarray
    col_upper: np.ndarray
    row_upper: np.ndarray
    step_cost: np.ndarray
    """Multiplier of each abatement step's cost (``data.steps`` order)."""
    step_capex: np.ndarray
    """Multiplier of each step's capex (capacity options; ``data.steps`` order)."""
    firm_baseline: np.ndarray
    """Multiplier of each firm's baseline and of its options' potentials (``data.firms`` order)."""
    offset_quantity: float
    """Multiplier of every offset step's quantity."""
    cache: dict[str, Any]
    """Index arrays a family computes on the first draw and reuses (keyed by family name)."""
    movable: bool = True
    """False when a draw reaches something the built LP cannot move (the draw then fails)."""

    def shift_ledger(self, ledger: str, changes: dict[Any, float]) -> None:
        """As ``WarmMove.shift_ledger``, on this draw's right-hand sides."""
        if not shift_ledger(self.compiled, self.row_upper, ledger, changes):
            self.movable = False


@dataclass(frozen=True)
class PolicyFamily:
    """One policy family; every hook but ``add`` is optional (see the module docstring)."""

    name: str
    """snake_case identifier (``offsets``); also the key of ``ModelData.families``."""
    title: str
    """Section title in docs/formulation.md."""
    add: Callable[[pyo.ConcreteModel, ModelData, Scenario], None]
    """Declares the family's components and ledger terms; its docstring is the math."""
    variables: tuple[str, ...] = ()
    """Names of the Pyomo Var components ``add`` may declare (mapped to LP columns)."""
    rows: tuple[str, ...] = ()
    """Names of the Pyomo Constraint components ``add`` may declare (mapped to LP rows)."""
    section: ScenarioSection | None = None
    """Its own top-level scenario table, if it has one (``[[offsets]]``, a toy family's table)."""
    market_rules: type[BaseModel] | None = None
    """The closed model of its keys in every ``[markets.NAME]`` table (``banking``,
    ``price_ceiling`` ...), read back with ``MarketPolicy.rules``."""
    check: Callable[[Scenario, str], None] | None = None
    """Rules tying its settings to the rest of the scenario (called with the file for messages);
    raises ``InputError`` naming the key."""
    scenario_warnings: Callable[[Scenario], list[InputWarning]] | None = None
    """Warnings about its settings that a planner would want before solving (legal but suspicious)."""
    prepare: Callable[[Scenario, ModelData], Any] | None = None
    """Scenario section -> the family's validated, scaled data, kept in ``ModelData.families``."""
    market_values: Callable[[SolvedModel], dict[str, np.ndarray]] | None = None
    """Its markets.csv columns (market-major arrays), in tCO2e or money of the year."""
    reported_supply: Callable[[pd.DataFrame], pd.Series] | None = None
    """The allowances it supplies to each market-year, recomputed from the reported markets
    table (for the certificate's balance check)."""
    reported_cost: Callable[[SolvedModel, Any], float] | None = None
    """Its discounted money in the objective, recomputed from the result (for the certificate);
    called with the ``Result``."""
    diagnosis: Callable[[ModelData, Scenario, DiagnosisBounds], None] | None = None
    """Adds its bounds to the pre-solve infeasibility diagnosis."""
    warm_mask: Callable[[dict], None] | None = None
    """Masks, in a scenario dump, the numbers ``warm_move`` can move without a rebuild."""
    warm_move: Callable[[WarmMove], None] | None = None
    """Moves those numbers of the built LP for a sweep point."""
    result_warnings: Callable[[SolvedModel, Any], list[InputWarning]] | None = None
    """Warnings about the solution (called with the ``Result``): what a planner would want to
    know about how the rule behaved."""
    draw_move: Callable[[DrawMove], None] | None = None
    """Scales its numbers of the built LP for one Monte Carlo draw (costs, baselines, offsets)."""
    draw_neutral: bool = False
    """True when none of its numbers depends on what a Monte Carlo draw scales (option costs,
    baselines, offset quantities), so it needs no ``draw_move``. A family with neither refuses
    ``optimodel uncertainty`` (exit 2, naming it) rather than give draws with its base numbers."""
    revenue_columns: dict[str, str] = field(default_factory=dict)
    """Its markets.csv columns of money raised (column -> label): summed by year into
    summary.json ``totals`` and drawn in the report's money chart."""
    price_rows: tuple[str, ...] = ()
    """Its rows whose duals are prices too (``offset_limit``): ``solver.prices.prices_from_duals``
    turns each into money per tCO2e of the year and hands them to ``price_columns``."""
    price_columns: Callable[[dict[str, float], dict[str, float]], dict[str, float]] | None = None
    """Its extra columns of prices.csv and markets.csv for one market-year, from that market-year's
    prices (price, price_low, price_high) and its ``price_rows``' prices (those it has)."""
    tables: Callable[[SolvedModel], dict[str, pd.DataFrame]] | None = None
    """Its own output tables (name -> table, one row per ... and modelled ``year``), written as
    NAME.csv (capacity.csv)."""
    tables_written: tuple[str, ...] = ()
    """The names of the tables ``tables`` writes (the report reads them back)."""
    money_by_year: Callable[[SolvedModel], dict[str, dict[int, float]]] | None = None
    """Its entries of summary.json ``totals`` (name -> year -> money of the year): each joins
    every year's entry and is discounted to the first year with the others."""
    report_figures: Callable[[ReportContext], list] | None = None
    """Its charts in the run report (plotly figures; none when it did nothing), drawn from the
    run's tables by name (``markets``, and the families' own such as ``capacity``) in the page's
    colours, with its policy lines where they bind."""
    policy_lines: Callable[[Scenario, str, list[int]], list[PolicyLine]] | None = None
    """Its policy lines on one market's charts over the years: on the price chart a ceiling, a
    floor, the reserve's triggers (money of each year); on the bank chart a bank limit. The
    reports and the live page draw them, named."""
    draw_columns: tuple[str, ...] = ()
    """Its markets.csv columns that every Monte Carlo draw records (draws.parquet)."""
    draw_statistics: Callable[[Scenario, str, int, np.ndarray, pd.DataFrame], dict[str, float]] | None = None
    """Its columns of price_quantiles.csv for one market-year: called with the scenario, the
    market, the year, the solved draws' prices (sorted) and those draws' rows."""
    window_state: tuple[str, ...] = ()
    """Variables indexed (market, year) that carry a market's state out of year t into the next
    (a bank): a rolling window fixes those of the years already decided, and holds at 0 the one
    out of its last year (short of the last modelled year) and every later one
    (``solver.rolling.roll``)."""
    crash_block: Callable[[CompiledLp], CrashBlock | None] | None = None
    """Its columns and rows that the crash basis's small LP leaves out, with the statuses they
    start from (``solver.crash``); None: its columns are aggregated with the others or kept whole."""
    window_costs: Callable[[ModelData, CompiledLp, int], tuple[np.ndarray, np.ndarray]] | None = None
    """Objective coefficients (columns, costs) that depend on how far a rolling window sees:
    called with the position of its last year (the last modelled year restores them as built)."""
    window_decided: tuple[str, ...] = ()
    """Variables indexed (market, year, ...) that carry a state across years (a reserve's flows):
    a rolling horizon fixes year t's once year t's window is solved, and keeps them at 0 beyond
    each window (``rolling.roll``)."""
    closing: bool = False
    """Built after every policy family (it reads the finished ledger)."""


AT_PRICE_RTOL = 1e-6
"""A price within this relative distance of a ceiling or trigger sits on it."""


def share_at_prices(prices: np.ndarray, levels: list[float]) -> float:
    """Share of ``prices`` sitting on any of ``levels`` (relative tolerance ``AT_PRICE_RTOL``);
    NaN when there are no prices."""
    if not len(prices):
        return float("nan")
    on = np.zeros(len(prices), dtype=bool)
    for level in levels:
        on |= np.abs(prices - level) <= AT_PRICE_RTOL * max(1.0, abs(level))
    return float(on.mean())


def family_data(family: PolicyFamily, scenario: Scenario, data: ModelData) -> Any:
    """``family.prepare(scenario, data)``, made on first use and kept in ``data.families`` (data
    made again for another scenario start with none). Asked for by the family's own hooks, so
    that the inputs never need to know which families exist."""
    if family.name not in data.families:
        data.families[family.name] = family.prepare(scenario, data) if family.prepare is not None else None
    return data.families[family.name]


class Registry:
    """The ordered policy families."""

    def __init__(self) -> None:
        self._families: list[PolicyFamily] = []

    def register(self, family: PolicyFamily) -> PolicyFamily:
        """Add a family (its name must be new); policy families are built before closing ones."""
        if any(known.name == family.name for known in self._families):
            raise ValueError(f"a policy family named {family.name!r} is already registered")
        section = family.section
        if section is not None and any(known.section and known.section.key == section.key for known in self._families):
            raise ValueError(f"the scenario section [{section.key}] already belongs to another family")
        if family.market_rules is not None:
            keys = set(family.market_rules.model_fields)
            taken = set(MarketPolicy.model_fields).union(
                *(known.market_rules.model_fields for known in self._families if known.market_rules is not None)
            )
            if keys & taken:
                raise ValueError(f"markets keys {sorted(keys & taken)} already belong to the market or another family")
        self._families.append(family)
        return family

    def unregister(self, name: str) -> None:
        """Remove a family (for tests that register one of their own)."""
        self._families = [family for family in self._families if family.name != name]

    def scenario_rules(self) -> ScenarioRules:
        """What the families add to a scenario file, for ``inputs.scenario.load_scenario``: their
        own tables, their keys in ``[markets.NAME]`` and their checks, in build order."""
        return ScenarioRules(
            sections={family.name: (family.section.key, family.section.model) for family in self if family.section is not None},
            market={family.name: family.market_rules for family in self if family.market_rules is not None},
            checks=tuple(family.check for family in self if family.check is not None),
        )

    def scenario_warnings(self, scenario: Scenario) -> list[InputWarning]:
        """Every family's warnings about its settings, in build order."""
        return [warning for family in self if family.scenario_warnings is not None for warning in family.scenario_warnings(scenario)]

    def __iter__(self) -> Iterator[PolicyFamily]:
        """Families in build order: policy families as registered, then the closing ones."""
        yield from (family for family in self._families if not family.closing)
        yield from (family for family in self._families if family.closing)

    def __getitem__(self, name: str) -> PolicyFamily:
        return next(family for family in self._families if family.name == name)

    def sections(self) -> list[PolicyFamily]:
        return [family for family in self if family.section is not None]

    def variables(self) -> list[str]:
        return [name for family in self for name in family.variables]

    def rows(self) -> list[str]:
        return [name for family in self for name in family.rows]


FAMILIES = Registry()
"""Every policy family optimodel builds; ``optimodel/model/build.py`` registers the built-in ones."""
