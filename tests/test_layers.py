"""Tests of sinkzone.layers and the build_layers / mosaic_rasters wrappers on a synthetic world."""

import json
import math
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from build_layers import main as build_layers
from mosaic_rasters import main as mosaic_rasters
from rasterio.transform import from_origin
from rasterio.windows import Window
from shapely.geometry import LineString, box

from sinkzone import rastermeta as rm
from sinkzone.grid import define_grid, lattice_stride, tile_ids, tile_windows
from sinkzone.layers import (
    COAST_RESOLUTION_M,
    LAYERS,
    coast_distance_km,
    landcover_area_table,
    reduce_landcover_area,
)
from sinkzone.legend import load_ecosystems
from sinkzone.mosaic import write_cog

ZONES = [
    {"id": "plateau", "recipe": {"include": [{"vector": "tibetan_plateau"}]}},
    {
        "id": "pref",
        "recipe": {
            "include": [{"admin": [330200]}],
            "require": [{"layer": "climate", "op": "eq", "value": "B"}],
        },
    },
    {"id": "coastal", "recipe": {"include": [{"layer": "coast_km", "op": "le", "value": 50}]}},
]


def _tif(path, arr, transform, nodata, crs="EPSG:4326"):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=arr.shape[0],
        width=arr.shape[1],
        count=1,
        dtype=arr.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(arr, 1)
    return str(path)


@pytest.fixture
def world(tmp_path):
    lc = np.full((40, 40), 1, np.uint8)  # 0.1 deg cells over 118-122 E, 28-32 N
    lc[:, 20:] = 12
    lc[0, 0] = 255
    lc[25, 5] = 0  # water at 118.55 E, 29.45 N
    lc_path = _tif(tmp_path / "lc.tif", lc, from_origin(118, 32, 0.1, 0.1), 255)
    legend = tmp_path / "legend.csv"
    legend.write_text("code,name,ecosystem\n0,Water,water\n1,ENF,forest\n12,Crop,cropland\n")
    x = (np.arange(400) + 0.5) * 0.01
    dem = np.tile((x * 111_000 * 0.6).astype(np.float32), (400, 1))  # ~31 deg at 30 N
    dem[:, 300:] = 5.0
    dem_path = _tif(tmp_path / "dem.tif", dem, from_origin(118, 32, 0.01, 0.01), -9999.0)
    clim = np.full((400, 400), 3, np.uint8)
    clim[:200] = 2
    clim_path = _tif(tmp_path / "kg.tif", clim, from_origin(118, 32, 0.01, 0.01), 0)
    gpkg = str(tmp_path / "vectors.gpkg")
    crs = "EPSG:4326"
    gpd.GeoDataFrame({"code": [100000]}, geometry=[box(118, 28, 121.5, 30)], crs=crs).to_file(
        gpkg, layer="region"
    )
    gpd.GeoDataFrame(
        {"code": [330000, 320000]},
        geometry=[box(118, 28, 119.5, 32), box(119.5, 28, 122, 32)],
        crs=crs,
    ).to_file(gpkg, layer="provinces")
    gpd.GeoDataFrame(
        {"code": [330102, 330201, 320101]},
        geometry=[box(118, 28, 119, 32), box(119, 28, 119.5, 32), box(119.5, 28, 122, 32)],
        crs=crs,
    ).to_file(gpkg, layer="counties")
    gpd.GeoDataFrame(geometry=[LineString([(121.5, 20), (121.5, 40)])], crs=crs).to_file(
        gpkg, layer="coastline"
    )
    gpd.GeoDataFrame(geometry=[box(118, 28, 118.5, 28.5)], crs=crs).to_file(
        gpkg, layer="tibetan_plateau"
    )
    grid = define_grid(lc_path, (118, 28, 122, 32))
    grid_path = tmp_path / "grid.json"
    grid_path.write_text(json.dumps(grid))
    return {
        "tmp": tmp_path,
        "grid": str(grid_path),
        "landcover": lc_path,
        "legend": str(legend),
        "ecosystems": "config/ecosystems.csv",
        "vectors": gpkg,
        "dem": dem_path,
        "climate": clim_path,
        "precip": None,
    }


