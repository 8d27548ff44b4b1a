"""The analysis grid: the land-cover raster's own grid cropped to the region, tiles and cell areas.

`grid.json` (see docs/ARCHITECTURE.md, "Grid") is a plain dict:
``{"crs": WKT, "transform": [a, b, c, d, e, f], "width": W, "height": H,
"source_window": [col_off, row_off, width, height], "region_bounds": [minx, miny, maxx, maxy],
"is_geographic": bool, "nodata": N, "dtype": "uint8"}``. ``nodata`` and ``dtype`` describe the
land-cover source (its header nodata or the configured override) so per-tile builders need not
reopen the header to know them.

Cell areas are true areas:
- geographic grids: the exact area of the cell bounded by two meridians and two parallels on
  the CRS's ellipsoid (closed-form ellipsoidal zone area; the same quantity
  `pyproj.Geod.polygon_area_perimeter` converges to when the parallel edges are densified;
  tests check the two agree to 1e-9). The 4-vertex geodesic polygon differs slightly because its
  top and bottom edges are geodesics, not parallels.
- projected grids in an equal-area projection (Albers, LAEA, sinusoidal, EPSG:6933, ...):
  the constant |a * e|.
- any other projected grid (UTM, Gauss-Kruger, Lambert conformal, Mercator, ...): per-cell
  areas. Each cell's corners are converted to longitude/latitude on the CRS's own ellipsoid
  (inverse projection, no datum shift) and projected to a Lambert azimuthal equal-area
  projection on that ellipsoid centred on the grid; the cell area is the area of that
  quadrilateral (half the cross product of its diagonals, computed from coordinate differences
  so large projected coordinates lose no precision). Tests check it against
  `pyproj.Geod.polygon_area_perimeter` of the cell's corners to 1e-9. The centre depends on the
  grid only, so each cell's area is a pure function of its global (row, col) index and tilings
  do not change it.
`cell_areas_m2(grid, window)` returns the (height, width) areas of a window for every kind of
grid; `cell_area_m2(grid, row_off, height)` the per-row areas of geographic and equal-area
grids (it raises for per-cell grids, whose areas vary along a row).
"""

from __future__ import annotations

import math

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Proj, Transformer
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from sinkzone.errors import ConfigError, InputError

# Projection method names (PROJ / EPSG) that preserve area.
EQUAL_AREA_METHODS = (
    "equal area",
    "albers",
    "mollweide",
    "sinusoidal",
    "equal earth",
    "eckert iv",
    "eckert vi",
    "goode",
    "bonne",
    "quartic authalic",
)


def is_equal_area(crs: CRS) -> bool:
    """True when a projected CRS uses an equal-area projection method."""
    op = crs.coordinate_operation
    text = (op.method_name if op is not None else crs.to_wkt()).lower()
    return any(m in text for m in EQUAL_AREA_METHODS)


def _check_crs(crs, path) -> CRS:
    if crs is None:
        raise InputError(
            path,
            "the raster has no CRS",
            "assign one, e.g. gdal_edit.py -a_srs EPSG:4326 FILE, or rio edit-info --crs",
        )
    pcrs = CRS.from_wkt(crs.to_wkt())
    if not (pcrs.is_geographic or pcrs.is_projected):
        raise InputError(
            path,
            f"its CRS '{pcrs.name}' is neither geographic nor projected",
            "reproject the land cover (nearest neighbour) to a geographic or projected CRS",
        )
    return pcrs


def area_method(grid: dict) -> str:
    """How cell areas vary: 'rows' (geographic), 'constant' (equal-area), 'cells' (other)."""
    if grid["is_geographic"]:
        return "rows"
    return "constant" if is_equal_area(CRS.from_wkt(grid["crs"])) else "cells"


