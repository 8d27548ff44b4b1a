"""Tests of sinkzone.uncertainty (Monte Carlo over measure rates) and compute_uncertainty."""

from __future__ import annotations

import compute_uncertainty
import numpy as np
import pandas as pd
import pytest
from helpers.regiontables import (
    CATALOG,
    make_table,
)

from sinkzone.aggregate import POTENTIAL_COLS, write_table
from sinkzone.errors import ConfigError, InputError
from sinkzone.uncertainty import (
    read_potential_table,
    read_rates,
    row_coefficients,
    sample_rates,
    uncertainty_table,
)


@pytest.fixture
def files(tmp_path):
    cat = tmp_path / "technologies.csv"
    cat.write_text(CATALOG, encoding="utf-8")
    reg = tmp_path / "potential_by_region.csv"
    write_table(reg, make_table())
    return cat, reg


def test_seeded_runs_are_byte_identical(files, tmp_path):
    cat, reg = files
    outs = [tmp_path / f"u{i}.csv" for i in range(3)]
    for out, seed in zip(outs, [7, 7, 8], strict=True):
        compute_uncertainty.main(region=reg, catalog=cat, out=out, draws=2000, seed=seed)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert outs[0].read_bytes() != outs[2].read_bytes()
    df = pd.read_csv(outs[0], dtype={"region_code": str})
    assert list(df.columns[:9]) == [
        "region_level",
        "region_code",
        "region_name",
        "p5_tco2_yr",
        "p50_tco2_yr",
        "p95_tco2_yr",
        "mean_tco2_yr",
        "draws",
        "seed",
    ]
    assert set(df["region_level"]) == {"nation", "province", "county", "zone"}
    assert (df["draws"] == 2000).all() and (df["seed"] == 7).all()
    assert (df["p5_tco2_yr"] <= df["p50_tco2_yr"]).all()
    assert (df["p50_tco2_yr"] <= df["p95_tco2_yr"]).all()


def test_p50_close_to_central_for_symmetric_rates(files):
    cat, reg = files
    table = read_potential_table(reg)
    only = table[table["measure_id"] == "no_tillage"]
    for dist in ("triangular", "uniform", "pert"):
        u = uncertainty_table(only, read_rates(cat), draws=20000, seed=1, distribution=dist)
        nat = u[u["region_level"] == "nation"].iloc[0]
        assert nat["central_tco2_yr"] == pytest.approx(10000.0)
        assert nat["p50_tco2_yr"] == pytest.approx(10000.0, rel=0.01)
        assert nat["mean_tco2_yr"] == pytest.approx(10000.0, rel=0.01)
        assert nat["p5_tco2_yr"] >= 5000.0 and nat["p95_tco2_yr"] <= 15000.0


def test_distribution_moments_and_skew(files):
    cat, _ = files
    rates = read_rates(cat)
    j = list(rates["id"]).index("shellfish_farming")  # 0 / 3 / 9: right-skewed
    for dist, mean in (("triangular", 4.0), ("uniform", 4.5), ("pert", (0 + 12 + 9) / 6)):
        d = sample_rates(rates, 40000, 3, dist)[:, j]
        assert d.min() >= 0 and d.max() <= 9
        assert d.mean() == pytest.approx(mean, rel=0.02)
    tri = sample_rates(rates, 40000, 3, "triangular")[:, j]
    assert (tri < 3).mean() == pytest.approx(3 / 9, abs=0.01)  # CDF at the mode


def test_per_measure_override_leaves_other_draws(files):
    cat, _ = files
    rates = read_rates(cat)
    a = sample_rates(rates, 500, 5, "triangular")
    b = sample_rates(rates, 500, 5, "triangular", {"shellfish_farming": "uniform"})
    j = list(rates["id"]).index("shellfish_farming")
    assert np.array_equal(np.delete(a, j, axis=1), np.delete(b, j, axis=1))
    assert not np.array_equal(a[:, j], b[:, j])
    with pytest.raises(ConfigError, match="per_measure"):
        sample_rates(rates, 10, 5, "triangular", {"nope": "uniform"})
    with pytest.raises(ConfigError, match="distribution"):
        sample_rates(rates, 10, 5, "lognormal")


