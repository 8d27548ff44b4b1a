"""Output mosaics for GIS users: tiles -> one COG per raster with nodata outside the region.

Every tile is first copied row strip by row strip (memory bounded by the strip) with the cells
outside the region (region tile != 1) set to the output nodata, optionally transformed (e.g.
t CO2/yr per cell -> t CO2/ha/yr with the grid's true cell areas); a tile that already holds
the output nodata outside the region and needs no transform is used as it is (the copy would
equal it: `masked_already`). The tiles are placed in a VRT by their offset in the grid and
copied to a COG by GDAL block by block (GDAL cache capped).
The COG carries an EPSG-coded CRS (`sinkzone.rastermeta.output_crs`), band descriptions, units
and metadata; class names go to the PAM sidecar `<raster>.tif.aux.xml` (raster attribute table
and category names) written by `write_pam`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd
import rasterio
from rasterio.windows import Window

from sinkzone import rastermeta
from sinkzone.errors import InputError
from sinkzone.io import TILE_COMPRESSION
from sinkzone.memory import GDAL_CACHE_MB  # the same cap as every rule job (configure_logging)

STRIP_CELLS = 2_000_000  # cells (x bands) per strip while masking a tile

GDAL_TYPES = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "float32": "Float32",
    "float64": "Float64",
    "int64": "Int64",
    "uint64": "UInt64",
}


# Deflate level of the COG mosaics. Level 1 instead of GDAL's default 6: on a 2e8-cell float32
# potential mosaic (30 m benchmark, overviews included) 5.6 s instead of 10.6 s for a file 17 %
# larger (27 vs 23 MiB); the product mosaics were a quarter of all job time at that size.
COG_DEFLATE_LEVEL = 1


def tile_offset(transform, grid: dict) -> tuple[int, int]:
    """(col_off, row_off) of a tile in the grid (tiles lie on whole cells)."""
    from sinkzone.grid import grid_transform

    g = grid_transform(grid)
    col, row = ~g @ (transform.c, transform.f)
    if (
        abs(col - round(col)) > 1e-6
        or abs(row - round(row)) > 1e-6
        or not np.allclose([transform.a, transform.e], [g.a, g.e], rtol=1e-9)
    ):
        raise InputError(
            "tile", "the tile is not on the grid of grid.json", "rebuild the tiles for this grid"
        )
    return round(col), round(row)


def mask_tile(
    src_path,
    region_path,
    tmp_dst,
    *,
    nodata,
    grid: dict,
    dtype: str | None = None,
    transform_fn: Callable[[np.ndarray, Window], np.ndarray] | None = None,
    collect: bool = False,
    keep_source_nodata: bool = False,
    strip_cells: int = STRIP_CELLS,
) -> set[int]:
    """Copy a tile (all bands) with cells outside the region set to `nodata`.

    `transform_fn(arr, window)` maps the strip (bands, rows, cols) of the source to the output
    values (window = the strip's window in the GRID). Source nodata stays nodata inside the
    region (mapped to `nodata`), unless `keep_source_nodata` (zones: the tiles' nodata 0 means
    "no zone" inside the region). Returns the distinct values inside the region when `collect`.
    """
    seen: set[int] = set()
    with rasterio.open(src_path) as src, rasterio.open(region_path) as reg:
        if (src.width, src.height) != (reg.width, reg.height):
            raise InputError(
                src_path,
                "the tile and its region tile differ in size",
                "rerun build_layers and assign_tile for this tile",
            )
        col_off, row_off = tile_offset(src.transform, grid)
        out_dtype = dtype or src.dtypes[0]
        profile = {
            "driver": "GTiff",
            "width": src.width,
            "height": src.height,
            "count": src.count,
            "dtype": out_dtype,
            "crs": src.crs,
            "transform": src.transform,
            "nodata": nodata,
            **TILE_COMPRESSION,
            "interleave": "pixel",
            "tiled": src.width >= 256 and src.height >= 256,
            "blockxsize": 256,
            "blockysize": 256,
        }
        step = max(1, strip_cells // max(1, src.width * src.count))
        bh = src.block_shapes[0][0]
        if bh < src.height:  # whole blocks per strip: each block is decompressed once
            step = max(bh, step - step % bh)
        src_nd = src.nodata
        with rasterio.open(tmp_dst, "w", **profile) as dst:
            for r0 in range(0, src.height, step):
                h = min(step, src.height - r0)
                win = Window(0, r0, src.width, h)
                arr = src.read(window=win)
                outside = reg.read(1, window=win) != 1
                bad = np.zeros(arr.shape, bool) if src_nd is None else arr == src_nd
                if transform_fn is not None:
                    gwin = Window(col_off, row_off + r0, src.width, h)
                    arr = transform_fn(arr, gwin)
                arr = arr.astype(out_dtype, copy=False)
                if src_nd is not None and src_nd != nodata and not keep_source_nodata:
                    arr[bad] = nodata
                arr[:, outside] = nodata
                if collect:
                    _collect(seen, arr[0][~outside])
                dst.write(arr, window=win)
    return _values(seen, nodata)


def _values(seen: set, nodata) -> set[int]:
    if nodata is not None and float(nodata).is_integer():
        seen.discard(int(nodata))
    return {int(v) for v in seen}


def _collect(seen: set, inside: np.ndarray) -> None:
    """Add the distinct values of `inside` to `seen`."""
    if inside.dtype.itemsize <= 2 and inside.size:
        seen.update(np.flatnonzero(np.bincount(inside.astype(np.int64))).tolist())
    else:
        seen.update(np.unique(inside).tolist())


def masked_already(
    src_path,
    region_path,
    *,
    nodata,
    dtype: str | None = None,
    transform_fn=None,
    collect: bool = False,
    keep_source_nodata: bool = False,
    strip_cells: int = STRIP_CELLS,
) -> set[int] | None:
    """Whether `mask_tile` with these arguments would copy the tile unchanged: then the
    distinct values inside the region (as `mask_tile` returns them), else None.

    True when nothing transforms the values (no `transform_fn`, same dtype, the source
    nodata is `nodata` or none or kept) and every cell outside the region already holds
    `nodata`: the tiles of assign_tile and build_layers are written so (potentials, primary,
    layers), and the mosaic then reads them as they are instead of writing a masked copy.
    Reads the region tile, and the tile only where needed: strips without cells outside the
    region are skipped unless `collect`; stops at the first cell that differs.
    """
    if transform_fn is not None or nodata is None:
        return None
    seen: set = set()
    with rasterio.open(src_path) as src, rasterio.open(region_path) as reg:
        src_nd = src.nodata
        if (
            (src.width, src.height) != (reg.width, reg.height)
            or (dtype or src.dtypes[0]) != src.dtypes[0]
            or not (src_nd is None or src_nd == nodata or keep_source_nodata)
        ):
            return None  # (mask_tile raises on the size)
        step = max(1, strip_cells // max(1, src.width * src.count))
        bh = src.block_shapes[0][0]
        if bh < src.height:  # whole blocks per strip: each block is decompressed once
            step = max(bh, step - step % bh)
        for r0 in range(0, src.height, step):
            win = Window(0, r0, src.width, min(step, src.height - r0))
            outside = reg.read(1, window=win) != 1
            if not collect and not outside.any():
                continue
            arr = src.read(window=win)
            if not np.all(arr[:, outside] == nodata):
                return None
            if collect:
                _collect(seen, arr[0][~outside])
    return _values(seen, nodata)


def band_vrt(
    paths: Sequence[str],
    grid: dict,
    crs: str,
    bands: Sequence[dict],
    nodata,
    metadata: dict | None = None,
    relative_to=None,
) -> str:
    """VRT of the (masked) tiles: band i from band i of every tile; each band dict carries
    `description`, `unit`, `metadata` and optionally `colormap` ({value: rgba}) and `classes`
    (class table: category names and raster attribute table inside the band); `metadata` goes
    to the dataset. With `relative_to` (the VRT's folder) the tiles are referenced by paths
    relative to it, so the run folder can be moved as a whole."""
    import xml.etree.ElementTree as ET

    from pyproj import CRS

    from sinkzone.grid import grid_transform
    from sinkzone.rastermeta import class_elements

    gt = grid_transform(grid)
    places = []
    dtype = None
    for p in paths:
        with rasterio.open(p) as src:
            dtype = dtype or src.dtypes[0]
            if src.count != len(bands) or src.dtypes[0] != dtype:
                raise InputError(
                    p,
                    f"expected {len(bands)} bands of {dtype}",
                    "rerun the tiles for this configuration",
                )
            col, row = tile_offset(src.transform, grid)
            places.append((p, col, row, src.width, src.height))
    if not places:
        raise InputError("mosaic", "no tiles given", "pass the tile rasters")
    srs = CRS.from_user_input(crs).to_wkt()
    geo = ", ".join(repr(float(v)) for v in (gt.c, gt.a, gt.b, gt.f, gt.d, gt.e))
    out = [
        f'<VRTDataset rasterXSize="{grid["width"]}" rasterYSize="{grid["height"]}">'
        f"<SRS>{escape(srs)}</SRS><GeoTransform>{geo}</GeoTransform>",
        _mdi(metadata),
    ]
    for i, b in enumerate(bands, start=1):
        out.append(f'<VRTRasterBand dataType="{GDAL_TYPES[dtype]}" band="{i}">')
        out.append(f"<Description>{escape(b.get('description', ''))}</Description>")
        if nodata is not None:
            out.append(f"<NoDataValue>{nodata!r}</NoDataValue>")
        if b.get("unit"):
            out.append(f"<UnitType>{escape(b['unit'])}</UnitType>")
        cmap = b.get("colormap")
        if cmap:
            n = max(cmap) + 1
            entries = "".join(
                '<Entry c1="{}" c2="{}" c3="{}" c4="{}"/>'.format(*cmap.get(v, (0, 0, 0, 0)))
                for v in range(n)
            )
            out.append(f"<ColorInterp>Palette</ColorInterp><ColorTable>{entries}</ColorTable>")
        out.append(_mdi(b.get("metadata")))
        out += [
            ET.tostring(e, encoding="unicode")
            for e in class_elements(b.get("classes"))
            if e is not None
        ]
        for p, col, row, w, h in places:
            if relative_to is not None:
                rel = os.path.relpath(os.path.abspath(p), os.path.abspath(relative_to))
                src = f'<SourceFilename relativeToVRT="1">{escape(rel.replace(os.sep, "/"))}'
            else:
                src = f'<SourceFilename relativeToVRT="0">{escape(str(p))}'
            out.append(
                f"<SimpleSource>{src}"
                f"</SourceFilename><SourceBand>{i}</SourceBand>"
                f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
                f'<DstRect xOff="{col}" yOff="{row}" xSize="{w}" ySize="{h}"/></SimpleSource>'
            )
        out.append("</VRTRasterBand>")
    out.append("</VRTDataset>")
    return "".join(out)


def _mdi(md: dict | None) -> str:
    if not md:
        return ""
    return (
        "<Metadata>"
        + "".join(f"<MDI key={quoteattr(str(k))}>{escape(str(v))}</MDI>" for k, v in md.items())
        + "</Metadata>"
    )


def write_cog(
    tiles: Sequence,
    regions: Sequence,
    grid: dict,
    out_path,
    *,
    crs: str,
    nodata,
    bands: Sequence[dict],
    dtype: str | None = None,
    transform_fn=None,
    resampling: str | None = None,
    collect: bool = False,
    keep_source_nodata: bool = False,
    metadata: dict | None = None,
    cache_mb: int = GDAL_CACHE_MB,
) -> set[int]:
    """Mask every tile outside the region, mosaic them into one COG (see the module doc).

    Returns the values present inside the region when `collect`.
    """
    from rasterio.shutil import copy as rio_copy

    from sinkzone.io import atomic_path

    if len(tiles) != len(regions):
        raise InputError(
            "mosaic",
            f"{len(tiles)} tiles but {len(regions)} region tiles",
            "pass one region tile per tile",
        )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix=f".{out_path.stem}.", dir=out_path.parent)
    seen: set[int] = set()
    try:
        masked = []
        for k, (t, r) in enumerate(zip(tiles, regions, strict=True)):
            kw = {
                "nodata": nodata,
                "dtype": dtype,
                "transform_fn": transform_fn,
                "collect": collect,
                "keep_source_nodata": keep_source_nodata,
            }
            got = masked_already(t, r, **kw)
            if got is not None:  # the tile as it is: no masked copy to write and decode
                seen |= got
                masked.append(os.path.abspath(t))
                continue
            dst = os.path.join(tmpdir, f"t{k:05d}.tif")
            seen |= mask_tile(t, r, dst, grid=grid, **kw)
            masked.append(dst)
        vrt = os.path.join(tmpdir, "mosaic.vrt")
        Path(vrt).write_text(band_vrt(masked, grid, crs, bands, nodata, metadata), encoding="utf-8")
        with (
            rasterio.Env(GDAL_CACHEMAX=cache_mb),
            rasterio.open(vrt) as src,
            atomic_path(out_path) as tmp,
        ):
            if resampling is None:
                is_float = np.issubdtype(np.dtype(src.dtypes[0]), np.floating)
                resampling = "average" if is_float else "nearest"
            rio_copy(
                src,
                tmp,
                driver="COG",
                compress="deflate",
                level=COG_DEFLATE_LEVEL,
                resampling=resampling,
                bigtiff="IF_SAFER",
                num_threads=1,
                sparse_ok=True,
            )
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return seen


def write_pam(out_path, bands: Sequence[dict]) -> Path:
    """Write `<out_path>.aux.xml` (class names, units) atomically; returns its path."""
    from sinkzone.io import write_text
    from sinkzone.rastermeta import pam_xml

    aux = Path(f"{out_path}.aux.xml")
    write_text(aux, pam_xml(bands))
    return aux


def density_fn(grid: dict, nodata: float):
    """t CO2/yr per cell -> t CO2/ha/yr with the grid's true cell areas (sinkzone.grid)."""
    from sinkzone.grid import cell_areas_m2

    def fn(arr: np.ndarray, window: Window) -> np.ndarray:
        area = cell_areas_m2(grid, window).reshape((int(window.height), -1))
        if area.shape[1] > 1 and area.strides[1] == 0:
            area = area[:, :1]  # one area per row (geographic grids): divided once per row
        area_ha = area / 1e4
        if arr.dtype == np.float32 and float(np.float32(nodata)) == float(nodata):
            # float64 division rounded to float32, as below, without float64 copies of the
            # strip (same values bit for bit)
            res = np.full(arr.shape, nodata, np.float32)
            valid = np.isfinite(arr) & (arr != np.float32(nodata))
            np.divide(arr, area_ha, out=res, where=valid & (area_ha > 0), casting="same_kind")
            return res
        area_ha = np.broadcast_to(area_ha, arr.shape[1:])
        out = arr.astype(np.float64)
        valid = np.isfinite(out) & (out != nodata)
        res = np.full(out.shape, nodata, np.float64)
        np.divide(out, area_ha, out=res, where=valid & (area_ha > 0))
        return res.astype(np.float32)

    return fn


# ---------------------------------------------------------------- class tables of the mosaics


def load_classes(name, *, legend, ecosystems, regions, catalog, climate, zone_items, present):
    """The class table of a class raster from the run's tables (None for other rasters).

    `present`: the values found inside the region (province, county and zones list only those).
    """
    if name not in rastermeta.CLASS_LAYERS:
        return None
    from sinkzone.aggregate import read_regions
    from sinkzone.legend import load_ecosystems

    eco = load_ecosystems(ecosystems)
    if name in ("province", "county"):
        return rastermeta.class_table(name, regions=read_regions(regions), present=present)
    if name == "landcover":
        leg = pd.read_csv(legend, dtype=str, keep_default_na=False)
        return rastermeta.class_table(name, legend=leg, ecosystems=eco)
    if name == "climate":
        return rastermeta.class_table(name, climate=pd.read_csv(climate, dtype={"value": int}))
    if name == "primary":
        cat = pd.read_csv(catalog, dtype=str, keep_default_na=False)
        return rastermeta.class_table(name, catalog=cat)
    return rastermeta.class_table(name, ecosystems=eco, zone_items=zone_items, present=present)


def colormap(classes: pd.DataFrame | None, dtype) -> dict | None:
    """GDAL colour table for byte class rasters (nodata transparent)."""
    if classes is None or dtype != "uint8" or int(classes["value"].max()) > 254:
        return None
    return {
        int(v): (*rastermeta.hex_rgb(c), 255)
        for v, c in zip(classes["value"], classes["color"], strict=True)
    }


# dtype of the tiles of the class rasters that carry a colour table (landcover: the grid's)
PALETTE_DTYPES = {
    "ecosystem": "uint8",
    "region": "uint8",
    "climate": "uint8",
    "red_line": "uint8",
    "primary": "uint8",
}
