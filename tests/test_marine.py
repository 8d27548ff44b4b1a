"""Blue carbon: depth reading, the sea mask, provinces of sea cells, marine rules, tables."""

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from conftest import snakemake
from pyproj import Geod
from rasterio.transform import from_origin
from rasterio.windows import Window
from shapely.geometry import LineString, box

from sinkzone import marine as mar
from sinkzone.allocate import eligibility
from sinkzone.bluecarbon import blue_carbon_stats, blue_carbon_table, load_caps
from sinkzone.catalog import load_catalog
from sinkzone.grid import define_grid
from sinkzone.layers import build_tile_layers, lake_layers
from sinkzone.layerspec import marine_flag
from sinkzone.legend import load_ecosystems, load_legend
from sinkzone.suitability import load_ruleset, load_vocab
from sinkzone.summary import blue_carbon_section, marine_not_mapped
from sinkzone.validation import blue_carbon_rows

ROOT = Path(__file__).resolve().parents[1]
CFG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
WGS84 = "EPSG:4326"


# ------------------------------------------------------------------------------ depth


def test_depth_from_netcdf_arrays_wraps_negates_and_masks():
    lon = np.arange(0, 360.01, 90.0)  # 0, 90, 180, 270, 360 (360 repeats 0)
    lat = np.array([-10.0, 0.0, 10.0])  # ascending, as ETOPO1
    z = np.array([[1.0, -2, -3, -4, 1], [5, 6, 7, np.nan, 5], [-25, -47, 100, 8, -25]], "f4")
    depth, tr = mar.depth_from_netcdf_arrays(z, lat, lon)
    assert depth.shape == (3, 4)  # the repeated meridian is dropped
    # north-up and lon -180..180: first row is lat 10, columns -180, -90, 0, 90
    assert depth[0].tolist() == [-100.0, -8.0, 25.0, 47.0]
    assert depth[1, 1] == mar.DEPTH_NODATA  # NaN (270 E = 90 W)
    assert (tr.c, tr.f, tr.a, tr.e) == (-225.0, 15.0, 90.0, -10.0)
    down, _ = mar.depth_from_netcdf_arrays(-z, lat, lon, positive="down")
    assert np.array_equal(down, depth)
    with pytest.raises(Exception, match="beyond"):
        mar.depth_from_netcdf_arrays(z * 1000, lat, lon)


def test_prepare_depth_netcdf_file(tmp_path):
    import xarray as xr
    from prepare_depth import main

    lon = np.arange(0, 360.01, 0.5)
    lat = np.arange(-90, 90.01, 0.5)
    z = np.full((lat.size, lon.size), 100.0, "f4")
    z[np.searchsorted(lat, 38.5), np.searchsorted(lon, 120.0)] = -25.0  # Bohai
    src = tmp_path / "etopo.grd"
    xr.Dataset({"z": (("lat", "lon"), z)}, coords={"lat": lat, "lon": lon}).to_netcdf(src)
    out = tmp_path / "depth.tif"
    from sinkzone.registry import file_meta, load_registry

    root = Path(__file__).resolve().parents[1]
    var = file_meta(load_registry(root / "data" / "registry.csv"), "etopo1_bathymetry")["var"]
    main(src=str(src), depth=str(out), var=var)
    with rasterio.open(out) as ds:
        assert ds.crs.to_epsg() == 4326 and ds.nodata == mar.DEPTH_NODATA
        (v,) = ds.sample([(120.0, 38.5)])
        (w,) = ds.sample([(121.0, 38.5)])
    assert v[0] == 25.0 and w[0] == -100.0


# ------------------------------------------------------------------------------ coast and sea


@pytest.fixture
def coast():
    """Land x < 120 E between 30 and 32 N (provinces split at 31 N); a foreign island at 121 E."""
    nation = box(118, 30, 120, 32)
    provinces = gpd.GeoDataFrame(
        {"code": [320000, 330000]},
        geometry=[box(118, 31, 120, 32), box(118, 30, 120, 31)],
        crs=WGS84,
    )
    counties = provinces.assign(code=[320101, 330101])
    lines = gpd.GeoDataFrame(
        geometry=[LineString([(120, 29), (120, 33)]), LineString([(121.0, 30.5), (121.0, 30.7)])],
        crs=WGS84,
    )
    pts = mar.coast_points(nation, lines, nation, provinces, counties)
    return {
        "nation": nation,
        "provinces": provinces,
        "counties": counties,
        "lines": lines,
        "pts": pts,
    }


