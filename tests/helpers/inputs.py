"""Paths of the shipped config, the synthetic region and small raster writers, shared by the
bad-input, reliability and fuzz tests."""

import copy
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
import yaml
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[2]
ECOSYSTEMS = ROOT / "config" / "ecosystems.csv"
LEGEND = ROOT / "config" / "legends" / "igbp.csv"
SCHEMA = ROOT / "config" / "schema.yaml"
CATALOG = ROOT / "config" / "technologies.csv"
SUITABILITY = ROOT / "config" / "suitability.yaml"
DEFAULT = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
ZONE_IDS = [z["id"] for z in DEFAULT["zones"]["items"]]
BOUNDS = (116.0, 39.6, 116.4, 39.9)  # region of the synthetic inputs (EPSG:4326)
REGION = shapely.box(*BOUNDS)


def write_tif(path, arr, *, crs="EPSG:4326", nodata=255, origin=(115.9, 40.0), res=0.01):
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": arr.dtype.name,
        "nodata": nodata,
        "transform": from_origin(origin[0], origin[1], res, res),
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
    return Path(path)


def landcover(path, *, unknown=False, **kw):
    """50 x 60 cells of 0.01 deg over 115.9-116.5 E, 39.5-40.0 N: cropland (12), optionally a
    3 x 4 patch of code 77 (not in the IGBP legend) inside the region."""
    arr = np.full((50, 60), 12, np.uint8)
    if unknown:
        arr[20:23, 20:24] = 77
    return write_tif(path, arr, **kw)


def raises(exc, fn, *args, **kwargs) -> str:
    with pytest.raises(exc) as e:
        fn(*args, **kwargs)
    msg = str(e.value)
    assert msg.count(". Fix: ") == 1 and "\n" not in msg, msg  # one line: what: problem. Fix
    return msg


def merged(**over):
    cfg = copy.deepcopy(DEFAULT)
    for dotted, value in over.items():
        node = cfg
        *head, last = dotted.split("__")
        for k in head:
            node = node[k]
        node[last] = value
    return cfg
