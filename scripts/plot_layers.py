"""Maps of the input layers: ecosystem class, zones, red lines, steep-slope share, climate."""

import logging

import pandas as pd

from sinkzone import maps
from sinkzone.log import configure_logging

log = logging.getLogger("sinkzone.plot_layers")


def main(
    *,
    vectors,
    ecosystem,
    zones,
    red_line,
    steep25,
    climate,
    ecosystems_table,
    out_ecosystem,
    out_zones,
    out_red_line,
    out_steep25,
    out_climate,
    language="en",
    zone_items=(),
    zones_source="approximate",
    dpi=300,
    display_res_m=5000.0,
    national=None,
    credit=None,
):
    lang = maps.setup_language(language)
    bm = maps.load_basemap(vectors, national=national)
    eco = pd.read_csv(ecosystems_table)

    def read(path, categorical=True):
        return maps.read_for_display(path, display_res_m, categorical=categorical)

    figures = [
        (out_ecosystem, lambda: maps.ecosystem_map(read(ecosystem), eco, bm, lang)),
        (out_zones, lambda: maps.zones_map(read(zones), list(zone_items), bm, lang, zones_source)),
        (out_red_line, lambda: maps.red_line_map(read(red_line), bm, lang)),
        (out_steep25, lambda: maps.steep_map(read(steep25, False), bm, lang)),
        (out_climate, lambda: maps.climate_map(read(climate), bm, lang)),
    ]
    footer = maps.credit_lines(credit, lang, is_map=True)
    for out, make in figures:
        maps.save_figure(make(), out, dpi=dpi, footer=footer)
        log.info("wrote %s", out)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        vectors=i.vectors,
        ecosystem=i.ecosystem,
        zones=i.zones,
        red_line=i.red_line,
        steep25=i.steep25,
        climate=i.climate,
        ecosystems_table=i.ecosystems_table,
        out_ecosystem=o.ecosystem,
        out_zones=o.zones,
        out_red_line=o.red_line,
        out_steep25=o.steep25,
        out_climate=o.climate,
        language=p.language,
        zone_items=p.zone_items,
        zones_source=p.zones_source,
        dpi=p.dpi,
        display_res_m=p.display_res_m,
        national=p.national,
        credit=p.credit,
    )
