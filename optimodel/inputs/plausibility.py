"""Input that is legal but almost certainly not meant: warnings (contract section 8).

An error stops a run (exit 2); a warning lets it go on and says what looks wrong, on stderr as
one ``warning:`` line per kind and in summary.json ``warnings``. ``scenario_warnings`` looks at the
scenario alone (so a sweep can check every point cheaply); ``data_warnings`` compares it with the
loaded tables. Each kind of warning is a ``WarningCode`` with the reason it exists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from optimodel.errors import readable_tco2e

log = logging.getLogger("optimodel.warnings")

FAR_RATIO = 10.0
"""A cap (or benchmark allocation) below 1/10 or above 10x the sector's baseline, or a cap moving
by more than this factor from one year to the next, is far off (contract section 8)."""
MT_TYPO_LOW, MT_TYPO_HIGH = 1.0e5, 1.0e7
"""Ratios around 10^6 between two quantities are read as one of them typed in Mt."""
HIGH_DISCOUNT_RATE = 0.2
"""A discount rate above 20 %/yr is legal but rarely meant (0.05 is 5 %)."""
OVERVIEW_MT_FROM = 1.0e5
"""``sector_overview`` counts in Mt CO2e once a sector-year's baseline reaches this many tCO2e."""
SHOWN_ITEMS = 4
"""How many firms a warning names before it says "and N more"."""


class WarningCode(str, Enum):
    """The kinds of warning; each is printed once per run, whatever the number of cases."""

    year_outside_years = "year_outside_years"
    """A year-keyed value (cap, benchmark) for a year that is not in ``years``: it is ignored, so a
    planner who meant it to count (or swept it) would otherwise see nothing change."""
    cap_jump = "cap_jump"
    """A sector's cap moves by more than 10x between consecutive years: usually a digit or a unit."""
    cap_far_below_baseline = "cap_far_below_baseline"
    """Every cap of a sector is below 10 % of its baseline: typically a cap typed in Mt."""
    cap_far_above_baseline = "cap_far_above_baseline"
    """Every cap of a sector is above 10x its baseline: the cap never binds."""
    benchmark_far_from_baseline = "benchmark_far_from_baseline"
    """A benchmark allocates less than 10 % or more than 10x the baseline: a unit (kg for t, or
    per MWh for per GWh) is the usual cause."""
    discount_rate_high = "discount_rate_high"
    """A discount rate above 20 %/yr (rates are fractions: 0.05 is 5 %)."""
    offset_limit_without_offsets = "offset_limit_without_offsets"
    """A market may use offsets but no offset supply is offered to it."""
    offsets_without_limit = "offsets_without_limit"
    """Offsets are offered but every market they are offered to has offset_limit = 0."""
    sector_without_options = "sector_without_options"
    """A covered sector has no abatement option at all: its firms can only buy allowances."""
    firms_without_emissions = "firms_without_emissions"
    """Covered firms with no baseline in any scenario year (no emissions rows for those years)."""
    identical_sweep_points = "identical_sweep_points"
    """Every point of a sweep gave the same prices: the swept keys may change nothing."""
    horizon_dependent_prices = "horizon_dependent_prices"
    """``optimodel horizon``: the first year's price moves by more than 10 % between the two
    longest horizons tried, so it is still an artefact of where the scenario stops."""
    bank_large_before_end = "bank_large_before_end"
    """``optimodel horizon``: the bank is still above 10 % of emissions one year before the end,
    so the end of the horizon still binds the prices."""
    reserve_cannot_act = "reserve_cannot_act"
    """A reserve's release tiers can never release: no stock and no intake to fill it, or every
    release trigger at or above the market's price ceiling (the ceiling sells first)."""
    reserve_intake_above_trigger = "reserve_intake_above_trigger"
    """The reserve takes in allowances while the price is above the intake trigger: its stock binds
    later, so a withheld allowance is worth its trigger plus the release it makes possible."""
    bank_above_carry_over_rule = "bank_above_carry_over_rule"
    """A market with a bank limit banks more than the per-firm carry-over rule would allow given
    each firm's net sales in the solution: the aggregate limit is looser than the rule."""
    factor_below_zero = "factor_below_zero"
    """A normal uncertainty factor whose multiplier falls below 0 in more than 0.1 % of draws
    (sd above 0.32): those draws use 0, so the factor is not the normal distribution asked for."""
    infeasible_draws = "infeasible_draws"
    """``optimodel uncertainty``: some draws are infeasible; the quantiles are over the optimal ones."""
    bank_limit_without_banking = "bank_limit_without_banking"
    """A market sets ``bank_limit_tco2e`` but not ``banking = true``: the limit can never act."""
    cap_path_sets_no_year = "cap_path_sets_no_year"
    """A sector's ``cap_path`` gives no modelled year its cap: every year from its ``from_year`` on
    already has a cap_tco2e or benchmark (an inherited table, often), or it starts after the last year."""
    sector_years_without_baseline = "sector_years_without_baseline"
    """A covered sector has no baseline at all in some scenario years: the emissions table ends
    (or has a gap) before the scenario does, so those years solve with nothing to abate and price 0."""
    price_interval_bound = "price_interval_bound"
    """A price interval is a bound, not exact: two steps of the cost curve lie closer to the cap
    than HiGHS's tolerance can tell apart (the interval contains the exact one)."""


