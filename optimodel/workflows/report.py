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
from optimodel.model.registry import PolicyLine, ReportContext
from optimodel.palette import COLOURS, POLICY_LINE, colour_map, dash, ordered_colour_map

JUMP = 0.30
"""A price that moves by more than this share from one year to the next gets a note on the chart."""
MONEY_WORDS = ("revenue", "cost", "charge", "capex", "deduction", "objective", "change from the first")
"""Columns of money: shown in bn of the currency in the page's tables."""


def _figure_html(figure, first: bool) -> str:
    # Plain numbers on every axis: an SI prefix (20µ Mt, 5G) is not a unit a planner reads.
    # (No thousands separator on x: most x axes are years.)
    figure.update_xaxes(exponentformat="none")
    figure.update_yaxes(exponentformat="none", separatethousands=True)
    # The first chart carries plotly.js inline; the others reuse it.
    return figure.to_html(full_html=False, include_plotlyjs=True if first else False, config={"displaylogo": False})


def price_axis(currency: str) -> str:
    """The title of every price axis (contract section 13)."""
    return f"{currency}/tCO2e (money of each year)"


def money_axis(currency: str) -> str:
    return f"bn {currency} (money of each year)"


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


def _plain_facet_titles(figure) -> None:
    """Facet titles as the value alone ("steel", not plotly express's "sector=steel")."""
    figure.for_each_annotation(lambda annotation: annotation.update(text=annotation.text.split("=")[-1]))


def _years_axis(figure) -> None:
    figure.update_xaxes(tickformat="d", dtick=1)


def _policy_lines(context: ReportContext, market: str, years: list[int]) -> list[PolicyLine]:
    """Every family's lines on this market's price chart (ceiling, floor, reserve triggers)."""
    if context.scenario is None:
        return []
    lines: list[PolicyLine] = []
    for family in FAMILIES:
        if family.policy_lines is not None:
            lines += [line for line in family.policy_lines(context.scenario, market, years) if line.chart == "price"]
    return lines


def _jump_notes(figure, table: pd.DataFrame, market: str) -> None:
    """A note on every year whose price moved by more than ``JUMP`` from the year before."""
    ordered = table.sort_values("year")
    previous = ordered["price"].shift(1)
    change = (ordered["price"] - previous) / previous.abs()
    for year, price, moved in zip(ordered["year"], ordered["price"], change):
        if np.isfinite(moved) and abs(moved) > JUMP:
            figure.add_annotation(x=year, y=price, text=f"{market}: price jump {moved:+.0%}", showarrow=True, arrowhead=2, ax=0, ay=-30)


def _price_figure(prices: pd.DataFrame, context: ReportContext):
    import plotly.graph_objects as go

    figure = go.Figure()
    for market, table in prices.groupby("market", sort=False):
        colour = context.colour("market", market)
        high = table["price_high"].where(table["price_high"] < 1e300)
        figure.add_trace(go.Scatter(x=table["year"], y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=table["year"], y=table["price_low"], mode="lines", line={"width": 0}, fill="tonexty",
                                    fillcolor="rgba(120,120,120,0.25)", name=f"{market}: interval", hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=table["year"], y=table["price"], mode="lines+markers", name=market, line={"color": colour}))
        for number, line in enumerate(_policy_lines(context, market, [int(year) for year in table["year"]])):
            figure.add_trace(go.Scatter(x=line.years, y=line.values, mode="lines", name=f"{market}: {line.name}",
                                        line={"color": POLICY_LINE, "dash": dash(number + 1), "width": 1.5}))
        _jump_notes(figure, table, market)
    figure.update_layout(title=f"Allowance price with its interval, {price_axis(context.currency)}", xaxis_title="year",
                         yaxis_title=price_axis(context.currency))
    _years_axis(figure)
    return figure


