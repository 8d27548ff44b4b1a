"""What a GIS user needs beside the pixels of every output raster (docs/OUTPUTS_RASTERS.md).

* an EPSG-coded CRS (`output_crs`): geographic grids are labelled EPSG:4326 (or EPSG:4490,
  CGCS2000, with `outputs.crs`), keeping every cell position in degrees;
* nodata outside the region on every raster (`OUTPUT_NODATA`, applied by `sinkzone.mosaic`);
* units and a description on every band (`UNITS`, `DESCRIPTIONS`);
* class names on every class raster (`class_table`), written as a GDAL raster attribute table
  and category names in the PAM sidecar `<raster>.tif.aux.xml` (`pam_xml`), which GDAL, QGIS
  (3.30+) and ArcGIS read; the names are also band metadata items `class_<value>` inside the
  TIFF, so they travel with the file.

Measure numbers: measure *n* (1-based row of config/technologies.csv) is value *n* of
`primary.tif`, bit *n - 1* of `eligible.tif` and band *n* of `measures_eligible.tif` /
`measures_allocated.tif` (value 0 of primary = no measure allocated).
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

import pandas as pd

from sinkzone import layerspec
from sinkzone.errors import ConfigError
from sinkzone.layerspec import CLASS_KINDS

log = logging.getLogger(__name__)

CRS_CHOICES = ("auto", "EPSG:4326", "EPSG:4490", "source")

# Largest datum offset between geodetic datums in use (local datums vs WGS84), metres. Tokyo
# datum vs WGS84 is ~450-700 m, Beijing 1954 / Xi'an 1980 vs CGCS2000 up to ~100-150 m
# (ESTIMATE, order of magnitude); we only claim "below 1 km".
MAX_DATUM_SHIFT_M = 1000.0
M_PER_DEG_LAT = 110_574.0  # metres per degree of latitude at the equator (WGS84)


def output_crs(grid_crs, choice: str = "auto", cell_deg: float | None = None) -> tuple[str, str]:
    """(CRS written into the output rasters, a one-line note saying what was done).

    Geographic grids (degrees, Greenwich): `auto` keeps the grid's EPSG code when it has one
    and otherwise labels it EPSG:4326; `EPSG:4326` / `EPSG:4490` label it so. Only the datum
    label changes: the cell positions in degrees are identical. The source data of the default
    run (MODIS MCD12C1) declares an "unknown" datum on the Clarke 1866 ellipsoid with no datum
    shift, so its degrees are already read as WGS84 degrees by GDAL/PROJ (a null
    transformation); any datum difference is below 1 km, under the 0.05 degree cell
    (3.3-5.6 km over China). Cell areas keep being computed on the grid's own ellipsoid.
    Projected grids keep their CRS (as EPSG:n when PROJ finds a code); EPSG:4326/4490 cannot
    label a projected grid, so the choice is logged and ignored. `source` keeps the grid CRS.
    """
    from pyproj import CRS

    if choice not in CRS_CHOICES:
        raise ConfigError(
            "config.yaml:outputs.crs",
            f"{choice!r} is not one of {CRS_CHOICES}",
            f"use one of {', '.join(CRS_CHOICES)}",
        )
    crs = CRS.from_user_input(grid_crs)
    if choice == "source":
        return crs.to_wkt(), f"source CRS kept ({crs.name})"
    if crs.is_geographic:
        pm = crs.prime_meridian
        unit = crs.axis_info[0].unit_name if crs.axis_info else "degree"
        if (pm is not None and abs(pm.longitude) > 1e-12) or "degree" not in unit:
            code = crs.to_epsg(min_confidence=70)
            return (
                f"EPSG:{code}" if code else crs.to_wkt()
            ), f"geographic CRS {crs.name} kept (non-Greenwich or non-degree axes)"
        code = crs.to_epsg(min_confidence=90)
        if choice == "auto" and code:
            return f"EPSG:{code}", f"grid CRS EPSG:{code}"
        target = "EPSG:4326" if choice == "auto" else choice
        if code and f"EPSG:{code}" == target:
            return target, f"grid CRS {target}"
        size = (
            ""
            if cell_deg is None
            else f" (cell {cell_deg:g} deg = {cell_deg * M_PER_DEG_LAT / 1000:.1f} km north-south)"
        )
        return target, (
            f"grid CRS '{crs.name}' (datum '{crs.datum.name if crs.datum else '?'}') labelled "
            f"{target}: cell positions in degrees unchanged; the datum difference is below "
            f"{MAX_DATUM_SHIFT_M / 1000:g} km, less than the cell size{size}"
        )
    code = crs.to_epsg(min_confidence=70)
    if choice in ("EPSG:4326", "EPSG:4490"):
        log.warning(
            "outputs.crs %s labels geographic grids only; the grid is projected (%s): kept",
            choice,
            crs.name,
        )
    return (f"EPSG:{code}" if code else crs.to_wkt()), f"projected grid CRS {crs.name} kept"


# ------------------------------------------------------------------ per raster metadata

LEVELS = ("low", "central", "high")


def output_metadata(doc: dict) -> tuple[dict, dict, dict, tuple]:
    """(OUTPUT_NODATA, UNITS, DESCRIPTIONS, CLASS_LAYERS) of the layers and products of a
    layer specification (config/layers.yaml). A product with levels has one raster per rate
    level ({name}_{level}) and one description with a {level} placeholder."""
    nodata, units, descriptions, classes = {}, {}, {}, []
    for name, v in doc["layers"].items():
        if v["output_nodata"] is not None:
            nodata[name] = v["output_nodata"]
        units[name] = v["unit"]
        descriptions[name] = v["description"]
        if v["kind"] in CLASS_KINDS:
            classes.append(name)
    for name, v in doc["products"].items():
        names = [f"{name}_{lv}" for lv in LEVELS] if v.get("levels") else [name]
        for n in names:
            nodata[n] = v["output_nodata"]
            units[n] = v["unit"]
        descriptions[name] = v["description"]
        if v["class"]:
            classes.append(name)
    return nodata, units, descriptions, tuple(classes)


# nodata of each output raster: every cell outside the region holds it (zones gets 65535 and
# red_line 255, as their tiles use 0 = "no zone"/"outside red lines" inside the region); units
# and a description of every band; the class rasters. All from config/layers.yaml.
OUTPUT_NODATA, UNITS, DESCRIPTIONS, CLASS_LAYERS = output_metadata(layerspec.spec())
BINARY = {
    "region": [(1, "inside the analysis region", "分析区域内", "#4d4d4d")],
    "red_line": [
        (0, "outside red lines", "红线外", "#ececec"),
        (1, "inside an ecological red line", "生态保护红线内", "#1a9850"),
    ],
}
PALETTE = [
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
    "#a6cee3",
    "#1f78b4",
    "#b2df8a",
    "#33a02c",
    "#fb9a99",
    "#e31a1c",
    "#fdbf6f",
    "#ff7f00",
    "#cab2d6",
    "#6a3d9a",
    "#ffff99",
    "#b15928",
]
NO_MEASURE_COLOR = "#f0f0f0"
CLASS_COLUMNS = ["value", "name", "name_en", "name_zh", "color"]


def product_key(name: str) -> str:
    """`potential_low` -> `potential`, `potential_density_high` -> `potential_density`."""
    for level in (f"_{lv}" for lv in LEVELS):
        if name.endswith(level) and name.startswith("potential"):
            return name[: -len(level)]
    return name


def description(name: str) -> str:
    key = product_key(name)
    level = name[len(key) + 1 :] if key != name else ""
    return DESCRIPTIONS[key].format(level=level)


def out_nodata(name: str, grid: dict):
    """nodata of an output raster (landcover: the source's, else the dtype's maximum)."""
    if name == "landcover":
        return layerspec.output_nodata(name, grid)
    return OUTPUT_NODATA[name]


MEASURE_RASTERS = ("measures_eligible", "measures_allocated")


def measure_bands(name: str, ids: Sequence[str], meta: dict) -> list[dict]:
    """Band descriptions of a per-measure share raster: band n = measure n (catalog row n)."""
    return [
        {
            "description": f"measure {n}: {m}, {description(name)}",
            "unit": UNITS[name],
            "metadata": meta | {"measure_id": m, "measure": n},
        }
        for n, m in enumerate(ids, start=1)
    ]


def _frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=CLASS_COLUMNS)
    df["value"] = df["value"].astype("int64")
    return df


def zone_combinations(values: Iterable[int], zone_items: Sequence[dict]) -> pd.DataFrame:
    """Names of zone bitmask values ("qtp + coastal"; 0 = "no zone")."""
    rows = []
    for v in sorted({int(v) for v in values}):
        bits = [i for i in range(len(zone_items)) if v >> i & 1]
        if not bits:
            rows.append((0, "none", "no zone or belt", "不在重点生态区", NO_MEASURE_COLOR))
            continue
        en = " + ".join(str(zone_items[i].get("name_en", zone_items[i]["id"])) for i in bits)
        zh = " + ".join(str(zone_items[i].get("name_zh", zone_items[i]["id"])) for i in bits)
        ident = "+".join(str(zone_items[i]["id"]) for i in bits)
        rows.append((v, ident, en, zh, PALETTE[(v - 1) % len(PALETTE)]))
    return _frame(rows)


def class_table(
    layer: str,
    *,
    legend: pd.DataFrame | None = None,
    ecosystems: pd.DataFrame | None = None,
    regions: pd.DataFrame | None = None,
    catalog: pd.DataFrame | None = None,
    zone_items: Sequence[dict] | None = None,
    climate: pd.DataFrame | None = None,
    present: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Classes of a class raster: value, name (short id), name_en, name_zh, color (#rrggbb).

    `present` (values found in the raster) limits the long lists (province, county) and names
    the zone combinations that occur (all 2**n combinations when not given and n <= 8).
    Primary carries extra columns `eligible_bit` and `band` (measure n: value n, bit n-1,
    band n of the per-measure rasters).
    """
    if layer in BINARY:
        return _frame([(v, en, en, zh, c) for v, en, zh, c in BINARY[layer]])
    if layer == "ecosystem":
        e = ecosystems
        return _frame(
            [
                (int(r["id"]), r["name"], r["name_en"], r["name_zh"], r["color"])
                for _, r in e.iterrows()
            ]
        )
    if layer == "landcover":
        eco_color = (
            {}
            if ecosystems is None
            else dict(zip(ecosystems["name"], ecosystems["color"], strict=True))
        )
        eco_zh = (
            {}
            if ecosystems is None
            else dict(zip(ecosystems["name"], ecosystems["name_zh"], strict=True))
        )
        rows = []
        for i, (_, r) in enumerate(legend.iterrows()):
            eco = str(r.get("ecosystem", "") or "")
            zh = r.get("name_zh") if "name_zh" in legend.columns else None
            zh = (
                zh
                if isinstance(zh, str) and zh
                else (f"{r['name']}（{eco_zh[eco]}）" if eco in eco_zh else str(r["name"]))
            )
            rows.append(
                (
                    int(r["code"]),
                    str(r["name"]),
                    str(r["name"]),
                    zh,
                    eco_color.get(eco, PALETTE[i % len(PALETTE)]),
                )
            )
        return _frame(rows)
    if layer == "climate":
        return _frame(
            [
                (int(r["value"]), r["code"], r["name_en"], r["name_zh"], r["color"])
                for _, r in climate.iterrows()
            ]
        )
    if layer in ("province", "county"):
        sub = regions[regions["level"] == layer]
        if present is not None:
            sub = sub[sub["code"].astype("int64").isin({int(v) for v in present})]
        rows = [
            (int(r["code"]), str(r["code"]), r["name_en"], r["name_zh"], PALETTE[i % len(PALETTE)])
            for i, (_, r) in enumerate(sub.iterrows())
        ]
        return _frame(rows)
    if layer == "zones":
        n = len(zone_items)
        if present is None:
            if n > 8:
                raise ValueError("pass the zone values present when there are more than 8 zones")
            present = range(2**n)
        return zone_combinations(present, zone_items)
    if layer == "primary":
        from sinkzone.allocate import PALETTE as MEASURE_PALETTE

        rows = [(0, "none", "no measure allocated", "未分配措施", NO_MEASURE_COLOR)]
        for k, (_, r) in enumerate(catalog.iterrows()):
            rows.append(
                (
                    k + 1,
                    r["id"],
                    r["name_en"],
                    r["name_zh"],
                    MEASURE_PALETTE[k % len(MEASURE_PALETTE)],
                )
            )
        df = _frame(rows)
        df["eligible_bit"] = [-1] + list(range(len(catalog)))
        df["band"] = [0] + list(range(1, len(catalog) + 1))
        return df
    raise ValueError(f"{layer} is not a class raster")


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


