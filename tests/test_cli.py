"""Tests of the `sinkzone` command line on a tiny synthetic results folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import yaml
from test_assign_tile import (
    TRANSFORM,
    grid_dict,
    make_config_files,
    run_tile,
    synthetic_layers,
    write_layers,
)
from test_rules import ZONES

from sinkzone.cli import main


@pytest.fixture
def run(tmp_path):
    files = make_config_files(tmp_path)
    arrays = synthetic_layers()
    # a known cell at row 2, col 3: cropland, 30 % steeper than 25 deg, climate C, in qtp
    for k, v in {
        "ecosystem": 4,
        "steep25": 300,
        "steep15": 800,
        "climate": 3,
        "zones": 1,
        "red_line": 0,
        "precip": 700.0,
        "coast_km": 45.0,
    }.items():
        arrays[k][2, 3] = v
    arrays["precip"][2, 4] = -9999  # no data next door
    arrays["ecosystem"][2, 4] = 2
    arrays["climate"][2, 4] = 3
    arrays["red_line"][2, 4] = 0
    arrays["zones"][2, 4] = 0
    results = tmp_path / "results"
    (results / "demo" / "layers").mkdir(parents=True)
    (results / "demo" / "prep").mkdir(parents=True)
    write_layers(results / "demo" / "layers", arrays, TRANSFORM)
    (results / "demo" / "prep" / "grid.json").write_text(json.dumps(grid_dict()))
    cfg = {
        "run": "demo",
        "ecosystems": files["ecosystems"],
        "catalog": files["catalog"],
        "suitability": files["suitability"],
        "zones": {"items": [{"id": z, "name_en": z.upper(), "name_zh": z} for z in ZONES]},
        "allocation": {
            "ranking": ["comprehensive_index", "carbon_sink_effect", "technology_maturity"],
            "stack_factor": 0.5,
        },
    }
    cpath = tmp_path / "config" / "config.yaml"
    cpath.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    tile = run_tile(tmp_path, files, arrays, 0, 0, "r000_c000")
    return {"results": str(results), "config": str(cpath), "tile": tile}


def _lonlat(row, col):
    return 110.0 + 0.05 * (col + 0.5), 30.0 - 0.05 * (row + 0.5)


def _explain(run, row, col, *extra):
    lon, lat = _lonlat(row, col)
    return main(
        [
            "explain",
            "--run",
            "demo",
            "--lon",
            str(lon),
            "--lat",
            str(lat),
            "--results-dir",
            run["results"],
            "--config",
            run["config"],
            *extra,
        ]
    )


def test_explain_json(run, capsys):
    assert _explain(run, 2, 3, "--json") == 0
    d = json.loads(capsys.readouterr().out)
    assert d["row"] == 2 and d["col"] == 3
    assert d["layers"]["ecosystem"]["value"] == "cropland"
    assert d["layers"]["climate"]["value"] == "C"
    assert d["layers"]["steep25"]["value"] == "0.300"
    assert d["layers"]["precip"]["value"] == "700 mm/yr"
    assert [z["id"] for z in d["zones"]] == ["qtp"]
    m = {x["id"]: x for x in d["measures"]}
    assert m["shellfish_farming"]["status"] == "not mapped"
    f2f = m["farmland_to_forest"]
    assert f2f["status"] == "eligible" and f2f["share_permille"] == 300
    assert f2f["allocated_permille"] == 300
    assert m["straw_return"]["allocated_permille"] == 700
    nt = m["no_tillage"]
    assert nt["status"] == "not eligible"
    assert nt["failed"][0]["condition"] == "steep15 lt 0.5"
    assert nt["failed"][0]["actual"] == "0.800"
    aff = m["afforestation"]
    conds = {f["condition"]: f["actual"] for f in aff["failed"]}
    assert conds == {
        "ecosystem in ['shrubland', 'barren']": "cropland",
        "NOT zones has 'qtp'": "qtp",
    }
    # the CLI agrees with the assign_tile rasters
    with rasterio.open(run["tile"]["eligible"]) as src:
        bits = int(src.read(1)[2, 3])
    want = sum(1 << i for i, x in enumerate(d["measures"]) if x["status"] == "eligible")
    assert bits == want
    with rasterio.open(run["tile"]["potential_central"]) as src:
        assert d["potential_tco2_yr"]["central"] == pytest.approx(
            float(src.read(1)[2, 3]), rel=1e-5
        )
    total = sum(
        x["potential_tco2_yr"]["central"] for x in d["measures"] if x["status"] == "eligible"
    )
    assert total == pytest.approx(d["potential_tco2_yr"]["central"], rel=1e-5)


def test_explain_text_no_data_and_constraints(run, capsys):
    assert _explain(run, 2, 4) == 0
    out = capsys.readouterr().out
    assert "afforestation (Afforestation): not eligible" in out
    assert "fails: precip ge 400 -- actual no data (no data)" in out
    assert "shellfish_farming (Shellfish farming): not mapped -- marine measure" in out
    assert _explain(run, 2, 4, "--lang", "zh") == 0
    assert "afforestation (造林再造林)" in capsys.readouterr().out
    # a red-line cell: constraint named
    rr, cc = np.nonzero(synthetic_layers()["red_line"] == 1)
    r, c = next((r, c) for r, c in zip(rr, cc, strict=True) if r > 0 and (r, c) != (2, 3))
    assert _explain(run, r, c) == 0
    out = capsys.readouterr().out
    assert "removed by constraint red_line_protection_only (principle 1.1)" in out


def test_explain_outside(run, capsys):
    assert (
        main(
            [
                "explain",
                "--run",
                "demo",
                "--lon",
                "100",
                "--lat",
                "10",
                "--results-dir",
                run["results"],
                "--config",
                run["config"],
            ]
        )
        == 2
    )
    assert "outside the analysis grid" in capsys.readouterr().err
    assert _explain(run, 0, 0) == 2  # region 0 there
    assert "outside the analysis region" in capsys.readouterr().err
    assert (
        main(
            [
                "explain",
                "--run",
                "nope",
                "--lon",
                "110.1",
                "--lat",
                "29.9",
                "--results-dir",
                run["results"],
                "--config",
                run["config"],
            ]
        )
        == 2
    )
    assert "not found" in capsys.readouterr().err


def test_legends(tmp_path, capsys):
    d = tmp_path / "legends"
    d.mkdir()
    (d / "tiny.csv").write_text("code,name,ecosystem\n1,Forest,forest\n2,Crop,cropland\n")
    assert main(["legends", "--legends-dir", str(d)]) == 0
    assert "tiny" in capsys.readouterr().out
    assert main(["legends", "tiny", "--legends-dir", str(d)]) == 0
    assert "cropland" in capsys.readouterr().out
    assert main(["legends", "nope", "--legends-dir", str(d)]) == 2
