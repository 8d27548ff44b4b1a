"""Tests of sinkzone.grid: grid definition, tiling, cell areas, cell centres."""

import math

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Geod, Transformer
from rasterio.transform import from_origin
from rasterio.windows import Window
from scipy.integrate import quad

import sinkzone.grid as grid_mod
from sinkzone.errors import ConfigError, InputError
from sinkzone.grid import (
    area_method,
    cell_area_int,
    cell_area_m2,
    cell_areas_int,
    cell_areas_m2,
    cell_centres,
    define_grid,
    projected_cell_areas_m2,
    split_bounds,
    tile_window,
    tile_windows,
)

CLARKE = (
    'GEOGCS["unknown",DATUM["Unknown based on Clarke 1866 ellipsoid",'
    'SPHEROID["Clarke 1866",6378206.4,294.978698213898]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]]'
)


def _raster(path, crs, transform, shape=(20, 30), nodata=255, dtype="uint8"):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=shape[0],
        width=shape[1],
        count=1,
        dtype=dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(np.arange(shape[0] * shape[1]).reshape(shape).astype(dtype) % 17, 1)
    return path


def _geo_grid(res=1.0, top=1.0, left=0.0, h=1, w=1, crs="EPSG:4326"):
    return {
        "crs": CRS(crs).to_wkt(),
        "transform": [res, 0, left, 0, -res, top],
        "width": w,
        "height": h,
        "is_geographic": True,
        "source_window": [0, 0, w, h],
    }


def test_define_grid_geographic_clarke(tmp_path):
    p = _raster(tmp_path / "lc.tif", CLARKE, from_origin(100, 40, 0.5, 0.5))
    g = define_grid(p, (101.2, 33.1, 104.9, 37.0))
    # columns floor((101.2-100)/0.5)=2 .. ceil((104.9-100)/0.5)=10; rows (40-37)/0.5=6 .. 14
    assert g["source_window"] == [2, 6, 8, 8]
    assert g["width"] == 8 and g["height"] == 8 and g["is_geographic"]
    assert g["transform"][2] == pytest.approx(101.0) and g["transform"][5] == pytest.approx(37.0)
    assert g["nodata"] == 255 and g["dtype"] == "uint8"
    assert "Clarke 1866" in g["crs"]


def test_define_grid_clips_to_raster(tmp_path):
    p = _raster(tmp_path / "lc.tif", "EPSG:4326", from_origin(100, 40, 0.5, 0.5))
    g = define_grid(p, (90, 30, 200, 50))
    assert g["source_window"] == [0, 0, 30, 20]


def test_define_grid_errors(tmp_path):
    p = _raster(tmp_path / "nocrs.tif", None, from_origin(100, 40, 0.5, 0.5))
    with pytest.raises(InputError, match="no CRS"):
        define_grid(p, (101, 31, 104, 37))
    p = _raster(tmp_path / "merc.tif", "EPSG:3857", from_origin(1e7, 4e6, 1000, 1000))
    assert not define_grid(p, (89.9, 33.7, 90.0, 33.75))["is_geographic"]  # any projected CRS
    p = _raster(tmp_path / "far.tif", "EPSG:4326", from_origin(0, 40, 0.5, 0.5))
    with pytest.raises(InputError, match="does not overlap"):
        define_grid(p, (101, 31, 104, 37))
    p = _raster(tmp_path / "nonodata.tif", "EPSG:4326", from_origin(100, 40, 0.5, 0.5), nodata=None)
    with pytest.raises(ConfigError, match="landcover.nodata"):
        define_grid(p, (101, 31, 104, 37))
    assert define_grid(p, (101, 31, 104, 37), nodata_override=0)["nodata"] == 0


def test_define_grid_equal_area(tmp_path):
    aea = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=krass +units=m"
    p = _raster(
        tmp_path / "aea.tif", aea, from_origin(-100_000, 3_800_000, 1000, 1000), shape=(100, 120)
    )
    g = define_grid(p, (104.5, 35.0, 105.5, 36.0))
    assert not g["is_geographic"]
    assert np.all(cell_area_m2(g, 0, 3) == 1e6)
    lon, lat = cell_centres(g, Window(0, 0, g["width"], g["height"]))
    assert g["source_window"][1] == 0 and g["height"] == 66  # top clipped to the raster
    assert lon.min() > 103.8 and lon.max() < 105.5 and lat.max() < 35.6