def _build(world, tile, rows, cols, name):
    out = world["tmp"] / name / tile
    layers = {n: str(out / f"{n}.tif") for n in LAYERS}
    build_layers(
        grid=world["grid"],
        landcover=world["landcover"],
        legend=world["legend"],
        ecosystems=world["ecosystems"],
        vectors=world["vectors"],
        dem=world["dem"],
        climate=world["climate"],
        precip=world["precip"],
        layers=layers,
        area_csv=str(out / "landcover_area.csv"),
        tile=tile,
        rows=rows,
        cols=cols,
        coast_max_km=300,
        zone_items=ZONES,
        classes=str(out / "classes.json"),
    )
    return layers, out / "landcover_area.csv"


def _read(path):
    """(array, metadata namespace) of a single-band raster."""
    with rasterio.open(path) as src:
        meta = SimpleNamespace(
            dtypes=src.dtypes,
            nodata=src.nodata,
            descriptions=src.descriptions,
            tags=src.tags(),
            layout=src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT"),
            units=src.units,
            transform=src.transform,
            crs=src.crs,
            colormap=src.colormap(1) if src.colorinterp[0].name == "palette" else None,
        )
        return src.read(1), meta


def test_coast_distance_hand_value():
    grid = {
        "crs": "EPSG:4326",
        "transform": [1, 0, 120.5, 0, -1, 30.5],
        "width": 6,
        "height": 1,
        "is_geographic": True,
    }
    lines = gpd.GeoDataFrame(geometry=[LineString([(120, 20), (120, 40)])], crs="EPSG:4326")
    d = coast_distance_km(lines, grid, Window(0, 0, 6, 1), max_km=300)
    # distance from (121 E, 30 N) to the meridian 120 E: R asin(cos 30 sin 1 deg)
    ref = 6371.0088 * math.asin(math.cos(math.radians(30)) * math.sin(math.radians(1)))
    assert ref == pytest.approx(96.30, abs=0.01)
    assert d[0, 0] == pytest.approx(ref, abs=0.3)
    assert d[0, 1] == pytest.approx(2 * ref, rel=0.01)
    assert d[0, 5] == 300  # capped
    assert coast_distance_km(None, grid, Window(0, 0, 6, 1), 300).max() == 300


AEA_CN = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=krass +units=m"


def _coast_grid(h=300, w=400, res=30.0):
    """A 30 m China Albers grid near Shanghai (9 km x 12 km) and a wiggly coastline crossing it."""
    from pyproj import CRS, Transformer

    x, y = Transformer.from_crs("EPSG:4326", AEA_CN, always_xy=True).transform(121.5, 31.0)
    grid = {
        "crs": CRS(AEA_CN).to_wkt(),
        "transform": [res, 0, x, 0, -res, y],
        "width": w,
        "height": h,
        "is_geographic": False,
    }
    lon = np.linspace(121.4, 121.7, 61)
    lat = 30.96 + 0.02 * np.sin((lon - 121.4) * 40) + 0.1 * (lon - 121.4)
    line = LineString(np.column_stack([lon, lat]))
    islet = LineString([(121.58, 30.99), (121.59, 30.995), (121.6, 30.99)])
    return grid, gpd.GeoDataFrame(geometry=[line, islet], crs="EPSG:4326")


def test_coast_distance_lattice_error_bound():
    """30 m cells, 500 m resolution: stride 16 (480 m); |lattice - exact| <= 480 / sqrt(2) m."""
    grid, lines = _coast_grid()
    assert lattice_stride(grid, COAST_RESOLUTION_M) == 16
    win = Window(0, 0, 400, 300)
    exact = coast_distance_km(lines, grid, win, max_km=5, resolution_m=0)
    fast = coast_distance_km(lines, grid, win, max_km=5)
    assert exact.dtype == fast.dtype == np.float32
    assert exact.min() < 0.1 and exact.max() == 5  # the coast crosses the grid; cap reached
    err = np.abs(fast.astype(float) - exact)
    assert 0 < err.max() < 0.48 / math.sqrt(2) * 1.01  # the bound (map scale ~1.0 here)
    assert err.max() < 0.48  # below the lattice spacing
    assert np.median(err) < 0.01  # nearly exact away from the coast and ridges
    assert fast.max() == 5 and np.all(fast >= 0)


