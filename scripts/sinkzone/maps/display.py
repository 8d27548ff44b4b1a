"""Display rasters: rasters read decimated (overviews or window by window, bounded memory) and
warped to the display CRS at a modest resolution.

Part of the `sinkzone.maps` package (see its docstring).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject
from rasterio.windows import Window

from sinkzone.errors import InputError
from sinkzone.maps.basemap import DISPLAY_CRS, M_PER_DEG

log = logging.getLogger("sinkzone.maps")

READ_OVERSAMPLE = 2  # rasters are read at display_res_m / 2, then warped to display_res_m
GDAL_CACHE_MB = 64  # GDAL block cache while reading rasters for display
CHUNK_CELLS = 2048  # window side (source cells) of a large decimated read without overviews


@dataclass
class DisplayRaster:
    """A raster warped to the display CRS: `data` is masked where there is no value."""

    data: np.ma.MaskedArray
    extent: tuple[float, float, float, float]  # left, right, bottom, top


def source_cell_area_ha(read_t: Affine, crs, shape, src_t: Affine) -> np.ndarray:
    """Mean true area (ha) of the source cells behind each cell of a decimated read.

    Each read cell's true area comes from `sinkzone.grid.cell_areas_m2` (ellipsoidal for
    geographic CRSs, constant for equal-area ones, per cell otherwise), shared among the
    source cells it averages.
    """
    from rasterio.windows import Window

    from sinkzone.grid import cell_areas_m2

    crs = CRS.from_user_input(crs)
    read_grid = {
        "crs": crs.to_wkt(),
        "transform": list(read_t)[:6],
        "width": shape[1],
        "height": shape[0],
        "is_geographic": crs.is_geographic,
    }
    area = np.broadcast_to(cell_areas_m2(read_grid, Window(0, 0, shape[1], shape[0])), shape)
    n_src = abs(read_t.a * read_t.e) / abs(src_t.a * src_t.e)
    return area / n_src / 1e4


def read_shape(height: int, width: int, transform: Affine, crs, target_res_m: float):
    """(rows, cols, factor) of a decimated read: a read cell is about target_res_m /
    READ_OVERSAMPLE (factor = source cells per read cell along each axis, >= 1)."""
    res = abs(transform.a)
    res_m = res * M_PER_DEG if crs is not None and CRS.from_user_input(crs).is_geographic else res
    factor = max(1, int(target_res_m / (READ_OVERSAMPLE * res_m)))
    return max(1, height // factor), max(1, width // factor), factor


def read_decimated(path: str | Path, target_res_m: float, resampling: Resampling):
    """Read band 1 decimated so a cell is about target_res_m / READ_OVERSAMPLE.

    The read never holds the full-resolution band: rasterio reads straight into the small
    `out_shape` array (GDAL uses the overviews when the file has them, else it samples or
    averages block by block), and GDAL's block cache is capped at GDAL_CACHE_MB so reading a
    national 30 m raster does not fill memory with cached blocks.
    Returns (array, transform, crs, nodata, factor) with factor = source cells per read cell.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", "rerun the rule that makes it")
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), rasterio.open(path) as src:
        rows, cols, factor = read_shape(src.height, src.width, src.transform, src.crs, target_res_m)
        if factor == 1 or src.overviews(1) or src.width * src.height <= CHUNK_CELLS**2:
            arr = src.read(1, out_shape=(rows, cols), resampling=resampling)
            transform = src.transform @ Affine.scale(src.width / cols, src.height / rows)
        else:
            arr = _read_blocks(src, rows, cols, factor, resampling)
            transform = src.transform @ Affine.scale(factor, factor)
        return arr, transform, src.crs, src.nodata, factor


