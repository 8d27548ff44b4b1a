"""Rule check_headers: the cheap header checks before any heavy job -> headers_ok.json."""

import json
from typing import TYPE_CHECKING

from sinkzone.checks import check_headers
from sinkzone.io import write_text
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    landcover,
    legend,
    ecosystems,
    region,
    out,
    rasters=None,
    user_vectors=None,
    nodata=None,
    catalog=None,
    suitability=None,
    zone_ids=(),
) -> dict:
    summary = check_headers(
        catalog=catalog,
        suitability=suitability,
        zone_ids=zone_ids,
        landcover=landcover,
        legend=legend,
        ecosystems=ecosystems,
        region=region,
        rasters=rasters,
        user_vectors=user_vectors,
        nodata=nodata,
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
        region=p.region,
        out=snakemake.output.ok,
        rasters=p.rasters,
        user_vectors=p.user_vectors,
        nodata=p.nodata,
        catalog=i.catalog,
        suitability=i.suitability,
        zone_ids=p.zone_ids,
    )
