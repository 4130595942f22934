"""One self-contained HTML page per run (or sweep): charts by plotly, plotly.js embedded, so the
page opens with no network.

Charts: the price path per market with its interval band; each sector's marginal abatement cost
curve in the first year with the clearing price; emissions against the cap; abatement by sector
and option (CO2 and PFC gases apart); the distribution of firms' net purchases and compliance
costs (who pays, who sells); the bank over time; the reserve's stock and flows when it has one;
money by year in bn (abatement cost, auction, ceiling and reserve revenue); CBAM exposure when the
run has it; and for a sweep folder, price against the swept value. An uncertainty folder gets fan
charts, the distribution of total cost and each factor's rank correlation with the price; several
run folders get one page comparing them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from optimodel.errors import InputError
from optimodel.model.build import FAMILIES
from optimodel.palette import COLOURS


def _figure_html(figure, first: bool) -> str:
    # The first chart carries plotly.js inline; the others reuse it.
    return figure.to_html(full_html=False, include_plotlyjs=True if first else False, config={"displaylogo": False})


def _band(years: pd.Series, low: pd.Series, high: pd.Series, name: str, opacity: float, colour: str | None = None,
          legend: bool = True):
    """A shaded band between ``low`` and ``high`` over ``years`` (an infinite high is left open)."""
    import plotly.graph_objects as go

    line = {"width": 0} if colour is None else {"width": 0, "color": colour}
    return go.Scatter(x=list(years) + list(years)[::-1], y=list(high.replace(np.inf, np.nan)) + list(low)[::-1], fill="toself",
                      opacity=opacity, line=line, name=name, showlegend=legend)


def _add_interval(figure, rows: pd.DataFrame, name: str, colour: str | None = None) -> None:
    """The price interval of ``rows`` as a band, where it is not a point."""
    if (rows["price_high"] - rows["price_low"]).abs().max() > 0:
        figure.add_trace(_band(rows["year"], rows["price_low"], rows["price_high"], f"{name}: interval", 0.2, colour, legend=False))


def _price_figure(prices: pd.DataFrame):
    import plotly.graph_objects as go

    figure = go.Figure()
    for index, (market, table) in enumerate(prices.groupby("market", sort=False)):
        colour = COLOURS[index % len(COLOURS)]
        high = table["price_high"].where(table["price_high"] < 1e300)
        figure.add_trace(go.Scatter(x=table["year"], y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=table["year"], y=table["price_low"], mode="lines", line={"width": 0}, fill="tonexty",
                                    fillcolor="rgba(120,120,120,0.25)", name=f"{market}: interval", hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=table["year"], y=table["price"], mode="lines+markers", name=market, line={"color": colour}))
    figure.update_layout(title="Allowance price with its interval", xaxis_title="year", yaxis_title="price per tCO2e")
    return figure


def _mac_figure(run: Path, prices: pd.DataFrame):
    """Each sector's marginal abatement cost curve in the first year, rebuilt from the run's own
    copy of its inputs, with the market's clearing price."""
    import plotly.graph_objects as go

    from optimodel.api import load_scenario
    from optimodel.inputs.data import load_data

    scenario = load_scenario(run / "scenario.toml")
    data = load_data(scenario)
    year = data.years[0]
    steps = data.steps[data.steps["year"] == 0]
    figure = go.Figure()
    market_of = scenario.market_of_sector()
    price = prices.set_index(["market", "year"])["price"]
    for index, (sector_position, table) in enumerate(steps.groupby("sector")):
        sector = data.sectors[sector_position]
        ordered = table.sort_values("cost_per_tco2e")
        cumulative = data.scaling.from_model(ordered["potential_scaled"].cumsum().to_numpy()) / 1e6
        starts = [0.0, *cumulative[:-1]]
        x, y = [], []
        for start, end, cost in zip(starts, cumulative, ordered["cost_per_tco2e"]):
            x += [start, end]
            y += [cost, cost]
        colour = COLOURS[index % len(COLOURS)]
        figure.add_trace(go.Scatter(x=x, y=y, mode="lines", name=sector, line={"color": colour}))
        clearing = float(price[(market_of[sector], year)])
        figure.add_trace(go.Scatter(x=[0, cumulative[-1] if len(cumulative) else 0], y=[clearing, clearing], mode="lines",
                                    line={"color": colour, "dash": "dot"}, name=f"{sector}: price {clearing:,.2f}"))
    figure.update_layout(title=f"Marginal abatement cost curves, {year}", xaxis_title="abatement, Mt CO2e",
                         yaxis_title="cost per tCO2e")
    return figure


