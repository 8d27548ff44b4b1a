"""Output rasters for GIS users: EPSG CRS, nodata outside the region, units, class names read
back with GDAL (C API), density, per-measure shares, styles and the QGIS project."""

import json
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import mosaic_rasters
import numpy as np
import pandas as pd
import pytest
import rasterio
import write_styles
from affine import Affine
from rasterio.windows import Window

from sinkzone import rastermeta as rm
from sinkzone.errors import ConfigError
from sinkzone.grid import cell_areas_m2
from sinkzone.io import write_raster

sys.path.insert(0, str(Path(__file__).parent))
from gdal_c import read_band_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# the CRS of MODIS MCD12C1 as GDAL reports it (no EPSG code)
CLARKE = (
    'GEOGCRS["unknown",DATUM["Unknown based on Clarke 1866 ellipsoid",ELLIPSOID["Clarke 1866",'
    '6378206.4,294.978698213898,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree"'
    ',0.0174532925199433]],CS[ellipsoidal,2],AXIS["latitude",north,ORDER[1],ANGLEUNIT["degree",'
    '0.0174532925199433]],AXIS["longitude",east,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]]]'
)
T = Affine(0.05, 0, 110.0, 0, -0.05, 30.0)
H, W = 4, 6
ZONES = [
    {"id": "qtp", "name_en": "Plateau", "name_zh": "高原"},
    {"id": "coastal", "name_en": "Coastal belt", "name_zh": "海岸带"},
]
REGION = np.array(
    [[0, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0]], np.uint8
)


def grid():
    return {
        "crs": CLARKE,
        "transform": list(T)[:6],
        "width": W,
        "height": H,
        "source_window": [0, 0, W, H],
        "region_bounds": [110, 29.8, 110.3, 30],
        "is_geographic": True,
        "nodata": 255,
        "nodata_values": [255],
        "dtype": "uint8",
    }


def write_tiles(root: Path, name: str, arr: np.ndarray, nodata, split=3):
    """Two tiles (columns [0, split) and [split, W)) of `arr` and of the region layer."""
    tiles, regions = [], []
    for k, (c0, c1) in enumerate(((0, split), (split, W))):
        tr = T @ Affine.translation(c0, 0)
        d = root / f"r000_c00{k}"
        d.mkdir(parents=True, exist_ok=True)
        sub = arr[..., c0:c1]
        write_raster(
            d / f"{name}.tif", np.ascontiguousarray(sub), crs=CLARKE, transform=tr, nodata=nodata
        )
        write_raster(
            d / "region.tif", REGION[:, c0:c1].copy(), crs=CLARKE, transform=tr, nodata=255
        )
        tiles.append(str(d / f"{name}.tif"))
        regions.append(str(d / "region.tif"))
    return tiles, regions


def class_inputs(tmp_path):
    cat = tmp_path / "cat.csv"
    pd.DataFrame(
        {
            "id": ["afforestation", "straw_return", "no_tillage"],
            "name_en": ["afforestation", "straw return", "no-till"],
            "name_zh": ["造林", "秸秆还田", "免耕"],
        }
    ).to_csv(cat, index=False)
    regions = tmp_path / "regions.csv"
    regions.write_text(
        "level,code,parent_code,name_zh,name_en\nprovince,110000,100000,北京市,"
        "Beijing\ncounty,110101,110000,东城区,Dongcheng\n",
        encoding="utf-8",
    )
    return {
        "legend": str(ROOT / "config/legends/igbp.csv"),
        "ecosystems": str(ROOT / "config/ecosystems.csv"),
        "catalog": str(cat),
        "climate": str(ROOT / "config/climate_classes.csv"),
        "region_list": str(regions),
        "zone_items": ZONES,
    }


def run_mosaic(tmp_path, name, arr, nodata, **kw):
    tiles, regions = write_tiles(
        tmp_path / "tiles", name.split("_density")[0] if "density" in name else name, arr, nodata
    )
    gpath = tmp_path / "grid.json"
    gpath.write_text(json.dumps(grid()), encoding="utf-8")
    out = tmp_path / "out" / f"{name}.tif"
    mosaic_rasters.main(
        name=name,
        tiles=tiles,
        regions=regions,
        grid=str(gpath),
        cog=str(out),
        aux=f"{out}.aux.xml",
        **(class_inputs(tmp_path) | kw),
    )
    return out