@dataclass(frozen=True)
class InputWarning:
    """One warning: its kind and what to check, naming the scenario key or table."""

    code: WarningCode
    message: str

    def as_dict(self) -> dict[str, str]:
        """The summary.json form: {"code", "message"}."""
        return {"code": self.code.value, "message": self.message}


def one_per_kind(warnings: Iterable[InputWarning]) -> list[InputWarning]:
    """Join warnings of the same kind into one (messages joined with "; "), first-seen order;
    identical messages are kept once."""
    messages: dict[WarningCode, list[str]] = {}
    for warning in warnings:
        seen = messages.setdefault(warning.code, [])
        if warning.message not in seen:
            seen.append(warning.message)
    return [InputWarning(code, "; ".join(texts)) for code, texts in messages.items()]


def emit(warnings: Iterable[InputWarning]) -> None:
    """Log each warning at WARNING level on the ``optimodel.warnings`` logger (the command line
    prints it as a ``warning:`` line)."""
    for warning in warnings:
        log.warning(warning.message)


def years_text(years: Iterable[int]) -> str:
    """Years listed in order, for messages."""
    return ", ".join(str(year) for year in sorted(years))


def _year_ranges(years: Iterable[int]) -> str:
    """Years as runs of consecutive years (``2036-2074, 2080``): a long run stays one line."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)


def scenario_warnings(scenario) -> list[InputWarning]:
    """Warnings found in the scenario alone, one per kind."""
    found: list[InputWarning] = []
    # Years the model solves: the scenario's and its look-ahead years (whose caps may be given).
    years = set(scenario.modelled_years)
    span = f"{scenario.years[0]}-{scenario.years[-1]}" if len(scenario.years) > 1 else str(scenario.years[0])
    for sector, policy in scenario.covered_sectors.items():
        for key in ("cap_tco2e", "benchmark"):
            outside = [year for year in getattr(policy, key) if year not in years]
            if outside:
                found.append(
                    InputWarning(
                        WarningCode.year_outside_years,
                        f"sectors.{sector}.{key} has values for {years_text(outside)}, outside the scenario's years "
                        f"({span}); they are ignored",
                    )
                )
        found += _cap_jumps(sector, policy.caps(scenario.years), scenario.years)
        path = policy.cap_path
        if path is not None and not any(
            year >= path.from_year and year not in policy.cap_tco2e and year not in policy.benchmark
            for year in scenario.modelled_years
        ):
            found.append(
                InputWarning(
                    WarningCode.cap_path_sets_no_year,
                    f"sectors.{sector}.cap_path sets no year's cap: every modelled year from {path.from_year} on has a "
                    "cap_tco2e or benchmark already (write cap_tco2e = {} to clear an inherited table)",
                )
            )
    if scenario.discount_rate > HIGH_DISCOUNT_RATE:
        found.append(
            InputWarning(
                WarningCode.discount_rate_high,
                f"discount_rate = {scenario.discount_rate:g} is {scenario.discount_rate:.0%} a year; "
                "a rate is a fraction (0.05 is 5 %)",
            )
        )
    found += _factor_warnings(scenario)
    return one_per_kind(found)


def _cap_jumps(sector: str, caps: dict[int, float], years: list[int]) -> list[InputWarning]:
    found = []
    for earlier, later in zip(years, years[1:]):
        if earlier not in caps or later not in caps:
            continue
        before, after = caps[earlier], caps[later]
        low, high = min(before, after), max(before, after)
        if high > 0 and (low == 0 or high / low > FAR_RATIO):
            ratio = "to zero" if low == 0 else f"{high / low:,.0f}x"
            verb = "falls" if after < before else "rises"
            # A factor near a million is one value typed in Mt among values in tCO2e.
            hint = ": was one typed in Mt?" if low > 0 and MT_TYPO_LOW < high / low < MT_TYPO_HIGH else ""
            found.append(
                InputWarning(
                    WarningCode.cap_jump,
                    f"sectors.{sector}.cap_tco2e {verb} from {readable_tco2e(before)} in {earlier} to "
                    f"{readable_tco2e(after)} in {later} ({ratio}); caps are in tCO2e{hint}",
                )
            )
    return found


def _named(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN_ITEMS} more" if len(items) > SHOWN_ITEMS else ""
    return ", ".join(items[:SHOWN_ITEMS]) + more


@dataclass(frozen=True)
class SectorTotals:
    """Per covered sector and year (positions of ``data.sectors`` and ``data.years``), tCO2e."""

    baseline: np.ndarray
    allowances: np.ndarray
    """The cap, or benchmark x output at full output."""
    benchmarked: np.ndarray
    """True where the sector-year allocates by benchmark."""


def sector_totals(data) -> SectorTotals:
    """Each sector-year's baseline and allowances (see ``SectorTotals``)."""
    shape = (len(data.sectors), len(data.years))
    baseline = np.zeros(shape)
    firm = data.firm_baselines["firm"].to_numpy()
    np.add.at(
        baseline,
        (data.firms["sector"].to_numpy()[firm], data.firm_baselines["year"].to_numpy()),
        data.scaling.from_model(data.firm_baselines["baseline_scaled"].to_numpy()),
    )
    allowances = data.scaling.from_model(np.nan_to_num(data.sector_year_table("cap_scaled")))
    benchmarked = ~np.isnan(data.sector_year_table("benchmark"))
    for (sector_position, year_position), value in _benchmark_allocation(data).items():
        allowances[sector_position, year_position] = value
    return SectorTotals(baseline, allowances, benchmarked)


