"""optimodel: least-cost abatement and allowance prices for China's national ETS.

    >>> import optimodel
    >>> scenario = optimodel.load_scenario("scenarios/expansion.toml")
    >>> result = optimodel.solve(scenario)
    >>> result.prices          # market, year, price, price_low, price_high
"""

__version__ = "0.1.0"

from .api import solve  # noqa: E402
from .errors import InfeasibleError, InputError, OptimodelError, SolverError  # noqa: E402
from .results import Result  # noqa: E402
from .scenario import Scenario, load_scenario  # noqa: E402

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
