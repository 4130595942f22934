"""optimodel explore (contract section 13): the JSON API and the page in a real Chromium.

Every price here is derived by hand on the README's two firms (scenarios/examples/two-firms.toml):
baselines P1 100 t and S1 80 t; steps P1 efficiency 20 t @ 10, S1 scrap-EAF 10 t @ 30, P1 CCS
30 t @ 50, S1 hydrogen DRI 40 t @ 80.

- 2026 power cap 50 (steel 60): 180 - 110 = 70 t to abate: 20 + 10 + 30 + 10 t of DRI, which
  is the marginal step either way: price 80, interval [80, 80].
- and a price ceiling of 70: allowances are sold at 70 before DRI at 80 is used: price 70.
- 2026 power cap 5: 115 t to abate but only 100 t can be: infeasible, short by 15 t in 2026.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

import optimodel

ROOT = Path(__file__).resolve().parents[1]
TWO_FIRMS = ROOT / "scenarios" / "examples" / "two-firms.toml"
CAP_2026 = "sectors.power.cap_tco2e.2026"
CEILING = "markets.national.price_ceiling"

starlette = pytest.importorskip("starlette", reason="the explore extra is part of the test extra")
from starlette.testclient import TestClient  # noqa: E402

from optimodel.workflows.explore import ExploreSession, levers, make_app  # noqa: E402


@pytest.fixture(scope="module")
def session() -> ExploreSession:
    return ExploreSession(optimodel.load_scenario(TWO_FIRMS))


@pytest.fixture(scope="module")
def client(session) -> TestClient:
    return TestClient(make_app(session))


def prices_of(answer: dict) -> dict:
    return {(row["market"], row["year"]): (row["price"], row["price_low"], row["price_high"]) for row in answer["prices"]}


def test_levers_list_the_caps_and_each_markets_collar(client) -> None:
    response = client.get("/api/levers")
    assert response.status_code == 200
    by_key = {lever["key"]: lever for lever in response.json()}
    assert set(by_key) == {
        "sectors.power.cap_tco2e.2025", CAP_2026, "sectors.steel.cap_tco2e.2025", "sectors.steel.cap_tco2e.2026",
        CEILING, "markets.national.price_floor",
    }
    expected = {"key": CAP_2026, "label": "power cap 2026 (tCO2e)", "value": 60.0, "min": 0.0, "max": 120.0, "step": 0.5, "unit": "tCO2e"}
    assert by_key[CAP_2026] == expected
    assert by_key[CEILING]["value"] is None and by_key[CEILING]["unit"] == "CNY/tCO2e"


def test_a_lever_move_gives_the_hand_derived_prices(client) -> None:
    loaded = client.post("/api/solve", json={"set": {}}).json()
    assert prices_of(loaded)[("national", 2026)] == (50.0, 50.0, 80.0)
    moved = client.post("/api/solve", json={"set": {CAP_2026: 50}})
    assert moved.status_code == 200 and moved.json()["status"] == "optimal"
    assert prices_of(moved.json())[("national", 2026)] == pytest.approx((80.0, 80.0, 80.0))
    assert prices_of(moved.json())[("national", 2025)] == pytest.approx((50.0, 50.0, 50.0))
    capped = client.post("/api/solve", json={"set": {CAP_2026: 50, CEILING: 70}}).json()
    assert prices_of(capped)[("national", 2026)][0] == pytest.approx(70.0)
    # The ceiling is drawn where it acts, as in the reports.
    assert {"market": "national", "name": "price ceiling", "years": [2025, 2026], "values": [70.0, 70.0], "chart": "price"} in capped["policy_lines"]
    markets = {row["year"]: row for row in moved.json()["markets"]}
    assert markets[2026]["issued_tco2e"] == pytest.approx(110.0)
    assert markets[2026]["emissions_tco2e"] == pytest.approx(110.0)


def test_bad_input_is_a_422_naming_the_key_and_the_server_goes_on(client) -> None:
    bad = client.post("/api/solve", json={"set": {CAP_2026: -1}})
    assert bad.status_code == 422
    assert "sectors.power.cap_tco2e" in bad.json()["error"]
    unknown = client.post("/api/solve", json={"set": {"markets.national.no_such_key": 1}})
    assert unknown.status_code == 422 and "no_such_key" in unknown.json()["error"]
    not_json = client.post("/api/solve", content=b"nonsense")
    assert not_json.status_code == 422
    again = client.post("/api/solve", json={"set": {CAP_2026: 50}})
    assert again.status_code == 200 and prices_of(again.json())[("national", 2026)][0] == pytest.approx(80.0)


def test_an_infeasible_setting_lists_its_shortfall(client) -> None:
    answer = client.post("/api/solve", json={"set": {CAP_2026: 5}})
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "infeasible"
    assert body["shortfalls"] == [{"market": "national", "year": 2026, "shortfall_tco2e": pytest.approx(15.0)}]


def test_the_saved_scenario_solves_to_the_same_prices(client, tmp_path) -> None:
    settings = {CAP_2026: 50, CEILING: 75}
    page = client.post("/api/solve", json={"set": settings}).json()
    saved = client.post("/api/scenario", json={"set": settings})
    assert saved.status_code == 200
    # Saved somewhere else entirely: the data paths are absolute.
    path = tmp_path / "elsewhere" / "saved.toml"
    path.parent.mkdir()
    path.write_text(saved.text)
    result = optimodel.solve(optimodel.load_scenario(path))
    solved = {(row.market, row.year): (row.price, row.price_low, row.price_high) for row in result.prices.itertuples()}
    expected = prices_of(page)
    assert solved.keys() == expected.keys()
    for key, values in expected.items():
        assert solved[key] == pytest.approx(values)
    assert prices_of(page)[("national", 2026)][0] == pytest.approx(75.0)


def test_levers_of_the_default_cover_every_policy_number() -> None:
    scenario = optimodel.load_scenario(ROOT / "scenarios" / "reserve.toml")
    keys = {lever.key for lever in levers(scenario)}
    assert "sectors.power.cap_tco2e.2030" in keys
    assert "markets.national.offset_limit" in keys
    assert "markets.national.price_ceiling" in keys and "markets.national.price_floor" in keys
    assert "discount_rate" in keys
    assert not any(key.startswith(("data.", "solver.", "years")) for key in keys)


# The page in a real browser -------------------------------------------------------------------


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server(session):
    """The app on a free loopback port, in a thread of this process."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(make_app(session), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        if time.monotonic() > deadline:
            pytest.fail("the explore server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    path = chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (.ci/run) so the page is tested in a real browser")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def cell(page, year: int, field: str):
    return page.locator(f'td[data-market="national"][data-year="{year}"][data-field="{field}"]')


