"""Tests of sinkzone.sources and the prepare_dem / prepare_precip wrappers on tiny netCDFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import prepare_dem
import prepare_precip
import pytest
import rasterio
import xarray as xr
from affine import Affine

from sinkzone import sources
from sinkzone.errors import InputError
from sinkzone.registry import file_meta, load_registry

ROOT = Path(__file__).resolve().parents[1]


def registry_meta(dataset: str, key: str) -> dict:
    """The wrapper's var and fill/units, read from data/registry.csv as the rule does."""
    meta = file_meta(load_registry(ROOT / "data" / "registry.csv"), dataset)
    return {"var": meta["var"], key: meta[key]}


STEP = 0.5


def write_meteva_like_dem(path, values, lat, lon):
    """A DEM shaped like meteva's dem_0.00833.nc: (member, level, time, dtime, lat, lon)."""
    da = xr.DataArray(
        values.astype("int16")[None, None, None, None],
        dims=("member", "level", "time", "dtime", "lat", "lon"),
        coords={"lat": lat, "lon": lon, "level": [0], "dtime": [0]},
        name="data0",
    )
    da.to_dataset().to_netcdf(path, engine="scipy")
    return path


@pytest.fixture
def dem_nc(tmp_path):
    lat = 30.0 + STEP * np.arange(3)  # ascending, cell centres 30.0, 30.5, 31.0
    lon = 100.0 + STEP * np.arange(4)  # 100.0 .. 101.5
    values = np.array([[10, 20, 30, -999], [40, 50, 60, 70], [80, 90, -999, 8000]])
    return write_meteva_like_dem(tmp_path / "dem.nc", values, lat, lon)


def test_prepare_dem_converts_netcdf_to_north_up_geotiff(tmp_path, dem_nc):
    out = tmp_path / "dem.tif"
    prepare_dem.main(src=str(dem_nc), dem=str(out), **registry_meta("meteva_dem", "fill"))
    with rasterio.open(out) as ds:
        arr = ds.read(1)
        assert ds.crs.to_epsg() == 4326
        assert ds.dtypes[0] == "float32" and ds.nodata == -9999
        assert ds.profile["compress"] == "deflate"
        # outer edges lie half a cell beyond the first / last centre
        assert ds.transform == Affine(STEP, 0, 99.75, 0, -STEP, 31.25)
        assert ds.bounds == pytest.approx((99.75, 29.75, 101.75, 31.25))
    # row 0 is the northernmost latitude (31.0): the last row of the ascending netCDF
    np.testing.assert_array_equal(
        arr,
        np.array([[80, 90, -9999, 8000], [40, 50, 60, 70], [10, 20, 30, -9999]], dtype="float32"),
    )
    # the cell centred on (101.5 E, 31.0 N) holds 8000 m
    assert sources.sample(arr, Affine(STEP, 0, 99.75, 0, -STEP, 31.25), 101.5, 31.0) == 8000


def test_dem_transform_agrees_with_gdal_netcdf_reading(tmp_path, dem_nc):
    arr, transform = sources.dem_from_netcdf_arrays(*sources.read_netcdf_var(dem_nc, "data0"))
    with rasterio.open(f'NETCDF:"{dem_nc}":data0') as gdal_ds:
        assert gdal_ds.transform.almost_equals(transform)
        gdal = gdal_ds.read(1)
    np.testing.assert_array_equal(np.where(gdal == -999, -9999, gdal), arr)


def test_dem_rejects_irregular_grid_and_implausible_heights(tmp_path):
    lat = np.array([30.0, 30.5, 31.2])
    lon = np.array([100.0, 100.5])
    with pytest.raises(InputError, match="not evenly spaced"):
        sources.dem_from_netcdf_arrays(np.zeros((3, 2)), lat, lon)
    lat = np.array([30.0, 30.5, 31.0])
    with pytest.raises(InputError, match="beyond -500..9000"):
        sources.dem_from_netcdf_arrays(np.full((3, 2), 12000), lat, lon)
    with pytest.raises(InputError, match="no variable 'elev'"):
        sources.read_netcdf_var(
            write_meteva_like_dem(tmp_path / "d.nc", np.zeros((3, 2)), lat, lon), "elev"
        )


def make_monthly(lat, lon, per_month):
    return np.broadcast_to(
        np.asarray(per_month, "float32")[:, None, None], (12, lat.size, lon.size)
    ).copy()


