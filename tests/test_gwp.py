"""CF4 and C2F6 abatement is priced per tCO2e, so prices move with the GWP set."""

from __future__ import annotations

import pytest
from builders import write_case

import optimodel
from optimodel.inputs.gwp import NAMED_GWP_SETS, GwpSet


def smelter(tmp_path, gwp) -> optimodel.Result:
    # One smelter: 100 t CO2 and 0.01 t CF4 and 0.001 t C2F6. CO2 step: 50 t @ 40 per t.
    # Anode-effect control abates all the CF4 at 300,000 per t CF4 and all the C2F6 at 500,000
    # per t C2F6. Cap 106.3 tCO2e.
    path = write_case(
        tmp_path,
        firms=[{"firm_id": "AL1", "sector": "aluminium"}],
        emissions=[
            {"firm_id": "AL1", "year": 2025, "gas": "CO2", "baseline_t": 100.0},
            {"firm_id": "AL1", "year": 2025, "gas": "cf4", "baseline_t": 0.01},
            {"firm_id": "AL1", "year": 2025, "gas": "C2F6", "baseline_t": 0.001},
        ],
        options=[
            {"firm_id": "AL1", "option": "anode_quality", "gas": "CO2", "potential_t": 50.0, "cost_per_t": 40.0},
            {"firm_id": "AL1", "option": "anode_effect_control", "gas": "CF4", "potential_t": 0.01, "cost_per_t": 300000.0},
            {"firm_id": "AL1", "option": "anode_effect_control", "gas": "C2F6", "potential_t": 0.001, "cost_per_t": 500000.0},
        ],
        scenario={"years": [2025], "gwp": gwp, "sectors": {"aluminium": {"cap_tco2e": {"2025": 106.3}}}},
    )
    return optimodel.solve(optimodel.load_scenario(path))


@pytest.mark.parametrize("gwp_set", ["AR4", "AR5", "AR6"])
def test_pfc_price_per_tco2e_follows_the_gwp_set(tmp_path, gwp_set):
    gwp = NAMED_GWP_SETS[GwpSet(gwp_set)]
    cf4_step = (0.01 * gwp["CF4"], 300000.0 / gwp["CF4"])
    c2f6_step = (0.001 * gwp["C2F6"], 500000.0 / gwp["C2F6"])
    required = 100.0 + cf4_step[0] + c2f6_step[0] - 106.3
    # Merit order by hand: CO2 50 t @ 40, then the PFC steps by cost per tCO2e.
    steps = sorted([(50.0, 40.0), cf4_step, c2f6_step], key=lambda step: step[1])
    filled, expected = 0.0, None
    for potential, cost in steps:
        if filled + potential >= required:
            expected = cost
            break
        filled += potential
    result = smelter(tmp_path, gwp_set)
    price = result.prices.iloc[0]
    assert price.price == pytest.approx(expected, rel=1e-9)
    assert price.price_low == price.price_high == pytest.approx(expected, rel=1e-9)
    sector = result.sectors.iloc[0]
    assert sector.baseline_tco2e == pytest.approx(100.0 + cf4_step[0] + c2f6_step[0])
    assert sector.emissions_tco2e == pytest.approx(106.3)
    options = result.options.set_index(["option", "gas"])
    assert options.loc[("anode_quality", "CO2"), "abatement_tco2e"] == pytest.approx(50.0)


def test_gwp_sets_give_different_prices(tmp_path):
    prices = {name: smelter(tmp_path / name, name).prices.iloc[0].price for name in ("AR4", "AR5")}
    # AR5: baseline 100 + 66.3 + 11.1 = 177.4, 71.1 t to abate: CO2 50 @ 40, C2F6 11.1 @ 45.05,
    # then CF4 @ 300000 / 6630 = 45.25 is marginal.
    # AR4: baseline 100 + 73.9 + 12.2 = 186.1, 79.8 t to abate: CO2 50 @ 40, then CF4 @
    # 300000 / 7390 = 40.60 (cheaper than C2F6 @ 40.98) is marginal.
    assert prices["AR5"] == pytest.approx(300000.0 / 6630.0)
    assert prices["AR4"] == pytest.approx(300000.0 / 7390.0)


def test_custom_gwp_table(tmp_path):
    result = smelter(tmp_path, {"CO2": 1.0, "CF4": 10000.0, "C2F6": 10000.0})
    # Baseline 100 + 100 + 10 = 210 tCO2e; 103.7 to abate. By cost per tCO2e: CF4 30 (100 t),
    # CO2 40 (50 t), C2F6 50 (10 t): CF4 covers 100, then 3.7 t of CO2 @ 40 is marginal.
    assert result.prices.iloc[0].price == pytest.approx(40.0)
