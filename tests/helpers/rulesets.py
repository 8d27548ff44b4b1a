"""A small suitability rule set, its vocabulary and constant layer stacks, shared by the rule,
allocation, principle, tile and CLI tests."""

from __future__ import annotations

import textwrap

import numpy as np

from helpers.catalog import write_catalog
from sinkzone.catalog import load_catalog
from sinkzone.layers import LAYERS as TILE_LAYERS
from sinkzone.suitability import (
    Vocab,
    load_ruleset,
)

ECOSYSTEMS = {
    "forest": 1,
    "shrubland": 2,
    "grassland": 3,
    "cropland": 4,
    "wetland": 5,
    "water": 6,
    "urban": 7,
    "barren": 8,
    "snow_ice": 9,
}
ZONES = (
    "qtp",
    "yellow_river",
    "yangtze_river",
    "northeast_forest",
    "northern_sand",
    "southern_hilly",
    "coastal",
)
SUITABILITY_YAML = textwrap.dedent("""\
    options: {steep_threshold_deg: 25, coastal_max_km: 20}
    constraints:
      - id: red_line_protection_only
        principle: "1.1"
        description: Inside ecological red lines only protection measures
        when: {layer: red_line, op: eq, value: true}
        allow_only_tags: [protection]
      - id: no_trees_in_drylands
        principle: "1.4"
        description: No tree planting in arid and semi-arid climate (B)
        when: {layer: climate, op: eq, value: B}
        forbid_tags: [tree_planting]
    measures:
      afforestation:
        principles: ["1.2", "1.4"]
        description: Shrubland and barren land outside the plateau, enough rain
        where:
          all:
            - {layer: ecosystem, op: in, value: [shrubland, barren]}
            - {not: {layer: zones, op: has, value: qtp}}
            - {layer: precip, op: ge, value: 400}
      farmland_to_forest:
        principles: ["1.2"]
        where: {layer: ecosystem, op: eq, value: cropland}
        area_share: steep
      natural_forest_protection:
        principles: ["1.2"]
        where: {layer: ecosystem, op: eq, value: forest}
      forest_tending:
        principles: ["1.4"]
        where: {layer: ecosystem, op: eq, value: forest}
      straw_return:
        principles: ["1.4"]
        where: {layer: ecosystem, op: eq, value: cropland}
      no_tillage:
        principles: ["1.4"]
        where:
          all:
            - {layer: ecosystem, op: eq, value: cropland}
            - {layer: steep15, op: lt, value: 0.5}
      wetland_conservation:
        principles: ["1.2"]
        where: {layer: ecosystem, op: eq, value: wetland}
      coastal_vegetation:
        principles: ["1.2"]
        where:
          all:
            - {layer: ecosystem, op: in, value: [wetland, barren]}
            - {layer: coast_km, op: le, value: {option: coastal_max_km}}
      shellfish_farming:
        principles: ["1.4"]
        not_mapped: marine measure; the land-cover grid has no sea cells
    """)


def make_vocab(landcover_nodata=255) -> Vocab:
    return Vocab(ECOSYSTEMS, ZONES, landcover_nodata)


def write_suitability(tmp_path, text=SUITABILITY_YAML):
    p = tmp_path / "suitability.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def load_fixture(tmp_path, text=SUITABILITY_YAML):
    cat = load_catalog(write_catalog(tmp_path))
    return load_ruleset(write_suitability(tmp_path, text), make_vocab(), cat), cat


def synthetic_stack(h=4, w=5, **over):
    """A stack of constant layers (override any with an array or a scalar)."""
    base = {
        "ecosystem": 4,
        "landcover": 12,
        "region": 1,
        "province": 110000,
        "county": 110101,
        "elevation": 50.0,
        "steep15": 0,
        "steep25": 0,
        "climate": 3,
        "precip": 600.0,
        "coast_km": 300.0,
        "zones": 0,
        "red_line": 0,
        "depth": -50.0,  # land: negative depth (height above sea level)
        "marine": 0,  # no sea, mariculture, mangrove, reef or lake flag
        "lake_km": 300.0,
    }
    # tile dtypes of config/layers.yaml (land cover: uint8, as the legend's codes)
    dtypes = {n: np.dtype(d or "uint8") for n, (d, _, _) in TILE_LAYERS.items()}
    base.update(over)
    out = {
        k: np.broadcast_to(np.asarray(v, dtype=dtypes[k]), (h, w)).copy() for k, v in base.items()
    }
    out["lat"] = np.linspace(40, 39, h)[:, None]
    out["lon"] = np.linspace(116, 117, w)[None, :]
    return out