def set_lever(page, key: str, value: str) -> None:
    field = page.locator(f'input[data-key="{key}"]')
    field.fill(value)
    field.press("Enter")


def test_the_page_moves_a_lever_survives_a_bad_value_and_saves(server, browser, tmp_path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server)
    from playwright.sync_api import expect

    expect(cell(page, 2026, "price")).to_have_text("50.00")
    expect(cell(page, 2026, "price_high")).to_have_text("80.00")
    set_lever(page, CAP_2026, "50")
    expect(cell(page, 2026, "price")).to_have_text("80.00")
    expect(cell(page, 2026, "price_low")).to_have_text("80.00")
    # 50 in 2025 and 80 in 2026: the price chart notes the jump of 60 %.
    notes = page.evaluate("() => (document.getElementById('chart-prices').layout.annotations || []).map((note) => note.text)")
    assert "national: price jump +60%" in notes
    set_lever(page, CEILING, "70")
    expect(cell(page, 2026, "price")).to_have_text("70.00")
    names = page.evaluate("() => document.getElementById('chart-prices').data.map((trace) => trace.name)")
    assert "national: price ceiling" in names
    # A bad value: an error naming the key, the prices stay, and the next move still works.
    set_lever(page, CAP_2026, "-1")
    expect(page.locator("#error")).to_contain_text("sectors.power.cap_tco2e")
    expect(cell(page, 2026, "price")).to_have_text("70.00")
    set_lever(page, CEILING, "75")
    expect(cell(page, 2026, "price")).to_have_text("75.00")
    expect(page.locator("#error")).to_have_text("")
    shots = Path(os.environ.get("OPTIMODEL_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "explore-1400.png"), full_page=True)
    # Save as scenario: the file the page offers solves to the prices the page shows.
    with page.expect_download() as download:
        page.click("#save")
    saved = tmp_path / "saved.toml"
    download.value.save_as(saved)
    result = optimodel.solve(optimodel.load_scenario(saved))
    for row in result.prices.itertuples():
        assert cell(page, row.year, "price").inner_text() == f"{row.price:,.2f}"
    # The browser logs the bad value's 422 as a failed resource: that one is expected.
    assert [error for error in errors if "422" not in error] == []
    page.close()


class SlowSession(ExploreSession):
    """Each answer takes two seconds more, so that requests pile up behind it; ``solving`` is set
    once the first has started."""

    solving = threading.Event()

    def answer(self, settings):
        if settings:
            self.solving.set()
            time.sleep(2.0)
        return super().answer(settings)


def test_one_solve_at_a_time_and_a_newer_request_supersedes_a_queued_one() -> None:
    import urllib.request

    import uvicorn

    session = SlowSession(optimodel.load_scenario(TWO_FIRMS))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(make_app(session), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.05)
    answers: dict[str, dict] = {}

    def post(name: str, cap: float) -> None:
        body = json.dumps({"set": {CAP_2026: cap}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/solve", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answers[name] = json.loads(response.read())

    try:
        # The first solves for two seconds; the second queues behind it; the third arrives while
        # the second still waits.
        threads = [threading.Thread(target=post, args=(name, cap)) for name, cap in (("first", 60), ("second", 55), ("third", 50))]
        threads[0].start()
        assert session.solving.wait(timeout=30)
        threads[1].start()
        time.sleep(0.5)
        threads[2].start()
        for worker in threads:
            worker.join(timeout=60)
    finally:
        running.should_exit = True
        thread.join(timeout=10)
    assert answers["first"]["status"] == "optimal"
    assert answers["second"]["status"] == "superseded"
    assert answers["third"]["status"] == "optimal"
    # The newest setting is the one solved: cap 50 gives 80.
    assert prices_of(answers["third"])[("national", 2026)][0] == pytest.approx(80.0)


def test_a_port_in_use_is_an_input_error_before_serving() -> None:
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "optimodel", "explore", str(TWO_FIRMS), "--no-browser", "--port", str(port)],
            capture_output=True, text=True, timeout=120,
        )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error:") and "--port" in completed.stderr and "Traceback" not in completed.stderr


def test_a_rebuilt_setting_reuses_the_tables_and_solves_as_a_fresh_run(session) -> None:
    from optimodel.inputs.data import reusable_data

    # A ceiling the scenario does not have, and a discount rate, rebuild the LP on the tables
    # already read: the prices must be those of a run that reads them again.
    for settings in ({CEILING: 70, CAP_2026: 50}, {"discount_rate": 0.1, CAP_2026: 55}):
        point = session.point(settings)
        assert session.warm is not None and reusable_data(point, session.scenario, session.warm.data) is not None
        answer = session.answer(settings)
        fresh = optimodel.solve(point)
        for row in fresh.prices.itertuples():
            assert prices_of(answer)[(row.market, row.year)] == pytest.approx((row.price, row.price_low, row.price_high))
    # Other years read the tables again.
    other_years = session.point({"years": [2025]})
    assert reusable_data(other_years, session.scenario, session.warm.data) is None
