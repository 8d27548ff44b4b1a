"""Tests of sinkzone.scenarios (target seeking, doubling check, summary) and run_scenarios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import run_scenarios
import yaml
from helpers.regiontables import CATALOG, make_table

from sinkzone import scenarios as sc
from sinkzone.aggregate import write_table
from sinkzone.costs import read_costs
from sinkzone.errors import ConfigError
from sinkzone.uncertainty import read_potential_table

ROOT = Path(__file__).resolve().parents[1]
FIGURES = """id,quantity,low,high,unit,period,scope,where_in_paper
current_sink,current sink,1.0,1.3,Gt CO2/yr,2010-2020,China,abstract
target_sink,doubled sink,2.0,2.5,Gt CO2/yr,2050-2060,China,abstract
forest_cover_target_2030,forest cover,25,25,% of land,2030,China,3.3
"""
# Afforestation in two counties (same cost per ha), no-tillage in a third (cheaper per t).
COUNTIES = {
    "110101": ("110000", [], {"afforestation": 1000.0}),
    "120101": ("120000", [], {"afforestation": 2000.0}),
    "130101": ("130000", [], {"no_tillage": 400.0}),
}
LANDCOVER = pd.DataFrame(
    {
        "ecosystem_id": [1, 4, 0],
        "ecosystem": ["forest", "cropland", "none"],
        "landcover_codes": ["1", "12", "0"],
        "area_m2": [0, 0, 0],
        "area_ha": [20000.0, 75000.0, 5000.0],
    }
)  # forest cover 20 %


@pytest.fixture
def env(tmp_path):
    cat = tmp_path / "technologies.csv"
    cat.write_text(CATALOG, encoding="utf-8")
    fig = tmp_path / "figures.csv"
    fig.write_text(FIGURES, encoding="utf-8")
    table = make_table(COUNTIES)
    return table, read_costs(cat), sc.read_figure_ranges(fig), cat, fig


def scenario(**kw):
    base = {
        "id": "s",
        "name_en": "S",
        "order": "cost",
        "basis": "central",
        "measures": None,
        "exclude_measures": [],
        "discount_rate": None,
    }
    return base | kw


def test_forest_cover_target_known_answer(env):
    table, cat, fig, *_ = env
    s = scenario(
        target={"kind": "forest_cover_pct", "value": 22, "baseline": None, "source": "test"}
    )
    row, units = sc.run_scenario(
        s, table, cat, discount_rate=0.05, landcover_area=LANDCOVER, figures=fig
    )
    # 22 % - 20 % of 100000 ha = 2000 ha: county 110101 fully (1000 ha), 120101 half (1000 ha)
    assert row["baseline"] == pytest.approx(20.0)
    assert row["required"] == pytest.approx(2.0)
    assert row["achieved"] == pytest.approx(2.0)
    assert row["reachable"] == "true" and row["shortfall"] == 0
    assert row["area_ha"] == pytest.approx(2000.0)
    assert list(units["county_code"]) == ["110101", "120101"]
    assert units["fraction"].tolist() == pytest.approx([1.0, 0.5])
    assert row["sink_tco2_yr"] == pytest.approx(2000 * 5)
    assert set(units["measure_id"]) == {"afforestation"}  # no-tillage adds no forest
    assert row["provinces"] == 2 and "P110000 50.0%" in row["top_provinces"]


def test_forest_cover_unreachable_reports_shortfall(env):
    table, cat, fig, *_ = env
    s = scenario(
        target={
            "kind": "forest_cover_pct",
            "value": {"figure": "forest_cover_target_2030", "bound": "low"},
            "baseline": None,
            "source": "test",
        }
    )
    row, units = sc.run_scenario(
        s, table, cat, discount_rate=0.05, landcover_area=LANDCOVER, figures=fig
    )
    assert row["target"] == 25.0
    assert row["reachable"] == "false"
    assert row["achievable_max"] == pytest.approx(3.0)  # 3000 ha of 100000
    assert row["shortfall"] == pytest.approx(2.0)  # needs 5 points
    assert units["fraction"].tolist() == [1.0, 1.0]
    # a baseline above the target needs nothing
    s["target"]["baseline"] = 26.0
    row, units = sc.run_scenario(
        s, table, cat, discount_rate=0.05, landcover_area=LANDCOVER, figures=fig
    )
    assert row["reachable"] == "true" and row["units"] == 0 and row["required"] == 0


def test_added_sink_cost_and_sink_order(env):
    table, cat, fig, *_ = env
    # no-tillage 400 t/yr at 100 CNY/t is cheapest, then afforestation (~194 CNY/t, 5 t/ha)
    target = {"kind": "added_sink_gt", "value": 1.0 + 5400e-9, "current": 1.0, "source": "t"}
    row, units = sc.run_scenario(
        scenario(target=target), table, cat, discount_rate=0.05, landcover_area=None, figures=fig
    )
    assert row["required"] * 1e9 == pytest.approx(5400.0, rel=1e-6)
    assert list(units["measure_id"]) == ["no_tillage", "afforestation", "afforestation"]
    assert units["sink_tco2_yr"].tolist() == pytest.approx([400.0, 5000.0, 0.0], abs=1e-3)
    assert row["reachable"] == "true"
    assert row["marginal_cost_cny_tco2"] == pytest.approx(
        (15000 * 0.05 / (1 - 1.05**-50) + 150) / 5
    )
    row, units = sc.run_scenario(
        scenario(target=target, order="sink"),
        table,
        cat,
        discount_rate=0.05,
        landcover_area=None,
        figures=fig,
    )
    assert list(units["county_code"][:1]) == ["120101"]  # 10000 t/yr, largest first
    assert units["sink_tco2_yr"].sum() == pytest.approx(5400.0)
    # excluded measures are never taken; the target is then out of reach
    big = target | {"value": 1.0 + 20000e-9}
    row, _ = sc.run_scenario(
        scenario(target=big, exclude_measures=["no_tillage"]),
        table,
        cat,
        discount_rate=0.05,
        landcover_area=None,
        figures=fig,
    )
    assert row["reachable"] == "false"
    assert row["shortfall"] * 1e9 == pytest.approx(20000 - 15000, rel=1e-6)


def test_published_figures_resolve(env):
    *_, fig = env[:3]
    assert sc.resolve({"figure": "current_sink", "bound": "high"}, fig, "x")[0] == 1.3
    with pytest.raises(ConfigError, match="not found"):
        sc.resolve({"figure": "nope", "bound": "low"}, fig, "x")


def test_doubling_verdicts(env):
    *_, fig = env[:3]

    def unc(p5, p50, p95):
        return pd.DataFrame(
            {
                "region_level": ["nation"],
                "p5_tco2_yr": [p5 * 1e9],
                "p50_tco2_yr": [p50 * 1e9],
                "p95_tco2_yr": [p95 * 1e9],
            }
        )

    assert sc.doubling_rows(unc(1.4, 1.6, 2.0), fig)[0]["reachable"] == "yes"
    assert sc.doubling_rows(unc(0.5, 0.8, 1.2), fig)[0]["reachable"] == "partly"
    no = sc.doubling_rows(unc(0.1, 0.3, 0.4), fig)[0]
    assert no["reachable"] == "no" and no["shortfall"] == pytest.approx(2.0 - 0.3 - 1.3)
    assert "even at P95" in no["note"]
    hz = pd.DataFrame(
        {
            "region_level": ["nation"] * 2,
            "horizon": [2030, 2060],
            "annual_p5_tco2": [0, 0.2e9],
            "annual_p50_tco2": [0, 0.3e9],
            "annual_p95_tco2": [0, 0.5e9],
        }
    )
    rows = sc.doubling_rows(unc(1.4, 1.6, 2.0), fig, hz)
    assert [r["scenario_id"] for r in rows] == ["doubling_potential", "doubling_2060"]
    assert rows[1]["reachable"] == "no"


def test_scenario_files_validate_and_typos_fail(tmp_path):
    files = sorted((ROOT / "config" / "scenarios").glob("*.yaml"))
    assert len(files) >= 4
    for p in files:
        s = sc.read_scenario(p)
        assert s["order"] in ("cost", "sink")
    bad = yaml.safe_load(files[0].read_text(encoding="utf-8")) | {"ordr": "cost"}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(ConfigError, match="ordr"):
        sc.read_scenario(p)
    bad = {
        "id": "x",
        "name_en": "x",
        "target": {"kind": "added_sink_gt", "value": 2.0, "source": "x"},
    }
    p.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(ConfigError, match="current"):
        sc.read_scenario(p)


def test_run_scenarios_end_to_end_and_summary(env, tmp_path):
    table, _, _, cat, fig = env
    reg = tmp_path / "potential_by_region.csv"
    write_table(reg, table)
    lc = tmp_path / "landcover_area.csv"
    LANDCOVER.to_csv(lc, index=False)
    unc = tmp_path / "unc.csv"
    pd.DataFrame(
        {
            "region_level": ["nation"],
            "region_code": ["100000"],
            "p5_tco2_yr": [1e4],
            "p50_tco2_yr": [1.5e4],
            "p95_tco2_yr": [2e4],
        }
    ).to_csv(unc, index=False)
    hz = tmp_path / "hz.csv"
    pd.DataFrame(
        {
            "region_level": ["nation"],
            "region_code": ["100000"],
            "horizon": [2060],
            "annual_central_tco2": [1e4],
            "annual_p5_tco2": [0.5e4],
            "annual_p50_tco2": [1e4],
            "annual_p95_tco2": [1.5e4],
            "cumulative_central_tco2": [2e5],
            "cumulative_p5_tco2": [1e5],
            "cumulative_p50_tco2": [2e5],
            "cumulative_p95_tco2": [3e5],
        }
    ).to_csv(hz, index=False)
    scen = tmp_path / "cover.yaml"
    scen.write_text(
        yaml.safe_dump(
            {
                "id": "cover",
                "name_en": "cover 22",
                "target": {"kind": "forest_cover_pct", "value": 22, "source": "test"},
            }
        ),
        encoding="utf-8",
    )
    out, units, png = tmp_path / "scen.csv", tmp_path / "units.csv", tmp_path / "scen.png"
    kw = dict(
        region=reg,
        catalog=cat,
        landcover_area=lc,
        uncertainty=unc,
        horizons=hz,
        figures=fig,
        scenarios=[scen],
        out=out,
        out_units=units,
        out_figure=png,
        discount_rate=0.05,
        dpi=60,
    )
    run_scenarios.main(**kw)
    first = out.read_bytes(), units.read_bytes()
    run_scenarios.main(**kw)
    assert (out.read_bytes(), units.read_bytes()) == first
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df["scenario_id"]) == ["cover", "doubling_potential", "doubling_2060"]
    assert list(df["reachable"]) == ["true", "no", "no"]
    assert png.stat().st_size > 1000
    mac = pd.DataFrame(
        {
            "region_level": ["nation"] * 2,
            "rank": [1, 2],
            "measure_id": ["a", "b"],
            "cost_central_cny_tco2": [10.0, 200.0],
            "cumulative_central_gtco2_yr": [0.1, 0.3],
        }
    )
    th = pd.DataFrame(
        {
            "region_level": ["nation"],
            "threshold": ["usd_10"],
            "price_cny_tco2": [71.0],
            "achievable_central_share": [0.33],
        }
    )
    lines = sc.summary_lines(pd.read_csv(hz), th, mac, pd.read_csv(out, keep_default_na=False))
    assert 3 <= len(lines) <= 6
    text = "\n".join(lines)
    assert "2060" in text and "10 USD/t CO2 (71 CNY) 33 %" in text and "**no**" in text
    assert "cover reachable" in text


def test_read_potential_and_units(env, tmp_path):
    table, cat, *_ = env
    reg = tmp_path / "p.csv"
    write_table(reg, table)
    u = sc.county_units(read_potential_table(reg), cat, 0.05)
    assert set(u["province_code"]) == {"110000", "120000", "130000"}
    assert np.isclose(
        u["annual_cost_cny_yr"].sum(), 3000 * (15000 * 0.05 / (1 - 1.05**-50) + 150) + 400 * 100
    )
