"""User-facing errors: one message naming the file or key, the problem and the fix."""

from __future__ import annotations


def one_line(text) -> str:
    """`text` on one line (library messages quoted in a problem may hold newlines)."""
    return " ".join(str(text).split())


def type_name(v) -> str:
    """The name of a value's type in messages (YAML/JSON words: null, mapping, list, ...)."""
    if v is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(v), type(v).__name__)


class SinkzoneError(Exception):
    """An error a user can fix: bad input file or bad configuration.

    The message is always one line ``WHAT: PROBLEM. Fix: FIX``: whitespace runs (newlines of
    quoted library messages) collapse to one space, and a quoted ". Fix:" is defused.
    """

    def __init__(self, what: str, problem: str, fix: str):
        self.what = one_line(what)
        self.problem = one_line(problem).replace(". Fix:", "; fix:")
        self.fix = one_line(fix)
        super().__init__(f"{self.what}: {self.problem}. Fix: {self.fix}")


class InputError(SinkzoneError):
    """A bad input file (raster, vector, table)."""


class ConfigError(SinkzoneError):
    """A bad configuration value; `what` is the key path, e.g. config.yaml:landcover.legend."""
