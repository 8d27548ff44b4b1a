"""Tests of sinkzone.summary and of the reduce-side rule wrappers run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import aggregate_regions
import geopandas as gpd
import pandas as pd
import pytest
import validate_paper
import write_summary
import yaml
from shapely.geometry import box

from sinkzone.summary import not_mapped_measures

IGBP_LEGEND = Path(__file__).resolve().parents[1] / "config" / "legends" / "igbp.csv"

ECOSYSTEMS = """id,name,name_zh,name_en,color,description
1,forest,森林,Forest,#1b7837,trees
4,cropland,农田,Cropland,#f46d43,crops
"""
CATALOG = """id,ecosystem,name_zh,name_en,group,land_use,rate_low,rate_central,rate_high,rate_unit,rate_is_estimate
afforestation,forest,造林,Afforestation,forest_conv,conversion,2,5,10,t CO2/ha/yr,false
no_tillage,cropland,免耕,No-tillage,crop_till,management,0.5,1,1.5,t CO2/ha/yr,true
coral_reef,coastal,珊瑚礁重建,Coral reef rebuilding,coral,conversion,,,,,false
"""
RESIDUES = """id,ecosystem,quantity,value,unit,source,is_estimate,notes
forest_production,forest,annual production,6.0,t CO2/ha/yr,test,true,
forest_removable_share,forest,removable share,0.25,fraction,Yu et al. 2022,false,
straw_production,cropland,straw production,5.0,t CO2/ha/yr,test,true,
straw_removable_share,cropland,removable share,0.30,fraction,Yu et al. 2022,false,
"""
FIGURES = """id,quantity,low,high,unit,period,scope,where_in_paper
cropland_potential,conservation tillage potential,0.14,0.17,Gt CO2/yr,potential,China,2.1
eco_ccus_forest,forest biomass for Eco-CCUS,0.27,0.30,Gt CO2/yr,potential,China,2.3(4)
"""
MAPPING = {
    "cropland_potential": {"measures": ["no_tillage"], "basis": "allocated"},
    "eco_ccus_forest": {
        "residues": ["forest_production", "forest_removable_share"],
        "ecosystem": "forest",
        "basis": "residue",
    },
}
SUITABILITY = {
    "options": {},
    "measures": {
        "afforestation": {
            "where": {"layer": "ecosystem", "op": "eq", "value": "barren"},
            "not_mapped": None,
        },
        "no_tillage": {"where": {"layer": "ecosystem", "op": "eq", "value": "cropland"}},
        "coral_reef": {"not_mapped": "no reef extent data"},
    },
}
REGIONS = (
    "level,code,parent_code,name_zh,name_en\n"
    + "\n".join(
        f"province,{c},0,省{i},Province {i}" for i, c in enumerate(range(110000, 230000, 10000))
    )
    + "\n"
    + "\n".join(
        f"county,{c + 101},{c},县{i},County {i}" for i, c in enumerate(range(110000, 230000, 10000))
    )
    + "\n"
)
ZONES = [
    {"id": "qtp", "name_en": "Plateau zone", "name_zh": "高原区"},
    {"id": "coastal", "name_en": "Coastal belt", "name_zh": "海岸带"},
]
PROVS = list(range(110000, 230000, 10000))  # 12 provinces


@pytest.fixture
def run(tmp_path):
    d = tmp_path
    for name, text in [
        ("eco.csv", ECOSYSTEMS),
        ("cat.csv", CATALOG),
        ("res.csv", RESIDUES),
        ("fig.csv", FIGURES),
        ("regions.csv", REGIONS),
    ]:
        (d / name).write_text(text, encoding="utf-8")
    (d / "map.yaml").write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    (d / "suit.yaml").write_text(yaml.safe_dump(SUITABILITY), encoding="utf-8")
    rows, lc = [], []
    for i, p in enumerate(PROVS):  # province i: (i + 1) * 1000 ha afforestation allocated
        ha = (i + 1) * 1000
        rows.append(
            (p, p + 101, 1 if i < 3 else 2, 1, "afforestation", 0, ha * 2 * 10**7, ha * 10**7)
        )
        rows.append((p, p + 101, 0, 4, "no_tillage", 1, 500 * 10**7, 500 * 10**7))
        lc.append((p, p + 101, 0, 1, 1, ha * 10**4 * 10))
        lc.append((p, p + 101, 0, 12, 4, 500 * 10**4))
    cols = [
        "province",
        "county",
        "zones",
        "ecosystem",
        "measure_id",
        "stack_pos",
        "eligible_units",
        "allocated_units",
    ]
    paths, lpaths = [], []
    for t in range(2):
        c = d / f"tiles/r000_c00{t}/assign/counts.csv"
        c.parent.mkdir(parents=True)
        pd.DataFrame(rows[t::2], columns=cols).to_csv(c, index=False)
        lpath = c.with_name("lc_counts.csv")
        pd.DataFrame(
            lc[t::2], columns=["province", "county", "zones", "landcover", "ecosystem", "area_m2"]
        ).to_csv(lpath, index=False)
        paths.append(c)
        lpaths.append(lpath)
    (d / "grid.json").write_text(
        json.dumps(
            {
                "crs": "EPSG:4326",
                "transform": [0.05, 0, 73.5, 0, -0.05, 53.6],
                "width": 1240,
                "height": 720,
                "source_window": [0, 0, 1240, 720],
                "is_geographic": True,
            }
        )
    )
    vec = d / "vectors.gpkg"
    gpd.GeoDataFrame(
        {"code": PROVS}, geometry=[box(i, 0, i + 1, 1) for i in range(12)], crs=4326
    ).to_file(vec, layer="provinces")
    gpd.GeoDataFrame(
        {"code": [p + 101 for p in PROVS]},
        geometry=[box(i, 0, i + 1, 1) for i in range(12)],
        crs=4326,
    ).to_file(vec, layer="counties")
    gpd.GeoDataFrame(geometry=[box(0, 0, 12, 1)], crs=4326).to_file(vec, layer="region")
    t = d / "tables"
    aggregate_regions.main(
        counts=paths,
        lc_counts=lpaths,
        regions=d / "regions.csv",
        vectors=vec,
        catalog=d / "cat.csv",
        ecosystems=d / "eco.csv",
        residues=d / "res.csv",
        out_region=t / "potential_by_region.csv",
        out_measure=t / "potential_by_measure.csv",
        out_ecosystem=t / "potential_by_ecosystem.csv",
        out_residues=t / "residues_by_region.csv",
        out_landcover=t / "landcover_area.csv",
        legend=IGBP_LEGEND,
        zones=ZONES,
        stack_factor=0.5,
        language="en",
        zones_source="approximate",
    )
    validate_paper.main(
        measures=t / "potential_by_measure.csv",
        ecosystems=t / "potential_by_ecosystem.csv",
        residues=d / "res.csv",
        figures=d / "fig.csv",
        mapping=d / "map.yaml",
        out=t / "validation.csv",
        grid=d / "grid.json",
        landcover="MODIS MCD12C1 2019",
    )
    write_summary.main(
        region=t / "potential_by_region.csv",
        measures=t / "potential_by_measure.csv",
        residues=t / "residues_by_region.csv",
        validation=t / "validation.csv",
        suitability=d / "suit.yaml",
        out=d / "summary.md",
        run="test",
        zones_source="approximate",
        red_lines=None,
        stack_factor=0.5,
        landcover="MODIS MCD12C1 2019 (0.05 deg)",
    )
    return d


def test_not_mapped_from_suitability(run):
    assert not_mapped_measures(run / "suit.yaml") == {"coral_reef": "no reef extent data"}


def test_summary_contents(run):
    text = (run / "summary.md").read_text(encoding="utf-8")
    # national allocated: afforestation sum(1..12)*1000 ha * 5 = 390000 t; no_tillage
    # 12*500 ha * 1 * 0.5 = 3000 t -> 0.000393 Gt (3 decimals: 0.000)
    assert (
        "| **mapped**: allocated on all eligible land (additive; stacked measures x 0.5^k) "
        "| 0.000 | 0.000 | 0.001 |"
    ) in text
    assert text.index("## Additional sink potential") < text.index("## Current sink")
    assert text.index("## Current sink") < text.index("## Ten provinces")
    assert "No time path or no current/target figure" in text  # none passed to this run
    lines = text.splitlines()
    top = lines.index("## Ten provinces with the largest allocated potential (Mt CO2/yr, mapped)")
    table = [ln for ln in lines[top + 2 : top + 15] if ln.startswith("| ") and "---" not in ln]
    assert table[0].startswith("| rank | province")
    assert len(table) == 11  # header + 10 provinces (of 12)
    # Province 11: 12000 ha x 5 t = 0.06 Mt central; 250 t of no-tillage on top
    assert table[1] == "| 1 | Province 11 | 220000 | 0.02 | 0.06 | 0.12 | afforestation |"
    assert table[10].startswith("| 10 | Province 2 | 130000 |")
    assert "## Zones and belts (approximate)" in text and "APPROXIMATION" in text
    assert "| Plateau zone | qtp |" in text
    assert "No red-line file supplied" in text
    assert "- `coral_reef` (Coral reef rebuilding): no reef extent data" in text
    assert (
        "| cropland_potential | allocated * | 0.14-0.17 | 0.000 (0.000-0.000) | Gt CO2/yr | below |"
    ) in text
    assert "Like-for-like rows: within: 0, below: 2, above: 0, calibrated: 0" in text
    assert "areas from MODIS MCD12C1 2019 (0.05 deg cells)" in text
    assert "coarse cells undercount small cropland parcels" in text


def test_wrapper_outputs(run):
    t = run / "tables"
    region = pd.read_csv(t / "potential_by_region.csv", dtype={"region_code": str})
    nat = region[region.region_level == "nation"].set_index("measure_id")
    assert nat.loc["afforestation", "allocated_area_ha"] == 78000.0
    assert nat.loc["afforestation", "potential_central_tco2_yr"] == 390000.0
    assert nat.loc["no_tillage", "potential_central_tco2_yr"] == 3000.0
    qtp = region[(region.region_level == "zone") & (region.region_code == "qtp")]
    assert qtp.allocated_area_ha.sum() == 6000.0  # provinces 0-2 carry bit 0
    val = pd.read_csv(t / "validation.csv").set_index(["figure_id", "basis"])
    assert val.loc[("cropland_potential", "allocated"), "pipeline_value"] == pytest.approx(3e-6)
    # no caps in this run: realistic = mapped
    assert val.loc[("cropland_potential", "realistic"), "pipeline_value"] == pytest.approx(3e-6)
    # forest 78000 ha * 10 (lc area) = 780000 ha x 6 x 0.25 = 1.17e6 t
    assert val.loc[("eco_ccus_forest", "residue"), "pipeline_value"] == pytest.approx(0.00117)
    res = pd.read_csv(t / "residues_by_region.csv", dtype={"region_code": str})
    assert len(res) == 2 * (1 + 12)
    eco = pd.read_csv(t / "potential_by_ecosystem.csv").set_index("ecosystem")
    assert eco.loc["forest", "land_area_ha"] == 780000.0


def test_project_config_files(run):
    """The reduce side runs on the project's own catalog, residues, mapping and suitability."""
    from pathlib import Path

    cfg = Path(__file__).resolve().parents[1] / "config"
    need = [
        "technologies.csv",
        "residues.csv",
        "suitability.yaml",
        "config.yaml",
        "published/yu2022.yaml",
        "published/yu2022_figures.csv",
    ]
    assert all((cfg / n).exists() for n in need), need
    cat = pd.read_csv(cfg / "technologies.csv")
    eco_ids = {"forest": 1, "grassland": 3, "cropland": 4, "wetland": 5, "coastal": 5}
    rows = [
        (p, p + 101, 1, eco_ids[m.ecosystem], m.id, 0, 2 * 10**14, 10**14)
        for p in PROVS[:3]
        for m in cat.itertuples()
    ]
    d = run / "project"
    d.mkdir()
    pd.DataFrame(
        rows,
        columns=[
            "province",
            "county",
            "zones",
            "ecosystem",
            "measure_id",
            "stack_pos",
            "eligible_units",
            "allocated_units",
        ],
    ).to_csv(d / "counts.csv", index=False)
    lc = [(p, p + 101, 1, 1, e, 10**11) for p in PROVS[:3] for e in (1, 3, 4, 5)]
    pd.DataFrame(
        lc, columns=["province", "county", "zones", "landcover", "ecosystem", "area_m2"]
    ).to_csv(d / "lc.csv", index=False)
    zones = yaml.safe_load((cfg / "config.yaml").read_text(encoding="utf-8"))["zones"]["items"]
    t = d / "tables"
    aggregate_regions.main(
        counts=[d / "counts.csv"],
        lc_counts=[d / "lc.csv"],
        regions=run / "regions.csv",
        vectors=run / "vectors.gpkg",
        catalog=cfg / "technologies.csv",
        ecosystems=cfg / "ecosystems.csv",
        residues=cfg / "residues.csv",
        out_region=t / "r.csv",
        out_measure=t / "m.csv",
        out_ecosystem=t / "e.csv",
        out_residues=t / "res.csv",
        out_landcover=t / "lc_area.csv",
        legend=IGBP_LEGEND,
        zones=zones,
        stack_factor=0.5,
        language="zh",
        zones_source="official",
    )
    validate_paper.main(
        measures=t / "m.csv",
        ecosystems=t / "e.csv",
        residues=cfg / "residues.csv",
        figures=cfg / "published/yu2022_figures.csv",
        mapping=cfg / "published/yu2022.yaml",
        out=t / "v.csv",
        grid=run / "grid.json",
        landcover="MODIS MCD12C1 2019",
    )
    write_summary.main(
        region=t / "r.csv",
        measures=t / "m.csv",
        residues=t / "res.csv",
        validation=t / "v.csv",
        suitability=cfg / "suitability.yaml",
        out=d / "summary.md",
        run="project",
        zones_source="official",
        red_lines="redlines.gpkg",
        stack_factor=0.5,
        language="zh",
    )
    val = pd.read_csv(t / "v.csv")
    assert len(val) >= 1 and set(val.verdict) <= {"within", "below", "above", "calibrated"}
    assert (val[val.figure_id == "eco_ccus_forest"].verdict == "calibrated").all()
    assert val.reason.str.len().min() > 20
    text = (d / "summary.md").read_text(encoding="utf-8")
    assert "## Zones and belts (official)" in text and "APPROXIMATION" not in text
    assert "Red lines supplied (redlines.gpkg)" in text
    assert "青藏高原生态屏障区" in text  # zh names with language zh
    for mid in not_mapped_measures(cfg / "suitability.yaml"):
        assert f"- `{mid}`" in text


