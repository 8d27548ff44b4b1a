"""Rule build_layers: every input layer of one tile (docs/ARCHITECTURE.md, "Layers")."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from sinkzone.grid import tile_window, window_transform
from sinkzone.io import write_csv, write_raster
from sinkzone.layers import (
    LAYERS,
    build_tile_layers,
    empty_layers,
    hex_to_rgba,
    landcover_area_counts,
    layer_profile,
)
from sinkzone.legend import load_ecosystems, load_legend
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("build_layers")


def main(
    *,
    grid,
    landcover,
    legend,
    ecosystems,
    vectors,
    dem,
    climate,
    precip,
    layers: dict,
    area_csv,
    tile,
    rows,
    cols,
    coast_max_km,
    zone_items,
    zones_official=False,
):
    start = time.perf_counter()
    with open(grid, encoding="utf-8") as f:
        g = json.load(f)
    window = tile_window(g, rows, cols, tile)
    eco = load_ecosystems(ecosystems)
    timings: dict = {}
    arrays = build_tile_layers(
        grid=g,
        window=window,
        landcover_path=landcover,
        legend_lut=load_legend(legend, eco),
        legend_path=legend,
        vectors_path=vectors,
        dem_path=dem,
        climate_path=climate,
        precip_path=precip or None,
        coast_max_km=coast_max_km,
        zone_items=zone_items,
        zones_official=zones_official,
        timings=timings,
    )
    if arrays is None:
        log.info("tile %s %s lies outside the region: writing all-nodata layers", tile, window)
        arrays = empty_layers(g, window)
    colors = {0: (0, 0, 0, 0)} | {
        int(i): hex_to_rgba(c) for i, c in zip(eco["id"], eco["color"], strict=True)
    }
    for name, arr in arrays.items():
        dtype, nodata = layer_profile(name, g)
        write_raster(
            layers[name],
            arr.astype(dtype, copy=False),
            crs=g["crs"],
            transform=window_transform(g, window),
            nodata=nodata,
            descriptions=[name],
            tags={"layer": name, "meaning": LAYERS[name][2], "tile": tile},
            colormap=colors if name == "ecosystem" else None,
        )
    counts = landcover_area_counts(
        arrays["landcover"], arrays["ecosystem"], arrays["region"], g, window
    )
    write_csv(area_csv, counts)
    log.info(
        "tile %s window %s: %d region cells; timings s %s; total %.1f s",
        tile,
        window,
        int((arrays["region"] == 1).sum()),
        timings,
        time.perf_counter() - start,
    )


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        grid=i.grid,
        landcover=i.landcover,
        legend=i.legend,
        ecosystems=i.ecosystems,
        vectors=i.vectors,
        dem=i.dem,
        climate=i.climate,
        precip=i.get("precip"),
        layers={name: o[name] for name in LAYERS},
        area_csv=o.landcover_area,
        tile=snakemake.wildcards.tile,
        rows=p.rows,
        cols=p.cols,
        coast_max_km=p.coast_max_km,
        zone_items=p.zone_items,
        zones_official=p.zones_official,
    )