def define_grid(landcover_path, region_bounds_4326, nodata_override=None) -> dict:
    """Return grid.json content: the land-cover grid cropped to the window covering the region.

    `region_bounds_4326` = (minlon, minlat, maxlon, maxlat). The bounds are transformed into the
    raster CRS (densified edges) and the window rounded outwards to whole source pixels.
    """
    from sinkzone.io import open_raster

    with open_raster(landcover_path) as src:
        pcrs = _check_crs(src.crs, landcover_path)
        t = src.transform
        if t.b != 0 or t.d != 0:
            raise InputError(
                landcover_path,
                "the raster is rotated (non north-up geotransform)",
                "warp it to a north-up grid with gdalwarp",
            )
        extra = []
        if isinstance(nodata_override, (list, tuple)):
            # several fill values (e.g. GLC_FCS30: 0 and 250): the header's (or the first) is
            # the raster nodata, all of them are masked before the legend is applied
            extra = [int(v) for v in nodata_override]
            nodata_override = src.nodata if src.nodata is not None else (extra or [None])[0]
        nodata = src.nodata if nodata_override is None else nodata_override
        if nodata is None:
            raise ConfigError(
                "config.yaml:landcover.nodata",
                f"{landcover_path} has no nodata value in its header",
                "set landcover.nodata to a value that is not a class code (e.g. 255 or 0)",
            )
        dtype = src.dtypes[0]
        width, height = src.width, src.height
        bounds = transform_bounds("EPSG:4326", src.crs, *region_bounds_4326, densify_pts=21)
        win = rasterio.windows.from_bounds(*bounds, transform=t)
    col0 = max(0, math.floor(win.col_off + 1e-9))
    row0 = max(0, math.floor(win.row_off + 1e-9))
    col1 = min(width, math.ceil(win.col_off + win.width - 1e-9))
    row1 = min(height, math.ceil(win.row_off + win.height - 1e-9))
    if col1 <= col0 or row1 <= row0:
        raise InputError(
            landcover_path,
            f"the raster does not overlap the region bounds {list(region_bounds_4326)} (EPSG:4326)",
            "use a land-cover raster that covers the region, or check the region setting",
        )
    gt = t @ Affine.translation(col0, row0)
    return {
        "crs": pcrs.to_wkt(),
        "transform": [gt.a, gt.b, gt.c, gt.d, gt.e, gt.f],
        "width": int(col1 - col0),
        "height": int(row1 - row0),
        "source_window": [int(col0), int(row0), int(col1 - col0), int(row1 - row0)],
        "region_bounds": [float(b) for b in bounds],
        "is_geographic": bool(pcrs.is_geographic),
        "nodata": float(nodata) if not float(nodata).is_integer() else int(nodata),
        "nodata_values": sorted(
            {float(nodata) if not float(nodata).is_integer() else int(nodata)} | set(extra)
        ),
        "dtype": dtype,
    }


def grid_transform(grid: dict) -> Affine:
    return Affine(*grid["transform"][:6])


def tile_id(row: int, col: int) -> str:
    return f"r{row:03d}_c{col:03d}"


def parse_tile_id(tile: str) -> tuple[int, int]:
    try:
        r, c = tile.split("_")
        assert r[0] == "r" and c[0] == "c"
        return int(r[1:]), int(c[1:])
    except (ValueError, AssertionError, IndexError):
        raise ConfigError(
            "tile", f"'{tile}' is not a tile id", "use r{row:03d}_c{col:03d}"
        ) from None


def tile_ids(rows: int, cols: int) -> list[str]:
    return [tile_id(r, c) for r in range(rows) for c in range(cols)]


def split_bounds(n: int, parts: int) -> np.ndarray:
    """Boundaries (parts + 1) of numpy.array_split(range(n), parts): first n % parts get +1."""
    q, rem = divmod(n, parts)
    sizes = np.full(parts, q, dtype=np.int64)
    sizes[:rem] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def tile_windows(grid: dict, rows: int, cols: int) -> dict[str, Window]:
    """All tile windows (grid pixel coordinates) keyed by tile id; they partition the grid."""
    if rows < 1 or cols < 1 or rows > grid["height"] or cols > grid["width"]:
        raise ConfigError(
            "config.yaml:tiling",
            f"rows={rows}, cols={cols} do not fit a grid of {grid['height']} x {grid['width']}",
            "use 1 <= rows <= grid height and 1 <= cols <= grid width",
        )
    rb, cb = split_bounds(grid["height"], rows), split_bounds(grid["width"], cols)
    out = {}
    for r in range(rows):
        for c in range(cols):
            out[tile_id(r, c)] = Window(
                int(cb[c]), int(rb[r]), int(cb[c + 1] - cb[c]), int(rb[r + 1] - rb[r])
            )
    return out