def test_zero_central_rows_use_low_high(files):
    cat, reg = files
    table = read_potential_table(reg)
    k = row_coefficients(table, read_rates(cat))
    coral = (table["measure_id"] == "coral_reef_rebuilding").to_numpy()
    assert np.allclose(k[coral], 100.0)  # 100 ha, slope (50 - -50) / (0.5 - -0.5)
    u = uncertainty_table(table[coral], read_rates(cat), draws=20000, seed=2)
    nat = u[u["region_level"] == "nation"].iloc[0]
    assert nat["p5_tco2_yr"] < 0 < nat["p95_tco2_yr"]
    assert abs(nat["p50_tco2_yr"]) < 2.0


def test_regions_are_correlated_through_measures(files):
    """One draw per measure: with one measure, nation P95 = sum of the province P95."""
    cat, reg = files
    table = read_potential_table(reg)
    only = table[table["measure_id"] == "afforestation"]
    u = uncertainty_table(only, read_rates(cat), draws=5000, seed=4)
    nat = u.loc[u["region_level"] == "nation", "p95_tco2_yr"].iat[0]
    prov = u.loc[u["region_level"] == "province", "p95_tco2_yr"].sum()
    assert nat == pytest.approx(prov, rel=1e-9)
    # independent measures: the nation's P95 is below the sum of per-measure P95s
    full = uncertainty_table(table, read_rates(cat), draws=5000, seed=4)
    parts = sum(
        uncertainty_table(table[table["measure_id"] == m], read_rates(cat), draws=5000, seed=4)
        .query("region_level == 'nation'")["p95_tco2_yr"]
        .iat[0]
        for m in ("afforestation", "no_tillage", "shellfish_farming", "coral_reef_rebuilding")
    )
    assert full.query("region_level == 'nation'")["p95_tco2_yr"].iat[0] < parts


def test_stale_table_is_an_error(files, tmp_path):
    cat, reg = files
    table = read_potential_table(reg)
    table.loc[0, "potential_low_tco2_yr"] *= 3
    with pytest.raises(InputError, match="older than the catalog"):
        row_coefficients(table, read_rates(cat))


def test_unordered_rates_are_an_error(tmp_path):
    bad = tmp_path / "cat.csv"
    bad.write_text(CATALOG.replace("2,5,8,", "6,5,8,"), encoding="utf-8")
    with pytest.raises(ConfigError, match="not ordered"):
        sample_rates(read_rates(bad), 10, 1)


def test_missing_columns_are_an_error(tmp_path):
    p = tmp_path / "t.csv"
    pd.DataFrame({"region_level": ["nation"]}).to_csv(p, index=False)
    with pytest.raises(InputError, match="missing columns"):
        read_potential_table(p)


def test_reads_the_table_the_aggregation_writes(tmp_path):
    """The columns uncertainty reads are the ones aggregate_regions writes (names and values)."""
    from helpers import counts

    from sinkzone import aggregate as agg

    for name, text in (
        ("eco", counts.ECOSYSTEMS),
        ("cat", counts.CATALOG),
        ("reg", counts.REGIONS),
    ):
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    table = agg.region_table(
        counts.synthetic_counts(),
        agg.read_regions(tmp_path / "reg.csv"),
        agg.read_catalog(tmp_path / "cat.csv"),
        counts.ZONES,
        0.5,
        agg.read_ecosystems(tmp_path / "eco.csv"),
    )
    write_table(tmp_path / "potential_by_region.csv", table)
    back = read_potential_table(tmp_path / "potential_by_region.csv")
    assert len(back) == len(table)
    for col in POTENTIAL_COLS:
        assert back[col].sum() == pytest.approx(table[col].sum(), rel=1e-12), col
        assert back[col].sum() > 0, col


# --- shared factors, adoption and area ------------------------------------------------------


def _rates_two(tmp_path):
    cat = tmp_path / "technologies.csv"
    cat.write_text(CATALOG, encoding="utf-8")
    return read_rates(cat)


