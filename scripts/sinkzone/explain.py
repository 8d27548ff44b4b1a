"""Why each measure is (not) eligible and (not) allocated on one cell of a finished run.

`explain_cell` reads the layer mosaics results/{run}/layers/*.tif and results/{run}/prep/
grid.json, re-evaluates config/suitability.yaml on that one cell with the same code as
assign_tile, and returns a JSON-ready dict: the layer values (with names for the codes of
province, county, land cover, ecosystem, climate and zones), and per measure its status,
the conditions that failed and those that held, the constraints that removed it, the
allocated share and potential, and for an eligible measure that got less than its share the
measures that took the land (a conversion, or a higher-ranked measure of its exclusive
group). Formatting as text (English or Chinese) is `sinkzone.cli.format_text`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from pyproj import Transformer
from rasterio.windows import Window

from sinkzone.allocate import allocate, eligibility, measure_shares, specs_from_catalog
from sinkzone.catalog import load_catalog, ranking_order
from sinkzone.classes import climate_classes
from sinkzone.grid import cell_areas_m2, grid_transform
from sinkzone.layerspec import layer_names
from sinkzone.legend import legend_path
from sinkzone.potential import potential
from sinkzone.suitability import (
    LAYERS,
    cell_state,
    deferred_masks,
    describe_value,
    explain,
    explain_passed,
    load_ruleset,
    load_vocab,
    zone_names,
)

RASTER_LAYERS = tuple(layer_names())  # config/layers.yaml
DEFAULT_RANKING = ["comprehensive_index", "carbon_sink_effect", "technology_maturity"]
# Koppen-Geiger main groups of the climate layer (config/climate_classes.csv, as on climate.png)
CLIMATE_NAMES = {c.value: (c.name_en, c.name_zh) for c in climate_classes()}


class PointError(Exception):
    """The point cannot be explained (outside grid/region, run missing): exit 2."""


def _resolve(path: str, config_path: Path) -> Path:
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    alt = config_path.resolve().parent.parent / p
    return alt if alt.exists() else p


def locate(grid: dict, lon: float, lat: float) -> tuple[int, int]:
    """(row, col) of the grid cell containing lon/lat (EPSG:4326); PointError outside."""
    x, y = lon, lat
    if not grid["is_geographic"]:
        x, y = Transformer.from_crs("EPSG:4326", grid["crs"], always_xy=True).transform(lon, lat)
    col_f, row_f = ~grid_transform(grid) @ (x, y)
    row, col = int(np.floor(row_f)), int(np.floor(col_f))
    if not (0 <= row < grid["height"] and 0 <= col < grid["width"]):
        raise PointError(
            f"lon {lon}, lat {lat} is outside the analysis grid (bounds "
            f"{[round(b, 4) for b in grid['region_bounds']]} in the grid CRS)"
        )
    return row, col


def read_cell(layers_dir: Path, grid: dict, row: int, col: int) -> dict:
    """Raw values (numpy scalars, stored dtype) of every layer mosaic at one grid cell."""
    t = grid_transform(grid)
    x, y = t @ (col + 0.5, row + 0.5)
    out = {}
    for name in RASTER_LAYERS:
        p = layers_dir / f"{name}.tif"
        if not p.exists():
            continue
        with rasterio.open(p) as src:
            r, c = src.index(x, y)
            if not (0 <= r < src.height and 0 <= c < src.width):
                raise PointError(f"{p} does not cover the cell; rerun the mosaics")
            out[name] = src.read(1, window=((r, r + 1), (c, c + 1)))[0, 0]
    lon, lat = x, y
    if not grid["is_geographic"]:
        lon, lat = Transformer.from_crs(grid["crs"], "EPSG:4326", always_xy=True).transform(x, y)
    out["lon"], out["lat"] = float(lon), float(lat)
    return out


# ------------------------------------------------------------------------ names of codes


def region_names(path: Path) -> dict[int, tuple[str, str]]:
    """{adcode: (name_en, name_zh)} from results/{run}/prep/regions.csv ({} when absent)."""
    if not path.exists():
        return {}
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"code", "name_en", "name_zh"} <= set(df.columns):
        return {}
    out = {}
    for code, en, zh in zip(df["code"], df["name_en"], df["name_zh"], strict=True):
        try:
            out[int(code)] = (en, zh)
        except ValueError:
            continue
    return out


def landcover_names(cfg: dict, config_path: Path) -> dict[int, tuple[str, str]]:
    """{code: (name, name_zh)} of the run's land-cover legend ({} when it cannot be read)."""
    value = (cfg.get("landcover") or {}).get("legend")
    if not value:
        return {}
    path = _resolve(legend_path(value), config_path)
    if not path.exists():
        return {}
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"code", "name"} <= set(df.columns):
        return {}
    zh = df["name_zh"] if "name_zh" in df.columns else df["name"]
    out = {}
    for code, en, z in zip(df["code"], df["name"], zh, strict=True):
        try:
            out[int(code)] = (en, z or en)
        except ValueError:
            continue
    return out


