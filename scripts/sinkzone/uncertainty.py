"""Monte Carlo uncertainty of the allocated potential, from the per-region area tables.

Nothing here touches cells: the allocated potential of a region table row is linear in the rate
of its measure (``allocated_ha x rate x rate_factor x stack_factor ** stack_pos`` summed over
stack positions), so each row has a coefficient ``k`` (effective hectares) with
``potential = k x rate``. One rate is drawn per measure and draw, shared by every row and region
of that measure (regions are fully correlated through the measure rates; measures are
independent of each other), and the regional potentials of all draws are one matrix product
``(draws x measures) @ (measures x regions)``.

Distributions (per measure, on the catalog's ``rate_low`` / ``rate_central`` / ``rate_high``):

* ``triangular``: mode = central, support [low, high] (default);
* ``uniform``: [low, high] (central ignored);
* ``pert``: Beta-PERT with mode central and shape lambda = 4 (Malcolm et al. 1959 Oper Res
  7(5):646-669; Vose 2008 Risk Analysis, 3rd ed., ch. 9).

All draws come from one uniform matrix of ``numpy.random.Generator(PCG64(seed))`` mapped by the
inverse CDF of each measure's distribution, so changing the distribution of one measure leaves
the draws of the others unchanged, and the same seed gives byte-identical tables.

Shared factors, area and adoption (``config/uncertainty_groups.csv``, ``config/
area_uncertainty.csv``; both optional, absent = the independent rate draws above):

* **correlated rates**: measures whose rates rest on one factor table or synthesis (e.g. the
  IPCC 2006 grassland stock-change factors) form a ``factor_group`` with correlation ``rho``.
  A Gaussian copula couples them: ``u_m = Phi(sqrt(rho) z_g + sqrt(1 - rho) Phi^-1(u_m))``
  with one standard normal ``z_g`` per group and draw (rho = 1: every measure of the group
  takes the same quantile of its own range). The marginal of each measure is unchanged.
* **adoption**: per measure a uniform share of the allocated area actually implemented,
  ``[adoption_low, adoption_high]`` (1, 1 = full adoption, the mapped potential).
* **area**: per land ecosystem (the ``ecosystem`` column of the region table) a uniform factor
  ``[factor_low, factor_high]`` on the mapped area (land-cover class definitions and map
  accuracy), one draw per ecosystem shared by all its measures and regions.

The potential of a draw is ``sum_rows k x rate_m x adoption_m x area_e``: the draw matrix has
one column per (measure, ecosystem) pair and the regional potentials are one matrix product.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.aggregate import POTENTIAL_COLS, read_catalog
from sinkzone.errors import ConfigError, InputError

log = logging.getLogger(__name__)

DISTRIBUTIONS = ("triangular", "uniform", "pert")
PERT_LAMBDA = 4.0
PERCENTILES = (5.0, 50.0, 95.0)
REGION_KEYS = ["region_level", "region_code", "region_name"]
TABLE_COLUMNS = [
    "region_level",
    "region_code",
    "region_name",
    "ecosystem",
    "measure_id",
    "allocated_area_ha",
    *POTENTIAL_COLS,
]
OUT_COLUMNS = [
    *REGION_KEYS,
    "p5_tco2_yr",
    "p50_tco2_yr",
    "p95_tco2_yr",
    "mean_tco2_yr",
    "draws",
    "seed",
    "central_tco2_yr",
    "distribution",
]
CHUNK = 256  # regions per matrix product (bounds memory at draws x CHUNK floats)
GROUP_COLUMNS = ["measure_id", "factor_group", "rho", "adoption_low", "adoption_high", "source"]
AREA_COLUMNS = ["ecosystem", "factor_low", "factor_high", "source"]


# ---------------------------------------------------------------------------- inputs


def read_potential_table(path: str | Path) -> pd.DataFrame:
    """Read ``potential_by_region.csv`` (codes and names as text, potentials as floats)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", "run aggregate_regions first")
    head = pd.read_csv(path, nrows=0)
    missing = [c for c in TABLE_COLUMNS if c not in head.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}", "rerun aggregate_regions")
    text = {
        c: str
        for c in (
            "region_level",
            "region_code",
            "region_name",
            "name_en",
            "name_zh",
            "ecosystem",
            "measure_id",
            "zones_source",
        )
        if c in head.columns
    }
    df = pd.read_csv(
        path,
        dtype=text,
        keep_default_na=False,
        na_values={c: [""] for c in head.columns if c not in text},
    )
    for c in ["allocated_area_ha", "eligible_area_ha", *POTENTIAL_COLS]:
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce").fillna(0.0).astype(float)
    bad = sorted(set(df["region_level"]) - {"nation", "province", "county", "zone"})
    if bad:
        raise InputError(path, f"unknown region_level values {bad}", "rerun aggregate_regions")
    return df


