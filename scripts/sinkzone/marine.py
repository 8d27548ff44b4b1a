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
# names of the bits of the `marine` layer, in bit order (bit i = 1 << i)
MARINE_FLAGS = ("sea", "mariculture_allowed", "mangrove_extent", "reef", "lake")
COAST_TOL_KM = 5.0  # national boundary within this of the NE coastline = coast (AMap is GCJ-02)
COAST_SPACING_KM = 1.0  # densifying step of the coast points


def flag(name: str) -> int:
    """The bit value of a `marine` flag."""
    return 1 << MARINE_FLAGS.index(name)


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


def sea_cells(
    lon: np.ndarray,
    lat: np.ndarray,
    candidate: np.ndarray,
    points: gpd.GeoDataFrame,
    max_km: float,
    k: int = 4,
):
    """Sea cells among `candidate` cells and their province/county codes.

    `points` is (a bbox read of) the `coast_points` layer. A candidate (outside the land,
    depth within range) is a sea cell when its ellipsoidal distance to China's coast is at most
    `max_km`, its nearest China coast point lies on the region (`in_region`), and no other
    country's coast is nearer (spherical distances for that comparison). The distance is the
    minimum over the `k` nearest coast points on the sphere (the ellipsoid changes distances by
    < 0.5 %, so the nearest point is among them). Returns (sea bool, province, county, km).
    """
    shape = np.shape(candidate)
    sea = np.zeros(shape, bool)
    prov = np.zeros(shape, np.uint32)
    county = np.zeros(shape, np.uint32)
    km = np.full(shape, np.inf)
    china = points[points["china"] == 1] if len(points) else points
    if not candidate.any() or len(china) == 0:
        return sea, prov, county, km
    cx, cy = china.geometry.x.to_numpy(), china.geometry.y.to_numpy()
    lon_c = np.broadcast_to(lon, shape)[candidate]
    lat_c = np.broadcast_to(lat, shape)[candidate]
    q = unit_vectors(lon_c, lat_c)
    kk = min(k, len(china))
    d, idx = cKDTree(unit_vectors(cx, cy)).query(q, k=kk, distance_upper_bound=chord(max_km * 1.01))
    d, idx = d.reshape(len(q), kk), idx.reshape(len(q), kk)
    near = np.isfinite(d[:, 0])
    geo = np.full(d.shape, np.inf)
    ok = np.isfinite(d)
    rows = np.nonzero(ok)
    geo[rows] = geodesic_km(lon_c[rows[0]], lat_c[rows[0]], cx[idx[ok]], cy[idx[ok]])
    best = np.argmin(geo, axis=1)
    dist = geo[np.arange(len(q)), best]
    j = np.where(near, idx[np.arange(len(q)), best], 0)
    in_reg = china["in_region"].to_numpy()[j] == 1
    keep = near & (dist <= max_km) & in_reg
    foreign = points[points["china"] == 0] if len(points) else points
    if len(foreign):
        fx, fy = foreign.geometry.x.to_numpy(), foreign.geometry.y.to_numpy()
        df, _ = cKDTree(unit_vectors(fx, fy)).query(q, distance_upper_bound=chord(max_km * 1.01))
        keep &= d[:, 0] <= df  # spherical distance to China's coast <= to any other coast
    sea[candidate] = keep
    prov[candidate] = np.where(keep, china["province"].to_numpy()[j], 0)
    county[candidate] = np.where(keep, china["county"].to_numpy()[j], 0)
    km[candidate] = np.where(keep, dist, np.inf)
    return sea, prov, county, km