def ecosystem_names(path: Path) -> dict[int, tuple[str, str]]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"id", "name_en", "name_zh"} <= set(df.columns):
        return {}
    return {
        int(i): (en, zh) for i, en, zh in zip(df["id"], df["name_en"], df["name_zh"], strict=True)
    }


def _named(layers: dict, name: str, table: dict) -> None:
    if name in layers and layers[name]["raw"] in table:
        en, zh = table[layers[name]["raw"]]
        layers[name]["name_en"], layers[name]["name_zh"] = en, zh


def _composition(cfg, config_path, stack):
    """Permille of the cell's ecosystem in its legend class (None without a landcover layer)."""
    from sinkzone.legend import (
        composition_lut,
        composition_permille,
        load_ecosystems,
        load_legend,
        load_shares,
    )

    legend = cfg.get("landcover", {}).get("legend")
    if "landcover" not in stack or not legend:
        return None
    eco = load_ecosystems(_resolve(cfg["ecosystems"], config_path))
    path = _resolve(legend_path(legend), config_path)
    lut = composition_lut(load_shares(path, eco), load_legend(path, eco))
    return composition_permille(stack["landcover"], lut)


# ----------------------------------------------------------------- why not allocated


def allocation_losses(order, specs, got, deferred=()) -> dict[int, list[dict]]:
    """Per eligible measure index with allocated < share: the measures that took its land.

    Replays allocate()'s two passes on one cell from the visit records `got`
    ({index: (share, alloc, stack_pos)}). Each taker is ``{index, permille, kind}``: kind
    ``conversion`` = a higher-ranked conversion (conversions share one land pool), ``converted``
    = a conversion that took the land of a management measure (conversions are allocated
    before every management measure, whatever their rank), ``group`` = a higher-ranked
    management measure of the same exclusive group, ``management_first`` = a management
    measure that took the land of a conversion deferred by an ``after_management`` constraint
    (indices in ``deferred``).
    """
    conversions: list[tuple[int, int]] = []  # (index, allocated permille) in rank order
    for i in order:
        if specs[i].land_use == "conversion":
            conversions.append((i, got.get(i, (0, 0, 0))[1]))
    out: dict[int, list[dict]] = {}
    seen_conv: list[tuple[int, int]] = []
    seen_group: dict[str, list[tuple[int, int]]] = {}
    for i in order:
        share, alloc, _ = got.get(i, (0, 0, 0))
        spec = specs[i]
        if spec.land_use == "conversion":
            takers = [(j, a, "conversion") for j, a in seen_conv if a > 0]
            if i in deferred:
                takers += [
                    (j, got.get(j, (0, 0, 0))[1], "management_first")
                    for j in order
                    if specs[j].land_use == "management" and got.get(j, (0, 0, 0))[1] > 0
                ]
            seen_conv.append((i, alloc))
        else:
            before = seen_group.setdefault(spec.group, [])
            takers = [(j, a, "converted") for j, a in conversions if a > 0]
            takers += [(j, a, "group") for j, a in before if a > 0]
            before.append((i, alloc))
        if share > 0 and alloc < share:
            out[i] = [{"index": j, "permille": a, "kind": k} for j, a, k in takers]
    return out


