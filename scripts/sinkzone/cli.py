"""The `sinkzone` command line: explain one cell of a finished run, list land-cover legends.

    sinkzone explain --run default --lon 116.4 --lat 39.9 [--json] [--lang zh]
    sinkzone legends [NAME]
    sinkzone serve --run default [--port 8765]   (interactive map, see sinkzone.serve)

`explain` reads the layer mosaics results/{run}/layers/*.tif and results/{run}/prep/grid.json,
re-evaluates config/suitability.yaml on that one cell with the same code as assign_tile, and
prints the layer values, then for every measure: eligible / not eligible / not mapped, the
failing conditions with the cell's actual values, the constraints that removed it, and the
allocated share and potential. Exit codes: 0 ok, 2 bad point or missing run, 1 config error.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import rasterio
import yaml
from pyproj import Transformer
from rasterio.windows import Window

from sinkzone.allocate import allocate, eligibility, measure_shares, specs_from_catalog
from sinkzone.catalog import load_catalog, ranking_order
from sinkzone.errors import SinkzoneError
from sinkzone.grid import cell_areas_m2, grid_transform
from sinkzone.rules import (
    LAYERS,
    cell_state,
    describe_value,
    explain,
    load_ruleset,
    load_vocab,
    zone_names,
)

RASTER_LAYERS = (
    "landcover",
    "ecosystem",
    "region",
    "province",
    "county",
    "elevation",
    "steep15",
    "steep25",
    "climate",
    "precip",
    "coast_km",
    "zones",
    "red_line",
)
DEFAULT_RANKING = ["comprehensive_index", "carbon_sink_effect", "technology_maturity"]


class PointError(Exception):
    """The point cannot be explained (outside grid/region, run missing): exit 2."""


def _resolve(path: str, config_path: Path) -> Path:
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    alt = config_path.resolve().parent.parent / p
    return alt if alt.exists() else p


def locate(grid: dict, lon: float, lat: float) -> tuple[int, int]:
    """(row, col) of the grid cell containing lon/lat (EPSG:4326); PointError outside."""
    x, y = lon, lat
    if not grid["is_geographic"]:
        x, y = Transformer.from_crs("EPSG:4326", grid["crs"], always_xy=True).transform(lon, lat)
    col_f, row_f = ~grid_transform(grid) @ (x, y)
    row, col = int(np.floor(row_f)), int(np.floor(col_f))
    if not (0 <= row < grid["height"] and 0 <= col < grid["width"]):
        raise PointError(
            f"lon {lon}, lat {lat} is outside the analysis grid (bounds "
            f"{[round(b, 4) for b in grid['region_bounds']]} in the grid CRS)"
        )
    return row, col


def read_cell(layers_dir: Path, grid: dict, row: int, col: int) -> dict:
    """Raw values (numpy scalars, stored dtype) of every layer mosaic at one grid cell."""
    t = grid_transform(grid)
    x, y = t @ (col + 0.5, row + 0.5)
    out = {}
    for name in RASTER_LAYERS:
        p = layers_dir / f"{name}.tif"
        if not p.exists():
            continue
        with rasterio.open(p) as src:
            r, c = src.index(x, y)
            if not (0 <= r < src.height and 0 <= c < src.width):
                raise PointError(f"{p} does not cover the cell; rerun the mosaics")
            out[name] = src.read(1, window=((r, r + 1), (c, c + 1)))[0, 0]
    lon, lat = x, y
    if not grid["is_geographic"]:
        lon, lat = Transformer.from_crs(grid["crs"], "EPSG:4326", always_xy=True).transform(x, y)
    out["lon"], out["lat"] = float(lon), float(lat)
    return out


def explain_cell(
    cfg: dict, config_path: Path, results: Path, run: str, lon: float, lat: float
) -> dict:
    """Everything `explain` prints, as a JSON-ready dict."""
    run_dir = results / run
    gpath = run_dir / "prep" / "grid.json"
    if not gpath.exists():
        raise PointError(
            f"{gpath} not found: run the workflow first (or check --run and --results-dir)"
        )
    grid = json.loads(gpath.read_text(encoding="utf-8"))
    row, col = locate(grid, lon, lat)
    vals = read_cell(run_dir / "layers", grid, row, col)
    if "region" not in vals:
        raise PointError(f"{run_dir / 'layers'} has no region.tif: run the workflow first")
    if int(vals["region"]) != 1:
        raise PointError(
            f"lon {lon}, lat {lat} (grid row {row}, col {col}) is outside the analysis region"
        )
    zones_cfg = cfg["zones"]["items"]
    vocab = load_vocab(
        _resolve(cfg["ecosystems"], config_path),
        [z["id"] for z in zones_cfg],
        landcover_nodata=grid.get("nodata"),
    )
    cat = load_catalog(_resolve(cfg["catalog"], config_path))
    rs = load_ruleset(_resolve(cfg["suitability"], config_path), vocab, cat)
    missing = sorted(rs.layers_used - set(vals))
    if missing:
        raise PointError(f"layer mosaics {missing} are missing in {run_dir / 'layers'}")
    alloc_cfg = cfg.get("allocation", {})
    ranking = alloc_cfg.get("ranking", DEFAULT_RANKING)
    sf = float(alloc_cfg.get("stack_factor", 0.5))

    stack = {k: np.asarray([[v]]) for k, v in vals.items()}
    shares = measure_shares(rs, cat.ids, stack)
    bits = eligibility(rs, cat, stack, vocab, shares, stack["region"])
    got: dict[int, tuple] = {}
    area = cell_areas_m2(grid, Window(col, row, 1, 1))[0]
    res = allocate(
        bits,
        shares,
        specs_from_catalog(cat),
        ranking_order(cat, ranking),
        area[:, None],
        sf,
        visit=lambda i, s, a, p: got.__setitem__(i, (int(s[0, 0]), int(a[0, 0]), int(p[0, 0]))),
    )

    zone_ids = zone_names(int(vals.get("zones", 0)), vocab.zones)
    layers = {}
    for name in RASTER_LAYERS + ("lat", "lon"):
        if name in vals:
            raw = vals[name]
            layers[name] = {
                "raw": raw.item() if hasattr(raw, "item") else raw,
                "value": describe_value(name, raw, vocab),
                "unit": LAYERS[name].unit if name in LAYERS else "",
            }
    measures = []
    for i, mid in enumerate(cat.ids):
        m, r = rs.measures[mid], cat.rows[i]
        item = {
            "id": mid,
            "name_en": r["name_en"],
            "name_zh": r["name_zh"],
            "group": r["group"],
            "land_use": r["land_use"],
        }
        if m.where is None:
            item.update(status="not mapped", reason=m.not_mapped)
            measures.append(item)
            continue
        eligible = bool(bits[0, 0] >> i & 1)
        item["status"] = "eligible" if eligible else "not eligible"
        if not eligible:
            item["failed"] = explain(m.where, vals, vocab)
            tags = cat.tags(mid)
            removed = []
            for c in rs.constraints:
                state = cell_state(c.when, vals, vocab)
                if c.removes(tags) and state is not False:  # applies where true or unknown
                    note = "" if state else " (applied: no data)"
                    removed.append(
                        {"id": c.id, "principle": c.principle, "description": c.description + note}
                    )
            item["removed_by"] = removed
            layer = rs.share_layer(mid)
            if layer and not item["failed"] and not removed:
                item["failed"] = [
                    {
                        "path": f"measures.{mid}.area_share",
                        "layer": layer,
                        "condition": f"{layer} share > 0",
                        "actual": describe_value(layer, vals.get(layer), vocab),
                        "negated": False,
                        "reason": "false",
                    }
                ]
        share, alloc, sp = got.get(i, (0, 0, 0))
        rates = cat.rates_tco2(mid)
        factor = alloc / 1000 * float(area[0]) / 1e4 * sf**sp
        item.update(
            share_permille=share,
            allocated_permille=alloc,
            stack_pos=sp,
            allocated_ha=alloc / 1000 * float(area[0]) / 1e4,
            potential_tco2_yr={
                k: factor * v for k, v in zip(("low", "central", "high"), rates, strict=True)
            },
        )
        measures.append(item)
    p = int(res.primary[0, 0])
    return {
        "run": run,
        "lon": lon,
        "lat": lat,
        "row": row,
        "col": col,
        "cell_area_ha": float(area[0]) / 1e4,
        "layers": layers,
        "zones": [
            {"id": z["id"], "name_en": z.get("name_en", ""), "name_zh": z.get("name_zh", "")}
            for z in zones_cfg
            if z["id"] in zone_ids
        ],
        "primary": cat.ids[p - 1] if p else None,
        "potential_tco2_yr": {k: float(v[0, 0]) for k, v in res.potential.items()},
        "measures": measures,
    }


def format_text(d: dict, lang: str = "en") -> str:
    name = "name_zh" if lang == "zh" else "name_en"
    lines = [
        f"Cell at lon {d['lon']}, lat {d['lat']} (grid row {d['row']}, col {d['col']}), "
        f"area {d['cell_area_ha']:.2f} ha",
        "",
        "Layers:",
    ]
    for k, v in d["layers"].items():
        extra = ""
        if k == "zones" and d["zones"]:
            extra = " (" + "; ".join(z[name] or z["id"] for z in d["zones"]) + ")"
        lines.append(f"  {k:<10} {v['value']}{extra}")
    pot = d["potential_tco2_yr"]
    lines += [
        "",
        f"Primary measure: {d['primary'] or 'none'}; allocated potential "
        f"{pot['low']:.3g} / {pot['central']:.3g} / {pot['high']:.3g} t CO2/yr "
        "(low / central / high)",
        "",
        "Measures:",
    ]
    for m in d["measures"]:
        head = f"  {m['id']} ({m[name]}): {m['status']}"
        if m["status"] == "not mapped":
            lines.append(f"{head} -- {m['reason']}")
            continue
        if m["status"] == "eligible":
            head += (
                f", share {m['share_permille'] / 10:.1f} %, allocated "
                f"{m['allocated_permille'] / 10:.1f} % ({m['allocated_ha']:.2f} ha, "
                f"stack position {m['stack_pos']}), central potential "
                f"{m['potential_tco2_yr']['central']:.3g} t CO2/yr"
            )
        lines.append(head)
        for f in m.get("failed", []):
            lines.append(
                f"      fails: {f['condition']} -- actual {f['actual']}"
                + (" (no data)" if f["reason"] == "no data" else "")
            )
        for c in m.get("removed_by", []):
            lines.append(
                f"      removed by constraint {c['id']} (principle {c['principle']}): "
                f"{c['description']}"
            )
    return "\n".join(lines)


def cmd_explain(args) -> int:
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
        print(format_text(d, args.lang))
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
        serve(args.run, Path(args.results_dir), cfg, config_path, args.host, args.port,
              ready=lambda url: print(f"sinkzone serve: {url} (Ctrl-C to stop)", flush=True))
    except ServeError as e:
        print(f"sinkzone serve: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"sinkzone serve: cannot listen on {args.host}:{args.port}: {e.strerror}; fix: "
              "pick another --port", file=sys.stderr)
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
    e.add_argument("--lang", choices=["en", "zh"], default="en", help="measure names language")
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
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
