"""Tests of sinkzone.aggregate: exact integer reduction, regional tables, tiling invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.counts import (
    CATALOG,
    ECOSYSTEMS,
    REGIONS,
    ZONES,
    synthetic_counts,
)
from pyproj import Geod

from sinkzone import aggregate as agg
from sinkzone.errors import InputError


@pytest.fixture
def lookups(tmp_path):
    (tmp_path / "eco.csv").write_text(ECOSYSTEMS, encoding="utf-8")
    (tmp_path / "cat.csv").write_text(CATALOG, encoding="utf-8")
    (tmp_path / "reg.csv").write_text(REGIONS, encoding="utf-8")
    return (
        agg.read_ecosystems(tmp_path / "eco.csv"),
        agg.read_catalog(tmp_path / "cat.csv"),
        agg.read_regions(tmp_path / "reg.csv"),
    )


def split_into_tiles(df: pd.DataFrame, n_tiles: int, tmp, seed: int) -> list:
    """Spread each row's counts over random tiles (same key in several tiles), shuffled."""
    rng = np.random.default_rng(seed)
    parts = [[] for _ in range(n_tiles)]
    for row in df.itertuples(index=False):
        r = row._asdict()
        cuts_e = np.sort(rng.integers(0, r["eligible_units"] + 1, n_tiles - 1))
        e = np.diff(np.concatenate([[0], cuts_e, [r["eligible_units"]]]))
        cuts_a = np.sort(rng.integers(0, r["allocated_units"] + 1, n_tiles - 1))
        a = np.diff(np.concatenate([[0], cuts_a, [r["allocated_units"]]]))
        for t in range(n_tiles):
            parts[t].append({**r, "eligible_units": int(e[t]), "allocated_units": int(a[t])})
    paths = []
    for t, rows in enumerate(parts):
        p = tmp / f"r000_c{t:03d}" / "counts.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        tile = pd.DataFrame(rows, columns=df.columns)
        tile = tile.sample(frac=1.0, random_state=seed + t)  # row order must not matter
        tile.to_csv(p, index=False)
        paths.append(p)
    empty = tmp / "empty" / "counts.csv"  # an empty tile writes an empty file
    empty.parent.mkdir(exist_ok=True)
    empty.write_text("")
    return paths + [empty]


def run_table(counts, lookups, **kw):
    eco, cat, reg = lookups
    return agg.region_table(counts, reg, cat, ZONES, 0.5, eco, **kw)


def test_reduce_sums_exactly_and_sorts(tmp_path):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    big = 2**62  # int64 sums must stay exact (float64 would round)
    a.write_text(
        "province,county,zones,ecosystem,measure_id,stack_pos,eligible_units,"
        f"allocated_units\n120000,120101,1,4,straw_return,0,{big},1\n"
        "110000,110101,0,1,afforestation,0,0,0\n"
    )
    b.write_text(
        "province,county,zones,ecosystem,measure_id,stack_pos,eligible_units,"
        "allocated_units\n120000,120101,1,4,straw_return,0,3,2\n"
        "110000,110101,0,1,afforestation,1,5,4\n"
    )
    out = agg.reduce_counts([a, b])
    assert out["eligible_units"].dtype == np.int64
    assert out.to_dict("records") == [
        {
            "province": 110000,
            "county": 110101,
            "zones": 0,
            "ecosystem": 1,
            "measure_id": "afforestation",
            "stack_pos": 1,
            "eligible_units": 5,
            "allocated_units": 4,
        },
        {
            "province": 120000,
            "county": 120101,
            "zones": 1,
            "ecosystem": 4,
            "measure_id": "straw_return",
            "stack_pos": 0,
            "eligible_units": big + 3,
            "allocated_units": 3,
        },
    ]  # the all-zero row is dropped


