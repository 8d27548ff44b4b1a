"""The workflow on a real SLURM cluster (profiles/slurm), compared with a local run.

Runs only with SINKZONE_SLURM=1 and a working `sinfo`; start a one-node cluster on this machine
with `scripts/ci/slurm_up.sh` (see docs/SLURM.md). Both runs use temporary copies of the
repository; the jobs must see them, so on a real cluster put them on a shared file system with
SINKZONE_SLURM_TMP=<shared dir>. SINKZONE_SLURM_ARGS (shell syntax) replaces WORKFLOW_ARGS.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from conftest import snakemake

ROOT = Path(__file__).resolve().parents[1]
SLURM_PROFILE = ROOT / "profiles" / "slurm"
# Targets and overlays of the compared runs: the default target on the small Beijing overlay.
WORKFLOW_ARGS: list[str] = ["--configfile", "config/test/beijing.yaml"]
TIMEOUT_S = 3 * 3600


def slurm_available() -> bool:
    """True when SINKZONE_SLURM=1 and `sinfo` answers."""
    if os.environ.get("SINKZONE_SLURM") != "1" or shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(["sinfo", "-h"], capture_output=True, text=True, timeout=30)
    return proc.returncode == 0 and proc.stdout.strip() != ""


pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        not slurm_available(),
        reason="needs SINKZONE_SLURM=1 and a working `sinfo` (scripts/ci/slurm_up.sh)",
    ),
]


def slurm_args() -> list[str]:
    """Executor arguments for this cluster on top of profiles/slurm.

    Without slurmdbd `sacct` fails ("Slurm accounting storage is disabled"), and the plugin's
    default status command would then never see a job finish: use `squeue` there (slurm.conf
    keeps finished jobs for MinJobAge=600 s). The short first status check saves ~30 s a round.
    """
    args = ["--workflow-profile", str(SLURM_PROFILE)]
    args += ["--slurm-init-seconds-before-status-checks", "5"]
    sacct = subprocess.run(["sacct", "-n", "-X"], capture_output=True, text=True)
    if shutil.which("sacct") is None or sacct.returncode != 0:
        args += ["--slurm-status-command", "squeue"]
    return args


def job_env() -> dict[str, str]:
    """The driver's environment with this interpreter's bin/ first on PATH.

    sbatch gets --export=ALL, so jobs inherit it: shell rules calling `python` or GDAL tools
    then use the same venv as the driver (Snakemake itself already runs as sys.executable).
    """
    env = os.environ.copy()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for key in [k for k in env if k.startswith("SLURM_") and k != "SLURM_CONF"]:
        del env[key]  # not inside another job's allocation
    return env


def copy_workflow(dst: Path) -> Path:
    """Copy the repository's workflow to dst; data/raw and data/cache are linked, not copied."""
    ignore = shutil.ignore_patterns(
        ".git", ".venv", ".snakemake", "results", ".pytest_cache", ".ruff_cache",
        ".hypothesis", "__pycache__", "raw", "cache", "work", "invest-venv",
    )  # fmt: skip
    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)
    for name in ("raw", "cache"):
        src = ROOT / "data" / name
        if src.is_dir():
            (dst / "data" / name).symlink_to(src, target_is_directory=True)
    (dst / "results").mkdir(exist_ok=True)
    return dst


def run_workflow(workdir: Path, extra_args: list[str]) -> Path:
    """Run snakemake in workdir with extra_args; return workdir/results.

    The full output is kept in workdir/snakemake.out; a failure shows its tail.
    """
    proc = snakemake(workdir, *extra_args, env=job_env(), timeout=TIMEOUT_S)
    out = proc.stdout + proc.stderr
    (workdir / "snakemake.out").write_text(out)
    if proc.returncode != 0:
        tail = "\n".join(out.splitlines()[-60:])
        raise AssertionError(f"snakemake {shlex.join(extra_args)} failed in {workdir}:\n{tail}")
    return workdir / "results"


def table_files(results: Path) -> dict[str, Path]:
    """Every CSV under results/<run>/tables/, keyed by its path relative to results/."""
    return {p.relative_to(results).as_posix(): p for p in sorted(results.glob("*/tables/**/*.csv"))}


def compare_tables(expected: Path, actual: Path) -> list[str]:
    """Differences between the table CSVs of two results/ trees (byte by byte)."""
    a, b = table_files(expected), table_files(actual)
    problems = [f"only in {expected}: {k}" for k in sorted(a.keys() - b.keys())]
    problems += [f"only in {actual}: {k}" for k in sorted(b.keys() - a.keys())]
    problems += [k for k in sorted(a.keys() & b.keys()) if a[k].read_bytes() != b[k].read_bytes()]
    return problems


def workflow_args() -> list[str]:
    if "SINKZONE_SLURM_ARGS" in os.environ:
        return shlex.split(os.environ["SINKZONE_SLURM_ARGS"])
    return list(WORKFLOW_ARGS)


@pytest.fixture
def shared_tmp(tmp_path):
    """A temporary directory the compute nodes can see (SINKZONE_SLURM_TMP, else tmp_path)."""
    base = os.environ.get("SINKZONE_SLURM_TMP")
    if not base:
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="sinkzone-slurm-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- a tiny workflow: proves the profile, array jobs, localrules and the job's Python -------