def _abatement_figure(options: pd.DataFrame):
    import plotly.express as px

    table = options.assign(gases=options["gas"].where(options["gas"] == "CO2", "PFC"), mt=options["abatement_tco2e"] / 1e6)
    table = table.groupby(["sector", "option", "gases", "year"], as_index=False)["mt"].sum()
    figure = px.bar(table, x="year", y="mt", color="option", facet_col="gases", facet_row="sector",
                    title="Abatement by sector and option (CO2 and PFC gases)", labels={"mt": "Mt CO2e"})
    figure.update_yaxes(matches=None)
    figure.update_layout(height=max(400, 220 * table["sector"].nunique()))
    return figure


def _firms_figure(firms: pd.DataFrame):
    import plotly.express as px

    year = firms["year"].min()
    table = firms[firms["year"] == year].assign(role=lambda frame: frame["net_purchase_tco2e"].map(lambda value: "buys" if value > 0 else "sells"))
    return px.histogram(table, x="compliance_cost", color="role", facet_col="sector", nbins=40,
                        title=f"Firms' compliance costs in {year}: who pays, who sells",
                        labels={"compliance_cost": "abatement cost + price x net purchase"})


def _emissions_figure(markets: pd.DataFrame):
    """Verified emissions against the allowances issued (the caps), per market, Mt."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for index, (market, table) in enumerate(markets.groupby("market", sort=False)):
        colour = COLOURS[index % len(COLOURS)]
        figure.add_trace(go.Scatter(x=table["year"], y=table["issued_tco2e"] / 1e6, mode="lines", name=f"{market}: issued (cap)",
                                    line={"color": colour, "dash": "dash"}))
        figure.add_trace(go.Scatter(x=table["year"], y=table["emissions_tco2e"] / 1e6, mode="lines+markers",
                                    name=f"{market}: emissions", line={"color": colour}))
    figure.update_layout(title="Emissions against the cap (the gap is met by the bank, offsets and the reserve)",
                         xaxis_title="year", yaxis_title="Mt CO2e")
    return figure


def money_names() -> dict[str, str]:
    """summary.json totals -> label: abatement cost, auction revenue, then each family's revenue."""
    names = {"abatement_cost": "abatement cost", "auction_revenue": "auction revenue"}
    for family in FAMILIES:
        names.update(family.revenue_columns)
    return names


def _money_figure(summary: dict):
    """Money by year in bn of the currency (money of each year): what abatement costs and what
    auctions, ceiling and reserve sales raise (summary.json totals)."""
    import plotly.graph_objects as go

    by_year = pd.DataFrame(summary.get("totals", {}).get("by_year", []))
    figure = go.Figure()
    for index, (name, label) in enumerate(money_names().items()):
        if name in by_year.columns and by_year[name].abs().sum() > 0:
            figure.add_trace(go.Bar(x=by_year["year"], y=by_year[name] / 1e9, name=label, marker={"color": COLOURS[index]}))
    currency = html.escape(str(summary.get("currency", "")))
    figure.update_layout(title="Money by year: abatement cost, and what auctions, ceiling and reserve sales raise",
                         xaxis_title="year", yaxis_title=f"bn {currency} (money of the year)", barmode="group")
    return figure