def test_coast_points_split_china_and_other_coasts(coast):
    pts = coast["pts"]
    china, other = pts[pts["china"] == 1], pts[pts["china"] == 0]
    # China's coast is the national boundary along the coastline (x = 120); land borders are
    # left out beyond the 5 km tolerance (0.052 deg of longitude at 30 N)
    assert (china.geometry.x > 120 - 5.0 / (111.195 * math.cos(math.radians(32)))).all()
    assert (china.geometry.x == 120.0).sum() > 0.9 * len(china)
    assert china.geometry.y.between(30, 32).all() and len(china) > 100
    # other coasts: the island, and the coastline beyond China's boundary (> 5 km away)
    assert (other.geometry.x == 121.0).sum() > 10
    assert set(china["province"]) == {320000, 330000} and set(other["province"]) == {0}
    north = china[china.geometry.y > 31.05]
    assert (north["province"] == 320000).all() and (north["county"] == 320101).all()
    assert china["in_region"].all()


def test_sea_cells_distance_on_the_ellipsoid_median_line_and_province(coast):
    lon = np.arange(120.025, 121.5, 0.05)[None, :]
    lat = np.array([30.6, 31.5])[:, None]
    cand = np.ones((2, lon.size), bool)
    sea, prov, county, km = mar.sea_cells(lon, lat, cand, coast["pts"], 50.0)
    geod = Geod(ellps="WGS84")
    exact = np.array([[geod.inv(120.0, la, lo, la)[2] / 1000 for lo in lon[0]] for la in lat[:, 0]])
    # north row (31.5 N): every cell within 50 km on the ellipsoid is sea, none beyond
    assert np.array_equal(sea[1], exact[1] <= 50.0)
    assert np.allclose(km[1][sea[1]], exact[1][sea[1]], atol=0.02)  # 1 km point spacing
    # south row (30.6 N): the foreign island at 121 E is nearer beyond the median (120.5 E)
    assert sea[0][lon[0] < 120.49].all() and not sea[0][lon[0] > 120.51].any()
    assert (prov[1][sea[1]] == 320000).all() and (prov[0][sea[0]] == 330000).all()
    assert (county[1][sea[1]] == 320101).all()
    assert (prov[~sea] == 0).all()
    # candidates only: a cell that is not a candidate never becomes sea
    sea2, *_ = mar.sea_cells(lon, lat, np.zeros_like(cand), coast["pts"], 50.0)
    assert not sea2.any()


def test_sea_cells_only_on_the_region(coast):
    region = box(118, 31, 120, 32)  # the northern province only
    pts = mar.coast_points(coast["nation"], coast["lines"], region, coast["provinces"],
                           coast["counties"])  # fmt: skip
    lon = np.full((1, 1), 120.1)
    lat = np.array([[30.3], [31.7]])
    sea, prov, _, _ = mar.sea_cells(lon, lat, np.ones((2, 1), bool), pts, 50.0)
    assert sea[:, 0].tolist() == [False, True] and prov[1, 0] == 320000


# ------------------------------------------------------------------------------ tile layers


def _tif(path, arr, transform, nodata):
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0],
                       count=1, dtype=arr.dtype, crs=WGS84, transform=transform,
                       nodata=nodata) as dst:  # fmt: skip
        dst.write(arr, 1)
    return str(path)