def _read_blocks(src, rows: int, cols: int, factor: int, resampling: Resampling) -> np.ndarray:
    """Decimated read of a large raster without overviews: window by window at full
    resolution (block-aligned reads, one window of about CHUNK_CELLS^2 cells in memory at a
    time), each reduced in numpy to one cell per factor x factor source cells: the centre
    cell (nearest) or the mean of the valid cells (average; nodata where none is valid).

    GDAL's own decimated read of a whole large file without overviews either fills a block
    cache of a row of blocks (hundreds of MB on a national 30 m raster) or, with the cache
    capped, decompresses every block again for each output row.
    """
    if resampling not in (Resampling.nearest, Resampling.average):
        raise ValueError(f"decimated reads support nearest and average, not {resampling.name}")
    nodata = src.nodata
    dtype = np.dtype(src.dtypes[0])
    out = np.empty((rows, cols), dtype=dtype)
    bh, bw = src.block_shapes[0]
    per_r = max(1, CHUNK_CELLS // factor)
    per_c = cols if bw >= src.width else per_r  # striped file: full-width windows
    if bw >= src.width:
        per_r = max(1, CHUNK_CELLS**2 // (src.width * factor))
    for r0 in range(0, rows, per_r):
        r1 = min(rows, r0 + per_r)
        for c0 in range(0, cols, per_c):
            c1 = min(cols, c0 + per_c)
            block = src.read(
                1, window=Window(c0 * factor, r0 * factor, (c1 - c0) * factor, (r1 - r0) * factor)
            )
            h, w = r1 - r0, c1 - c0
            if resampling == Resampling.nearest:
                out[r0:r1, c0:c1] = block[factor // 2 :: factor, factor // 2 :: factor][:h, :w]
                continue
            v = block.reshape(h, factor, w, factor)
            valid = np.ones(v.shape, dtype=bool) if nodata is None else v != nodata
            if dtype.kind == "f":
                valid &= np.isfinite(v)
            n = valid.sum(axis=(1, 3))
            total = np.where(valid, v, 0).sum(axis=(1, 3), dtype="float64")
            mean = total / np.maximum(n, 1)
            if dtype.kind in "iu":
                mean = np.round(mean)
            fill = nodata if nodata is not None else 0
            out[r0:r1, c0:c1] = np.where(n > 0, mean, fill).astype(dtype)
    return out


def warp_to_display(
    arr: np.ndarray, transform: Affine, crs, nodata, res_m: float, resampling: Resampling
) -> DisplayRaster:
    """Warp a 2-D array from its grid CRS to the display CRS at res_m; mask nodata."""
    h, w = arr.shape
    dst_transform, dw, dh = calculate_default_transform(
        crs, DISPLAY_CRS, w, h, *rasterio.transform.array_bounds(h, w, transform), resolution=res_m
    )
    if np.issubdtype(arr.dtype, np.floating):
        fill = np.nan
        dst = np.full((dh, dw), np.nan, dtype="float32")
        src = arr.astype("float32")
        if nodata is not None and not np.isnan(nodata):
            src = np.where(src == nodata, np.nan, src)
        src_nodata = np.nan
    else:
        fill = nodata if nodata is not None else 0
        dst = np.full((dh, dw), fill, dtype=arr.dtype)
        src, src_nodata = arr, nodata
    reproject(
        src,
        dst,
        src_transform=transform,
        src_crs=crs,
        dst_transform=dst_transform,
        dst_crs=DISPLAY_CRS,
        resampling=resampling,
        src_nodata=src_nodata,
        dst_nodata=fill,
    )
    mask = np.isnan(dst) if np.isnan(fill) else dst == fill
    left, top = dst_transform.c, dst_transform.f
    extent = (left, left + dw * dst_transform.a, top + dh * dst_transform.e, top)
    return DisplayRaster(np.ma.masked_array(dst, mask=mask), extent)


def read_for_display(path, res_m: float = 5000.0, *, categorical: bool) -> DisplayRaster:
    """Read a layer decimated and warp it for display (nearest for categorical)."""
    rs = Resampling.nearest if categorical else Resampling.average
    arr, transform, crs, nodata, _ = read_decimated(path, res_m, rs)
    return warp_to_display(arr, transform, crs, nodata, res_m, rs)
