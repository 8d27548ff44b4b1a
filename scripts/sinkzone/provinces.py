"""Report pack of one province from a national run: results/{run}/provinces/{adcode}/.

Everything comes from the run's outputs (tables, COG mosaics, vectors.gpkg): no per-cell rule
is recomputed. The pack holds two maps (primary measure, potential density) with the
province's prefecture and county boundaries, tables by county and by measure (allocated,
technical and any realistic potential columns, costs), the validation caveats, the data
credits and the map notice, as report_{zh,en}.html and report_{zh,en}.pdf (matplotlib's PDF
backend with the CJK font of the pinned PyPI package mplfonts: no browser, no system font).
"""

from __future__ import annotations

import functools
import html
import logging
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.errors import SinkzoneError
from sinkzone.io import atomic_path, write_csv, write_text

log = logging.getLogger("sinkzone.provinces")
LANGS = ("zh", "en")
ROWS_PER_PAGE = 30

TXT = {
    "title": (
        "Carbon-sink measures: report pack of {name} ({code})",
        "{name}（{code}）生态系统固碳增汇措施报告",
    ),
    "run": (
        "From the national sinkzone run '{run}' (no per-cell step recomputed).",
        "来源：sinkzone 全国运行“{run}”（未重新计算栅格步骤）。",
    ),
    "summary": ("Summary", "概要"),
    "maps": ("Maps", "地图"),
    "by_county": ("Potential by county", "分县潜力"),
    "by_measure": ("Potential and cost by measure", "分措施潜力与成本"),
    "caveats": ("Validation caveats", "验证说明"),
    "credits": ("Data credits", "数据来源"),
    "notice": ("Map notice", "地图说明"),
    "primary": ("Primary measure per cell", "各栅格主要措施"),
    "density": (
        "Allocated potential density (central), t CO2/ha/yr",
        "分配的潜力密度（中值），吨CO2/公顷/年",
    ),
    "caveat_intro": (
        "The published figures of Yu et al. 2022 are national; they are compared with the "
        "national run below. No province-level figure has been validated: read the province's "
        "numbers with the national verdicts in mind.",
        "于贵瑞等（2022）发表的数值为全国尺度，下表为其与全国运行结果的比较。省级数值未经验证，"
        "解读本省数值时请参考全国的验证结论。",
    ),
    "county": ("County", "县"),
    "prefecture": ("Prefecture", "地级市"),
    "measure": ("Measure", "措施"),
    "code": ("Code", "代码"),
    "eligible_kha": ("Eligible (kha)", "适宜面积（千公顷）"),
    "allocated_kha": ("Allocated (kha)", "分配面积（千公顷）"),
    "top": ("Top measure", "首要措施"),
    "cost": ("Annual cost (M CNY/yr)", "年成本（百万元/年）"),
    "cost_t": ("Cost, central (CNY/t CO2)", "成本中值（元/吨CO2）"),
    "verdict": ("Verdict", "结论"),
    "quantity": ("Quantity", "指标"),
    "published": ("Published", "发表值"),
    "pipeline": ("This run", "本运行"),
    "total": (
        "Allocated potential, low / central / high: {low:.2f} / {central:.2f} / {high:.2f} "
        "Mt CO2/yr; eligible area of the primary measures {alloc:.0f} kha.",
        "分配潜力（低/中/高）：{low:.2f} / {central:.2f} / {high:.2f} 百万吨CO2/年；"
        "分配面积 {alloc:.0f} 千公顷。",
    ),
    "units": (
        "Potentials in Mt CO2/yr. 'technical' is not additive across measures.",
        "潜力单位：百万吨CO2/年。“technical”（技术潜力）在措施间不可相加。",
    ),
}


class ProvinceError(SinkzoneError):
    """The province is not in the run."""


def tx(key: str, lang: str, **kw) -> str:
    en, zh = TXT[key]
    return (zh if lang == "zh" else en).format(**kw)


def pot_cols(table: pd.DataFrame) -> list[str]:
    """Potential columns of a pack table: low / central / high of the allocated (mapped)
    potential and the central value of every other kind (technical, realistic, existing...)."""
    from sinkzone.web import potential_columns

    return [c for c in potential_columns(table) if c.startswith("potential_") or "central" in c]


def _label(col: str) -> str:
    return col.removesuffix("_tco2_yr").replace("_", " ")


