"""Rule validate_paper: compare national totals with the figures of Yu et al. 2022."""

from typing import TYPE_CHECKING

import pandas as pd

from sinkzone.aggregate import read_catalog, write_table
from sinkzone.log import configure_logging
from sinkzone.validation import (
    blue_carbon_rows,
    landcover_label,
    read_activity,
    read_figures,
    read_mapping,
    validation_table,
)

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    measures,
    ecosystems,
    residues,
    figures,
    mapping,
    out,
    grid=None,
    landcover="",
    activity=None,
    catalog=None,
    stack_factor=0.5,
    blue=None,
    marine_enabled=False,
):
    meas = pd.read_csv(measures, dtype={"measure_id": str})
    eco = pd.read_csv(ecosystems, dtype={"ecosystem": str})
    note, coarse = landcover_label(grid, landcover)
    table = validation_table(
        read_figures(figures),
        read_mapping(mapping),
        meas,
        residue_factors=pd.read_csv(residues, dtype=str).fillna(""),
        land_area_ha=dict(zip(eco["ecosystem"], eco["land_area_ha"].fillna(0.0), strict=True)),
        landcover_note=note,
        landcover_coarse=coarse,
        activity=read_activity(activity) if activity else None,
        catalog=read_catalog(catalog) if catalog else None,
        stack_factor=stack_factor,
    )
    if blue:  # blue carbon: current sinks of the paper vs mapped potentials (not comparable)
        rows = blue_carbon_rows(read_figures(figures), pd.read_csv(blue, dtype={"region_code": str}),
                                marine_enabled)  # fmt: skip
        table = pd.concat([table, rows], ignore_index=True) if len(table) else rows
    write_table(out, table)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i = snakemake.input
    main(
        measures=i.measures,
        ecosystems=i.ecosystems,
        residues=i.residues,
        figures=i.figures,
        mapping=i.mapping,
        out=snakemake.output.validation,
        grid=i.grid,
        landcover=snakemake.params.landcover,
        activity=i.activity,
        catalog=i.catalog,
        stack_factor=snakemake.params.stack_factor,
        blue=i.blue,
        marine_enabled=snakemake.params.marine["enabled"],
    )