def _mac_figure(run: Path, prices: pd.DataFrame, context: ReportContext):
    """Each sector's marginal abatement cost curve in the first year, rebuilt from the run's own
    copy of its inputs, with the market's clearing price."""
    import plotly.graph_objects as go

    from optimodel.inputs.data import load_data

    scenario = context.scenario
    assert scenario is not None
    data = load_data(scenario)
    year = data.years[0]
    steps = data.steps[data.steps["year"] == 0]
    figure = go.Figure()
    market_of = scenario.market_of_sector()
    price = prices.set_index(["market", "year"])["price"]
    for sector_position, table in steps.groupby("sector"):
        sector = data.sectors[sector_position]
        ordered = table.sort_values("cost_per_tco2e")
        cumulative = data.scaling.from_model(ordered["potential_scaled"].cumsum().to_numpy()) / 1e6
        starts = [0.0, *cumulative[:-1]]
        x, y = [], []
        for start, end, cost in zip(starts, cumulative, ordered["cost_per_tco2e"]):
            x += [start, end]
            y += [cost, cost]
        colour = context.colour("sector", sector)
        figure.add_trace(go.Scatter(x=x, y=y, mode="lines", name=sector, line={"color": colour}))
        clearing = float(price[(market_of[sector], year)])
        figure.add_trace(go.Scatter(x=[0, cumulative[-1] if len(cumulative) else 0], y=[clearing, clearing], mode="lines",
                                    line={"color": colour, "dash": "dot"}, name=f"{sector}: price {clearing:,.2f}"))
    figure.update_layout(title=f"Marginal abatement cost curves, {year}, {context.currency}/tCO2e", xaxis_title="abatement, Mt CO2e",
                         yaxis_title=f"{context.currency}/tCO2e (money of {year})")
    return figure


def _abatement_figure(options: pd.DataFrame, context: ReportContext):
    import plotly.express as px

    table = options.assign(gases=options["gas"].where(options["gas"] == "CO2", "PFC"), mt=options["abatement_tco2e"] / 1e6)
    table = table.groupby(["sector", "option", "gases", "year"], as_index=False)["mt"].sum()
    colours = {option: context.colour("option", option) for option in sorted(table["option"].unique())}
    figure = px.bar(table, x="year", y="mt", color="option", facet_col="gases", facet_row="sector", color_discrete_map=colours,
                    title="Abatement by sector and option (CO2 and PFC gases), Mt CO2e", labels={"mt": "Mt CO2e"})
    # Each panel its own scale, and its numbers shown.
    figure.update_yaxes(matches=None, showticklabels=True)
    figure.update_xaxes(tickformat="d", dtick=1)
    _plain_facet_titles(figure)
    figure.update_layout(height=max(400, 220 * table["sector"].nunique()))
    return figure


def _firms_figure(firms: pd.DataFrame, context: ReportContext):
    import plotly.express as px

    year = firms["year"].min()
    table = firms[firms["year"] == year].assign(
        role=lambda frame: frame["net_purchase_tco2e"].map(lambda value: "buys" if value > 0 else "sells"),
        cost_m=lambda frame: frame["compliance_cost"] / 1e6,
    )
    axis = f"million {context.currency}"
    figure = px.histogram(table, x="cost_m", color="role", facet_col="sector", nbins=40,
                          color_discrete_map={"buys": COLOURS[1], "sells": COLOURS[2]},
                          title=f"Firms' compliance costs in {year}: who pays, who sells "
                          f"(abatement cost + price x net purchase, million {context.currency}, money of {year})",
                          labels={"cost_m": axis})
    _plain_facet_titles(figure)
    return figure


