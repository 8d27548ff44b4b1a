"""The run summary (``results/{run}/summary.md``): totals, top provinces, zones, validation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sinkzone.aggregate import EXISTING_COLS, POTENTIAL_COLS, TECHNICAL_COLS
from sinkzone.errors import ConfigError
from sinkzone.units import GT

REALISTIC_POT = [f"realistic_potential_{b}_tco2_yr" for b in ("low", "central", "high")]


def not_mapped_measures(suitability_path: str | Path) -> dict[str, str]:
    """``{measure_id: reason}`` for measures with ``measures.<id>.not_mapped`` set."""
    from sinkzone.io import read_yaml

    doc = read_yaml(suitability_path) or {}
    measures = doc.get("measures")
    if not isinstance(measures, dict):
        raise ConfigError(
            f"{suitability_path}:measures",
            "missing or not a mapping",
            "see docs/ARCHITECTURE.md, Rules engine",
        )
    return {
        str(mid): str(spec["not_mapped"]).strip()
        for mid, spec in measures.items()
        if isinstance(spec, dict) and spec.get("not_mapped")
    }


def _gt(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x / GT:.3f}"


def _mt(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x / 1e6:.2f}"


def _row(cells: Sequence) -> str:
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


def _table(header: Sequence[str], rows: list[Sequence]) -> list[str]:
    out = [_row(header), _row(["---"] * len(header))]
    out += [_row(r) for r in rows]
    return out


def _triple(df: pd.DataFrame, cols: Sequence[str]) -> list[str]:
    return [_gt(df[c].sum(min_count=1)) for c in cols]


def _fig(figures: pd.DataFrame | None, fid: str) -> tuple[float, float] | None:
    if figures is None or fid not in set(figures["id"]):
        return None
    r = figures.set_index("id").loc[fid]
    return float(r["low"]), float(r["high"])


def doubling_verdict(
    added_p50: float,
    added_p5: float,
    added_p95: float,
    current: tuple[float, float],
    target: tuple[float, float],
) -> str:
    """``yes`` when the P50 added sink plus the low current sink reaches the target's low end,
    ``partly`` when only the high current sink does, else ``no`` (all in Gt CO2/yr)."""
    if added_p50 + current[0] >= target[0]:
        return "yes"
    if added_p50 + current[1] >= target[0]:
        return "partly"
    return "no"


def lead_lines(
    nat: pd.DataFrame,
    measures: pd.DataFrame,
    stack_factor: float,
    figures: pd.DataFrame | None = None,
    horizons: pd.DataFrame | None = None,
    caps: pd.DataFrame | None = None,
) -> list[str]:
    """The summary's lead: additional potential (realistic, mapped), the current sink apart,
    and the doubling verdict from the time path."""
    L = [
        "## Additional sink potential (Gt CO2/yr)",
        "",
        "What the measures would ADD to today's sink: catalog rate x `additional_share` "
        "(natural forest protection counts only reduced harvest and soil retention, Lu et al. "
        "2018; the rest of a protected ecosystem's sink is already in the current sink).",
        "",
    ]
    rows = []
    if all(c in nat.columns for c in REALISTIC_POT):
        rows.append(
            [
                "**realistic**: mapped allocated, limited by sourced caps "
                "(config/caps.csv: land for afforestation, grazing-ban area, manure "
                "supply, ...)",
                *_triple(nat, REALISTIC_POT),
            ]
        )
    rows.append(
        [
            "**mapped**: allocated on all eligible land (additive; stacked measures x "
            f"{stack_factor:g}^k)",
            *_triple(nat, POTENTIAL_COLS),
        ]
    )
    rows.append(
        [
            "mapped technical: per-measure eligible area x rate (NOT additive, measures overlap)",
            *_triple(nat, TECHNICAL_COLS),
        ]
    )
    L += _table(["potential", "low", "central", "high"], rows) + [""]
    if "realistic_area_ha" in measures.columns:
        m = measures[
            (measures["allocated_area_ha"] > 0)
            & (measures["realistic_area_ha"] < measures["allocated_area_ha"] - 1e-6)
        ]
        if len(m):
            src = {}
            if caps is not None and len(caps):
                for _, c in caps.iterrows():
                    for mid in str(c["measure_ids"]).split(";"):
                        est = str(c["is_estimate"]).strip().lower() in ("true", "1")
                        src[mid.strip()] = f"{c['cap_id']}{' (estimate)' if est else ''}"
            L += [
                "Caps that bind (the capped area is spread over provinces and counties in "
                "proportion to their mapped allocated area):",
                "",
            ]
            L += _table(
                ["measure", "mapped allocated (Mha)", "realistic (Mha)", "cap"],
                [
                    [
                        r["measure_id"],
                        f"{r['allocated_area_ha'] / 1e6:.2f}",
                        f"{r['realistic_area_ha'] / 1e6:.2f}",
                        src.get(r["measure_id"], ""),
                    ]
                    for _, r in m.iterrows()
                ],
            ) + [""]
    cur = _fig(figures, "current_sink")
    L += ["## Current sink (reported apart, never added to the potential)", ""]
    if cur:
        L.append(
            f"- China's current terrestrial ecosystem sink: {cur[0]:.1f}-{cur[1]:.1f} Gt CO2/yr "
            "(Yu et al. 2022 section 3.1, `current_sink`)."
        )
    if all(c in nat.columns for c in EXISTING_COLS):
        ex = [nat[c].sum(min_count=1) for c in EXISTING_COLS]
        if pd.notna(ex[1]) and ex[1] > 0:
            by = nat.groupby("measure_id")[EXISTING_COLS[1]].sum()
            names = ", ".join(f"{k} {_gt(v)}" for k, v in by[by > 0].items())
            L.append(
                f"- Gross sink of the land allocated to protection measures that is NOT "
                f"additional ({names}): {_gt(ex[0])} / {_gt(ex[1])} / {_gt(ex[2])} "
                "(low / central / high); it is part of the current sink."
            )
    L += ["", "## Doubling the sink (from the time path)", ""]
    tgt = _fig(figures, "target_sink")
    h = None
    if horizons is not None and len(horizons):
        h = horizons[horizons["region_level"] == "nation"].sort_values("horizon")
    if h is None or not len(h) or not cur or not tgt:
        L.append("No time path or no current/target figure: doubling verdict not computed.")
    else:
        r = h.iloc[-1]
        p50, p5, p95 = (float(r[f"annual_{q}_tco2"]) / GT for q in ("p50", "p5", "p95"))
        v = doubling_verdict(p50, p5, p95, cur, tgt)
        L.append(
            f"- Target {tgt[0]:.1f}-{tgt[1]:.1f} Gt CO2/yr (`target_sink`). In {int(r['horizon'])} the "
            f"time path (tables/sequestration_horizons.csv: the mapped allocated additional "
            f"potential on the implementation schedule, Monte Carlo) adds {p50:.2f} Gt CO2/yr "
            f"(P5-P95 {p5:.2f}-{p95:.2f}); with the current sink {cur[0]:.1f}-{cur[1]:.1f} the "
            f"total is {p50 + cur[0]:.2f}-{p50 + cur[1]:.2f} Gt CO2/yr: **{v}** (yes = P50 + "
            f"low current sink reaches {tgt[0]:.1f}; partly = only with the high current sink)."
        )
    L.append("")
    return L


def build_summary(
    table: pd.DataFrame,
    measures: pd.DataFrame,
    residues: pd.DataFrame | None,
    validation: pd.DataFrame | None,
    not_mapped: dict[str, str],
    *,
    run: str,
    zones_source: str,
    red_lines: str | None,
    stack_factor: float,
    landcover: str = "",
    language: str = "en",
    figures: pd.DataFrame | None = None,
    horizons: pd.DataFrame | None = None,
    caps: pd.DataFrame | None = None,
) -> str:
    """Markdown text of the run summary.

    ``table`` is the region table (``aggregate.region_table``), ``measures`` the national
    per-measure table, ``red_lines`` the red-line file used or None.
    """
    name = "name_en" if language == "en" else "name_zh"
    nat = table[table["region_level"] == "nation"]
    L: list[str] = [f"# sinkzone run summary: {run}", ""]
    if landcover:
        L += [f"Land cover: {landcover}.", ""]

    L += lead_lines(nat, measures, stack_factor, figures, horizons, caps)
    if "measure_ecosystem" in measures.columns:
        cols = POTENTIAL_COLS + [c for c in REALISTIC_POT[1:2] if c in measures.columns]
        by = measures.groupby("measure_ecosystem", sort=False)[cols].sum(min_count=1)
        L += [
            "Additional potential by the paper's ecosystem of the measure (Gt CO2/yr; mapped "
            "allocated low / central / high, then realistic central):",
            "",
        ]
        L += _table(
            ["ecosystem", "low", "central", "high", "realistic central"][: len(cols) + 1],
            [[eco, *[_gt(r[c]) for c in cols]] for eco, r in by.iterrows()],
        )
        L += [""]

    L += ["## Ten provinces with the largest allocated potential (Mt CO2/yr, mapped)", ""]
    prov = table[(table["region_level"] == "province") & (table["region_code"].astype(str) != "0")]
    if len(prov):
        g = prov.groupby(["region_code", name], sort=False)[POTENTIAL_COLS].sum(min_count=1)
        dom = (
            prov.groupby(["region_code", "measure_id"])["potential_central_tco2_yr"]
            .sum()
            .reset_index()
            .sort_values(
                ["region_code", "potential_central_tco2_yr"],
                ascending=[True, False],
                kind="mergesort",
            )
            .drop_duplicates("region_code")
            .set_index("region_code")["measure_id"]
        )
        g = (
            g.reset_index()
            .sort_values(
                ["potential_central_tco2_yr", "region_code"],
                ascending=[False, True],
                kind="mergesort",
            )
            .head(10)
        )
        rows = [
            [
                i + 1,
                r[name],
                r["region_code"],
                *[_mt(r[c]) for c in POTENTIAL_COLS],
                dom.get(r["region_code"], ""),
            ]
            for i, (_, r) in enumerate(g.iterrows())
        ]
        L += _table(
            ["rank", "province", "code", "low", "central", "high", "dominant measure"], rows
        )
    else:
        L += ["No province rows."]
    L += [""]

    label = "approximate" if zones_source == "approximate" else "official"
    L += [f"## Zones and belts ({label}) (Gt CO2/yr)", ""]
    if zones_source == "approximate":
        L += [
            "These zones are an APPROXIMATION built by the recipe in config `zones.items`, "
            "not the official boundaries of the 2020 plan. A cell may lie in several zones, "
            "so zone totals do not add up to the nation.",
            "",
        ]
    zon = table[table["region_level"] == "zone"]
    nat_c = nat["potential_central_tco2_yr"].sum()
    rows = []
    for code, sub in zon.groupby("region_code", sort=False):
        c = sub["potential_central_tco2_yr"].sum()
        share = f"{c / nat_c:.1%}" if nat_c else "n/a"
        rows.append([sub[name].iloc[0], code, *_triple(sub, POTENTIAL_COLS), share])
    L += (
        _table(["zone", "id", "low", "central", "high", "share of nation"], rows)
        if rows
        else ["No zone rows."]
    )
    L += [""]

    if residues is not None and len(residues):
        L += ["## Eco-CCUS residues (Gt CO2/yr)", ""]
        rn = residues[residues["region_level"] == "nation"]
        L += _table(
            ["ecosystem", "area (Mha)", "production", "removable share", "Eco-CCUS", "estimate"],
            [
                [
                    r["ecosystem"],
                    f"{r['land_area_ha'] / 1e6:.2f}",
                    _gt(r["production_tco2_yr"]),
                    f"{float(r['removable_share']):g}",
                    _gt(r["eco_ccus_tco2_yr"]),
                    "yes" if str(r["is_estimate"]).lower() in ("true", "1") else "no",
                ]
                for _, r in rn.iterrows()
            ],
        )
        L += [""]

    L += ["## Validation against Yu et al. 2022", ""]
    if validation is not None and len(validation):
        like = (
            validation["like_for_like"].astype(str).str.lower().isin(["true", "1"])
            if "like_for_like" in validation.columns
            else pd.Series(True, index=validation.index)
        )
        L += [
            "One row per figure and basis; `*` marks the like-for-like basis (how the paper "
            "computed the figure: `activity` = public activity statistics x catalog rates). "
            "Verdict = interval overlap of the pipeline's low-high with the published range "
            "(plus a stated tolerance for single-valued figures); `calibrated` = a factor was "
            "derived from the figure itself, so it is not a validation.",
            "",
        ]
        basis = validation["basis"] if "basis" in validation.columns else ""
        L += _table(
            ["figure", "basis", "published", "pipeline (low-high)", "unit", "verdict", "reason"],
            [
                [
                    r["figure_id"],
                    f"{b}{' *' if lk else ''}",
                    f"{r['published_low']:g}-{r['published_high']:g}",
                    f"{r['pipeline_value']:.3f} ({r['pipeline_low']:.3f}-{r['pipeline_high']:.3f})",
                    r["unit"],
                    r["verdict"],
                    r["reason"],
                ]
                for (_, r), b, lk in zip(validation.iterrows(), basis, like, strict=True)
            ],
        )
        counts = validation.loc[like, "verdict"].value_counts()
        L += [
            "",
            "Like-for-like rows: "
            + ", ".join(
                f"{k}: {int(counts.get(k, 0))}" for k in ("within", "below", "above", "calibrated")
            ),
        ]
    else:
        L += ["No figures compared."]
    L += [""]

    L += ["## Ecological red lines", ""]
    if red_lines:
        L += [
            f"Red lines supplied ({red_lines}): inside them only measures tagged "
            "`protection` are allocated."
        ]
    else:
        L += [
            "No red-line file supplied (official ecological red lines are not public): the "
            "red-line constraint was NOT applied; set `red_lines.path` to apply it."
        ]
    L += [""]

    L += ["## Not mapped", ""]
    if not_mapped:
        names = measures.set_index("measure_id")[name] if len(measures) else pd.Series(dtype=str)
        for mid in sorted(not_mapped):
            L.append(f"- `{mid}` ({names.get(mid, '')}): {not_mapped[mid]}")
    else:
        L.append("Every measure is mapped.")
    unmapped_rows = (
        measures[~measures["mapped"].astype(str).str.lower().isin(["true", "1"])]
        if "mapped" in measures.columns
        else measures.iloc[0:0]
    )
    extra = sorted(set(unmapped_rows["measure_id"]) - set(not_mapped))
    if extra:
        L.append(f"- No eligible land found in this run for: {', '.join(extra)}")
    L.append("")
    return "\n".join(L)


# ---------------------------------------------------------------------------- blue carbon


def marine_not_mapped(marine_enabled: bool, reefs_path: str | None) -> dict[str, str]:
    """Reasons for marine measures that a run cannot map (added to the "Not mapped" list)."""
    out = {}
    if not reefs_path:
        out["coral_reef_rebuilding"] = (
            "no coral reef extent supplied (set marine.reefs.path to a reef polygon file; no "
            "package ships reef extents)"
        )
    if not marine_enabled:
        for mid in ("shellfish_farming", "seaweed_farming"):
            out[mid] = "the near-shore sea is off (region.marine.enabled: false): no sea cells"
    return out


def blue_carbon_section(table: pd.DataFrame, blue: pd.DataFrame, stats: pd.DataFrame,
                        marine_enabled: bool, language: str = "en") -> list[str]:  # fmt: skip
    """Markdown lines: blue carbon apart from land (sea cells, coastal and marine measures)."""
    name = "name_en" if language == "en" else "name_zh"
    L = ["## Blue carbon, apart from land (Mt CO2/yr)", ""]
    if not marine_enabled:
        L += [
            "The near-shore sea is off (`region.marine.enabled: false`): no sea cells; only "
            "coastal wetland measures on land cells are mapped.",
            "",
        ]
    st = dict(zip(stats["key"], stats["value"], strict=True)) if len(stats) else {}
    nat = table[table["region_level"] == "nation"]
    sea = nat[nat["ecosystem"] == "sea"]
    land = nat[nat["ecosystem"] != "sea"]
    L += _table(
        ["part", "low", "central", "high"],
        [
            ["sea cells (allocated)", *[_mt(sea[c].sum()) for c in POTENTIAL_COLS]],
            ["land cells (allocated)", *[_mt(land[c].sum()) for c in POTENTIAL_COLS]],
        ],
    )
    L += [
        "",
        f"Sea cells: {int(st.get('sea_cells', 0))}, "
        f"{float(st.get('sea_area_km2', 0.0)):,.0f} km2 (true cell areas). Mangrove restoration "
        f"cells: {int(st.get('mangrove_cells', 0))} (northernmost centre "
        f"{float(st.get('mangrove_max_lat', float('nan'))):.2f} N; natural limit 27.33 N), "
        f"salt-marsh restoration north of it: "
        f"{float(st.get('salt_marsh_area_ha', 0.0)) / 1e3:,.1f} kha.",
        "",
    ]
    nb = blue[blue["region_level"] == "nation"]
    if len(nb):
        L += [
            "Coastal and marine measures, nation. Mapped = eligible area x rate (where depth "
            "and distance fit); realistic = capped by the recorded farmed area "
            "(config/mariculture_areas.csv; ESTIMATES until the yearbook rows are filled in).",
            "",
        ]
        L += _table(
            ["measure", "eligible (kha)", "of it sea (kha)", "mapped central", "recorded (kha)",
             "realistic central", "cap"],
            [[r["measure_id"], f"{r['eligible_area_ha'] / 1e3:,.1f}",
              f"{r['eligible_sea_area_ha'] / 1e3:,.1f}", _mt(r["mapped_central_tco2_yr"]),
              "n/a" if pd.isna(r["recorded_area_ha"]) else f"{r['recorded_area_ha'] / 1e3:,.1f}",
              _mt(r["realistic_central_tco2_yr"]),
              "estimate" if str(r["cap_is_estimate"]).lower() in ("true", "1") else
              ("recorded" if not pd.isna(r["recorded_area_ha"]) else "none")]
             for _, r in nb.iterrows()])  # fmt: skip
        L += [""]
    pb = blue[(blue["region_level"] == "province")]
    if len(pb):
        g = (pb.groupby(["region_code", name], sort=False)[
            ["mapped_central_tco2_yr", "realistic_central_tco2_yr"]].sum().reset_index()
             .sort_values(["realistic_central_tco2_yr", "region_code"], ascending=[False, True],
                          kind="mergesort"))  # fmt: skip
        L += [
            "By coastal province (sea cells take the province of the nearest point of China's "
            "coast):",
            "",
        ]
        L += _table(["province", "code", "mapped central", "realistic central"],
                    [[r[name], r["region_code"], _mt(r["mapped_central_tco2_yr"]),
                      _mt(r["realistic_central_tco2_yr"])] for _, r in g.iterrows()])  # fmt: skip
        L += [""]
    L += [
        "The paper's blue-carbon figures (coastal blue carbon 0.07-0.09, offshore sea "
        "0.22-0.24 Gt CO2/yr) are CURRENT sinks; the numbers above are POTENTIALS of added "
        "measures (see validation.csv, verdict not_comparable).",
        "",
    ]
    return L
