"""Whether a run directory holds a finished run: the RUN_INCOMPLETE marker.

A run that has started writing ``results/{run}/`` carries ``results/{run}/RUN_INCOMPLETE``
(written by the workflow's ``onstart`` handler when any job of the run is about to run) until
the final rule ``finish_run`` has checked that every final output exists, written
``results/{run}/run_complete.json`` and removed the marker. A failed, interrupted or partial
run (a target short of ``all``) therefore keeps the marker, and its tables, maps and
GeoPackage do not look finished to the tools that read them:

- `check_complete(run_dir)` raises `RunIncompleteError` (a one-line `SinkzoneError`); the
  ``sinkzone explain`` entry calls it, the web app and report packs call it too;
- `run_state(run_dir)` returns ``"complete"``, ``"incomplete"`` or ``"missing"`` for tools
  that flag rather than refuse.

A run directory written before the marker existed (no marker, no run_complete.json) counts
as complete: nothing can tell.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from sinkzone.errors import SinkzoneError
from sinkzone.io import write_text

MARKER = "RUN_INCOMPLETE"
COMPLETE = "run_complete.json"


class RunIncompleteError(SinkzoneError):
    """The run directory holds an unfinished run (or none)."""


def marker_path(run_dir) -> Path:
    return Path(run_dir) / MARKER


def mark_incomplete(run_dir, reason: str = "the run started") -> Path:
    """Write the marker (before any job of the run writes an output)."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (
        f"This run is not complete ({reason} at {now} UTC and has not finished).\n"
        "Its tables, maps and layers may be missing, stale or partial: do not use them.\n"
        "Rerun the workflow (snakemake --cores N); the final rule finish_run removes this file.\n"
    )
    path = marker_path(run_dir)
    write_text(path, text)
    return path


def mark_complete(run_dir, outputs) -> Path:
    """Check that every final output exists, write run_complete.json, remove the marker."""
    run_dir = Path(run_dir)
    missing = [str(p) for p in outputs if not Path(p).exists()]
    if missing:
        raise RunIncompleteError(
            run_dir,
            f"final outputs missing: {', '.join(missing[:5])}",
            "rerun the workflow",
        )
    done = run_dir / COMPLETE
    body = {"complete": True, "outputs": sorted(str(p) for p in outputs)}
    write_text(done, json.dumps(body, indent=1) + "\n")
    marker_path(run_dir).unlink(missing_ok=True)
    return done


def run_state(run_dir) -> str:
    """'missing' (no directory), 'incomplete' (marker present) or 'complete'."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return "missing"
    return "incomplete" if marker_path(run_dir).exists() else "complete"


def check_complete(run_dir) -> None:
    """Raise RunIncompleteError unless `run_dir` holds a finished run."""
    state = run_state(run_dir)
    if state == "missing":
        raise RunIncompleteError(
            run_dir, "no such run directory", "run the workflow first, or check --run"
        )
    if state == "incomplete":
        raise RunIncompleteError(
            run_dir,
            f"the run did not complete ({MARKER} is present: it failed, was interrupted or "
            "only part of it was run), so its outputs may be partial",
            "rerun the workflow to the end (snakemake --cores N) and read the log of the "
            "failed job",
        )
