# Validation and helper functions shared by the rule files. No rules here, and no data I/O
# beyond the small registry table kept in git.
import os
import sys
from pathlib import Path

import functools

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from sinkzone.configcheck import validate_config  # noqa: E402
from sinkzone.legend import legend_path  # noqa: E402
from sinkzone.provenance import code_digest  # noqa: E402
from sinkzone.memory import job_environment  # noqa: E402

job_environment()  # e.g. numpy without transparent huge pages (sinkzone.memory)

# One-line messages naming the key path (and the closest valid key), then Snakemake's own check.
validate_config(config, Path(workflow.basedir) / "config" / "schema.yaml")
validate(config, "../config/schema.yaml")
# landcover.legend may name a shipped legend ("clcd"): the rules get its CSV path.
config["landcover"]["legend"] = legend_path(config["landcover"]["legend"])

from sinkzone.registry import dataset_entries, file_meta, load_registry  # noqa: E402
from sinkzone.layerspec import layer_names, layer_outputs  # noqa: E402

RUN = config["run"]
TILES = [
    f"r{r:03d}_c{c:03d}"
    for r in range(config["tiling"]["rows"])
    for c in range(config["tiling"]["cols"])
]
LAYERS = layer_names()  # config/layers.yaml
PRODUCTS = [
    "eligible",
    "primary",
    "potential_low",
    "potential_central",
    "potential_high",
    "potential_density_low",
    "potential_density_central",
    "potential_density_high",
]
# per-measure share rasters: VRTs over the share tiles (rule write_measure_vrts), COG copies
# only with outputs.measure_mosaics
MEASURE_RASTERS = (
    ["measures_eligible", "measures_allocated"]
    if config["outputs"]["measure_rasters"]
    else []
)
ZONE_IDS = [z["id"] for z in config["zones"]["items"]]


MAIN_SUFFIXES = (".tif", ".shp", ".geojson", ".gpkg", ".nc", ".grd", ".db")


def get_dataset_file(dataset, suffix=""):
    """Local path of the file of `dataset` ending with `suffix` (default: its main file)."""
    rows = [
        r for r in get_registry_rows() if r.dataset == dataset and "*" not in r.file
    ]
    for want in [suffix] if suffix else MAIN_SUFFIXES:
        for row in rows:
            if row.file.endswith(want):
                return f"data/raw/{dataset}/{row.file}"
    raise ValueError(
        f"data/registry.csv: no file ending in {suffix!r} for dataset {dataset!r}. "
        "Fix: check the dataset name in config/config.yaml against data/registry.csv"
    )


def get_source(section, suffix=""):
    """The file a config section points at: its `path` if the user set one, else the dataset."""
    if section["path"]:
        return section["path"]
    return get_dataset_file(section["dataset"], suffix)


def input_source(section):
    """Snakemake input for a config section: the user's file, or the retrieval marker."""
    if section["path"]:
        return section["path"]
    return f"data/raw/{section['dataset']}/.retrieved"


def code_hash(script):
    """Digest of every sinkzone module that scripts/<script>.py runs, found from its imports
    (followed transitively through the package), so editing any of them reruns the rule.
    """
    scripts = Path(workflow.basedir) / "scripts"
    wrapper = scripts / f"{script}.py"
    if not wrapper.is_file():
        raise ValueError(
            f"code_hash({script!r}): no wrapper {wrapper}. Fix: pass the rule's wrapper name, "
            'e.g. code_hash("assign_tile"); its imported modules are found automatically'
        )
    return code_digest(wrapper, scripts / "sinkzone")


def get_uncertainty_factor_inputs(wildcards):
    """Optional tables of shared rate factors / adoption and of area factors (when set)."""
    u = config["uncertainty"]
    return {k: u[k] for k in ("groups", "area") if u.get(k)}


def get_capacity_input(wildcards):
    """Optional table of recorded implementation capacities (when set)."""
    cap = config["time"].get("capacity")
    return {"capacity": cap} if cap else {}


def get_credit():
    """What every map and chart credits (sinkzone.maps.credit_lines): the run, the data
    sources (dataset ids of data/registry.csv, or the user's file names) and the boundaries.
    """

    def source(section):
        sec = config[section]
        return (
            f"{Path(sec['path']).name} (user file)"
            if sec.get("path")
            else sec["dataset"]
        )

    sources = [
        ["land cover", "土地覆盖", source("landcover")],
        ["DEM", "高程", source("dem")],
        ["climate", "气候", source("climate")],
    ]
    if config["precipitation"]["enabled"]:
        sources.append(["precipitation", "降水", source("precipitation")])
    sources.append(["boundaries", "行政边界", config["admin"]["dataset"]])
    if config["red_lines"]["path"]:
        sources.append(
            ["red lines", "生态保护红线", Path(config["red_lines"]["path"]).name]
        )
    rows = [r for r in get_registry_rows() if r.dataset == config["admin"]["dataset"]]
    boundaries = config["admin"]["dataset"]
    if rows:
        boundaries = (
            f"{rows[0].source.split(' (')[0]} ({rows[0].package} {rows[0].version})"
        )
    return {"run": RUN, "sources": sources, "boundaries": boundaries}