def test_reduce_rejects_bad_tiles(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("province,county,zones,ecosystem,measure_id,stack_pos,eligible_units\n")
    with pytest.raises(InputError, match="missing columns"):
        agg.reduce_counts([p])
    p.write_text(
        "province,county,zones,ecosystem,measure_id,stack_pos,eligible_units,"
        "allocated_units\n1,1,0,1,x,0,1.5,1\n"
    )
    with pytest.raises(InputError, match="non-integer"):
        agg.reduce_counts([p])
    p.write_text(
        "province,county,zones,ecosystem,measure_id,stack_pos,eligible_units,"
        "allocated_units\n1,1,0,1,x,0,-1,1\n"
    )
    with pytest.raises(InputError, match="negative"):
        agg.reduce_counts([p])


def test_provinces_sum_to_nation_exactly(lookups):
    counts = synthetic_counts()
    t = run_table(counts, lookups)
    assert t["eligible_units"].dtype == np.int64
    key = ["ecosystem", "measure_id"]
    cols = ["eligible_units", "allocated_units"]
    nat = t[t.region_level == "nation"].set_index(key)[cols]
    for lvl in ("province", "county"):
        s = t[t.region_level == lvl].groupby(key)[cols].sum()
        pd.testing.assert_frame_equal(s, nat.loc[s.index])
    # ... and equal to the integer sums of the counts; ha = units / 1e7
    eco_name = {1: "forest", 3: "grassland", 4: "cropland"}
    direct = counts.assign(ecosystem=counts.ecosystem.map(eco_name)).groupby(key)[cols].sum()
    pd.testing.assert_frame_equal(direct, nat.loc[direct.index])
    ha = t.eligible_units / 1e7
    assert (t.eligible_area_ha == ha).all()


def test_zone_rows_per_bit_and_below_nation(lookups):
    counts = synthetic_counts(seed=1)
    t = run_table(counts, lookups)
    nat = t[t.region_level == "nation"].set_index(["ecosystem", "measure_id"])
    zones = t[t.region_level == "zone"]
    assert list(dict.fromkeys(zones.region_code)) == ["za", "zb", "zc"]
    assert set(zones.zones_source) == {"approximate"}
    assert set(t[t.region_level != "zone"].zones_source) == {""}
    for bit, z in enumerate(ZONES):
        sub = zones[zones.region_code == z["id"]].set_index(["ecosystem", "measure_id"])
        assert (sub.eligible_area_ha <= nat.eligible_area_ha.loc[sub.index] + 1e-9).all()
        assert (
            sub.potential_central_tco2_yr
            <= nat.potential_central_tco2_yr.loc[sub.index] * (1 + 1e-12)
        ).all()
        want = (
            counts[(counts.zones.to_numpy() >> bit) & 1 == 1]
            .groupby("measure_id")["eligible_units"]
            .sum()
        )
        got = sub.groupby("measure_id").eligible_units.sum()
        assert (got.loc[want.index] == want).all()


def test_potentials_rates_stack_factor_and_units(lookups):
    # one key, two stack positions; no_tillage rates are t C (x 44/12)
    counts = pd.DataFrame(
        {
            "province": [110000, 110000],
            "county": [110101, 110101],
            "zones": [1, 1],
            "ecosystem": [4, 4],
            "measure_id": ["no_tillage", "no_tillage"],
            "stack_pos": [0, 2],
            "eligible_units": [30 * 10**7, 10 * 10**7],
            "allocated_units": [20 * 10**7, 8 * 10**7],
        }
    )
    t = run_table(counts, lookups)
    nat = t[t.region_level == "nation"].iloc[0]
    assert nat.eligible_area_ha == 40.0 and nat.allocated_area_ha == 28.0
    c = 44 / 12
    assert nat.potential_central_tco2_yr == pytest.approx((20 + 8 * 0.25) * 1.0 * c)
    assert nat.potential_high_tco2_yr == pytest.approx((20 + 8 * 0.25) * 1.5 * c)
    assert nat.technical_potential_low_tco2_yr == pytest.approx(40 * 0.5 * c)
    assert nat.region_code == agg.NATION_CODE and nat.region_name == "China"
    prov = t[t.region_level == "province"].iloc[0]
    assert (prov.region_code, prov.name_zh, prov.ecosystem) == ("110000", "北京市", "cropland")
    zh = run_table(counts, lookups, language="zh")
    assert zh[zh.region_level == "county"].region_name.iloc[0] == "东城区"


def test_areas_equal_counts_times_cell_areas(lookups):
    """Cells of a 0.05 deg grid: integer geodesic areas x share permille -> table hectares."""
    geod = Geod(ellps="WGS84")
    lats = np.arange(20.0, 50.0, 0.05)[:40]
    area = np.array(
        [
            abs(geod.polygon_area_perimeter([0, 0.05, 0.05, 0], [a, a, a + 0.05, a + 0.05])[0])
            for a in lats
        ]
    )
    area_i = np.rint(area).astype(np.int64)
    rng = np.random.default_rng(3)
    share = rng.integers(0, 1001, lats.size)  # permille of each cell eligible
    alloc = (share * rng.uniform(0, 1, lats.size)).astype(np.int64)
    cells = pd.DataFrame(
        {
            "province": 110000,
            "county": 110101,
            "zones": 0,
            "ecosystem": 1,
            "measure_id": "afforestation",
            "stack_pos": 0,
            "eligible_units": area_i * share,
            "allocated_units": area_i * alloc,
        }
    )
    counts = cells.groupby(agg.COUNT_KEYS, as_index=False).sum()
    t = run_table(counts, lookups)
    nat = t[t.region_level == "nation"].iloc[0]
    expect_ha = float((area_i * share / 1000.0).sum() / 1e4)
    assert nat.eligible_area_ha == pytest.approx(expect_ha, rel=1e-12)
    assert nat.eligible_area_ha > 1000  # 40 cells of ~27 km2 -> thousands of ha
    assert nat.potential_central_tco2_yr == pytest.approx(
        (area_i * alloc / 1000.0).sum() / 1e4 * 5.0, rel=1e-12
    )


@pytest.mark.parametrize("tilings", [(1, 4), (2, 7)])
def test_tiling_invariance_byte_identical(lookups, tmp_path, tilings):
    counts = synthetic_counts(seed=5, n=300)
    outs = []
    for i, n in enumerate(tilings):
        paths = split_into_tiles(counts, n, tmp_path / f"t{i}", seed=11 + i)
        red = agg.reduce_counts(paths)
        out = tmp_path / f"region_{i}.csv"
        agg.write_table(out, run_table(red, lookups))
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0].startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM (sinkzone.io.write_csv)
    text = outs[0].decode("utf-8-sig")
    assert "e+" not in text and "e-" not in text  # fixed decimals, no exponent notation
    header = text.splitlines()[0].split(",")
    assert header == agg.REGION_COLUMNS