def test_coast_distance_lattice_tiling_invariant():
    """1 x 1 and 2 x 3 (and 3 x 4) tilings give identical arrays with a stride-16 lattice."""
    grid, lines = _coast_grid(h=170, w=230)
    full = coast_distance_km(lines, grid, Window(0, 0, 230, 170), max_km=3)
    assert 0 < full.min() < 0.5 and full.max() == 3
    for rows, cols in ((2, 3), (3, 4)):
        mosaic = np.full_like(full, np.nan)
        for win in tile_windows(grid, rows, cols).values():
            r, c = int(win.row_off), int(win.col_off)
            mosaic[r : r + int(win.height), c : c + int(win.width)] = coast_distance_km(
                lines, grid, win, max_km=3
            )
        assert np.array_equal(mosaic, full), (rows, cols)


def test_coast_distance_coarse_grid_is_exact():
    """0.05-degree cells (~5.6 km) keep stride 1: every cell is queried exactly."""
    grid = {
        "crs": "EPSG:4326",
        "transform": [0.05, 0, 120.0, 0, -0.05, 31.0],
        "width": 30,
        "height": 20,
        "is_geographic": True,
    }
    assert lattice_stride(grid, COAST_RESOLUTION_M) == 1
    lines = gpd.GeoDataFrame(geometry=[LineString([(120.7, 30), (121.2, 31.2)])], crs="EPSG:4326")
    win = Window(3, 2, 25, 15)
    got = coast_distance_km(lines, grid, win, max_km=50)
    ref = coast_distance_km(lines, grid, win, max_km=50, resolution_m=0)
    assert np.array_equal(got, ref) and got.min() < 3 and got.max() == 50


def test_write_cog_caps_gdal_cache(tmp_path, monkeypatch):
    import rasterio.env
    import rasterio.shutil

    from sinkzone.io import write_raster

    grid = {
        "crs": "EPSG:4326",
        "transform": [0.1, 0, 100.0, 0, -0.1, 40.0],
        "width": 20,
        "height": 10,
        "is_geographic": True,
    }
    tiles, regions = [], []
    for c in (0, 10):
        p, r = tmp_path / f"t{c}.tif", tmp_path / f"r{c}.tif"
        arr = np.arange(100, dtype=np.float32).reshape(10, 10) + c
        tr = from_origin(100 + c / 10, 40, 0.1, 0.1)
        write_raster(p, arr, crs="EPSG:4326", transform=tr)
        write_raster(r, np.ones((10, 10), np.uint8), crs="EPSG:4326", transform=tr, nodata=255)
        tiles.append(str(p))
        regions.append(str(r))
    seen = []
    real = rasterio.shutil.copy

    def spy(*a, **k):
        seen.append(rasterio.env.getenv().get("GDAL_CACHEMAX"))
        return real(*a, **k)

    monkeypatch.setattr(rasterio.shutil, "copy", spy)
    band = {"description": "test", "unit": "1", "metadata": {}}
    write_cog(
        tiles, regions, grid, tmp_path / "m.tif", crs="EPSG:4326", nodata=-9999.0, bands=[band]
    )
    assert seen == [256]
    m, meta = _read(tmp_path / "m.tif")
    assert meta.layout == "COG" and m[3, 12] == 3 * 10 + 2 + 10 and m[3, 2] == 32


