"""Legend classes and colours: Koppen-Geiger groups (config/climate_classes.csv), classes from
lookup tables, the measure palette and text colours on fills.

Part of the `sinkzone.maps` package (see its docstring).
"""

from __future__ import annotations

import logging

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import pandas as pd

from sinkzone.classes import koppen_table
from sinkzone.maps.language import name_of

log = logging.getLogger("sinkzone.maps")


def koppen_classes() -> dict[int, tuple[str, str, str, str]]:
    """{layer value: (code, name_en, name_zh, color)} of the Koppen-Geiger main groups, from the
    one class table (sinkzone.classes reads config/climate_classes.csv)."""
    return koppen_table()


def climate_classes(language: str) -> list[tuple[int, str, str]]:
    """Koppen-Geiger main groups (layer values 1-5) as legend classes."""
    return [
        (k, f"{v[0]} {v[2] if language == 'zh' else v[1]}", v[3])
        for k, v in koppen_classes().items()
    ]


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
