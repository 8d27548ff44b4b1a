"""Target-seeking scenarios on the allocated county x measure units.

A scenario (one YAML file under ``config/scenarios/``, parsed with ``yaml.safe_load`` and
validated against ``config/scenario.schema.yaml``) names a national target and the assumptions to reach it:

* ``forest_cover_pct``: total forest cover (percent of the region's area). The baseline is the
  forest share of ``landcover_area.csv`` unless the scenario gives one (with its source). Only
  measures that create forest count (default: catalog ``tags`` containing ``tree_planting``),
  each unit adding its allocated area.
* ``added_sink_gt``: a total ecosystem sink (Gt CO2/yr) minus the current sink; each unit adds
  its allocated annual potential (``basis`` low / central / high rates).

Numbers may reference published figures (``{figure: id, bound: low|high}`` of
``config/published/yu2022_figures.csv``) instead of literals. Units are the county rows of the
region table summed over ecosystems, i.e. allocated areas that already satisfy the suitability
rules and the one-measure-per-group allocation. They are taken in ``order``: ``cost``
(ascending cost per unit of target: CNY/yr per t CO2/yr, or per percentage point) or ``sink``
(descending annual sink), ties by county code and catalog order, until the target is met; the
last unit is taken in part. A target larger than all units together is reported unreachable
with its shortfall.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sinkzone.costs import annual_cost_per_ha, price_label
from sinkzone.errors import ConfigError, InputError
from sinkzone.units import GT

log = logging.getLogger(__name__)


SCENARIO_SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "scenario.schema.yaml"


@functools.cache
def scenario_schema() -> dict:
    """The JSON Schema of a scenario file (config/scenario.schema.yaml)."""
    return yaml.safe_load(SCENARIO_SCHEMA_PATH.read_text(encoding="utf-8"))


SCENARIO_COLUMNS = [
    "scenario_id",
    "name",
    "kind",
    "target",
    "target_unit",
    "baseline",
    "required",
    "achievable_max",
    "achieved",
    "reachable",
    "shortfall",
    "units",
    "counties",
    "provinces",
    "area_ha",
    "sink_tco2_yr",
    "annual_cost_cny_yr",
    "mean_cost_cny_tco2",
    "marginal_cost_cny_tco2",
    "top_provinces",
    "order",
    "basis",
    "source",
    "note",
    "target_low",
    "current_high",
    "added_p5_gtco2_yr",
    "added_p50_gtco2_yr",
    "added_p95_gtco2_yr",
]
UNIT_COLUMNS = [
    "scenario_id",
    "rank",
    "county_code",
    "county_name",
    "province_code",
    "province_name",
    "measure_id",
    "fraction",
    "area_ha",
    "sink_tco2_yr",
    "annual_cost_cny_yr",
    "cost_per_unit",
    "cumulative_contribution",
]


# ---------------------------------------------------------------------------- reading


def read_figure_ranges(path: str | Path) -> pd.DataFrame:
    """Published figures (id, low, high, unit, where_in_paper) indexed by id."""
    from sinkzone.io import read_csv

    df = read_csv(path, dtype={"id": str})
    missing = [c for c in ("id", "low", "high", "unit") if c not in df.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}", "see config/published/")
    return df.set_index("id")


def resolve(value, figures: pd.DataFrame | None, what: str) -> tuple[float, str]:
    """A literal number, or a published figure bound: ``(value, source text)``."""
    if isinstance(value, (int, float)):
        return float(value), ""
    fid, bound = value["figure"], value["bound"]
    if figures is None or fid not in figures.index:
        raise ConfigError(
            what,
            f"published figure {fid!r} not found",
            "use an id of config/published/yu2022_figures.csv",
        )
    row = figures.loc[fid]
    where = row.get("where_in_paper", "")
    return float(row[bound]), f"{fid} {bound} ({row['unit']}; Yu et al. 2022 {where})"


def read_scenario(path: str | Path) -> dict:
    """Load and validate one scenario file; fills optional keys with their defaults."""
    import jsonschema

    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "scenario file not found", "fix config.yaml:scenarios")
    from sinkzone.io import read_yaml

    doc = read_yaml(path)
    errors = sorted(
        jsonschema.Draft202012Validator(scenario_schema()).iter_errors(doc or {}),
        key=lambda e: list(e.path),
    )
    if errors:
        e = errors[0]
        key = ".".join(str(p) for p in e.path) or "(top level)"
        raise ConfigError(f"{path}:{key}", e.message, "see config/scenario.schema.yaml")
    for k, spec in scenario_schema()["properties"].items():
        if "default" in spec:
            doc.setdefault(k, copy.deepcopy(spec["default"]))
    t = doc["target"]
    if t["kind"] == "added_sink_gt" and "current" not in t:
        raise ConfigError(
            f"{path}:target.current",
            "missing for added_sink_gt",
            "give the current sink (e.g. {figure: current_sink, bound: low})",
        )
    doc["_path"] = str(path)
    return doc


def forest_cover_pct(landcover_area: pd.DataFrame, forest: str = "forest") -> tuple[float, float]:
    """``(forest cover %, region area ha)`` from ``landcover_area.csv`` (all rows = region)."""
    need = ["ecosystem", "area_ha"]
    if any(c not in landcover_area.columns for c in need):
        raise InputError("landcover_area.csv", f"needs columns {need}", "rerun build_layers")
    area = pd.to_numeric(landcover_area["area_ha"], errors="coerce").fillna(0.0)
    total = float(area.sum())
    if total <= 0:
        raise InputError("landcover_area.csv", "zero region area", "rerun build_layers")
    return 100.0 * float(area[landcover_area["ecosystem"] == forest].sum()) / total, total


# ---------------------------------------------------------------------------- units


def county_units(table: pd.DataFrame, catalog: pd.DataFrame, discount_rate: float) -> pd.DataFrame:
    """County x measure units (summed over ecosystems) with annual cost and province."""
    sub = table[table["region_level"] == "county"]
    pot = ["potential_low_tco2_yr", "potential_central_tco2_yr", "potential_high_tco2_yr"]
    g = (
        sub.groupby(["region_code", "region_name", "measure_id"], sort=False)[
            ["allocated_area_ha", *pot]
        ]
        .sum()
        .reset_index()
    )
    g = g.rename(columns={"region_code": "county_code", "region_name": "county_name"})
    code = pd.to_numeric(g["county_code"], errors="coerce").fillna(0).astype("int64")
    g["province_code"] = ((code // 10000) * 10000).astype(str)
    prov = table[table["region_level"] == "province"].drop_duplicates("region_code")
    g["province_name"] = g["province_code"].map(prov.set_index("region_code")["region_name"])
    g["province_name"] = g["province_name"].fillna(g["province_code"])
    per_ha = annual_cost_per_ha(catalog, discount_rate)
    g["annual_cost_cny_yr"] = g["allocated_area_ha"] * g["measure_id"].map(per_ha).astype(float)
    order = (
        catalog.set_index("id")["order"]
        if "order" in catalog.columns
        else pd.Series(range(len(catalog)), index=catalog["id"])
    )
    g["_ord"] = g["measure_id"].map(order)
    g["_code"] = code
    return g


def _eligible_measures(sc: dict, catalog: pd.DataFrame) -> set[str]:
    ids = set(catalog["id"])
    for key in ("measures", "exclude_measures"):
        bad = sorted(set(sc.get(key) or []) - ids)
        if bad:
            raise ConfigError(
                f"{sc.get('_path', 'scenario')}:{key}",
                f"unknown measures {bad}",
                "use ids of config/technologies.csv",
            )
    if sc.get("measures"):
        chosen = set(sc["measures"])
    elif sc["target"]["kind"] == "forest_cover_pct":
        tags = catalog.get("tags", pd.Series("", index=catalog.index)).fillna("").astype(str)
        chosen = set(catalog.loc[tags.str.split(";").map(lambda t: "tree_planting" in t), "id"])
    else:
        chosen = ids
    return chosen - set(sc.get("exclude_measures") or [])


def select_units(
    units: pd.DataFrame,
    contribution: np.ndarray,
    cost: np.ndarray,
    sink: np.ndarray,
    required: float,
    order: str,
) -> tuple[pd.DataFrame, float]:
    """Greedy selection: ``(selected units with fraction, total available contribution)``.

    Units with a non-positive contribution are never taken. The last unit is fractional so the
    selection meets ``required`` exactly when it is reachable.
    """
    ok = contribution > 0
    u = units[ok].copy()
    u["_contrib"] = contribution[ok]
    u["_cost"] = cost[ok]
    u["_sink"] = sink[ok]
    u["_cpu"] = np.where(np.isfinite(u["_cost"]), u["_cost"] / u["_contrib"], np.inf)
    if order == "cost":
        keys, asc = ["_cpu", "_code", "_ord"], [True, True, True]
    elif order == "sink":
        keys, asc = ["_sink", "_code", "_ord"], [False, True, True]
    else:
        raise ConfigError("scenario.order", f"{order!r}", "use cost or sink")
    u = u.sort_values(keys, ascending=asc, kind="mergesort").reset_index(drop=True)
    available = float(u["_contrib"].sum())
    if required <= 0:
        return u.iloc[:0].assign(fraction=[]), available
    cum = u["_contrib"].cumsum().to_numpy()
    n = int(np.searchsorted(cum, required, side="left"))
    if n >= len(u):
        sel = u.assign(fraction=1.0)
    else:
        sel = u.iloc[: n + 1].copy()
        before = cum[n - 1] if n > 0 else 0.0
        frac = np.ones(len(sel))
        frac[-1] = (required - before) / sel["_contrib"].iat[-1]
        sel["fraction"] = frac
    return sel, available


def run_scenario(
    sc: dict,
    table: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    discount_rate: float,
    landcover_area: pd.DataFrame | None,
    figures: pd.DataFrame | None,
    top_n: int = 5,
) -> tuple[dict, pd.DataFrame]:
    """One scenario: ``(summary row, selected units)``."""
    where = sc.get("_path", sc["id"])
    t = sc["target"]
    target, src = resolve(t["value"], figures, f"{where}:target.value")
    sources = [t["source"]] + ([src] if src else [])
    basis = sc["basis"]
    dr = discount_rate if sc.get("discount_rate") is None else float(sc["discount_rate"])
    units = county_units(table, catalog, dr)
    units = units[units["measure_id"].isin(_eligible_measures(sc, catalog))].reset_index(drop=True)
    sink = units[f"potential_{basis}_tco2_yr"].to_numpy(float)
    cost = units["annual_cost_cny_yr"].to_numpy(float)
    if t["kind"] == "forest_cover_pct":
        if landcover_area is None:
            raise InputError(
                "landcover_area.csv",
                "needed for forest_cover_pct",
                "add the input to run_scenarios",
            )
        lc_pct, region_ha = forest_cover_pct(landcover_area)
        if t.get("baseline") is None:
            baseline, bsrc = lc_pct, "forest share of landcover_area.csv"
        else:
            baseline, bsrc = resolve(t["baseline"], figures, f"{where}:target.baseline")
            bsrc = bsrc or "scenario baseline"
        sources.append(f"baseline: {bsrc}")
        unit_name = "% forest cover"
        required = target - baseline
        contribution = units["allocated_area_ha"].to_numpy(float) / region_ha * 100.0
        scale = 1.0
    else:
        current, csrc = resolve(t["current"], figures, f"{where}:target.current")
        if csrc:
            sources.append(f"current: {csrc}")
        baseline, unit_name = current, "Gt CO2/yr"
        required = (target - current) * GT
        contribution = sink
        scale = GT
    sel, available = select_units(units, contribution, cost, sink, required, sc["order"])
    f = sel["fraction"].to_numpy(float) if len(sel) else np.zeros(0)
    achieved = float((sel["_contrib"].to_numpy(float) * f).sum()) if len(sel) else 0.0
    sel_sink = float((sel["_sink"].to_numpy(float) * f).sum()) if len(sel) else 0.0
    sel_cost = float((sel["_cost"].to_numpy(float) * f).sum()) if len(sel) else 0.0
    reachable = required <= available + 1e-9 * max(1.0, abs(required))
    prov = pd.Series(dtype=float)
    if len(sel):
        prov = (
            sel.assign(_c=sel["_contrib"] * f)
            .groupby("province_name", sort=False)["_c"]
            .sum()
            .sort_values(ascending=False, kind="mergesort")
        )
    top = (
        "; ".join(f"{k} {100 * v / achieved:.1f}%" for k, v in prov.head(top_n).items())
        if achieved > 0
        else ""
    )
    row = {
        "scenario_id": sc["id"],
        "name": sc["name_en"],
        "kind": t["kind"],
        "target": target,
        "target_unit": unit_name,
        "baseline": baseline,
        "required": max(required, 0.0) / scale,
        "achievable_max": available / scale,
        "achieved": achieved / scale,
        "reachable": "true" if reachable else "false",
        "shortfall": max(required - available, 0.0) / scale,
        "units": int(len(sel)),
        "counties": int(sel["county_code"].nunique()) if len(sel) else 0,
        "provinces": int(sel["province_code"].nunique()) if len(sel) else 0,
        "area_ha": float((sel["allocated_area_ha"].to_numpy(float) * f).sum()) if len(sel) else 0.0,
        "sink_tco2_yr": sel_sink,
        "annual_cost_cny_yr": sel_cost,
        "mean_cost_cny_tco2": sel_cost / sel_sink if sel_sink > 0 else np.nan,
        "marginal_cost_cny_tco2": (sel["_cost"].iat[-1] / sel["_sink"].iat[-1])
        if len(sel) and sel["_sink"].iat[-1] > 0
        else np.nan,
        "top_provinces": top,
        "order": sc["order"],
        "basis": basis,
        "source": " | ".join(sources),
        "note": sc.get("note", "").strip(),
    }
    detail = pd.DataFrame(
        {
            "scenario_id": sc["id"],
            "rank": np.arange(1, len(sel) + 1),
            "county_code": sel["county_code"].to_numpy(),
            "county_name": sel["county_name"].to_numpy(),
            "province_code": sel["province_code"].to_numpy(),
            "province_name": sel["province_name"].to_numpy(),
            "measure_id": sel["measure_id"].to_numpy(),
            "fraction": f,
            "area_ha": sel["allocated_area_ha"].to_numpy(float) * f,
            "sink_tco2_yr": sel["_sink"].to_numpy(float) * f,
            "annual_cost_cny_yr": sel["_cost"].to_numpy(float) * f,
            "cost_per_unit": sel["_cpu"].to_numpy(float),
            "cumulative_contribution": np.cumsum(sel["_contrib"].to_numpy(float) * f) / scale,
        },
        columns=UNIT_COLUMNS,
    )
    log.info(
        "scenario %s: required %.4g %s, available %.4g, reachable %s, %d units",
        sc["id"],
        row["required"],
        unit_name,
        row["achievable_max"],
        row["reachable"],
        len(sel),
    )
    return row, detail


# ---------------------------------------------------------------------------- doubling


def doubling_rows(
    uncertainty: pd.DataFrame,
    figures: pd.DataFrame,
    horizons: pd.DataFrame | None = None,
    *,
    current_id: str = "current_sink",
    target_id: str = "target_sink",
    year: int | None = None,
) -> list[dict]:
    """Is the paper's doubling (2.0-2.5 Gt CO2/yr) reachable? One row per basis.

    Added sink = national allocated potential at P50 (P5-P95) - the steady state once every
    allocated hectare is under its measure - and, when ``horizons`` is given, the time-path
    annual sink at ``year`` (default: the last horizon). Total = current sink (published range)
    + added. ``reachable`` is ``yes`` when P50 + current low >= target high, ``partly`` when
    P50 + current high >= target low, else ``no``.
    """
    cur_lo, cur_hi = (float(figures.loc[current_id, b]) for b in ("low", "high"))
    tgt_lo, tgt_hi = (float(figures.loc[target_id, b]) for b in ("low", "high"))
    nat = uncertainty[uncertainty["region_level"] == "nation"]
    if nat.empty:
        raise InputError("potential_uncertainty.csv", "no nation row", "rerun compute_uncertainty")
    bases = [
        (
            "steady-state allocated potential",
            nat["p5_tco2_yr"].iat[0],
            nat["p50_tco2_yr"].iat[0],
            nat["p95_tco2_yr"].iat[0],
            "doubling_potential",
        )
    ]
    if horizons is not None and len(horizons):
        h = horizons[horizons["region_level"] == "nation"]
        yr = int(h["horizon"].max()) if year is None else int(year)
        h = h[h["horizon"] == yr]
        if len(h):
            bases.append(
                (
                    f"annual sink in {yr} on the implementation schedule",
                    h["annual_p5_tco2"].iat[0],
                    h["annual_p50_tco2"].iat[0],
                    h["annual_p95_tco2"].iat[0],
                    f"doubling_{yr}",
                )
            )
    rows = []
    for label, p5, p50, p95, sid in bases:
        p5, p50, p95 = (float(v) / GT for v in (p5, p50, p95))
        if p50 + cur_lo >= tgt_hi:
            verdict = "yes"
            why = f"P50 added {p50:.2f} + current low {cur_lo:.2f} >= target high {tgt_hi:.2f}"
        elif p50 + cur_hi >= tgt_lo:
            verdict = "partly"
            why = (
                f"P50 added {p50:.2f} + current {cur_lo:.2f}-{cur_hi:.2f} = "
                f"{p50 + cur_lo:.2f}-{p50 + cur_hi:.2f} overlaps target "
                f"{tgt_lo:.2f}-{tgt_hi:.2f} only in part"
            )
        else:
            verdict = "no"
            why = (
                f"P50 added {p50:.2f} + current high {cur_hi:.2f} = {p50 + cur_hi:.2f} "
                f"< target low {tgt_lo:.2f} (short by {tgt_lo - p50 - cur_hi:.2f})"
            )
        if p95 + cur_hi < tgt_lo:
            why += "; not reachable even at P95 with the high current sink"
        elif p5 + cur_lo >= tgt_hi:
            why += "; reachable even at P5 with the low current sink"
        rows.append(
            {
                "scenario_id": sid,
                "name": f"paper's doubling to {tgt_lo:g}-{tgt_hi:g} Gt CO2/yr ({label})",
                "kind": "doubling_check",
                "target": tgt_hi,
                "target_unit": "Gt CO2/yr",
                "baseline": cur_lo,
                "required": tgt_hi - cur_lo,
                "achievable_max": p95,
                "achieved": p50,
                "reachable": verdict,
                "shortfall": max(tgt_lo - p50 - cur_hi, 0.0),
                "units": 0,
                "counties": 0,
                "provinces": 0,
                "area_ha": np.nan,
                "sink_tco2_yr": p50 * GT,
                "annual_cost_cny_yr": np.nan,
                "mean_cost_cny_tco2": np.nan,
                "marginal_cost_cny_tco2": np.nan,
                "top_provinces": "",
                "order": "",
                "basis": f"P5 {p5:.3f} / P50 {p50:.3f} / P95 {p95:.3f} Gt",
                "source": f"{current_id} {cur_lo:g}-{cur_hi:g} and {target_id} {tgt_lo:g}-{tgt_hi:g} "
                "Gt CO2/yr (Yu et al. 2022 abstract; config/published/yu2022_figures.csv)",
                "target_low": tgt_lo,
                "current_high": cur_hi,
                "added_p5_gtco2_yr": p5,
                "added_p50_gtco2_yr": p50,
                "added_p95_gtco2_yr": p95,
                "note": why + ". Protection measures (natural forest, wetland conservation) partly "
                "re-count the current sink; Eco-CCUS, inorganic and ocean sinks are not modelled.",
            }
        )
    return rows


def scenario_table(rows: Sequence[Mapping]) -> pd.DataFrame:
    """Scenario rows in the given order with fixed columns."""
    return pd.DataFrame(list(rows), columns=SCENARIO_COLUMNS)


# ---------------------------------------------------------------------------- figure


SCENARIO_TEXT = {  # chart labels, English and Chinese (config language)
    "bar": ("{a:.3g}/{r:.3g} {u}; {c:.1f} bn CNY/yr", "{a:.3g}/{r:.3g} {u}；{c:.1f} 亿元/年"),
    "met": (
        "target met (% of the required addition; red = unreachable)",
        "目标完成度（所需增量的百分比；红色 = 不可达）",
    ),
    "title": ("Target-seeking scenarios (county x measure units)", "目标情景（县 × 措施单元）"),
    "cur_low": ("current sink (low)", "现有碳汇（低值）"),
    "cur_high": ("current sink (high)", "现有碳汇（高值）"),
    "added": ("added, P50 (P5-P95)", "新增碳汇，P50（P5-P95）"),
    "range": ("paper's target range", "文献目标范围"),
    "gt": ("Gt CO$_2$/yr", "十亿吨CO$_2$/年"),
    "dtitle": ("Doubling check: current + added (P5-P95)", "翻番检验：现有 + 新增（P5-P95）"),
    "doubling_potential": ("", "翻番检验：稳态配置潜力"),
    "doubling_year": ("", "翻番检验：{y} 年实施进度下的年碳汇"),
    "% forest cover": ("% forest cover", "% 森林覆盖率"),
    "Gt CO2/yr": ("Gt CO2/yr", "十亿吨CO2/年"),
}


def scenario_label(row, language: str = "en", names_zh: Mapping[str, str] | None = None) -> str:
    """The name of a scenario row in `language` (Chinese from the scenario's name_zh, or a
    fixed label for the doubling-check rows; English otherwise)."""
    if language != "zh":
        return str(row["name"])
    sid = str(row["scenario_id"])
    if names_zh and names_zh.get(sid):
        return names_zh[sid]
    if sid == "doubling_potential":
        return SCENARIO_TEXT["doubling_potential"][1]
    if sid.startswith("doubling_") and sid[9:].isdigit():
        return SCENARIO_TEXT["doubling_year"][1].format(y=sid[9:])
    return str(row["name"])


# ---------------------------------------------------------------------------- summary


def _gt(x: float) -> str:
    return f"{x / GT:.2f}"


def summary_lines(
    horizons: pd.DataFrame,
    thresholds: pd.DataFrame,
    mac: pd.DataFrame,
    scenarios: pd.DataFrame,
) -> list[str]:
    """3-6 Markdown lines for ``summary.md``: horizon sinks, cost curve, doubling, targets.

    Inputs are the tables ``sequestration_horizons.csv``, ``cost_thresholds.csv``,
    ``mac_curve.csv`` and ``scenarios.csv`` (as read with pandas).
    """
    out = []
    h = horizons[horizons["region_level"] == "nation"].sort_values("horizon")
    if len(h):
        parts = [
            f"{int(r.horizon)}: {_gt(r.annual_p50_tco2)} Gt CO2/yr "
            f"(P5-P95 {_gt(r.annual_p5_tco2)}-{_gt(r.annual_p95_tco2)}; all rates central "
            f"{_gt(r.annual_central_tco2)}), cumulative {_gt(r.cumulative_p50_tco2)} Gt CO2 "
            f"({_gt(r.cumulative_p5_tco2)}-{_gt(r.cumulative_p95_tco2)})"
            for r in h.itertuples(index=False)
        ]
        out.append(
            "- Sink added by the allocated measures on the implementation schedule "
            "(Monte Carlo P50, P5-P95): " + "; ".join(parts) + "."
        )
    nat = mac[(mac["region_level"] == "nation") & mac["rank"].notna()]
    if len(nat):
        cheap = nat.head(3)
        out.append(
            f"- Cost curve: {len(nat)} measures from "
            f"{nat['cost_central_cny_tco2'].min():.0f} to {nat['cost_central_cny_tco2'].max():.0f}"
            f" CNY/t CO2 over {nat['cumulative_central_gtco2_yr'].max():.2f} Gt CO2/yr; cheapest "
            + ", ".join(
                f"{r.measure_id} ({r.cost_central_cny_tco2:.0f} CNY/t)"
                for r in cheap.itertuples(index=False)
            )
            + "."
        )
    th = thresholds[thresholds["region_level"] == "nation"]
    if len(th):
        out.append(
            "- Share of the central allocated potential at or below a price: "
            + ", ".join(
                f"{price_label(r.threshold, r.price_cny_tco2).replace('$_2$', '2')} "
                f"{100 * r.achievable_central_share:.0f} %"
                for r in th.itertuples(index=False)
            )
            + "."
        )
    scenarios = scenarios.copy()
    for c in ("target", "target_low", "required", "achieved", "shortfall", "annual_cost_cny_yr"):
        scenarios[c] = pd.to_numeric(scenarios[c], errors="coerce")
    for r in scenarios[scenarios["kind"] == "doubling_check"].itertuples(index=False):
        basis = r.name.split("(")[-1].rstrip(")")
        out.append(
            f"- Doubling to {r.target_low:g}-{r.target:g} Gt CO2/yr ({basis}): "
            f"**{r.reachable}**: {str(r.note).split('. ')[0]}."
        )
    tg = scenarios[scenarios["kind"] != "doubling_check"]
    if len(tg):
        out.append(
            "- Targets: "
            + "; ".join(
                f"{r.scenario_id} {'reachable' if r.reachable == 'true' else 'UNREACHABLE'} "
                f"({r.achieved:.3g} of {r.required:.3g} {r.target_unit}"
                + (f", short by {r.shortfall:.3g}" if r.reachable != "true" else "")
                + f", {r.annual_cost_cny_yr / 1e9:.1f} bn CNY/yr)"
                for r in tg.itertuples(index=False)
            )
            + "."
        )
    return out
