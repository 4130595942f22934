"""The library's front door: ``solve(scenario) -> Result``."""

from __future__ import annotations

import gc
import hashlib
import logging
import platform
import time
from pathlib import Path

import numpy as np
from pyomo.common.gc_manager import PauseGC

from optimodel.inputs.data import ModelData, load_data
from optimodel.inputs.memory import check_building, release_freed_memory
from optimodel.inputs.plausibility import InputWarning, WarningCode, data_warnings, emit, one_per_kind, scenario_warnings
from optimodel.inputs.scenario import Scenario
from optimodel.inputs.scenario import load_scenario as read_scenario
from optimodel.model import build_model
from optimodel.model.build import FAMILIES
from optimodel.model.lp import CompiledLp, LpSolution
from optimodel.model.registry import SolvedModel
from optimodel.results.cbam import cbam_exposure
from optimodel.results.tables import Result, make_result, objective_money
from optimodel.solver.certificate import certify_lp, verify
from optimodel.solver.compiler import ConstantRowInfeasible, compile_model
from optimodel.solver.diagnose import constant_shortfalls, diagnose_infeasible, infeasible_lp_error, presolve_shortfalls, shortfall_error
from optimodel.solver.highs import resolved_method
from optimodel.solver.prices import prices_from_duals
from optimodel.solver.rolling import limited, roll
from optimodel.solver.session import Infeasible, LpSolver
from optimodel.version import __version__

log = logging.getLogger(__name__)

COLLECT_ABOVE_COLUMNS = 500_000
"""LPs with more columns free their Pyomo model (the cyclic collector) before the solve. The
default (193,643 columns) peaks at 0.48 GB either way; 10x (1.9M columns) would keep 1.2 GB more."""


def solve(scenario: Scenario, data: ModelData | None = None, max_memory: int | None = None, progress=None) -> Result:
    """Load the scenario's data (unless given), build the LP, solve it with HiGHS and return the
    result tables. Raises ``InputError``, ``InfeasibleError``, ``SolverError`` or, when the
    instance would need more than ``max_memory`` bytes, ``MemoryLimitError``. ``progress`` is
    called with the name of each stage as it starts (the loading stages of ``load_data``, then
    "build", "solve", "results")."""
    # The Pyomo model is millions of objects at 10x the default: a cyclic collection while it is
    # alive rescans them all (seconds, measured in benchmarks/README.md), and nothing here
    # creates cycles worth collecting before the model is dropped.
    with PauseGC():
        return _solve(scenario, data, max_memory, progress)


def _solve(scenario: Scenario, data: ModelData | None, max_memory: int | None, progress) -> Result:
    step = progress or (lambda stage: None)
    started = time.perf_counter()
    if data is None:
        data = load_data(scenario, max_memory=max_memory, progress=progress)
    loaded = time.perf_counter()
    log.info("loaded %d covered firms and %d abatement steps in %.2f s", len(data.firms), len(data.steps), loaded - started)
    warnings = input_warnings(scenario, data)
    emit(warnings)
    shortfalls = presolve_shortfalls(data, scenario)
    if shortfalls:
        raise shortfall_error(shortfalls, data)
    check_building(estimated_columns(data), max_memory)
    step("build")
    model = build_model(data, scenario)
    if constant_shortfalls(model):
        raise diagnose_infeasible(model, data, scenario)
    try:
        compiled = compile_model(model)
    except ConstantRowInfeasible:
        raise diagnose_infeasible(model, data, scenario) from None
    # From here on the compiled LP is all that is needed (results map back through its
    # positions; an infeasible solve is diagnosed on it). Pyomo's components and their data refer
    # to each other, so only the cyclic collector frees the model. On a large LP it is collected
    # now, before HiGHS allocates its own memory, so its 1.2 GB at 10x the default never add to
    # the peak; on a small one the collection (0.37 s on the default) costs more than the memory
    # it returns early, and the model goes when the command ends.
    del model
    if compiled.shape[1] > COLLECT_ABOVE_COLUMNS:
        gc.collect()
        # What loading and building freed goes back to the system before HiGHS takes its share.
        release_freed_memory()
    built = time.perf_counter()
    log.info("built the LP (%d rows, %d columns, %d nonzeros) in %.2f s", *compiled.shape, compiled.matrix.nnz, built - loaded)
    step("solve")
    plan = None
    solver = LpSolver(compiled, scenario)
    if limited(scenario):
        # Limited foresight: the windows decide each year's bank and price on this LP, warm; it
        # is then solved once more with every bank held there, for every other decision (horizon.py).
        plan = roll(compiled, solver, scenario, data)
    try:
        solution = solver.solve()
    except Infeasible:
        raise infeasible_lp_error(compiled, data, scenario) from None
    solved = time.perf_counter()
    log.info(
        "solved (%s) in %.2f s, price intervals in %.2f s",
        solution.status, solved - built - solution.interval_seconds, solution.interval_seconds,
    )
    step("results")
    result = result_for(scenario, data, compiled, solution, warnings, prices=plan.prices if plan else None)
    if plan is not None:
        result.summary["horizon"]["rolling"] = {"windows": plan.windows, "seconds": round(plan.seconds, 3)}
    result.summary["timings"] = {
        "load": round(loaded - started, 3),
        "build": round(built - loaded, 3),
        "solve": round(solved - built - solution.interval_seconds, 3),
        "price_intervals": round(solution.interval_seconds, 3),
        "results": round(time.perf_counter() - solved, 3),
        "total": round(time.perf_counter() - started, 3),
    }
    log.info("result tables and checks in %.2f s", result.summary["timings"]["results"])
    return result


