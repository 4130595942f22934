"""The ``optimodel`` command. Thin: each command is one call into the library, and each error
type maps to its exit code (contract section 3)."""

from __future__ import annotations

import argparse
import logging
import math
import sys
import traceback
from pathlib import Path

from .errors import OptimodelError

log = logging.getLogger("optimodel")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="optimodel", description="China ETS abatement and allowance prices (Pyomo + HiGHS).")
    parser.add_argument("--verbose", "-v", action="store_true", help="log progress and HiGHS output to stderr")
    commands = parser.add_subparsers(dest="command", required=True)
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
    report = commands.add_parser("report", help="one self-contained HTML page of a run or sweep")
    report.add_argument("directory", type=Path)
    report.add_argument("--out", type=Path, default=None, help="the page to write (default DIR/report.html)")
    data = commands.add_parser("data", help="datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
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


class StageBar:
    """A progress bar over named stages (shown only on a terminal: tqdm's disable=None)."""

    def __init__(self, stages: tuple[str, ...], description: str) -> None:
        from tqdm import tqdm

        self.stages = stages
        self.seen = 0
        self.bar = tqdm(total=len(stages), desc=description, unit="stage", file=sys.stderr, disable=None, leave=False)

    def __call__(self, stage: str) -> None:
        if stage in self.stages:
            self.bar.update(self.stages.index(stage) - self.seen)
            self.seen = self.stages.index(stage)
        self.bar.set_postfix_str(stage)

    def close(self) -> None:
        self.bar.update(len(self.stages) - self.seen)
        self.bar.close()


def _load_with_progress(scenario, max_memory):
    """load_data with a progress bar over its stages."""
    from .data import load_data

    bar = StageBar(LOAD_STAGES, "loading")
    try:
        return load_data(scenario, max_memory=max_memory, progress=bar)
    finally:
        bar.close()


def command_solve(arguments: argparse.Namespace) -> int:
    from .api import solve
    from .memory import parse_size
    from .results import remove_stale_results
    from .scenario import load_scenario

    out = arguments.out
    try:
        max_memory = parse_size(arguments.max_memory) if arguments.max_memory else None
        scenario = load_scenario(arguments.scenario)
        out = out or Path("runs") / scenario.name
        bar = StageBar(LOAD_STAGES + SOLVE_STAGES, "solving")
        try:
            # solve() loads the data itself, so summary.json times the loading too.
            result = solve(scenario, max_memory=max_memory, progress=bar)
            bar("write")
            result.write(out, xlsx=arguments.format == "xlsx")
        finally:
            bar.close()
    except BaseException:
        if out is not None:
            remove_stale_results(out)
        raise
    _print_prices(result.prices, scenario.currency)
    print(f"results written to {out}")
    return 0


def command_validate(arguments: argparse.Namespace) -> int:
    from .memory import parse_size
    from .scenario import load_scenario

    max_memory = parse_size(arguments.max_memory) if arguments.max_memory else None
    scenario = load_scenario(arguments.scenario)
    data = _load_with_progress(scenario, max_memory)
    print(
        f"{arguments.scenario}: valid ({len(data.firms)} covered firms, {len(data.steps)} abatement steps, "
        f"{len(data.markets)} market(s), {len(data.years)} years)"
    )
    return 0


def command_sweep(arguments: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .errors import InputError
    from .scenario import load_scenario
    from .sweep import parse_assignment, run_sweep

    if arguments.workers < 1:
        raise InputError("--workers must be at least 1", key="--workers")
    assignments = [parse_assignment(text) for text in arguments.assignments]
    base = load_scenario(arguments.scenario)
    total = math.prod(len(assignment.values) for assignment in assignments)
    out = arguments.out or Path("runs") / f"{base.name}-sweep"
    with tqdm(total=total, unit="point", desc="sweep", file=sys.stderr, disable=None) as bar:
        result = run_sweep(
            arguments.scenario, assignments, workers=arguments.workers, scheduler=arguments.scheduler, progress=bar.update
        )
    result.write(out)
    status = result.status
    counts = ", ".join(f"{count} {name}" for name, count in status["status"].value_counts().items())
    print(f"{total} points: {counts}; results written to {out}")
    if result.failed:
        names = ", ".join(point.run for point in result.failed)
        print(f"error: {len(result.failed)} of {total} points failed ({names}); see {out / 'sweep_status.csv'}", file=sys.stderr)
        return 1
    return 0


def command_check(arguments: argparse.Namespace) -> int:
    from .api import solve
    from .errors import InputError
    from .scenario import load_scenario
    from .testing import compare_prices, read_prices

    if not arguments.expect.exists():
        raise InputError("expected prices file not found", file=str(arguments.expect))
    try:
        expected = read_prices(arguments.expect)
    except (ValueError, OSError) as error:
        raise InputError(str(error), file=str(arguments.expect)) from None
    result = solve(load_scenario(arguments.scenario))
    differences = compare_prices(result.prices, expected, rtol=arguments.rtol, atol=arguments.atol)
    if differences:
        print(f"{len(differences)} price(s) differ from {arguments.expect} (rtol={arguments.rtol}, atol={arguments.atol}):")
        for difference in differences:
            print(f"  {difference}")
        return 1
    print(f"all {len(result.prices)} prices match {arguments.expect} (rtol={arguments.rtol}, atol={arguments.atol})")
    return 0


def command_snapshot(arguments: argparse.Namespace) -> int:
    from .api import solve
    from .results import rounded
    from .scenario import load_scenario

    result = solve(load_scenario(arguments.scenario))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    staging = arguments.out.with_name(f".{arguments.out.name}.tmp")
    rounded(result.prices).to_csv(staging, index=False, lineterminator="\n")
    staging.replace(arguments.out)
    print(f"wrote {len(result.prices)} prices to {arguments.out}")
    return 0


def command_compare(arguments: argparse.Namespace) -> int:
    from .compare import compare_runs, format_prices
    from .results import rounded

    table = compare_runs(arguments.runs)
    print(format_prices(table))
    if arguments.out:
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        rounded(table).to_csv(arguments.out, index=False, lineterminator="\n")
        print(f"full comparison (prices with intervals; sector abatement, emissions, costs) written to {arguments.out}")
    return 0


def command_report(arguments: argparse.Namespace) -> int:
    from .report import write_report

    out = write_report(arguments.directory, arguments.out or arguments.directory / "report.html")
    print(f"report written to {out}")
    return 0


def command_data(arguments: argparse.Namespace) -> int:
    from .datasets.generate import write_instance
    from .errors import InputError

    if arguments.firms < 4:
        raise InputError("--firms must be at least 4 (one firm per sector)", key="--firms")
    if not 0.0 <= arguments.decline < 1.0:
        raise InputError("--decline must be in [0, 1)", key="--decline")
    scenario = write_instance(arguments.out, firms=arguments.firms, seed=arguments.seed, decline=arguments.decline)
    print(f"wrote {arguments.out} (solve it with: optimodel solve {scenario})")
    return 0


COMMANDS = {
    "solve": command_solve,
    "validate": command_validate,
    "sweep": command_sweep,
    "check": command_check,
    "snapshot": command_snapshot,
    "compare": command_compare,
    "report": command_report,
    "data": command_data,
}


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if arguments.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[arguments.command](arguments)
    except OptimodelError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not a failure of the run.
        sys.stderr.close()
        return 0
    except MemoryError:
        print("error: out of memory; set --max-memory to fail early, or use a machine with more memory", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the last line of defence: never a traceback
        if arguments.verbose:
            traceback.print_exc()
        print(f"error: internal failure: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
