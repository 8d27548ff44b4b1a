"""The offline web map of a run: layer catalogue, raster rendering to PNG, boundaries with
tooltip values, and the static export results/{run}/web/.

Every layer is drawn from the run's own COG mosaics. `render_png` reads only the window a
request shows, decimated to the request's pixel size (GDAL takes the COG overviews), derives
the displayed value in the source grid (bit of `eligible.tif`, number of eligible measures,
potential density from true cell areas) and warps that small array to EPSG:4326 (Leaflet's
`L.CRS.EPSG4326`): a 30 m run costs no more per tile than a 5 km one.

The map library is Leaflet 1.9.3, taken from the static files of the pinned PyPI wheel
django-leaflet (dataset `leaflet` of data/registry.csv, retrieved like the data): nothing is
loaded from a CDN. The page (`index.html`, `app.js`, `app.css`) is written here.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from matplotlib import colormaps
from matplotlib import colors as mcolors
from PIL import Image
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from sinkzone.classes import climate_classes
from sinkzone.errors import SinkzoneError

WGS84 = "EPSG:4326"
STATIC_MAX_PX = 2400  # width of a layer image in the static export
ASSETS = Path(__file__).with_name("web_assets")


class WebError(SinkzoneError):
    """A web request or build that cannot be served (unknown layer, bad value)."""


@dataclass
class Layer:
    """One selectable raster layer of the map."""

    id: str
    file: str  # relative to results/{run}
    kind: str  # categorical | continuous
    title_en: str
    title_zh: str
    group: str  # results | measures | inputs
    derive: str = "value"  # value | bit | popcount | density | permille_pct | zone_first
    bit: int = 0
    classes: list = field(default_factory=list)  # [(value, name_en, name_zh, color)]
    vmin: float = 0.0
    vmax: float = 1.0
    cmap: str = "viridis"
    unit: str = ""

    def legend(self) -> dict:
        d = {
            "id": self.id,
            "kind": self.kind,
            "title_en": self.title_en,
            "title_zh": self.title_zh,
            "group": self.group,
            "unit": self.unit,
        }
        if self.kind == "categorical":
            d["classes"] = [
                {"value": v, "en": en, "zh": zh, "color": c} for v, en, zh, c in self.classes
            ]
        else:
            cm = colormaps[self.cmap]
            d.update(
                vmin=self.vmin, vmax=self.vmax, colors=[mcolors.to_hex(cm(i / 8)) for i in range(9)]
            )
        return d


def measure_palette(n: int) -> list[str]:
    from sinkzone.maps import measure_palette as pal

    return pal(n)


def build_web_layers(
    run_dir: Path,
    catalog: pd.DataFrame,
    ecosystems: pd.DataFrame,
    zone_items: list[dict],
    vmax: dict | None = None,
) -> dict[str, Layer]:
    """The map's layers, in switcher order. `vmax` overrides continuous upper limits."""
    run_dir = Path(run_dir)
    pal = measure_palette(len(catalog))
    measures = [
        (k + 1, r["id"], str(r["name_en"]), str(r["name_zh"]), pal[k])
        for k, (_, r) in enumerate(catalog.iterrows())
    ]
    L: list[Layer] = [
        Layer(
            "primary",
            "rasters/primary.tif",
            "categorical",
            "Primary measure",
            "主要措施",
            "results",
            classes=[(v, f"{i}: {en}", f"{i}：{zh}", c) for v, i, en, zh, c in measures],
        ),
        Layer(
            "density",
            "rasters/potential_central.tif",
            "continuous",
            "Allocated potential density (central)",
            "分配的潜力密度（中值）",
            "results",
            derive="density",
            vmax=10.0,
            cmap="YlGn",
            unit="t CO2/ha/yr",
        ),
        Layer(
            "n_eligible",
            "rasters/eligible.tif",
            "continuous",
            "Number of eligible measures",
            "适宜措施数量",
            "results",
            derive="popcount",
            vmax=12.0,
            cmap="viridis",
            unit="",
        ),
        Layer(
            "zones",
            "layers/zones.vrt",
            "categorical",
            "Key zones and belts (first listed)",
            "重点生态区（三区四带，取首个）",
            "results",
            derive="zone_first",
            classes=[
                (
                    i + 1,
                    z.get("name_en", z["id"]),
                    z.get("name_zh", z["id"]),
                    pal[(2 * i) % len(pal)],
                )
                for i, z in enumerate(zone_items)
            ],
        ),
        Layer(
            "red_line",
            "layers/red_line.vrt",
            "categorical",
            "Ecological red lines",
            "生态保护红线",
            "results",
            classes=[(1, "inside a red line", "红线内", "#1a9850")],
        ),
    ]
    for v, mid, en, zh, c in measures:
        L.append(
            Layer(
                f"eligible_{mid}",
                "rasters/eligible.tif",
                "categorical",
                f"Eligible: {en}",
                f"适宜：{zh}",
                "measures",
                derive="bit",
                bit=v - 1,
                classes=[(1, en, zh, c)],
            )
        )
    L += [
        Layer(
            "ecosystem",
            "layers/ecosystem.vrt",
            "categorical",
            "Ecosystem class",
            "生态系统类型",
            "inputs",
            classes=[
                (int(r["id"]), str(r["name_en"]), str(r["name_zh"]), str(r["color"]))
                for _, r in ecosystems.iterrows()
            ],
        ),
        Layer(
            "climate",
            "layers/climate.vrt",
            "categorical",
            "Koppen-Geiger main group",
            "柯本-盖格气候主类型",
            "inputs",
            classes=[
                (c.value, f"{c.code} {c.name_en}", f"{c.code} {c.name_zh}", c.color)
                for c in climate_classes()
            ],
        ),
        Layer(
            "elevation",
            "layers/elevation.vrt",
            "continuous",
            "Elevation",
            "海拔",
            "inputs",
            vmax=5000.0,
            cmap="terrain",
            unit="m",
        ),
        Layer(
            "steep25",
            "layers/steep25.vrt",
            "continuous",
            "Share steeper than 25 deg",
            "坡度大于25°的比例",
            "inputs",
            derive="permille_pct",
            vmax=50.0,
            cmap="magma_r",
            unit="%",
        ),
        Layer(
            "precip",
            "layers/precip.vrt",
            "continuous",
            "Annual precipitation",
            "年降水量",
            "inputs",
            vmax=2000.0,
            cmap="Blues",
            unit="mm",
        ),
    ]
    out = {}
    for lay in L:
        f = Path(run_dir) / lay.file
        if not f.exists() and not (f.suffix == ".vrt" and f.with_suffix(".tif").exists()):
            continue
        if vmax and lay.id in vmax:
            lay.vmax = float(vmax[lay.id])
        out[lay.id] = lay
    return out