def read_rates(catalog_path: str | Path) -> pd.DataFrame:
    """Catalog rows (catalog order) with numeric ``rate_low/central/high`` (catalog units)."""
    cat = read_catalog(catalog_path)
    return cat.reset_index(drop=True)


def check_rates(rates: pd.DataFrame, used: set[str], catalog_path: str | Path = "catalog") -> None:
    """Rates of every measure in ``used`` are numbers with low <= central <= high."""
    for _, r in rates[rates["id"].isin(used)].iterrows():
        lo, c, hi = r["rate_low"], r["rate_central"], r["rate_high"]
        if any(pd.isna(v) for v in (lo, c, hi)):
            raise ConfigError(
                f"{catalog_path}:{r['id']}",
                "rate_low/central/high missing",
                "fill the three rates of every mapped measure",
            )
        if not lo <= c <= hi:
            raise ConfigError(
                f"{catalog_path}:{r['id']}",
                f"rates not ordered (low {lo}, central {c}, high {hi})",
                "make rate_low <= rate_central <= rate_high",
            )


# ---------------------------------------------------------------------------- coefficients


def row_coefficients(table: pd.DataFrame, rates: pd.DataFrame) -> np.ndarray:
    """Per-row coefficient ``k`` with ``potential = k x rate`` (rate in catalog units).

    ``k = potential_central / rate_central``; where the central rate is 0, the slope between
    the low and high points ``(p_high - p_low) / (rate_high - rate_low)``; 0 when all rates are
    equal and zero. A table whose low/high potentials disagree with the catalog rates (stale
    table) is an error.
    """
    r = rates.set_index("id")[["rate_low", "rate_central", "rate_high"]]
    unknown = sorted(set(table["measure_id"]) - set(r.index))
    if unknown:
        raise InputError(
            "potential_by_region.csv",
            f"measures not in the catalog: {unknown}",
            "rerun aggregate_regions with the current catalog",
        )
    rl, rc, rh = (table["measure_id"].map(r[c]).to_numpy(float) for c in r.columns)
    pl, pc, ph = (table[c].to_numpy(float) for c in POTENTIAL_COLS)
    k = np.zeros(len(table))
    use_c = rc != 0
    k[use_c] = pc[use_c] / rc[use_c]
    span = ~use_c & (rh != rl)
    k[span] = (ph[span] - pl[span]) / (rh[span] - rl[span])
    # consistency with the low and high columns (3-decimal rounding of the table allowed)
    for p, rate, name in ((pl, rl, "low"), (ph, rh, "high")):
        err = np.abs(k * rate - p)
        tol = 0.05 + 1e-4 * np.abs(p)
        bad = np.flatnonzero(err > tol)
        if bad.size:
            i = int(bad[0])
            raise InputError(
                "potential_by_region.csv",
                f"potential_{name} of {table['measure_id'].iat[i]} in "
                f"{table['region_code'].iat[i]} ({p[i]:.3f}) is not k x rate_{name} "
                f"({k[i] * rate[i]:.3f}): the table is older than the catalog",
                "rerun aggregate_regions",
            )
    return k


def region_index(table: pd.DataFrame) -> pd.DataFrame:
    """Distinct regions in table order (the table is sorted by level and code)."""
    return (
        table[REGION_KEYS].drop_duplicates(["region_level", "region_code"]).reset_index(drop=True)
    )


