"""Compiled rule evaluation: eligibility and allocation evaluated once per distinct combination
of layer classes in a strip, then looked up per cell (config ``allocation.evaluator``).

Every leaf of a rule compares one layer with a constant, so a strip's cells fall into few
classes per layer, and all cells of one class give the same result for every leaf on that
layer. The steps, per strip of a tile:

1. **Layer classes.** For each layer the rules read (and ``region``), a class index per cell:
   8- and 16-bit integer layers (ecosystem, climate, zones, steep shares, ...) through a table
   over every value of the dtype, built once by the reference evaluator
   (`sinkzone.suitability.evaluate3`) and cached; other layers (float32 numbers, uint32 codes) by
   their interval among the sorted thresholds of the layer's leaves and its nodata value
   (below, equal, between, ...), NaN apart; anything else by its distinct values.
2. **Rule combinations.** The classes combine into one code per cell; its distinct values are
   the strip's rule combinations. The reference functions (`sinkzone.allocate.eligibility`)
   run on one representative cell of each, which tells where a measure with a fractional
   share (``area_share``: steep slopes) may be eligible.
3. **Allocation keys.** A second key adds what allocation reads besides the rules: the
   composition share of the cell's land-cover class, and the value of a steep-share layer only
   where a measure using it can be eligible (elsewhere the value changes nothing and is left
   out, so fractional shares cost only on the cells and measures that use them). The reference
   `measure_shares`, `eligibility`, `deferred_masks` and `allocate` run on one representative
   cell per key.
4. **Back to the cells.** The bitmask and the primary measure are table lookups; potentials
   repeat the reference's float32 arithmetic for the measures allocated on a cell, in the
   reference's order, so they are bit-identical; counts are exact integer sums of cell areas
   per (count key, allocation key) times the key's shares.

The per-cell cost depends on the layers, their thresholds and the number of measures
allocated on a cell, not on the number of measures in the catalog. Exactness is by
construction (the reference evaluates real cells of each class); `tests/test_compiled.py`
checks identical bitmasks, allocations, potentials and counts on random stacks and rule sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from sinkzone.allocate import (
    COUNT_COLUMNS,
    COUNT_KEYS,
    FULL,
    LC_COLUMNS,
    STEEP_NODATA,
    Allocation,
    TileResult,
    Visitor,
    allocate,
    assign,
    eligibility,
    empty_counts,
    exact_bincount,
    measure_shares,
    specs_from_catalog,
)
from sinkzone.catalog import ranking_order
from sinkzone.legend import composition_permille
from sinkzone.potential import potential
from sinkzone.suitability import (
    LAYERS,
    All,
    Any_,
    Leaf,
    Not,
    RuleSet,
    Vocab,
    deferred_masks,
    evaluate3,
    layer_nodata,
)

EVALUATORS = ("compiled", "reference")  # config allocation.evaluator
LUT_BITS = 16  # integer layers up to this width are classified through a table over the dtype
MAX_COMPARE = 12  # thresholds compared one by one up to this many, binary search beyond
DENSE_MAX = 1 << 22  # code ranges up to this size are made dense by a table, beyond by hashing
CODE_MAX = 1 << 62
LEVELS = ("low", "central", "high")
KEY_LAYERS = ("region", "province", "county", "zones", "ecosystem", "landcover")
REGION_LEAF = Leaf("region", "eq", 1, 1, "region")  # eligibility needs region == 1


def iter_leaves(cond) -> Iterator[Leaf]:
    """The leaves of a parsed condition, depth first."""
    if isinstance(cond, Leaf):
        yield cond
    elif isinstance(cond, Not):
        yield from iter_leaves(cond.item)
    elif isinstance(cond, All | Any_):
        for item in cond.items:
            yield from iter_leaves(item)
    elif cond is not None:
        raise TypeError(f"not a parsed condition: {cond!r}")


def dense_codes(code: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(inverse, representative): `code` (ints in [0, size)) renumbered 0..U-1 (flat), and for
    each new number the flat index of one cell holding it."""
    flat = code.reshape(-1)
    if size <= DENSE_MAX and size <= 8 * flat.size + 1024:
        seen = np.zeros(size, dtype=bool)
        seen[flat] = True
        uniq = np.flatnonzero(seen)
        remap = np.zeros(size, dtype=np.int64)
        remap[uniq] = np.arange(uniq.size)
        inv = remap[flat]
    else:
        inv, uniq = pd.factorize(flat, sort=False)
        inv = inv.astype(np.int64, copy=False)
    rep = np.zeros(len(uniq), dtype=np.int64)
    rep[inv] = np.arange(flat.size)
    return inv, rep