@pytest.fixture
def world(tmp_path, coast):
    """0.05 deg grid 118-121 E, 30-32 N: land west of 120 E, sea east (depth 10 m, 60 m east of
    120.6 E); region = the nation; a lake at 118.5 E."""
    t = from_origin(118, 32, 0.05, 0.05)
    lc = np.full((40, 60), 12, np.uint8)  # cropland
    lc[:, 40:] = 0  # water (the sea)
    lc_path = _tif(tmp_path / "lc.tif", lc, t, 255)
    depth = np.full((40, 60), -5.0, np.float32)
    depth[:, 40:] = 10.0
    depth[:, 52:] = 60.0
    depth_path = _tif(tmp_path / "depth.tif", depth, t, -9999.0)
    dem = np.full((40, 60), 5.0, np.float32)
    dem_path = _tif(tmp_path / "dem.tif", dem, t, -9999.0)
    clim_path = _tif(tmp_path / "kg.tif", np.full((40, 60), 3, np.uint8), t, 0)
    legend = tmp_path / "legend.csv"
    legend.write_text("code,name,ecosystem\n0,Water,water\n12,Crop,cropland\n")
    gpkg = str(tmp_path / "vectors.gpkg")
    nation = gpd.GeoDataFrame(geometry=[coast["nation"]], crs=WGS84)
    nation.to_file(gpkg, layer="region")
    nation.to_file(gpkg, layer="nation")
    coast["provinces"].to_file(gpkg, layer="provinces")
    coast["counties"].to_file(gpkg, layer="counties")
    lines = coast["lines"].iloc[:1]  # no foreign island here
    lines.to_file(gpkg, layer="coastline")
    mar.coast_points(coast["nation"], lines, coast["nation"], coast["provinces"],
                     coast["counties"]).to_file(gpkg, layer="coast_points")  # fmt: skip
    gpd.GeoDataFrame(geometry=[box(118.4, 30.4, 118.6, 30.6)], crs=WGS84).to_file(
        gpkg, layer="lakes")  # fmt: skip
    grid = define_grid(lc_path, (118, 30, 121, 32))
    eco = load_ecosystems(ROOT / "config" / "ecosystems.csv")
    common = dict(grid=grid, window=Window(0, 0, 60, 40), landcover_path=lc_path,
                  legend_lut=load_legend(str(legend), eco), legend_path=str(legend),
                  vectors_path=gpkg, dem_path=dem_path, climate_path=clim_path,
                  precip_path=None, coast_max_km=300, zone_items=[])  # fmt: skip
    return {"common": common, "depth": depth_path, "grid": grid,
            "sea_id": int(eco.loc[eco["name"] == "sea", "id"].iloc[0])}  # fmt: skip


def test_tile_layers_sea_on_and_land_unchanged(world):
    off = build_tile_layers(**world["common"])
    on = build_tile_layers(
        **world["common"],
        depth_path=world["depth"],
        marine={"max_km": 100, "max_depth_m": 50, "sea_id": world["sea_id"]},
    )
    land = off["region"] == 1
    assert land[:, :40].all() and not land[:, 40:].any()
    for name in off:  # land cells are the same with the sea on or off
        if name not in ("depth", "marine"):
            assert np.array_equal(on[name][land], off[name][land]), name
    sea = (on["marine"] & marine_flag("sea")) != 0
    # sea: east of the coast, depth <= 50 m (columns 40-51, all within 100 km of 120 E)
    assert sea[:, 40:52].all() and not sea[:, 52:].any() and not sea[:, :40].any()
    assert (on["region"][sea] == 1).all() and (on["ecosystem"][sea] == world["sea_id"]).all()
    assert (on["province"][:20][sea[:20]] == 320000).all()
    assert (on["province"][20:][sea[20:]] == 330000).all()
    assert np.all(off["depth"] == mar.DEPTH_NODATA) and on["depth"][0, 45] == 10.0
    # every sea cell may hold mariculture (no zoning file); the lake bit marks the lake cells
    assert ((on["marine"][sea] & marine_flag("mariculture_allowed")) != 0).all()
    assert on["marine"][30, 10] & marine_flag("lake") and off["marine"][30, 10] & marine_flag(
        "lake"
    )


def test_lake_distance_layer(world):
    c = world["common"]
    km, lake = lake_layers(c["vectors_path"], world["grid"], c["window"], 50.0)
    assert lake[30, 10] == 1 and km[30, 10] == 0.0  # 118.525 E, 30.475 N in the lake
    # 118.725 E, 30.475 N: 0.125 deg east of the shore at 118.6 E
    ref = 6371.0088 * math.radians(0.125) * math.cos(math.radians(30.475))
    assert km[30, 14] == pytest.approx(ref, abs=0.3)
    assert km.max() <= 50.0