def test_unknown_codes_and_measures_raise(lookups):
    counts = synthetic_counts(n=5)
    bad = counts.assign(county=999999)
    with pytest.raises(InputError, match="county codes"):
        run_table(bad, lookups)
    with pytest.raises(InputError, match="not in the catalog"):
        run_table(counts.assign(measure_id="mystery"), lookups)
    with pytest.raises(InputError, match="zone bits"):
        run_table(counts.assign(zones=8), lookups)


def test_unassigned_province_keeps_nation_sum(lookups):
    counts = synthetic_counts(n=20)
    counts.loc[0, ["province", "county"]] = 0
    t = run_table(counts, lookups)
    prov = t[t.region_level == "province"]
    assert "0" in set(prov.region_code)
    nat = t[t.region_level == "nation"].eligible_area_ha.sum()
    assert prov.eligible_area_ha.sum() == pytest.approx(nat, rel=1e-12)


def test_measure_and_ecosystem_tables(lookups):
    eco, cat, _ = lookups
    counts = synthetic_counts(seed=2)
    t = run_table(counts, lookups)
    m = agg.measure_table(t, cat)
    assert list(m.measure_id) == ["afforestation", "straw_return", "no_tillage", "grass_enclosure"]
    assert not m.set_index("measure_id").loc["grass_enclosure", "mapped"]
    nat = t[t.region_level == "nation"]
    assert m.potential_central_tco2_yr.sum() == pytest.approx(nat.potential_central_tco2_yr.sum())
    lc = pd.DataFrame(
        {
            "province": [110000],
            "county": [110101],
            "zones": [0],
            "landcover": [12],
            "ecosystem": [4],
            "area_m2": [25_000_000],
        }
    )
    e = agg.ecosystem_table(t, lc, eco).set_index("ecosystem")
    assert e.loc["cropland", "land_area_ha"] == 2500.0
    assert e.loc["cropland", "n_measures_allocated"] == 2
    assert np.isnan(e.loc["grassland", "potential_central_tco2_yr"])
