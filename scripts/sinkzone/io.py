"""Raster and table I/O helpers shared by the rule wrappers. Writes are atomic.

Reading a user file (land cover, DEM, climate, precipitation, legends, tables, YAML, vector
files) goes through the `reading` context manager or the readers built on it (`open_raster`,
`read_raster`, `read_csv`, `read_yaml`, `read_dataframe`): a library error (rasterio/GDAL incl.
``CPLE_AppDefinedError ... IReadBlock failed``, pyogrio, pandas, PyYAML, a decoding error) is
turned into one `InputError` naming the file, what is wrong (the pixel block or line where the
library says so) and the fix. Errors raised by the project's own code are not touched: a
Python traceback means a bug.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from sinkzone.errors import InputError, SinkzoneError


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; rename it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates 0600 files; give outputs the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# Compression of the layer tiles: Zstandard level 1 writes about 8x faster than deflate level 6
# with files as small, and decompresses as fast (benchmarks/profile_build_layers.md). GDAL reads
# it since 2.3 (QGIS 3 on every platform); outputs.layer_mosaics / measure_mosaics write
# deflate COGs for other readers.
TILE_COMPRESSION = {"compress": "zstd", "zstd_level": 1}
# Float tiles add GDAL's floating-point predictor (PREDICTOR=3): on a 30 m benchmark tile the
# smooth float layers shrink 5-10 x (precipitation 37 -> 5 MB, depth 41 -> 8.5 MB, coast
# distance 38 -> 3.5 MB) at about the same write time; every reader of GeoTIFF handles it.
FLOAT_PREDICTOR = {"predictor": 3}


def tile_compression(dtype) -> dict:
    """Creation options of an intermediate tile of `dtype` (TILE_COMPRESSION, + predictor)."""
    return TILE_COMPRESSION | (FLOAT_PREDICTOR if np.dtype(dtype).kind == "f" else {})


def write_raster(
    path: str | Path,
    array: np.ndarray,
    *,
    crs,
    transform,
    nodata=None,
    descriptions: list[str] | None = None,
    tags: dict | None = None,
    colormap: dict | None = None,
    cog: bool = False,
    compression: dict | None = None,
) -> None:
    """Write a 2-D (or 3-D band-first) array as a deflate GeoTIFF (or COG), atomically.

    `compression` replaces the GeoTIFF's compression options (e.g. {"compress": "zstd",
    "zstd_level": 1} for intermediate tiles, see `TILE_COMPRESSION`)."""
    arr = array if array.ndim == 3 else array[np.newaxis]
    profile = {
        "driver": "COG" if cog else "GTiff",
        "height": arr.shape[1],
        "width": arr.shape[2],
        "count": arr.shape[0],
        "dtype": arr.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
    }
    if not cog:
        profile.update(
            tiled=arr.shape[1] >= 256 and arr.shape[2] >= 256, blockxsize=256, blockysize=256
        )
        if compression:
            profile = {k: v for k, v in profile.items() if k != "compress"} | compression
    with atomic_path(path) as tmp:
        if cog:
            # The COG driver is write-once from a dataset: stage in memory, then copy.
            from rasterio.io import MemoryFile
            from rasterio.shutil import copy as rio_copy

            mem_profile = dict(profile, driver="GTiff")
            with MemoryFile() as mem:
                with mem.open(**mem_profile) as dst:
                    _fill(dst, arr, descriptions, tags, colormap)
                with mem.open() as src:
                    rio_copy(src, tmp, driver="COG", compress="deflate")
        else:
            with rasterio.open(tmp, "w", **profile) as dst:
                _fill(dst, arr, descriptions, tags, colormap)


def _fill(dst, arr, descriptions, tags, colormap):
    if colormap:  # before the pixels: GDAL cannot change the photometric tag after writing
        dst.write_colormap(1, colormap)
    dst.write(arr)
    for i, d in enumerate(descriptions or [], start=1):
        dst.set_band_description(i, d)
    if tags:
        dst.update_tags(**{k: str(v) for k, v in tags.items()})


CSV_ENCODING = "utf-8-sig"  # UTF-8 with a byte-order mark: Excel then reads Chinese text right


def write_csv(path: str | Path, df: pd.DataFrame, **kwargs) -> None:
    """Write a CSV atomically as UTF-8 with a byte-order mark, "\\n" line ends, no index.

    The one writer of every CSV the workflow produces. The BOM (EF BB BF) makes Excel decode
    the Chinese names as UTF-8 (without it, Excel on a Chinese Windows reads GBK and garbles
    them); pandas strips it on reading, and Python's csv module does with
    ``encoding="utf-8-sig"``. Floats keep whatever formatting the caller gave them
    (:func:`sinkzone.aggregate.format_table` fixes decimals), so reruns are byte-identical.
    """
    kwargs.setdefault("index", False)
    kwargs.setdefault("lineterminator", "\n")
    kwargs["encoding"] = CSV_ENCODING
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


FIXED_GPKG_DATE = "2000-01-01T00:00:00.000Z"  # gpkg_contents.last_change, for identical reruns


@contextlib.contextmanager
def fixed_gpkg_date():
    """Make GDAL stamp GeoPackages with a fixed date, so reruns write identical bytes."""
    import pyogrio

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


# ------------------------------------------------------------------ reading user files

RASTER_FIX = "supply a GeoTIFF (or another GDAL raster format)"
DAMAGED_FIX = (
    "the file is truncated or damaged: copy or download it again and compare its size and "
    "checksum with the original (gdalinfo -checksum FILE reads every block)"
)
KINDS = ("raster", "vector", "table", "yaml", "netcdf", "file")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts (GDAL puts the real message in the cause)."""
    out: list[BaseException] = []
    while exc is not None and exc not in out and len(out) < 8:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def _clean(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split())
    text = text.replace(". Fix:", "; fix:").rstrip(". ")  # keep one 'Fix:' per message
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _detail(exc: BaseException) -> str:
    """The most telling library message of the chain (GDAL's block error, not 'Read failed')."""
    msgs = [_clean(e) for e in _chain(exc) if str(e).strip()]
    for pat in ("IReadBlock", "Read error", "TIFFRead", "line ", "row ", "column "):
        for m in msgs:
            if pat in m:
                return m
    generic = ("See previous exception", "Read failed")
    useful = [m for m in msgs if not any(g in m for g in generic)]
    return (useful or msgs or [type(exc).__name__])[0]


