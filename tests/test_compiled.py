"""Compiled rule evaluation (sinkzone.compiled) against the reference evaluator
(sinkzone.allocate.assign): identical bitmasks, allocations, potentials and counts.

The property test draws random rule sets (every layer and operator of the grammar, nested
all/any/not, `missing: pass/fail`, fractional shares, constraints, deferred conversions) and
random stacks whose values sit on and next to the rules' thresholds, nodata and NaN included.
It is derandomized (the same examples everywhere) and bounded.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from helpers.catalog import write_catalog
from helpers.rulesets import ECOSYSTEMS, ZONES, load_fixture, make_vocab, synthetic_stack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sinkzone.suitability
from sinkzone.allocate import landcover_counts
from sinkzone.catalog import load_catalog
from sinkzone.compiled import Codes, CompiledRules, assigner, dense_codes
from sinkzone.layerspec import MARINE_FLAGS
from sinkzone.suitability import parse_ruleset

RANKING = ["comprehensive_index", "carbon_sink_effect", "technology_maturity"]
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

F32 = np.float32
NAN = float("nan")


def _near(*values):
    """Values and their float32 neighbours (the cells right next to a threshold)."""
    out = []
    for v in values:
        f = F32(v)
        out += [float(f), float(np.nextafter(f, F32(-np.inf))), float(np.nextafter(f, F32(np.inf)))]
    return out


# Cell values per layer (dtype, pool) and the constants rules may compare them with.
NUMBERS = {
    "elevation": [0.0, 20.0, 35.0, 1500.0, 3000.0, 0.3],
    "precip": [0.0, 400.0, 596.0, 800.0, 1192.0, 0.3],
    "coast_km": [0.0, 5.0, 20.0, 30.0, 0.1],
    "depth": [-50.0, 0.0, 30.0, 40.0],
    "lake_km": [0.0, 10.0, 10.5],
    "lat": [26.0, 27.333, 33.5, 47.0],
    "lon": [100.0, 116.0, 120.5],
}
CELLS = {
    "ecosystem": (np.uint8, [0, *ECOSYSTEMS.values(), 200]),
    "landcover": (np.uint8, [10, 11, 12, 13, 14, 255]),
    "region": (np.uint8, [0, 1, 1, 1, 255]),
    "province": (np.uint32, [0, 110000, 120000]),
    "county": (np.uint32, [0, 110101, 110102, 120101]),
    "steep15": (np.uint16, [0, 1, 50, 100, 499, 500, 501, 1000, 1001, 65535]),
    "steep25": (np.uint16, [0, 1, 50, 100, 250, 500, 999, 1000, 65535]),
    "climate": (np.uint8, [0, 1, 2, 3, 4, 5, 9]),
    "zones": (np.uint16, [0, 1, 2, 3, 5, 64, 65, 127]),
    "red_line": (np.uint8, [0, 1, 255]),
    "marine": (np.uint8, [0, 1, 2, 3, 4, 17, 31, 255]),
} | {k: (F32, [*_near(*v), -9999.0, NAN]) for k, v in NUMBERS.items() if k not in ("lat", "lon")}
SHARES = [0.0, 0.05, 0.1, 0.25, 0.5, 0.501, 1.0]
INTS = {
    "landcover": [10, 12, 14, 255],
    "region": [0, 1],
    "province": [110000, 120000],
    "county": [110101, 120101, 0],
}


@st.composite
def leaves(draw):
    layer = draw(st.sampled_from(sorted(sinkzone.suitability.LAYERS)))
    spec = sinkzone.suitability.LAYERS[layer]
    op = draw(st.sampled_from(spec.ops))
    if spec.kind in ("number", "share"):
        pool = SHARES if spec.kind == "share" else _near(*NUMBERS[layer])
        if spec.kind == "number":
            pool = [v for v in pool if np.isfinite(v)]
        if op == "between":
            value = sorted(draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)))
        else:
            value = draw(st.sampled_from(pool))
    else:
        pool = {
            "ecosystem": sorted(ECOSYSTEMS),
            "climate": ["A", "B", "C", "D", "E"],
            "zone": list(ZONES),
            "flag": list(MARINE_FLAGS),
            "bool": [True, False],
        }.get(spec.kind) or INTS[layer]
        if op in ("in", "not_in"):
            value = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        else:
            value = draw(st.sampled_from(pool))
    leaf = {"layer": layer, "op": op, "value": value}
    missing = draw(st.sampled_from([None, None, "pass", "fail", "unknown"]))
    if missing is not None:
        leaf["missing"] = missing
    return leaf


conditions = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


@st.composite
def rule_sets(draw, catalog):
    measures = {}
    for mid in catalog.ids:
        entry = {"principles": ["1.1"]}
        if mid == "shellfish_farming" or draw(st.integers(0, 9)) == 0:
            entry["not_mapped"] = "not mapped here"
        else:
            entry["where"] = draw(conditions)
            entry["area_share"] = draw(st.sampled_from([None, None, "steep15", "steep25", "steep"]))
        measures[mid] = entry
    constraints = []
    for n in range(draw(st.integers(0, 3))):
        c = {"id": f"c{n}", "when": draw(conditions)}
        kind = draw(st.sampled_from(["allow_only_tags", "forbid_tags", "after_management"]))
        if kind == "after_management":
            c[kind] = draw(
                st.lists(
                    st.sampled_from(["afforestation", "farmland_to_forest", "coastal_vegetation"]),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
        else:
            c[kind] = draw(st.lists(st.sampled_from(sorted(catalog.all_tags)), min_size=1))
        constraints.append(c)
    options = {"steep_threshold_deg": draw(st.sampled_from([15, 25])), "coastal_max_km": 20}
    return {"options": options, "constraints": constraints, "measures": measures}


@st.composite
def stacks(draw):
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    out = {}
    for layer, (dtype, pool) in CELLS.items():
        # few values per layer, so that cells share most classes and differ in a few
        few = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        vals = draw(st.lists(st.sampled_from(few), min_size=h * w, max_size=h * w))
        out[layer] = np.array(vals, dtype=dtype).reshape(h, w)
    lat = draw(st.lists(st.sampled_from(_near(*NUMBERS["lat"])), min_size=h, max_size=h))
    lon = draw(st.lists(st.sampled_from(_near(*NUMBERS["lon"])), min_size=w, max_size=w))
    out["lat"] = np.array(lat, dtype=np.float64)[:, None]
    out["lon"] = np.array(lon, dtype=np.float64)[None, :]
    if draw(st.booleans()):  # per-row areas (geographic grids)
        area = np.array(
            draw(st.lists(st.sampled_from([2.5e7, 2.6e7, 9e2]), min_size=h, max_size=h))
        )
    elif draw(st.booleans()):  # equal-area grids
        area = np.full((h, w), 900.0)
    else:  # per-cell areas
        area = np.array(
            draw(st.lists(st.sampled_from([9e2, 9.1e2, 3e7]), min_size=h * w, max_size=h * w))
        )
        area = area.reshape(h, w)
    return out, area


def _collect(store: dict):
    def visit(i, share, alloc, sp):
        store[i] = (np.array(share), np.array(alloc), np.array(np.broadcast_to(sp, share.shape)))

    return visit


def assert_same(ref, com, ref_visits=None, com_visits=None):
    assert ref.eligible.dtype == com.eligible.dtype == np.uint32
    assert np.array_equal(ref.eligible, com.eligible)
    assert ref.allocation.primary.dtype == com.allocation.primary.dtype
    assert np.array_equal(ref.allocation.primary, com.allocation.primary)
    for lv, pot in ref.allocation.potential.items():
        other = com.allocation.potential[lv]
        assert pot.dtype == other.dtype == np.float32
        assert np.array_equal(pot.view(np.uint32), other.view(np.uint32)), lv  # bit for bit
    pd.testing.assert_frame_equal(ref.counts, com.counts)
    assert ref.counts.to_csv(index=False) == com.counts.to_csv(index=False)
    if ref_visits is not None:
        assert sorted(ref_visits) == sorted(com_visits)
        for i, (s, a, sp) in ref_visits.items():
            s2, a2, sp2 = com_visits[i]
            assert np.array_equal(s, s2) and np.array_equal(a, a2), i
            assert np.array_equal(sp[s > 0], sp2[s > 0]), i


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return load_catalog(write_catalog(tmp_path_factory.mktemp("catalog")))


@PROPERTY
@given(data=st.data())
def test_compiled_equals_reference_on_random_rules_and_stacks(catalog, data):
    vocab = make_vocab()
    rs = parse_ruleset(data.draw(rule_sets(catalog)), vocab, catalog, name="random")
    stack, area = data.draw(stacks())
    area_int = np.rint(area).astype(np.int64)
    comp = data.draw(st.sampled_from([None, {12: 500, 14: 800}, {13: 0}]))
    sf = data.draw(st.sampled_from([0.5, 0.3, 1.0]))
    c = CompiledRules(rs, catalog, vocab, RANKING, sf)
    vr, vc = {}, {}
    ref = c.reference(stack, area, area_int, comp, visit=_collect(vr))
    com = c.assign(stack, area, area_int, comp, visit=_collect(vc))
    assert_same(ref, com, vr, vc)
    pd.testing.assert_frame_equal(com.landcover, landcover_counts(stack, area_int))


def test_compiled_equals_reference_on_the_fixture_rules(tmp_path):
    rs, cat = load_fixture(tmp_path)
    rng = np.random.default_rng(5)
    h, w = 30, 40
    stack = synthetic_stack(
        h,
        w,
        ecosystem=rng.integers(0, 10, (h, w)),
        steep25=rng.integers(0, 1001, (h, w)),
        steep15=rng.choice([0, 400, 500, 600, 65535], (h, w)),
        precip=rng.choice([-9999.0, 399.0, 400.0, 900.0], (h, w)),
        coast_km=rng.uniform(0, 40, (h, w)),
        zones=rng.integers(0, 8, (h, w)),
        red_line=rng.choice([0, 1, 255], (h, w)),
        climate=rng.integers(1, 6, (h, w)),
        region=rng.choice([0, 1, 1, 1], (h, w)),
    )
    area = np.linspace(2.4e7, 2.6e7, h)
    c = CompiledRules(rs, cat, make_vocab(), RANKING, 0.5)
    for comp in (None, {12: 500}):
        vr, vc = {}, {}
        ref = c.reference(stack, area, area.astype(np.int64), comp, visit=_collect(vr))
        com = c.assign(stack, area, area.astype(np.int64), comp, visit=_collect(vc))
        assert_same(ref, com, vr, vc)
        assert ref.counts["eligible_units"].sum() > 0 and com.allocation.primary.max() > 0


def test_rules_run_per_combination_not_per_cell(tmp_path, monkeypatch):
    """The reference leaf evaluation sees one cell per combination, never the strip: the
    per-cell work does not grow with the number of measures."""
    rs, cat = load_fixture(tmp_path)
    h, w = 200, 300
    rng = np.random.default_rng(1)
    stack = synthetic_stack(
        h,
        w,
        ecosystem=rng.integers(1, 10, (h, w)),
        precip=rng.uniform(100, 2000, (h, w)),
        steep25=rng.choice([0, 300], (h, w)),
    )
    sizes = []
    leaf3 = sinkzone.suitability._leaf3

    def spy(leaf, stack, vocab):
        sizes.append(max(np.size(a) for a in stack.values()))
        return leaf3(leaf, stack, vocab)

    c = CompiledRules(rs, cat, make_vocab(), RANKING, 0.5)
    area = np.full(h, 2.5e7)
    monkeypatch.setattr(sinkzone.suitability, "_leaf3", spy)
    ref = c.reference(stack, area, area.astype(np.int64))
    assert max(sizes) == h * w  # the reference evaluates every leaf on the whole strip
    c.assign({k: v[:1, :1] for k, v in stack.items()}, area[:1], area[:1].astype(np.int64))
    sizes.clear()  # class tables of the 8/16-bit layers: built once per tile (above)
    com = c.assign(stack, area, area.astype(np.int64))
    assert sizes and max(sizes) <= 9 * 3 * 2 * 2  # ecosystems x precip classes x steep x region
    assert_same(ref, com)


@pytest.mark.parametrize(
    "layer,values",
    [
        ("precip", [-9999.0, NAN, 0.0, 399.99, 400.0, 401.0]),
        ("elevation", [-9999.0, NAN, -10000.0, 100.0, 400.0]),
        ("county", [0, 3, 5, 110101, 400]),
        ("steep15", [65535, 0, 400, 401, 1000]),
        ("lat", [-9999.0, 0.0, 400.0, 401.0]),
    ],
)
def test_nodata_and_nan_are_classes_of_their_own(tmp_path, layer, values):
    """Cells without data stay apart from valid cells of the same interval (`not` of an
    unknown leaf is unknown, of a false leaf true)."""
    text = textwrap.dedent(f"""\
        measures:
          afforestation: {{principles: ["1.2"], where: {{not: {{layer: {layer}, op: ge, value: 400}}}}}}
          farmland_to_forest:
            principles: ["1.2"]
            where: {{layer: {layer}, op: ge, value: 400, missing: pass}}
          natural_forest_protection:
            principles: ["1.2"]
            where: {{any: [{{layer: {layer}, op: lt, value: 400, missing: fail}}, {{layer: {layer}, op: eq, value: 400}}]}}
        """)
    if layer == "steep15":
        text = text.replace("value: 400", "value: 0.4")
    if layer == "county":  # codes: set operators only
        text = (
            text.replace("op: ge", "op: eq")
            .replace("op: lt", "op: in")
            .replace("op: in, value: 400", "op: in, value: [5]")
        )
    text += "".join(
        f"  {m}: {{principles: ['1.2'], not_mapped: x}}\n"
        for m in (
            "forest_tending",
            "straw_return",
            "no_tillage",
            "wetland_conservation",
            "coastal_vegetation",
            "shellfish_farming",
        )
    )
    rs, cat = load_fixture(tmp_path, text)
    dtype = {"county": np.uint32, "steep15": np.uint16, "lat": np.float64}.get(layer, F32)
    row = np.array(values * 2, dtype=dtype)[None, :]
    stack = synthetic_stack(1, row.shape[1], **({} if layer == "lat" else {layer: row}))
    if layer == "lat":
        stack["lat"] = np.array([[values[0]]])
        stack = {k: np.broadcast_to(v, (1, row.shape[1])) for k, v in stack.items()}
        stack["lat"] = row
    area = np.full(1, 2.5e7)
    c = CompiledRules(rs, cat, make_vocab(), RANKING, 0.5)
    ref = c.reference(stack, area, area.astype(np.int64))
    com = c.assign(stack, area, area.astype(np.int64))
    assert_same(ref, com)
    assert len(np.unique(ref.eligible)) >= 3  # no data, below and at or above the threshold


def test_float32_thresholds_compare_like_numpy():
    """A float32 layer is compared in float32 (NEP 50): 0.3 equals float32(0.3); the classes
    keep cells on both sides of a threshold apart."""
    vocab = make_vocab()
    cond = sinkzone.suitability.parse_condition(
        {"layer": "precip", "op": "le", "value": 0.3}, vocab
    )
    x = np.array([np.nextafter(F32(0.3), F32(0)), F32(0.3), np.nextafter(F32(0.3), F32(1))], F32)
    assert sinkzone.suitability.evaluate(cond, {"precip": x}, vocab).tolist() == [True, True, False]


def test_codes_and_dense_codes():
    a = np.array([[3, 3, 5], [5, 3, 9]])
    inv, rep = dense_codes(a, 10)
    assert inv.tolist() == [0, 0, 1, 1, 0, 2] and a.reshape(-1)[rep].tolist() == [3, 5, 9]
    codes = Codes((2, 3))
    codes.add(np.array([[0, 1, 0], [1, 0, 1]]), 2)
    codes.add(np.array([[7], [7]]), 8)  # constant: adds nothing
    codes.add(np.array([[2, 2, 4]]), 5)
    inv, rep = codes.finish()
    assert len(rep) == 4 and inv.tolist() == [0, 1, 2, 1, 0, 3]
    big = np.arange(6).reshape(2, 3) * 10**9  # hashed beyond the dense range
    inv, rep = dense_codes(big, 6 * 10**9)
    assert sorted(big.reshape(-1)[rep].tolist()) == big.reshape(-1).tolist()


def test_assigner_switch(tmp_path):
    rs, cat = load_fixture(tmp_path)
    ref = assigner("reference", rs, cat, make_vocab(), RANKING, 0.5)
    com = assigner("compiled", rs, cat, make_vocab(), RANKING, 0.5)
    assert ref.__name__ == "reference" and com.__name__ == "assign"
    with pytest.raises(ValueError, match="unknown evaluator"):
        assigner("fast", rs, cat, make_vocab(), RANKING, 0.5)