# ------------------------------------------------------------------------------- rendering
def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of tile z/x/y of Leaflet's L.CRS.EPSG4326 (256 px tiles:
    zoom 0 is two tiles of 180 x 180 degrees)."""
    size = 180.0 / 2**z
    west, north = -180.0 + x * size, 90.0 - y * size
    return west, north - size, west + size, north


def _derive(lay: Layer, arr: np.ndarray, nodata, read_t: Affine, crs, src_t: Affine):
    """Displayed value (float32, NaN = transparent) of a raw read, in the source grid."""
    a = arr
    bad = np.zeros(a.shape, dtype=bool) if nodata is None else (a == nodata)
    if a.dtype.kind == "f":
        bad |= ~np.isfinite(a)
    if lay.derive == "bit":
        v = ((a.astype("uint32") >> lay.bit) & 1).astype("float32")
        v[v == 0] = np.nan
    elif lay.derive == "popcount":
        b = a.astype("uint32")
        v = np.zeros(a.shape, dtype="float32")
        for i in range(32):
            v += (b >> i) & 1
        v[v == 0] = np.nan
    elif lay.derive == "zone_first":
        b = a.astype("uint32")
        v = np.full(a.shape, np.nan, dtype="float32")
        for i in range(15, -1, -1):
            v[((b >> i) & 1) == 1] = i + 1
    elif lay.derive == "density":
        from sinkzone.maps import source_cell_area_ha

        area = source_cell_area_ha(read_t, crs, a.shape, src_t)
        v = (a.astype("float64") / area).astype("float32")
        v[a <= 0] = np.nan
    elif lay.derive == "permille_pct":
        v = a.astype("float32") / 10.0
    else:
        v = a.astype("float32")
        if lay.kind == "categorical":
            v[a == 0] = np.nan
    v[bad] = np.nan
    return v


def colorize(lay: Layer, v: np.ndarray) -> np.ndarray:
    """RGBA uint8 image of displayed values (NaN transparent)."""
    rgba = np.zeros(v.shape + (4,), dtype="uint8")
    ok = np.isfinite(v)
    if lay.kind == "categorical":
        for val, _, _, color in lay.classes:
            m = ok & (v == val)
            rgba[m] = [int(c * 255) for c in mcolors.to_rgba(color)]
        return rgba
    x = np.clip((np.where(ok, v, lay.vmin) - lay.vmin) / max(lay.vmax - lay.vmin, 1e-12), 0, 1)
    rgba[:] = colormaps[lay.cmap](x, bytes=True)
    rgba[~ok] = 0
    return rgba


def read_wgs84(run_dir: Path, lay: Layer, bounds, width: int, height: int) -> np.ndarray:
    """Displayed values of `lay` on the EPSG:4326 image (bounds = west, south, east, north)."""
    path = Path(run_dir) / lay.file
    if not path.exists() and path.suffix == ".vrt":  # runs of earlier versions: COG mosaics
        path = path.with_suffix(".tif")
    out = np.full((height, width), np.nan, dtype="float32")
    with rasterio.open(path) as src:
        try:
            sb = transform_bounds(WGS84, src.crs, *bounds, densify_pts=21)
        except Exception:  # noqa: BLE001 (outside the CRS's domain)
            return out
        if not all(map(math.isfinite, sb)):
            return out
        win = from_bounds(*sb, transform=src.transform)
        win = win.intersection(Window(0, 0, src.width, src.height)) if _overlaps(win, src) else None
        if win is None:
            return out
        c0, r0 = math.floor(win.col_off), math.floor(win.row_off)
        c1 = min(src.width, math.ceil(win.col_off + win.width) + 1)
        r1 = min(src.height, math.ceil(win.row_off + win.height) + 1)
        win = Window(c0, r0, c1 - c0, r1 - r0)
        # source cells per output pixel; read about 1.5 source-read cells per output pixel
        per_px = max(win.width / width, win.height / height)
        f = max(1.0, per_px / 1.5)
        rh, rw = max(1, int(win.height / f)), max(1, int(win.width / f))
        arr = src.read(1, window=win, out_shape=(rh, rw), resampling=Resampling.nearest)
        read_t = src.window_transform(win) @ Affine.scale(win.width / rw, win.height / rh)
        v = _derive(lay, arr, src.nodata, read_t, src.crs, src.transform)
        dst_t = rasterio.transform.from_bounds(*bounds, width, height)
        reproject(
            v,
            out,
            src_transform=read_t,
            src_crs=src.crs,
            dst_transform=dst_t,
            dst_crs=WGS84,
            resampling=Resampling.nearest,
            src_nodata=np.nan,
            dst_nodata=np.nan,
        )
    return out


def _overlaps(win: Window, src) -> bool:
    return (
        win.col_off < src.width
        and win.row_off < src.height
        and win.col_off + win.width > 0
        and win.row_off + win.height > 0
    )


def png_bytes(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def render_png(run_dir: Path, lay: Layer, bounds, width: int = 256, height: int = 256) -> bytes:
    return png_bytes(colorize(lay, read_wgs84(run_dir, lay, bounds, width, height)))


def grid_bounds_wgs84(grid: dict) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the run's grid in EPSG:4326."""
    t = Affine(*grid["transform"][:6])
    x0, y0 = t @ (0, 0)
    x1, y1 = t @ (grid["width"], grid["height"])
    b = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    if grid.get("is_geographic"):
        return tuple(float(v) for v in b)
    return tuple(float(v) for v in transform_bounds(grid["crs"], WGS84, *b, densify_pts=21))


