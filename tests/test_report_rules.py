"""The report rules of contract section 13, checked on every page kind by parsing its figures.

Each page's plotly figures are read back from its HTML (the JSON of every ``Plotly.newPlot``
call) and its tables from their cells, and the rules are checked on what a planner would see:

- one colour per sector, market, option and run: the same in every figure of a page and across
  pages, and never shared by two names in one figure;
- the currency on every price and money axis and facet title; no table cell of a million or more;
- the ceiling, the reserve's trigger and the bank limit drawn, named, on the charts they act on,
  and a note where the price jumps by more than 30 %;
- regions drawn; uncertainty factors named by target and scope (no "factor_1" in any figure);
  every swept key drawn and every sweep point in a table; horizon variants apart by dash and colour.

The instances are the README's two firms (hand-derived prices in scenarios/examples/two-firms.toml).
With the 2026 power cap at 50 the 2026 price is 80 against 50 in 2025: a jump of 60 %.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from optimodel.palette import POLICY_LINE

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"
CURRENCY = "CNY"
PRICE_OR_MONEY = ("price", "cost", "revenue", "money", "/tco2e", "charge", "bn ")
POLICY_WORDS = ("ceiling", "floor", "trigger", "limit")


def cli(*arguments: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "optimodel", "-q", *arguments], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rules")
    policy = folder / "policy.toml"
    policy.write_text(
        f'extends = "{EXAMPLES / "two-firms.toml"}"\nname = "policy"\n'
        "[sectors.power]\ncap_tco2e = { 2025 = 70, 2026 = 50 }\n"
        "[markets.national]\nsectors = [\"power\", \"steel\"]\nbanking = true\nbank_limit_tco2e = 5.0\nprice_ceiling = 200.0\n"
        "[markets.national.reserve]\nstock_tco2e = 10.0\nrelease = [{ price = 150.0, quantity_tco2e = 5.0 }]\n"
    )
    cli("solve", str(policy), "--out", str(folder / "policy"))
    cli("report", str(folder / "policy"), "--out", str(folder / "policy.html"))
    cli("solve", str(EXAMPLES / "two-firms.toml"), "--out", str(folder / "plain"))
    cli("report", str(folder / "plain"), str(folder / "policy"), str(folder / "plain"), "--out", str(folder / "comparison.html"))
    cli("sweep", str(EXAMPLES / "two-firms.toml"), "--set", "sectors.power.cap_tco2e.2026=60,55,50",
        "--set", "sectors.steel.cap_tco2e.2026=60,58", "--out", str(folder / "sweep"))
    cli("report", str(folder / "sweep"))
    cli("horizon", str(policy), "--ends", "2025,2026", "--foresight", "1,all", "--out", str(folder / "horizon"))
    cli("report", str(folder / "horizon"))
    uncertain = folder / "uncertain.toml"
    uncertain.write_text(
        f'extends = "{EXAMPLES / "two-firms.toml"}"\nname = "uncertain"\n[uncertainty]\ndraws = 20\n'
        '[[uncertainty.factors]]\ntarget = "cost"\ndistribution = "lognormal"\nsigma = 0.3\n'
        '[[uncertainty.factors]]\ntarget = "baseline"\nsectors = ["steel"]\ndistribution = "normal"\nsd = 0.05\n'
    )
    cli("uncertainty", str(uncertain), "--out", str(folder / "uncertain"))
    cli("report", str(folder / "uncertain"))
    return {
        "run": folder / "policy.html", "comparison": folder / "comparison.html", "sweep": folder / "sweep" / "report.html",
        "horizon": folder / "horizon" / "report.html", "uncertainty": folder / "uncertain" / "report.html",
    }


def figures_of(page: Path) -> list[dict]:
    """Every figure of a page as plotly's JSON: {"data": [...], "layout": {...}}."""
    text = page.read_text()
    decoder = json.JSONDecoder()
    figures = []

    def after_comma(position: int) -> int:
        position = text.index(",", position) + 1
        while text[position].isspace():
            position += 1
        return position

    for match in re.finditer(r"Plotly\.newPlot\(\s*", text):
        _, position = decoder.raw_decode(text, match.end())
        data, position = decoder.raw_decode(text, after_comma(position))
        layout, _ = decoder.raw_decode(text, after_comma(position))
        figures.append({"data": data, "layout": layout})
    assert figures, f"no figure in {page}"
    return figures


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.cells: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.inside = tag == "td"

    def handle_endtag(self, tag) -> None:
        self.inside = False

    def handle_data(self, data) -> None:
        if self.inside and data.strip():
            self.cells.append(data.strip())


def table_cells(page: Path) -> list[str]:
    parser = _Cells()
    parser.feed(page.read_text())
    return parser.cells


def title_text(value) -> str:
    if isinstance(value, dict):
        return str(value.get("text") or "")
    return str(value or "")


def colour_of(trace: dict) -> str | None:
    line, marker = trace.get("line") or {}, trace.get("marker") or {}
    colour = line.get("color") or marker.get("color")
    return colour if isinstance(colour, str) else None


def entity(trace: dict) -> str:
    return str(trace.get("name") or "").split(":")[0].split(" (")[0].strip()