def test_cell_area_equator_one_degree():
    # independent reference: integral of M(phi) N(phi) cos(phi) over the cell, WGS84
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)

    def integrand(phi):
        w = 1 - e2 * math.sin(phi) ** 2
        return a * (1 - e2) / w**1.5 * a / w**0.5 * math.cos(phi)

    ref = quad(integrand, 0, math.radians(1))[0] * math.radians(1)
    got = cell_area_m2(_geo_grid(), 0, 1)[0]
    assert got == pytest.approx(ref, rel=1e-12)
    assert got / 1e6 == pytest.approx(12308.46, abs=0.01)  # km2
    # pyproj.Geod with densified parallel edges converges to the same area
    lons = np.r_[np.linspace(0, 1, 4001), np.linspace(1, 0, 4001)]
    lats = np.r_[np.zeros(4001), np.ones(4001)]
    geod_area = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0])
    assert got == pytest.approx(geod_area, rel=1e-9)


def test_cell_area_rows_and_int():
    g = _geo_grid(res=0.05, top=54.0, left=73.0, h=720, w=1240)
    full = cell_area_m2(g, 0, 720)
    assert np.array_equal(cell_area_m2(g, 100, 50), full[100:150])
    assert np.all(np.diff(full) > 0)  # cells grow towards the equator
    assert np.array_equal(cell_area_int(g, 0, 720), np.rint(full).astype(np.int64))
    # a 0.05 deg cell at 35.025 N is about 25.3 km2
    assert full[379] / 1e6 == pytest.approx(25.3, abs=0.05)


def test_cell_area_clarke_ellipsoid_differs():
    wgs = cell_area_m2(_geo_grid(top=41, h=1), 0, 1)[0]
    clk = cell_area_m2(_geo_grid(top=41, h=1, crs=CLARKE), 0, 1)[0]
    assert clk != wgs and clk == pytest.approx(wgs, rel=1e-3)


@pytest.mark.parametrize("n,parts", [(710, 2), (7, 3), (1000, 7), (5, 5)])
def test_split_bounds_matches_array_split(n, parts):
    ref = np.cumsum([0] + [len(x) for x in np.array_split(np.arange(n), parts)])
    assert np.array_equal(split_bounds(n, parts), ref)


def test_tile_windows_partition():
    g = _geo_grid(res=0.05, h=71, w=123)
    wins = tile_windows(g, 3, 4)
    assert len(wins) == 12 and list(wins)[0] == "r000_c000" and list(wins)[-1] == "r002_c003"
    cover = np.zeros((71, 123), int)
    for w in wins.values():
        cover[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] += 1
    assert np.all(cover == 1)
    assert tile_window(g, 3, 4, "r001_c002") == wins["r001_c002"] == tile_window(g, 3, 4, (1, 2))
    with pytest.raises(ConfigError):
        tile_windows(g, 72, 1)
    with pytest.raises(ConfigError):
        tile_window(g, 3, 4, "r003_c000")


def test_cell_centres_geographic():
    g = _geo_grid(res=0.5, top=40, left=100, h=4, w=6)
    lon, lat = cell_centres(g, Window(2, 1, 3, 2))
    assert lon.shape == (2, 3)
    assert lon[0].tolist() == [101.25, 101.75, 102.25]
    assert lat[:, 0].tolist() == [39.25, 38.75]


# ---------------------------------------------------------------- per-cell areas (any CRS)


def _proj_grid(crs, x0, y0, res, h=5, w=6):
    return {
        "crs": CRS(crs).to_wkt(),
        "transform": [res, 0, x0, 0, -res, y0],
        "width": w,
        "height": h,
        "is_geographic": False,
        "source_window": [0, 0, w, h],
    }