PIXEL_ERRORS = (
    "TIFFReadEncoded",
    "TIFFFill",
    "Read error at",
    "ReadBlock",
    "decompress",
    "Decoding",
)
_BLOCK = re.compile(r"IReadBlock failed at X offset (\d+), Y offset (\d+)")


def input_error(
    exc: BaseException,
    path,
    what: str | None = None,
    kind: str = "file",
    where: str = "",
    block_shape: tuple[int, int] | None = None,
) -> InputError:
    """The one-line InputError for a library exception raised while reading `path`.

    `what` is the config key (``config.yaml:landcover``) shown before the path; `where` a
    position the caller knows (``rows 0-255``) when the library does not say. With the
    raster's `block_shape` (rows, cols) a GDAL block error names the block's pixel rows.
    """
    label = f"{what} ({path})" if what else str(path)
    detail = _detail(exc)
    text = " ".join(str(e) for e in _chain(exc))
    at = f" at {where}" if where else ""
    if isinstance(exc, FileNotFoundError) or "No such file or directory" in text:
        return InputError(label, "file not found", "check the path in the configuration")
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return InputError(label, "permission denied", "make the file readable for this user")
    if isinstance(exc, IsADirectoryError):
        return InputError(label, "is a directory, not a file", "name the file itself")
    if isinstance(exc, MemoryError):
        return InputError(
            label, "too large to read into memory", "use a smaller or tiled/compressed file"
        )
    if kind == "raster":
        m = _BLOCK.search(text)
        if m or any(k in text for k in PIXEL_ERRORS):
            block = f" (pixel block X offset {m.group(1)}, Y offset {m.group(2)})" if m else ""
            if m and block_shape:
                bh, bw = block_shape
                r0, c0 = int(m.group(2)) * bh, int(m.group(1)) * bw
                at = f" at rows {r0}-{r0 + bh - 1}, columns {c0}-{c0 + bw - 1}"
                block = f" (block {m.group(1)},{m.group(2)} of {bh} x {bw} pixels)"
            return InputError(label, f"pixel data unreadable{at}{block}: {detail}", DAMAGED_FIX)
        if "not recognized as being in a supported file format" in text or "not recognised" in text:
            return InputError(label, f"cannot be opened as a raster ({detail})", RASTER_FIX)
        return InputError(label, f"cannot be read as a raster{at} ({detail})", DAMAGED_FIX)
    if kind == "vector":
        return InputError(
            label,
            f"not a readable vector file ({detail})",
            "supply a GeoPackage, Shapefile, GeoJSON, FlatGeobuf or GeoParquet file; if it "
            "is one, copy it again (it may be truncated or damaged)",
        )
    if kind == "netcdf":
        return InputError(label, f"cannot be read as netCDF ({detail})", DAMAGED_FIX)
    if isinstance(exc, UnicodeDecodeError):
        return InputError(
            label,
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at byte offset {exc.start})",
            "save the file as UTF-8 (plain text; no spreadsheet or binary file)",
        )
    if kind == "yaml":
        import yaml

        mark = getattr(exc, "problem_mark", None)
        pos = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or detail
        if isinstance(exc, yaml.YAMLError):
            return InputError(label, f"invalid YAML{pos} ({_clean(problem)})", "fix the syntax")
        return InputError(label, f"cannot be read as YAML ({detail})", "fix the file")
    if kind == "table":
        if isinstance(exc, pd.errors.EmptyDataError):
            return InputError(label, "the table is empty", "write a header line and the rows")
        if isinstance(exc, pd.errors.ParserError):
            return InputError(
                label,
                f"not a valid CSV table ({detail})",
                "give every line as many comma-separated cells as the header (quote cells "
                "that contain commas)",
            )
        if isinstance(exc, (ValueError, TypeError)):
            return InputError(
                label,
                f"a cell does not have the expected type ({detail})",
                "correct the cell (numbers where numbers are expected)",
            )
        return InputError(label, f"cannot be read as a CSV table ({detail})", "check the file")
    return InputError(label, f"cannot be read ({detail})", "check the file")


