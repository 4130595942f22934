"""``optimodel explore``: a local page on which a planner moves a lever and sees the prices
(contract section 13).

The server keeps one warm LP session (``sweep.WarmSession``): a lever that moves only numbers the
built LP holds (caps of capped years, collar prices, offset limits, ``[investment]``
multipliers, ...) is re-solved from the last optimal basis in a fraction of a second; any other
lever rebuilds, as a sweep point would. A setting is validated exactly as ``optimodel solve``
validates a scenario file: it is applied to the scenario as loaded with the dotted keys of
``optimodel sweep --set`` and the result checked as a whole scenario.

The web layer is Starlette on uvicorn (the ``explore`` extra): a small, well-kept ASGI toolkit
with a test client, and nothing of FastAPI's request models that the scenario's own pydantic
models already do. The page draws with the plotly.js that the plotly package ships, served by
this server, so that it needs no network.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimodel.errors import InfeasibleError, InputError, OptimodelError
from optimodel.inputs.data import reusable_data
from optimodel.inputs.scenario import Scenario
from optimodel.palette import COLOURS, POLICY_LINE, colour_map
from optimodel.workflows.sweep import Assignment, WarmSession, sweep_points, warm_compatible

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
"""Loopback only: the page is for the planner at this machine (``--host`` to share it)."""
DEFAULT_PORT = 8765
PRICE_LEVER_MAX = 500.0
"""Upper end of the slider of a ceiling or floor the scenario does not set (CNY/tCO2e)."""
SHARE_KEYS = ("offset_limit", "auction_share", "discount_rate", "interest_rate", "borrowing", "share", "rate")
"""Key endings read as fractions 0..1 on a slider."""
SKIPPED_SECTIONS = ("data", "solver", "horizon")
"""Scenario tables whose numbers are not policy levers (paths, solver options, foresight)."""


@dataclass(frozen=True)
class Lever:
    """One number a planner can move: ``key`` in the dotted form of ``sweep --set``."""

    key: str
    label: str
    value: float | None
    """As the scenario sets it (None: not set, as a ceiling the scenario does not have)."""
    min: float
    max: float
    step: float
    unit: str


def levers(scenario: Scenario) -> list[Lever]:
    """Every number the scenario sets outside its data paths and solver options, each market's
    price ceiling and floor, and (when it has an ``[investment]`` table) every ``[investment]``
    number."""
    found: dict[str, Lever] = {}
    for key, value in _numbers(scenario.resolved, ()):
        found[key] = _lever(key, value)
    for market in scenario.market_policies():
        for name in ("price_ceiling", "price_floor"):
            key = f"markets.{market}.{name}"
            found.setdefault(key, _lever(key, None))
    if "investment" in scenario.resolved:
        for name, default in (("interest_rate", scenario.discount_rate), ("capex_multiplier", 1.0), ("max_build_multiplier", 1.0)):
            key = f"investment.{name}"
            found.setdefault(key, _lever(key, default))
    return list(found.values())


def _numbers(table: Any, path: tuple[str, ...]):
    """(dotted key, number) for every number in a scenario document (arrays of tables by index)."""
    if isinstance(table, dict):
        for name, value in table.items():
            if not path and name in SKIPPED_SECTIONS:
                continue
            yield from _numbers(value, (*path, str(name)))
    elif isinstance(table, list):
        # Arrays of tables ([[offsets]], reserve tranches) by index; plain lists (years, sectors) are not numbers.
        for index, value in enumerate(table):
            if isinstance(value, dict):
                yield from _numbers(value, (*path, str(index)))
    elif isinstance(table, (int, float)) and not isinstance(table, bool) and math.isfinite(table):
        if path and path[0] not in ("years",):
            yield ".".join(path), float(table)


def _lever(key: str, value: float | None) -> Lever:
    """A lever's range, step and unit from the name of what it sets."""
    parts = key.split(".")
    name = [part for part in parts if not part.isdigit()][-1]
    if name.endswith(SHARE_KEYS):
        low, high, step, unit = 0.0, 1.0, 0.005, "share"
    elif "price" in name or "trigger" in name:
        low, high, step, unit = 0.0, max(PRICE_LEVER_MAX, 2.0 * (value or 0.0)), 0.5, "CNY/tCO2e"
    elif name.endswith("multiplier"):
        low, high, step, unit = 0.0, 5.0, 0.05, "x"
    else:
        low, high = 0.0, max(1.0, 2.0 * abs(value or 0.0))
        step = _nice_step(high / 400.0)
        unit = "tCO2e" if name.endswith("tco2e") else ("tCO2e per unit of output" if name == "benchmark" else "")
    words = [part.removesuffix("_tco2e").replace("_", " ") for part in parts if part not in ("sectors", "markets")]
    label = " ".join(words) + (f" ({unit})" if unit else "")
    return Lever(key=key, label=label, value=value, min=low, max=high, step=step, unit=unit)


