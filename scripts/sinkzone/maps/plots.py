"""Plot primitives: class-index rasters, masks, legends, colour bars, the generic map kinds
(categorical, continuous, overlay masks, choropleth) and bar charts, and `save_figure`.

Part of the `sinkzone.maps` package (see its docstring).
"""

from __future__ import annotations

import logging
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import matplotlib.colors as mcolors
import matplotlib.patches as mpatches
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath

from sinkzone.io import atomic_path
from sinkzone.maps.axes import add_path, china_axes
from sinkzone.maps.basemap import Basemap, to_display
from sinkzone.maps.classes import text_color_on
from sinkzone.maps.credit import add_footer
from sinkzone.maps.display import DisplayRaster
from sinkzone.maps.language import tr
from sinkzone.memory import release_memory

log = logging.getLogger("sinkzone.maps")


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
                add_path(
                    a,
                    path,
                    facecolor=mcolors.to_rgba(color, 0.28),
                    edgecolor="none",
                    linewidth=0,
                    zorder=2,
                )
                add_path(
                    a,
                    path,
                    facecolor="none",
                    edgecolor="none",
                    hatch=hatch,
                    hatchcolor=color,
                    linewidth=0,
                    zorder=2,
                )
                add_path(a, path, facecolor="none", edgecolor=color, linewidth=0.9, zorder=2.5)

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
    g = to_display(gdf)
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