def test_lead_current_sink_and_doubling_from_time_path():
    """The lead shows realistic and mapped additional potential, the current sink apart, and
    the doubling verdict from the time path's 2060 additional sink + the current sink."""
    from sinkzone.summary import build_summary, doubling_verdict

    assert doubling_verdict(1.0, 0.8, 1.2, (1.0, 1.3), (2.0, 2.5)) == "yes"
    assert doubling_verdict(0.8, 0.6, 1.0, (1.0, 1.3), (2.0, 2.5)) == "partly"
    assert doubling_verdict(0.5, 0.4, 0.6, (1.0, 1.3), (2.0, 2.5)) == "no"
    row = {
        "region_level": "nation",
        "region_code": "100000",
        "name_en": "China",
        "name_zh": "中国",
        "ecosystem": "forest",
        "allocated_area_ha": 100.0,
    }
    table = pd.DataFrame(
        [
            dict(
                row,
                measure_id="afforestation",
                **{
                    f"{k}_{b}_tco2_yr": v * f
                    for k, v in [
                        ("potential", 4e8),
                        ("technical_potential", 8e8),
                        ("existing_sink", 0.0),
                        ("realistic_potential", 2e8),
                    ]
                    for b, f in (("low", 0.5), ("central", 1.0), ("high", 2.0))
                },
            ),
            dict(
                row,
                measure_id="natural_forest_protection",
                **{
                    f"{k}_{b}_tco2_yr": v * f
                    for k, v in [
                        ("potential", 1e7),
                        ("technical_potential", 1e7),
                        ("existing_sink", 3e8),
                        ("realistic_potential", 1e7),
                    ]
                    for b, f in (("low", 0.5), ("central", 1.0), ("high", 2.0))
                },
            ),
        ]
    )
    measures = pd.DataFrame(
        {
            "measure_id": ["afforestation"],
            "measure_ecosystem": ["forest"],
            "name_en": ["Afforestation"],
            "allocated_area_ha": [100.0],
            "realistic_area_ha": [50.0],
            "mapped": [True],
            **{f"potential_{b}_tco2_yr": [1.0] for b in ("low", "central", "high")},
        }
    )
    figures = pd.DataFrame(
        {
            "id": ["current_sink", "target_sink"],
            "low": [1.0, 2.0],
            "high": [1.3, 2.5],
            "unit": ["Gt CO2/yr"] * 2,
            "quantity": ["c", "t"],
        }
    )
    horizons = pd.DataFrame(
        {
            "region_level": ["nation", "nation"],
            "horizon": [2030, 2060],
            "annual_p50_tco2": [5e8, 0.85e9],
            "annual_p5_tco2": [4e8, 0.7e9],
            "annual_p95_tco2": [6e8, 1.0e9],
        }
    )
    caps = pd.DataFrame(
        {"cap_id": ["land"], "measure_ids": ["afforestation"], "is_estimate": ["true"]}
    )
    text = build_summary(
        table,
        measures,
        None,
        None,
        {},
        run="t",
        zones_source="official",
        red_lines=None,
        stack_factor=0.5,
        figures=figures,
        horizons=horizons,
        caps=caps,
    )
    lines = text.splitlines()
    i = lines.index("## Additional sink potential (Gt CO2/yr)")
    assert i < 6  # the summary leads with it
    assert lines[i + 6].startswith("| **realistic**") and lines[i + 6].endswith(
        "| 0.105 | 0.210 | 0.420 |"
    )
    assert lines[i + 7].startswith("| **mapped**") and lines[i + 7].endswith(
        "| 0.205 | 0.410 | 0.820 |"
    )
    assert "| afforestation | 0.00 | 0.00 | land (estimate) |" in text
    assert "current terrestrial ecosystem sink: 1.0-1.3 Gt CO2/yr" in text
    assert "(natural_forest_protection 0.300): 0.150 / 0.300 / 0.600" in text
    # 2060 P50 0.85 + current 1.0 = 1.85 < 2.0, with 1.3 = 2.15 -> partly
    assert "adds 0.85 Gt CO2/yr (P5-P95 0.70-1.00)" in text
    assert "the total is 1.85-2.15 Gt CO2/yr: **partly**" in text
