"""The layer specification `config/layers.yaml`: the one declaration of every raster layer and
product (dtype, nodata, output nodata, unit, kind, operators allowed in rules, resampling,
description, class table, slope threshold). Everything else derives from it: the Snakefile's
layer list and build_layers outputs, `sinkzone.layers.LAYERS`, `sinkzone.suitability.LAYERS`,
`sinkzone.rastermeta` (OUTPUT_NODATA, UNITS, DESCRIPTIONS, CLASS_LAYERS), `sinkzone.terrain`
(THRESHOLDS) and the layer table of docs/ARCHITECTURE.md (`doc_table`, checked by a test).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jsonschema
import yaml

from sinkzone.errors import ConfigError

CONFIG = Path(__file__).resolve().parents[2] / "config"
SPEC_PATH = CONFIG / "layers.yaml"
SCHEMA_PATH = CONFIG / "layers.schema.yaml"

# kinds a suitability rule reads as class codes (a class raster: names in the .aux.xml)
CLASS_KINDS = ("int", "ecosystem", "climate", "zone", "bool")
# bitmask kinds: 0 = no bit set, so no value counts as missing in rules
BITMASK_KINDS = ("zone", "flag")
# names of the bits of the `marine` layer, in bit order (bit i = 1 << i); here, not in
# sinkzone.marine, so that reading the layer does not import the sea-cell code (geopandas, scipy)
MARINE_FLAGS = ("sea", "mariculture_allowed", "mangrove_extent", "reef", "lake")


def marine_flag(name: str) -> int:
    """The bit value of a `marine` flag."""
    return 1 << MARINE_FLAGS.index(name)


def read_spec(path: str | Path = SPEC_PATH) -> dict:
    """The parsed, schema-checked layer specification."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(str(path), f"cannot read: {e}", "restore it from git") from None
    schema = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    err = next(iter(jsonschema.Draft202012Validator(schema).iter_errors(doc)), None)
    if err is not None:
        where = ".".join(str(p) for p in err.absolute_path) or "(top)"
        raise ConfigError(
            f"{path}:{where}", err.message, f"see {SCHEMA_PATH.name} for the allowed fields"
        )
    return doc


@functools.cache
def spec() -> dict:
    """The specification of this checkout (read once)."""
    return read_spec()


def float_nodata(doc: dict | None = None) -> float:
    """The fill value of every float32 layer and product (-9999.0)."""
    return float((doc or spec())["float_nodata"])


def output_nodata(name: str, grid: dict, doc: dict | None = None):
    """The value of a layer outside the region (its mosaic's, and since #12 its tiles', nodata):
    `output_nodata` of the spec; landcover: the grid's nodata, else its dtype's maximum."""
    if name == "landcover":
        nd = grid.get("nodata")
        if nd is None:
            import numpy as np

            nd = np.iinfo(np.dtype(grid["dtype"])).max
        return nd
    return (doc or spec())["layers"][name]["output_nodata"]


def layer_names(doc: dict | None = None) -> list[str]:
    """Names of the per-tile layers, in order."""
    return list((doc or spec())["layers"])


def thresholds(doc: dict | None = None) -> dict[str, float]:
    """{steep layer: slope threshold in degrees}, e.g. {"steep15": 15.0, "steep25": 25.0}."""
    return {
        n: float(v["threshold_deg"])
        for n, v in (doc or spec())["layers"].items()
        if "threshold_deg" in v
    }


def steep_nodata(doc: dict | None = None) -> int:
    """The nodata of the steep layers (one value for all of them, checked)."""
    layers = (doc or spec())["layers"]
    values = {layers[n]["nodata"] for n in thresholds(doc)}
    if len(values) != 1:
        raise ConfigError(
            str(SPEC_PATH), f"steep layers with different nodata {sorted(values)}", "use one value"
        )
    return int(values.pop())


def layer_outputs(pattern: str, doc: dict | None = None) -> dict[str, str]:
    """{layer: pattern.format(layer=layer)}: the Snakefile's per-layer outputs."""
    return {n: pattern.format(layer=n) for n in layer_names(doc)}


def _fmt(v) -> str:
    if v is None:
        return "source"
    return f"{v:g}" if isinstance(v, float) else str(v)


def doc_table(doc: dict | None = None) -> str:
    """The layer table of docs/ARCHITECTURE.md (Markdown), generated from the spec."""
    rows = [
        "| layer | dtype | nodata (tile) | nodata (mosaic) | unit | kind | rule ops | description |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, v in (doc or spec())["layers"].items():
        rows.append(
            f"| `{n}` | {v['dtype'] or 'source'} | {_fmt(v['nodata'])} | "
            f"{_fmt(v['output_nodata'])} | {v['unit']} | {v['kind']} | {' '.join(v['ops'])} | "
            f"{v['description']} |"
        )
    return "\n".join(rows) + "\n"


def main(argv=None) -> None:
    """`python -m sinkzone.layerspec`: print the docs table (paste it into ARCHITECTURE.md)."""
    print(doc_table(), end="")


if __name__ == "__main__":
    main()