def _emissions_figure(markets: pd.DataFrame, context: ReportContext):
    """Verified emissions against the allowances issued (the caps), per market, Mt."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for market, table in markets.groupby("market", sort=False):
        colour = context.colour("market", market)
        figure.add_trace(go.Scatter(x=table["year"], y=table["issued_tco2e"] / 1e6, mode="lines", name=f"{market}: issued (cap)",
                                    line={"color": colour, "dash": "dash"}))
        figure.add_trace(go.Scatter(x=table["year"], y=table["emissions_tco2e"] / 1e6, mode="lines+markers",
                                    name=f"{market}: emissions", line={"color": colour}))
    figure.update_layout(title="Emissions against the cap, Mt CO2e (the gap is met by the bank, offsets and the reserve)",
                         xaxis_title="year", yaxis_title="Mt CO2e")
    _years_axis(figure)
    return figure


def _regions_figure(regions: pd.DataFrame):
    """Emissions and abatement by region in the first and the last year, Mt CO2e."""
    import plotly.graph_objects as go

    first, last = int(regions["year"].min()), int(regions["year"].max())
    figure = go.Figure()
    order = regions[regions["year"] == first].sort_values("emissions_tco2e")["region"]
    for year, colour in ((first, COLOURS[0]), (last, COLOURS[1])):
        rows = regions[regions["year"] == year].set_index("region").reindex(order)
        figure.add_trace(go.Bar(y=order, x=rows["emissions_tco2e"] / 1e6, orientation="h", name=f"emissions {year}", marker={"color": colour}))
        figure.add_trace(go.Bar(y=order, x=rows["abatement_tco2e"] / 1e6, orientation="h", name=f"abatement {year}",
                                marker={"color": colour, "pattern": {"shape": "/"}}, opacity=0.6))
    figure.update_layout(title=f"Emissions and abatement by region, {first} and {last} (Mt CO2e)", xaxis_title="Mt CO2e",
                         yaxis_title="region", barmode="group", height=max(400, 22 * len(order) + 160))
    return figure


def money_names() -> dict[str, str]:
    """summary.json totals -> label: abatement cost, auction revenue, then each family's revenue."""
    names = {"abatement_cost": "abatement cost", "auction_revenue": "auction revenue"}
    for family in FAMILIES:
        names.update(family.revenue_columns)
    return names


def _money_figure(summary: dict, context: ReportContext):
    """Money by year in bn of the currency (money of each year): what abatement costs and what
    auctions, ceiling and reserve sales raise (summary.json totals)."""
    import plotly.graph_objects as go

    by_year = pd.DataFrame(summary.get("totals", {}).get("by_year", []))
    figure = go.Figure()
    for index, (name, label) in enumerate(money_names().items()):
        if name in by_year.columns and by_year[name].abs().sum() > 0:
            figure.add_trace(go.Bar(x=by_year["year"], y=by_year[name] / 1e9, name=label, marker={"color": COLOURS[index % len(COLOURS)]}))
    figure.update_layout(title=f"Money by year, {money_axis(context.currency)}: abatement cost, and what auctions, ceiling and reserve sales raise",
                         xaxis_title="year", yaxis_title=money_axis(context.currency), barmode="group")
    _years_axis(figure)
    return figure


def _cbam_figure(cbam: pd.DataFrame, context: ReportContext):
    import plotly.express as px

    colours = {sector: context.colour("sector", sector) for sector in cbam["sector"].unique()}
    figure = px.line(cbam, x="year", y="net_charge_per_tco2e", color="sector", markers=True, color_discrete_map=colours,
                     title=f"CBAM charge at the EU border per exported tCO2e, net of the Chinese price paid, {price_axis(context.currency)}",
                     labels={"net_charge_per_tco2e": price_axis(context.currency)})
    _years_axis(figure)
    return figure


def _sweep_figures(sweep: Path, currency: str) -> list:
    """One figure per swept key: the price against its values, a line per year and market for
    each combination of the other keys."""
    import plotly.express as px

    prices = pd.read_csv(sweep / "sweep_prices.csv")
    keys = [column for column in prices.columns if column not in ("run", "market", "year", "price", "price_low", "price_high")]
    figures = []
    for key in keys:
        others = [other for other in keys if other != key]
        table = prices.assign(year_label=prices["year"].astype(str))
        table["others"] = table[others].astype(str).agg(", ".join, axis=1) if others else ""
        table["series"] = table["market"] + " " + table["year_label"] + (" | " + table["others"] if others else "")
        figure = px.line(table.sort_values(key), x=key, y="price", color="year_label", line_dash="market", line_group="series", markers=True,
                         title=f"Price against {key}" + (f" (a line for each value of {', '.join(others)})" if others else ""),
                         labels={"year_label": "year", "price": price_axis(currency)}, hover_data=others or None)
        figures.append(figure)
    return figures


