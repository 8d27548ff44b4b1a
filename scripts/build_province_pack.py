"""Province report packs results/{run}/provinces/{adcode}/ (zh and en, HTML and PDF) from a
finished run; with a `regions` input (rule build_province_index) every province of the run
and an index page."""

import html
import logging
from pathlib import Path

import pandas as pd

from sinkzone import provinces
from sinkzone.io import write_text
from sinkzone.log import configure_logging

log = logging.getLogger("sinkzone.build_province_pack")
PACK_MAX_DPI = 200  # maps of a pack are read on screen and printed on A4: 200 dpi is plenty


def main(
    *,
    vectors,
    potential_by_region,
    costs,
    validation,
    catalog,
    primary,
    potential_central,
    run,
    credits=(),
    display_res_m=5000.0,
    dpi=150,
    out_pack=None,
    adcode=None,
    regions=None,
    out_index=None,
    credit=None,
):
    table = pd.read_csv(potential_by_region, dtype={"region_code": str, "zones_source": str})
    common = dict(
        run=run,
        vectors=Path(vectors),
        table=table,
        costs=pd.read_csv(costs),
        validation=pd.read_csv(validation),
        catalog=pd.read_csv(catalog),
        primary=Path(primary),
        potential_central=Path(potential_central),
        credits=list(credits),
        res_m=float(display_res_m) / 2,
        dpi=min(int(dpi), PACK_MAX_DPI),
        credit=credit,
    )
    if out_pack is not None:
        provinces.build_pack(Path(out_pack), adcode=int(adcode), **common)
        return
    reg = pd.read_csv(regions)
    have = set(pd.to_numeric(table.loc[table["region_level"] == "province", "region_code"]))
    rows = reg[(reg["level"] == "province") & reg["code"].isin(have)]
    root = Path(out_index).parent
    items = []
    for _, r in rows.iterrows():
        provinces.build_pack(root / str(r["code"]), adcode=int(r["code"]), **common)
        items.append(
            f"<li>{r['code']} {html.escape(str(r['name_zh']))} / "
            f"{html.escape(str(r['name_en']))}: "
            + " ".join(
                f"<a href='{r['code']}/report_{lg}.{ext}'>{lg} {ext}</a>"
                for lg in ("zh", "en")
                for ext in ("html", "pdf")
            )
            + "</li>"
        )
    write_text(
        out_index,
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Province packs: "
        f"{html.escape(run)}</title></head><body><h1>Province report packs: {html.escape(run)}"
        "</h1><ul>" + "\n".join(items) + "</ul></body></html>",
    )


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
    main(
        vectors=i.vectors,
        potential_by_region=i.potential_by_region,
        costs=i.costs,
        validation=i.validation,
        catalog=i.catalog,
        primary=i.primary,
        potential_central=i.potential_central,
        run=p.run,
        credits=p.credits,
        display_res_m=p.display_res_m,
        dpi=p.dpi,
        out_pack=o.get("pack"),
        adcode=w.get("adcode"),
        regions=i.get("regions"),
        out_index=o.get("index"),
        credit=p.credit,
    )
