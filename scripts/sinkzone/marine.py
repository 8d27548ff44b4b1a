"""The near-shore sea on the analysis grid: depth, China's coast, sea cells and their provinces.

Sea cells (docs/ARCHITECTURE.md, "Sea cells") are cells whose centre lies outside the national
land polygon and below sea level in the bathymetry, at most `max_depth_m` deep, within
`max_km` of China's coast (distance on the WGS84 ellipsoid) and nearer to China's coast than
to any other country's (a median-line rule: the maritime boundaries are not drawn). China's
coast is the boundary of the national land polygon (mainland and islands) where it runs
within `tol_km` of the Natural Earth coastline; land borders are left out. Each sea cell takes
the province and county of the nearest point of China's coast ("nearest coastal province"),
so sea areas add to the coastal provinces in every table.

Pure functions on arrays and frames; the per-tile orchestration sits in `sinkzone.layers`.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from sinkzone import layerspec
from sinkzone.errors import InputError

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, as sinkzone.layers
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0
DEPTH_NODATA = float(layerspec.spec()["layers"]["depth"]["nodata"])  # config/layers.yaml
COAST_TOL_KM = 5.0  # national boundary within this of the NE coastline = coast (AMap is GCJ-02)
COAST_SPACING_KM = 1.0  # densifying step of the coast points


# ------------------------------------------------------------------------------ depth


def depth_from_netcdf_arrays(z, lat, lon, positive: str = "up", what: str = "bathymetry"):
    """ETOPO-style (lat, lon) elevation -> (float32 depth m, positive below sea level, transform).

    Longitudes 0..360 are wrapped to -180..180 and a repeated meridian (0 and 360) is dropped;
    rows become north-up. `positive="down"` means the values are depths already. NaN and
    non-finite values become DEPTH_NODATA.
    """
    from sinkzone.sources import north_up, wrap_longitude

    if z.ndim != 2:
        raise InputError(what, f"the bathymetry has {z.ndim} dimensions", "use a 2-D lat/lon grid")
    lon = np.asarray(lon, float)
    if lon.size > 1 and math.isclose(abs(lon[-1] - lon[0]), 360.0, abs_tol=1e-6):
        z, lon = z[:, :-1], lon[:-1]
    z, lon = wrap_longitude(z, lon)
    arr, transform = north_up(z, np.asarray(lat, float), lon, what)
    arr = arr.astype("float32")
    depth = -arr if positive == "up" else arr
    depth[~np.isfinite(depth)] = DEPTH_NODATA
    valid = depth[depth != DEPTH_NODATA]
    if valid.size == 0 or float(valid.max()) > 12000 or float(valid.min()) < -9000:
        raise InputError(
            what,
            "depths are empty or beyond -9000..12000 m",
            "check the units (m) and marine.bathymetry.positive (up = elevation, down = depth)",
        )
    return depth, transform


# ------------------------------------------------------------------------------ coast points


def unit_vectors(lon, lat) -> np.ndarray:
    lo, la = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    c = np.cos(la)
    return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


def chord(km: float) -> float:
    return 2.0 * math.sin(min(km / EARTH_RADIUS_KM, math.pi) / 2.0)


def arc_km(ch: np.ndarray) -> np.ndarray:
    return 2.0 * np.arcsin(np.clip(ch / 2.0, 0, 1)) * EARTH_RADIUS_KM


def densified_xy(geoms, spacing_km: float) -> np.ndarray:
    """Unique (lon, lat) vertices of line/polygon boundaries at most `spacing_km` apart."""
    geoms = [g for g in np.atleast_1d(geoms) if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros((0, 2))
    lines = [g.boundary if g.geom_type in ("Polygon", "MultiPolygon") else g for g in geoms]
    xy = shapely.get_coordinates(shapely.segmentize(np.asarray(lines), spacing_km / KM_PER_DEG))
    return np.unique(np.round(xy, 7), axis=0)


def nearest_codes(xy: np.ndarray, polygons: gpd.GeoDataFrame, column: str = "code",
                  spacing_km: float = COAST_SPACING_KM):  # fmt: skip
    """Code of the polygon whose boundary (densified to `spacing_km`) is nearest to each point
    (0 when there is no polygon)."""
    if len(xy) == 0 or polygons is None or polygons.empty:
        return np.zeros(len(xy), np.int64)
    geoms = shapely.segmentize(polygons.geometry.boundary.values, spacing_km / KM_PER_DEG)
    counts = shapely.get_num_coordinates(geoms)
    pts = shapely.get_coordinates(geoms)
    codes = np.repeat(polygons[column].astype(np.int64).to_numpy(), counts)
    _, idx = cKDTree(unit_vectors(pts[:, 0], pts[:, 1])).query(unit_vectors(xy[:, 0], xy[:, 1]))
    return codes[idx]


def coast_points(
    nation,
    coastline: gpd.GeoDataFrame,
    region,
    provinces: gpd.GeoDataFrame,
    counties: gpd.GeoDataFrame,
    *,
    spacing_km: float = COAST_SPACING_KM,
    tol_km: float = COAST_TOL_KM,
) -> gpd.GeoDataFrame:
    """Points of China's coast and of other countries' coasts (EPSG:4326).

    Columns: `china` (1 = China's coast: a vertex of the national polygon boundary within
    `tol_km` of the coastline; 0 = a coastline vertex farther than `tol_km` from China's
    boundary), `in_region` (China's coast points on the region polygon, within ~0.5 km),
    `province` and `county` (codes of the nearest admin boundary vertex; 0 for other coasts).
    """
    nat_xy = densified_xy([nation], spacing_km)
    ne_xy = densified_xy(coastline.geometry.values, spacing_km)
    cols = {"china": [], "in_region": [], "province": [], "county": []}
    if len(nat_xy) == 0 or len(ne_xy) == 0:
        return gpd.GeoDataFrame(
            {k: np.zeros(0, np.int64) for k in cols}, geometry=[], crs="EPSG:4326"
        )
    ne_tree = cKDTree(unit_vectors(ne_xy[:, 0], ne_xy[:, 1]))
    d, _ = ne_tree.query(
        unit_vectors(nat_xy[:, 0], nat_xy[:, 1]), distance_upper_bound=chord(tol_km)
    )
    china_xy = nat_xy[np.isfinite(d)]
    if len(china_xy):
        d2, _ = cKDTree(unit_vectors(china_xy[:, 0], china_xy[:, 1])).query(
            unit_vectors(ne_xy[:, 0], ne_xy[:, 1]), distance_upper_bound=chord(tol_km)
        )
        foreign_xy = ne_xy[~np.isfinite(d2)]
    else:
        foreign_xy = ne_xy
    pts = shapely.points(china_xy)
    in_region = np.ones(len(pts), bool)
    reg_xy = densified_xy([region], spacing_km) if region is not None else np.zeros((0, 2))
    if region is not None and len(china_xy):
        # on the region's boundary (a kd-tree of its densified vertices; exact polygon
        # distances take minutes against the national outline)
        dr, _ = cKDTree(unit_vectors(reg_xy[:, 0], reg_xy[:, 1])).query(
            unit_vectors(china_xy[:, 0], china_xy[:, 1]), distance_upper_bound=chord(spacing_km)
        )
        in_region = np.isfinite(dr)
    n_f = len(foreign_xy)
    out = gpd.GeoDataFrame(
        {
            "china": np.r_[np.ones(len(china_xy), np.int64), np.zeros(n_f, np.int64)],
            "in_region": np.r_[np.asarray(in_region, np.int64), np.zeros(n_f, np.int64)],
            "province": np.r_[nearest_codes(china_xy, provinces), np.zeros(n_f, np.int64)],
            "county": np.r_[nearest_codes(china_xy, counties), np.zeros(n_f, np.int64)],
        },
        geometry=np.r_[pts, shapely.points(foreign_xy)] if n_f else pts,
        crs="EPSG:4326",
    )
    return out


# ------------------------------------------------------------------------------ sea cells


def geodesic_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Distance on the WGS84 ellipsoid (km), pyproj.Geod (Karney's algorithm)."""
    from pyproj import Geod

    _, _, m = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    return np.asarray(m, float) / 1000.0


SEA_CHUNK = 1_000_000  # candidate cells per chunk of sea_cells: memory bounded at 30 m
SEA_BLOCK_KM = 0.5  # side of the blocks of cells decided at once (sea_cells, distances=False)
SEA_BLOCK_K = 128  # coast points looked at around a block's centre
# The WGS84 geodesic between two (lon, lat) points over the great-circle arc on the sphere of
# EARTH_RADIUS_KM through the same (lon, lat): between min(M, N) / R and max(M, N) / R, the
# extreme radii of curvature of the ellipsoid (M 6335.44 km at the equator, N = M 6399.59 km at
# the poles): 0.99442 .. 1.00449 for any pair of points. Rounded outwards:
GEO_OVER_ARC = (0.994, 1.005)
_EPS = 1e-9  # chord slack for rounding (about 6 mm on the Earth)


def sea_cells(
    lon: np.ndarray,
    lat: np.ndarray,
    candidate: np.ndarray,
    points: gpd.GeoDataFrame,
    max_km: float,
    k: int = 4,
    chunk: int = SEA_CHUNK,
    distances: bool = True,
    block: int | None = None,
):
    """Sea cells among `candidate` cells and their province/county codes.

    `points` is (a bbox read of) the `coast_points` layer. A candidate (outside the land,
    depth within range) is a sea cell when its ellipsoidal distance to China's coast is at most
    `max_km`, its nearest China coast point lies on the region (`in_region`), and no other
    country's coast is nearer (spherical distances for that comparison). The distance is the
    minimum over the `k` nearest coast points on the sphere (the ellipsoid changes distances by
    < 0.6 %, so the nearest point is among them). Returns (sea bool, province, county, km);
    km is None when `distances` is False.
    Candidates are processed `chunk` at a time (each cell on its own: the same result for any
    chunk size; a coastal 30 m tile has ~1e7 candidates).

    With `distances=False` and a 2-D grid of cells finer than SEA_BLOCK_KM / 4, blocks of
    cells about SEA_BLOCK_KM wide (`block` cells a side; None = from the cell spacing, 0 = no
    blocks) are first decided at once where bounds prove the per-cell answer (`_block_pass`);
    the cells of the other blocks go through the per-cell computation. The result is the same
    as without blocks, cell for cell (tests/test_marine.py).
    """
    shape = np.shape(candidate)
    sea = np.zeros(shape, bool)
    prov = np.zeros(shape, np.uint32)
    county = np.zeros(shape, np.uint32)
    km = np.full(shape, np.inf) if distances else None
    china = points[points["china"] == 1] if len(points) else points
    if not candidate.any() or len(china) == 0:
        return sea, prov, county, km
    ctx = _coast_context(points, china, max_km)
    lon_all, lat_all = np.broadcast_to(lon, shape).ravel(), np.broadcast_to(lat, shape).ravel()
    out = (sea.ravel(), prov.ravel(), county.ravel(), None if km is None else km.ravel())
    todo = candidate
    if not distances and len(shape) == 2:
        b = _block_size(lon_all, lat_all, shape) if block is None else int(block)
        if b >= 4:
            todo = _block_pass(lon_all, lat_all, candidate, ctx, max_km, k, b, out)
    cells = np.flatnonzero(todo)
    for c0 in range(0, len(cells), max(1, chunk)):
        _exact(cells[c0 : c0 + max(1, chunk)], lon_all, lat_all, ctx, max_km, k, out)
    return sea, prov, county, km


def _coast_context(points, china, max_km):
    cx, cy = china.geometry.x.to_numpy(), china.geometry.y.to_numpy()
    foreign = points[points["china"] == 0]
    ftree = None
    if len(foreign):
        ftree = cKDTree(unit_vectors(foreign.geometry.x.to_numpy(), foreign.geometry.y.to_numpy()))
    attrs = np.column_stack([china["in_region"], china["province"], china["county"]])
    _, attr_id = np.unique(attrs.astype(np.int64), axis=0, return_inverse=True)
    return {
        "cx": cx, "cy": cy, "tree": cKDTree(unit_vectors(cx, cy)), "foreign": ftree,
        "attr_id": attr_id.ravel(),
        "in_region": china["in_region"].to_numpy(), "province": china["province"].to_numpy(),
        "county": china["county"].to_numpy(), "bound": chord(max_km * 1.01),
    }  # fmt: skip


def _exact(part, lon_all, lat_all, ctx, max_km, k, out):
    """The per-cell computation for the flat cell indices `part` (written into `out`).

    Without distances (`out[3]` None) the geodesics are computed only for the cells whose
    answer depends on them: a cell whose competing coast points (those among its k nearest
    whose arc could still give the smallest geodesic, GEO_OVER_ARC) share (in_region,
    province, county) and whose nearest arc is surely within or beyond max_km gets the same
    answer from the arcs alone.
    """
    sea_f, prov_f, county_f, km_f = out
    cx, cy, in_region = ctx["cx"], ctx["cy"], ctx["in_region"]
    kk = min(k, len(cx))
    lon_c, lat_c = lon_all[part], lat_all[part]
    q = unit_vectors(lon_c, lat_c)
    d, idx = ctx["tree"].query(q, k=kk, distance_upper_bound=ctx["bound"])
    d, idx = d.reshape(len(q), kk), idx.reshape(len(q), kk)
    near = np.isfinite(d[:, 0])
    ok = np.isfinite(d)
    need = ok[:, 0]
    sure_in = np.zeros(len(q), bool)
    if km_f is None:
        arcs = np.where(ok, arc_km(np.where(ok, d, 0.0)), np.inf)
        amin = arcs[:, :1]
        rival = ok & (arcs * GEO_OVER_ARC[0] <= amin * GEO_OVER_ARC[1])
        aid = ctx["attr_id"][np.where(ok, idx, 0)]
        homog = np.all((aid == aid[:, :1]) | ~rival, axis=1)
        sure_in = amin[:, 0] * GEO_OVER_ARC[1] <= max_km
        sure_out = amin[:, 0] * GEO_OVER_ARC[0] > max_km
        need = near & ~sure_out & ~(homog & sure_in)
    sub = np.flatnonzero(need)
    geo = np.full((len(sub), kk), np.inf)
    ok_s = ok[sub]
    rows = np.nonzero(ok_s)
    geo[rows] = geodesic_km(
        lon_c[sub][rows[0]], lat_c[sub][rows[0]], cx[idx[sub][ok_s]], cy[idx[sub][ok_s]]
    )
    best = np.argmin(geo, axis=1)
    j = np.where(near, idx[:, 0], 0)  # any rival: they share the attributes
    j[sub] = idx[sub, best]
    within = sure_in.copy()
    dist = geo[np.arange(len(sub)), best]
    within[sub] = dist <= max_km
    keep = near & within & (in_region[j] == 1)
    if ctx["foreign"] is not None:
        df, _ = ctx["foreign"].query(q, distance_upper_bound=ctx["bound"])
        keep &= d[:, 0] <= df  # spherical distance to China's coast <= to any other coast
    sea_f[part] = keep
    prov_f[part] = np.where(keep, ctx["province"][j], 0)
    county_f[part] = np.where(keep, ctx["county"][j], 0)
    if km_f is not None:
        km = np.full(len(q), np.inf)
        km[sub] = dist
        km_f[part] = np.where(keep, km, np.inf)


def _block_size(lon_all, lat_all, shape) -> int:
    """Cells per block side so that a block is about SEA_BLOCK_KM wide (0 = cells too coarse)."""
    h, w = shape
    i, j = h // 2, w // 2
    c = i * w + j
    nb = [i * w + min(j + 1, w - 1), min(i + 1, h - 1) * w + j]
    u = unit_vectors(lon_all[[c] + nb], lat_all[[c] + nb])
    step = float(arc_km(np.linalg.norm(u[1:] - u[0], axis=1)).max())
    return int(SEA_BLOCK_KM / step) if step > 0 else 0


def _block_pass(lon_all, lat_all, candidate, ctx, max_km, k, b, out) -> np.ndarray:
    """Decide whole blocks of b x b cells where bounds prove each cell's answer.

    For a block with centre C and radius h (the largest chord from C to a candidate of the
    block), every cell x has |x - C| <= h (chords: a metric, the triangle inequality holds), so
    its nearest China coast point lies at chord d_C - h .. d_C + h, its k nearest all lie
    within r = d_k(C) + 2h of C, and its nearest foreign point at df_C - h .. df_C + h. A block
    is decided when
    - every China point within r of C has the same (in_region, province, county): the
      cell's pick among its k nearest does not matter; and
    - the ellipsoidal distance is surely within max_km (arc(d_C + h) x 1.005 <= max_km), and
      China's coast is surely nearer than any other (d_C + h < df_C - h): all cells are sea
      cells when in_region, else none; or
    - surely no cell qualifies (arc(d_C - h) x 0.994 > max_km, or d_C - h > df_C + h with
      df_C + h inside the query bound, or the points within r are all off the region).
    Writes the decided cells into `out`; returns the candidates left for the per-cell path.
    """
    sea_f, prov_f, county_f, _ = out
    h_, w_ = candidate.shape
    n = len(ctx["cx"])
    kk, kq = min(k, n), min(SEA_BLOCK_K, n)
    attr_id = ctx["attr_id"]
    todo = candidate.copy()
    nbc = -(-w_ // b)
    for r0 in range(0, h_, b):
        cand = candidate[r0 : r0 + b]
        if not cand.any():
            continue
        rows = cand.shape[0]
        cols = np.arange(w_)
        blk = cols // b
        ci = r0 + rows // 2
        cj = np.minimum(np.arange(nbc) * b + b // 2, w_ - 1)
        centre = unit_vectors(lon_all[ci * w_ + cj], lat_all[ci * w_ + cj])
        flat = (np.arange(r0, r0 + rows)[:, None] * w_ + cols[None, :]).ravel()
        u = unit_vectors(lon_all[flat], lat_all[flat]).reshape(rows, w_, 3)
        dist = np.linalg.norm(u - centre[blk][None, :, :], axis=2)
        dist[~cand] = 0.0
        has = np.zeros(nbc, bool)
        np.logical_or.at(has, blk, cand.any(axis=0))
        hmax = np.zeros(nbc)
        np.maximum.at(hmax, blk, dist.max(axis=0))
        sel = np.flatnonzero(has)
        h = hmax[sel] + _EPS
        dk, ik = ctx["tree"].query(centre[sel], k=kq)
        dk, ik = dk.reshape(len(sel), kq), ik.reshape(len(sel), kq)
        d_c = dk[:, 0]
        r = dk[:, kk - 1] + 2.0 * h
        within = dk <= r[:, None]
        homog = np.all((attr_id[ik] == attr_id[ik[:, :1]]) | ~within, axis=1)
        if kq < n:
            homog &= ~within[:, -1]  # points beyond the kq looked at may lie within r
        ref = ik[:, 0]
        lo = arc_km(np.maximum(d_c - h, 0.0))
        hi = arc_km(d_c + h)
        if ctx["foreign"] is not None:
            df_c, _ = ctx["foreign"].query(centre[sel])
            f_true = d_c + h < df_c - h
            f_false = (d_c - h > df_c + h) & (df_c + h < ctx["bound"])
        else:
            f_true, f_false = np.ones(len(sel), bool), np.zeros(len(sel), bool)
        off = ctx["in_region"][ref] != 1
        no = (lo * GEO_OVER_ARC[0] > max_km) | f_false | (homog & off)
        yes = ~no & homog & ~off & (hi * GEO_OVER_ARC[1] <= max_km) & f_true
        decided = np.zeros(nbc, bool)
        decided[sel[no | yes]] = True
        is_yes = np.zeros(nbc, bool)
        is_yes[sel[yes]] = True
        pv, cv = np.zeros(nbc, np.int64), np.zeros(nbc, np.int64)
        pv[sel[yes]] = ctx["province"][ref[yes]]
        cv[sel[yes]] = ctx["county"][ref[yes]]
        dec_cells = cand & decided[blk][None, :]
        idx = flat.reshape(rows, w_)[dec_cells]
        bj = np.broadcast_to(blk, (rows, w_))[dec_cells]
        sea_f[idx] = is_yes[bj]
        prov_f[idx] = pv[bj]
        county_f[idx] = cv[bj]
        todo[r0 : r0 + b][dec_cells] = False
    return todo