def _geod_cell_area(crs, x0, y0, res, r, c, n=16):
    """Geodesic area of cell (r, c) with its projected edges densified (n points per edge)."""
    pc = CRS(crs)
    inv = Transformer.from_crs(pc, pc.geodetic_crs, always_xy=True)
    corners = [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1), (c, r)]
    xs, ys = [], []
    for (xa, ya), (xb, yb) in zip(corners[:-1], corners[1:], strict=True):
        for k in range(n):
            f = k / n
            xs.append(x0 + res * (xa + (xb - xa) * f))
            ys.append(y0 - res * (ya + (yb - ya) * f))
    lon, lat = inv.transform(xs, ys)
    return abs(pc.get_geod().polygon_area_perimeter(lon, lat)[0])


@pytest.mark.parametrize(
    "crs,x0,y0,res",
    [
        ("EPSG:32649", 300_000, 3_800_000, 1000),  # UTM 49N, west edge of the zone
        ("EPSG:3857", 1.2e7, 4.0e6, 1000),  # web Mercator, areas shrink by cos(lat)^2
        ("+proj=lcc +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=krass +units=m", 1e5, 4e6, 250),
        ("EPSG:2383", 500_000, 3_800_000, 30),  # Xian 1980 3-degree Gauss-Kruger
    ],
)
def test_projected_cell_areas_match_geodesic(crs, x0, y0, res):
    g = _proj_grid(crs, x0, y0, res)
    assert area_method(g) == "cells"
    a = cell_areas_m2(g, Window(0, 0, g["width"], g["height"]))
    for r, c in ((0, 0), (2, 3), (4, 5)):
        assert a[r, c] == pytest.approx(_geod_cell_area(crs, x0, y0, res, r, c), rel=1e-8)
    assert np.ptp(a) > 0  # not constant: areas vary with position
    with pytest.raises(ValueError, match="cell_areas_m2"):
        cell_area_m2(g, 0, 1)


def test_projected_cell_areas_equal_area_exact():
    """The per-cell method reproduces an equal-area CRS's constant |a e| to 1e-8."""
    aea = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m"
    g = _proj_grid(aea, -300_000, 3_800_000, 30)
    assert area_method(g) == "constant"
    got = projected_cell_areas_m2(g, Window(0, 0, g["width"], g["height"]))
    assert np.allclose(got, 900.0, rtol=1e-8, atol=0)
    assert np.all(cell_areas_m2(g, Window(1, 2, 3, 2)) == 900.0)


def test_projected_cell_areas_tiling_invariant():
    g = _proj_grid("EPSG:32650", 200_000, 4_400_000, 30, h=40, w=50)
    full = cell_areas_int(g, Window(0, 0, 50, 40))
    parts = [cell_areas_int(g, w) for w in tile_windows(g, 3, 4).values()]
    assert sum(int(p.sum()) for p in parts) == int(full.sum())
    sub = cell_areas_m2(g, Window(7, 11, 13, 17))
    assert np.array_equal(sub, cell_areas_m2(g, Window(0, 0, 50, 40))[11:28, 7:20])


def test_geographic_cell_areas_2d_broadcast_rows():
    g = _geo_grid(res=0.05, top=55, left=70, h=20, w=30)
    a = cell_areas_m2(g, Window(3, 4, 5, 6))
    assert a.shape == (6, 5)
    assert np.array_equal(a[:, 0], cell_area_m2(g, 4, 6))
    assert np.array_equal(cell_areas_int(g, Window(3, 4, 5, 6))[:, 2], cell_area_int(g, 4, 6))


# ---------------------------------------------------------------- cell centres (lattice)

AEA_CN = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=krass +units=m"


def _exact_centres(g, win):
    """Reference: every cell centre transformed by pyproj (independent of the lattice code)."""
    t = g["transform"]
    cols = np.arange(win.col_off, win.col_off + win.width) + 0.5
    rows = np.arange(win.row_off, win.row_off + win.height) + 0.5
    xx, yy = np.meshgrid(t[2] + t[0] * cols, t[5] + t[4] * rows)
    return Transformer.from_crs(g["crs"], "EPSG:4326", always_xy=True).transform(xx, yy)


