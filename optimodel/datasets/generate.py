"""The calibrated default dataset of China's expanded national ETS, and its generator.

Every number below is listed, with its source and whether it is a fact (F), a commonly cited
figure (M), derived (D) or an assumption (A), in docs/calibration.md. The generator is seeded:
the same seed and firm count give byte-identical tables.

Firms: ~2,200 power, 600 steel, 800 cement and 100 aluminium firms (3,700), with lognormal
annual emissions rescaled so that sector totals hold exactly (5.1, 1.75, 1.07 and 0.075 Gt in
2025). Aluminium firms also emit the PFCs CF4 and C2F6 from anode effects. Each firm has an
output and an intensity (for benchmark allocation) and its own abatement options drawn from the
sector ranges, whose potentials ramp up to 2030 and whose new technologies get cheaper (learning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimodel.results.outputs import FolderPlan

YEARS = tuple(range(2025, 2036))
MIN_FIRM_TCO2E = 26_000.0
"""Inclusion threshold (MEE rules, F): no firm is smaller."""
AR5 = {"CO2": 1.0, "CF4": 6630.0, "C2F6": 11100.0}
"""The generator works in AR5 tCO2e, the scenario default."""


@dataclass(frozen=True)
class OptionSpec:
    """One abatement option of a sector, around 2030 (docs/calibration.md)."""

    name: str
    share_low: float
    """Potential as a share of the firm's baseline (of the gas), low end."""
    share_high: float
    cost_low: float
    """Cost per tCO2e, money of the year, low end of the firm-level spread."""
    cost_high: float
    learning: float = 0.0
    """Yearly cost decline of a new technology."""
    gas: str = "CO2"


@dataclass(frozen=True)
class SectorSpec:
    """A covered sector: its size, firm-size distribution, product and options."""

    name: str
    prefix: str
    firms: int
    total_tco2e: float
    """2025 emissions of the sector, tCO2e."""
    mean_tco2e: float
    sigma: float
    largest_tco2e: float
    intensity: float
    """Mean tCO2e per unit of output."""
    intensity_spread: float
    """Standard deviation of firm intensity, relative to the mean."""
    growth: tuple[float, float]
    """Yearly change of baseline emissions in 2025-2030 and 2030-2035."""
    options: tuple[OptionSpec, ...]


SECTORS: tuple[SectorSpec, ...] = (
    SectorSpec(
        "power", "PWR", 2200, 5.10e9, 2.32e6, 1.1, 35e6, 0.80, 0.04, (0.010, -0.010),
        (
            OptionSpec("efficiency_retrofit", 0.015, 0.03, -100.0, 100.0),
            OptionSpec("biomass_cofiring", 0.01, 0.03, 250.0, 450.0, learning=0.01),
            OptionSpec("coal_to_gas", 0.01, 0.04, 300.0, 700.0),
            OptionSpec("dispatch_to_renewables", 0.08, 0.20, -100.0, 250.0, learning=0.02),
            OptionSpec("ccs", 0.003, 0.005, 300.0, 600.0, learning=0.03),
        ),
    ),
    SectorSpec(
        "steel", "STL", 600, 1.75e9, 2.9e6, 1.1, 40e6, 1.70, 0.08, (-0.010, -0.015),
        (
            OptionSpec("efficiency", 0.04, 0.08, -150.0, 100.0),
            OptionSpec("scrap_eaf_shift", 0.09, 0.18, -50.0, 300.0),
            OptionSpec("bf_hydrogen_top_gas", 0.02, 0.05, 300.0, 600.0, learning=0.02),
            OptionSpec("hydrogen_dri", 0.005, 0.02, 500.0, 1500.0, learning=0.04),
            OptionSpec("ccus", 0.001, 0.003, 350.0, 700.0, learning=0.03),
        ),
    ),
    SectorSpec(
        "cement", "CEM", 800, 1.07e9, 1.34e6, 0.7, 10e6, 0.85, 0.03, (-0.015, -0.015),
        (
            OptionSpec("efficiency", 0.02, 0.05, -100.0, 100.0),
            OptionSpec("clinker_substitution", 0.03, 0.08, -50.0, 100.0),
            OptionSpec("alternative_fuels", 0.03, 0.08, 100.0, 400.0),
            OptionSpec("ccus", 0.001, 0.005, 300.0, 800.0, learning=0.03),
        ),
    ),
    SectorSpec(
        "aluminium", "ALU", 100, 0.075e9, 0.75e6, 0.6, 3e6, 1.71, 0.05, (0.005, 0.0),
        (
            OptionSpec("anode_quality", 0.02, 0.05, 0.0, 150.0),
            OptionSpec("inert_anodes", 0.0, 0.02, 500.0, 900.0, learning=0.04),
            # Anode-effect control abates the PFCs: the share is of the firm's CO2e (D/M); it is
            # capped below each PFC baseline.
            OptionSpec("anode_effect_control", 0.05, 0.15, -20.0, 100.0, gas="PFC"),
        ),
    ),
)

