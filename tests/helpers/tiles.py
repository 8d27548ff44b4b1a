"""A tiny synthetic tile (layer rasters, grid.json, config files) and one assign_tile run,
shared by the tile and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path

import assign_tile
import numpy as np
import rasterio
from affine import Affine

from helpers.catalog import write_catalog
from helpers.rulesets import ZONES, write_suitability
from sinkzone.catalog import SCHEMA_PATH
from sinkzone.io import write_raster
from sinkzone.layers import LAYERS

ECOSYSTEMS_CSV = """id,name,name_zh,name_en,color,description
1,forest,森林,Forest,#1b7837,x
2,shrubland,灌丛,Shrubland,#a6d96a,x
3,grassland,草地,Grassland,#fee08b,x
4,cropland,农田,Cropland,#f46d43,x
5,wetland,湿地,Wetland,#4393c3,x
6,water,水体,Water,#2166ac,x
7,urban,城镇,Built-up,#878787,x
8,barren,荒漠裸地,Barren,#e0d3b8,x
9,snow_ice,冰雪,Snow and ice,#f7f7f7,x
"""
# (dtype, nodata) of the tile layers (config/layers.yaml); land cover as the grid below: uint8, 255
LAYER_DTYPES = {
    n: ("uint8", 255) if n == "landcover" else (dtype, nodata)
    for n, (dtype, nodata, _) in LAYERS.items()
}
H, W = 6, 8
TRANSFORM = Affine(0.05, 0, 110.0, 0, -0.05, 30.0)


def synthetic_layers(seed=3):
    rng = np.random.default_rng(seed)
    eco = rng.integers(1, 10, (H, W))
    region = np.ones((H, W))
    region[0, :2] = 0
    lay = {
        "landcover": eco + 10,
        "ecosystem": np.where(region == 1, eco, 0),
        "region": region,
        "province": np.full((H, W), 440000),
        "county": rng.choice([440103, 440104], (H, W)),
        "elevation": rng.uniform(0, 2000, (H, W)),
        "steep15": rng.integers(0, 1001, (H, W)),
        "steep25": rng.integers(0, 600, (H, W)),
        "climate": rng.integers(1, 6, (H, W)),
        "precip": rng.uniform(100, 2000, (H, W)),
        "coast_km": rng.uniform(0, 60, (H, W)),
        "zones": rng.integers(0, 1 << len(ZONES), (H, W)),
        "red_line": (rng.random((H, W)) < 0.2).astype(int),
    }
    return {k: v.astype(LAYER_DTYPES[k][0]) for k, v in lay.items()}


def grid_dict():
    return {
        "crs": rasterio.crs.CRS.from_epsg(4326).to_wkt(),
        "transform": list(TRANSFORM)[:6],
        "width": W,
        "height": H,
        "source_window": [0, 0, W, H],
        "region_bounds": [110.0, 29.7, 110.4, 30.0],
        "is_geographic": True,
        "nodata": 255,
        "dtype": "uint8",
    }


def write_layers(folder: Path, arrays: dict, transform) -> list[str]:
    paths = []
    for name, arr in arrays.items():
        p = folder / f"{name}.tif"
        write_raster(p, arr, crs="EPSG:4326", transform=transform, nodata=LAYER_DTYPES[name][1])
        paths.append(str(p))
    return paths


def make_config_files(root: Path) -> dict:
    cfg = root / "config"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "ecosystems.csv").write_text(ECOSYSTEMS_CSV, encoding="utf-8")
    return {
        "catalog": str(write_catalog(cfg)),
        "suitability": str(write_suitability(cfg)),
        "ecosystems": str(cfg / "ecosystems.csv"),
        "catalog_schema": str(SCHEMA_PATH),
    }


def run_tile(root: Path, files: dict, arrays: dict, row_off: int, col_off: int, name: str, **extra):
    folder = root / "tiles" / name
    (folder / "layers").mkdir(parents=True)
    tr = TRANSFORM @ Affine.translation(col_off, row_off)
    layers = write_layers(folder / "layers", arrays, tr)
    gpath = root / "grid.json"
    gpath.write_text(json.dumps(grid_dict()), encoding="utf-8")
    out = {
        k: str(folder / "assign" / f"{k}.tif")
        for k in ("eligible", "primary", "potential_low", "potential_central", "potential_high")
    }
    out["counts"] = str(folder / "assign" / "counts.csv")
    out["lc_counts"] = str(folder / "assign" / "lc_counts.csv")
    assign_tile.main(
        layers=layers,
        grid=str(gpath),
        **files,
        **out,
        zone_ids=list(ZONES),
        ranking=["comprehensive_index", "carbon_sink_effect", "technology_maturity"],
        stack_factor=0.5,
        **extra,
    )
    return out
