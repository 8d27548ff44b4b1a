# The interactive map's static export and the province report packs, from a finished run.
# `sinkzone serve --run NAME` serves results/{run}/web with live tiles and the explain panel.


rule build_web:
    input:
        grid=rules.define_grid.output.grid,
        vectors=rules.prepare_vectors.output.gpkg,
        potential_by_region=rules.aggregate_regions.output.region,
        rasters=expand("results/{{run}}/rasters/{product}.tif", product=PRODUCTS),
        layers=expand("results/{{run}}/layers/{layer}.tif", layer=LAYERS),
        catalog=config["catalog"],
        ecosystems_table=config["ecosystems"],
        suitability=config["suitability"],
        leaflet="data/raw/leaflet/.retrieved",
    output:
        web=report(
            directory("results/{run}/web"),
            htmlindex="index.html",
            caption="../report/web_map.rst",
            category="Web map",
            labels={"map": "interactive map (offline)"},
        ),
    log:
        "results/{run}/logs/build_web/build_web.log",
    benchmark:
        "results/{run}/benchmarks/build_web/build_web.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        run="{run}",
        language=config["language"],
        zone_items=get_zone_items(),
        static_px=config["web"]["static_px"],
        simplify_deg=config["web"]["simplify_deg"],
        credits=get_credits(),
        credit=get_credit(),
        # Chinese text the live explain panel may show: a font subset covers its characters
        text_files=[
            "scripts/sinkzone/cli.py",
            "scripts/sinkzone/explain.py",
            "scripts/sinkzone/maps/__init__.py",
            "scripts/sinkzone/maps/axes.py",
            "scripts/sinkzone/maps/basemap.py",
            "scripts/sinkzone/maps/classes.py",
            "scripts/sinkzone/maps/credit.py",
            "scripts/sinkzone/maps/display.py",
            "scripts/sinkzone/maps/language.py",
            "scripts/sinkzone/maps/plots.py",
            "scripts/sinkzone/maps/recipes.py",
            "config/climate_classes.csv",
            "scripts/sinkzone/suitability.py",
        ],
        code=code_hash("build_web"),
        assets=get_web_assets_digest(),
    script:
        "../scripts/build_web.py"


rule build_province_pack:
    input:
        grid=rules.define_grid.output.grid,
        vectors=rules.prepare_vectors.output.gpkg,
        potential_by_region=rules.aggregate_regions.output.region,
        costs="results/{run}/tables/costs_by_region.csv",
        validation="results/{run}/tables/validation.csv",
        primary="results/{run}/rasters/primary.tif",
        potential_central="results/{run}/rasters/potential_central.tif",
        catalog=config["catalog"],
    output:
        pack=directory("results/{run}/provinces/{adcode}"),
    log:
        "results/{run}/logs/build_province_pack/{adcode}.log",
    benchmark:
        "results/{run}/benchmarks/build_province_pack/{adcode}.tsv"
    wildcard_constraints:
        adcode=r"\d{2}0000",
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        run="{run}",
        credits=get_credits(),
        credit=get_credit(),
        display_res_m=config["maps"]["display_res_m"],
        dpi=config["maps"]["dpi"],
        code=code_hash("build_province_pack"),
    script:
        "../scripts/build_province_pack.py"


rule build_province_index:
    input:
        regions=rules.prepare_vectors.output.regions,
        grid=rules.define_grid.output.grid,
        vectors=rules.prepare_vectors.output.gpkg,
        potential_by_region=rules.aggregate_regions.output.region,
        costs="results/{run}/tables/costs_by_region.csv",
        validation="results/{run}/tables/validation.csv",
        primary="results/{run}/rasters/primary.tif",
        potential_central="results/{run}/rasters/potential_central.tif",
        catalog=config["catalog"],
    output:
        index="results/{run}/provinces/index.html",
    log:
        "results/{run}/logs/build_province_index/build_province_index.log",
    benchmark:
        "results/{run}/benchmarks/build_province_index/build_province_index.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        run="{run}",
        credits=get_credits(),
        credit=get_credit(),
        display_res_m=config["maps"]["display_res_m"],
        dpi=config["maps"]["dpi"],
        code=code_hash("build_province_pack"),
    script:
        "../scripts/build_province_pack.py"


rule provinces:
    input:
        f"results/{RUN}/provinces/index.html",
    localrule: True