PFC_TCO2E_PER_T_ALUMINIUM = 0.145
"""Anode-effect PFC emissions (MEE draft guideline, F)."""
CF4_TO_C2F6_MASS = 10.0
"""CF4 : C2F6 by mass (IPCC Tier 2 slope ratios, M)."""
PFC_ABATABLE_SHARE = 0.9
"""At most this share of a PFC baseline can be abated by anode-effect control (A)."""
RAMP_START = 0.3
"""Share of the 2030 potential available in 2025; linear to 1 in 2030 (A)."""
RAMP_AFTER_2030 = 0.05
"""Yearly growth of potentials after 2030, relative to 2030 (A)."""

REGIONS = (
    "Shandong", "Inner Mongolia", "Jiangsu", "Hebei", "Shanxi", "Guangdong", "Henan", "Xinjiang",
    "Anhui", "Zhejiang", "Liaoning", "Shaanxi", "Hubei", "Sichuan", "Yunnan", "Guangxi", "Hunan",
    "Fujian", "Ningxia", "Guizhou", "Gansu", "Heilongjiang", "Jilin", "Jiangxi", "Tianjin",
    "Shanghai", "Chongqing", "Qinghai", "Beijing", "Hainan", "Tibet",
)


def _firm_sizes(spec: SectorSpec, count: int, total: float, rng: np.random.Generator) -> np.ndarray:
    """Lognormal sizes with the sector's mean and sigma, rescaled to ``total`` and kept between
    the inclusion threshold and the largest plausible firm."""
    mu = math.log(spec.mean_tco2e) - spec.sigma**2 / 2
    sizes = rng.lognormal(mu, spec.sigma, count)
    for _ in range(50):
        sizes = np.clip(sizes * total / sizes.sum(), MIN_FIRM_TCO2E, spec.largest_tco2e)
        if abs(sizes.sum() - total) <= 1e-9 * total:
            break
    # Spread the last rounding over the firms that are not at a bound.
    free = (sizes > MIN_FIRM_TCO2E) & (sizes < spec.largest_tco2e)
    sizes[free] += (total - sizes.sum()) / max(int(free.sum()), 1)
    return sizes


def _growth(spec: SectorSpec) -> np.ndarray:
    factors, level = [], 1.0
    for year in YEARS:
        factors.append(level)
        level *= 1.0 + (spec.growth[0] if year < 2030 else spec.growth[1])
    return np.array(factors)


def _ramp() -> np.ndarray:
    years = np.array(YEARS, dtype=float)
    before = RAMP_START + (1.0 - RAMP_START) * (years - 2025.0) / 5.0
    after = 1.0 + RAMP_AFTER_2030 * (years - 2030.0)
    return np.where(years <= 2030, before, after)


