"""Per-tile input layers (docs/ARCHITECTURE.md, "Layers"), each on the tile's window of the grid.

Vectors come from results/{run}/prep/vectors.gpkg (EPSG:4326): they are read with a bbox filter,
clipped to the tile bounds (plus a margin where needed) and reprojected to the grid CRS before
rasterizing, so memory and time scale with the tile. Rasterizing uses the cell-centre rule.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.features
import shapely
from rasterio.warp import Resampling, reproject
from rasterio.windows import Window
from scipy.spatial import cKDTree

from sinkzone import layerspec
from sinkzone.classes import climate_classes
from sinkzone.errors import InputError
from sinkzone.grid import (
    cell_areas_int,
    cell_centres,
    nodata_values,
    window_bounds_4326,
    window_transform,
)
from sinkzone.io import tile_compression
from sinkzone.legend import apply_legend
from sinkzone.terrain import terrain_layers
from sinkzone.zones import official_bitmask, zone_bitmask

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius (Moritz 2000, Geodetic Reference System 1980)
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0


def tile_layers(doc: dict) -> dict[str, tuple]:
    """{name: (dtype, nodata, description)} of the per-tile layers of a layer specification
    (config/layers.yaml); landcover's dtype/nodata (None) come from the grid."""
    return {n: (v["dtype"], v["nodata"], v["description"]) for n, v in doc["layers"].items()}


LAYERS = tile_layers(layerspec.spec())
FLOAT_NODATA = layerspec.float_nodata()  # precip, coast_km, depth, lake_km


def window_shape(window: Window) -> tuple[int, int]:
    return int(window.height), int(window.width)


# ---------------------------------------------------------------- rasters


def read_landcover(path, grid: dict, window: Window) -> np.ndarray:
    """The tile's window of the land-cover raster (the grid is a crop of it: no resampling)."""
    col0, row0 = grid["source_window"][:2]
    src_win = Window(col0 + window.col_off, row0 + window.row_off, window.width, window.height)
    from sinkzone.io import open_raster, read_raster

    with open_raster(path) as src:
        return read_raster(src, path, window=src_win)


def resample_to_tile(path, grid: dict, window: Window, resampling, dtype, nodata) -> np.ndarray:
    """Warp a raster (any CRS) onto the tile window; GDAL reads only the blocks it needs."""
    from sinkzone.io import open_raster, reading

    dst = np.full(window_shape(window), nodata, dtype=dtype)
    with open_raster(path) as src:
        src_nodata = src.nodata
        if src_nodata is None and np.issubdtype(np.dtype(src.dtypes[0]), np.floating):
            src_nodata = np.nan
        with reading(path, None, "raster"):  # a damaged block of a user raster: one line
            reproject(
                rasterio.band(src, 1),
                dst,
                src_nodata=src_nodata,
                dst_transform=window_transform(grid, window),
                dst_crs=grid["crs"],
                dst_nodata=nodata,
                resampling=resampling,
            )
    return dst


def climate_layer(path, grid: dict, window: Window) -> np.ndarray:
    """Koppen-Geiger main group (1-5, nodata 0) by majority (Resampling.mode)."""
    arr = resample_to_tile(path, grid, window, Resampling.mode, np.uint8, 0)
    arr[~np.isin(arr, [c.value for c in climate_classes()])] = 0
    return arr


def precip_layer(path, grid: dict, window: Window) -> np.ndarray:
    """Annual precipitation (mm, float32, -9999) by bilinear resampling; all -9999 without a path."""
    if not path:
        return np.full(window_shape(window), FLOAT_NODATA, np.float32)
    arr = resample_to_tile(path, grid, window, Resampling.bilinear, np.float32, FLOAT_NODATA)
    arr[~np.isfinite(arr)] = FLOAT_NODATA
    return arr


# ---------------------------------------------------------------- vectors