def test_output_crs_labels():
    crs, note = rm.output_crs(CLARKE, "auto", 0.05)
    assert crs == "EPSG:4326" and "Clarke 1866" in note and "below 1 km" in note
    assert rm.output_crs(CLARKE, "EPSG:4490")[0] == "EPSG:4490"
    assert rm.output_crs("EPSG:4490", "auto")[0] == "EPSG:4490"
    assert rm.output_crs("EPSG:32650", "auto")[0] == "EPSG:32650"
    albers = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=krass +units=m"
    assert rm.output_crs(albers, "EPSG:4490")[0].startswith("PROJCRS")
    assert "Clarke" in rm.output_crs(CLARKE, "source")[0]
    with pytest.raises(ConfigError):
        rm.output_crs(CLARKE, "EPSG:3857")


def test_red_line_nodata_outside_and_names(tmp_path):
    arr = np.zeros((H, W), np.uint8)  # tiles: 0 outside red lines, also outside the region
    arr[1, 2] = 1
    out = run_mosaic(tmp_path, "red_line", arr, 255)
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 4326
        assert src.nodata == 255
        v = src.read(1)
        assert src.units[0] == "class"
    assert (v[REGION == 0] == 255).all()
    assert set(np.unique(v[REGION == 1])) == {0, 1}
    info = read_band_info(str(out))
    assert info["categories"][:2] == ["outside red lines", "inside an ecological red line"]
    assert [r["Name"] for r in info["rat"]] == [
        "outside red lines",
        "inside an ecological red line",
    ]
    assert info["rat"][1]["name_zh"] == "生态保护红线内"


def test_zones_none_inside_nodata_outside(tmp_path):
    arr = np.zeros((H, W), np.uint16)
    arr[1, :] = 1
    arr[2, 1:3] = 3
    out = run_mosaic(tmp_path, "zones", arr, 0)
    with rasterio.open(out) as src:
        v, nd = src.read(1), src.nodata
    assert nd == 65535 and (v[REGION == 0] == 65535).all() and (v[REGION == 1] != 65535).all()
    rat = read_band_info(str(out))["rat"]
    assert [int(r["Value"]) for r in rat] == [0, 1, 3]  # the values present, named
    assert rat[2]["name_en"] == "Plateau + Coastal belt"
    assert rat[0]["name_en"] == "no zone or belt"


def test_primary_matches_eligible_bits_and_band_numbers(tmp_path):
    cat = pd.read_csv(class_inputs(tmp_path)["catalog"])
    t = rm.class_table("primary", catalog=cat)
    assert t.loc[t["value"] == 2, "name"].item() == "straw_return"
    assert (t["eligible_bit"][1:] == t["value"][1:] - 1).all()
    assert (t["band"] == t["value"]).all()
    arr = np.full((H, W), 0, np.uint8)
    arr[1, 1] = 2
    out = run_mosaic(tmp_path, "primary", arr, 255)
    info = read_band_info(str(out))
    assert info["categories"][2] == "straw return"
    assert info["rat"][2]["eligible_bit"] == "1"
    with rasterio.open(out) as src:
        assert src.colormap(1)[2][:3] != src.colormap(1)[0][:3]


def test_eligible_gets_nodata_outside(tmp_path):
    arr = np.full((H, W), 5, np.uint32)
    out = run_mosaic(tmp_path, "eligible", arr, None)
    with rasterio.open(out) as src:
        v = src.read(1)
        assert src.nodata == 4294967295 and src.units[0] == "bitmask"
        assert src.tags(1)["bit_1"] == "straw_return"
    assert (v[REGION == 0] == 4294967295).all() and (v[REGION == 1] == 5).all()


def test_landcover_and_climate_names(tmp_path):
    lc = np.full((H, W), 12, np.uint8)
    out = run_mosaic(tmp_path, "landcover", lc, 255)
    info = read_band_info(str(out))
    assert info["categories"][12] == "Croplands"
    with rasterio.open(out) as src:
        assert (src.read(1)[REGION == 0] == 255).all()
    out = run_mosaic(tmp_path / "c", "climate", np.full((H, W), 2, np.uint8), 0)
    assert read_band_info(str(out))["categories"][2] == "arid and semi-arid"


def test_density_is_potential_per_true_hectare(tmp_path):
    pot = np.full((H, W), 100.0, np.float32)
    pot[REGION == 0] = -9999.0
    out = run_mosaic(tmp_path, "potential_density_central", pot, -9999.0)
    # the tiles are named potential_density_central -> source name potential
    with rasterio.open(out) as src:
        v = src.read(1)
        assert src.units[0] == "t CO2/ha/yr"
    ha = cell_areas_m2(grid(), Window(0, 0, W, H)) / 1e4
    np.testing.assert_allclose(v[REGION == 1], (100.0 / ha)[REGION == 1], rtol=1e-6)
    assert (v[REGION == 0] == -9999.0).all()


