"""Which measures may go where, how much of each cell they take, and what they sequester.

For a planner, the scheme in four steps (all per cell, all in integer permille of the cell):

1. **Eligibility.** A measure is eligible on a cell where its rule in `suitability.yaml` is
   definitely true (missing data never makes a measure eligible) and no constraint removes it
   (e.g. inside an ecological red line only measures tagged `protection`). Bit i of the uint32
   `eligible` raster is catalog row i.
2. **Share.** An eligible measure may use the whole cell (1000 permille) or, when its rule has
   an `area_share` (e.g. returning farmland to forest only on slopes > 25 degrees), the share of
   the cell given by that slope layer (e.g. 312 permille).
   A legend class may be a composition of several ecosystems (``shares`` of the legend CSV,
   e.g. IGBP 14 cropland/natural vegetation mosaic = 50 % cropland): every measure then acts
   only on the share of the cell that belongs to the cell's ecosystem (the one its rule
   tested), i.e. the share is multiplied by that composition share (e.g. straw return on an
   IGBP 14 cell uses 500 permille, on an IGBP 12 cell 800). The rest of the cell (natural
   vegetation of a mosaic, the unnamed remainder of a class defined by a minimum share) gets
   no measure.
3. **Allocation.** Measures are taken in rank order (config `allocation.ranking`: Table-1 stars
   of comprehensive index, carbon-sink effect, technology maturity, all descending; ties keep
   catalog order). First every *conversion* measure (it changes what grows on the land) takes
   ``min(share, land still free)`` from one land pool shared by all conversions. Then, within
   each exclusive group, *management* measures (they act on the existing cover) take
   ``min(share, what is left in that group)`` of the land not converted. Groups do not compete
   with each other: straw return and no-till (different groups) may both apply to the same
   cropland, but two measures of one group never share land. A fractional measure therefore
   leaves room for the next measure of its group on the rest of the cell. Where a constraint
   with ``after_management`` applies (e.g. natural grassland: enclosure before mixed-sown
   grassland), the conversions it names are *deferred*: they take only land that no
   management measure took, after all management measures (``min(share, land free in every
   group)``).
4. **Potential.** Each allocated measure adds ``alloc/1000 * cell area (ha) * rate *
   stack_factor ** stack_pos`` t CO2/yr (low, central and high rates), where ``stack_pos`` is
   the number of higher-ranked management measures of *other* groups already allocated on the
   cell (conversions have 0). With stack_factor 0.5 the second stacked measure counts half, the
   third a quarter: soil-carbon gains of stacked measures are not simply additive.

`primary` is the highest-ranked allocated measure of the cell (catalog index + 1; 0 = none).

Counts (docs/ARCHITECTURE.md, "Counts") are integers ``area_m2 (int) * share permille``, so
they sum exactly across tiles: ``ha = units / 1e7``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sinkzone.layerspec import steep_nodata
from sinkzone.potential import potential
from sinkzone.suitability import RuleSet, Vocab, constraint_masks, evaluate

FULL = 1000  # permille of a cell
COUNT_KEYS = ["province", "county", "zones", "ecosystem"]
COUNT_COLUMNS = COUNT_KEYS + ["measure_id", "stack_pos", "eligible_units", "allocated_units"]
STEEP_NODATA = steep_nodata()  # config/layers.yaml


@dataclass(frozen=True)
class MeasureSpec:
    """What allocation needs of one catalog row."""

    id: str
    group: str
    land_use: str  # conversion | management
    rates: tuple[float, float, float]  # t CO2 / ha / yr: low, central, high


def specs_from_catalog(catalog) -> list[MeasureSpec]:
    return [
        MeasureSpec(r["id"], r["group"], r["land_use"], catalog.rates_tco2(r["id"]))
        for r in catalog.rows
    ]


def _broadcast_shape(stack: Mapping) -> tuple[int, ...]:
    return np.broadcast_shapes(*(np.shape(a) for a in stack.values()))


def measure_shares(
    ruleset: RuleSet,
    measure_ids: Sequence[str],
    stack: Mapping,
    composition: np.ndarray | None = None,
) -> list:
    """Per measure (catalog order): the permille of a cell it may use if eligible.

    1000 (an int) for whole-cell measures; a uint16 array (steep share, nodata -> 0) for
    `area_share` measures. Measures sharing a layer share one array (no copies per measure).
    `composition` (uint16 permille per cell, the share of the cell's ecosystem in its legend
    class, `sinkzone.legend.composition_permille`) multiplies every share: whole-cell measures
    get the composition array, steep shares ``rint(steep * composition / 1000)``.
    """
    cache: dict[str, np.ndarray] = {}
    comp = None
    if composition is not None:
        comp = np.asarray(composition).astype(np.uint16)
        if comp.size and int(comp.min()) == FULL:
            comp = None  # every cell is a single ecosystem
    out: list = []
    for mid in measure_ids:
        layer = ruleset.share_layer(mid)
        if layer is None:
            out.append(FULL if comp is None else comp)
            continue
        if layer not in cache:
            arr = np.asarray(stack[layer])
            arr = np.where((arr == STEEP_NODATA) | (arr > FULL), 0, arr).astype(np.uint16)
            if comp is not None:
                arr = ((arr.astype(np.uint32) * comp.astype(np.uint32) + FULL // 2) // FULL).astype(
                    np.uint16
                )
            cache[layer] = arr
        out.append(cache[layer])
    return out


def eligibility(
    ruleset: RuleSet,
    catalog,
    stack: Mapping,
    vocab: Vocab,
    shares: Sequence | None = None,
    region: np.ndarray | None = None,
) -> np.ndarray:
    """uint32 bitmask, bit i = catalog row i eligible (rule true, no constraint, share > 0).

    Cells outside `region` (region != 1) get 0.
    """
    shape = _broadcast_shape(stack)
    if shares is None:
        shares = measure_shares(ruleset, catalog.ids, stack)
    cmasks = constraint_masks(ruleset, stack, vocab)
    inside = None if region is None else np.asarray(region) == 1
    bits = np.zeros(shape, dtype=np.uint32)
    for i, mid in enumerate(catalog.ids):
        m = ruleset.measures[mid]
        if m.where is None:
            continue
        ok = np.array(evaluate(m.where, stack, vocab), dtype=bool)
        tags = catalog.tags(mid)
        for c in ruleset.constraints:
            if c.removes(tags):
                ok &= ~cmasks[c.id]
        if not isinstance(shares[i], int):
            ok &= shares[i] > 0
        if inside is not None:
            ok &= inside
        np.bitwise_or(bits, np.uint32(1 << i), out=bits, where=ok)
    return bits


@dataclass
class Allocation:
    primary: np.ndarray  # uint8, catalog index + 1 of the top-ranked allocated measure, 0 none
    potential: dict[str, np.ndarray]  # low/central/high, float32 t CO2 / yr per cell


Visitor = Callable[[int, np.ndarray, np.ndarray, np.ndarray], None]


def allocate(
    eligible: np.ndarray,
    shares: Sequence,
    specs: Sequence[MeasureSpec],
    order: Sequence[int],
    area_m2: np.ndarray | float,
    stack_factor: float = 0.5,
    visit: Visitor | None = None,
    deferred: Sequence | None = None,
    land: np.ndarray | None = None,
) -> Allocation:
    """Allocate measures on every cell (see the module docstring for the scheme).

    eligible: uint32 bitmask (H, W); shares: per measure an int or array (permille);
    specs: per catalog row; order: catalog indices, highest rank first; area_m2: cell areas
    broadcastable to (H, W) (e.g. shape (H, 1)); visit(i, share, alloc, stack_pos) is called
    once per mapped measure with uint16/uint16/uint8 arrays (for counts); deferred: per
    measure None or a bool array, where the conversion waits until after management.
    """
    eligible = np.asarray(eligible, dtype=np.uint32)
    shape = eligible.shape
    if len(specs) > 32 or len(shares) != len(specs):
        raise ValueError("shares and specs must have one entry per catalog row (<= 32)")
    rank_pos = {i: k for k, i in enumerate(order)}
    area_ha = (np.asarray(area_m2, dtype=np.float64) / 1e4).astype(np.float32)
    sf_lut = np.float32(stack_factor) ** np.arange(33, dtype=np.float32)
    pot = {k: np.zeros(shape, dtype=np.float32) for k in ("low", "central", "high")}
    primary = np.zeros(shape, dtype=np.uint8)
    best = np.full(shape, 255, dtype=np.uint8)
    zero_sp = np.zeros(shape, dtype=np.uint8)

    def record(i: int, share, alloc, sp):
        got = alloc > 0
        better = got & (best > rank_pos[i])
        best[better] = rank_pos[i]
        primary[better] = i + 1
        if got.any():
            ha = alloc.astype(np.float32) * (area_ha / np.float32(FULL))
            weight = sf_lut[sp] if sp is not zero_sp else np.float32(1.0)
            for k, rate in zip(("low", "central", "high"), specs[i].rates, strict=True):
                if rate:
                    pot[k] += potential(ha, np.float32(rate), weight)
        if visit is not None:
            visit(i, share, alloc, sp)

    def share_of(i: int) -> np.ndarray:
        e = (eligible & np.uint32(1 << i)) != 0
        return np.where(e, shares[i], 0).astype(np.uint16)

    deferred = list(deferred) if deferred is not None else [None] * len(specs)
    # Pass 1: conversions draw on one land pool shared by all groups (deferred cells wait).
    free = np.full(shape, FULL, dtype=np.uint16)
    if land is not None:
        free = np.minimum(free, np.broadcast_to(np.asarray(land, dtype=np.uint16), shape))
    later: dict[int, tuple] = {}
    for i in order:
        if specs[i].land_use != "conversion":
            continue
        share = share_of(i)
        d = deferred[i]
        if d is not None and np.any(d):
            d = np.broadcast_to(np.asarray(d, dtype=bool), shape)
            now = np.where(d, 0, share).astype(np.uint16)
            later[i] = (share, d)
            alloc = np.minimum(now, free)
            free -= alloc
            later[i] += (alloc,)
            continue
        alloc = np.minimum(share, free)
        free -= alloc
        record(i, share, alloc, zero_sp)

    # Pass 2: management, per group, on the land left after conversions.
    group_free: dict[str, np.ndarray] = {}
    group_n: dict[str, np.ndarray] = {}
    n_mgmt = np.zeros(shape, dtype=np.uint8)
    for i in order:
        spec = specs[i]
        if spec.land_use != "management":
            continue
        g = spec.group
        if g not in group_free:
            group_free[g] = free.copy()
            group_n[g] = np.zeros(shape, dtype=np.uint8)
        share = share_of(i)
        alloc = np.minimum(share, group_free[g])
        group_free[g] -= alloc
        sp = n_mgmt - group_n[g]
        got = (alloc > 0).view(np.uint8)
        n_mgmt += got
        group_n[g] += got
        record(i, share, alloc, sp)

    # Pass 3: deferred conversions on land that no management measure took.
    if later:
        untouched = free.copy()
        for g_free in group_free.values():
            np.minimum(untouched, g_free, out=untouched)
        for i in order:
            if i not in later:
                continue
            share, d, first = later[i]
            alloc = first + np.where(d, np.minimum(share, untouched), 0).astype(np.uint16)
            untouched -= alloc - first
            free -= alloc - first
            record(i, share, alloc, zero_sp)
    return Allocation(primary, pot)


def exact_bincount(code: np.ndarray, units: np.ndarray, nbins: int) -> np.ndarray:
    """Exact int64 sums of non-negative int64 `units` per bin (numpy.bincount is float64).

    Units are split into 24-bit halves so every float64 partial sum stays below 2**53 and
    is exact; very large inputs fall back to a pandas integer groupby.
    """
    out = np.zeros(nbins, dtype=np.int64)
    if units.size == 0:
        return out
    hi = units >> 24
    if units.size >= 2**29 or int(hi.max()) * units.size >= 2**53:
        sums = pd.Series(units).groupby(code).sum()
        out[sums.index.to_numpy()] = sums.to_numpy(np.int64)
        return out
    lo = (units & 0xFFFFFF).astype(np.float64)
    out += np.rint(np.bincount(code, weights=lo, minlength=nbins)).astype(np.int64)
    if hi.any():
        s_hi = np.bincount(code, weights=hi.astype(np.float64), minlength=nbins)
        out += np.rint(s_hi).astype(np.int64) << 24
    return out


class CountAccumulator:
    """Collects integer counts per (province, county, zones, ecosystem, measure, stack_pos).

    Use `visit` as the `allocate(..., visit=...)` callback, then `table(measure_ids)`.
    Only cells with region == 1 count. `area_int` is int64 m2 per row (H,) or per cell.
    Sums are exact integers (see `exact_bincount`).
    """

    def __init__(self, keys: Mapping[str, np.ndarray], region: np.ndarray, area_int):
        inside = (np.asarray(region) == 1).reshape(-1)
        shape = np.shape(region)
        flat = {k: np.broadcast_to(np.asarray(keys[k]), shape).reshape(-1) for k in COUNT_KEYS}
        p_codes, self.p_uni = pd.factorize(flat["province"])
        c_codes, self.c_uni = pd.factorize(flat["county"])
        zones = flat["zones"].astype(np.int64)
        eco = flat["ecosystem"].astype(np.int64)
        if zones.size and (zones.max() >= 1 << 16 or eco.max() >= 1 << 8):
            raise ValueError("zones must fit uint16 and ecosystem uint8")
        combo = ((p_codes.astype(np.int64) * len(self.c_uni) + c_codes) << 24) | (zones << 8) | eco
        combo[~inside] = -1
        gid, self.uniq = pd.factorize(combo)
        self.gid = gid.astype(np.int64)
        self.n_groups = len(self.uniq)
        area = np.asarray(area_int, dtype=np.int64)
        if area.ndim == 1:
            area = area[:, None]
        self.area = np.broadcast_to(area, shape).reshape(-1)
        self.parts: list[tuple] = []

    def visit(self, i: int, share, alloc, sp) -> None:
        s = np.asarray(share).reshape(-1)
        idx = np.flatnonzero(s)
        if idx.size == 0:
            return
        area = self.area[idx]
        spv = np.asarray(sp).reshape(-1)[idx].astype(np.int64)
        nsp = int(spv.max()) + 1
        code = self.gid[idx] * nsp + spv
        nbins = self.n_groups * nsp
        eu = exact_bincount(code, area * s[idx].astype(np.int64), nbins)
        au = exact_bincount(code, area * np.asarray(alloc).reshape(-1)[idx].astype(np.int64), nbins)
        nz = np.flatnonzero(eu)
        g = nz // nsp
        keep = self.uniq[g] >= 0
        nz, g = nz[keep], g[keep]
        self.parts.append((i, g, nz % nsp, eu[nz], au[nz]))

    def table(self, measure_ids: Sequence[str]) -> pd.DataFrame:
        """The counts table: integer columns, rows sorted by all key columns."""
        if not self.parts:
            return empty_counts()
        g = np.concatenate([p[1] for p in self.parts])
        key = self.uniq[g]
        pc = key >> 24
        n_c = len(self.c_uni)
        measure = np.concatenate([np.full(len(p[1]), p[0]) for p in self.parts])
        out = pd.DataFrame(
            {
                "province": np.asarray(self.p_uni)[pc // n_c].astype(np.int64),
                "county": np.asarray(self.c_uni)[pc % n_c].astype(np.int64),
                "zones": (key >> 8) & 0xFFFF,
                "ecosystem": key & 0xFF,
                "measure_id": np.asarray(measure_ids, dtype=object)[measure],
                "stack_pos": np.concatenate([p[2] for p in self.parts]).astype(np.int64),
                "eligible_units": np.concatenate([p[3] for p in self.parts]),
                "allocated_units": np.concatenate([p[4] for p in self.parts]),
            }
        )
        return out.sort_values(COUNT_COLUMNS[:6], kind="stable").reset_index(drop=True)


def empty_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=object if c == "measure_id" else np.int64) for c in COUNT_COLUMNS}
    )


PALETTE = [
    "#1b7837",
    "#5aae61",
    "#a6dba0",
    "#00441b",
    "#238b45",
    "#74c476",
    "#c7e9c0",
    "#41ab5d",
    "#fee08b",
    "#fdae61",
    "#d9ef8b",
    "#e6f598",
    "#ffffbf",
    "#f6e8c3",
    "#dfc27d",
    "#d73027",
    "#f46d43",
    "#a50026",
    "#fdb863",
    "#b35806",
    "#e08214",
    "#2166ac",
    "#4393c3",
    "#92c5de",
    "#053061",
    "#67a9cf",
    "#d1e5f0",
    "#01665e",
    "#35978f",
    "#80cdc1",
    "#c51b7d",
    "#8073ac",
]


def primary_colormap(n: int) -> dict[int, tuple[int, int, int, int]]:
    """Colour table for primary.tif: 0 light grey (none), i + 1 a fixed colour, 255 clear."""

    def rgb(h):
        return tuple(int(h[k : k + 2], 16) for k in (1, 3, 5)) + (255,)

    cmap = {0: (230, 230, 230, 255), 255: (255, 255, 255, 0)}
    for i in range(n):
        cmap[i + 1] = rgb(PALETTE[i % len(PALETTE)])
    return cmap


COUNT_KEY_LAYERS = ("region", "province", "county", "zones", "ecosystem")


@dataclass
class TileResult:
    eligible: np.ndarray  # uint32 bitmask
    allocation: Allocation
    counts: pd.DataFrame
    landcover: pd.DataFrame | None = None  # `landcover_counts` of the stack, when computed


def assign(
    stack: Mapping[str, np.ndarray],
    ruleset: RuleSet,
    catalog,
    vocab: Vocab,
    area_m2: np.ndarray,
    area_int: np.ndarray,
    ranking: Sequence[str],
    stack_factor: float,
    composition_lut: np.ndarray | None = None,
    visit: Visitor | None = None,
) -> TileResult:
    """Eligibility, allocation and counts of one tile (all arrays; see the module docstring).

    `stack` holds the layers the rules use plus region, province, county, zones, ecosystem;
    `area_m2` (float) and `area_int` (int64 m2) are per row, shape (H,), or per cell (H, W)
    (projected grids that are not equal-area, `sinkzone.grid.cell_areas_m2`).
    `composition_lut` (`sinkzone.legend.composition_lut`) maps land-cover codes to the permille
    of the cell's ecosystem in its class; None = every class is one ecosystem. `visit`, if
    given, is called like the count accumulator (per measure: share, alloc, stack_pos).
    """
    from sinkzone.catalog import ranking_order
    from sinkzone.legend import composition_permille
    from sinkzone.suitability import deferred_masks

    region = np.asarray(stack["region"])
    comp = None
    if composition_lut is not None:
        comp = composition_permille(np.asarray(stack["landcover"]), composition_lut)
    shares = measure_shares(ruleset, catalog.ids, stack, comp)
    bits = eligibility(ruleset, catalog, stack, vocab, shares, region)
    acc = CountAccumulator(stack, region, area_int)
    alloc = allocate(
        bits,
        shares,
        specs_from_catalog(catalog),
        ranking_order(catalog, ranking),
        _per_cell(np.asarray(area_m2, dtype=np.float64)),
        stack_factor,
        visit=acc.visit if visit is None else _both(acc.visit, visit),
        deferred=deferred_masks(ruleset, catalog.ids, stack, vocab),
        land=comp,
    )
    return TileResult(bits, alloc, acc.table(catalog.ids))


def _both(first: Visitor, second: Visitor) -> Visitor:
    def visit(i, share, alloc, sp):
        first(i, share, alloc, sp)
        second(i, share, alloc, sp)

    return visit


def _per_cell(area: np.ndarray) -> np.ndarray:
    """Per-row areas (H,) as a column (H, 1); per-cell areas (H, W) unchanged."""
    return area[:, None] if area.ndim == 1 else area


LC_COLUMNS = ["province", "county", "zones", "landcover", "ecosystem", "area_m2"]


def landcover_counts(stack: Mapping[str, np.ndarray], area_int) -> pd.DataFrame:
    """Exact int64 land area (m2) per (province, county, zones, landcover, ecosystem) of a tile.

    Only region cells (region == 1) count. `area_int` is the int64 m2 per row (H,) of
    `sinkzone.grid.cell_area_int`, so the per-tile tables sum exactly to the same totals
    whatever the tiling. Rows are sorted by the key columns.
    """
    inside = np.asarray(stack["region"]) == 1
    area = np.asarray(area_int, dtype=np.int64)
    if area.ndim == 1:
        area = np.broadcast_to(area[:, None], inside.shape)
    frame = pd.DataFrame(
        {k: np.asarray(stack[k])[inside].astype(np.int64) for k in LC_COLUMNS[:5]}
        | {"area_m2": area[inside]}
    )
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=np.int64) for c in LC_COLUMNS})
    out = frame.groupby(LC_COLUMNS[:5], sort=True, as_index=False)["area_m2"].sum()
    return out.astype(np.int64).reset_index(drop=True)
