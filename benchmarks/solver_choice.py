"""Time HiGHS strategies on one built LP (the choice of default in docs/performance.md).

    .venv/bin/python benchmarks/solver_choice.py SCENARIO [strategy ...]

Strategies: dual (dual simplex, presolve off), dual_presolve, ipm (IPM + crossover, presolve
off), ipm_presolve, pdlp. Each runs once on a fresh Highs object; prints wall seconds,
iterations and the objective.
"""

from __future__ import annotations

import sys
import time

import optimodel
from optimodel.inputs.data import load_data
from optimodel.model import build_model
from optimodel.solver.compiler import compile_model
from optimodel.solver.session import _new_highs

STRATEGIES = {
    "dual": {"solver": "simplex", "presolve": "off", "simplex_strategy": 1},
    "dual_presolve": {"solver": "simplex", "presolve": "on", "simplex_strategy": 1},
    "primal": {"solver": "simplex", "presolve": "off", "simplex_strategy": 4},
    "ipm": {"solver": "ipm", "presolve": "off", "run_crossover": "on"},
    "ipm_presolve": {"solver": "ipm", "presolve": "on", "run_crossover": "on"},
    "pdlp": {"solver": "pdlp", "presolve": "off"},
}


def main() -> None:
    scenario = optimodel.load_scenario(sys.argv[1])
    names = sys.argv[2:] or list(STRATEGIES)
    started = time.perf_counter()
    data = load_data(scenario)
    compiled = compile_model(build_model(data, scenario))
    print(f"load+build {time.perf_counter() - started:.1f} s; rows {compiled.shape[0]}, columns {compiled.shape[1]}", flush=True)
    for name in names:
        highs = _new_highs(compiled, scenario)
        for option, value in STRATEGIES[name].items():
            highs.setOptionValue(option, value)
        highs.setOptionValue("time_limit", 300.0)
        started = time.perf_counter()
        highs.run()
        seconds = time.perf_counter() - started
        info = highs.getInfo()
        print(
            f"{name:14s} {seconds:8.2f} s  status {highs.modelStatusToString(highs.getModelStatus()):10s} "
            f"simplex {info.simplex_iteration_count:7d} ipm {info.ipm_iteration_count:4d} "
            f"objective {info.objective_function_value:.9e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
