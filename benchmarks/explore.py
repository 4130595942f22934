"""How long a lever move takes on the live page (issue 19: at most 0.5 s median on the default).

    .venv/bin/python benchmarks/explore.py [SCENARIO] [--moves 20] [--out FILE.json]

Starts ``optimodel explore SCENARIO --no-browser`` as a separate process, as a planner would,
then measures two things:

- API: wall time of ``POST /api/solve`` from request to answer, for ``--moves`` settings of
  the 2030 power cap between -4 % and +4 % (each a new number, so no answer can be cached: a warm
  re-solve), and as many of levers the built LP cannot move (the discount rate 3-7 %, a price
  ceiling of 60-80 the scenario does not have: rebuilt on the tables already read);
- browser: in the system Chromium (Playwright), the time from pressing Enter in the 2030 power
  cap's field to the page having drawn the answer (its table and four charts).

Records min, median and max of each in ``benchmarks/results/<date>-explore.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "sectors.power.cap_tco2e.2030"
CEILING = "markets.national.price_ceiling"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def summary(seconds: list[float]) -> dict:
    return {"min": round(min(seconds), 3), "median": round(statistics.median(seconds), 3), "max": round(max(seconds), 3), "n": len(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "expansion.toml"))
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--screenshot", type=Path, default=None, help="also save the page at 1400 px after the moves (docs/img/explore.png)")
    arguments = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "optimodel", "explore", arguments.scenario, "--no-browser", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        while True:
            try:
                levers = json.loads(urllib.request.urlopen(base + "api/levers", timeout=5).read())
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 120:
                    raise SystemExit(f"the server did not start: {server.stderr.read().decode() if server.stderr else ''}") from None
                time.sleep(0.2)
        ready = time.perf_counter() - started
        loaded = next(lever["value"] for lever in levers if lever["key"] == KEY)
        factors = [0.96 + 0.08 * index / max(1, arguments.moves - 1) for index in range(arguments.moves)]
        # The first move builds the warm session; it is timed apart from the rest.
        first_started = time.perf_counter()
        post(base + "api/solve", {"set": {KEY: loaded * 0.999}})
        first = time.perf_counter() - first_started
        api = []
        for factor in factors:
            moved = time.perf_counter()
            answer = post(base + "api/solve", {"set": {KEY: loaded * factor}})
            api.append(time.perf_counter() - moved)
            assert answer["status"] == "optimal", answer
        # Levers the built LP cannot move (the discount rate, a ceiling the scenario lacks): the
        # LP is rebuilt on the tables already read.
        rebuilt = []
        for index in range(arguments.moves):
            setting = {"discount_rate": 0.03 + 0.04 * index / max(1, arguments.moves - 1)} if index % 2 == 0 else {CEILING: 60.0 + index}
            moved = time.perf_counter()
            answer = post(base + "api/solve", {"set": setting})
            rebuilt.append(time.perf_counter() - moved)
            assert answer["status"] == "optimal", answer
        browser = browser_moves(base, loaded, factors, arguments.screenshot)
    finally:
        server.terminate()
        server.wait(timeout=30)
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "scenario": arguments.scenario,
        "server_ready_seconds": round(ready, 2),
        "first_move_seconds": round(first, 3),
        "api_seconds": summary(api),
        "api_rebuilt_seconds": summary(rebuilt),
        "browser_seconds": summary(browser) if browser else None,
    }
    print(json.dumps(record, indent=2))
    out = arguments.out or ROOT / "benchmarks" / "results" / f"{record['date']}-explore.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"recorded in {out}")


def browser_moves(base: str, loaded: float, factors: list[float], screenshot: Path | None = None) -> list[float]:
    """Enter in the lever's field to the 2030 price cell changing, in the system Chromium."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        print("no chromium: browser moves not measured", file=sys.stderr)
        return []
    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base)
        field = page.locator(f'input[data-key="{KEY}"]')
        page.wait_for_selector('td[data-market="national"][data-year="2030"][data-field="price"]')
        for number, factor in enumerate(factors, start=1):
            field.fill(f"{loaded * (2.0 - factor):.6g}")
            moved = time.perf_counter()
            field.press("Enter")
            # The page counts the answers it has drawn (body data-answers).
            page.wait_for_function("(count) => Number(document.body.dataset.answers || 0) >= count", arg=number, timeout=60_000)
            seconds.append(time.perf_counter() - moved)
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        browser.close()
    return seconds


if __name__ == "__main__":
    main()
