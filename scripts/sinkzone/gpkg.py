"""`tables/potential_by_region.gpkg`: one polygon layer per region level for GIS users.

Layers `nation`, `province`, `prefecture`, `county` and `zone`, every one with the same
columns in the same order (`columns`), one row per region of the region list
(results/{run}/prep/regions.csv) that lies in the analysis region (has cells, or its
representative point is inside the region polygon), so no region is missing or unnamed:

* names come from the region list; `no_cells` = 1 for regions that hold no cell centre at the
  run's resolution (small counties, Macao at 0.05 degrees): their values are 0, not NULL;
* `area_km2` = geodesic area of the polygon (WGS84); `cells_ha` = area of the region's cells
  counted by the run (exact integer cell areas);
* allocated potentials (t CO2/yr) low / central / high, summed over measures (additive), and
  every other `*_tco2_yr` column of potential_by_region.csv except the technical potentials
  (not additive over measures), so columns added to the table later flow through;
* `dominant` = the measure with the largest central potential, `c_NN` = central potential of
  measure NN (row NN of config/technologies.csv, = value NN of primary.tif).

Field names have at most 10 characters and are unique (Shapefile-safe); the non-spatial layer
`field_aliases` maps each field to its table column, unit and meaning. Prefecture values are
the sums of their counties (cells outside every county polygon count in the province only).
Zone polygons come from the official zone file when configured, else from the zones raster
(cells of each zone bit, dissolved; approximate like the zones themselves).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.errors import InputError

log = logging.getLogger(__name__)

LEVELS = ["nation", "province", "prefecture", "county", "zone"]
BASE = [
    ("level", "", "region level: nation, province, prefecture, county, zone", "region_level"),
    ("code", "", "region code (adcode; zone id)", "region_code"),
    ("name_en", "", "English name (region list)", "name_en"),
    ("name_zh", "", "Chinese name (region list)", "name_zh"),
    ("parent", "", "code of the enclosing region (province of a prefecture or county)", ""),
    (
        "no_cells",
        "flag",
        "1 = no grid cell centre falls in the region at the run's resolution (all values 0)",
        "",
    ),
    ("area_km2", "km2", "geodesic area of the polygon (WGS84)", ""),
    ("cells_ha", "ha", "area of the region's cells counted by the run", ""),
]
TAIL = [("dominant", "", "measure with the largest allocated central potential", "")]
SKIP_PREFIXES = ("technical_",)
FLOW_SUFFIX = "_tco2_yr"
BOUND_ABBR = {"low": "low", "central": "cen", "high": "high"}
DROP_TOKENS = {"potential", "tco2", "yr"}


def short_name(column: str, taken: set[str]) -> str:
    """Shapefile-safe (<= 10 chars, unique) name of a `*_tco2_yr` column.

    potential_low_tco2_yr -> pot_low; realistic_potential_high_tco2_yr -> rea_high;
    existing_sink_central_tco2_yr -> exi_cen.
    """
    tokens = [t for t in column.lower().split("_") if t and t not in DROP_TOKENS]
    parts = [BOUND_ABBR.get(t, t[:3]) for t in tokens]
    if not parts or parts[0] in BOUND_ABBR.values():
        parts = ["pot", *parts]
    if len("_".join(parts)) > 10 and len(parts) > 2:  # existing_sink_low -> exi_low
        parts = [parts[0], parts[-1]]
    base = re.sub(r"[^a-z0-9_]", "", "_".join(parts))[:10] or "v"
    name, k = base, 1
    while name in taken:
        suffix = str(k)
        name = base[: 10 - len(suffix)] + suffix
        k += 1
    taken.add(name)
    return name


def flow_columns(table: pd.DataFrame) -> list[str]:
    """The additive columns of potential_by_region.csv that are summed per region."""
    return [c for c in table.columns if c.endswith(FLOW_SUFFIX) and not c.startswith(SKIP_PREFIXES)]


def columns(table: pd.DataFrame, measure_ids: Sequence[str]) -> pd.DataFrame:
    """Field table: field, column (of potential_by_region.csv), unit, meaning (in layer order)."""
    rows = [(f, col, unit, text) for f, unit, text, col in BASE]
    taken = {r[0] for r in rows} | {t[0] for t in TAIL}
    flows = flow_columns(table)
    for c in flows:
        rows.append((short_name(c, taken), c, "t CO2/yr", f"sum over measures of {c}"))
    rows += [(f, col, unit, text) for f, unit, text, col in TAIL]
    width = max(2, len(str(len(measure_ids))))
    for n, m in enumerate(measure_ids, start=1):
        rows.append(
            (
                f"c_{n:0{width}d}",
                f"potential_central_tco2_yr[{m}]",
                "t CO2/yr",
                f"allocated central potential of measure {n}: {m}",
            )
        )
    out = pd.DataFrame(rows, columns=["field", "column", "unit", "meaning"])
    if (out["field"].str.len() > 10).any() or out["field"].duplicated().any():
        raise ValueError("field names must be unique and at most 10 characters")
    return out


def wide_values(
    table: pd.DataFrame,
    level: str,
    measure_ids: Sequence[str],
    fields: pd.DataFrame,
    key: pd.Series | None = None,
) -> pd.DataFrame:
    """Per region code: summed flows, dominant measure and central potential per measure.

    `key` maps region codes of `table`'s rows of `level` to another code (counties ->
    prefecture); rows then come from the county level.
    """
    src = "county" if key is not None else level
    sub = table[table["region_level"] == src].copy()
    sub["code"] = sub["region_code"].astype(str)
    if key is not None:
        sub["code"] = sub["code"].map(key)
        sub = sub[sub["code"].notna()]
    flows = fields[fields["unit"].eq("t CO2/yr") & ~fields["field"].str.startswith("c_")]
    out = sub.groupby("code", sort=True)[list(flows["column"])].sum(min_count=1)
    out.columns = list(flows["field"])
    per = sub.groupby(["code", "measure_id"], sort=True)["potential_central_tco2_yr"].sum()
    wide = per.unstack("measure_id").reindex(columns=list(measure_ids))
    cfields = fields[fields["field"].str.startswith("c_")]["field"].tolist()
    wide.columns = cfields
    dom = (
        per[per > 0]
        .reset_index()
        .sort_values(
            ["code", "potential_central_tco2_yr"], ascending=[True, False], kind="mergesort"
        )
        .drop_duplicates("code")
        .set_index("code")["measure_id"]
    )
    out = out.join(wide, how="outer")
    out["dominant"] = out.index.map(dom)
    return out


def cell_areas(lc: pd.DataFrame, zone_ids: Sequence[str], county_pref: pd.Series) -> dict:
    """{level: Series(code -> ha)} from the reduced lc_counts (exact integer m2 sums)."""
    out = {"nation": pd.Series({"100000": lc["area_m2"].sum()})}
    for lvl in ("province", "county"):
        out[lvl] = lc.groupby(lc[lvl].astype("int64").astype(str))["area_m2"].sum()
    c = out["county"]
    pref = c.groupby(c.index.map(county_pref)).sum() if len(c) else c
    out["prefecture"] = pref
    z = lc["zones"].astype("int64").to_numpy()
    out["zone"] = pd.Series(
        {zid: lc["area_m2"][(z >> i) & 1 == 1].sum() for i, zid in enumerate(zone_ids)}
    )
    return {k: (v.astype("int64") / 1e4) for k, v in out.items()}


def geodesic_km2(geoms) -> np.ndarray:
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    return np.array(
        [abs(geod.geometry_area_perimeter(g)[0]) / 1e6 if g is not None else 0.0 for g in geoms]
    )


def zone_polygons(zones_tif, zone_items: Sequence[dict], max_cells: int = 4_000_000):
    """Zone polygons from the zones raster (read decimated to <= max_cells), EPSG:4326."""
    import geopandas as gpd
    import rasterio
    import rasterio.features
    import shapely
    from rasterio.enums import Resampling

    with rasterio.open(zones_tif) as src:
        f = max(1, int(np.ceil(np.sqrt(src.width * src.height / max_cells))))
        shape = (max(1, src.height // f), max(1, src.width // f))
        arr = src.read(1, out_shape=shape, resampling=Resampling.nearest)
        tr = src.transform * src.transform.scale(src.width / shape[1], src.height / shape[0])
        nodata, crs = src.nodata, src.crs
    valid = arr != nodata if nodata is not None else np.ones(arr.shape, bool)
    geoms = []
    for i, _ in enumerate(zone_items):
        m = valid & (((arr.astype(np.int64) >> i) & 1) == 1)
        polys = [
            shapely.geometry.shape(g)
            for g, v in rasterio.features.shapes(m.astype(np.uint8), mask=m, transform=tr)
            if v == 1
        ]
        geoms.append(shapely.union_all(polys) if polys else None)
    gdf = gpd.GeoDataFrame({"code": [str(z["id"]) for z in zone_items]}, geometry=geoms, crs=crs)
    return gdf.to_crs("EPSG:4326")


def within(geoms, region) -> np.ndarray:
    """True where a polygon's representative point lies in `region` (False without one)."""
    import shapely

    arr = np.asarray(geoms, dtype=object)
    ok = np.array([g is not None and not shapely.is_empty(g) for g in arr], bool)
    out = np.zeros(len(arr), bool)
    if ok.any():
        pts = shapely.point_on_surface(arr[ok])
        out[ok] = shapely.contains(region, pts)
    return out