def test_build_layers_inside_tile(world):
    layers, area_csv = _build(world, "r001_c000", 2, 2, "t")
    g = json.loads(open(world["grid"], encoding="utf-8").read())
    for name, (dtype, _, _) in LAYERS.items():
        arr, src = _read(layers[name])
        assert src.dtypes[0] == (dtype or "uint8") and arr.shape == (20, 20), name
        # tiles carry the output nodata (what a cell outside the region holds)
        assert src.nodata == rm.out_nodata(name, g), name
    region, _ = _read(layers["region"])
    assert region.sum() == 20 * 20  # tile 118-120 E, 28-30 N lies in the region
    eco, src = _read(layers["ecosystem"])
    assert set(np.unique(eco)) == {1, 6} and src.colormap[1][:3] == (0x1B, 0x78, 0x37)
    county, _ = _read(layers["county"])
    assert county[0, 0] == 330102 and county[0, 12] == 330201 and county[0, 17] == 320101
    steep25, _ = _read(layers["steep25"])
    assert steep25[10, 5] == 1000
    climate, _ = _read(layers["climate"])
    assert set(np.unique(climate)) == {3}  # south half
    coast, _ = _read(layers["coast_km"])
    ref = 6371.0088 * math.asin(math.cos(math.radians(28.05)) * math.sin(math.radians(1.55)))
    assert coast[-1, -1] == pytest.approx(ref, abs=0.3)
    zones, _ = _read(layers["zones"])
    assert zones[-1, 0] & 1 and not zones[0, 0] & 1  # plateau box 118-118.5 E, 28-28.5 N
    assert not (zones & 2).any()  # prefecture 330200 is not arid (climate C) here
    precip, _ = _read(layers["precip"])
    assert np.all(precip == -9999)
    red, _ = _read(layers["red_line"])
    assert np.all(red == 0)
    counts = pd.read_csv(area_csv)
    assert counts["landcover"].tolist() == [0, 1] and counts["ecosystem"].tolist() == [6, 1]
    assert counts["area_m2"].dtype == np.int64


def test_zones_pref_requires_arid(world):
    layers, _ = _build(world, "r000_c000", 2, 2, "t")
    # north tile is outside the region (region box ends at 30 N): early exit, all nodata
    zones, src = _read(layers["zones"])
    assert np.all(zones == 65535) and src.nodata == 65535


def test_early_exit_tile(world):
    layers, area_csv = _build(world, "r000_c001", 2, 2, "t")
    lc, src = _read(layers["landcover"])
    assert np.all(lc == 255) and src.nodata == 255
    for name, value in [
        ("region", 255),
        ("ecosystem", 0),
        ("elevation", -9999),
        ("steep15", 65535),
        ("coast_km", -9999),
        ("zones", 65535),
        ("red_line", 255),
    ]:
        arr, _ = _read(layers[name])
        assert np.all(arr == value), name
    assert pd.read_csv(area_csv).empty


def test_area_and_mosaic_independent_of_tiling(world):
    frames, tiles = [], {}
    for t in tile_ids(2, 2):
        layers, csv = _build(world, t, 2, 2, "t")
        frames.append(pd.read_csv(csv))
        tiles[t] = layers
    single, csv1 = _build(world, "r000_c000", 1, 1, "one")
    red4 = reduce_landcover_area(frames)
    red1 = reduce_landcover_area([pd.read_csv(csv1)])
    assert red4.equals(red1) and red4["area_m2"].dtype == np.int64
    table = landcover_area_table(red1, load_ecosystems(world["ecosystems"]), {1: "ENF"})
    assert table["ecosystem"].tolist() == ["forest", "cropland", "water"]
    assert table["landcover_codes"].tolist()[0] == "1 ENF"
    # region 118-121.5 E x 28-30 N ~ 3.5 deg x 2 deg ~ 72,000 km2
    assert table["area_m2"].sum() / 1e6 == pytest.approx(3.5 * 2 * 111.2 * 111.0 * 0.8746, rel=0.01)
    regions = world["tmp"] / "regions.csv"
    regions.write_text("level,code,parent_code,name_zh,name_en\n", encoding="utf-8")
    classes = {
        "legend": world["legend"],
        "ecosystems": world["ecosystems"],
        "catalog": "config/technologies.csv",
        "climate": "config/climate_classes.csv",
        "region_list": str(regions),
        "zone_items": [],
    }
    inside = _read(single["region"])[0] == 1
    for name in ("landcover", "coast_km", "ecosystem", "zones", "elevation", "steep25", "county"):
        cog = world["tmp"] / "mosaic" / f"{name}.tif"
        mosaic_rasters(
            name=name,
            tiles=[tiles[t][name] for t in tile_ids(2, 2)],
            regions=[tiles[t]["region"] for t in tile_ids(2, 2)],
            grid=world["grid"],
            cog=str(cog),
            aux=f"{cog}.aux.xml",
            **classes,
        )
        m, src = _read(cog)
        one, src1 = _read(single[name])
        assert src.layout == "COG"
        # inside the region the mosaic equals the single tile; outside it is nodata
        assert np.array_equal(m[inside], one[inside]), name
        g = json.loads(open(world["grid"], encoding="utf-8").read())
        assert (m[~inside] == src.nodata).all() and src.nodata == rm.out_nodata(name, g)
        assert src.transform == src1.transform and src.crs.to_epsg() == 4326
        assert src.descriptions[0] == rm.description(name) and src.tags["layer"] == name
        assert "tile" not in src.tags and src.units
        if name == "ecosystem":
            assert src.colormap[4][:3] == (0xF4, 0x6D, 0x43)


