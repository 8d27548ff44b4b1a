"""Rule aggregate_regions: sum the tile counts; regional, measure, ecosystem and residue tables."""

from typing import TYPE_CHECKING

from sinkzone import aggregate as agg
from sinkzone.layers import landcover_area_table
from sinkzone.legend import legend_names, load_shares, split_by_shares
from sinkzone.log import configure_logging
from sinkzone.realistic import read_caps
from sinkzone.residues import read_residue_factors, residue_table

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    counts,
    lc_counts,
    regions,
    vectors,
    catalog,
    ecosystems,
    residues,
    out_region,
    out_measure,
    out_ecosystem,
    out_residues,
    out_landcover,
    legend,
    zones,
    stack_factor,
    language,
    zones_source,
    nation_name_en="China",
    nation_name_zh="中国",
    caps=None,
):
    eco, cat, reg = (
        agg.read_ecosystems(ecosystems),
        agg.read_catalog(catalog),
        agg.read_regions(regions),
    )
    cnt, lc = agg.reduce_counts(counts), agg.reduce_lc_counts(lc_counts)
    # land areas by ecosystem split every legend class by its composition shares
    lc = split_by_shares(lc, load_shares(legend, eco, strict=False))
    names = {"nation_name_en": nation_name_en, "nation_name_zh": nation_name_zh}
    cap_table = read_caps(caps, cat["id"]) if caps else None
    table = agg.region_table(
        cnt,
        reg,
        cat,
        zones,
        stack_factor,
        eco,
        language=language,
        zones_source=zones_source,
        caps=cap_table,
        **names,
    )
    agg.write_table(out_region, table)
    agg.write_table(out_measure, agg.measure_table(table, cat))
    agg.write_table(out_ecosystem, agg.ecosystem_table(table, lc, eco))
    lc_area = lc.groupby(["landcover", "ecosystem"], as_index=False)["area_m2"].sum()
    agg.write_table(out_landcover, landcover_area_table(lc_area, eco, legend_names(legend)))
    factors = read_residue_factors(residues, eco)
    agg.write_table(out_residues, residue_table(lc, factors, reg, language=language, **names))


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        counts=i.counts,
        lc_counts=i.lc_counts,
        regions=i.regions,
        vectors=i.vectors,
        catalog=i.catalog,
        ecosystems=i.ecosystems,
        residues=i.residues,
        out_region=o.region,
        out_measure=o.measure,
        out_ecosystem=o.ecosystem,
        out_residues=o.residues,
        out_landcover=o.landcover,
        legend=i.legend,
        zones=p.zones,
        stack_factor=p.stack_factor,
        language=p.language,
        zones_source=p.zones_source,
        nation_name_en=p.nation_name_en,
        nation_name_zh=p.nation_name_zh,
        caps=i.caps,
    )
