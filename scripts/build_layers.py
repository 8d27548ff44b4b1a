"""Rule build_layers: every input layer of one tile (docs/ARCHITECTURE.md, "Layers")."""

import json
import logging
import time
from typing import TYPE_CHECKING

from sinkzone import layers as L
from sinkzone.errors import ConfigError
from sinkzone.grid import tile_window
from sinkzone.io import write_csv, write_text
from sinkzone.legend import load_ecosystems, load_legend
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("build_layers")


def main(*, grid, landcover, legend, ecosystems, vectors, dem, climate, precip, layers,
         area_csv, tile, rows, cols, coast_max_km, zone_items, zones_official=False,
         depth=None, marine=None, lakes_max_km=50.0, classes=None):  # fmt: skip
    start, timings = time.perf_counter(), {}
    with open(grid, encoding="utf-8") as f:
        g = json.load(f)
    window, eco = tile_window(g, rows, cols, tile), load_ecosystems(ecosystems)
    sea = None
    if marine and marine.get("enabled"):
        sea = {**marine, "sea_id": sea_ecosystem_id(eco, ecosystems)}
    arrays = L.build_tile_layers(
        grid=g, window=window, landcover_path=landcover, legend_lut=load_legend(legend, eco),
        legend_path=legend, vectors_path=vectors, dem_path=dem, climate_path=climate,
        precip_path=precip or None, coast_max_km=coast_max_km, zone_items=zone_items,
        zones_official=zones_official, timings=timings, depth_path=depth or None, marine=sea,
        lakes_max_km=lakes_max_km,
    )  # fmt: skip
    if arrays is None:
        log.info("tile %s %s lies outside the region: writing all-nodata layers", tile, window)
        arrays = L.empty_layers(g, window)
    write_csv(area_csv, L.landcover_area_counts(
        arrays["landcover"], arrays["ecosystem"], arrays["region"], g, window))  # fmt: skip
    if classes:  # values present inside the region, for the class tables of the layer VRTs
        write_text(classes, json.dumps(L.present_classes(arrays), sort_keys=True) + "\n")
    L.write_tile_layers(L.mask_outside_region(arrays, g), g, window, tile, layers, eco)
    log.info("tile %s %s: %d region cells; timings s %s; total %.1f s", tile, window,
             int((arrays["region"] == 1).sum()), timings, time.perf_counter() - start)  # fmt: skip


def sea_ecosystem_id(eco, path) -> int:
    """The id of the `sea` ecosystem class (config/ecosystems.csv), required for sea cells."""
    hit = eco.loc[eco["name"] == "sea", "id"]
    if hit.empty:
        raise ConfigError(path, "no ecosystem named 'sea' (needed by region.marine.enabled)",
                          "add a row 'sea' to the ecosystems table, or set region.marine.enabled: false")  # fmt: skip
    return int(hit.iloc[0])


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(grid=i.grid, landcover=p.landcover, legend=i.legend, ecosystems=i.ecosystems,
         vectors=i.vectors, dem=i.dem, climate=p.climate, precip=i.get("precip"),
         layers={name: getattr(o, name) for name in L.LAYERS}, area_csv=o.landcover_area,
         tile=snakemake.wildcards.tile, rows=p.rows, cols=p.cols, coast_max_km=p.coast_max_km,
         zone_items=p.zone_items, zones_official=p.zones_official, depth=i.get("depth"),
         marine=p.marine, lakes_max_km=p.lakes_max_km, classes=o.classes)  # fmt: skip
