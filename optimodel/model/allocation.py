"""Allocation: the allowances each market-year issues, from absolute caps or benchmarks."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from ..data import ModelData
from ..scenario import Scenario


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
    sector_years = data.sector_years
    for row in sector_years[sector_years["cap_scaled"].notna()].itertuples(index=False):
        terms.issued.add_constant((markets[row.market], years[row.year]), row.cap_scaled)

    benchmark = benchmark_by_firm_year(data)
    if not benchmark:
        return
    activity = data.activity
    firm_market = data.firms["market"].to_numpy()
    for firm, year, output in zip(activity["firm"].tolist(), activity["year"].tolist(), activity["output"].tolist()):
        key = (markets[firm_market[firm]], years[year])
        terms.issued.add_constant(key, data.scaling.to_model(benchmark[(firm, year)] * output))

    steps = data.steps
    losing = np.flatnonzero(steps["output_loss_per_tco2e"].to_numpy() > 0)
    for step in losing.tolist():
        firm, year = int(steps["firm"].iat[step]), int(steps["year"].iat[step])
        factor = benchmark.get((firm, year))
        if factor is None:
            continue
        key = (markets[firm_market[firm]], years[year])
        terms.issued.add(key, [-factor * steps["output_loss_per_tco2e"].iat[step]], [model.abatement[step]])


def benchmark_by_firm_year(data: ModelData) -> dict[tuple[int, int], float]:
    """Benchmark (tCO2e per unit of output) of each firm-year whose sector allocates by benchmark."""
    sector_years = data.sector_years
    benchmarked = sector_years[sector_years["benchmark"].notna()]
    if benchmarked.empty:
        return {}
    by_sector_year = {
        (int(sector), int(year)): float(value)
        for sector, year, value in zip(benchmarked["sector"], benchmarked["year"], benchmarked["benchmark"])
    }
    firm_sector = data.firms["sector"].to_numpy()
    return {
        (firm, year): by_sector_year[(int(firm_sector[firm]), year)]
        for firm, year in zip(data.activity["firm"].tolist(), data.activity["year"].tolist())
    }