def coefficient_matrix(
    table: pd.DataFrame, k: np.ndarray, measures: list[str], weights: np.ndarray | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """``(regions, K)`` with ``K[m, r]`` = summed row coefficients of measure m in region r.

    ``weights`` (optional, per row) multiplies the coefficients (e.g. a time-path share).
    """
    regions = region_index(table)
    ridx = pd.MultiIndex.from_frame(regions[["region_level", "region_code"]])
    rpos = ridx.get_indexer(pd.MultiIndex.from_frame(table[["region_level", "region_code"]]))
    mpos = pd.Index(measures).get_indexer(table["measure_id"])
    if (mpos < 0).any():
        raise InputError(
            "potential_by_region.csv", "measure not in the catalog", "rerun aggregate_regions"
        )
    kmat = np.zeros((len(measures), len(regions)))
    w = k if weights is None else k * weights
    np.add.at(kmat, (mpos, rpos), w)
    return regions, kmat


# ---------------------------------------------------------------------------- sampling


def _ppf(dist: str, u: np.ndarray, lo: float, c: float, hi: float) -> np.ndarray:
    """Inverse CDF of a distribution on [lo, hi] with mode c, at uniforms u."""
    if hi == lo:
        return np.full_like(u, c)
    w = hi - lo
    if dist == "uniform":
        return lo + u * w
    if dist == "triangular":
        fc = (c - lo) / w
        left = lo + np.sqrt(u * w * (c - lo))
        right = hi - np.sqrt((1.0 - u) * w * (hi - c))
        return np.where(u < fc, left, right)
    if dist == "pert":
        from scipy.stats import beta

        a = 1.0 + PERT_LAMBDA * (c - lo) / w
        b = 1.0 + PERT_LAMBDA * (hi - c) / w
        return lo + beta.ppf(u, a, b) * w
    raise ConfigError(
        "uncertainty.distribution",
        f"unknown distribution {dist!r}",
        f"use one of {list(DISTRIBUTIONS)}",
    )


def measure_distributions(
    measures: list[str], distribution: str, per_measure: Mapping[str, str] | None
) -> list[str]:
    """Distribution name per measure: the default, overridden by ``per_measure``."""
    per_measure = dict(per_measure or {})
    for key, val in [
        ("uncertainty.distribution", distribution),
        *((f"uncertainty.per_measure.{m}", d) for m, d in per_measure.items()),
    ]:
        if val not in DISTRIBUTIONS:
            raise ConfigError(
                key, f"unknown distribution {val!r}", f"use one of {list(DISTRIBUTIONS)}"
            )
    unknown = sorted(set(per_measure) - set(measures))
    if unknown:
        raise ConfigError(
            "uncertainty.per_measure",
            f"measures not in the catalog: {unknown}",
            "use ids of config/technologies.csv",
        )
    return [per_measure.get(m, distribution) for m in measures]


def sample_rates(
    rates: pd.DataFrame,
    draws: int,
    seed: int,
    distribution: str = "triangular",
    per_measure: Mapping[str, str] | None = None,
    used: set[str] | None = None,
) -> np.ndarray:
    """Rate draws, shape ``(draws, measures)`` in catalog order (catalog units): the rate
    part of `sample_factors` with independent draws (no shared factors, adoption or area).

    Measures outside ``used`` (not in the table) get zeros (their rates may be blank).
    """
    return sample_factors(rates, draws, seed, distribution, per_measure, used)[0]


def percentiles(values: np.ndarray) -> np.ndarray:
    """P5, P50, P95 and the mean along axis 0: shape (4, ...)."""
    q = np.percentile(values, PERCENTILES, axis=0, method="linear")
    return np.concatenate([q, values.mean(axis=0, keepdims=True)], axis=0)


def mc_stats(draws_mat: np.ndarray, kmat: np.ndarray) -> np.ndarray:
    """(4, regions): P5, P50, P95, mean of ``draws_mat @ kmat``, in chunks of regions."""
    out = np.zeros((4, kmat.shape[1]))
    for s in range(0, kmat.shape[1], CHUNK):
        block = draws_mat @ kmat[:, s : s + CHUNK]
        out[:, s : s + CHUNK] = percentiles(block)
    return out


# ---------------------------------------------------------------------------- shared factors


def read_groups(path: str | Path | None, measures: list[str]) -> pd.DataFrame:
    """``config/uncertainty_groups.csv`` indexed by measure (empty frame when path is None)."""
    if path is None:
        return pd.DataFrame(columns=GROUP_COLUMNS).set_index("measure_id")
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "file not found", "create it or set uncertainty.groups: null")
    df = pd.read_csv(
        path, dtype={"measure_id": str, "factor_group": str, "source": str}, keep_default_na=False
    )
    missing = [c for c in GROUP_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"use columns {GROUP_COLUMNS}")
    unknown = sorted(set(df["measure_id"]) - set(measures))
    if unknown or df["measure_id"].duplicated().any():
        raise ConfigError(
            path,
            f"unknown or duplicate measure ids {unknown}",
            "one row per measure id of config/technologies.csv",
        )
    for c in ("rho", "adoption_low", "adoption_high"):
        df[c] = pd.to_numeric(df[c].replace("", np.nan), errors="coerce")
    df["rho"] = df["rho"].fillna(0.0)
    df[["adoption_low", "adoption_high"]] = df[["adoption_low", "adoption_high"]].fillna(1.0)
    bad = df[
        ~df["rho"].between(0, 1)
        | ~df["adoption_low"].between(0, 1)
        | ~df["adoption_high"].between(0, 1)
        | (df["adoption_low"] > df["adoption_high"])
    ]
    if len(bad):
        raise ConfigError(
            f"{path}:{bad['measure_id'].iat[0]}",
            "rho or adoption out of [0, 1]",
            "use 0 <= rho <= 1 and 0 <= adoption_low <= adoption_high <= 1",
        )
    if (df["source"].str.strip() == "").any():
        raise ConfigError(f"{path}:source", "a row without source", "cite or mark ASSUMPTION")
    return df.set_index("measure_id")