# ------------------------------------------------------------------------------ rules


@pytest.fixture(scope="module")
def real_rules():
    zone_ids = [z["id"] for z in CFG["zones"]["items"]]
    vocab = load_vocab(ROOT / CFG["ecosystems"], zone_ids)
    cat = load_catalog(ROOT / CFG["catalog"], ROOT / "config" / "technologies.schema.yaml")
    rs = load_ruleset(ROOT / CFG["suitability"], vocab, cat)
    return rs, cat, vocab, zone_ids


def _stack(vocab, zone_ids, n, **over):
    eco = vocab.ecosystems
    base = {
        "ecosystem": np.full(n, eco["sea"], np.uint8), "landcover": np.zeros(n, np.uint8),
        "region": np.ones(n, np.uint8), "province": np.full(n, 370000, np.uint32),
        "county": np.full(n, 370202, np.uint32), "elevation": np.full(n, 5.0, np.float32),
        "steep15": np.zeros(n, np.uint16), "steep25": np.zeros(n, np.uint16),
        "climate": np.full(n, 3, np.uint8), "precip": np.full(n, 900.0, np.float32),
        "coast_km": np.full(n, 5.0, np.float32),
        "zones": np.full(n, 1 << zone_ids.index("coastal"), np.uint16),
        "red_line": np.zeros(n, np.uint8), "depth": np.full(n, 10.0, np.float32),
        "marine": np.full(n, marine_flag("sea") | marine_flag("mariculture_allowed"), np.uint8),
        "lake_km": np.full(n, 50.0, np.float32), "lat": np.full(n, 36.0),
        "lon": np.full(n, 120.0),
    }  # fmt: skip
    for k, v in over.items():
        base[k] = np.asarray(v, base[k].dtype)
    return {k: v[None, :] for k, v in base.items()}


def _eligible(real_rules, stack, mid):
    rs, cat, vocab, _ = real_rules
    bits = eligibility(rs, cat, stack, vocab, region=stack["region"])
    return ((bits >> cat.ids.index(mid)) & 1).astype(bool)[0].tolist()


def test_mariculture_rules_depth_distance_zoning(real_rules):
    _, _, vocab, zids = real_rules
    sea_flags = marine_flag("sea") | marine_flag("mariculture_allowed")
    st = _stack(vocab, zids, 6, depth=[10, 35, 45, 10, 10, 10], coast_km=[5, 5, 5, 25, 35, 5],
                marine=[sea_flags] * 5 + [marine_flag("sea")])  # fmt: skip
    assert _eligible(real_rules, st, "seaweed_farming") == [True, False, False, False, False,
                                                           False]  # fmt: skip
    assert _eligible(real_rules, st, "shellfish_farming") == [True, True, False, True, False,
                                                             False]  # fmt: skip
    land = _stack(vocab, zids, 1, ecosystem=[vocab.ecosystems["water"]], depth=[10])
    assert _eligible(real_rules, land, "seaweed_farming") == [False]


def test_mangrove_south_of_the_limit_salt_marsh_north(real_rules):
    _, cat, vocab, zids = real_rules
    eco = vocab.ecosystems
    lat = [18.5, 27.3, 27.4, 38.0, 22.0, 22.0]
    ecos = [eco["wetland"], eco["barren"], eco["wetland"], eco["wetland"], eco["cropland"],
            eco["sea"]]  # fmt: skip
    st = _stack(vocab, zids, 6, ecosystem=ecos, lat=lat, marine=[0] * 6)
    ok = _eligible(real_rules, st, "coastal_vegetation_restoration")
    assert ok == [True, True, True, True, False, False]
    stats = blue_carbon_stats(
        np.zeros((6, 1), np.uint8),
        (np.array(ok, np.uint32) << cat.ids.index("coastal_vegetation_restoration"))[:, None],
        np.ones((6, 1)) * 1e4,
        np.array(lat)[:, None],
        cat.ids,
    )
    assert stats["mangrove_cells"] == 2 and stats["mangrove_max_lat"] == 27.3
    assert stats["salt_marsh_area_ha"] == 2.0
    # a user's mangrove extent counts south of the limit only
    st = _stack(vocab, zids, 2, ecosystem=[eco["forest"]] * 2, lat=[24.0, 30.0],
                marine=[marine_flag("mangrove_extent")] * 2)  # fmt: skip
    assert _eligible(real_rules, st, "coastal_vegetation_restoration") == [True, False]