def test_annual_precip_rolls_longitude_and_sums_months():
    lat = np.array([45.0, 0.0, -45.0])  # descending, like ERA5
    lon = np.arange(0.0, 360.0, 90.0)  # 0, 90, 180, 270
    monthly = make_monthly(lat, lon, np.full(12, 80.0))  # 960 mm a year
    monthly[:, 1, 2] = 10.0  # lon 180 at the equator: 120 mm
    monthly[3, 0, 3] = np.nan  # lon 270 (-90) at 45 N: a missing month
    arr, transform = sources.annual_precip_from_monthly(monthly, lat, lon, units="mm/month")
    assert arr.dtype == np.float32
    # columns now run -180 (was 180), -90 (was 270), 0, 90; edges half a cell outside
    assert transform == Affine(90.0, 0, -225.0, 0, -45.0, 67.5)
    np.testing.assert_array_equal(
        arr, [[960, -9999, 960, 960], [120, 960, 960, 960], [960, 960, 960, 960]]
    )
    assert sources.sample(arr, transform, -180.0, 0.0) == 120


def test_annual_precip_units_and_plausibility():
    lat = np.array([45.0, 0.0, -45.0])
    lon = np.arange(0.0, 360.0, 90.0)
    metres = make_monthly(lat, lon, np.full(12, 0.08))
    arr, _ = sources.annual_precip_from_monthly(metres, lat, lon, units="m/month")
    np.testing.assert_allclose(arr, 960.0, rtol=1e-6)
    # metres declared as mm: mean 0.96 mm a year is implausible
    with pytest.raises(InputError, match="outside the plausible"):
        sources.annual_precip_from_monthly(metres, lat, lon, units="mm/month")
    with pytest.raises(InputError, match="unknown units"):
        sources.annual_precip_from_monthly(metres, lat, lon, units="inch")
    with pytest.raises(InputError, match="expected 12 months"):
        sources.annual_precip_from_monthly(metres[:6], lat, lon)


def test_prepare_precip_on_era5_like_netcdf(tmp_path):
    lat = np.arange(90.0, -90.1, -45.0)  # 90 .. -90 descending, 5 rows
    lon = np.arange(0.0, 360.0, 45.0)  # 8 columns
    tp = make_monthly(lat, lon, np.arange(1, 13) * 10.0)  # 780 mm a year
    tp[:, :, 0] = 50.0  # lon 0: 600 mm a year
    ds = xr.Dataset(
        {"tp": (("month", "latitude", "longitude"), tp, {"units": "m"})},
        coords={"month": np.arange(1, 13), "latitude": lat, "longitude": lon},
    )
    src = tmp_path / "era5.nc"
    ds.to_netcdf(src, engine="scipy")
    out = tmp_path / "precip.tif"
    prepare_precip.main(src=str(src), precip=str(out), **registry_meta("era5_climatology", "units"))
    with rasterio.open(out) as r:
        arr = r.read(1)
        assert r.crs.to_epsg() == 4326 and r.nodata == -9999 and r.dtypes[0] == "float32"
        assert r.transform == Affine(45.0, 0, -202.5, 0, -45.0, 112.5)
        assert sources.sample(arr, r.transform, 0.0, 0.0) == 600
        assert sources.sample(arr, r.transform, -180.0, 45.0) == 780
    assert arr[:, 4].tolist() == [600.0] * 5  # lon 0 is the 5th column of -180..135


def test_normalise_user_raster_keeps_grid(tmp_path):
    src = tmp_path / "user.tif"
    data = np.array([[1, 2], [-32768, 4]], dtype="int16")
    transform = Affine(30, 0, 500000, 0, -30, 4000000)
    with rasterio.open(src, "w", driver="GTiff", width=2, height=2, count=1, dtype="int16",
                       crs="EPSG:32650", transform=transform, nodata=-32768) as ds:  # fmt: skip
        ds.write(data, 1)
    out = tmp_path / "dem.tif"
    prepare_dem.main(src=str(src), dem=str(out), var=None, fill=None)
    with rasterio.open(out) as r:
        assert r.crs.to_epsg() == 32650 and r.transform == transform
        assert r.dtypes[0] == "float32" and r.nodata == -9999
        np.testing.assert_array_equal(r.read(1), [[1, 2], [-9999, 4]])


def test_sample_outside_is_none():
    assert sources.sample(np.zeros((2, 2)), Affine(1, 0, 0, 0, -1, 2), 5.0, 1.0) is None
