"""Rule run_scenarios: target-seeking scenarios and the doubling check, one comparison table."""

from typing import TYPE_CHECKING

import pandas as pd

from sinkzone import maps
from sinkzone import scenarios as sc
from sinkzone.aggregate import write_table
from sinkzone.costs import read_costs
from sinkzone.log import configure_logging
from sinkzone.maps import charts
from sinkzone.uncertainty import read_potential_table

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    region,
    catalog,
    landcover_area,
    uncertainty,
    horizons,
    figures,
    scenarios,
    out,
    out_units,
    out_figure,
    discount_rate,
    dpi=300,
    language="en",
    credit=None,
):
    table, cat, fig = (
        read_potential_table(region),
        read_costs(catalog),
        sc.read_figure_ranges(figures),
    )
    lc = pd.read_csv(landcover_area)
    rows, units, names_zh = [], [], {}
    for path in scenarios:
        scenario = sc.read_scenario(path)
        names_zh[scenario["id"]] = scenario.get("name_zh", "")
        row, detail = sc.run_scenario(
            scenario, table, cat, figures=fig, discount_rate=discount_rate, landcover_area=lc
        )
        rows.append(row)
        units.append(detail)
    unc = pd.read_csv(uncertainty, dtype={"region_code": str})
    hz = pd.read_csv(horizons, dtype={"region_code": str})
    rows += sc.doubling_rows(unc, fig, hz)
    result = sc.scenario_table(rows)
    write_table(out, result)
    write_table(
        out_units,
        pd.concat(units, ignore_index=True) if units else pd.DataFrame(columns=sc.UNIT_COLUMNS),
    )
    lang = maps.setup_language(language)
    charts.plot_scenarios(
        result,
        out_figure,
        dpi=dpi,
        language=lang,
        names_zh=names_zh,
        footer=maps.credit_lines(credit, lang, is_map=False),
    )


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        region=i.region,
        catalog=i.catalog,
        landcover_area=i.landcover_area,
        uncertainty=i.uncertainty,
        horizons=i.horizons,
        figures=i.figures,
        scenarios=list(i.scenarios),
        out=o.table,
        out_units=o.units,
        out_figure=o.figure,
        discount_rate=p.discount_rate,
        dpi=p.dpi,
        language=p.language,
        credit=p.credit,
    )
