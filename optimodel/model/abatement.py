"""Abatement: how much each firm abates with each option, and what is left of its emissions."""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.registry import DiagnosisBounds, DrawMove, PolicyFamily, SolvedModel
from optimodel.model.terms import BlockRow, group_positions


def add_abatement(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""Abatement variables, the baseline limit, and each market-year's verified emissions.

    .. math::

        0 \le a_s \le \bar a_s \qquad \forall s \in \text{steps}

        \sum_{s \in S(f,g,t)} a_s \le B_{f,g,t} \qquad \forall (f,g,t) \in \text{baseline\_limits}

        E_{m,t} = \sum_{f \in m} B_{f,t} - \sum_{s \in S(m,t)} a_s

    ``baseline_limit`` (a firm never abates more of a gas than it emits) is declared only for the
    firm-gas-years whose options together could exceed the baseline; elsewhere it cannot bind.
    Its dual is the scarcity rent of the firm's baseline; it yields no market price.
    :math:`E_{m,t}` goes into the ledger ``terms.emissions`` for the market balance and the
    offset limit. The abatement cost :math:`\delta_t c_s a_s` goes into ``terms.cost``.
    :math:`a_s` is a column block (``terms.ColumnBlock``: arrays, not one Pyomo variable per step)
    and ``baseline_limit`` its block rows; the reference formulation (``build_model(...,
    materialise=True)``) declares both as Pyomo components, and the tests compile it with Pyomo.

    | symbol | component | data column | unit |
    |---|---|---|---|
    | :math:`a_s` | ``abatement[step]`` | | scaled tCO2e |
    | :math:`\bar a_s` | bound of ``abatement`` | steps.potential_scaled (options.potential_t x GWP, at most the baseline) | scaled tCO2e |
    | :math:`c_s` | objective coefficient | steps.cost_per_tco2e (options.cost_per_t / GWP) | money/tCO2e |
    | :math:`B_{f,g,t}` | ``baseline_limit`` right-hand side | baselines.baseline_scaled (emissions.baseline_t x GWP) | scaled tCO2e |
    | :math:`\delta_t` | discount weight | (1 + discount_rate)^-(t - t0) | - |
    """
    steps = data.steps
    terms = model.terms
    # One column block: no Pyomo object per step (``terms.ColumnBlock``).
    terms.declare_block("abatement", steps["potential_scaled"].to_numpy())

    limit_members = group_positions(steps["limit"].to_numpy())
    limit_members.pop((-1,), None)
    baseline_scaled = data.baseline_limits["baseline_scaled"].tolist()
    terms.add_block_rows(
        "baseline_limit",
        [
            BlockRow(limit, baseline_scaled[limit], ("abatement", members, np.ones(len(members))))
            for (limit,), members in sorted(limit_members.items())
        ],
    )

    years, markets = data.years, data.markets
    firm_market = data.firms["market"].to_numpy()
    baselines = data.firm_baselines
    for (market, year), members in group_positions(
        firm_market[baselines["firm"].to_numpy()], baselines["year"].to_numpy()
    ).items():
        terms.emissions.add_constant((markets[market], years[year]), baselines["baseline_scaled"].to_numpy()[members].sum())
    for (market, year), members in group_positions(steps["market"].to_numpy(), steps["year"].to_numpy()).items():
        terms.emissions.add_block((markets[market], years[year]), "abatement", members, -np.ones(len(members)))

    weight = data.discount[steps["year"].to_numpy()] * steps["cost_per_tco2e"].to_numpy()
    terms.cost.add_block(None, "abatement", np.arange(len(steps)), weight)


def lowest_reachable_emissions(data: ModelData) -> dict[tuple[str, int], float]:
    """Each market-year's emissions with every option at full use (model units): per firm, gas
    and year the options abate at most the baseline."""
    steps = data.steps
    keys = ["firm", "gas", "year"]
    most = steps.groupby(keys)["potential_scaled"].sum().rename("most").reset_index()
    merged = data.baselines.merge(most, on=keys, how="left").fillna({"most": 0.0})
    merged["lowest"] = merged["baseline_scaled"] - merged[["most", "baseline_scaled"]].min(axis=1)
    merged["market"] = data.firms["market"].to_numpy()[merged["firm"].to_numpy()]
    totals = merged.groupby(["market", "year"])["lowest"].sum()
    return {
        (data.markets[market], data.years[year]): float(totals.get((market, year), 0.0))
        for market in range(len(data.markets))
        for year in range(len(data.years))
    }


def _diagnosis(data: ModelData, scenario: Scenario, bounds: DiagnosisBounds) -> None:
    bounds.lowest_emissions = lowest_reachable_emissions(data)


def _reported_cost(solved: SolvedModel, result) -> float:
    firms = result.firms
    discount = solved.data.discount_by_year()
    return float((firms["abatement_cost"] * firms["year"].map(discount)).sum())


def _draw_move(move: DrawMove) -> None:
    """Costs of the steps times their cost multipliers; potentials, baseline limits and each
    market-year's baseline emissions times their firms' baseline multipliers."""
    data, compiled = move.data, move.compiled
    if "abatement" not in move.cache:
        positions = compiled.columns.get("abatement", {})
        steps = np.fromiter(positions.keys(), dtype=np.int64, count=len(positions))
        limits = compiled.rows.get("baseline_limit", {})
        limit_keys = np.fromiter(limits.keys(), dtype=np.int64, count=len(limits))
        baselines = data.firm_baselines
        firm = baselines["firm"].to_numpy()
        move.cache["abatement"] = {
            "steps": steps,
            "columns": np.fromiter(positions.values(), dtype=np.int64, count=len(positions)),
            "step_firm": data.steps["firm"].to_numpy()[steps],
            "limit_rows": np.fromiter(limits.values(), dtype=np.int64, count=len(limits)),
            "limit_firm": data.baseline_limits["firm"].to_numpy()[limit_keys],
            "baseline_firm": firm,
            "baseline": baselines["baseline_scaled"].to_numpy(),
            # Each baseline row's market-year as one integer (market position x years + year position).
            "market_year": data.firms["market"].to_numpy()[firm] * len(data.years) + baselines["year"].to_numpy(),
        }
    cache = move.cache["abatement"]
    columns = cache["columns"]
    move.cost[columns] = move.base_cost[columns] * move.step_cost[cache["steps"]]
    firm_multiplier = move.firm_baseline
    move.col_upper[columns] = move.base_col_upper[columns] * firm_multiplier[cache["step_firm"]]
    rows = cache["limit_rows"]
    move.row_upper[rows] = move.base_row_upper[rows] * firm_multiplier[cache["limit_firm"]]
    changes = cache["baseline"] * (firm_multiplier[cache["baseline_firm"]] - 1.0)
    years = len(data.years)
    totals = np.bincount(cache["market_year"], weights=changes, minlength=len(data.markets) * years)
    move.shift_ledger(
        "emissions",
        {(data.markets[code // years], data.years[code % years]): float(totals[code]) for code in np.flatnonzero(totals)},
    )


FAMILY = PolicyFamily(
    name="abatement",
    title="Abatement",
    add=add_abatement,
    variables=("abatement",),
    rows=("baseline_limit",),
    reported_cost=_reported_cost,
    diagnosis=_diagnosis,
    draw_move=_draw_move,
)
