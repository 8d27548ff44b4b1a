"""Rule mosaic_layer: tile rasters + grid.json -> one COG for the whole grid (streamed)."""


import json
import logging
import time
from typing import TYPE_CHECKING

from sinkzone.layers import mosaic_cog
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("mosaic_rasters")


def main(*, tiles, grid, cog, resampling=None):
    start = time.perf_counter()
    with open(grid, encoding="utf-8") as f:
        g = json.load(f)
    mosaic_cog(list(tiles), g, cog, resampling=resampling)
    log.info("mosaicked %d tiles into %s in %.1f s", len(tiles), cog, time.perf_counter() - start)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    main(
        tiles=snakemake.input.tiles,
        grid=snakemake.input.grid,
        cog=snakemake.output.cog,
        resampling=snakemake.params.get("resampling"),
    )