def _cbam_figure(cbam: pd.DataFrame):
    import plotly.express as px

    return px.line(cbam, x="year", y="net_charge_per_tco2e", color="sector", markers=True,
                   title="CBAM charge at the EU border per exported tCO2e, net of the Chinese price paid",
                   labels={"net_charge_per_tco2e": "per tCO2e"})


def _sweep_figure(sweep: Path):
    import plotly.express as px

    prices = pd.read_csv(sweep / "sweep_prices.csv")
    keys = [column for column in prices.columns if column not in ("run", "market", "year", "price", "price_low", "price_high")]
    key = keys[0]
    return px.line(prices.sort_values(key), x=key, y="price", color=prices["year"].astype(str), line_dash="market", markers=True,
                   title=f"Price against {key}", labels={"color": "year"})


def _table_html(table: pd.DataFrame) -> str:
    return table.to_html(index=False, float_format=lambda value: f"{value:,.2f}", border=0, classes="data")


def _page(title: str, body: str) -> str:
    """One self-contained page: its generator tag (how ``report --out`` knows a page it wrote),
    the style, the title and ``body``."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="{GENERATOR}"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table.data {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 2em; }}
table.data td, table.data th {{ padding: 2px 8px; text-align: right; border-bottom: 1px solid #ddd; }}
section.chart {{ margin: 1.5em 0; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
{body}
</body></html>
"""


def _horizon_page(directory: Path) -> str:
    """A horizon folder: each variant's price path, one line per variant and market, with the
    interval as a band where it is not a point, and the table."""
    import plotly.graph_objects as go

    try:
        table = pd.read_csv(directory / "horizon.csv", dtype={"end_year": str, "foresight": str}, keep_default_na=False)
        summary = json.loads((directory / "summary.json").read_text())
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read the horizon study ({error})", file=str(directory)) from None
    from optimodel.workflows.horizon import Variant

    table["variant"] = [Variant.from_row(end, foresight).label for end, foresight in zip(table["end_year"], table["foresight"])]
    figure = go.Figure()
    for (variant, market), rows in table.groupby(["variant", "market"], sort=False):
        name = variant if table["market"].nunique() == 1 else f"{variant}, {market}"
        figure.add_trace(go.Scatter(x=rows["year"], y=rows["price"], mode="lines+markers", name=name))
        _add_interval(figure, rows, name)
    figure.update_layout(title="Allowance price by horizon", xaxis_title="year", yaxis_title="price per tCO2e")
    figure.update_xaxes(tickformat="d", dtick=1)
    title = f"optimodel: {summary.get('scenario', directory.name)} (horizon study)"
    warnings = "".join(f"<li>{html.escape(warning['message'])}</li>" for warning in summary.get("warnings", []))
    body = (
        "<p>How the prices depend on where the model stops looking: end years (cut, or looking ahead) and foresight.</p>\n"
        f"{f'<ul>{warnings}</ul>' if warnings else ''}\n"
        f'<section class="chart">{_figure_html(figure, True)}</section>\n'
        f"<h2>Prices</h2>{_table_html(table.drop(columns='variant'))}"
    )
    return _page(title, body)


