"""Rule compare_land_references: mapped eligible areas beside official land references."""

from typing import TYPE_CHECKING

from sinkzone.aggregate import read_catalog, write_table
from sinkzone.log import configure_logging
from sinkzone.references import read_references, reference_table
from sinkzone.uncertainty import read_potential_table

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(*, region, catalog, references, out, national=True):
    table = read_potential_table(region)
    refs = read_references(references, list(read_catalog(catalog)["id"]))
    write_table(out, reference_table(table, refs, national=national))


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i = snakemake.input
    main(
        region=i.region,
        catalog=i.catalog,
        references=i.references,
        out=snakemake.output.table,
        national=snakemake.params.national,
    )
