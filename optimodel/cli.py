"""The ``optimodel`` command. Thin: each command is one call into the library, and each error
type maps to its exit code (contract section 3)."""

from __future__ import annotations

import sys

INTERRUPTED = "error: interrupted; nothing was written, and an earlier result folder is as it was"

try:
    # Ctrl-C while Python is still importing this module gets the same one line as at any later
    # moment (contract section 14), not a traceback through the standard library.
    import argparse
    import gc
    import json
    import logging
    import os
    import time
    import traceback
    from pathlib import Path
    from typing import NoReturn

    from optimodel.errors import OptimodelError, one_line
except KeyboardInterrupt:
    print(INTERRUPTED, file=sys.stderr)
    raise SystemExit(1) from None

log = logging.getLogger("optimodel")


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported as the one ``error:`` line every other input
    mistake gets (contract section 3), and exit code 2 as before."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} -h)\n")


def _parser() -> argparse.ArgumentParser:
    from optimodel.version import __version__

    parser = _Parser(prog="optimodel", description="China ETS abatement and allowance prices (Pyomo + HiGHS).")
    parser.add_argument("--version", action="version", version=f"optimodel {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("--verbose", "-v", action="store_true", help="log optimodel's stages with timings and HiGHS's log, on stderr")
    loudness.add_argument("--quiet", "-q", action="store_true", help="print nothing but warnings and errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    solve = commands.add_parser("solve", help="solve a scenario and write its results")
    solve.add_argument("scenario", type=Path)
    solve.add_argument("--out", type=Path, default=None, help="output folder (default runs/<name>)")
    solve.add_argument("--max-memory", default=None, metavar="SIZE", help="fail cleanly (exit 1) if the run would need more, e.g. 8GB")
    solve.add_argument("--format", choices=["csv", "xlsx"], default="csv",
                       help="xlsx: also write results.xlsx, one sheet per table (the CSV files are always written)")
    validate = commands.add_parser("validate", help="check a scenario and its input tables")
    validate.add_argument("scenario", type=Path)
    validate.add_argument("--max-memory", default=None, metavar="SIZE", help="fail cleanly (exit 1) if reading would need more")
    sweep = commands.add_parser("sweep", help="solve a scenario for every combination of values")
    sweep.add_argument("scenario", type=Path)
    sweep.add_argument("--set", dest="assignments", action="append", required=True, metavar="KEY=V1,V2,...",
                       help="a dotted scenario key and its values; several --set make a grid")
    sweep.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    sweep.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    sweep.add_argument("--out", type=Path, default=None, help="output folder (default runs/<name>-sweep)")
    horizon = commands.add_parser("horizon", help="how the prices depend on the end year and on foresight")
    horizon.add_argument("scenario", type=Path)
    horizon.add_argument("--ends", default=None, metavar="Y1,Y2,...",
                         help="end years to try (cut the scenario, or look ahead past its last year); default: the last four odd steps")
    horizon.add_argument("--foresight", default=None, metavar="F1,F2,...",
                         help="years of foresight to try, 'all' for perfect foresight")
    horizon.add_argument("--out", type=Path, default=None, help="output folder (default runs/<name>-horizon)")
    uncertainty = commands.add_parser("uncertainty", help="Monte Carlo: price distributions over draws of costs, baselines, offsets")
    uncertainty.add_argument("scenario", type=Path)
    uncertainty.add_argument("--draws", type=int, default=None, help="number of draws (default: the scenario's [uncertainty] draws)")
    uncertainty.add_argument("--seed", type=int, default=None, help="seed of the draws (default: the scenario's)")
    uncertainty.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    uncertainty.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    uncertainty.add_argument("--out", type=Path, default=None, help="output folder (default runs/<name>-uncertainty)")
    check = commands.add_parser("check", help="solve and compare the prices with a stored prices.csv")
    check.add_argument("scenario", type=Path)
    check.add_argument("--expect", type=Path, required=True, help="prices.csv with market, year, price")
    check.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (default 1e-6)")
    check.add_argument("--atol", type=float, default=1e-6, help="absolute tolerance (default 1e-6)")
    snapshot = commands.add_parser("snapshot", help="solve and write the prices a later check expects")
    snapshot.add_argument("scenario", type=Path)
    snapshot.add_argument("--out", type=Path, required=True, help="the prices.csv to write")
    compare = commands.add_parser("compare", help="prices and sector results of several runs side by side")
    compare.add_argument("runs", type=Path, nargs="+", help="run folders or sweep folders")
    compare.add_argument("--out", type=Path, default=None, help="write the full comparison as CSV")
    report = commands.add_parser("report", help="one self-contained HTML page of a run, sweep, horizon or uncertainty folder, "
                                 "or comparing several runs")
    report.add_argument("directories", type=Path, nargs="+", metavar="DIR")
    report.add_argument("--out", type=Path, default=None,
                        help="the page to write (default DIR/report.html; with several folders, the first's parent/comparison.html)")
    explore = commands.add_parser("explore", help="a local page: move a lever, see the prices (warm re-solves)")
    explore.add_argument("scenario", type=Path)
    explore.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    explore.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    explore.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    data = commands.add_parser("data", help="datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    generate = data_commands.add_parser("generate", help="generate a calibrated instance and a scenario for it")
    generate.add_argument("--firms", type=int, default=3700, help="number of firms (default 3700, the calibrated size)")
    generate.add_argument("--seed", type=int, default=2025, help="random seed (default 2025, the shipped dataset)")
    generate.add_argument("--decline", type=float, default=0.02, help="yearly cap decline from 2027 (default 0.02)")
    generate.add_argument("--out", type=Path, required=True, help="output folder")
    return parser


def _print_prices(prices, currency: str) -> None:
    print(f"{'market':<14}{'year':>6}{'price':>12}{'low':>12}{'high':>12}   ({currency}/tCO2e)")
    for row in prices.itertuples(index=False):
        print(f"{row.market:<14}{row.year:>6}{row.price:>12.2f}{row.price_low:>12.2f}{row.price_high:>12.2f}")


LOAD_STAGES = ("firms", "emissions", "options", "activity", "hashes")
SOLVE_STAGES = ("build", "solve", "results", "write")


HOLD_AT_STAGE = "OPTIMODEL_HOLD_AT_STAGE"
"""Environment variable naming a stage (``build``, ``solve``, ``write`` ...) at which a command
waits, having said so on stderr, for up to ``HOLD_SECONDS``: tests interrupt a run at a known
stage with it instead of racing the run's own speed (docs/trust.md)."""
HOLD_SECONDS = 60.0


def _hold(stage: str) -> None:
    print(f"holding at stage {stage} ({HOLD_AT_STAGE})", file=sys.stderr, flush=True)
    # A signal (Ctrl-C) ends the sleep at once, raising KeyboardInterrupt here as it would in the stage.
    time.sleep(HOLD_SECONDS)


class StageBar:
    """A progress bar over named stages (shown only on a terminal: tqdm's disable=None)."""

    def __init__(self, stages: tuple[str, ...], description: str, quiet: bool = False) -> None:
        from tqdm import tqdm

        self.stages = stages
        self.seen = 0
        self.bar = tqdm(
            total=len(stages), desc=description, unit="stage", file=sys.stderr, disable=True if quiet else None, leave=False
        )

    def __call__(self, stage: str) -> None:
        if stage == os.environ.get(HOLD_AT_STAGE):
            _hold(stage)
        if stage in self.stages:
            self.bar.update(self.stages.index(stage) - self.seen)
            self.seen = self.stages.index(stage)
        self.bar.set_postfix_str(stage)

    def close(self) -> None:
        self.bar.update(len(self.stages) - self.seen)
        self.bar.close()


def _load_with_progress(scenario, max_memory, quiet: bool = False):
    """load_data with a progress bar over its stages."""
    from optimodel.inputs.data import load_data

    bar = StageBar(LOAD_STAGES, "loading", quiet=quiet)
    try:
        return load_data(scenario, max_memory=max_memory, progress=bar)
    finally:
        bar.close()


def _written(plan, what: str) -> str:
    replaced = f" (replacing the earlier {plan.replaces} folder there)" if plan.replaces else ""
    return f"{what} written to {plan.shown}{replaced}"


def command_solve(arguments: argparse.Namespace) -> int:
    from pyomo.common.gc_manager import PauseGC

    from optimodel.api import load_scenario, solve
    from optimodel.inputs.memory import parse_size
    from optimodel.results.outputs import FolderKind, plan_folder

    max_memory = parse_size(arguments.max_memory) if arguments.max_memory else None
    scenario = load_scenario(arguments.scenario)
    # Checked before any work: a folder that may not be written or replaced costs no solve.
    plan = plan_folder(arguments.out or Path("runs") / scenario.name, FolderKind.run, reads=scenario.files)
    bar = StageBar(LOAD_STAGES + SOLVE_STAGES, "solving", quiet=arguments.quiet)
    try:
        # solve() loads the data itself, so summary.json times the loading too.
        result = solve(scenario, max_memory=max_memory, progress=bar)
        bar("write")
        # The run's Pyomo model is garbage now; collecting it while writing would only delay the files.
        with PauseGC():
            result.write(plan.target, xlsx=arguments.format == "xlsx", plan=plan)
    finally:
        bar.close()
    if not arguments.quiet:
        _print_prices(result.prices, scenario.currency)
        print(_written(plan, "results"))
    return 0


def command_validate(arguments: argparse.Namespace) -> int:
    from optimodel.api import input_warnings, load_scenario
    from optimodel.inputs.memory import parse_size
    from optimodel.inputs.plausibility import emit, sector_overview

    max_memory = parse_size(arguments.max_memory) if arguments.max_memory else None
    scenario = load_scenario(arguments.scenario)
    data = _load_with_progress(scenario, max_memory, quiet=arguments.quiet)
    emit(input_warnings(scenario, data))
    if arguments.quiet:
        return 0
    print(
        f"{arguments.scenario}: valid ({len(data.firms)} covered firms, {len(data.steps)} abatement steps, "
        f"{len(data.markets)} market(s), {len(data.years)} years)"
    )
    print(sector_overview(scenario, data))
    return 0


def command_sweep(arguments: argparse.Namespace) -> int:
    from tqdm import tqdm

    from optimodel.api import all_scenario_warnings, input_warnings, load_scenario
    from optimodel.errors import InputError
    from optimodel.inputs.data import load_data
    from optimodel.inputs.plausibility import emit, identical_points_warning, one_per_kind
    from optimodel.results.outputs import FolderKind, plan_folder
    from optimodel.workflows.distributed import check_scheduler_address
    from optimodel.workflows.sweep import parse_assignment, run_sweep, sweep_points

    if arguments.workers < 1:
        raise InputError("--workers must be at least 1", key="--workers")
    if arguments.scheduler is not None:
        check_scheduler_address(arguments.scheduler)
    assignments = [parse_assignment(text) for text in arguments.assignments]
    base = load_scenario(arguments.scenario)
    plan = plan_folder(arguments.out or Path("runs") / f"{base.name}-sweep", FolderKind.sweep, reads=base.files)
    points = sweep_points(base, assignments)
    # Warnings are found here once, for the base data and every point's scenario, so that the
    # workers need not repeat them.
    emit(one_per_kind(input_warnings(base, load_data(base)) + [w for p in points for w in all_scenario_warnings(p.scenario)]))
    total = len(points)
    with tqdm(total=total, unit="point", desc="sweep", file=sys.stderr, disable=True if arguments.quiet else None) as bar:

        def advance(done: int) -> None:
            bar.update(done)

        result = run_sweep(arguments.scenario, assignments, workers=arguments.workers, scheduler=arguments.scheduler, progress=advance)
    emit(identical_points_warning(result))
    result.write(plan.target, plan=plan)
    status = result.status
    counts = ", ".join(f"{count} {name}" for name, count in status["status"].value_counts().items())
    if not arguments.quiet:
        print(result.first_prices().to_string(index=False, float_format=lambda value: f"{value:.2f}"))
        print(f"first-year prices in {base.currency}/tCO2e; {total} points: {counts}; {_written(plan, 'results')}")
    if result.failed:
        names = ", ".join(point.run for point in result.failed)
        print(f"error: {len(result.failed)} of {total} points failed ({names}); see {plan.shown}/sweep_status.csv", file=sys.stderr)
        return 1
    return 0


def _whole_numbers(text: str, option: str, allow_all: bool = False) -> list[int | None]:
    """The comma-separated values of ``option``; a value given twice is an input error (it would
    name two variants alike, whose tables could not be told apart)."""
    from optimodel.errors import InputError

    values: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if allow_all and part == "all":
            value = None
        elif part.isdigit() and int(part) > 0:
            value = int(part)
        else:
            raise InputError(f"{part!r} is not a positive whole number{' or all' if allow_all else ''}", key=option)
        if value in values:
            raise InputError(f"{part} is given twice", key=option)
        values.append(value)
    return values


def command_horizon(arguments: argparse.Namespace) -> int:
    from pyomo.common.gc_manager import PauseGC

    from optimodel.api import load_scenario
    from optimodel.inputs.plausibility import emit
    from optimodel.results.outputs import FolderKind, plan_folder
    from optimodel.results.tables import write_csv
    from optimodel.workflows.horizon import Variant, lookahead_caps, study

    scenario = load_scenario(arguments.scenario)
    plan = plan_folder(arguments.out or Path("runs") / f"{scenario.name}-horizon", FolderKind.horizon, reads=scenario.files)
    variants: list[Variant] = []
    if arguments.ends:
        ends = _whole_numbers(arguments.ends, "--ends")
        early = [year for year in ends if year is None or year < scenario.years[0]]
        if early:
            from optimodel.errors import InputError

            raise InputError(f"{early[0]} is before the scenario's first year {scenario.years[0]}", key="--ends")
        variants += [Variant(end_year=year) for year in ends]
    if arguments.foresight:
        variants += [Variant(foresight=years) for years in _whole_numbers(arguments.foresight, "--foresight", allow_all=True)]
    if not variants:
        last = scenario.years[-1]
        variants = [Variant(end_year=year) for year in (last - 6, last - 4, last - 2, last) if year > scenario.years[0]]
    outcome = study(scenario, variants)
    emit(outcome.warnings)

    def fill(staging: Path) -> None:
        write_csv(outcome.table, staging / "horizon.csv")
        summary = {
            "scenario": scenario.name,
            "variants": [variant.label for variant in variants],
            "warnings": [warning.as_dict() for warning in outcome.warnings],
            "runs": outcome.summaries,
        }
        (staging / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    with PauseGC():
        from optimodel.results.outputs import write_folder

        write_folder(plan, scenario.name, fill)
    if not arguments.quiet:
        first = outcome.table[outcome.table["year"] == outcome.table["year"].min()]
        print(f"{'variant':<22}{'market':<14}{'first-year price':>18}   ({scenario.currency}/tCO2e)")
        for row in first.itertuples(index=False):
            print(f"{Variant.from_row(row.end_year, row.foresight).label:<22}{row.market:<14}{row.price:>18.2f}")
        furthest = max((variant.end_year for variant in variants if variant.end_year is not None), default=None)
        note = lookahead_caps(scenario, max(furthest or 0, scenario.modelled_years[-1]))
        if note:
            print(note)
        print(_written(plan, "horizon.csv"))
    return 0


def command_uncertainty(arguments: argparse.Namespace) -> int:
    from tqdm import tqdm

    from optimodel.api import combined_hash, input_warnings, load_scenario
    from optimodel.errors import InputError
    from optimodel.inputs.data import load_data
    from optimodel.inputs.plausibility import emit
    from optimodel.results.outputs import FolderKind, plan_folder, sibling_plan
    from optimodel.workflows.distributed import check_scheduler_address
    from optimodel.workflows.uncertainty import factor_scopes, requested, run_uncertainty

    if arguments.workers < 1:
        raise InputError("--workers must be at least 1", key="--workers")
    if arguments.scheduler is not None:
        check_scheduler_address(arguments.scheduler)
    scenario = load_scenario(arguments.scenario)
    options, total, _ = requested(scenario, arguments.draws, arguments.seed)
    plan = plan_folder(arguments.out or Path("runs") / f"{scenario.name}-uncertainty", FolderKind.uncertainty, reads=scenario.files)
    data = load_data(scenario)
    warnings = input_warnings(scenario, data)
    emit(warnings)
    # A factor naming an option no step has is a typo: say so before any worker starts.
    factor_scopes(options, data, str(arguments.scenario))
    hashes = data.input_hashes
    # The workers build their own LP; this process keeps no model.
    del data
    with tqdm(total=total, unit="draw", desc="draws", file=sys.stderr, disable=True if arguments.quiet else None) as bar:
        result = run_uncertainty(
            scenario, draws=arguments.draws, seed=arguments.seed, workers=arguments.workers, scheduler=arguments.scheduler,
            progress=bar.update,
        )
    result.summary["warnings"] = [warning.as_dict() for warning in warnings] + result.summary["warnings"]
    result.summary["inputs_sha256"] = combined_hash(hashes)
    if not result.complete:
        # An interrupted run never replaces a complete earlier one (contract section 14): its
        # finished draws go to a new folder beside it.
        plan = sibling_plan(plan, "interrupted")
    result.write(plan.target, plan=plan)
    rate = result.draws_done / result.seconds if result.seconds else 0.0
    if not result.complete:
        print(
            f"error: interrupted after {result.draws_done:,} of {result.draws_asked:,} draws; the finished draws are in "
            f"{plan.shown} (summary.json complete = false)",
            file=sys.stderr,
        )
        return 1
    if not arguments.quiet:
        _print_quantiles(result.quantiles, scenario.currency)
        print(
            f"{result.draws_done:,} draws ({result.summary['draws_infeasible']:,} infeasible) in {result.seconds:.1f} s, "
            f"{rate:.1f} draws/s; {_written(plan, 'results')}"
        )
    return 0


def _print_quantiles(quantiles, currency: str) -> None:
    print(f"{'market':<14}{'year':>6}{'mean':>10}{'p05':>10}{'p50':>10}{'p95':>10}   ({currency}/tCO2e, money of each year)")
    for row in quantiles.itertuples(index=False):
        print(f"{row.market:<14}{row.year:>6}{row.mean:>10.2f}{row.p05:>10.2f}{row.p50:>10.2f}{row.p95:>10.2f}")


def command_check(arguments: argparse.Namespace) -> int:
    from optimodel.api import load_scenario, solve
    from optimodel.errors import InputError
    from optimodel.testing import compare_prices, read_prices, tolerance_is_valid

    for option, value in (("--rtol", arguments.rtol), ("--atol", arguments.atol)):
        if not tolerance_is_valid(value):
            raise InputError(f"must be a finite number >= 0, got {value}", key=option)
    if not arguments.expect.exists():
        raise InputError("expected prices file not found", file=str(arguments.expect))
    try:
        expected = read_prices(arguments.expect)
    except (ValueError, OSError) as error:
        raise InputError(str(error), file=str(arguments.expect)) from None
    result = solve(load_scenario(arguments.scenario))
    differences = compare_prices(result.prices, expected, rtol=arguments.rtol, atol=arguments.atol)
    compared = "prices and intervals" if {"price_low", "price_high"} & set(expected.columns) else "prices"
    if differences:
        print(f"{len(differences)} value(s) differ from {arguments.expect} (rtol={arguments.rtol}, atol={arguments.atol}):")
        for difference in differences:
            print(f"  {difference}")
        return 1
    if not arguments.quiet:
        print(f"all {len(result.prices)} {compared} match {arguments.expect} (rtol={arguments.rtol}, atol={arguments.atol})")
    return 0


def is_prices_table(path: Path) -> bool:
    """Whether ``path`` is a prices table optimodel wrote (its header is prices.csv's)."""
    from optimodel.results.outputs import first_line
    from optimodel.results.tables import PRICE_COLUMNS

    columns = first_line(path).split(",")
    return columns[: len(PRICE_COLUMNS)] == PRICE_COLUMNS and set(columns[len(PRICE_COLUMNS) :]) <= {"offset_price", "offset_spread"}


def command_snapshot(arguments: argparse.Namespace) -> int:
    from optimodel.api import load_scenario, solve
    from optimodel.results.outputs import plan_file, write_file
    from optimodel.results.tables import write_csv

    scenario = load_scenario(arguments.scenario)
    target = plan_file(arguments.out, is_prices_table, "a prices table (prices.csv)", reads=scenario.files)
    result = solve(scenario)
    write_file(target, lambda path: write_csv(result.prices, path))
    if not arguments.quiet:
        print(f"wrote {len(result.prices)} prices to {arguments.out}")
    return 0


def command_compare(arguments: argparse.Namespace) -> int:
    from optimodel.results.compare import COMPARISON_KEY, compare_runs, format_prices
    from optimodel.results.outputs import first_line, plan_file, write_file
    from optimodel.results.tables import write_csv

    target = None
    if arguments.out:
        target = plan_file(
            arguments.out,
            lambda path: first_line(path).split(",")[: len(COMPARISON_KEY)] == COMPARISON_KEY,
            "a comparison written by optimodel compare",
            reads=[folder / name for folder in arguments.runs for name in ("prices.csv", "sectors.csv")],
        )
    table = compare_runs(arguments.runs)
    if not arguments.quiet:
        print(format_prices(table))
    if target is not None:
        write_file(target, lambda path: write_csv(table, path))
        if not arguments.quiet:
            print(f"full comparison (prices with intervals; sector abatement, emissions, costs) written to {arguments.out}")
    return 0


def command_report(arguments: argparse.Namespace) -> int:
    from optimodel.results.outputs import plan_file
    from optimodel.workflows.report import is_report, write_report

    folders = arguments.directories
    if len(folders) == 1:
        out = arguments.out or folders[0] / "report.html"
    else:
        out = arguments.out or folders[0].parent / "comparison.html"
    target = plan_file(out, is_report, "a report written by optimodel report")
    write_report(folders if len(folders) > 1 else folders[0], target)
    if not arguments.quiet:
        print(f"report written to {out}")
    return 0


def command_explore(arguments: argparse.Namespace) -> int:
    import socket

    from optimodel.api import load_scenario
    from optimodel.errors import InputError
    from optimodel.workflows.explore import serve

    if not 0 < arguments.port < 65536:
        raise InputError(f"must be a port number 1..65535, got {arguments.port}", key="--port")
    scenario = load_scenario(arguments.scenario)
    # A port already taken is the user's to choose again, not a crash inside the server.
    with socket.socket(socket.AF_INET6 if ":" in arguments.host else socket.AF_INET) as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((arguments.host, arguments.port))
        except OSError as error:
            raise InputError(f"cannot serve on {arguments.host}:{arguments.port}: {error.strerror}", key="--port") from None
    if not arguments.quiet:
        print(f"serving {scenario.name} on http://{arguments.host}:{arguments.port}/ (Ctrl-C stops)", flush=True)
    serve(scenario, host=arguments.host, port=arguments.port, open_browser=not arguments.no_browser)
    return 0


def command_data(arguments: argparse.Namespace) -> int:
    from optimodel.datasets.generate import write_instance
    from optimodel.errors import InputError
    from optimodel.inputs.memory import check_generating
    from optimodel.results.outputs import FolderKind, plan_folder

    if arguments.firms < 4:
        raise InputError("--firms must be at least 4 (one firm per sector)", key="--firms")
    if arguments.seed < 0:
        raise InputError(f"must be a whole number >= 0, got {arguments.seed}", key="--seed")
    check_generating(arguments.firms)
    if not 0.0 <= arguments.decline < 1.0:
        raise InputError("--decline must be in [0, 1)", key="--decline")
    plan = plan_folder(arguments.out, FolderKind.dataset)
    scenario = write_instance(plan.target, firms=arguments.firms, seed=arguments.seed, decline=arguments.decline, plan=plan)
    if not arguments.quiet:
        print(f"{_written(plan, 'instance')} (solve it with: optimodel solve {Path(plan.shown) / scenario.name})")
    return 0


COMMANDS = {
    "solve": command_solve,
    "validate": command_validate,
    "sweep": command_sweep,
    "horizon": command_horizon,
    "uncertainty": command_uncertainty,
    "check": command_check,
    "snapshot": command_snapshot,
    "compare": command_compare,
    "report": command_report,
    "explore": command_explore,
    "data": command_data,
}


class _CommandLineFormatter(logging.Formatter):
    """Warnings read ``warning: ...`` (contract section 8); -v progress lines carry the time
    since start, so every stage's duration can be read off."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno >= logging.WARNING:
            return f"warning: {message}"
        return f"[{record.relativeCreated / 1000:7.2f} s] {record.name}: {message}"


class _OncePerMessage(logging.Filter):
    """Each distinct warning is printed once, however many sweep points or stages raise it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def _not_library_chatter(record: logging.LogRecord) -> bool:
    """Other libraries' warnings (Pyomo's DEPRECATED notices, Python warnings from numpy or
    pandas) are about optimodel's code, not the user's input: they reach stderr only with -v.
    Their errors always do."""
    return record.name.startswith("optimodel") or record.levelno >= logging.ERROR


def configure_logging(verbose: bool) -> None:
    """One stderr handler. Other libraries stay at WARNING (Pyomo's debug output is a model
    dump, never wanted) and are shown only with ``-v``, which also opens optimodel's own stages
    and, through the solver module's debug level, HiGHS's log (contract section 14)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CommandLineFormatter())
    handler.addFilter(_OncePerMessage())
    if not verbose:
        handler.addFilter(_not_library_chatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("optimodel").setLevel(logging.DEBUG if verbose else logging.WARNING)
    # Python's warnings (DeprecationWarning, FutureWarning, RuntimeWarning) go through logging
    # ("py.warnings"), so the filter above decides about them too.
    logging.captureWarnings(True)


ONE_SOLVE_COMMANDS = frozenset({"solve", "validate", "check", "snapshot", "compare", "report", "data"})
"""Commands that load, build or solve at most once and then end: they run without the cyclic
garbage collector (see ``main``)."""


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    configure_logging(arguments.verbose)
    collecting = gc.isenabled()
    if arguments.command in ONE_SOLVE_COMMANDS:
        # Importing pandas, Pyomo and pydantic makes about a million objects that live until
        # exit; the collections they trigger rescan them all and cost 0.2 s of the default's
        # 2.2 s (benchmarks/README.md). One solve makes no garbage worth collecting early (a
        # Pyomo model too large to keep is collected explicitly, ``api.COLLECT_ABOVE_COLUMNS``),
        # so these commands run without the collector. Sweeps and draws keep it: they loop.
        gc.disable()
    try:
        return COMMANDS[arguments.command](arguments)
    except OptimodelError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not a failure of the run.
        sys.stderr.close()
        return 0
    except MemoryError:
        print("error: out of memory; set --max-memory to fail early, or use a machine with more memory", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the last line of defence: never a traceback
        if arguments.verbose:
            traceback.print_exc()
        print(f"error: internal failure: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        from optimodel.results.outputs import unlock_all

        unlock_all()
        # main() also runs inside other processes (tests, notebooks): leave the collector as found.
        if collecting:
            gc.enable()


def run() -> None:
    """The ``optimodel`` command: ``main``, then exit with its code.

    Whatever cyclic garbage a command leaves (the Pyomo models of a sweep's or a diagnosis's
    builds) the cyclic collector would scan at exit, object by object. The process is about to
    end, so the objects are frozen instead and the operating system takes the memory back."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
