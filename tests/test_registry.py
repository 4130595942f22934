"""A policy family defined here, in the test file, and registered: no edit to the package.

The family is a tranched extra supply: in every market-year, up to Q allowances at 60 and
another Q at 70 (money of the year). The tests see it solved (a partly used tranche prices at its
price), certified, diagnosed (a cap only the tranches make feasible is feasible; a shortfall
counts them), reported (markets.csv), documented (docs/formulation.md) and swept.

Hand derivation, one firm of 100 t with abatement 20 t at 10 and 50 t at 100, Q = 10:
- cap 65: 35 t to cover: 20 t abated at 10, 10 t bought at 60, 5 t at 70; price 70, interval
  [70, 70]; cost 200 + 600 + 350 = 1,150.
- cap 15: 85 t to cover: 20 at 10, 10 at 60, 10 at 70, 45 t abated at 100; price 100.
- cap 5: 95 t to cover, but at most 70 abated + 20 bought: short by 5 t.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from builders import write_case
from pydantic import BaseModel, ConfigDict, Field

import optimodel
from optimodel.model.build import FAMILIES
from optimodel.model.registry import DiagnosisBounds, PolicyFamily, ScenarioSection, SolvedModel, family_data
from optimodel.model.terms import BlockRow


class TrancheSection(BaseModel):
    """[tranches]: extra allowances sold in tranches at fixed prices."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    quantity_tco2e: float = Field(ge=0.0)
    """Allowances in each tranche, every market-year, tCO2e."""
    prices: list[float] = Field(default_factory=lambda: [60.0, 70.0])
    """Price of each tranche, money per tCO2e of the year."""