def test_correlated_draws_share_a_quantile(tmp_path):
    from sinkzone.uncertainty import read_groups, sample_factors

    rates = _rates_two(tmp_path)
    g = tmp_path / "groups.csv"
    g.write_text(
        "measure_id,factor_group,rho,adoption_low,adoption_high,source\n"
        "afforestation,f,1.0,1,1,test\nno_tillage,f,1.0,1,1,test\n",
        encoding="utf-8",
    )
    groups = read_groups(g, list(rates["id"]))
    r, a, _ = sample_factors(rates, 5000, 3, used={"afforestation", "no_tillage"}, groups=groups)
    # rho = 1: both measures take the same quantile of their own ranges
    q_aff = (r[:, 0] - 2) / 6
    q_nt = (r[:, 1] - 0.5) / 1.0
    assert np.corrcoef(r[:, 0], r[:, 1])[0, 1] > 0.99
    assert np.allclose(np.argsort(q_aff), np.argsort(q_nt))
    assert (a == 1).all()
    # marginals unchanged: the triangular mean (low + central + high) / 3
    assert r[:, 0].mean() == pytest.approx(5.0, abs=0.1)
    # independent draws without groups
    r0 = sample_rates(rates, 5000, 3, used={"afforestation", "no_tillage"})
    assert abs(np.corrcoef(r0[:, 0], r0[:, 1])[0, 1]) < 0.05
    ri, _, _ = sample_factors(rates, 5000, 3, used={"afforestation", "no_tillage"})
    assert np.array_equal(ri, r0)  # no tables: the same numbers as before


def test_correlation_widens_the_interval_of_a_sum(tmp_path):
    from sinkzone.uncertainty import read_groups

    rates = _rates_two(tmp_path)
    table = make_table()
    base = uncertainty_table(table, rates, draws=20000, seed=5).set_index("region_code")
    g = tmp_path / "groups.csv"
    g.write_text(
        "measure_id,factor_group,rho,adoption_low,adoption_high,source\n"
        "afforestation,f,1.0,1,1,test\nno_tillage,f,1.0,1,1,test\n",
        encoding="utf-8",
    )
    corr = uncertainty_table(
        table, rates, draws=20000, seed=5, groups=read_groups(g, list(rates["id"]))
    ).set_index("region_code")
    w0 = base.loc["100000", "p95_tco2_yr"] - base.loc["100000", "p5_tco2_yr"]
    w1 = corr.loc["100000", "p95_tco2_yr"] - corr.loc["100000", "p5_tco2_yr"]
    assert w1 > w0 * 1.05
    assert corr.loc["100000", "mean_tco2_yr"] == pytest.approx(
        base.loc["100000", "mean_tco2_yr"], rel=0.02
    )


def test_adoption_and_area_scale_the_draws(tmp_path):
    from sinkzone.uncertainty import read_area_factors, read_groups

    rates = _rates_two(tmp_path)
    table = make_table()
    g = tmp_path / "groups.csv"
    g.write_text(
        "measure_id,factor_group,rho,adoption_low,adoption_high,source\n"
        "afforestation,,0,0.5,0.5,test\n",
        encoding="utf-8",
    )
    a = tmp_path / "area.csv"
    a.write_text("ecosystem,factor_low,factor_high,source\ncropland,2,2,test\n", encoding="utf-8")
    base = uncertainty_table(table, rates, draws=4000, seed=5).set_index("region_code")
    out = uncertainty_table(
        table,
        rates,
        draws=4000,
        seed=5,
        groups=read_groups(g, list(rates["id"])),
        area=read_area_factors(a),
    ).set_index("region_code")
    # county 110102: afforestation 2000 ha (half adopted) + coral (mean ~0) -> mean halves
    assert out.loc["110102", "mean_tco2_yr"] == pytest.approx(
        0.5 * base.loc["110102", "mean_tco2_yr"], rel=1e-3
    )
    # county 120101: no-tillage on cropland (area x 2) + shellfish (coastal, unchanged)
    nt_mean = 6000 * 1.0
    assert out.loc["120101", "mean_tco2_yr"] - base.loc["120101", "mean_tco2_yr"] == pytest.approx(
        nt_mean, rel=0.03
    )
    a.write_text("ecosystem,factor_low,factor_high,source\ncropland,2,1,test\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        read_area_factors(a)
    g.write_text(
        "measure_id,factor_group,rho,adoption_low,adoption_high,source\n"
        "afforestation,,1.5,0.5,0.5,test\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError):
        read_groups(g, list(rates["id"]))


def test_shipped_factor_tables_load():
    from pathlib import Path

    from sinkzone.uncertainty import read_area_factors, read_groups

    root = Path(__file__).resolve().parents[1]
    rates = read_rates(root / "config/technologies.csv")
    groups = read_groups(root / "config/uncertainty_groups.csv", list(rates["id"]))
    assert (groups["rho"] > 0).sum() >= 10
    assert set(read_area_factors(root / "config/area_uncertainty.csv").index) >= {"cropland"}
