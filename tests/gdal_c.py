"""Read category names and raster attribute tables with GDAL's C API (the libgdal that ships
in the rasterio wheel, through ctypes): the same calls QGIS makes, without GDAL's Python
bindings."""

from __future__ import annotations

import ctypes
import glob
import os

import rasterio


def _lib():
    libs = os.path.join(os.path.dirname(rasterio.__file__), os.pardir, "rasterio.libs")
    found = sorted(glob.glob(os.path.join(libs, "libgdal*.so*")))
    if found:
        return ctypes.CDLL(found[0])
    return ctypes.CDLL(rasterio._base.__file__)  # GDAL linked into the extension


def _setup(lib):
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    sig = {
        "GDALAllRegister": (None, []),
        "GDALOpen": (vp, [cp, ci]),
        "GDALClose": (None, [vp]),
        "GDALGetRasterBand": (vp, [vp, ci]),
        "GDALGetRasterCategoryNames": (ctypes.POINTER(cp), [vp]),
        "GDALGetDefaultRAT": (vp, [vp]),
        "GDALRATGetRowCount": (ci, [vp]),
        "GDALRATGetColumnCount": (ci, [vp]),
        "GDALRATGetNameOfCol": (cp, [vp, ci]),
        "GDALRATGetValueAsString": (cp, [vp, ci, ci]),
        "GDALGetRasterUnitType": (cp, [vp]),
        "GDALGetProjectionRef": (cp, [vp]),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    lib.GDALAllRegister()
    return lib


def read_band_info(path: str, band: int = 1) -> dict:
    """{'categories': [...], 'rat': [{col: value}], 'unit': str} of a band, via GDAL."""
    lib = _setup(_lib())
    ds = lib.GDALOpen(str(path).encode(), 0)
    if not ds:
        raise OSError(f"GDAL cannot open {path}")
    try:
        b = lib.GDALGetRasterBand(ds, band)
        # GTiff loads the .aux.xml lazily and GetCategoryNames does not trigger the load
        # (GDAL 3.10): ask for the RAT first, as QGIS and gdalinfo do
        rows = []
        rat = lib.GDALGetDefaultRAT(b)
        if rat:
            ncol = lib.GDALRATGetColumnCount(rat)
            names = [lib.GDALRATGetNameOfCol(rat, c).decode() for c in range(ncol)]
            for r in range(lib.GDALRATGetRowCount(rat)):
                rows.append(
                    {
                        names[c]: lib.GDALRATGetValueAsString(rat, r, c).decode("utf-8")
                        for c in range(ncol)
                    }
                )
        cats = []
        ptr = lib.GDALGetRasterCategoryNames(b)
        if ptr:
            i = 0
            while ptr[i] is not None:
                cats.append(ptr[i].decode("utf-8"))
                i += 1
        unit = (lib.GDALGetRasterUnitType(b) or b"").decode()
        return {"categories": cats, "rat": rows, "unit": unit}
    finally:
        lib.GDALClose(ds)
