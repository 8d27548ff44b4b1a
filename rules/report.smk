# Maps in the Chinese cartographic convention (South China Sea inset), wrapped for the report.


rule plot_layers:
    input:
        vectors=rules.prepare_vectors.output.gpkg,
        ecosystem="results/{run}/layers/ecosystem.vrt",
        zones="results/{run}/layers/zones.vrt",
        red_line="results/{run}/layers/red_line.vrt",
        steep25="results/{run}/layers/steep25.vrt",
        climate="results/{run}/layers/climate.vrt",
        ecosystems_table=config["ecosystems"],
    output:
        ecosystem=report(
            "results/{run}/maps/ecosystem.png",
            caption="../report/map_ecosystem.rst",
            category="Input layers",
            labels={"map": "ecosystem class"},
        ),
        zones=report(
            "results/{run}/maps/zones.png",
            caption="../report/map_zones.rst",
            category="Input layers",
            labels={"map": "key ecological zones"},
        ),
        red_line=report(
            "results/{run}/maps/red_line.png",
            caption="../report/map_red_line.rst",
            category="Input layers",
            labels={"map": "ecological red lines"},
        ),
        steep25=report(
            "results/{run}/maps/steep25.png",
            caption="../report/map_steep25.rst",
            category="Input layers",
            labels={"map": "slope > 25 deg share"},
        ),
        climate=report(
            "results/{run}/maps/climate.png",
            caption="../report/map_climate.rst",
            category="Input layers",
            labels={"map": "Koppen-Geiger main group"},
        ),
    log:
        "results/{run}/logs/plot_layers/plot_layers.log",
    benchmark:
        "results/{run}/benchmarks/plot_layers/plot_layers.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        language=config["language"],
        zone_items=get_zone_items(),
        zones_source=get_zones_source(),
        dpi=config["maps"]["dpi"],
        display_res_m=config["maps"]["display_res_m"],
        national=config["region"]["kind"] == "china",
        credit=get_credit(),
        code=code_hash("plot_layers"),
    script:
        "../scripts/plot_layers.py"


rule plot_results:
    input:
        vectors=rules.prepare_vectors.output.gpkg,
        primary="results/{run}/rasters/primary.tif",
        potential_central="results/{run}/rasters/potential_central.tif",
        potential_by_region=rules.aggregate_regions.output.region,
        catalog=config["catalog"],
        ecosystems_table=config["ecosystems"],
    output:
        primary=report(
            "results/{run}/maps/primary_measure.png",
            caption="../report/map_primary.rst",
            category="Results",
            labels={"map": "primary measure"},
        ),
        density=report(
            "results/{run}/maps/potential_density.png",
            caption="../report/map_potential_density.rst",
            category="Results",
            labels={"map": "potential density"},
        ),
        province=report(
            "results/{run}/maps/potential_by_province.png",
            caption="../report/map_potential_province.rst",
            category="Results",
            labels={"map": "potential by province"},
        ),
        zone_bars=report(
            "results/{run}/maps/potential_by_zone.png",
            caption="../report/chart_potential_zones.rst",
            category="Results",
            labels={"map": "potential by zone and ecosystem"},
        ),
    log:
        "results/{run}/logs/plot_results/plot_results.log",
    benchmark:
        "results/{run}/benchmarks/plot_results/plot_results.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        language=config["language"],
        zone_items=get_zone_items(),
        dpi=config["maps"]["dpi"],
        display_res_m=config["maps"]["display_res_m"],
        national=config["region"]["kind"] == "china",
        credit=get_credit(),
        code=code_hash("plot_results"),
    script:
        "../scripts/plot_results.py"


rule write_workbook:
    input:
        tables=[
            rules.aggregate_regions.output.region,
            rules.aggregate_regions.output.measure,
            rules.aggregate_regions.output.ecosystem,
            rules.aggregate_regions.output.landcover,
            rules.aggregate_regions.output.residues,
            rules.validate_paper.output.validation,
            rules.tabulate_blue_carbon.output.table,
            rules.tabulate_blue_carbon.output.stats,
            rules.compare_land_references.output.table,
            rules.compute_uncertainty.output.table,
            rules.compute_timepaths.output.paths,
            rules.compute_timepaths.output.horizons,
            rules.compute_timepaths.output.specs,
            rules.compute_costs.output.costs,
            rules.compute_costs.output.mac,
            rules.compute_costs.output.thresholds,
            rules.run_scenarios.output.table,
            rules.run_scenarios.output.units,
            rules.prepare_vectors.output.regions,
        ],
        dictionary="docs/OUTPUTS.md",
    output:
        workbook=report(
            "results/{run}/tables/sinkzone_{run}.xlsx",
            caption="../report/workbook.rst",
            category="Tables",
        ),
    log:
        "results/{run}/logs/write_workbook/write_workbook.log",
    benchmark:
        "results/{run}/benchmarks/write_workbook/write_workbook.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        run=lambda wildcards: wildcards.run,
        code=code_hash("write_workbook"),
    script:
        "../scripts/write_workbook.py"