class TrancheMarketRules(BaseModel):
    """The family's key in every [markets.NAME] table."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    tranches: bool = True
    """False keeps this market out of the tranches."""


def selling(scenario, market: str) -> bool:
    return scenario.market_policies()[market].rules(TrancheMarketRules).tranches


def prepare(scenario, data) -> list[tuple[int, float, float]]:
    """(tranche, quantity in model units, price) for each tranche; none without the section."""
    section = scenario.sections.get("tranches")
    if section is None:
        return []
    return [(tier, data.scaling.to_model(section.quantity_tco2e), price) for tier, price in enumerate(section.prices)]


def add_tranches(model, data, scenario) -> None:
    r"""Tranched extra supply: allowances sold at fixed prices, tranche by tranche.

    .. math::

        0 \le q_{k,m,t} \le Q \qquad \forall (k, m, t)

    Each tranche :math:`k` adds :math:`q_{k,m,t}` to the market-year's supply (ledger
    ``terms.supply``) at a cost :math:`\delta_t p_k q_{k,m,t}`. A partly used tranche sets the
    allowance price at :math:`p_k`. No row of its own.

    | symbol | component | scenario | unit |
    |---|---|---|---|
    | :math:`q_{k,m,t}` | ``tranche_sales[tranche, market, year]`` | | scaled tCO2e |
    | :math:`Q` | bound of ``tranche_sales`` | tranches.quantity_tco2e | scaled tCO2e |
    | :math:`p_k` | objective coefficient | tranches.prices | money/tCO2e |
    """
    tranches = family_data(TRANCHES, scenario, data)
    if not tranches:
        return
    index = [(tier, market, year) for tier, _, _ in tranches for market in data.markets if selling(scenario, market) for year in data.years]
    quantity = {tier: amount for tier, amount, _ in tranches}
    price = {tier: value for tier, _, value in tranches}
    model.tranche_index = pyo.Set(initialize=index, dimen=3, ordered=True)
    model.tranche_sales = pyo.Var(model.tranche_index, bounds=lambda model, tier, market, year: (0.0, quantity[tier]))
    discount = dict(zip(data.years, data.discount.tolist()))
    for tier, market, year in index:
        variable = model.tranche_sales[tier, market, year]
        model.terms.supply.add((market, year), [1.0], [variable])
        model.terms.cost.add(None, [price[tier] * discount[year]], [variable])


def market_values(solved: SolvedModel) -> dict[str, np.ndarray]:
    return {"tranche_tco2e": solved.market_year_totals("tranche_sales", market=1, year=2)}


def reported_supply(markets: pd.DataFrame) -> pd.Series:
    return markets["tranche_tco2e"]


def reported_cost(solved: SolvedModel, result) -> float:
    prices = {tier: price for tier, _, price in family_data(TRANCHES, solved.scenario, solved.data)}
    return sum(prices[tier] * solved.discount(year) * value for (tier, _, year), value in solved.values("tranche_sales").items())


def diagnosis(data, scenario, bounds: DiagnosisBounds) -> None:
    for _, quantity, _ in family_data(TRANCHES, scenario, data):
        for market in data.markets:
            for year in data.years if selling(scenario, market) else ():
                bounds.add_extra((market, year), quantity)


TRANCHES = PolicyFamily(
    name="tranches",
    title="Tranched extra supply",
    add=add_tranches,
    variables=("tranche_sales",),
    section=ScenarioSection("tranches", TrancheSection),
    market_rules=TrancheMarketRules,
    prepare=prepare,
    market_values=market_values,
    reported_supply=reported_supply,
    reported_cost=reported_cost,
    diagnosis=diagnosis,
)


@pytest.fixture
def registered():
    FAMILIES.register(TRANCHES)
    yield TRANCHES
    FAMILIES.unregister(TRANCHES.name)


def case(folder: Path, cap: float, quantity: float = 10.0) -> Path:
    return write_case(
        folder,
        firms=[{"firm_id": "A", "sector": "power"}],
        emissions=[{"firm_id": "A", "year": 2025, "gas": "CO2", "baseline_t": 100.0}],
        options=[
            {"firm_id": "A", "option": "cheap", "potential_t": 20.0, "cost_per_t": 10.0},
            {"firm_id": "A", "option": "dear", "potential_t": 50.0, "cost_per_t": 100.0},
        ],
        scenario={
            "years": [2025],
            "sectors": {"power": {"cap_tco2e": {"2025": cap}}},
            "tranches": {"quantity_tco2e": quantity},
        },
    )


def test_the_family_is_solved_certified_and_reported(registered, tmp_path):
    result = optimodel.solve(optimodel.load_scenario(case(tmp_path, cap=65.0)))
    assert result.prices[["price", "price_low", "price_high"]].iloc[0].tolist() == pytest.approx([70.0, 70.0, 70.0])
    assert result.markets["tranche_tco2e"].tolist() == pytest.approx([15.0])
    assert result.summary["objective"] == pytest.approx(1150.0)
    assert result.summary["checks"]["objective_gap"] < 1e-6
    assert result.summary["checks"]["max_balance_violation_tco2e"] < 1e-6
    result.write(tmp_path / "run")
    assert pd.read_csv(tmp_path / "run" / "markets.csv")["tranche_tco2e"].tolist() == pytest.approx([15.0])


def test_a_cap_only_the_tranches_make_feasible_is_feasible(registered, tmp_path):
    result = optimodel.solve(optimodel.load_scenario(case(tmp_path, cap=15.0)))
    assert result.prices["price"].tolist() == pytest.approx([100.0])
    assert result.markets["tranche_tco2e"].tolist() == pytest.approx([20.0])


def test_a_shortfall_counts_the_tranches(registered, tmp_path):
    from optimodel.inputs.data import load_data
    from optimodel.solver.diagnose import presolve_shortfalls

    scenario = optimodel.load_scenario(case(tmp_path, cap=5.0))
    assert presolve_shortfalls(load_data(scenario), scenario) == pytest.approx({("national", 2025): 5.0})
    with pytest.raises(optimodel.InfeasibleError, match="short by 5 tCO2e"):
        optimodel.solve(scenario)


def test_the_family_is_documented(registered):
    from optimodel.model.formulation import formulation_markdown

    page = formulation_markdown()
    assert "## Tranched extra supply" in page and "`add_tranches`" in page
    assert "0 \\le q_{k,m,t} \\le Q" in page and "$p_k$" in page


def test_the_family_is_swept_warm_and_cold(registered, tmp_path):
    from optimodel.workflows.sweep import parse_assignment, run_sweep

    path = case(tmp_path, cap=65.0)
    # A cap is moved in the built LP (warm); a tranche's size rebuilds it (cold).
    sweep = run_sweep(path, [parse_assignment("sectors.power.cap_tco2e.2025=65,15"), parse_assignment("tranches.quantity_tco2e=10,40")])
    by_run = {point.run: point for point in sweep.points}
    prices = {run: point.result.prices["price"].iloc[0] for run, point in by_run.items()}
    # cap 65, Q 40: 35 t = 20 abated + 15 at 60: price 60. cap 15, Q 40: 85 t = 20 + 40 at 60 + 25 at 70: 70.
    assert prices == pytest.approx({"run-001": 70.0, "run-002": 60.0, "run-003": 100.0, "run-004": 70.0})
    assert [by_run[run].warm for run in ("run-001", "run-003")] == [True, True]
    assert not by_run["run-002"].warm


def test_its_section_is_closed(registered, tmp_path):
    path = case(tmp_path, cap=65.0)
    path.write_text(path.read_text().replace("quantity_tco2e = 10.0", "quantity_tco2e = 10.0\nprise = 3"))
    with pytest.raises(optimodel.InputError, match="key tranches.prise: unknown key"):
        optimodel.load_scenario(path)


def test_its_key_in_a_market_table_is_its_own(registered, tmp_path):
    # tranches = false keeps the market out: 35 t to cover are 20 t abated at 10 and 15 t at 100.
    path = case(tmp_path, cap=65.0)
    path.write_text(path.read_text() + "\n[markets.national]\ntranches = false\n")
    result = optimodel.solve(optimodel.load_scenario(path))
    assert result.prices["price"].tolist() == pytest.approx([100.0])
    assert result.summary["objective"] == pytest.approx(200.0 + 1500.0)
    path.write_text(path.read_text().replace("tranches = false", 'tranches = "sometimes"'))
    with pytest.raises(optimodel.InputError, match="key markets.national.tranches"):
        optimodel.load_scenario(path)


def test_a_second_family_cannot_claim_a_market_key(registered):
    from optimodel.model.offsets import OffsetRules

    with pytest.raises(ValueError, match="offset_limit"):
        FAMILIES.register(PolicyFamily(name="copy", title="Copy", add=add_tranches, market_rules=OffsetRules))


def test_without_registration_the_market_key_is_unknown(tmp_path):
    path = case(tmp_path, cap=65.0)
    path.write_text(path.read_text().replace("[tranches]\nquantity_tco2e = 10.0\n", "") + "\n[markets.national]\ntranches = false\n")
    with pytest.raises(optimodel.InputError, match="key markets.national.tranches: unknown key"):
        optimodel.load_scenario(path)


def test_without_registration_the_section_is_an_unknown_key(tmp_path):
    with pytest.raises(optimodel.InputError, match="key tranches: unknown key"):
        optimodel.load_scenario(case(tmp_path, cap=65.0))


def add_abatement_floor(model, data, scenario) -> None:
    r"""A rule of its own that no allowance can satisfy: firm A abates at least 100 t, more than
    its 70 t of options.

    .. math::

        \sum_s a_s \ge 100

    | symbol | component | scenario | unit |
    |---|---|---|---|
    | :math:`a_s` | ``abatement`` (a column block) | | scaled tCO2e |
    """
    # A row over the abatement column block: -sum(a) <= -100.
    steps = len(data.steps)
    model.terms.add_block_rows(
        "abatement_floor", [BlockRow(None, -data.scaling.to_model(100.0), ("abatement", np.arange(steps), -np.ones(steps)))]
    )


FLOOR = PolicyFamily(name="abatement_floor", title="Abatement floor", add=add_abatement_floor, rows=("abatement_floor",))


def test_infeasibility_in_a_row_of_another_family_exits_3_naming_it(tmp_path, capsys):
    from optimodel import cli

    FAMILIES.register(FLOOR)
    try:
        path = case(tmp_path, cap=65.0)
        path.write_text(path.read_text().replace("[tranches]\nquantity_tco2e = 10.0\n", ""))
        with pytest.raises(optimodel.InfeasibleError) as raised:
            optimodel.solve(optimodel.load_scenario(path))
        # The market needs only 35 t; the floor asks 100 t of 70 t of options: 30 short.
        assert raised.value.shortfalls == []
        assert "cannot be met: abatement_floor[None] by 30" in str(raised.value)
        assert cli.main(["solve", str(path), "--out", str(tmp_path / "out")]) == 3
        assert capsys.readouterr().err.startswith("error: infeasible: no market-year is short of allowances")
    finally:
        FAMILIES.unregister(FLOOR.name)


def test_a_family_without_a_draw_move_refuses_draws_naming_it(registered, tmp_path, capsys):
    from optimodel import cli

    path = case(tmp_path, cap=65.0)
    path.write_text(
        path.read_text()
        + '\n[uncertainty]\ndraws = 3\n\n[[uncertainty.factors]]\ntarget = "baseline"\ndistribution = "uniform"\nlow = 1.4\nhigh = 1.6\n'
    )
    assert cli.main(["uncertainty", str(path), "--out", str(tmp_path / "draws")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: key uncertainty: the policy family tranches cannot follow a draw (no draw_move)")
    assert not (tmp_path / "draws").exists()