def build_gpkg_layers(
    table: pd.DataFrame,
    regions: pd.DataFrame,
    geoms: dict,
    lc: pd.DataFrame,
    measure_ids: Sequence[str],
    zone_items: Sequence[dict],
    *,
    nation_name_en: str = "China",
    nation_name_zh: str = "中国",
    zones_source: str = "approximate",
) -> tuple[dict, pd.DataFrame]:
    """({level: GeoDataFrame}, field table). `geoms[level]`: GeoDataFrame with `code`
    (str) and geometry (EPSG:4326); counties also carry `prefecture_code`. Regions of the list
    outside the analysis region (`geoms["nation"]`: no cell and a representative point
    outside it, e.g. the other provinces of a one-province run) are left out."""
    import geopandas as gpd
    import shapely

    nat = geoms["nation"].geometry
    region = shapely.union_all(nat.values) if len(nat) else None

    fields = columns(table, measure_ids)
    county_pref = geoms["county"].set_index("code")["prefecture_code"].astype(str)
    areas = cell_areas(lc, [z["id"] for z in zone_items], county_pref)
    out = {}
    for level in LEVELS:
        if level == "nation":
            reg = pd.DataFrame(
                {
                    "code": ["100000"],
                    "name_en": [nation_name_en],
                    "name_zh": [nation_name_zh],
                    "parent": [""],
                }
            )
        elif level == "zone":
            reg = pd.DataFrame(
                {
                    "code": [str(z["id"]) for z in zone_items],
                    "name_en": [z.get("name_en", z["id"]) for z in zone_items],
                    "name_zh": [z.get("name_zh", "") for z in zone_items],
                    "parent": ["100000"] * len(zone_items),
                }
            )
        else:
            r = regions[regions["level"] == level]
            reg = pd.DataFrame(
                {
                    "code": r["code"].astype("int64").astype(str),
                    "name_en": r["name_en"],
                    "name_zh": r["name_zh"],
                    "parent": r["parent_code"].astype("int64").astype(str),
                }
            )
            if level == "county":  # parent = the prefecture (its province via the prefecture)
                reg["parent"] = reg["code"].map(county_pref).fillna(reg["parent"])
        vals = wide_values(
            table, level, measure_ids, fields, county_pref if level == "prefecture" else None
        )
        extra = sorted(set(vals.index) - set(reg["code"]) - {"0"})
        if extra:
            raise InputError(
                "potential_by_region.csv",
                f"{level} codes {extra[:5]} are not in the region list",
                "rerun prepare_vectors and the tiles",
            )
        df = reg.reset_index(drop=True).merge(vals, left_on="code", right_index=True, how="left")
        cells = areas[level]
        df["cells_ha"] = df["code"].map(cells).fillna(0.0).astype(float)
        df["no_cells"] = (df["cells_ha"] <= 0).astype("int32")
        df["level"] = level
        g = geoms[level][["code", "geometry"]].drop_duplicates("code")
        df = df.merge(g, on="code", how="left")
        if level in ("province", "prefecture", "county") and region is not None:
            df = df[(df["cells_ha"] > 0) | within(df["geometry"], region)]
            df = df.reset_index(drop=True)
        df["area_km2"] = geodesic_km2(df["geometry"])
        num = [
            f
            for f in fields["field"]
            if f not in ("level", "code", "name_en", "name_zh", "parent", "dominant", "no_cells")
        ]
        df[num] = df[num].astype(float).fillna(0.0)
        df["dominant"] = df["dominant"].fillna("")
        df[["name_en", "name_zh"]] = df[["name_en", "name_zh"]].fillna("")
        gdf = gpd.GeoDataFrame(df[list(fields["field"])], geometry=df["geometry"], crs="EPSG:4326")
        out[level] = gdf
    fields = pd.concat(
        [
            fields,
            pd.DataFrame(
                [
                    {
                        "field": "zone layer",
                        "column": "",
                        "unit": "",
                        "meaning": f"zone polygons: {zones_source}",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    return out, fields


def write(layers: dict, fields: pd.DataFrame, out_path) -> list[str]:
    """Write the layers and the `field_aliases` table (atomic, fixed dates)."""
    import pyogrio

    from sinkzone.io import atomic_path, fixed_gpkg_date

    with atomic_path(out_path) as tmp, fixed_gpkg_date():
        Path(tmp).unlink()
        for level, gdf in layers.items():
            pyogrio.write_dataframe(gdf, tmp, layer=level, driver="GPKG", promote_to_multi=True)
        pyogrio.write_dataframe(fields, tmp, layer="field_aliases", driver="GPKG")
    return list(layers)