def estimated_columns(data: ModelData) -> int:
    """Columns of the LP before it is built (for the memory check): the abatement steps, and
    for each family variable one column per market-year (offset purchases count one per step
    of supply: fewer than ten in every shipped scenario)."""
    market_years = len(data.markets) * len(data.years)
    # The abatement steps are nearly all of it; each family adds a few columns per market-year.
    return len(data.steps) + len(FAMILIES.variables()) * market_years


def input_warnings(scenario: Scenario, data: ModelData) -> list[InputWarning]:
    """Every warning about the scenario and its tables, one per kind (``plausibility``)."""
    return one_per_kind(all_scenario_warnings(scenario) + data_warnings(scenario, data))


def all_scenario_warnings(scenario: Scenario) -> list[InputWarning]:
    """The scenario's own warnings, then every family's about its settings."""
    return scenario_warnings(scenario) + FAMILIES.scenario_warnings(scenario)


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge, validate and check a scenario file, with the keys and checks of every
    registered policy family (``optimodel.load_scenario``). Raises ``InputError`` on any fault."""
    return read_scenario(path, FAMILIES.scenario_rules())


def result_for(
    scenario: Scenario,
    data: ModelData,
    compiled: CompiledLp,
    solution: LpSolution,
    warnings: list[InputWarning] | None = None,
    prices: dict[tuple[str, int], dict[str, float]] | None = None,
) -> Result:
    """Prices from the duals, the result tables, and the run summary (without timings).
    ``warnings`` are those already found for this scenario and data (found again when None).
    ``prices`` replaces the duals of this solve (a rolling horizon's come from its windows)."""
    if warnings is None:
        warnings = input_warnings(scenario, data)
    # The raw solution is certified before any rounding or clamping turns duals into prices.
    lp_checks = certify_lp(compiled, solution)
    if prices is None:
        prices = prices_from_duals(solution, compiled, data)
    result = make_result(scenario, data, compiled, solution, prices)
    result.summary = {
        "scenario": scenario.name,
        "status": solution.status,
        "objective": objective_money(data, solution),
        "model_unit_tco2e": data.scaling.tco2e_per_unit,
        "currency": scenario.currency,
        "timings": {"price_intervals": round(solution.interval_seconds, 3)},
        "solver": {
            "name": "HiGHS",
            "version": solution.solver_version,
            "method": resolved_method(scenario.solver.method, compiled.shape[1], scenario.solver.crash).value,
            "presolve": scenario.solver.presolve,
            "iterations": solution.iterations,
            **solution.residuals,
        },
        "model": {"rows": int(compiled.shape[0]), "columns": int(compiled.shape[1]), "nonzeros": int(compiled.matrix.nnz)},
        "inputs_sha256": combined_hash(data.input_hashes),
        "inputs": dict(data.input_hashes),
        "optimodel_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "versions": package_versions(),
        "scenario_resolved": scenario.resolved,
        "warnings": [warning.as_dict() for warning in warnings],
    }
    result.summary["checks"] = {**lp_checks, **verify(scenario, data, compiled, solution, result)}
    if solution.unverified:
        places = ", ".join(f"{market} {year}" for market, year in solution.unverified)
        bounded = InputWarning(
            WarningCode.price_interval_bound,
            f"the price interval of {places} is a bound, not exact: another step of the cost curve lies closer "
            "to the cap than the solver can resolve",
        )
        emit([bounded])
        result.summary["warnings"].append(bounded.as_dict())
    solved = SolvedModel(scenario, data, compiled, solution, result.firms)
    found = [warning for family in FAMILIES if family.result_warnings is not None for warning in family.result_warnings(solved, result)]
    if found:
        emit(found)
        result.summary["warnings"].extend(warning.as_dict() for warning in found)
    family_money = {
        name: by_year for family in FAMILIES if family.money_by_year is not None for name, by_year in family.money_by_year(solved).items()
    }
    _report_scenario_years(scenario, data, result)
    result.summary["totals"] = money_totals(data, result, family_money)
    result.cbam = cbam_exposure(scenario, result.sectors, result.firms, result.prices)
    result.inputs = {
        table: path
        for table in ("firms", "emissions", "options", "activity")
        if (path := getattr(scenario.data, table)) is not None
    }
    result.reads = scenario.files
    return result


def money_totals(data: ModelData, result: Result, family_money: dict[str, dict[int, float]] | None = None) -> dict:
    """summary.json ``totals`` (contract sections 9 and 12): per reported year the undiscounted
    abatement cost, the auction revenue, each family's revenue (ceiling and reserve sales) and
    each family's money by year (``capex``, ``capital_charges``), and each discounted to the
    first year."""
    family_money = family_money or {}
    revenue = [name for family in FAMILIES for name in family.revenue_columns]
    names = ("abatement_cost", "auction_revenue", *revenue, *family_money)
    abatement = result.firms.groupby("year")["abatement_cost"].sum()
    markets = result.markets.groupby("year").sum(numeric_only=True)
    discount = data.discount_by_year()
    by_year = []
    for year in data.reported_years:
        entry: dict[str, float] = {"year": year, "abatement_cost": float(abatement.get(year, 0.0))}
        for name in names[1:]:
            if name in family_money:
                entry[name] = float(family_money[name].get(year, 0.0))
            else:
                entry[name] = float(markets[name].get(year, 0.0)) if name in markets.columns else 0.0
        by_year.append(entry)
    discounted = {name: sum(entry[name] * discount[int(entry["year"])] for entry in by_year) for name in names}
    return {"by_year": by_year, "discounted": discounted}


def _report_scenario_years(scenario: Scenario, data: ModelData, result: Result) -> None:
    """Keep only the scenario's years in the contract tables (after the certificate has checked
    every modelled year); summary.json ``horizon`` records the settings and, for look-ahead
    years, their prices and bank (contract section 11)."""
    horizon = scenario.horizon
    lookahead = [year for year in data.years if year not in data.reported_years]
    result.summary["horizon"] = {
        "lookahead_years": horizon.lookahead_years,
        "lookahead_cap_decline": horizon.lookahead_cap_decline,
        "terminal_bank_value": horizon.terminal_bank_value,
        "terminal_bank_min_tco2e": horizon.terminal_bank_min_tco2e,
        "foresight_years": horizon.foresight_years,
        "modelled_years": list(data.years),
    }
    if not lookahead:
        return
    beyond = result.prices["year"].isin(lookahead)
    bank = result.markets.set_index(["market", "year"])["bank_end_tco2e"]
    result.summary["horizon"]["lookahead"] = [
        {**row, "bank_end_tco2e": float(bank[(row["market"], row["year"])])}
        for row in result.prices[beyond][["market", "year", "price", "price_low", "price_high"]].to_dict("records")
    ]
    for name in ("prices", "markets", "sectors", "firms", "options", "regions"):
        table = getattr(result, name)
        if table is not None:
            setattr(result, name, table[~table["year"].isin(lookahead)].reset_index(drop=True))
    result.tables = {name: table[~table["year"].isin(lookahead)].reset_index(drop=True) for name, table in result.tables.items()}


def package_versions() -> dict[str, str]:
    """Versions of the packages a run's numbers depend on (for reproducing it)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("optimodel", "pyomo", "highspy", "numpy", "pandas", "pyarrow", "scipy", "pydantic"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def combined_hash(hashes: dict[str, str]) -> str:
    """One SHA-256 over every input file's hash, in a fixed order."""
    digest = hashlib.sha256()
    for name in sorted(hashes):
        digest.update(f"{name}={hashes[name]}\n".encode())
    return digest.hexdigest()
