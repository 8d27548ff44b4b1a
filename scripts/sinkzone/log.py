"""Logging for rule wrappers: file + stderr, and uncaught exceptions land in the log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from sinkzone.errors import SinkzoneError
from sinkzone.memory import bound_gdal_cache

BUG_LINE = "ERROR internal error (%s): this is a bug, please report it with the log %s"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(path: str | Path | None, level: int = logging.INFO) -> logging.Logger:
    """Send log records to `path` and stderr; route uncaught exceptions to the log.

    A `SinkzoneError` is logged as one line (what, problem, fix) without a traceback. Any
    other exception is a bug in sinkzone (bad input is always turned into a SinkzoneError by
    the readers of `sinkzone.io`): its traceback is logged, then one line saying so.
    Every rule wrapper calls this first, so it also caps GDAL's block cache for the job
    (`sinkzone.memory.bound_gdal_cache`).
    """
    bound_gdal_cache()
    root = logging.getLogger()
    root.setLevel(level)
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w", encoding="utf-8"))
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)

    def _hook(exc_type, exc, tb):
        if issubclass(exc_type, SinkzoneError):
            root.error("ERROR %s", exc)
        else:
            root.error("Uncaught exception", exc_info=(exc_type, exc, tb))
            root.error(BUG_LINE, exc_type.__name__, path or "the rule log")

    sys.excepthook = _hook
    logging.captureWarnings(True)
    return logging.getLogger("sinkzone")
