"""CBAM exposure, derived by hand on the two-firm example (prices 50 in 2025 and 2026)."""

from __future__ import annotations

import pytest

import optimodel


def cbam_case(examples, tmp_path, deduction: str):
    path = tmp_path / "cbam.toml"
    path.write_text(
        f'extends = "{examples / "two-firms.toml"}"\n'
        "[cbam]\neu_price_eur = 100.0\neur_cny = 1.0\nfree_allocation = { 2025 = 0.5, 2026 = 0.0 }\n"
        f'export_share = {{ steel = 0.5 }}\ndeduction = "{deduction}"\n'
    )
    cbam = optimodel.solve(optimodel.load_scenario(path)).cbam
    assert cbam is not None
    return cbam.set_index(["sector", "year"])


def test_full_deduction(examples, tmp_path):
    # Steel emits 70 t both years; half is exported: 35 t. 2025: half charged (free allocation
    # 0.5), 35 x 0.5 x (100 - 50) = 875. 2026: all charged, 35 x (100 - 50) = 1,750.
    cbam = cbam_case(examples, tmp_path, "full")
    assert list(cbam.index) == [("steel", 2025), ("steel", 2026)]
    assert cbam.loc[("steel", 2025), "net_charge"] == pytest.approx(875.0)
    assert cbam.loc[("steel", 2026), "net_charge"] == pytest.approx(1750.0)
    assert cbam.loc[("steel", 2026), "gross_charge"] == pytest.approx(3500.0)


def test_effective_deduction_counts_only_what_is_paid(examples, tmp_path):
    # 2025: steel buys nothing (allocation 70 = emissions): nothing paid, 35 x 0.5 x 100 = 1,750.
    # 2026: steel buys 10 of its 70 t: paid share 1/7, paid price 50/7;
    # 35 x (100 - 50/7) = 3,250.
    cbam = cbam_case(examples, tmp_path, "effective")
    assert cbam.loc[("steel", 2025), "net_charge"] == pytest.approx(1750.0)
    assert cbam.loc[("steel", 2026), "paid_share"] == pytest.approx(1 / 7)
    assert cbam.loc[("steel", 2026), "net_charge"] == pytest.approx(3250.0)
    assert cbam.loc[("steel", 2026), "net_charge_per_tco2e"] == pytest.approx(3250.0 / 35.0)


def test_cbam_csv_is_written_and_unknown_sectors_are_rejected(examples, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "cbam.toml"
    path.write_text(f'extends = "{examples / "two-firms.toml"}"\n[cbam]\nexport_share = {{ glass = 0.5 }}\n')
    completed = subprocess.run([sys.executable, "-m", "optimodel", "validate", str(path)], capture_output=True, text=True)
    assert completed.returncode == 2 and "key cbam.export_share.glass" in completed.stderr
    path.write_text(f'extends = "{examples / "two-firms.toml"}"\n[cbam]\nexport_share = {{ steel = 0.5 }}\n')
    completed = subprocess.run(
        [sys.executable, "-m", "optimodel", "solve", str(path), "--out", str(tmp_path / "run")], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "run" / "cbam.csv").read_text().startswith("sector,year,exported_tco2e")
