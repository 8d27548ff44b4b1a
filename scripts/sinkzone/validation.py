"""Compare the pipeline's national totals with the published figures of Yu et al. 2022.

The mapping file (``config/published/yu2022.yaml``, read with ``yaml.safe_load``) links a figure
id of the figures table to what the pipeline computes::

    cropland_potential: {measures: [straw_return, no_tillage], basis: allocated, note: ...}
    eco_ccus_forest: {residues: [forest_production, forest_removable_share],
                      ecosystem: forest, basis: residue}

``basis: allocated`` sums the allocated potentials (additive); ``basis: eligible`` (alias
``technical``) sums eligible area x rate (each measure alone; overlapping measures double
count). ``residues`` lists ids of ``config/residues.csv``: one per-ha quantity (t CO2/ha/yr or
t C/ha/yr) and shares; the value is the national land area of ``ecosystem`` x their product.
The verdict compares the central value with the published range; the reason is built from the
data (ratio to the range, dominant measure and its share, basis, areas, estimate flags).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sinkzone.errors import ConfigError
from sinkzone.residues import PROD_UNITS, SHARE_UNITS

log = logging.getLogger(__name__)

UNIT_TONNES = {"gt co2/yr": 1e9, "mt co2/yr": 1e6, "t co2/yr": 1.0, "gt/yr co2": 1e9}
COLUMNS = [
    "figure_id",
    "quantity",
    "published_low",
    "published_high",
    "unit",
    "pipeline_value",
    "pipeline_low",
    "pipeline_high",
    "basis",
    "verdict",
    "reason",
    "note",
]
RTOL = 1e-9


def read_figures(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"id": str, "quantity": str, "unit": str})
    need = ["id", "quantity", "low", "high", "unit"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"columns must include {need}")
    return df


def read_mapping(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    if not isinstance(doc, dict):
        raise ConfigError(path, "not a mapping of figure id -> entry", "see validation.py")
    if "figures" in doc and isinstance(doc["figures"], dict):
        doc = doc["figures"]
    for fid, entry in doc.items():
        if not isinstance(entry, dict) or (("measures" in entry) == ("residues" in entry)):
            raise ConfigError(
                f"{path}:{fid}", "needs exactly one of `measures` or `residues`",
                "write {measures: [...], basis: allocated|eligible} or "
                "{residues: [...], ecosystem: name, basis: residue}",
            )
        basis = entry.get("basis", "allocated" if "measures" in entry else "residue")
        ok = ("allocated", "eligible", "technical") if "measures" in entry else ("residue",)
        if basis not in ok:
            raise ConfigError(f"{path}:{fid}.basis", f"{basis!r}", f"use one of {ok}")
        if "residues" in entry and not entry.get("ecosystem"):
            raise ConfigError(f"{path}:{fid}.ecosystem", "missing",
                              "name the ecosystem whose land area the residues apply to")
    return doc


def _g(x: float) -> str:
    """Short number for text."""
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _verdict(v: float, lo: float, hi: float) -> str:
    tol = RTOL * max(abs(lo), abs(hi), 1e-12)
    if v < lo - tol:
        return "below"
    if v > hi + tol:
        return "above"
    return "within"


def _ratio_text(v, lo, hi, unit, verdict):
    if verdict == "below":
        return f"{_g(v)} {unit} is {_g(v / lo) if lo else 'n/a'}x the published low {_g(lo)}"
    if verdict == "above":
        return f"{_g(v)} {unit} is {_g(v / hi) if hi else 'n/a'}x the published high {_g(hi)}"
    return f"{_g(v)} {unit} lies within {_g(lo)}-{_g(hi)}"


def _measure_figure(fid, entry, measures, scale, unit, lo, hi, landcover_note, coarse):
    ids = list(entry["measures"])
    unknown = [m for m in ids if m not in set(measures["measure_id"])]
    if unknown:
        raise ConfigError(f"validation mapping:{fid}", f"unknown measures {unknown}",
                          "use ids of config/technologies.csv")
    basis = entry.get("basis", "allocated")
    pre = "potential" if basis == "allocated" else "technical_potential"  # eligible|technical
    sub = measures.set_index("measure_id").loc[ids]
    vals = {b: sub[f"{pre}_{b}_tco2_yr"].fillna(0.0) for b in ("low", "central", "high")}
    v = {b: float(vals[b].sum()) / scale for b in vals}
    verdict = _verdict(v["central"], lo, hi)
    parts = [_ratio_text(v["central"], lo, hi, unit, verdict)]
    cen = vals["central"]
    if cen.sum() > 0:
        dom = str(cen.idxmax())
        share = cen.max() / cen.sum()
        name = sub.loc[dom, "name_en"] if "name_en" in sub.columns else dom
        parts.append(f"{dom} ({name}) gives {share:.0%}")
        if bool(sub.loc[dom].get("rate_is_estimate", False)):
            parts.append(f"rate of {dom} is an estimate")
    other = "technical_potential" if basis == "allocated" else "potential"
    other_v = float(sub[f"{other}_central_tco2_yr"].fillna(0.0).sum()) / scale
    if basis == "allocated":
        parts.append(f"allocated basis (technical {_g(other_v)})")
    else:
        txt = f"{basis} basis, eligible area x rate (allocated {_g(other_v)})"
        if len(ids) > 1:
            txt += "; overlapping measures double count"
        parts.append(txt)
    el, al = sub["eligible_area_ha"].sum() / 1e6, sub["allocated_area_ha"].sum() / 1e6
    parts.append(f"eligible {_g(el)} Mha, allocated {_g(al)} Mha")
    none = [m for m in ids if not sub.loc[m, "eligible_area_ha"] > 0]
    if none:
        parts.append(f"no eligible land for {','.join(none)}")
    ecos = set(sub["measure_ecosystem"]) if "measure_ecosystem" in sub.columns else set()
    if verdict == "below" and "cropland" in ecos and landcover_note and coarse:
        parts.append(f"cropland from {landcover_note} (coarse cells undercount small parcels)")
    elif verdict != "within" and landcover_note:
        parts.append(f"areas from {landcover_note}")
    return v, basis, verdict, "; ".join(parts)


def _residue_figure(fid, entry, factors, land_area_ha, figures, scale, unit, lo, hi,
                    landcover_note, coarse):
    eco = str(entry["ecosystem"])
    ids = [str(i) for i in entry["residues"]]
    table = factors.set_index("id")
    unknown = [i for i in ids if i not in table.index]
    if unknown:
        raise ConfigError(f"validation mapping:{fid}.residues", f"unknown ids {unknown}",
                          "use ids of config/residues.csv")
    if eco not in land_area_ha:
        raise ConfigError(f"validation mapping:{fid}.ecosystem", f"unknown ecosystem {eco!r}",
                          f"use one of {sorted(land_area_ha)}")
    per_ha, shares = None, []
    for i in ids:
        u = str(table.loc[i, "unit"]).strip().lower()
        val = float(table.loc[i, "value"])
        if u in PROD_UNITS and per_ha is None:
            per_ha = (i, val * PROD_UNITS[u])
        elif u in SHARE_UNITS:
            shares.append((i, val * SHARE_UNITS[u]))
        else:
            raise ConfigError(
                f"validation mapping:{fid}.residues", f"{i} has unit {u!r}",
                "list one per-ha quantity (t CO2/ha/yr or t C/ha/yr) and shares (fraction)",
            )
    if per_ha is None:
        raise ConfigError(f"validation mapping:{fid}.residues", "no per-ha quantity",
                          "list one residues.csv row in t CO2/ha/yr")
    area = float(land_area_ha[eco])
    val = area * per_ha[1] * float(np.prod([x for _, x in shares])) / scale
    v = {"low": val, "central": val, "high": val}
    verdict = _verdict(val, lo, hi)
    mha = area / 1e6
    chain = f"{eco} {_g(mha)} Mha x {_g(per_ha[1])} t CO2/ha/yr ({per_ha[0]})"
    chain += "".join(f" x {x:g} ({i})" for i, x in shares)
    parts = [_ratio_text(val, lo, hi, unit, verdict), chain]
    ref = figures[(figures["unit"].astype(str).str.strip() == "Mha")
                  & figures["id"].astype(str).str.contains(eco)]
    if len(ref) and mha > 0:
        r = ref.iloc[-1]
        parts.append(f"land-cover {eco} area is {_g(mha / float(r['high']))}x "
                     f"{r['id']} ({_g(float(r['high']))} Mha)")
    est = [i for i in ids if str(table.loc[i, "is_estimate"]).strip().lower() in ("true", "1")]
    if est:
        parts.append(f"estimates: {','.join(est)}")
    if verdict == "below" and eco == "cropland" and landcover_note and coarse:
        parts.append(f"cropland from {landcover_note} (coarse cells undercount small parcels)")
    elif verdict != "within" and landcover_note:
        parts.append(f"areas from {landcover_note}")
    return v, "residue", verdict, "; ".join(parts)


def validation_table(
    figures: pd.DataFrame,
    mapping: dict,
    measures: pd.DataFrame,
    *,
    residue_factors: pd.DataFrame | None = None,
    land_area_ha: dict[str, float] | None = None,
    landcover_note: str = "",
    landcover_coarse: bool = True,
) -> pd.DataFrame:
    """One row per mapped figure: published range, pipeline value (figure units), verdict, reason.

    ``measures`` is the national per-measure table (``aggregate.measure_table``);
    ``residue_factors`` the rows of ``config/residues.csv``; ``land_area_ha`` the national land
    area per ecosystem name (``aggregate.ecosystem_table``). ``landcover_note`` names the land
    cover and its cell size; with ``landcover_coarse`` (cells >= ~250 m) a cropland shortfall is
    attributed to coarse cells undercounting small parcels.
    """
    measures = measures.copy()
    if "rate_is_estimate" in measures.columns and measures["rate_is_estimate"].dtype != bool:
        measures["rate_is_estimate"] = (
            measures["rate_is_estimate"].astype(str).str.strip().str.lower()
            .isin(["true", "1", "yes"])
        )
    fig = figures.set_index("id")
    unknown = sorted(set(mapping) - set(fig.index))
    if unknown:
        raise ConfigError("validation mapping", f"figure ids {unknown} not in the figures table",
                          "use ids of config/published/yu2022_figures.csv")
    unmapped = [f for f in fig.index if f not in mapping]
    if unmapped:
        log.info("figures without a pipeline counterpart (not compared): %s", unmapped)
    rows = []
    for fid in [f for f in fig.index if f in mapping]:
        entry, f = mapping[fid], fig.loc[fid]
        unit = str(f["unit"]).strip()
        scale = UNIT_TONNES.get(unit.lower())
        if scale is None:
            raise ConfigError(f"validation mapping:{fid}", f"figure unit {unit!r} not comparable",
                              f"map only figures in {sorted(UNIT_TONNES)}")
        lo, hi = float(f["low"]), float(f["high"])
        if "measures" in entry:
            v, basis, verdict, reason = _measure_figure(
                fid, entry, measures, scale, unit, lo, hi, landcover_note, landcover_coarse)
        else:
            if residue_factors is None or land_area_ha is None:
                raise ConfigError(f"validation mapping:{fid}", "maps residues",
                                  "pass the residue factors and land areas")
            v, basis, verdict, reason = _residue_figure(
                fid, entry, residue_factors, land_area_ha, figures, scale, unit, lo, hi,
                landcover_note, landcover_coarse)
        rows.append({
            "figure_id": fid, "quantity": f["quantity"], "published_low": lo,
            "published_high": hi, "unit": unit, "pipeline_value": v["central"],
            "pipeline_low": v["low"], "pipeline_high": v["high"], "basis": basis,
            "verdict": verdict, "reason": reason.replace("\n", " "),
            "note": str(entry.get("note", "") or "").replace("\n", " "),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def landcover_label(grid_json: str | Path | None, name: str) -> tuple[str, bool]:
    """``("<name> (0.05 deg cells)", coarse)`` from ``grid.json``; coarse = cells >= ~250 m."""
    import json

    if not grid_json:
        return name, True
    with open(grid_json, encoding="utf-8") as f:
        grid = json.load(f)
    a = abs(float(grid["transform"][0]))
    if grid.get("is_geographic", True):
        return f"{name} ({a:g} deg cells)", a >= 0.00225
    return f"{name} ({a:g} m cells)", a >= 250.0


# ---------------------------------------------------------------------------- blue carbon

BLUE_FIGURES = {
    "coastal_blue_carbon": (
        ["coastal_vegetation_restoration"],
        "Paper: CURRENT burial sink of China's existing coastal ecosystems (mangrove, salt marsh, "
        "seagrass; Wang F et al. 2021 Natl Sci Rev). Ours: the POTENTIAL added by restoring "
        "coastal wetland vegetation (mangrove south of 27.33 N, salt marsh north of it) on the "
        "mapped eligible cells. Comparable: the per-ha burial rates come from the same literature, "
        "so the order of magnitude of coastal blue carbon per ha. Not comparable: the totals (a "
        "stock of existing habitat vs an added area)."),
    "offshore_ocean_sink": (
        ["shellfish_farming", "seaweed_farming"],
        "Paper: CURRENT uptake of China's offshore seas (air-sea CO2 flux and the biological "
        "pump of the shelf seas). Ours: the POTENTIAL of mariculture on near-shore sea cells "
        "(eligible area x rate, and the realistic value capped by the recorded farmed area). "
        "Comparable: nothing directly; mariculture is a small managed part of the shelf-sea "
        "carbon cycle and the open-sea processes are not mapped."),
}


def blue_carbon_rows(figures: pd.DataFrame, blue: pd.DataFrame, marine_enabled: bool = True,
                     realistic: bool = True) -> pd.DataFrame:  # fmt: skip
    """Rows (COLUMNS) comparing the paper's blue-carbon sinks with the mapped blue potentials.

    The verdict is always ``not_comparable`` (current sinks vs potentials); the reason gives the
    mapped and the realistic (capped) values so the reader sees the orders of magnitude.
    """
    fig = figures.set_index("id")
    nat = blue[blue["region_level"] == "nation"] if len(blue) else blue
    rows = []
    for fid, (ids, note) in BLUE_FIGURES.items():
        if fid not in fig.index:
            continue
        f = fig.loc[fid]
        unit = str(f["unit"]).strip()
        scale = UNIT_TONNES.get(unit.lower(), 1e9)
        sub = nat[nat["measure_id"].isin(ids)] if len(nat) else nat
        m = {lv: float(sub[f"mapped_{lv}_tco2_yr"].sum()) / scale if len(sub) else 0.0
             for lv in ("low", "central", "high")}  # fmt: skip
        r = {lv: float(sub[f"realistic_{lv}_tco2_yr"].sum()) / scale if len(sub) else 0.0
             for lv in ("low", "central", "high")}  # fmt: skip
        v = r if realistic else m
        reason = (f"current sink vs potential: mapped {_g(m['central'])} ({_g(m['low'])}-"
                  f"{_g(m['high'])}), realistic (capped by recorded farmed areas) "
                  f"{_g(r['central'])} {unit} from {', '.join(ids)}")  # fmt: skip
        if not marine_enabled and fid == "offshore_ocean_sink":
            reason += "; the near-shore sea is off (region.marine.enabled: false)"
        rows.append({
            "figure_id": fid, "quantity": f["quantity"], "published_low": float(f["low"]),
            "published_high": float(f["high"]), "unit": unit, "pipeline_value": v["central"],
            "pipeline_low": v["low"], "pipeline_high": v["high"],
            "basis": "realistic" if realistic else "eligible", "verdict": "not_comparable",
            "reason": reason, "note": note,
        })
    return pd.DataFrame(rows, columns=COLUMNS)
