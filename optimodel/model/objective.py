"""The objective: total discounted cost."""

from __future__ import annotations

import pyomo.core as pyo

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model.registry import PolicyFamily


def add_objective(model: pyo.ConcreteModel, data: ModelData, scenario: Scenario) -> None:
    r"""Minimise total discounted cost, in money of the first year divided by the model unit.

    .. math::

        \min \sum_t \delta_t \Big( \sum_{s \in S(t)} c_s a_s + \sum_{o,m} p_o u_{o,m,t}
        + \sum_m P^{\max}_m z_{m,t} - \sum_m P^{\min}_m w_{m,t} \Big),
        \qquad \delta_t = (1 + r)^{-(t - t_0)}

    Each family adds its own terms to the ledger ``terms.cost``; this reads the finished ledger.
    Floor withholding enters with a negative sign: it is the value of allowances taken out.

    | symbol | component | scenario | unit |
    |---|---|---|---|
    | :math:`\delta_t` | cost coefficients | discount_rate | - |
    | objective | ``total_cost`` | summary.json objective (x model_unit_tco2e) | money / model unit |

    Quantities are counted in model units of ``model_unit_tco2e`` tCO2e (``units.py``) and costs
    stay per tCO2e, so the objective is in money divided by that unit: million money when the unit
    is 1 Mt (the national market), plain money in a two-firm test counted in tonnes.
    """
    model.total_cost = pyo.Objective(expr=model.terms.expression([(1.0, "cost", None)]), sense=pyo.minimize)


# Its coefficients are the ledger the other families move; it has no numbers of its own.
FAMILY = PolicyFamily(name="objective", title="Objective", add=add_objective, closing=True, draw_neutral=True)
