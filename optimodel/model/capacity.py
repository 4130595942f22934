"""Abatement as investment: capacity built once and in service for its lifetime (contract section 12).

A row of the options table with ``lifetime_years`` is a capacity option: the firm builds
capacity (tonnes of the gas a year) in some year, pays for it once, and may then abate up to the
capacity in service in every year of its life, paying only ``cost_per_t`` (operating) per tonne.
The capital is charged as an annuity-due over the lifetime, in the years the capacity serves and
the model sees: a full life of charges is worth exactly the capex in the build year, and charges
past the last modelled year are never counted (their value is the capacity's salvage value), so
the horizon's end neither rushes nor holds back a build.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.core as pyo
from pydantic import Field

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import ClosedModel, Scenario
from optimodel.model.lp import CrashBlock
from optimodel.model.registry import DrawMove, PolicyFamily, ReportContext, ScenarioSection, SolvedModel, WarmMove, family_data
from optimodel.model.terms import BlockRowSet


class InvestmentOptions(ClosedModel):
    """``[investment]``: how capacity options are charged (contract section 12)."""

    interest_rate: float | None = Field(default=None, ge=0.0, le=1.0, allow_inf_nan=False)
    """Rate of the annuity that spreads a build's capex over its lifetime (a fraction: 0.08 is
    8 %/yr); default the scenario's ``discount_rate``."""
    lifetimes: bool = True
    """False: every capacity option is an annual step at ``cost_per_t`` plus its levelised
    annual charge per tonne (no builds): the annual menu, to compare lock-in against."""
    capex_multiplier: float = Field(default=1.0, ge=0.0, le=1.0e3, allow_inf_nan=False)
    """Multiplies every capacity option's ``capex_per_t`` (optional addition: the key a sweep
    moves to try dearer or cheaper capital, warm)."""
    max_build_multiplier: float = Field(default=1.0, ge=0.0, le=1.0e3, allow_inf_nan=False)
    """Multiplies every ``max_build_t`` (optional addition, swept warm)."""


def investment(scenario: Scenario) -> InvestmentOptions:
    """The scenario's ``[investment]`` (its defaults when the file gives none)."""
    return scenario.section(InvestmentOptions) or InvestmentOptions()


def annual_charge(capex: np.ndarray, rate: float, lifetime: np.ndarray) -> np.ndarray:
    """The annuity-due on ``capex`` over ``lifetime`` years at ``rate``: paid at the start of each
    year of service, its present value in the build year is exactly ``capex``:
    ``capex x r / ((1 + r) x (1 - (1 + r)^-L))``, and ``capex / L`` when r = 0."""
    capex = np.asarray(capex, dtype=float)
    lifetime = np.asarray(lifetime, dtype=float)
    if rate == 0.0:
        return capex / lifetime
    return capex * rate / ((1.0 + rate) * (1.0 - (1.0 + rate) ** -lifetime))


@dataclass(frozen=True)
class CapacityData:
    """The capacity options of one scenario, one entry per capacity step (a capacity option's
    row in one modelled year), ordered by option then year. Build ``j`` is the capacity built in
    step ``j``'s year, at most ``max_build``, serving the steps of the same option whose
    calendar year lies within its lifetime."""

    steps: np.ndarray
    """Position in ``data.steps`` of each capacity step."""
    unit: np.ndarray
    """The capacity option (firm, option, gas) of each step, numbered from 0."""
    charge: np.ndarray
    """Annual charge of one model unit of capacity built in the step's year, money per year of service."""
    build_cost: np.ndarray
    """Objective coefficient of each build: its charge times the discount weights of the modelled
    years it serves (first-year money)."""
    served: np.ndarray
    """Capacity step served, one entry per (served step, build) pair."""
    serving: np.ndarray
    """Build serving it, same length as ``served``."""
    max_build: np.ndarray
    """Most built in each step's year, model units a year (inf: no limit)."""
    labels: list[tuple[str, int, int]]
    """(market, year, option number) of each build: its index in ``CompiledLp.columns["build"]``."""
    first_served: np.ndarray
    """Position in the modelled years of the first and one past the last year each build serves."""
    last_served: np.ndarray
    rate: float
    lifetimes: bool

    def build_columns(self, compiled) -> np.ndarray:
        """The LP column of each build."""
        columns = compiled.columns.get("build", {})
        return np.array([columns[label] for label in self.labels], dtype=np.int64)

    def abatement_columns(self, compiled) -> np.ndarray:
        """The LP column of each capacity step's abatement."""
        columns = compiled.columns["abatement"]
        return np.array([columns[int(step)] for step in self.steps], dtype=np.int64)

    def window_cost(self, discount: np.ndarray, last: int) -> np.ndarray:
        """Each build's objective coefficient when the model sees years up to position ``last``."""
        cumulative = np.concatenate(([0.0], np.cumsum(discount)))
        end = np.minimum(self.last_served, last + 1)
        return self.charge * np.maximum(cumulative[end] - cumulative[np.minimum(self.first_served, end)], 0.0)


