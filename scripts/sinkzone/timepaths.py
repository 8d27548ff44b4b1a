"""Sequestration time paths: implementation schedules x per-measure saturation curves.

The region table gives each measure's allocated annual potential ``P`` (t CO2/yr), read as the
*mean* annual sequestration over the catalog's ``saturation_years`` ``T`` once the whole
allocated area is under the measure. A time path spreads ``P`` over calendar years:

* **schedule** (``config/schedule.csv``): the share ``s(y)`` of the allocated area under the
  measure by the end of year ``y``: a linear ramp from 0 before ``start_year`` to ``share`` in
  ``full_year`` (equal cohorts each year), then constant. A ``default`` row applies to every
  measure without its own row.
* **capacity** (``config/implementation_capacity.csv``, optional): a recorded national
  implementation rate (ha/yr, e.g. 3.60 Mha of afforestation in 2021) shared by a group of
  measures. The group's ramp is slowed to ``capacity / national allocated area of the group``
  per year when the schedule would be faster, so the national area implemented per year never
  exceeds the recorded capacity; every region follows the national pace (the capacity is
  distributed in proportion to allocated area).
* **curve** ``g(t)``: the annual sink of one hectare ``t`` years after it was brought under the
  measure (t = 0 is the implementation year), relative to the catalog rate. Curves are
  normalised so that ``sum(g[0:T]) = T``: the cumulative gain of a hectare after ``T`` years is
  ``rate x T`` whatever the shape, and the stock plateaus from year ``T`` on.

Curve types (``CURVES``; the default per measure comes from ``default_curve``; a ``curve``
column in the schedule overrides it):

* ``saturating``: soil carbon (cropland and grassland measures; default): a sigmoidal approach
  to the new equilibrium, the stock ``S(t) = (1 - exp(-k t)) ** 3`` with ``S(T) = 0.95``
  (annual increments scaled to the catalog mean rate over ``T``, none after ``T``). The
  annual gain peaks at ``0.27 T`` (5.4 yr for T = 20) and falls off towards saturation,
  as West TO, Post WM 2002 Soil Sci Soc Am J 66:1930-1946 report for soil carbon after a
  management change: "sequestration rates ... peak in 5 to 10 yr with SOC reaching a new
  equilibrium in 15 to 20 yr" (abstract, quoted from memory).
* ``declining``: **protection** measures (natural forest protection): the catalog rate is the
  *current* additional sink (reduced harvest and soil carbon, Lu F et al. 2018 PNAS 115:4039,
  measured over 2001-2010), which declines linearly to zero at ``T`` (ASSUMPTION: the added
  sink ends as protected stands approach maturity), ``g(t) = 1 - t / T``; protection no
  longer stays constant for a century.
* ``linear_plateau``: constant gain for ``T`` years, then none - the stock-change factor
  method of IPCC 2006 Guidelines Vol. 4 ch. 2, eq. 2.25 (linear change over the default period
  D = 20 yr), with the catalog's ``T`` instead of D (the previous default for soil carbon).
* ``chapman_richards``: forest biomass: the stock follows
  ``S(t) = (1 - exp(-k t)) ** p`` (Richards 1959 J Exp Bot 10:290-300; Pienaar & Turnbull 1973
  For Sci 19(1):2-22), ``p = 3`` (von Bertalanffy) and ``k`` such that ``S(T) = 0.95``
  (ASSUMPTION: the catalog's saturation year is read as 95 % of the asymptote); annual
  increments of ``S`` over ``[0, T]`` scaled to the catalog mean rate, none after ``T``.
* ``constant``: carbon burial in wetland and coastal sediments: constant for ``T`` years
  (IPCC 2013 Wetlands Supplement ch. 4: Tier 1 soil removal factors are applied at a constant
  annual rate while the wetland persists; the catalog's ``T`` bounds it). This is the stated
  reason why wetland conservation stays constant: sediment burial does not saturate while
  the wetland persists.
* ``flux``: annual-flux measures (shellfish and seaweed farming): constant every year while
  practised, no saturation (``T`` ignored).

Cohorts: the area implemented in year ``y`` (``s(y) - s(y-1)``) follows ``g`` from ``y``, so
the path share is the convolution ``h(Y) = sum_y (s(y) - s(y-1)) g(Y - y)`` and the annual sink
of a region and measure is ``P x h(Y)`` (for each of the low / central / high potentials).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.aggregate import POTENTIAL_COLS
from sinkzone.errors import ConfigError, InputError
from sinkzone.uncertainty import factor_draws, factor_matrices, mc_stats, row_coefficients

log = logging.getLogger(__name__)

CURVES = ("saturating", "declining", "linear_plateau", "chapman_richards", "constant", "flux")
CAPACITY_COLUMNS = ["capacity_group", "measure_ids", "capacity_ha_yr", "year", "source"]
CR_SHAPE = 3.0  # Chapman-Richards exponent p (von Bertalanffy weight growth)
CR_SATURATION = 0.95  # share of the asymptote reached at saturation_years (ASSUMPTION)
SCHEDULE_COLUMNS = ["measure_id", "start_year", "full_year", "share", "curve", "source"]
DEFAULT_ROW = "default"
TOTAL = "total"
PATH_COLUMNS = [
    "year",
    "region_level",
    "region_code",
    "measure_id",
    "annual_low_tco2",
    "annual_central_tco2",
    "annual_high_tco2",
    "cumulative_central_tco2",
    "implemented_area_ha",
]
HORIZON_COLUMNS = [
    "region_level",
    "region_code",
    "region_name",
    "horizon",
    "annual_central_tco2",
    "annual_p5_tco2",
    "annual_p50_tco2",
    "annual_p95_tco2",
    "cumulative_central_tco2",
    "cumulative_p5_tco2",
    "cumulative_p50_tco2",
    "cumulative_p95_tco2",
    "draws",
    "seed",
]


# ---------------------------------------------------------------------------- curves


def default_curve(ecosystem: str, group: str = "", tags: str = "") -> str:
    """Curve type of a catalog measure from its ecosystem and group (see module docstring)."""
    if group == "mariculture":
        return "flux"
    if ecosystem in ("wetland", "coastal"):
        return "constant"
    if ecosystem == "forest":
        return "declining" if group == "forest_protection" else "chapman_richards"
    return "saturating"


def curve(kind: str, saturation_years: int, n_years: int) -> np.ndarray:
    """Annual sink relative to the catalog rate, ages 0 .. n_years-1 (sum over [0, T) = T)."""
    if kind not in CURVES:
        raise ConfigError("schedule.csv:curve", f"unknown curve {kind!r}", f"use one of {CURVES}")
    n = int(n_years)
    t_sat = int(saturation_years)
    if kind == "flux":
        return np.ones(n)
    if t_sat < 1:
        raise ConfigError(
            "technologies.csv:saturation_years",
            f"{saturation_years}",
            "use a positive number of years",
        )
    g = np.zeros(max(n, t_sat))
    if kind in ("linear_plateau", "constant"):
        g[:t_sat] = 1.0
    elif kind == "declining":
        g[:t_sat] = 1.0 - np.arange(t_sat, dtype=float) / t_sat
    else:  # chapman_richards and saturating (same sigmoidal stock curve)
        k = -math.log(1.0 - CR_SATURATION ** (1.0 / CR_SHAPE)) / t_sat
        t = np.arange(t_sat + 1, dtype=float)
        stock = (1.0 - np.exp(-k * t)) ** CR_SHAPE
        g[:t_sat] = np.diff(stock) * t_sat / stock[-1]
    return g[:n]


# ---------------------------------------------------------------------------- schedule


def read_schedule(path: str | Path) -> pd.DataFrame:
    """Read and check ``config/schedule.csv`` (a ``default`` row is required)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "file not found", "create it (see config/schedule.csv)")
    from sinkzone.io import read_csv

    df = read_csv(
        path, None, dtype={"measure_id": str, "curve": str, "source": str}, keep_default_na=False
    )
    missing = [c for c in SCHEDULE_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"use columns {SCHEDULE_COLUMNS}")
    if df["measure_id"].duplicated().any():
        raise ConfigError(path, "duplicate measure_id rows", "one row per measure")
    if DEFAULT_ROW not in set(df["measure_id"]):
        raise ConfigError(path, f"no {DEFAULT_ROW!r} row", "add a default schedule row")
    for c in ("start_year", "full_year"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["share"] = pd.to_numeric(df["share"], errors="coerce")
    bad = df[
        df[["start_year", "full_year", "share"]].isna().any(axis=1)
        | (df["full_year"] < df["start_year"])
        | ~df["share"].between(0, 1)
    ]
    if len(bad):
        raise ConfigError(
            f"{path}:{bad['measure_id'].iat[0]}",
            "start_year/full_year/share missing or invalid",
            "use integer years with full_year >= start_year and 0 <= share <= 1",
        )
    bad_curve = sorted(set(df["curve"]) - set(CURVES) - {""})
    if bad_curve:
        raise ConfigError(
            f"{path}:curve", f"unknown curves {bad_curve}", f"leave blank or use one of {CURVES}"
        )
    if (df["source"].str.strip() == "").any():
        raise ConfigError(
            f"{path}:source",
            "a row without source/assumption",
            "state the source or flag the row as an ASSUMPTION",
        )
    df[["start_year", "full_year"]] = df[["start_year", "full_year"]].astype(int)
    return df


def implemented_share(
    years: np.ndarray, start: int, full: int, share: float, per_year: float | None = None
) -> np.ndarray:
    """Share of the allocated area implemented by the end of each year (linear cohorts).

    ``per_year`` (optional) is the share implemented per year; by default
    ``share / (full - start + 1)``.
    """
    if per_year is None:
        per_year = share / float(full - start + 1)
    return np.clip((years - start + 1) * per_year, 0.0, share)


def read_capacity(path: str | Path | None, measures: Sequence[str]) -> pd.DataFrame:
    """``config/implementation_capacity.csv``: one row per capacity group (empty if None)."""
    if path is None:
        return pd.DataFrame(columns=CAPACITY_COLUMNS)
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "file not found", "create it or set time.capacity: null")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in CAPACITY_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"use columns {CAPACITY_COLUMNS}")
    df["capacity_ha_yr"] = pd.to_numeric(df["capacity_ha_yr"], errors="coerce")
    seen: set[str] = set()
    for _, r in df.iterrows():
        ids = [m.strip() for m in r["measure_ids"].split(";") if m.strip()]
        bad = sorted(set(ids) - set(measures))
        if not ids or bad or seen & set(ids):
            raise ConfigError(
                f"{path}:{r['capacity_group']}",
                f"unknown, missing or repeated measure ids {bad or ids}",
                "list catalog ids separated by ';', each in one group only",
            )
        seen |= set(ids)
        if not r["capacity_ha_yr"] > 0:
            raise ConfigError(
                f"{path}:{r['capacity_group']}",
                "capacity_ha_yr not > 0",
                "give the recorded national area per year in ha",
            )
        if not r["source"].strip():
            raise ConfigError(
                f"{path}:{r['capacity_group']}",
                "no source",
                "cite the statistic the capacity comes from",
            )
    return df


