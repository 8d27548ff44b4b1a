"""Residue (Eco-CCUS) module: forest biomass and crop straw that could be removed for Eco-CCUS.

Yu et al. 2022, section 2.3(4): removing 1/4 of the annual forest production gives about
0.27-0.30 Gt CO2/yr; 30 % of the annual crop straw (1.07 Gt CO2/yr) gives up to 0.32 Gt CO2/yr.
Here: land area of the ecosystem (integer ``lc_counts`` sums) x the per-hectare annual
production of ``config/residues.csv`` x its removable share, per province and nationally.

``residues.csv`` rows (``id,ecosystem,quantity,value,unit,source,is_estimate,notes``) are read
by unit: per ecosystem, one production factor (t CO2/ha/yr or t C/ha/yr) and one removable share
(``fraction`` / ``share`` / ``%``; when an ecosystem has several fraction rows, the one whose
id ends in ``removable_share``). Rows in other units, or without an ecosystem, are context only
(they document how a factor was derived) and are ignored here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.aggregate import NATION_CODE, RATE_UNITS
from sinkzone.errors import ConfigError, InputError
from sinkzone.units import GT

log = logging.getLogger(__name__)

PROD_UNITS = {k: v for k, v in RATE_UNITS.items() if k}  # t CO2 (or t C) per ha and year
SHARE_UNITS = {
    "fraction": 1.0,
    "share": 1.0,
    "1": 1.0,
    "-": 1.0,
    "ratio": 1.0,
    "%": 0.01,
    "percent": 0.01,
}
COLUMNS = [
    "region_level",
    "region_code",
    "region_name",
    "name_en",
    "name_zh",
    "ecosystem",
    "residue_id",
    "share_id",
    "land_area_ha",
    "production_factor_tco2_ha_yr",
    "production_tco2_yr",
    "production_gtco2_yr",
    "removable_share",
    "eco_ccus_tco2_yr",
    "eco_ccus_gtco2_yr",
    "is_estimate",
    "source",
]


def _flag(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def read_residue_factors(path: str | Path, ecosystems: pd.DataFrame) -> pd.DataFrame:
    """One row per residue stream: ecosystem, production factor (t CO2/ha/yr), removable share."""
    from sinkzone.io import read_csv

    df = read_csv(path, dtype=str).fillna("")
    need = ["id", "ecosystem", "quantity", "value", "unit", "source", "is_estimate"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"add columns {need}")
    known = set(ecosystems["name"])
    bad = sorted(set(df["ecosystem"]) - known - {""})
    if bad:
        raise ConfigError(
            f"{path}:ecosystem",
            f"unknown ecosystems {bad}",
            f"use names of config/ecosystems.csv {sorted(known)}",
        )
    unit = df["unit"].str.strip().str.lower()
    value = pd.to_numeric(df["value"], errors="coerce")
    rows = []
    for eco, sub in df[df["ecosystem"] != ""].groupby("ecosystem", sort=False):
        prod = sub[unit[sub.index].isin(PROD_UNITS.keys())]
        share = sub[unit[sub.index].isin(SHARE_UNITS.keys())]
        if len(share) > 1:  # e.g. straw_other_uses_share and straw_removable_share
            share = share[share["id"].str.endswith("removable_share")]
        ignored = sorted(set(sub["id"]) - set(prod["id"]) - set(share["id"]))
        if ignored:
            log.info(
                "%s: rows %s are context only (unit not a per-ha rate or a share)", path, ignored
            )
        if len(prod) != 1 or len(share) != 1:
            raise ConfigError(
                f"{path}:{eco}",
                f"need exactly one production row (t CO2/ha/yr) and one removable share row "
                f"(fraction), found {list(prod['id'])} and {list(share['id'])}",
                "give each residue ecosystem one per-ha production factor and one fraction row "
                "(if several fraction rows, the one whose id ends in removable_share is used)",
            )
        p, s = prod.iloc[0], share.iloc[0]
        pv = value[p.name] * PROD_UNITS[unit[p.name]]
        sv = value[s.name] * SHARE_UNITS[unit[s.name]]
        if not (np.isfinite(pv) and pv >= 0 and np.isfinite(sv) and 0 <= sv <= 1):
            raise ConfigError(
                f"{path}:{eco}",
                f"bad values production={pv}, share={sv}",
                "production >= 0 and share in [0, 1]",
            )
        rows.append(
            {
                "ecosystem": eco,
                "ecosystem_id": int(ecosystems.set_index("name").loc[eco, "id"]),
                "residue_id": p["id"],
                "share_id": s["id"],
                "production_factor_tco2_ha_yr": float(pv),
                "removable_share": float(sv),
                "is_estimate": _flag(p["is_estimate"]) or _flag(s["is_estimate"]),
                "source": "; ".join(dict.fromkeys(x for x in (p["source"], s["source"]) if x)),
            }
        )
    return pd.DataFrame(rows)


def residue_table(
    lc_counts: pd.DataFrame,
    factors: pd.DataFrame,
    regions: pd.DataFrame,
    *,
    language: str = "en",
    nation_name_en: str = "China",
    nation_name_zh: str = "中国",
) -> pd.DataFrame:
    """Residue production and Eco-CCUS potential per residue stream, nation and provinces."""
    if len(lc_counts) and (lc_counts["area_m2"] < 0).any():
        raise InputError("lc_counts.csv", "negative areas", "regenerate the tiles")
    lc = lc_counts[lc_counts["ecosystem"].isin(factors["ecosystem_id"])]
    nat = lc.groupby("ecosystem")["area_m2"].sum()
    prov = lc.groupby(["province", "ecosystem"])["area_m2"].sum()
    names = regions[regions["level"] == "province"].set_index("code")
    parts = []
    for _, f in factors.iterrows():
        eid = f["ecosystem_id"]
        recs = [("nation", NATION_CODE, nation_name_en, nation_name_zh, int(nat.get(eid, 0)))]
        codes = sorted(set(lc["province"]))
        for code in codes:
            area = int(prov.get((code, eid), 0))
            if code == 0:
                en, zh = "outside province polygons", "未归属"
            elif code in names.index:
                en, zh = names.loc[code, "name_en"], names.loc[code, "name_zh"]
            else:
                raise InputError(
                    "regions.csv",
                    f"province {code} not listed",
                    "rerun prepare_vectors and the tiles",
                )
            recs.append(("province", str(code), en, zh, area))
        for lvl, code, en, zh, area_m2 in recs:
            area_ha = area_m2 / 1e4
            prod = area_ha * f["production_factor_tco2_ha_yr"]
            parts.append(
                {
                    "region_level": lvl,
                    "region_code": code,
                    "region_name": en if language == "en" else zh,
                    "name_en": en,
                    "name_zh": zh,
                    "ecosystem": f["ecosystem"],
                    "residue_id": f["residue_id"],
                    "share_id": f["share_id"],
                    "land_area_ha": area_ha,
                    "production_factor_tco2_ha_yr": f["production_factor_tco2_ha_yr"],
                    "production_tco2_yr": prod,
                    "production_gtco2_yr": prod / GT,
                    "removable_share": f["removable_share"],
                    "eco_ccus_tco2_yr": prod * f["removable_share"],
                    "eco_ccus_gtco2_yr": prod * f["removable_share"] / GT,
                    "is_estimate": bool(f["is_estimate"]),
                    "source": f["source"],
                }
            )
    out = pd.DataFrame(parts, columns=COLUMNS)
    out["_lvl"] = (out["region_level"] == "province").astype(int)
    out["_code"] = pd.to_numeric(out["region_code"])
    out = out.sort_values(["_lvl", "_code", "ecosystem"], kind="mergesort")
    return out[COLUMNS].reset_index(drop=True)