def robust_vmax(run_dir: Path, lay: Layer, bounds, q: float = 98.0) -> float:
    """The q-th percentile of a continuous layer at a coarse read (legend upper limit)."""
    v = read_wgs84(run_dir, lay, bounds, 600, 400)
    v = v[np.isfinite(v)]
    if not v.size:
        return lay.vmax
    top = float(np.percentile(v, q))
    if top <= 0:
        return lay.vmax
    mag = 10 ** math.floor(math.log10(top))
    return float(math.ceil(top / mag) * mag)


# ----------------------------------------------------------------------------- boundaries
def potential_columns(table: pd.DataFrame) -> list[str]:
    """Every potential column (t CO2/yr) of the table: allocated, technical, and whatever
    else a newer aggregate writes (e.g. realistic), in table order."""
    return [c for c in table.columns if c.endswith("_tco2_yr")]


def region_summaries(
    table: pd.DataFrame, counties_prefecture: dict[int, int], catalog: pd.DataFrame, top: int = 3
) -> dict[str, dict[int, dict]]:
    """{level: {code: {potential column: Mt CO2/yr, "top": [[measure id, en, zh, Mt]]}}} for
    provinces, prefectures (sums of their counties) and counties."""
    cols = potential_columns(table)
    names = catalog.set_index("id")[["name_en", "name_zh"]].to_dict("index")
    t = table[table["region_level"].isin(["province", "county"])].copy()
    t["code"] = pd.to_numeric(t["region_code"], errors="coerce").astype("Int64")
    t = t.dropna(subset=["code"])
    cty = t[t["region_level"] == "county"].copy()
    cty["prefecture"] = cty["code"].map(lambda c: counties_prefecture.get(int(c), 0))
    frames = {
        "province": t[t["region_level"] == "province"],
        "prefecture": cty.assign(code=cty["prefecture"]),
        "county": cty,
    }
    out: dict[str, dict[int, dict]] = {}
    central = "potential_central_tco2_yr"
    for level, f in frames.items():
        per = f.groupby(["code", "measure_id"])[cols].sum()
        tot = per.groupby(level=0).sum() / 1e6
        res: dict[int, dict] = {
            int(code): {c: round(float(v), 4) for c, v in zip(cols, row, strict=True)}
            for code, row in zip(tot.index, tot.to_numpy(), strict=True)
        }
        if central in per:
            best = per[central].reset_index()
            best = best[best[central] > 0].sort_values(
                ["code", central], ascending=[True, False], kind="stable"
            )
            for code, m, v in best.groupby("code").head(top).itertuples(index=False):
                nm = names.get(m, {})
                res[int(code)].setdefault("top", []).append(
                    [m, nm.get("name_en", m), nm.get("name_zh", m), round(float(v) / 1e6, 4)]
                )
        out[level] = res
    return out


