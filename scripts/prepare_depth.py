"""Rule prepare_depth: sea depth (m, positive below sea level) as a GeoTIFF (float32, -9999).

The default source is ETOPO1 Bedrock at 0.1 deg (netCDF `z`, elevation, lon 0..360), which
becomes EPSG:4326 lon -180..180 with depth = -z; a user GeoTIFF keeps its CRS and grid and is
negated when it holds elevations (marine.bathymetry.positive: up).
"""

import logging
from typing import TYPE_CHECKING

import numpy as np
import rasterio

from sinkzone import marine, sources
from sinkzone.io import write_raster
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("prepare_depth")
CHECKS = {"Bohai": (120.0, 38.5), "Yellow Sea": (122.0, 35.0), "Pearl River mouth": (114.0, 22.0)}


def main(*, src: str, depth: str, var: str | None, positive: str = "up") -> None:
    """var: the netCDF variable (data/registry.csv column `variable`)."""
    if src.endswith((".nc", ".grd")):
        sources.require_var(src, var)
        z, lat, lon = sources.read_netcdf_var(src, var)
        arr, transform = marine.depth_from_netcdf_arrays(z, lat, lon, positive, what=src)
        crs = "EPSG:4326"
    else:
        sources.normalise_raster(src, depth, nodata=marine.DEPTH_NODATA)
        with rasterio.open(depth) as ds:
            arr, transform, crs = ds.read(1), ds.transform, ds.crs
        if positive == "up":
            arr = np.where(arr == marine.DEPTH_NODATA, arr, -arr).astype("float32")
    write_raster(depth, arr, crs=crs, transform=transform, nodata=marine.DEPTH_NODATA,
                 tags={"units": "m below sea level", "source": src})  # fmt: skip
    for name, (x, y) in CHECKS.items():
        v = sources.sample(arr, transform, x, y) if crs == "EPSG:4326" else None
        if v is not None:
            log.info("depth at %s: %.0f m", name, v)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    p = snakemake.params
    main(src=p.src, depth=snakemake.output.depth, var=p.var, positive=p.positive)
