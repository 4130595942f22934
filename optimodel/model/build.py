"""build_model: the table of contents of the optimisation model."""

from __future__ import annotations

import pyomo.environ as pyo

from ..data import ModelData
from ..scenario import Scenario
from .abatement import add_abatement
from .allocation import add_allocation
from .banking import add_banking
from .collar import add_price_collar
from .market import add_market_balance
from .objective import add_objective
from .offsets import add_offsets
from .sets import add_sets


def build_model(data: ModelData, scenario: Scenario) -> pyo.ConcreteModel:
    """Declare the LP. Each family adds its variables, rows and ledger terms; the market
    balance and the objective come last because they read the finished ledger."""
    model = pyo.ConcreteModel(name=scenario.name)
    add_sets(model, data)
    add_abatement(model, data, scenario)
    add_allocation(model, data, scenario)
    add_banking(model, data, scenario)
    add_offsets(model, data, scenario)
    add_price_collar(model, data, scenario)
    add_market_balance(model, data, scenario)
    add_objective(model, data, scenario)
    return model