@dataclass(frozen=True)
class Dataset:
    """The four input tables of one instance."""

    firms: pd.DataFrame
    emissions: pd.DataFrame
    options: pd.DataFrame
    activity: pd.DataFrame

    def sector_baselines(self) -> pd.DataFrame:
        """tCO2e (AR5) by sector and year."""
        gwp = self.emissions["gas"].map(AR5)
        frame = self.emissions.assign(tco2e=self.emissions["baseline_t"] * gwp).merge(self.firms, on="firm_id")
        return frame.groupby(["sector", "year"])["tco2e"].sum().unstack("year")

    def sector_intensities(self) -> pd.Series:
        """Output-weighted mean tCO2e per unit of output, by sector, in 2025 (AR5)."""
        baseline = self.sector_baselines()[YEARS[0]]
        activity = self.activity[self.activity["year"] == YEARS[0]].merge(self.firms, on="firm_id")
        return baseline / activity.groupby("sector")["output"].sum()

    def write(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("firms", "emissions", "options", "activity"):
            getattr(self, name).to_parquet(folder / f"{name}.parquet", index=False, compression="zstd")


def generate(firms: int = 3700, seed: int = 2025) -> Dataset:
    """Generate an instance with about ``firms`` firms (sector shares as in the default; sector
    totals scale with the firm count, so mean firm sizes stay calibrated)."""
    rng = np.random.default_rng(seed)
    scale = firms / sum(spec.firms for spec in SECTORS)
    growth_by_sector = {spec.name: _growth(spec) for spec in SECTORS}
    ramp = _ramp()
    firm_rows, emission_rows, option_frames, activity_rows = [], [], [], []
    for spec in SECTORS:
        count = max(1, round(spec.firms * scale))
        sizes = _firm_sizes(spec, count, spec.total_tco2e * count / spec.firms, rng)
        ids = [f"{spec.prefix}-{index:05d}" for index in range(1, count + 1)]
        regions = rng.choice(len(REGIONS), size=count)
        intensity = spec.intensity * np.clip(1.0 + spec.intensity_spread * rng.standard_normal(count), 0.7, 1.3)
        growth = growth_by_sector[spec.name]
        firm_rows.append(pd.DataFrame({"firm_id": ids, "sector": spec.name, "region": np.array(REGIONS)[regions]}))

        # Baselines by year and gas; aluminium splits its CO2e into CO2, CF4 and C2F6.
        baseline = np.outer(sizes, growth)  # firm x year, tCO2e
        output = baseline / intensity[:, None]
        if spec.name == "aluminium":
            # Output is tonnes of aluminium; PFCs follow output, the rest of the CO2e is CO2.
            pfc = output * PFC_TCO2E_PER_T_ALUMINIUM
            cf4_t = pfc / (AR5["CF4"] + AR5["C2F6"] / CF4_TO_C2F6_MASS)
            gases = {"CO2": baseline - pfc, "CF4": cf4_t, "C2F6": cf4_t / CF4_TO_C2F6_MASS}
        else:
            gases = {"CO2": baseline}
        for gas, table in gases.items():
            emission_rows.append(_long(ids, table, "baseline_t").assign(gas=gas))
        activity_rows.append(_long(ids, output, "output"))

        for option in spec.options:
            share = rng.uniform(option.share_low, option.share_high, count)
            cost = rng.uniform(option.cost_low, option.cost_high, count)
            learning = (1.0 - option.learning) ** (np.array(YEARS) - YEARS[0])
            # Learning lowers the cost of a technology; a no-regret (negative) cost stays as drawn.
            cost_by_year = np.where(cost[:, None] > 0, cost[:, None] * learning[None, :], cost[:, None])
            potential_tco2e = share[:, None] * baseline * ramp[None, :]
            if option.gas == "PFC":
                for gas in ("CF4", "C2F6"):
                    gas_share = gases[gas] * AR5[gas] / (gases["CF4"] * AR5["CF4"] + gases["C2F6"] * AR5["C2F6"])
                    potential = np.minimum(potential_tco2e * gas_share / AR5[gas], PFC_ABATABLE_SHARE * gases[gas])
                    option_frames.append(_option_frame(ids, option.name, gas, potential, cost_by_year * AR5[gas]))
            else:
                option_frames.append(_option_frame(ids, option.name, option.gas, potential_tco2e, cost_by_year))

    emissions = pd.concat(emission_rows, ignore_index=True)[["firm_id", "year", "gas", "baseline_t"]]
    options = pd.concat(option_frames, ignore_index=True)
    options = options[options["potential_t"] > 0]
    return Dataset(
        firms=pd.concat(firm_rows, ignore_index=True),
        emissions=emissions.sort_values(["firm_id", "year", "gas"], kind="stable").reset_index(drop=True),
        options=options.sort_values(["firm_id", "option", "gas", "year"], kind="stable").reset_index(drop=True),
        activity=pd.concat(activity_rows, ignore_index=True).sort_values(["firm_id", "year"]).reset_index(drop=True),
    )


def _long(ids: list[str], table: np.ndarray, name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "firm_id": np.repeat(ids, len(YEARS)),
            "year": np.tile(np.array(YEARS, dtype=np.int64), len(ids)),
            name: np.round(table.ravel(), 3),
        }
    )


def _option_frame(ids: list[str], option: str, gas: str, potential: np.ndarray, cost: np.ndarray) -> pd.DataFrame:
    frame = _long(ids, potential, "potential_t")
    frame["cost_per_t"] = np.round(cost.ravel(), 2)
    frame["option"] = option
    frame["gas"] = gas
    return frame[["firm_id", "option", "gas", "potential_t", "cost_per_t", "year"]]


