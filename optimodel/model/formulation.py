"""docs/formulation.md, built from the ``add_*`` docstrings so the two can never drift."""

from __future__ import annotations

import inspect
import re
import textwrap

from optimodel.model.build import FAMILIES

PREAMBLE = """# The optimisation model

<!-- Generated from the add_* docstrings by `python -m optimodel.model.formulation > docs/formulation.md`.
     tests/test_docs.py fails when this file and the code disagree. -->

optimodel is a linear program. `optimodel/model/build.py` registers its policy families in this
order, one module each; each family adds its variables and rows and contributes terms to a shared
ledger (`model.terms`: each market-year's emissions, issued allowances and other supply, and the
objective), which the market balance and the objective read last.

A new policy family is one module and one `FAMILIES.register` line. The module defines its
`add_*` function (its docstring, with the math, the index sets, the dual each row yields and a
symbol table, becomes its section below) and a `PolicyFamily` (`optimodel/model/registry.py`)
with what else it needs: its keys in every `[markets.NAME]` table and its own `[section]` of the
scenario file (closed pydantic models), the checks and warnings about them, the data it
prepares (scaled), its columns in markets.csv and prices.csv, its revenue, the allowances and
money it reports (for the certificate), its bound for the pre-solve infeasibility diagnosis, the
scenario numbers a warm sweep may move, how a Monte Carlo draw scales its numbers
(`draw_move`) and what each draw records, its warnings about a solution, its report chart, and
the variables a rolling horizon decides year by year. Build, these docs, the compiled component maps, the result tables, the certificate, the
diagnosis, sweeps, draws and the rolling horizon all iterate over the registry. Rows whose
right-hand side holds ledger constants record which (`ModelTerms.right_hand_side`), so a warm sweep
moves exactly those rows whichever family owns them. `tests/test_registry.py` defines a family (a
tranched extra supply) in the test file alone and checks it end to end.

Indices: $s$ an abatement step (one option of one firm in one year, a row of the options table),
$f$ a firm, $g$ a gas, $k$ a sector, $m$ a market, $t$ a year, $o$ an offset supply step.
Quantities are tCO2e through the scenario's GWP set, divided by one power of ten chosen per
instance (`optimodel/inputs/units.py`); money is scaled by the same factor, so prices need no scaling.

Duals become prices in exactly one place, `optimodel.solver.prices.prices_from_duals`:
price $= -y_{m,t} / \\delta_t$ where $y_{m,t} \\le 0$ is HiGHS's dual of `market_balance[m, t]`
and $\\delta_t = (1+r)^{-(t-t_0)}$. Where the cap sits on a step of the cost curve the dual is not
unique: `price_low` and `price_high` are the exact one-sided slopes of the optimal cost in the
market row's right-hand side (HiGHS ranging, and warm-started re-solves beside the cap where the
basis changes), and `price` is HiGHS's dual clamped into that interval.
"""


def _markdown(docstring: str) -> str:
    """Turn ``.. math::`` blocks into fenced math blocks (one per equation, as equations are
    separated by blank lines) and ``:math:`x``` roles into ``$x$``."""
    lines = textwrap.dedent(docstring).strip().splitlines()
    output: list[str] = []
    equations: list[list[str]] = []
    in_math = False

    def flush() -> None:
        for equation in equations:
            if equation:
                output.extend(["```math", *equation, "```", ""])
        equations.clear()

    for line in lines:
        if line.strip() == ".. math::":
            in_math = True
            equations.append([])
            continue
        if in_math:
            if line.strip() and not line.startswith(" "):
                flush()
                in_math = False
            elif line.strip():
                equations[-1].append(line.strip())
                continue
            else:
                equations.append([])
                continue
        output.append(re.sub(r":math:`([^`]*)`", r"$\1$", line).replace("``", "`"))
    flush()
    return "\n".join(output)


def formulation_markdown() -> str:
    """The whole of docs/formulation.md: the preamble, then one section per registered family."""
    sections = [PREAMBLE]
    for family in FAMILIES:
        function = family.add
        module = function.__module__.replace(".", "/")
        sections.append(f"## {family.title}\n\n`{function.__name__}` in `{module}.py`\n\n{_markdown(inspect.getdoc(function) or '')}\n")
    return "\n".join(sections)


if __name__ == "__main__":
    print(formulation_markdown(), end="")
