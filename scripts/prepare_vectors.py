"""Rule prepare_vectors: clean EPSG:4326 vectors, the region polygon and the admin lookup."""

import json

from sinkzone import admin as adm
from sinkzone import vectors as vec
from sinkzone.io import write_csv, write_text
from sinkzone.log import configure_logging


def main(
    *,
    admin_dir,
    coast,
    vectors,
    region,
    red_lines,
    zones_official,
    gpkg,
    regions,
    meta,
    zone_ids=None,
    coast_max_km=300.0,
    marine=None,
    marine_vectors=None,
    lakes=None,
):
    index_db, land_dir, maritime = adm.locate_cnmaps(admin_dir)
    units = adm.load_units(index_db, land_dir)
    geom, layers, notes = vec.build_vector_layers(
        units,
        region,
        vectors,
        coast=coast,
        maritime=maritime,
        red_lines=red_lines,
        zones_official=zones_official,
        zone_ids=zone_ids,
        coast_max_km=coast_max_km,
        marine=marine,
        marine_vectors=marine_vectors,
        lakes=lakes,
    )
    vec.write_gpkg(gpkg, layers)
    write_csv(
        regions, adm.regions_table(units["provinces"], units["counties"], units["prefectures"])
    )
    summary = vec.summarise(units, geom, layers, notes)
    write_text(meta, json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    p, out = snakemake.params, snakemake.output
    main(
        admin_dir=p.admin_dir,
        coast=p.coast,
        vectors=p.vectors,
        region=p.region,
        red_lines=p.red_lines,
        zones_official=p.zones_official,
        zone_ids=p.zone_ids,
        coast_max_km=p.coast_max_km,
        marine=p.marine,
        marine_vectors=p.marine_vectors,
        lakes=p.lakes,
        gpkg=out.gpkg,
        regions=out.regions,
        meta=out.meta,
    )
