"""Every numerical tolerance of optimodel, in one place, each with its reason.

Quantities are in model units (tCO2e / ``Scaling.tco2e_per_unit``, so the largest market-year is
near 10^3) and money per tCO2e needs no scaling: the absolute sizes below are about that scale.
"""

from __future__ import annotations

SOLVER_FEASIBILITY = 1e-7
"""HiGHS's default primal and dual feasibility tolerance. Relative to a row's scale, ranging widths
and residuals below it count as zero: HiGHS cannot tell them from zero either."""

PROBE_FLOOR_FACTOR = 10.0
"""Price-interval re-solves move a right-hand side by at least this many ``SOLVER_FEASIBILITY``
(relative): closer than that, HiGHS's own tolerance would accept the old basis and hide the step."""

CERTIFICATE = 1e-6
"""Relative residual the certificate accepts (primal and dual feasibility, complementary
slackness, duality gap, reported tables against the LP): ten times the solver's tolerance, so that
a correct optimum never fails on solver noise, while a wrong sign, a perturbed value or a
misreported cost (all of order one) always does."""

BASELINE_LIMIT_ROUNDING = 1e-12
"""Relative: options whose potentials add up to the baseline up to float rounding cannot abate
more than it, so they need no baseline_limit row."""

SHORTFALL_ROUNDING = 1e-9
"""Relative to a market-year's emissions: a pre-solve shortfall smaller than this is rounding in
the sums of many firms, not a missing allowance."""