def prepare_capacity(scenario: Scenario, data: ModelData) -> CapacityData:
    """Capacity steps, the builds that serve each of them, and their charges."""
    options = investment(scenario)
    rate = scenario.discount_rate if options.interest_rate is None else options.interest_rate
    steps = data.steps
    lifetime_all = steps["lifetime"].to_numpy()
    positions = np.flatnonzero(lifetime_all > 0)
    # Codes of the capacity rows only: an instance without capacity options pays nothing here.
    option_codes = _codes(steps["option"], positions)
    gas_codes = _codes(steps["gas"], positions)
    firm = steps["firm"].to_numpy()[positions]
    year = steps["year"].to_numpy()[positions]
    order = np.lexsort((year, gas_codes, option_codes, firm))
    positions, firm, option_codes, gas_codes, year = (array[order] for array in (positions, firm, option_codes, gas_codes, year))
    new_unit = np.ones(len(positions), dtype=bool)
    new_unit[1:] = (firm[1:] != firm[:-1]) | (option_codes[1:] != option_codes[:-1]) | (gas_codes[1:] != gas_codes[:-1])
    unit = np.cumsum(new_unit) - 1
    lifetime = lifetime_all[positions]
    calendar = np.asarray(data.years, dtype=np.int64)[year]
    charge = annual_charge(steps["capex_per_tco2e"].to_numpy()[positions] * options.capex_multiplier, rate, lifetime)
    # A build serves the modelled years from its own to its last year of service.
    modelled = np.asarray(data.years, dtype=np.int64)
    first_served = np.searchsorted(modelled, calendar)
    last_served = np.searchsorted(modelled, calendar + lifetime - 1, side="right")
    cumulative = np.concatenate(([0.0], np.cumsum(data.discount)))
    build_cost = charge * (cumulative[last_served] - cumulative[first_served])
    # Pairs (served step, build) within one option: the build's year up to lifetime - 1 years before.
    served, serving = [], []
    for offset in range(len(modelled)):
        later = np.arange(len(positions) - offset)
        same = unit[later + offset] == unit[later]
        within = calendar[later + offset] <= calendar[later] + lifetime[later] - 1
        chosen = later[same & within]
        if not len(chosen) and not same.any():
            break
        served.append(chosen + offset)
        serving.append(chosen)
    market = steps["market"].to_numpy()[positions]
    labels = [(data.markets[m], int(y), int(u)) for m, y, u in zip(market.tolist(), calendar.tolist(), unit.tolist())]
    return CapacityData(
        max_build=steps["max_build_scaled"].to_numpy()[positions] * options.max_build_multiplier,
        labels=labels,
        first_served=first_served,
        last_served=last_served,
        steps=positions,
        unit=unit,
        charge=charge,
        build_cost=build_cost,
        served=np.concatenate(served) if served else np.zeros(0, dtype=np.int64),
        serving=np.concatenate(serving) if serving else np.zeros(0, dtype=np.int64),
        rate=float(rate),
        lifetimes=options.lifetimes,
    )


