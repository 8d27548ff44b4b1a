# Run state: results/{run}/RUN_INCOMPLETE from the start of a run until its final rule
# (sinkzone.runstate; `sinkzone explain` and the web app refuse an incomplete run).


onstart:
    mark_run_started()


rule finish_run:
    input:
        outputs=lambda w: get_final_outputs(w.run),
    output:
        done="results/{run}/run_complete.json",
    log:
        "results/{run}/logs/finish_run/finish_run.log",
    localrule: True
    conda:
        "../envs/geo.yaml"
    params:
        code=code_hash("finish_run"),
    script:
        "../scripts/finish_run.py"
