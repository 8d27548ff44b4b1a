"""Figure recipes: the maps and charts of a run (ecosystems, zones, red lines, slope, climate,
primary measure, potential density, province totals, zone bars).

Part of the `sinkzone.maps` package (see its docstring).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.enums import Resampling

from sinkzone.errors import InputError
from sinkzone.layerspec import float_nodata
from sinkzone.maps.classes import climate_classes, measure_palette, table_classes
from sinkzone.maps.display import (
    DisplayRaster,
    read_decimated,
    source_cell_area_ha,
    warp_to_display,
)
from sinkzone.maps.language import name_of, tr
from sinkzone.maps.plots import (
    categorical_raster_map,
    choropleth,
    continuous_raster_map,
    overlay_masks_map,
    stacked_bars,
)

FLOAT_NODATA = float_nodata()  # config/layers.yaml

log = logging.getLogger("sinkzone.maps")

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
    dens[bad] = FLOAT_NODATA
    dens[~bad & (arr <= 0)] = FLOAT_NODATA  # no measure allocated: shown as the grey land
    return warp_to_display(dens, transform, crs, FLOAT_NODATA, res_m, Resampling.nearest)


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
