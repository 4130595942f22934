"""optimodel: least-cost abatement and allowance prices for China's national ETS.

    >>> import optimodel
    >>> scenario = optimodel.load_scenario("scenarios/expansion.toml")
    >>> result = optimodel.solve(scenario)
    >>> result.prices          # market, year, price, price_low, price_high

The names below are imported when first used: ``import optimodel`` (and so the ``optimodel``
command) starts without loading Pyomo, pandas and HiGHS, so that ``--version``, a usage error or a
Ctrl-C in the first half second answer at once and in one line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optimodel.version import __version__

_EXPORTS = {
    "InfeasibleError": ".errors",
    "InputError": ".errors",
    "OptimodelError": ".errors",
    "SolverError": ".errors",
    "Result": ".results.tables",
    "Scenario": ".inputs.scenario",
    "load_scenario": ".api",
    "solve": ".api",
}
"""Public name -> the module that defines it."""

__all__ = [
    "InfeasibleError",
    "InputError",
    "OptimodelError",
    "Result",
    "Scenario",
    "SolverError",
    "__version__",
    "load_scenario",
    "solve",
]

if TYPE_CHECKING:
    from optimodel.api import load_scenario, solve
    from optimodel.errors import InfeasibleError, InputError, OptimodelError, SolverError
    from optimodel.inputs.scenario import Scenario
    from optimodel.results.tables import Result


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'optimodel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
