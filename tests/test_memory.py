"""Rule jobs cap GDAL's block cache (sinkzone.memory.bound_gdal_cache, called by
configure_logging): otherwise a job reading a whole-grid raster keeps up to 5 % of the machine's
RAM of decoded blocks, and its memory grows with the raster instead of the strip or tile."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sinkzone.memory import GDAL_CACHE_MB

TESTS = Path(__file__).parent
SCRIPTS = TESTS.parent / "scripts"

PROBE = """
import ctypes, json, sys
import numpy as np, rasterio
from rasterio.transform import from_origin
sys.path[:0] = [{tests!r}, {scripts!r}]
if {configure}:
    from sinkzone.log import configure_logging
    configure_logging(None)
from gdal_c import _lib
path = {tif!r}
with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint8",
                   crs="EPSG:4326", transform=from_origin(100, 40, 0.1, 0.1)) as dst:
    dst.write(np.ones((1, 64, 64), np.uint8))
with rasterio.open(path) as src:
    src.read(1)
lib = _lib()
lib.GDALGetCacheMax64.restype = ctypes.c_int64
print(json.dumps(lib.GDALGetCacheMax64()))
"""


def cache_max(tmp_path, configure: bool, env_value: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "GDAL_CACHEMAX"}
    if env_value is not None:
        env["GDAL_CACHEMAX"] = env_value
    code = PROBE.format(tests=str(TESTS), scripts=str(SCRIPTS), configure=configure,
                        tif=str(tmp_path / "probe.tif"))  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=tmp_path)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_rule_wrappers_cap_the_gdal_block_cache(tmp_path):
    assert cache_max(tmp_path, configure=True) == GDAL_CACHE_MB * 2**20


def test_without_the_cap_gdal_takes_a_share_of_ram(tmp_path):
    # the control: what a job would get without configure_logging (GDAL's 5 % of RAM)
    default = cache_max(tmp_path, configure=False)
    if default == GDAL_CACHE_MB * 2**20:
        pytest.skip("this machine's GDAL default equals the cap")
    assert default != GDAL_CACHE_MB * 2**20


def test_a_user_gdal_cachemax_wins(tmp_path):
    assert cache_max(tmp_path, configure=True, env_value="100") == 100 * 2**20


HUGEPAGE_PROBE = """
import numpy._core.multiarray as m
print(int(m._get_madvise_hugepage()))
"""


@pytest.mark.parametrize("user", [None, "1"])
def test_rule_jobs_run_numpy_without_huge_pages_unless_the_user_says(user):
    """The Snakemake process (rules/common.smk -> job_environment) sets NUMPY_MADVISE_HUGEPAGE=0
    for the jobs it starts; a user's value wins. Checked in a child process as a job is one."""
    from sinkzone.memory import NUMPY_HUGEPAGE_ENV, job_environment

    env = {k: v for k, v in os.environ.items() if k != NUMPY_HUGEPAGE_ENV}
    if user is not None:
        env[NUMPY_HUGEPAGE_ENV] = user
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        job_environment()
        child = dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert child[NUMPY_HUGEPAGE_ENV] == (user or "0")
    out = subprocess.run([sys.executable, "-c", HUGEPAGE_PROBE], env=child, check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert out == (user or "0")
    # the control: numpy's own default (on Linux) is to advise huge pages
    env.pop(NUMPY_HUGEPAGE_ENV, None)
    default = subprocess.run([sys.executable, "-c", HUGEPAGE_PROBE], env=env, check=True,
                             capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert default == "1"


def test_the_workflow_sets_the_job_environment():
    """rules/common.smk calls job_environment before any rule is defined."""
    text = (TESTS.parent / "rules" / "common.smk").read_text(encoding="utf-8")
    call = text.index("\njob_environment()")
    assert call < text.index("validate_config(config")