@pytest.mark.parametrize(
    "crs,lon,lat",
    [
        (AEA_CN, 75.0, 40.0),  # China Albers, 30 degrees west of its central meridian
        (AEA_CN, 125.0, 52.0),  # China Albers, far north-east
        ("EPSG:32650", 120.9, 45.0),  # UTM 50N at the east edge of the zone
    ],
)
def test_cell_centres_lattice_error_30m(crs, lon, lat):
    """30 m grids: stride 16 (480 m lattice); error < 1e-7 degree (~1 cm), measured ~4e-8."""
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    g = _proj_grid(crs, x - 7.0, y + 3.0, 30.0, h=1000, w=1200)
    assert grid_mod.lattice_stride(g, grid_mod.CENTRE_LATTICE_M) == 16
    win = Window(13, 21, 1100, 900)  # not aligned with the lattice
    lon_i, lat_i = cell_centres(g, win)
    lon_e, lat_e = _exact_centres(g, win)
    err = max(np.abs(lon_i - lon_e).max(), np.abs(lat_i - lat_e).max())
    assert 0 < err < 1e-7  # interpolated (not exact), but within the bound
    # lattice nodes (global index multiple of 16) are exact transforms
    assert lon_i[16 - 21 % 16, 16 - 13 % 16] == lon_e[16 - 21 % 16, 16 - 13 % 16]


def test_cell_centres_lattice_tiling_invariant():
    """The lattice is anchored to the global grid: any tiling gives identical centres."""
    g = _proj_grid(AEA_CN, 1_000_000, 4_500_000, 30.0, h=101, w=137)
    full = cell_centres(g, Window(0, 0, 137, 101))
    for rows, cols in ((2, 3), (3, 5), (7, 4)):
        for win in tile_windows(g, rows, cols).values():
            r, c = int(win.row_off), int(win.col_off)
            part = cell_centres(g, win)
            for k in range(2):
                assert np.array_equal(
                    part[k], full[k][r : r + int(win.height), c : c + int(win.width)]
                )


def test_cell_centres_exact_when_cells_are_coarse():
    """Cells >= 500 m (stride 1) and spacing_m=0 keep the exact per-cell transform."""
    g = _proj_grid(AEA_CN, 1_000_000, 4_500_000, 1000.0, h=30, w=40)
    assert grid_mod.lattice_stride(g, grid_mod.CENTRE_LATTICE_M) == 1
    win = Window(3, 4, 30, 20)
    lon, lat = cell_centres(g, win)
    lon_e, lat_e = _exact_centres(g, win)
    assert np.array_equal(lon, lon_e) and np.array_equal(lat, lat_e)
    g30 = _proj_grid(AEA_CN, 1_000_000, 4_500_000, 30.0, h=30, w=40)
    lon, lat = cell_centres(g30, win, spacing_m=0)
    lon_e, lat_e = _exact_centres(g30, win)
    assert np.array_equal(lon, lon_e) and np.array_equal(lat, lat_e)


def test_lattice_stride_units():
    assert grid_mod.lattice_stride(_proj_grid(AEA_CN, 0, 4e6, 30.0), 500) == 16
    assert grid_mod.lattice_stride(_proj_grid(AEA_CN, 0, 4e6, 250.0), 500) == 2
    assert grid_mod.lattice_stride(_geo_grid(res=0.05), 500) == 1  # ~5.6 km cells
    assert grid_mod.lattice_stride(_geo_grid(res=1 / 3600), 500) == 16  # 1 arc-second ~31 m
    ft = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=krass +units=us-ft"
    assert grid_mod.lattice_stride(_proj_grid(ft, 0, 1e7, 100.0), 500) == 16  # 30.48 m


def test_lattice_interpolate_exact_at_nodes_and_constant():
    rows = grid_mod.lattice_nodes(5, 20, 4)
    cols = grid_mod.lattice_nodes(3, 9, 4)
    assert rows[0].tolist() == [4, 8, 12, 16, 20, 24, 28]
    assert cols[0].tolist() == [0, 4, 8, 12]
    v = np.full((len(rows[0]), len(cols[0])), 7.3)
    assert np.all(grid_mod.lattice_interpolate(v, rows, cols) == 7.3)
    # a bilinear function is reproduced (to rounding)
    vv = 2.0 * rows[0][:, None] - 3.0 * cols[0][None, :]
    got = grid_mod.lattice_interpolate(vv.astype(float), rows, cols)
    r = np.arange(5, 25)[:, None]
    c = np.arange(3, 12)[None, :]
    assert np.allclose(got, 2.0 * r - 3.0 * c, atol=1e-12)
