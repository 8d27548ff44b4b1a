"""Maps and charts of the results: primary measure, potential density, provinces, zones."""

import logging

import pandas as pd

from sinkzone import maps
from sinkzone.log import configure_logging

log = logging.getLogger("sinkzone.plot_results")


def main(
    *,
    vectors,
    primary,
    potential_central,
    potential_by_region,
    catalog,
    ecosystems_table,
    out_primary,
    out_density,
    out_province,
    out_zone_bars,
    language="en",
    zone_items=(),
    dpi=300,
    display_res_m=5000.0,
    national=None,
    credit=None,
):
    lang = maps.setup_language(language)
    bm = maps.load_basemap(vectors, national=national)
    cat = pd.read_csv(catalog)
    eco = pd.read_csv(ecosystems_table)
    table = pd.read_csv(potential_by_region, dtype={"region_code": str, "zones_source": str})
    figures = [  # (path, make, is_map)
        (
            out_primary,
            lambda: maps.primary_map(
                maps.read_for_display(primary, display_res_m, categorical=True), cat, bm, lang
            ),
            True,
        ),
        (
            out_density,
            lambda: maps.density_map(
                maps.density_for_display(potential_central, display_res_m), bm, lang
            ),
            True,
        ),
        (out_province, lambda: maps.province_map(table, bm, lang), True),
        (out_zone_bars, lambda: maps.zone_bars(table, eco, list(zone_items), lang), False),
    ]
    for out, make, is_map in figures:
        maps.save_figure(
            make(), out, dpi=dpi, footer=maps.credit_lines(credit, lang, is_map=is_map)
        )
        log.info("wrote %s", out)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        vectors=i.vectors,
        primary=i.primary,
        potential_central=i.potential_central,
        potential_by_region=i.potential_by_region,
        catalog=i.catalog,
        ecosystems_table=i.ecosystems_table,
        out_primary=o.primary,
        out_density=o.density,
        out_province=o.province,
        out_zone_bars=o.zone_bars,
        language=p.language,
        zone_items=p.zone_items,
        dpi=p.dpi,
        display_res_m=p.display_res_m,
        national=p.national,
        credit=p.credit,
    )
