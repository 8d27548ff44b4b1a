"""Realistic potential: the mapped (allocated) potential limited by sourced caps.

The *mapped* potential (``potential_*`` columns of the region table) puts every measure on all
land where the rules allow it and the allocation gives it. The *realistic* potential limits the
area of some measures by what policy areas and implementation capacity allow, from a
user-editable table (``config/caps.csv``, one row per cap)::

    cap_id,measure_ids,cap_area_ha,basis,year,source,is_estimate,notes
    afforestation_land,afforestation;fast_growing_plantation,50000000,宜林地 ...,2018,...,true,...

``measure_ids`` is a ``;``-separated list of catalog ids that share one cap (e.g. all tree
planting on open land shares the land suitable for afforestation). Each measure is in at most
one cap; measures without a cap keep their mapped potential.

Distribution rule (documented in docs/SOURCES.md): for a cap, ``factor = min(1, cap_area_ha /
A)`` where ``A`` is the national mapped allocated area of its measures. Every row of the region
table (nation, province, county, zone) of those measures gets ``realistic = mapped x factor``,
so the capped area is distributed to provinces and counties in proportion to their mapped
allocated area, and regions still add up to the nation.

Caps are totals for the analysis region: the shipped ``config/caps.csv`` holds national figures,
so in a run over one province they rarely bind; give that run a caps table of its own
(``realistic.caps`` in an overlay) with the province's figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.errors import ConfigError

CAP_COLUMNS = [
    "cap_id",
    "measure_ids",
    "cap_area_ha",
    "basis",
    "year",
    "source",
    "is_estimate",
    "notes",
]
BOUNDS = ["low", "central", "high"]
REALISTIC_COLS = ["realistic_area_ha"] + [f"realistic_potential_{b}_tco2_yr" for b in BOUNDS]
FACTOR_COLUMNS = [
    "cap_id",
    "measure_id",
    "mapped_allocated_area_ha",
    "cap_area_ha",
    "realistic_factor",
    "cap_is_estimate",
    "cap_source",
]


def _flag(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def read_caps(path: str | Path, catalog_ids) -> pd.DataFrame:
    """Read and check the caps table; one row per (cap, measure) with the cap's attributes."""
    from sinkzone.io import read_csv  # one-line errors for any damage (#17)

    try:
        df = read_csv(path, dtype=str, keep_default_na=False)
    except OSError as exc:
        raise ConfigError(
            path,
            f"cannot read the caps table ({exc})",
            "write a UTF-8 CSV with columns " + ",".join(CAP_COLUMNS),
        ) from None
    missing = [c for c in CAP_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"use columns {CAP_COLUMNS}")
    if df["cap_id"].duplicated().any():
        dup = sorted(set(df.loc[df["cap_id"].duplicated(), "cap_id"]))
        raise ConfigError(path, f"duplicate cap ids {dup}", "give every cap its own id")
    area = pd.to_numeric(df["cap_area_ha"], errors="coerce")
    bad = df.loc[~(area >= 0), "cap_id"].tolist()
    if bad:
        raise ConfigError(
            f"{path}:cap_area_ha",
            f"caps {bad} have no area >= 0",
            "write the cap as a number of hectares",
        )
    nosrc = df.loc[df["source"].str.strip() == "", "cap_id"].tolist()
    if nosrc:
        raise ConfigError(
            f"{path}:source",
            f"caps {nosrc} have no source",
            "cite the statistic, or mark is_estimate and explain it in notes",
        )
    known = set(catalog_ids)
    rows, seen = [], {}
    for (_, r), a in zip(df.iterrows(), area, strict=True):
        ids = [m.strip() for m in r["measure_ids"].split(";") if m.strip()]
        if not ids:
            raise ConfigError(
                f"{path}:{r['cap_id']}.measure_ids",
                "empty",
                "list the catalog ids the cap limits, separated by ;",
            )
        unknown = [m for m in ids if m not in known]
        if unknown:
            raise ConfigError(
                f"{path}:{r['cap_id']}.measure_ids",
                f"unknown measures {unknown}",
                "use ids of config/technologies.csv",
            )
        for m in ids:
            if m in seen:
                raise ConfigError(
                    f"{path}:{r['cap_id']}",
                    f"{m} is already capped by {seen[m]}",
                    "put each measure in at most one cap",
                )
            seen[m] = r["cap_id"]
            rows.append(
                {
                    "cap_id": r["cap_id"],
                    "measure_id": m,
                    "cap_area_ha": float(a),
                    "cap_is_estimate": _flag(r["is_estimate"]),
                    "cap_source": r["source"].strip(),
                }
            )
    return pd.DataFrame(
        rows, columns=["cap_id", "measure_id", "cap_area_ha", "cap_is_estimate", "cap_source"]
    )


def cap_factors(table: pd.DataFrame, caps: pd.DataFrame) -> pd.DataFrame:
    """Per capped measure: national mapped allocated area, cap and ``realistic_factor``."""
    nat = table[table["region_level"] == "nation"]
    mapped = nat.groupby("measure_id")["allocated_area_ha"].sum()
    out = caps.copy()
    out["mapped_allocated_area_ha"] = out["measure_id"].map(mapped).fillna(0.0).astype(float)
    total = out.groupby("cap_id", sort=False)["mapped_allocated_area_ha"].transform("sum")
    cap = out["cap_area_ha"].to_numpy(dtype=float)
    tot = total.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(tot > cap, cap / np.where(tot > 0, tot, 1.0), 1.0)
    out["realistic_factor"] = f
    return out[FACTOR_COLUMNS].reset_index(drop=True)


def add_realistic(table: pd.DataFrame, factors: pd.DataFrame | None) -> pd.DataFrame:
    """Append ``realistic_area_ha`` and ``realistic_potential_*`` (mapped x the cap factor)."""
    out = table.copy()
    f = pd.Series(1.0, index=out.index)
    if factors is not None and len(factors):
        f = out["measure_id"].map(factors.set_index("measure_id")["realistic_factor"]).fillna(1.0)
    out["realistic_area_ha"] = out["allocated_area_ha"] * f
    for b in BOUNDS:
        out[f"realistic_potential_{b}_tco2_yr"] = out[f"potential_{b}_tco2_yr"] * f
    return out
