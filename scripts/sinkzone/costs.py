"""Costs per tonne of CO2, marginal abatement cost (MAC) curves and price thresholds.

Per measure (``config/technologies.csv``): ``cost_establish_cny_ha`` (one-off, CNY/ha) and
``cost_annual_cny_ha`` (CNY/ha/yr). The establishment cost is annualised over the measure's
``saturation_years`` ``T`` (the period over which the catalog rate is the mean annual gain) with
the capital recovery factor ``CRF = r / (1 - (1 + r) ** -T)`` (``1 / T`` when r = 0):

    annual cost (CNY/yr)  = allocated_ha x (establish x CRF + annual)
    cost (CNY / t CO2)    = annual cost / allocated annual potential (t CO2/yr)

The allocated potential already carries the stack discount, so a measure stacked on land where
a higher-ranked measure acts pays its full cost for its discounted gain. Costs at the low
(high) rates are the high (low) ends of the cost range. Rows whose potential is zero or
negative have an infinite cost: they are kept out of the curve and listed with a note.
Catalog costs are national per-hectare values (mostly ESTIMATES, see ``cost_source``), so
regional differences come from the measure mix and the stack discount only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sinkzone.aggregate import POTENTIAL_COLS, read_catalog
from sinkzone.errors import ConfigError, InputError
from sinkzone.units import GT

log = logging.getLogger(__name__)

BOUNDS = ("low", "central", "high")

COST_COLUMNS = [
    "region_level",
    "region_code",
    "region_name",
    "measure_id",
    "allocated_area_ha",
    *POTENTIAL_COLS,
    "annual_cost_cny_yr",
    "cost_low_rate_cny_tco2",
    "cost_central_cny_tco2",
    "cost_high_rate_cny_tco2",
    "cost_central_usd_tco2",
    "note",
]
MAC_COLUMNS = [
    "region_level",
    "region_code",
    "region_name",
    "rank",
    "measure_id",
    "name_en",
    "name_zh",
    "cost_central_cny_tco2",
    "cost_central_usd_tco2",
    "cost_low_rate_cny_tco2",
    "cost_high_rate_cny_tco2",
    "potential_central_tco2_yr",
    "cumulative_central_gtco2_yr",
    "annual_cost_cny_yr",
    "cumulative_cost_cny_yr",
    "cost_is_estimate",
    "note",
]
THRESHOLD_COLUMNS = [
    "region_level",
    "region_code",
    "region_name",
    "threshold",
    "price_cny_tco2",
    "price_usd_tco2",
    "achievable_low_tco2_yr",
    "achievable_central_tco2_yr",
    "achievable_high_tco2_yr",
    "total_central_tco2_yr",
    "achievable_central_share",
    "source",
]
NOTE_NONPOS = "excluded: zero or negative annual potential (infinite cost)"
NOTE_NOCOST = "excluded: no cost data in the catalog"


def capital_recovery_factor(rate: float, years: np.ndarray | float) -> np.ndarray:
    """CRF(r, T) = r / (1 - (1 + r) ** -T); 1 / T when r == 0."""
    years = np.asarray(years, dtype=float)
    if rate < 0 or rate >= 1:
        raise ConfigError("costs.discount_rate", f"{rate}", "use a rate in [0, 1), e.g. 0.05")
    if np.any(years <= 0):
        raise ConfigError(
            "technologies.csv:saturation_years",
            "zero or negative years",
            "give every measure a positive saturation_years",
        )
    if rate == 0:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** (-years))


def read_costs(catalog_path: str | Path) -> pd.DataFrame:
    """Catalog with numeric cost columns and ``saturation_years``; ids in catalog order."""
    cat = read_catalog(catalog_path)
    need = ["cost_establish_cny_ha", "cost_annual_cny_ha", "saturation_years"]
    missing = [c for c in need if c not in cat.columns]
    if missing:
        raise InputError(catalog_path, f"missing columns {missing}", "add them to the catalog")
    for c in need:
        cat[c] = pd.to_numeric(cat[c], errors="coerce")
    if "cost_is_estimate" in cat.columns:
        cat["cost_is_estimate"] = (
            cat["cost_is_estimate"].astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
        )
    else:
        cat["cost_is_estimate"] = True
    neg = cat[(cat["cost_establish_cny_ha"] < 0) | (cat["cost_annual_cny_ha"] < 0)]
    if len(neg):
        raise ConfigError(
            f"{catalog_path}:{neg['id'].iat[0]}",
            "negative cost",
            "costs are non-negative CNY/ha (revenues are not modelled)",
        )
    return cat


def annual_cost_per_ha(catalog: pd.DataFrame, discount_rate: float) -> pd.Series:
    """Annualised cost per hectare (CNY/ha/yr) per measure id; NaN without cost data."""
    years = catalog["saturation_years"].to_numpy(float)
    ok = np.isfinite(years) & (years > 0)
    crf = np.full(len(catalog), np.nan)
    crf[ok] = capital_recovery_factor(float(discount_rate), years[ok])
    value = catalog["cost_establish_cny_ha"].to_numpy(float) * crf + catalog[
        "cost_annual_cny_ha"
    ].to_numpy(float)
    return pd.Series(value, index=catalog["id"].to_numpy(), name="annual_cost_cny_ha")


def _cost(cost: np.ndarray, pot: np.ndarray) -> np.ndarray:
    out = np.full(len(cost), np.inf)
    pos = pot > 0
    out[pos] = cost[pos] / pot[pos]
    out[np.isnan(cost)] = np.nan
    return out


def cost_table(
    table: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    discount_rate: float,
    usd_cny: float,
    levels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Cost per t CO2 per region and measure (summed over ecosystems), table order."""
    if usd_cny <= 0:
        raise ConfigError("costs.usd_cny", f"{usd_cny}", "use a positive CNY per USD rate")
    sub = table if levels is None else table[table["region_level"].isin(levels)]
    keys = ["region_level", "region_code", "region_name", "measure_id"]
    g = sub.groupby(keys, sort=False)[["allocated_area_ha", *POTENTIAL_COLS]].sum().reset_index()
    per_ha = annual_cost_per_ha(catalog, discount_rate)
    g["annual_cost_cny_yr"] = g["allocated_area_ha"] * g["measure_id"].map(per_ha).astype(float)
    cost = g["annual_cost_cny_yr"].to_numpy(float)
    for b, name in zip(
        BOUNDS,
        ["cost_low_rate_cny_tco2", "cost_central_cny_tco2", "cost_high_rate_cny_tco2"],
        strict=True,
    ):
        g[name] = _cost(cost, g[f"potential_{b}_tco2_yr"].to_numpy(float))
    g["cost_central_usd_tco2"] = g["cost_central_cny_tco2"] / float(usd_cny)
    note = np.where(
        np.isnan(cost), NOTE_NOCOST, np.where(g["potential_central_tco2_yr"] <= 0, NOTE_NONPOS, "")
    )
    g["note"] = note
    return g[COST_COLUMNS]