def test_coral_reefs_only_with_a_reef_layer(real_rules):
    _, _, vocab, zids = real_rules
    st = _stack(vocab, zids, 2, marine=[marine_flag("sea"), marine_flag("sea") | marine_flag("reef")],
                lat=[18.0, 18.0])  # fmt: skip
    assert _eligible(real_rules, st, "coral_reef_rebuilding") == [False, True]
    assert "coral_reef_rebuilding" in marine_not_mapped(True, None)
    assert marine_not_mapped(True, "/x/reefs.gpkg") == {}
    assert "seaweed_farming" in marine_not_mapped(False, "/x/reefs.gpkg")


def test_lakes_feed_wetland_conservation_and_farmland_to_lake(real_rules):
    _, _, vocab, zids = real_rules
    eco = vocab.ecosystems
    st = _stack(vocab, zids, 3, ecosystem=[eco["water"]] * 3,
                marine=[marine_flag("lake"), 0, marine_flag("sea")])  # fmt: skip
    assert _eligible(real_rules, st, "wetland_conservation") == [True, False, False]
    yz = 1 << zids.index("yangtze_river")
    st = _stack(vocab, zids, 3, ecosystem=[eco["cropland"]] * 3, zones=[yz] * 3,
                lake_km=[2, 9.9, 15], elevation=[20, 20, 20], marine=[0] * 3)  # fmt: skip
    assert _eligible(real_rules, st, "farmland_to_lake") == [True, True, False]


# ------------------------------------------------------------------------------ tables


def _region_table():
    rows = []
    for lvl, code, sea_el, land_el in (("nation", "100000", 2e6, 1e5),
                                        ("province", "370000", 1.5e6, 1e5),
                                        ("province", "350000", 0.5e6, 0.0)):  # fmt: skip
        for mid, eco, el in (("shellfish_farming", "sea", sea_el),
                             ("coastal_vegetation_restoration", "wetland", land_el),
                             ("afforestation", "shrubland", 5e6)):  # fmt: skip
            rows.append({"region_level": lvl, "region_code": code, "name_en": code,
                         "name_zh": code, "ecosystem": eco, "measure_id": mid,
                         "eligible_area_ha": el,
                         **{f"technical_potential_{lv}_tco2_yr": el * r for lv, r in
                            (("low", 0.0), ("central", 3.0), ("high", 10.0))},
                         **{f"potential_{lv}_tco2_yr": el * 2.0 for lv in
                            ("low", "central", "high")}})  # fmt: skip
    return pd.DataFrame(rows)


def test_blue_carbon_table_caps_by_recorded_area(tmp_path):
    caps = tmp_path / "caps.csv"
    caps.write_text("region_code,measure_id,area_ha,year,source,is_estimate,notes\n"
                    "100000,shellfish_farming,1000000,2020,yearbook,false,\n")  # fmt: skip
    cat = pd.DataFrame({"id": ["afforestation", "coastal_vegetation_restoration",
                               "shellfish_farming"],
                        "ecosystem": ["forest", "coastal", "coastal"]})  # fmt: skip
    t = blue_carbon_table(_region_table(), cat, load_caps(caps)).set_index(
        ["region_code", "measure_id"])  # fmt: skip
    assert "afforestation" not in t.index.get_level_values(1)
    n = t.loc[("100000", "shellfish_farming")]
    assert n["realistic_area_ha"] == 1e6 and n["realistic_central_tco2_yr"] == 3e6
    assert n["mapped_central_tco2_yr"] == 6e6 and n["eligible_sea_area_ha"] == 2e6
    p = t.loc[("370000", "shellfish_farming")]  # 75 % of the national eligible area
    assert p["recorded_area_ha"] == pytest.approx(7.5e5) and p["realistic_area_ha"] == 7.5e5
    v = t.loc[("100000", "coastal_vegetation_restoration")]  # not mariculture: no cap
    assert v["realistic_central_tco2_yr"] == v["mapped_central_tco2_yr"] == 3e5
    bad = tmp_path / "bad.csv"
    bad.write_text("region_code,measure_id,area_ha,year,source,is_estimate\n"
                   "100000,shellfish_farming,-1,2020,yearbook,false\n")  # fmt: skip
    with pytest.raises(Exception, match="area_ha"):
        load_caps(bad)
    figures = pd.read_csv(ROOT / CFG["validation"]["figures"])
    rows = blue_carbon_rows(figures, t.reset_index())
    assert set(rows["figure_id"]) == {"coastal_blue_carbon", "offshore_ocean_sink"}
    assert (rows["verdict"] == "not_comparable").all()
    off = rows.set_index("figure_id").loc["offshore_ocean_sink"]
    assert off["pipeline_value"] == pytest.approx(3e6 / 1e9)
    stats = pd.DataFrame({"key": ["sea_cells", "sea_area_km2"], "value": [10, 123.0]})
    text = "\n".join(blue_carbon_section(_region_table(), t.reset_index(), stats, True))
    assert "Sea cells: 10, 123 km2" in text and "| sea cells (allocated) | 4.00 |" in text
    assert "| land cells (allocated) | 10.20 |" in text


