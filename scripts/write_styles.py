"""Rule write_styles: QGIS .qml and SLD .sld beside each output raster, and the .qgz project."""

import logging
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sinkzone import styles
from sinkzone.io import atomic_path, write_text
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("write_styles")
RESULT_ORDER = ("primary", "potential_density_central", "potential_central")


def read_pam(tif) -> dict:
    """Description, unit and class table (from the raster attribute table) of band 1: from the
    PAM sidecar `<tif>.aux.xml`, or from the band of a VRT (which holds them itself)."""
    if str(tif).endswith(".vrt"):
        band = ET.parse(tif).getroot().find("VRTRasterBand")
    else:
        band = ET.parse(f"{tif}.aux.xml").getroot().find("PAMRasterBand")
    out = {"description": band.findtext("Description") or "", "unit": band.findtext("UnitType")
           or "", "classes": None}  # fmt: skip
    rat = band.find("GDALRasterAttributeTable")
    if rat is not None:
        names = [f.findtext("Name") for f in rat.findall("FieldDefn")]
        rows = [[f.text or "" for f in r.findall("F")] for r in rat.findall("Row")]
        df = pd.DataFrame(rows, columns=names)
        df["value"] = df["Value"].astype(int)
        df["color"] = ["#{:02x}{:02x}{:02x}".format(*map(int, rgb)) for rgb in
                       zip(df["Red"], df["Green"], df["Blue"], strict=True)]  # fmt: skip
        out["classes"] = df.rename(columns={"Name": "name"})
    return out


def main(*, rasters, qml, sld, qgz, run, language="en"):
    qgz_dir = Path(qgz).parent
    groups = {"Results": [], "Input layers": []}
    for tif, q, s in zip(rasters, qml, sld, strict=True):
        name = Path(tif).stem
        pam = read_pam(tif)
        title = f"{name}: {pam['description']}"
        if pam["classes"] is not None:
            renderer = styles.renderer_paletted(pam["classes"], language)
            q_text, s_text = styles.class_styles(name, title, pam["classes"], language)
        else:
            vmin, vmax = styles.display_range(tif)
            renderer = styles.renderer_ramp(vmin, vmax, pam["unit"])
            q_text, s_text = styles.ramp_styles(name, title, vmin, vmax, pam["unit"])
        write_text(q, q_text)
        write_text(s, s_text)
        group = "Results" if Path(tif).parent.name == "rasters" else "Input layers"
        rel = "./" + os.path.relpath(tif, qgz_dir).replace(os.sep, "/")
        groups[group].append({"id": f"{Path(tif).parent.name}_{name}", "name": name,
                              "source": rel, "renderer": renderer,
                              "categorical": pam["classes"] is not None,
                              "visible": name in ("primary",)})  # fmt: skip
    groups["Results"].sort(key=lambda d: (RESULT_ORDER + (d["name"],)).index(d["name"])
                           if d["name"] in RESULT_ORDER else len(RESULT_ORDER))  # fmt: skip
    from rasterio import open as rio_open

    with rio_open(rasters[0]) as src:
        crs = src.crs.to_wkt()
    text = styles.qgs_project(f"sinkzone {run}", crs, list(groups.items()))
    with atomic_path(qgz) as tmp:
        Path(tmp).write_bytes(styles.qgz_bytes(f"sinkzone_{run}.qgs", text))
    log.info("styles for %d rasters; project %s", len(rasters), qgz)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(rasters=list(i.rasters), qml=list(o.qml), sld=list(o.sld), qgz=o.qgz, run=p.run,
         language=p.language)  # fmt: skip
