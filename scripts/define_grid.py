"""Rule define_grid: the analysis grid (land-cover grid cropped to the region) -> grid.json."""

import json
import logging
from typing import TYPE_CHECKING

import pyogrio

from sinkzone.errors import InputError
from sinkzone.grid import define_grid
from sinkzone.io import write_text
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("define_grid")


def main(*, landcover, vectors, grid_json, nodata=None):
    info = pyogrio.read_info(
        vectors, layer="region", force_feature_count=True, force_total_bounds=True
    )
    if not info["features"]:
        raise InputError(vectors, "layer 'region' is empty", "check the region setting")
    bounds = [float(b) for b in info["total_bounds"]]
    if "sea_extent" in {str(n) for n in pyogrio.list_layers(vectors)[:, 0]}:
        sea = pyogrio.read_info(vectors, layer="sea_extent", force_feature_count=True,
                                force_total_bounds=True)  # fmt: skip
        if sea["features"]:  # the near-shore sea of the region (region.marine)
            sb = [float(b) for b in sea["total_bounds"]]
            bounds = [min(bounds[0], sb[0]), min(bounds[1], sb[1]),
                      max(bounds[2], sb[2]), max(bounds[3], sb[3])]  # fmt: skip
    grid = define_grid(landcover, bounds, nodata_override=nodata)
    log.info(
        "grid %d x %d cells, window %s of %s, region bounds %s",
        grid["width"],
        grid["height"],
        grid["source_window"],
        landcover,
        bounds,
    )
    write_text(grid_json, json.dumps(grid, indent=1) + "\n")


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    main(
        landcover=snakemake.params.landcover,  # the file; input is its retrieval marker
        vectors=snakemake.input.vectors,
        grid_json=snakemake.output.grid,
        nodata=snakemake.params.nodata,
    )
