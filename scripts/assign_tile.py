"""Rule assign_tile: eligible measures, allocation, potentials and integer counts of one tile."""

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sinkzone.allocate import COUNT_COLUMNS, LC_COLUMNS, primary_colormap
from sinkzone.assign import NODATA_POTENTIAL, STRIP_CELLS, assign_strips, sum_tables
from sinkzone.catalog import load_catalog
from sinkzone.io import TILE_COMPRESSION, write_csv, write_raster
from sinkzone.legend import composition_lut, load_ecosystems, load_legend, load_shares
from sinkzone.log import configure_logging
from sinkzone.suitability import load_ruleset, load_vocab

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("assign_tile")


def main(
    *,
    layers,
    grid,
    catalog,
    catalog_schema,
    suitability,
    ecosystems,
    eligible,
    primary,
    potential_low,
    potential_central,
    potential_high,
    counts,
    lc_counts,
    zone_ids,
    ranking,
    stack_factor,
    legend=None,
    measures_eligible=None,
    measures_allocated=None,
    strip_cells: int = STRIP_CELLS,
    evaluator: str = "compiled",
):
    t0 = time.perf_counter()
    g = json.loads(Path(grid).read_text(encoding="utf-8"))
    cat = load_catalog(catalog, catalog_schema)
    vocab = load_vocab(ecosystems, zone_ids, landcover_nodata=g.get("nodata"))
    rs = load_ruleset(suitability, vocab, cat)
    comp = None
    if legend is not None:  # classes that are compositions of several ecosystems
        eco_table = load_ecosystems(ecosystems)
        comp = composition_lut(load_shares(legend, eco_table), load_legend(legend, eco_table))
        log.info("legend classes with composition shares (permille of own ecosystem): %s", comp)
    paths = {Path(p).stem: p for p in layers}
    share_paths = {"eligible": measures_eligible, "allocated": measures_allocated}
    ta = assign_strips(paths, g, rs, cat, vocab, ranking, stack_factor, comp, share_paths,
                       strip_cells, evaluator)  # fmt: skip
    win, tr, count_parts, lc_parts = ta.window, ta.transform, ta.count_parts, ta.lc_parts
    bits_out, primary_out, pot_out = ta.eligible, ta.primary, ta.potential
    inside = primary_out != 255
    kw = {"crs": g["crs"], "transform": tr, "compression": TILE_COMPRESSION}  # read by mosaics
    bit_tags = {f"bit_{i}": m for i, m in enumerate(cat.ids)}
    write_raster(
        eligible,
        bits_out,
        **kw,
        descriptions=["eligible measures (bit n-1 = measure n = catalog row n)"],
        tags=bit_tags,
    )
    write_raster(
        primary,
        primary_out,
        **kw,
        nodata=255,
        descriptions=["primary measure (value n = measure n = catalog row n; 0 none)"],
        tags={f"value_{i + 1}": m for i, m in enumerate(cat.ids)} | {"value_0": "none"},
        colormap=primary_colormap(len(cat)),
    )
    for path, level in (
        (potential_low, "low"),
        (potential_central, "central"),
        (potential_high, "high"),
    ):
        arr = pot_out[level]
        write_raster(
            path,
            arr.astype(np.float32),
            **kw,
            nodata=NODATA_POTENTIAL,
            descriptions=[f"allocated potential, {level} rates (t CO2/yr per cell)"],
            tags={"units": "t CO2/yr per cell", "rates": level},
        )
    table = sum_tables(count_parts, COUNT_COLUMNS[:6])
    write_csv(counts, table)
    write_csv(lc_counts, sum_tables(lc_parts, LC_COLUMNS[:5]))
    dt = time.perf_counter() - t0
    log.info(
        "window %s in %d strips: %d region cells, %d count rows, %.2f s (%.2f M cells/s)",
        win,
        len(count_parts),
        int(inside.sum()),
        len(table),
        dt,
        inside.size / max(dt, 1e-9) / 1e6,
    )
    for m, n in zip(cat.ids, bit_counts(bits_out, len(cat)), strict=True):
        log.info("  %-32s eligible cells %d", m, n)


def bit_counts(bits: np.ndarray, n: int) -> list[int]:
    """Cells with bit i set, for i < n: from the counts of the distinct bitmasks (few per tile;
    one hashing pass instead of n passes over the tile)."""
    vc = pd.Series(bits.reshape(-1)).value_counts(sort=False)
    masks, cells = vc.index.to_numpy(), vc.to_numpy()
    return [int(cells[(masks >> i) & 1 == 1].sum()) for i in range(n)]


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        layers=list(i.layers),
        grid=i.grid,
        catalog=i.catalog,
        catalog_schema=i.catalog_schema,
        suitability=i.suitability,
        ecosystems=i.ecosystems,
        eligible=o.eligible,
        primary=o.primary,
        potential_low=o.potential_low,
        potential_central=o.potential_central,
        potential_high=o.potential_high,
        counts=o.counts,
        lc_counts=o.lc_counts,
        zone_ids=p.zone_ids,
        ranking=p.ranking,
        stack_factor=p.stack_factor,
        legend=i.legend,
        measures_eligible=o.get("measures_eligible"),
        measures_allocated=o.get("measures_allocated"),
        evaluator=p.evaluator,
    )
