# Outputs for GIS users: styles beside the rasters, a QGIS project, the regional GeoPackage.


rule write_styles:
    input:
        rasters=get_styled_rasters(),
        aux=[f"{p}.aux.xml" for p in get_styled_rasters() if p.endswith(".tif")],
    output:
        qml=[os.path.splitext(p)[0] + ".qml" for p in get_styled_rasters()],
        sld=[os.path.splitext(p)[0] + ".sld" for p in get_styled_rasters()],
        qgz="results/{run}/sinkzone_{run}.qgz",
    log:
        "results/{run}/logs/write_styles/write_styles.log",
    benchmark:
        "results/{run}/benchmarks/write_styles/write_styles.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        run=lambda wildcards: wildcards.run,
        language=config["language"],
        code=code_hash("write_styles"),
    script:
        "../scripts/write_styles.py"


rule write_region_gpkg:
    input:
        table=rules.aggregate_regions.output.region,
        regions=rules.prepare_vectors.output.regions,
        vectors=rules.prepare_vectors.output.gpkg,
        lc_counts=expand(
            "results/{{run}}/tiles/{tile}/assign/lc_counts.csv", tile=TILES
        ),
        catalog=config["catalog"],
        zones="results/{run}/layers/zones.vrt",
    output:
        gpkg="results/{run}/tables/potential_by_region.gpkg",
    log:
        "results/{run}/logs/write_region_gpkg/write_region_gpkg.log",
    benchmark:
        "results/{run}/benchmarks/write_region_gpkg/write_region_gpkg.tsv"
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=2000,
    params:
        zone_items=get_zone_items(),
        zones_official=bool(config["zones"]["official"]["path"]),
        zones_source=get_zones_source(),
        nation_name_en=(
            "China" if config["region"]["kind"] == "china" else "Analysis region"
        ),
        nation_name_zh="中国" if config["region"]["kind"] == "china" else "分析区域",
        code=code_hash("write_region_gpkg"),
    script:
        "../scripts/write_region_gpkg.py"
