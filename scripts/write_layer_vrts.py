"""Rule write_layer_vrts: each input layer of the run as one raster, a GDAL VRT over its tiles.

The tiles already hold the cells of the whole-grid layer (nodata outside the region,
`sinkzone.layers.mask_outside_region`), so nothing is copied: layers/{layer}.vrt places the
tiles by their offset in the grid (paths relative to the VRT) and carries what the COG
mosaics carry: the EPSG-coded CRS, band description, unit, metadata, colour table, category
names and raster attribute table (inside the VRT: GDAL reads no PAM sidecar for a VRT).
"""

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sinkzone import rastermeta as rm
from sinkzone.io import write_text
from sinkzone.log import configure_logging
from sinkzone.mosaic import PALETTE_DTYPES, band_vrt, colormap, load_classes

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("write_layer_vrts")


def main(*, tiles, classes, grid, vrts, crs_choice="auto", legend=None, ecosystems=None,
         region_list=None, catalog=None, climate=None, zone_items=()):  # fmt: skip
    """tiles: {layer: [tile paths]}; classes: the tiles' classes.json; vrts: {layer: path}."""
    start = time.perf_counter()
    g = json.loads(Path(grid).read_text(encoding="utf-8"))
    cell_deg = abs(g["transform"][0]) if g.get("is_geographic") else None
    crs, note = rm.output_crs(g["crs"], crs_choice, cell_deg)
    present: dict[str, set] = {}
    for path in classes:
        for name, values in json.loads(Path(path).read_text(encoding="utf-8")).items():
            present.setdefault(name, set()).update(values)
    kw = {"legend": legend, "ecosystems": ecosystems, "regions": region_list,
          "catalog": catalog, "climate": climate, "zone_items": list(zone_items)}  # fmt: skip
    for name, vrt in vrts.items():
        meta = {"layer": name, "crs_note": note, "nodata_meaning": "outside the analysis region"}
        table = load_classes(name, present=present.get(name), **kw)
        dtype = g["dtype"] if name == "landcover" else PALETTE_DTYPES.get(name)
        band = {"description": rm.description(name), "unit": rm.UNITS[name], "classes": table,
                "metadata": meta | rm.class_metadata(table),
                "colormap": colormap(table, dtype)}  # fmt: skip
        # cells are areas (GeoTIFF's default, written into the COGs; a VRT has no default)
        xml = band_vrt(tiles[name], g, crs, [band], rm.out_nodata(name, g),
                       meta | {"AREA_OR_POINT": "Area"}, relative_to=Path(vrt).parent)  # fmt: skip
        write_text(vrt, xml)
    log.info("CRS: %s; %d layer VRTs over %d tiles in %.1f s", note, len(vrts),
             len(next(iter(tiles.values()), [])), time.perf_counter() - start)  # fmt: skip


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(tiles={n: list(i[f"tiles_{n}"]) for n in p.layers}, classes=list(i.classes),
         grid=i.grid, vrts={n: o[n] for n in p.layers}, crs_choice=p.crs, legend=i.legend,
         ecosystems=i.ecosystems, region_list=i.region_list, catalog=i.catalog,
         climate=i.climate, zone_items=p.zone_items)  # fmt: skip
