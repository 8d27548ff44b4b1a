# Per-tile work on the static tile grid (tile ids from config alone), then COG mosaics.


rule define_grid:
    input:
        ok=rules.check_inputs.output.ok,
        landcover=input_source(config["landcover"]),
        vectors=rules.prepare_vectors.output.gpkg,
    output:
        grid="results/{run}/prep/grid.json",
    log:
        "results/{run}/logs/define_grid/define_grid.log",
    benchmark:
        "results/{run}/benchmarks/define_grid/define_grid.tsv"
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        landcover=get_source(config["landcover"]),
        nodata=config["landcover"]["nodata"],
        code=code_hash("define_grid"),
    script:
        "../scripts/define_grid.py"


rule build_layers:
    input:
        unpack(input_precip),
        unpack(input_depth),
        grid=rules.define_grid.output.grid,
        landcover=input_source(config["landcover"]),
        climate=input_source(config["climate"]),
        legend=config["landcover"]["legend"],
        ecosystems=config["ecosystems"],
        vectors=rules.prepare_vectors.output.gpkg,
        dem=rules.prepare_dem.output.dem,
    output:
        **layer_outputs("results/{{run}}/tiles/{{tile}}/layers/{layer}.tif"),
        landcover_area="results/{run}/tiles/{tile}/layers/landcover_area.csv",
        classes="results/{run}/tiles/{tile}/layers/classes.json",
    log:
        "results/{run}/logs/build_layers/{tile}.log",
    benchmark:
        "results/{run}/benchmarks/build_layers/{tile}.tsv"
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        landcover=get_source(config["landcover"]),
        climate=get_source(config["climate"], ".tif"),
        rows=config["tiling"]["rows"],
        cols=config["tiling"]["cols"],
        coast_max_km=config["coast"]["max_km"],
        zone_items=get_zone_items(),
        zones_official=bool(config["zones"]["official"]["path"]),
        marine=config["region"]["marine"],
        lakes_max_km=config["lakes"]["max_km"],
        code=code_hash("build_layers"),
    script:
        "../scripts/build_layers.py"


rule assign_tile:
    input:
        layers=expand("results/{{run}}/tiles/{{tile}}/layers/{layer}.tif", layer=LAYERS),
        grid=rules.define_grid.output.grid,
        catalog=config["catalog"],
        catalog_schema="config/technologies.schema.yaml",
        suitability=config["suitability"],
        ecosystems=config["ecosystems"],
        legend=config["landcover"]["legend"],
    output:
        **get_measure_tile_outputs(),
        eligible="results/{run}/tiles/{tile}/assign/eligible.tif",
        primary="results/{run}/tiles/{tile}/assign/primary.tif",
        potential_low="results/{run}/tiles/{tile}/assign/potential_low.tif",
        potential_central="results/{run}/tiles/{tile}/assign/potential_central.tif",
        potential_high="results/{run}/tiles/{tile}/assign/potential_high.tif",
        counts="results/{run}/tiles/{tile}/assign/counts.csv",
        lc_counts="results/{run}/tiles/{tile}/assign/lc_counts.csv",
    log:
        "results/{run}/logs/assign_tile/{tile}.log",
    benchmark:
        "results/{run}/benchmarks/assign_tile/{tile}.tsv"
    conda:
        "../envs/geo.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        zone_ids=ZONE_IDS,
        ranking=config["allocation"]["ranking"],
        stack_factor=config["allocation"]["stack_factor"],
        evaluator=config["allocation"]["evaluator"],
        code=code_hash("assign_tile"),
    script:
        "../scripts/assign_tile.py"


rule write_layer_vrts:
    input:
        unpack(input_mosaic_classes),
        unpack(input_layer_tiles),
        classes=expand("results/{{run}}/tiles/{tile}/layers/classes.json", tile=TILES),
        grid=rules.define_grid.output.grid,
    output:
        **get_layer_vrts(),
    log:
        "results/{run}/logs/write_layer_vrts/write_layer_vrts.log",
    benchmark:
        "results/{run}/benchmarks/write_layer_vrts/write_layer_vrts.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        layers=LAYERS,
        crs=config["outputs"]["crs"],
        zone_items=get_zone_items(),
        code=code_hash("write_layer_vrts"),
    script:
        "../scripts/write_layer_vrts.py"


rule write_measure_vrts:
    input:
        **{
            name: expand(
                "results/{{run}}/tiles/{tile}/assign/{name}.tif", tile=TILES, name=name
            )
            for name in MEASURE_RASTERS
        },
        grid=rules.define_grid.output.grid,
        catalog=config["catalog"],
    output:
        **{name: f"results/{{run}}/rasters/{name}.vrt" for name in MEASURE_RASTERS},
    log:
        "results/{run}/logs/write_measure_vrts/write_measure_vrts.log",
    benchmark:
        "results/{run}/benchmarks/write_measure_vrts/write_measure_vrts.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        names=MEASURE_RASTERS,
        crs=config["outputs"]["crs"],
        code=code_hash("write_measure_vrts"),
    script:
        "../scripts/write_measure_vrts.py"


# Full-resolution COG copies of the layers: only with outputs.layer_mosaics (get_final_outputs).
rule mosaic_layer:
    input:
        unpack(input_mosaic_classes),
        tiles=expand("results/{{run}}/tiles/{tile}/layers/{{layer}}.tif", tile=TILES),
        regions=expand("results/{{run}}/tiles/{tile}/layers/region.tif", tile=TILES),
        grid=rules.define_grid.output.grid,
    output:
        cog="results/{run}/layers/{layer}.tif",
        aux="results/{run}/layers/{layer}.tif.aux.xml",
    log:
        "results/{run}/logs/mosaic_layer/{layer}.log",
    benchmark:
        "results/{run}/benchmarks/mosaic_layer/{layer}.tsv"
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        name=lambda wildcards: wildcards.layer,
        crs=config["outputs"]["crs"],
        zone_items=get_zone_items(),
        resampling=None,
        code=code_hash("mosaic_rasters"),
    script:
        "../scripts/mosaic_rasters.py"


rule mosaic_raster:
    input:
        unpack(input_mosaic_classes),
        tiles=expand("results/{{run}}/tiles/{tile}/assign/{{product}}.tif", tile=TILES),
        regions=expand("results/{{run}}/tiles/{tile}/layers/region.tif", tile=TILES),
        grid=rules.define_grid.output.grid,
    output:
        cog="results/{run}/rasters/{product}.tif",
        aux="results/{run}/rasters/{product}.tif.aux.xml",
    log:
        "results/{run}/logs/mosaic_raster/{product}.log",
    benchmark:
        "results/{run}/benchmarks/mosaic_raster/{product}.tsv"
    wildcard_constraints:
        product=r"eligible|primary|potential_(low|central|high)|measures_(eligible|allocated)",
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        name=lambda wildcards: wildcards.product,
        crs=config["outputs"]["crs"],
        zone_items=get_zone_items(),
        resampling=None,
        code=code_hash("mosaic_rasters"),
    script:
        "../scripts/mosaic_rasters.py"


rule mosaic_density:
    input:
        unpack(input_mosaic_classes),
        tiles=expand(
            "results/{{run}}/tiles/{tile}/assign/potential_{{level}}.tif", tile=TILES
        ),
        regions=expand("results/{{run}}/tiles/{tile}/layers/region.tif", tile=TILES),
        grid=rules.define_grid.output.grid,
    output:
        cog="results/{run}/rasters/potential_density_{level}.tif",
        aux="results/{run}/rasters/potential_density_{level}.tif.aux.xml",
    log:
        "results/{run}/logs/mosaic_density/{level}.log",
    benchmark:
        "results/{run}/benchmarks/mosaic_density/{level}.tsv"
    wildcard_constraints:
        level=r"low|central|high",
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        name=lambda wildcards: f"potential_density_{wildcards.level}",
        crs=config["outputs"]["crs"],
        zone_items=get_zone_items(),
        resampling=None,
        code=code_hash("mosaic_rasters"),
    script:
        "../scripts/mosaic_rasters.py"