def test_layer_vrts_equal_the_cog_mosaics_and_carry_their_metadata(world):
    """layers/<name>.vrt over the (masked) tiles holds the cells, nodata, CRS label, units,
    colour table and class names of the COG mosaic; tiles are referenced relative to the VRT
    (the run folder can be moved); mosaicking the masked tiles again changes nothing."""
    import shutil
    import sys
    from pathlib import Path

    from write_layer_vrts import main as write_layer_vrts

    sys.path.insert(0, str(Path(__file__).parent))
    from gdal_c import read_band_info

    run = world["tmp"] / "run"
    tiles = {t: _build(world, t, 2, 2, "run/tiles")[0] for t in tile_ids(2, 2)}
    regions = world["tmp"] / "regions.csv"
    regions.write_text(
        "level,code,parent_code,name_zh,name_en\nprovince,330000,0,浙江,Zhejiang\n"
        "province,320000,0,江苏,Jiangsu\ncounty,330102,330000,上城,Shangcheng\n",
        encoding="utf-8",
    )
    kw = {
        "legend": world["legend"],
        "ecosystems": world["ecosystems"],
        "catalog": "config/technologies.csv",
        "climate": "config/climate_classes.csv",
        "region_list": str(regions),
        "zone_items": ZONES,
    }
    classes = [str(Path(tiles[t]["region"]).parent / "classes.json") for t in tile_ids(2, 2)]
    vrts = {n: str(run / "layers" / f"{n}.vrt") for n in LAYERS}
    write_layer_vrts(
        tiles={n: [tiles[t][n] for t in tile_ids(2, 2)] for n in LAYERS},
        classes=classes,
        grid=world["grid"],
        vrts=vrts,
        **kw,
    )
    assert 'relativeToVRT="1">../tiles/r000_c000/' in Path(vrts["zones"]).read_text()
    moved = world["tmp"] / "moved"
    shutil.copytree(run, moved)
    shutil.rmtree(run)
    for name in ("landcover", "ecosystem", "region", "county", "zones", "steep25", "coast_km"):
        cog = world["tmp"] / "mosaic" / f"{name}.tif"
        mosaic_rasters(
            name=name,
            tiles=[str(moved / "tiles" / t / f"{name}.tif") for t in tile_ids(2, 2)],
            regions=[str(moved / "tiles" / t / "region.tif") for t in tile_ids(2, 2)],
            grid=world["grid"],
            cog=str(cog),
            aux=f"{cog}.aux.xml",
            **kw,
        )
        vrt = moved / "layers" / f"{name}.vrt"
        v, vm = _read(vrt)
        c, cm = _read(cog)
        assert np.array_equal(v, c) and v.dtype == c.dtype, name
        assert vm.nodata == cm.nodata and vm.crs == cm.crs and vm.transform == cm.transform
        assert vm.units == cm.units and vm.descriptions == cm.descriptions, name
        # GeoTIFF colour tables have 256 entries and no alpha (read back as 255)
        n = len(vm.colormap or {})
        rgb = [{k: c[:3] for k, c in (m.colormap or {}).items() if k < n} for m in (vm, cm)]
        assert rgb[0] == rgb[1], name
        assert {k: v for k, v in vm.tags.items()} == cm.tags, name
        vi, ci = read_band_info(str(vrt)), read_band_info(str(cog))
        assert vi == ci, name
        if name in ("ecosystem", "county", "zones", "landcover"):
            assert vi["rat"], name
    assert read_band_info(str(moved / "layers" / "county.vrt"))["rat"][0]["Value"] == "330102"
    # styles and the QGIS project read the class tables and value ranges from the VRTs
    import xml.etree.ElementTree as ET

    import write_styles

    vrts = [str(moved / "layers" / f"{n}.vrt") for n in ("ecosystem", "coast_km")]
    qml = [v.replace(".vrt", ".qml") for v in vrts]
    sld = [v.replace(".vrt", ".sld") for v in vrts]
    write_styles.main(rasters=vrts, qml=qml, sld=sld, qgz=str(moved / "p.qgz"), run="t")
    labels = [e.get("label") for e in ET.parse(qml[0]).getroot().iter("paletteEntry")]
    assert "1 Forest" in labels, labels
    assert ET.parse(qml[1]).getroot().find(".//colorrampshader") is not None


