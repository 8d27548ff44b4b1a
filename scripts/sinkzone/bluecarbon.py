"""Blue carbon apart from land: the sea cells, the coastal and marine measures, realistic caps.

`blue_carbon_stats` reads the mosaics (marine flags, eligible bits) once for figures that the
count tables do not carry (sea cells and area, the mangrove / salt-marsh split at the
mangrove's natural northern limit, the northernmost mangrove cell). `blue_carbon_table` takes
the region table of `aggregate_regions` (nation and provinces) and caps the mariculture
potentials by the recorded farmed areas (`config/mariculture_areas.csv`): the *mapped*
potential is eligible area x rate (where depth and distance fit), the *realistic* one is
min(eligible area, recorded area) x rate, with provinces without a row of their own sharing
the national row in proportion to their eligible area.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.errors import InputError

COASTAL_ECOSYSTEM = "coastal"  # measure ecosystem of the marine/coastal rows of the catalog
MANGROVE_MEASURE = "coastal_vegetation_restoration"
MANGROVE_LIMIT_LAT = 27.333  # natural northern limit, 27 deg 20 min N (config/suitability.yaml)
CAP_COLUMNS = ["region_code", "measure_id", "area_ha", "year", "source", "is_estimate"]
LEVELS = ("low", "central", "high")
COLUMNS = [
    "region_level", "region_code", "name_en", "name_zh", "measure_id", "eligible_area_ha",
    "eligible_sea_area_ha", "mapped_low_tco2_yr", "mapped_central_tco2_yr",
    "mapped_high_tco2_yr", "recorded_area_ha", "realistic_area_ha", "realistic_low_tco2_yr",
    "realistic_central_tco2_yr", "realistic_high_tco2_yr", "cap_source", "cap_is_estimate",
]  # fmt: skip


def load_caps(path: str | Path) -> pd.DataFrame:
    """config/mariculture_areas.csv: recorded farmed area per (region_code, measure_id)."""
    df = pd.read_csv(path, dtype={"region_code": str, "measure_id": str})
    missing = [c for c in CAP_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}", f"use columns {CAP_COLUMNS}")
    area = pd.to_numeric(df["area_ha"], errors="coerce")
    if area.isna().any() or (area < 0).any():
        raise InputError(path, "area_ha must be numbers >= 0", "fix the area_ha column")
    if df["source"].fillna("").str.strip().eq("").any():
        raise InputError(path, "a row has no source", "name the yearbook table of every figure")
    return df.assign(area_ha=area.astype(float))


def blue_carbon_stats(
    marine,
    eligible,
    area_m2,
    lat,
    measure_ids,
    sea_bit: int = 1,
    marine_nodata=None,
    eligible_nodata=None,
) -> dict:
    """Figures of the mosaics: sea cells and area, eligible sea area per measure, mangrove split.

    `marine` and `eligible` are the mosaics (H, W); `area_m2` the cell areas (H, W) or (H, 1);
    `lat` the cell-centre latitudes (H, 1) or (H, W), or a function returning them (called only
    when the mangrove measure is eligible in the strip); `measure_ids` the catalog ids in bit
    order. Cells holding a mosaic's nodata (outside the region: 255 for the flags, all bits set for the
    bitmask) are neither sea nor eligible.
    """
    marine = np.asarray(marine)
    bits = np.asarray(eligible, np.uint32)
    outside = np.zeros(marine.shape, bool)
    if marine_nodata is not None:
        outside |= marine == marine_nodata
    if eligible_nodata is not None:
        outside |= bits == np.uint32(eligible_nodata)
    sea = ((marine & sea_bit) != 0) & ~outside
    area = np.broadcast_to(area_m2, sea.shape)
    # the sums run over the sea cells alone, in the same (row-major) order as a masked sum over
    # the whole strip, so the figures are the same to the last bit
    area_sea, bits_sea = area[sea], bits[sea]
    out = {"sea_cells": int(area_sea.size), "sea_area_km2": float(area_sea.sum() / 1e6)}
    for i, mid in enumerate(measure_ids):
        on_sea = (bits_sea >> np.uint32(i)) & np.uint32(1) == 1
        out[f"sea_eligible_ha:{mid}"] = float(area_sea[on_sea].sum() / 1e4)
        if mid == MANGROVE_MEASURE:  # the mangrove split counts land cells too
            on = ((bits >> np.uint32(i)) & np.uint32(1) == 1) & ~outside
            if on.any():
                latb = np.broadcast_to(lat() if callable(lat) else lat, sea.shape)
                south = on & (latb <= MANGROVE_LIMIT_LAT)
                max_lat = float(latb[south].max()) if south.any() else float("nan")
            else:
                south, max_lat = on, float("nan")
            out["mangrove_cells"] = int(south.sum())
            out["mangrove_area_ha"] = float(area[south].sum() / 1e4)
            out["mangrove_max_lat"] = max_lat
            out["salt_marsh_area_ha"] = float(area[on & ~south].sum() / 1e4)
    return out


def merge_stats(parts: list[dict]) -> dict:
    """`blue_carbon_stats` of strips of rows combined into those of the whole grid: counts and
    areas summed, the northernmost mangrove cell the largest; one part is returned as it is."""
    if len(parts) == 1:
        return dict(parts[0])
    out: dict = {}
    for part in parts:
        for k, v in part.items():
            if k == "mangrove_max_lat":
                old = out.get(k, float("nan"))
                out[k] = v if np.isnan(old) else (old if np.isnan(v) else max(old, v))
            else:
                out[k] = out.get(k, 0) + v
    return out


def blue_carbon_table(
    region: pd.DataFrame, catalog: pd.DataFrame, caps: pd.DataFrame
) -> pd.DataFrame:
    """Nation and province rows for every coastal/marine measure of the catalog."""
    ids = catalog.loc[catalog["ecosystem"] == COASTAL_ECOSYSTEM, "id"].tolist()
    rt = region[region["region_level"].isin(["nation", "province"])
                & region["measure_id"].isin(ids)].copy()  # fmt: skip
    rt["sea_ha"] = np.where(rt["ecosystem"] == "sea", rt["eligible_area_ha"], 0.0)
    tech = [f"technical_potential_{lv}_tco2_yr" for lv in LEVELS]
    g = (rt.groupby(["region_level", "region_code", "measure_id"], sort=False)
         .agg(name_en=("name_en", "first"), name_zh=("name_zh", "first"),
              eligible_area_ha=("eligible_area_ha", "sum"), eligible_sea_area_ha=("sea_ha", "sum"),
              **{f"mapped_{lv}_tco2_yr": (c, "sum") for lv, c in zip(LEVELS, tech, strict=True)})
         .reset_index())  # fmt: skip
    nat_el = g[g["region_level"] == "nation"].set_index("measure_id")["eligible_area_ha"]
    capped = set(caps["measure_id"])
    rows = []
    for _, r in g.iterrows():
        mid, code = r["measure_id"], str(r["region_code"])
        own = caps[(caps["measure_id"] == mid) & (caps["region_code"] == code)]
        nat = caps[(caps["measure_id"] == mid) & (caps["region_code"] == "100000")]
        rec, src, est = np.nan, "", ""
        if len(own):
            rec, src, est = own["area_ha"].sum(), own["source"].iloc[0], own["is_estimate"].iloc[0]
        elif len(nat) and r["region_level"] == "province" and nat_el.get(mid, 0) > 0:
            share = r["eligible_area_ha"] / nat_el[mid]
            rec = float(nat["area_ha"].sum() * share)
            src = f"national row x eligible-area share {share:.4f}: " + str(nat["source"].iloc[0])
            est = nat["is_estimate"].iloc[0]
        real_area = (
            min(r["eligible_area_ha"], rec)
            if mid in capped and np.isfinite(rec)
            else (r["eligible_area_ha"])
        )
        f = real_area / r["eligible_area_ha"] if r["eligible_area_ha"] > 0 else 0.0
        rows.append({**{k: r[k] for k in ("region_level", "region_code", "name_en", "name_zh",
                                           "measure_id", "eligible_area_ha",
                                           "eligible_sea_area_ha")},
                     **{f"mapped_{lv}_tco2_yr": r[f"mapped_{lv}_tco2_yr"] for lv in LEVELS},
                     "recorded_area_ha": rec, "realistic_area_ha": real_area,
                     **{f"realistic_{lv}_tco2_yr": r[f"mapped_{lv}_tco2_yr"] * f for lv in LEVELS},
                     "cap_source": src or ("no cap (not mariculture)" if mid not in capped else
                                           "no recorded area for this region"),
                     "cap_is_estimate": est})  # fmt: skip
    out = pd.DataFrame(rows, columns=COLUMNS)
    order = {"nation": 0, "province": 1}
    out = out.sort_values(["region_level", "region_code", "measure_id"],
                          key=lambda s: s.map(order) if s.name == "region_level" else s,
                          kind="mergesort").reset_index(drop=True)  # fmt: skip
    return out


STAT_UNITS = {"sea_cells": "cells", "sea_area_km2": "km2", "mangrove_cells": "cells",
              "mangrove_area_ha": "ha", "mangrove_max_lat": "deg N",
              "salt_marsh_area_ha": "ha"}  # fmt: skip


def stats_table(stats: dict) -> pd.DataFrame:
    """`blue_carbon_stats` as a key,value,unit table (sorted by key)."""
    rows = [{"key": k, "value": v, "unit": "ha" if k.startswith("sea_eligible_ha:")
             else STAT_UNITS.get(k, "")} for k, v in sorted(stats.items())]  # fmt: skip
    return pd.DataFrame(rows, columns=["key", "value", "unit"])
