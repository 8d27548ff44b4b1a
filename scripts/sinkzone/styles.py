"""QGIS (.qml) and SLD (.sld) styles for the output rasters, and a QGIS project (.qgz).

Written with xml.etree from the class tables of `sinkzone.rastermeta` (no QGIS needed). QGIS
loads `<name>.qml` beside `<name>.tif` (or `.vrt`) as the layer's default style; the `.sld` files serve
GeoServer / other OGC clients (ColorMap type "values" for classes, "ramp" for potentials).
The project `sinkzone_<run>.qgz` at the top of the run folder references every raster by a
path relative to itself (`./layers/...`), so the folder can be moved or zipped as a whole.
"""

from __future__ import annotations

import io
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence

import numpy as np
import pandas as pd

QGIS_VERSION = "3.34.0-Prizren"
# light yellow -> green -> dark green (ColorBrewer YlGn, 5 classes) for potentials and densities
RAMP = ["#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837"]
ZIP_DATE = (2000, 1, 1, 0, 0, 0)  # fixed member dates: identical bytes on reruns


def _label(row, language: str) -> str:
    zh, en = str(row.get("name_zh") or ""), str(row.get("name_en") or row.get("name") or "")
    label = zh if language == "zh" and zh else en
    return f"{int(row['value'])} {label}"


def renderer_paletted(classes: pd.DataFrame, language: str = "en") -> ET.Element:
    r = ET.Element(
        "rasterrenderer", type="paletted", band="1", opacity="1", alphaBand="-1", nodataColor=""
    )
    ET.SubElement(r, "rasterTransparency")
    pal = ET.SubElement(r, "colorPalette")
    for _, row in classes.iterrows():
        ET.SubElement(
            pal,
            "paletteEntry",
            value=str(int(row["value"])),
            color=row["color"],
            alpha="255",
            label=_label(row, language),
        )
    return r


def renderer_ramp(vmin: float, vmax: float, unit: str) -> ET.Element:
    r = ET.Element(
        "rasterrenderer",
        type="singlebandpseudocolor",
        band="1",
        opacity="1",
        alphaBand="-1",
        classificationMin=repr(vmin),
        classificationMax=repr(vmax),
        nodataColor="",
    )
    ET.SubElement(r, "rasterTransparency")
    sh = ET.SubElement(
        ET.SubElement(r, "rastershader"),
        "colorrampshader",
        colorRampType="INTERPOLATED",
        classificationMode="1",
        clip="0",
        minimumValue=repr(vmin),
        maximumValue=repr(vmax),
        labelPrecision="2",
    )
    for v, c in zip(np.linspace(vmin, vmax, len(RAMP)), RAMP, strict=True):
        ET.SubElement(
            sh, "item", value=repr(float(v)), color=c, alpha="255", label=f"{float(v):.3g} {unit}"
        )
    return r


def _pipe(renderer: ET.Element, resampling: str) -> ET.Element:
    pipe = ET.Element("pipe")
    prov = ET.SubElement(pipe, "provider")
    ET.SubElement(
        prov,
        "resampling",
        enabled="false",
        maxOversampling="2",
        zoomedInResamplingMethod=resampling,
        zoomedOutResamplingMethod=resampling,
    )
    pipe.append(renderer)
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(
        pipe,
        "huesaturation",
        saturation="0",
        grayscaleMode="0",
        colorizeOn="0",
        colorizeRed="255",
        colorizeGreen="128",
        colorizeBlue="128",
        colorizeStrength="100",
        invertColors="0",
    )
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    return pipe


def qml(renderer: ET.Element, categorical: bool) -> str:
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories")
    root.append(_pipe(renderer, "nearestNeighbour" if categorical else "bilinear"))
    ET.SubElement(root, "blendMode").text = "0"
    ET.indent(root)
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        + ET.tostring(root, encoding="unicode")
        + "\n"
    )


SLD_NS = "http://www.opengis.net/sld"


def sld(name: str, title: str, entries: Sequence[tuple[float, str, str]], kind: str) -> str:
    """SLD 1.0 RasterSymbolizer; entries (quantity, color, label); kind values | ramp."""
    ET.register_namespace("", SLD_NS)
    q = f"{{{SLD_NS}}}"
    root = ET.Element(f"{q}StyledLayerDescriptor", version="1.0.0")
    nl = ET.SubElement(root, f"{q}NamedLayer")
    ET.SubElement(nl, f"{q}Name").text = name
    us = ET.SubElement(nl, f"{q}UserStyle")
    ET.SubElement(us, f"{q}Title").text = title
    rule = ET.SubElement(ET.SubElement(us, f"{q}FeatureTypeStyle"), f"{q}Rule")
    rs = ET.SubElement(rule, f"{q}RasterSymbolizer")
    ET.SubElement(rs, f"{q}Opacity").text = "1.0"
    cm = ET.SubElement(rs, f"{q}ColorMap", type=kind)
    for qty, color, label in entries:
        ET.SubElement(
            cm, f"{q}ColorMapEntry", color=color, quantity=f"{qty:g}", label=label, opacity="1.0"
        )
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def class_styles(name: str, title: str, classes: pd.DataFrame, language: str = "en"):
    """(qml text, sld text) of a class raster."""
    entries = [(int(r["value"]), r["color"], _label(r, language)) for _, r in classes.iterrows()]
    return qml(renderer_paletted(classes, language), True), sld(name, title, entries, "values")


