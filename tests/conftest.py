"""Shared test machinery: the Snakemake runner, temporary working directories of the workflow,
one default run per session, and the guard that the test session leaves the checkout alone.

- `snakemake(workdir, *args)` runs `python -m snakemake` in `workdir` (never in the checkout).
- `link_workdir(dest)`: the workflow as symlinks in `dest` (Snakefile, rules, scripts, config,
  ...) with its own `results/`; `make_workdir(dest)`: a real copy, for tests that edit the
  workflow's files. In both, `data/raw` links to the checkout's data/raw, the cache of the
  retrieved default data that `make run` and the retrieve rules fill (ignored by git).
- fixtures `workflow_dir` (one linked working directory per session), `default_run` (the
  default pipeline run once per session into it; tests using it are marked `e2e`).
- The session fails when `git status --porcelain` of the checkout, or its ignored `results/`
  and `.snakemake/`, differ after the tests from before them.

Markers (pyproject.toml): `e2e` (real Snakemake runs; `make test-fast` leaves them out) and
`slurm` (`make test-slurm`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where the workflow lives: the working directory of a run needs these (data/raw apart).
WORKFLOW_ITEMS = (
    "Snakefile",
    "rules",
    "scripts",
    "config",
    "envs",
    "profiles",
    "report",
    "pyproject.toml",
    "data/registry.csv",
    "docs/OUTPUTS.md",  # input of write_workbook (column dictionary)
)
TIMEOUT_S = 3600


# ------------------------------------------------------------------------------ the runner


def snakemake(workdir: Path, *args, check: bool = False, timeout: float = TIMEOUT_S, env=None):
    """`python -m snakemake *args` in `workdir`; the CompletedProcess (stdout, stderr as text).

    check=True raises AssertionError with the tail of the output when the run fails.
    """
    workdir = Path(workdir)
    assert workdir.resolve() != ROOT, "tests run the workflow in a temporary directory"
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *map(str, args)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else os.environ.copy(),
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(map(str, args))} failed in {workdir}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


def assert_failed_with(proc, *needles):
    """The run failed, every needle is in its output, and no Python traceback is."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    for needle in needles:
        assert needle in out, f"{needle!r} not in output:\n{out[-4000:]}"
    assert "Traceback (most recent call last)" not in out, out[-4000:]


def overlay(workdir: Path, name: str, run: str, **subs) -> Path:
    """config/test/<name>.yaml with its @PLACEHOLDERS@ filled and run name `run`."""
    text = (ROOT / "config" / "test" / f"{name}.yaml").read_text(encoding="utf-8")
    for key, value in subs.items():
        text = text.replace(f"@{key.upper()}@", str(value))
    text = re.sub(r"(?m)^run: .*$", f"run: {run}", text)
    body = "\n".join(ln.split("#", 1)[0] for ln in text.splitlines())
    assert not re.search(r"@[A-Z_]+@", body), body
    out = Path(workdir) / f"{name}-{run}.yaml"
    out.write_text(text, encoding="utf-8")
    return out


# ------------------------------------------------------------------ temporary working dirs


def _link_data(dest: Path) -> None:
    """dest/data/raw -> the checkout's data/raw (the retrieved default datasets, shared by
    every run: a fresh clone's first run retrieves them there, as `make run` does; git ignores
    them), dest/data/cache/wheels -> the checkout's wheel cache when there is one."""
    (dest / "data").mkdir(parents=True, exist_ok=True)
    (dest / "data" / "raw").symlink_to(ROOT / "data" / "raw", target_is_directory=True)
    wheels = ROOT / "data" / "cache" / "wheels"
    if wheels.is_dir():
        (dest / "data" / "cache").mkdir(exist_ok=True)
        (dest / "data" / "cache" / "wheels").symlink_to(wheels, target_is_directory=True)


def link_workdir(dest: Path) -> Path:
    """The workflow in `dest` as symlinks to the checkout, with its own results/ and .snakemake/.

    Use make_workdir when a test edits the workflow's files.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for item in WORKFLOW_ITEMS:
        src, dst = ROOT / item, dest / item
        if not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src, target_is_directory=src.is_dir())
    _link_data(dest)
    (dest / "results").mkdir(exist_ok=True)
    return dest


def make_workdir(dest: Path) -> Path:
    """A copy of the workflow in `dest` (for tests that edit its files), data as in link_workdir."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for item in WORKFLOW_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=ignore)
        elif src.exists():
            (dest / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / item)
    _link_data(dest)
    return dest


@pytest.fixture(scope="session")
def workflow_dir(tmp_path_factory) -> Path:
    """One linked working directory of the workflow for the session (results/ of its own)."""
    return link_workdir(tmp_path_factory.mktemp("workflow"))


@pytest.fixture(scope="session")
def default_run(workflow_dir) -> Path:
    """results/default of the default pipeline (`snakemake --cores 2`), run once per session in
    a temporary working directory; the tests that use it must not change it."""
    snakemake(workflow_dir, "--cores", "2", check=True)
    return workflow_dir / "results" / "default"


# ----------------------------------------------------------------------- markers


def pytest_collection_modifyitems(items):
    """Tests that use the session's default run are `e2e` (whatever their own marks)."""
    for item in items:
        if "default_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


# ------------------------------------------------------------- the checkout stays clean


def checkout_state(root: Path = ROOT) -> str | None:
    """`git status --porcelain` of `root` plus the ignored entries a test run must not create
    (results/, .snakemake/); None when `root` is not a git checkout."""
    proc = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return None
    ignored = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--ignored", "--untracked-files=all"],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    watched = [
        ln
        for ln in ignored
        if ln.startswith("!! ") and ln[3:].startswith(("results/", ".snakemake/"))
    ]
    return proc.stdout + "".join(f"{ln}\n" for ln in watched)


def state_difference(before: str, after: str) -> list[str]:
    """Lines of `after` not in `before` and lines gone from `before` (prefixed + / -)."""
    b, a = before.splitlines(), after.splitlines()
    return [f"+ {ln}" for ln in a if ln not in b] + [f"- {ln}" for ln in b if ln not in a]


@pytest.fixture(scope="session", autouse=True)
def checkout_unchanged():
    """Fails the session (an error at the teardown of its last test) when the tests changed the
    checkout: `git status --porcelain` or the ignored results/ and .snakemake/."""
    before = checkout_state()
    yield
    if before is None:
        return
    diff = state_difference(before, checkout_state())
    assert not diff, "the test session changed the checkout (git status):\n" + "\n".join(diff)