def read_area_factors(path: str | Path | None) -> pd.DataFrame:
    """``config/area_uncertainty.csv`` indexed by ecosystem (empty frame when path is None)."""
    if path is None:
        return pd.DataFrame(columns=AREA_COLUMNS).set_index("ecosystem")
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "file not found", "create it or set uncertainty.area: null")
    df = pd.read_csv(path, dtype={"ecosystem": str, "source": str}, keep_default_na=False)
    missing = [c for c in AREA_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"use columns {AREA_COLUMNS}")
    for c in ("factor_low", "factor_high"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    bad = df[
        df[["factor_low", "factor_high"]].isna().any(axis=1)
        | (df["factor_low"] <= 0)
        | (df["factor_low"] > df["factor_high"])
        | df["ecosystem"].duplicated()
    ]
    if len(bad):
        raise ConfigError(
            f"{path}:{bad['ecosystem'].iat[0]}",
            "bad or duplicate factor row",
            "use 0 < factor_low <= factor_high, one row per ecosystem",
        )
    if (df["source"].str.strip() == "").any():
        raise ConfigError(f"{path}:source", "a row without source", "cite or mark ESTIMATE")
    return df.set_index("ecosystem")


def correlate_uniforms(
    u: np.ndarray, measures: list[str], groups: pd.DataFrame, rng: np.random.Generator
) -> np.ndarray:
    """Couple the uniform columns of measures of one factor group (Gaussian copula)."""
    from scipy.stats import norm

    if groups.empty:
        return u
    out = u.copy()
    names = sorted(g for g in set(groups["factor_group"]) if g)
    zg = rng.standard_normal((u.shape[0], len(names)))
    for j, m in enumerate(measures):
        if m not in groups.index or not groups.at[m, "factor_group"]:
            continue
        rho = float(groups.at[m, "rho"])
        g = names.index(groups.at[m, "factor_group"])
        eps = norm.ppf(np.clip(u[:, j], 1e-12, 1 - 1e-12))
        out[:, j] = norm.cdf(np.sqrt(rho) * zg[:, g] + np.sqrt(1.0 - rho) * eps)
    return out


def sample_factors(
    rates: pd.DataFrame,
    draws: int,
    seed: int,
    distribution: str = "triangular",
    per_measure: Mapping[str, str] | None = None,
    used: set[str] | None = None,
    groups: pd.DataFrame | None = None,
    area: pd.DataFrame | None = None,
    ecosystems: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rates, adoption, area)`` draws: (draws x measures), (draws x measures),
    (draws x ecosystems) in catalog / ``ecosystems`` order.

    Without groups and area tables the rate draws are independent (`sample_rates`); the
    extra uniforms come after the rate uniforms of the same generator.
    """
    if int(draws) < 1:
        raise ConfigError("uncertainty.draws", f"{draws} draws", "use at least 1 (e.g. 10000)")
    measures = list(rates["id"])
    dists = measure_distributions(measures, distribution, per_measure)
    used = set(measures) if used is None else set(used)
    check_rates(rates, used)
    groups = groups if groups is not None else read_groups(None, measures)
    area = area if area is not None else read_area_factors(None)
    ecosystems = list(ecosystems or [])
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    u = rng.random((int(draws), len(measures)))
    u = correlate_uniforms(u, measures, groups, rng)
    out = np.zeros_like(u)
    for j, (m, d) in enumerate(zip(measures, dists, strict=True)):
        if m not in used:
            continue
        r = rates.iloc[j]
        out[:, j] = _ppf(
            d, u[:, j], float(r["rate_low"]), float(r["rate_central"]), float(r["rate_high"])
        )
    adopt = np.ones_like(u)
    if not groups.empty:
        ua = rng.random(u.shape)
        for j, m in enumerate(measures):
            if m in groups.index:
                lo, hi = float(groups.at[m, "adoption_low"]), float(groups.at[m, "adoption_high"])
                adopt[:, j] = lo + ua[:, j] * (hi - lo)
    afac = np.ones((int(draws), len(ecosystems)))
    if not area.empty and ecosystems:
        ue = rng.random(afac.shape)
        for j, e in enumerate(ecosystems):
            if e in area.index:
                lo, hi = float(area.at[e, "factor_low"]), float(area.at[e, "factor_high"])
                afac[:, j] = lo + ue[:, j] * (hi - lo)
    return out, adopt, afac


def pair_draws(
    table: pd.DataFrame,
    measures: list[str],
    ecosystems: list[str],
    rate_d: np.ndarray,
    adopt_d: np.ndarray,
    area_d: np.ndarray,
):
    """Draw matrix per (measure, ecosystem) pair and the pair key of every table row."""
    eco = (
        table["ecosystem"].astype(str)
        if "ecosystem" in table.columns
        else pd.Series([""] * len(table), index=table.index)
    )
    key = table["measure_id"].astype(str) + "|" + eco.to_numpy()
    pairs = list(dict.fromkeys(key))
    mpos = pd.Index(measures).get_indexer([p.split("|")[0] for p in pairs])
    epos = pd.Index(ecosystems).get_indexer([p.split("|", 1)[1] for p in pairs])
    mat = rate_d[:, mpos] * adopt_d[:, mpos]
    has = epos >= 0
    if has.any():
        mat[:, has] *= area_d[:, epos[has]]
    return pairs, key.to_numpy(), mat


# ---------------------------------------------------------------------------- table


def factor_draws(
    table, rates, draws, seed, distribution, per_measure, used, groups=None, area=None
):
    """``(pairs, key, D)``: the (measure, ecosystem) pairs of the table, the pair of every row
    and the draws of every pair (rate x adoption x area)."""
    measures = list(rates["id"])
    ecos = sorted(set(table["ecosystem"].astype(str))) if "ecosystem" in table.columns else []
    rate_d, adopt_d, area_d = sample_factors(
        rates, draws, seed, distribution, per_measure, used, groups, area, ecos
    )
    return pair_draws(table, measures, ecos, rate_d, adopt_d, area_d)


def factor_matrices(
    table,
    k,
    rates,
    draws,
    seed,
    distribution,
    per_measure,
    used,
    groups=None,
    area=None,
    weights=None,
    drawn=None,
):
    """``(regions, K, D)``: coefficients per (measure, ecosystem) pair and region, and the draws
    of every pair (rate x adoption x area), so the regional potentials are ``D @ K``.
    ``drawn``: the result of `factor_draws` for this table, to reuse one set of draws."""
    if drawn is None:
        drawn = factor_draws(
            table, rates, draws, seed, distribution, per_measure, used, groups, area
        )
    pairs, key, dmat = drawn
    keyed = table.assign(measure_id=key)
    regions, kmat = coefficient_matrix(keyed, k, pairs, weights=weights)
    return regions, kmat, dmat


def uncertainty_table(
    table: pd.DataFrame,
    rates: pd.DataFrame,
    *,
    draws: int,
    seed: int,
    distribution: str = "triangular",
    per_measure: Mapping[str, str] | None = None,
    groups: pd.DataFrame | None = None,
    area: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """P5/P50/P95/mean of the allocated potential (t CO2/yr) per region, all region levels."""
    used = set(table.loc[table["allocated_area_ha"] > 0, "measure_id"]) | set(
        table.loc[(table[POTENTIAL_COLS] != 0).any(axis=1), "measure_id"]
    )
    k = row_coefficients(table, rates)
    regions, kmat, dmat = factor_matrices(
        table, k, rates, draws, seed, distribution, per_measure, used, groups, area
    )
    stats = mc_stats(dmat, kmat)
    out = regions.copy()
    for i, c in enumerate(["p5_tco2_yr", "p50_tco2_yr", "p95_tco2_yr", "mean_tco2_yr"]):
        out[c] = stats[i]
    out["draws"] = int(draws)
    out["seed"] = int(seed)
    central = table.groupby(["region_level", "region_code"], sort=False)[
        "potential_central_tco2_yr"
    ].sum()
    out["central_tco2_yr"] = (
        pd.MultiIndex.from_frame(out[["region_level", "region_code"]]).map(central).to_numpy(float)
    )
    out["distribution"] = distribution + ("+per_measure" if per_measure else "")
    log.info(
        "Monte Carlo: %d draws, seed %d, %d measures, %d regions",
        draws,
        seed,
        len(used),
        len(regions),
    )
    return out[OUT_COLUMNS]