# ------------------------------------------------------------------------------ explain


def explain_cell(
    cfg: dict, config_path: Path, results: Path, run: str, lon: float, lat: float
) -> dict:
    """Everything `explain` prints, as a JSON-ready dict."""
    run_dir = results / run
    gpath = run_dir / "prep" / "grid.json"
    if not gpath.exists():
        raise PointError(
            f"{gpath} not found: run the workflow first (or check --run and --results-dir)"
        )
    grid = json.loads(gpath.read_text(encoding="utf-8"))
    row, col = locate(grid, lon, lat)
    vals = read_cell(run_dir / "layers", grid, row, col)
    if "region" not in vals:
        raise PointError(f"{run_dir / 'layers'} has no region.tif: run the workflow first")
    if int(vals["region"]) != 1:
        raise PointError(
            f"lon {lon}, lat {lat} (grid row {row}, col {col}) is outside the analysis region"
        )
    zones_cfg = cfg["zones"]["items"]
    eco_path = _resolve(cfg["ecosystems"], config_path)
    vocab = load_vocab(eco_path, [z["id"] for z in zones_cfg], landcover_nodata=grid.get("nodata"))
    cat = load_catalog(_resolve(cfg["catalog"], config_path))
    rs = load_ruleset(_resolve(cfg["suitability"], config_path), vocab, cat)
    missing = sorted(rs.layers_used - set(vals))
    if missing:
        raise PointError(f"layer mosaics {missing} are missing in {run_dir / 'layers'}")
    alloc_cfg = cfg.get("allocation", {})
    ranking = alloc_cfg.get("ranking", DEFAULT_RANKING)
    sf = float(alloc_cfg.get("stack_factor", 0.5))

    stack = {k: np.asarray([[v]]) for k, v in vals.items()}
    comp = _composition(cfg, config_path, stack)  # as in assign_tile: composite legend classes
    shares = measure_shares(rs, cat.ids, stack, comp)
    bits = eligibility(rs, cat, stack, vocab, shares, stack["region"])
    deferred = deferred_masks(rs, cat.ids, stack, vocab)
    got: dict[int, tuple] = {}
    area = cell_areas_m2(grid, Window(col, row, 1, 1))[0]
    specs = specs_from_catalog(cat)
    order = ranking_order(cat, ranking)
    res = allocate(
        bits,
        shares,
        specs,
        order,
        area[:, None],
        sf,
        visit=lambda i, s, a, p: got.__setitem__(i, (int(s[0, 0]), int(a[0, 0]), int(p[0, 0]))),
        deferred=deferred,
        land=comp,
    )
    later = {i for i, d in enumerate(deferred) if d is not None and bool(np.asarray(d).any())}
    losses = allocation_losses(order, specs, got, later)
    rank_of = {i: k + 1 for k, i in enumerate(order)}

    zone_ids = zone_names(int(vals.get("zones", 0)), vocab.zones)
    layers = {}
    for name in RASTER_LAYERS + ("lat", "lon"):
        if name in vals:
            raw = vals[name]
            layers[name] = {
                "raw": raw.item() if hasattr(raw, "item") else raw,
                "value": describe_value(name, raw, vocab),
                "unit": LAYERS[name].unit if name in LAYERS else "",
            }
    regions = region_names(run_dir / "prep" / "regions.csv")
    _named(layers, "province", regions)
    _named(layers, "county", regions)
    _named(layers, "landcover", landcover_names(cfg, config_path))
    _named(layers, "ecosystem", ecosystem_names(eco_path))
    _named(layers, "climate", CLIMATE_NAMES)

    def ref(j: int) -> dict:
        r = cat.rows[j]
        return {"id": cat.ids[j], "name_en": r["name_en"], "name_zh": r["name_zh"]}

    measures = []
    for i, mid in enumerate(cat.ids):
        m, r = rs.measures[mid], cat.rows[i]
        item = {
            "id": mid,
            "name_en": r["name_en"],
            "name_zh": r["name_zh"],
            "group": r["group"],
            "land_use": r["land_use"],
            "rank": rank_of[i],
        }
        if m.where is None:
            item.update(status="not mapped", reason=m.not_mapped, reason_zh=m.not_mapped_zh or "")
            measures.append(item)
            continue
        eligible = bool(bits[0, 0] >> i & 1)
        item["status"] = "eligible" if eligible else "not eligible"
        item["passed"] = explain_passed(m.where, vals, vocab)
        tags = cat.tags(mid)
        if not eligible:
            item["failed"] = explain(m.where, vals, vocab)
            removed = []
            for c in rs.constraints:
                state = cell_state(c.when, vals, vocab)
                if c.removes(tags) and state is not False:  # applies where true or unknown
                    note = "" if state else " (applied: no data)"
                    note_zh = "" if state else "（无数据，按适用处理）"
                    removed.append(
                        {
                            "id": c.id,
                            "principle": c.principle,
                            "description": c.description + note,
                            "description_zh": c.description_zh + note_zh
                            if c.description_zh
                            else "",
                        }
                    )
            item["removed_by"] = removed
            layer = rs.share_layer(mid)
            if layer and not item["failed"] and not removed:
                item["failed"] = [
                    {
                        "path": f"measures.{mid}.area_share",
                        "layer": layer,
                        "condition": f"{layer} share > 0",
                        "actual": describe_value(layer, vals.get(layer), vocab),
                        "negated": False,
                        "reason": "false",
                    }
                ]
        else:
            item["constraints_passed"] = [
                {
                    "id": c.id,
                    "principle": c.principle,
                    "description": c.description,
                    "description_zh": c.description_zh,
                }
                for c in rs.constraints
                if c.removes(tags)
            ]
        share, alloc, sp = got.get(i, (0, 0, 0))
        rates = cat.rates_tco2(mid)
        allocated_ha = alloc / 1000 * float(area[0]) / 1e4
        item.update(
            share_permille=share,
            allocated_permille=alloc,
            stack_pos=sp,
            allocated_ha=allocated_ha,
            potential_tco2_yr={
                k: potential(allocated_ha, v, sf**sp)
                for k, v in zip(("low", "central", "high"), rates, strict=True)
            },
        )
        if eligible and sp:
            item["stack_factor"] = sf**sp
        if i in losses:
            item["not_allocated"] = {
                "permille": share - alloc,
                "taken_by": [
                    {
                        **ref(t["index"]),
                        "kind": t["kind"],
                        "permille": t["permille"],
                        "rank": rank_of[t["index"]],
                    }
                    for t in losses[i]
                ],
            }
        measures.append(item)
    p = int(res.primary[0, 0])
    return {
        "run": run,
        "lon": lon,
        "lat": lat,
        "row": row,
        "col": col,
        "cell_area_ha": float(area[0]) / 1e4,
        "layers": layers,
        "zones": [
            {"id": z["id"], "name_en": z.get("name_en", ""), "name_zh": z.get("name_zh", "")}
            for z in zones_cfg
            if z["id"] in zone_ids
        ],
        "primary": cat.ids[p - 1] if p else None,
        "primary_name_en": cat.rows[p - 1]["name_en"] if p else None,
        "primary_name_zh": cat.rows[p - 1]["name_zh"] if p else None,
        "ranking": list(ranking),
        "stack_factor": sf,
        "potential_tco2_yr": {k: float(v[0, 0]) for k, v in res.potential.items()},
        "measures": measures,
    }
