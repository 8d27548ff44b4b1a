"""Rule finish_run: every final output exists -> run_complete.json, RUN_INCOMPLETE removed."""

from pathlib import Path
from typing import TYPE_CHECKING

from sinkzone.log import configure_logging
from sinkzone.runstate import mark_complete

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(*, outputs, out) -> Path:
    return mark_complete(Path(out).parent, outputs)


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    main(outputs=list(snakemake.input.outputs), out=snakemake.output.done)