def data_warnings(scenario, data) -> list[InputWarning]:
    """Warnings that need the loaded tables (``ModelData``), one per kind."""
    found: list[InputWarning] = []
    totals = sector_totals(data)
    for position, sector in enumerate(data.sectors):
        for benchmark in (False, True):
            years = np.flatnonzero(totals.benchmarked[position] == benchmark)
            if len(years):
                found += _far_from_baseline(
                    f"sectors.{sector}.{'benchmark' if benchmark else 'cap_tco2e'}",
                    totals.allowances[position, years],
                    totals.baseline[position, years],
                    [data.years[t] for t in years],
                    cap=not benchmark,
                )
    has_options = set(data.steps["sector"].unique().tolist())
    for position, sector in enumerate(data.sectors):
        if position not in has_options:
            found.append(
                InputWarning(
                    WarningCode.sector_without_options,
                    f"sector {sector} has no abatement option in the options table: its firms can only buy allowances",
                )
            )
    reported = [position for position, year in enumerate(data.years) if year in data.reported_years]
    empty = {
        sector: _year_ranges(without)
        for position, sector in enumerate(data.sectors)
        if (without := [data.years[t] for t in reported if totals.baseline[position, t] <= 0])
    }
    if empty:
        found.append(
            InputWarning(
                WarningCode.sector_years_without_baseline,
                "no baseline emissions for " + ", ".join(f"{sector} in {span}" for sector, span in empty.items())
                + ": those sector-years have nothing to abate (does the emissions table end before the scenario?)",
            )
        )
    baseline = data.firm_baselines["baseline_scaled"].to_numpy()
    firm_total = pd.Series(baseline).groupby(data.firm_baselines["firm"].to_numpy()).sum()
    silent = data.firms["firm_id"].to_numpy()[firm_total.index[firm_total.to_numpy() <= 0]]
    if len(silent):
        found.append(
            InputWarning(
                WarningCode.firms_without_emissions,
                f"{len(silent)} covered firm(s) have no baseline emissions in the scenario's years ({_named(list(silent))})",
            )
        )
    return one_per_kind(found)


def sector_overview(scenario, data) -> str:
    """What will be solved, at a glance (``optimodel validate``): each covered sector's market,
    firms, and baseline and allowances in the first and last year, in Mt CO2e."""
    totals = sector_totals(data)
    first, last = data.years[0], data.years[-1]
    firms = data.firms.groupby("sector").size()
    # Mt for the national market, tCO2e for a small test case that would read as 0.00 Mt.
    divisor, unit = (1e6, "Mt CO2e") if totals.baseline.max(initial=0.0) >= OVERVIEW_MT_FROM else (1.0, "tCO2e")
    market_of_sector = scenario.market_of_sector()
    header = (
        f"{'sector':<12}{'market':<12}{'firms':>7}{f'baseline {first}':>16}{f'allowances {first}':>18}"
        f"{f'baseline {last}':>16}{f'allowances {last}':>18}   allocation"
    )
    lines = [f"{header}   ({unit})"]
    for position, sector in enumerate(data.sectors):
        rule = []
        for benchmark, name in ((True, "benchmark"), (False, "cap")):
            years = [data.years[t] for t in np.flatnonzero(totals.benchmarked[position] == benchmark)]
            if years:
                rule.append(f"{name} {years[0]}" + (f"-{years[-1]}" if len(years) > 1 else ""))
        lines.append(
            f"{sector:<12}{market_of_sector[sector]:<12}{int(firms.get(position, 0)):>7,}"
            f"{totals.baseline[position, 0] / divisor:>16,.2f}{totals.allowances[position, 0] / divisor:>18,.2f}"
            f"{totals.baseline[position, -1] / divisor:>16,.2f}{totals.allowances[position, -1] / divisor:>18,.2f}"
            f"   {', '.join(rule)}"
        )
    return "\n".join(lines)