def get_web_assets_digest():
    """Digest of the web page files (scripts/sinkzone/web_assets/*) that build_web copies, so
    editing the page reruns the rule (code_hash follows Python imports only)."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(
        (Path(workflow.basedir) / "scripts" / "sinkzone" / "web_assets").iterdir()
    ):
        h.update(f"{p.name}\n".encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def get_zone_items():
    return [
        {k: z[k] for k in ("id", "name_en", "name_zh", "recipe") if k in z}
        for z in config["zones"]["items"]
    ]


def get_zones_source():
    return "official" if config["zones"]["official"]["path"] else "approximate"


def get_final_outputs(run=None):
    run = run or RUN
    return (
        expand("results/{run}/layers/{layer}.vrt", run=run, layer=LAYERS)
        + (
            expand("results/{run}/layers/{layer}.tif", run=run, layer=LAYERS)
            if config["outputs"]["layer_mosaics"]
            else []
        )
        + expand("results/{run}/rasters/{product}.tif", run=run, product=PRODUCTS)
        + expand("results/{run}/rasters/{name}.vrt", run=run, name=MEASURE_RASTERS)
        + (
            expand("results/{run}/rasters/{name}.tif", run=run, name=MEASURE_RASTERS)
            if config["outputs"]["measure_mosaics"]
            else []
        )
        + [f"results/{run}/sinkzone_{run}.qgz"]
        + [
            f"results/{run}/tables/landcover_area.csv",
            f"results/{run}/tables/potential_by_region.csv",
            f"results/{run}/tables/potential_by_region.gpkg",
            f"results/{run}/tables/residues_by_region.csv",
            f"results/{run}/tables/validation.csv",
            f"results/{run}/tables/blue_carbon.csv",
            f"results/{run}/tables/land_references.csv",
            f"results/{run}/tables/potential_uncertainty.csv",
            f"results/{run}/tables/sequestration_paths.csv",
            f"results/{run}/tables/mac_curve.csv",
            f"results/{run}/tables/cost_thresholds.csv",
            f"results/{run}/tables/scenarios.csv",
            f"results/{run}/tables/sinkzone_{run}.xlsx",
            f"results/{run}/summary.md",
        ]
        + [
            f"results/{run}/maps/{name}.png"
            for name in (
                "ecosystem",
                "zones",
                "red_line",
                "steep25",
                "climate",
                "primary_measure",
                "potential_density",
                "potential_by_province",
                "potential_by_zone",
            )
        ]
        + [f"results/{run}/web"]
        + [f"results/{run}/provinces/{code}" for code in get_province_packs()]
    )


def get_province_packs():
    """Province adcodes of config `provinces.adcodes` that lie in the run's region: all of
    them on a national run, those listed in `region.admin` on an admin run, else none.
    """
    codes = [int(c) for c in config["provinces"]["adcodes"]]
    region = config["region"]
    if region["kind"] == "china":
        return codes
    if region["kind"] == "admin":
        listed = {str(a) for a in region["admin"]}
        return [c for c in codes if str(c) in listed]
    return []


def get_credits():
    """One credit line per dataset of data/registry.csv (citation and licence)."""
    from sinkzone.web import credits_from_registry

    return credits_from_registry([r.as_dict() for r in get_registry_rows()])


@functools.cache
def get_registry_rows():
    """The validated rows of data/registry.csv (sinkzone.registry.Entry), read once."""
    return tuple(load_registry(Path(workflow.basedir) / "data" / "registry.csv"))


def get_registry_entries(dataset):
    """Rows of one dataset as dicts: the `entries` param of retrieve_dataset, so an edited row
    (new version or sha256) reruns the retrieval of that dataset only."""
    return [
        e.retrieval_dict() for e in dataset_entries(list(get_registry_rows()), dataset)
    ]


def get_vector_specs():
    """Named vector sources with their optional layer/crs/encoding overrides."""
    return {
        k: {
            "path": get_source(v),
            **{o: v[o] for o in ("layer", "crs", "encoding") if v.get(o)},
        }
        for k, v in config["vectors"].items()
    }


def input_precip(wildcards):
    """The precipitation layer, when configured."""
    if config["precipitation"]["enabled"]:
        return {"precip": f"results/{wildcards.run}/prep/precip.tif"}
    return {}


def input_depth(wildcards):
    """The depth layer source, when the near-shore sea is on (region.marine.enabled)."""
    if config["region"]["marine"]["enabled"]:
        return {"depth": f"results/{wildcards.run}/prep/depth.tif"}
    return {}


MARINE_VECTORS = ("mariculture_zoning", "mangroves", "reefs")


def get_marine_vectors():
    """The user's marine polygon files (config marine.*), {key: {path, layer, crs, encoding}}."""
    return {k: dict(config["marine"][k]) for k in MARINE_VECTORS}


