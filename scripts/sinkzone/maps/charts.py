"""Charts of costs, time paths and scenarios: the marginal abatement cost curve (costs), the
national sink by measure over the years (time paths) and the progress towards each target
(scenarios). Moved here from sinkzone.costs, sinkzone.timepaths and sinkzone.scenarios.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sinkzone.costs import MAC_TEXT, price_label
from sinkzone.scenarios import SCENARIO_TEXT, scenario_label
from sinkzone.timepaths import TOTAL
from sinkzone.units import GT


def plot_mac(
    mac: pd.DataFrame,
    prices: list[tuple[str, float, str]],
    out_path,
    *,
    dpi: int = 300,
    max_zones: int = 8,
    language: str = "en",
    footer: Sequence[str] | None = None,
) -> None:
    """National MAC curve (steps, log cost axis) with price lines, and zone curves beside it.
    Labels in `language` (measure names from the table's name_en / name_zh); `footer`: the
    credit lines under the chart (sinkzone.maps.credit_lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sinkzone.maps import measure_palette, save_figure

    k = 1 if language == "zh" else 0
    name_col = "name_zh" if language == "zh" else "name_en"
    fig, axes = plt.subplots(
        1, 2, figsize=(14, 7), constrained_layout=True, gridspec_kw={"width_ratios": [3, 2]}
    )
    nat = mac[(mac["region_level"] == "nation") & mac["rank"].notna()]
    ax = axes[0]
    x0 = 0.0
    colors = measure_palette(max(len(nat), 1))
    for i, r in enumerate(nat.itertuples(index=False)):
        w = r.potential_central_tco2_yr / GT
        label = getattr(r, name_col, None) if name_col in nat.columns else None
        ax.bar(
            x0,
            r.cost_central_cny_tco2,
            width=w,
            align="edge",
            color=colors[i],
            edgecolor="k",
            linewidth=0.3,
            label=str(label or r.measure_id),
        )
        x0 += w
    for tid, price, _ in prices:
        ax.axhline(price, color="0.3", ls="--" if tid.startswith("usd") else ":", lw=0.8)
        ax.annotate(
            price_label(tid, price, language),
            (0.01, price),
            xycoords=("axes fraction", "data"),
            ha="left",
            va="bottom",
            fontsize=7,
            color="0.2",
            bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
        )
    ax.set_yscale("log")
    ax.set_xlabel(MAC_TEXT["xlabel"][k])
    ax.set_ylabel(MAC_TEXT["ylabel"][k])
    ax.set_title(MAC_TEXT["title"][k])
    if len(nat):
        ax.legend(
            fontsize=6.5, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False
        )
    ax = axes[1]
    zones = mac[(mac["region_level"] == "zone") & mac["rank"].notna()]
    for _code, g in list(zones.groupby("region_code", sort=False))[:max_zones]:
        xs = np.concatenate([[0], g["cumulative_central_gtco2_yr"].to_numpy(float)])
        ys = np.concatenate(
            [
                g["cost_central_cny_tco2"].to_numpy(float)[:1],
                g["cost_central_cny_tco2"].to_numpy(float),
            ]
        )
        ax.step(xs, ys, where="pre", label=str(g["region_name"].iat[0])[:40])
    ax.set_yscale("log")
    ax.set_xlabel(MAC_TEXT["zxlabel"][k])
    ax.set_ylabel(MAC_TEXT["ylabel"][k])
    ax.set_title(MAC_TEXT["ztitle"][k])
    if len(zones):
        ax.legend(fontsize=7, frameon=False)
    save_figure(fig, out_path, dpi=dpi, footer=footer)


PATH_TEXT = {  # chart labels, English and Chinese (config language)
    "other": ("other measures", "其他措施"),
    "low": ("all at low rates", "全部按低值速率"),
    "high": ("all at high rates", "全部按高值速率"),
    "year": ("year", "年份"),
    "annual": ("annual added sink (Gt CO$_2$/yr)", "年新增碳汇（十亿吨CO$_2$/年）"),
    "title": (
        "National annual sink of the allocated measures (central)",
        "已配置措施的全国年碳汇（中值）",
    ),
    "cumulative": (
        "cumulative added sink (Gt CO$_2$, central)",
        "累计新增碳汇（十亿吨CO$_2$，中值）",
    ),
    "ctitle": ("Cumulative sink since the start year", "自起始年起的累计碳汇"),
}


def plot_paths(
    paths: pd.DataFrame,
    horizons: Sequence[int],
    out_path,
    *,
    dpi: int = 300,
    top: int = 8,
    language: str = "en",
    names: Mapping[str, str] | None = None,
    footer: Sequence[str] | None = None,
) -> None:
    """National annual sink by measure (stacked, low-high envelope) and cumulative sink.
    Labels in `language`; `names` maps measure ids to the names shown in the legend;
    `footer`: the credit lines under the chart (sinkzone.maps.credit_lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sinkzone.maps import measure_palette, save_figure

    k = 1 if language == "zh" else 0
    names = dict(names or {})
    nat = paths[paths["region_level"] == "nation"]
    tot = nat[nat["measure_id"] == TOTAL].sort_values("year")
    per = nat[nat["measure_id"] != TOTAL]
    wide = (
        per.pivot_table(
            index="year",
            columns="measure_id",
            values="annual_central_tco2",
            aggfunc="sum",
            sort=False,
        ).fillna(0.0)
        / 1e9
    )
    rank = wide.sum().sort_values(ascending=False, kind="mergesort")
    keep = list(rank.index[:top])
    if len(rank) > top:
        wide["other"] = wide.drop(columns=keep).sum(axis=1)
        keep.append("other")
    names.setdefault("other", PATH_TEXT["other"][k])
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    ax = axes[0]
    if len(wide):
        ax.stackplot(
            wide.index,
            *(wide[c] for c in keep),
            labels=[names.get(c, c) for c in keep],
            colors=measure_palette(len(keep)),
        )
        ax.plot(tot["year"], tot["annual_low_tco2"] / 1e9, "k--", lw=0.8, label=PATH_TEXT["low"][k])
        ax.plot(
            tot["year"], tot["annual_high_tco2"] / 1e9, "k:", lw=0.8, label=PATH_TEXT["high"][k]
        )
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.set_xlabel(PATH_TEXT["year"][k])
    ax.set_ylabel(PATH_TEXT["annual"][k])
    ax.set_title(PATH_TEXT["title"][k])
    ax = axes[1]
    ax.plot(tot["year"], tot["cumulative_central_tco2"] / 1e9, color="#1b7837")
    for hz in horizons:
        v = tot.loc[tot["year"] == hz, "cumulative_central_tco2"]
        if len(v):
            ax.axvline(hz, color="0.5", lw=0.6, ls=":")
            ax.annotate(
                f"{hz}: {v.iat[0] / 1e9:.1f} Gt",
                (hz, v.iat[0] / 1e9),
                fontsize=8,
                xytext=(-60, 5),
                textcoords="offset points",
            )
    ax.set_xlabel(PATH_TEXT["year"][k])
    ax.set_ylabel(PATH_TEXT["cumulative"][k])
    ax.set_title(PATH_TEXT["ctitle"][k])
    save_figure(fig, out_path, dpi=dpi, footer=footer)


def plot_scenarios(
    table: pd.DataFrame,
    out_path,
    *,
    dpi: int = 300,
    language: str = "en",
    names_zh: Mapping[str, str] | None = None,
    footer: Sequence[str] | None = None,
) -> None:
    """Progress towards each target (achieved / required) and the doubling check. Labels in
    `language` (`names_zh`: scenario id -> Chinese name); `footer`: credit lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sinkzone.maps import save_figure

    k = 1 if language == "zh" else 0
    width = 16 if language == "zh" else 32

    def label(r):
        return textwrap.fill(scenario_label(r, language, names_zh), width)

    tg = table[table["kind"] != "doubling_check"]
    db = table[table["kind"] == "doubling_check"]
    fig, axes = plt.subplots(
        1, 2, figsize=(13, 0.6 * max(len(tg), len(db), 3) + 2), constrained_layout=True
    )
    ax = axes[0]
    y = np.arange(len(tg))
    req = tg["required"].to_numpy(float)
    avail = tg["achievable_max"].to_numpy(float)
    pct = np.where(req > 0, 100 * np.minimum(avail, req) / np.where(req > 0, req, 1), 100)
    colors = ["#1b7837" if r == "true" else "#b2182b" for r in tg["reachable"]]
    ax.barh(y, pct, color=colors)
    for i, r in enumerate(tg.itertuples(index=False)):
        cost = r.annual_cost_cny_yr / (1e8 if k else 1e9)
        unit = SCENARIO_TEXT.get(r.target_unit, (r.target_unit, r.target_unit))[k]
        ax.text(
            min(pct[i], 100) + 1,
            i,
            SCENARIO_TEXT["bar"][k].format(a=r.achieved, r=r.required, u=unit, c=cost),
            va="center",
            fontsize=7,
        )
    ax.set_yticks(y, [label(r) for _, r in tg.iterrows()], fontsize=7)
    ax.set_xlim(0, 160)
    ax.axvline(100, color="k", lw=0.8)
    ax.set_xlabel(SCENARIO_TEXT["met"][k])
    ax.invert_yaxis()
    ax.set_title(SCENARIO_TEXT["title"][k])
    ax = axes[1]
    for i, r in enumerate(db.itertuples(index=False)):
        ax.barh(i, r.baseline, color="0.75", label=SCENARIO_TEXT["cur_low"][k] if i == 0 else None)
        ax.barh(
            i,
            r.current_high - r.baseline,
            left=r.baseline,
            color="0.55",
            label=SCENARIO_TEXT["cur_high"][k] if i == 0 else None,
        )
        ax.barh(
            i,
            r.added_p50_gtco2_yr,
            left=r.current_high,
            color="#4393c3",
            label=SCENARIO_TEXT["added"][k] if i == 0 else None,
        )
        ax.errorbar(
            r.current_high + r.added_p50_gtco2_yr,
            i,
            fmt="none",
            color="k",
            capsize=3,
            xerr=[
                [r.added_p50_gtco2_yr - r.added_p5_gtco2_yr],
                [r.added_p95_gtco2_yr - r.added_p50_gtco2_yr],
            ],
        )
    if len(db):
        ax.axvspan(
            float(db["target_low"].iat[0]),
            float(db["target"].iat[0]),
            color="#fdae61",
            alpha=0.4,
            label=SCENARIO_TEXT["range"][k],
        )
        ax.set_yticks(range(len(db)), [label(r) for _, r in db.iterrows()], fontsize=7)
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.invert_yaxis()
    ax.set_xlabel(SCENARIO_TEXT["gt"][k])
    ax.set_title(SCENARIO_TEXT["dtitle"][k])
    save_figure(fig, out_path, dpi=dpi, footer=footer)
