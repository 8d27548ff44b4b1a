"""Rule write_summary: results/{run}/summary.md."""

from typing import TYPE_CHECKING

import pandas as pd

from sinkzone.io import write_text
from sinkzone.log import configure_logging
from sinkzone.scenarios import summary_lines
from sinkzone.summary import (
    blue_carbon_section,
    build_summary,
    marine_not_mapped,
    not_mapped_measures,
)

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    region,
    measures,
    residues,
    validation,
    suitability,
    out,
    run,
    zones_source,
    red_lines,
    stack_factor,
    landcover="",
    language="en",
    horizons=None,
    thresholds=None,
    mac=None,
    scenarios=None,
    figures=None,
    caps=None,
    blue=None,
    blue_stats=None,
    marine_enabled=False,
    reefs_path=None,
):
    reg = pd.read_csv(region, dtype={"region_code": str}, keep_default_na=False, na_values=[""])
    text = build_summary(
        reg,
        pd.read_csv(measures, dtype={"measure_id": str}),
        pd.read_csv(residues, dtype={"region_code": str}),
        pd.read_csv(validation, dtype={"figure_id": str}),
        {**not_mapped_measures(suitability), **marine_not_mapped(marine_enabled, reefs_path)},
        run=run,
        zones_source=zones_source,
        red_lines=red_lines,
        stack_factor=stack_factor,
        landcover=landcover,
        language=language,
        figures=pd.read_csv(figures, dtype={"id": str}) if figures else None,
        horizons=pd.read_csv(horizons) if horizons else None,
        caps=pd.read_csv(caps, dtype=str, keep_default_na=False) if caps else None,
    )
    if blue and blue_stats:
        text += "\n" + "\n".join(blue_carbon_section(
            reg, pd.read_csv(blue, dtype={"region_code": str}), pd.read_csv(blue_stats),
            marine_enabled, language)) + "\n"  # fmt: skip
    if horizons and thresholds and mac and scenarios:
        lines = summary_lines(
            pd.read_csv(horizons),
            pd.read_csv(thresholds),
            pd.read_csv(mac),
            pd.read_csv(scenarios, keep_default_na=False),
        )
        # the doubling verdict is stated once, in the lead, from the time path
        lines = [ln for ln in lines if not ln.startswith("- Doubling to")]
        text += "\n## Time paths, costs and targets\n\n" + "\n".join(lines) + "\n"
    write_text(out, text)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, p = snakemake.input, snakemake.params
    main(
        region=i.region,
        measures=i.measures,
        residues=i.residues,
        validation=i.validation,
        suitability=i.suitability,
        out=snakemake.output.summary,
        run=p.run,
        zones_source=p.zones_source,
        red_lines=p.red_lines,
        stack_factor=p.stack_factor,
        landcover=p.landcover,
        language=p.language,
        horizons=i.horizons,
        thresholds=i.thresholds,
        mac=i.mac,
        scenarios=i.scenarios,
        figures=i.figures,
        caps=i.caps,
        blue=i.blue,
        blue_stats=i.blue_stats,
        marine_enabled=p.marine_enabled,
        reefs_path=p.reefs_path,
    )