@contextlib.contextmanager
def reading(path, what: str | None = None, kind: str = "file", where: str = ""):
    """Turn library errors raised inside the block into `input_error(...)`.

    Wrap only the library call that reads the user file, never the project's own processing:
    a bug in our code must keep its traceback.
    """
    try:
        yield
    except (SinkzoneError, KeyboardInterrupt, SystemExit, RecursionError):
        raise
    except Exception as exc:  # noqa: BLE001 (library errors of any type: that is the point)
        raise input_error(exc, path, what, kind, where) from exc


def open_raster(path, what: str | None = None):
    """rasterio.open(path) with one-line errors; use as ``with open_raster(p) as src:``."""
    p = Path(path)
    if not p.exists():
        label = f"{what} ({path})" if what else str(path)
        raise InputError(label, "file not found", "check the path in the configuration")
    with reading(path, what, "raster"):
        return rasterio.open(p)


def read_raster(src, path, what: str | None = None, band: int = 1, **kwargs) -> np.ndarray:
    """src.read(band, **kwargs) with one-line errors naming the window of an unreadable block."""
    win = kwargs.get("window")
    where = ""
    if win is not None:
        from rasterio.windows import Window

        if not isinstance(win, Window):
            win = Window.from_slices(*win) if isinstance(win[0], tuple) else Window(*win)
        r0, c0 = int(win.row_off), int(win.col_off)
        where = f"rows {r0}-{r0 + int(win.height) - 1}, columns {c0}-{c0 + int(win.width) - 1}"
    try:
        return src.read(band, **kwargs)
    except Exception as exc:  # noqa: BLE001 (library errors of any type)
        try:
            shape = tuple(src.block_shapes[band - 1])
        except Exception:  # noqa: BLE001
            shape = None
        raise input_error(exc, path, what, "raster", where, shape) from exc


def read_csv(path, what: str | None = None, **kwargs) -> pd.DataFrame:
    """pandas.read_csv with one-line errors (bad rows, encoding, empty file, wrong types)."""
    with reading(path, what, "table"):
        return pd.read_csv(path, **kwargs)


def read_text(path, what: str | None = None, kind: str = "file") -> str:
    """A UTF-8 text file (a BOM is dropped) with one-line errors."""
    with reading(path, what, kind):
        return Path(path).read_bytes().decode("utf-8-sig")


def read_yaml(path, what: str | None = None, loader=None):
    """yaml.load (SafeLoader by default) of a UTF-8 file with one-line errors naming the line."""
    import yaml

    text = read_text(path, what, "yaml")
    with reading(path, what, "yaml"):
        return yaml.load(text, Loader=loader or yaml.SafeLoader)  # noqa: S506 (safe loaders)


def read_dataframe(path, what: str | None = None, reader=None, **kwargs):
    """A vector layer (geopandas.read_file with pyogrio, or `reader`) with one-line errors."""
    import geopandas as gpd

    with reading(path, what, "vector"):
        if reader is not None:
            return reader(path, **kwargs)
        return gpd.read_file(path, engine="pyogrio", **kwargs)
