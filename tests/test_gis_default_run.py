"""The GIS outputs of the default national run (issue 13): every raster has an EPSG code and
nodata outside the region, class rasters carry names GDAL reads, primary/eligible/band numbers
agree, styles and the QGIS project parse, the GeoPackage names every region."""

import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio

sys.path.insert(0, str(Path(__file__).parent))
from gdal_c import read_band_info  # noqa: E402

CLASS = (
    "landcover",
    "ecosystem",
    "region",
    "province",
    "county",
    "climate",
    "zones",
    "red_line",
    "primary",
)


def check_run(results: Path) -> None:
    with rasterio.open(results / "layers" / "region.vrt") as src:
        inside = src.read(1) == 1
    # the layers: VRTs over the tiles (and COGs with outputs.layer_mosaics); the products: COGs
    tifs = sorted((results / "layers").glob("*.vrt")) + sorted((results / "layers").glob("*.tif"))
    tifs += sorted((results / "rasters").glob("*.tif")) + sorted(
        (results / "rasters").glob("*.vrt")
    )
    assert len(tifs) >= 23
    for p in tifs:
        with rasterio.open(p) as src:
            assert src.crs.to_epsg() == 4326, p
            assert src.nodata is not None, p
            for b in range(1, src.count + 1):
                a = src.read(b)
                assert (a[~inside] == src.nodata).all(), p
                assert src.units[b - 1], p
        if p.stem in CLASS:
            info = read_band_info(str(p))
            names = [r["Name"] for r in info["rat"]]
            assert names and all(names), p
            assert (p.parent / f"{p.stem}.qml").exists() and (p.parent / f"{p.stem}.sld").exists()
            ET.parse(p.parent / f"{p.stem}.qml")
            ET.parse(p.parent / f"{p.stem}.sld")
    # measure n: value n of primary = bit n-1 of eligible = band n of the share rasters
    with rasterio.open(results / "rasters" / "primary.tif") as src:
        primary = src.read(1)
    with rasterio.open(results / "rasters" / "eligible.tif") as src:
        bits = src.read(1)
    with rasterio.open(results / "rasters" / "measures_allocated.vrt") as src:
        alloc = src.read()
    with rasterio.open(results / "rasters" / "measures_eligible.vrt") as src:
        elig = src.read()
    has = inside & (primary > 0) & (primary != 255)
    n = primary[has].astype(np.int64)
    assert ((bits[has].astype(np.int64) >> (n - 1)) & 1 == 1).all()
    rows, cols = np.nonzero(has)
    assert (alloc[n - 1, rows, cols] > 0).all()
    for k in range(elig.shape[0]):
        on = (bits.astype(np.int64) >> k) & 1 == 1
        assert ((elig[k] > 0) & (elig[k] != 255) == (on & inside)).all(), k
    with zipfile.ZipFile(next(results.glob("sinkzone_*.qgz"))) as z:
        qgs = z.read(z.namelist()[0]).decode("utf-8")
    root = ET.fromstring(qgs.split("\n", 1)[1])
    for m in root.iter("maplayer"):
        src = m.findtext("datasource")
        assert src.startswith("./") and (results / src).exists(), src
    gpkg = results / "tables" / "potential_by_region.gpkg"
    names = [n for n, _ in pyogrio.list_layers(gpkg)]
    assert names[:5] == ["nation", "province", "prefecture", "county", "zone"]
    for level in names[:5]:
        df = pyogrio.read_dataframe(gpkg, layer=level)
        assert df["name_en"].notna().all() and df["name_en"].ne("").all(), level
        for c in ("pot_low", "pot_cen", "pot_high", "cells_ha", "area_km2"):
            assert df[c].notna().all(), (level, c)
        assert all(len(c) <= 10 for c in df.columns), level
    table = pd.read_csv(
        results / "tables" / "potential_by_region.csv", encoding="utf-8-sig", low_memory=False
    )
    for level, src in (
        ("nation", "nation"),
        ("province", "province"),
        ("county", "county"),
        ("prefecture", "county"),
        ("zone", "zone"),
    ):
        got = pyogrio.read_dataframe(gpkg, layer=level, read_geometry=False)["pot_cen"].sum()
        rows = table[(table.region_level == src) & (table.region_code.astype(str) != "0")]
        assert got == pytest.approx(rows["potential_central_tco2_yr"].sum(), rel=1e-9), level


def test_default_run_gis_outputs(default_run):
    check_run(default_run)
