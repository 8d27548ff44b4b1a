"""Terrain layers of a tile: mean elevation and the share of steep DEM cells per grid cell.

Slope is computed on the DEM's own grid with true ground spacing (central differences):
on a geographic DEM, dx = metres per degree of longitude at each row's latitude and
dy = metres per degree of latitude, both on the DEM CRS's ellipsoid; on a projected DEM the
pixel size in metres. Each DEM cell is then flagged steep (> 15 deg, > 25 deg) and the 0/1
masks are averaged onto the grid cells with `rasterio.warp.reproject(Resampling.average)`,
giving the share of each grid cell that is steep (permille, uint16, nodata 65535).

Resolution bias (important when reading the steep layers): slope from a ~1 km DEM is far
smoother than the 30 m slopes that field rules such as "no cropland on slopes > 25 deg"
are written for, because a 1 km cell averages over valleys and ridges. With the default
meteva 30 arc-second DEM only about 0.5 % of China is steeper than 25 deg (figure from
/work/shared/DATA.md, re-measured by the pipeline run and reported in its log), whereas 30 m
DEMs put several per cent of China above 25 deg. The steep shares are therefore lower bounds;
supply a finer DEM (dem.path) for slope-limited measures. Summing steep sub-cells (rather than
taking the slope of the mean elevation) keeps as much of the DEM's resolution as possible.
"""

from __future__ import annotations

import math

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.warp import Resampling, reproject, transform_bounds
from rasterio.windows import Window

from sinkzone import layerspec
from sinkzone.grid import window_bounds, window_transform

# {steep layer: slope threshold, degrees}, declared in config/layers.yaml (steep15, steep25)
THRESHOLDS = layerspec.thresholds()
STEEP_NODATA = layerspec.steep_nodata()
ELEV_NODATA = float(layerspec.spec()["layers"]["elevation"]["nodata"])


def metres_per_degree(lat_deg: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """(metres per degree of longitude, metres per degree of latitude) at latitudes on an ellipsoid."""
    e2 = 1.0 - (b * b) / (a * a)
    phi = np.radians(lat_deg)
    w = np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
    n = a / w  # prime vertical radius of curvature
    m = a * (1.0 - e2) / w**3  # meridional radius of curvature
    return n * np.cos(phi) * math.pi / 180.0, m * math.pi / 180.0


def slope_degrees(dem: np.ndarray, transform, crs) -> np.ndarray:
    """Slope (degrees, float32) of a DEM array (NaN = nodata); edge cells and NaN neighbours -> NaN."""
    z = dem.astype(np.float64)
    h, w = z.shape
    pcrs = CRS.from_user_input(crs)
    if pcrs.is_geographic:
        ell = pcrs.ellipsoid
        lat = transform.f + transform.e * (np.arange(h) + 0.5)
        mx, my = metres_per_degree(lat, ell.semi_major_metre, ell.semi_minor_metre)
        dx = (mx * abs(transform.a))[:, None]
        dy = (my * abs(transform.e))[:, None]
    else:
        unit = pcrs.axis_info[0].unit_conversion_factor or 1.0
        dx = np.full((h, 1), abs(transform.a) * unit)
        dy = np.full((h, 1), abs(transform.e) * unit)
    gx = np.full_like(z, np.nan)
    gy = np.full_like(z, np.nan)
    gx[:, 1:-1] = (z[:, 2:] - z[:, :-2]) / (2.0 * dx)
    gy[1:-1, :] = (z[2:, :] - z[:-2, :]) / (2.0 * dy[1:-1])
    with np.errstate(invalid="ignore"):
        return np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32)


def _dem_window(src, bounds_src, halo: int = 1) -> Window | None:
    win = rasterio.windows.from_bounds(*bounds_src, transform=src.transform)
    c0 = math.floor(win.col_off) - halo
    r0 = math.floor(win.row_off) - halo
    c1 = math.ceil(win.col_off + win.width) + halo
    r1 = math.ceil(win.row_off + win.height) + halo
    c0, r0 = max(c0, 0), max(r0, 0)
    c1, r1 = min(c1, src.width), min(r1, src.height)
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def terrain_layers(dem_path, grid: dict, window: Window) -> dict[str, np.ndarray]:
    """elevation (float32, -9999), steep15 / steep25 (uint16 permille, 65535) for a tile window."""
    h, w = int(window.height), int(window.width)
    dst_t = window_transform(grid, window)
    out = {
        "elevation": np.full((h, w), ELEV_NODATA, np.float32),
        **{name: np.full((h, w), STEEP_NODATA, np.uint16) for name in THRESHOLDS},
    }
    with rasterio.open(dem_path) as src:
        b = transform_bounds(grid["crs"], src.crs, *window_bounds(grid, window), densify_pts=21)
        dwin = _dem_window(src, b)
        if dwin is None:
            return out
        dem = src.read(1, window=dwin, masked=True).astype(np.float32).filled(np.nan)
        src_t = src.window_transform(dwin)
        src_crs = src.crs
    if np.isnan(dem).all():
        return out
    slope = slope_degrees(dem, src_t, src_crs)

    def _avg(arr):
        dst = np.full((h, w), np.nan, np.float32)
        reproject(
            arr,
            dst,
            src_transform=src_t,
            src_crs=src_crs,
            src_nodata=np.nan,
            dst_transform=dst_t,
            dst_crs=grid["crs"],
            dst_nodata=np.nan,
            resampling=Resampling.average,
        )
        return dst

    elev = _avg(dem)
    out["elevation"] = np.where(np.isnan(elev), ELEV_NODATA, elev).astype(np.float32)
    valid = ~np.isnan(slope)
    for name, thr in THRESHOLDS.items():
        mask = np.where(valid, (slope > thr).astype(np.float32), np.nan).astype(np.float32)
        share = _avg(mask)
        out[name] = np.where(
            np.isnan(share), STEEP_NODATA, np.rint(np.clip(share, 0, 1) * 1000)
        ).astype(np.uint16)
    return out
