"""Tests of sinkzone.timepaths (saturation curves x schedules) and compute_timepaths."""

from __future__ import annotations

import compute_timepaths
import numpy as np
import pandas as pd
import pytest
from helpers.regiontables import CATALOG, make_table

from sinkzone import timepaths as tp
from sinkzone.aggregate import write_table
from sinkzone.errors import ConfigError

SCHEDULE = """measure_id,start_year,full_year,share,curve,source
default,2025,2035,1.0,,ASSUMPTION test ramp
"""


@pytest.fixture
def files(tmp_path):
    cat = tmp_path / "technologies.csv"
    cat.write_text(CATALOG, encoding="utf-8")
    reg = tmp_path / "potential_by_region.csv"
    write_table(reg, make_table())
    sched = tmp_path / "schedule.csv"
    sched.write_text(SCHEDULE, encoding="utf-8")
    return cat, reg, sched


@pytest.mark.parametrize("kind", ["linear_plateau", "chapman_richards", "constant"])
def test_curves_reach_their_plateau_at_saturation(kind):
    g = tp.curve(kind, 30, 80)
    assert g[:30].sum() == pytest.approx(30.0)  # mean rate over T = catalog rate
    assert np.all(g[30:] == 0)  # stock flat from year T on
    assert np.all(g[:30] > 0)


def test_chapman_richards_is_sigmoid_and_flux_never_saturates():
    g = tp.curve("chapman_richards", 50, 50)
    peak = int(np.argmax(g))
    assert 0 < peak < 25 and g[0] < g[peak] and g[-1] < g[peak]
    assert np.all(tp.curve("flux", 5, 40) == 1.0)
    with pytest.raises(ConfigError):
        tp.curve("exponential", 10, 10)


def test_single_cohort_path_plateaus_at_the_stated_year():
    specs = pd.DataFrame(
        [
            {
                "measure_id": "soil",
                "start_year": 2025,
                "full_year": 2025,
                "share": 1.0,
                "curve": "linear_plateau",
                "saturation_years": 20,
                "schedule_source": "t",
            },
            {
                "measure_id": "tree",
                "start_year": 2025,
                "full_year": 2025,
                "share": 1.0,
                "curve": "chapman_richards",
                "saturation_years": 30,
                "schedule_source": "t",
            },
        ]
    )
    h = tp.path_shares(specs, range(2025, 2071))
    cum = h.cumsum(axis=1)
    assert cum.loc["soil", 2044] == pytest.approx(20.0)  # 20 years x rate
    assert cum.loc["soil", 2070] == pytest.approx(20.0)
    assert h.loc["soil", 2044] == 1.0 and h.loc["soil", 2045] == 0.0
    assert cum.loc["tree", 2054] == pytest.approx(30.0)
    assert cum.loc["tree", 2053] < 30.0
    assert h.loc["tree", 2055] == 0.0


def test_default_ramp_cohorts():
    specs = pd.DataFrame(
        [
            {
                "measure_id": "soil",
                "start_year": 2025,
                "full_year": 2035,
                "share": 1.0,
                "curve": "linear_plateau",
                "saturation_years": 20,
                "schedule_source": "t",
            }
        ]
    )
    h = tp.path_shares(specs, range(2020, 2061)).loc["soil"]
    assert h[2024] == 0.0
    assert h[2030] == pytest.approx(6 / 11)  # 6 of 11 equal cohorts implemented
    assert h[2035] == pytest.approx(1.0)
    assert h[2044] == pytest.approx(1.0)  # the 2025 cohort's last year
    assert h[2045] == pytest.approx(10 / 11)  # the 2025 cohort has saturated
    assert h[2055] == 0.0  # all cohorts saturated
    assert tp.implemented_share(
        np.array([2024, 2035, 2040]), 2025, 2035, 0.6
    ).tolist() == pytest.approx([0.0, 0.6, 0.6])


def test_default_curves_by_measure_type(files):
    cat, _, sched = files
    specs = tp.measure_specs(tp.read_catalog_time(cat), tp.read_schedule(sched))
    assert dict(zip(specs["measure_id"], specs["curve"], strict=True)) == {
        "afforestation": "chapman_richards",
        "no_tillage": "saturating",
        "coral_reef_rebuilding": "constant",
        "shellfish_farming": "flux",
    }


