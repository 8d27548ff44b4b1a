"""Tests of sinkzone.allocate: principles on synthetic stacks, allocation invariants, counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.rulesets import load_fixture, make_vocab, synthetic_stack
from hypothesis import given, settings
from hypothesis import strategies as st

from sinkzone.allocate import (
    COUNT_COLUMNS,
    CountAccumulator,
    MeasureSpec,
    allocate,
    eligibility,
    measure_shares,
    specs_from_catalog,
)
from sinkzone.catalog import ranking_order


def _elig(tmp_path, **layers):
    rs, cat = load_fixture(tmp_path)
    n = max(np.size(v) for v in layers.values())
    stack = synthetic_stack(1, n, **layers)
    shares = measure_shares(rs, cat.ids, stack)
    bits = eligibility(rs, cat, stack, make_vocab(), shares, stack["region"])
    return bits[0], cat, shares


def _has(bits, cat, mid):
    return ((bits >> np.uint32(cat.index(mid))) & 1).astype(bool).tolist()


# ----------------------------------------------------------------------------- principles


def test_no_trees_in_b_climate(tmp_path):
    bits, cat, _ = _elig(
        tmp_path, ecosystem=[2, 2, 2, 4], climate=[2, 3, 0, 2], steep25=[0, 0, 0, 600]
    )
    # shrubland in B: no afforestation; in C yes; unknown climate: constraint applies (safe)
    assert _has(bits, cat, "afforestation") == [False, True, False, False]
    assert _has(bits, cat, "farmland_to_forest") == [False, False, False, False]
    assert _has(bits, cat, "straw_return") == [False, False, False, True]  # not tree planting


def test_wetlands_never_to_forest(tmp_path):
    rng = np.random.default_rng(1)
    n = 200
    eco = rng.integers(1, 10, n)
    bits, cat, _ = _elig(
        tmp_path,
        ecosystem=eco,
        climate=rng.integers(0, 6, n),
        steep25=rng.integers(0, 1001, n),
        zones=rng.integers(0, 128, n),
        precip=rng.uniform(0, 1500, n),
        red_line=rng.integers(0, 2, n),
    )
    is_wet = eco == 5
    tree_bits = sum(1 << cat.index(m) for m in ("afforestation", "farmland_to_forest"))
    assert is_wet.any()
    assert not (bits[is_wet] & tree_bits).any()
    assert (bits[is_wet] & (1 << cat.index("wetland_conservation"))).any()


def test_farmland_to_forest_only_steep_share(tmp_path):
    rs, cat = load_fixture(tmp_path)
    stack = synthetic_stack(
        1, 4, ecosystem=4, steep25=[0, 250, 1000, 65535], steep15=[0, 900, 1000, 0]
    )
    shares = measure_shares(rs, cat.ids, stack)
    bits = eligibility(rs, cat, stack, make_vocab(), shares)
    f2f = cat.index("farmland_to_forest")
    assert _has(bits[0], cat, "farmland_to_forest") == [False, True, True, False]
    res = allocate(
        bits, shares, specs_from_catalog(cat), ranking_order(cat), 1e4, visit=_collect(out := {})
    )
    assert out[f2f][1].tolist() == [[0, 250, 1000, 0]]
    # straw return (management, other group) gets the land left after the conversion
    sr = cat.index("straw_return")
    assert out[sr][1].tolist() == [[1000, 750, 0, 1000]]
    # no-till: steep15 >= 0.5 excluded; its group is separate, so it stacks on straw return
    nt = cat.index("no_tillage")
    assert out[nt][1].tolist() == [[1000, 0, 0, 1000]]
    # straw return ranks above and is allocated on cells 0, 1, 3: stack_pos 1 there
    assert out[nt][2].tolist() == [[1, 1, 0, 1]]
    # potential (1 ha cells): straw 1.0*share + f2f 3.0*share + no-till 0.4*0.5*share
    expect = [1.0 + 0.2, 0.75 + 3 * 0.25, 3.0, 1.0 + 0.2]
    np.testing.assert_allclose(res.potential["central"][0], expect, rtol=1e-6)
    assert res.primary[0].tolist() == [sr + 1, sr + 1, f2f + 1, sr + 1]


def test_red_line_only_protection(tmp_path):
    bits, cat, _ = _elig(tmp_path, ecosystem=[1, 1, 2, 5, 4], red_line=[1, 0, 1, 1, 255])
    prot = {m for m in cat.ids if "protection" in cat.tags(m)}
    for j in (0, 2, 3, 4):  # inside, or unknown (precautionary)
        on = {m for m in cat.ids if _has(bits, cat, m)[j]}
        assert on <= prot
    assert _has(bits, cat, "forest_tending") == [False, True, False, False, False]
    assert _has(bits, cat, "natural_forest_protection") == [True, True, False, False, False]
    assert _has(bits, cat, "wetland_conservation")[3]


def test_coastal_distance(tmp_path):
    bits, cat, _ = _elig(tmp_path, ecosystem=5, coast_km=[0, 20, 20.5, 300, -9999])
    assert _has(bits, cat, "coastal_vegetation") == [True, True, False, False, False]
    assert not any(_has(bits, cat, "shellfish_farming"))  # not mapped


def test_region_mask(tmp_path):
    bits, cat, _ = _elig(tmp_path, ecosystem=1, region=[1, 0, 255])
    assert (bits != 0).tolist() == [True, False, False]


# ----------------------------------------------------------------------------- invariants


def _collect(store):
    def visit(i, share, alloc, sp):
        store[i] = (share.copy(), alloc.copy(), sp.copy())

    return visit


SPECS = [
    MeasureSpec("c1", "g1", "conversion", (1.0, 2.0, 3.0)),
    MeasureSpec("m1", "g1", "management", (0.5, 1.0, 1.5)),
    MeasureSpec("c2", "g2", "conversion", (2.0, 2.0, 2.0)),
    MeasureSpec("m2", "g2", "management", (0.1, 0.2, 0.3)),
    MeasureSpec("m3", "g2", "management", (1.0, 1.0, 1.0)),
    MeasureSpec("m4", "g3", "management", (0.0, 0.5, 1.0)),
]


def _check_invariants(bits, shares, order, area, sf):
    store = {}
    res = allocate(bits, shares, SPECS, order, area, sf, visit=_collect(store))
    conv = sum(store[i][1].astype(int) for i, s in enumerate(SPECS) if s.land_use == "conversion")
    assert (conv <= 1000).all()
    for g in {s.group for s in SPECS}:
        mg = sum(
            (
                store[i][1].astype(int)
                for i, s in enumerate(SPECS)
                if s.group == g and s.land_use == "management"
            ),
            np.zeros_like(conv),
        )
        assert (conv + mg <= 1000).all()  # allocated area <= cell area, per group
    for i, (share, alloc, sp) in store.items():
        assert (alloc <= share).all()
        e = (bits >> i) & 1
        assert ((share > 0) <= (e == 1)).all()
        if SPECS[i].land_use == "conversion":
            assert (sp == 0).all()
    # potentials add up across measures (and hence groups)
    for k, level in enumerate(("low", "central", "high")):
        total = np.zeros(bits.shape)
        for i, (_, alloc, sp) in store.items():
            total += alloc / 1000 * area / 1e4 * SPECS[i].rates[k] * sf ** sp.astype(float)
        np.testing.assert_allclose(res.potential[level], total, rtol=1e-5, atol=1e-6)
    # primary: the top-ranked allocated measure
    rank = {i: r for r, i in enumerate(order)}
    for idx in np.ndindex(bits.shape):
        got = [i for i in store if store[i][1][idx] > 0]
        want = min(got, key=rank.get) + 1 if got else 0
        assert res.primary[idx] == want
    return res, store


@settings(max_examples=60, deadline=None)
@given(
    bits=st.lists(st.integers(0, 63), min_size=1, max_size=12),
    steep=st.lists(st.integers(0, 1000), min_size=12, max_size=12),
    frac=st.lists(st.booleans(), min_size=6, max_size=6),
    order=st.permutations(range(6)),
    sf=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_allocation_properties(bits, steep, frac, order, sf):
    n = len(bits)
    b = np.array([bits], dtype=np.uint32)
    s = np.array([steep[:n]], dtype=np.uint16)
    shares = [s if f else 1000 for f in frac]
    _check_invariants(b, shares, list(order), np.full((1, 1), 5e5), sf)


def test_fractional_leaves_room_for_next():
    b = np.array([[0b11]], dtype=np.uint32)  # c1 and m1 (same group)
    shares = [np.array([[300]], np.uint16), 1000, 1000, 1000, 1000, 1000]
    _, store = _check_invariants(b, shares, [0, 1, 2, 3, 4, 5], np.full((1, 1), 1e4), 0.5)
    assert store[0][1][0, 0] == 300 and store[1][1][0, 0] == 700
    # two conversions of different groups share one land pool
    b = np.array([[0b101]], dtype=np.uint32)
    shares = [np.array([[600]], np.uint16), 1000, 1000, 1000, 1000, 1000]
    _, store = _check_invariants(b, shares, [0, 2, 1, 3, 4, 5], np.full((1, 1), 1e4), 0.5)
    assert store[0][1][0, 0] == 600 and store[2][1][0, 0] == 400
    # stack positions: m1 (g1) ranks first; m2 (g2) stacks at 1; m3 (g2) is
    # shut out of g2's land but would stack at 1 (other groups only); m4 (g3) at 2
    b = np.array([[0b111010]], dtype=np.uint32)
    _, store = _check_invariants(b, [1000] * 6, [1, 3, 4, 5, 0, 2], np.full((1, 1), 1e4), 0.5)
    assert [int(store[i][2][0, 0]) for i in (1, 3, 4, 5)] == [0, 1, 1, 2]
    assert [int(store[i][1][0, 0]) for i in (1, 3, 4, 5)] == [1000, 1000, 0, 1000]


# ----------------------------------------------------------------------------- counts


def _counts_for(bits, shares, keys, region, area_int, order=(0, 1, 2, 3, 4, 5)):
    acc = CountAccumulator(keys, region, area_int)
    allocate(
        bits, shares, SPECS, list(order), area_int[:, None].astype(float), 0.5, visit=acc.visit
    )
    return acc.table([s.id for s in SPECS])


def test_counts_exact_and_tiling_independent():
    rng = np.random.default_rng(5)
    h, w = 12, 10
    bits = rng.integers(0, 64, (h, w)).astype(np.uint32)
    steep = rng.integers(0, 1001, (h, w)).astype(np.uint16)
    shares = [steep, 1000, steep, 1000, 1000, 1000]
    keys = {
        "province": np.full((h, w), 110000, np.uint32),
        "county": rng.choice([110101, 110102], (h, w)).astype(np.uint32),
        "zones": rng.integers(0, 4, (h, w)).astype(np.uint16),
        "ecosystem": rng.integers(1, 4, (h, w)).astype(np.uint8),
    }
    region = (rng.random((h, w)) > 0.2).astype(np.uint8)
    area_int = np.arange(h, dtype=np.int64) * 1000 + 30_000_000  # per global row
    whole = _counts_for(bits, shares, keys, region, area_int)
    assert list(whole.columns) == COUNT_COLUMNS
    for c in COUNT_COLUMNS:
        if c != "measure_id":
            assert whole[c].dtype == np.int64
    # exact: against a cell-by-cell python sum (python ints, no floats)
    store = {}
    allocate(bits, shares, SPECS, list(range(6)), 1.0, 0.5, visit=_collect(store))
    for i in range(6):
        share, alloc, sp = store[i]
        e = sum(
            int(area_int[r]) * int(share[r, c])
            for r in range(h)
            for c in range(w)
            if region[r, c] == 1
        )
        a = sum(
            int(area_int[r]) * int(alloc[r, c])
            for r in range(h)
            for c in range(w)
            if region[r, c] == 1
        )
        sub = whole[whole.measure_id == SPECS[i].id]
        assert int(sub.eligible_units.sum()) == e
        assert int(sub.allocated_units.sum()) == a
    # sorted by all keys
    keycols = COUNT_COLUMNS[:6]
    assert whole.equals(whole.sort_values(keycols).reset_index(drop=True))
    # tiling: split rows in 3 and columns in 2, sum, compare byte for byte
    parts = []
    for rs in np.array_split(np.arange(h), 3):
        for cs in np.array_split(np.arange(w), 2):
            sl = (slice(rs[0], rs[-1] + 1), slice(cs[0], cs[-1] + 1))
            sh = [s[sl] if isinstance(s, np.ndarray) else s for s in shares]
            parts.append(
                _counts_for(
                    bits[sl], sh, {k: v[sl] for k, v in keys.items()}, region[sl], area_int[sl[0]]
                )
            )
    summed = (
        pd.concat(parts)
        .groupby(keycols, sort=True)[["eligible_units", "allocated_units"]]
        .sum()
        .reset_index()
    )
    assert summed.to_csv(index=False) == whole.to_csv(index=False)


def test_counts_empty():
    h, w = 2, 2
    keys = {
        "province": np.ones((h, w), np.uint32),
        "county": np.ones((h, w), np.uint32),
        "zones": np.zeros((h, w), np.uint16),
        "ecosystem": np.array([[1, 2], [1, 1]]),
    }
    t = _counts_for(
        np.zeros((h, w), np.uint32), [1000] * 6, keys, np.zeros((h, w)), np.array([10, 20])
    )
    assert t.empty and list(t.columns) == COUNT_COLUMNS


def test_bad_specs():
    with pytest.raises(ValueError):
        allocate(np.zeros((1, 1), np.uint32), [1000], SPECS, [0], 1.0)


def test_exact_bincount_large_units():
    from sinkzone.allocate import exact_bincount

    rng = np.random.default_rng(2)
    units = rng.integers(0, 2**40, 5000).astype(np.int64)
    code = rng.integers(0, 7, 5000)
    got = exact_bincount(code, units, 7)
    want = [sum(int(u) for u, c in zip(units, code, strict=True) if c == k) for k in range(7)]
    assert got.tolist() == want
    big = np.full(3, 2**60, dtype=np.int64)  # falls back to an integer groupby
    assert exact_bincount(np.array([0, 0, 2]), big, 3).tolist() == [2**61, 0, 2**60]