class Codes:
    """One int64 code per cell from several class arrays (mixed radix over the classes that
    occur; a component with one class in the strip adds nothing)."""

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)
        self.code: np.ndarray | None = None
        self.size = 1

    def add(self, cls, n: int) -> None:
        """Add a component: ints in [0, n), broadcastable to the shape."""
        cls = np.asarray(cls)
        if cls.size == 0:
            return
        lo, hi = int(cls.min()), int(cls.max())
        m = hi - lo + 1  # classes in the strip's range (cheaper than finding those present)
        if m <= 1:
            return
        if self.size * m >= CODE_MAX:
            inv, rep = dense_codes(self.code, self.size)
            self.code, self.size = inv, len(rep)
        table = (np.arange(n, dtype=np.int64) - lo) * self.size
        if self.code is None:
            self.code = np.array(np.broadcast_to(table[cls], self.shape)).reshape(-1)
        else:
            self.code.reshape(self.shape)[...] += table[cls]
        self.size *= m

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """(inverse, representative) of the combined code, see `dense_codes`."""
        if self.code is None:
            return np.zeros(int(np.prod(self.shape)), dtype=np.int64), np.zeros(1, np.int64)
        return dense_codes(self.code, self.size)


def value_classes(arr) -> tuple[np.ndarray, int]:
    """(class per cell, number of classes): small non-negative integers are their own class,
    other values are numbered by hashing."""
    arr = np.asarray(arr)
    if arr.dtype.kind in "biu" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi < DENSE_MAX:
            return arr, hi + 1
    codes, uniq = pd.factorize(arr.reshape(-1), use_na_sentinel=False)
    return codes.reshape(arr.shape), max(len(uniq), 1)


def _take(arr, shape: tuple, rep: np.ndarray) -> np.ndarray:
    """Values of a (broadcastable) layer at flat cell indices `rep` of `shape`."""
    a = np.asarray(arr)
    if a.shape == shape:
        return a.reshape(-1)[rep]
    return np.broadcast_to(a, shape)[np.unravel_index(rep, shape)]


