"""Tests of the assign_tile wrapper on tiny synthetic tiles written to tmp_path.

The synthetic tile and `run_tile` live in tests/helpers/tiles.py (also used by test_cli).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from helpers.tiles import (
    ECOSYSTEMS_CSV,
    H,
    grid_dict,
    make_config_files,
    run_tile,
    synthetic_layers,
)

from sinkzone.grid import cell_area_int


def test_assign_tile_outputs(tmp_path):
    files = make_config_files(tmp_path)
    arrays = synthetic_layers()
    out = run_tile(tmp_path, files, arrays, 0, 0, "r000_c000")
    with rasterio.open(out["eligible"]) as src:
        el = src.read(1)
        assert src.dtypes[0] == "uint32"
        assert src.tags()["bit_0"] == "afforestation"
        assert src.tags()["bit_8"] == "shellfish_farming"
        assert "bit n-1 = measure n" in src.descriptions[0]
    assert (el[0, :2] == 0).all() and el.any()
    assert not (el & (1 << 8)).any()  # shellfish not mapped
    with rasterio.open(out["primary"]) as src:
        pr = src.read(1)
        assert src.nodata == 255 and src.colormap(1)[1][3] == 255
        assert src.tags()["value_1"] == "afforestation"
    assert (pr[0, :2] == 255).all() and pr[1:].max() <= 9
    # primary is an eligible measure
    rr, cc = np.nonzero((pr > 0) & (pr < 255))
    assert all((el[r, c] >> (pr[r, c] - 1)) & 1 for r, c in zip(rr, cc, strict=True))
    pots = {}
    for lv in ("low", "central", "high"):
        with rasterio.open(out[f"potential_{lv}"]) as src:
            pots[lv] = src.read(1)
            assert src.nodata == -9999 and src.dtypes[0] == "float32"
    inside = arrays["region"] == 1
    assert (pots["low"][~inside] == -9999).all()
    assert (pots["low"][inside] <= pots["central"][inside] + 1e-3).all()
    assert (pots["central"][inside] <= pots["high"][inside] + 1e-3).all()
    assert pots["central"][inside].max() > 0
    counts = pd.read_csv(out["counts"])
    assert list(counts.columns) == [
        "province",
        "county",
        "zones",
        "ecosystem",
        "measure_id",
        "stack_pos",
        "eligible_units",
        "allocated_units",
    ]
    assert counts["eligible_units"].dtype == np.int64
    # allocated area (ha) * central rate adds up to the potential raster (stack factors incl.)
    rates = {
        "afforestation": 4,
        "farmland_to_forest": 3,
        "natural_forest_protection": 1,
        "forest_tending": 88 / 12,
        "straw_return": 1,
        "no_tillage": 0.4,
        "wetland_conservation": 2,
        "coastal_vegetation": 5,
    }
    tot = sum(
        r.allocated_units / 1e7 * rates[r.measure_id] * 0.5**r.stack_pos
        for r in counts.itertuples()
    )
    area = cell_area_int(grid_dict(), 0, H)
    assert abs(tot - float(pots["central"][inside].sum())) < 1e-4 * tot
    # eligible area of a measure equals its eligible cells' area * share
    aff = counts[counts.measure_id == "afforestation"].eligible_units.sum()
    rows = np.nonzero((el >> 0) & 1)[0]
    assert aff == int(sum(area[r] * 1000 for r in rows))


def test_tiling_gives_same_counts(tmp_path):
    files = make_config_files(tmp_path)
    arrays = synthetic_layers(7)
    whole = pd.read_csv(run_tile(tmp_path, files, arrays, 0, 0, "whole")["counts"])
    parts = []
    for name, (r0, r1, c0, c1) in {"a": (0, 4, 0, 3), "b": (0, 4, 3, 8), "c": (4, 6, 0, 8)}.items():
        sub = {k: v[r0:r1, c0:c1] for k, v in arrays.items()}
        parts.append(pd.read_csv(run_tile(tmp_path, files, sub, r0, c0, name)["counts"]))
    keys = ["province", "county", "zones", "ecosystem", "measure_id", "stack_pos"]
    summed = pd.concat(parts).groupby(keys, sort=True)[["eligible_units", "allocated_units"]]
    assert summed.sum().reset_index().to_csv(index=False) == whole.to_csv(index=False)


def test_empty_tile(tmp_path):
    files = make_config_files(tmp_path)
    arrays = synthetic_layers()
    arrays["region"][:] = 0
    arrays["ecosystem"][:] = 0
    out = run_tile(tmp_path, files, arrays, 0, 0, "empty")
    counts = pd.read_csv(out["counts"])
    assert counts.empty and len(counts.columns) == 8
    with rasterio.open(out["potential_central"]) as src:
        assert (src.read(1) == -9999).all()


def test_strips_give_the_same_outputs_as_one_pass(tmp_path):
    files = make_config_files(tmp_path)
    arrays = synthetic_layers()
    one = run_tile(tmp_path, files, arrays, 0, 0, "r000_c000")
    strips = run_tile(tmp_path, files, arrays, 0, 0, "r000_c001", strip_cells=7)
    for key in ("counts", "lc_counts"):
        assert Path(one[key]).read_bytes() == Path(strips[key]).read_bytes(), key
    for key in ("eligible", "primary", "potential_central"):
        with rasterio.open(one[key]) as a, rasterio.open(strips[key]) as b:
            assert (a.read() == b.read()).all(), key


def test_measure_share_tiles_match_the_bitmask_and_primary(tmp_path):
    files = make_config_files(tmp_path)
    arrays = synthetic_layers()
    folder = tmp_path / "tiles" / "r000_c000" / "assign"
    extra = {
        "measures_eligible": str(folder / "measures_eligible.tif"),
        "measures_allocated": str(folder / "measures_allocated.tif"),
    }
    out = run_tile(tmp_path, files, arrays, 0, 0, "r000_c000", **extra)
    with rasterio.open(out["eligible"]) as s:
        bits = s.read(1).astype(np.int64)
    with rasterio.open(out["primary"]) as s:
        primary = s.read(1)
    with rasterio.open(extra["measures_eligible"]) as s:
        elig = s.read()
        assert s.nodata == 255 and s.descriptions[0].startswith("measure 1: afforestation")
    with rasterio.open(extra["measures_allocated"]) as s:
        alloc = s.read()
    inside = arrays["region"] == 1
    assert elig.shape[0] == alloc.shape[0] > 8
    for k in range(elig.shape[0]):
        assert (((elig[k] > 0) & inside) == (((bits >> k) & 1 == 1) & inside)).all(), k
        assert (alloc[k][inside] <= elig[k][inside]).all()
    assert (elig[:, ~inside] == 255).all()
    has = inside & (primary > 0)
    assert has.any()
    r, c = np.nonzero(has)
    assert (alloc[primary[has].astype(int) - 1, r, c] > 0).all()


def test_percent_keeps_small_shares_visible():
    from sinkzone.assign import percent

    assert percent(np.array([0, 1, 4, 5, 14, 15, 995, 1000])).tolist() == [
        0,
        1,
        1,
        1,
        1,
        2,
        100,
        100,
    ]


def test_compiled_and_reference_evaluators_write_identical_outputs(tmp_path):
    """allocation.evaluator: every output of a tile (rasters, share bands, count tables) is the
    same byte for byte whichever evaluator ran, with strips and composition classes."""
    files = make_config_files(tmp_path)
    legend = tmp_path / "config" / "legend.csv"
    names = [line.split(",")[1] for line in ECOSYSTEMS_CSV.splitlines()[1:]]
    shares = {"grassland": "grassland:0.8;other:0.2", "cropland": "cropland:0.5;other:0.5"}
    rows = [f"{11 + i},c{i},{n},{shares.get(n, '')}" for i, n in enumerate(names)]
    legend.write_text("code,name,ecosystem,shares\n" + "\n".join(rows) + "\n", encoding="utf-8")
    outs = {}
    for ev in ("reference", "compiled"):
        folder = tmp_path / "tiles" / ev / "assign"
        extra = {
            "measures_eligible": str(folder / "measures_eligible.tif"),
            "measures_allocated": str(folder / "measures_allocated.tif"),
        }
        outs[ev] = run_tile(
            tmp_path, files, synthetic_layers(11), 0, 0, ev, evaluator=ev, strip_cells=20,
            legend=str(legend), **extra,
        ) | extra  # fmt: skip
    for key, path in outs["reference"].items():
        other = outs["compiled"][key]
        if path.endswith(".csv"):
            assert Path(path).read_bytes() == Path(other).read_bytes(), key
        else:
            with rasterio.open(path) as a, rasterio.open(other) as b:
                assert a.profile == b.profile, key
                assert a.read().tobytes() == b.read().tobytes(), key
    assert pd.read_csv(outs["compiled"]["counts"])["allocated_units"].sum() > 0


def test_bit_counts_equal_per_bit_sums():
    from assign_tile import bit_counts

    rng = np.random.default_rng(3)
    bits = rng.choice(np.array([0, 1, 5, 2**31 + 6, 2**30], np.uint32), size=(40, 30))
    want = [int(((bits >> i) & 1).sum()) for i in range(32)]
    assert bit_counts(bits, 32) == want and want[0] > 0 and want[31] > 0