def readable_table(table: pd.DataFrame, currency: str) -> pd.DataFrame:
    """Tonnes in Mt CO2e and money in bn of the currency, so that no cell reads in the millions
    (contract section 13); any other column of numbers that large is shown in millions."""
    shown = {}
    for column in table.columns:
        values = table[column]
        name = str(column)
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            shown[name] = values
        elif "_tco2e" in name and "per_tco2e" not in name:
            shown[f"{name.replace('_tco2e', '')} (Mt CO2e)"] = values / 1e6
        elif any(word in name for word in MONEY_WORDS) and "per_tco2e" not in name and "price" not in name:
            shown[f"{name} (bn {currency})"] = values / 1e9
        elif name != "year" and values.replace([np.inf, -np.inf], np.nan).abs().max() >= 1e6:
            shown[f"{name} (millions)"] = values / 1e6
        else:
            shown[name] = values
    return pd.DataFrame(shown)


def _table_html(table: pd.DataFrame, currency: str = "CNY") -> str:
    return readable_table(table, currency).to_html(index=False, float_format=lambda value: f"{value:,.2f}", border=0, classes="data")


def _context(tables: dict[str, pd.DataFrame], scenario, currency: str) -> ReportContext:
    """The page's colours: every sector, market and option its tables name, each kind at once."""
    names: dict[str, set[str]] = {"sector": set(), "market": set(), "option": set()}
    for table in tables.values():
        for kind in names:
            if kind in table.columns:
                names[kind].update(str(value) for value in table[kind].dropna().unique())
    return ReportContext(tables=tables, scenario=scenario, currency=currency,
                         colours={kind: colour_map(kind, found) for kind, found in names.items()})


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


def _currency(summary: dict) -> str:
    return html.escape(str(summary.get("currency") or "CNY"))


def _horizon_page(directory: Path) -> str:
    """A horizon folder: each variant's price path, one line per variant and market (told apart
    by colour and dash), with the interval as a band where it is not a point, and the table."""
    import plotly.graph_objects as go

    try:
        table = pd.read_csv(directory / "horizon.csv", dtype={"end_year": str, "foresight": str}, keep_default_na=False)
        summary = json.loads((directory / "summary.json").read_text())
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read the horizon study ({error})", file=str(directory)) from None
    from optimodel.workflows.horizon import Variant

    currency = _currency(summary)
    table["variant"] = [Variant.from_row(end, foresight).label for end, foresight in zip(table["end_year"], table["foresight"])]
    table["series"] = table["variant"] if table["market"].nunique() == 1 else table["variant"] + ", " + table["market"]
    colours = ordered_colour_map(table["series"])
    figure = go.Figure()
    for index, (name, rows) in enumerate(table.groupby("series", sort=False)):
        colour = colours[name]
        figure.add_trace(go.Scatter(x=rows["year"], y=rows["price"], mode="lines+markers", name=name,
                                    line={"color": colour, "dash": dash(index)}))
        _add_interval(figure, rows, name, colour)
    figure.update_layout(title=f"Allowance price by horizon, {price_axis(currency)}", xaxis_title="year", yaxis_title=price_axis(currency))
    _years_axis(figure)
    title = f"optimodel: {summary.get('scenario', directory.name)} (horizon study)"
    warnings = "".join(f"<li>{html.escape(warning['message'])}</li>" for warning in summary.get("warnings", []))
    body = (
        "<p>How the prices depend on where the model stops looking: end years (cut, or looking ahead) and foresight.</p>\n"
        f"{f'<ul>{warnings}</ul>' if warnings else ''}\n"
        f'<section class="chart">{_figure_html(figure, True)}</section>\n'
        f"<h2>Prices ({price_axis(currency)})</h2>{_table_html(table.drop(columns=['variant', 'series']), currency)}"
    )
    return _page(title, body)


def factor_names(factors: list[dict]) -> dict[str, str]:
    """factor_k -> what it multiplies and where: "cost (steel: hydrogen_dri)", "baseline (all sectors)"."""
    names: dict[str, str] = {}
    for factor in factors:
        scope = ", ".join(factor.get("sectors") or []) or "all sectors"
        if factor.get("options"):
            scope += ": " + ", ".join(factor["options"])
        name = f"{factor.get('target')} ({scope})" if factor.get("target") != "offsets" else "offsets"
        # Two factors of one target and scope stay apart by their column.
        names[factor["column"]] = name if name not in names.values() else f"{name} [{factor['column']}]"
    return names


