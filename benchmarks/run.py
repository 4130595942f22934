"""Reproducible benchmarks of optimodel (results in benchmarks/README.md).

    .venv/bin/python benchmarks/run.py [--scales 1 3 10] [--sweep-points 20] [--capacity] [--out FILE.json]

For each scale N the instance is `optimodel data generate --firms 3700N --seed 2025` (scale 1 is
the shipped default dataset with scenarios/expansion.toml). Each measurement runs in a fresh
process so that imports and peak memory are its own:

- phases: load, build (Pyomo model + compile to matrices), solve, price intervals, results
  (from summary.json) and write (Result.write), peak resident memory;
- command: wall time of `optimodel solve SCENARIO --out DIR`, from command start to files written;
- sweep (scale 1): `optimodel sweep` over N cap levels of power's 2030 cap, against one solve.

``--capacity`` measures each scale with its heavy options as capacity options instead
(``scenarios/capacity.toml`` at scale 1, the generated instance's options converted the same way).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".instances"


def instance(scale: int) -> Path:
    if scale == 1:
        return ROOT / "scenarios" / "expansion.toml"
    folder = CACHE / f"x{scale}"
    if not (folder / "scenario.toml").exists():
        subprocess.run(
            [sys.executable, "-m", "optimodel", "data", "generate", "--firms", str(3700 * scale), "--seed", "2025", "--out", str(folder)],
            check=True,
        )
    return folder / "scenario.toml"


def capacity_instance(scale: int) -> Path:
    """The scale's instance with its heavy options as capacity options (issue 20): the options
    table converted by ``optimodel.datasets.capacity.with_capacity``, as the default's
    ``scenarios/capacity.toml`` is."""
    if scale == 1:
        return ROOT / "scenarios" / "capacity.toml"
    import pandas as pd

    from optimodel.datasets.capacity import with_capacity

    base = instance(scale)
    folder = base.parent
    options = folder / "options-capacity.parquet"
    if not options.exists():
        table = with_capacity(pd.read_parquet(folder / "options.parquet"), pd.read_parquet(folder / "firms.parquet"))
        table.to_parquet(options, index=False, compression="zstd")
    scenario = folder / "scenario-capacity.toml"
    scenario.write_text(
        f'extends = "scenario.toml"\nname = "generated-{3700 * scale}-capacity"\n\n'
        f'[data]\noptions = "options-capacity.parquet"\n\n[investment]\ninterest_rate = 0.05\n'
    )
    return scenario


def measure_phases(scenario_path: str) -> dict:
    """Run in a fresh process: one solve through the library, timed phase by phase."""
    import optimodel

    started = time.perf_counter()
    scenario = optimodel.load_scenario(scenario_path)
    result = optimodel.solve(scenario)
    solved = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        result.write(Path(folder) / "run")
    written = time.perf_counter()
    summary = result.summary
    return {
        **{name: summary["timings"][name] for name in ("load", "build", "solve", "price_intervals", "results")},
        "write": round(written - solved, 3),
        "total_in_process": round(written - started, 3),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": summary["model"]["rows"],
        "columns": summary["model"]["columns"],
        "nonzeros": summary["model"]["nonzeros"],
        "method": summary["solver"]["method"],
        "first_price": float(result.prices["price"].iloc[0]),
    }


def in_fresh_process(scenario: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--phases", str(scenario)], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def command_seconds(*arguments: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "optimodel", *arguments], check=True, capture_output=True)
    return round(time.perf_counter() - started, 2)


def horizon_costs() -> dict:
    """The default's command time against the same with foresight 3 (a rolling horizon) and with
    a look-ahead to 2045 (contract section 11); each the best of three runs."""
    default = instance(1)
    with tempfile.TemporaryDirectory() as folder:
        variants = {
            "one_solve": default,
            "foresight_3": Path(folder) / "foresight.toml",
            "lookahead_2045": ROOT / "scenarios" / "lookahead-2045.toml",
        }
        variants["foresight_3"].write_text(f'extends = "{default}"\nname = "foresight-3"\n[horizon]\nforesight_years = 3\n')
        seconds = {
            name: min(command_seconds("-q", "solve", str(path), "--out", f"{folder}/{name}-{run}") for run in range(3))
            for name, path in variants.items()
        }
    return {**seconds, "foresight_3_ratio": round(seconds["foresight_3"] / seconds["one_solve"], 2)}


def rules_costs() -> dict:
    """The default against the default with the official plan's reserve (scenarios/reserve.toml,
    where it never acts) and against the official plan (every rule of contract section 9); and
    tight-caps against tight-caps with that reserve (which releases all of its stock): build and
    solve phases in fresh processes and the command's wall time, each the best of three runs."""
    scenarios = ROOT / "scenarios"
    variants = {
        "default": instance(1),
        "reserve": scenarios / "reserve.toml",
        "official_plan": scenarios / "official-plan.toml",
        "tight_caps": scenarios / "tight-caps.toml",
    }
    record: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        reserve = (scenarios / "reserve.toml").read_text()
        variants["tight_caps_reserve"] = Path(folder) / "tight-caps-reserve.toml"
        variants["tight_caps_reserve"].write_text(
            f'extends = "{scenarios / "tight-caps.toml"}"\nname = "tight-caps-reserve"\n'
            + reserve[reserve.index("[markets.national.reserve]"):]
        )
        for name, path in variants.items():
            runs = [in_fresh_process(path) for _ in range(3)]
            record[name] = {
                phase: min(run[phase] for run in runs) for phase in ("build", "solve", "price_intervals", "total_in_process")
            }
            record[name]["columns"] = runs[0]["columns"]
            record[name]["rows"] = runs[0]["rows"]
            record[name]["command_seconds"] = min(
                command_seconds("-q", "solve", str(path), "--out", f"{folder}/{name}-{run}") for run in range(3)
            )
    base = record["default"]
    for name, against in (("reserve", base), ("official_plan", base), ("tight_caps_reserve", record["tight_caps"])):
        record[name]["solve_ratio"] = round(record[name]["solve"] / against["solve"], 3)
        record[name]["command_ratio"] = round(record[name]["command_seconds"] / against["command_seconds"], 3)
    return record


