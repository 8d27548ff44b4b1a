"""The static web map of a run: results/{run}/web/ (index.html opens from disk, offline)."""

import json
import logging
from pathlib import Path

import pandas as pd

from sinkzone import web
from sinkzone.log import configure_logging

log = logging.getLogger("sinkzone.build_web")


def main(
    *,
    run_dir,
    grid,
    vectors,
    potential_by_region,
    catalog,
    ecosystems_table,
    leaflet,
    out_dir,
    run,
    language="en",
    zone_items=(),
    static_px=web.STATIC_MAX_PX,
    simplify_deg=0.01,
    credits=(),
    text_files=(),
    credit=None,
):
    run_dir = Path(run_dir)
    g = json.loads(Path(grid).read_text(encoding="utf-8"))
    bounds = web.grid_bounds_wgs84(g)
    cat = pd.read_csv(catalog)
    layers = web.build_web_layers(run_dir, cat, pd.read_csv(ecosystems_table), list(zone_items))
    for lid in ("density", "n_eligible", "elevation", "precip", "steep25"):
        if lid in layers:
            layers[lid].vmax = web.robust_vmax(run_dir, layers[lid], bounds)
    table = pd.read_csv(potential_by_region, dtype={"region_code": str, "zones_source": str})
    import pyogrio

    cty = pyogrio.read_dataframe(
        vectors, layer="counties", columns=["code", "prefecture_code"], read_geometry=False
    )
    pref_of = dict(zip(cty["code"].astype(int), cty["prefecture_code"].astype(int), strict=True))
    summaries = web.region_summaries(table, pref_of, cat)
    boundaries = web.boundaries_geojson(Path(vectors), summaries, simplify_deg)
    credits = list(credits) + [web.map_notice(credit, "en"), web.map_notice(credit, "zh")]
    web.write_static(
        Path(out_dir),
        run=run,
        run_dir=run_dir,
        layers=layers,
        bounds=bounds,
        boundaries=boundaries,
        language=language,
        leaflet_dir=Path(leaflet).parent,
        credits=credits,
        static_px=static_px,
        grid_width=int(g["width"]),
        extra_text="".join(Path(f).read_text(encoding="utf-8") for f in text_files),
    )
    log.info("wrote %s (%d layers)", Path(out_dir) / "index.html", len(layers))


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        run_dir=Path(i.grid).parent.parent,
        grid=i.grid,
        vectors=i.vectors,
        potential_by_region=i.potential_by_region,
        catalog=i.catalog,
        ecosystems_table=i.ecosystems_table,
        leaflet=i.leaflet,
        out_dir=o.web,
        run=p.run,
        language=p.language,
        zone_items=p.zone_items,
        static_px=p.static_px,
        simplify_deg=p.simplify_deg,
        credits=p.credits,
        text_files=[i.catalog, i.ecosystems_table, i.suitability, *p.text_files],
        credit=p.credit,
    )
