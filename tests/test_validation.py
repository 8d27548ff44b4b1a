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
    "cropland_potential": {
        "measures": ["no_tillage", "organic_manure"],
        "basis": "allocated",
        "note": "paper: conservation tillage + manure",
    },
    "grassland_potential": {"measures": ["grass_enclosure"], "basis": "eligible"},
    "new_forest_urban_potential": {"measures": ["afforestation"]},
    "eco_ccus_forest": {
        "residues": ["forest_production", "forest_removable_share"],
        "ecosystem": "forest",
        "basis": "residue",
    },
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
    return pd.DataFrame(
        {
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
        }
    )


def factors() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(RESIDUES), dtype=str).fillna("")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "fig.csv").write_text(FIGURES, encoding="utf-8")
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    return read_figures(tmp_path / "fig.csv"), read_mapping(tmp_path / "map.yaml")


def _one(v, fid, basis):
    r = v[(v.figure_id == fid) & (v.basis == basis)]
    assert len(r) == 1, (fid, basis, list(v.basis))
    return r.iloc[0]


def test_values_verdicts_and_reasons(files):
    fig, mapping = files
    v = validation_table(
        fig,
        mapping,
        measures(),
        residue_factors=factors(),
        land_area_ha=LAND,
        landcover_note="MODIS MCD12C1 0.05 deg",
    )
    assert list(dict.fromkeys(v.figure_id)) == [
        "cropland_potential",
        "grassland_potential",
        "new_forest_urban_potential",
        "eco_ccus_forest",
        "crop_straw_total",
    ]
    assert list(v.columns[-4:]) == [
        "like_for_like",
        "tolerance",
        "inputs_estimated",
        "source_chain",
    ]
    # cropland: allocated 30 + 70 Mt = 0.1 Gt (range 0.03-0.14): 0.14 touches the published
    # low 0.14, so the intervals overlap -> within (interval test, not the central value)
    c = _one(v, "cropland_potential", "allocated")
    assert c.pipeline_value == pytest.approx(0.1)
    assert (c.pipeline_low, c.pipeline_high) == pytest.approx((0.03, 0.14))
    assert c.verdict == "within" and bool(c.like_for_like)
    assert "organic_manure (Organic manure) gives 70%" in c.reason
    assert "technical 0.12" in c.reason
    assert c.note == "paper: conservation tillage + manure"
    # grassland: technical basis 0.05-0.15 overlaps 0.06-0.08 -> within
    g = _one(v, "grassland_potential", "eligible")
    assert g.pipeline_value == pytest.approx(0.1) and g.verdict == "within"
    assert "eligible basis" in g.reason
    # residue: 200 Mha x 6 x 25 % = 0.3 Gt within 0.27-0.30 (edge, inclusive)
    f = _one(v, "eco_ccus_forest", "residue")
    assert f.pipeline_value == pytest.approx(0.3) and f.verdict == "within"
    assert "x 0.25 (forest_removable_share)" in f.reason and "forest_area_2014_2018" in f.reason
    assert "1.11x" in f.reason  # 200 Mha vs 179.89 Mha
    assert "estimates: forest_production" in f.reason and bool(f.inputs_estimated)
    # 120 Mha x 2 t C x 44/12 = 0.88 Gt < 1.07 -> below, coarse cells named
    s = _one(v, "crop_straw_total", "residue")
    assert s.pipeline_value == pytest.approx(0.88) and s.verdict == "below"
    assert "undercount" in s.reason and "0.822x the published low" in s.reason


def test_interval_overlap_verdicts():
    from sinkzone.validation import _verdict

    assert _verdict(0.01, 0.029, 0.03, 0.08) == "below"
    assert _verdict(0.01, 0.03, 0.03, 0.08) == "within"  # touching ends overlap
    assert _verdict(0.09, 0.5, 0.03, 0.08) == "above"
    assert _verdict(0.0, 1.0, 0.03, 0.08) == "within"  # a wide range overlaps
    # a single-valued figure: only the tolerance widens it
    assert _verdict(1.10, 1.12, 1.07, 1.07) == "above"
    assert _verdict(1.10, 1.12, 1.07, 1.07, tol=0.05) == "within"


def test_rate_estimate_flag_named(files):
    fig, _ = files
    m = measures()
    m.loc[
        m.measure_id == "no_tillage",
        ["potential_low_tco2_yr", "potential_central_tco2_yr", "potential_high_tco2_yr"],
    ] = [180e6, 200e6, 220e6]
    v = validation_table(fig, {"cropland_potential": MAPPING["cropland_potential"]}, m)
    r = v.iloc[0]
    assert r.verdict == "above" and "rate of no_tillage is an estimate" in r.reason
    assert "1.59x the published high" in r.reason