def uncertainty_costs(draws: int = 1000, scaling_draws: int = 200) -> dict:
    """`optimodel uncertainty scenarios/uncertainty.toml` (the default with cost, baseline and
    offset factors): ``draws`` draws with 2 local workers (the issue's target: 1,000 in 4 minutes
    on 2 cores); then ``scaling_draws`` draws with 1 and 2 local workers, and on a Dask
    LocalCluster of 1 and of 2 worker processes, for the throughput each adds."""
    import distributed

    scenario = str(ROOT / "scenarios" / "uncertainty.toml")
    record: dict = {"draws": draws, "scaling_draws": scaling_draws}
    with tempfile.TemporaryDirectory() as folder:
        seconds = command_seconds("-q", "uncertainty", scenario, "--draws", str(draws), "--workers", "2", "--out", f"{folder}/full")
        record["local_2_workers"] = {"seconds": seconds, "seconds_per_draw": round(seconds / draws, 4),
                                     "draws_per_second": round(draws / seconds, 2)}
        print(f"uncertainty: {draws} draws, 2 workers: {seconds} s", flush=True)
        runs: dict[str, float] = {}
        for workers in (1, 2):
            runs[f"local_{workers}"] = command_seconds(
                "-q", "uncertainty", scenario, "--draws", str(scaling_draws), "--workers", str(workers), "--out", f"{folder}/local{workers}"
            )
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                               dashboard_address=None)
            try:
                runs[f"dask_{workers}"] = command_seconds(
                    "-q", "uncertainty", scenario, "--draws", str(scaling_draws), "--scheduler", cluster.scheduler_address,
                    "--out", f"{folder}/dask{workers}",
                )
            finally:
                cluster.close()
            print(f"uncertainty: {scaling_draws} draws, {workers} worker(s): {runs}", flush=True)
    record["scaling"] = {
        **{name: {"seconds": value, "draws_per_second": round(scaling_draws / value, 3)} for name, value in runs.items()},
        "local_speedup_2_over_1": round(runs["local_1"] / runs["local_2"], 2),
        "dask_speedup_2_over_1": round(runs["dask_1"] / runs["dask_2"], 2),
    }
    return record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--sweep-points", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--phases", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--horizon", action="store_true", help="only: one solve against foresight 3 and a look-ahead to 2045")
    parser.add_argument("--rules", action="store_true", help="only: the default against its reserve and the official plan")
    parser.add_argument("--uncertainty", action="store_true", help="only: Monte Carlo draws, local workers and a Dask LocalCluster")
    parser.add_argument("--capacity", action="store_true", help="each scale's instance with its heavy options as capacity options")
    arguments = parser.parse_args()
    if arguments.phases:
        print(json.dumps(measure_phases(arguments.phases)))
        return

    import optimodel
    from optimodel.solver.highs import highs_version

    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cores": __import__("os").cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "optimodel": optimodel.__version__,
        "highs": highs_version(),
        "scales": {},
    }
    if arguments.horizon:
        record["horizon"] = horizon_costs()
        print(f"horizon: {record['horizon']}", flush=True)
        arguments.scales, arguments.sweep_points = [], 0
    if arguments.uncertainty:
        record["uncertainty"] = uncertainty_costs()
        print(f"uncertainty: {record['uncertainty']}", flush=True)
        arguments.scales, arguments.sweep_points = [], 0
    if arguments.rules:
        record["rules"] = rules_costs()
        print(f"rules: {record['rules']}", flush=True)
        arguments.scales, arguments.sweep_points = [], 0
    with tempfile.TemporaryDirectory() as folder:
        for scale in arguments.scales:
            scenario = capacity_instance(scale) if arguments.capacity else instance(scale)
            phases = in_fresh_process(scenario)
            phases["command_seconds"] = command_seconds("solve", str(scenario), "--out", f"{folder}/x{scale}")
            record["scales"][scale] = phases
            print(f"x{scale}: {phases}", flush=True)
        if arguments.sweep_points:
            base = 4.7154e9
            values = ",".join(f"{base * (0.96 + 0.08 * i / (arguments.sweep_points - 1)):.6g}" for i in range(arguments.sweep_points))
            one = command_seconds("solve", str(instance(1)), "--out", f"{folder}/one")
            sweep = command_seconds("sweep", str(instance(1)), "--set", f"sectors.power.cap_tco2e.2030={values}", "--out", f"{folder}/sweep")
            record["sweep"] = {"points": arguments.sweep_points, "one_solve_seconds": one, "sweep_seconds": sweep, "ratio": round(sweep / one, 2)}
            print(f"sweep: {record['sweep']}", flush=True)
    out = arguments.out or ROOT / "benchmarks" / "results" / f"{record['date']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
