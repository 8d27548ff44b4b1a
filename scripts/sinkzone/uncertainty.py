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
    "region_level", "region_code", "region_name", "ecosystem", "measure_id",
    "allocated_area_ha", *POTENTIAL_COLS,
]
OUT_COLUMNS = [
    *REGION_KEYS, "p5_tco2_yr", "p50_tco2_yr", "p95_tco2_yr", "mean_tco2_yr", "draws", "seed",
    "central_tco2_yr", "distribution",
]
CHUNK = 256  # regions per matrix product (bounds memory at draws x CHUNK floats)


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
    text = {c: str for c in ("region_level", "region_code", "region_name", "name_en", "name_zh",
                             "ecosystem", "measure_id", "zones_source") if c in head.columns}
    df = pd.read_csv(path, dtype=text, keep_default_na=False, na_values={
        c: [""] for c in head.columns if c not in text})
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
            raise ConfigError(f"{catalog_path}:{r['id']}", "rate_low/central/high missing",
                              "fill the three rates of every mapped measure")
        if not lo <= c <= hi:
            raise ConfigError(f"{catalog_path}:{r['id']}",
                              f"rates not ordered (low {lo}, central {c}, high {hi})",
                              "make rate_low <= rate_central <= rate_high")


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
        raise InputError("potential_by_region.csv", f"measures not in the catalog: {unknown}",
                         "rerun aggregate_regions with the current catalog")
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
    return table[REGION_KEYS].drop_duplicates(["region_level", "region_code"]).reset_index(
        drop=True)


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
        raise InputError("potential_by_region.csv", "measure not in the catalog",
                         "rerun aggregate_regions")
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
    raise ConfigError("uncertainty.distribution", f"unknown distribution {dist!r}",
                      f"use one of {list(DISTRIBUTIONS)}")


def measure_distributions(
    measures: list[str], distribution: str, per_measure: Mapping[str, str] | None
) -> list[str]:
    """Distribution name per measure: the default, overridden by ``per_measure``."""
    per_measure = dict(per_measure or {})
    for key, val in [("uncertainty.distribution", distribution),
                     *((f"uncertainty.per_measure.{m}", d) for m, d in per_measure.items())]:
        if val not in DISTRIBUTIONS:
            raise ConfigError(key, f"unknown distribution {val!r}",
                              f"use one of {list(DISTRIBUTIONS)}")
    unknown = sorted(set(per_measure) - set(measures))
    if unknown:
        raise ConfigError("uncertainty.per_measure", f"measures not in the catalog: {unknown}",
                          "use ids of config/technologies.csv")
    return [per_measure.get(m, distribution) for m in measures]


def sample_rates(
    rates: pd.DataFrame,
    draws: int,
    seed: int,
    distribution: str = "triangular",
    per_measure: Mapping[str, str] | None = None,
    used: set[str] | None = None,
) -> np.ndarray:
    """Rate draws, shape ``(draws, measures)`` in catalog order (catalog units).

    Measures outside ``used`` (not in the table) get zeros (their rates may be blank).
    """
    if int(draws) < 1:
        raise ConfigError("uncertainty.draws", f"{draws} draws", "use at least 1 (e.g. 10000)")
    measures = list(rates["id"])
    dists = measure_distributions(measures, distribution, per_measure)
    used = set(measures) if used is None else set(used)
    check_rates(rates, used)
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    u = rng.random((int(draws), len(measures)))
    out = np.zeros_like(u)
    for j, (m, d) in enumerate(zip(measures, dists, strict=True)):
        if m not in used:
            continue
        r = rates.iloc[j]
        out[:, j] = _ppf(d, u[:, j], float(r["rate_low"]), float(r["rate_central"]),
                         float(r["rate_high"]))
    return out


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


# ---------------------------------------------------------------------------- table


def uncertainty_table(
    table: pd.DataFrame,
    rates: pd.DataFrame,
    *,
    draws: int,
    seed: int,
    distribution: str = "triangular",
    per_measure: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """P5/P50/P95/mean of the allocated potential (t CO2/yr) per region, all region levels."""
    measures = list(rates["id"])
    used = set(table.loc[table["allocated_area_ha"] > 0, "measure_id"]) | set(
        table.loc[(table[POTENTIAL_COLS] != 0).any(axis=1), "measure_id"])
    r = sample_rates(rates, draws, seed, distribution, per_measure, used=used)
    k = row_coefficients(table, rates)
    regions, kmat = coefficient_matrix(table, k, measures)
    stats = mc_stats(r, kmat)
    out = regions.copy()
    for i, c in enumerate(["p5_tco2_yr", "p50_tco2_yr", "p95_tco2_yr", "mean_tco2_yr"]):
        out[c] = stats[i]
    out["draws"] = int(draws)
    out["seed"] = int(seed)
    central = table.groupby(["region_level", "region_code"], sort=False)[
        "potential_central_tco2_yr"].sum()
    out["central_tco2_yr"] = pd.MultiIndex.from_frame(
        out[["region_level", "region_code"]]).map(central).to_numpy(float)
    out["distribution"] = distribution + ("+per_measure" if per_measure else "")
    log.info("Monte Carlo: %d draws, seed %d, %d measures, %d regions", draws, seed,
             len(used), len(regions))
    return out[OUT_COLUMNS]
