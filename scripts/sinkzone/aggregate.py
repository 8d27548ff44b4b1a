"""Reduce the per-tile integer counts to regional areas and potentials.

Tiles write integer counts (``units = area_m2 * share_permille``, see docs/ARCHITECTURE.md,
"Counts"). This module sums them exactly (int64), groups them by region (nation, province,
county, zone) and converts to hectares and tonnes only after the integer sums, so the tables
are byte-identical whatever the tiling.

Two potentials are reported:

* allocated (``potential_*``): ``allocated_ha * rate * stack_factor ** stack_pos``; additive
  across measures (overlaps of different groups are discounted by the stack factor);
* technical (``technical_potential_*``): ``eligible_ha * rate``: what the measure alone could
  do on all land where it is eligible; NOT additive across measures (they compete for land).

``rate`` is the catalog's rate x ``additional_share`` (additionality, issue 11): both potentials
count only what adds to the current sink. The rest of the gross rate on the allocated land is
reported as ``existing_sink_*`` (e.g. the gross sink of protected natural forest, part of the
current sink). Both are the *mapped* potentials; ``realistic_*`` (``sinkzone.realistic``) limits
the mapped allocated potential by sourced caps.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.catalog import RATE_FACTORS
from sinkzone.errors import ConfigError, InputError
from sinkzone.io import write_csv
from sinkzone.potential import potential

log = logging.getLogger(__name__)

COUNT_KEYS = ["province", "county", "zones", "ecosystem", "measure_id", "stack_pos"]
COUNT_VALUES = ["eligible_units", "allocated_units"]
LC_KEYS = ["province", "county", "zones", "landcover", "ecosystem"]
LC_VALUES = ["area_m2"]

UNITS_PER_HA = 10**7  # units are 1e-3 m2 (area_m2 x permille); 1 ha = 1e4 m2
LEVELS = ["nation", "province", "county", "zone"]
BOUNDS = ["low", "central", "high"]
POTENTIAL_COLS = [f"potential_{b}_tco2_yr" for b in BOUNDS]
TECHNICAL_COLS = [f"technical_potential_{b}_tco2_yr" for b in BOUNDS]
EXISTING_COLS = [f"existing_sink_{b}_tco2_yr" for b in BOUNDS]
REALISTIC_COLS = ["realistic_area_ha"] + [f"realistic_potential_{b}_tco2_yr" for b in BOUNDS]
AREA_COLS = ["eligible_area_ha", "allocated_area_ha"]
REGION_COLUMNS = [
    "region_level",
    "region_code",
    "region_name",
    "name_en",
    "name_zh",
    "ecosystem",
    "measure_id",
    *AREA_COLS,
    *POTENTIAL_COLS,
    *TECHNICAL_COLS,
    "zones_source",
    *COUNT_VALUES,  # the exact integer sums behind the areas (1e-3 m2)
    *EXISTING_COLS,  # non-additional part of the gross rate on the allocated land
    *REALISTIC_COLS,  # mapped allocated potential limited by config caps (sinkzone.realistic)
]
# Fixed decimals (never %g): identical integer sums give identical text.
DECIMALS = {"_ha": 4, "_tco2_yr": 3, "_gtco2_yr": 6, "_share": 4, "_mha": 4}

# t CO2 per unit of the catalog's rate_unit (rates are per hectare and year): the catalog's
# own table, matched case-insensitively; a blank unit only for measures without rates.
RATE_UNITS = {k.lower(): v for k, v in RATE_FACTORS.items()} | {"": 1.0}
NATION_CODE = "100000"


# ---------------------------------------------------------------------------- reduce


def _reduce(paths: Iterable[str | Path], keys: list[str], values: list[str]) -> pd.DataFrame:
    """Sum integer tables over tiles: exact int64 sums, all-zero rows dropped, sorted keys."""
    frames = []
    str_keys = [k for k in keys if k == "measure_id"]
    dtypes = {c: "int64" for c in keys + values if c not in str_keys}
    dtypes.update({k: str for k in str_keys})
    for path in paths:
        path = Path(path)
        if path.stat().st_size == 0:  # an empty tile may write an empty file
            continue
        head = pd.read_csv(path, nrows=0)
        missing = [c for c in keys + values if c not in head.columns]
        if missing:
            raise InputError(
                path,
                f"missing columns {missing} (has {list(head.columns)})",
                "regenerate the tile (docs/ARCHITECTURE.md, 'Counts')",
            )
        try:
            df = pd.read_csv(path, usecols=keys + values, dtype=dtypes)
        except (ValueError, TypeError) as exc:
            raise InputError(
                path, f"non-integer or empty count values ({exc})", "regenerate the tile"
            ) from exc
        neg = [c for c in values if (df[c] < 0).any()]
        if neg:
            raise InputError(path, f"negative counts in {neg}", "regenerate the tile")
        frames.append(df)
    if not frames:
        out = pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in keys + values})
        return out
    df = pd.concat(frames, ignore_index=True)
    out = df.groupby(keys, sort=True, as_index=False, dropna=False)[values].sum()
    out = out[(out[values] != 0).any(axis=1)]
    for c in keys + values:
        out[c] = out[c].astype(dtypes[c])
    return out.sort_values(keys, kind="mergesort").reset_index(drop=True)


def reduce_counts(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Sum the per-tile ``counts.csv`` tables exactly (int64), sorted by all key columns."""
    return _reduce(paths, COUNT_KEYS, COUNT_VALUES)