def national_areas(table: pd.DataFrame) -> pd.Series:
    """National allocated area (ha) per measure from the region table."""
    nat = table[table["region_level"] == "nation"]
    return nat.groupby("measure_id")["allocated_area_ha"].sum()


def measure_specs(
    catalog: pd.DataFrame,
    schedule: pd.DataFrame,
    capacity: pd.DataFrame | None = None,
    national_area: pd.Series | None = None,
) -> pd.DataFrame:
    """Per catalog measure: start_year, full_year, share, per_year_share, curve,
    saturation_years, schedule_source, capacity_group, capacity_ha_yr, capacity_source.

    With ``capacity`` and ``national_area`` (ha per measure), a group's per-year share is
    ``min(schedule pace, capacity / group national area)`` and ``full_year`` the year the
    share is reached.
    """
    need = ["id", "ecosystem", "saturation_years"]
    missing = [c for c in need if c not in catalog.columns]
    if missing:
        raise ConfigError("technologies.csv", f"missing columns {missing}", "add them")
    unknown = sorted(set(schedule["measure_id"]) - set(catalog["id"]) - {DEFAULT_ROW})
    if unknown:
        raise ConfigError(
            "schedule.csv:measure_id",
            f"not in the catalog: {unknown}",
            "use ids of config/technologies.csv or 'default'",
        )
    sched = schedule.set_index("measure_id")
    rows = []
    for _, m in catalog.iterrows():
        s = sched.loc[m["id"]] if m["id"] in sched.index else sched.loc[DEFAULT_ROW]
        kind = s["curve"] or default_curve(
            str(m["ecosystem"]), str(m.get("group", "") or ""), str(m.get("tags", "") or "")
        )
        sat = pd.to_numeric(m["saturation_years"], errors="coerce")
        if kind != "flux" and (pd.isna(sat) or sat < 1):
            raise ConfigError(
                f"technologies.csv:{m['id']}",
                "saturation_years missing",
                "give a positive integer number of years",
            )
        start, full, share = int(s["start_year"]), int(s["full_year"]), float(s["share"])
        rows.append(
            {
                "measure_id": m["id"],
                "start_year": start,
                "full_year": full,
                "share": share,
                "per_year_share": share / float(full - start + 1),
                "curve": kind,
                "saturation_years": 0 if pd.isna(sat) else int(sat),
                "schedule_source": s["source"],
                "capacity_group": "",
                "capacity_ha_yr": np.nan,
                "capacity_source": "",
            }
        )
    out = pd.DataFrame(rows)
    if capacity is None or capacity.empty or national_area is None:
        return out
    for _, c in capacity.iterrows():
        ids = [m.strip() for m in c["measure_ids"].split(";") if m.strip()]
        sel = out["measure_id"].isin(ids)
        area = float(national_area.reindex(ids).fillna(0.0).sum())
        out.loc[sel, "capacity_group"] = c["capacity_group"]
        out.loc[sel, "capacity_ha_yr"] = float(c["capacity_ha_yr"])
        out.loc[sel, "capacity_source"] = c["source"]
        if area <= 0:
            continue
        cap_share = float(c["capacity_ha_yr"]) / area
        slow = sel & (out["per_year_share"] > cap_share)
        out.loc[slow, "per_year_share"] = cap_share
        out.loc[slow, "full_year"] = (
            out.loc[slow, "start_year"]
            + np.ceil(out.loc[slow, "share"] / cap_share - 1e-9).astype(int)
            - 1
        ).astype(int)
        if slow.any():
            log.info(
                "capacity %s: %.2f Mha/yr over %.2f Mha allocated -> full in %s",
                c["capacity_group"],
                c["capacity_ha_yr"] / 1e6,
                area / 1e6,
                sorted(set(out.loc[slow, "full_year"])),
            )
    return out