def test_registry_rows_of_the_new_datasets():
    reg = pd.read_csv(ROOT / "data" / "registry.csv")
    etopo = reg[reg["dataset"] == "etopo1_bathymetry"]
    assert etopo["member"].tolist() == ["pybacktrack/bundle_data/topography/ETOPO1_0.1.grd"]
    lakes = reg[reg["dataset"] == "hyd2_lakes"]
    assert set(lakes["file"]) == {f"hyd2_4p.{e}" for e in ("shp", "shx", "dbf", "cpg", "prj")}
    assert reg.loc[reg["dataset"].isin(["etopo1_bathymetry", "hyd2_lakes"]),
                   ["sha256", "licence", "citation"]].notna().all().all()  # fmt: skip
    assert json.loads(json.dumps(CFG["region"]["marine"]))["enabled"] is True


# ------------------------------------------------------------------------------ workflow


@pytest.mark.e2e
def test_land_tables_unchanged_with_the_sea_off(workflow_dir):
    """Qingdao with region.marine on and off: every land row of every table is identical."""
    for overlay in ("coastal", "coastal_nosea"):
        proc = snakemake(
            workflow_dir, "--cores", "2", "--configfile", f"config/test/{overlay}.yaml", "--", "all"
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    results = workflow_dir / "results"
    on, off = (results / r / "tables" for r in ("test-coastal", "test-coastal-nosea"))
    for name in ("potential_by_region.csv", "landcover_area.csv"):
        a, b = pd.read_csv(on / name, dtype=str), pd.read_csv(off / name, dtype=str)
        assert (b["ecosystem"] != "sea").all()
        land = a[a["ecosystem"] != "sea"].reset_index(drop=True)
        pd.testing.assert_frame_equal(land, b.reset_index(drop=True), check_exact=True)
        assert (a["ecosystem"] == "sea").any(), name


def test_blue_carbon_stats_ignore_cells_outside_the_region():
    """The mosaics hold nodata outside the region (255 in the flags, all bits set in the
    bitmask): such cells are neither sea nor eligible (they were counted as both once)."""
    marine = np.array([[1, 255, 0]], np.uint8)
    eligible = np.array([[0b1, 0xFFFFFFFF, 0b1]], np.uint32)
    area = np.full((1, 3), 1e6)
    stats = blue_carbon_stats(
        marine,
        eligible,
        area,
        np.array([[30.0]]),
        ["seaweed_farming"],
        marine_nodata=255,
        eligible_nodata=0xFFFFFFFF,
    )
    assert stats["sea_cells"] == 1 and stats["sea_area_km2"] == 1.0
    assert stats["sea_eligible_ha:seaweed_farming"] == 100.0


def test_blue_carbon_stats_of_row_strips_merge_to_the_whole():
    """tabulate_blue_carbon reads the grid in row strips: merged strip stats equal the stats of
    the whole grid (counts exactly, areas to rounding, the northernmost mangrove cell)."""
    from sinkzone.bluecarbon import MANGROVE_MEASURE, merge_stats

    rng = np.random.default_rng(7)
    marine = rng.choice(np.array([0, 1, 3, 255], np.uint8), (40, 30))
    eligible = rng.integers(0, 4, (40, 30)).astype(np.uint32)
    eligible[marine == 255] = 0xFFFFFFFF
    area = rng.uniform(8e5, 1.2e6, (40, 1))
    lat = np.linspace(30, 20, 40)[:, None]
    ids = ["seaweed_farming", MANGROVE_MEASURE]
    kw = {"marine_nodata": 255, "eligible_nodata": 0xFFFFFFFF}
    whole = blue_carbon_stats(marine, eligible, area, lat, ids, **kw)
    parts = [blue_carbon_stats(marine[r:r + 7], eligible[r:r + 7], area[r:r + 7], lat[r:r + 7],
                               ids, **kw) for r in range(0, 40, 7)]  # fmt: skip
    merged = merge_stats(parts)
    assert merged.keys() == whole.keys()
    for k, v in whole.items():
        assert merged[k] == pytest.approx(v, rel=1e-12, nan_ok=True), k
    assert merged["sea_cells"] == whole["sea_cells"] and merge_stats(parts[:1]) == parts[0]


def test_sea_cells_same_for_any_chunk(coast):
    """sea_cells works through the candidates in chunks (memory bounded on coastal 30 m tiles):
    every chunk size gives the same arrays."""
    lon = np.arange(120.025, 121.5, 0.05)[None, :]
    lat = np.array([30.6, 31.5, 32.0])[:, None]
    cand = np.ones((3, lon.size), bool)
    cand[2, ::3] = False
    ref = mar.sea_cells(lon, lat, cand, coast["pts"], 50.0, chunk=10**9)
    assert ref[0].any() and not ref[0].all()
    for chunk in (1, 7):
        got = mar.sea_cells(lon, lat, cand, coast["pts"], 50.0, chunk=chunk)
        for a, b in zip(got, ref, strict=True):
            assert np.array_equal(a, b)


SEA_GRIDS = {  # (lon start, stop, step), (lat start, stop, step)
    "overview": ((120.0025, 120.7, 0.005), (31.6, 30.4, -0.005)),
    "50 km line": ((120.50, 120.56, 0.0003), (31.8, 31.2, -0.003)),
    "median line": ((120.22, 120.38, 0.0008), (30.75, 30.45, -0.0015)),
}


@pytest.mark.parametrize("grid", sorted(SEA_GRIDS))
@pytest.mark.parametrize("in_region", ["all", "north of 30.6 N"])
def test_sea_cells_without_distances_equal_the_per_cell_geodesics(coast, in_region, grid):
    """distances=False skips geodesics (per cell) and decides whole blocks (fine grids) only
    where bounds prove the answer: cell for cell the same sea, province and county as the
    computation with every geodesic, across the 50 km line, the province border at 31 N, the
    median line to a foreign island (at 120.6 E here) and the edge of the region."""
    lines = gpd.GeoDataFrame(
        geometry=[LineString([(120, 29), (120, 33)]), LineString([(120.6, 30.5), (120.6, 30.7)])],
        crs=WGS84,
    )
    region = coast["nation"] if in_region == "all" else box(118, 30.6, 120, 32)
    pts = mar.coast_points(coast["nation"], lines, region, coast["provinces"], coast["counties"])
    (x0, x1, dx), (y0, y1, dy) = SEA_GRIDS[grid]
    lon, lat = np.arange(x0, x1, dx)[None, :], np.arange(y0, y1, dy)[:, None]
    cand = np.ones((lat.size, lon.size), bool)
    cand[::7, ::5] = False
    ref = mar.sea_cells(lon, lat, cand, pts, 50.0)
    assert ref[0].any() and not ref[0][cand].all()
    for block in (0, 4, 9, None):
        got = mar.sea_cells(lon, lat, cand, pts, 50.0, distances=False, block=block)
        assert got[3] is None
        for a, b in zip(got[:3], ref[:3], strict=True):
            assert np.array_equal(a, b), block
    # the blocks decide many cells here (else this test would not test them)
    china = pts[pts["china"] == 1]
    ctx = mar._coast_context(pts, china, 50.0)
    shape = cand.shape
    out = (np.zeros(cand.size, bool), np.zeros(cand.size, np.uint32),
           np.zeros(cand.size, np.uint32), None)  # fmt: skip
    lon_all, lat_all = np.broadcast_to(lon, shape).ravel(), np.broadcast_to(lat, shape).ravel()
    todo = mar._block_pass(lon_all, lat_all, cand, ctx, 50.0, 4, 4, out)
    assert todo.sum() < 0.8 * cand.sum()


def test_sea_cells_pick_the_geodesic_nearest_not_the_spherical_nearest():
    """Two coast points of different counties: A 10.00 km east of the cell on the sphere, B
    10.02 km north. On the ellipsoid north-south degrees are shorter at 31 N, so B is nearer:
    without distances the cell must still take B's county (the rivals differ)."""
    lon0, lat0 = 120.5, 31.0
    east = 10.00 / (mar.KM_PER_DEG * math.cos(math.radians(lat0)))
    north = 10.02 / mar.KM_PER_DEG
    pts = gpd.GeoDataFrame(
        {"china": [1, 1], "in_region": [1, 1], "province": [320000, 320000],
         "county": [320101, 320102]},
        geometry=gpd.points_from_xy([lon0 + east, lon0], [lat0, lat0 + north]), crs=WGS84,
    )  # fmt: skip
    lon, lat = np.array([[lon0]]), np.array([[lat0]])
    ref = mar.sea_cells(lon, lat, np.ones((1, 1), bool), pts, 50.0)
    assert ref[2][0, 0] == 320102  # B, by the geodesics
    got = mar.sea_cells(lon, lat, np.ones((1, 1), bool), pts, 50.0, distances=False)
    assert got[2][0, 0] == 320102


def test_blue_carbon_stats_equal_the_whole_strip_sums():
    """The stats sum over the sea cells alone (and call `lat` only when the mangrove measure is
    eligible): the same figures, to the last bit, as masked sums over the whole strip."""
    from sinkzone.bluecarbon import MANGROVE_LIMIT_LAT, MANGROVE_MEASURE

    rng = np.random.default_rng(3)
    ids = ["a", MANGROVE_MEASURE, "b"]
    marine = rng.integers(0, 4, (40, 50)).astype(np.uint8)
    marine[0, :7] = 255
    bits = rng.integers(0, 8, (40, 50)).astype(np.uint32)
    bits[1, :5] = 0xFFFFFFFF
    area = rng.random((40, 50)) * 1e6
    lat = np.linspace(MANGROVE_LIMIT_LAT - 2, MANGROVE_LIMIT_LAT + 2, 40)[:, None]
    calls = []

    def lazy():
        calls.append(1)
        return lat

    got = blue_carbon_stats(marine, bits, area, lazy, ids, 1, marine_nodata=255,
                            eligible_nodata=0xFFFFFFFF)  # fmt: skip
    outside = (marine == 255) | (bits == 0xFFFFFFFF)
    sea = (marine & 1 != 0) & ~outside
    b = np.where(outside, 0, bits)
    assert got["sea_cells"] == sea.sum() and got["sea_area_km2"] == area[sea].sum() / 1e6
    for i, mid in enumerate(ids):
        on = (b >> i) & 1 == 1
        assert got[f"sea_eligible_ha:{mid}"] == area[on & sea].sum() / 1e4
    on = (b >> 1) & 1 == 1
    south = on & (np.broadcast_to(lat, on.shape) <= MANGROVE_LIMIT_LAT)
    assert (
        got["mangrove_cells"] == south.sum() and got["mangrove_area_ha"] == area[south].sum() / 1e4
    )
    assert got["salt_marsh_area_ha"] == area[on & ~south].sum() / 1e4
    assert got["mangrove_max_lat"] == np.broadcast_to(lat, on.shape)[south].max()
    assert calls == [1]
    none = blue_carbon_stats(marine, bits & ~np.uint32(2), area, lazy, ids, 1,
                             marine_nodata=255, eligible_nodata=0xFFFFFFFF)  # fmt: skip
    assert calls == [1] and none["mangrove_cells"] == 0 and np.isnan(none["mangrove_max_lat"])
