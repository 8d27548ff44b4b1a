# sinkzone: zoning of ecosystem carbon-sink technologies (Yu et al. 2022, CAS Bulletin 37(4):490-501)
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


wildcard_constraints:
    run=r"[A-Za-z0-9_-]+",
    tile=r"r\d{3}_c\d{3}",
    dataset=r"[a-z0-9_]+",
    layer=r"[a-z0-9_]+",
    product=r"[a-z_]+",


include: "rules/common.smk"
include: "rules/retrieve.smk"
include: "rules/inputs.smk"
include: "rules/tiles.smk"
include: "rules/aggregate.smk"
include: "rules/analysis.smk"
include: "rules/report.smk"
include: "rules/gis.smk"
include: "rules/web.smk"
include: "rules/runstate.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
        f"results/{RUN}/run_complete.json",
