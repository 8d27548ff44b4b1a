"""Rule write_measure_vrts: the per-measure share rasters as GDAL VRTs over the share tiles.

`rasters/measures_{eligible,allocated}.vrt` (outputs.measure_rasters): band n = measure n
(catalog row n), whole percent of the cell, 255 outside the region. assign_tile writes the
share tiles already masked to the region, so nothing is copied (a 31-band COG mosaic of a
2e8-cell grid took over 16 minutes, benchmarks/notes.md); full COG copies
`rasters/measures_*.tif` only with outputs.measure_mosaics.
"""

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sinkzone import rastermeta as rm
from sinkzone.io import write_text
from sinkzone.log import configure_logging
from sinkzone.mosaic import band_vrt

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("write_measure_vrts")


def main(*, tiles, grid, catalog, vrts, crs_choice="auto"):
    """tiles: {name: [share tile paths]}; vrts: {name: VRT path}, name in rm.MEASURE_RASTERS."""
    start = time.perf_counter()
    g = json.loads(Path(grid).read_text(encoding="utf-8"))
    cell_deg = abs(g["transform"][0]) if g.get("is_geographic") else None
    crs, note = rm.output_crs(g["crs"], crs_choice, cell_deg)
    ids = pd.read_csv(catalog, dtype=str, keep_default_na=False)["id"].tolist()
    for name, vrt in vrts.items():
        meta = {"layer": name, "crs_note": note, "nodata_meaning": "outside the analysis region"}
        bands = rm.measure_bands(name, ids, meta)
        xml = band_vrt(tiles[name], g, crs, bands, rm.out_nodata(name, g),
                       meta | {"AREA_OR_POINT": "Area"}, relative_to=Path(vrt).parent)  # fmt: skip
        write_text(vrt, xml)
    log.info("CRS: %s; %d share VRTs of %d bands over %d tiles in %.1f s", note, len(vrts),
             len(ids), len(next(iter(tiles.values()), [])), time.perf_counter() - start)  # fmt: skip


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(tiles={n: list(i[n]) for n in p.names}, grid=i.grid, catalog=i.catalog,
         vrts={n: o[n] for n in p.names}, crs_choice=p.crs)  # fmt: skip
