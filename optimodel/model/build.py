"""build_model and the table of contents of the optimisation model: the registered families.

A new policy family is one module (its ``add_*`` with the math in its docstring, and a
``FAMILY`` object with its hooks, see ``registry.PolicyFamily``) and one line below.
"""

from __future__ import annotations

import pyomo.core as pyo
from pyomo.common.gc_manager import PauseGC

from optimodel.inputs.data import ModelData
from optimodel.inputs.scenario import Scenario
from optimodel.model import abatement, allocation, banking, capacity, collar, market, objective, offsets, reserve
from optimodel.model.registry import FAMILIES
from optimodel.model.sets import add_sets

FAMILIES.register(abatement.FAMILY)
FAMILIES.register(capacity.FAMILY)
FAMILIES.register(allocation.FAMILY)
FAMILIES.register(banking.FAMILY)
FAMILIES.register(offsets.FAMILY)
FAMILIES.register(collar.FAMILY)
FAMILIES.register(reserve.FAMILY)
FAMILIES.register(market.FAMILY)
FAMILIES.register(objective.FAMILY)


def build_model(data: ModelData, scenario: Scenario, materialise: bool = False) -> pyo.ConcreteModel:
    """Declare the LP. Each family adds its variables, rows and ledger terms in registration
    order; the closing families (market balance, objective) come last because they read the
    finished ledger. Large column blocks (abatement) are arrays the compiler places itself;
    ``materialise`` declares them as Pyomo variables instead, the reference formulation that
    ``tests/test_compiler.py`` compiles with Pyomo's own compiler."""
    # Building creates a few hundred thousand Pyomo objects and no garbage cycles: Python's cyclic
    # collector would rescan them over and over (measured: 1.9 s of build becomes 0.45 s without).
    with PauseGC():
        model = pyo.ConcreteModel(name=scenario.name)
        add_sets(model, data, materialise)
        for family in FAMILIES:
            family.add(model, data, scenario)
    return model
