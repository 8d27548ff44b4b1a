"""Configuration checks at parse time, with messages naming the config key (rules/common.smk).

- `validate_config(config, schema_path)`: JSON-schema validation with a one-line message
  naming the key path (``config.yaml:region.kidn: unknown key 'kidn'. Fix: did you mean
  'kind'? ...``), plus existence of every file the config names (`check_config_files`).
- `describe_pattern`: the fix of a pattern error in words; `check_bbox`: region.bbox.

No data I/O: the data checks of the inputs are in `sinkzone.checks`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path

from sinkzone.errors import ConfigError, type_name
from sinkzone.legend import LEGEND_NAME, legend_path, shipped_legends

CFG = "config.yaml"  # prefix of config key paths in messages (the merged config + overlays)


def _key(path) -> str:
    return f"{CFG}:{'.'.join(str(p) for p in path)}" if path else CFG


def _schema_at(schema: dict, path, root: dict) -> dict:
    """The sub-schema that describes the instance at `path` (follows properties, items, $ref)."""
    node = schema
    for p in path:
        while "$ref" in node:
            node = _resolve(root, node["$ref"])
        if isinstance(p, int):
            node = node.get("items", {})
        elif p in node.get("properties", {}):
            node = node["properties"][p]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return {}
    while "$ref" in node:
        node = _resolve(root, node["$ref"])
    return node


def _resolve(root: dict, ref: str) -> dict:
    node = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _message(err, root: dict) -> tuple[str, str, str]:
    """(key path, problem, fix) for one jsonschema error."""
    path = list(err.absolute_path)
    v = err.validator
    if v == "additionalProperties":
        sub = _schema_at(root, path, root)
        allowed = sorted(sub.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        key = extra[0] if extra else "?"
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return (
            _key([*path, key]),
            f"unknown key '{key}'",
            f"{hint}allowed keys here: {', '.join(allowed)} (see config/schema.yaml)",
        )
    if v == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        key = missing[0] if missing else "?"
        return (
            _key([*path, key]),
            "required key is missing",
            f"add '{key}' (see config/config.yaml)",
        )
    if v == "type":
        want = err.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        got = err.instance
        return (
            _key(path),
            f"expected {want}, got {type_name(got)} {got!r}",
            f"write a value of type {want} (use --configfile overlays, not --config, "
            "for nested keys: --config values arrive as strings)",
        )
    if v == "enum":
        return (
            _key(path),
            f"{err.instance!r} is not allowed",
            f"use one of {', '.join(map(str, err.validator_value))}",
        )
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return (
            _key(path),
            f"{err.instance!r} is out of range",
            f"use a value {op} {err.validator_value}",
        )
    if v == "pattern":
        return (
            _key(path),
            f"{err.instance!r} does not match {err.validator_value}",
            describe_pattern(err.validator_value),
        )
    if v in ("minItems", "maxItems"):
        return _key(path), f"wrong number of items ({len(err.instance)})", err.message
    if v == "oneOf":
        return (
            _key(path),
            f"{err.instance!r} matches none of the allowed forms",
            "write {vector: NAME}, {admin: [adcodes]} or {layer: .., op: .., value: ..}",
        )
    return _key(path), err.message, "see config/schema.yaml"


CLASS_WORDS = {"A-Z": "upper-case letters", "a-z": "lower-case letters", "0-9": "digits"}


def describe_pattern(pattern: str) -> str:
    """The fix for a pattern error, in words for the usual ``^[...]+$`` character classes."""
    m = re.fullmatch(r"\^\[([^\]]+)\][+*]\$", pattern)
    if not m:
        return f"write a value matching the regular expression {pattern}"
    body, words = m.group(1), []
    for rng, word in CLASS_WORDS.items():
        if rng in body:
            words.append(word)
            body = body.replace(rng, "")
    words += [f"'{ch}'" for ch in body]
    listed = ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]
    return f"use only {listed} (pattern {pattern})"


# Config keys that name files: (key path, condition on config or None).
FILE_KEYS = (
    (("landcover", "path"), None),
    (("landcover", "legend"), None),
    (("ecosystems",), None),
    (("dem", "path"), None),
    (("climate", "path"), None),
    (("precipitation", "path"), lambda c: c["precipitation"]["enabled"]),
    (("coast", "path"), None),
    (("region", "path"), lambda c: c["region"]["kind"] == "file"),
    (("red_lines", "path"), None),
    (("zones", "official", "path"), None),
    (("catalog",), None),
    (("suitability",), None),
    (("residues", "table"), None),
    (("validation", "figures"), None),
    (("validation", "mapping"), None),
    (("validation", "activity_areas"), None),
    (("realistic", "caps"), None),
)


def _get(config: Mapping, path):
    node = config
    for p in path:
        if not isinstance(node, Mapping) or p not in node:
            return None
        node = node[p]
    return node


def config_files(config: Mapping) -> dict[str, str]:
    """{key path: file} of every file the config names (null paths skipped)."""
    out = {}
    for path, cond in FILE_KEYS:
        value = _get(config, path)
        if value and (cond is None or cond(config)):
            out[".".join(path)] = str(value)
    for name, spec in sorted((config.get("vectors") or {}).items()):
        if isinstance(spec, Mapping) and spec.get("path"):
            out[f"vectors.{name}.path"] = str(spec["path"])
    return out


def check_config_files(config: Mapping, base: str | Path = ".") -> None:
    """Raise ConfigError for the first config key whose file does not exist (stat only)."""
    for key, value in config_files(config).items():
        if key == "landcover.legend" and LEGEND_NAME.match(value):
            path = Path(base) / legend_path(value)
            if not path.exists():
                raise ConfigError(
                    f"{CFG}:{key}",
                    f"no shipped legend named '{value}' ({path} not found)",
                    f"use one of {shipped_legends(path.parent)} (`sinkzone legends` lists them) "
                    "or the path of your own legend CSV",
                )
            continue
        p = Path(value)
        if not (p if p.is_absolute() else Path(base) / p).exists():
            raise ConfigError(
                f"{CFG}:{key}",
                f"file '{value}' not found",
                "correct the path (relative paths start at the working directory) or set it "
                "to null to use the default dataset",
            )


def validate_config(
    config: Mapping, schema_path: str | Path, *, check_files: bool = True, base: str | Path = "."
) -> None:
    """Validate the merged config against the JSON schema; raise one ConfigError naming the key.

    Call it in rules/common.smk before Snakemake's own `validate` (which then fills defaults):
    its messages name the key path (``config.yaml:region.kidn: unknown key 'kidn'. Fix: did you
    mean 'kind'? ...``) instead of printing the schema. With `check_files` every file the config
    names must exist (a stat, no data I/O).
    """
    import jsonschema
    import yaml

    with open(schema_path, encoding="utf-8") as f:
        schema = yaml.safe_load(f)
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(dict(config)))
    if errors:
        # deepest first (the most specific key), then document order
        err = sorted(
            errors, key=lambda e: (-len(e.absolute_path), [str(p) for p in e.absolute_path])
        )[0]
        if err.validator == "oneOf" and err.context:
            err = max(err.context, key=lambda e: len(e.absolute_path))
        raise ConfigError(*_message(err, schema))
    region = config.get("region") or {}
    if region.get("kind") == "bbox":
        check_bbox(region.get("bbox"))
    outputs = config.get("outputs") or {}
    if outputs.get("measure_mosaics") and not outputs.get("measure_rasters", True):
        raise ConfigError(
            f"{CFG}:outputs.measure_mosaics",
            "true while outputs.measure_rasters is false: there are no share rasters to copy",
            "set outputs.measure_rasters: true, or outputs.measure_mosaics: false",
        )
    if check_files:
        check_config_files(config, base)


def check_bbox(bbox) -> tuple[float, float, float, float]:
    """region.bbox is [minlon, minlat, maxlon, maxlat] in degrees with min < max (parse time;
    the same test as sinkzone.vectors.region_geometry, which runs only in prepare_vectors)."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        raise ConfigError(
            f"{CFG}:region.bbox",
            "need [minlon, minlat, maxlon, maxlat]",
            "give four numbers in degrees",
        )
    x0, y0, x1, y1 = (float(v) for v in bbox)
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ConfigError(
            f"{CFG}:region.bbox",
            f"invalid box {list(bbox)}",
            "use [minlon, minlat, maxlon, maxlat] with min < max, in degrees",
        )
    return x0, y0, x1, y1
