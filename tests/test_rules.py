"""Tests of sinkzone.suitability: parser (incl. hostile input), 3-valued evaluation, principles, explain.

The fixtures (SUITABILITY_YAML, make_vocab, synthetic_stack) live in tests/helpers/rulesets.py.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml
from helpers.rulesets import (
    SUITABILITY_YAML,
    load_fixture,
    make_vocab,
    synthetic_stack,
)

from sinkzone.catalog import load_catalog
from sinkzone.errors import ConfigError
from sinkzone.suitability import (
    evaluate,
    evaluate3,
    explain,
    load_ruleset,
    load_yaml_text,
    parse_condition,
)


def cond(text, vocab=None, options=None):
    return parse_condition(yaml.safe_load(text), vocab or make_vocab(), options)


# ----------------------------------------------------------------------------- parser


def test_fixture_parses_in_catalog_order(tmp_path):
    rs, cat = load_fixture(tmp_path)
    assert list(rs.measures) == cat.ids
    assert rs.measures["shellfish_farming"].where is None
    assert rs.share_layer("farmland_to_forest") == "steep25"
    assert rs.constraints[0].allow_only_tags == ("protection",)
    assert {"ecosystem", "zones", "precip", "coast_km", "steep15", "steep25"} <= rs.layers_used


def _err(tmp_path, text, expect_what, match=None):
    with pytest.raises(ConfigError, match=match) as e:
        load_fixture(tmp_path, text)
    assert e.value.what.endswith(expect_what), e.value.what
    return e.value


def test_error_paths_name_the_key(tmp_path):
    bad_op = SUITABILITY_YAML.replace("{layer: precip, op: ge", "{layer: precip, op: gte")
    e = _err(
        tmp_path,
        bad_op,
        "suitability.yaml:measures.afforestation.where.all[2].op",
        "unknown operator 'gte'",
    )
    assert "ge" in e.fix
    bad_layer = SUITABILITY_YAML.replace("layer: precip", "layer: rain")
    _err(tmp_path, bad_layer, "measures.afforestation.where.all[2].layer", "unknown layer")
    bad_key = SUITABILITY_YAML.replace("    area_share: steep\n", "    area_shar: steep\n")
    _err(tmp_path, bad_key, "measures.farmland_to_forest.area_shar", "unknown key")
    bad_top = SUITABILITY_YAML + "extra: 1\n"
    _err(tmp_path, bad_top, "suitability.yaml:extra", "unknown key")
    bad_eco = SUITABILITY_YAML.replace("[shrubland, barren]", "[shrubland, desert]")
    _err(tmp_path, bad_eco, "where.all[0].value[1]", "unknown ecosystem 'desert'")
    bad_zone = SUITABILITY_YAML.replace("value: qtp", "value: tibet")
    _err(tmp_path, bad_zone, "where.all[1].not.value", "unknown zone")
    bad_type = SUITABILITY_YAML.replace("op: ge, value: 400", "op: ge, value: '400'")
    _err(tmp_path, bad_type, "where.all[2].value", "expected a number, got string")
    bad_share = SUITABILITY_YAML.replace("op: lt, value: 0.5", "op: lt, value: 50")
    _err(tmp_path, bad_share, "no_tillage.where.all[1].value", "share must be within 0..1")
    bad_op_layer = SUITABILITY_YAML.replace("{layer: zones, op: has", "{layer: zones, op: eq")
    _err(tmp_path, bad_op_layer, "where.all[1].not.op", "does not apply")
    bad_between = SUITABILITY_YAML.replace("op: ge, value: 400", "op: between, value: [9, 1]")
    _err(tmp_path, bad_between, "where.all[2].value", "low 9 > high 1")
    bad_opt = SUITABILITY_YAML.replace("{option: coastal_max_km}", "{option: coast}")
    _err(tmp_path, bad_opt, "where.all[1].value.option", "unknown option")
    bad_thr = SUITABILITY_YAML.replace("steep_threshold_deg: 25", "steep_threshold_deg: 20")
    _err(tmp_path, bad_thr, "options.steep_threshold_deg", "15 or 25")
    both = SUITABILITY_YAML.replace(
        "allow_only_tags: [protection]", "allow_only_tags: [protection]\n    forbid_tags: [marine]"
    )
    _err(tmp_path, both, "constraints.red_line_protection_only", "exactly one")
    bad_tag = SUITABILITY_YAML.replace("forbid_tags: [tree_planting]", "forbid_tags: [trees]")
    _err(tmp_path, bad_tag, "constraints.no_trees_in_drylands.forbid_tags", "not used by any")


def test_catalog_cross_checks(tmp_path):
    extra = SUITABILITY_YAML + "  mangrove:\n    not_mapped: x\n"
    _err(tmp_path, extra, "measures.mangrove", "not in the catalog")
    missing = SUITABILITY_YAML.replace(
        '  shellfish_farming:\n    principles: ["1.4"]\n'
        "    not_mapped: marine measure; the land-cover grid "
        "has no sea cells\n",
        "",
    )
    _err(tmp_path, missing, "suitability.yaml:measures", "have no entry")
    neither = SUITABILITY_YAML.replace("    not_mapped: marine", "    description: marine")
    _err(tmp_path, neither, "measures.shellfish_farming", "exactly one of 'where'")
    # a mapped measure needs catalog rates
    mapped = SUITABILITY_YAML.replace(
        "    not_mapped: marine measure; the land-cover grid has no sea cells",
        "    where: {layer: coast_km, op: le, value: 1}",
    )
    _err(tmp_path, mapped, "measures.shellfish_farming", "no rate")


def test_hostile_yaml(tmp_path):
    # Python tags are rejected by the safe loader, with a clear message
    for tag in (
        "!!python/object/apply:os.system ['echo hacked']",
        "!!python/name:os.system ''",
        "!custom 3",
    ):
        text = SUITABILITY_YAML.replace("value: 400", f"value: {tag}")
        e = _err(tmp_path, text, "suitability.yaml", "unsupported YAML")
        assert "no !!python" in e.fix
    # Python-looking strings are inert text: rejected as unknown names, never evaluated
    marker = tmp_path / "pwned"
    code = f"__import__('pathlib').Path('{marker}').touch()"
    text = SUITABILITY_YAML.replace(
        "value: cropland}\n    area_share", f'value: "{code}"}}\n    area_share'
    )
    _err(tmp_path, text, "farmland_to_forest.where.value", "unknown ecosystem")
    text = SUITABILITY_YAML.replace("description: Shrubland", f'description: "{code}"\n#')
    rs, _ = load_fixture(tmp_path, text)
    assert code in rs.measures["afforestation"].description
    assert not marker.exists()
    # duplicate keys are an error (a silent override would hide a typo)
    dup = SUITABILITY_YAML.replace(
        "  straw_return:\n", "  forest_tending:\n    not_mapped: x\n  straw_return:\n"
    )
    _err(tmp_path, dup, "suitability.yaml", "duplicate key 'forest_tending'")
    # not a mapping at all
    _err(tmp_path, "- a\n- b\n", "suitability.yaml", "expected a mapping")
    _err(tmp_path, "measures: {a: [\n", "suitability.yaml", "invalid YAML")


def test_deep_nesting_and_huge_lists():
    v = make_vocab()
    leaf = {"layer": "precip", "op": "ge", "value": 1}
    c = leaf
    for _ in range(33):
        c = {"not": c}
    with pytest.raises(ConfigError, match="nested deeper than 32"):
        parse_condition(c, v)
    c = leaf
    for _ in range(32):
        c = {"all": [c]}
    parse_condition(c, v)  # 32 is fine
    with pytest.raises(ConfigError, match="limit 1000"):
        parse_condition({"layer": "province", "op": "in", "value": list(range(1001))}, v)
    with pytest.raises(ConfigError, match="limit 1000"):
        parse_condition({"any": [leaf] * 1001}, v)
    # very deep YAML text does not crash the process
    deep = "a: " + "[" * 5000 + "]" * 5000
    with pytest.raises(ConfigError):
        load_yaml_text(deep, "deep.yaml")
    # alias bombs are bounded by the node limit
    bomb = "l0: &a0 {all: [{layer: precip, op: ge, value: 1}]}\n"
    for i in range(1, 20):
        bomb += f"l{i}: &a{i} {{all: [*a{i - 1}, *a{i - 1}, *a{i - 1}]}}\n"
    data = load_yaml_text(bomb, "bomb.yaml")
    with pytest.raises(ConfigError, match="condition nodes"):
        parse_condition(data["l19"], v)


def test_huge_numbers():
    v = make_vocab()
    with pytest.raises(ConfigError, match="finite"):
        parse_condition({"layer": "precip", "op": "le", "value": float("inf")}, v)
    with pytest.raises(ConfigError, match="too large"):
        parse_condition({"layer": "precip", "op": "le", "value": 10**400}, v)
    # YAML 1.1 reads 1e400 (no dot) as a string: rejected, never evaluated
    with pytest.raises(ConfigError, match="expected a number, got string"):
        parse_condition(yaml.safe_load("{layer: precip, op: le, value: 1e400}"), v)
    # a huge integer code compares correctly with small unsigned arrays
    c = parse_condition({"layer": "province", "op": "eq", "value": 10**30}, v)
    st = synthetic_stack()
    assert not evaluate(c, st, v).any()
    c = parse_condition({"layer": "elevation", "op": "lt", "value": 1e300}, v)
    assert evaluate(c, st, v).all()
    with pytest.raises(ConfigError, match="expected true or false"):
        parse_condition({"layer": "red_line", "op": "eq", "value": 1}, v)


# ----------------------------------------------------------------------------- evaluation


def test_ops_vectorised():
    v = make_vocab()
    st = synthetic_stack(
        1,
        6,
        precip=[100, 399, 400, 401, -9999, np.nan],
        zones=[0, 1, 2, 3, 64, 65],
        climate=[1, 2, 3, 4, 5, 0],
    )
    assert evaluate(cond("{layer: precip, op: ge, value: 400}"), st, v).tolist() == [
        [False, False, True, True, False, False]
    ]
    assert evaluate(cond("{layer: precip, op: between, value: [399, 400]}"), st, v).tolist() == [
        [False, True, True, False, False, False]
    ]
    assert evaluate(cond("{layer: zones, op: has, value: qtp}"), st, v).tolist() == [
        [False, True, False, True, False, True]
    ]
    assert evaluate(cond("{layer: zones, op: has, value: coastal}"), st, v).tolist() == [
        [False, False, False, False, True, True]
    ]
    assert evaluate(cond("{layer: climate, op: not_in, value: [B, E]}"), st, v).tolist() == [
        [True, False, True, True, False, False]
    ]
    assert evaluate(cond("{layer: lat, op: gt, value: 39.5}"), synthetic_stack(4, 2), v)[
        :, 0
    ].tolist() == [True, True, False, False]
    c = cond("{layer: province, op: in, value: [110000, 120000]}")
    assert evaluate(c, synthetic_stack(), v).all()


def test_three_valued_nodata():
    """Unknown propagates; `not` of unknown stays unknown; unknown is never eligible."""
    v = make_vocab()
    st = synthetic_stack(1, 3, coast_km=[5, 50, -9999])
    near = cond("{layer: coast_km, op: le, value: 20}")
    far = cond("{not: {layer: coast_km, op: le, value: 20}}")
    assert evaluate(near, st, v).tolist() == [[True, False, False]]
    assert evaluate(far, st, v).tolist() == [[False, True, False]]  # nodata is not "inland"
    t, f = evaluate3(far, st, v)
    assert (~t & ~f).tolist() == [[False, False, True]]
    # all: one False decides; any: one True decides, even with unknown parts
    c_any = cond("{any: [{layer: coast_km, op: le, value: 20}, {layer: precip, op: gt, value: 0}]}")
    assert evaluate(c_any, st, v).all()
    c_all = cond("{all: [{layer: coast_km, op: le, value: 20}, {layer: precip, op: lt, value: 0}]}")
    t, f = evaluate3(c_all, st, v)
    assert f.all()
    # steep nodata and ecosystem 0 are unknown, zones 0 is simply "no zone"
    st = synthetic_stack(1, 2, steep25=[65535, 100], ecosystem=[0, 4])
    assert evaluate(cond("{layer: steep25, op: lt, value: 0.5}"), st, v).tolist() == [[False, True]]
    assert evaluate(cond("{layer: ecosystem, op: ne, value: forest}"), st, v).tolist() == [
        [False, True]
    ]
    assert evaluate(cond("{not: {layer: zones, op: has, value: qtp}}"), st, v).all()


def test_explain():
    v = make_vocab()
    c = cond("""
      all:
        - {layer: ecosystem, op: in, value: [shrubland, barren]}
        - {not: {layer: zones, op: has, value: qtp}}
        - {layer: precip, op: ge, value: 400}
        - {any: [{layer: climate, op: eq, value: C}, {layer: steep25, op: gt, value: 0.2}]}
    """)
    cell = {"ecosystem": 4, "zones": 1 | 64, "precip": -9999.0, "climate": 2, "steep25": 150}
    out = explain(c, cell, v)
    by_path = {o["path"]: o for o in out}
    assert set(by_path) == {
        "cond.all[0]",
        "cond.all[1].not",
        "cond.all[2]",
        "cond.all[3].any[0]",
        "cond.all[3].any[1]",
    }
    assert by_path["cond.all[0]"]["actual"] == "cropland"
    assert by_path["cond.all[1].not"]["negated"] is True
    assert by_path["cond.all[1].not"]["actual"] == "qtp, coastal"
    assert by_path["cond.all[1].not"]["condition"] == "NOT zones has 'qtp'"
    assert by_path["cond.all[2]"]["reason"] == "no data"
    assert by_path["cond.all[3].any[0]"]["actual"] == "B"
    assert by_path["cond.all[3].any[1]"]["actual"] == "0.150"
    ok = {"ecosystem": 2, "zones": 0, "precip": 500.0, "climate": 3, "steep25": 0}
    assert explain(c, ok, v) == []


# ----------------------------------------------------------------------------- benchmark


def test_speed_2000x2000(tmp_path, capsys):
    rs, cat = load_fixture(tmp_path)
    rng = np.random.default_rng(0)
    n = 2000
    st = synthetic_stack(1, 1)
    st = {
        "ecosystem": rng.integers(1, 10, (n, n), dtype=np.uint8),
        "precip": rng.uniform(0, 2000, (n, n)).astype(np.float32),
        "zones": rng.integers(0, 128, (n, n), dtype=np.uint16),
        "steep15": rng.integers(0, 1001, (n, n), dtype=np.uint16),
        "steep25": rng.integers(0, 1001, (n, n), dtype=np.uint16),
        "coast_km": rng.uniform(0, 300, (n, n)).astype(np.float32),
        "red_line": rng.integers(0, 2, (n, n), dtype=np.uint8),
        "climate": rng.integers(1, 6, (n, n), dtype=np.uint8),
    }
    from sinkzone.allocate import eligibility

    t0 = time.perf_counter()
    bits = eligibility(rs, cat, st, make_vocab())
    dt = time.perf_counter() - t0
    with capsys.disabled():
        print(
            f"\n[rules] eligibility of 9 measures on 2000x2000: {dt:.2f} s, "
            f"{n * n / dt / 1e6:.1f} M cells/s"
        )
    assert bits.dtype == np.uint32 and bits.any()


def test_json_schema_agrees_with_parser():
    """config/suitability.schema.yaml accepts the fixture and rejects typos the parser rejects."""
    from pathlib import Path

    import jsonschema

    schema = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "config" / "suitability.schema.yaml").read_text()
    )
    v = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert not list(v.iter_errors(yaml.safe_load(SUITABILITY_YAML)))
    for bad in (
        SUITABILITY_YAML.replace("op: ge", "op: gte"),
        SUITABILITY_YAML.replace("area_share: steep", "area_share: slope"),
        SUITABILITY_YAML + "extra: 1\n",
        SUITABILITY_YAML.replace("    not_mapped: marine", "    description: marine"),
    ):
        assert list(v.iter_errors(yaml.safe_load(bad)))
    real = Path(__file__).resolve().parents[1] / "config" / "suitability.yaml"
    assert not list(v.iter_errors(yaml.safe_load(real.read_text(encoding="utf-8"))))


def test_real_files():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    from sinkzone.suitability import load_vocab

    cfg = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
    vocab = load_vocab(root / cfg["ecosystems"], [z["id"] for z in cfg["zones"]["items"]])
    cat = load_catalog(root / cfg["catalog"])
    rs = load_ruleset(root / cfg["suitability"], vocab, cat)
    assert list(rs.measures) == cat.ids


def test_missing_pass_fail():
    """`missing: pass` = 'where known'; `missing: fail` = nodata is simply False."""
    v = make_vocab()
    st = synthetic_stack(1, 3, precip=[300, 500, -9999])
    c = cond("{layer: precip, op: ge, value: 400, missing: pass}")
    assert evaluate(c, st, v).tolist() == [[False, True, True]]
    c = cond("{not: {layer: precip, op: lt, value: 400, missing: fail}}")
    assert evaluate(c, st, v).tolist() == [[False, True, True]]
    c = cond("{layer: precip, op: ge, value: 400, missing: fail}")
    t, f = evaluate3(c, st, v)
    assert t.tolist() == [[False, True, False]] and f.tolist() == [[True, False, True]]
    assert explain(c, {"precip": np.float32(-9999)}, v)[0]["reason"] == "false"
    with pytest.raises(ConfigError, match="unknown value 'skip'") as e:
        cond("{layer: precip, op: ge, value: 400, missing: skip}")
    assert e.value.what == "condition:cond.missing"