class CompiledRules:
    """A rule set compiled for one tile: classify layers, combine, evaluate per combination.

    Build once per tile (the class tables are cached) and call `assign` per strip; it returns
    what `sinkzone.allocate.assign` returns for the same arguments, bit for bit.
    """

    def __init__(
        self,
        ruleset: RuleSet,
        catalog,
        vocab: Vocab,
        ranking: Sequence[str],
        stack_factor: float,
    ):
        self.ruleset, self.catalog, self.vocab = ruleset, catalog, vocab
        self.ranking, self.stack_factor = list(ranking), stack_factor
        self.ids = list(catalog.ids)
        self.specs = specs_from_catalog(catalog)
        self.order = ranking_order(catalog, ranking)
        conds = [m.where for m in ruleset.measures.values()] + [c.when for c in ruleset.constraints]
        by_layer: dict[str, dict] = {"region": {_leaf_key(REGION_LEAF): REGION_LEAF}}
        for cond in conds:
            for leaf in iter_leaves(cond):
                by_layer.setdefault(leaf.layer, {}).setdefault(_leaf_key(leaf), leaf)
        self.leaves = {k: tuple(v.values()) for k, v in sorted(by_layer.items())}
        self.layers = tuple(self.leaves)
        # measures with a fractional share, per share layer: bit masks of the catalog order
        self.share_masks: dict[str, int] = {}
        for i, mid in enumerate(self.ids):
            layer = ruleset.share_layer(mid)
            if layer is not None and ruleset.measures[mid].where is not None:
                self.share_masks[layer] = self.share_masks.get(layer, 0) | (1 << i)
        self._tables: dict = {}
        self.sf_lut = np.float32(stack_factor) ** np.arange(33, dtype=np.float32)

    # ------------------------------------------------------------------ layer classes

    def layer_classes(self, layer: str, arr) -> tuple[np.ndarray, int]:
        """(class index per cell, number of classes) of one layer; cells of one class give
        the same result for every leaf of the rules on that layer."""
        arr = np.asarray(arr)
        dt = arr.dtype
        if dt.kind in "biu" and dt.itemsize * 8 <= LUT_BITS:
            lut, n = self._lut(layer, dt)
            if dt.kind == "b":
                return lut[arr.view(np.uint8)], n
            return lut[arr.view(np.dtype(f"u{dt.itemsize}"))], n
        thr = self._thresholds(layer, dt)
        if thr is None:  # distinct values (exact whatever the comparisons)
            codes, uniq = pd.factorize(arr.reshape(-1), use_na_sentinel=False)
            return codes.reshape(arr.shape), len(uniq)
        k = len(thr)
        cls = np.zeros(arr.shape, dtype=np.uint8 if 2 * k + 2 <= 256 else np.int64)
        if k <= MAX_COMPARE:
            for t in thr:  # cls = (thresholds below) + (thresholds below or equal)
                cls += arr > t
                cls += arr >= t
        else:
            cls = np.searchsorted(thr, arr, "left") + np.searchsorted(thr, arr, "right")
        n = 2 * k + 1
        if dt.kind == "f":
            nan = np.isnan(arr)
            if nan.any():
                cls[nan] = n
            n += 1
        return cls, n

    def _lut(self, layer: str, dt: np.dtype) -> tuple[np.ndarray, int]:
        """Class of every value of an 8/16-bit dtype, from the reference evaluator (cached)."""
        key = ("lut", layer, dt.str)
        if key not in self._tables:
            if dt.kind == "b":
                values = np.array([False, True])
            else:
                values = np.arange(1 << (8 * dt.itemsize), dtype=f"u{dt.itemsize}").view(dt)
            cols = []
            for leaf in self.leaves[layer]:
                t, f = evaluate3(leaf, {layer: values}, self.vocab)
                cols += [np.broadcast_to(t, values.shape), np.broadcast_to(f, values.shape)]
            sig = np.packbits(np.stack(cols, axis=1), axis=1)
            _, inv = np.unique(sig, axis=0, return_inverse=True)
            inv = inv.reshape(-1)
            n = int(inv.max()) + 1
            self._tables[key] = (inv.astype(np.uint8 if n <= 256 else np.uint16), n)
        return self._tables[key]

    def _thresholds(self, layer: str, dt: np.dtype) -> np.ndarray | None:
        """Sorted distinct constants of the layer's leaves and its nodata, in the dtype the
        comparisons use; None when the layer needs its distinct values instead."""
        key = ("thr", layer, dt.str)
        if key in self._tables:
            return self._tables[key]
        out = None
        kind = LAYERS[layer].kind
        vals: list = []
        for leaf in self.leaves[layer]:
            v = leaf.resolved
            vals += list(v) if isinstance(v, tuple) else [v]
        nod = layer_nodata(layer, self.vocab)
        if nod is not None:
            vals.append(nod)
        ints = all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in vals)
        if kind in ("zone", "flag") or dt.kind not in "fiu":
            out = None
        elif dt.kind == "f":
            with np.errstate(over="ignore"):
                out = np.unique(np.array(vals, dtype=dt))  # (a value beyond the range: inf)
        elif ints and dt.itemsize <= 4 and all(-(2**63) <= int(v) < 2**63 for v in vals):
            out = np.unique(np.array(vals, dtype=np.int64))
        elif dt.itemsize <= 4:
            out = np.unique(np.array(vals, dtype=np.float64))  # int vs float: float64 compare
        self._tables[key] = out
        return out

    # ------------------------------------------------------------------ assign

    def assign(
        self,
        stack: Mapping[str, np.ndarray],
        area_m2: np.ndarray,
        area_int: np.ndarray,
        composition_lut: Mapping[int, int] | None = None,
        visit: Visitor | None = None,
    ) -> TileResult:
        """Same as `sinkzone.allocate.assign` (same arguments besides those of the
        constructor, same result bit for bit), plus the land-cover counts of
        `sinkzone.allocate.landcover_counts` in `TileResult.landcover`.

        A `visit` function may carry ``visit.per_key(i, share, alloc, keys)``: it is then called
        instead, with measure i's values per allocation key and the key of every cell (an
        index array of the strip's shape), so per-cell outputs cost one lookup each.
        """
        shape = np.broadcast_shapes(*(np.shape(a) for a in stack.values()))
        need = set(self.layers) | set(KEY_LAYERS)
        if 0 in shape or len(shape) != 2 or any(k not in stack for k in need):
            return self.reference(stack, area_m2, area_int, composition_lut, visit)
        rs, vocab = self.ruleset, self.vocab

        # 1. rule combinations (with the composition share of the land-cover class)
        codes = Codes(shape)
        for layer in self.layers:
            codes.add(*self.layer_classes(layer, stack[layer]))
        comp = None
        if composition_lut is not None:
            comp = self._composition(np.asarray(stack["landcover"]), composition_lut)
            codes.add(comp, int(comp.max()) + 1)
        inv, rep = codes.finish()
        del codes

        # 2. steep shares where a measure using them may be eligible
        if self.share_masks:
            reps = {k: _take(stack[k], shape, rep) for k in self.layers}
            full = [FULL] * len(self.ids)
            rbits = eligibility(rs, self.catalog, reps, vocab, full, reps["region"])
            keys = None
            for layer, mask in sorted(self.share_masks.items()):
                needed = (rbits & np.uint32(mask)) != 0
                if not needed.any():
                    continue
                if keys is None:
                    keys = Codes(shape)
                    keys.add(inv.reshape(shape), len(rep))
                sv = np.asarray(stack[layer])
                sv = np.where((sv == STEEP_NODATA) | (sv > FULL), 0, sv).astype(np.uint16)
                sv = np.where(needed[inv].reshape(shape), sv, np.uint16(0))
                keys.add(sv, FULL + 1)
            if keys is not None:
                inv, rep = keys.finish()
                del keys
        used = set(self.layers) | set(self.share_masks)
        if comp is not None:
            used.add("landcover")
        reps = {k: _take(stack[k], shape, rep) for k in sorted(used) if k in stack}
        comp_u = None if comp is None else np.broadcast_to(comp, shape).reshape(-1)[rep]

        # 3. the reference on one cell per key
        shares = measure_shares(rs, self.ids, reps, comp_u)
        bits_u = eligibility(rs, self.catalog, reps, vocab, shares, reps["region"])
        recs: list[tuple] = []

        def record(i, share, alloc, sp):
            sp = np.broadcast_to(sp, np.shape(share))
            recs.append((i, np.array(share, np.uint16), np.array(alloc, np.uint16), sp))

        al = allocate(
            bits_u,
            shares,
            self.specs,
            self.order,
            np.ones(len(rep)),
            self.stack_factor,
            visit=record,
            deferred=deferred_masks(rs, self.ids, reps, vocab),
            land=comp_u,
        )

        # 4. back to the cells
        inv_s = inv.reshape(shape)
        pot = self._potentials(recs, inv_s, area_m2)
        counts, lc = self._counts(recs, inv_s, stack, area_int)
        if visit is not None:
            per_key = getattr(visit, "per_key", None)
            for i, share, alloc, sp in recs:
                if per_key is not None:  # per-key tables and the cells' keys: one lookup
                    per_key(i, share, alloc, inv_s)
                else:
                    visit(i, share[inv_s], alloc[inv_s], sp[inv_s])
        return TileResult(bits_u[inv_s], Allocation(al.primary[inv_s], pot), counts, lc)

    def reference(self, stack, area_m2, area_int, composition_lut=None, visit=None):
        """The reference evaluator (`sinkzone.allocate.assign`) with this rule set."""
        return assign(
            stack,
            self.ruleset,
            self.catalog,
            self.vocab,
            area_m2,
            area_int,
            self.ranking,
            self.stack_factor,
            composition_lut,
            visit,
        )

    def _composition(self, landcover: np.ndarray, lut: Mapping[int, int]) -> np.ndarray:
        """`sinkzone.legend.composition_permille`, through a table for 8/16-bit codes."""
        dt = landcover.dtype
        if dt.kind != "u" or dt.itemsize > 2:
            return composition_permille(landcover, lut)
        key = ("comp", dt.str, tuple(sorted(lut.items())))
        if key not in self._tables:
            values = np.arange(1 << (8 * dt.itemsize), dtype=dt)
            self._tables[key] = composition_permille(values, lut)
        return self._tables[key][landcover]

    def _potentials(self, recs, inv_s, area_m2) -> dict[str, np.ndarray]:
        """Per cell, the reference's float32 sums over the measures allocated on it, in the
        order the reference adds them (the order of `recs`), computed once per (allocation
        key, cell area) and looked up."""
        shape = inv_s.shape
        area = np.asarray(area_m2, dtype=np.float64)
        area = area[:, None] if area.ndim == 1 else area
        area = np.broadcast_to(area, shape)
        if area.strides[1] == 0:  # one area per row (geographic grids)
            units = Codes(shape)
            units.add(inv_s, int(inv_s.max()) + 1)
            units.add(np.arange(shape[0])[:, None], shape[0])
            uinv, urep = units.finish()
            rows = urep // shape[1]
            pot = self._potential_sums(recs, inv_s.reshape(-1)[urep], area[rows, 0])
            return {lv: p[uinv].reshape(shape) for lv, p in pot.items()}
        if area.size and area.min() == area.max():  # equal-area grids
            n_keys = int(inv_s.max()) + 1
            pot = self._potential_sums(recs, np.arange(n_keys), np.full(n_keys, area.flat[0]))
            return {lv: p[inv_s] for lv, p in pot.items()}
        return self._potential_sums(recs, inv_s, area)

    def _potential_sums(self, recs, keys: np.ndarray, area: np.ndarray) -> dict:
        """The reference's float32 potentials of units with allocation keys `keys` and cell
        areas `area` (m2, same shape): one pass per measure allocated on a unit."""
        n_keys = len(recs[0][1]) if recs else 0
        got = np.stack([r[2] > 0 for r in recs]) if recs else np.zeros((0, n_keys), bool)
        n_slots = int(got.sum(axis=0).max()) if got.size else 0
        slot = np.cumsum(got, axis=0) - 1
        alloc = np.zeros((n_slots, n_keys), dtype=np.uint16)
        factor = np.ones((n_slots, n_keys), dtype=np.float32)
        rate = np.zeros((len(LEVELS), n_slots, n_keys), dtype=np.float32)
        for r, (i, _, a, sp) in enumerate(recs):
            u = np.flatnonzero(got[r])
            j = slot[r, u]
            alloc[j, u] = a[u]
            if self.specs[i].land_use == "management":  # the reference's stack factor
                factor[j, u] = self.sf_lut[sp[u]]
            for k, value in enumerate(self.specs[i].rates):
                if value:
                    rate[k, j, u] = np.float32(value)
        per_permille = (area / 1e4).astype(np.float32) / np.float32(FULL)
        pot = {lv: np.zeros(keys.shape, dtype=np.float32) for lv in LEVELS}
        for j in range(n_slots):
            ha = alloc[j][keys].astype(np.float32) * per_permille
            weight = factor[j][keys] if (factor[j] != 1).any() else np.float32(1.0)
            for k, lv in enumerate(LEVELS):
                if rate[k, j].any():
                    pot[lv] += potential(ha, rate[k, j][keys], weight)
        return pot

    def _counts(self, recs, inv_s, stack, area_int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The reference's counts and land-cover tables: exact integer sums of cell areas per
        (count keys, land cover, allocation key), times each key's shares."""
        shape = inv_s.shape
        inside = np.asarray(stack["region"]) == 1
        units = Codes(shape)
        units.add(inside.view(np.uint8), 2)
        for k in ("province", "county", "zones", "ecosystem", "landcover"):
            units.add(*value_classes(stack[k]))
        units.add(inv_s, int(inv_s.max()) + 1)
        uinv, urep = units.finish()
        del units
        area = np.asarray(area_int, dtype=np.int64)
        area = np.broadcast_to(area[:, None] if area.ndim == 1 else area, shape).reshape(-1)
        area = exact_bincount(uinv, area, len(urep))
        ins = _take(inside, shape, urep)
        urep, area = urep[ins], area[ins]
        vals = {k: _take(stack[k], shape, urep).astype(np.int64) for k in LC_COLUMNS[:5]}
        if (vals["zones"] >= 1 << 16).any() or (vals["ecosystem"] >= 1 << 8).any():
            raise ValueError("zones must fit uint16 and ecosystem uint8")
        lc = pd.DataFrame(vals | {"area_m2": area})
        if lc.empty:
            lc = pd.DataFrame({c: pd.Series(dtype=np.int64) for c in LC_COLUMNS})
        else:
            lc = lc.groupby(LC_COLUMNS[:5], sort=True, as_index=False)["area_m2"].sum()
            lc = lc.astype(np.int64).reset_index(drop=True)
        key = inv_s.reshape(-1)[urep]
        parts = []
        for i, share, alloc, sp in recs:
            s = share[key]
            m = s > 0
            if not m.any():
                continue
            part = {k: vals[k][m] for k in COUNT_KEYS}
            part["measure_id"] = np.full(int(m.sum()), i)
            part["stack_pos"] = sp[key[m]].astype(np.int64)
            part["eligible_units"] = area[m] * s[m].astype(np.int64)
            part["allocated_units"] = area[m] * alloc[key[m]].astype(np.int64)
            parts.append(pd.DataFrame(part))
        if not parts:
            return empty_counts(), lc
        df = pd.concat(parts, ignore_index=True)
        keys = COUNT_KEYS + ["measure_id", "stack_pos"]
        df = df.groupby(keys, sort=True, as_index=False)[COUNT_COLUMNS[6:]].sum()
        df = df[df["eligible_units"] != 0]
        df["measure_id"] = np.asarray(self.ids, dtype=object)[df["measure_id"].to_numpy()]
        df = df.astype({c: np.int64 for c in COUNT_COLUMNS if c != "measure_id"})
        return df.sort_values(COUNT_COLUMNS[:6], kind="stable").reset_index(drop=True), lc


def _leaf_key(leaf: Leaf) -> tuple:
    return (leaf.op, leaf.resolved, leaf.missing)


Assigner = Callable[..., TileResult]


def assigner(
    evaluator: str,
    ruleset: RuleSet,
    catalog,
    vocab: Vocab,
    ranking: Sequence[str],
    stack_factor: float,
) -> Assigner:
    """``f(stack, area_m2, area_int, composition_lut=None, visit=None) -> TileResult`` of the
    chosen evaluator: "compiled" (this module) or "reference" (`sinkzone.allocate.assign`)."""
    if evaluator not in EVALUATORS:
        raise ValueError(f"unknown evaluator {evaluator!r}: use one of {EVALUATORS}")
    comp = CompiledRules(ruleset, catalog, vocab, ranking, stack_factor)
    return comp.assign if evaluator == "compiled" else comp.reference
