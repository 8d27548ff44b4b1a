"""Rule write_workbook: every table of the run in one Excel workbook with bilingual headers."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sinkzone.log import configure_logging
from sinkzone.outputs import load_dictionary, write_workbook

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("sinkzone.write_workbook")


def main(*, tables, dictionary, out, run=""):
    sheets = {Path(p).stem: p for p in tables}
    missing = write_workbook(sheets, load_dictionary(dictionary), out, title=f"sinkzone run {run}")
    if missing:
        log.warning(
            "columns without a row in %s (header left as the column id): %s", dictionary, missing
        )
    log.info("wrote %s (%d sheets)", out, len(sheets) + 1)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    main(
        tables=list(snakemake.input.tables),
        dictionary=snakemake.input.dictionary,
        out=snakemake.output.workbook,
        run=snakemake.params.run,
    )
