"""Rule compute_uncertainty: Monte Carlo P5/P50/P95 of the allocated potential per region."""

from typing import TYPE_CHECKING

from sinkzone.aggregate import write_table
from sinkzone.log import configure_logging
from sinkzone.uncertainty import (
    read_area_factors,
    read_groups,
    read_potential_table,
    read_rates,
    uncertainty_table,
)

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    region,
    catalog,
    out,
    draws,
    seed,
    distribution="triangular",
    per_measure=None,
    groups=None,
    area=None,
):
    table = read_potential_table(region)
    rates = read_rates(catalog)
    result = uncertainty_table(
        table,
        rates,
        draws=draws,
        seed=seed,
        distribution=distribution,
        per_measure=per_measure,
        groups=read_groups(groups, list(rates["id"])),
        area=read_area_factors(area),
    )
    write_table(out, result)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, p = snakemake.input, snakemake.params
    main(
        region=i.region,
        catalog=i.catalog,
        out=snakemake.output.table,
        draws=p.draws,
        seed=p.seed,
        distribution=p.distribution,
        per_measure=p.per_measure,
        groups=getattr(i, "groups", None),
        area=getattr(i, "area", None),
    )
