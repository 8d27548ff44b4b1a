"""Reliability (#17): damaged and empty inputs fail early, in one line, before heavy jobs.

Unit tests of the reading layer (sinkzone.io: library errors -> one-line InputError), of the
land-cover block pass, of the run-state marker and of the bug line; then the three cases of
issue 17 through real `snakemake` runs in a temporary copy of the workflow: a land cover with
truncated pixel blocks, one that is nodata everywhere in the region, one without CRS. Each
stops with one line naming the file before any heavy job started (no log, benchmark or output
of prepare_vectors, prepare_dem, define_grid, build_layers, ...), and the run directory keeps
RUN_INCOMPLETE.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from conftest import assert_failed_with, make_workdir, overlay, snakemake
from helpers.inputs import (
    BOUNDS,
    ECOSYSTEMS,
    LEGEND,
    landcover,
    raises,
    write_tif,
)

from sinkzone import checks, configcheck, io, runstate
from sinkzone.errors import InputError, SinkzoneError

ROOT = Path(__file__).resolve().parents[1]
REGION = shapely.box(*BOUNDS)
HEAVY = (
    "prepare_vectors",
    "prepare_dem",
    "prepare_precip",
    "define_grid",
    "build_layers",
    "assign_tile",
    "aggregate_regions",
)


def truncated_landcover(path: Path, keep: float = 0.5) -> Path:
    """A deflate GeoTIFF of noisy codes (so blocks do not compress away), cut at `keep`."""
    rng = np.random.default_rng(17)
    arr = rng.choice(np.array([10, 12, 14], np.uint8), size=(50, 60))
    full = write_tif(path.with_suffix(".full.tif"), arr)
    import rasterio

    with rasterio.open(full) as src:
        profile = src.profile | {"compress": "deflate", "blockysize": 5}
        data = src.read()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    return path


# ------------------------------------------------------------------------- reading layer


def test_truncated_blocks_are_one_line_naming_the_rows(tmp_path):
    tif = truncated_landcover(tmp_path / "lc_cut.tif")
    msg = raises(InputError, checks.check_landcover_blocks, tif, BOUNDS)
    assert msg.startswith(f"{tif}: pixel data unreadable at rows "), msg
    assert "IReadBlock failed" in msg and "truncated or damaged" in msg
    msg = raises(
        InputError,
        checks.check_landcover,
        tif,
        legend=LEGEND,
        ecosystems=ECOSYSTEMS,
        region_bounds=BOUNDS,
        region_geom=REGION,
    )
    assert "pixel data unreadable at rows" in msg


def test_landcover_all_nodata_in_the_region(tmp_path):
    arr = np.full((50, 60), 12, np.uint8)
    arr[5:45, 5:55] = 255  # the region (116.0-116.4, 39.6-39.9) is nodata, the margin is not
    tif = write_tif(tmp_path / "lc_empty.tif", arr)
    msg = raises(
        InputError,
        checks.check_landcover,
        tif,
        legend=LEGEND,
        ecosystems=ECOSYSTEMS,
        region_bounds=BOUNDS,
        region_geom=REGION,
    )
    assert msg.startswith(
        f"{tif}: no valid land-cover cell inside the region (1200 cells: 1200 nodata)"
    )
    tif2 = write_tif(tmp_path / "lc_none.tif", np.full((50, 60), 255, np.uint8))
    msg = raises(InputError, checks.check_landcover_blocks, tif2, BOUNDS)
    assert "no valid land-cover cell over the region bounds" in msg and "all 1200 cells" in msg


def test_landcover_mostly_unmapped_exceeds_the_stated_share(tmp_path):
    arr = np.full((50, 60), 12, np.uint8)
    arr[10:40, :] = 255  # 30 of the 30 region rows? no: rows 10-39 of 10-39 -> 3/4 of region
    arr[10:16, :] = 12
    tif = write_tif(tmp_path / "lc_sparse.tif", arr)
    kw = dict(legend=LEGEND, ecosystems=ECOSYSTEMS, region_bounds=BOUNDS, region_geom=REGION)
    msg = raises(InputError, checks.check_landcover, tif, **kw)
    assert "of the 1200 cells inside the region have no ecosystem" in msg
    assert (
        "landcover.max_unmapped_share = 0.5" in msg and "raise landcover.max_unmapped_share" in msg
    )
    out = checks.check_landcover(tif, max_unmapped_share=0.9, **kw)
    assert out["region_cells"] == 1200 and out["unmapped_share"] == pytest.approx(0.8)


def test_library_errors_become_one_line_input_errors(tmp_path):
    bad_csv = tmp_path / "legend.csv"
    bad_csv.write_bytes(b"code,name,ecosystem\n1,a,forest\n2,b,forest,x,y\n")
    msg = raises(InputError, io.read_csv, bad_csv, None, dtype=str)
    assert msg.startswith(f"{bad_csv}: not a valid CSV table (") and "line 3" in msg
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("code,name\n1,森林\n".encode("gbk"))
    msg = raises(InputError, io.read_csv, gbk)
    assert "not UTF-8 text" in msg and "save the file as UTF-8" in msg
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "the table is empty" in raises(InputError, io.read_csv, empty)
    y = tmp_path / "s.yaml"
    y.write_text("a: [1, 2\nb: 3\n", encoding="utf-8")
    msg = raises(InputError, io.read_yaml, y)
    assert msg.startswith(f"{y}: invalid YAML at line") and "Fix: fix the syntax" in msg
    notvec = tmp_path / "z.gpkg"
    notvec.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    assert "not a readable vector file" in raises(InputError, io.read_dataframe, notvec)
    notras = tmp_path / "r.tif"
    notras.write_bytes(b"II*\x00garbage")
    assert raises(InputError, io.open_raster, notras, "config.yaml:dem").startswith(
        f"config.yaml:dem ({notras}): cannot "
    )


def test_reading_keeps_tracebacks_of_our_own_bugs(tmp_path):
    with pytest.raises(SinkzoneError):
        with io.reading(tmp_path / "x.csv", kind="table"):
            raise InputError("x", "y", "z")  # passes unchanged
    with pytest.raises(KeyboardInterrupt):
        with io.reading(tmp_path / "x.csv", kind="table"):
            raise KeyboardInterrupt


def test_internal_error_says_it_is_a_bug(tmp_path):
    log = tmp_path / "rule.log"
    code = (
        "import sys; sys.path.insert(0, 'scripts')\n"
        "from sinkzone.log import configure_logging\n"
        f"configure_logging({str(log)!r})\n"
        "{}['missing']\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "KeyError" in proc.stderr
    want = f"internal error (KeyError): this is a bug, please report it with the log {log}"
    assert want in proc.stderr and want in log.read_text()


# ------------------------------------------------------------------------- run state


def test_run_state_marker_and_guard(tmp_path, capsys):
    run = tmp_path / "results" / "r1"
    assert runstate.run_state(run) == "missing"
    runstate.mark_incomplete(run)
    assert runstate.run_state(run) == "incomplete"
    with pytest.raises(runstate.RunIncompleteError) as e:
        runstate.check_complete(run)
    assert "RUN_INCOMPLETE is present" in str(e.value) and "\n" not in str(e.value)
    from sinkzone import cli

    assert (
        cli.main(
            [
                "explain",
                "--results-dir",
                str(tmp_path / "results"),
                "--run",
                "r1",
                "--lon",
                "116.2",
                "--lat",
                "39.8",
            ]
        )
        == 1
    )
    assert "the run did not complete" in capsys.readouterr().err
    out = run / "t.csv"
    out.write_text("a\n")
    with pytest.raises(runstate.RunIncompleteError):
        runstate.mark_complete(run, [out, run / "missing.csv"])
    assert runstate.run_state(run) == "incomplete"
    runstate.mark_complete(run, [out])
    assert runstate.run_state(run) == "complete" and (run / "run_complete.json").exists()
    runstate.check_complete(run)


# ------------------------------------------------------------------------- the three cases


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return make_workdir(tmp_path_factory.mktemp("wf17"))


def assert_no_heavy_job(workdir: Path, run: str, proc):
    res = workdir / "results" / run
    out = proc.stdout + proc.stderr
    for rule in HEAVY:
        assert f"rule {rule}:" not in out, f"{rule} started:\n{out[-3000:]}"
        assert not (res / "logs" / rule).exists() and not (res / "benchmarks" / rule).exists()
    assert not (res / "prep" / "vectors.gpkg").exists()
    assert not (res / "tables").exists()
    assert (res / "RUN_INCOMPLETE").exists() and not (res / "run_complete.json").exists()


def _error_lines(proc) -> list[str]:
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if " ERROR " in ln]


@pytest.mark.e2e
@pytest.mark.parametrize(
    "case, needle",
    [
        ("truncated", "pixel data unreadable at rows"),
        ("all_nodata", "no valid land-cover cell over the region bounds"),
        ("no_crs", "the raster has no CRS. Fix: assign one"),
    ],
)
def test_issue_cases_fail_in_one_line_before_any_heavy_job(workdir, tmp_path, case, needle):
    path = tmp_path / f"lc_{case}.tif"
    if case == "truncated":
        truncated_landcover(path)
    elif case == "all_nodata":
        write_tif(path, np.full((50, 60), 255, np.uint8))
    else:
        landcover(path, crs=None)
    run = f"test-17-{case.replace('_', '-')}"
    cfg = overlay(workdir, "bad_landcover", landcover=path, run=run)
    proc = snakemake(workdir, "--cores", "2", "--configfile", str(cfg))
    assert_failed_with(proc, f"{path.name}: ", needle, "Error in rule check_headers")
    lines = {ln.split(" ERROR ", 1)[1] for ln in _error_lines(proc)}
    assert len(lines) == 1 and str(path) in next(iter(lines)), lines
    assert_no_heavy_job(workdir, run, proc)


def test_config_bbox_min_above_max_fails_at_parse_time(monkeypatch):
    """Fuzz finding: a bit flip in an overlay's bbox (116.0 -> 716.0) passed the schema and
    crashed define_grid with rasterio's WindowError; now one line at parse time."""
    from helpers.inputs import SCHEMA, merged

    from sinkzone.errors import ConfigError

    monkeypatch.chdir(ROOT)
    cfg = merged(region__kind="bbox", region__bbox=[716.0, 39.6, 116.4, 39.9])
    msg = raises(ConfigError, configcheck.validate_config, cfg, SCHEMA)
    assert msg == (
        "config.yaml:region.bbox: invalid box [716.0, 39.6, 116.4, 39.9]. "
        "Fix: use [minlon, minlat, maxlon, maxlat] with min < max, in degrees"
    )