def _uncertainty_page(directory: Path) -> str:
    """An uncertainty folder: a fan chart of the price per market (median, 25-75 % and 5-95 %
    bands, mean), the distribution of the total cost over the draws, and the rank correlation of
    each factor with each year's price (which factor moves the price most)."""
    import plotly.express as px
    import plotly.graph_objects as go

    try:
        quantiles = pd.read_csv(directory / "price_quantiles.csv")
        draws = pd.read_parquet(directory / "draws.parquet")
        sensitivity = pd.read_csv(directory / "price_sensitivity.csv")
        summary = json.loads((directory / "summary.json").read_text())
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read the uncertainty run ({error})", file=str(directory)) from None
    currency = html.escape(str(summary.get("currency", "")) or "money")
    figures = []
    for index, (market, table) in enumerate(quantiles.groupby("market", sort=False)):
        colour = COLOURS[index % len(COLOURS)]
        figure = go.Figure()
        for low, high, opacity, name in (("p05", "p95", 0.18, "5-95 %"), ("p25", "p75", 0.35, "25-75 %")):
            figure.add_trace(_band(table["year"], table[low], table[high], name, opacity, colour))
        figure.add_trace(go.Scatter(x=table["year"], y=table["p50"], mode="lines+markers", name="median", line={"color": colour}))
        figure.add_trace(go.Scatter(x=table["year"], y=table["mean"], mode="lines", name="mean", line={"color": colour, "dash": "dot"}))
        figure.update_layout(title=f"Allowance price, {market}: fan chart over {summary.get('draws_optimal', '')} optimal draws",
                             xaxis_title="year", yaxis_title="price per tCO2e (money of each year)")
        figure.update_xaxes(tickformat="d", dtick=1)
        figures.append(figure)
    solved = draws[draws["status"] == "optimal"]
    if "total_cost" in solved.columns and not solved.empty:
        costs = solved.groupby("draw")["total_cost"].first() / 1e9
        figures.append(px.histogram(costs, nbins=40, title="Total cost over the draws (discounted to the first year)",
                                    labels={"value": "bn, first-year money"}).update_layout(showlegend=False))
    if not sensitivity.empty:
        heat = sensitivity.assign(label=sensitivity["market"] + " " + sensitivity["year"].astype(str))
        figures.append(px.imshow(heat.pivot(index="factor", columns="label", values="rank_correlation"), zmin=-1, zmax=1,
                                 color_continuous_scale="RdBu_r", aspect="auto",
                                 title="Which factor moves the price: rank correlation of each multiplier with each year's price"))
    factors = pd.DataFrame(summary.get("factors", []))
    charts = "\n".join(f'<section class="chart">{_figure_html(figure, index == 0)}</section>' for index, figure in enumerate(figures))
    infeasible = summary.get("infeasible_draws", [])
    facts = (
        f"{summary.get('draws_done', 0):,} of {summary.get('draws', 0):,} draws done (seed {summary.get('seed')}), "
        f"{summary.get('draws_optimal', 0):,} optimal, {len(infeasible):,} infeasible"
        + (f" (draws {', '.join(map(str, infeasible[:30]))}{', ...' if len(infeasible) > 30 else ''})" if infeasible else "")
        + ("" if summary.get("complete", True) else "; <strong>interrupted: not every draw was solved</strong>")
    )
    title = f"optimodel: {summary.get('scenario', directory.name)} (uncertainty)"
    body = (
        f"<p>{facts}. Prices in {currency} per tCO2e.</p>\n{charts}\n"
        f"<h2>Factors</h2>{_table_html(factors)}<h2>Price quantiles</h2>{_table_html(quantiles)}"
    )
    return _page(title, body)


