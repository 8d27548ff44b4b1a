"""Rule check_inputs: validate every input once, before the heavy work -> inputs_ok.json."""

import json
from typing import TYPE_CHECKING

from sinkzone.checks import DEFAULT_MAX_PIXELS, DEFAULT_MAX_UNMAPPED_SHARE, check_inputs
from sinkzone.io import write_text
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    landcover,
    legend,
    ecosystems,
    vectors,
    catalog,
    suitability,
    out,
    zone_ids,
    rasters=None,
    user_vectors=None,
    nodata=None,
    max_pixels=DEFAULT_MAX_PIXELS,
    max_unmapped_share=DEFAULT_MAX_UNMAPPED_SHARE,
) -> dict:
    summary = check_inputs(
        landcover=landcover,
        legend=legend,
        ecosystems=ecosystems,
        vectors_gpkg=vectors,
        catalog=catalog,
        suitability=suitability,
        zone_ids=zone_ids,
        rasters=rasters,
        user_vectors=user_vectors,
        nodata=nodata,
        max_pixels=max_pixels,
        max_unmapped_share=max_unmapped_share,
    )
    write_text(out, json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    return summary


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, p = snakemake.input, snakemake.params
    main(
        landcover=p.landcover,
        legend=i.legend,
        ecosystems=i.ecosystems,
        vectors=i.vectors,
        catalog=i.catalog,
        suitability=i.suitability,
        out=snakemake.output.ok,
        zone_ids=p.zone_ids,
        rasters=p.rasters,
        user_vectors=p.user_vectors,
        nodata=p.nodata,
        max_pixels=p.max_pixels,
        max_unmapped_share=p.max_unmapped_share,
    )