def test_errors_doc_lists_a_test_for_every_row():
    """Every table row of docs/ERRORS.md names at least one test, and every named test exists."""
    import re

    doc = (ROOT / "docs" / "ERRORS.md").read_text(encoding="utf-8")
    defined = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
    rows = [
        ln
        for ln in doc.splitlines()
        if ln.startswith("|")
        and not set(ln) <= set("|- ")
        and not ln.startswith("| bad input")
        and not ln.startswith("| fault")
        and not ln.startswith("| damage")
    ]
    assert len(rows) > 40
    missing_test, unknown = [], []
    for row in rows:
        names = re.findall(r"`(test_\w+)`", row.rstrip("| ").rsplit("|", 1)[-1])
        if not names:
            missing_test.append(row[:80])
        unknown += [n for n in names if n not in defined]
    assert not missing_test, missing_test
    assert not unknown, unknown


# ------------------------------------------------------------------------- check_headers


def _headers(tmp_path, tif, region, **kw):
    from check_headers import main  # scripts/check_headers.py (scripts/ is on sys.path)
    from helpers.inputs import CATALOG, SUITABILITY, ZONE_IDS

    return main(
        landcover=tif,
        legend=LEGEND,
        ecosystems=ECOSYSTEMS,
        region=region,
        out=tmp_path / "headers_ok.json",
        catalog=CATALOG,
        suitability=kw.pop("suitability", SUITABILITY),
        zone_ids=ZONE_IDS,
        **kw,
    )


