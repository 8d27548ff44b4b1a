# Reduce: regional totals, residues, validation against the paper, run summary.


rule aggregate_regions:
    input:
        counts=expand("results/{{run}}/tiles/{tile}/assign/counts.csv", tile=TILES),
        lc_counts=expand(
            "results/{{run}}/tiles/{tile}/assign/lc_counts.csv", tile=TILES
        ),
        regions=rules.prepare_vectors.output.regions,
        vectors=rules.prepare_vectors.output.gpkg,
        catalog=config["catalog"],
        ecosystems=config["ecosystems"],
        residues=config["residues"]["table"],
        legend=config["landcover"]["legend"],
        caps=config["realistic"]["caps"],
    output:
        landcover=report(
            "results/{run}/tables/landcover_area.csv",
            caption="../report/landcover_area.rst",
            category="Tables",
        ),
        region=report(
            "results/{run}/tables/potential_by_region.csv",
            caption="../report/potential_by_region.rst",
            category="Tables",
        ),
        measure=report(
            "results/{run}/tables/potential_by_measure.csv",
            caption="../report/potential_by_measure.rst",
            category="Tables",
        ),
        ecosystem=report(
            "results/{run}/tables/potential_by_ecosystem.csv",
            caption="../report/potential_by_ecosystem.rst",
            category="Tables",
        ),
        residues=report(
            "results/{run}/tables/residues_by_region.csv",
            caption="../report/residues_by_region.rst",
            category="Tables",
        ),
    log:
        "results/{run}/logs/aggregate_regions/aggregate_regions.log",
    benchmark:
        "results/{run}/benchmarks/aggregate_regions/aggregate_regions.tsv"
    conda:
        "../envs/geo.yaml"
    resources:
        mem_mb=1500,
    params:
        zones=get_zone_items(),
        stack_factor=config["allocation"]["stack_factor"],
        language=config["language"],
        zones_source=get_zones_source(),
        nation_name_en=(
            "China" if config["region"]["kind"] == "china" else "Analysis region"
        ),
        nation_name_zh="中国" if config["region"]["kind"] == "china" else "分析区域",
        code=code_hash("aggregate_regions"),
    script:
        "../scripts/aggregate_regions.py"


rule tabulate_blue_carbon:
    input:
        region=rules.aggregate_regions.output.region,
        marine="results/{run}/layers/marine.vrt",
        eligible="results/{run}/rasters/eligible.tif",
        grid=rules.define_grid.output.grid,
        catalog=config["catalog"],
        caps=config["marine"]["mariculture_areas"],
    output:
        table="results/{run}/tables/blue_carbon.csv",
        stats="results/{run}/tables/blue_carbon_stats.csv",
    log:
        "results/{run}/logs/tabulate_blue_carbon/tabulate_blue_carbon.log",
    benchmark:
        "results/{run}/benchmarks/tabulate_blue_carbon/tabulate_blue_carbon.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        code=code_hash("tabulate_blue_carbon"),
    script:
        "../scripts/tabulate_blue_carbon.py"


rule validate_paper:
    input:
        measures=rules.aggregate_regions.output.measure,
        ecosystems=rules.aggregate_regions.output.ecosystem,
        residues=config["residues"]["table"],
        figures=config["validation"]["figures"],
        mapping=config["validation"]["mapping"],
        activity=config["validation"]["activity_areas"],
        catalog=config["catalog"],
        grid=rules.define_grid.output.grid,
        blue=rules.tabulate_blue_carbon.output.table,
        blue_stats=rules.tabulate_blue_carbon.output.stats,
    output:
        validation=report(
            "results/{run}/tables/validation.csv",
            caption="../report/validation.rst",
            category="Validation",
        ),
    log:
        "results/{run}/logs/validate_paper/validate_paper.log",
    benchmark:
        "results/{run}/benchmarks/validate_paper/validate_paper.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        landcover=config["landcover"]["path"] or config["landcover"]["dataset"],
        marine=config["region"]["marine"],
        stack_factor=config["allocation"]["stack_factor"],
        code=code_hash("validate_paper"),
    script:
        "../scripts/validate_paper.py"


rule write_summary:
    input:
        region=rules.aggregate_regions.output.region,
        measures=rules.aggregate_regions.output.measure,
        residues=rules.aggregate_regions.output.residues,
        validation=rules.validate_paper.output.validation,
        suitability=config["suitability"],
        horizons="results/{run}/tables/sequestration_horizons.csv",
        thresholds="results/{run}/tables/cost_thresholds.csv",
        mac="results/{run}/tables/mac_curve.csv",
        scenarios="results/{run}/tables/scenarios.csv",
        blue=rules.tabulate_blue_carbon.output.table,
        blue_stats=rules.tabulate_blue_carbon.output.stats,
        figures=config["validation"]["figures"],
        caps=config["realistic"]["caps"],
    output:
        summary=report("results/{run}/summary.md", category="Summary"),
    log:
        "results/{run}/logs/write_summary/write_summary.log",
    benchmark:
        "results/{run}/benchmarks/write_summary/write_summary.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        run=lambda wildcards: wildcards.run,
        zones_source=get_zones_source(),
        red_lines=config["red_lines"]["path"],
        stack_factor=config["allocation"]["stack_factor"],
        landcover=config["landcover"]["path"] or config["landcover"]["dataset"],
        language=config["language"],
        marine_enabled=config["region"]["marine"]["enabled"],
        reefs_path=config["marine"]["reefs"]["path"],
        code=code_hash("write_summary"),
    script:
        "../scripts/write_summary.py"


rule compare_land_references:
    input:
        region=rules.aggregate_regions.output.region,
        catalog=config["catalog"],
        references=config["land_references"],
    output:
        table=report(
            "results/{run}/tables/land_references.csv",
            caption="../report/land_references.rst",
            category="Validation",
        ),
    log:
        "results/{run}/logs/compare_land_references/compare_land_references.log",
    benchmark:
        "results/{run}/benchmarks/compare_land_references/compare_land_references.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        national=config["region"]["kind"] == "china",
        code=code_hash("compare_land_references"),
    script:
        "../scripts/compare_land_references.py"
