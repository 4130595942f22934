"""optimodel report: one self-contained page, checked in a real headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
]


def cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimodel", *arguments], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    cbam = folder / "cbam.toml"
    cbam.write_text(f'extends = "{EXAMPLES / "two-firms.toml"}"\n[cbam]\nexport_share = {{ steel = 0.5 }}\n')
    assert cli("solve", str(cbam), "--out", str(folder / "run")).returncode == 0
    assert cli("report", str(folder / "run"), "--out", str(folder / "run.html")).returncode == 0
    swept = cli("sweep", str(EXAMPLES / "two-firms.toml"), "--set", "sectors.power.cap_tco2e.2026=60,55,50", "--out", str(folder / "sweep"))
    assert swept.returncode == 0
    assert cli("report", str(folder / "sweep")).returncode == 0
    rules = folder / "rules.toml"
    rules.write_text(
        f'extends = "{EXAMPLES / "two-firms.toml"}"\n[sectors.power]\nauction_share = 0.1\n'
        "[markets.national.reserve]\nstock_tco2e = 10.0\nrelease = [{ price = 45.0, quantity_tco2e = 5.0 }]\n"
    )
    assert cli("solve", str(rules), "--out", str(folder / "rules")).returncode == 0
    assert cli("report", str(folder / "rules"), "--out", str(folder / "rules.html")).returncode == 0
    uncertain = folder / "uncertain.toml"
    uncertain.write_text(
        f'extends = "{EXAMPLES / "two-firms.toml"}"\nname = "uncertain"\n[uncertainty]\ndraws = 30\n'
        '[[uncertainty.factors]]\ntarget = "cost"\ndistribution = "lognormal"\nsigma = 0.3\n'
    )
    assert cli("uncertainty", str(uncertain), "--out", str(folder / "uncertain")).returncode == 0
    assert cli("report", str(folder / "uncertain")).returncode == 0
    assert cli("report", str(folder / "run"), str(folder / "rules"), "--out", str(folder / "compare.html")).returncode == 0
    return {"run": folder / "run.html", "sweep": folder / "sweep" / "report.html", "rules": folder / "rules.html",
            "uncertainty": folder / "uncertain" / "report.html", "comparison": folder / "compare.html"}


def test_the_page_is_self_contained(reports):
    for page in reports.values():
        text = page.read_text()
        assert "plotly" in text.lower() and "<h1>" in text
        # No script, style or image is fetched from the network.
        assert not re.search(r'<script[^>]+src="https?://', text)
        assert not re.search(r'<link[^>]+href="https?://', text)


def test_the_page_has_every_chart(reports):
    run = reports["run"].read_text()
    for title in ("Allowance price with its interval", "Marginal abatement cost curves", "Abatement by sector and option",
                  "who pays, who sells", "Bank at year end", "CBAM charge"):
        assert title in run, title
    assert "Price against sectors.power.cap_tco2e.2026" in reports["sweep"].read_text()
    # The reserve chart only where a reserve acted; money wherever a run has totals.
    assert "Allowance reserve: stock, releases and intake" not in run
    rules = reports["rules"].read_text()
    for title in ("Allowance reserve: stock, releases and intake", "Money by year", "Emissions against the cap"):
        assert title in rules, title
    uncertainty = reports["uncertainty"].read_text()
    for title in ("fan chart over 30 optimal draws", "Total cost over the draws", "Which factor moves the price"):
        assert title in uncertainty, title
    comparison = reports["comparison"].read_text()
    for title in ("2 runs compared", "Allowance prices of the runs, with their intervals", "Differences from two-firms (run) by year"):
        assert title in comparison, title


def test_report_of_a_folder_that_is_not_a_run_is_an_input_error(tmp_path):
    completed = cli("report", str(tmp_path))
    assert completed.returncode == 2 and completed.stderr.startswith("error:")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def png_is_blank(path: Path) -> bool:
    """True when the screenshot has (almost) one colour: its pixel bytes take few values."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    return len(set(pixels)) < 16


def test_chromium_loads_the_page_without_console_errors_and_draws_it(reports, tmp_path):
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (.ci/run) so the report is tested in a real browser")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    for name, page in reports.items():
        screenshot = tmp_path / f"{name}.png"
        completed = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / ('profile-' + name)}", "--window-size=1280,2000",
             f"--screenshot={screenshot}", page.as_uri()],
            capture_output=True, text=True, timeout=180,
        )
        console = [line for line in completed.stderr.splitlines() if ":CONSOLE" in line]
        assert not console, console
        assert screenshot.exists(), completed.stderr[-2000:]
        assert not png_is_blank(screenshot)
