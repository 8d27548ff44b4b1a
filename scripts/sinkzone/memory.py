"""Process memory: hand freed heap back to the system after large temporary objects."""

from __future__ import annotations

import ctypes
import gc
import os

# GDAL block cache of a rule job (MB). GDAL's default is 5 % of physical RAM (1.2 GB on a 24 GiB
# workstation, 13 GB on a 256 GB cluster node): a job reading a whole-grid raster block by block
# keeps that much decoded data, so its memory grows with the raster. Measured on the 8e8-cell
# benchmark: tabulate_blue_carbon peaked at 2090 MiB with the default, 949 MiB with 256 MB.
GDAL_CACHE_MB = 256


def bound_gdal_cache(mb: int = GDAL_CACHE_MB) -> None:
    """Cap GDAL's block cache for this process (before its first raster read) so that a
    job's memory is bounded by its strip or tile, not by the raster. A GDAL_CACHEMAX the user
    set in the environment wins."""
    os.environ.setdefault("GDAL_CACHEMAX", str(mb))


# numpy advises the kernel to back arrays of 4 MB and more with transparent huge pages. On the
# 2-core VMs this project is measured on (THP "madvise", as Debian's default), the faults of
# those pages cost more than they save: one 30 m build_layers tile (1.25e7 cells) took 15.4 and
# 18.7 s (8.2-8.6 s system time) with it, 8.1 and 10.1 s (1.8-2.8 s system time) without.
NUMPY_HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"


def job_environment() -> None:
    """Environment variables every rule job inherits, set in the Snakemake process
    (rules/common.smk) before any job starts; a value the user set wins. Jobs on SLURM get
    them too (sbatch exports the submitting environment; each job also parses the Snakefile).
    """
    os.environ.setdefault(NUMPY_HUGEPAGE_ENV, "0")


def release_memory() -> None:
    """Free a closed figure now and hand the freed heap back to the system.

    A figure's artists form reference cycles, so its arrays wait for the cyclic garbage
    collector; and glibc keeps freed large blocks in the heap (its mmap threshold grows
    after the first large free), so the process would keep the peak of every map.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass
