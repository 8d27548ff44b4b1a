"""User-facing errors: one message naming the file or key, the problem and the fix."""

from __future__ import annotations


class SinkzoneError(Exception):
    """An error a user can fix: bad input file or bad configuration."""

    def __init__(self, what: str, problem: str, fix: str):
        self.what = str(what)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.what}: {problem}. Fix: {fix}")


class InputError(SinkzoneError):
    """A bad input file (raster, vector, table)."""


class ConfigError(SinkzoneError):
    """A bad configuration value; `what` is the key path, e.g. config.yaml:landcover.legend."""