def list_layers(gpkg) -> set[str]:
    return {str(n) for n in pyogrio.list_layers(gpkg)[:, 0]}


def read_clipped(
    gpkg, layer: str, bbox_4326, required: bool = True, clip: bool = True
) -> gpd.GeoDataFrame:
    """Features of `layer` intersecting bbox (EPSG:4326), geometries clipped to it (if `clip`)."""
    if layer not in list_layers(gpkg):
        if required:
            raise InputError(
                gpkg,
                f"layer '{layer}' is missing",
                "rerun prepare_vectors, or check the layer name in config.yaml (vectors, zones)",
            )
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    gdf = gpd.read_file(
        gpkg, layer=layer, bbox=tuple(bbox_4326), engine="pyogrio", fid_as_index=True
    )
    # a bbox read may follow the spatial index: restore file order so that where features
    # overlap the last one wins whatever the tile
    gdf = gdf.sort_index()
    if gdf.empty:
        return gdf
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif not gdf.crs.equals("EPSG:4326"):
        raise InputError(gpkg, f"layer '{layer}' is in {gdf.crs.name}", "store EPSG:4326")
    if not clip:
        return gdf
    geom = shapely.clip_by_rect(gdf.geometry.values, *bbox_4326)
    gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
    return gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]


def _pad(bbox, grid: dict, cells: float = 2.0):
    """Pad EPSG:4326 bounds by a few grid cells (in degrees) against edge effects."""
    t = grid["transform"]
    d = cells * max(abs(t[0]), abs(t[4])) if grid["is_geographic"] else cells * 0.01
    return (bbox[0] - d, max(bbox[1] - d, -90), bbox[2] + d, min(bbox[3] + d, 90))


def rasterize_gdf(gdf, grid, window, values=1, dtype="uint8", fill=0) -> np.ndarray:
    """Rasterize (cell-centre rule) features of an EPSG:4326 frame onto the tile window."""
    shape = window_shape(window)
    if gdf.empty:
        return np.zeros(shape, dtype) + np.asarray(fill, dtype)
    geoms = gdf.to_crs(grid["crs"]).geometry.values
    vals = np.broadcast_to(np.asarray(values), (len(geoms),))
    pairs = [(g, v) for g, v in zip(geoms, vals, strict=True) if g is not None and not g.is_empty]
    if not pairs:
        return np.zeros(shape, dtype) + np.asarray(fill, dtype)
    return rasterio.features.rasterize(
        pairs,
        out_shape=shape,
        transform=window_transform(grid, window),
        fill=fill,
        dtype=dtype,
        all_touched=False,
    )


def rasterize_codes(gpkg, layer, grid, window, column="code", dtype="uint32") -> np.ndarray:
    """Rasterize integer attribute `column` of a vectors.gpkg layer (0 where no feature)."""
    gdf = read_clipped(gpkg, layer, _pad(window_bounds_4326(grid, window), grid))
    if gdf.empty:
        return np.zeros(window_shape(window), dtype)
    if column not in gdf.columns:
        raise InputError(gpkg, f"layer '{layer}' has no column '{column}'", "rerun prepare_vectors")
    return rasterize_gdf(gdf, grid, window, gdf[column].astype(np.int64).to_numpy(), dtype, 0)


def rasterize_presence(gpkg, layer, grid, window, required=True) -> np.ndarray:
    """1 where a cell centre lies in a feature of the layer, else 0 (uint8)."""
    gdf = read_clipped(gpkg, layer, _pad(window_bounds_4326(grid, window), grid), required)
    return rasterize_gdf(gdf, grid, window, 1, "uint8", 0)


# ---------------------------------------------------------------- coast distance


# Spacing (m) of the lattice on which coast distances are computed exactly (then interpolated).
COAST_RESOLUTION_M = 500.0