def reduce_lc_counts(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Sum the per-tile ``lc_counts.csv`` tables exactly (int64), sorted by all key columns."""
    return _reduce(paths, LC_KEYS, LC_VALUES)


# ---------------------------------------------------------------------------- lookups


def read_regions(path: str | Path) -> pd.DataFrame:
    """Read ``regions.csv`` (level,code,parent_code,name_zh,name_en) with integer codes."""
    df = pd.read_csv(path, dtype={"level": str, "name_zh": str, "name_en": str})
    need = ["level", "code", "parent_code", "name_zh", "name_en"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}", "rerun prepare_vectors")
    df["code"] = pd.to_numeric(df["code"], errors="raise").astype("int64")
    df["parent_code"] = pd.to_numeric(df["parent_code"], errors="coerce").fillna(0).astype("int64")
    df[["name_zh", "name_en"]] = df[["name_zh", "name_en"]].fillna("")
    return df


def read_ecosystems(path: str | Path) -> pd.DataFrame:
    """Read ``config/ecosystems.csv`` (validated by `sinkzone.legend.load_ecosystems`)."""
    from sinkzone.legend import load_ecosystems

    return load_ecosystems(path)


def read_catalog(path: str | Path) -> pd.DataFrame:
    """Read ``config/technologies.csv``; adds ``rate_factor`` (t CO2 per unit of rate_unit)."""
    from sinkzone.io import read_csv

    df = read_csv(path, dtype={"id": str, "ecosystem": str, "name_en": str, "name_zh": str})
    need = ["id", "ecosystem", "name_zh", "name_en", "rate_low", "rate_central", "rate_high"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", "see docs/ARCHITECTURE.md, Catalog")
    if df["id"].duplicated().any():
        dup = sorted(df.loc[df["id"].duplicated(), "id"])
        raise ConfigError(path, f"duplicate measure ids {dup}", "give every measure a unique id")
    for c in ("rate_low", "rate_central", "rate_high"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    if "rate_unit" in df.columns:
        units = df["rate_unit"].fillna("t CO2/ha/yr").astype(str).str.strip().str.lower()
        bad = sorted(set(units) - set(RATE_UNITS))
        if bad:
            raise ConfigError(
                f"{path}:rate_unit",
                f"unknown rate units {bad}",
                f"use one of {sorted(RATE_UNITS)} (per hectare and year)",
            )
        df["rate_factor"] = units.map(RATE_UNITS).astype(float)
    else:
        df["rate_factor"] = 1.0
    if "rate_is_estimate" in df.columns:
        df["rate_is_estimate"] = (
            df["rate_is_estimate"].astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
        )
    else:
        df["rate_is_estimate"] = False
    share = (
        pd.to_numeric(df["additional_share"], errors="coerce")
        if "additional_share" in df.columns
        else pd.Series(np.nan, index=df.index)
    )
    if ((share < 0) | (share > 1)).any():
        bad = sorted(df.loc[(share < 0) | (share > 1), "id"])
        raise ConfigError(
            f"{path}:additional_share",
            f"outside 0-1 for {bad}",
            "write a share between 0 and 1 (empty = 1)",
        )
    df["additional_share"] = share.fillna(1.0).astype(float)
    for c in ("rate_low", "rate_central", "rate_high"):
        df[f"gross_{c}"] = df[c]
        df[c] = df[c] * df["additional_share"]
    df["order"] = np.arange(len(df))
    return df


# ---------------------------------------------------------------------------- regions


def _per_region(sub: pd.DataFrame, by: list[str], rates: pd.DataFrame, stack_factor: float):
    """Integer sums per (by + ecosystem, measure, stack_pos), then ha and t CO2/yr per group."""
    keys = by + ["ecosystem", "measure_id"]
    g = sub.groupby(keys + ["stack_pos"], sort=True, as_index=False)[COUNT_VALUES].sum()
    g = g.merge(rates, on="measure_id", how="left", validate="many_to_one")
    weight = np.power(float(stack_factor), g["stack_pos"].to_numpy(dtype=float))
    alloc_ha = g["allocated_units"].to_numpy(dtype=float) / UNITS_PER_HA
    for b in BOUNDS:
        fac = g["rate_factor"].to_numpy(dtype=float)
        rate = g[f"rate_{b}"].to_numpy(dtype=float) * fac
        g[f"potential_{b}_tco2_yr"] = potential(alloc_ha, rate, weight)
        gross = (
            g[f"gross_rate_{b}"].to_numpy(dtype=float) * fac
            if f"gross_rate_{b}" in g.columns
            else rate
        )
        g[f"existing_sink_{b}_tco2_yr"] = potential(alloc_ha, gross - rate, weight)
    # stack positions summed in sorted order (deterministic float sum)
    grouped = g.groupby(keys, sort=True)
    out = grouped[COUNT_VALUES].sum().join(grouped[POTENTIAL_COLS + EXISTING_COLS].sum(min_count=1))
    out = out.reset_index()
    out = out.merge(rates, on="measure_id", how="left", validate="many_to_one")
    out["eligible_area_ha"] = out["eligible_units"].to_numpy(dtype=float) / UNITS_PER_HA
    out["allocated_area_ha"] = out["allocated_units"].to_numpy(dtype=float) / UNITS_PER_HA
    for b in BOUNDS:
        out[f"technical_potential_{b}_tco2_yr"] = potential(
            out["eligible_area_ha"], out[f"rate_{b}"] * out["rate_factor"]
        )
    return out


def region_table(
    counts: pd.DataFrame,
    regions: pd.DataFrame,
    catalog: pd.DataFrame,
    zones: Sequence[dict],
    stack_factor: float,
    ecosystems: pd.DataFrame,
    *,
    language: str = "en",
    zones_source: str = "approximate",
    nation_name_en: str = "China",
    nation_name_zh: str = "中国",
    caps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Areas and potentials per region level, region, ecosystem and measure.

    ``counts`` is the output of :func:`reduce_counts`; ``zones`` the ``config["zones"]["items"]``
    list (bit i = item i). Province code 0 (cells of the region outside every province polygon)
    appears as its own province row so that provinces always sum to the nation. Returns numeric
    columns (``REGION_COLUMNS``); :func:`write_table` formats them.
    """
    if language not in ("en", "zh"):
        raise ConfigError("config.yaml:language", f"{language!r} is not en or zh", "use en or zh")
    if zones_source not in ("approximate", "official"):
        raise ConfigError("zones_source", f"{zones_source!r}", "use approximate or official")
    unknown = sorted(set(counts["measure_id"]) - set(catalog["id"]))
    if unknown:
        raise InputError(
            "counts.csv", f"measure ids not in the catalog: {unknown}", "rerun assign_tile"
        )
    eco_ids = set(ecosystems["id"])
    bad_eco = sorted(set(counts["ecosystem"].astype(int)) - eco_ids)
    if bad_eco:
        raise InputError("counts.csv", f"unknown ecosystem ids {bad_eco}", "check ecosystems.csv")
    n_bits = len(zones)
    if len(counts) and int(counts["zones"].max()) >> n_bits:
        raise InputError(
            "counts.csv",
            f"zone bits beyond the {n_bits} configured zones",
            "rerun the tiles with the current config zones.items",
        )
    rate_cols = ["rate_low", "rate_central", "rate_high"]
    gross_cols = [f"gross_{c}" for c in rate_cols if f"gross_{c}" in catalog.columns]
    rates = catalog[["id", *rate_cols, *gross_cols, "rate_factor"]].rename(
        columns={"id": "measure_id"}
    )

    parts = []
    nat = _per_region(counts.assign(region_code=NATION_CODE), ["region_code"], rates, stack_factor)
    nat["region_level"] = "nation"
    nat["name_en"], nat["name_zh"] = nation_name_en, nation_name_zh
    parts.append(nat)

    names = {
        lvl: regions[regions["level"] == lvl].set_index("code")[["name_en", "name_zh"]]
        for lvl in ("province", "county")
    }
    for lvl in ("province", "county"):
        t = _per_region(
            counts.assign(region_code=counts[lvl]), ["region_code"], rates, stack_factor
        )
        missing = sorted(set(t["region_code"]) - set(names[lvl].index) - {0})
        if missing:
            raise InputError(
                "regions.csv",
                f"{lvl} codes {missing[:10]} of the counts are not listed",
                "rerun prepare_vectors and the tiles with the same admin data",
            )
        t = t.merge(names[lvl], left_on="region_code", right_index=True, how="left")
        unassigned = t["region_code"] == 0
        if unassigned.any():
            log.warning("%s: %d rows outside every %s polygon (code 0)", lvl, unassigned.sum(), lvl)
        t.loc[unassigned, "name_en"] = f"outside {lvl} polygons"
        t.loc[unassigned, "name_zh"] = "未归属"
        t["region_level"] = lvl
        t["region_code"] = t["region_code"].astype("int64").astype(str)
        parts.append(t)

    for bit, item in enumerate(zones):
        sub = counts[(counts["zones"].to_numpy() >> bit) & 1 == 1]
        t = _per_region(
            sub.assign(region_code=str(item["id"])), ["region_code"], rates, stack_factor
        )
        t["region_level"] = "zone"
        t["name_en"], t["name_zh"] = item.get("name_en", item["id"]), item.get("name_zh", "")
        t["zone_order"] = bit
        parts.append(t)

    out = pd.concat(parts, ignore_index=True)
    out["region_name"] = out["name_en"] if language == "en" else out["name_zh"]
    out["zones_source"] = np.where(out["region_level"] == "zone", zones_source, "")
    # sort: level order, numeric codes (zones in config order), ecosystem id, catalog order
    out["_lvl"] = out["region_level"].map({lv: i for i, lv in enumerate(LEVELS)})
    code_num = pd.to_numeric(out["region_code"], errors="coerce")
    out["_code"] = np.where(out["region_level"] == "zone", out.get("zone_order"), code_num)
    out["_meas"] = out["measure_id"].map(catalog.set_index("id")["order"])
    out["_eco"] = out["ecosystem"].astype(int)
    out = out.sort_values(["_lvl", "_code", "_eco", "_meas"], kind="mergesort")
    eco_name = ecosystems.set_index("id")["name"]
    out["ecosystem"] = out["_eco"].map(eco_name)
    from sinkzone.realistic import add_realistic, cap_factors

    out = add_realistic(out, cap_factors(out, caps) if caps is not None else None)
    return out[REGION_COLUMNS].reset_index(drop=True)


def measure_table(table: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """National totals per measure (summed over land ecosystems), with catalog attributes."""
    nat = table[table["region_level"] == "nation"]
    num = AREA_COLS + POTENTIAL_COLS + TECHNICAL_COLS
    extra = [c for c in EXISTING_COLS + REALISTIC_COLS if c in nat.columns]
    g = nat.groupby("measure_id", sort=False)[num + extra].sum(min_count=1)
    cols = (
        ["id", "ecosystem", "name_en", "name_zh"]
        + [c for c in ("group", "land_use") if c in catalog.columns]
        + ["rate_is_estimate", "order"]
    )
    cat = catalog[cols].rename(columns={"id": "measure_id", "ecosystem": "measure_ecosystem"})
    out = cat.merge(g, left_on="measure_id", right_index=True, how="left")
    out[AREA_COLS] = out[AREA_COLS].fillna(0.0)
    if "realistic_area_ha" in out.columns:
        out["realistic_area_ha"] = out["realistic_area_ha"].fillna(0.0)
    out["mapped"] = out["measure_id"].isin(g.index)
    if "additional_share" in catalog.columns:  # appended after the original columns
        out["additional_share"] = (
            out["measure_id"].map(catalog.set_index("id")["additional_share"]).astype(float)
        )
    out = out.sort_values("order", kind="mergesort").drop(columns="order")
    cols = [c for c in out.columns if c not in extra] + extra  # new columns at the end
    return out[cols].reset_index(drop=True)


def ecosystem_table(
    table: pd.DataFrame, lc_counts: pd.DataFrame | None, ecosystems: pd.DataFrame
) -> pd.DataFrame:
    """National totals per land ecosystem class: land area and allocated potentials.

    Technical potentials and allocated areas are not summed over measures (they overlap).
    """
    nat = table[table["region_level"] == "nation"]
    g = nat.groupby("ecosystem", sort=False)[POTENTIAL_COLS].sum(min_count=1)
    n = nat[nat["allocated_area_ha"] > 0].groupby("ecosystem")["measure_id"].nunique()
    out = ecosystems[["id", "name", "name_en", "name_zh"]].rename(
        columns={"id": "ecosystem_id", "name": "ecosystem"}
    )
    if lc_counts is not None and len(lc_counts):
        area = lc_counts.groupby("ecosystem")["area_m2"].sum()
        out["land_area_ha"] = out["ecosystem_id"].map(area).fillna(0).astype("int64") / 1e4
    else:
        out["land_area_ha"] = np.nan
    out = out.merge(g, left_on="ecosystem", right_index=True, how="left")
    out["n_measures_allocated"] = out["ecosystem"].map(n).fillna(0).astype("int64")
    extra = [c for c in EXISTING_COLS + REALISTIC_COLS[1:] if c in nat.columns]
    if extra:  # appended: the non-additional existing sink and the realistic potential
        out = out.merge(
            nat.groupby("ecosystem", sort=False)[extra].sum(min_count=1),
            left_on="ecosystem",
            right_index=True,
            how="left",
        )
    out = out.sort_values("ecosystem_id", kind="mergesort").reset_index(drop=True)
    if lc_counts is not None and len(lc_counts) and (lc_counts["ecosystem"] == 0).any():
        # unattributed parts of composite legend classes (shares "other") and blank classes
        other = int(lc_counts.loc[lc_counts["ecosystem"] == 0, "area_m2"].sum())
        row = {c: np.nan for c in out.columns} | {
            "ecosystem_id": 0,
            "ecosystem": "none",  # as in landcover_area.csv (ecosystem id 0)
            "name_en": "Not attributed (rest of composite legend classes)",
            "name_zh": "未归属（混合类其余部分）",
            "land_area_ha": other / 1e4,
            "n_measures_allocated": 0,
        }
        out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
        out["ecosystem_id"] = out["ecosystem_id"].astype("int64")
        out["n_measures_allocated"] = out["n_measures_allocated"].astype("int64")
    return out


# ---------------------------------------------------------------------------- writing


def format_table(df: pd.DataFrame) -> pd.DataFrame:
    """Float columns to fixed-decimal strings (by column-name suffix; default 6); NaN -> ''."""
    out = df.copy()
    for c in out.columns:
        if not pd.api.types.is_float_dtype(out[c]):
            continue
        dec = next((d for suf, d in DECIMALS.items() if c.endswith(suf)), 6)
        vals = out[c].to_numpy(dtype=float) + 0.0  # + 0.0 turns -0.0 into 0.0
        fmt = f"{{:.{dec}f}}".format
        out[c] = ["" if v != v else fmt(v) for v in vals.tolist()]
    return out


def write_table(path: str | Path, df: pd.DataFrame) -> None:
    """Write a table atomically with fixed float formats (byte-identical across reruns)."""
    write_csv(path, format_table(df))