def tile_window(grid: dict, rows: int, cols: int, tile) -> Window:
    """The window of one tile; `tile` is an id 'r000_c001' or a (row, col) pair."""
    r, c = parse_tile_id(tile) if isinstance(tile, str) else tile
    if not (0 <= r < rows and 0 <= c < cols):
        raise ConfigError(
            "tile", f"tile ({r}, {c}) outside a {rows} x {cols} tiling", "check tiling"
        )
    return tile_windows(grid, rows, cols)[tile_id(r, c)]


def window_transform(grid: dict, window: Window) -> Affine:
    return grid_transform(grid) @ Affine.translation(window.col_off, window.row_off)


def window_bounds(grid: dict, window: Window) -> tuple[float, float, float, float]:
    return rasterio.windows.bounds(window, grid_transform(grid))


def window_bounds_4326(grid: dict, window: Window) -> tuple[float, float, float, float]:
    """Tile bounds in EPSG:4326 (densified edges, so curved projected edges are covered)."""
    return transform_bounds(grid["crs"], "EPSG:4326", *window_bounds(grid, window), densify_pts=21)


def _ellipsoid(grid: dict) -> tuple[float, float]:
    ell = CRS.from_wkt(grid["crs"]).ellipsoid
    a = ell.semi_major_metre
    b = ell.semi_minor_metre
    return a, b


def _zone_area(a: float, b: float, lat_deg: np.ndarray) -> np.ndarray:
    """Area (m2) between the equator and latitude phi, per radian of longitude, on an ellipsoid."""
    phi = np.radians(lat_deg)
    s = np.sin(phi)
    e2 = 1.0 - (b * b) / (a * a)
    if e2 < 1e-15:
        return a * a * s
    e = math.sqrt(e2)
    return b * b * (s / (2 * (1 - e2 * s * s)) + np.arctanh(e * s) / (2 * e))


def cell_area_m2(grid: dict, row_off: int, height: int) -> np.ndarray:
    """True cell area (m2, float64, shape (height,)) for global rows row_off..row_off+height-1.

    Geographic and equal-area grids only: on other projected grids the area varies along a
    row, use `cell_areas_m2(grid, window)`.
    """
    t = grid_transform(grid)
    if not grid["is_geographic"]:
        if area_method(grid) == "cells":
            raise ValueError(
                "cell_area_m2: the grid CRS is projected but not equal-area, so areas vary "
                "along a row; use cell_areas_m2(grid, window)"
            )
        return np.full(height, abs(t.a * t.e), dtype=np.float64)
    a, b = _ellipsoid(grid)
    rows = np.arange(row_off, row_off + height, dtype=np.float64)
    lat0 = t.f + t.e * rows
    lat1 = lat0 + t.e
    lat0, lat1 = np.clip(lat0, -90, 90), np.clip(lat1, -90, 90)
    dlon = math.radians(abs(t.a))
    return np.abs(_zone_area(a, b, lat1) - _zone_area(a, b, lat0)) * dlon


def cell_area_int(grid: dict, row_off: int, height: int) -> np.ndarray:
    """Integer cell areas (int64 m2) per global row: tiling-independent counting weights."""
    return np.rint(cell_area_m2(grid, row_off, height)).astype(np.int64)


def _laea_centre(grid: dict) -> tuple[float, float]:
    """Longitude/latitude (on the grid CRS's own datum) of the grid centre, rounded to 1e-6 deg."""
    pcrs = CRS.from_wkt(grid["crs"])
    t = grid_transform(grid)
    x, y = t @ (grid["width"] / 2.0, grid["height"] / 2.0)
    inv = Transformer.from_crs(pcrs, pcrs.geodetic_crs, always_xy=True)
    lon, lat = inv.transform(x, y)
    return round(float(lon), 6), round(float(lat), 6)


