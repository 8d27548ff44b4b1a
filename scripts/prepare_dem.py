"""Rule prepare_dem: the DEM as a GeoTIFF (float32, nodata -9999, north-up, tiled, deflate).

A netCDF source (the meteva DEM) becomes EPSG:4326 from its cell-centre coordinates; a user
GeoTIFF keeps its CRS and grid and only gets float32 / nodata -9999.
"""

from typing import TYPE_CHECKING

from sinkzone import sources
from sinkzone.io import write_raster
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(*, src: str, dem: str, var: str | None, fill: float | None) -> None:
    """var / fill: the netCDF variable and fill value (data/registry.csv columns)."""
    if not src.endswith(".nc"):
        return sources.normalise_raster(src, dem)
    sources.require_var(src, var)
    values, lat, lon = sources.read_netcdf_var(src, var)
    kw = {"fill": fill} if fill is not None else {}
    arr, transform = sources.dem_from_netcdf_arrays(values, lat, lon, what=src, **kw)
    tags = {"units": "m", "source": src}
    write_raster(dem, arr, crs="EPSG:4326", transform=transform, nodata=sources.NODATA, tags=tags)
    sources.log_checkpoints(arr, transform, "elevation", "m")


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    p = snakemake.params
    main(src=p.src, dem=snakemake.output.dem, var=p.var, fill=p.fill)
