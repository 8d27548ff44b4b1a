"""Credit lines and the map notice printed under every figure.

Part of the `sinkzone.maps` package (see its docstring).
"""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

log = logging.getLogger("sinkzone.maps")

CREDIT = {
    "en": "sinkzone run '{run}', {date}. Data: {sources}. Measures, rates and principles: Yu G "
    "et al. 2022, Bulletin of the Chinese Academy of Sciences 37(4):490-501. Sources and "
    "licences: data/registry.csv, docs/SOURCES.md.",
    "zh": "sinkzone 运行“{run}”，{date}。数据：{sources}。技术措施、速率与原则：于贵瑞等 2022，"
    "中国科学院院刊 37(4):490-501。数据来源与许可见 data/registry.csv、docs/SOURCES.md。",
}
MAP_NOTICE = {
    "en": "Boundaries: {boundaries}. They are not the official standard map (标准地图) of the "
    "Ministry of Natural Resources; publishing or displaying this map in public requires "
    "map review approval (审图号).",
    "en_ascii": "Boundaries: {boundaries}. They are not the official standard map (biaozhun "
    "ditu) of the Ministry of Natural Resources; publishing or displaying this map "
    "in public requires map review approval (shentu hao).",
    "zh": "边界：{boundaries}。本图边界非自然资源部标准地图，公开出版或展示须依法送审并取得"
    "审图号。",
}
FOOTER_PT = 6.5  # font size of the footer


def figure_date() -> str:
    """The date printed on figures: today (UTC), or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        datetime.fromtimestamp(int(epoch), tz=UTC)
        if epoch and epoch.isdigit()
        else datetime.now(UTC)
    )
    return when.strftime("%Y-%m-%d")


def _has_cjk_font() -> bool:
    return any(f not in ("DejaVu Sans", "sans-serif") for f in plt.rcParams["font.family"])


def credit_lines(
    credit: Mapping | None, language: str, *, is_map: bool, date: str | None = None
) -> list[str]:
    """The footer of a map or chart: run, date and data sources; maps add the notice that the
    boundaries are not the standard map and that publishing needs approval (审图号).

    `credit` (the `credit` param of the plotting rules, rules/common.smk get_credit):
    ``{"run": str, "sources": [[label_en, label_zh, what], ...], "boundaries": str}``.
    """
    if not credit:
        return []
    zh = language == "zh"
    sources = ("；" if zh else "; ").join(
        f"{s[1] if zh else s[0]} {s[2]}" for s in credit.get("sources", [])
    )
    lines = [
        CREDIT[language].format(
            run=credit.get("run", ""), date=date or figure_date(), sources=sources
        )
    ]
    if is_map:
        key = language if zh or _has_cjk_font() else "en_ascii"
        lines.append(MAP_NOTICE[key].format(boundaries=credit.get("boundaries", "")))
    return lines


def add_footer(fig: Figure, lines: Sequence[str]) -> None:
    """Small grey print under the figure's content, wrapped to the figure's width."""
    width_pt = fig.get_size_inches()[0] * 72 * 0.96
    wrapped = []
    for line in lines:
        cjk = sum(1 for ch in line if ord(ch) > 0x2E80)
        em = FOOTER_PT * (1.0 if cjk > len(line) / 3 else 0.55)  # mean advance of a character
        wrapped += textwrap.wrap(line, max(40, int(width_pt / em))) or [""]
    fig.text(
        0.01,
        -0.005,
        "\n".join(wrapped),
        ha="left",
        va="top",
        fontsize=FOOTER_PT,
        color="#555555",
        linespacing=1.3,
    )
