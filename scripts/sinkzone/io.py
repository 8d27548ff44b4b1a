"""Raster and table I/O helpers shared by the rule wrappers. Writes are atomic."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio


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
) -> None:
    """Write a 2-D (or 3-D band-first) array as a deflate GeoTIFF (or COG), atomically."""
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
        profile.update(tiled=arr.shape[1] >= 256 and arr.shape[2] >= 256, blockxsize=256, blockysize=256)
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
