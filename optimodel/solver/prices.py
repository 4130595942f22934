"""Duals become prices here and nowhere else.

Sign convention (checked by a test): HiGHS reports for each row the change of the objective per
unit increase of its upper bound. A market balance is ``emissions - supply <= issued - baseline``,
so one more allowance raises the right-hand side and lowers cost: the dual y is <= 0 and the
price in first-year money is -y. The objective is discounted, so the price in money of year t is
-y / (1 + r)^-(t - t0).
"""

from __future__ import annotations

import logging
import math

from optimodel.inputs.data import ModelData
from optimodel.model.build import FAMILIES
from optimodel.model.lp import CompiledLp, LpSolution
from optimodel.tolerances import SOLVER_FEASIBILITY

log = logging.getLogger(__name__)


def prices_from_duals(
    solution: LpSolution, compiled: CompiledLp, data: ModelData
) -> dict[tuple[str, int], dict[str, float]]:
    """Allowance prices per market-year in money of that year (the one place duals become prices).

    Sign and discounting: HiGHS's dual y of ``market_balance[m, t]`` is the change of the
    discounted objective per unit more right-hand side (one more allowance), so y <= 0 and the
    price in first-year money is -y; in money of year t it is -y / delta_t with
    delta_t = (1 + r)^-(t - t0). ``price_low`` and ``price_high`` are the measured one-sided slopes,
    divided the same way. Called only after ``certificate.certify_lp`` has checked the raw duals
    and intervals (signs, order, the dual inside its interval); only then are solver-noise
    negatives rounded to 0 and the point price clamped into its interval (it is HiGHS's dual from
    the main solve, deterministic for the same inputs).

    A market row the compiler dropped (no variable in it, and met) has price 0; its price_high is
    infinite when it is met with nothing to spare (one fewer allowance is infeasible).
    A family's ``price_rows`` (the offsets' ``offset_limit``) become prices the same way (rounded
    up to 0), and its ``price_columns`` turn them into its extra columns (``offset_price``, ...).
    """
    discount = data.discount_by_year()
    balance_rows = compiled.rows.get("market_balance", {})
    constant_balances = compiled.constant_rows.get("market_balance", {})
    priced = [(family.price_rows, family.price_columns) for family in FAMILIES if family.price_columns is not None]
    prices = {}
    for market in data.markets:
        for year in data.years:
            key = (market, year)
            weight = discount[year]
            if key in balance_rows:
                low = max(solution.balance_low[key], 0.0) / weight
                high = max(solution.balance_high[key], solution.balance_low[key], 0.0) / weight
                point = min(max(-solution.row_dual[balance_rows[key]] / weight, low), high)
            else:
                spare = constant_balances.get(key, math.inf)
                point = low = 0.0
                high = math.inf if abs(spare) <= SOLVER_FEASIBILITY * max(1.0, abs(spare)) else 0.0
            entry = {"price": point, "price_low": low, "price_high": high}
            for rows, columns in priced:
                row_prices = {
                    name: max(-solution.row_dual[compiled.rows[name][key]] / weight, 0.0)
                    for name in rows
                    if key in compiled.rows.get(name, {})
                }
                entry.update(columns(entry, row_prices))
            prices[key] = entry
    return prices

