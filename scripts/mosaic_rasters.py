"""Rules mosaic_layer / mosaic_raster / mosaic_density / mosaic_measures: tiles -> one COG.

Cells outside the region become nodata, the CRS gets an EPSG code, bands carry units and
descriptions, and class rasters get names (raster attribute table in `<cog>.aux.xml`).
"""

import json
import logging
import time
from typing import TYPE_CHECKING

import pandas as pd

from sinkzone import rastermeta as rm
from sinkzone.log import configure_logging
from sinkzone.mosaic import PALETTE_DTYPES, colormap, density_fn, load_classes, write_cog, write_pam

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("mosaic_rasters")


def main(*, name, tiles, regions, grid, cog, aux, crs_choice="auto", legend=None,
         ecosystems=None, region_list=None, catalog=None, climate=None, zone_items=(),
         resampling=None):  # fmt: skip
    start = time.perf_counter()
    with open(grid, encoding="utf-8") as f:
        g = json.load(f)
    cell_deg = abs(g["transform"][0]) if g.get("is_geographic") else None
    crs, note = rm.output_crs(g["crs"], crs_choice, cell_deg)
    log.info("CRS: %s", note)
    key = rm.product_key(name)
    nodata = rm.out_nodata(name, g)
    meta = {"layer": name, "crs_note": note, "nodata_meaning": "outside the analysis region"}
    kw = {
        "legend": legend,
        "ecosystems": ecosystems,
        "regions": region_list,
        "catalog": catalog,
        "climate": climate,
        "zone_items": list(zone_items),
    }
    if key in rm.MEASURE_RASTERS:
        ids = pd.read_csv(catalog, dtype=str, keep_default_na=False)["id"].tolist()
        bands = rm.measure_bands(name, ids, meta)
        write_cog(
            tiles,
            regions,
            g,
            cog,
            crs=crs,
            nodata=nodata,
            bands=bands,
            resampling=resampling or "nearest",
            metadata=meta,
        )
        write_pam(cog, bands)
    else:
        fn, dtype = None, None
        if key == "potential_density":
            fn, dtype = density_fn(g, rm.OUTPUT_NODATA[name]), "float32"
        collect = name in ("province", "county", "zones")
        band = {"description": rm.description(name), "unit": rm.UNITS[name], "metadata": meta}
        if name == "eligible":  # bit n-1 = measure n
            ids = pd.read_csv(catalog, dtype=str, keep_default_na=False)["id"].tolist()
            band["metadata"] = meta | {f"bit_{i}": m for i, m in enumerate(ids)}
        # class names before the pixels when they need no scan of the data
        classes = None if collect else load_classes(name, present=None, **kw)
        dtype_in = g["dtype"] if name == "landcover" else PALETTE_DTYPES.get(name)
        in_tiff = dict(
            band,
            colormap=colormap(classes, dtype_in),
            metadata=band["metadata"] | rm.class_metadata(classes),
        )
        seen = write_cog(
            tiles,
            regions,
            g,
            cog,
            crs=crs,
            nodata=nodata,
            bands=[in_tiff],
            dtype=dtype,
            transform_fn=fn,
            resampling=resampling,
            collect=collect,
            keep_source_nodata=name == "zones",
            metadata=meta,
        )
        if collect:
            classes = load_classes(name, present=seen, **kw)
        write_pam(cog, [band | {"classes": classes}])
    log.info(
        "%s: %d tiles -> %s (nodata %s) in %.1f s",
        name,
        len(tiles),
        cog,
        nodata,
        time.perf_counter() - start,
    )
    if str(aux) != f"{cog}.aux.xml":
        raise ValueError(f"aux output must be {cog}.aux.xml, got {aux}")


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(name=p.name, tiles=list(i.tiles), regions=list(i.regions), grid=i.grid, cog=o.cog,
         aux=o.aux, crs_choice=p.crs, legend=i.legend, ecosystems=i.ecosystems,
         region_list=i.region_list, catalog=i.catalog, climate=i.climate,
         zone_items=p.zone_items, resampling=p.get("resampling"))  # fmt: skip