def get_marine_vector_paths():
    return [
        config["marine"][k]["path"]
        for k in MARINE_VECTORS
        if config["marine"][k]["path"]
    ]


def get_lakes():
    """config lakes with the resolved file (user path or the registry dataset's .shp)."""
    return {**config["lakes"], "path": get_source(config["lakes"], ".shp")}


def get_file_meta(section):
    """How the dataset file of a config section is read: {"var", "fill", "units"} from
    data/registry.csv (the netCDF variable, its fill value, the true units; None when unset).
    """
    return file_meta(list(get_registry_rows()), section.get("dataset"))


def get_check_rasters():
    """Rasters check_inputs opens (besides the land cover), with their config keys."""
    out = {
        "dem": {
            "path": get_source(config["dem"]),
            "key": "dem",
            "var": get_file_meta(config["dem"])["var"],
        },
        "climate": {
            "path": get_source(config["climate"], ".tif"),
            "key": "climate",
            "integer": True,
        },
    }
    if config["precipitation"]["enabled"]:
        out["precip"] = {
            "path": get_source(config["precipitation"]),
            "key": "precipitation",
            "var": get_file_meta(config["precipitation"])["var"],
        }
    return out


def get_check_vectors():
    """User vector files check_inputs opens, with their config keys."""
    keys = ("path", "layer", "crs", "encoding", "attribute")
    region, red, official = (
        config["region"],
        config["red_lines"],
        config["zones"]["official"],
    )
    out = {}
    if region["kind"] == "file":
        out["region"] = {k: region.get(k) for k in keys}
    if red["path"]:
        out["red_lines"] = {k: red.get(k) for k in keys}
    if official["path"]:
        out["zones.official"] = {k: official.get(k) for k in keys}
    return out


def mark_run_started():
    """onstart: write results/{run}/RUN_INCOMPLETE when a job of the run is about to run
    (finish_run removes it; see sinkzone.runstate). Dry runs and spawned jobs skip hooks.
    """
    from sinkzone.runstate import mark_incomplete

    prefix = f"results/{RUN}/"
    dag = workflow.dag
    jobs = dag.needrun_jobs() if dag is not None else []
    if any(str(f).startswith(prefix) for job in jobs for f in job.output):
        mark_incomplete(prefix, "the run started")


# ---- outputs for GIS users (rasters with names and styles; issue 13)


def get_measure_tile_outputs():
    """Per-measure share tiles of assign_tile, when outputs.measure_rasters is on."""
    if not config["outputs"]["measure_rasters"]:
        return {}
    return {
        f"measures_{k}": f"results/{{run}}/tiles/{{tile}}/assign/measures_{k}.tif"
        for k in ("eligible", "allocated")
    }


def input_mosaic_classes(wildcards):
    """Small tables that name the classes of the output rasters."""
    return {
        "legend": config["landcover"]["legend"],
        "ecosystems": config["ecosystems"],
        "catalog": config["catalog"],
        "climate": config["outputs"]["climate_classes"],
        "region_list": f"results/{wildcards.run}/prep/regions.csv",
    }


STYLED_PRODUCTS = [p for p in PRODUCTS if p != "eligible"]


def get_layer_vrts():
    """Each layer of the run as one raster: a VRT over its tiles (rule write_layer_vrts)."""
    return {layer: f"results/{{run}}/layers/{layer}.vrt" for layer in LAYERS}


def input_layer_tiles(wildcards):
    """The tiles of every layer, as inputs tiles_<layer> of write_layer_vrts."""
    return {
        f"tiles_{layer}": expand(
            "results/{run}/tiles/{tile}/layers/{layer}.tif",
            run=wildcards.run,
            tile=TILES,
            layer=layer,
        )
        for layer in LAYERS
    }


def get_styled_rasters():
    """Rasters that get a .qml and .sld (all but the bitmask and the multi-band ones)."""
    return [f"results/{{run}}/layers/{layer}.vrt" for layer in LAYERS] + [
        f"results/{{run}}/rasters/{p}.tif" for p in STYLED_PRODUCTS
    ]