def mac_curve(costs: pd.DataFrame, catalog: pd.DataFrame, levels: Sequence[str]) -> pd.DataFrame:
    """MAC curve per region of ``levels``: measures by ascending central cost, cumulative Gt.

    Rows with an infinite or unknown cost follow the curve rows of their region with a note
    (no rank, no cumulative values).
    """
    cat = catalog.set_index("id")
    order = cat["order"] if "order" in cat.columns else pd.Series(range(len(cat)), cat.index)
    parts = []
    for _, g in costs[costs["region_level"].isin(levels)].groupby(
        ["region_level", "region_code"], sort=False
    ):
        g = g[(g["allocated_area_ha"] > 0) | (g["potential_central_tco2_yr"] != 0)].copy()
        g["_ord"] = g["measure_id"].map(order)
        ok = np.isfinite(g["cost_central_cny_tco2"].to_numpy(float)) & (
            g["potential_central_tco2_yr"] > 0
        )
        cur = g[ok].sort_values(["cost_central_cny_tco2", "_ord"], kind="mergesort")
        cur["rank"] = np.arange(1, len(cur) + 1)
        cur["cumulative_central_gtco2_yr"] = cur["potential_central_tco2_yr"].cumsum() / GT
        cur["cumulative_cost_cny_yr"] = cur["annual_cost_cny_yr"].cumsum()
        rest = g[~ok].sort_values("_ord", kind="mergesort")
        rest = rest.assign(
            rank=pd.NA, cumulative_central_gtco2_yr=np.nan, cumulative_cost_cny_yr=np.nan
        )
        parts += [cur, rest]
    if not parts:
        return pd.DataFrame(columns=MAC_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["rank"] = out["rank"].astype("Int64")
    out["name_en"] = out["measure_id"].map(cat["name_en"])
    out["name_zh"] = out["measure_id"].map(cat["name_zh"])
    out["cost_is_estimate"] = out["measure_id"].map(cat["cost_is_estimate"])
    return out[MAC_COLUMNS].reset_index(drop=True)


def threshold_prices(
    thresholds_usd: Sequence[float],
    ccus_cny: Sequence[float],
    usd_cny: float,
    *,
    thresholds_source: str = "",
    ccus_source: str = "",
) -> list[tuple[str, float, str]]:
    """``[(threshold id, price CNY/t CO2, source)]``: USD thresholds, then the CCUS prices."""
    out = [(f"usd_{t:g}", float(t) * float(usd_cny), thresholds_source) for t in thresholds_usd]
    out += [(f"ccus_cny_{c:g}", float(c), ccus_source) for c in ccus_cny]
    return out


def threshold_table(
    costs: pd.DataFrame,
    prices: list[tuple[str, float, str]],
    levels: Sequence[str],
    usd_cny: float,
) -> pd.DataFrame:
    """Potential achievable at or below each price, per region of ``levels``.

    A measure counts at bound b (low / central / high rate) when its cost at that bound is at
    most the price; totals are the positive central potentials (the MAC curve's extent).
    """
    rows = []
    for (lvl, code), g in costs[costs["region_level"].isin(levels)].groupby(
        ["region_level", "region_code"], sort=False
    ):
        total = g["potential_central_tco2_yr"].clip(lower=0).sum()
        for tid, price, src in prices:
            ach = {}
            for b, cname in zip(
                BOUNDS,
                ["cost_low_rate_cny_tco2", "cost_central_cny_tco2", "cost_high_rate_cny_tco2"],
                strict=True,
            ):
                c = g[cname].to_numpy(float)
                p = g[f"potential_{b}_tco2_yr"].to_numpy(float)
                ach[b] = float(p[np.isfinite(c) & (c <= price) & (p > 0)].sum())
            share = ach["central"] / total if total > 0 else np.nan
            rows.append(
                [
                    lvl,
                    code,
                    g["region_name"].iat[0],
                    tid,
                    price,
                    price / usd_cny,
                    ach["low"],
                    ach["central"],
                    ach["high"],
                    total,
                    share,
                    src,
                ]
            )
    return pd.DataFrame(rows, columns=THRESHOLD_COLUMNS)


# ---------------------------------------------------------------------------- figure


MAC_TEXT = {  # chart labels, English and Chinese (config language)
    "xlabel": (
        "cumulative allocated potential (Gt CO$_2$/yr, central rates)",
        "累计配置潜力（十亿吨CO$_2$/年，中值速率）",
    ),
    "ylabel": ("cost (CNY / t CO$_2$)", "成本（元/吨CO$_2$）"),
    "title": ("National marginal abatement cost curve", "全国边际减排成本曲线"),
    "zxlabel": ("cumulative allocated potential (Gt CO$_2$/yr)", "累计配置潜力（十亿吨CO$_2$/年）"),
    "ztitle": ("Zones and belts", "重点生态区与生态带"),
    "usd": ("{v:g} USD/t CO$_2$ ({p:.0f} CNY)", "{v:g} 美元/吨CO$_2$（{p:.0f} 元）"),
    "ccus": ("CCUS {p:.0f} CNY/t CO$_2$", "CCUS {p:.0f} 元/吨CO$_2$"),
}


def price_label(tid: str, price: float, language: str = "en") -> str:
    """Readable label of a price line: usd_10 -> '10 USD/t CO2 (71 CNY)', ccus_cny_2000 ->
    'CCUS 2000 CNY/t CO2' (Chinese with language zh); other ids as they are."""
    k = 1 if language == "zh" else 0
    if tid.startswith("usd_"):
        try:
            return MAC_TEXT["usd"][k].format(v=float(tid[4:]), p=price)
        except ValueError:
            return tid
    if tid.startswith("ccus"):
        return MAC_TEXT["ccus"][k].format(p=price)
    return tid
