"""Zone bitmask of a tile: the three zones and four belts (bit i = i-th item of zones.items).

A recipe is ``{include: [..], exclude: [..], require: [..]}`` of components:
- ``{vector: NAME}``: inside a polygon of layer NAME of vectors.gpkg (rasterized by the caller);
- ``{admin: [adcodes]}``: province adcodes ``xx0000`` match the province layer, prefecture
  adcodes ``xxxx00`` match county codes by their first four digits, other codes match counties
  exactly;
- ``{layer: NAME, op: OP, value: V}``: a condition on a tile layer (``climate`` values are
  letters A-E). Kept minimal here; the same grammar as sinkzone.suitability leaves.

zone = (any include, or everywhere when include is empty) and not (any exclude) and
(all require), always restricted to the region. Everything here is pure (arrays in and out).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sinkzone import layerspec
from sinkzone.classes import climate_classes
from sinkzone.errors import ConfigError
from sinkzone.suitability import compare

CLIMATE_CODES = {c.code: c.value for c in climate_classes()}  # config/climate_classes.csv
OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "between")
MAX_ZONES = 16


def _value(layer: str, v):
    if layer == "climate":
        if isinstance(v, list | tuple):
            return [_value(layer, x) for x in v]
        if isinstance(v, str):
            if v.upper() not in CLIMATE_CODES:
                raise ConfigError(
                    "config.yaml:zones.items", f"climate value '{v}' is not A-E", "use A-E"
                )
            return CLIMATE_CODES[v.upper()]
    return v


def evaluate_leaf(leaf: dict, layers: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate {layer, op, value} on the tile layers; cells at the layer's nodata are False."""
    name, op = leaf.get("layer"), leaf.get("op")
    if name not in layers:
        raise ConfigError(
            "config.yaml:zones.items",
            f"condition on unknown layer '{name}'",
            f"use one of {sorted(layers)}",
        )
    if op not in OPS:
        raise ConfigError("config.yaml:zones.items", f"unknown op '{op}'", f"use one of {OPS}")
    arr = layers[name]
    v = _value(name, leaf.get("value"))
    m = compare(arr, op, list(v) if op in ("in", "not_in") else v)
    nodata = NODATA.get(name)
    if nodata is not None:
        m &= arr != nodata
    return np.asarray(m, bool)


# nodata of the layers a condition may use (config/layers.yaml; bitmasks have none)
NODATA = {
    n: v["nodata"]
    for n, v in layerspec.spec()["layers"].items()
    if v["nodata"] is not None and v["kind"] not in layerspec.BITMASK_KINDS
}


def admin_mask(codes, province: np.ndarray, county: np.ndarray) -> np.ndarray:
    """Cells whose province / prefecture / county matches one of the adcodes."""
    m = np.zeros(province.shape, bool)
    prov = [int(c) for c in codes if int(c) % 10000 == 0]
    pref = [int(c) // 100 for c in codes if int(c) % 100 == 0 and int(c) % 10000 != 0]
    cty = [int(c) for c in codes if int(c) % 100 != 0]
    if prov:
        m |= np.isin(province, prov)
    if pref:
        m |= np.isin(county // 100, pref)
    if cty:
        m |= np.isin(county, cty)
    return m


def component_mask(
    comp: dict,
    layers: dict[str, np.ndarray],
    vector_mask: Callable[[str], np.ndarray],
) -> np.ndarray:
    """One recipe component -> bool mask. `vector_mask(name)` rasterizes a vectors.gpkg layer."""
    if "vector" in comp:
        return np.asarray(vector_mask(comp["vector"]), bool)
    if "admin" in comp:
        return admin_mask(comp["admin"], layers["province"], layers["county"])
    if "layer" in comp:
        return evaluate_leaf(comp, layers)
    raise ConfigError(
        "config.yaml:zones.items",
        f"recipe component {comp} is not vector/admin/layer",
        "use {vector: NAME}, {admin: [adcodes]} or {layer: NAME, op: OP, value: V}",
    )


def zone_bitmask(
    items: list[dict],
    layers: dict[str, np.ndarray],
    region: np.ndarray,
    vector_mask: Callable[[str], np.ndarray],
) -> np.ndarray:
    """uint16 bitmask from the recipes of zones.items, restricted to region == 1."""
    if len(items) > MAX_ZONES:
        raise ConfigError(
            "config.yaml:zones.items", f"{len(items)} zones (max {MAX_ZONES})", "merge zones"
        )
    inside = region == 1
    out = np.zeros(region.shape, np.uint16)
    for i, item in enumerate(items):
        rec = item.get("recipe") or {}
        inc = rec.get("include") or []
        m = inside.copy()
        if inc:
            any_inc = np.zeros(region.shape, bool)
            for comp in inc:
                any_inc |= component_mask(comp, layers, vector_mask)
            m &= any_inc
        for comp in rec.get("exclude") or []:
            m &= ~component_mask(comp, layers, vector_mask)
        for comp in rec.get("require") or []:
            m &= component_mask(comp, layers, vector_mask)
        out[m] |= np.uint16(1 << i)
    return out


def official_bitmask(
    items: list[dict],
    zone_masks: dict[str, np.ndarray],
    region: np.ndarray,
    source="zones_official",
) -> np.ndarray:
    """uint16 bitmask from official zone polygons already rasterized per zone id."""
    ids = [it["id"] for it in items]
    unknown = sorted(set(zone_masks) - set(ids))
    if unknown:
        raise ConfigError(
            source,
            f"zone ids {unknown} are not in zones.items",
            f"map the official attribute values to one of {ids} in zones.official.mapping",
        )
    out = np.zeros(region.shape, np.uint16)
    inside = region == 1
    for i, zid in enumerate(ids):
        if zid in zone_masks:
            out[inside & np.asarray(zone_masks[zid], bool)] |= np.uint16(1 << i)
    return out