def _nice_step(rough: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``rough``."""
    if rough <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(rough))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= rough:
            return factor * power
    return 10.0 * power


class ExploreSession:
    """The scenario as loaded and one warm LP; ``answer`` solves a setting of levers."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.warm: WarmSession | None = None
        self.lock = threading.Lock()
        self.loaded = self.answer({})
        """The answer for the scenario as loaded: the page's ghost line."""

    def point(self, settings: dict[str, Any]) -> Scenario:
        """The scenario as loaded with ``settings`` applied, validated as ``solve`` validates a file."""
        if not isinstance(settings, dict):
            raise InputError('"set" must be an object of dotted keys and values', key="set")
        if not settings:
            return self.scenario
        assignments = [Assignment(str(key), (value,)) for key, value in settings.items()]
        return sweep_points(self.scenario, assignments)[0].scenario

    def answer(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Solve a setting: the JSON answer of ``POST /api/solve``. Raises ``InputError`` on a bad
        value (the server's 422)."""
        from optimodel.api import solve

        point = self.point(settings)
        started = time.perf_counter()
        with self.lock:
            try:
                result = None
                if warm_compatible(self.scenario, point):
                    if self.warm is None:
                        self.warm = WarmSession(self.scenario)
                    result = self.warm.solve(point)
                if result is None:
                    # Rebuilt, but on the tables already read when they read the same for this
                    # setting (0.45 s on the default instead of 0.8 s).
                    data = reusable_data(point, self.scenario, self.warm.data) if self.warm is not None else None
                    result = solve(point, data=data)
            except InfeasibleError as error:
                return {
                    "status": "infeasible",
                    "message": str(error),
                    "shortfalls": [
                        {"market": shortfall.market, "year": int(shortfall.year), "shortfall_tco2e": float(shortfall.shortfall_tco2e)}
                        for shortfall in error.shortfalls
                    ],
                    "seconds": round(time.perf_counter() - started, 3),
                }
        prices = result.prices[["market", "year", "price", "price_low", "price_high"]]
        return {
            "status": "optimal",
            "prices": _records(prices),
            "policy_lines": policy_lines(point, sorted({str(market) for market in prices["market"]}), list(point.years)),
            "markets": _records(result.markets),
            "money": _records(pd.DataFrame((result.summary.get("totals") or {}).get("by_year", []))),
            "seconds": round(time.perf_counter() - started, 3),
        }

    def scenario_toml(self, settings: dict[str, Any]) -> str:
        """The TOML of the scenario with ``settings`` applied, its data paths absolute, so that
        ``optimodel solve`` of the saved file gives the page's prices wherever it is saved."""
        from tomli_w import dumps

        point = self.point(settings)
        document = copy.deepcopy(point.resolved)
        document.pop("extends", None)
        tables = {"firms": point.data.firms, "emissions": point.data.emissions, "options": point.data.options, "activity": point.data.activity}
        document["data"] = {table: str(Path(path).resolve()) for table, path in tables.items() if path is not None}
        changed = ", ".join(f"{key} = {value}" for key, value in settings.items()) or "nothing"
        header = f"# Saved from optimodel explore: {self.scenario.name} with {changed}.\n"
        return header + dumps(document)


def policy_lines(scenario: Scenario, markets: list[str], years: list[int]) -> list[dict[str, Any]]:
    """Every family's policy lines of each market (ceilings, floors, triggers on the price chart,
    bank limits on the bank chart), as the reports draw them."""
    from optimodel.model.build import FAMILIES

    lines = []
    for market in markets:
        for family in FAMILIES:
            if family.policy_lines is not None:
                lines += [asdict(line) for line in family.policy_lines(scenario, market, years)]
    return lines


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON objects; an infinite price (no allowance can be spared) becomes null."""
    records = table.to_dict(orient="records")
    for record in records:
        for name, value in record.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            record[name] = value
    return records


# The web layer ---------------------------------------------------------------------------------


def page_html(session: ExploreSession) -> str:
    """The page, with the levers and the loaded scenario's answer inlined."""
    import json

    template = resources.files("optimodel.workflows").joinpath("explore.html").read_text(encoding="utf-8")
    boot = {
        "scenario": session.scenario.name,
        "levers": [asdict(lever) for lever in levers(session.scenario)],
        "loaded": session.loaded,
        # The report's palette: a market keeps its colour from the reports to this page.
        "colours": {
            "market": colour_map("market", [row["market"] for row in session.loaded.get("prices", [])]),
            "series": COLOURS,
            "policy": POLICY_LINE,
        },
    }
    # "</" cannot end the script element early once escaped.
    return template.replace("__BOOT__", json.dumps(boot).replace("</", "<\\/")).replace("__TITLE__", session.scenario.name)


def make_app(session: ExploreSession):
    """The Starlette application: the page, plotly.js, and the JSON API of contract section 13."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    queue = _Latest()

    async def read_settings(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise InputError("the request body is not JSON", key="set") from None
        if not isinstance(body, dict):
            raise InputError('expected {"set": {KEY: VALUE, ...}}', key="set")
        return body.get("set", {})

    async def index(request: Request):
        return HTMLResponse(page_html(session))

    async def plotly_js(request: Request):
        import plotly

        return FileResponse(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", media_type="application/javascript")

    async def favicon(request: Request):
        # Browsers ask for one; an empty answer keeps their console free of 404s.
        return Response(status_code=204)

    async def api_levers(request: Request):
        return JSONResponse([asdict(lever) for lever in levers(session.scenario)])

    async def api_solve(request: Request):
        try:
            settings = await read_settings(request)
            ticket = queue.take()
            async with queue.lock:
                if queue.superseded(ticket):
                    # A newer request is waiting: this one's answer would be stale before it arrives.
                    return JSONResponse({"status": "superseded", "seconds": 0.0})
                answer = await asyncio.to_thread(session.answer, settings)
        except InputError as error:
            return JSONResponse({"error": str(error)}, status_code=422)
        except OptimodelError as error:
            return JSONResponse({"error": str(error)}, status_code=500)
        return JSONResponse(answer)

    async def api_scenario(request: Request):
        try:
            settings = await read_settings(request)
            text = await asyncio.to_thread(session.scenario_toml, settings)
        except InputError as error:
            return JSONResponse({"error": str(error)}, status_code=422)
        name = f"{session.scenario.name}-explored.toml"
        return PlainTextResponse(text, media_type="application/toml", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/plotly.min.js", plotly_js),
            Route("/favicon.ico", favicon),
            Route("/api/levers", api_levers),
            Route("/api/solve", api_solve, methods=["POST"]),
            Route("/api/scenario", api_scenario, methods=["POST"]),
        ]
    )


class _Latest:
    """One solve at a time; a request still waiting when a newer one arrives is superseded."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.issued = 0

    def take(self) -> int:
        self.issued += 1
        return self.issued

    def superseded(self, ticket: int) -> bool:
        return ticket < self.issued


def serve(scenario: Scenario, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, open_browser: bool = True) -> None:
    """Solve the scenario, then serve the page until interrupted."""
    try:
        import uvicorn
    except ImportError:
        raise InputError('optimodel explore needs its extra: pip install -e ".[explore]"', key="explore") from None
    session = ExploreSession(scenario)
    url = f"http://{host}:{port}/"
    log.info("serving %s on %s", scenario.name, url)
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(make_app(session), host=host, port=port, log_level="warning")
