"""Write small instances (tables + scenario TOML) into a folder for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{key}" = {toml_value(item)}' for key, item in value.items()) + " }"
    raise TypeError(type(value))


def to_toml(document: dict[str, Any]) -> str:
    """A small TOML writer: top-level scalars, [tables] of scalars/inline tables, [[arrays]]."""
    lines: list[str] = []
    tables: list[tuple[str, dict]] = []
    arrays: list[tuple[str, list]] = []
    for key, value in document.items():
        if isinstance(value, dict) and key in ("data", "sectors", "markets", "solver"):
            tables.append((key, value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {toml_value(value)}")

    def emit_table(name: str, table: dict) -> None:
        scalars = {k: v for k, v in table.items() if not (isinstance(v, dict) and name in ("sectors", "markets"))}
        nested = {k: v for k, v in table.items() if k not in scalars}
        if scalars:
            lines.append(f"\n[{name}]")
            lines.extend(f'"{k}" = {toml_value(v)}' for k, v in scalars.items())
        for key, value in nested.items():
            lines.append(f'\n[{name}."{key}"]')
            lines.extend(f'"{k}" = {toml_value(v)}' for k, v in value.items())

    for name, table in tables:
        emit_table(name, table)
    for name, items in arrays:
        for item in items:
            lines.append(f"\n[[{name}]]")
            lines.extend(f'"{k}" = {toml_value(v)}' for k, v in item.items())
    return "\n".join(lines) + "\n"


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
    path.write_text(to_toml(document))
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