def coast_distance_km(
    lines: gpd.GeoDataFrame | None,
    grid: dict,
    window: Window,
    max_km: float,
    spacing_km: float = 0.5,
    chunk_rows: int = 256,
    bbox_4326=None,
    resolution_m: float = COAST_RESOLUTION_M,
) -> np.ndarray:
    """Great-circle distance (km, float32) from each cell centre to the nearest coastline point.

    The whole line features (EPSG:4326, those intersecting the tile bounds + `max_km`
    margin, see `coast_bbox`) are densified to vertices at most `spacing_km` apart (distances
    overestimate by at most spacing_km / 2), and the points inside `bbox_4326` (default: the
    coast_bbox of the tile) go into a cKDTree of unit vectors on a sphere of radius
    6371.0088 km; chord lengths are converted to arcs and capped at max_km. Densifying whole
    features before the bbox filter makes the points, and so the distances, identical whatever
    the tiling.

    Cells are not queried one by one when they are smaller than `resolution_m`: the distance
    is computed exactly at the centres of a lattice of every k-th cell, k =
    `grid.lattice_stride(grid, resolution_m)` (16 for 30 m cells and the default 500 m),
    anchored to the GLOBAL grid (nodes on global indices that are multiples of k) and extended
    one node past the tile, then interpolated bilinearly to every cell
    (`grid.lattice_interpolate`). Each value therefore depends only on the global cell index,
    not on the tiling. Error bound: the capped distance is 1-Lipschitz, and a bilinear value is
    a convex combination of the four node values, so it differs from the exact value (same
    coastline points) by at most the weighted mean distance from the cell centre to the four
    nodes, <= sqrt(dx^2 + dy^2) / 2 for node spacings dx, dy (d / sqrt(2) on a square lattice
    of spacing d: 0.34 km at 30 m, k = 16), times the local map scale of a projected grid
    (~1.01 for Albers over China). The largest errors are on the coastline (an exact 0 in a
    V-shaped minimum) and on ridges equidistant from two coasts; smooth slopes are nearly exact.
    With k = 1 (cells >= `resolution_m`, e.g. the 0.05-degree default grid, or
    `resolution_m=0`) every cell is queried exactly as before (byte-identical values).
    """
    from sinkzone.grid import lattice_interpolate, lattice_nodes, lattice_stride, node_centres

    h, w = window_shape(window)
    out = np.full((h, w), max_km, np.float32)
    if lines is None or lines.empty or h == 0 or w == 0:
        return out
    stride = lattice_stride(grid, resolution_m)
    step_deg = spacing_km / KM_PER_DEG
    geoms = shapely.segmentize(lines.geometry.values, step_deg)
    xy = shapely.get_coordinates(geoms)
    pad_km = 2.0 * max(resolution_m or 0.0, 0.0) / 1000.0
    b = coast_bbox(grid, window, max_km, pad_km) if bbox_4326 is None else bbox_4326
    xy = xy[(xy[:, 0] >= b[0]) & (xy[:, 0] <= b[2]) & (xy[:, 1] >= b[1]) & (xy[:, 1] <= b[3])]
    if len(xy) == 0:
        return out
    tree = cKDTree(_unit(xy[:, 0], xy[:, 1]))
    chord_max = 2.0 * math.sin(min(max_km / EARTH_RADIUS_KM, math.pi) / 2.0)

    def query(lon, lat) -> np.ndarray:
        d, _ = tree.query(_unit(lon.ravel(), lat.ravel()), distance_upper_bound=chord_max * 1.0001)
        ok = np.isfinite(d)
        km = np.full(d.shape, max_km, np.float64)
        km[ok] = 2.0 * np.arcsin(np.clip(d[ok] / 2.0, 0, 1)) * EARTH_RADIUS_KM
        return np.minimum(km, max_km)

    if stride > 1:
        rows = lattice_nodes(int(window.row_off), h, stride)
        cols = lattice_nodes(int(window.col_off), w, stride)
        lon_n, lat_n = node_centres(grid, rows[0], cols[0])
        if grid["is_geographic"]:
            lat_n = np.clip(lat_n, -90.0, 90.0)
        if np.all(np.isfinite(lon_n)) and np.all(np.isfinite(lat_n)):
            km_n = query(lon_n, lat_n).reshape(lon_n.shape)
            # rounding to float32 is monotone, so capping after it equals capping before
            out = lattice_interpolate(km_n, rows, cols, np.float32)
            np.minimum(out, np.float32(max_km), out=out)
            return out
        # nodes outside the projection's domain: exact per-cell values below
    for r0 in range(0, h, chunk_rows):
        sub = Window(window.col_off, window.row_off + r0, w, min(chunk_rows, h - r0))
        lon, lat = cell_centres(grid, sub, spacing_m=0)
        out[r0 : r0 + sub.height] = query(lon, lat).reshape(sub.height, w)
    return out


