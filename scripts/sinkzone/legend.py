"""Land-cover legends: source codes -> pipeline ecosystem classes (config/ecosystems.csv).

A legend CSV has columns ``code,name,ecosystem[,notes]``; ``ecosystem`` is a `name` of
config/ecosystems.csv (``id,name,name_zh,name_en,color,description``). A blank ecosystem maps
the code to 0 (no ecosystem, e.g. "unclassified"), which the pipeline treats like nodata.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.errors import InputError
from sinkzone.io import read_csv

ECOSYSTEM_COLUMNS = ["id", "name", "name_zh", "name_en", "color", "description"]
LEGEND_COLUMNS = ["code", "name", "ecosystem"]
LEGENDS_DIR = Path("config") / "legends"  # the shipped legends, as `sinkzone legends` lists them
LEGEND_NAME = re.compile(r"^[a-z0-9_]+$")  # a name, not a path: no '/', no '.csv'


def legend_path(value, legends_dir: str | Path = LEGENDS_DIR) -> str:
    """`landcover.legend` as a file: a shipped legend's name (``igbp``, ``clcd``, ...) becomes
    ``config/legends/<name>.csv``; a path is returned unchanged."""
    value = str(value)
    return str(Path(legends_dir) / f"{value}.csv") if LEGEND_NAME.match(value) else value


def shipped_legends(legends_dir: str | Path = LEGENDS_DIR) -> list[str]:
    """Names of the shipped legends (the CSV stems of config/legends)."""
    return sorted(p.stem for p in Path(legends_dir).glob("*.csv"))


def load_ecosystems(path) -> pd.DataFrame:
    """Read config/ecosystems.csv; ids are unique integers 1-254, names unique."""
    df = read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ECOSYSTEM_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}", f"use columns {ECOSYSTEM_COLUMNS}")
    try:
        df["id"] = df["id"].astype(int)
    except ValueError:
        raise InputError(path, "column id holds non-integers", "use integer ids 1-254") from None
    if df["id"].duplicated().any() or df["name"].duplicated().any():
        raise InputError(path, "duplicate id or name", "give every ecosystem a unique id and name")
    if not df["id"].between(1, 254).all():
        raise InputError(path, "ids outside 1-254", "use ids 1-254 (0 means no ecosystem)")
    return df.sort_values("id").reset_index(drop=True)


def load_legend(path, ecosystems: pd.DataFrame) -> dict[int, int]:
    """Read a legend CSV and return {source code: ecosystem id} (0 for a blank ecosystem)."""
    df = read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in LEGEND_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            path, f"missing columns {missing}", f"use columns {LEGEND_COLUMNS}[,notes]"
        )
    try:
        codes = df["code"].str.strip().astype(int)
    except ValueError:
        raise InputError(path, "column code holds non-integers", "use integer codes") from None
    dup = sorted(set(codes[codes.duplicated()]))
    if dup:
        raise InputError(path, f"duplicate codes {dup}", "list every source code once")
    ids = dict(zip(ecosystems["name"], ecosystems["id"], strict=True))
    lut = {}
    unknown = []
    for code, eco in zip(codes, df["ecosystem"].str.strip(), strict=True):
        if eco == "":
            lut[int(code)] = 0
        elif eco in ids:
            lut[int(code)] = int(ids[eco])
        else:
            unknown.append(f"{code}:{eco}")
    if unknown:
        raise InputError(
            path,
            f"unknown ecosystem names {unknown}",
            f"use one of {sorted(ids)} (names of the ecosystems table) or leave it blank",
        )
    return lut


def apply_legend(
    codes: np.ndarray,
    lut: dict[int, int],
    nodata,
    region_mask: np.ndarray | None,
    source_path,
    legend_path=None,
) -> np.ndarray:
    """Map source codes to uint8 ecosystem ids; 0 for nodata and outside the region.

    Codes inside the region that the legend lacks raise an InputError listing each code with
    its pixel count.
    """
    inside = np.ones(codes.shape, bool) if region_mask is None else region_mask.astype(bool)
    if nodata is not None:  # one fill value or a list of them
        inside &= ~np.isin(codes, np.atleast_1d(np.asarray(nodata)))
    out = np.zeros(codes.shape, dtype=np.uint8)
    if codes.dtype in (np.uint8, np.uint16):
        table = np.full(256 if codes.dtype == np.uint8 else 65536, -1, dtype=np.int16)
        for code, eco in lut.items():
            if 0 <= code < table.size:
                table[code] = eco
        mapped = np.take(table, codes)
        bad = inside & (mapped < 0)
        if bad.any():
            vals, counts = np.unique(codes[bad], return_counts=True)
            _raise_unknown(vals, counts, source_path, legend_path)
        out[inside] = mapped[inside].astype(np.uint8)
        return out
    keys = np.array(sorted(lut), dtype=np.float64)
    vals = np.array([lut[k] for k in sorted(lut)], dtype=np.uint8)
    c = codes[inside].astype(np.float64)
    pos = np.clip(np.searchsorted(keys, c), 0, max(len(keys) - 1, 0))
    ok = (keys[pos] == c) if len(keys) else np.zeros(c.shape, bool)
    if not ok.all():
        u, counts = np.unique(c[~ok], return_counts=True)
        _raise_unknown(u, counts, source_path, legend_path)
    out[inside] = vals[pos]
    return out


def _raise_unknown(vals, counts, source_path, legend_path):
    listing = ", ".join(f"{_fmt(v)} ({n} px)" for v, n in zip(vals, counts, strict=True))
    legend = legend_path if legend_path is not None else "the legend CSV"
    raise InputError(
        source_path,
        f"land-cover codes inside the region are missing from legend {legend}: {listing}",
        f"add a row code,name,ecosystem for each of these codes to {legend} "
        "(leave ecosystem blank for codes that are no ecosystem)",
    )


def _fmt(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def legend_names(path) -> dict[int, str]:
    """{code: name} of a legend CSV (for tables)."""
    df = read_csv(Path(path), dtype=str, keep_default_na=False)
    return {int(c): n for c, n in zip(df["code"], df["name"], strict=True)}


# ---------------------------------------------------------------- class composition
#
# A legend row may carry ``shares``: the composition of the class in pipeline ecosystems, from
# the product's own class definition (e.g. IGBP 14 "cropland/natural vegetation mosaic",
# 40-60 % cultivation -> ``cropland:0.5;other:0.5``), with its source in ``shares_source``.
# ``other`` (id 0) is the part the class definition leaves unattributed (natural vegetation of
# unspecified type, the rest of a class defined by a minimum share). A blank ``shares`` means
# 100 % of the row's ``ecosystem``. The shares of a row sum to 1 and include the row's
# ecosystem (the class the rules test); measures act on that ecosystem's share of the cell
# only (sinkzone.allocate), and areas by ecosystem split every class by its shares
# (`split_by_shares`).

PERMILLE = 1000
OTHER = "other"  # shares name for the unattributed part of a class (ecosystem id 0)


def load_shares(path, ecosystems: pd.DataFrame, strict: bool = True) -> dict[int, dict[int, int]]:
    """{source code: {ecosystem id: permille}} for every row of a legend CSV.

    Rows with a blank ``shares`` (or tables without the column) give ``{ecosystem: 1000}``;
    rows with a blank ecosystem give ``{}``. Permille are rounded shares; the row's own
    ecosystem takes the rounding remainder so every row sums to exactly 1000. With
    ``strict=False`` rows whose ecosystem is not in ``ecosystems`` are left out instead of
    raising (the legend itself is checked by check_inputs).
    """
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if strict:
        lut = load_legend(path, ecosystems)
    else:
        known = dict(zip(ecosystems["name"], ecosystems["id"], strict=True))
        df = df[df["ecosystem"].str.strip().isin(set(known) | {""})]
        lut = {
            int(c): int(known.get(e.strip(), 0))
            for c, e in zip(df["code"], df["ecosystem"], strict=True)
        }
    ids = dict(zip(ecosystems["name"], ecosystems["id"], strict=True)) | {OTHER: 0}
    has = "shares" in df.columns
    out: dict[int, dict[int, int]] = {}
    for _, row in df.iterrows():
        code = int(str(row["code"]).strip())
        eco = lut[code]
        text = str(row["shares"]).strip() if has else ""
        if eco == 0:
            if text:
                raise InputError(
                    path,
                    f"code {code}: shares on a row without ecosystem",
                    "fill the ecosystem column or clear shares",
                )
            out[code] = {}
            continue
        if not text:
            out[code] = {eco: PERMILLE}
            continue
        parts: dict[int, float] = {}
        for item in text.split(";"):
            name, sep, frac = item.partition(":")
            name = name.strip()
            try:
                val = float(frac) if sep else float("nan")
            except ValueError:
                val = float("nan")
            if name not in ids or not (0 < val <= 1) or int(ids[name]) in parts:
                raise InputError(
                    path,
                    f"code {code}: bad shares item {item!r}",
                    f"write ecosystem:fraction;... with names of {sorted(ids)} and fractions "
                    "in (0, 1], each ecosystem once",
                )
            parts[int(ids[name])] = val
        total = sum(parts.values())
        if abs(total - 1) > 1e-6 or eco not in parts:
            raise InputError(
                path,
                f"code {code}: shares sum to {total:.4f} or omit the row's ecosystem",
                "make the shares sum to 1 and include the ecosystem column's class",
            )
        if has and "shares_source" in df.columns and not str(row["shares_source"]).strip():
            raise InputError(
                path,
                f"code {code}: shares without shares_source",
                "cite the class definition the shares come from",
            )
        perm = {k: int(round(v * PERMILLE)) for k, v in parts.items() if k != eco}
        perm[eco] = PERMILLE - sum(perm.values())
        out[code] = dict(sorted(perm.items()))
    return out


def composition_lut(shares: dict[int, dict[int, int]], lut: dict[int, int]) -> dict[int, int]:
    """{code: permille of the code's own ecosystem} for the codes whose class is a composition."""
    return {
        code: parts[lut[code]]
        for code, parts in shares.items()
        if lut.get(code) and parts.get(lut[code], PERMILLE) != PERMILLE
    }


def composition_permille(codes: np.ndarray, comp: dict[int, int]) -> np.ndarray:
    """uint16 permille of each cell's ecosystem in its land-cover class (1000 if not listed)."""
    codes = np.asarray(codes)
    out = np.full(codes.shape, PERMILLE, dtype=np.uint16)
    for code, permille in comp.items():
        out[codes == code] = permille
    return out


def split_by_shares(
    lc: pd.DataFrame, shares: dict[int, dict[int, int]], value: str = "area_m2"
) -> pd.DataFrame:
    """Split integer areas per (…, landcover, ecosystem) by the class shares.

    Each row of ``lc`` (columns ``landcover``, ``ecosystem``, ``value`` and any keys) becomes
    one row per ecosystem of its class: ``value * permille // 1000`` for the other ecosystems
    and the remainder for the row's own ecosystem, so the integer totals are kept exactly.
    Rows of codes without shares are unchanged. Returns the same columns, regrouped.
    """
    comp = {c: p for c, p in shares.items() if len(p) > 1}
    if lc.empty or not comp:
        return lc.copy()
    keys = [c for c in lc.columns if c != value]
    mixed = lc["landcover"].isin(list(comp))
    parts = [lc[~mixed]]
    sub = lc[mixed]
    for code, g in sub.groupby("landcover", sort=True):
        rest = g[value].astype("int64").to_numpy().copy()
        for eco, permille in comp[int(code)].items():
            if (g["ecosystem"] == eco).all():
                continue
            piece = g[value].astype("int64").to_numpy() * permille // PERMILLE
            rest -= piece
            parts.append(g.assign(ecosystem=eco, **{value: piece}))
        parts.append(g.assign(**{value: rest}))
    out = pd.concat(parts, ignore_index=True)
    out = out.groupby(keys, sort=True, as_index=False)[value].sum()
    out[value] = out[value].astype("int64")
    return out[lc.columns].reset_index(drop=True)
