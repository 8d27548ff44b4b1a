"""Rule assign_tile: eligible measures, allocation, potentials and integer counts of one tile."""

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
from rasterio.windows import Window

from sinkzone.allocate import assign, landcover_counts, primary_colormap
from sinkzone.catalog import load_catalog
from sinkzone.errors import InputError
from sinkzone.grid import cell_areas_int, cell_areas_m2, cell_centres, grid_transform
from sinkzone.io import write_csv, write_raster
from sinkzone.log import configure_logging
from sinkzone.rules import load_ruleset, load_vocab

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("assign_tile")
KEY_LAYERS = ("region", "province", "county", "zones", "ecosystem", "landcover")
NODATA_POTENTIAL = -9999.0


def read_tile_layers(paths: dict, names, grid: dict):
    """Read the named layer tifs of one tile; return (arrays, window in the grid, transform)."""
    out, tr = {}, None
    for name in names:
        if name not in paths:
            raise InputError(
                f"layer {name}",
                "the rules need it but it is not an input",
                "add it to the assign_tile inputs",
            )
        with rasterio.open(paths[name]) as src:
            out[name], tr = src.read(1), src.transform
    g = grid_transform(grid)
    col_off, row_off = round((tr.c - g.c) / g.a), round((tr.f - g.f) / g.e)
    h, w = next(iter(out.values())).shape
    return out, Window(col_off, row_off, w, h), tr


def main(
    *,
    layers,
    grid,
    catalog,
    catalog_schema,
    suitability,
    ecosystems,
    eligible,
    primary,
    potential_low,
    potential_central,
    potential_high,
    counts,
    lc_counts,
    zone_ids,
    ranking,
    stack_factor,
):
    t0 = time.perf_counter()
    g = json.loads(Path(grid).read_text(encoding="utf-8"))
    cat = load_catalog(catalog, catalog_schema)
    vocab = load_vocab(ecosystems, zone_ids, landcover_nodata=g.get("nodata"))
    rs = load_ruleset(suitability, vocab, cat)
    paths = {Path(p).stem: p for p in layers}
    need = sorted(set(KEY_LAYERS) | (rs.layers_used - {"lat", "lon"}))
    stack, win, tr = read_tile_layers(paths, need, g)
    if rs.layers_used & {"lat", "lon"}:
        stack["lon"], stack["lat"] = cell_centres(g, win)
    res = assign(
        stack,
        rs,
        cat,
        vocab,
        cell_areas_m2(g, win),
        cell_areas_int(g, win),
        ranking,
        stack_factor,
    )
    inside = stack["region"] == 1
    kw = {"crs": g["crs"], "transform": tr}
    bit_tags = {f"bit_{i}": m for i, m in enumerate(cat.ids)}
    write_raster(
        eligible,
        res.eligible,
        **kw,
        descriptions=["eligible measures (bit i = catalog row i)"],
        tags=bit_tags,
    )
    write_raster(
        primary,
        np.where(inside, res.allocation.primary, 255).astype(np.uint8),
        **kw,
        nodata=255,
        descriptions=["primary measure (catalog index + 1; 0 none)"],
        tags={f"value_{i + 1}": m for i, m in enumerate(cat.ids)} | {"value_0": "none"},
        colormap=primary_colormap(len(cat)),
    )
    for path, level in (
        (potential_low, "low"),
        (potential_central, "central"),
        (potential_high, "high"),
    ):
        arr = np.where(inside, res.allocation.potential[level], NODATA_POTENTIAL)
        write_raster(
            path,
            arr.astype(np.float32),
            **kw,
            nodata=NODATA_POTENTIAL,
            descriptions=[f"allocated potential, {level} rates (t CO2/yr per cell)"],
            tags={"units": "t CO2/yr per cell", "rates": level},
        )
    write_csv(counts, res.counts)
    write_csv(lc_counts, landcover_counts(stack, cell_areas_int(g, win)))
    dt = time.perf_counter() - t0
    n_in = int(inside.sum())
    log.info(
        "window %s: %d region cells, %d count rows, %.2f s (%.2f M cells/s)",
        win,
        n_in,
        len(res.counts),
        dt,
        inside.size / max(dt, 1e-9) / 1e6,
    )
    for i, m in enumerate(cat.ids):
        log.info("  %-32s eligible cells %d", m, int(((res.eligible >> i) & 1).sum()))


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        layers=list(i.layers),
        grid=i.grid,
        catalog=i.catalog,
        catalog_schema=i.catalog_schema,
        suitability=i.suitability,
        ecosystems=i.ecosystems,
        eligible=o.eligible,
        primary=o.primary,
        potential_low=o.potential_low,
        potential_central=o.potential_central,
        potential_high=o.potential_high,
        counts=o.counts,
        lc_counts=o.lc_counts,
        zone_ids=p.zone_ids,
        ranking=p.ranking,
        stack_factor=p.stack_factor,
    )
