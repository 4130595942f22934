"""How the prices depend on the horizon: ``optimodel horizon`` solves a scenario cut at (or
looking ahead to) several end years and with several foresights, and compares them (contract
section 11). The rolling horizon of one solve is ``rolling``."""

from __future__ import annotations

import copy
import dataclasses

import pandas as pd

from optimodel.inputs.scenario import Scenario

HORIZON_COLUMNS = ["end_year", "foresight", "market", "year", "price", "price_low", "price_high"]
"""horizon.csv (contract section 11): one row per variant, market and reported year."""
FIRST_PRICE_SHIFT = 0.10
"""A first-year price moving more than this (relative) between the two longest horizons tried is
still set by where the scenario stops: a warning."""
LARGE_BANK_SHARE = 0.10
"""A bank above this share of the year's emissions one year before the end: the end still binds."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """One horizon tried: the scenario stopping in ``end_year`` (looking ahead past its last year
    when later), or with ``foresight`` years of foresight (None: perfect)."""

    end_year: int | None = None
    foresight: int | None = None

    @classmethod
    def from_row(cls, end_year, foresight) -> Variant:
        """The variant of a horizon.csv row (``end_year`` or ``foresight``, a number or "all")."""
        if str(end_year) != "":
            return cls(end_year=int(end_year))
        return cls(foresight=None if str(foresight) == "all" else int(foresight))

    @property
    def label(self) -> str:
        if self.end_year is not None:
            return f"ends {self.end_year}"
        return "perfect foresight" if self.foresight is None else f"foresight {self.foresight}"


def variant_scenario(scenario: Scenario, variant: Variant) -> Scenario:
    """The scenario cut at (or looking ahead to) ``variant.end_year``, or with its foresight."""
    from optimodel.inputs.scenario import derived_scenario

    raw = copy.deepcopy(scenario.resolved)
    horizon = dict(raw.get("horizon", {}))
    if variant.end_year is not None:
        last = scenario.years[-1]
        if variant.end_year >= last:
            horizon["lookahead_years"] = variant.end_year - last
        else:
            raw["years"] = [year for year in scenario.years if year <= variant.end_year]
            horizon["lookahead_years"] = 0
            # Values for the years cut off are dropped, not reported as outside the years.
            for policy in raw.get("sectors", {}).values():
                for key in ("cap_tco2e", "benchmark"):
                    if isinstance(policy.get(key), dict):
                        policy[key] = {year: value for year, value in policy[key].items() if int(year) <= variant.end_year}
            for step in raw.get("offsets", []):
                if isinstance(step.get("years"), list):
                    step["years"] = [year for year in step["years"] if year <= variant.end_year]
    else:
        horizon.pop("foresight_years", None)
        if variant.foresight is not None:
            horizon["foresight_years"] = variant.foresight
    raw["horizon"] = horizon
    return derived_scenario(raw, scenario)


@dataclasses.dataclass
class HorizonStudy:
    """Every variant's prices (horizon.csv) and what they say (warnings)."""

    table: pd.DataFrame
    warnings: list
    summaries: dict[str, dict]


def study(scenario: Scenario, variants: list[Variant]) -> HorizonStudy:
    """Solve every variant (see ``optimodel horizon``) and compare them."""
    from optimodel.api import solve
    from optimodel.inputs.data import load_data
    from optimodel.inputs.plausibility import InputWarning, WarningCode

    frames: list[pd.DataFrame] = []
    summaries: dict[str, dict] = {}
    outcomes = []
    base = load_data(scenario) if any(variant.end_year is None for variant in variants) else None
    for variant in variants:
        varied = variant_scenario(scenario, variant)
        result = solve(varied, data=base if variant.end_year is None else None)
        frame = result.prices[["market", "year", "price", "price_low", "price_high"]].copy()
        frame.insert(0, "foresight", "" if variant.end_year is not None else ("all" if variant.foresight is None else variant.foresight))
        frame.insert(0, "end_year", variant.end_year if variant.end_year is not None else "")
        frames.append(frame)
        summaries[variant.label] = {"objective": result.summary["objective"], "horizon": result.summary["horizon"]}
        outcomes.append((variant, result))
    warnings = []
    ends = sorted((variant.end_year, result) for variant, result in outcomes if variant.end_year is not None)
    if len(ends) >= 2:
        (shorter, first), (longer, second) = ends[-2], ends[-1]
        for market in scenario.market_policies():
            low = _first_price(first, market)
            high = _first_price(second, market)
            if max(abs(low), abs(high)) > 0 and abs(high - low) > FIRST_PRICE_SHIFT * max(abs(low), abs(high)):
                warnings.append(InputWarning(
                    WarningCode.horizon_dependent_prices,
                    f"market {market}: the {scenario.years[0]} price moves from {low:,.2f} to {high:,.2f} between the "
                    f"horizons ending {shorter} and {longer}: it is still set by where the model stops looking",
                ))
    for variant, result in outcomes:
        markets = result.markets
        if len(markets["year"].unique()) < 2:
            continue
        before_end = markets[markets["year"] == sorted(markets["year"].unique())[-2]]
        for row in before_end.itertuples(index=False):
            if row.emissions_tco2e > 0 and row.bank_end_tco2e > LARGE_BANK_SHARE * row.emissions_tco2e:
                warnings.append(InputWarning(
                    WarningCode.bank_large_before_end,
                    f"{variant.label}: market {row.market} still banks {row.bank_end_tco2e / 1e6:,.2f} Mt CO2e out of "
                    f"{row.year}, one year before the end: the allowances left at the end would expire",
                ))
    return HorizonStudy(pd.concat(frames, ignore_index=True)[HORIZON_COLUMNS], warnings, summaries)


def lookahead_caps(scenario: Scenario, end_year: int) -> str:
    """How the caps of the look-ahead years up to ``end_year`` are made, in one sentence (empty
    when ``end_year`` is not past the scenario's last year): a planner must know whether the
    years the model looks into are held, declining or on a path (contract section 11)."""
    last = scenario.years[-1]
    if end_year <= last:
        return ""
    decline = scenario.horizon.lookahead_cap_decline
    rules: dict[str, list[str]] = {}
    for sector, policy in scenario.covered_sectors.items():
        given = [year for year in range(last + 1, end_year + 1) if year in policy.cap_tco2e or year in policy.benchmark]
        if policy.cap_path is not None:
            path = policy.cap_path
            rule = f"continue the cap_path ({path.decline:.1%}/yr from {path.from_year})"
        else:
            kind = "cap" if last in policy.cap_tco2e or policy.cap(last) is not None else "benchmark"
            rule = (
                f"decline {decline:.1%}/yr from the {last} {kind} (lookahead_cap_decline)"
                if decline > 0
                else f"are held at the {last} {kind} (lookahead_cap_decline = 0)"
            )
        if given:
            rule += f", except the years given ({', '.join(str(year) for year in given)})"
        rules.setdefault(rule, []).append(sector)
    span = f"{last + 1}-{end_year}" if end_year > last + 1 else str(end_year)
    return f"look-ahead years {span}: " + "; ".join(f"{', '.join(sectors)} caps {rule}" for rule, sectors in rules.items())


def _first_price(result, market: str) -> float:
    prices = result.prices[result.prices["market"] == market]
    return float(prices.sort_values("year")["price"].iloc[0])