def test_measure_bands(tmp_path):
    arr = np.zeros((3, H, W), np.uint8)
    arr[1, 1, 1] = 40
    out = run_mosaic(tmp_path, "measures_allocated", arr, 255)
    with rasterio.open(out) as src:
        assert src.count == 3 and src.dtypes[0] == "uint8"
        assert src.descriptions[1].startswith("measure 2: straw_return")
        assert src.units[1] == "percent of cell"
        v = src.read()
    assert v[1, 1, 1] == 40 and (v[:, REGION == 0] == 255).all()


def test_measure_vrts_equal_the_cog_copies(tmp_path):
    """rasters/measures_*.vrt over the share tiles (masked by assign_tile) holds the cells,
    nodata, CRS label, band descriptions, units and metadata of the COG copy
    (outputs.measure_mosaics), and references the tiles relative to itself."""
    import shutil

    import write_measure_vrts

    rng = np.random.default_rng(3)
    arr = rng.integers(0, 101, (3, H, W)).astype(np.uint8)
    arr[:, REGION == 0] = 255  # as assign_tile writes them
    run = tmp_path / "run"
    tiles, _ = write_tiles(run / "tiles", "measures_eligible", arr, 255)
    cog = run_mosaic(tmp_path / "cog", "measures_eligible", arr, 255)
    gpath = tmp_path / "grid.json"
    gpath.write_text(json.dumps(grid()), encoding="utf-8")
    vrt = run / "rasters" / "measures_eligible.vrt"
    write_measure_vrts.main(
        tiles={"measures_eligible": tiles},
        grid=str(gpath),
        catalog=class_inputs(tmp_path)["catalog"],
        vrts={"measures_eligible": str(vrt)},
    )
    assert 'relativeToVRT="1">../tiles/r000_c000/measures_eligible.tif' in vrt.read_text()
    shutil.copytree(run, tmp_path / "moved")
    shutil.rmtree(run)
    vrt = tmp_path / "moved" / "rasters" / "measures_eligible.vrt"
    with rasterio.open(vrt) as v, rasterio.open(cog) as c:
        assert v.count == c.count == 3 and v.dtypes == c.dtypes
        assert np.array_equal(v.read(), c.read()) and np.array_equal(v.read(), arr)
        assert v.nodata == c.nodata == 255 and v.crs == c.crs and v.transform == c.transform
        assert v.descriptions == c.descriptions and v.units == c.units
        assert v.descriptions[2].startswith("measure 3: no_tillage")
        assert v.tags() == c.tags() and v.tags()["layer"] == "measures_eligible"
        assert [v.tags(b) for b in (1, 2, 3)] == [c.tags(b) for b in (1, 2, 3)]
        assert v.tags(2)["measure_id"] == "straw_return"


def test_styles_and_project(tmp_path):
    out1 = run_mosaic(tmp_path, "red_line", np.zeros((H, W), np.uint8), 255)
    pot = np.linspace(0, 50, H * W, dtype=np.float32).reshape(H, W)
    out2 = run_mosaic(tmp_path / "p", "potential_central", pot, -9999.0)
    qml = [str(p).replace(".tif", ".qml") for p in (out1, out2)]
    sld = [str(p).replace(".tif", ".sld") for p in (out1, out2)]
    qgz = tmp_path / "sinkzone_t.qgz"
    write_styles.main(rasters=[str(out1), str(out2)], qml=qml, sld=sld, qgz=str(qgz), run="t")
    q = ET.parse(qml[0]).getroot()
    entries = q.findall(".//paletteEntry")
    assert [e.get("label") for e in entries] == [
        "0 outside red lines",
        "1 inside an ecological red line",
    ]
    assert ET.parse(qml[1]).getroot().find(".//colorrampshader") is not None
    s = ET.parse(sld[0]).getroot()
    ns = {"sld": "http://www.opengis.net/sld"}
    assert len(s.findall(".//sld:ColorMapEntry", ns)) == 2
    with zipfile.ZipFile(qgz) as z:
        assert z.namelist() == ["sinkzone_t.qgs"]
        proj = ET.fromstring(z.read("sinkzone_t.qgs").decode("utf-8").split("\n", 1)[1])
    sources = [m.findtext("datasource") for m in proj.iter("maplayer")]
    assert all(not Path(s).is_absolute() and s.startswith("./") for s in sources)
    assert proj.find(".//Paths/Absolute").text == "false"
    assert all(m.find("pipe/rasterrenderer") is not None for m in proj.iter("maplayer"))


