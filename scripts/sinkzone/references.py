"""Mapped eligible areas beside official land references (e.g. 宜林地, land suitable for
afforestation in the national forest inventory).

``config/land_references.csv`` (``reference_id,measure_ids,area_ha,year,tolerance,source,
is_estimate,notes``): a national reference area for a set of measures. The table compares the
national eligible area of those measures (the union is approximated by the largest eligible
area of the set, since they are eligible on overlapping land) with the reference:
``ratio = eligible / reference`` and ``consistent = |ratio - 1| <= tolerance``.

Distributing rule: the reference is distributed over the provinces in proportion to each
province's mapped eligible area (``distributed_reference_ha = reference x province eligible /
national eligible``), the only information the map adds to a national figure. This is what a
planner, or a realistic-potential cap, should use per province when the rules map more land
than the reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.errors import ConfigError

REF_COLUMNS = [
    "reference_id",
    "measure_ids",
    "area_ha",
    "year",
    "tolerance",
    "source",
    "is_estimate",
    "notes",
]
OUT_COLUMNS = [
    "reference_id",
    "region_level",
    "region_code",
    "region_name",
    "measure_ids",
    "eligible_area_ha",
    "allocated_area_ha",
    "reference_area_ha",
    "ratio_share",
    "tolerance_share",
    "consistent",
    "distributing_rule",
    "source",
]
RULE = "reference x province eligible area / national eligible area"


def read_references(path: str | Path, measures) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "file not found", "create it (see config/land_references.csv)")
    from sinkzone.io import read_csv  # one-line errors for a damaged file (#17)

    df = read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REF_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"use columns {REF_COLUMNS}")
    for c in ("area_ha", "tolerance"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    for _, r in df.iterrows():
        ids = [m for m in r["measure_ids"].split(";") if m]
        if not ids or set(ids) - set(measures):
            raise ConfigError(
                f"{path}:{r['reference_id']}",
                f"unknown measure ids in {ids}",
                "use ids of config/technologies.csv separated by ';'",
            )
        if not (r["area_ha"] > 0) or not (r["tolerance"] >= 0) or not r["source"].strip():
            raise ConfigError(
                f"{path}:{r['reference_id']}",
                "area_ha, tolerance or source bad",
                "give area_ha > 0, tolerance >= 0 and the source",
            )
    return df


def reference_table(table: pd.DataFrame, refs: pd.DataFrame, national: bool = True) -> pd.DataFrame:
    """National and provincial rows per reference (see the module docstring).

    ``national=False`` (the run's region is not all of China): the references are national
    figures, so no comparison and no distribution is made (reference columns empty).
    """
    rows = []
    for _, r in refs.iterrows():
        ids = [m for m in r["measure_ids"].split(";") if m]
        sub = table[
            table["measure_id"].isin(ids) & table["region_level"].isin(["nation", "province"])
        ]
        g = sub.groupby(["region_level", "region_code", "region_name", "measure_id"], sort=False)[
            ["eligible_area_ha", "allocated_area_ha"]
        ].sum()
        # eligible on overlapping land: the largest of the set; allocated areas exclude
        # each other (one land pool for conversions): their sum
        elig = g["eligible_area_ha"].groupby(level=[0, 1, 2], sort=False).max()
        alloc = g["allocated_area_ha"].groupby(level=[0, 1, 2], sort=False).sum()
        nat = float(elig.xs("nation", level=0).sum()) if "nation" in elig.index else 0.0
        for (lvl, code, name), e in elig.items():
            ref = (
                float(r["area_ha"])
                if lvl == "nation"
                else (float(r["area_ha"]) * e / nat if nat > 0 else 0.0)
            )
            ratio = e / float(r["area_ha"]) if lvl == "nation" else np.nan
            if not national:
                rows.append(
                    {
                        "reference_id": r["reference_id"],
                        "region_level": lvl,
                        "region_code": code,
                        "region_name": name,
                        "measure_ids": r["measure_ids"],
                        "eligible_area_ha": e,
                        "allocated_area_ha": float(alloc[(lvl, code, name)]),
                        "reference_area_ha": np.nan,
                        "ratio_share": np.nan,
                        "tolerance_share": np.nan,
                        "consistent": "",
                        "distributing_rule": "not compared: the reference is national and the "
                        "region is not all of China",
                        "source": r["source"],
                    }
                )
                continue
            rows.append(
                {
                    "reference_id": r["reference_id"],
                    "region_level": lvl,
                    "region_code": code,
                    "region_name": name,
                    "measure_ids": r["measure_ids"],
                    "eligible_area_ha": e,
                    "allocated_area_ha": float(alloc[(lvl, code, name)]),
                    "reference_area_ha": ref,
                    "ratio_share": ratio,
                    "tolerance_share": float(r["tolerance"]) if lvl == "nation" else np.nan,
                    "consistent": (
                        str(bool(abs(ratio - 1) <= float(r["tolerance"]))).lower()
                        if lvl == "nation"
                        else ""
                    ),
                    "distributing_rule": "national reference" if lvl == "nation" else RULE,
                    "source": r["source"],
                }
            )
    return pd.DataFrame(rows, columns=OUT_COLUMNS)
