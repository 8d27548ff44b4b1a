"""Tests of sinkzone.validation: unit conversion, verdicts and data-driven reasons."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import yaml

from sinkzone.errors import ConfigError
from sinkzone.validation import read_figures, read_mapping, validation_table

FIGURES = """id,quantity,low,high,unit,period,scope,where_in_paper
cropland_potential,conservation tillage and organic manure potential,0.14,0.17,Gt CO2/yr,potential,China cropland,section 2.1
grassland_potential,grassland fencing and grass planting potential,0.06,0.08,Gt CO2/yr,potential,China grassland,section 2.1
new_forest_urban_potential,new afforestation and urban green,0.03,0.08,Gt CO2/yr,potential,China,section 2.2
eco_ccus_forest,forest biomass removable for Eco-CCUS,0.27,0.30,Gt CO2/yr,potential,China forests,section 2.3(4)
crop_straw_total,annual crop straw production,1.07,1.07,Gt CO2/yr,present,China cropland,section 2.3(4)
forest_area_2014_2018,forest area,179.89,179.89,Mha,2014-2018,China,section 3.1
"""
MAPPING = {
    "cropland_potential": {"measures": ["no_tillage", "organic_manure"], "basis": "allocated",
                           "note": "paper: conservation tillage + manure"},
    "grassland_potential": {"measures": ["grass_enclosure"], "basis": "eligible"},
    "new_forest_urban_potential": {"measures": ["afforestation"]},
    "eco_ccus_forest": {"residues": ["forest_production", "forest_removable_share"],
                        "ecosystem": "forest", "basis": "residue"},
    "crop_straw_total": {"residues": ["straw_c_per_ha"], "ecosystem": "cropland"},
}
RESIDUES = """id,ecosystem,quantity,value,unit,source,is_estimate,notes
forest_production,forest,annual production,6.0,t CO2 ha-1 yr-1,test,true,
forest_removable_share,forest,removable share,25,%,Yu 2022,false,
straw_c_per_ha,cropland,straw carbon,2.0,t C/ha/yr,test,false,
grain_yield,cropland,grain per ha,5.19,t ha-1 yr-1,NBS,false,
"""
LAND = {"forest": 200e6, "cropland": 120e6, "grassland": 250e6}


def measures() -> pd.DataFrame:
    t = 1e6  # t CO2/yr
    return pd.DataFrame({
        "measure_id": ["afforestation", "no_tillage", "organic_manure", "grass_enclosure"],
        "measure_ecosystem": ["forest", "cropland", "cropland", "grassland"],
        "name_en": ["Afforestation", "No-tillage", "Organic manure", "Grassland enclosure"],
        "rate_is_estimate": ["False", "True", "False", "False"],
        "eligible_area_ha": [5e6, 40e6, 60e6, 100e6],
        "allocated_area_ha": [4e6, 30e6, 50e6, 0.0],
        "potential_low_tco2_yr": [20 * t, 10 * t, 20 * t, 0.0],
        "potential_central_tco2_yr": [50 * t, 30 * t, 70 * t, 0.0],
        "potential_high_tco2_yr": [90 * t, 40 * t, 100 * t, 0.0],
        "technical_potential_low_tco2_yr": [25 * t, 15 * t, 25 * t, 50 * t],
        "technical_potential_central_tco2_yr": [60 * t, 40 * t, 80 * t, 100 * t],
        "technical_potential_high_tco2_yr": [100 * t, 50 * t, 120 * t, 150 * t],
    })


def factors() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(RESIDUES), dtype=str).fillna("")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "fig.csv").write_text(FIGURES, encoding="utf-8")
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    return read_figures(tmp_path / "fig.csv"), read_mapping(tmp_path / "map.yaml")


def test_values_verdicts_and_reasons(files):
    fig, mapping = files
    v = validation_table(fig, mapping, measures(), residue_factors=factors(), land_area_ha=LAND,
                         landcover_note="MODIS MCD12C1 0.05 deg").set_index("figure_id")
    assert list(v.index) == ["cropland_potential", "grassland_potential",
                             "new_forest_urban_potential", "eco_ccus_forest", "crop_straw_total"]
    # cropland: allocated 30 + 70 Mt = 0.1 Gt < 0.14 -> below
    c = v.loc["cropland_potential"]
    assert c.pipeline_value == pytest.approx(0.1)
    assert (c.pipeline_low, c.pipeline_high) == pytest.approx((0.03, 0.14))
    assert c.verdict == "below" and c.basis == "allocated"
    assert "0.714x the published low" in c.reason
    assert "organic_manure (Organic manure) gives 70%" in c.reason
    assert "technical 0.12" in c.reason
    assert "MODIS MCD12C1 0.05 deg" in c.reason and "undercount" in c.reason
    assert c.note == "paper: conservation tillage + manure"
    # grassland: technical basis 0.1 Gt > 0.08 -> above
    g = v.loc["grassland_potential"]
    assert g.pipeline_value == pytest.approx(0.1) and g.verdict == "above"
    assert "1.25x the published high" in g.reason and "eligible basis" in g.reason
    assert g.basis == "eligible"
    # afforestation 0.05 within 0.03-0.08
    a = v.loc["new_forest_urban_potential"]
    assert a.verdict == "within" and a.pipeline_value == pytest.approx(0.05)
    # residue: 200 Mha x 6 x 25 % = 0.3 Gt within 0.27-0.30 (edge, inclusive)
    f = v.loc["eco_ccus_forest"]
    assert f.pipeline_value == pytest.approx(0.3) and f.verdict == "within"
    assert "x 0.25 (forest_removable_share)" in f.reason and "forest_area_2014_2018" in f.reason
    assert "1.11x" in f.reason  # 200 Mha vs 179.89 Mha
    assert "estimates: forest_production" in f.reason and f.basis == "residue"
    # 120 Mha x 2 t C x 44/12 = 0.88 Gt < 1.07
    s = v.loc["crop_straw_total"]
    assert s.pipeline_value == pytest.approx(0.88) and s.verdict == "below"
    assert "undercount" in s.reason


def test_rate_estimate_flag_named(files):
    fig, _ = files
    m = measures()
    m.loc[m.measure_id == "no_tillage", "potential_central_tco2_yr"] = 200e6
    v = validation_table(fig, {"cropland_potential": MAPPING["cropland_potential"]}, m)
    r = v.iloc[0]
    assert r.verdict == "above" and "rate of no_tillage is an estimate" in r.reason


def test_mapping_errors(files, tmp_path):
    fig, _ = files
    with pytest.raises(ConfigError, match="unknown measures"):
        validation_table(fig, {"cropland_potential": {"measures": ["nope"]}}, measures())
    with pytest.raises(ConfigError, match="not in the figures"):
        validation_table(fig, {"zzz": {"measures": ["no_tillage"]}}, measures())
    with pytest.raises(ConfigError, match="not comparable"):
        validation_table(fig, {"forest_area_2014_2018": {"measures": ["afforestation"]}},
                         measures())
    kw = {"residue_factors": factors(), "land_area_ha": LAND}
    with pytest.raises(ConfigError, match="unknown ids"):
        validation_table(fig, {"eco_ccus_forest": {"residues": ["peat"], "ecosystem": "forest"}},
                         measures(), **kw)
    with pytest.raises(ConfigError, match="has unit"):
        validation_table(fig, {"crop_straw_total": {"residues": ["grain_yield"],
                                                    "ecosystem": "cropland"}}, measures(), **kw)
    p = tmp_path / "bad.yaml"
    p.write_text("cropland_potential: {measures: [a], residues: [b]}\n")
    with pytest.raises(ConfigError, match="exactly one"):
        read_mapping(p)
    p.write_text("cropland_potential: {measures: [a], basis: residue}\n")
    with pytest.raises(ConfigError, match="basis"):
        read_mapping(p)


def test_project_mapping_parses():
    """The committed mapping and figures of the project agree with this module."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "config" / "published"
    if not (root / "yu2022.yaml").exists():
        pytest.skip("config/published not present")
    mapping = read_mapping(root / "yu2022.yaml")
    fig = read_figures(root / "yu2022_figures.csv")
    assert set(mapping) <= set(fig["id"])


def test_landcover_label_and_fine_grids(files, tmp_path):
    import json

    from sinkzone.validation import landcover_label

    g = tmp_path / "grid.json"
    g.write_text(json.dumps({"transform": [0.05, 0, 70, 0, -0.05, 55], "is_geographic": True}))
    assert landcover_label(g, "MODIS") == ("MODIS (0.05 deg cells)", True)
    g.write_text(json.dumps({"transform": [30.0, 0, 0, 0, -30.0, 0], "is_geographic": False}))
    assert landcover_label(g, "CLCD") == ("CLCD (30 m cells)", False)
    fig, mapping = files
    v = validation_table(fig, {"cropland_potential": mapping["cropland_potential"]}, measures(),
                         landcover_note="CLCD (30 m cells)", landcover_coarse=False)
    assert v.verdict.iloc[0] == "below"
    assert "undercount" not in v.reason.iloc[0] and "CLCD (30 m cells)" in v.reason.iloc[0]