ACTIVITY = """figure_id,activity,measure_id,ecosystem,region,area,unit,year,stack_pos,source,is_estimate,notes
new_forest_urban_potential,annual planting,afforestation,,China,7,Mha,2016-2020,0,bulletin,false,
cropland_potential,straw,straw_return,,China,100,Mha,2020,0,stat,true,
cropland_potential,no-till,no_tillage,,China,10,Mha,2020,1,stat,false,
crop_straw_total,survey cropland,,cropland,China,127.86,Mha,2019,0,land survey,false,
eco_ccus_forest,inventory forest,,forest,China,1.8e8,ha,2018,0,NFI,false,
"""
CATALOG = pd.DataFrame(
    {
        "id": ["afforestation", "straw_return", "no_tillage"],
        "rate_low": [1.0, 0.2, 0.0],
        "rate_central": [4.0, 0.5, 0.3],
        "rate_high": [10.0, 1.0, 0.6],
        "rate_factor": [1.0, 1.0, 1.0],
        "rate_is_estimate": [False, True, True],
    }
)


@pytest.fixture
def activity(tmp_path):
    from sinkzone.validation import read_activity

    p = tmp_path / "act.csv"
    p.write_text(ACTIVITY, encoding="utf-8")
    return read_activity(p)


def test_activity_basis_measures(files, activity):
    """activity = public area x the catalog's (additional) rates; co-located rows x stack^k."""
    fig, mapping = files
    mp = {
        "new_forest_urban_potential": {"measures": ["afforestation"], "like_for_like": "activity"},
        "cropland_potential": {"measures": ["no_tillage"], "like_for_like": "activity"},
    }
    v = validation_table(fig, mp, measures(), activity=activity, catalog=CATALOG, stack_factor=0.5)
    a = _one(v, "new_forest_urban_potential", "activity")
    # 7 Mha x (1, 4, 10) t = 0.007 / 0.028 / 0.07 Gt: overlaps 0.03-0.08 -> within
    assert (a.pipeline_low, a.pipeline_value, a.pipeline_high) == pytest.approx(
        (0.007, 0.028, 0.07)
    )
    assert a.verdict == "within" and bool(a.like_for_like) and a.source_chain == "bulletin"
    assert "annual planting 7 Mha (2016-2020)" in a.reason
    assert not bool(_one(v, "new_forest_urban_potential", "allocated").like_for_like)
    # cropland: 100 Mha straw (0.2/0.5/1.0) + 10 Mha no-till (0/0.3/0.6) x 0.5 co-located
    c = _one(v, "cropland_potential", "activity")
    assert (c.pipeline_low, c.pipeline_value, c.pipeline_high) == pytest.approx(
        (0.02, 0.0515, 0.103)
    )
    assert c.verdict == "below" and "co-located" in c.reason
    assert bool(c.inputs_estimated) and "estimate" in c.reason  # the straw area is an estimate


def test_activity_basis_residues_and_ranges(files, activity):
    """Land rows use the figure's residue factors, with value_low/value_high as the range."""
    fig, mapping = files
    fac = factors()
    fac["value_low"] = ["", "", "", ""]
    fac["value_high"] = ["", "", "", ""]
    fac.loc[fac.id == "straw_c_per_ha", ["value_low", "value_high"]] = ["2.0", "2.5"]
    mp = {
        "crop_straw_total": {
            "residues": ["straw_c_per_ha"],
            "ecosystem": "cropland",
            "like_for_like": "activity",
            "tolerance": 0.05,
        }
    }
    v = validation_table(
        fig,
        mp,
        measures(),
        residue_factors=fac,
        land_area_ha=LAND,
        activity=activity,
        catalog=CATALOG,
    )
    s = _one(v, "crop_straw_total", "activity")
    # 127.86 Mha x 2 t C x 44/12 = 0.9376 Gt; high 2.5 t C -> 1.172: overlaps 1.07 -> within
    assert s.pipeline_value == pytest.approx(127.86e6 * 2 * 44 / 12 / 1e9)
    assert s.pipeline_high == pytest.approx(127.86e6 * 2.5 * 44 / 12 / 1e9)
    assert s.verdict == "within" and s.tolerance == 0.05 and "+-5%" in s.reason
    m = _one(v, "crop_straw_total", "residue")  # mapped 120 Mha: 0.88-1.1 also overlaps
    assert m.pipeline_low == pytest.approx(0.88) and not bool(m.like_for_like)


def test_calibrated_never_within(files, activity):
    """A factor derived from the figure itself makes every basis `calibrated`."""
    fig, mapping = files
    fac = factors()
    fac["calibrated_from"] = ["eco_ccus_forest", "", "", ""]
    mp = {"eco_ccus_forest": dict(mapping["eco_ccus_forest"], like_for_like="activity")}
    v = validation_table(
        fig,
        mp,
        measures(),
        residue_factors=fac,
        land_area_ha=LAND,
        activity=activity,
        catalog=CATALOG,
    )
    assert set(v.verdict) == {"calibrated"} and set(v.basis) == {"residue", "activity"}
    assert all("CALIBRATED, not a validation" in r for r in v.reason)
    assert "would say within" in _one(v, "eco_ccus_forest", "residue").reason
    # the same from the mapping (e.g. a rate share taken from the reference paper)
    mp = {
        "new_forest_urban_potential": {
            "measures": ["afforestation"],
            "calibrated": "share taken from the same paper",
        }
    }
    v = validation_table(fig, mp, measures())
    assert set(v.verdict) == {"calibrated"}