def add_capacity(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""Capacity options: builds, capacity in service, and abatement within it.

    .. math::

        0 \le x_{u,v} \le \bar x_{u,v}, \qquad
        K_{u,t} = \sum_{v \le t \le v + L_{u,v} - 1} x_{u,v}

        a_{s(u,t)} - K_{u,t} \le 0 \qquad \forall (u,t) \quad (\texttt{capacity\_use})

        K_{u,t} \le P_{u,t} \qquad \forall (u,t) \quad (\texttt{capacity\_potential})

        \text{cost } x_{u,v} \, \alpha_{u,v} \sum_{t \in T,\ v \le t \le v + L_{u,v} - 1} \delta_t,
        \qquad \alpha = \text{capex} \cdot \frac{r}{(1 + r)(1 - (1 + r)^{-L})}

    :math:`u` is a capacity option (a firm, option and gas whose rows give ``lifetime_years``),
    :math:`v` and :math:`t` modelled years in which it has a row. Capacity built in :math:`v`
    serves the calendar years :math:`v .. v + L - 1`; its annual charge :math:`\alpha` (an
    annuity-due, :math:`\text{capex}/L` at :math:`r = 0`) is paid in each of them the model sees.
    The step :math:`a_s` keeps its operating cost :math:`c_s` (``add_abatement``). Both rows yield
    no market price: the dual of ``capacity_use`` is the rent of one more unit of capacity in
    service in that year, that of ``capacity_potential`` the value of more technical potential.
    With ``[investment] lifetimes = false`` there are no builds: each capacity step becomes an
    annual step costing :math:`c_s + \alpha` (the levelised annual menu).

    | symbol | component | data column | unit |
    |---|---|---|---|
    | :math:`x_{u,v}` | ``build[j]`` (a column block) | | scaled tCO2e/yr |
    | :math:`\bar x_{u,v}` | bound of ``build`` | options.max_build_t x GWP (blank: none) | scaled tCO2e/yr |
    | :math:`L_{u,v}` | | options.lifetime_years | years |
    | :math:`\text{capex}` | | options.capex_per_t / GWP | money per tCO2e/yr |
    | :math:`r` | | investment.interest_rate (default discount_rate) | - |
    | :math:`P_{u,t}` | ``capacity_potential`` right-hand side | options.potential_t x GWP | scaled tCO2e/yr |
    | :math:`a_s` | ``abatement[step]`` | see ``add_abatement`` | scaled tCO2e |
    """
    capacity: CapacityData = family_data(FAMILY, scenario, data)
    if not len(capacity.steps):
        return
    terms = model.terms
    years = data.steps["year"].to_numpy()[capacity.steps]
    if not capacity.lifetimes:
        terms.cost.add_block(None, "abatement", capacity.steps, data.discount[years] * capacity.charge)
        return
    steps = data.steps
    terms.declare_block("build", capacity.max_build, labels=capacity.labels)
    terms.cost.add_block(None, "build", np.arange(len(capacity.steps)), capacity.build_cost)
    rows = np.arange(len(capacity.steps))
    technical = steps["technical_scaled"].to_numpy()[capacity.steps]
    terms.add_block_row_set(
        "capacity_use",
        BlockRowSet(
            range(len(capacity.steps)),
            np.zeros(len(capacity.steps)),
            (
                ("abatement", rows, capacity.steps, np.ones(len(rows))),
                ("build", capacity.served, capacity.serving, -np.ones(len(capacity.served))),
            ),
        ),
    )
    terms.add_block_row_set(
        "capacity_potential",
        BlockRowSet(range(len(capacity.steps)), technical, (("build", capacity.served, capacity.serving, np.ones(len(capacity.served))),)),
    )


def capacity_table(solved: SolvedModel) -> pd.DataFrame | None:
    """capacity.csv: per capacity option and modelled year, what is built, in service and abated
    (t of the gas a year), the capex of the year's builds and the year's charges on the capacity
    in service (money of the year). None when the scenario has no capacity option."""
    data = solved.data
    capacity: CapacityData = family_data(FAMILY, solved.scenario, data)
    if not len(capacity.steps):
        return None
    cached = _TABLES.get(id(solved.solution))
    if cached is not None and cached[0] is solved.solution:
        return cached[1]
    steps = data.steps
    option = _names(steps["option"], capacity.steps)
    gas = _names(steps["gas"], capacity.steps)
    gwp = np.array([data.gwp[name] for name in gas], dtype=float)
    values = solved.solution.col_value
    abated = values[capacity.abatement_columns(solved.compiled)]
    built = values[capacity.build_columns(solved.compiled)] if capacity.lifetimes else np.zeros(len(capacity.steps))
    built = np.clip(built, 0.0, None)
    in_service: np.ndarray = np.bincount(capacity.served, weights=built[capacity.serving], minlength=len(capacity.steps))
    charges: np.ndarray = np.bincount(capacity.served, weights=(built * capacity.charge)[capacity.serving], minlength=len(capacity.steps))
    if not capacity.lifetimes:
        # The annual menu: a levelised charge per tonne abated, no builds.
        in_service = np.zeros(len(capacity.steps))
        charges = np.clip(abated, 0.0, None) * capacity.charge
    scaling = data.scaling
    to_tonnes = scaling.from_model(np.ones(1))[0] / gwp
    firm_ids = data.firms["firm_id"].to_numpy()[steps["firm"].to_numpy()[capacity.steps]]
    table = pd.DataFrame(
        {
            "firm_id": firm_ids,
            "option": option,
            "gas": gas,
            "year": np.asarray(data.years)[steps["year"].to_numpy()[capacity.steps]],
            "built_t": built * to_tonnes,
            "in_service_t": in_service * to_tonnes,
            "abated_t": np.clip(abated, 0.0, None) * to_tonnes,
            "capex": built * to_tonnes * gwp * steps["capex_per_tco2e"].to_numpy()[capacity.steps] * investment(solved.scenario).capex_multiplier,
            "capital_charge": scaling.money_from_model(charges),
        }
    )
    # capacity.csv, its totals and its certificate term read the same table: made once a solve.
    _TABLES.clear()
    _TABLES[id(solved.solution)] = (solved.solution, table)
    return table


_TABLES: dict[int, tuple[object, pd.DataFrame]] = {}
"""The last solve's capacity table (keyed by its solution), for the three hooks that read it."""


def _codes(column: pd.Series, positions: np.ndarray) -> np.ndarray:
    """Codes, in name order, of a text column at ``positions``."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy()[positions]
    return pd.Categorical(column.to_numpy()[positions]).codes


def _names(column: pd.Series, positions: np.ndarray) -> np.ndarray:
    """The text of a categorical column at ``positions``, converting only those."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.categories, dtype=object)[column.cat.codes.to_numpy()[positions]]
    return column.to_numpy()[positions].astype(str)


def _reported_cost(solved: SolvedModel, result) -> float:
    """The capital charges in the objective, first-year money, recomputed from capacity.csv."""
    table = capacity_table(solved)
    if table is None:
        return 0.0
    discount = solved.data.discount_by_year()
    return float((table["capital_charge"] * table["year"].map(discount)).sum())


def _tables(solved: SolvedModel) -> dict[str, pd.DataFrame]:
    table = capacity_table(solved)
    return {} if table is None else {"capacity": table}


def _money_by_year(solved: SolvedModel) -> dict[str, dict[int, float]]:
    """summary.json totals: ``capex`` and ``capital_charges`` per year (money of the year)."""
    table = capacity_table(solved)
    years = solved.data.years
    if table is None:
        return {"capex": dict.fromkeys(years, 0.0), "capital_charges": dict.fromkeys(years, 0.0)}
    by_year = table.groupby("year")[["capex", "capital_charge"]].sum()
    return {
        "capex": {year: float(by_year["capex"].get(year, 0.0)) for year in years},
        "capital_charges": {year: float(by_year["capital_charge"].get(year, 0.0)) for year in years},
    }


def _draw_move(move: DrawMove) -> None:
    """Cost and capex multipliers scale each build's capital charge (a capex factor reaches the
    charge alone, a cost factor the operating cost too, through ``abatement``); a baseline
    multiplier scales each option's technical potential like its potential."""
    capacity = move.data.families.get("capacity")
    if not isinstance(capacity, CapacityData) or not len(capacity.steps):
        return
    multiplier = move.step_cost[capacity.steps] * move.step_capex[capacity.steps]
    if not capacity.lifetimes:
        # The levelised charge sits in the step's cost, which ``abatement`` scaled by the cost
        # multiplier alone: the capex multiplier scales that charge's share on top.
        columns = capacity.abatement_columns(move.compiled)
        charge = move.data.discount[move.data.steps["year"].to_numpy()[capacity.steps]] * capacity.charge
        move.cost[columns] += charge * move.step_cost[capacity.steps] * (move.step_capex[capacity.steps] - 1.0)
        return
    columns = capacity.build_columns(move.compiled)
    move.cost[columns] = move.base_cost[columns] * multiplier
    potential = move.compiled.rows.get("capacity_potential", {})
    kept = np.array([index for index in range(len(capacity.steps)) if index in potential], dtype=np.int64)
    rows = np.array([potential[int(index)] for index in kept], dtype=np.int64)
    firm = move.data.steps["firm"].to_numpy()[capacity.steps[kept]]
    move.row_upper[rows] = move.base_row_upper[rows] * move.firm_baseline[firm]


WARM_KEYS = ("interest_rate", "capex_multiplier", "max_build_multiplier")
"""``[investment]`` numbers a warm sweep moves in the built LP (objective coefficients and bounds)."""


def _warm_mask(dump: dict) -> None:
    section = dump.get("sections", {}).get("capacity")
    if section is not None:
        for key in WARM_KEYS:
            section[key] = None


def _warm_move(move: WarmMove) -> None:
    """New charges and build limits from the point's ``[investment]``."""
    capacity: CapacityData = family_data(FAMILY, move.point, move.point_data)
    if not len(capacity.steps):
        return
    data = move.point_data
    if not capacity.lifetimes:
        columns = capacity.abatement_columns(move.compiled)
        weight = data.discount[data.steps["year"].to_numpy()[capacity.steps]]
        move.cost[columns] = weight * (data.steps["cost_per_tco2e"].to_numpy()[capacity.steps] + capacity.charge)
        return
    columns = capacity.build_columns(move.compiled)
    move.cost[columns] = capacity.build_cost
    move.col_upper[columns] = capacity.max_build


def _window_costs(data: ModelData, compiled, last: int) -> tuple[np.ndarray, np.ndarray]:
    """A rolling window that sees the modelled years up to position ``last`` charges a build only
    for the years it serves within them (contract section 12)."""
    capacity = data.families.get("capacity")
    if not isinstance(capacity, CapacityData) or not compiled.columns.get("build"):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return capacity.build_columns(compiled), capacity.window_cost(data.discount, last)


def _crash_block(compiled) -> CrashBlock | None:
    """Builds basic, ``capacity_use`` tight and ``capacity_potential`` basic: each build serves its
    own step's row first, so the crash solves the capacity rows' duals from the builds' costs and
    prices every capacity step at its operating cost plus that capacity rent."""
    builds = compiled.columns.get("build")
    use = compiled.rows.get("capacity_use")
    potential = compiled.rows.get("capacity_potential")
    if not builds or not use or not potential or not len(builds) == len(use) == len(potential):
        return None
    # Block columns and rows are numbered by capacity step, in order (``add_capacity``).
    def positions(mapping) -> np.ndarray:
        return np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping))

    return CrashBlock(basic_columns=positions(builds), tight_rows=positions(use), basic_rows=positions(potential))