def test_schedule_override_and_errors(files, tmp_path):
    cat, _, _ = files
    s = tmp_path / "s.csv"
    s.write_text(SCHEDULE + "no_tillage,2030,2030,0.5,constant,ASSUMPTION x\n", encoding="utf-8")
    specs = tp.measure_specs(tp.read_catalog_time(cat), tp.read_schedule(s)).set_index("measure_id")
    assert specs.loc["no_tillage", "curve"] == "constant"
    assert specs.loc["no_tillage", "share"] == 0.5
    s.write_text(SCHEDULE.replace("default", "afforestation"), encoding="utf-8")
    with pytest.raises(ConfigError, match="default"):
        tp.read_schedule(s)
    s.write_text(SCHEDULE + "nope,2030,2030,0.5,,x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not in the catalog"):
        tp.measure_specs(tp.read_catalog_time(cat), tp.read_schedule(s))
    s.write_text(SCHEDULE.replace("ASSUMPTION test ramp", ""), encoding="utf-8")
    with pytest.raises(ConfigError, match="source"):
        tp.read_schedule(s)


def test_compute_timepaths_end_to_end(files, tmp_path):
    cat, reg, sched = files
    out = {k: tmp_path / f"{k}.csv" for k in ("paths", "horizons", "specs")}
    fig = tmp_path / "paths.png"
    kw = dict(
        region=reg,
        catalog=cat,
        schedule=sched,
        out_paths=out["paths"],
        out_horizons=out["horizons"],
        out_specs=out["specs"],
        out_figure=fig,
        start_year=2025,
        horizons=[2030, 2060],
        levels=["nation", "province", "zone"],
        draws=4000,
        seed=11,
        dpi=60,
    )
    compute_timepaths.main(**kw)
    first = out["paths"].read_bytes(), out["horizons"].read_bytes()
    compute_timepaths.main(**kw)
    assert (out["paths"].read_bytes(), out["horizons"].read_bytes()) == first
    assert fig.stat().st_size > 1000
    p = pd.read_csv(out["paths"], dtype={"region_code": str})
    assert list(p.columns) == tp.PATH_COLUMNS
    assert set(p["region_level"]) == {"nation", "province", "zone"}
    nat = p[p["region_level"] == "nation"]
    tot = nat[nat["measure_id"] == "total"].set_index("year")
    per = nat[nat["measure_id"] != "total"].groupby("year")["annual_central_tco2"].sum()
    assert np.allclose(tot["annual_central_tco2"], per, atol=0.01)
    assert np.allclose(
        tot["cumulative_central_tco2"], tot["annual_central_tco2"].cumsum(), atol=0.05
    )
    # no-tillage (10000 ha x 1 t, T = 20): 6 of 11 cohorts implemented in 2030, each on the
    # saturating soil-carbon curve (ages 0-5)
    nt = nat[nat["measure_id"] == "no_tillage"].set_index("year")
    g = tp.curve("saturating", 20, 40)
    assert nt.loc[2030, "annual_central_tco2"] == pytest.approx(10000 * g[:6].sum() / 11, abs=0.01)
    assert nt.loc[2030, "implemented_area_ha"] == pytest.approx(10000 * 6 / 11, abs=0.01)
    assert nt.loc[2060, "annual_central_tco2"] == pytest.approx(0.0, abs=0.001)
    # shellfish is an annual flux: full potential (50 ha x 3 t) from 2035 on
    sh = nat[nat["measure_id"] == "shellfish_farming"].set_index("year")
    assert sh.loc[2060, "annual_central_tco2"] == pytest.approx(150.0, abs=0.001)
    h = pd.read_csv(out["horizons"], dtype={"region_code": str})
    hn = h[h["region_level"] == "nation"].set_index("horizon")
    assert hn.loc[2030, "annual_central_tco2"] == pytest.approx(
        tot.loc[2030, "annual_central_tco2"], abs=0.01
    )
    assert hn.loc[2060, "cumulative_central_tco2"] == pytest.approx(
        tot.loc[2060, "cumulative_central_tco2"], abs=0.05
    )
    for c in ("annual", "cumulative"):
        assert (hn[f"{c}_p5_tco2"] <= hn[f"{c}_p50_tco2"]).all()
        assert (hn[f"{c}_p50_tco2"] <= hn[f"{c}_p95_tco2"]).all()
        assert hn.loc[2060, f"{c}_p50_tco2"] == pytest.approx(
            hn.loc[2060, f"{c}_central_tco2"], rel=0.1
        )


