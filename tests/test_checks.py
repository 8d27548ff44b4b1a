"""Tests of sinkzone.checks on tiny synthetic inputs: what passes, what the summary holds."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from sinkzone import checks, configcheck, vectors
from sinkzone.errors import ConfigError, InputError, SinkzoneError

ROOT = Path(__file__).resolve().parents[1]
ECOSYSTEMS = ROOT / "config" / "ecosystems.csv"
LEGEND = ROOT / "config" / "legends" / "igbp.csv"
SCHEMA = ROOT / "config" / "schema.yaml"


def write_tif(
    path, arr, *, crs="EPSG:4326", nodata=255, origin=(116.0, 40.0), res=0.01, tiled=False
):
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": arr.dtype.name,
        "crs": crs,
        "nodata": nodata,
        "transform": from_origin(origin[0], origin[1], res, res),
    }
    if tiled:
        profile.update(tiled=True, blockxsize=16, blockysize=16)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
    return path


def write_region(path, geom):
    gpd.GeoDataFrame({"name": ["r"]}, geometry=[geom], crs="EPSG:4326").to_file(
        path, layer="region", driver="GPKG"
    )
    return path


# ------------------------------------------------------------------------- code scan


def test_scan_counts_codes_inside_region_polygon_exactly(tmp_path):
    arr = np.full((40, 60), 10, np.uint8)
    arr[:20, :30] = 12  # north-west quarter
    arr[0, 0] = 255  # nodata
    tif = write_tif(tmp_path / "lc.tif", arr)
    region = shapely.box(116.0, 39.8, 116.3, 40.0)  # the north-west quarter: 20 x 30 cells
    grid = {"source_window": [0, 0, 60, 40], "crs": "EPSG:4326", "nodata": 255}
    counts, exact, step = checks.scan_codes(tif, grid, region)
    assert exact and step == 1
    assert counts == {12: 20 * 30 - 1}


def test_scan_is_chunked_and_decimates_large_windows(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    arr = rng.choice(np.array([1, 2, 3], np.uint8), size=(64, 64))
    tif = write_tif(tmp_path / "lc.tif", arr, tiled=True)
    region = shapely.box(115.0, 39.0, 117.0, 41.0)  # covers everything
    grid = {"source_window": [0, 0, 64, 64], "crs": "EPSG:4326", "nodata": 255}
    monkeypatch.setattr(checks, "CHUNK_PIXELS", 100)  # many small chunks
    counts, exact, _ = checks.scan_codes(tif, grid, region)
    assert exact
    want = dict(zip(*np.unique(arr, return_counts=True), strict=True))
    assert counts == {int(k): int(v) for k, v in want.items()}
    sample, exact, step = checks.scan_codes(tif, grid, region, max_pixels=64 * 64 // 16)
    assert not exact and step == 4
    assert set(sample) <= {1, 2, 3} and 0 < sum(sample.values()) <= 16 * 16


def test_decimated_scan_reports_exact_counts_of_unknown_codes(tmp_path):
    arr = np.full((64, 64), 10, np.uint8)
    arr[8:12, 8:12] = 77  # a 4 x 4 patch: the 1/4 x 1/4 sample sees one of its pixels
    tif = write_tif(tmp_path / "lc.tif", arr)
    gpkg = write_region(tmp_path / "v.gpkg", shapely.box(116.0, 39.36, 116.64, 40.0))
    with pytest.raises(InputError) as e:
        checks.check_landcover(
            tif,
            legend=LEGEND,
            ecosystems=ECOSYSTEMS,
            region_bounds=(116.0, 39.36, 116.64, 40.0),
            region_geom=checks.region_geometry(gpkg),
            max_pixels=256,
        )
    assert "77 (16 px)" in str(e.value)  # exact, not the sample count (1)


def test_check_landcover_summary(tmp_path):
    arr = np.full((30, 30), 12, np.uint8)
    arr[:, :10] = 0
    tif = write_tif(tmp_path / "lc.tif", arr)
    out = checks.check_landcover(
        tif,
        legend=LEGEND,
        ecosystems=ECOSYSTEMS,
        region_bounds=(116.0, 39.7, 116.3, 40.0),
        region_geom=shapely.box(116.0, 39.7, 116.3, 40.0),
    )
    assert out["codes"] == {"0": 300, "12": 600}
    assert out["exact"] is True and out["dtype"] == "uint8" and out["nodata"] == 255
    assert out["window"] == [0, 0, 30, 30]


def test_nodata_override_is_used(tmp_path):
    arr = np.full((10, 10), 12, np.uint8)
    arr[0] = 200  # the configured nodata (the header has none)
    tif = write_tif(tmp_path / "lc.tif", arr, nodata=None)
    out = checks.check_landcover(
        tif,
        legend=LEGEND,
        ecosystems=ECOSYSTEMS,
        region_bounds=(116.0, 39.9, 116.1, 40.0),
        region_geom=shapely.box(116.0, 39.9, 116.1, 40.0),
        nodata_override=200,
    )
    assert out["codes"] == {"12": 90}


def test_projected_equal_area_landcover_is_scanned_in_its_crs(tmp_path):
    crs = "EPSG:6933"  # equal-area cylindrical; cell 1 km
    x0, y0 = 11_200_000.0, 4_700_000.0
    arr = np.full((20, 20), 10, np.uint8)
    tif = write_tif(tmp_path / "lc.tif", arr, crs=crs, origin=(x0, y0), res=1000.0)
    with rasterio.open(tif) as src:
        b = rasterio.warp.transform_bounds(crs, "EPSG:4326", *src.bounds)
    region = shapely.box(*b).buffer(-0.02)
    out = checks.check_landcover(
        tif, legend=LEGEND, ecosystems=ECOSYSTEMS, region_bounds=region.bounds, region_geom=region
    )
    assert 0 < out["codes"]["10"] <= 400


# ------------------------------------------------------------------------- other rasters


def test_check_raster_partial_coverage_is_a_warning(tmp_path):
    tif = write_tif(tmp_path / "dem.tif", np.zeros((10, 10), np.float32), nodata=-9999)
    warnings = []
    out = checks.check_raster(
        tif, what="config.yaml:dem", region_bounds=(116.05, 39.85, 116.2, 39.95), warnings=warnings
    )
    assert out["region_coverage"] == pytest.approx(1 / 6, abs=1e-3)
    assert len(warnings) == 1 and "covers only 16.7%" in warnings[0]


def test_check_netcdf_reads_coordinates_only(tmp_path):
    import xarray as xr

    lat = np.arange(45.0, 35.0, -0.5)
    lon = np.arange(110.0, 120.0, 0.5)
    ds = xr.Dataset(
        {"data0": (("lat", "lon"), np.zeros((lat.size, lon.size), np.int16))},
        coords={"lat": lat, "lon": lon},
    )
    ds.to_netcdf(tmp_path / "dem.nc")
    out = checks.check_netcdf(
        tmp_path / "dem.nc",
        "data0",
        what="config.yaml:dem",
        region_bounds=(115.0, 39.0, 117.0, 41.0),
    )
    assert out["shape"] == [20, 20] and out["region_coverage"] == 1.0


# ------------------------------------------------------------------------- vectors


def test_check_vector_counts_repairs(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    gdf = gpd.GeoDataFrame(
        {"zone": ["a", "b"]}, geometry=[bowtie, shapely.box(2, 2, 3, 3)], crs="EPSG:4326"
    )
    gdf.to_file(tmp_path / "z.gpkg", driver="GPKG")
    out = checks.check_vector(
        tmp_path / "z.gpkg", what="config.yaml:zones.official.path", attribute="zone"
    )
    assert out == {
        "path": str(tmp_path / "z.gpkg"),
        "features": 2,
        "repaired": 1,
        "bounds": [0.0, 0.0, 3.0, 3.0],
    }


@pytest.mark.parametrize(("enc", "want"), [("GBK", "GBK"), ("UTF-8", "UTF-8")])
def test_shapefile_encoding_detection(tmp_path, enc, want):
    gdf = gpd.GeoDataFrame(
        {"name": ["黄河流域", "长江流域"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)],
        crs="EPSG:4326",
    )
    shp = tmp_path / "b.shp"
    gdf.to_file(shp, encoding=enc)
    assert vectors.shapefile_encoding_problem(shp, None) is None  # a .cpg names it
    shp.with_suffix(".cpg").unlink()
    assert vectors.shapefile_encoding_problem(shp, None) == want
    assert vectors.shapefile_encoding_problem(shp, enc) is None  # configured
    out = checks.check_vector(shp, what="config.yaml:red_lines.path", encoding=enc)
    assert out["features"] == 2


def test_ascii_shapefile_without_cpg_is_fine(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "a.shp")
    (tmp_path / "a.cpg").unlink(missing_ok=True)
    assert vectors.shapefile_encoding_problem(tmp_path / "a.shp", None) is None


# ------------------------------------------------------------------------- config


def default_config():
    import yaml

    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))


def test_default_config_passes_validate_config(monkeypatch):
    monkeypatch.chdir(ROOT)
    configcheck.validate_config(default_config(), SCHEMA)


def test_config_files_lists_user_paths():
    cfg = default_config()
    cfg["red_lines"]["path"] = "x.gpkg"
    cfg["vectors"]["tibetan_plateau"]["path"] = "tp.geojson"
    files = configcheck.config_files(cfg)
    assert files["red_lines.path"] == "x.gpkg"
    assert files["vectors.tibetan_plateau.path"] == "tp.geojson"
    assert "landcover.path" not in files  # null: the dataset is used
    assert files["catalog"] == "config/technologies.csv"


def test_default_catalog_and_rules_pass():
    cat = checks.check_catalog(ROOT / "config" / "technologies.csv")
    ids = [z["id"] for z in default_config()["zones"]["items"]]
    rules = checks.check_rules(ROOT / "config" / "suitability.yaml", ECOSYSTEMS, ids, cat)
    assert len(cat) == 31 and list(rules.measures) == cat.ids


def test_check_inputs_writes_deterministic_summary(tmp_path):
    from check_inputs import main  # scripts/check_inputs.py (scripts/ is on sys.path)

    arr = np.full((30, 30), 12, np.uint8)
    lc = write_tif(tmp_path / "lc.tif", arr)
    dem = write_tif(tmp_path / "dem.tif", np.ones((30, 30), np.float32), nodata=-9999)
    gpkg = write_region(tmp_path / "v.gpkg", shapely.box(116.05, 39.8, 116.25, 39.95))
    ids = [z["id"] for z in default_config()["zones"]["items"]]
    kwargs = dict(
        landcover=lc,
        legend=LEGEND,
        ecosystems=ECOSYSTEMS,
        vectors=gpkg,
        catalog=ROOT / "config" / "technologies.csv",
        suitability=ROOT / "config" / "suitability.yaml",
        zone_ids=ids,
        rasters={"dem": {"path": str(dem), "key": "dem"}},
    )
    main(out=tmp_path / "a.json", **kwargs)
    main(out=tmp_path / "b.json", **kwargs)
    a = (tmp_path / "a.json").read_bytes()
    assert a == (tmp_path / "b.json").read_bytes()
    summary = json.loads(a)
    assert summary["landcover"]["codes"] == {"12": 20 * 15}
    assert summary["rasters"]["dem"]["region_coverage"] == 1.0
    assert summary["config"]["catalog"]["measures"] == 31
    assert summary["warnings"] == []


def test_error_messages_are_one_line_with_one_fix():
    """Library text quoted in a problem may hold newlines and its own ". Fix:": the message
    stays `WHAT: PROBLEM. Fix: FIX` on one line, with exactly one fix."""
    e = InputError("lc.tif\n", "GDAL says:\n  bad block. Fix: call GDAL", "re-export\nthe file")
    assert str(e) == "lc.tif: GDAL says: bad block; fix: call GDAL. Fix: re-export the file"
    assert isinstance(e, SinkzoneError) and isinstance(ConfigError("k", "p", "f"), SinkzoneError)


# ------------------------------------------------- legend names and run names (issue 13)


def test_legend_name_resolves_to_the_shipped_csv(monkeypatch):
    from sinkzone.legend import legend_path, shipped_legends

    monkeypatch.chdir(ROOT)
    assert legend_path("clcd") == str(Path("config") / "legends" / "clcd.csv")
    assert legend_path("my/legend.csv") == "my/legend.csv"
    assert {"igbp", "clcd", "esa_worldcover", "cnlucc"} <= set(shipped_legends())
    cfg = default_config()
    cfg["landcover"]["legend"] = "clcd"
    configcheck.validate_config(cfg, SCHEMA)  # the name passes the file check
    cfg["landcover"]["legend"] = "clcdd"
    with pytest.raises(ConfigError) as e:
        configcheck.validate_config(cfg, SCHEMA)
    msg = str(e.value)
    assert "landcover.legend" in msg and "no shipped legend named 'clcdd'" in msg
    assert "'clcd'" in msg and "sinkzone legends" in msg


def test_run_names_accept_underscore_and_the_message_states_the_pattern(monkeypatch):
    import re

    import yaml

    monkeypatch.chdir(ROOT)
    pattern = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))["properties"]["run"]["pattern"]
    snakefile = (ROOT / "Snakefile").read_text(encoding="utf-8")
    wildcard = re.search(r'run=r"([^"]+)"', snakefile).group(1)
    assert pattern == f"^{wildcard}$", "Snakefile wildcard_constraints and schema must agree"
    cfg = default_config()
    cfg["run"] = "my_run-2"
    configcheck.validate_config(cfg, SCHEMA)
    cfg["run"] = "my run"
    with pytest.raises(ConfigError) as e:
        configcheck.validate_config(cfg, SCHEMA)
    assert "use only upper-case letters, lower-case letters, digits, '_' or '-'" in str(e.value)