def _comparison_page(directories: list[Path]) -> str:
    """Several run folders on one page: price paths overlaid with their intervals, and each run's
    differences from the first in cost, emissions, bank and revenue, by year."""
    import plotly.graph_objects as go

    runs = []
    for directory in directories:
        try:
            prices = pd.read_csv(directory / "prices.csv")
            markets = pd.read_csv(directory / "markets.csv")
            summary = json.loads((directory / "summary.json").read_text())
        except (OSError, ValueError, pd.errors.ParserError) as error:
            raise InputError(f"not a run folder that can be compared ({error})", file=str(directory)) from None
        runs.append((str(summary.get("scenario", directory.name)), directory, prices, markets, summary))
    figure = go.Figure()
    for index, (name, _, prices, _, _) in enumerate(runs):
        colour = COLOURS[index % len(COLOURS)]
        for market, table in prices.groupby("market", sort=False):
            label = name if prices["market"].nunique() == 1 else f"{name}, {market}"
            _add_interval(figure, table, label, colour)
            figure.add_trace(go.Scatter(x=table["year"], y=table["price"], mode="lines+markers", name=label, line={"color": colour}))
    figure.update_layout(title="Allowance prices of the runs, with their intervals", xaxis_title="year",
                         yaxis_title="price per tCO2e (money of each year)")
    figure.update_xaxes(tickformat="d", dtick=1)

    def by_year(markets: pd.DataFrame, summary: dict) -> pd.DataFrame:
        table = markets.groupby("year")[["emissions_tco2e", "bank_end_tco2e"]].sum()
        revenue = [name for name in list(money_names())[1:] if name in markets.columns]
        table["revenue"] = markets.groupby("year")[revenue].sum().sum(axis=1) if revenue else 0.0
        totals = pd.DataFrame(summary.get("totals", {}).get("by_year", []))
        cost = totals.set_index("year")["abatement_cost"] if not totals.empty else pd.Series(dtype=float)
        table["abatement_cost"] = cost.reindex(table.index).fillna(0.0)
        return table

    first_name, _, _, first_markets, first_summary = runs[0]
    base = by_year(first_markets, first_summary)
    differences = []
    for name, _, _, markets, summary in runs[1:]:
        change = (by_year(markets, summary) - base).reset_index()
        change.insert(0, "run", name)
        differences.append(change)
    table = pd.concat(differences, ignore_index=True) if differences else pd.DataFrame()
    delta_figure = None
    if not table.empty:
        import plotly.express as px

        long = table.melt(id_vars=["run", "year"], var_name="quantity", value_name="change")
        scale = {"emissions_tco2e": 1e6, "bank_end_tco2e": 1e6, "revenue": 1e9, "abatement_cost": 1e9}
        units = {"emissions_tco2e": "emissions, Mt", "bank_end_tco2e": "bank, Mt", "revenue": "revenue, bn", "abatement_cost": "abatement cost, bn"}
        long["change"] = long["change"] / long["quantity"].map(scale)
        long["quantity"] = long["quantity"].map(units)
        delta_figure = px.bar(long, x="year", y="change", color="run", facet_col="quantity", facet_col_wrap=2, barmode="group",
                              title=f"Differences from {first_name} by year")
        delta_figure.update_yaxes(matches=None, showticklabels=True)
        delta_figure.for_each_annotation(lambda annotation: annotation.update(text=annotation.text.split("=")[-1]))
    objectives = pd.DataFrame([
        {"run": name, "objective (discounted)": summary.get("objective", np.nan),
         "change from the first": summary.get("objective", np.nan) - first_summary.get("objective", np.nan)}
        for name, _, _, _, summary in runs
    ])
    figures = [figure] + ([delta_figure] if delta_figure is not None else [])
    charts = "\n".join(f'<section class="chart">{_figure_html(item, index == 0)}</section>' for index, item in enumerate(figures))
    names = ", ".join(html.escape(name) for name, *_ in runs)
    body = (
        f"<p>Runs: {names}. Differences are each run less the first ({html.escape(first_name)}), money of each year.</p>\n"
        f"{charts}\n<h2>Total cost</h2>{_table_html(objectives)}"
        + (f"<h2>Differences by year</h2>{_table_html(table)}" if not table.empty else "")
    )
    return _page(f"optimodel: {len(runs)} runs compared", body)