def boundaries_geojson(vectors_gpkg: Path, summaries: dict, tolerance_deg: float) -> dict:
    """{level: FeatureCollection} of simplified boundaries (EPSG:4326, 4 decimals) whose
    properties carry code, names and the summary values."""
    import geopandas as gpd
    import shapely

    out = {}
    for level, layer in (
        ("province", "provinces"),
        ("prefecture", "prefectures"),
        ("county", "counties"),
    ):
        try:
            g = gpd.read_file(vectors_gpkg, layer=layer)
        except Exception as e:  # noqa: BLE001
            raise WebError(
                vectors_gpkg, f"cannot read layer {layer} ({e})", "rerun prepare_vectors"
            ) from e
        g = g.to_crs(WGS84)
        # Douglas-Peucker without topology checks: display only, and several times faster
        simple = g.geometry.simplify(tolerance_deg, preserve_topology=False).values
        lost = shapely.is_empty(simple) & ~shapely.is_empty(g.geometry.values)
        if lost.any():  # tiny units collapse: keep them with the topology-preserving version
            simple[lost] = shapely.simplify(g.geometry.values[lost], tolerance_deg)
        geoms = shapely.set_precision(simple, 1e-4)
        feats = []
        for (_, row), geom in zip(g.iterrows(), geoms, strict=True):
            if geom is None or geom.is_empty:
                continue
            code = int(row["code"])
            props = {
                "code": code,
                "name_zh": str(row["name_zh"]),
                "name_en": str(row["name_en"]),
                **summaries.get(level, {}).get(code, {}),
            }
            feats.append(
                {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
            )
        out[level] = {"type": "FeatureCollection", "features": feats}
    return out


# ---------------------------------------------------------------------------- static export
LIVE_NONE = "window.SZ_LIVE = null;\n"


def live_js(run: str) -> str:
    """The live-mode switch served by `sinkzone serve` in place of web/live.js."""
    return (
        "window.SZ_LIVE = "
        + json.dumps(
            {
                "tiles": f"/api/{run}/tiles/{{layer}}/{{z}}/{{x}}/{{y}}.png",
                "explain": f"/api/{run}/explain",
            }
        )
        + ";\n"
    )


def write_static(
    out_dir: Path,
    *,
    run: str,
    run_dir: Path,
    layers: dict[str, Layer],
    bounds,
    boundaries: dict,
    language: str,
    leaflet_dir: Path,
    credits: list[str],
    static_px: int = STATIC_MAX_PX,
    extra_text: str = "",
    grid_width: int | None = None,
) -> list[Path]:
    """Write index.html, app.js, app.css, data.js, live.js, lib/leaflet.*, lib/cjk.otf,
    img/{layer}.png. `extra_text`: more text the page may show (explain in zh)."""
    out_dir = Path(out_dir)
    (out_dir / "lib").mkdir(parents=True, exist_ok=True)
    (out_dir / "img").mkdir(exist_ok=True)
    for name in ("leaflet.js", "leaflet.css"):
        src = Path(leaflet_dir) / name
        if not src.exists():
            raise WebError(src, "not found", "rerun retrieve_dataset for dataset leaflet")
        shutil.copyfile(src, out_dir / "lib" / name)
    w, s, e, n = bounds
    width = int(max(64, min(static_px, grid_width or static_px)))  # never finer than the grid
    height = max(1, int(round(width * (n - s) / (e - w))))
    images = {}
    for lid, lay in layers.items():
        rgba = colorize(lay, read_wgs84(run_dir, lay, bounds, width, height))
        (out_dir / "img" / f"{lid}.png").write_bytes(png_bytes(rgba))
        images[lid] = f"img/{lid}.png"
    data = {
        "run": run,
        "bounds": [w, s, e, n],
        "language": language,
        "layers": [lay.legend() for lay in layers.values()],
        "images": images,
        "boundaries": boundaries,
        "credits": credits,
    }
    (out_dir / "data.js").write_text(
        "window.SZ = " + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + ";\n",
        encoding="utf-8",
    )
    (out_dir / "live.js").write_text(LIVE_NONE, encoding="utf-8")
    text = json.dumps(data, ensure_ascii=False) + "".join(
        (ASSETS / n).read_text(encoding="utf-8") for n in ("app.js", "index.html")
    )
    write_cjk_font(out_dir / "lib" / "cjk.otf", text + extra_text)
    for name in ("index.html", "app.js", "app.css"):
        text = (ASSETS / name).read_text(encoding="utf-8")
        if name == "index.html":
            text = text.replace("{{RUN}}", re.sub(r"[^A-Za-z0-9_-]", "", run))
        (out_dir / name).write_text(text, encoding="utf-8")
    return [out_dir / "index.html"]


# --------------------------------------------------------------------------------- credits
def map_notice(credit: dict | None, language: str) -> str:
    """The map notice of sinkzone.maps (not the standard map; publishing needs 审图号)."""
    from sinkzone.maps import MAP_NOTICE

    return MAP_NOTICE[language].format(boundaries=(credit or {}).get("boundaries", ""))


def credits_from_registry(registry_rows: list[dict]) -> list[str]:
    """One credit line per dataset of data/registry.csv (its citation and licence)."""
    seen, out = set(), []
    for r in registry_rows:
        if r["dataset"] in seen:
            continue
        seen.add(r["dataset"])
        out.append(f"{r['dataset']}: {r['citation']} ({r['licence']})")
    return out


def write_cjk_font(path: Path, text: str) -> bool:
    """Subset of the Noto Sans CJK SC font of the pinned PyPI package mplfonts with the CJK
    characters of `text` (fontTools), so Chinese renders in any browser without system fonts.
    Returns False (and writes nothing) when mplfonts is not installed."""
    from importlib.resources import files

    from fontTools import subset

    logging.getLogger("fontTools").setLevel(logging.WARNING)

    try:
        src = files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf"
    except ModuleNotFoundError:
        return False
    if not src.is_file():
        return False
    chars = sorted(
        {c for c in set(text) if ord(c) > 0x2E7F} | set("0123456789")
    )  # set first: C speed
    opts = subset.Options()
    opts.layout_features = []  # plain glyphs: no shaping tables needed for Chinese labels
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    font = subset.load_font(str(src), opts)
    sub = subset.Subsetter(opts)
    sub.populate(text="".join(chars))
    sub.subset(font)
    subset.save_font(font, str(path), opts)
    return True
