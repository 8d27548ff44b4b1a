"""One declaration per fact (#15): the layer specification config/layers.yaml is the only list
of layers, every consumer derives from it, and the docs table is generated from it; the class
tables, constants and the potential formula live in one place each."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from sinkzone import classes, layerspec, rastermeta
from sinkzone import layers as layers_mod
from sinkzone import suitability as rules_mod
from sinkzone.errors import ConfigError
from sinkzone.potential import potential

ROOT = Path(__file__).resolve().parents[1]
NAMES = set(layerspec.layer_names())
# a literal naming more than three quarters of the layers restates the list (subsets such as
# the key layers of a tile are fine: they name what one step uses)
MAX_NAMES = len(NAMES) * 3 // 4


DTYPE_WORDS = {"uint8", "uint16", "uint32", "int16", "int32", "float32", "float64"}


def _is_metadata(value) -> bool:
    """A dict value that states a layer's dtype / nodata (not a test's sample value)."""
    if isinstance(value, ast.Tuple) and value.elts:
        return _is_metadata(value.elts[0])
    if isinstance(value, ast.Attribute):  # np.uint8
        return value.attr in DTYPE_WORDS
    return isinstance(value, ast.Constant) and value.value in DTYPE_WORDS


def _literal_names(node, fixtures_allowed: bool) -> set[str]:
    """Layer names written as string constants directly in a list/tuple/set/dict literal or as
    keyword arguments of one call. With `fixtures_allowed` (tests), a dict of sample values per
    layer is no restatement; a dict of dtypes or nodata is."""
    items = []
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = node.elts
    elif isinstance(node, ast.Dict):
        pairs = [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
        items = [k for k, v in pairs if not fixtures_allowed or _is_metadata(v)]
    elif isinstance(node, ast.Call):
        return set() if fixtures_allowed else {k.arg for k in node.keywords if k.arg in NAMES}
    return {e.value for e in items if isinstance(e, ast.Constant) and e.value in NAMES}


def python_restatements(text: str, fixtures_allowed: bool = False) -> list[tuple[int, list[str]]]:
    return [
        (node.lineno, sorted(found))
        for node in ast.walk(ast.parse(text))
        if len(found := _literal_names(node, fixtures_allowed)) > MAX_NAMES
    ]


def smk_restatements(text: str, window: int = 25) -> list[tuple[int, list[str]]]:
    """Lines where a window of the rule file names more than MAX_NAMES layers as quoted strings
    or keyword arguments (e.g. an output list typed by hand)."""
    pat = re.compile(r'"(\w+)"|^\s*(\w+)\s*=', re.M)
    lines = text.splitlines()
    hits = []
    for i in range(len(lines)):
        chunk = "\n".join(lines[i : i + window])
        found = {a or b for a, b in pat.findall(chunk)} & NAMES
        if len(found) > MAX_NAMES:
            hits.append((i + 1, sorted(found)))
    return hits


def _code_files():
    yield from sorted((ROOT / "scripts").rglob("*.py"))
    yield from sorted((ROOT / "tests").glob("*.py"))


def test_restatement_detectors_can_fail():
    names = sorted(NAMES)[: MAX_NAMES + 1]
    old = "LAYERS = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n"
    assert python_restatements(old) and smk_restatements(old)
    assert not python_restatements(old.replace(f'    "{names[0]}",\n', ""))
    outputs = "\n".join(f'        {n}="results/x/{n}.tif",' for n in names)
    assert smk_restatements(outputs)
    assert python_restatements("f(" + ", ".join(f"{n}=1" for n in names) + ")")
    dtypes = "{" + ", ".join(f'"{n}": np.uint8' for n in names) + "}"
    values = "{" + ", ".join(f'"{n}": 1' for n in names) + "}"
    assert python_restatements(dtypes, fixtures_allowed=True)
    assert not python_restatements(values, fixtures_allowed=True)


def test_layer_list_is_declared_once():
    """No module, wrapper, test or rule file restates the list of layers (config/layers.yaml
    is the one declaration)."""
    found = {}
    for path in _code_files():
        if path.name == Path(__file__).name:
            continue
        is_test = path.parent.name == "tests"
        hits = python_restatements(path.read_text(encoding="utf-8"), fixtures_allowed=is_test)
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    for path in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]:
        hits = smk_restatements(path.read_text(encoding="utf-8"))
        if hits:
            found[str(path.relative_to(ROOT))] = hits[:1]
    assert found == {}


def test_doc_table_equals_the_spec():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- layer table: [^\n]*-->\n(.*?)<!-- end of layer table -->", text, re.S)
    assert m, "docs/ARCHITECTURE.md lost the layer table markers"
    assert m.group(1) == layerspec.doc_table(), (
        "docs/ARCHITECTURE.md is out of date: paste the output of "
        "`cd scripts && ../.venv/bin/python -m sinkzone.layerspec`"
    )


@pytest.fixture
def spec_with_new_layer(tmp_path):
    doc = copy.deepcopy(layerspec.spec())
    doc["layers"]["soil_c"] = {
        "dtype": "float32",
        "nodata": -1.0,
        "output_nodata": -1.0,
        "unit": "t C/ha",
        "kind": "number",
        "ops": ["lt", "ge"],
        "resampling": "bilinear",
        "description": "soil carbon stock",
        "name_zh": "土壤碳",
    }
    path = tmp_path / "layers.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return layerspec.read_spec(path)


def test_every_consumer_reads_the_spec(spec_with_new_layer):
    doc = spec_with_new_layer
    assert "soil_c" not in layerspec.layer_names()
    assert layerspec.layer_names(doc)[-1] == "soil_c"
    assert layerspec.layer_outputs("t/{layer}.tif", doc)["soil_c"] == "t/soil_c.tif"
    rl = rules_mod.rule_layers(doc)["soil_c"]
    assert (rl.kind, rl.nodata, rl.ops, rl.unit) == ("number", -1.0, ("lt", "ge"), "t C/ha")
    assert layers_mod.tile_layers(doc)["soil_c"] == ("float32", -1.0, "soil carbon stock")
    nodata, units, descr, _ = rastermeta.output_metadata(doc)
    assert (nodata["soil_c"], units["soil_c"], descr["soil_c"]) == (
        -1.0,
        "t C/ha",
        "soil carbon stock",
    )
    assert "| `soil_c` | float32 | -1 | -1 | t C/ha | number | lt ge |" in layerspec.doc_table(doc)


def test_the_checkout_consumers_use_the_checkout_spec():
    names = layerspec.layer_names()
    assert list(layers_mod.LAYERS) == names
    assert set(rules_mod.LAYERS) == set(names) | set(layerspec.spec()["computed"])
    assert set(rastermeta.UNITS) >= set(names)
    from sinkzone.explain import RASTER_LAYERS

    assert list(RASTER_LAYERS) == names
    smk = (ROOT / "rules" / "common.smk").read_text(encoding="utf-8")
    assert "LAYERS = layer_names()" in smk
    tiles = (ROOT / "rules" / "tiles.smk").read_text(encoding="utf-8")
    assert '**layer_outputs("results/{{run}}/tiles/{{tile}}/layers/{layer}.tif")' in tiles


def test_spec_values_the_code_writes():
    """The values of #15's disagreement: zones tiles hold 0 = no zone (nodata 0), mosaics 65535;
    rules read the bitmask layers without a missing value."""
    assert layers_mod.LAYERS["zones"][:2] == ("uint16", 0)
    assert rastermeta.OUTPUT_NODATA["zones"] == 65535
    assert rules_mod.LAYERS["zones"].nodata is None and rules_mod.LAYERS["marine"].nodata is None
    assert rules_mod.LAYERS["steep15"].unit == "share" and rules_mod.LAYERS["province"].unit == ""


def test_bad_spec_is_a_one_line_config_error(tmp_path):
    doc = copy.deepcopy(layerspec.spec())
    doc["layers"]["precip"]["ops"] = ["approx"]
    path = tmp_path / "layers.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"layers\.precip\.ops\.0"):
        layerspec.read_spec(path)


def test_slope_thresholds_come_from_the_spec(tmp_path):
    from sinkzone import terrain

    assert terrain.THRESHOLDS == {"steep15": 15.0, "steep25": 25.0}
    assert rules_mod.STEEP_LAYERS == {15: "steep15", 25: "steep25"}
    doc = copy.deepcopy(layerspec.spec())
    doc["layers"]["steep25"]["threshold_deg"] = 30.0
    assert layerspec.thresholds(doc) == {"steep15": 15.0, "steep25": 30.0}
    doc["layers"]["steep25"]["nodata"] = 1
    with pytest.raises(ConfigError, match="different nodata"):
        layerspec.steep_nodata(doc)


def test_climate_classes_are_the_csv(tmp_path):
    table = classes.climate_classes()
    assert [c.code for c in table] == list(rules_mod.CLIMATE_LETTERS)
    from sinkzone.zones import CLIMATE_CODES

    assert CLIMATE_CODES == {c.code: c.value for c in table}
    assert classes.koppen_table()[4] == ("D", "cold (continental)", "冷温带（大陆性）", "#9970ab")
    bad = tmp_path / "c.csv"
    bad.write_text("value,code,name_en,name_zh,color,source\n1,A,a,a,#000,x\n1,B,b,b,#000,x\n")
    with pytest.raises(ConfigError, match="duplicate"):
        classes.read_climate_classes(bad)


def test_constants_declared_once():
    """GT and the float nodata are declared once; the modules import them."""
    pat_gt = re.compile(r"^GT\s*=", re.M)
    pat_nd = re.compile(r"^\w*NODATA\w*\s*=\s*-9999", re.M)
    decl = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "scripts").rglob("*.py")
        if pat_gt.search(t := p.read_text(encoding="utf-8")) or pat_nd.search(t)
    }
    assert decl == {"scripts/sinkzone/units.py"}
    assert layerspec.float_nodata() == -9999.0


def test_potential_is_one_function_with_identical_numbers():
    """allocate (float32 rasters), aggregate (float64 tables) and explain (floats) all call
    sinkzone.potential.potential; for a power-of-two stack factor the order is exact."""
    for mod in ("allocate", "aggregate", "explain"):
        text = (ROOT / "scripts" / "sinkzone" / f"{mod}.py").read_text(encoding="utf-8")
        assert "from sinkzone.potential import potential" in text and "potential(" in text, mod
    ha = np.array([0.1, 3.7, 12345.678], np.float64)
    rate = 2.3456
    for w in (1.0, 0.5, 0.25):
        assert np.array_equal(potential(ha, rate, w), ha * rate * w)
    assert potential(np.float32(3.7), np.float32(rate), np.float32(0.5)).dtype == np.float32
    assert potential(2.0, 3.0) == 6.0