def _report_figures(context: ReportContext) -> list:
    """Capacity in service (lines) and builds (bars) by option, summed over firms (Mt CO2e a
    year is not shown: the table is in t of each option's gas, so each option is drawn alone)."""
    capacity = context.tables.get("capacity")
    if capacity is None or capacity.empty:
        return []
    import plotly.graph_objects as go

    by_option = capacity.groupby(["option", "gas", "year"], as_index=False)[["built_t", "in_service_t"]].sum()
    figure = go.Figure()
    for (option, gas), rows in by_option.groupby(["option", "gas"], sort=True):
        colour = context.colour("option", option)
        label = f"{option} ({gas})"
        figure.add_trace(go.Scatter(x=rows["year"], y=rows["in_service_t"] / 1e6, mode="lines+markers",
                                    name=f"{label}: in service", line={"color": colour}))
        figure.add_trace(go.Bar(x=rows["year"], y=rows["built_t"] / 1e6, name=f"{label}: built", marker={"color": colour}, opacity=0.5))
    figure.update_layout(title="Abatement capacity: built each year (bars) and in service (lines)", xaxis_title="year",
                         yaxis_title="Mt of the gas a year", barmode="group")
    return [figure]


FAMILY = PolicyFamily(
    name="capacity",
    title="Abatement capacity (investment)",
    add=add_capacity,
    section=ScenarioSection("investment", InvestmentOptions),
    prepare=prepare_capacity,
    reported_cost=_reported_cost,
    tables=_tables,
    tables_written=("capacity",),
    report_figures=_report_figures,
    crash_block=_crash_block,
    money_by_year=_money_by_year,
    draw_move=_draw_move,
    window_decided=("build",),
    window_costs=_window_costs,
    warm_mask=_warm_mask,
    warm_move=_warm_move,
)
