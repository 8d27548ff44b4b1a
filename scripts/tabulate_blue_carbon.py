"""Rule tabulate_blue_carbon: blue carbon apart from land (tables/blue_carbon*.csv)."""

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import rasterio
from rasterio.windows import Window

from sinkzone.aggregate import write_table
from sinkzone.bluecarbon import (
    blue_carbon_stats,
    blue_carbon_table,
    load_caps,
    merge_stats,
    stats_table,
)
from sinkzone.grid import cell_areas_m2, cell_centres
from sinkzone.layerspec import marine_flag as flag
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("tabulate_blue_carbon")


STRIP_CELLS = 4_000_000  # cells per strip of rows: memory bounded whatever the grid size


def main(*, region, marine, eligible, grid, catalog, caps, table, stats,
         strip_cells=STRIP_CELLS):  # fmt: skip
    g = json.loads(Path(grid).read_text(encoding="utf-8"))
    cat = pd.read_csv(catalog, dtype={"id": str, "ecosystem": str})
    step = max(1, strip_cells // max(1, g["width"]))
    parts = []
    with rasterio.open(marine) as m, rasterio.open(eligible) as e:
        for r0 in range(0, g["height"], step):  # one strip (the whole grid) on coarse grids
            win = Window(0, r0, g["width"], min(step, g["height"] - r0))
            parts.append(blue_carbon_stats(
                m.read(1, window=win), e.read(1, window=win), cell_areas_m2(g, win),
                lambda win=win: cell_centres(g, win)[1],
                cat["id"].tolist(), flag("sea"), marine_nodata=m.nodata,
                eligible_nodata=e.nodata))  # fmt: skip
    st = merge_stats(parts)
    log.info("blue carbon: %s", st)
    reg = pd.read_csv(region, dtype={"region_code": str}, keep_default_na=False, na_values=[""])
    write_table(table, blue_carbon_table(reg, cat, load_caps(caps)))
    write_table(stats, stats_table(st))


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o = snakemake.input, snakemake.output
    main(
        region=i.region,
        marine=i.marine,
        eligible=i.eligible,
        grid=i.grid,
        catalog=i.catalog,
        caps=i.caps,
        table=o.table,
        stats=o.stats,
    )