def ramp_styles(name: str, title: str, vmin: float, vmax: float, unit: str):
    """(qml text, sld text) of a continuous raster."""
    vals = np.linspace(vmin, vmax, len(RAMP))
    entries = [(float(v), c, f"{float(v):.3g} {unit}") for v, c in zip(vals, RAMP, strict=True)]
    return qml(renderer_ramp(vmin, vmax, unit), False), sld(name, title, entries, "ramp")


# Longest side (cells) read by display_range from a raster without overviews (a layer VRT).
DISPLAY_READ_CELLS = 1024


def display_range(path, nodata=None, q: float = 98.0) -> tuple[float, float]:
    """(0, q-th percentile of the valid values > 0) read from the smallest overview, or, without
    overviews (a VRT over tiles), from a nearest-neighbour read of at most DISPLAY_READ_CELLS
    cells per side (memory bounded whatever the raster size)."""
    import rasterio

    with rasterio.open(path) as src:
        ovr = src.overviews(1)
        f = ovr[-1] if ovr else max(1, -(-max(src.height, src.width) // DISPLAY_READ_CELLS))
        arr = src.read(1, out_shape=(max(1, src.height // f), max(1, src.width // f)))
        nd = src.nodata if nodata is None else nodata
    v = arr[np.isfinite(arr)]
    if nd is not None:
        v = v[v != nd]
    v = v[v > 0]
    hi = float(np.percentile(v, q)) if v.size else 1.0
    return 0.0, float(f"{hi:.3g}") if hi > 0 else 1.0


# ------------------------------------------------------------------ QGIS project


def _srs(crs) -> ET.Element:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    s = ET.Element("spatialrefsys", nativeFormat="Wkt")
    ET.SubElement(s, "wkt").text = c.to_wkt()
    with warnings.catch_warnings():  # a PROJ string loses detail; QGIS reads the WKT first
        warnings.simplefilter("ignore", UserWarning)
        ET.SubElement(s, "proj4").text = c.to_proj4() or ""
    code = c.to_epsg()
    ET.SubElement(s, "authid").text = f"EPSG:{code}" if code else ""
    ET.SubElement(s, "description").text = c.name
    ET.SubElement(s, "geographicflag").text = "true" if c.is_geographic else "false"
    return s


def qgs_project(title: str, crs, groups: Sequence[tuple[str, Sequence[dict]]]) -> str:
    """QGIS project XML. groups: [(group name, [layer dicts])]; a layer dict has `id`,
    `name`, `source` (relative path), `renderer` (Element) and `categorical`, `visible`."""
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    ET.SubElement(ET.SubElement(root, "projectCrs"), "spatialrefsys").extend(list(_srs(crs)))
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    layers = ET.SubElement(root, "projectlayers")
    order = []
    for gname, items in groups:
        g = ET.SubElement(tree, "layer-tree-group", name=gname, checked="Qt::Checked", expanded="1")
        for it in items:
            ET.SubElement(
                g,
                "layer-tree-layer",
                id=it["id"],
                name=it["name"],
                source=it["source"],
                providerKey="gdal",
                expanded="0",
                checked="Qt::Checked" if it.get("visible") else "Qt::Unchecked",
            )
            m = ET.SubElement(
                layers,
                "maplayer",
                type="raster",
                hasScaleBasedVisibilityFlag="0",
                styleCategories="AllStyleCategories",
            )
            ET.SubElement(m, "id").text = it["id"]
            ET.SubElement(m, "datasource").text = it["source"]
            ET.SubElement(m, "layername").text = it["name"]
            ET.SubElement(ET.SubElement(m, "srs"), "spatialrefsys").extend(list(_srs(crs)))
            ET.SubElement(m, "provider").text = "gdal"
            m.append(
                _pipe(it["renderer"], "nearestNeighbour" if it.get("categorical") else "bilinear")
            )
            ET.SubElement(m, "blendMode").text = "0"
            order.append(it["id"])
    lo = ET.SubElement(tree, "custom-order", enabled="0")
    for i in order:
        ET.SubElement(lo, "item").text = i
    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    ET.indent(root)
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        + ET.tostring(root, encoding="unicode")
        + "\n"
    )


def qgz_bytes(qgs_name: str, qgs_text: str) -> bytes:
    """A .qgz: a zip holding the .qgs (fixed member date: identical bytes on reruns)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(qgs_name, date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, qgs_text.encode("utf-8"))
    return buf.getvalue()
