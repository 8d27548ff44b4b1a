"""Compare the pipeline's national totals with the published figures of Yu et al. 2022.

The mapping file (``config/published/yu2022.yaml``, read with ``yaml.safe_load``) links a figure
id of the figures table to what the pipeline computes::

    cropland_potential: {measures: [straw_return, no_tillage], basis: allocated,
                         like_for_like: activity, note: ...}
    eco_ccus_forest: {residues: [forest_production, forest_removable_share],
                      ecosystem: forest, basis: residue}
    crop_straw_total: {residues: [...], ecosystem: cropland, tolerance: 0.05}

Each figure gets one row per basis (column ``basis``):

* ``allocated`` (map): the mapped allocated potentials of the measures (additive);
  ``eligible``/``technical``: eligible area x rate (each measure alone; overlaps double count);
* ``realistic`` (map): the mapped allocated potential limited by the caps (``sinkzone.realistic``);
* ``residue`` (map): national land-cover area of ``ecosystem`` x the residue factors;
* ``activity`` (like for like): the public activity statistics of
  ``config/published/activity_areas.csv`` (area of a practice or land class, cited) x the
  catalog's additional rates (``measure_id`` rows; co-located practices: the row's
  ``stack_pos`` k counts ``stack_factor ** k``) or x the figure's residue factors (``ecosystem``
  rows).

Low/central/high come from the catalog's rate_low/central/high, or the residue factors'
``value_low``/``value``/``value_high``. The verdict tests interval overlap of
[pipeline_low, pipeline_high] with the published [low, high] widened by the figure's stated
``tolerance`` (relative; for single-valued figures): ``within`` when they overlap, else
``below``/``above``. A figure whose factor was derived from the figure itself (a residue row with
``calibrated_from: <figure id>``, or ``calibrated: <reason>`` in the mapping) gets ``calibrated``
whatever the value. ``like_for_like`` marks the basis that matches how the paper computed the
figure (``like_for_like`` in the mapping; default its map basis).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.errors import ConfigError
from sinkzone.residues import PROD_UNITS, SHARE_UNITS
from sinkzone.units import GT, MT

log = logging.getLogger(__name__)

UNIT_TONNES = {"gt co2/yr": GT, "mt co2/yr": MT, "t co2/yr": 1.0, "gt/yr co2": GT}
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
    # appended (issue 11)
    "like_for_like",
    "tolerance",
    "inputs_estimated",
    "source_chain",
]
RTOL = 1e-9
MAP_BASES = ("allocated", "eligible", "technical")
AREA_UNITS = {
    "ha": 1.0,
    "mha": 1e6,
    "kha": 1e3,
    "10^4 ha": 1e4,
    "万公顷": 1e4,
    "mu": 1 / 15,
    "亩": 1 / 15,
    "10^8 mu": 1e8 / 15,
    "亿亩": 1e8 / 15,
}
ACTIVITY_COLUMNS = [
    "figure_id",
    "activity",
    "measure_id",
    "ecosystem",
    "region",
    "area",
    "unit",
    "year",
    "stack_pos",
    "source",
    "is_estimate",
    "notes",
]


def _flag(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def read_figures(path: str | Path) -> pd.DataFrame:
    from sinkzone.io import read_csv

    df = read_csv(path, dtype={"id": str, "quantity": str, "unit": str})
    need = ["id", "quantity", "low", "high", "unit"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"columns must include {need}")
    return df


def read_mapping(path: str | Path) -> dict:
    from sinkzone.io import read_yaml

    doc = read_yaml(path) or {}
    if not isinstance(doc, dict):
        raise ConfigError(path, "not a mapping of figure id -> entry", "see validation.py")
    if "figures" in doc and isinstance(doc["figures"], dict):
        doc = doc["figures"]
    for fid, entry in doc.items():
        if not isinstance(entry, dict) or (("measures" in entry) == ("residues" in entry)):
            raise ConfigError(
                f"{path}:{fid}",
                "needs exactly one of `measures` or `residues`",
                "write {measures: [...], basis: allocated|eligible} or "
                "{residues: [...], ecosystem: name, basis: residue}",
            )
        basis = entry.get("basis", "allocated" if "measures" in entry else "residue")
        ok = MAP_BASES if "measures" in entry else ("residue",)
        if basis not in ok:
            raise ConfigError(f"{path}:{fid}.basis", f"{basis!r}", f"use one of {ok}")
        if "residues" in entry and not entry.get("ecosystem"):
            raise ConfigError(
                f"{path}:{fid}.ecosystem",
                "missing",
                "name the ecosystem whose land area the residues apply to",
            )
        like = entry.get("like_for_like", basis)
        allowed = (basis, "activity", "realistic") if "measures" in entry else (basis, "activity")
        if like not in allowed:
            raise ConfigError(f"{path}:{fid}.like_for_like", f"{like!r}", f"use one of {allowed}")
        tol = entry.get("tolerance", 0.0)
        if not isinstance(tol, int | float) or isinstance(tol, bool) or not 0 <= tol < 1:
            raise ConfigError(
                f"{path}:{fid}.tolerance",
                f"{tol!r}",
                "write a relative tolerance between 0 and 1 (e.g. 0.05)",
            )
    return doc


def read_activity(path: str | Path) -> pd.DataFrame:
    """Read ``activity_areas.csv``; adds ``area_ha`` (hectares) and integer ``stack_pos``."""
    from sinkzone.io import read_csv  # one-line errors for any damage (#17)

    try:
        df = read_csv(path, dtype=str, keep_default_na=False)
    except OSError as exc:
        raise ConfigError(
            path,
            f"cannot read the activity table ({exc})",
            "write a UTF-8 CSV with columns " + ",".join(ACTIVITY_COLUMNS),
        ) from None
    missing = [c for c in ACTIVITY_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(path, f"missing columns {missing}", f"use columns {ACTIVITY_COLUMNS}")
    for n, r in df.iterrows():
        where = f"{path}:line {n + 2}"
        if (r["measure_id"].strip() == "") == (r["ecosystem"].strip() == ""):
            raise ConfigError(
                where,
                "needs exactly one of measure_id or ecosystem",
                "a practice row names a catalog measure; a land row an ecosystem",
            )
        if not r["source"].strip():
            raise ConfigError(
                f"{where}.source",
                "no source",
                "cite the statistic (and set is_estimate when unconfirmed)",
            )
        if r["unit"].strip().lower() not in AREA_UNITS:
            raise ConfigError(f"{where}.unit", f"{r['unit']!r}", f"use one of {sorted(AREA_UNITS)}")
    area = pd.to_numeric(df["area"], errors="coerce")
    if not (area >= 0).all():
        raise ConfigError(f"{path}:area", "non-numeric or negative areas", "write areas >= 0")
    df["area_ha"] = area * df["unit"].str.strip().str.lower().map(AREA_UNITS)
    pos = pd.to_numeric(df["stack_pos"].replace("", "0"), errors="coerce")
    if not ((pos >= 0) & (pos == pos.round())).all():
        raise ConfigError(
            f"{path}:stack_pos",
            "not a non-negative integer",
            "0 for the first practice on the land, 1 for the next co-located one",
        )
    df["stack_pos"] = pos.astype(int)
    df["is_estimate"] = df["is_estimate"].map(_flag)
    return df


def _g(x: float) -> str:
    """Short number for text."""
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _verdict(vlo: float, vhi: float, lo: float, hi: float, tol: float = 0.0) -> str:
    """Interval overlap of [vlo, vhi] with [lo, hi] widened by the relative tolerance."""
    lo_t, hi_t = lo - tol * abs(lo), hi + tol * abs(hi)
    eps = RTOL * max(abs(lo), abs(hi), 1e-12)
    if vhi < lo_t - eps:
        return "below"
    if vlo > hi_t + eps:
        return "above"
    return "within"


def _ratio_text(v, lo, hi, unit, verdict, vlo=None, vhi=None):
    rng = "" if vlo is None else f" (range {_g(vlo)}-{_g(vhi)})"
    if verdict == "below":
        return f"{_g(v)} {unit}{rng} is {_g(v / lo) if lo else 'n/a'}x the published low {_g(lo)}"
    if verdict == "above":
        return f"{_g(v)} {unit}{rng} is {_g(v / hi) if hi else 'n/a'}x the published high {_g(hi)}"
    if verdict == "calibrated":
        return f"{_g(v)} {unit}{rng} against {_g(lo)}-{_g(hi)}"
    return f"{_g(v)} {unit}{rng} overlaps {_g(lo)}-{_g(hi)}"


def _measure_map(fid, entry, measures, basis, scale, landcover_note):
    """Map-based values (allocated / technical / realistic) and the reason parts."""
    ids = list(entry["measures"])
    unknown = [m for m in ids if m not in set(measures["measure_id"])]
    if unknown:
        raise ConfigError(
            f"validation mapping:{fid}",
            f"unknown measures {unknown}",
            "use ids of config/technologies.csv",
        )
    pre = {"allocated": "potential", "realistic": "realistic_potential"}.get(
        basis, "technical_potential"
    )
    sub = measures.set_index("measure_id").loc[ids]
    vals = {
        b: sub[f"{pre}_{b}_tco2_yr"].astype(float).fillna(0.0) for b in ("low", "central", "high")
    }
    v = {b: float(vals[b].sum()) / scale for b in vals}
    parts = []
    cen = vals["central"]
    if cen.sum() > 0:
        dom = str(cen.idxmax())
        name = sub.loc[dom, "name_en"] if "name_en" in sub.columns else dom
        parts.append(f"{dom} ({name}) gives {cen.max() / cen.sum():.0%}")
        if bool(sub.loc[dom].get("rate_is_estimate", False)):
            parts.append(f"rate of {dom} is an estimate")
    el, al = sub["eligible_area_ha"].sum() / 1e6, sub["allocated_area_ha"].sum() / 1e6
    if basis == "realistic":
        ra = (
            sub["realistic_area_ha"].astype(float).sum() / 1e6
            if "realistic_area_ha" in sub.columns
            else float("nan")
        )
        parts.append(f"mapped allocated {_g(al)} Mha limited by config caps to {_g(ra)} Mha")
    elif basis == "allocated":
        tech = float(sub["technical_potential_central_tco2_yr"].fillna(0.0).sum()) / scale
        parts.append(
            f"mapped allocated on all eligible land (technical {_g(tech)}); "
            f"eligible {_g(el)} Mha, allocated {_g(al)} Mha"
        )
    else:
        alloc = float(sub["potential_central_tco2_yr"].fillna(0.0).sum()) / scale
        txt = f"{basis} basis, eligible area {_g(el)} Mha x rate (allocated {_g(alloc)})"
        if len(ids) > 1:
            txt += "; overlapping measures double count"
        parts.append(txt)
    none = [m for m in ids if not sub.loc[m, "eligible_area_ha"] > 0]
    if none:
        parts.append(f"no eligible land for {','.join(none)}")
    if landcover_note:
        parts.append(f"areas from {landcover_note}")
    est = bool(sub["rate_is_estimate"].any()) if "rate_is_estimate" in sub.columns else False
    chain = f"catalog rates x {basis} area of {','.join(ids)}"
    return v, parts, est, chain


def _residue_chain(fid, entry, factors):
    """(per-ha factor id, (low, central, high) t CO2/ha/yr), shares [(id, value)], estimate ids,
    calibrated-from-this-figure ids."""
    ids = [str(i) for i in entry["residues"]]
    table = factors.set_index("id")
    unknown = [i for i in ids if i not in table.index]
    if unknown:
        raise ConfigError(
            f"validation mapping:{fid}.residues",
            f"unknown ids {unknown}",
            "use ids of config/residues.csv",
        )
    per_ha, shares = None, []
    for i in ids:
        u = str(table.loc[i, "unit"]).strip().lower()
        val = float(table.loc[i, "value"])
        if u in PROD_UNITS and per_ha is None:
            f = PROD_UNITS[u]
            lo = table.loc[i].get("value_low", "")
            hi = table.loc[i].get("value_high", "")
            lo = float(lo) if str(lo).strip() not in ("", "nan") else val
            hi = float(hi) if str(hi).strip() not in ("", "nan") else val
            per_ha = (i, (lo * f, val * f, hi * f))
        elif u in SHARE_UNITS:
            shares.append((i, val * SHARE_UNITS[u]))
        else:
            raise ConfigError(
                f"validation mapping:{fid}.residues",
                f"{i} has unit {u!r}",
                "list one per-ha quantity (t CO2/ha/yr or t C/ha/yr) and shares (fraction)",
            )
    if per_ha is None:
        raise ConfigError(
            f"validation mapping:{fid}.residues",
            "no per-ha quantity",
            "list one residues.csv row in t CO2/ha/yr",
        )
    est = [i for i in ids if _flag(table.loc[i, "is_estimate"])]
    cal = [
        i
        for i in ids
        if "calibrated_from" in table.columns
        and fid in [x.strip() for x in str(table.loc[i, "calibrated_from"]).split(";")]
    ]
    return per_ha, shares, est, cal


def _residue_values(area_ha, per_ha, shares, scale):
    prod = float(np.prod([x for _, x in shares])) if shares else 1.0
    lo, c, hi = (area_ha * r * prod / scale for r in per_ha[1])
    return {"low": lo, "central": c, "high": hi}


def _chain_text(eco, mha, per_ha, shares, what):
    t = (
        f"{eco} {_g(mha)} Mha ({what}) x {_g(per_ha[1][1])} "
        f"({_g(per_ha[1][0])}-{_g(per_ha[1][2])}) t CO2/ha/yr ({per_ha[0]})"
    )
    return t + "".join(f" x {x:g} ({i})" for i, x in shares)


def _activity_measures(fid, rows, catalog, stack_factor, scale):
    cat = catalog.set_index("id")
    unknown = sorted(set(rows["measure_id"]) - set(cat.index))
    if unknown:
        raise ConfigError(
            f"activity areas:{fid}",
            f"unknown measures {unknown}",
            "use ids of config/technologies.csv",
        )
    v = {"low": 0.0, "central": 0.0, "high": 0.0}
    parts = []
    for _, r in rows.iterrows():
        c = cat.loc[r["measure_id"]]
        w = float(stack_factor) ** int(r["stack_pos"])
        f = float(c.get("rate_factor", 1.0))
        for b in v:
            v[b] += r["area_ha"] * float(c[f"rate_{b}"]) * f * w / scale
        txt = (
            f"{r['activity']} {_g(r['area_ha'] / 1e6)} Mha ({r['year']}"
            f"{', estimate' if r['is_estimate'] else ''}) x {r['measure_id']} "
            f"{_g(float(c['rate_central']) * f)} t CO2/ha/yr"
        )
        if int(r["stack_pos"]):
            txt += f" x {_g(w)} (co-located)"
        parts.append(txt)
    area_est = [str(a) for a in rows.loc[rows["is_estimate"], "activity"]]
    parts.append(
        "activity areas: "
        + (f"ESTIMATES for {'; '.join(area_est)}" if area_est else "all from cited statistics")
    )
    rate_est = sorted({m for m in rows["measure_id"] if _flag(cat.loc[m, "rate_is_estimate"])})
    if rate_est:
        parts.append(f"catalog rates flagged estimate: {','.join(rate_est)}")
    est = bool(area_est) or bool(rate_est)
    return v, parts, est


def validation_table(
    figures: pd.DataFrame,
    mapping: dict,
    measures: pd.DataFrame,
    *,
    residue_factors: pd.DataFrame | None = None,
    land_area_ha: dict[str, float] | None = None,
    landcover_note: str = "",
    landcover_coarse: bool = True,
    activity: pd.DataFrame | None = None,
    catalog: pd.DataFrame | None = None,
    stack_factor: float = 0.5,
) -> pd.DataFrame:
    """Rows per mapped figure and basis: published range, pipeline values, verdict, reason.

    ``measures`` is the national per-measure table (``aggregate.measure_table``; realistic
    columns optional); ``residue_factors`` the rows of ``config/residues.csv``;
    ``land_area_ha`` the national land area per ecosystem name; ``activity`` the table of
    :func:`read_activity` and ``catalog`` ``aggregate.read_catalog`` (additional rates) for the
    ``activity`` basis. ``landcover_note`` names the land cover and its cell size; with
    ``landcover_coarse`` a cropland shortfall is attributed to coarse cells.
    """
    measures = measures.copy()
    if "rate_is_estimate" in measures.columns and measures["rate_is_estimate"].dtype != bool:
        measures["rate_is_estimate"] = measures["rate_is_estimate"].map(_flag)
    fig = figures.set_index("id")
    unknown = sorted(set(mapping) - set(fig.index))
    if unknown:
        raise ConfigError(
            "validation mapping",
            f"figure ids {unknown} not in the figures table",
            "use ids of config/published/yu2022_figures.csv",
        )
    if activity is not None and len(activity):
        bad = sorted(set(activity["figure_id"]) - set(fig.index))
        if bad:
            raise ConfigError(
                "activity areas",
                f"figure ids {bad} are not in the figures table",
                "use figure ids of config/published/yu2022_figures.csv",
            )
        if catalog is None and (activity["measure_id"] != "").any():
            raise ConfigError(
                "activity areas",
                "practice rows need the catalog",
                "pass the catalog (aggregate.read_catalog)",
            )
    unmapped = [f for f in fig.index if f not in mapping]
    if unmapped:
        log.info("figures without a pipeline counterpart (not compared): %s", unmapped)
    rows = []
    for fid in [f for f in fig.index if f in mapping]:
        entry, f = mapping[fid], fig.loc[fid]
        unit = str(f["unit"]).strip()
        scale = UNIT_TONNES.get(unit.lower())
        if scale is None:
            raise ConfigError(
                f"validation mapping:{fid}",
                f"figure unit {unit!r} not comparable",
                f"map only figures in {sorted(UNIT_TONNES)}",
            )
        lo, hi = float(f["low"]), float(f["high"])
        tol = float(entry.get("tolerance", 0.0) or 0.0)
        map_basis = entry.get("basis", "allocated" if "measures" in entry else "residue")
        like = entry.get("like_for_like", map_basis)
        note = str(entry.get("note", "") or "").replace("\n", " ")
        calibrated = str(entry.get("calibrated", "") or "").strip()
        act = (
            activity[activity["figure_id"] == fid]
            if activity is not None
            else pd.DataFrame(columns=ACTIVITY_COLUMNS)
        )
        results = []  # (basis, values, parts, estimated, chain)
        if "measures" in entry:
            bases = [map_basis]
            if "realistic_potential_central_tco2_yr" in measures.columns:
                bases.append("realistic")
            for b in bases:
                results.append(
                    (b, *_measure_map(fid, entry, measures, b, scale, landcover_note), "")
                )
            if len(act):
                pr = act[act["measure_id"] != ""]
                if len(pr) != len(act):
                    raise ConfigError(
                        f"activity areas:{fid}",
                        "land rows for a measure figure",
                        "give practice rows (measure_id) for this figure",
                    )
                v, parts, est = _activity_measures(fid, pr, catalog, stack_factor, scale)
                srcs = "; ".join(dict.fromkeys(pr["source"]))
                why = "; ".join(n for n in dict.fromkeys(pr["notes"]) if n.strip())
                results.append(("activity", v, parts, est, srcs, why))
        else:
            if residue_factors is None or land_area_ha is None:
                raise ConfigError(
                    f"validation mapping:{fid}",
                    "maps residues",
                    "pass the residue factors and land areas",
                )
            eco = str(entry["ecosystem"])
            if eco not in land_area_ha:
                raise ConfigError(
                    f"validation mapping:{fid}.ecosystem",
                    f"unknown ecosystem {eco!r}",
                    f"use one of {sorted(land_area_ha)}",
                )
            per_ha, shares, est_ids, cal_ids = _residue_chain(fid, entry, residue_factors)
            if cal_ids and not calibrated:
                calibrated = (
                    f"{','.join(cal_ids)} derived from this figure (residues.csv calibrated_from)"
                )
            area = float(land_area_ha[eco])
            parts = [_chain_text(eco, area / 1e6, per_ha, shares, "mapped land cover")]
            ref = figures[
                (figures["unit"].astype(str).str.strip() == "Mha")
                & figures["id"].astype(str).str.contains(eco)
            ]
            if len(ref) and area > 0:
                r = ref.iloc[-1]
                parts.append(
                    f"land-cover {eco} area is {_g(area / 1e6 / float(r['high']))}x "
                    f"{r['id']} ({_g(float(r['high']))} Mha)"
                )
            if est_ids:
                parts.append(f"estimates: {','.join(est_ids)}")
            if landcover_note:
                parts.append(f"areas from {landcover_note}")
            results.append(
                (
                    "residue",
                    _residue_values(area, per_ha, shares, scale),
                    parts,
                    bool(est_ids),
                    "residues.csv factors x land-cover area",
                    "",
                )
            )
            if len(act):
                land = act[(act["ecosystem"] == eco) & (act["measure_id"] == "")]
                if len(land) != len(act):
                    raise ConfigError(
                        f"activity areas:{fid}",
                        f"rows other than {eco} land",
                        f"give one {eco} land-area row for this figure",
                    )
                a = float(land["area_ha"].sum())
                p2 = [
                    _chain_text(
                        eco,
                        a / 1e6,
                        per_ha,
                        shares,
                        "public statistics, " + "; ".join(dict.fromkeys(land["year"])),
                    )
                ]
                if est_ids:
                    p2.append(f"estimates: {','.join(est_ids)}")
                p2.append(
                    "activity areas: "
                    + ("ESTIMATES" if land["is_estimate"].any() else "all from cited statistics")
                )
                results.append(
                    (
                        "activity",
                        _residue_values(a, per_ha, shares, scale),
                        p2,
                        bool(est_ids) or bool(land["is_estimate"].any()),
                        "; ".join(dict.fromkeys(land["source"])),
                        "; ".join(n for n in dict.fromkeys(land["notes"]) if n.strip()),
                    )
                )
        for basis, v, parts, est, chain, why in results:
            verdict = _verdict(v["low"], v["high"], lo, hi, tol)
            head = _ratio_text(v["central"], lo, hi, unit, verdict, v["low"], v["high"])
            extra = []
            if calibrated:
                extra.append(
                    f"CALIBRATED, not a validation: {calibrated} (interval test "
                    f"would say {verdict})"
                )
                verdict = "calibrated"
                head = _ratio_text(v["central"], lo, hi, unit, verdict, v["low"], v["high"])
            if tol:
                extra.append(f"tolerance +-{tol:.0%} of the single-valued figure")
            if basis == like:
                extra.append("like-for-like basis (how the paper computed the figure)")
            if (
                verdict == "below"
                and landcover_coarse
                and landcover_note
                and (
                    "cropland" in str(entry.get("ecosystem", ""))
                    or any(
                        "tillage" in m or "straw" in m or "manure" in m
                        for m in entry.get("measures", [])
                    )
                )
                and basis != "activity"
            ):
                extra.append("coarse cells undercount small cropland parcels")
            if verdict in ("below", "above") and why:
                extra.append(f"why: {why}")
            if est:
                extra.append("inputs include estimates")
            rows.append(
                {
                    "figure_id": fid,
                    "quantity": f["quantity"],
                    "published_low": lo,
                    "published_high": hi,
                    "unit": unit,
                    "pipeline_value": v["central"],
                    "pipeline_low": v["low"],
                    "pipeline_high": v["high"],
                    "basis": basis,
                    "verdict": verdict,
                    "reason": "; ".join([head, *parts, *extra]).replace("\n", " "),
                    "note": note,
                    "like_for_like": basis == like,
                    "tolerance": tol,
                    "inputs_estimated": bool(est),
                    "source_chain": chain.replace("\n", " "),
                }
            )
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
        "stock of existing habitat vs an added area).",
    ),
    "offshore_ocean_sink": (
        ["shellfish_farming", "seaweed_farming"],
        "Paper: CURRENT uptake of China's offshore seas (air-sea CO2 flux and the biological "
        "pump of the shelf seas). Ours: the POTENTIAL of mariculture on near-shore sea cells "
        "(eligible area x rate, and the realistic value capped by the recorded farmed area). "
        "Comparable: nothing directly; mariculture is a small managed part of the shelf-sea "
        "carbon cycle and the open-sea processes are not mapped.",
    ),
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
        scale = UNIT_TONNES.get(unit.lower(), GT)
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
        rows.append(
            {
                "figure_id": fid,
                "quantity": f["quantity"],
                "published_low": float(f["low"]),
                "published_high": float(f["high"]),
                "unit": unit,
                "pipeline_value": v["central"],
                "pipeline_low": v["low"],
                "pipeline_high": v["high"],
                "basis": "realistic" if realistic else "eligible",
                "verdict": "not_comparable",
                "reason": reason,
                "note": note,
                # a potential is never like-for-like with a current sink
                "like_for_like": False,
                "tolerance": 0.0,
                "inputs_estimated": True,
                "source_chain": "tables/blue_carbon.csv <- potential_by_region.csv (sea and coastal "
                "cells) x config/technologies.csv rates, capped by "
                "config/mariculture_areas.csv (estimates)",
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
