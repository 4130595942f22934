"""Write small instances (tables + scenario TOML) into a folder for tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from tomli_w import dumps

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"


def run_cli(*arguments: str, cwd: Path | None = None, **options: Any) -> subprocess.CompletedProcess:
    """The real command line in a new process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "optimodel", *arguments], capture_output=True, text=True, cwd=cwd, timeout=300, **options
    )


def copy_example(folder: Path) -> Path:
    """A copy of the two-firm example (two-firms.toml and data/) in ``folder``; returns ``folder``."""
    shutil.copytree(EXAMPLES / "data", folder / "data")
    shutil.copy(EXAMPLES / "two-firms.toml", folder / "two-firms.toml")
    return folder


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in a text file, failing if it is not there."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def write_case(
    folder: Path,
    *,
    firms: list[dict],
    emissions: list[dict],
    options: list[dict],
    scenario: dict[str, Any],
    activity: list[dict] | None = None,
    name: str = "case",
) -> Path:
    """Write the tables as CSV and the scenario as TOML; return the scenario path."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(firms).to_csv(folder / "firms.csv", index=False)
    pd.DataFrame(emissions).to_csv(folder / "emissions.csv", index=False)
    pd.DataFrame(options).to_csv(folder / "options.csv", index=False)
    data = {"firms": "firms.csv", "emissions": "emissions.csv", "options": "options.csv"}
    if activity is not None:
        pd.DataFrame(activity).to_csv(folder / "activity.csv", index=False)
        data["activity"] = "activity.csv"
    document = {"name": name, **scenario, "data": {**data, **scenario.get("data", {})}}
    path = folder / f"{name}.toml"
    path.write_text(dumps(document))
    return path


def one_sector_case(
    folder: Path,
    baselines: dict[str, float],
    steps: list[tuple[str, float, float]],
    cap: float,
    *,
    year: int = 2025,
    extra: dict[str, Any] | None = None,
) -> Path:
    """One sector, one year: firms with CO2 baselines and (firm, potential, cost) steps."""
    firms = [{"firm_id": firm, "sector": "power"} for firm in baselines]
    emissions = [{"firm_id": firm, "year": year, "gas": "CO2", "baseline_t": value} for firm, value in baselines.items()]
    options = [
        {"firm_id": firm, "option": f"step{index}", "gas": "CO2", "potential_t": potential, "cost_per_t": cost}
        for index, (firm, potential, cost) in enumerate(steps)
    ]
    scenario = {"years": [year], "sectors": {"power": {"cap_tco2e": {str(year): cap}}}, **(extra or {})}
    return write_case(folder, firms=firms, emissions=emissions, options=options, scenario=scenario)
