"""Rule write_region_gpkg: tables/potential_by_region.gpkg (five levels, names for every region)."""

import logging
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from sinkzone import gpkg
from sinkzone.aggregate import read_regions, reduce_lc_counts
from sinkzone.log import configure_logging

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401

log = logging.getLogger("write_region_gpkg")


def read_geoms(vectors, zones_tif, zone_items, zones_official):
    def layer(name):
        g = gpd.read_file(vectors, layer=name, engine="pyogrio")
        return g.set_crs("EPSG:4326") if g.crs is None else g.to_crs("EPSG:4326")

    nation = layer("region").dissolve().reset_index(drop=True)[["geometry"]]
    nation["code"] = "100000"
    out = {"nation": nation}
    for level, name in (("province", "provinces"), ("prefecture", "prefectures"),
                        ("county", "counties")):  # fmt: skip
        g = layer(name)
        g["code"] = g["code"].astype("int64").astype(str)
        if "prefecture_code" in g.columns:
            g["prefecture_code"] = g["prefecture_code"].astype("int64").astype(str)
        out[level] = g
    if zones_official:
        z = layer("zones_official").dissolve(by="zone_id").reset_index()
        out["zone"] = gpd.GeoDataFrame({"code": z["zone_id"].astype(str)}, geometry=z.geometry)
    else:
        out["zone"] = gpkg.zone_polygons(zones_tif, zone_items)
    return out


def main(*, table, regions, vectors, lc_counts, catalog, zones_tif, out_gpkg, zone_items,
         zones_official=False, zones_source="approximate", nation_name_en="China",
         nation_name_zh="中国"):  # fmt: skip
    tab = pd.read_csv(table, dtype={"region_code": str, "measure_id": str},
                      encoding="utf-8-sig")  # fmt: skip
    ids = pd.read_csv(catalog, dtype=str, keep_default_na=False)["id"].tolist()
    geoms = read_geoms(vectors, zones_tif, zone_items, zones_official)
    layers, fields = gpkg.build_gpkg_layers(
        tab, read_regions(regions), geoms, reduce_lc_counts(lc_counts), ids, zone_items,
        nation_name_en=nation_name_en, nation_name_zh=nation_name_zh,
        zones_source=zones_source)  # fmt: skip
    gpkg.write(layers, fields, out_gpkg)
    for level, g in layers.items():
        log.info("%s: %d regions, %d without cells", level, len(g), int(g["no_cells"].sum()))


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(table=i.table, regions=i.regions, vectors=i.vectors, lc_counts=list(i.lc_counts),
         catalog=i.catalog, zones_tif=i.zones, out_gpkg=o.gpkg, zone_items=p.zone_items,
         zones_official=p.zones_official, zones_source=p.zones_source,
         nation_name_en=p.nation_name_en, nation_name_zh=p.nation_name_zh)  # fmt: skip