def projected_cell_areas_m2(grid: dict, window: Window) -> np.ndarray:
    """Per-cell true areas (m2, float64, (height, width)) of a window of a projected grid.

    Corners -> lon/lat on the CRS's ellipsoid -> Lambert azimuthal equal-area on the same
    ellipsoid centred on the grid (`_laea_centre`); area = |d1 x d2| / 2 of the diagonals.
    """
    pcrs = CRS.from_wkt(grid["crs"])
    ell = pcrs.ellipsoid
    lon0, lat0 = _laea_centre(grid)
    t = grid_transform(grid)
    h, w = int(window.height), int(window.width)
    cols = np.arange(int(window.col_off), int(window.col_off) + w + 1, dtype=np.float64)
    rows = np.arange(int(window.row_off), int(window.row_off) + h + 1, dtype=np.float64)
    xx, yy = np.meshgrid(t.c + t.a * cols, t.f + t.e * rows)
    inv = Transformer.from_crs(pcrs, pcrs.geodetic_crs, always_xy=True)
    lon, lat = inv.transform(xx, yy)
    laea = Proj(
        proj="laea",
        lat_0=lat0,
        lon_0=lon0,
        a=ell.semi_major_metre,
        b=ell.semi_minor_metre,
        units="m",
    )
    X, Y = laea(lon, lat)
    X, Y = np.asarray(X), np.asarray(Y)
    # corners: p00 top-left, p01 top-right, p11 bottom-right, p10 bottom-left
    d1x, d1y = X[1:, 1:] - X[:-1, :-1], Y[1:, 1:] - Y[:-1, :-1]
    d2x, d2y = X[:-1, 1:] - X[1:, :-1], Y[:-1, 1:] - Y[1:, :-1]
    area = 0.5 * np.abs(d1x * d2y - d1y * d2x)
    if not np.all(np.isfinite(area)):
        raise InputError(
            "grid.json",
            f"cell corners of window {window} cannot be converted to longitude/latitude in "
            f"'{pcrs.name}'",
            "reproject the land cover to a CRS valid over the region (e.g. EPSG:4326 or Albers)",
        )
    return area


def cell_areas_m2(grid: dict, window: Window) -> np.ndarray:
    """True cell areas (m2, float64, (height, width)) of a window, for every kind of grid."""
    h, w = int(window.height), int(window.width)
    if area_method(grid) == "cells":
        return projected_cell_areas_m2(grid, window)
    rows = cell_area_m2(grid, int(window.row_off), h)
    return np.broadcast_to(rows[:, None], (h, w))


def cell_areas_int(grid: dict, window: Window) -> np.ndarray:
    """Integer cell areas (int64 m2, (height, width)): a pure function of the global cell index."""
    return np.rint(cell_areas_m2(grid, window)).astype(np.int64)


# Spacing (m) of the lattice of exactly transformed cell centres on projected grids.
CENTRE_LATTICE_M = 500.0


def cell_size_m(grid: dict) -> float:
    """The larger side of a grid cell in metres (geographic: the north-south side, on a sphere
    of the IUGG mean radius 6371.0088 km; projected: CRS units times their metre factor)."""
    t = grid["transform"]
    size = max(abs(t[0]), abs(t[4]))
    if grid["is_geographic"]:
        return size * 6371008.8 * math.pi / 180.0
    crs = CRS.from_wkt(grid["crs"])
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return size * float(factor or 1.0)


def lattice_stride(grid: dict, spacing_m: float) -> int:
    """Cells between lattice nodes so that nodes are at most `spacing_m` apart (>= 1)."""
    if not spacing_m or spacing_m <= 0:
        return 1
    return max(1, int(math.floor(spacing_m / cell_size_m(grid) + 1e-9)))