def named_colours(page: Path, names: set[str]) -> dict[str, str]:
    """name -> colour over the page, asserting one colour per name and distinct names apart in each figure."""
    seen: dict[str, str] = {}
    for figure in figures_of(page):
        in_figure: dict[str, str] = {}
        for trace in figure["data"]:
            name, colour = entity(trace), colour_of(trace)
            if name not in names or colour is None or any(word in str(trace.get("name")) for word in POLICY_WORDS):
                continue
            assert seen.setdefault(name, colour) == colour, f"{name} drawn in {seen[name]} and {colour} on {page.name}"
            in_figure[name] = colour
        colours = list(in_figure.values())
        assert len(colours) == len(set(colours)), f"two names share a colour in {title_text(figure['layout'].get('title'))}: {in_figure}"
    return seen


def test_one_colour_per_sector_market_option_and_run_on_every_page_and_across_pages(pages) -> None:
    names = {"power", "steel", "national", "efficiency", "scrap_eaf", "ccs", "hydrogen_dri"}
    run = named_colours(pages["run"], names)
    assert {"power", "steel", "national"} <= run.keys()
    assert len(set(run[name] for name in ("power", "steel"))) == 2
    for kind in ("sweep", "comparison"):
        other = named_colours(pages[kind], names)
        for name in run.keys() & other.keys():
            assert other[name] == run[name], f"{name} changes colour between the run page and the {kind} page"
    # The comparison's runs (the plain run given twice): one colour and one dash each, the same in
    # every figure that draws them.
    price, differences = figures_of(pages["comparison"])[:2]
    lines = {trace["name"]: trace for trace in price["data"] if trace.get("mode") == "lines+markers"}
    assert set(lines) == {"two-firms (plain)", "policy", "two-firms (plain) #2"}
    assert len({colour_of(trace) for trace in lines.values()}) == 3
    assert len({trace["line"]["dash"] for trace in lines.values()}) == 3
    for trace in differences["data"]:
        assert colour_of(trace) == colour_of(lines[trace["name"]]), trace["name"]


def test_every_price_and_money_axis_names_the_currency(pages) -> None:
    for kind, page in pages.items():
        for figure in figures_of(page):
            layout = figure["layout"]
            titles = [title_text(layout[key].get("title")) for key in layout if key.startswith(("xaxis", "yaxis")) and isinstance(layout[key], dict)]
            titles += [str(annotation.get("text", "")) for annotation in layout.get("annotations", []) if "jump" not in str(annotation.get("text"))]
            for title in titles:
                if any(word in title.lower() for word in PRICE_OR_MONEY):
                    assert CURRENCY in title, f"{kind}: axis or facet title {title!r} has no currency"
            assert "price per tCO2e" not in json.dumps(layout)


def test_no_table_cell_reads_in_the_millions(pages) -> None:
    for kind, page in pages.items():
        for cell in table_cells(page):
            number = cell.replace(",", "")
            if re.fullmatch(r"-?\d+(\.\d+)?", number):
                assert abs(float(number)) < 1e6, f"{kind}: a cell shows {cell}"


def test_policy_lines_are_drawn_and_named_where_they_act(pages) -> None:
    figures = figures_of(pages["run"])
    price = next(figure for figure in figures if "Allowance price" in title_text(figure["layout"].get("title")))
    names = [str(trace.get("name")) for trace in price["data"]]
    assert "national: price ceiling" in names and "national: release trigger" in names
    ceiling = next(trace for trace in price["data"] if trace.get("name") == "national: price ceiling")
    assert ceiling["y"] == [200.0, 200.0] and colour_of(ceiling) == POLICY_LINE
    # 50 in 2025, 80 in 2026: +60 %.
    notes = [str(annotation.get("text")) for annotation in price["layout"].get("annotations", [])]
    assert any("jump +60%" in note for note in notes), notes
    bank = next(figure for figure in figures if "Bank at year end" in title_text(figure["layout"].get("title")))
    limit = next(trace for trace in bank["data"] if "limit" in str(trace.get("name")))
    assert limit["y"] == [pytest.approx(5.0e-6), pytest.approx(5.0e-6)]


def test_regions_are_drawn(pages) -> None:
    regions = [figure for figure in figures_of(pages["run"]) if "by region" in title_text(figure["layout"].get("title"))]
    assert regions
    drawn = {value for trace in regions[0]["data"] for value in trace.get("y", [])}
    assert {"Shandong", "Hebei"} <= drawn


def test_uncertainty_factors_are_named_by_target_and_scope(pages) -> None:
    for figure in figures_of(pages["uncertainty"]):
        assert "factor_" not in json.dumps(figure), title_text(figure["layout"].get("title"))
    heat = next(figure for figure in figures_of(pages["uncertainty"]) if "Which factor" in title_text(figure["layout"].get("title")))
    labels = {label for trace in heat["data"] for label in trace.get("y", [])}
    assert labels == {"cost (all sectors)", "baseline (steel)"}


def test_the_sweep_page_draws_every_key_and_lists_every_point(pages) -> None:
    titles = [title_text(figure["layout"].get("title")) for figure in figures_of(pages["sweep"])]
    assert any(title.startswith("Price against sectors.power.cap_tco2e.2026") for title in titles)
    assert any(title.startswith("Price against sectors.steel.cap_tco2e.2026") for title in titles)
    cells = table_cells(pages["sweep"])
    for number in range(1, 7):
        assert f"run-{number:03d}" in cells
    assert cells.count("optimal") == 6


def test_horizon_variants_differ_by_dash_and_colour(pages) -> None:
    figure = figures_of(pages["horizon"])[0]
    lines = [trace for trace in figure["data"] if trace.get("mode") == "lines+markers"]
    assert len(lines) == 4
    assert len({trace["line"]["dash"] for trace in lines}) == 4
    assert len({trace["line"]["color"] for trace in lines}) == 4