def test_horizon_outside_the_years_is_an_error(files):
    cat, reg, sched = files
    from sinkzone.uncertainty import read_potential_table

    table = read_potential_table(reg)
    ct = tp.read_catalog_time(cat)
    shares = tp.path_shares(tp.measure_specs(ct, tp.read_schedule(sched)), range(2025, 2031))
    with pytest.raises(ConfigError, match="horizons"):
        tp.horizon_table(table, ct, shares, [2060], ["nation"], draws=10, seed=1)


def test_saturating_soil_curve_peaks_early_and_saturates():
    g = tp.curve("saturating", 20, 40)
    assert g[:20].sum() == pytest.approx(20.0)  # cumulative gain = rate x T
    peak = int(np.argmax(g))
    assert 4 <= peak <= 10  # West and Post 2002: peak in 5-10 yr
    assert (np.diff(g[peak:20]) < 0).all()  # then the gain falls towards saturation
    assert g[19] < 0.3 * g[peak]
    assert (g[20:] == 0).all()
    lin = tp.curve("linear_plateau", 20, 40)
    assert (lin[:20] == 1).all()


def test_protection_declines_wetland_burial_stays_constant():
    g = tp.curve("declining", 100, 120)
    assert g[0] == 1.0 and g[50] == pytest.approx(0.5) and (g[100:] == 0).all()
    assert tp.default_curve("forest", "forest_protection") == "declining"
    assert tp.default_curve("wetland", "wetland_protection") == "constant"
    assert tp.default_curve("cropland", "tillage") == "saturating"


def test_capacity_bounds_the_national_planting_rate(tmp_path):
    cat = pd.DataFrame(
        {
            "id": ["afforestation", "no_tillage"],
            "ecosystem": ["forest", "cropland"],
            "saturation_years": [50, 20],
            "group": ["g1", "g2"],
            "tags": ["", ""],
        }
    )
    sched = pd.DataFrame(
        [
            {
                "measure_id": "default",
                "start_year": 2025,
                "full_year": 2035,
                "share": 1.0,
                "curve": "",
                "source": "x",
            }
        ]
    )
    cap_csv = tmp_path / "cap.csv"
    cap_csv.write_text(
        "capacity_group,measure_ids,capacity_ha_yr,year,source\n"
        "trees,afforestation,2000000,2021,bulletin\n",
        encoding="utf-8",
    )
    cap = tp.read_capacity(cap_csv, list(cat["id"]))
    area = pd.Series({"afforestation": 40e6, "no_tillage": 10e6})
    specs = tp.measure_specs(cat, sched, cap, area).set_index("measure_id")
    # 40 Mha at 2 Mha/yr: 20 years instead of the 11-year schedule
    assert specs.loc["afforestation", "per_year_share"] == pytest.approx(0.05)
    assert specs.loc["afforestation", "full_year"] == 2044
    assert specs.loc["no_tillage", "full_year"] == 2035  # no capacity row: schedule kept
    years = range(2025, 2061)
    s = tp.implemented_shares(specs.reset_index(), years).loc["afforestation"]
    yearly_ha = np.diff(np.concatenate([[0.0], s.to_numpy()])) * 40e6
    assert yearly_ha.max() <= 2e6 + 1e-6  # never above the recorded capacity
    assert s[2044] == pytest.approx(1.0)
    # a fast capacity does not speed the schedule up
    cap_csv.write_text(
        "capacity_group,measure_ids,capacity_ha_yr,year,source\n"
        "trees,afforestation,99000000,2021,bulletin\n",
        encoding="utf-8",
    )
    specs = tp.measure_specs(cat, sched, tp.read_capacity(cap_csv, list(cat["id"])), area)
    assert specs.set_index("measure_id").loc["afforestation", "full_year"] == 2035
    cap_csv.write_text(
        "capacity_group,measure_ids,capacity_ha_yr,year,source\ntrees,nope,1,2021,bulletin\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="measure ids"):
        tp.read_capacity(cap_csv, list(cat["id"]))