TINY_SNAKEFILE = """
TILES = ["r000_c000", "r000_c001", "r001_c000"]


rule all:
    input:
        "results/tiny/tables/cells.csv",
        "results/tiny/summary.txt",


rule retrieve_dataset:
    output:
        "data/seed.txt",
    localrule: True
    shell:
        "echo 7 > {output}"


rule build_layers:
    input:
        rules.retrieve_dataset.output,
    output:
        "results/tiny/tiles/{tile}/layers.csv",
    log:
        "results/tiny/logs/build_layers/{tile}.log",
    shell:
        "PYTHONPATH=scripts python scripts/build_layers.py {input} {output} > {log} 2>&1"


rule assign_tile:
    input:
        layers="results/tiny/tiles/{tile}/layers.csv",
    output:
        counts="results/tiny/tiles/{tile}/counts.csv",
    log:
        "results/tiny/logs/assign_tile/{tile}.log",
    threads: 2
    script:
        "scripts/assign_tile.py"


rule aggregate_regions:
    input:
        expand("results/tiny/tiles/{tile}/counts.csv", tile=TILES),
    output:
        "results/tiny/tables/cells.csv",
    log:
        "results/tiny/logs/aggregate_regions/all.log",
    script:
        "scripts/aggregate_regions.py"


rule write_summary:
    input:
        rules.aggregate_regions.output,
    output:
        "results/tiny/summary.txt",
    localrule: True
    shell:
        "echo ${{SLURM_JOB_ID:-driver}} > {output}"
"""

TINY_SCRIPTS = {
    "build_layers.py": """
        import os, sys
        import pandas as pd
        from sinkzone.io import write_csv

        seed = int(open(sys.argv[1]).read())
        job = os.environ.get("SLURM_JOB_ID", "none")
        write_csv(sys.argv[2], pd.DataFrame({"value": [seed], "job": [job]}))
    """,
    "assign_tile.py": """
        import os, sys
        import pandas as pd
        from sinkzone.io import write_csv
        from sinkzone.log import configure_logging

        snakemake = globals()["snakemake"]
        configure_logging(snakemake.log[0])
        value = int(pd.read_csv(snakemake.input.layers)["value"].iloc[0])
        row = {"tile": snakemake.wildcards.tile, "cells": value * snakemake.threads,
               "job": os.environ.get("SLURM_JOB_ID", "none"), "python": sys.executable}
        write_csv(snakemake.output.counts, pd.DataFrame([row]))
    """,
    "aggregate_regions.py": """
        import os
        import pandas as pd
        from sinkzone.io import write_csv
        from sinkzone.log import configure_logging

        snakemake = globals()["snakemake"]
        configure_logging(snakemake.log[0])
        df = pd.concat([pd.read_csv(p) for p in snakemake.input]).sort_values("tile")
        df["aggregate_job"] = os.environ.get("SLURM_JOB_ID", "none")
        write_csv(snakemake.output[0], df)
    """,
}


def write_tiny_workflow(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True)
    (root / "Snakefile").write_text(TINY_SNAKEFILE)
    for name, text in TINY_SCRIPTS.items():
        (root / "scripts" / name).write_text(textwrap.dedent(text))
    shutil.copytree(ROOT / "scripts" / "sinkzone", root / "scripts" / "sinkzone")
    return root


def test_tiny_workflow_runs_through_sbatch(shared_tmp):
    root = write_tiny_workflow(shared_tmp / "tiny")
    results = run_workflow(root, slurm_args())
    table = (results / "tiny" / "tables" / "cells.csv").read_text(encoding="utf-8-sig").splitlines()
    header, rows = table[0].split(","), [line.split(",") for line in table[1:]]
    assert header == ["tile", "cells", "job", "python", "aggregate_job"]
    assert [r[0] for r in rows] == ["r000_c000", "r000_c001", "r001_c000"]
    assert [int(r[1]) for r in rows] == [14, 14, 14]  # seed 7 x 2 threads given by SLURM
    # every non-local rule ran inside a SLURM job, with the driver's interpreter
    assert all(r[2].isdigit() for r in rows), rows
    assert all(Path(r[3]).resolve() == Path(sys.executable).resolve() for r in rows), rows
    assert rows[0][4].isdigit()
    for tile in ("r000_c000", "r000_c001", "r001_c000"):
        layers = (results / "tiny" / "tiles" / tile / "layers.csv").read_text(encoding="utf-8-sig")
        assert layers.splitlines()[1].split(",")[1].isdigit(), layers
    # the localrule ran on the driver, outside SLURM
    assert (results / "tiny" / "summary.txt").read_text().strip() == "driver"
    out = (root / "snakemake.out").read_text()
    assert "Submitted array job" in out  # build_layers / assign_tile went as arrays


def test_tables_match_local_run(shared_tmp):
    args = workflow_args()
    local = run_workflow(copy_workflow(shared_tmp / "local"), ["--cores", "2", *args])
    slurm = run_workflow(copy_workflow(shared_tmp / "slurm"), [*slurm_args(), *args])
    assert table_files(local), f"no tables under {local}/*/tables/"
    assert compare_tables(local, slurm) == []