def _unit(lon, lat) -> np.ndarray:
    lo, la = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    c = np.cos(la)
    return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


def coast_bbox(grid: dict, window: Window, max_km: float, pad_km: float | None = None):
    """EPSG:4326 box holding every point within max_km of the tile (10 % slack) or of the
    coast-distance lattice nodes up to `pad_km` (default 2 x COAST_RESOLUTION_M) beyond it."""
    if pad_km is None:
        pad_km = 2.0 * COAST_RESOLUTION_M / 1000.0
    b = window_bounds_4326(grid, window)
    reach = 1.1 * max_km + pad_km
    dlat = reach / KM_PER_DEG
    lat_far = min(89.0, max(abs(b[1]), abs(b[3])) + dlat)
    dlon = min(360.0, reach / (KM_PER_DEG * math.cos(math.radians(lat_far))))
    return (
        max(b[0] - dlon, -180),
        max(b[1] - dlat, -90),
        min(b[2] + dlon, 180),
        min(b[3] + dlat, 90),
    )


# ---------------------------------------------------------------- land-cover areas


BINCOUNT_MAX_KEYS = 1 << 24  # (landcover, ecosystem) keys counted by bincount up to 16.8 M


def landcover_area_counts(
    codes: np.ndarray, eco: np.ndarray, region: np.ndarray, grid: dict, window: Window
) -> pd.DataFrame:
    """Exact integer area (m2, int64) per (landcover, ecosystem) of the tile's region cells.

    Areas are the integer cell areas of `grid.cell_areas_int`, so per-tile tables sum
    exactly to the same total whatever the tiling (`reduce_landcover_area`).
    """
    inside = region == 1
    cell_areas = cell_areas_int(grid, window)[inside]
    key = codes[inside].astype(np.int64) * 256 + eco[inside].astype(np.int64)
    if key.size == 0:
        return pd.DataFrame({"landcover": [], "ecosystem": [], "area_m2": []}, dtype=np.int64)
    kmin, kmax = int(key.min()), int(key.max())
    if kmin >= 0 and kmax < BINCOUNT_MAX_KEYS and int(cell_areas.sum()) < 2**53:
        # one pass, no sort: float64 sums of integers below 2**53 are exact
        total = np.bincount(key, weights=cell_areas, minlength=kmax + 1)
        ukey = np.flatnonzero(np.bincount(key, minlength=kmax + 1))
        total = total[ukey].astype(np.int64)
    else:
        ukey, inv = np.unique(key, return_inverse=True)
        total = np.zeros(len(ukey), np.int64)
        np.add.at(total, inv, cell_areas)
    return pd.DataFrame(
        {"landcover": ukey // 256, "ecosystem": ukey % 256, "area_m2": total}
    ).astype(np.int64)


def reduce_landcover_area(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Sum per-tile (landcover, ecosystem, area_m2) tables exactly (int64)."""
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return pd.DataFrame({"landcover": [], "ecosystem": [], "area_m2": []}, dtype=np.int64)
    df = df.astype(np.int64).groupby(["landcover", "ecosystem"], as_index=False)["area_m2"].sum()
    return df.sort_values(["landcover", "ecosystem"]).reset_index(drop=True)


def landcover_area_table(
    counts: pd.DataFrame, ecosystems: pd.DataFrame, code_names: dict[int, str] | None = None
) -> pd.DataFrame:
    """Region area per ecosystem: ecosystem_id, ecosystem, landcover_codes, area_m2, area_ha.

    `counts` is the (reduced) output of `landcover_area_counts`. Ecosystem 0 (nodata / codes with
    a blank ecosystem in the legend) is reported as 'none'. area_ha = area_m2 / 1e4 (2 decimals).
    """
    names = dict(zip(ecosystems["id"].astype(int), ecosystems["name"], strict=True))
    names[0] = "none"
    rows = []
    for eco, g in counts.groupby("ecosystem", sort=True):
        codes = sorted(int(c) for c in g["landcover"])
        label = ";".join(
            f"{c} {code_names[c]}" if code_names and c in code_names else str(c) for c in codes
        )
        m2 = int(g["area_m2"].sum())
        rows.append([int(eco), names.get(int(eco), str(eco)), label, m2, f"{m2 / 1e4:.2f}"])
    return pd.DataFrame(
        rows, columns=["ecosystem_id", "ecosystem", "landcover_codes", "area_m2", "area_ha"]
    )


# ---------------------------------------------------------------- the tile


def empty_layers(grid: dict, window: Window) -> dict[str, np.ndarray]:
    """All-nodata layers (region 0, zones 0, red_line 0) for a tile outside the region."""
    shape = window_shape(window)
    out = {}
    for name, (dtype, nodata, _) in LAYERS.items():
        if name == "landcover":
            dtype, nodata = grid["dtype"], grid["nodata"]
        if name in ("region", "red_line", "marine"):
            nodata = 0
        out[name] = np.full(shape, nodata, dtype=dtype)
    return out


def build_tile_layers(
    *,
    grid: dict,
    window: Window,
    landcover_path,
    legend_lut: dict[int, int],
    legend_path,
    vectors_path,
    dem_path,
    climate_path,
    precip_path,
    coast_max_km: float,
    zone_items: list[dict],
    zones_official: bool = False,
    timings: dict | None = None,
    depth_path=None,
    marine: dict | None = None,
    lakes_max_km: float = 50.0,
) -> dict[str, np.ndarray] | None:
    """All layers of one tile as arrays; None when the tile lies entirely outside the region.

    `marine` ({max_km, max_depth_m, sea_id}; None = no sea cells) adds the near-shore sea
    (`sea_layers`): sea cells join the region with ecosystem `sea_id` and the province and
    county of the nearest point of China's coast. Land cells are unchanged by it.
    """
    import time

    t0 = time.perf_counter()
    timings = {} if timings is None else timings

    def lap(name):
        nonlocal t0
        t1 = time.perf_counter()
        timings[name] = round(t1 - t0, 3)
        t0 = t1

    region = rasterize_presence(vectors_path, "region", grid, window)
    lap("region")
    depth = depth_layer(depth_path, grid, window)
    sea = None
    if marine:
        sea = sea_layers(vectors_path, grid, window, depth, region, marine)
        lap("sea")
    if not region.any() and (sea is None or not sea["sea"].any()):
        return None
    L: dict[str, np.ndarray] = {"region": region.copy()}
    L["landcover"] = read_landcover(landcover_path, grid, window)
    L["ecosystem"] = apply_legend(
        L["landcover"], legend_lut, nodata_values(grid), region, landcover_path, legend_path
    )
    lap("landcover")
    L["province"] = rasterize_codes(vectors_path, "provinces", grid, window)
    L["county"] = rasterize_codes(vectors_path, "counties", grid, window)
    if sea is not None:
        m = sea["sea"]
        L["region"][m] = 1
        L["ecosystem"][m] = marine["sea_id"]
        L["province"][m] = sea["province"][m]
        L["county"][m] = sea["county"][m]
    region = L["region"]
    lap("admin")
    L.update(terrain_layers(dem_path, grid, window))
    lap("terrain")
    L["climate"] = climate_layer(climate_path, grid, window)
    lap("climate")
    L["precip"] = precip_layer(precip_path, grid, window)
    lap("precip")
    lines = read_clipped(
        vectors_path, "coastline", coast_bbox(grid, window, coast_max_km), False, clip=False
    )
    L["coast_km"] = coast_distance_km(lines, grid, window, coast_max_km)
    lap("coast_km")
    cache: dict[str, np.ndarray] = {}

    def vector_mask(name):
        if name not in cache:
            cache[name] = rasterize_presence(vectors_path, name, grid, window) == 1
        return cache[name]

    if zones_official:
        gdf = read_clipped(
            vectors_path, "zones_official", _pad(window_bounds_4326(grid, window), grid)
        )
        masks = (
            {
                str(z): rasterize_gdf(g, grid, window) == 1
                for z, g in gdf.groupby("zone_id", sort=True)
            }
            if not gdf.empty
            else {}
        )
        L["zones"] = official_bitmask(zone_items, masks, region, f"{vectors_path}:zones_official")
    else:
        L["zones"] = zone_bitmask(zone_items, L, region, vector_mask)
    lap("zones")
    L["red_line"] = rasterize_presence(vectors_path, "red_lines", grid, window, required=False)
    lap("red_line")
    L["depth"] = depth
    L["lake_km"], lake = lake_layers(vectors_path, grid, window, lakes_max_km)
    L["marine"] = marine_bitmask(vectors_path, grid, window, sea, lake, region)
    lap("marine")
    return {name: L[name] for name in LAYERS}


# ---------------------------------------------------------------- sea, lakes (sinkzone.marine)


def depth_layer(path, grid: dict, window: Window) -> np.ndarray:
    """Sea depth (m below sea level, float32, -9999) by bilinear resampling; -9999 without a path."""
    from sinkzone.marine import DEPTH_NODATA

    if not path:
        return np.full(window_shape(window), DEPTH_NODATA, np.float32)
    arr = resample_to_tile(path, grid, window, Resampling.bilinear, np.float32, DEPTH_NODATA)
    arr[~np.isfinite(arr)] = DEPTH_NODATA
    return arr


def sea_layers(vectors_path, grid, window, depth, region, marine: dict) -> dict[str, np.ndarray]:
    """Sea cells of the tile (sinkzone.marine.sea_cells) with their province and county.

    Candidates: cell centre outside the national land polygon and outside the region, depth
    known, > 0 and <= max_depth_m.
    """
    from sinkzone.marine import DEPTH_NODATA, sea_cells

    nation = rasterize_presence(vectors_path, "nation", grid, window) == 1
    cand = (~nation) & (region != 1) & (depth != DEPTH_NODATA) & (depth > 0)
    cand &= depth <= np.float32(marine["max_depth_m"])
    shape = window_shape(window)
    if not cand.any():
        z = np.zeros(shape, np.uint32)
        return {"sea": np.zeros(shape, bool), "province": z, "county": z}
    pts = read_clipped(
        vectors_path, "coast_points", coast_bbox(grid, window, marine["max_km"]), False, False
    )
    lon, lat = cell_centres(grid, window, spacing_m=0)
    sea, prov, county, _ = sea_cells(lon, lat, cand, pts, float(marine["max_km"]), distances=False)
    return {"sea": sea, "province": prov, "county": county}


def lake_layers(vectors_path, grid, window, max_km: float) -> tuple[np.ndarray, np.ndarray]:
    """(lake_km: distance to the nearest lake shore, 0 inside a lake, capped; lake: 0/1)."""
    box = coast_bbox(grid, window, max_km)
    lakes = read_clipped(vectors_path, "lakes", box, False, clip=False)
    lake = rasterize_presence(vectors_path, "lakes", grid, window, required=False)
    if lakes.empty:
        return np.full(window_shape(window), max_km, np.float32), lake
    shores = gpd.GeoDataFrame(geometry=lakes.geometry.boundary, crs=lakes.crs)
    km = coast_distance_km(shores, grid, window, max_km, bbox_4326=box)
    km[lake == 1] = 0.0
    return km, lake


def marine_bitmask(vectors_path, grid, window, sea, lake, region) -> np.ndarray:
    """The `marine` layer: bits of sinkzone.layerspec.MARINE_FLAGS, 0 outside the region."""
    from sinkzone.layerspec import marine_flag as flag

    out = np.zeros(window_shape(window), np.uint8)
    if sea is not None:
        m = sea["sea"]
        out[m] |= flag("sea")
        zoning = read_clipped(
            vectors_path, "mariculture_zoning", _pad(window_bounds_4326(grid, window), grid), False
        )
        allowed = rasterize_gdf(zoning, grid, window) == 1 if len(zoning) else m
        out[m & allowed] |= flag("mariculture_allowed")
    for layer, name in (("mangroves", "mangrove_extent"), ("reefs", "reef")):
        hit = rasterize_presence(vectors_path, layer, grid, window, required=False) == 1
        out[hit] |= flag(name)
    out[lake == 1] |= flag("lake")
    out[region != 1] = 0
    return out


def layer_profile(name: str, grid: dict) -> tuple[str, float | int]:
    """(dtype, nodata) of a layer."""
    dtype, nodata, _ = LAYERS[name]
    if name == "landcover":
        return grid["dtype"], grid["nodata"]
    return dtype, nodata


def hex_to_rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255


def mask_outside_region(arrays: dict[str, np.ndarray], grid: dict) -> dict[str, np.ndarray]:
    """Set every cell outside the region (region != 1) to the layer's output nodata, in place.

    The tiles then hold exactly the cells of the whole-grid layer (`sinkzone.layerspec.
    output_nodata`: nodata outside the region, values unchanged inside it), so a VRT over them is
    the layer without a copy. Nothing reads a layer outside the region: eligibility, counts and
    products are restricted to region == 1.
    """
    outside = arrays["region"] != 1
    if outside.any():
        for name, arr in arrays.items():
            arr[outside] = layerspec.output_nodata(name, grid)
    return arrays


def present_classes(arrays: dict[str, np.ndarray], names=("province", "county", "zones")) -> dict:
    """Distinct values inside the region of the layers whose class tables list only the
    classes present (province, county, zones), as sorted lists of int."""
    inside = arrays["region"] == 1
    return {n: sorted(int(v) for v in pd.unique(arrays[n][inside])) for n in names}


def write_tile_layers(
    arrays: dict[str, np.ndarray],
    grid: dict,
    window: Window,
    tile: str,
    paths: dict[str, str],
    ecosystems: pd.DataFrame,
) -> None:
    """Write each layer as a GeoTIFF (band description, tags, ecosystem colour table), with
    the output nodata of the layer (`mask_outside_region`)."""
    from sinkzone.io import write_raster

    colors = {0: (0, 0, 0, 0)} | {
        int(i): hex_to_rgba(c) for i, c in zip(ecosystems["id"], ecosystems["color"], strict=True)
    }
    for name, arr in arrays.items():
        dtype, nodata = layer_profile(name, grid)[0], layerspec.output_nodata(name, grid)
        write_raster(
            paths[name],
            arr.astype(dtype, copy=False),
            crs=grid["crs"],
            transform=window_transform(grid, window),
            nodata=nodata,
            descriptions=[name],
            tags={"layer": name, "meaning": LAYERS[name][2], "tile": tile},
            colormap=colors if name == "ecosystem" else None,
            compression=tile_compression(dtype),
        )