def identical_points_warning(sweep) -> list[InputWarning]:
    """A warning when every solved point of a sweep gave the same prices and intervals."""
    solved = [point for point in sweep.points if point.status == "optimal"]
    if len(solved) < 2:
        return []
    columns = ["market", "year", "price", "price_low", "price_high"]
    first = solved[0].result.prices[columns].reset_index(drop=True)
    if all(point.result.prices[columns].reset_index(drop=True).equals(first) for point in solved[1:]):
        return [
            InputWarning(
                WarningCode.identical_sweep_points,
                f"all {len(solved)} solved points gave identical prices: the swept keys ({', '.join(sweep.keys)}) "
                "change nothing that matters here",
            )
        ]
    return []


def _benchmark_allocation(data) -> dict[tuple[int, int], float]:
    """(sector, year) positions -> benchmark x output summed over the sector's firms, tCO2e."""
    if data.activity.empty:
        return {}
    firm_sector = data.firms["sector"].to_numpy()[data.activity["firm"].to_numpy()]
    years = data.activity["year"].to_numpy()
    allocation = pd.Series(data.activity_benchmark() * data.activity["output"].to_numpy()).groupby([firm_sector, years]).sum()
    return {(int(sector), int(year)): float(value) for (sector, year), value in allocation.items()}


def _far_from_baseline(
    key: str, allowances: np.ndarray, baseline: np.ndarray, years: list[int], *, cap: bool
) -> list[InputWarning]:
    """A warning when every year's allowances are below 1/10 or above 10x the baseline."""
    usable = baseline > 0
    if not usable.any():
        return []
    ratio = allowances[usable] / baseline[usable]
    first = int(np.flatnonzero(usable)[0])
    example = (
        f"{readable_tco2e(allowances[first])} against a baseline of {readable_tco2e(baseline[first])} in {years[first]}"
    )
    unit = "; benchmarks are in tCO2e per unit of output"
    if (ratio < 1.0 / FAR_RATIO).all():
        if cap:
            typed_in_mt = ((ratio * 1.0e6 < FAR_RATIO) & (ratio * 1.0e6 > 1.0 / FAR_RATIO)).all()
            hint = "; caps are in tCO2e: was it typed in Mt?" if typed_in_mt else ""
            message = f"{key} is below 10 % of the sector's baseline in every year ({example}){hint}"
            return [InputWarning(WarningCode.cap_far_below_baseline, message)]
        message = f"{key} allocates below 10 % of the sector's baseline in every year ({example}){unit}"
        return [InputWarning(WarningCode.benchmark_far_from_baseline, message)]
    if (ratio > FAR_RATIO).all():
        if cap:
            message = f"{key} is above 10x the sector's baseline in every year ({example}): it never binds"
            return [InputWarning(WarningCode.cap_far_above_baseline, message)]
        message = f"{key} allocates above 10x the sector's baseline in every year ({example}){unit}"
        return [InputWarning(WarningCode.benchmark_far_from_baseline, message)]
    return []


NEGATIVE_DRAW_SHARE = 0.001
"""A normal factor below 0 in more draws than this is cut at 0 too often to be normal."""


def _factor_warnings(scenario) -> list[InputWarning]:
    """Normal multipliers that fall below 0 (and are then taken as 0) in a visible share of draws."""
    from statistics import NormalDist

    if scenario.uncertainty is None:
        return []
    found = []
    for index, factor in enumerate(scenario.uncertainty.factors):
        if factor.distribution.value == "normal" and factor.sd:
            below = NormalDist(1.0, factor.sd).cdf(0.0)
            if below > NEGATIVE_DRAW_SHARE:
                found.append(
                    InputWarning(
                        WarningCode.factor_below_zero,
                        f"uncertainty.factors.{index}: a normal multiplier with sd {factor.sd:g} is below 0 in {below:.1%} of "
                        "draws, which then use 0 (a lognormal keeps multipliers positive)",
                    )
                )
    return found
