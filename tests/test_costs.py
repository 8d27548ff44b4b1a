"""Tests of sinkzone.costs (cost per t CO2, MAC curves, price thresholds) and compute_costs."""

from __future__ import annotations

import compute_costs
import numpy as np
import pandas as pd
import pytest
from helpers.regiontables import CATALOG, make_table

from sinkzone import costs as cs
from sinkzone.aggregate import write_table
from sinkzone.errors import ConfigError
from sinkzone.uncertainty import read_potential_table


@pytest.fixture
def files(tmp_path):
    cat = tmp_path / "technologies.csv"
    cat.write_text(CATALOG, encoding="utf-8")
    reg = tmp_path / "potential_by_region.csv"
    write_table(reg, make_table())
    return cat, reg


def test_capital_recovery_factor():
    assert cs.capital_recovery_factor(0.05, 20) == pytest.approx(0.0802426, rel=1e-6)
    assert cs.capital_recovery_factor(0.0, 20) == pytest.approx(0.05)
    with pytest.raises(ConfigError):
        cs.capital_recovery_factor(-0.1, 20)


def test_cost_per_tonne_known_values(files):
    cat, reg = files
    costs = cs.cost_table(
        read_potential_table(reg), cs.read_costs(cat), discount_rate=0.05, usd_cny=7.0
    )
    nat = costs[costs["region_level"] == "nation"].set_index("measure_id")
    crf50 = 0.05 / (1 - 1.05**-50)
    per_ha = 15000 * crf50 + 150  # afforestation: ~971.6 CNY/ha/yr
    assert nat.loc["afforestation", "annual_cost_cny_yr"] == pytest.approx(3000 * per_ha)
    assert nat.loc["afforestation", "cost_central_cny_tco2"] == pytest.approx(per_ha / 5)
    assert nat.loc["afforestation", "cost_high_rate_cny_tco2"] == pytest.approx(per_ha / 8)
    assert nat.loc["afforestation", "cost_low_rate_cny_tco2"] == pytest.approx(per_ha / 2)
    assert nat.loc["afforestation", "cost_central_usd_tco2"] == pytest.approx(per_ha / 5 / 7)
    assert nat.loc["no_tillage", "cost_central_cny_tco2"] == pytest.approx(100.0)  # 100 / 1
    assert np.isinf(nat.loc["coral_reef_rebuilding", "cost_central_cny_tco2"])
    assert nat.loc["coral_reef_rebuilding", "note"] == cs.NOTE_NONPOS
    assert np.isinf(nat.loc["shellfish_farming", "cost_low_rate_cny_tco2"])  # low rate 0


def test_mac_curve_monotone_and_excludes_infinite(files):
    cat, reg = files
    catalog = cs.read_costs(cat)
    costs = cs.cost_table(read_potential_table(reg), catalog, discount_rate=0.05, usd_cny=7.0)
    mac = cs.mac_curve(costs, catalog, ["nation", "zone"])
    for _, g in mac.groupby(["region_level", "region_code"]):
        cur = g[g["rank"].notna()]
        assert (np.diff(cur["cost_central_cny_tco2"].to_numpy(float)) >= 0).all()
        assert (np.diff(cur["cumulative_central_gtco2_yr"].to_numpy(float)) > 0).all()
        assert cur["cumulative_central_gtco2_yr"].iat[-1] == pytest.approx(
            cur["potential_central_tco2_yr"].sum() / 1e9
        )
        assert list(cur["rank"]) == list(range(1, len(cur) + 1))
    nat = mac[mac["region_level"] == "nation"]
    assert list(nat.loc[nat["rank"].notna(), "measure_id"]) == [
        "no_tillage",
        "afforestation",
        "shellfish_farming",
    ]
    coral = nat[nat["measure_id"] == "coral_reef_rebuilding"]
    assert len(coral) == 1 and coral["rank"].isna().all() and coral["note"].iat[0] == cs.NOTE_NONPOS


def test_threshold_shares(files):
    cat, reg = files
    catalog = cs.read_costs(cat)
    costs = cs.cost_table(read_potential_table(reg), catalog, discount_rate=0.05, usd_cny=7.0)
    prices = cs.threshold_prices([10, 50, 100], [1300, 2000], 7.0)
    assert [p[0] for p in prices] == [
        "usd_10",
        "usd_50",
        "usd_100",
        "ccus_cny_1300",
        "ccus_cny_2000",
    ]
    th = cs.threshold_table(costs, prices, ["nation"], 7.0).set_index("threshold")
    total = 10000 * 1 + 3000 * 5 + 50 * 3
    assert th.loc["usd_10", "achievable_central_tco2_yr"] == 0.0  # 70 CNY < 100 CNY (no-till)
    assert th.loc["usd_50", "achievable_central_tco2_yr"] == pytest.approx(10000 + 15000)
    assert th.loc["usd_50", "achievable_central_share"] == pytest.approx(25000 / total)
    shares = th["achievable_central_tco2_yr"].to_numpy()
    assert (np.diff(shares[:3]) >= 0).all()
    # at high rates costs are lower: at least as much passes each price
    assert (th["achievable_high_tco2_yr"] >= th["achievable_central_tco2_yr"]).all()


def test_compute_costs_end_to_end(files, tmp_path):
    cat, reg = files
    out = {k: tmp_path / f"{k}.csv" for k in ("costs", "mac", "thresholds")}
    kw = dict(
        region=reg,
        catalog=cat,
        out_costs=out["costs"],
        out_mac=out["mac"],
        out_thresholds=out["thresholds"],
        out_figure=tmp_path / "mac.png",
        discount_rate=0.05,
        usd_cny=7.1,
        usd_cny_source="test",
        thresholds_usd=[10, 50, 100],
        thresholds_source="Griscom 2017",
        ccus_cny=[1300, 2000],
        ccus_source="Yu 2022",
        levels=["nation", "zone"],
        dpi=60,
    )
    compute_costs.main(**kw)
    first = [p.read_bytes() for p in out.values()]
    compute_costs.main(**kw)
    assert [p.read_bytes() for p in out.values()] == first
    assert (tmp_path / "mac.png").stat().st_size > 1000
    mac = pd.read_csv(out["mac"], dtype={"region_code": str})
    assert list(mac.columns) == cs.MAC_COLUMNS
    assert "inf" in out["costs"].read_text()