def lattice_nodes(start: int, size: int, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lattice of the global cell indices start..start+size-1 along one axis.

    Nodes sit on the cells whose GLOBAL index is a multiple of `stride` (anchored to the grid,
    not to the window); the node after the last cell is included, so every cell lies between
    two nodes. Returns (node cell indices, index of each cell's lower node in that array,
    fraction of each cell between its lower and upper node: (index mod stride) / stride).
    """
    idx = np.arange(start, start + size, dtype=np.int64)
    lo = idx // stride
    j0, j1 = int(lo[0]), int(lo[-1]) + 1
    nodes = np.arange(j0, j1 + 1, dtype=np.int64) * stride
    frac = (idx - lo * stride).astype(np.float64) / stride
    return nodes, (lo - j0).astype(np.intp), frac


def lattice_interpolate(
    values: np.ndarray, rows: tuple, cols: tuple, out_dtype=np.float64
) -> np.ndarray:
    """Bilinear interpolation of node `values` (n_row_nodes, n_col_nodes) to every cell.

    `rows`/`cols` are `lattice_nodes` results. Each cell uses only its four surrounding nodes
    and its own fractions, in a fixed order of operations (first along rows of nodes, then
    between them), so the value is a pure function of the global cell index and the node
    values: identical whatever the window. The form v0 + f (v1 - v0) returns node values
    exactly and a constant exactly.
    """
    _, ri, fy = rows
    _, ci, fx = cols
    left, right = values[:, ci], values[:, ci + 1]
    along = left + fx[None, :] * (right - left)  # (n_row_nodes, width)
    out = np.empty((len(ri), len(ci)), out_dtype)
    step = max(1, 4_000_000 // max(1, len(ci)))
    for r0 in range(0, len(ri), step):
        r = slice(r0, r0 + step)
        top, bot = along[ri[r]], along[ri[r] + 1]
        bot -= top  # in place, same operations as top + fy * (bot - top)
        bot *= fy[r, None]
        bot += top
        out[r] = bot
    return out


def node_centres(grid: dict, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact longitude/latitude (EPSG:4326) of the centres of cells at global indices
    rows x cols (a (len(rows), len(cols)) mesh), computed from the global index only."""
    t = grid_transform(grid)
    x = t.c + t.a * (cols.astype(np.float64) + 0.5)
    y = t.f + t.e * (rows.astype(np.float64) + 0.5)
    if grid["is_geographic"]:
        xx, yy = np.meshgrid(x, y)
        return xx, yy
    tr = Transformer.from_crs(grid["crs"], "EPSG:4326", always_xy=True)
    xx, yy = np.meshgrid(x, y)
    lon, lat = tr.transform(xx, yy)
    return np.asarray(lon, np.float64), np.asarray(lat, np.float64)


def cell_centres(
    grid: dict, window: Window, spacing_m: float = CENTRE_LATTICE_M
) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees) of the cell centres of `window`, each (height, width).

    Geographic grids return broadcast views (no memory per cell), computed exactly.
    Projected grids: the centres of a lattice of cells every `stride` cells
    (`lattice_stride(grid, spacing_m)`, 16 at 30 m for the default 500 m; anchored to the
    global grid and extended one node past the window) are transformed with pyproj to
    EPSG:4326, and every cell is interpolated bilinearly between its four nodes, so values are
    a pure function of the global cell index (identical whatever the tiling). The error is
    that of bilinear interpolation of a smooth map, about d^2/8 times its second derivative
    (~1/R^2 rad per m^2) for node spacing d: measured <= 4.1e-8 degree (~5 mm) at d = 480 m on
    3536 x 3536-cell 30 m tiles of China Albers (east, far west, north) and UTM 50N at a zone
    edge (tests bound it by 1e-7 degree). Grids with cells >= `spacing_m` (stride 1), windows
    whose lattice straddles the antimeridian and nodes that cannot be transformed fall back to
    the exact per-cell transform. `spacing_m=0` forces the exact transform.
    """
    h, w = int(window.height), int(window.width)
    if grid["is_geographic"]:
        t = window_transform(grid, window)
        x = t.c + t.a * (np.arange(w) + 0.5)
        y = t.f + t.e * (np.arange(h) + 0.5)
        return np.broadcast_to(x[None, :], (h, w)), np.broadcast_to(y[:, None], (h, w))
    stride = lattice_stride(grid, spacing_m)
    if stride > 1 and h > 0 and w > 0:
        rows = lattice_nodes(int(window.row_off), h, stride)
        cols = lattice_nodes(int(window.col_off), w, stride)
        lon_n, lat_n = node_centres(grid, rows[0], cols[0])
        finite = np.all(np.isfinite(lon_n)) and np.all(np.isfinite(lat_n))
        if finite and np.ptp(lon_n) < 180.0:
            return lattice_interpolate(lon_n, rows, cols), lattice_interpolate(lat_n, rows, cols)
    t = window_transform(grid, window)
    x = t.c + t.a * (np.arange(w) + 0.5)
    y = t.f + t.e * (np.arange(h) + 0.5)
    tr = Transformer.from_crs(grid["crs"], "EPSG:4326", always_xy=True)
    xx, yy = np.meshgrid(x, y)
    lon, lat = tr.transform(xx, yy)
    return np.asarray(lon), np.asarray(lat)


def nodata_values(grid: dict) -> list:
    """All land-cover fill values of a grid (the raster nodata and any configured extras)."""
    return list(grid.get("nodata_values") or [grid["nodata"]])
