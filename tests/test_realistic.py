"""Tests of the realistic potential (sinkzone.realistic) and of additionality in the reduce step."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sinkzone import aggregate as agg
from sinkzone.catalog import load_catalog
from sinkzone.errors import ConfigError
from sinkzone.realistic import add_realistic, cap_factors, read_caps

CAPS = """cap_id,measure_ids,cap_area_ha,basis,year,source,is_estimate,notes
land,afforestation;plantation,60,suitable land,2018,inventory,false,
ban,enclosure,1000,grazing ban,2021,policy,true,not binding
"""


def _table():
    """Nation + two provinces; afforestation 100 ha (60 + 40), plantation 20, enclosure 50."""
    rows = []
    for level, code, aff, pla, enc in [
        ("nation", "100000", 100, 20, 50),
        ("province", "1", 60, 20, 30),
        ("province", "2", 40, 0, 20),
    ]:
        for m, ha, rate in [
            ("afforestation", aff, 3.0),
            ("plantation", pla, 9.0),
            ("enclosure", enc, 1.0),
            ("tillage", 10, 0.5),
        ]:
            row = {
                "region_level": level,
                "region_code": code,
                "measure_id": m,
                "allocated_area_ha": float(ha),
            }
            for b, f in (("low", 0.5), ("central", 1.0), ("high", 2.0)):
                row[f"potential_{b}_tco2_yr"] = ha * rate * f
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture
def caps(tmp_path):
    p = tmp_path / "caps.csv"
    p.write_text(CAPS, encoding="utf-8")
    return read_caps(p, ["afforestation", "plantation", "enclosure", "tillage"])


def test_cap_factor_and_distribution(caps):
    t = _table()
    f = cap_factors(t, caps).set_index("measure_id")
    # afforestation + plantation share one cap: 60 ha of 120 mapped -> factor 0.5 for both
    assert f.loc["afforestation", "realistic_factor"] == pytest.approx(0.5)
    assert f.loc["plantation", "realistic_factor"] == pytest.approx(0.5)
    assert f.loc["enclosure", "realistic_factor"] == 1.0  # cap 1000 ha does not bind
    assert bool(f.loc["enclosure", "cap_is_estimate"])
    out = add_realistic(t, f.reset_index())
    nat = out[out.region_level == "nation"].set_index("measure_id")
    assert nat.loc["afforestation", "realistic_area_ha"] == pytest.approx(50.0)
    assert nat.loc["plantation", "realistic_area_ha"] == pytest.approx(10.0)
    assert nat.loc[["afforestation", "plantation"], "realistic_area_ha"].sum() == pytest.approx(60)
    assert nat.loc["afforestation", "realistic_potential_central_tco2_yr"] == pytest.approx(150.0)
    assert nat.loc["tillage", "realistic_potential_high_tco2_yr"] == pytest.approx(10.0)
    # provinces get the capped area in proportion to their mapped area and still add up
    prov = out[(out.region_level == "province") & (out.measure_id == "afforestation")]
    assert list(prov.realistic_area_ha) == pytest.approx([30.0, 20.0])
    assert prov.realistic_potential_low_tco2_yr.sum() == pytest.approx(
        nat.loc["afforestation", "realistic_potential_low_tco2_yr"]
    )


def test_no_caps_means_mapped():
    t = _table()
    out = add_realistic(t, None)
    assert (out.realistic_potential_central_tco2_yr == out.potential_central_tco2_yr).all()
    assert (out.realistic_area_ha == out.allocated_area_ha).all()


def test_cap_errors(tmp_path):
    p = tmp_path / "c.csv"
    head = CAPS.splitlines()[0]
    ids = ["afforestation", "enclosure"]
    p.write_text(head + "\na,nope,5,b,2020,s,false,\n")
    with pytest.raises(ConfigError, match="unknown measures"):
        read_caps(p, ids)
    p.write_text(head + "\na,afforestation,5,b,2020,s,false,\nb,afforestation,6,b,2020,s,false,\n")
    with pytest.raises(ConfigError, match="already capped"):
        read_caps(p, ids)
    p.write_text(head + "\na,afforestation,-5,b,2020,s,false,\n")
    with pytest.raises(ConfigError, match="area >= 0"):
        read_caps(p, ids)
    p.write_text(head + "\na,afforestation,5,b,2020,,false,\n")
    with pytest.raises(ConfigError, match="no source"):
        read_caps(p, ids)
    p.write_text("cap_id,measure_ids\na,afforestation\n")
    with pytest.raises(ConfigError, match="missing columns"):
        read_caps(p, ids)


def test_project_caps_parse():
    root = Path(__file__).resolve().parents[1] / "config"
    cat = load_catalog(root / "technologies.csv")
    caps = read_caps(root / "caps.csv", cat.ids)
    assert {"afforestation", "grassland_enclosure", "organic_manure"} <= set(caps.measure_id)
    assert caps.cap_source.str.len().min() > 10


# ---------------------------------------------------------------- additionality (issue 11 C)

CATALOG = """id,ecosystem,name_zh,name_en,rate_low,rate_central,rate_high,rate_unit,rate_is_estimate,additional_share,additionality_source
protect,forest,保护,Protection,1,2,4,t CO2/ha/yr,false,0.25,test source
plant,forest,造林,Planting,1,2,4,t C/ha/yr,false,,
"""


def test_additional_share_in_reduce(tmp_path):
    """Potentials use rate x additional_share; the rest is the existing sink."""
    (tmp_path / "cat.csv").write_text(CATALOG, encoding="utf-8")
    cat = agg.read_catalog(tmp_path / "cat.csv")
    c = cat.set_index("id")
    assert c.loc["protect", "rate_central"] == pytest.approx(0.5)
    assert c.loc["protect", "gross_rate_central"] == 2.0
    assert c.loc["plant", "additional_share"] == 1.0  # empty = 1
    counts = pd.DataFrame(
        {
            "province": [11, 11],
            "county": [1101, 1101],
            "zones": [0, 0],
            "ecosystem": [1, 1],
            "measure_id": ["protect", "plant"],
            "stack_pos": [0, 1],
            "eligible_units": [100 * 10**7, 10 * 10**7],
            "allocated_units": [100 * 10**7, 10 * 10**7],
        }
    )
    regions = pd.DataFrame(
        {
            "level": ["province", "county"],
            "code": [11, 1101],
            "parent_code": [0, 11],
            "name_zh": ["省", "县"],
            "name_en": ["P", "C"],
        }
    )
    eco = pd.DataFrame({"id": [1], "name": ["forest"], "name_en": ["Forest"], "name_zh": ["森林"]})
    t = agg.region_table(counts, regions, cat, [], 0.5, eco)
    nat = t[t.region_level == "nation"].set_index("measure_id")
    # 100 ha x 2 t x 0.25 additional = 50 t; 150 t existing (gross 200)
    assert nat.loc["protect", "potential_central_tco2_yr"] == pytest.approx(50.0)
    assert nat.loc["protect", "existing_sink_central_tco2_yr"] == pytest.approx(150.0)
    assert nat.loc["protect", "technical_potential_high_tco2_yr"] == pytest.approx(100.0)
    # planting: 10 ha x 2 t C x 44/12 x 0.5 (stacked) = 36.67 t, all additional
    assert nat.loc["plant", "potential_central_tco2_yr"] == pytest.approx(10 * 2 * 44 / 12 / 2)
    assert nat.loc["plant", "existing_sink_central_tco2_yr"] == 0.0
    # realistic columns are appended at the end, equal to mapped without caps
    assert list(t.columns[-4:]) == agg.REALISTIC_COLS
    assert (t.realistic_potential_central_tco2_yr == t.potential_central_tco2_yr).all()
    m = agg.measure_table(t, cat).set_index("measure_id")
    assert m.loc["protect", "additional_share"] == 0.25
    assert m.loc["protect", "existing_sink_low_tco2_yr"] == pytest.approx(75.0)


def test_catalog_rates_and_share_checks(tmp_path):
    root = Path(__file__).resolve().parents[1] / "config"
    cat = load_catalog(root / "technologies.csv")
    g = cat.gross_rates_tco2("natural_forest_protection")
    a = cat.rates_tco2("natural_forest_protection")
    s = cat.additional_share("natural_forest_protection")
    assert 0 < s < 0.1 and a == pytest.approx(tuple(x * s for x in g))
    assert cat.rates_tco2("afforestation") == cat.gross_rates_tco2("afforestation")
    assert "Lu" in cat.row("natural_forest_protection")["additionality_source"]
    # a share below 1 without its source is an error
    import csv

    with open(root / "technologies.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["id"] == "natural_forest_protection"]
    rows[0]["additionality_source"] = ""
    p = tmp_path / "t.csv"
    with open(p, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(ConfigError, match="additionality_source"):
        load_catalog(p)
