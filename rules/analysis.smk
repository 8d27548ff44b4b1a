# Uncertainty, time paths, costs and target-seeking scenarios, all from the regional tables.


rule compute_uncertainty:
    input:
        unpack(get_uncertainty_factor_inputs),
        region=rules.aggregate_regions.output.region,
        catalog=config["catalog"],
    output:
        table=report(
            "results/{run}/tables/potential_uncertainty.csv",
            caption="../report/uncertainty.rst",
            category="Uncertainty, time paths and costs",
            labels={"table": "potential uncertainty"},
        ),
    log:
        "results/{run}/logs/compute_uncertainty/compute_uncertainty.log",
    benchmark:
        "results/{run}/benchmarks/compute_uncertainty/compute_uncertainty.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        draws=config["uncertainty"]["draws"],
        seed=config["uncertainty"]["seed"],
        distribution=config["uncertainty"]["distribution"],
        per_measure=config["uncertainty"]["per_measure"],
        code=code_hash("compute_uncertainty"),
    script:
        "../scripts/compute_uncertainty.py"


rule compute_timepaths:
    input:
        unpack(get_uncertainty_factor_inputs),
        unpack(get_capacity_input),
        region=rules.aggregate_regions.output.region,
        catalog=config["catalog"],
        schedule=config["time"]["schedule"],
    output:
        paths="results/{run}/tables/sequestration_paths.csv",
        horizons="results/{run}/tables/sequestration_horizons.csv",
        specs="results/{run}/tables/timepath_measures.csv",
        figure=report(
            "results/{run}/maps/sequestration_paths.png",
            caption="../report/sequestration_paths.rst",
            category="Uncertainty, time paths and costs",
            labels={"figure": "sequestration paths"},
        ),
    log:
        "results/{run}/logs/compute_timepaths/compute_timepaths.log",
    benchmark:
        "results/{run}/benchmarks/compute_timepaths/compute_timepaths.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        start_year=config["time"]["start_year"],
        horizons=config["time"]["horizons"],
        levels=config["time"]["levels"],
        draws=config["uncertainty"]["draws"],
        seed=config["uncertainty"]["seed"],
        distribution=config["uncertainty"]["distribution"],
        per_measure=config["uncertainty"]["per_measure"],
        dpi=config["maps"]["dpi"],
        language=config["language"],
        credit=get_credit(),
        code=code_hash("compute_timepaths"),
    script:
        "../scripts/compute_timepaths.py"


rule compute_costs:
    input:
        region=rules.aggregate_regions.output.region,
        catalog=config["catalog"],
    output:
        costs="results/{run}/tables/costs_by_region.csv",
        mac="results/{run}/tables/mac_curve.csv",
        thresholds="results/{run}/tables/cost_thresholds.csv",
        figure=report(
            "results/{run}/maps/mac_curve.png",
            caption="../report/mac_curve.rst",
            category="Uncertainty, time paths and costs",
            labels={"figure": "marginal abatement cost curve"},
        ),
    log:
        "results/{run}/logs/compute_costs/compute_costs.log",
    benchmark:
        "results/{run}/benchmarks/compute_costs/compute_costs.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        discount_rate=config["costs"]["discount_rate"],
        usd_cny=config["costs"]["usd_cny"],
        usd_cny_source=config["costs"]["usd_cny_source"],
        thresholds_usd=config["costs"]["thresholds_usd"],
        thresholds_source=config["costs"]["thresholds_source"],
        ccus_cny=config["costs"]["ccus_cny"],
        ccus_source=config["costs"]["ccus_source"],
        levels=config["costs"]["levels"],
        dpi=config["maps"]["dpi"],
        language=config["language"],
        credit=get_credit(),
        code=code_hash("compute_costs"),
    script:
        "../scripts/compute_costs.py"


rule run_scenarios:
    input:
        region=rules.aggregate_regions.output.region,
        catalog=config["catalog"],
        landcover_area=rules.aggregate_regions.output.landcover,
        uncertainty=rules.compute_uncertainty.output.table,
        horizons=rules.compute_timepaths.output.horizons,
        figures=config["validation"]["figures"],
        scenarios=config["scenarios"],
    output:
        table=report(
            "results/{run}/tables/scenarios.csv",
            caption="../report/scenarios.rst",
            category="Uncertainty, time paths and costs",
            labels={"table": "scenarios"},
        ),
        units="results/{run}/tables/scenario_units.csv",
        figure=report(
            "results/{run}/maps/scenarios.png",
            caption="../report/scenarios.rst",
            category="Uncertainty, time paths and costs",
            labels={"figure": "scenarios"},
        ),
    log:
        "results/{run}/logs/run_scenarios/run_scenarios.log",
    benchmark:
        "results/{run}/benchmarks/run_scenarios/run_scenarios.tsv"
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        discount_rate=config["costs"]["discount_rate"],
        dpi=config["maps"]["dpi"],
        language=config["language"],
        credit=get_credit(),
        code=code_hash("run_scenarios"),
    script:
        "../scripts/run_scenarios.py"