def test_realistic_basis(files):
    fig, mapping = files
    m = measures()
    m["realistic_area_ha"] = m["allocated_area_ha"] / 2
    for b in ("low", "central", "high"):
        m[f"realistic_potential_{b}_tco2_yr"] = m[f"potential_{b}_tco2_yr"] / 2
    v = validation_table(fig, {"new_forest_urban_potential": {"measures": ["afforestation"]}}, m)
    r = _one(v, "new_forest_urban_potential", "realistic")
    assert r.pipeline_value == pytest.approx(0.025)
    assert "limited by config caps to 2 Mha" in r.reason


def test_activity_errors(tmp_path, files):
    from sinkzone.validation import read_activity

    p = tmp_path / "a.csv"
    head = ACTIVITY.splitlines()[0]
    p.write_text(head + "\nx,a,afforestation,forest,China,1,Mha,2020,0,src,false,\n")
    with pytest.raises(ConfigError, match="exactly one of measure_id or ecosystem"):
        read_activity(p)
    p.write_text(head + "\nx,a,afforestation,,China,1,Mha,2020,0,,false,\n")
    with pytest.raises(ConfigError, match="no source"):
        read_activity(p)
    p.write_text(head + "\nx,a,afforestation,,China,1,acres,2020,0,s,false,\n")
    with pytest.raises(ConfigError, match="acres"):
        read_activity(p)
    p.write_text(head + "\nzzz,a,afforestation,,China,1,Mha,2020,0,s,false,\n")
    fig, mapping = files
    with pytest.raises(ConfigError, match="not in the figures table"):
        validation_table(
            fig,
            mapping,
            measures(),
            residue_factors=factors(),
            land_area_ha=LAND,
            activity=read_activity(p),
            catalog=CATALOG,
        )
    m = tmp_path / "m.yaml"
    m.write_text("crop_straw_total: {residues: [a], ecosystem: cropland, tolerance: 2}\n")
    with pytest.raises(ConfigError, match="tolerance"):
        read_mapping(m)
    m.write_text(
        "crop_straw_total: {residues: [a], ecosystem: cropland, like_for_like: realistic}\n"
    )
    with pytest.raises(ConfigError, match="like_for_like"):
        read_mapping(m)


def test_mapping_errors(files, tmp_path):
    fig, _ = files
    with pytest.raises(ConfigError, match="unknown measures"):
        validation_table(fig, {"cropland_potential": {"measures": ["nope"]}}, measures())
    with pytest.raises(ConfigError, match="not in the figures"):
        validation_table(fig, {"zzz": {"measures": ["no_tillage"]}}, measures())
    with pytest.raises(ConfigError, match="not comparable"):
        validation_table(
            fig, {"forest_area_2014_2018": {"measures": ["afforestation"]}}, measures()
        )
    kw = {"residue_factors": factors(), "land_area_ha": LAND}
    with pytest.raises(ConfigError, match="unknown ids"):
        validation_table(
            fig,
            {"eco_ccus_forest": {"residues": ["peat"], "ecosystem": "forest"}},
            measures(),
            **kw,
        )
    with pytest.raises(ConfigError, match="has unit"):
        validation_table(
            fig,
            {"crop_straw_total": {"residues": ["grain_yield"], "ecosystem": "cropland"}},
            measures(),
            **kw,
        )
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
    mapping = read_mapping(root / "yu2022.yaml")
    fig = read_figures(root / "yu2022_figures.csv")
    assert set(mapping) <= set(fig["id"])
    from sinkzone.validation import read_activity

    act = read_activity(root / "activity_areas.csv")
    assert set(act["figure_id"]) <= set(mapping)
    assert act["source"].str.len().min() > 10  # every row cites its source


def test_landcover_label_and_fine_grids(files, tmp_path):
    import json

    from sinkzone.validation import landcover_label

    g = tmp_path / "grid.json"
    g.write_text(json.dumps({"transform": [0.05, 0, 70, 0, -0.05, 55], "is_geographic": True}))
    assert landcover_label(g, "MODIS") == ("MODIS (0.05 deg cells)", True)
    g.write_text(json.dumps({"transform": [30.0, 0, 0, 0, -30.0, 0], "is_geographic": False}))
    assert landcover_label(g, "CLCD") == ("CLCD (30 m cells)", False)
    fig, mapping = files
    m = measures()
    m.loc[m.measure_id == "organic_manure", "potential_high_tco2_yr"] = 60e6  # high 0.1 < 0.14
    v = validation_table(
        fig,
        {"cropland_potential": mapping["cropland_potential"]},
        m,
        landcover_note="CLCD (30 m cells)",
        landcover_coarse=False,
    )
    assert v.verdict.iloc[0] == "below"
    assert "undercount" not in v.reason.iloc[0] and "CLCD (30 m cells)" in v.reason.iloc[0]
    v = validation_table(
        fig,
        {"cropland_potential": mapping["cropland_potential"]},
        m,
        landcover_note="MODIS (0.05 deg cells)",
        landcover_coarse=True,
    )
    assert "undercount" in v.reason.iloc[0]
