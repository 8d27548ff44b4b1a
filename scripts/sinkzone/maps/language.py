"""Labels in English or Chinese: the translations of map text and the discovery and
registration of a CJK font (without one the maps fall back to English).

Part of the `sinkzone.maps` package (see its docstring).
"""

from __future__ import annotations

import logging
import shutil
import subprocess

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

log = logging.getLogger("sinkzone.maps")

LANGUAGES = ("en", "zh")
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)
_PROBE = "中国碳汇"

TEXT = {
    "en": {
        "scs": "South China Sea Islands",
        "no_red_lines": "no red lines supplied",
        "approximate": "approximate boundaries",
        "no_data": "no data",
        "km": "km",
        "n": "N",
    },
    "zh": {
        "scs": "南海诸岛",
        "no_red_lines": "未提供生态保护红线",
        "approximate": "近似边界",
        "no_data": "无数据",
        "km": "km",
        "n": "N",
    },
}


def tr(key: str, language: str) -> str:
    """The label `key` in `language` (en|zh)."""
    return TEXT[language][key]


def _covers_cjk(path: str) -> bool:
    try:
        charmap = FT2Font(path).get_charmap()
    except Exception:  # unreadable or unsupported font file
        return False
    return all(ord(c) in charmap for c in _PROBE)


def _register(path: str) -> str | None:
    if not _covers_cjk(path):
        return None
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def find_cjk_font() -> str | None:
    """Name of a font family with Chinese glyphs, registered with matplotlib; None if none.

    Looks in matplotlib's font list (known CJK families), then `fc-list :lang=zh` (fonts
    installed after matplotlib built its cache, e.g. Debian fonts-noto-cjk), then the fonts
    bundled with the PyPI package `mplfonts` (Noto Sans CJK SC) when it is installed.
    """
    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in by_name and _covers_cjk(by_name[family]):
            return family
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(
                ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        paths = sorted({ln.split(":")[0].strip() for ln in out.splitlines() if ln.strip()})
        # Prefer sans-serif families; .ttc collections work in matplotlib >= 3.9.
        paths.sort(key=lambda p: ("sans" not in p.lower() and "hei" not in p.lower(), p))
        for path in paths:
            name = _register(path)
            if name:
                return name
    try:
        from importlib.resources import files

        fonts = files("mplfonts") / "fonts"
        for fname in ("NotoSansCJKsc-Regular.otf", "SourceHanSerifSC-Regular.otf"):
            candidate = fonts / fname
            if candidate.is_file():
                name = _register(str(candidate))
                if name:
                    return name
    except ModuleNotFoundError:
        pass
    return None


def setup_language(language: str, font: str | None = "auto") -> str:
    """Configure matplotlib fonts for `language`; return the language the labels will use.

    `font="auto"` searches for a CJK font (`find_cjk_font`); `font=None` means none is
    available. Chinese without a CJK font falls back to English, with a warning.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    plt.rcParams["axes.unicode_minus"] = False
    # the CJK fonts have no bold face: matplotlib's "findfont: Failed to find font weight
    # bold" warnings (it uses the regular face) are noise in the logs
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    family = find_cjk_font() if font == "auto" else font
    if language == "en":
        # a CJK font as fallback for the Chinese terms of the map notice (标准地图, 审图号)
        plt.rcParams["font.family"] = ["DejaVu Sans"] + ([family] if family else [])
        return "en"
    if not family:
        log.warning(
            "language zh: no font with Chinese glyphs found (fc-list :lang=zh is empty and the "
            "PyPI package mplfonts is not installed); drawing the maps with English labels. "
            "Install Debian fonts-noto-cjk or PyPI mplfonts for Chinese labels."
        )
        plt.rcParams["font.family"] = ["DejaVu Sans"]
        return "en"
    log.info("language zh: using font %s", family)
    plt.rcParams["font.family"] = [family, "DejaVu Sans"]
    return "zh"


def name_of(row, language: str) -> str:
    """`name_zh` or `name_en` of a table row (Series or dict)."""
    return str(row["name_zh"] if language == "zh" else row["name_en"])