BENCHMARK_STRINGENCY = {"power": (0.027, 0.032), "steel": (0.0, 0.005), "cement": (0.0, 0.005), "aluminium": (0.0, 0.005)}
"""How far the 2025 and 2026 benchmarks sit below the sector's mean intensity. Power: the 2024
coal benchmark 0.7822 against a mean of 0.80, tightened 0.5 %/yr (D); the new sectors: near the
sector average (F/A)."""
FIRST_CAP_YEAR = 2027
STRINGENCY_STEP = 0.005
"""The 2027 cap continues the benchmark path: 2026 stringency plus 0.5 % (A)."""


def expansion_policy(dataset: Dataset, decline: float = 0.02) -> dict[str, dict[str, dict[str, float]]]:
    """Benchmarks for 2025-2026 and absolute caps from 2027 declining by ``decline`` a year.

    Returns {sector: {"benchmark": {year: tCO2e/unit}, "cap_tco2e": {year: tCO2e}}}.
    """
    baselines = dataset.sector_baselines()
    intensities = dataset.sector_intensities()
    policy = {}
    for spec in SECTORS:
        first, second = BENCHMARK_STRINGENCY[spec.name]
        mean = float(intensities[spec.name])
        benchmark = {str(YEARS[0]): round(mean * (1 - first), 4), str(YEARS[1]): round(mean * (1 - second), 4)}
        first_cap = float(baselines.loc[spec.name, FIRST_CAP_YEAR]) * (1 - second - STRINGENCY_STEP)
        caps = {
            str(year): float(round(first_cap * (1 - decline) ** (year - FIRST_CAP_YEAR), -3))
            for year in YEARS
            if year >= FIRST_CAP_YEAR
        }
        policy[spec.name] = {"benchmark": benchmark, "cap_tco2e": caps}
    return policy


def policy_toml(policy: dict) -> str:
    """The [sectors.*] tables of a scenario file."""
    lines = []
    for sector, tables in policy.items():
        lines.append(f"[sectors.{sector}]")
        for key, values in tables.items():
            body = ", ".join(f"{year} = {value:.6g}" if key == "benchmark" else f"{year} = {value:.4e}" for year, value in values.items())
            lines.append(f"{key} = {{ {body} }}")
        lines.append("")
    return "\n".join(lines)


DEFAULT_FOLDER = Path(__file__).parent / "default"
"""The shipped default tables (3,700 firms, seed 2025)."""
DEFAULT_FIRMS = 3700
DEFAULT_SEED = 2025


def write_instance(
    folder: str | Path, firms: int = DEFAULT_FIRMS, seed: int = DEFAULT_SEED, decline: float = 0.02, plan: FolderPlan | None = None
) -> Path:
    """Write an instance's tables and a ready-to-run scenario (expansion.toml's policy with caps
    for this instance) into ``folder``; return the scenario path. The folder is new or replaces
    an earlier generated one, and only once complete (``outputs.write_folder``)."""
    from optimodel.results.outputs import FolderKind, plan_folder, write_folder

    plan = plan or plan_folder(folder, FolderKind.dataset)
    dataset = generate(firms=firms, seed=seed)
    name = f"generated-{firms}-{seed}"

    def fill(staging: Path) -> None:
        dataset.write(staging)
        header = (
            f"# A generated instance: {len(dataset.firms)} firms, seed {seed}, caps declining "
            f"{decline:.0%}/yr from {FIRST_CAP_YEAR}.\n"
            f"# Made by `optimodel data generate --firms {firms} --seed {seed}`; see docs/calibration.md.\n"
            f'name = "{name}"\n'
            f"years = [{', '.join(str(year) for year in YEARS)}]\n"
            'gwp = "AR5"\ndiscount_rate = 0.05\n\n[data]\n'
            'firms = "firms.parquet"\nemissions = "emissions.parquet"\noptions = "options.parquet"\n'
            'activity = "activity.parquet"\n\n'
        )
        market = (
            '[markets.national]\nsectors = ["power", "steel", "cement", "aluminium"]\nbanking = true\n'
            "offset_limit = 0.05\n\n"
        )
        scale = len(dataset.firms) / DEFAULT_FIRMS
        offsets = "".join(
            f"[[offsets]]\nquantity_tco2e = {quantity * scale:.6g}\nprice = {price}\n\n"
            for quantity, price in ((1.0e7, 65.0), (2.0e7, 85.0), (4.0e7, 120.0))
        )
        (staging / "scenario.toml").write_text(header + policy_toml(expansion_policy(dataset, decline)) + "\n" + market + offsets)

    write_folder(plan, name, fill)
    return Path(folder) / "scenario.toml"
