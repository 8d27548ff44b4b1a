"""Class tables kept in config/: the Koppen-Geiger main groups of the climate layer
(`config/climate_classes.csv`, the one source of their values, letters, names and colours).

The zone classes are the items of `zones.items` in config/config.yaml (ids, names, recipes),
read from the config; no copy of them lives in the code.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from sinkzone.errors import ConfigError

CLIMATE_CLASSES_PATH = Path(__file__).resolve().parents[2] / "config" / "climate_classes.csv"
COLUMNS = ("value", "code", "name_en", "name_zh", "color", "source")


@dataclass(frozen=True)
class ClimateClass:
    value: int  # value of the climate layer
    code: str  # main-group letter used in rules and zone recipes
    name_en: str
    name_zh: str
    color: str


def read_climate_classes(path: str | Path = CLIMATE_CLASSES_PATH) -> tuple[ClimateClass, ...]:
    """The rows of a climate class table, in file order."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise ConfigError(str(path), f"cannot read: {e}", "restore it from git") from None
    if not rows or any(c not in rows[0] for c in COLUMNS):
        raise ConfigError(str(path), "missing columns", f"use the columns {', '.join(COLUMNS)}")
    out = []
    for i, r in enumerate(rows, start=2):
        try:
            value = int(r["value"])
        except ValueError:
            raise ConfigError(
                f"{path}:{i}", f"value {r['value']!r} is not an integer", "use 1-255"
            ) from None
        out.append(ClimateClass(value, r["code"], r["name_en"], r["name_zh"], r["color"]))
    if len({c.value for c in out}) != len(out) or len({c.code for c in out}) != len(out):
        raise ConfigError(str(path), "duplicate value or code", "give each class its own")
    return tuple(out)


@functools.cache
def climate_classes() -> tuple[ClimateClass, ...]:
    """The Koppen-Geiger main groups of this checkout (config/climate_classes.csv)."""
    return read_climate_classes()


def koppen_table() -> dict[int, tuple[str, str, str, str]]:
    """{value: (code, name_en, name_zh, color)}: the shape of `sinkzone.maps.KOPPEN`, which
    should be `KOPPEN = koppen_table()` (maps is being split by another change)."""
    return {c.value: (c.code, c.name_en, c.name_zh, c.color) for c in climate_classes()}