def build_report(directory: Path | list[Path]) -> str:
    """The page's HTML for a run folder, a sweep, horizon or uncertainty folder, or (a list of
    several folders) a comparison of runs."""
    if isinstance(directory, list):
        if len(directory) > 1:
            return _comparison_page([Path(item) for item in directory])
        directory = directory[0]
    directory = Path(directory)
    if (directory / "horizon.csv").exists():
        return _horizon_page(directory)
    if (directory / "draws.parquet").exists():
        return _uncertainty_page(directory)
    sweep = (directory / "sweep_prices.csv").exists()
    if sweep:
        runs = sorted(path for path in (directory / "runs").iterdir() if (path / "prices.csv").exists())
        if not runs:
            raise InputError("the sweep has no solved run to report", file=str(directory))
        run = runs[0]
    elif (directory / "prices.csv").exists():
        run = directory
    else:
        raise InputError("not a run folder (no prices.csv) nor a sweep folder (no sweep_prices.csv)", file=str(directory))
    try:
        tables = {name: pd.read_csv(run / f"{name}.csv") for name in ("prices", "markets", "sectors", "firms", "options")}
        summary = json.loads((run / "summary.json").read_text())
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read the run's files ({error})", file=str(run)) from None
    cbam = pd.read_csv(run / "cbam.csv") if (run / "cbam.csv").exists() else None

    figures = [_price_figure(tables["prices"])]
    if (run / "scenario.toml").exists():
        figures.append(_mac_figure(run, tables["prices"]))
    markets = tables["markets"]
    figures += [_emissions_figure(markets), _abatement_figure(tables["options"]), _firms_figure(tables["firms"])]
    run_tables = {"markets": markets}
    for family in FAMILIES:
        for name in family.tables_written:
            if (run / f"{name}.csv").exists():
                run_tables[name] = pd.read_csv(run / f"{name}.csv")
    for family in FAMILIES:
        if family.report_figures is not None:
            figures += family.report_figures(run_tables)
    if summary.get("totals"):
        figures.append(_money_figure(summary))
    if cbam is not None and not cbam.empty:
        figures.append(_cbam_figure(cbam))
    if sweep:
        figures.insert(0, _sweep_figure(directory))
    charts = "\n".join(f'<section class="chart">{_figure_html(figure, index == 0)}</section>' for index, figure in enumerate(figures))
    title = f"optimodel: {summary.get('scenario', run.name)}" + (f" (sweep, first run {run.name})" if sweep else "")
    description = html.escape(str(summary.get("scenario_resolved", {}).get("description", "")))
    facts = (
        f"status {html.escape(str(summary.get('status')))}, objective {summary.get('objective', 0):,.0f} "
        f"{html.escape(str(summary.get('currency', '')))} (discounted), HiGHS {html.escape(str(summary.get('solver', {}).get('version')))}, "
        f"{summary.get('model', {}).get('columns', 0):,} columns"
    )
    sections = [
        f"<h2>Prices</h2>{_table_html(tables['prices'])}",
        f"<h2>Markets</h2>{_table_html(tables['markets'])}",
        f"<h2>Sectors</h2>{_table_html(tables['sectors'])}",
    ]
    if cbam is not None:
        sections.append(f"<h2>CBAM exposure</h2>{_table_html(cbam)}")
    return _page(title, f"<p>{description}</p>\n<p>{facts}</p>\n{charts}\n{''.join(sections)}")


GENERATOR = "optimodel report"
"""The page's generator meta tag: how ``report --out`` knows a page it wrote."""
HEAD_BYTES = 4096


def is_report(path: Path) -> bool:
    """Whether ``path`` is a page optimodel report wrote (its head names the generator)."""
    try:
        with open(path, "rb") as handle:
            return f'<meta name="generator" content="{GENERATOR}">'.encode() in handle.read(HEAD_BYTES)
    except OSError:
        return False


def write_report(directory: Path | list[Path], out: Path) -> Path:
    """Write the page atomically. A page written into a run folder is recorded in its marker, so
    that the folder can still be replaced by a later run."""
    from optimodel.results.outputs import record_in_run_folder, write_file

    page = build_report(directory)
    write_file(Path(out), lambda path: path.write_text(page, encoding="utf-8"))
    folder = Path(out).resolve().parent
    folders = directory if isinstance(directory, list) else [directory]
    if any(folder == Path(item).resolve() for item in folders):
        record_in_run_folder(folder, Path(out))
    return out