def test_landcover_area_counts_bincount_equals_sort(monkeypatch):
    """The one-pass bincount sums equal the np.unique path exactly (int64 m2)."""
    import sinkzone.layers as L

    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (300, 200)).astype(np.uint8)
    eco = rng.integers(0, 12, (300, 200)).astype(np.uint8)
    region = (rng.random((300, 200)) < 0.8).astype(np.uint8)
    from pyproj import CRS

    grid = {
        "crs": CRS.from_epsg(4326).to_wkt(),
        "transform": [0.01, 0, 100.0, 0, -0.01, 40.0],
        "width": 200,
        "height": 300,
        "is_geographic": True,
    }
    win = Window(0, 0, 200, 300)
    fast = L.landcover_area_counts(codes, eco, region, grid, win)
    monkeypatch.setattr(L, "BINCOUNT_MAX_KEYS", 0)
    slow = L.landcover_area_counts(codes, eco, region, grid, win)
    assert fast.equals(slow) and fast["area_m2"].dtype == np.int64 and len(fast) > 1000


def test_present_classes_and_mask_outside_region():
    import sinkzone.layers as L

    region = np.array([[1, 0, 1]], np.uint8)
    arrays = {
        "region": region.copy(),
        "province": np.array([[110000, 120000, 110000]], np.uint32),
        "county": np.array([[110101, 120101, 110102]], np.uint32),
        "zones": np.array([[0, 3, 1]], np.uint16),
        "elevation": np.array([[5.0, 6.0, 7.0]], np.float32),
    }
    assert L.present_classes(arrays) == {
        "province": [110000],
        "county": [110101, 110102],
        "zones": [0, 1],
    }
    L.mask_outside_region(arrays, {"dtype": "uint8", "nodata": 255})
    assert arrays["region"].tolist() == [[1, 255, 1]] and arrays["zones"].tolist() == [
        [0, 65535, 1]
    ]
    assert arrays["elevation"].tolist() == [[5.0, -9999.0, 7.0]]


def test_float_tiles_use_the_floating_point_predictor(tmp_path):
    """Intermediate float tiles: Zstandard + PREDICTOR=3 (5-10 x smaller for smooth layers),
    read back bit for bit (NaN and nodata included); integer tiles without a predictor."""
    import rasterio
    from rasterio.transform import from_origin

    from sinkzone.io import tile_compression, write_raster

    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.random((300, 300), dtype=np.float32), axis=1)
    smooth[0, :5] = [np.nan, -9999.0, 0.0, -0.0, np.inf]
    ints = rng.integers(0, 9, (300, 300)).astype(np.uint8)
    for name, arr in (("f.tif", smooth), ("i.tif", ints)):
        write_raster(tmp_path / name, arr, crs="EPSG:3857", transform=from_origin(0, 0, 30, 30),
                     nodata=-9999.0 if arr.dtype.kind == "f" else 255,
                     compression=tile_compression(arr.dtype))  # fmt: skip
        with rasterio.open(tmp_path / name) as src:
            back = src.read(1)
            structure = src.tags(ns="IMAGE_STRUCTURE")
        assert back.tobytes() == arr.tobytes()
        assert structure.get("COMPRESSION") == "ZSTD"
        assert structure.get("PREDICTOR") == ("3" if arr.dtype.kind == "f" else None)
