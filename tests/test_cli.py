"""Tests of the `sinkzone` command line on a tiny synthetic results folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import yaml
from helpers.rulesets import ZONES
from helpers.tiles import (
    TRANSFORM,
    grid_dict,
    make_config_files,
    run_tile,
    synthetic_layers,
    write_layers,
)

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


# ------------------------------------------ names, reasons, languages, closed pipes (issue 13)

REGIONS_CSV = """level,code,parent_code,name_zh,name_en
province,440000,100000,广东省,Guangdong
county,440103,440100,荔湾区,Liwan
county,440104,440100,越秀区,Yuexiu
"""
LEGEND_CSV = "code,name,name_zh,ecosystem\n12,Test cropland,测试耕地,cropland\n"


@pytest.fixture
def named_run(run, tmp_path):
    from sinkzone.io import write_csv

    write_csv(
        tmp_path / "results" / "demo" / "prep" / "regions.csv",
        __import__("pandas").read_csv(__import__("io").StringIO(REGIONS_CSV)),
    )
    legend = tmp_path / "config" / "legend.csv"
    legend.write_text(LEGEND_CSV, encoding="utf-8")
    cfg = yaml.safe_load(open(run["config"], encoding="utf-8"))
    cfg["landcover"] = {"legend": str(legend)}
    with open(run["config"], "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f)
    return run


def test_explain_names_codes_and_says_why_not_allocated(named_run, capsys):
    assert _explain(named_run, 2, 3, "--json") == 0
    d = json.loads(capsys.readouterr().out)
    lay = d["layers"]
    assert lay["province"]["name_en"] == "Guangdong" and lay["province"]["name_zh"] == "广东省"
    assert lay["county"]["name_zh"] in ("荔湾区", "越秀区")
    assert lay["landcover"]["raw"] == 12 and lay["landcover"]["name_zh"] == "测试耕地"
    assert lay["ecosystem"]["name_zh"] == "农田" and lay["climate"]["name_en"] == "temperate"
    m = {x["id"]: x for x in d["measures"]}
    # straw return (management, share 1000) loses the 300 permille converted to forest
    sr = m["straw_return"]
    assert sr["allocated_permille"] == 700
    assert sr["not_allocated"]["permille"] == 300
    taker = sr["not_allocated"]["taken_by"][0]
    assert taker["id"] == "farmland_to_forest" and taker["kind"] == "converted"
    assert taker["permille"] == 300
    assert "not_allocated" not in m["farmland_to_forest"]
    assert any(p["condition"].startswith("ecosystem") for p in sr["passed"])
    assert d["primary_name_zh"] == m[d["primary"]]["name_zh"]

    assert _explain(named_run, 2, 3) == 0
    out = capsys.readouterr().out
    assert "province   440000 Guangdong" in out and "landcover  12 Test cropland" in out
    assert (
        "not allocated on 30.0 % of the cell: the land went to conversion to "
        "farmland_to_forest" in out
    )
    assert "passes:" not in out
    assert _explain(named_run, 2, 3, "--verbose") == 0
    out = capsys.readouterr().out
    assert "      passes: ecosystem" in out

    assert _explain(named_run, 2, 3, "--lang", "zh", "--verbose") == 0
    out = capsys.readouterr().out
    assert "广东省" in out and "测试耕地" in out and "图层：" in out
    assert "该土地已配置给 土地转换措施 farmland_to_forest" in out and "满足：" in out
    for english in ("Layers:", "Primary measure", "eligible", "fails:", "passes:", "not allocated"):
        assert english not in out, english


def _cli(run, *extra):
    import sys

    lon, lat = _lonlat(2, 3)
    return [
        sys.executable,
        "-m",
        "sinkzone.cli",
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


def test_explain_into_a_closed_pipe_exits_quietly(run):
    import shlex
    import subprocess

    # the reader is gone before explain writes: a write to a closed pipe, every time
    proc = subprocess.Popen(_cli(run, "--verbose"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert err == "", err
    # what a user types
    cmd = " ".join(shlex.quote(a) for a in _cli(run, "--verbose")) + " | head -1"
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.startswith("Cell at lon") and done.stdout.count("\n") == 1


def test_allocation_losses_names_conversions_and_the_group():
    from sinkzone.allocate import MeasureSpec
    from sinkzone.explain import allocation_losses

    specs = [
        MeasureSpec("c1", "a", "conversion", (1, 1, 1)),
        MeasureSpec("c2", "b", "conversion", (1, 1, 1)),
        MeasureSpec("m1", "g", "management", (1, 1, 1)),
        MeasureSpec("m2", "g", "management", (1, 1, 1)),
        MeasureSpec("m3", "h", "management", (1, 1, 1)),
    ]
    order = [2, 0, 3, 1, 4]  # m1 outranks the conversions, which still go first
    # c1 300 of 300; c2 400 of 400; land left 300: m1 200 of 200, m2 100 of 1000, m3 (group h)
    got = {
        0: (300, 300, 0),
        1: (400, 400, 0),
        2: (200, 200, 0),
        3: (1000, 100, 1),
        4: (300, 300, 1),
    }
    losses = allocation_losses(order, specs, got)
    assert losses == {
        3: [
            {"index": 0, "permille": 300, "kind": "converted"},
            {"index": 1, "permille": 400, "kind": "converted"},
            {"index": 2, "permille": 200, "kind": "group"},
        ]
    }
    # c2 wants the whole cell and gets what c1 left
    got = {0: (300, 300, 0), 1: (1000, 700, 0), 2: (0, 0, 0), 3: (0, 0, 0), 4: (0, 0, 0)}
    assert allocation_losses(order, specs, got) == {
        1: [{"index": 0, "permille": 300, "kind": "conversion"}]
    }


def test_constraint_texts_and_not_mapped_reasons_have_chinese():
    """`--lang zh` prints every constraint description and not-mapped reason of the shipped
    config/suitability.yaml in Chinese (description_zh / not_mapped_zh)."""
    from pathlib import Path

    from sinkzone.catalog import load_catalog
    from sinkzone.suitability import load_ruleset, load_vocab

    root = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((root / "config/config.yaml").read_text(encoding="utf-8"))
    vocab = load_vocab(root / cfg["ecosystems"], [z["id"] for z in cfg["zones"]["items"]])
    rs = load_ruleset(root / cfg["suitability"], vocab, load_catalog(root / cfg["catalog"]))
    for c in rs.constraints:
        assert c.description_zh and any("\u4e00" <= ch <= "\u9fff" for ch in c.description_zh), c.id
    for m in rs.measures.values():
        if m.not_mapped:
            assert m.not_mapped_zh and any("\u4e00" <= ch <= "\u9fff" for ch in m.not_mapped_zh)


def test_text_uses_chinese_descriptions_with_lang_zh():
    from sinkzone.cli import format_text

    c = {
        "id": "no_trees_in_drylands",
        "principle": "1.2",
        "description": "No tree planting",
        "description_zh": "不植树",
    }
    d = {
        "lon": 1.0,
        "lat": 2.0,
        "row": 0,
        "col": 0,
        "cell_area_ha": 1.0,
        "run": "x",
        "layers": {},
        "zones": [],
        "primary": None,
        "potential_tco2_yr": {"low": 0.0, "central": 0.0, "high": 0.0},
        "measures": [
            {
                "id": "afforestation",
                "name_en": "Afforestation",
                "name_zh": "造林",
                "status": "not eligible",
                "failed": [],
                "removed_by": [c],
            },
            {
                "id": "constructed_wetland",
                "name_en": "Constructed wetland",
                "name_zh": "人工湿地",
                "status": "not mapped",
                "reason": "no layer",
                "reason_zh": "没有图层",
            },
        ],
    }
    zh = format_text(d, "zh")
    assert "不植树" in zh and "没有图层" in zh
    assert "No tree planting" not in zh and "no layer" not in zh
    en = format_text(d, "en")
    assert "No tree planting" in en and "no layer" in en and "不植树" not in en
