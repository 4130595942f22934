"""Index sets shared by every constraint family, declared once."""

from __future__ import annotations

import pyomo.core as pyo

from optimodel.inputs.data import ModelData
from optimodel.model.terms import ModelTerms


def add_sets(model: pyo.ConcreteModel, data: ModelData, materialise: bool = False) -> None:
    """Declare the sets and the shared ledger (``materialise``: column blocks as Pyomo Vars).

    | set | members |
    |---|---|
    | ``markets`` | market names |
    | ``years`` | scenario years |
    | ``market_years`` | markets x years: the index of every market row |
    | ``steps`` | positions 0..n-1 of ``data.steps`` (one abatement option of one firm in one year) |
    """
    model.markets = pyo.Set(initialize=data.markets, ordered=True)
    model.years = pyo.Set(initialize=data.years, ordered=True)
    model.market_years = pyo.Set(initialize=model.markets * model.years, ordered=True)
    model.steps = pyo.RangeSet(0, len(data.steps) - 1)
    model.terms = ModelTerms(model=model, materialise=materialise)
