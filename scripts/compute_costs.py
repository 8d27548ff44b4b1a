"""Rule compute_costs: cost per t CO2 per region and measure, MAC curves, price thresholds."""

from typing import TYPE_CHECKING

from sinkzone import costs as cs
from sinkzone import maps
from sinkzone.aggregate import write_table
from sinkzone.log import configure_logging
from sinkzone.maps import charts
from sinkzone.uncertainty import read_potential_table

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    region,
    catalog,
    out_costs,
    out_mac,
    out_thresholds,
    out_figure,
    discount_rate,
    usd_cny,
    usd_cny_source,
    thresholds_usd,
    thresholds_source,
    ccus_cny,
    ccus_source,
    levels,
    dpi=300,
    language="en",
    credit=None,
):
    table, cat = read_potential_table(region), cs.read_costs(catalog)
    costs = cs.cost_table(table, cat, discount_rate=discount_rate, usd_cny=usd_cny)
    mac = cs.mac_curve(costs, cat, levels)
    prices = cs.threshold_prices(
        thresholds_usd,
        ccus_cny,
        usd_cny,
        thresholds_source=f"{thresholds_source}; USD->CNY {usd_cny} ({usd_cny_source})",
        ccus_source=ccus_source,
    )
    write_table(out_costs, costs)
    write_table(out_mac, mac)
    write_table(out_thresholds, cs.threshold_table(costs, prices, levels, usd_cny))
    lang = maps.setup_language(language)
    charts.plot_mac(
        mac,
        prices,
        out_figure,
        dpi=dpi,
        language=lang,
        footer=maps.credit_lines(credit, lang, is_map=False),
    )


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        region=i.region,
        catalog=i.catalog,
        out_costs=o.costs,
        out_mac=o.mac,
        out_thresholds=o.thresholds,
        out_figure=o.figure,
        discount_rate=p.discount_rate,
        usd_cny=p.usd_cny,
        usd_cny_source=p.usd_cny_source,
        thresholds_usd=p.thresholds_usd,
        thresholds_source=p.thresholds_source,
        ccus_cny=p.ccus_cny,
        ccus_source=p.ccus_source,
        levels=p.levels,
        dpi=p.dpi,
        language=p.language,
        credit=p.credit,
    )