def pack_tables(
    table: pd.DataFrame,
    costs: pd.DataFrame | None,
    catalog: pd.DataFrame,
    counties: pd.DataFrame,
    adcode: int,
    lang: str,
) -> dict[str, pd.DataFrame]:
    """Province tables: by county and by measure (potentials in Mt CO2/yr, areas in kha)."""
    cols = pot_cols(table)
    code = pd.to_numeric(table["region_code"], errors="coerce")
    prov = table[(table["region_level"] == "province") & (code == adcode)]
    if prov.empty:
        raise ProvinceError(
            "potential_by_region.csv",
            f"no rows for province {adcode}",
            "build packs only for provinces inside the run's region",
        )
    name_col = "name_zh" if lang == "zh" else "name_en"
    names = catalog.set_index("id")[name_col]
    bm = prov.groupby("measure_id", sort=False)[
        ["eligible_area_ha", "allocated_area_ha", *cols]
    ].sum()
    by_measure = pd.DataFrame(
        {
            tx("measure", lang): [f"{names.get(m, m)} ({m})" for m in bm.index],
            tx("eligible_kha", lang): (bm["eligible_area_ha"] / 1e3).round(1).values,
            tx("allocated_kha", lang): (bm["allocated_area_ha"] / 1e3).round(1).values,
            **{_label(c): (bm[c] / 1e6).round(3).values for c in cols},
        }
    )
    if costs is not None and not costs.empty:
        cc = costs[
            (costs["region_level"] == "province")
            & (pd.to_numeric(costs["region_code"], errors="coerce") == adcode)
        ]
        cc = cc.set_index("measure_id")
        by_measure[tx("cost", lang)] = [
            round(float(cc["annual_cost_cny_yr"].get(m, np.nan)) / 1e6, 1)
            if m in cc.index
            else np.nan
            for m in bm.index
        ]
        by_measure[tx("cost_t", lang)] = [
            round(float(cc["cost_central_cny_tco2"].get(m)), 1)
            if m in cc.index and np.isfinite(cc["cost_central_cny_tco2"].get(m))
            else np.nan
            for m in bm.index
        ]
    central = "potential_central_tco2_yr"
    by_measure = by_measure[(bm["eligible_area_ha"] > 0).values]
    if central in bm:
        by_measure = by_measure.sort_values(_label(central), ascending=False)

    cty = table[(table["region_level"] == "county") & (code // 10000 == adcode // 10000)].copy()
    cty["code"] = pd.to_numeric(cty["region_code"]).astype("int64")
    per = cty.groupby("code")[["allocated_area_ha", *cols]].sum()
    top = (
        cty[cty.get(central, 0) > 0]
        .sort_values(central, ascending=False)
        .groupby("code")["measure_id"]
        .first()
        if central in cty
        else pd.Series(dtype=str)
    )
    cinfo = counties.set_index("code")
    by_county = pd.DataFrame(
        {
            tx("code", lang): per.index.values,
            tx("county", lang): [str(cinfo[name_col].get(c, c)) for c in per.index],
            tx("prefecture", lang): [str(cinfo["prefecture_name"].get(c, "")) for c in per.index],
            tx("allocated_kha", lang): (per["allocated_area_ha"] / 1e3).round(1).values,
            **{_label(c): (per[c] / 1e6).round(3).values for c in cols},
            tx("top", lang): [str(names.get(top.get(c, ""), top.get(c, ""))) for c in per.index],
        }
    )
    if central in per:
        by_county = by_county.sort_values(_label(central), ascending=False)
    tot = prov[
        [c for c in ("potential_low_tco2_yr", central, "potential_high_tco2_yr") if c in prov]
    ].sum()
    summary = {
        "low": tot.get("potential_low_tco2_yr", 0) / 1e6,
        "central": tot.get(central, 0) / 1e6,
        "high": tot.get("potential_high_tco2_yr", 0) / 1e6,
        "alloc": prov["allocated_area_ha"].sum() / 1e3,
    }
    return {
        "by_county": by_county.reset_index(drop=True),
        "by_measure": by_measure.reset_index(drop=True),
        "summary": summary,
    }


def localized_validation_table(validation: pd.DataFrame, lang: str) -> pd.DataFrame:
    v = validation
    return pd.DataFrame(
        {
            tx("quantity", lang): v["quantity"],
            tx("published", lang): [
                f"{lo:g}-{hi:g} {u}"
                for lo, hi, u in zip(
                    v["published_low"], v["published_high"], v["unit"], strict=True
                )
            ],
            tx("pipeline", lang): [f"{x:.3g}" for x in v["pipeline_value"]],
            tx("verdict", lang): v["verdict"],
        }
    )


# --------------------------------------------------------------------------------- maps
@functools.cache
def _layer(vectors: Path, name: str):
    """A layer of vectors.gpkg, read once per process (a pack reads it for two languages, the
    index for every province)."""
    import geopandas as gpd

    return gpd.read_file(vectors, layer=name)


@functools.cache
def _national_basemap(vectors: Path):
    from sinkzone import maps

    return maps.load_basemap(vectors, national=True)


@functools.cache
def _display(path: Path, res_m: float, kind: str):
    from sinkzone import maps

    if kind == "density":
        return maps.density_for_display(path, res_m)
    return maps.read_for_display(path, res_m, categorical=True)


def province_maps(
    vectors: Path,
    primary: Path,
    potential_central: Path,
    catalog: pd.DataFrame,
    adcode: int,
    lang: str,
    out_dir: Path,
    res_m: float,
    dpi: int,
    credit: dict | None = None,
) -> dict[str, Path]:
    """primary_{lang}.png and density_{lang}.png of the province, with prefecture and county
    boundaries; cells outside the province are left blank."""
    import geopandas as gpd
    from rasterio.features import geometry_mask
    from rasterio.transform import from_bounds

    from sinkzone import maps

    used = maps.setup_language(lang)
    vectors = Path(vectors)
    prov = _layer(vectors, "provinces")
    me = prov[prov["code"].astype(int) == adcode]
    if me.empty:
        raise ProvinceError(
            vectors,
            f"no province {adcode} in layer provinces",
            "pick a province adcode of the run's region",
        )
    nation = _layer(vectors, "nation")
    maritime = _layer(vectors, "maritime")
    # A province with islands in the South China Sea (Hainan: Sansha) is mapped north of
    # MAINLAND_MIN_LAT, with the national South China Sea inset for the islands.
    from shapely.geometry import box

    geom = me.to_crs(4326).geometry.union_all()
    north = geom.intersection(box(-180, maps.MAINLAND_MIN_LAT, 180, 90))
    scs = not north.is_empty and not geom.difference(north).is_empty
    main_region = gpd.GeoDataFrame(geometry=[north if scs else geom], crs=4326)
    bm = maps.make_basemap(
        nation,
        prov[["code", "name_zh", "name_en", "geometry"]],
        maritime,
        main_region,
        national=False,
    )
    bm_nat = _national_basemap(vectors) if scs else None
    pref = _layer(vectors, "prefectures")
    pref = pref[pref["code"].astype(int) // 10000 == adcode // 10000]
    cty = _layer(vectors, "counties")
    cty = cty[cty["code"].astype(int) // 10000 == adcode // 10000]
    shape_disp = me.to_crs(maps.DISPLAY_CRS).geometry

    def clip(r):
        h, w = r.data.shape
        left, right, bottom, top = r.extent
        inside = ~geometry_mask(shape_disp, (h, w), from_bounds(left, bottom, right, top, w, h))
        return maps.DisplayRaster(np.ma.masked_where(~inside, r.data), r.extent)

    def overlay(fig):
        ax = next(a for a in fig.axes if a.get_label() == "main_map")
        xl, yl = ax.get_xlim(), ax.get_ylim()
        if bm_nat is not None:
            maps.add_scs_inset(ax, bm_nat, used)
        cty.to_crs(maps.DISPLAY_CRS).boundary.plot(ax=ax, color="#888", linewidth=0.25, zorder=4)
        pref.to_crs(maps.DISPLAY_CRS).boundary.plot(ax=ax, color="#333", linewidth=0.6, zorder=5)
        ax.set_xlim(xl)
        ax.set_ylim(yl)
        ax.set_xlabel("")
        ax.set_ylabel("")
        return fig

    out = {}
    prim = clip(_display(Path(primary), float(res_m), "primary"))
    fig = overlay(maps.primary_map(prim, catalog, bm, used))
    out["primary"] = Path(out_dir) / f"primary_{lang}.png"
    footer = maps.credit_lines(credit, used, is_map=True)
    maps.save_figure(fig, out["primary"], dpi=dpi, footer=footer)
    dens = clip(_display(Path(potential_central), float(res_m), "density"))
    fig = overlay(maps.density_map(dens, bm, used))
    out["density"] = Path(out_dir) / f"density_{lang}.png"
    maps.save_figure(fig, out["density"], dpi=dpi, footer=footer)
    return out


# --------------------------------------------------------------------------------- HTML
def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, na_rep="", border=0, classes="t", escape=True)


def write_html(
    path: Path,
    *,
    lang: str,
    name: str,
    code: int,
    run: str,
    tables: dict,
    validation: pd.DataFrame,
    images: dict[str, Path],
    credits: list[str],
    notice: str,
) -> None:
    e = html.escape
    s = tables["summary"]
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        f"<title>{e(tx('title', lang, name=name, code=code))}</title>",
        "<style>body{font-family:'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif;"
        "max-width:1100px;margin:auto;padding:1em}table.t{border-collapse:collapse;font-size:12px}"
        "table.t td,table.t th{border:1px solid #ccc;padding:2px 5px}img{max-width:100%}"
        ".notice{border:1px solid #c33;padding:6px;background:#fff4f4}</style></head><body>",
        f"<h1>{e(tx('title', lang, name=name, code=code))}</h1>",
        f"<p>{e(tx('run', lang, run=run))}</p>",
        f"<h2>{e(tx('summary', lang))}</h2><p>{e(tx('total', lang, **s))}</p>",
        f"<p>{e(tx('units', lang))}</p>",
        f"<h2>{e(tx('maps', lang))}</h2>",
    ]
    for key, p in images.items():
        parts.append(
            f"<figure><img src='{e(Path(p).name)}' alt='{e(tx(key, lang))}'>"
            f"<figcaption>{e(tx(key, lang))}</figcaption></figure>"
        )
    parts += [
        f"<h2>{e(tx('by_measure', lang))}</h2>",
        _table_html(tables["by_measure"]),
        f"<h2>{e(tx('by_county', lang))}</h2>",
        _table_html(tables["by_county"]),
        f"<h2>{e(tx('caveats', lang))}</h2><p>{e(tx('caveat_intro', lang))}</p>",
        _table_html(validation),
        f"<h2>{e(tx('credits', lang))}</h2><ul>",
        *[f"<li>{e(c)}</li>" for c in credits],
        "</ul>",
        f"<h2>{e(tx('notice', lang))}</h2><p class='notice'>{e(notice)}</p>",
        "</body></html>",
    ]
    write_text(path, "\n".join(parts))


# ---------------------------------------------------------------------------------- PDF
A4 = (8.27, 11.69)


def _text_page(pdf, title: str, paragraphs: list[str], lang: str):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=A4)
    y = 0.95
    fig.text(0.07, y, title, fontsize=14, va="top")
    y -= 0.05
    width = 48 if lang == "zh" else 95
    for p in paragraphs:
        lines = textwrap.wrap(p, width) or [""]
        for ln in lines:
            if y < 0.05:
                pdf.savefig(fig)
                plt.close(fig)
                fig = plt.figure(figsize=A4)
                y = 0.95
            fig.text(0.07, y, ln, fontsize=8.5, va="top")
            y -= 0.018
        y -= 0.01
    pdf.savefig(fig)
    plt.close(fig)


def _table_pages(pdf, title: str, df: pd.DataFrame, lang: str):
    import matplotlib.pyplot as plt

    df = df.copy()
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype(str).map(lambda s: s if len(s) <= 34 else s[:32] + "…")
    n = max(1, int(np.ceil(len(df) / ROWS_PER_PAGE)))
    for i in range(n):
        chunk = df.iloc[i * ROWS_PER_PAGE : (i + 1) * ROWS_PER_PAGE]
        fig = plt.figure(figsize=(A4[1], A4[0]))  # landscape
        fig.text(0.03, 0.96, title + (f" ({i + 1}/{n})" if n > 1 else ""), fontsize=12, va="top")
        ax = fig.add_axes([0.02, 0.03, 0.96, 0.88])
        ax.axis("off")
        cells = [
            ["" if pd.isna(v) else (f"{v:g}" if isinstance(v, float) else str(v)) for v in row]
            for row in chunk.itertuples(index=False)
        ]
        if cells:
            labels = [str(c) for c in df.columns]
            # column widths in proportion to their longest text, summing to the page width
            chars = [
                max([len(lab) * 0.8] + [len(r[j]) for r in cells]) + 2
                for j, lab in enumerate(labels)
            ]
            widths = [c / sum(chars) for c in chars]
            t = ax.table(
                cellText=cells, colLabels=labels, colWidths=widths, loc="upper left", cellLoc="left"
            )
            t.auto_set_font_size(False)
            t.set_fontsize(6.5 if sum(chars) < 200 else 5.5)
        pdf.savefig(fig)
        plt.close(fig)


def write_pdf(
    path: Path,
    *,
    lang: str,
    name: str,
    code: int,
    run: str,
    tables: dict,
    validation: pd.DataFrame,
    images: dict[str, Path],
    credits: list[str],
    notice: str,
) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from sinkzone import maps

    maps.setup_language(lang)
    meta = {"Title": tx("title", lang, name=name, code=code), "Creator": "sinkzone"}
    with (
        atomic_path(path) as tmp,
        plt.rc_context({"pdf.fonttype": 3}),
        PdfPages(tmp, metadata=meta) as pdf,
    ):
        _text_page(
            pdf,
            tx("title", lang, name=name, code=code),
            [
                tx("run", lang, run=run),
                tx("total", lang, **tables["summary"]),
                tx("units", lang),
                tx("notice", lang) + ": " + notice,
            ],
            lang,
        )
        for key, p in images.items():
            fig = plt.figure(figsize=A4)
            img = plt.imread(p)
            ax = fig.add_axes([0.03, 0.1, 0.94, 0.8])
            ax.imshow(img)
            ax.axis("off")
            fig.text(0.05, 0.95, tx(key, lang), fontsize=12, va="top")
            pdf.savefig(fig)
            plt.close(fig)
        _table_pages(pdf, tx("by_measure", lang), tables["by_measure"], lang)
        _table_pages(pdf, tx("by_county", lang), tables["by_county"], lang)
        _text_page(pdf, tx("caveats", lang), [tx("caveat_intro", lang)], lang)
        _table_pages(pdf, tx("caveats", lang), validation, lang)
        _text_page(pdf, tx("credits", lang), list(credits) + ["", notice], lang)


# -------------------------------------------------------------------------------- a pack
def build_pack(
    out_dir: Path,
    *,
    adcode: int,
    run: str,
    vectors: Path,
    table: pd.DataFrame,
    costs: pd.DataFrame | None,
    validation: pd.DataFrame,
    catalog: pd.DataFrame,
    primary: Path,
    potential_central: Path,
    credits: list[str],
    res_m: float,
    dpi: int,
    credit: dict | None = None,
) -> list[Path]:
    """Write the pack of one province into out_dir; return the report files."""
    import pyogrio

    from sinkzone.web import map_notice

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cty = pyogrio.read_dataframe(vectors, layer="counties", read_geometry=False)
    pref = pyogrio.read_dataframe(vectors, layer="prefectures", read_geometry=False)
    prov = pyogrio.read_dataframe(vectors, layer="provinces", read_geometry=False)
    me = prov[prov["code"].astype(int) == adcode]
    if me.empty:
        raise ProvinceError(
            vectors,
            f"no province {adcode}",
            "pick a province adcode of the run's region (e.g. 610000 Shaanxi)",
        )
    written = []
    for lang in LANGS:
        name_col = "name_zh" if lang == "zh" else "name_en"
        pn = pref.set_index(pref["code"].astype(int))[name_col]
        c = cty.assign(
            code=cty["code"].astype(int),
            prefecture_name=cty["prefecture_code"].astype(int).map(pn).fillna(""),
        )
        tables = pack_tables(table, costs, catalog, c, adcode, lang)
        images = province_maps(
            vectors, primary, potential_central, catalog, adcode, lang, out_dir, res_m, dpi, credit
        )
        name = str(me.iloc[0][name_col])
        kw = dict(
            lang=lang,
            name=name,
            code=adcode,
            run=run,
            tables=tables,
            validation=localized_validation_table(validation, lang),
            images=images,
            credits=credits,
            notice=map_notice(credit, lang),
        )
        write_html(out_dir / f"report_{lang}.html", **kw)
        write_pdf(out_dir / f"report_{lang}.pdf", **kw)
        for key in ("by_county", "by_measure"):
            write_csv(out_dir / f"{key}_{lang}.csv", tables[key])
        written += [out_dir / f"report_{lang}.html", out_dir / f"report_{lang}.pdf"]
        log.info("province %s (%s): wrote %s", adcode, lang, [p.name for p in written[-2:]])
    return written
