"""Map axes: the basemap drawn on an axes, graticule, scale bar, north arrow and the South
China Sea inset.

Part of the `sinkzone.maps` package (see its docstring).
"""

from __future__ import annotations

import logging
import math

import matplotlib.patches as mpatches
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath
from pyproj import Transformer
from shapely.geometry import LineString

from sinkzone.maps.basemap import DISPLAY_CRS, INSET_WIDTH, Basemap
from sinkzone.maps.language import tr

log = logging.getLogger("sinkzone.maps")


def add_path(ax, path: MplPath, **kw) -> mpatches.PathPatch:
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
        add_path(
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
