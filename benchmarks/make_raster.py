"""Synthetic 30 m land cover in IGBP codes, derived from the real default MCD12C1 0.05 deg map.

The grid is a square of N x N cells of 30 m in an Albers equal-area CRS
(+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84) centred on a fixed point. Every grid of
this module lies on one lattice (origin snapped to 30 m, N even), so the smaller raster is an
exact sub-grid of the larger one and the same cell always gets the same class.

Class of a 30 m cell (deterministic "dithered nearest neighbour"): the cell centre is mapped to
lon/lat, shifted by a pseudo-random offset in [-0.5, 0.5) source cells along each axis (a
splitmix64 hash of the absolute lattice index of the cell), and takes the MCD12C1 class of the
0.05 deg cell it then falls in. Cells near the centre of a 0.05 deg cell keep its majority
class; cells near its edge take a neighbour's class about half of the time. About 44 % of the
cells sample a neighbouring 0.05 deg cell (which may hold the same class).

The output is a deflate-compressed, 512 x 512 tiled GeoTIFF (uint8, nodata 255) written strip by
strip (memory bounded by one strip of 512 rows). The MCD12C1 lon/lat (Clarke 1866 sphere-based
geographic CRS, no datum) are used as WGS84 lon/lat: the offset is far below 0.05 deg.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.windows import Window

AEA = (
    "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)
RES = 30.0
NODATA = 255
BLOCK = 512
GENERATOR_VERSION = "1"


def lattice_origin(centre_lonlat: tuple[float, float], n: int) -> tuple[float, float]:
    """Upper-left corner (x, y, metres) of an n x n grid of RES cells centred near centre_lonlat.

    The centre is snapped to a multiple of RES, and n must be even, so all grids of any size with
    the same centre share one lattice.
    """
    if n % 2:
        raise ValueError(f"n must be even, got {n}")
    tr = Transformer.from_crs("EPSG:4326", AEA, always_xy=True)
    xc, yc = tr.transform(*centre_lonlat)
    xc, yc = round(xc / RES) * RES, round(yc / RES) * RES
    return xc - n // 2 * RES, yc + n // 2 * RES


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 (wrapping arithmetic): a well-mixed hash of x."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def cell_hash(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """Hash of the absolute lattice index (ix, iy) of 30 m cells (ix, iy may be negative)."""
    key = (iy.astype(np.int64).astype(np.uint64) << np.uint64(32)) ^ (
        ix.astype(np.int64).astype(np.uint64) & np.uint64(0xFFFFFFFF)
    )
    return splitmix64(key)


def dithered_classes(lon, lat, h, src: np.ndarray, src_transform: Affine, nodata=NODATA):
    """Class of each cell: the source cell at (lon, lat) shifted by hash-drawn offsets of
    [-0.5, 0.5) source cells per axis. Cells falling outside `src` get `nodata`."""
    u1 = (h & np.uint64(0xFFFF)).astype(np.float64) / 65536.0 - 0.5
    u2 = ((h >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.float64) / 65536.0 - 0.5
    inv = ~src_transform
    fcol = (lon - src_transform.c) * inv.a + u1
    frow = (lat - src_transform.f) * inv.e + u2
    col = np.floor(fcol).astype(np.int64)
    row = np.floor(frow).astype(np.int64)
    ok = (col >= 0) & (col < src.shape[1]) & (row >= 0) & (row < src.shape[0])
    out = np.full(lon.shape, nodata, np.uint8)
    out[ok] = src[row[ok], col[ok]]
    return out


def make_landcover(
    mcd_path, out_path, *, n: int, centre_lonlat=(116.0, 39.3), strip_rows: int = BLOCK, log=print
) -> dict:
    """Write the n x n, 30 m synthetic land cover; return its description (also a tag).

    Skipped (returns the stored description) when `out_path` exists with the same parameters.
    """
    out_path = Path(out_path)
    x0, y0 = lattice_origin(centre_lonlat, n)
    params = {
        "generator": GENERATOR_VERSION,
        "source": os.path.basename(str(mcd_path)),
        "n": n,
        "res_m": RES,
        "crs": AEA,
        "origin": [x0, y0],
        "centre_lonlat": list(centre_lonlat),
    }
    if out_path.exists():
        with rasterio.open(out_path) as ds:
            if ds.tags().get("benchmark_params") == json.dumps(params, sort_keys=True):
                log(f"make_landcover: {out_path} is up to date ({n} x {n})")
                return params | {"seconds": None}
    t_start = time.perf_counter()
    transform = Affine(RES, 0, x0, 0, -RES, y0)
    # the source window covering the grid (+2 cells for the dither and curved edges)
    to_ll = Transformer.from_crs(AEA, "EPSG:4326", always_xy=True)
    edge = np.linspace(0, n * RES, 65)
    ex = np.concatenate([x0 + edge, x0 + edge, np.full(65, x0), np.full(65, x0 + n * RES)])
    ey = np.concatenate([np.full(65, y0), np.full(65, y0 - n * RES), y0 - edge, y0 - edge])
    elon, elat = to_ll.transform(ex, ey)
    with rasterio.open(mcd_path) as src:
        st = src.transform
        c0 = max(0, math.floor((min(elon) - st.c) / st.a) - 2)
        c1 = min(src.width, math.ceil((max(elon) - st.c) / st.a) + 2)
        r0 = max(0, math.floor((max(elat) - st.f) / st.e) - 2)
        r1 = min(src.height, math.ceil((min(elat) - st.f) / st.e) + 2)
        win = Window(c0, r0, c1 - c0, r1 - r0)
        mcd = src.read(1, window=win)
        mcd_t = src.window_transform(win)
    profile = {
        "driver": "GTiff",
        "dtype": "uint8",
        "width": n,
        "height": n,
        "count": 1,
        "crs": CRS.from_proj4(AEA).to_wkt(),
        "transform": transform,
        "nodata": NODATA,
        "compress": "deflate",
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "BIGTIFF": "IF_SAFER",
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp.tif")
    ix0, iy0 = round(x0 / RES), round(y0 / RES)
    cols = np.arange(n)
    xs = x0 + (cols + 0.5) * RES
    counts = np.zeros(256, np.int64)
    with rasterio.open(tmp, "w", **profile) as dst:
        for r in range(0, n, strip_rows):
            h = min(strip_rows, n - r)
            rows = np.arange(r, r + h)
            ys = y0 - (rows + 0.5) * RES
            xx, yy = np.meshgrid(xs, ys)
            lon, lat = to_ll.transform(xx, yy)
            del xx, yy
            ix = np.broadcast_to(ix0 + cols[None, :], (h, n))
            iy = np.broadcast_to(iy0 - rows[:, None], (h, n))
            arr = dithered_classes(lon, lat, cell_hash(ix, iy), mcd, mcd_t)
            counts += np.bincount(arr.ravel(), minlength=256)
            dst.write(arr, 1, window=Window(0, r, n, h))
        dst.update_tags(benchmark_params=json.dumps(params, sort_keys=True))
    os.replace(tmp, out_path)
    dt = time.perf_counter() - t_start
    classes = {int(k): int(v) for k, v in enumerate(counts) if v}
    log(f"make_landcover: wrote {out_path} ({n} x {n} = {n * n:.3e} cells) in {dt:.1f} s; "
        f"{out_path.stat().st_size / 2**20:.1f} MiB; classes {classes}")  # fmt: skip
    return params | {"seconds": dt, "classes": classes}


def bounds_4326(path) -> list[float]:
    """Outer lon/lat bounds of a raster (densified edges), rounded outwards to 1e-4 deg."""
    from rasterio.warp import transform_bounds

    with rasterio.open(path) as ds:
        b = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=101)
    return [
        math.floor(b[0] * 1e4) / 1e4,
        math.floor(b[1] * 1e4) / 1e4,
        math.ceil(b[2] * 1e4) / 1e4,
        math.ceil(b[3] * 1e4) / 1e4,
    ]