def _uncertainty_page(directory: Path) -> str:
    """An uncertainty folder: a fan chart of the price per market (median, 25-75 % and 5-95 %
    bands, mean), the distribution of the total cost over the draws, and the rank correlation of
    each factor, named by target and scope, with each year's price (which factor moves the price most)."""
    import plotly.express as px
    import plotly.graph_objects as go

    try:
        quantiles = pd.read_csv(directory / "price_quantiles.csv")
        draws = pd.read_parquet(directory / "draws.parquet")
        sensitivity = pd.read_csv(directory / "price_sensitivity.csv")
        summary = json.loads((directory / "summary.json").read_text())
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read the uncertainty run ({error})", file=str(directory)) from None
    currency = _currency(summary)
    colours = colour_map("market", quantiles["market"])
    figures = []
    for market, table in quantiles.groupby("market", sort=False):
        colour = colours[str(market)]
        figure = go.Figure()
        for low, high, opacity, name in (("p05", "p95", 0.18, "5-95 %"), ("p25", "p75", 0.35, "25-75 %")):
            figure.add_trace(_band(table["year"], table[low], table[high], name, opacity, colour))
        figure.add_trace(go.Scatter(x=table["year"], y=table["p50"], mode="lines+markers", name="median", line={"color": colour}))
        figure.add_trace(go.Scatter(x=table["year"], y=table["mean"], mode="lines", name="mean", line={"color": colour, "dash": "dot"}))
        figure.update_layout(title=f"Allowance price, {market}: fan chart over {summary.get('draws_optimal', '')} optimal draws, "
                             f"{price_axis(currency)}", xaxis_title="year", yaxis_title=price_axis(currency))
        _years_axis(figure)
        figures.append(figure)
    solved = draws[draws["status"] == "optimal"]
    if "total_cost" in solved.columns and not solved.empty:
        costs = solved.groupby("draw")["total_cost"].first() / 1e9
        figures.append(px.histogram(costs, nbins=40, title=f"Total cost over the draws (bn {currency}, discounted to the first year)",
                                    labels={"value": f"bn {currency} (money of the first year)"}).update_layout(showlegend=False))
    names = factor_names(summary.get("factors", []))
    if not sensitivity.empty:
        heat = sensitivity.assign(label=sensitivity["market"] + " " + sensitivity["year"].astype(str),
                                  factor=sensitivity["factor"].map(lambda column: names.get(column, column)))
        figures.append(px.imshow(heat.pivot(index="factor", columns="label", values="rank_correlation"), zmin=-1, zmax=1,
                                 color_continuous_scale="RdBu_r", aspect="auto",
                                 labels={"y": "factor (target and scope)", "x": "market and year", "color": "rank correlation"},
                                 title="Which factor moves the price: rank correlation of each multiplier with each year's price"))
    factors = pd.DataFrame(summary.get("factors", []))
    if not factors.empty:
        factors.insert(1, "name", factors["column"].map(names))
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
        f"<p>{facts}. Prices in {price_axis(currency)}.</p>\n{charts}\n"
        f"<h2>Factors</h2>{_table_html(factors, currency)}<h2>Price quantiles ({price_axis(currency)})</h2>{_table_html(quantiles, currency)}"
    )
    return _page(title, body)


