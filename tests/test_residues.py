"""Tests of sinkzone.residues: Eco-CCUS residue potentials from land-cover areas."""

from __future__ import annotations

import pandas as pd
import pytest

from sinkzone import aggregate as agg
from sinkzone.errors import ConfigError
from sinkzone.residues import read_residue_factors, residue_table

ECOSYSTEMS = """id,name,name_zh,name_en,color,description
1,forest,森林,Forest,#1b7837,trees
4,cropland,农田,Cropland,#f46d43,crops
8,barren,荒漠裸地,Barren,#e0d3b8,bare
"""
REGIONS = """level,code,parent_code,name_zh,name_en
province,110000,0,北京市,Beijing
province,120000,0,天津市,Tianjin
county,110101,110000,东城区,Dongcheng
county,120101,120000,和平区,Heping
"""
RESIDUES = """id,ecosystem,quantity,value,unit,source,is_estimate,notes
forest_production,forest,annual production,6.0,t CO2/ha/yr,test source A,true,
forest_removable_share,forest,removable share,0.25,fraction,Yu et al. 2022 2.3(4),false,
forest_wood,forest,wood volume,1.7,m3/ha/yr,context,true,ignored row
straw_production,cropland,straw production,2.0,t C/ha/yr,test source B,false,
straw_removable_share,cropland,removable share,30,%,Yu et al. 2022 2.3(4),false,
"""


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "eco.csv").write_text(ECOSYSTEMS, encoding="utf-8")
    (tmp_path / "reg.csv").write_text(REGIONS, encoding="utf-8")
    (tmp_path / "res.csv").write_text(RESIDUES, encoding="utf-8")
    eco = agg.read_ecosystems(tmp_path / "eco.csv")
    return eco, agg.read_regions(tmp_path / "reg.csv"), tmp_path


def lc_tiles(tmp):
    """Two tiles of lc_counts (areas in m2) for two provinces."""
    a = tmp / "a.csv"
    b = tmp / "b.csv"
    head = "province,county,zones,landcover,ecosystem,area_m2\n"
    a.write_text(head + "110000,110101,0,1,1,6000000000\n120000,120101,1,12,4,2000000000\n")
    b.write_text(
        head + "110000,110101,0,5,1,4000000000\n120000,120101,1,14,4,3000000000\n"
        "120000,120101,0,16,8,9000000000\n"
    )
    return agg.reduce_lc_counts([a, b])


def test_factors_parsed_by_unit(setup):
    eco, _, tmp = setup
    f = read_residue_factors(tmp / "res.csv", eco).set_index("ecosystem")
    assert f.loc["forest", "production_factor_tco2_ha_yr"] == 6.0
    assert f.loc["forest", "removable_share"] == 0.25
    assert f.loc["cropland", "production_factor_tco2_ha_yr"] == pytest.approx(2.0 * 44 / 12)
    assert f.loc["cropland", "removable_share"] == pytest.approx(0.30)
    assert f.loc["forest", "is_estimate"] and not f.loc["cropland", "is_estimate"]
    assert f.loc["forest", "residue_id"] == "forest_production"


def test_residue_table_values(setup):
    eco, reg, tmp = setup
    lc = lc_tiles(tmp)
    t = residue_table(lc, read_residue_factors(tmp / "res.csv", eco), reg)
    nat = t[t.region_level == "nation"].set_index("ecosystem")
    # forest: 1e10 m2 = 1e6 ha x 6 t = 6e6 t; x 0.25 = 1.5e6 t = 0.0015 Gt
    assert nat.loc["forest", "land_area_ha"] == 1e6
    assert nat.loc["forest", "production_tco2_yr"] == pytest.approx(6e6)
    assert nat.loc["forest", "eco_ccus_gtco2_yr"] == pytest.approx(0.0015)
    # cropland: 5e5 ha x 7.333 t x 0.3
    assert nat.loc["cropland", "eco_ccus_tco2_yr"] == pytest.approx(5e5 * 2 * 44 / 12 * 0.3)
    prov = t[t.region_level == "province"]
    assert set(prov.region_code) == {"110000", "120000"}
    for e in ("forest", "cropland"):
        assert prov[prov.ecosystem == e].eco_ccus_tco2_yr.sum() == pytest.approx(
            nat.loc[e, "eco_ccus_tco2_yr"]
        )
    bj = prov[(prov.region_code == "110000") & (prov.ecosystem == "cropland")].iloc[0]
    assert bj.land_area_ha == 0 and bj.name_en == "Beijing"
    assert list(t.region_level[:2]) == ["nation", "nation"]


def test_bad_factor_tables(setup):
    eco, _, tmp = setup
    p = tmp / "bad.csv"
    p.write_text(
        RESIDUES.replace(
            "straw_removable_share,cropland,removable share,30,%",
            "straw_removable_share,cropland,removable share,30,kg",
        )
    )
    with pytest.raises(ConfigError, match="exactly one production row"):
        read_residue_factors(p, eco)
    p.write_text(RESIDUES.replace(",cropland,", ",orchard,"))
    with pytest.raises(ConfigError, match="unknown ecosystems"):
        read_residue_factors(p, eco)
    p.write_text(RESIDUES.replace("0.25,fraction", "1.25,fraction"))
    with pytest.raises(ConfigError, match="share"):
        read_residue_factors(p, eco)


def test_written_table_is_fixed_format(setup, tmp_path):
    eco, reg, tmp = setup
    t = residue_table(lc_tiles(tmp), read_residue_factors(tmp / "res.csv", eco), reg)
    out = tmp_path / "res_out.csv"
    agg.write_table(out, t)
    back = pd.read_csv(out, dtype=str)
    row = back[(back.region_level == "nation") & (back.ecosystem == "forest")].iloc[0]
    assert row.eco_ccus_gtco2_yr == "0.001500"
    assert row.land_area_ha == "1000000.0000"