# ------------------------------------------------------------------ PAM sidecar (.aux.xml)

# GDAL enums (gdal.h): GDALRATFieldType and GDALRATFieldUsage
GFT_INTEGER, GFT_REAL, GFT_STRING = 0, 1, 2
GFU_GENERIC, GFU_NAME, GFU_MINMAX, GFU_RED, GFU_GREEN, GFU_BLUE, GFU_ALPHA = 0, 2, 5, 6, 7, 8, 9
MAX_CATEGORY_VALUE = 4096  # category names are indexed by value: only for small codes


def _rat(classes: pd.DataFrame) -> ET.Element:
    rat = ET.Element("GDALRasterAttributeTable", tableType="thematic")
    extra = [c for c in classes.columns if c not in CLASS_COLUMNS]
    fields = [
        ("Value", GFT_INTEGER, GFU_MINMAX),
        ("Name", GFT_STRING, GFU_NAME),
        ("name_en", GFT_STRING, GFU_GENERIC),
        ("name_zh", GFT_STRING, GFU_GENERIC),
    ]
    fields += [(c, GFT_INTEGER, GFU_GENERIC) for c in extra]
    fields += [
        ("Red", GFT_INTEGER, GFU_RED),
        ("Green", GFT_INTEGER, GFU_GREEN),
        ("Blue", GFT_INTEGER, GFU_BLUE),
        ("Alpha", GFT_INTEGER, GFU_ALPHA),
    ]
    for i, (name, ftype, usage) in enumerate(fields):
        fd = ET.SubElement(rat, "FieldDefn", index=str(i))
        ET.SubElement(fd, "Name").text = name
        ET.SubElement(fd, "Type").text = str(ftype)
        ET.SubElement(fd, "Usage").text = str(usage)
    for i, (_, r) in enumerate(classes.iterrows()):
        row = ET.SubElement(rat, "Row", index=str(i))
        vals = [int(r["value"]), r["name"], r["name_en"], r["name_zh"]]
        vals += [int(r[c]) for c in extra]
        vals += [*hex_rgb(r["color"]), 255]
        for v in vals:
            ET.SubElement(row, "F").text = str(v)
    return rat