def test_check_headers_reads_every_block_over_the_region_bounds(tmp_path):
    tif = landcover(tmp_path / "lc.tif")
    out = _headers(tmp_path, tif, {"kind": "bbox", "bbox": list(BOUNDS)})
    assert out["region_bounds"] == list(BOUNDS)
    assert out["landcover"]["window_cells"] == 40 * 30 and out["landcover"]["window_nodata"] == 0
    first = (tmp_path / "headers_ok.json").read_bytes()
    _headers(tmp_path, tif, {"kind": "bbox", "bbox": list(BOUNDS)})
    assert (tmp_path / "headers_ok.json").read_bytes() == first  # deterministic


def test_check_headers_region_file_bounds_from_its_header(tmp_path):
    import geopandas as gpd

    tif = landcover(tmp_path / "lc.tif")
    region = tmp_path / "region.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.box(116.1, 39.7, 116.2, 39.8)], crs="EPSG:4326").to_file(
        region, driver="GPKG"
    )
    out = _headers(tmp_path, tif, {"kind": "file", "path": str(region)})
    assert out["region_bounds"] == pytest.approx([116.1, 39.7, 116.2, 39.8])
    assert out["landcover"]["window_cells"] == 10 * 10


def test_check_headers_admin_region_leaves_large_windows_to_check_inputs(tmp_path, monkeypatch):
    tif = landcover(tmp_path / "lc.tif")
    monkeypatch.setattr(checks, "HEADER_SCAN_MAX_PIXELS", 100)
    out = _headers(tmp_path, tif, {"kind": "admin", "admin": [110000]})
    assert out["landcover"]["blocks"] == "read in check_inputs"
    monkeypatch.setattr(checks, "HEADER_SCAN_MAX_PIXELS", 10**9)
    out = _headers(tmp_path, tif, {"kind": "admin", "admin": [110000]})
    assert out["landcover"]["window_cells"] == 50 * 60  # the whole raster lies in China's bounds


def test_check_headers_checks_the_rules_before_any_heavy_job(tmp_path):
    from sinkzone.errors import ConfigError

    bad = tmp_path / "suitability.yaml"
    bad.write_text("measures: {a: [\n", encoding="utf-8")
    tif = landcover(tmp_path / "lc.tif")
    msg = raises(
        ConfigError,
        _headers,
        tmp_path,
        tif,
        {"kind": "bbox", "bbox": list(BOUNDS)},
        suitability=bad,
    )
    assert msg.startswith(f"{bad}: invalid YAML at line 2")
