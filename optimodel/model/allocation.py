"""Allocation: the allowances each market-year issues, from absolute caps or benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.core as pyo

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.registry import DiagnosisBounds, PolicyFamily, WarmMove


def add_allocation(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""Issued allowances per market-year, into the ledger ``terms.issued``.

    .. math::

        I_{m,t} = \sum_{k \in m,\ \text{cap}} C_{k,t}
          + \sum_{k \in m,\ \text{benchmark}} \beta_{k,t} \sum_{f \in k}
            \Big(Q_{f,t} - \sum_{s \in S(f,t)} \lambda_s a_s\Big)

    A sector-year has either an absolute cap :math:`C_{k,t}` or an intensity benchmark
    :math:`\beta_{k,t}`. Under a benchmark a firm's allocation is benchmark x output, and output
    falls with output-reducing abatement (:math:`\lambda_s > 0`): the allocation moves with the
    firm's output inside the LP, which is the tradable-performance-standard effect. This family
    declares no row of its own; :math:`I_{m,t}` enters ``market_balance``, ``borrowing_limit``
    and ``withholding_limit``.

    | symbol | component | data column | unit |
    |---|---|---|---|
    | :math:`C_{k,t}` | constant of ``terms.issued`` | sector_years.cap_scaled (sectors.K.cap_tco2e) | scaled tCO2e |
    | :math:`\beta_{k,t}` | coefficient | sector_years.benchmark (sectors.K.benchmark) | tCO2e/unit |
    | :math:`Q_{f,t}` | constant | activity.output | unit of output |
    | :math:`\lambda_s` | coefficient on ``abatement[s]`` | steps.output_loss_per_tco2e (options.output_loss / GWP) | unit/tCO2e |
    """
    terms, years, markets = model.terms, data.years, data.markets
    for key, constant in issued_constants(data).items():
        terms.issued.add_constant(key, constant)
    steps = data.steps
    losing = np.flatnonzero(steps["output_loss_per_tco2e"].to_numpy() > 0)
    if not len(losing) or data.activity.empty:
        return
    benchmark = benchmark_by_firm_year(data)
    firm_market = data.firms["market"].to_numpy()
    for step in losing.tolist():
        firm, year = int(steps["firm"].iat[step]), int(steps["year"].iat[step])
        factor = benchmark.get((firm, year))
        if factor is None:
            continue
        key = (markets[firm_market[firm]], years[year])
        terms.issued.add_block(key, "abatement", np.array([step]), np.array([-factor * steps["output_loss_per_tco2e"].iat[step]]))


def issued_constants(data: ModelData) -> dict[tuple[str, int], float]:
    """Each market-year's issued allowances with no output given up (model units): its sectors'
    caps plus benchmark x output. The one computation the LP, the diagnosis and warm sweeps use."""
    issued = {(market, year): 0.0 for market in data.markets for year in data.years}
    sector_years = data.sector_years
    capped = sector_years[sector_years["cap_scaled"].notna()]
    for market, year, cap in zip(capped["market"].tolist(), capped["year"].tolist(), capped["cap_scaled"].tolist()):
        issued[(data.markets[market], data.years[year])] += cap
    activity = data.activity
    if activity.empty:
        return issued
    allocated = data.scaling.to_model(data.activity_benchmark() * activity["output"].to_numpy())
    firm_market = data.firms["market"].to_numpy()
    markets, years = firm_market[activity["firm"].to_numpy()].tolist(), activity["year"].tolist()
    # Added one firm-year at a time, in activity order, so that the sums are those of every run.
    for market, year, value in zip(markets, years, allocated.tolist()):
        issued[(data.markets[market], data.years[year])] += value
    return issued


def firm_allocation(data: ModelData, lost_output: np.ndarray) -> np.ndarray:
    """Each covered firm's free allocation per year, tCO2e, firm-major (firm x years): its
    sector's cap shared in proportion to baseline tCO2e (equally when the sector's baseline is
    zero), or benchmark x (output - ``lost_output``, the output given up to abatement)."""
    n_firms, n_years = len(data.firms), len(data.years)
    firm_index = np.repeat(np.arange(n_firms), n_years)
    year_index = np.tile(np.arange(n_years), n_firms)
    firm_sector = data.firms["sector"].to_numpy()[firm_index]
    baseline = data.scaling.from_model(data.firm_baselines["baseline_scaled"].to_numpy())
    cap = data.scaling.from_model(data.sector_year_table("cap_scaled"))
    sector_baseline = pd.Series(baseline).groupby([firm_sector, year_index]).transform("sum").to_numpy()
    sector_count = pd.Series(baseline).groupby([firm_sector, year_index]).transform("size").to_numpy()
    share = np.where(sector_baseline > 0, baseline / np.where(sector_baseline > 0, sector_baseline, 1.0), 1.0 / sector_count)
    caps = cap[firm_sector, year_index]
    allocation = np.where(np.isnan(caps), 0.0, caps * share)
    activity = data.activity
    if not activity.empty:
        position = activity["firm"].to_numpy() * n_years + activity["year"].to_numpy()
        allocation[position] = data.activity_benchmark() * (activity["output"].to_numpy() - lost_output[position])
    return allocation


def _diagnosis(data: ModelData, scenario: Scenario, bounds: DiagnosisBounds) -> None:
    bounds.most_issued = issued_constants(data)


def _warm_mask(dump: dict) -> None:
    # A cap of a year that already has one is a right-hand side: only which years are capped
    # (and so which rows exist) is structure.
    for policy in dump["sectors"].values():
        policy["cap_tco2e"] = sorted(policy["cap_tco2e"])
        if policy.get("cap_path"):
            policy["cap_path"] = {"from_year": policy["cap_path"]["from_year"]}
        # An auction share moves money only: the LP is the same.
        policy["auction_share"] = None


def _warm_move(move: WarmMove) -> None:
    base, point = issued_constants(move.base_data), issued_constants(move.point_data)
    move.shift_ledger("issued", {key: point[key] - base[key] for key in base})


def benchmark_by_firm_year(data: ModelData) -> dict[tuple[int, int], float]:
    """Benchmark (tCO2e per unit of output) of each firm-year whose sector allocates by benchmark."""
    activity = data.activity
    return dict(zip(zip(activity["firm"].tolist(), activity["year"].tolist()), data.activity_benchmark().tolist()))

FAMILY = PolicyFamily(
    name="allocation",
    title="Allocation",
    add=add_allocation,
    diagnosis=_diagnosis,
    warm_mask=_warm_mask,
    warm_move=_warm_move,
    # None of its numbers is one a Monte Carlo draw scales (costs, baselines, offset quantities).
    draw_neutral=True,
)