def category_names(classes: pd.DataFrame) -> list[str] | None:
    """GDAL category names (index = value), English names; None when values are too large."""
    if (
        classes.empty
        or int(classes["value"].max()) > MAX_CATEGORY_VALUE
        or int(classes["value"].min()) < 0
    ):
        return None
    names = [""] * (int(classes["value"].max()) + 1)
    for v, n in zip(classes["value"], classes["name_en"], strict=True):
        names[int(v)] = str(n)
    return names


def pam_xml(bands: Sequence[dict]) -> str:
    """PAM sidecar text: per band description, unit, metadata, category names and RAT.

    Each band dict: `description`, `unit`, optional `classes` (class_table frame) and
    `metadata` ({key: value}).
    """
    root = ET.Element("PAMDataset")
    for i, b in enumerate(bands, start=1):
        band = ET.SubElement(root, "PAMRasterBand", band=str(i))
        ET.SubElement(band, "Description").text = b.get("description", "")
        if b.get("unit"):
            ET.SubElement(band, "UnitType").text = b["unit"]
        md = dict(b.get("metadata") or {})
        names, rat = class_elements(b.get("classes"))
        if names is not None:
            band.append(names)
        if md:
            m = ET.SubElement(band, "Metadata")
            for k, v in md.items():
                ET.SubElement(m, "MDI", key=str(k)).text = str(v)
        if rat is not None:
            band.append(rat)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def class_elements(classes: pd.DataFrame | None) -> tuple[ET.Element | None, ET.Element | None]:
    """(CategoryNames, GDALRasterAttributeTable) elements of a band with classes (None, None
    without): the same elements in a PAM sidecar and inside a VRT band."""
    if classes is None or not len(classes):
        return None, None
    names = category_names(classes)
    cn = None
    if names is not None:
        cn = ET.Element("CategoryNames")
        for n in names:
            ET.SubElement(cn, "Category").text = n
    return cn, _rat(classes)


def class_metadata(classes: pd.DataFrame | None, limit: int = 512) -> dict[str, str]:
    """`class_<value>` metadata items stored inside the TIFF (at most `limit` classes)."""
    if classes is None or len(classes) > limit:
        return {}
    return {
        f"class_{int(v)}": f"{en} | {zh}"
        for v, en, zh in zip(classes["value"], classes["name_en"], classes["name_zh"], strict=True)
    }