def test_mask_tile_same_for_any_strip_size(tmp_path):
    from sinkzone.mosaic import mask_tile

    arr = np.arange(H * W, dtype=np.uint16).reshape(H, W)
    tiles, regions = write_tiles(tmp_path / "t", "zones", arr, 0)
    outs = []
    for k, cells in enumerate((1, 5, 10**6)):
        dst = tmp_path / f"m{k}.tif"
        seen = mask_tile(
            tiles[1],
            regions[1],
            dst,
            nodata=65535,
            grid=grid(),
            collect=True,
            keep_source_nodata=True,
            strip_cells=cells,
        )
        with rasterio.open(dst) as src:
            outs.append((src.read(), seen))
    for a, s in outs[1:]:
        assert np.array_equal(a, outs[0][0]) and s == outs[0][1]
    assert outs[0][1] == set(arr[:, 3:][REGION[:, 3:] == 1].tolist())


def test_every_layer_has_output_metadata():
    """A layer added to sinkzone.layers.LAYERS must get its nodata, unit and description here,
    or its mosaic fails (found when the sea layers depth/marine/lake_km were merged)."""
    from sinkzone import layers, rastermeta

    for name in layers.LAYERS:
        if name == "landcover":
            continue
        assert name in rastermeta.OUTPUT_NODATA, name
        assert name in rastermeta.UNITS, name
        assert rastermeta.description(name), name


@pytest.mark.parametrize("masked", [True, False])
def test_write_cog_reads_masked_tiles_as_they_are(tmp_path, monkeypatch, masked):
    """Tiles that already hold the nodata outside the region (potentials, primary, layers) go
    into the mosaic as they are; others are masked first. Same cells either way."""
    from sinkzone import mosaic

    arr = np.arange(H * W, dtype=np.float32).reshape(H, W) + 1
    if masked:
        arr[REGION != 1] = -9999.0
    tiles, regions = write_tiles(tmp_path / "t", "potential_central", arr, -9999.0)
    copies = []
    real = mosaic.mask_tile

    def spy(*a, **k):
        copies.append(a[0])
        return real(*a, **k)

    monkeypatch.setattr(mosaic, "mask_tile", spy)
    band = {"description": "test", "unit": "1", "metadata": {}}
    out = tmp_path / "m.tif"
    mosaic.write_cog(tiles, regions, grid(), out, crs="EPSG:4326", nodata=-9999.0, bands=[band])
    assert copies == ([] if masked else tiles)
    with rasterio.open(out) as src:
        got = src.read(1)
    want = np.where(REGION == 1, np.arange(H * W, dtype=np.float32).reshape(H, W) + 1, -9999)
    assert np.array_equal(got, want)


def test_masked_already_checks_every_outside_cell(tmp_path):
    from sinkzone.mosaic import mask_tile, masked_already

    arr = np.full((H, W), 7, np.uint16)
    arr[REGION != 1] = 65535
    arr[3, 0] = 5  # one cell outside the region is not nodata yet
    tiles, regions = write_tiles(tmp_path / "t", "zones", arr, 65535)
    kw = {"nodata": 65535, "collect": True, "strip_cells": 1}
    assert masked_already(tiles[0], regions[0], **kw) is None
    assert masked_already(tiles[1], regions[1], **kw) == {7}
    assert masked_already(tiles[1], regions[1], nodata=0) is None  # another nodata
    assert masked_already(tiles[1], regions[1], nodata=65535, dtype="float32") is None
    assert masked_already(tiles[1], regions[1], nodata=65535, transform_fn=lambda a, w: a) is None
    seen = mask_tile(tiles[0], regions[0], tmp_path / "m.tif", grid=grid(), **kw)
    assert seen == {7}


def test_density_fn_rounds_the_float64_quotient():
    """t CO2/ha/yr = float32 of the float64 quotient by the true cell area in ha, whatever the
    input dtype; nodata, NaN and inf stay nodata."""
    from sinkzone.mosaic import density_fn

    rng = np.random.default_rng(5)
    arr = (rng.standard_normal((1, H, W)) * 10.0 ** rng.uniform(-30, 30, (1, H, W))).astype(
        np.float32
    )
    arr[0, 0, :3] = [-9999.0, np.nan, np.inf]
    win = Window(0, 0, W, H)
    area_ha = np.broadcast_to(cell_areas_m2(grid(), win), (H, W)) / 1e4
    want = (arr[0].astype(np.float64) / area_ha).astype(np.float32)
    want[0, :3] = -9999.0
    fn = density_fn(grid(), -9999.0)
    for a in (arr, arr.astype(np.float64)):  # float32 path and the general one
        got = fn(a, win)
        assert got.dtype == np.float32 and np.array_equal(
            got[0].view(np.uint32), want.view(np.uint32)
        )
