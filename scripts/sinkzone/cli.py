"""The `sinkzone` command line: explain one cell of a finished run, list land-cover legends.

    sinkzone explain --run default --lon 116.4 --lat 39.9 [--json] [--lang zh] [--verbose]
    sinkzone legends [NAME]
    sinkzone serve --run default [--port 8765]   (interactive map, see sinkzone.serve)

`explain` (computed by `sinkzone.explain.explain_cell`, formatted here) prints the layer
values with the names of their codes (province and county from prep/regions.csv, land-cover
class from the legend, ecosystem, climate group, zones), then for every measure: eligible /
not eligible / not mapped, its rank in the allocation order, the failing conditions with the
cell's actual values, the constraints that removed it, the allocated share and potential, and
for an eligible measure that got less than its share the measures that took the land (a
conversion, or a higher-ranked measure of its exclusive group). `--verbose` adds the
conditions and constraints that passed; `--lang zh` writes every phrase in Chinese (condition
expressions stay as written in config/suitability.yaml; its descriptions and not-mapped
reasons are printed from their `description_zh` / `not_mapped_zh` keys); `--json`
prints the dict (both languages). Exit codes: 0 ok, 2 bad point or missing run, 1 config
error, 141 when the reader closed the pipe (`| head`), quietly.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import yaml

from sinkzone import layerspec
from sinkzone.errors import SinkzoneError
from sinkzone.explain import (  # noqa: F401 (re-exported: the web app imports them from here)
    RASTER_LAYERS,
    PointError,
    explain_cell,
    locate,
    read_cell,
)

# Every phrase of the text output, English and Chinese (`--lang`).
TEXT = {
    "cell": (
        "Cell at lon {lon}, lat {lat} (grid row {row}, col {col}), area {area:.2f} ha, run {run}",
        "单元：经度 {lon}，纬度 {lat}（网格第 {row} 行，第 {col} 列），面积 {area:.2f} 公顷，"
        "运行 {run}",
    ),
    "layers": ("Layers:", "图层："),
    "primary": (
        "Primary measure: {name}; allocated potential {low:.3g} / {central:.3g} / "
        "{high:.3g} t CO2/yr (low / central / high)",
        "主要措施：{name}；配置潜力 {low:.3g} / {central:.3g} / {high:.3g} 吨CO2/年"
        "（低 / 中 / 高）",
    ),
    "none": ("none", "无"),
    "measures": (
        "Measures (rank = allocation order, 1 first):",
        "技术措施（排序 = 配置顺序，1 为最先）：",
    ),
    "eligible": ("eligible", "适宜"),
    "not eligible": ("not eligible", "不适宜"),
    "not mapped": ("not mapped", "未制图"),
    "alloc": (
        ", rank {rank}, share {share:.1f} %, allocated {alloc:.1f} % ({ha:.2f} ha, stack "
        "position {sp}), central potential {pot:.3g} t CO2/yr",
        "，排序 {rank}，可用比例 {share:.1f} %，配置 {alloc:.1f} %（{ha:.2f} 公顷，叠加位次 "
        "{sp}），中值潜力 {pot:.3g} 吨CO2/年",
    ),
    "rank": (", rank {rank}", "，排序 {rank}"),
    "fails": ("      fails: {cond} -- actual {actual}", "      不满足：{cond} —— 实际值 {actual}"),
    "passes": ("      passes: {cond} -- actual {actual}", "      满足：{cond} —— 实际值 {actual}"),
    "no data": (" (no data)", "（无数据）"),
    "removed": (
        "      removed by constraint {id} (principle {principle}): {description}",
        "      被约束 {id}（原则 {principle}）排除：{description}",
    ),
    "constraint ok": (
        "      constraint {id} (principle {principle}) does not apply here",
        "      约束 {id}（原则 {principle}）在此不适用",
    ),
    "lost": (
        "      not allocated on {lost:.1f} % of the cell: the land went to {takers}",
        "      有 {lost:.1f} % 的单元面积未配置：该土地已配置给 {takers}",
    ),
    "taker conversion": (
        "the higher-ranked conversion {name} (rank {rank}, {p:.1f} %)",
        "排序更靠前的土地转换措施 {name}（排序 {rank}，{p:.1f} %）",
    ),
    "taker converted": (
        "conversion to {name} (conversions are allocated before every "
        "management measure; rank {rank}, {p:.1f} %)",
        "土地转换措施 {name}（土地转换措施先于所有管理措施配置；排序 {rank}，{p:.1f} %）",
    ),
    "taker management_first": (
        "management before conversion: {name} took the land first (rank {rank}, {p:.1f} %)",
        "先管理后转换：{name} 先占用了土地（排序 {rank}，{p:.1f} %）",
    ),
    "taker group": (
        "the higher-ranked {name} of its exclusive group '{group}' (rank {rank}, {p:.1f} %)",
        "同一互斥组“{group}”中排序更靠前的 {name}（排序 {rank}，{p:.1f} %）",
    ),
    "and": ("; ", "；"),
    "stacked": (
        "      stacked on {n} higher-ranked measure(s) of other groups: counted x {f:g}",
        "      叠加在其他组 {n} 项排序更靠前的措施之上：按 {f:g} 倍计",
    ),
}
LAYER_ZH = {  # config/layers.yaml
    n: v["name_zh"] for sec in ("layers", "computed") for n, v in layerspec.spec()[sec].items()
}
VALUE_ZH = {"no data": "无数据", "true": "是", "false": "否", "none": "无"}


def _t(key: str, lang: str) -> str:
    return TEXT[key][1 if lang == "zh" else 0]


def _layer_line(k: str, v: dict, d: dict, lang: str) -> str:
    zh = lang == "zh"
    value = VALUE_ZH.get(v["value"], v["value"]) if zh else v["value"]
    name = v.get("name_zh" if zh else "name_en")
    if k in ("province", "county", "landcover", "climate") and name:
        value = f"{value} {name}"
    elif k == "ecosystem" and name and name.lower() != str(v["value"]).lower():
        value = f"{value} ({name})"
    if k == "zones" and d["zones"]:
        value += (
            " (" + "; ".join(z["name_zh" if zh else "name_en"] or z["id"] for z in d["zones"]) + ")"
        )
    label = f"{LAYER_ZH.get(k, k)} {k}" if zh else k
    return f"  {label:<{22 if zh else 10}} {value}"


def format_text(d: dict, lang: str = "en", verbose: bool = False) -> str:
    """The explanation as text, every phrase in `lang` (en or zh); `verbose` adds the
    conditions and constraints that passed."""
    zh = lang == "zh"
    name = "name_zh" if zh else "name_en"
    lines = [
        _t("cell", lang).format(
            lon=d["lon"],
            lat=d["lat"],
            row=d["row"],
            col=d["col"],
            area=d["cell_area_ha"],
            run=d.get("run", ""),
        ),
        "",
        _t("layers", lang),
    ]
    lines += [_layer_line(k, v, d, lang) for k, v in d["layers"].items()]
    pot = d["potential_tco2_yr"]
    primary = _t("none", lang)
    if d["primary"]:
        pname = d.get(f"primary_{name}") or ""
        primary = f"{d['primary']} ({pname})" if pname else d["primary"]
    lines += ["", _t("primary", lang).format(name=primary, **pot), "", _t("measures", lang)]
    for m in d["measures"]:
        head = f"  {m['id']} ({m[name]}): {_t(m['status'], lang)}"
        if m["status"] == "not mapped":
            lines.append(f"{head} -- {(zh and m.get('reason_zh')) or m['reason']}")
            continue
        if m["status"] == "eligible":
            head += _t("alloc", lang).format(
                rank=m.get("rank", "?"),
                share=m["share_permille"] / 10,
                alloc=m["allocated_permille"] / 10,
                ha=m["allocated_ha"],
                sp=m["stack_pos"],
                pot=m["potential_tco2_yr"]["central"],
            )
        elif verbose and "rank" in m:
            head += _t("rank", lang).format(rank=m["rank"])
        lines.append(head)
        for f in m.get("failed", []):
            actual = VALUE_ZH.get(f["actual"], f["actual"]) if zh else f["actual"]
            lines.append(
                _t("fails", lang).format(cond=f["condition"], actual=actual)
                + (_t("no data", lang) if f["reason"] == "no data" else "")
            )
        for c in m.get("removed_by", []):
            lines.append(_t("removed", lang).format(**_in_lang(c, zh)))
        lost = m.get("not_allocated")
        if lost:
            takers = _t("and", lang).join(
                _t(f"taker {t['kind']}", lang).format(
                    name=f"{t['id']} ({t[name]})",
                    rank=t["rank"],
                    p=t["permille"] / 10,
                    group=m["group"],
                )
                for t in lost["taken_by"]
            )
            lines.append(_t("lost", lang).format(lost=lost["permille"] / 10, takers=takers))
        if m.get("stack_pos") and m["status"] == "eligible" and m["allocated_permille"]:
            lines.append(
                _t("stacked", lang).format(
                    n=m["stack_pos"], f=m.get("stack_factor", 0.5 ** m["stack_pos"])
                )
            )
        if verbose:
            for f in m.get("passed", []):
                actual = VALUE_ZH.get(f["actual"], f["actual"]) if zh else f["actual"]
                lines.append(_t("passes", lang).format(cond=f["condition"], actual=actual))
            for c in m.get("constraints_passed", []):
                lines.append(_t("constraint ok", lang).format(**_in_lang(c, zh)))
    return "\n".join(lines)


def _in_lang(c: dict, zh: bool) -> dict:
    """A constraint entry with its description in Chinese when asked and written in config
    (`description_zh` in config/suitability.yaml), else as written."""
    if zh and c.get("description_zh"):
        return {**c, "description": c["description_zh"]}
    return c


def refuse_incomplete_run(run_dir: Path) -> int:
    """Entry guard of `explain`: 1 (with one line on stderr) when the run did not complete
    (sinkzone.runstate.check_complete: RUN_INCOMPLETE present), else 0."""
    from sinkzone.runstate import RunIncompleteError, check_complete

    if not Path(run_dir).is_dir():
        return 0  # explain_cell says how to make the run
    try:
        check_complete(run_dir)
    except RunIncompleteError as e:
        print(f"sinkzone explain: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_explain(args) -> int:
    if refuse_incomplete_run(Path(args.results_dir) / args.run):
        return 1
    config_path = Path(args.config)
    try:
        cfg = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except OSError as e:
        print(f"sinkzone: cannot read {config_path}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        d = explain_cell(cfg, config_path, Path(args.results_dir), args.run, args.lon, args.lat)
    except PointError as e:
        print(f"sinkzone explain: {e}", file=sys.stderr)
        return 2
    except SinkzoneError as e:
        print(f"sinkzone explain: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(d, ensure_ascii=False, indent=1, default=str))
    else:
        print(format_text(d, args.lang, verbose=args.verbose))
    return 0


def cmd_legends(args) -> int:
    folder = Path(args.legends_dir)
    files = sorted(folder.glob("*.csv"))
    if not args.name:
        for f in files:
            with open(f, encoding="utf-8", newline="") as fh:
                n = sum(1 for _ in csv.DictReader(fh))
            print(f"{f.stem:<16} {n:>3} classes  {f}")
        return 0
    path = folder / f"{args.name}.csv"
    if not path.exists():
        print(
            f"sinkzone legends: no legend {args.name!r}; available: {[f.stem for f in files]}",
            file=sys.stderr,
        )
        return 2
    with open(path, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            print(f"{r['code']:>5}  {r['ecosystem']:<10} {r['name']}")
    return 0


def cmd_serve(args) -> int:
    from sinkzone.serve import ServeError, serve

    config_path = Path(args.config)
    try:
        cfg = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except OSError as e:
        print(f"sinkzone: cannot read {config_path}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        serve(
            args.run,
            Path(args.results_dir),
            cfg,
            config_path,
            args.host,
            args.port,
            ready=lambda url: print(f"sinkzone serve: {url} (Ctrl-C to stop)", flush=True),
        )
    except ServeError as e:
        print(f"sinkzone serve: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(
            f"sinkzone serve: cannot listen on {args.host}:{args.port}: {e.strerror}; fix: "
            "pick another --port",
            file=sys.stderr,
        )
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sinkzone", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("explain", help="why each measure is (not) eligible on one cell")
    e.add_argument("--run", default="default", help="run name (results/{run}), default: default")
    e.add_argument("--lon", type=float, required=True, help="longitude, degrees (EPSG:4326)")
    e.add_argument("--lat", type=float, required=True, help="latitude, degrees (EPSG:4326)")
    e.add_argument("--json", action="store_true", help="print JSON instead of text")
    e.add_argument("--results-dir", default="results", help="results folder (default results)")
    e.add_argument("--config", default="config/config.yaml", help="the run's configuration")
    e.add_argument(
        "--lang",
        choices=["en", "zh"],
        default="en",
        help="language of the text (en, zh); JSON carries both",
    )
    e.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show the conditions and constraints that passed",
    )
    e.set_defaults(func=cmd_explain)
    s = sub.add_parser("serve", help="the run's interactive map on localhost (offline)")
    s.add_argument("--run", default="default", help="run name (results/{run}), default: default")
    s.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 = any free)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--results-dir", default="results", help="results folder (default results)")
    s.add_argument("--config", default="config/config.yaml", help="the run's configuration")
    s.set_defaults(func=cmd_serve)
    g = sub.add_parser("legends", help="list land-cover legends, or the classes of one")
    g.add_argument("name", nargs="?", help="legend name, e.g. igbp")
    g.add_argument("--legends-dir", default="config/legends", help="default config/legends")
    g.set_defaults(func=cmd_legends)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rc = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed the pipe (`sinkzone explain ... | head -1`): stop quietly. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by SIGPIPE
    return rc


if __name__ == "__main__":
    sys.exit(main())
