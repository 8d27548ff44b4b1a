"""Every kind of bad input ends with one message naming the file or key, the problem and the fix.

One test per failure kind at the function level (docs/ERRORS.md lists them with their messages),
then a few through the real workflow CLI on tiny synthetic inputs in a temporary copy of the
repository (`snakemake --cores 1 --configfile <overlay>` run there): exit code != 0, the
message in the output, no Python traceback, no output that looks complete.
"""

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from conftest import assert_failed_with, make_workdir, overlay, snakemake
from helpers.inputs import (
    BOUNDS,
    CATALOG,
    ECOSYSTEMS,
    LEGEND,
    REGION,
    ROOT,
    SCHEMA,
    SUITABILITY,
    ZONE_IDS,
    landcover,
    merged,
    raises,
    write_tif,
)

from sinkzone import checks, configcheck
from sinkzone.errors import ConfigError, InputError
from sinkzone.io import atomic_path, write_csv


def check_lc(path, **kw):
    return checks.check_landcover(
        path,
        legend=kw.pop("legend", LEGEND),
        ecosystems=ECOSYSTEMS,
        region_bounds=BOUNDS,
        region_geom=REGION,
        **kw,
    )


# =============================================================================== config


def test_config_unknown_key(monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = merged(region__kidn="admin")
    msg = raises(ConfigError, configcheck.validate_config, cfg, SCHEMA)
    assert msg.startswith("config.yaml:region.kidn: unknown key 'kidn'. Fix: did you mean 'kind'?")
    assert "admin, bbox, crs, encoding, kind, layer, marine, path" in msg


def test_config_unknown_key_in_a_vector_source(monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = merged()
    cfg["vectors"]["tibetan_plateau"]["pth"] = "x.shp"
    msg = raises(ConfigError, configcheck.validate_config, cfg, SCHEMA)
    assert msg.startswith("config.yaml:vectors.tibetan_plateau.pth: unknown key 'pth'")
    assert "did you mean 'path'?" in msg


def test_config_wrong_type(monkeypatch):
    monkeypatch.chdir(ROOT)
    msg = raises(ConfigError, configcheck.validate_config, merged(tiling__rows="2"), SCHEMA)
    assert msg.startswith("config.yaml:tiling.rows: expected integer, got string '2'. Fix:")
    assert "--configfile" in msg


def test_config_bad_choice(monkeypatch):
    monkeypatch.chdir(ROOT)
    msg = raises(ConfigError, configcheck.validate_config, merged(region__kind="province"), SCHEMA)
    assert msg == (
        "config.yaml:region.kind: 'province' is not allowed. "
        "Fix: use one of china, admin, bbox, file"
    )


def test_config_out_of_range(monkeypatch):
    monkeypatch.chdir(ROOT)
    msg = raises(
        ConfigError, configcheck.validate_config, merged(allocation__stack_factor=1.5), SCHEMA
    )
    assert msg == "config.yaml:allocation.stack_factor: 1.5 is out of range. Fix: use a value <= 1"


def test_config_missing_key(monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = merged()
    del cfg["landcover"]["legend"]
    msg = raises(ConfigError, configcheck.validate_config, cfg, SCHEMA)
    assert msg.startswith("config.yaml:landcover.legend: required key is missing. Fix: add")


def test_config_missing_file(monkeypatch):
    monkeypatch.chdir(ROOT)
    msg = raises(
        ConfigError, configcheck.validate_config, merged(red_lines__path="nope/red.gpkg"), SCHEMA
    )
    assert msg.startswith("config.yaml:red_lines.path: file 'nope/red.gpkg' not found. Fix:")


# =============================================================================== land cover


def test_landcover_missing_file(tmp_path):
    msg = raises(InputError, check_lc, tmp_path / "nope.tif")
    assert "nope.tif" in msg and "file not found" in msg


def test_landcover_not_a_raster(tmp_path):
    (tmp_path / "lc.tif").write_text("not a raster")
    msg = raises(InputError, check_lc, tmp_path / "lc.tif")
    assert "cannot be opened as a raster" in msg


def test_landcover_without_crs(tmp_path):
    msg = raises(InputError, check_lc, landcover(tmp_path / "lc.tif", crs=None))
    assert "lc.tif: the raster has no CRS. Fix: assign one" in msg


def test_landcover_without_nodata(tmp_path):
    msg = raises(ConfigError, check_lc, landcover(tmp_path / "lc.tif", nodata=None))
    assert msg.startswith("config.yaml:landcover.nodata: ")
    assert "has no nodata value in its header" in msg and "set landcover.nodata" in msg


def test_landcover_float(tmp_path):
    tif = write_tif(tmp_path / "lc.tif", np.full((50, 60), 12, np.float32), nodata=-1)
    msg = raises(InputError, check_lc, tif)
    assert "data type float32, expected integer class codes" in msg


def test_landcover_rotated(tmp_path):
    from affine import Affine

    path = tmp_path / "lc.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=50,
        width=60,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        nodata=255,
        transform=Affine(0.01, 0.002, 115.9, 0.002, -0.01, 40.0),
    ) as dst:
        dst.write(np.full((1, 50, 60), 12, np.uint8))
    msg = raises(InputError, check_lc, path)
    assert "the raster is rotated" in msg and "gdalwarp" in msg


def test_landcover_does_not_overlap(tmp_path):
    tif = landcover(tmp_path / "lc.tif", origin=(10.0, 50.0))
    msg = raises(InputError, check_lc, tif)
    assert "does not overlap the region bounds" in msg


def test_landcover_unknown_codes_with_counts(tmp_path):
    msg = raises(InputError, check_lc, landcover(tmp_path / "lc.tif", unknown=True))
    assert "codes inside the region are missing from legend" in msg
    assert "77 (12 px)" in msg and "add a row code,name,ecosystem" in msg


def test_legend_codes_do_not_fit_dtype(tmp_path):
    legend = tmp_path / "legend.csv"
    legend.write_text("code,name,ecosystem\n12,Croplands,cropland\n300,Other,\n")
    msg = raises(InputError, check_lc, landcover(tmp_path / "lc.tif"), legend=legend)
    assert "codes [300] cannot occur" in msg and "uint8" in msg


def test_nodata_is_a_mapped_class(tmp_path):
    msg = raises(
        InputError, check_lc, landcover(tmp_path / "lc.tif", nodata=None), nodata_override=12
    )
    assert "nodata value 12 is a class code mapped to an ecosystem" in msg


def test_legend_unknown_ecosystem_name(tmp_path):
    legend = tmp_path / "legend.csv"
    legend.write_text("code,name,ecosystem\n12,Croplands,farmland\n")
    msg = raises(InputError, check_lc, landcover(tmp_path / "lc.tif"), legend=legend)
    assert "unknown ecosystem names ['12:farmland']" in msg


# =============================================================================== other rasters


def test_dem_without_crs(tmp_path):
    tif = write_tif(tmp_path / "dem.tif", np.zeros((50, 60), np.float32), crs=None, nodata=-9999)
    msg = raises(InputError, checks.check_raster, tif, what="config.yaml:dem", region_bounds=BOUNDS)
    assert msg.startswith("config.yaml:dem (") and "the raster has no CRS" in msg


def test_dem_without_nodata(tmp_path):
    tif = write_tif(tmp_path / "dem.tif", np.zeros((50, 60), np.float32), nodata=None)
    msg = raises(InputError, checks.check_raster, tif, what="config.yaml:dem", region_bounds=BOUNDS)
    assert "no nodata value" in msg and "gdal_edit.py -a_nodata" in msg


def test_climate_float_is_rejected(tmp_path):
    tif = write_tif(tmp_path / "kg.tif", np.ones((50, 60), np.float32), nodata=0)
    msg = raises(
        InputError,
        checks.check_raster,
        tif,
        what="config.yaml:climate",
        region_bounds=BOUNDS,
        integer=True,
    )
    assert "expected integer class codes" in msg


def test_precip_does_not_overlap(tmp_path):
    tif = write_tif(
        tmp_path / "p.tif", np.ones((50, 60), np.float32), nodata=-9999, origin=(-60.0, -10.0)
    )
    msg = raises(
        InputError, checks.check_raster, tif, what="config.yaml:precipitation", region_bounds=BOUNDS
    )
    assert "does not overlap the region" in msg


def test_netcdf_missing_variable(tmp_path):
    import xarray as xr

    ds = xr.Dataset(
        {"elev": (("lat", "lon"), np.zeros((3, 3)))},
        coords={"lat": [40.0, 39.5, 39.0], "lon": [116.0, 116.5, 117.0]},
    )
    ds.to_netcdf(tmp_path / "dem.nc")
    msg = raises(
        InputError,
        checks.check_netcdf,
        tmp_path / "dem.nc",
        "data0",
        what="config.yaml:dem",
        region_bounds=BOUNDS,
    )
    assert "has no variable 'data0' (has ['elev'])" in msg


# =============================================================================== vectors


def zones_gdf(geoms=None, **cols):
    geoms = geoms or [shapely.box(116, 39.6, 116.2, 39.9), shapely.box(116.2, 39.6, 116.4, 39.9)]
    return gpd.GeoDataFrame(cols or {"zone": ["qtp", "coastal"]}, geometry=geoms, crs="EPSG:4326")


def test_vector_without_crs(tmp_path):
    zones_gdf().to_file(tmp_path / "z.shp")
    (tmp_path / "z.prj").unlink()
    msg = raises(
        InputError,
        checks.check_vector,
        tmp_path / "z.shp",
        what="config.yaml:zones.official.path",
        attribute="zone",
    )
    assert msg.startswith("config.yaml:zones.official.path (")
    assert "no coordinate reference system" in msg and "set crs" in msg


def test_vector_missing_attribute(tmp_path):
    zones_gdf().to_file(tmp_path / "z.gpkg")
    msg = raises(
        InputError,
        checks.check_vector,
        tmp_path / "z.gpkg",
        what="config.yaml:zones.official.path",
        attribute="ZONE_NAME",
    )
    assert "attribute 'ZONE_NAME' not found (columns: zone)" in msg


def test_vector_empty_after_cleaning(tmp_path):
    lines = [shapely.LineString([(116, 39.6), (116.4, 39.9)])]
    gpd.GeoDataFrame({"a": [1]}, geometry=lines, crs="EPSG:4326").to_file(tmp_path / "r.gpkg")
    msg = raises(
        InputError, checks.check_vector, tmp_path / "r.gpkg", what="config.yaml:red_lines.path"
    )
    assert "no usable features" in msg


def test_vector_several_layers_without_a_name(tmp_path):
    zones_gdf().to_file(tmp_path / "z.gpkg", layer="a")
    zones_gdf().to_file(tmp_path / "z.gpkg", layer="b")
    msg = raises(
        InputError, checks.check_vector, tmp_path / "z.gpkg", what="config.yaml:red_lines.path"
    )
    assert "2 layers (a, b)" in msg and "name the layer" in msg


def test_vector_gbk_shapefile_without_cpg_is_detected_and_read(tmp_path, caplog):
    from sinkzone.vectors import read_vector

    gdf = zones_gdf(zone=["青藏高原生态屏障区", "海岸带"])
    gdf.to_file(tmp_path / "z.shp", encoding="GBK")
    (tmp_path / "z.cpg").unlink()
    with caplog.at_level("WARNING"):
        checks.check_vector(
            tmp_path / "z.shp", what="config.yaml:zones.official.path", attribute="zone"
        )
    assert "decodes as GBK" in caplog.text
    assert sorted(read_vector(tmp_path / "z.shp")["zone"]) == ["海岸带", "青藏高原生态屏障区"]


def test_vector_shapefile_in_an_unknown_encoding(tmp_path):
    gdf = zones_gdf(zone=["qtp", "coastal"])
    gdf.to_file(tmp_path / "z.shp")
    (tmp_path / "z.cpg").unlink()
    dbf = tmp_path / "z.dbf"
    raw = bytearray(dbf.read_bytes())
    raw[29] = 0  # no code page byte either
    dbf.write_bytes(bytes(raw).replace(b"qtp", b"\xff\xfe\xfd"))  # neither UTF-8 nor GBK
    msg = raises(
        InputError,
        checks.check_vector,
        tmp_path / "z.shp",
        what="config.yaml:zones.official.path",
        attribute="zone",
    )
    assert "neither UTF-8 nor GBK" in msg
    assert "zones.official.encoding" in msg


def test_vector_not_readable(tmp_path):
    (tmp_path / "z.gpkg").write_text("nope")
    msg = raises(
        InputError, checks.check_vector, tmp_path / "z.gpkg", what="config.yaml:red_lines.path"
    )
    assert "not a readable vector file" in msg


# =============================================================================== catalog, rules


def catalog_copy(tmp_path, edit) -> Path:
    import csv

    with open(CATALOG, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    rows = edit(rows)
    out = tmp_path / "technologies.csv"
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return out


def _set(rows, mid, **values):
    for r in rows:
        if r["id"] == mid:
            r.update(values)
    return rows


def test_catalog_measure_in_two_groups(tmp_path):
    path = catalog_copy(
        tmp_path,
        lambda rows: _set(rows, "afforestation", group="open_land_creation;forest_protection"),
    )
    msg = raises(ConfigError, checks.check_catalog, path)
    assert msg.startswith(
        f"{path}:afforestation.group: measure 'afforestation' is in more than one exclusive group"
    )


def test_catalog_measure_listed_twice_in_two_groups(tmp_path):
    def dup(rows):
        extra = dict(rows[0], group="forest_protection")
        return [*rows, extra]

    msg = raises(ConfigError, checks.check_catalog, catalog_copy(tmp_path, dup))
    assert "is in two exclusive groups ('open_land_creation' on line 2" in msg


def test_catalog_rate_low_above_central(tmp_path):
    path = catalog_copy(
        tmp_path,
        lambda rows: _set(
            rows, "forest_tending", rate_low="2.0", rate_central="1.0", rate_high="3.0"
        ),
    )
    msg = raises(ConfigError, checks.check_catalog, path)
    assert msg.startswith(
        f"{path}:forest_tending.rate_central: rates must satisfy rate_low <= "
        "rate_central <= rate_high, got 2.0, 1.0, 3.0"
    )


def test_catalog_rate_central_above_high(tmp_path):
    path = catalog_copy(tmp_path, lambda rows: _set(rows, "forest_tending", rate_high="0.9"))
    msg = raises(ConfigError, checks.check_catalog, path)
    assert "forest_tending.rate_central" in msg and "got 0.59, 1.1, 0.9" in msg


def rules_copy(tmp_path, edit) -> Path:
    data = yaml.safe_load(SUITABILITY.read_text(encoding="utf-8"))
    edit(data)
    out = tmp_path / "suitability.yaml"
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def check_rules(path):
    return checks.check_rules(path, ECOSYSTEMS, ZONE_IDS, checks.check_catalog(CATALOG))


def test_rules_measure_not_in_catalog(tmp_path):
    def edit(d):
        d["measures"]["afforestaton"] = d["measures"]["afforestation"]

    msg = raises(ConfigError, check_rules, rules_copy(tmp_path, edit))
    assert ":measures.afforestaton: measure(s) ['afforestaton'] are not in the catalog" in msg


def test_rules_unknown_key(tmp_path):
    def edit(d):
        d["measures"]["afforestation"]["wher"] = d["measures"]["afforestation"].pop("where")

    msg = raises(ConfigError, check_rules, rules_copy(tmp_path, edit))
    assert ":measures.afforestation.wher: unknown key 'wher'" in msg


def test_rules_python_tag_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    path = tmp_path / "suitability.yaml"
    path.write_text(f'measures: !!python/object/apply:os.system ["touch {sentinel}"]\n')
    msg = raises(ConfigError, check_rules, path)
    assert "unsupported YAML" in msg and not sentinel.exists()


def test_rules_missing_file(tmp_path):
    msg = raises(ConfigError, check_rules, tmp_path / "nope.yaml")
    assert msg.startswith("config.yaml:suitability: file")


# =============================================================================== faults


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "t" / "counts.csv"
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        Path(tmp).write_text("half a table")
        raise RuntimeError("killed mid-write")
    assert not out.exists() and list(out.parent.iterdir()) == []
    import pandas as pd

    write_csv(out, pd.DataFrame({"a": [1]}))
    assert out.read_bytes() == b"\xef\xbb\xbfa\n1\n" and len(list(out.parent.iterdir())) == 1


# Writes into a Snakemake directory() output: Snakemake removes the directory when the job fails.
DIRECTORY_OUTPUT_WRITES = {("build_web.py", "write_static(out_dir=Path(out_dir))")}


def test_scripts_write_outputs_atomically():
    """Writes in rule scripts and the package go to a temporary path that is renamed onto the
    output on success (sinkzone.io.atomic_path, mkstemp, mkdtemp): tests/helpers/atomic.py."""
    from helpers.atomic import offenders

    files = sorted((ROOT / "scripts").glob("*.py")) + sorted(
        (ROOT / "scripts" / "sinkzone").rglob("*.py")
    )
    found = [
        f"{path.relative_to(ROOT)}:{line} in {fn}: {target}"
        for path, fn, line, target in offenders([p for p in files if p.name != "io.py"])
        if (path.name, target) not in DIRECTORY_OUTPUT_WRITES
    ]
    assert not found, "write to a temporary path (sinkzone.io.atomic_path):\n" + "\n".join(found)


def test_the_atomic_write_check_finds_direct_writes(tmp_path):
    from helpers.atomic import offenders

    code = {
        "direct.py": "def f(out):\n    out.write_text('x')\n\ndef main(out):\n    f(out)\n",
        "df.py": "def main(df, out):\n    df.to_csv(out)\n",
        "raster.py": "import rasterio\ndef g(p):\n    with rasterio.open(p, 'w') as d:\n"
        "        pass\n",
        "ok.py": "from sinkzone.io import atomic_path\n"
        "def h(p, df):\n    with atomic_path(p) as tmp:\n        df.to_csv(tmp)\n"
        "    with open(p) as f:\n        f.read()\n",
        "ok_param.py": "import tempfile\ndef w(dst):\n    open(dst, 'wb').write(b'')\n\n"
        "def main(out):\n    d = tempfile.mkdtemp()\n    w(d + '/a')\n",
    }
    for name, text in code.items():
        (tmp_path / name).write_text(text)
    found = {(p.name, fn) for p, fn, _, _ in offenders(sorted(tmp_path.glob("*.py")))}
    assert found == {("direct.py", "main"), ("df.py", "main"), ("raster.py", "g")}


@pytest.mark.parametrize("kind", ["InputError", "ConfigError"])
def test_sinkzone_error_is_one_line_on_stderr_and_in_the_log(tmp_path, kind):
    """Both kinds of user error (one SinkzoneError base) end as one line without traceback."""
    log = tmp_path / "rule.log"
    code = (
        "import sys; sys.path.insert(0, 'scripts')\n"
        "from sinkzone.log import configure_logging\n"
        f"from sinkzone.errors import {kind}\n"
        f"configure_logging({str(log)!r})\n"
        f"raise {kind}('lc.tif', 'the raster has no CRS', 'assign one')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    want = "ERROR lc.tif: the raster has no CRS. Fix: assign one"
    assert want in proc.stderr and want in log.read_text()
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1


# =============================================================================== workflow CLI


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return make_workdir(tmp_path_factory.mktemp("wf"))


def test_cli_misspelled_config_key(workdir):
    bad = workdir / "bad_key.yaml"
    bad.write_text("region:\n  kidn: admin\n", encoding="utf-8")
    proc = snakemake(workdir, "-n", "--configfile", str(bad))
    assert_failed_with(
        proc, "config.yaml:region.kidn: unknown key 'kidn'. Fix: did you mean 'kind'?"
    )


def test_cli_wrong_type(workdir):
    bad = workdir / "bad_type.yaml"
    bad.write_text("tiling:\n  rows: two\n", encoding="utf-8")
    proc = snakemake(workdir, "-n", "--configfile", str(bad))
    assert_failed_with(proc, "config.yaml:tiling.rows: expected integer, got string 'two'")


def test_cli_missing_file(workdir):
    bad = workdir / "bad_file.yaml"
    bad.write_text("red_lines:\n  path: data/user/red_lines.gpkg\n", encoding="utf-8")
    proc = snakemake(workdir, "-n", "--configfile", str(bad))
    assert_failed_with(
        proc, "config.yaml:red_lines.path: file 'data/user/red_lines.gpkg' not found"
    )


@pytest.mark.e2e
def test_cli_landcover_without_crs(workdir, tmp_path):
    tif = landcover(tmp_path / "lc_nocrs.tif", crs=None)
    run = "test-bad-nocrs"
    cfg = overlay(workdir, "bad_landcover", landcover=tif, run=run)
    proc = snakemake(workdir, "--cores", "1", "--configfile", str(cfg))
    assert_failed_with(proc, "lc_nocrs.tif: the raster has no CRS. Fix: assign one")
    res = workdir / "results" / run
    assert not (res / "prep" / "grid.json").exists()
    assert not list(res.glob("tiles/*/assign/counts.csv"))
    assert not (res / "tables").exists()
    # the header check (rule check_headers, #17) stops it before prepare_vectors
    assert "Error in rule check_headers" in proc.stdout + proc.stderr
    assert not (res / "prep" / "inputs_ok.json").exists()
    assert not (res / "prep" / "vectors.gpkg").exists()
    assert not (res / "prep" / "dem.tif").exists()  # heavy work never started


@pytest.mark.e2e
def test_cli_unknown_landcover_code(workdir, tmp_path):
    tif = landcover(tmp_path / "lc_unknown.tif", unknown=True)
    run = "test-bad-code"
    cfg = overlay(workdir, "bad_landcover", landcover=tif, run=run)
    proc = snakemake(workdir, "--cores", "1", "--configfile", str(cfg))
    assert_failed_with(
        proc,
        "codes inside the region are missing from legend",
        "77 (12 px)",
        "Fix: add a row code,name,ecosystem",
    )
    res = workdir / "results" / run
    assert not list(res.glob("tiles/*/assign/counts.csv"))
    assert not (res / "tables").exists()
    assert "Error in rule check_inputs" in proc.stdout + proc.stderr
    assert not list(res.glob("tiles/*/layers/*.tif"))


@pytest.mark.e2e
def test_cli_good_synthetic_landcover_passes_the_checks(workdir, tmp_path):
    tif = landcover(tmp_path / "lc_good.tif")
    run = "test-good-lc"
    cfg = overlay(workdir, "bad_landcover", landcover=tif, run=run)
    target = f"results/{run}/prep/inputs_ok.json"
    proc = snakemake(workdir, target, "--cores", "1", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (workdir / target).stat().st_size > 0
