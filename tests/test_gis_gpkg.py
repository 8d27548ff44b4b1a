"""tables/potential_by_region.gpkg: five levels, a row and a name for every listed region,
zeros not NULL, one column order, Shapefile-safe field names, extra columns flow through."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from sinkzone import gpkg

IDS = ["afforestation", "straw_return", "plantation_close_to_nature"]
ZONES = [
    {"id": "qtp", "name_en": "Plateau", "name_zh": "高原"},
    {"id": "coastal", "name_en": "Coastal belt", "name_zh": "海岸带"},
]


def regions():
    rows = [
        ("province", 110000, 100000, "北京市", "Beijing"),
        ("province", 820000, 100000, "澳门特别行政区", "Macao"),
        ("prefecture", 110100, 110000, "北京市", "Beijing"),
        ("prefecture", 820000, 820000, "澳门特别行政区", "Macao"),
        ("county", 110101, 110000, "东城区", "Dongcheng"),
        ("county", 110102, 110000, "西城区", "Xicheng"),
        ("county", 820001, 820000, "花地玛堂区", "Huadimatang"),
    ]
    return pd.DataFrame(rows, columns=["level", "code", "parent_code", "name_zh", "name_en"])


def table():
    """potential_by_region.csv rows: one measure in one county; Xicheng and Macao absent."""
    rows = []
    for lvl, code in (
        ("nation", "100000"),
        ("province", "110000"),
        ("county", "110101"),
        ("zone", "qtp"),
    ):
        rows.append((lvl, code, "cropland", "straw_return", 10.0, 20.0, 30.0, 99.0, 7.0))
        rows.append((lvl, code, "forest", "afforestation", 1.0, 2.0, 3.0, 99.0, 0.5))
    return pd.DataFrame(
        rows,
        columns=[
            "region_level",
            "region_code",
            "ecosystem",
            "measure_id",
            "potential_low_tco2_yr",
            "potential_central_tco2_yr",
            "potential_high_tco2_yr",
            "technical_potential_central_tco2_yr",
            "realistic_potential_central_tco2_yr",
        ],
    )


def geoms():
    def g(codes, **extra):
        return gpd.GeoDataFrame(
            {"code": codes, **extra},
            geometry=[box(116 + i, 39, 116.5 + i, 39.5) for i in range(len(codes))],
            crs="EPSG:4326",
        )

    nation = gpd.GeoDataFrame(
        {"code": ["100000"]}, geometry=[box(116, 39, 119, 39.5)], crs="EPSG:4326"
    )
    return {
        "nation": nation,
        "province": g(["110000", "820000"]),
        "prefecture": g(["110100", "820000"]),
        "county": g(["110101", "110102", "820001"], prefecture_code=["110100", "110100", "820000"]),
        "zone": g(["qtp", "coastal"]),
    }


def lc():
    return pd.DataFrame(
        {
            "province": [110000, 110000],
            "county": [110101, 110102],
            "zones": [1, 0],
            "landcover": [12, 12],
            "ecosystem": [4, 4],
            "area_m2": [3_000_000, 1_000_000],
        }
    )


def build():
    return gpkg.build_gpkg_layers(table(), regions(), geoms(), lc(), IDS, ZONES)


def test_five_levels_every_region_named_zeros_and_flags():
    layers, fields = build()
    assert list(layers) == ["nation", "province", "prefecture", "county", "zone"]
    cols = [list(g.columns) for g in layers.values()]
    assert all(c == cols[0] for c in cols)  # the same column order on every layer
    county = layers["county"].set_index("code")
    assert county["name_en"].tolist() == ["Dongcheng", "Xicheng", "Huadimatang"]
    assert county.loc["110102", "no_cells"] == 0  # has cells, no measure: 0, not flagged
    assert county.loc["820001", "no_cells"] == 1  # no cell at this resolution
    assert county.loc["820001", "pot_cen"] == 0.0 and county.loc["110102", "c_02"] == 0.0
    for g in layers.values():
        num = g.drop(columns=["geometry"]).select_dtypes("number")
        assert not num.isna().any().any()
        assert g["name_en"].ne("").all() and g["name_zh"].ne("").all()
    pref = layers["prefecture"].set_index("code")
    assert pref.loc["110100", "pot_cen"] == pytest.approx(22.0)  # sum of its counties
    assert pref.loc["110100", "cells_ha"] == pytest.approx(400.0)
    assert pref.loc["820000", "no_cells"] == 1
    zone = layers["zone"].set_index("code")
    assert zone.loc["qtp", "cells_ha"] == pytest.approx(300.0)
    assert zone.loc["qtp", "dominant"] == "straw_return"
    assert layers["nation"]["pot_low"].item() == pytest.approx(11.0)
    assert layers["nation"]["pot_high"].item() == pytest.approx(33.0)
    assert layers["province"].set_index("code").loc["110000", "area_km2"] > 1000


def test_field_names_shapefile_safe_and_extra_columns_flow_through():
    layers, fields = build()
    names = [c for c in layers["county"].columns if c != "geometry"]
    assert all(len(n) <= 10 for n in names) and len(set(names)) == len(names)
    assert "rea_cen" in names  # realistic_potential_central_tco2_yr, summed
    assert not any(n.startswith("tec") for n in names)  # technical: not additive, left out
    row = fields.set_index("field").loc["c_03"]
    assert "plantation_close_to_nature" in row["meaning"]
    assert layers["county"].set_index("code").loc["110101", "rea_cen"] == pytest.approx(7.5)


def test_short_names_unique():
    taken = set()
    a = gpkg.short_name("realistic_potential_central_tco2_yr", taken)
    b = gpkg.short_name("realistic_potential_central_tco2_yr_extra_long", taken)
    assert a == "rea_cen" and b != a and len(b) <= 10
    assert gpkg.short_name("existing_sink_central_tco2_yr", taken) == "exi_cen"
    assert gpkg.short_name("potential_high_tco2_yr", taken) == "pot_high"


def test_write_reads_back(tmp_path):
    layers, fields = build()
    out = tmp_path / "p.gpkg"
    gpkg.write(layers, fields, out)
    names = [n for n, _ in pyogrio.list_layers(out)]
    assert names == ["nation", "province", "prefecture", "county", "zone", "field_aliases"]
    back = pyogrio.read_dataframe(out, layer="county")
    assert back["name_en"].notna().all() and np.isfinite(back["pot_cen"]).all()
    assert pyogrio.read_dataframe(out, layer="field_aliases")["field"].str.len().max() <= 10


def test_regions_outside_the_analysis_region_left_out():
    g = geoms()
    g["nation"] = gpd.GeoDataFrame(
        {"code": ["100000"]}, geometry=[box(116, 39, 117, 39.5)], crs="EPSG:4326"
    )  # covers Beijing's boxes only
    layers, _ = gpkg.build_gpkg_layers(table(), regions(), g, lc(), IDS, ZONES)
    assert layers["province"]["code"].tolist() == ["110000"]
    # Xicheng (box 117-117.5) is outside but holds cells: kept
    assert layers["county"]["code"].tolist() == ["110101", "110102"]