def _comparison_page(directories: list[Path]) -> str:
    """Several run folders on one page: price paths overlaid with their intervals (each run its
    colour and dash, in every chart), and each run's differences from the first in cost,
    emissions, bank and revenue, by year."""
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
    # Two runs of one scenario keep apart by their folders, and one folder given twice by a number.
    scenario_names = [name for name, *_ in runs]
    labels: list[str] = []
    seen: dict[str, int] = {}
    for name, directory, *_ in runs:
        label = name if scenario_names.count(name) == 1 else f"{name} ({directory.name})"
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    runs = [(label, *rest) for label, (_, *rest) in zip(labels, runs)]
    currency = _currency(runs[0][4])
    colours = ordered_colour_map(name for name, *_ in runs)
    figure = go.Figure()
    for index, (name, _, prices, _, _) in enumerate(runs):
        colour = colours[name]
        for market, table in prices.groupby("market", sort=False):
            label = name if prices["market"].nunique() == 1 else f"{name}, {market}"
            _add_interval(figure, table, label, colour)
            # Its own dash and marker size, so that a run lying on another still shows.
            figure.add_trace(go.Scatter(x=table["year"], y=table["price"], mode="lines+markers", name=label,
                                        line={"color": colour, "dash": dash(index), "width": 2 + 1.5 * (len(runs) - 1 - index)},
                                        marker={"size": 6 + 3 * (len(runs) - 1 - index)}))
    figure.update_layout(title=f"Allowance prices of the runs, with their intervals, {price_axis(currency)}", xaxis_title="year",
                         yaxis_title=price_axis(currency))
    _years_axis(figure)

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
        units = {"emissions_tco2e": "emissions, Mt CO2e", "bank_end_tco2e": "bank, Mt CO2e", "revenue": f"revenue, bn {currency}",
                 "abatement_cost": f"abatement cost, bn {currency}"}
        long["change"] = long["change"] / long["quantity"].map(scale)
        long["quantity"] = long["quantity"].map(units)
        delta_figure = px.bar(long, x="year", y="change", color="run", facet_col="quantity", facet_col_wrap=2, barmode="group",
                              color_discrete_map=colours, category_orders={"run": [name for name, *_ in runs]},
                              title=f"Differences from {first_name} by year (Mt CO2e; bn {currency}, money of each year)")
        delta_figure.update_yaxes(matches=None, showticklabels=True)
        _plain_facet_titles(delta_figure)
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
        f"{charts}\n<h2>Total cost</h2>{_table_html(objectives, currency)}"
        + (f"<h2>Differences by year</h2>{_table_html(table, currency)}" if not table.empty else "")
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
    regions = pd.read_csv(run / "regions.csv") if (run / "regions.csv").exists() else None
    currency = _currency(summary)
    scenario = None
    if (run / "scenario.toml").exists():
        from optimodel.api import load_scenario

        scenario = load_scenario(run / "scenario.toml")
    run_tables = dict(tables)
    for family in FAMILIES:
        for name in family.tables_written:
            if (run / f"{name}.csv").exists():
                run_tables[name] = pd.read_csv(run / f"{name}.csv")
    context = _context(run_tables, scenario, currency)

    figures = [_price_figure(tables["prices"], context)]
    if scenario is not None:
        figures.append(_mac_figure(run, tables["prices"], context))
    markets = tables["markets"]
    figures += [_emissions_figure(markets, context), _abatement_figure(tables["options"], context), _firms_figure(tables["firms"], context)]
    for family in FAMILIES:
        if family.report_figures is not None:
            figures += family.report_figures(context)
    if summary.get("totals"):
        figures.append(_money_figure(summary, context))
    if cbam is not None and not cbam.empty:
        figures.append(_cbam_figure(cbam, context))
    if regions is not None and not regions.empty:
        figures.append(_regions_figure(regions))
    sections = []
    if sweep:
        figures = _sweep_figures(directory, currency) + figures
        points = pd.read_csv(directory / "sweep_status.csv") if (directory / "sweep_status.csv").exists() else pd.DataFrame()
        sections.append(f"<h2>Sweep points</h2>{_table_html(points.drop(columns=['warm', 'seconds'], errors='ignore'), currency)}")
    charts = "\n".join(f'<section class="chart">{_figure_html(figure, index == 0)}</section>' for index, figure in enumerate(figures))
    title = f"optimodel: {summary.get('scenario', run.name)}" + (f" (sweep; the run charts are of its first run, {run.name})" if sweep else "")
    description = html.escape(str(summary.get("scenario_resolved", {}).get("description", "")))
    facts = (
        f"status {html.escape(str(summary.get('status')))}, objective {summary.get('objective', 0) / 1e9:,.2f} "
        f"bn {currency} (discounted), HiGHS {html.escape(str(summary.get('solver', {}).get('version')))}, "
        f"{summary.get('model', {}).get('columns', 0):,} columns"
    )
    sections += [
        f"<h2>Prices ({price_axis(currency)})</h2>{_table_html(tables['prices'], currency)}",
        f"<h2>Markets</h2>{_table_html(tables['markets'], currency)}",
        f"<h2>Sectors</h2>{_table_html(tables['sectors'], currency)}",
    ]
    if regions is not None:
        sections.append(f"<h2>Regions</h2>{_table_html(regions, currency)}")
    if cbam is not None:
        sections.append(f"<h2>CBAM exposure</h2>{_table_html(cbam, currency)}")
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
