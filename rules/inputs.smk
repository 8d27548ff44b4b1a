# Inputs on one grid: vectors, DEM, precipitation, the analysis grid.


rule check_headers:
    input:
        landcover=input_source(config["landcover"]),
        dem=input_source(config["dem"]),
        climate=input_source(config["climate"]),
        precip=(
            [input_source(config["precipitation"])]
            if config["precipitation"]["enabled"]
            else []
        ),
        legend=config["landcover"]["legend"],
        ecosystems=config["ecosystems"],
        catalog=config["catalog"],
        catalog_schema="config/technologies.schema.yaml",
        suitability=config["suitability"],
        vectors=[v["path"] for v in get_check_vectors().values()],
    output:
        ok="results/{run}/prep/headers_ok.json",
    log:
        "results/{run}/logs/check_headers/check_headers.log",
    benchmark:
        "results/{run}/benchmarks/check_headers/check_headers.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        landcover=get_source(config["landcover"]),
        nodata=config["landcover"]["nodata"],
        region=config["region"],
        zone_ids=ZONE_IDS,
        rasters=get_check_rasters(),
        user_vectors=get_check_vectors(),
        code=code_hash("check_headers"),
    script:
        "../scripts/check_headers.py"


rule prepare_vectors:
    input:
        headers=rules.check_headers.output.ok,
        admin=f"data/raw/{config['admin']['dataset']}/.retrieved",
        coast=input_source(config["coast"]),
        vectors=[input_source(v) for v in config["vectors"].values()],
        region=[config["region"]["path"]] if config["region"]["kind"] == "file" else [],
        red_lines=[config["red_lines"]["path"]] if config["red_lines"]["path"] else [],
        zones=(
            [config["zones"]["official"]["path"]]
            if config["zones"]["official"]["path"]
            else []
        ),
        lakes=input_source(config["lakes"]),
        marine=get_marine_vector_paths(),
    output:
        gpkg="results/{run}/prep/vectors.gpkg",
        regions="results/{run}/prep/regions.csv",
        meta="results/{run}/prep/vectors.json",
    log:
        "results/{run}/logs/prepare_vectors/prepare_vectors.log",
    benchmark:
        "results/{run}/benchmarks/prepare_vectors/prepare_vectors.tsv"
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        admin_dir=lambda w, input: os.path.dirname(input.admin),
        region=config["region"],
        coast=get_source(config["coast"], ".shp"),
        vectors=get_vector_specs(),
        red_lines=config["red_lines"],
        zones_official=config["zones"]["official"],
        zone_ids=ZONE_IDS,
        coast_max_km=config["coast"]["max_km"],
        marine=config["region"]["marine"],
        marine_vectors=get_marine_vectors(),
        lakes=get_lakes(),
        code=code_hash("prepare_vectors"),
    script:
        "../scripts/prepare_vectors.py"


rule check_inputs:
    input:
        landcover=input_source(config["landcover"]),
        dem=input_source(config["dem"]),
        climate=input_source(config["climate"]),
        precip=(
            [input_source(config["precipitation"])]
            if config["precipitation"]["enabled"]
            else []
        ),
        legend=config["landcover"]["legend"],
        ecosystems=config["ecosystems"],
        catalog=config["catalog"],
        catalog_schema="config/technologies.schema.yaml",
        suitability=config["suitability"],
        vectors=rules.prepare_vectors.output.gpkg,
    output:
        ok="results/{run}/prep/inputs_ok.json",
    log:
        "results/{run}/logs/check_inputs/check_inputs.log",
    benchmark:
        "results/{run}/benchmarks/check_inputs/check_inputs.tsv"
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        landcover=get_source(config["landcover"]),
        nodata=config["landcover"]["nodata"],
        zone_ids=ZONE_IDS,
        rasters=get_check_rasters(),
        user_vectors=get_check_vectors(),
        max_pixels=None,  # read every block of the region window (truncated blocks fail here)
        max_unmapped_share=config["landcover"]["max_unmapped_share"],
        code=code_hash("check_inputs"),
    script:
        "../scripts/check_inputs.py"


rule prepare_dem:
    input:
        ok=rules.check_inputs.output.ok,
        src=input_source(config["dem"]),
    output:
        dem="results/{run}/prep/dem.tif",
    log:
        "results/{run}/logs/prepare_dem/prepare_dem.log",
    benchmark:
        "results/{run}/benchmarks/prepare_dem/prepare_dem.tsv"
    conda:
        "../envs/geo.yaml"
    params:
        src=get_source(config["dem"]),
        var=get_file_meta(config["dem"])["var"],  # data/registry.csv (ignored for a GeoTIFF)
        fill=get_file_meta(config["dem"])["fill"],
        code=code_hash("prepare_dem"),
    script:
        "../scripts/prepare_dem.py"


rule prepare_precip:
    input:
        ok=rules.check_inputs.output.ok,
        src=input_source(config["precipitation"]),
    output:
        precip="results/{run}/prep/precip.tif",
    log:
        "results/{run}/logs/prepare_precip/prepare_precip.log",
    benchmark:
        "results/{run}/benchmarks/prepare_precip/prepare_precip.tsv"
    conda:
        "../envs/geo.yaml"
    params:
        src=get_source(config["precipitation"]),
        var=get_file_meta(config["precipitation"])["var"],  # data/registry.csv
        units=get_file_meta(config["precipitation"])["units"],
        code=code_hash("prepare_precip"),
    script:
        "../scripts/prepare_precip.py"


rule prepare_depth:
    input:
        ok=rules.check_inputs.output.ok,
        src=input_source(config["marine"]["bathymetry"]),
    output:
        depth="results/{run}/prep/depth.tif",
    log:
        "results/{run}/logs/prepare_depth/prepare_depth.log",
    benchmark:
        "results/{run}/benchmarks/prepare_depth/prepare_depth.tsv"
    conda:
        "../envs/geo.yaml"
    params:
        src=get_source(config["marine"]["bathymetry"]),
        var=get_file_meta(config["marine"]["bathymetry"])["var"],  # data/registry.csv
        positive=config["marine"]["bathymetry"]["positive"],
        code=code_hash("prepare_depth"),
    script:
        "../scripts/prepare_depth.py"
