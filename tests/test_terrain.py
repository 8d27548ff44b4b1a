"""Tests of sinkzone.terrain: slope with true ground spacing and steep shares on cones."""

import math

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Geod
from rasterio.transform import from_origin
from rasterio.windows import Window

from sinkzone.terrain import metres_per_degree, slope_degrees, terrain_layers

AEA = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m"


def _write(path, arr, crs, transform, nodata=-9999.0):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=arr.shape[0],
        width=arr.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(arr.astype(np.float32), 1)
    return path


def test_metres_per_degree_wgs84():
    mx, my = metres_per_degree(np.array([0.0, 60.0]), 6378137.0, 6356752.314245)
    assert mx[0] == pytest.approx(111319.49, abs=0.01)
    g = Geod(ellps="WGS84")
    assert mx[1] == pytest.approx(g.inv(0, 60, 0.001, 60)[2] * 1000, rel=1e-6)
    assert my[1] == pytest.approx(g.inv(0, 59.9995, 0, 60.0005)[2] * 1000, rel=1e-6)


def test_slope_plane_projected():
    x = np.arange(10) * 30.0
    z = np.tile(x * math.tan(math.radians(20)), (8, 1))
    s = slope_degrees(z, from_origin(0, 240, 30, 30), AEA)
    assert np.isnan(s[:, 0]).all() and np.isnan(s[0]).all()
    assert np.nanmin(s) == pytest.approx(20, abs=1e-4) and np.nanmax(s) == pytest.approx(
        20, abs=1e-4
    )


def _cone_grid(crs, transform, h, w):
    return {
        "crs": CRS(crs).to_wkt(),
        "transform": list(transform)[:6],
        "width": w,
        "height": h,
        "is_geographic": CRS(crs).is_geographic,
        "source_window": [0, 0, w, h],
    }


def test_cone_projected(tmp_path):
    # cone of slope 20 deg on a 30 m DEM, grid cells of 300 m
    n = 400
    xy = (np.arange(n) + 0.5) * 30.0 - n * 15.0
    r = np.hypot(*np.meshgrid(xy, xy))
    dem = 5000 - r * math.tan(math.radians(20))
    p = _write(tmp_path / "dem.tif", dem, AEA, from_origin(-6000, 6000, 30, 30))
    grid = _cone_grid(AEA, from_origin(-6000, 6000, 300, 300), 40, 40)
    out = terrain_layers(p, grid, Window(10, 10, 20, 20))
    assert out["steep15"].dtype == np.uint16 and out["elevation"].dtype == np.float32
    assert np.all(out["steep15"] >= 990)  # only the apex cell differs
    assert np.median(out["steep15"]) == 1000 and np.all(out["steep25"] == 0)
    # mean elevation of the grid cell next to the apex ~ cone height at its centre
    assert out["elevation"][0, 0] == pytest.approx(5000 - math.hypot(2850, 2850) * 0.36397, abs=2)


def test_cone_geographic_needs_ground_spacing(tmp_path):
    # cone of slope 20 deg at 60 N on a geographic DEM: a degree of longitude is half as long
    lat0, lon0, res = 60.0, 100.0, 0.0005
    h, w = 200, 400
    lats = lat0 + 0.05 - (np.arange(h) + 0.5) * res
    lons = lon0 - 0.1 + (np.arange(w) + 0.5) * res
    mx, my = metres_per_degree(lats, 6378137.0, 6356752.314245)
    dx = (lons[None, :] - lon0) * mx[:, None]
    dy = (lats[:, None] - lat0) * my[:, None]
    dem = 3000 - np.hypot(dx, dy) * math.tan(math.radians(20))
    t = from_origin(lon0 - 0.1, lat0 + 0.05, res, res)
    p = _write(tmp_path / "dem.tif", dem, "EPSG:4326", t)
    s = slope_degrees(dem, t, "EPSG:4326")
    assert np.nanpercentile(s, 1) > 19.9 and np.nanpercentile(s, 99) < 20.1
    grid = _cone_grid("EPSG:4326", from_origin(lon0 - 0.1, lat0 + 0.05, 0.01, 0.01), 10, 20)
    out = terrain_layers(p, grid, Window(0, 0, 20, 10))
    assert np.median(out["steep15"]) == 1000 and out["steep25"].max() == 0


def test_steep_threshold_between(tmp_path):
    # slope 30 deg: both shares 1000; nodata DEM -> 65535 / -9999
    x = (np.arange(100) + 0.5) * 30.0
    dem = np.tile(x * math.tan(math.radians(30)), (100, 1))
    dem[:, 60:] = -9999
    p = _write(tmp_path / "dem.tif", dem, AEA, from_origin(0, 3000, 30, 30))
    grid = _cone_grid(AEA, from_origin(0, 3000, 300, 300), 10, 10)
    out = terrain_layers(p, grid, Window(0, 0, 10, 10))
    assert out["steep25"][5, 2] == 1000 and out["steep15"][5, 2] == 1000
    assert out["steep25"][5, 8] == 65535 and out["elevation"][5, 8] == -9999


def test_tile_outside_dem(tmp_path):
    p = _write(tmp_path / "dem.tif", np.zeros((10, 10)), AEA, from_origin(0, 3000, 30, 30))
    grid = _cone_grid(AEA, from_origin(1e5, 1e5, 300, 300), 4, 4)
    out = terrain_layers(p, grid, Window(0, 0, 4, 4))
    assert np.all(out["steep15"] == 65535) and np.all(out["elevation"] == -9999)


def test_fine_grid_indexes_the_dem(tmp_path):
    """Grid cells far finer than the DEM take the elevation and steep flags of the DEM cell
    holding their centre (no warp): exact inside a DEM cell, 0 or 1000 permille, and the same
    values whatever the tiling."""
    from sinkzone.terrain import INDEX_MIN_RATIO, source_index

    rng = np.random.default_rng(3)
    dem = rng.uniform(0, 3000, (12, 12)).astype(np.float32)
    dem[0, 0] = np.nan
    p = _write(tmp_path / "dem.tif", np.nan_to_num(dem, nan=-9999.0), "EPSG:4326",
               from_origin(100, 31, 0.01, 0.01))  # fmt: skip
    # 10 x 10 grid cells per DEM cell
    grid = {
        "crs": CRS("EPSG:4326").to_wkt(),
        "transform": [0.001, 0, 100.0, 0, -0.001, 31.0],
        "width": 100,
        "height": 100,
        "is_geographic": True,
    }
    assert 100 * 100 >= INDEX_MIN_RATIO * 12 * 12  # the indexed path
    whole = terrain_layers(p, grid, Window(0, 0, 100, 100))
    idx = source_index(grid, Window(0, 0, 100, 100), from_origin(100, 31, 0.01, 0.01),
                       "EPSG:4326", (12, 12))  # fmt: skip
    r, c = 55, 37  # centre 100.0375 E, 30.9445 N -> DEM row 5, col 3
    assert idx[r, c] == 5 * 12 + 3
    assert whole["elevation"][r, c] == dem[5, 3]
    assert whole["elevation"][0, 0] == -9999 and whole["steep25"][0, 0] == 65535
    assert set(np.unique(whole["steep15"])) <= {0, 1000, 65535}
    for name, arr in whole.items():  # four tiles give the same cells
        parts = np.block([[terrain_layers(p, grid, Window(c0, r0, 50, 50))[name]
                           for c0 in (0, 50)] for r0 in (0, 50)])  # fmt: skip
        assert np.array_equal(parts, arr), name