def path_shares(specs: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """``h[m](Y)``: annual sink in year Y as a share of the full annual potential.

    Rows: measures (``measure_id`` index); columns: the years. Cohorts implemented before the
    first year (schedules starting earlier) are included.
    """
    years = np.asarray(list(years), dtype=int)
    first = int(min(years.min(), specs["start_year"].min()))
    allyears = np.arange(first, int(years.max()) + 1)
    n = len(allyears)
    out = np.zeros((len(specs), len(years)))
    for i, sp in enumerate(specs.itertuples(index=False)):
        s = implemented_share(
            allyears, sp.start_year, sp.full_year, sp.share, getattr(sp, "per_year_share", None)
        )
        inc = np.diff(s, prepend=0.0)
        g = curve(sp.curve, sp.saturation_years, n)
        h = np.convolve(inc, g)[:n]
        out[i] = h[years - first]
    return pd.DataFrame(out, index=pd.Index(specs["measure_id"], name="measure_id"), columns=years)


# ---------------------------------------------------------------------------- tables


def implemented_shares(specs: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """``s[m](Y)``: share of the allocated area implemented by the end of year Y."""
    years = np.asarray(list(years), dtype=int)
    out = np.zeros((len(specs), len(years)))
    for i, sp in enumerate(specs.itertuples(index=False)):
        out[i] = implemented_share(
            years, sp.start_year, sp.full_year, sp.share, getattr(sp, "per_year_share", None)
        )
    return pd.DataFrame(out, index=pd.Index(specs["measure_id"], name="measure_id"), columns=years)


def sequestration_paths(
    table: pd.DataFrame,
    shares: pd.DataFrame,
    levels: Sequence[str],
    implemented: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Annual low/central/high and cumulative central sink per year, region and measure.

    Summed over ecosystems; a ``total`` row per region and year sums the measures. Rows with an
    all-zero potential are dropped; sorted by region level (table order), code, measure, year.
    The annual columns are the sink the allocated potential adds in that year (the region
    table's ``potential_*``, i.e. the additional sink when the catalog declares additionality);
    ``implemented_area_ha`` is the allocated area under the measure by the end of the year
    (``implemented`` shares; NaN without them).
    """
    sub = table[table["region_level"].isin(levels)]
    keys = ["region_level", "region_code", "measure_id"]
    g = sub.groupby(keys, sort=False)[POTENTIAL_COLS + ["allocated_area_ha"]].sum()
    g = g.reset_index()
    g = g[(g[POTENTIAL_COLS] != 0).any(axis=1)].reset_index(drop=True)
    years = np.asarray(shares.columns, dtype=int)
    h = shares.reindex(g["measure_id"]).to_numpy(float)  # (rows, years)
    frames = []
    for b in ("low", "central", "high"):
        frames.append(g[f"potential_{b}_tco2_yr"].to_numpy(float)[:, None] * h)
    low, cen, high = frames
    cum = np.cumsum(cen, axis=1)
    if implemented is not None:
        si = implemented.reindex(g["measure_id"]).to_numpy(float)[:, : len(years)]
        impl = g["allocated_area_ha"].to_numpy(float)[:, None] * si
    else:
        impl = np.full_like(cen, np.nan)
    n_y = len(years)
    out = pd.DataFrame(
        {
            "year": np.tile(years, len(g)),
            "region_level": np.repeat(g["region_level"].to_numpy(), n_y),
            "region_code": np.repeat(g["region_code"].to_numpy(), n_y),
            "measure_id": np.repeat(g["measure_id"].to_numpy(), n_y),
            "annual_low_tco2": low.ravel(),
            "annual_central_tco2": cen.ravel(),
            "annual_high_tco2": high.ravel(),
            "cumulative_central_tco2": cum.ravel(),
            "implemented_area_ha": impl.ravel(),
            "_pos": np.repeat(np.arange(len(g)), n_y),
        }
    )
    num = PATH_COLUMNS[4:]
    tot = out.groupby(["region_level", "region_code", "year"], sort=False)[num].sum(min_count=1)
    tot = tot.reset_index()
    tot["implemented_area_ha"] = np.nan  # measures overlap on the land: no total area
    tot["measure_id"] = TOTAL
    first_pos = out.groupby(["region_level", "region_code"], sort=False)["_pos"].min()
    tot["_pos"] = (
        pd.MultiIndex.from_frame(tot[["region_level", "region_code"]]).map(first_pos).to_numpy()
        - 0.5
    )  # the total row before the measures of its region
    out = pd.concat([tot, out], ignore_index=True)
    out = out.sort_values(["_pos", "year"], kind="mergesort").drop(columns="_pos")
    return out[PATH_COLUMNS].reset_index(drop=True)


def horizon_table(
    table: pd.DataFrame,
    rates: pd.DataFrame,
    shares: pd.DataFrame,
    horizons: Sequence[int],
    levels: Sequence[str],
    *,
    draws: int,
    seed: int,
    distribution: str = "triangular",
    per_measure: Mapping[str, str] | None = None,
    groups: pd.DataFrame | None = None,
    area: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Annual and cumulative sink at each horizon with Monte Carlo P5/P50/P95 per region.

    Uses the same draws as ``uncertainty.uncertainty_table`` (same seed, groups and area
    tables -> same rates, adoption and area factors).
    """
    sub = table[table["region_level"].isin(levels)].reset_index(drop=True)
    used = set(sub.loc[(sub[POTENTIAL_COLS] != 0).any(axis=1), "measure_id"])
    k = row_coefficients(sub, rates)
    drawn = factor_draws(sub, rates, draws, seed, distribution, per_measure, used, groups, area)
    years = np.asarray(shares.columns, dtype=int)
    cum_sh = shares.cumsum(axis=1)
    rows = []
    for hz in horizons:
        if hz not in years:
            raise ConfigError(
                "time.horizons",
                f"{hz} outside {years.min()}-{years.max()}",
                "use horizons >= time.start_year",
            )
        parts = {}
        for name, sh in (("annual", shares[hz]), ("cumulative", cum_sh[hz])):
            w = sub["measure_id"].map(sh).to_numpy(float)
            regions, kmat, dmat = factor_matrices(
                sub, k, rates, draws, seed, distribution, per_measure, used, weights=w, drawn=drawn
            )
            stats = mc_stats(dmat, kmat)
            central = sub["potential_central_tco2_yr"].to_numpy(float) * w
            cen = (
                sub.assign(_c=central)
                .groupby(["region_level", "region_code"], sort=False)["_c"]
                .sum()
            )
            parts[name] = (stats, cen)
        for i, reg in regions.iterrows():
            key = (reg["region_level"], reg["region_code"])
            a, ac = parts["annual"]
            c, cc = parts["cumulative"]
            rows.append(
                [
                    *reg.tolist(),
                    int(hz),
                    ac[key],
                    a[0, i],
                    a[1, i],
                    a[2, i],
                    cc[key],
                    c[0, i],
                    c[1, i],
                    c[2, i],
                    int(draws),
                    int(seed),
                ]
            )
    out = pd.DataFrame(rows, columns=HORIZON_COLUMNS)
    return out


def read_catalog_time(catalog_path: str | Path) -> pd.DataFrame:
    """Catalog with the columns the time paths need (id, ecosystem, group, tags, saturation)."""
    from sinkzone.aggregate import read_catalog

    cat = read_catalog(catalog_path)
    if "saturation_years" not in cat.columns:
        raise InputError(catalog_path, "no saturation_years column", "add it to the catalog")
    for c in ("group", "tags"):
        if c not in cat.columns:
            cat[c] = ""
        cat[c] = cat[c].fillna("").astype(str)
    return cat


# ---------------------------------------------------------------------------- figure
