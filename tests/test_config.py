"""Every config file validates against config/schema.yaml; misspelled keys are errors."""

from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
DEFAULT = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def merge(base, overlay):
    out = dict(base)
    for k, v in overlay.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def validator():
    return jsonschema.Draft202012Validator(SCHEMA)


def test_schema_is_valid_2020_12():
    assert SCHEMA["$schema"].endswith("2020-12/schema")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_default_config_validates():
    validator().validate(DEFAULT)


OVERLAYS = sorted(
    p
    for sub in ("test", "examples", "published")
    for p in (ROOT / "config" / sub).glob("*.yaml")
    if not p.name.startswith("yu2022")
)


@pytest.mark.parametrize("path", OVERLAYS, ids=lambda p: p.name)
def test_overlays_validate(path):
    validator().validate(merge(DEFAULT, yaml.safe_load(path.read_text()) or {}))


def test_misspelled_key_is_an_error():
    bad = merge(DEFAULT, {"landcover": {"legnd": "x.csv"}})
    errors = list(validator().iter_errors(bad))
    assert any("legnd" in e.message for e in errors)


def test_wrong_type_is_an_error():
    bad = merge(DEFAULT, {"tiling": {"rows": "2"}})
    errors = list(validator().iter_errors(bad))
    assert any(list(e.path) == ["tiling", "rows"] for e in errors)


def every_object_closed_and_described(node, path="$"):
    """Yield schema paths of objects that are open or properties without a description."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties", True) is True:
                yield f"{path}: additionalProperties"
            for key, sub in node["properties"].items():
                if isinstance(sub, dict) and "description" not in sub:
                    yield f"{path}.{key}: description"
        for k, v in node.items():
            yield from every_object_closed_and_described(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from every_object_closed_and_described(v, f"{path}[{i}]")


def test_schema_objects_closed_and_described():
    assert list(every_object_closed_and_described(SCHEMA)) == []


def test_measure_mosaics_without_measure_rasters_is_an_error():
    """Copies of the share rasters need the share rasters: one message naming both keys."""
    from sinkzone.configcheck import validate_config
    from sinkzone.errors import ConfigError

    schema = ROOT / "config" / "schema.yaml"
    outputs = {"measure_rasters": False, "measure_mosaics": True}
    with pytest.raises(ConfigError, match=r"outputs\.measure_mosaics.*measure_rasters: true"):
        validate_config(merge(DEFAULT, {"outputs": outputs}), schema, check_files=False)
    outputs["measure_mosaics"] = False
    validate_config(merge(DEFAULT, {"outputs": outputs}), schema, check_files=False)
