"""Rule compute_timepaths: annual and cumulative sink per year from schedule x saturation curve."""

from typing import TYPE_CHECKING

from sinkzone import maps
from sinkzone import timepaths as tp
from sinkzone import uncertainty as unc
from sinkzone.aggregate import write_table
from sinkzone.log import configure_logging
from sinkzone.maps import charts
from sinkzone.uncertainty import read_potential_table

if TYPE_CHECKING:
    from snakemake.script import snakemake  # noqa: F401


def main(
    *,
    region,
    catalog,
    schedule,
    out_paths,
    out_horizons,
    out_specs,
    out_figure,
    start_year,
    horizons,
    levels,
    draws,
    seed,
    distribution="triangular",
    per_measure=None,
    dpi=300,
    language="en",
    credit=None,
    capacity=None,
    groups=None,
    area=None,
):
    table = read_potential_table(region)
    cat = tp.read_catalog_time(catalog)
    cap = tp.read_capacity(capacity, list(cat["id"]))
    specs = tp.measure_specs(cat, tp.read_schedule(schedule), cap, tp.national_areas(table))
    years = range(int(start_year), max(horizons) + 1)
    shares = tp.path_shares(specs, years)
    paths = tp.sequestration_paths(table, shares, levels, tp.implemented_shares(specs, years))
    hz = tp.horizon_table(
        table,
        cat,
        shares,
        horizons,
        levels,
        draws=draws,
        seed=seed,
        distribution=distribution,
        per_measure=per_measure,
        groups=unc.read_groups(groups, list(cat["id"])),
        area=unc.read_area_factors(area),
    )
    write_table(out_paths, paths)
    write_table(out_horizons, hz)
    write_table(
        out_specs, specs.join(shares[sorted(horizons)].add_prefix("share_"), on="measure_id")
    )
    lang = maps.setup_language(language)
    name_col = "name_zh" if lang == "zh" else "name_en"
    names = dict(zip(cat["id"], cat[name_col], strict=True)) if name_col in cat.columns else {}
    charts.plot_paths(
        paths,
        horizons,
        out_figure,
        dpi=dpi,
        language=lang,
        names=names,
        footer=maps.credit_lines(credit, lang, is_map=False),
    )


if __name__ == "__main__":
    snakemake = globals()["snakemake"]  # noqa: F821 (injected by Snakemake's script directive)
    configure_logging(snakemake.log[0])
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    main(
        region=i.region,
        catalog=i.catalog,
        schedule=i.schedule,
        out_paths=o.paths,
        out_horizons=o.horizons,
        out_specs=o.specs,
        out_figure=o.figure,
        start_year=p.start_year,
        horizons=p.horizons,
        levels=p.levels,
        draws=p.draws,
        seed=p.seed,
        distribution=p.distribution,
        per_measure=p.per_measure,
        dpi=p.dpi,
        language=p.language,
        credit=p.credit,
        capacity=getattr(i, "capacity", None),
        groups=getattr(i, "groups", None),
        area=getattr(i, "area", None),
    )
