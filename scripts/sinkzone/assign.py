"""The strip loop of one tile: read the layers strip by strip, assign measures, and gather
the eligible bits, primary measure, potentials and count tables of the whole tile.

The rule wrapper scripts/assign_tile.py loads the inputs, calls `assign_strips`, and writes
the results; the per-measure share rasters are written here strip by strip.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio
from rasterio.windows import Window

from sinkzone.allocate import LC_COLUMNS, empty_counts, landcover_counts
from sinkzone.compiled import assigner
from sinkzone.errors import InputError
from sinkzone.grid import cell_areas_int, cell_areas_m2, cell_centres, grid_transform
from sinkzone.io import atomic_path
from sinkzone.layerspec import float_nodata

KEY_LAYERS = ("region", "province", "county", "zones", "ecosystem", "landcover")
NODATA_POTENTIAL = float_nodata()  # config/layers.yaml
LEVELS = ("low", "central", "high")


STRIP_CELLS = 2_000_000  # cells per strip: bounds the transient memory of a tile
SHARE_NODATA = 255


def percent(permille: np.ndarray) -> np.ndarray:
    """Permille of a cell -> whole percent (uint8), rounded half up; a share above 0 is at
    least 1 % so that band n > 0 exactly where bit n-1 of eligible.tif is set."""
    p = np.asarray(permille, dtype=np.uint16)
    out = ((p + 5) // 10).astype(np.uint8)
    out[(p > 0) & (out == 0)] = 1
    return out


def share_visitor(bufs: dict):
    """allocate() visitor writing each measure's eligible and allocated share (percent).

    With the compiled evaluator's per-key tables, a band whose table equals that of a band
    filled before (measures with the same rules, e.g. the forest management measures) is
    copied instead of looked up again; a table of zeros leaves its band at 0."""
    filled: dict = {kind: {} for kind in bufs}  # table bytes -> band index

    def visit(i, share, alloc, sp):
        for kind, val in (("eligible", share), ("allocated", alloc)):
            if kind in bufs:
                bufs[kind][i] = np.broadcast_to(percent(val), bufs[kind].shape[1:])

    def per_key(i, share, alloc, keys):  # compiled evaluator: values per key, key per cell
        for kind, val in (("eligible", share), ("allocated", alloc)):
            if kind in bufs:
                pct = percent(val)
                if not pct.any():  # (the buffers start at 0)
                    continue
                same = filled[kind].setdefault(pct.tobytes(), i)
                if same != i:
                    bufs[kind][i] = bufs[kind][same]
                else:
                    np.take(pct, keys, out=bufs[kind][i])

    visit.per_key = per_key
    return visit


# Compression of the per-measure share tiles (31 bands, pixel-interleaved). Zstandard level 3,
# not the layer tiles' level 1: on these bands level 1 is the slower one. Measured on the
# eligible shares of a 30 m benchmark tile (3536 x 3536 cells, written in strips of 512 rows):
# level 1 1.08 CPU s, 2.0 MB; level 3 0.50 s, 2.6 MB. (Band-interleaved writes 0.28 s but the
# file is 7.8 MB: pixel interleaving keeps the 31 bands of a cell together, which compresses.)
SHARE_COMPRESSION = {"compress": "zstd", "zstd_level": 3}


def open_share_rasters(es, paths: dict, ids, crs, transform, h: int, w: int) -> dict:
    """Open the per-measure share tiles for writing strip by strip (atomic; Zstandard like the
    layer tiles, `SHARE_COMPRESSION`: rasters/measures_*.vrt reads them, the COG copies are
    deflate)."""
    out = {}
    for kind, path in paths.items():
        if not path:
            continue
        tmp = es.enter_context(atomic_path(path))
        dst = es.enter_context(rasterio.open(
            tmp, "w", driver="GTiff", width=w, height=h, count=len(ids), dtype="uint8",
            crs=crs, transform=transform, nodata=SHARE_NODATA, **SHARE_COMPRESSION,
            tiled=h >= 256 and w >= 256, blockxsize=256, blockysize=256, interleave="pixel"))  # fmt: skip
        for n, m in enumerate(ids, start=1):
            dst.set_band_description(n, f"measure {n}: {m}, {kind} share, percent")
        dst.update_tags(units="percent of cell")
        out[kind] = dst
    return out


def layers_window(paths: dict, names, grid: dict):
    """The tile's window in the grid and its transform, from the first layer's header.

    (Was `assign_tile.tile_window`; `grid.tile_window` computes a tile's window from its id.)
    """
    missing = [n for n in names if n not in paths]
    if missing:
        raise InputError(
            f"layers {missing}",
            "the rules need them but they are not inputs",
            "add them to the assign_tile inputs",
        )
    with rasterio.open(paths[names[0]]) as src:
        tr, h, w = src.transform, src.height, src.width
    g = grid_transform(grid)
    col_off, row_off = round((tr.c - g.c) / g.a), round((tr.f - g.f) / g.e)
    return Window(col_off, row_off, w, h), tr


def read_strip(paths: dict, names, rows: tuple[int, int], width: int) -> dict:
    """Rows [r0, r1) of the named layer tifs of one tile (`paths`: file paths or open
    datasets)."""
    win = Window(0, rows[0], width, rows[1] - rows[0])
    out = {}
    for name in names:
        src = paths[name]
        if hasattr(src, "read"):
            out[name] = src.read(1, window=win)
            continue
        with rasterio.open(src) as ds:
            out[name] = ds.read(1, window=win)
    return out


def sum_tables(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Exact int64 sums of per-strip count tables, sorted by the key columns."""
    frames = [f for f in frames if len(f)]
    if not frames:
        if "measure_id" in keys:
            return empty_counts()
        return pd.DataFrame({c: pd.Series(dtype=np.int64) for c in LC_COLUMNS})
    df = pd.concat(frames, ignore_index=True)
    values = [c for c in df.columns if c not in keys]
    out = df.groupby(keys, sort=True, as_index=False)[values].sum()
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


@dataclass
class TileAssignment:
    """What the strip loop gathered for one tile (arrays of the tile's shape)."""

    window: Window
    transform: object
    eligible: np.ndarray  # uint32 bits
    primary: np.ndarray  # uint8, 255 outside the region
    potential: dict  # level -> float32, NODATA_POTENTIAL outside the region
    count_parts: list  # per-strip count tables
    lc_parts: list  # per-strip land-cover count tables


def assign_strips(
    paths: dict,
    g: dict,
    rs,
    cat,
    vocab,
    ranking,
    stack_factor,
    comp,
    share_paths: dict,
    strip_cells: int = STRIP_CELLS,
    evaluator: str = "compiled",
) -> TileAssignment:
    """Run the evaluator (config allocation.evaluator: "compiled", `sinkzone.compiled`, or
    "reference", `allocate.assign`; identical outputs) over the tile strip by strip; write the
    share rasters of `share_paths` ({"eligible": path or None, "allocated": path or None}) on
    the way."""
    run = assigner(evaluator, rs, cat, vocab, ranking, stack_factor)
    need = sorted(set(KEY_LAYERS) | (rs.layers_used - {"lat", "lon"}))
    win, tr = layers_window(paths, need, g)
    h, w = int(win.height), int(win.width)
    bits_out = np.zeros((h, w), np.uint32)
    primary_out = np.full((h, w), 255, np.uint8)
    pot_out = {lv: np.full((h, w), NODATA_POTENTIAL, np.float32) for lv in LEVELS}
    count_parts, lc_parts = [], []
    with contextlib.ExitStack() as es:
        share_dst = open_share_rasters(es, share_paths, cat.ids, g["crs"], tr, h, w)
        srcs = {n: es.enter_context(rasterio.open(paths[n])) for n in need}  # opened once
        step = max(1, strip_cells // max(w, 1))
        if share_dst and h >= 256:  # whole 256-row blocks of the share tiles per strip
            step = max(256, step - step % 256)
        for r0 in range(0, h, step):
            r1 = min(h, r0 + step)
            sub = Window(win.col_off, win.row_off + r0, w, r1 - r0)
            stack = read_strip(srcs, need, (r0, r1), w)
            if rs.layers_used & {"lat", "lon"}:
                stack["lon"], stack["lat"] = cell_centres(g, sub)
            area_int = cell_areas_int(g, sub)
            inside = stack["region"] == 1
            bufs = {k: np.zeros((len(cat), r1 - r0, w), np.uint8) for k in share_dst}
            res = run(stack, cell_areas_m2(g, sub), area_int, comp,
                      visit=share_visitor(bufs) if bufs else None)  # fmt: skip
            outside = None if inside.all() else ~inside
            for k, dst in share_dst.items():
                if outside is not None:
                    bufs[k][:, outside] = SHARE_NODATA
                dst.write(bufs[k], window=Window(0, r0, w, r1 - r0))
            bits_out[r0:r1] = res.eligible
            primary_out[r0:r1] = np.where(inside, res.allocation.primary, 255)
            for lv in LEVELS:
                pot_out[lv][r0:r1] = np.where(
                    inside, res.allocation.potential[lv], NODATA_POTENTIAL
                )
            count_parts.append(res.counts)
            lc = res.landcover  # the compiled evaluator computes it with the counts
            lc_parts.append(landcover_counts(stack, area_int) if lc is None else lc)
            del stack, res, bufs
    return TileAssignment(win, tr, bits_out, primary_out, pot_out, count_parts, lc_parts)
