"""Bring your own data (issue 7): every shipped legend, any CRS, every region kind, official
boundaries in several OGR formats, run through the real workflow on tiny synthetic rasters.

Each case writes a small land-cover raster in one legend and one CRS (geographic, Albers,
UTM, Gauss-Kruger), placed inside the region, with known blocks of forest, cropland and water
and a few nodata cells, plus the user's boundary files, then runs Snakemake with a config
overlay (unique `run:` name, `landcover.path` = the raster) and checks against hand
computations:

- `landcover_area.csv`: the area per ecosystem equals the cells of that class times the true
  cell area (exact integers from `sinkzone.grid.cell_areas_int`, and within the integer
  rounding of an independent geodesic computation with `pyproj.Geod`);
- `potential_by_region.csv` (nation rows): natural forest protection is eligible and allocated
  on exactly the forest cells, and every technical potential equals eligible ha times the
  catalog rate of config/technologies.csv;
- red lines: red-line cells carry only protection measures; official zones: the zones bitmask
  follows the user's polygons and the "approximate" label is gone.

The covariates (DEM, climate, precipitation, coastline, admin units) are the default ones in
data/raw, so each case reruns prepare_vectors (~30 s); the six cases took 9 min in all
(52-116 s each) with --cores 2 on a shared 2-core machine. Unit-level tests of the boundary
readers run in seconds (no `e2e` mark).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import yaml
from conftest import link_workdir, snakemake
from pyproj import CRS, Transformer
from rasterio.transform import from_origin
from rasterio.windows import Window

from sinkzone.grid import area_method, cell_areas_int
from sinkzone.vectors import official_zones, read_vector

ROOT = Path(__file__).resolve().parents[1]
LEGENDS = ROOT / "config" / "legends"
CATALOG = pd.read_csv(ROOT / "config" / "technologies.csv")
# potentials use the additional part of each rate (catalog additional_share, empty = 1)
RATES = CATALOG.set_index("id")[["rate_low", "rate_central", "rate_high"]].mul(
    CATALOG.set_index("id")["additional_share"].fillna(1.0), axis=0
)

ALBERS_WGS84 = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"
ALBERS_KRASS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +ellps=krass +units=m +no_defs"


# ------------------------------------------------------------------ synthetic inputs


def legend_codes(legend: str) -> dict[str, int]:
    """First code of each of forest, cropland and water in a legend table; its nodata value."""
    table = pd.read_csv(LEGENDS / f"{legend}.csv")
    out = {
        eco: int(table.loc[table["ecosystem"] == eco, "code"].iloc[0])
        for eco in ("forest", "cropland", "water")
    }
    meta = yaml.safe_load((LEGENDS / "legends.yaml").read_text(encoding="utf-8"))[legend]
    out["nodata"] = int(meta["nodata"][0])
    assert out["nodata"] not in (out["forest"], out["cropland"], out["water"])
    out["legend"] = legend
    return out


def own_share_permille(legend: str, code: int) -> int:
    """Permille of a legend class that counts for its own ecosystem (the legend's composition
    shares, e.g. IGBP 12 croplands = 800: >= 60 % cultivated; 1000 without shares)."""
    from sinkzone.legend import load_ecosystems, load_legend, load_shares

    eco = load_ecosystems(ROOT / "config" / "ecosystems.csv")
    path = LEGENDS / f"{legend}.csv"
    return load_shares(path, eco)[code].get(load_legend(path, eco)[code], 0)


def class_pattern(n: int, codes: dict[str, int]) -> np.ndarray:
    """Left half forest, right top quarter cropland, right bottom water, 7 nodata cells."""
    a = np.full((n, n), codes["forest"], dtype=np.uint8)
    a[: n // 2, n // 2 :] = codes["cropland"]
    a[n // 2 :, n // 2 :] = codes["water"]
    a[1, 1:8] = codes["nodata"]
    return a


def write_landcover(path: Path, crs: str, lon: float, lat: float, res: float, n: int, codes):
    """An n x n raster of `class_pattern` centred on lon/lat (EPSG:4326), cell size res (CRS units)."""
    pc = CRS.from_user_input(crs)
    if pc.is_geographic:
        x, y = lon, lat
    else:
        x, y = Transformer.from_crs("EPSG:4326", pc, always_xy=True).transform(lon, lat)
    transform = from_origin(x - res * n / 2, y + res * n / 2, res, res)
    data = class_pattern(n, codes)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=n,
        width=n,
        count=1,
        dtype="uint8",
        crs=pc.to_wkt(),
        transform=transform,
        nodata=codes["nodata"],
    ) as dst:
        dst.write(data, 1)
    return data


def raster_outline(path: Path, shrink: float = 0.0) -> shapely.Polygon:
    """The raster's footprint in EPSG:4326 (densified), optionally shrunk by `shrink` cells."""
    with rasterio.open(path) as src:
        b = src.bounds
        d = shrink * abs(src.transform.a)
        box = shapely.box(b.left + d, b.bottom + d, b.right - d, b.top - d)
        box = shapely.segmentize(box, (b.right - b.left) / 50)
        tr = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
    return shapely.transform(box, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def raster_half(path: Path, side: str) -> shapely.Polygon:
    """West, east, north or south half of the raster footprint in EPSG:4326 (densified)."""
    with rasterio.open(path) as src:
        b = src.bounds
        xm, ym = (b.left + b.right) / 2, (b.bottom + b.top) / 2
        box = {
            "west": shapely.box(b.left, b.bottom, xm, b.top),
            "east": shapely.box(xm, b.bottom, b.right, b.top),
            "south": shapely.box(b.left, b.bottom, b.right, ym),
            "north": shapely.box(b.left, ym, b.right, b.top),
        }[side]
        box = shapely.segmentize(box, (b.right - b.left) / 50)
        tr = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
    return shapely.transform(box, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def geodesic_cell_areas(path: Path, n_edge: int = 8) -> np.ndarray:
    """Independent per-cell areas (m2) of a raster: pyproj.Geod on densified cell outlines."""
    with rasterio.open(path) as src:
        t, h, w, pc = src.transform, src.height, src.width, CRS(src.crs.to_wkt())
    geod = pc.get_geod()
    inv = None if pc.is_geographic else Transformer.from_crs(pc, pc.geodetic_crs, always_xy=True)
    f = np.arange(n_edge) / n_edge
    ring_c = np.concatenate([f, np.ones(n_edge), 1 - f, np.zeros(n_edge)])
    ring_r = np.concatenate([np.zeros(n_edge), f, np.ones(n_edge), 1 - f])
    out = np.empty((h, w))
    for r in range(h):
        for c in range(w):
            x = t.c + t.a * (c + ring_c)
            y = t.f + t.e * (r + ring_r)
            if inv is not None:
                x, y = inv.transform(x, y)
            out[r, c] = abs(geod.polygon_area_perimeter(x, y)[0])
    return out


# ------------------------------------------------------------------ running the workflow


def run_case(tmp_path: Path, run: str, overlay: dict, extra_targets=()) -> Path:
    """Write the overlay, run the tables and the layers the checks need in a temporary working
    directory of the workflow (tmp_path/wf); return its results/<run>."""
    workdir = link_workdir(tmp_path / "wf")
    out = workdir / "results" / run
    overlay = {
        "run": run,
        "tiling": {"rows": 2, "cols": 2},
        "maps": {"dpi": 60, "display_res_m": 2000},
    } | overlay
    path = tmp_path / f"{run}.yaml"
    path.write_text(yaml.safe_dump(overlay, allow_unicode=True), encoding="utf-8")
    targets = [
        f"results/{run}/tables/landcover_area.csv",
        f"results/{run}/tables/potential_by_region.csv",
        *(
            f"results/{run}/layers/{x}.tif"
            for x in ("region", "zones", "red_line", "ecosystem", "elevation", "climate")
        ),
        f"results/{run}/rasters/eligible.tif",
        *(f"results/{run}/{t}" for t in extra_targets),
    ]
    snakemake(workdir, "--cores", "2", "--configfile", path, "--", *targets, check=True)
    return out


def landcover_overlay(
    raster: Path, legend: str, nodata: int | None = None, by_name: bool = False
) -> dict:
    """by_name: `legend: clcd` (a shipped legend's name) instead of its path."""
    return {
        "landcover": {
            "dataset": None,
            "path": str(raster),
            "legend": legend if by_name else f"config/legends/{legend}.csv",
            "nodata": nodata,
        }
    }


def read_mosaic(out: Path, sub: str, name: str) -> np.ndarray:
    with rasterio.open(out / sub / f"{name}.tif") as src:
        return src.read(1)


def check_areas_and_potentials(out: Path, raster: Path, data: np.ndarray, codes: dict):
    """The hand computations shared by every case (see the module docstring)."""
    import json

    grid = json.loads((out / "prep" / "grid.json").read_text())
    h, w = data.shape
    assert grid["source_window"] == [0, 0, w, h], "the raster lies inside the region"
    assert np.all(read_mosaic(out, "layers", "region") == 1)
    # exact integer areas of the contract (rint per cell), and an independent geodesic check
    area_int = cell_areas_int(grid, Window(0, 0, w, h))
    geo = geodesic_cell_areas(raster)
    lc = pd.read_csv(out / "tables" / "landcover_area.csv").set_index("ecosystem")
    for eco in ("forest", "cropland", "water"):
        mask = data == codes[eco]
        share = own_share_permille(codes["legend"], codes[eco])  # composition (IGBP 12: 800)
        want = area_int[mask].astype(np.int64) * share / 1000
        assert abs(int(lc.loc[eco, "area_m2"]) - want.sum()) <= mask.sum(), eco
        assert (
            abs(int(lc.loc[eco, "area_m2"]) - geo[mask].sum() * share / 1000)
            <= (0.5 * mask.sum() + 1e-8 * geo[mask].sum()) * share / 1000 + mask.sum()
        ), eco
    assert set(lc.index) <= {"forest", "cropland", "water", "none"}
    if area_method(grid) == "constant":
        px = abs(grid["transform"][0] * grid["transform"][4])
        assert int(lc.loc["forest", "area_m2"]) == int((data == codes["forest"]).sum() * px)
    # potentials: natural forest protection on exactly the forest cells, at the catalog rate
    table = pd.read_csv(out / "tables" / "potential_by_region.csv")
    nation = table[table["region_level"] == "nation"].set_index("measure_id")
    forest_m2 = int(area_int[data == codes["forest"]].sum())
    nfp = nation.loc["natural_forest_protection"]
    assert int(nfp["eligible_units"]) == forest_m2 * 1000
    assert int(nfp["allocated_units"]) == forest_m2 * 1000
    ha = forest_m2 / 1e4
    for b in ("low", "central", "high"):
        rate = RATES.loc["natural_forest_protection", f"rate_{b}"]
        assert nfp[f"potential_{b}_tco2_yr"] == pytest.approx(ha * rate, rel=1e-6, abs=2e-3)
    # every technical potential is eligible ha x catalog rate
    for mid, row in nation.iterrows():
        for b in ("low", "central", "high"):
            want = row["eligible_units"] / 1e7 * RATES.loc[mid, f"rate_{b}"]
            got = row[f"technical_potential_{b}_tco2_yr"]
            assert got == pytest.approx(want, rel=1e-6, abs=2e-3), (mid, b)
    check_covariates(out, grid, data.shape)
    # cropland measures exist on the cropland block (so the red-line check below can fail)
    crop_ids = set(CATALOG.loc[CATALOG["ecosystem"] == "cropland", "id"])
    assert nation.loc[sorted(crop_ids & set(nation.index)), "eligible_units"].sum() > 0
    return grid


def sample_at_centres(path: Path, grid: dict, shape) -> np.ndarray:
    """Values of an EPSG:4326 raster at the grid's cell centres (nearest source cell)."""
    from sinkzone.grid import cell_centres

    lon, lat = cell_centres(grid, Window(0, 0, shape[1], shape[0]))
    with rasterio.open(path) as src:
        assert src.crs.is_geographic
        vals = np.array([v[0] for v in src.sample(zip(lon.ravel(), lat.ravel(), strict=True))])
    return vals.reshape(shape)


def check_covariates(out: Path, grid: dict, shape):
    """DEM and climate are warped onto the land-cover grid, whatever its CRS: the grid cells
    (finer than the ~1 km DEM and climate cells) follow the source cell under their centre,
    except along source-cell edges where the average or the mode mixes neighbours."""
    elev = read_mosaic(out, "layers", "elevation")
    dem = sample_at_centres(out / "prep" / "dem.tif", grid, shape)
    assert np.all(elev > -9999) and np.all(dem > -9999)
    # measured: r >= 0.99 in every case, <= 0.85 when the layer is flipped or transposed
    assert np.corrcoef(elev.ravel(), dem.ravel())[0, 1] > 0.97, "elevation misaligned"
    assert abs(elev.mean() / dem.mean() - 1) < 0.02
    climate = read_mosaic(out, "layers", "climate")
    kg = sample_at_centres(ROOT / "data/raw/koppen_geiger/KG_simplified_uint8.tif", grid, shape)
    assert np.all((climate >= 1) & (climate <= 5))
    assert np.mean(climate == kg) > 0.9


def check_red_lines(out: Path, red: shapely.Geometry, data: np.ndarray, codes: dict, grid: dict):
    """Red-line cells: red_line == 1 exactly where the cell centre is inside; only protection."""
    from sinkzone.grid import cell_centres

    h, w = data.shape
    lon, lat = cell_centres(grid, Window(0, 0, w, h))
    inside = shapely.contains_xy(red, lon, lat)
    rl = read_mosaic(out, "layers", "red_line")
    assert np.array_equal(rl == 1, inside)
    assert inside.any() and (~inside).any()
    eligible = read_mosaic(out, "rasters", "eligible").astype(np.uint64)
    tags = CATALOG["tags"].fillna("").astype(str)
    non_protection = sum(1 << i for i, t in enumerate(tags) if "protection" not in t.split(";"))
    assert np.all(eligible[inside] & non_protection == 0)
    crop_out = (~inside) & (data == codes["cropland"])
    assert np.all(eligible[crop_out] & non_protection != 0)


def check_official_zones(out: Path, polygons: dict[str, shapely.Geometry], grid: dict, shape):
    from sinkzone.grid import cell_centres

    zone_ids = [
        z["id"]
        for z in yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["zones"]["items"]
    ]
    h, w = shape
    lon, lat = cell_centres(grid, Window(0, 0, w, h))
    zones = read_mosaic(out, "layers", "zones")
    expect = np.zeros(shape, np.uint16)
    for zid, geom in polygons.items():
        expect |= np.where(shapely.contains_xy(geom, lon, lat), 1 << zone_ids.index(zid), 0).astype(
            np.uint16
        )
    assert np.array_equal(zones, expect)
    table = pd.read_csv(out / "tables" / "potential_by_region.csv")
    z = table[table["region_level"] == "zone"]
    assert set(z["zones_source"]) == {"official"}
    assert set(z["region_code"].astype(str)) >= set(polygons)


# ------------------------------------------------------------------ the six legends


@pytest.mark.e2e
def test_clcd_albers_30m_county_by_code_red_lines_gpkg(tmp_path):
    """CLCD codes, CLCD's own Albers (WGS84) at 30 m, region = Fuping county by adcode,
    red lines from a GeoPackage layer; the legend given by name (`legend: clcd`) and a run
    name with '_'."""
    codes = legend_codes("clcd")
    lc = tmp_path / "clcd_fuping.tif"
    data = write_landcover(lc, ALBERS_WGS84, 107.9207, 33.5711, 30.0, 100, codes)
    red = raster_half(lc, "west").intersection(raster_half(lc, "south"))  # south-west quarter
    gpkg = tmp_path / "red_lines.gpkg"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[red], crs="EPSG:4326").to_crs(ALBERS_WGS84).to_file(
        gpkg, layer="ecological_red_line", driver="GPKG"
    )
    gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326").to_file(
        gpkg, layer="other", driver="GPKG"
    )
    out = run_case(
        tmp_path,
        "test_byod-clcd",
        {
            **landcover_overlay(lc, "clcd", by_name=True),
            "region": {"kind": "admin", "admin": [610730], "bbox": None, "path": None},
            "red_lines": {"path": str(gpkg), "layer": "ecological_red_line"},
        },
    )
    grid = check_areas_and_potentials(out, lc, data, codes)
    assert area_method(grid) == "constant"
    check_red_lines(out, red, data, codes, grid)


@pytest.mark.e2e
def test_igbp_geographic_county_by_english_name(tmp_path):
    """IGBP codes on a WGS84 lon/lat grid (0.002 deg), region = Anji county by English name."""
    codes = legend_codes("igbp")
    lc = tmp_path / "igbp_anji.tif"
    data = write_landcover(lc, "EPSG:4326", 119.658, 30.7055, 0.002, 60, codes)
    out = run_case(
        tmp_path,
        "test-byod-igbp",
        {
            **landcover_overlay(lc, "igbp"),
            "region": {"kind": "admin", "admin": ["Anji"], "bbox": None, "path": None},
        },
    )
    grid = check_areas_and_potentials(out, lc, data, codes)
    assert area_method(grid) == "rows"


@pytest.mark.e2e
def test_esa_worldcover_geographic_10m_bbox_red_lines_flatgeobuf(tmp_path):
    """ESA WorldCover codes at its native 1/12000 deg (~9 m), region = a bbox, red lines from
    FlatGeobuf in a projected CRS."""
    codes = legend_codes("esa_worldcover")
    lc = tmp_path / "worldcover_wuyishan.tif"
    data = write_landcover(lc, "EPSG:4326", 117.9487, 27.7146, 1 / 12000, 120, codes)
    red = raster_half(lc, "south")  # half the forest and all the water; cropland outside
    fgb = tmp_path / "red_lines.fgb"
    gpd.GeoDataFrame({"id": [7]}, geometry=[red], crs="EPSG:4326").to_crs("EPSG:32650").to_file(
        fgb, driver="FlatGeobuf"
    )
    out = run_case(
        tmp_path,
        "test-byod-worldcover",
        {
            **landcover_overlay(lc, "esa_worldcover"),
            "region": {
                "kind": "bbox",
                "admin": [],
                "bbox": [117.8, 27.6, 118.1, 27.85],
                "path": None,
            },
            "red_lines": {"path": str(fgb), "layer": None},
        },
    )
    grid = check_areas_and_potentials(out, lc, data, codes)
    check_red_lines(out, red, data, codes, grid)


@pytest.mark.e2e
def test_esa_cci_utm_region_geojson_official_zones_geoparquet(tmp_path):
    """ESA CCI-LC codes in UTM 48N (not equal-area: per-cell areas), 300 m cells, region from a
    GeoJSON polygon, official zones from GeoParquet (attribute values are the zone ids)."""
    codes = legend_codes("esa_cci_lc")
    lc = tmp_path / "cci_taibai.tif"
    data = write_landcover(lc, "EPSG:32648", 107.51, 33.93, 300.0, 40, codes)
    region = tmp_path / "region.geojson"
    gpd.GeoDataFrame(
        {"name": ["study area"]}, geometry=[raster_outline(lc).buffer(0.02)], crs="EPSG:4326"
    ).to_file(region, driver="GeoJSON")
    west, east = raster_half(lc, "west"), raster_half(lc, "east")
    pq = tmp_path / "zones.parquet"
    gpd.GeoDataFrame(
        {"zone": ["yellow_river", "northern_sand"]}, geometry=[west, east], crs="EPSG:4326"
    ).to_crs("EPSG:32648").to_parquet(pq)
    out = run_case(
        tmp_path,
        "test-byod-cci",
        {
            **landcover_overlay(lc, "esa_cci_lc"),
            "region": {"kind": "file", "admin": [], "bbox": None, "path": str(region)},
            "zones": {"official": {"path": str(pq), "attribute": "zone", "mapping": {}}},
        },
    )
    grid = check_areas_and_potentials(out, lc, data, codes)
    assert area_method(grid) == "cells"
    check_official_zones(out, {"yellow_river": west, "northern_sand": east}, grid, data.shape)


@pytest.mark.e2e
def test_cnlucc_albers_krassovsky_region_shapefile_official_zones_gbk(tmp_path):
    """CNLUCC codes in Albers on Krasovsky 1940 (100 m), region from a Shapefile, official zones
    from a GBK-encoded Shapefile without .cpg (Chinese attribute values mapped to zone ids).
    Full outputs: the summary and the zone map lose the "approximate" label."""
    codes = legend_codes("cnlucc")
    lc = tmp_path / "cnlucc_ningshan.tif"
    data = write_landcover(lc, ALBERS_KRASS, 108.3725, 33.5361, 100.0, 60, codes)
    region = tmp_path / "region" / "study_area.shp"
    region.parent.mkdir()
    gpd.GeoDataFrame(
        {"name": ["a"]}, geometry=[raster_outline(lc).buffer(0.02)], crs="EPSG:4326"
    ).to_crs(ALBERS_KRASS).to_file(region)
    west, east = raster_half(lc, "west"), raster_half(lc, "east")
    shp = tmp_path / "zones" / "zones_gbk.shp"
    shp.parent.mkdir()
    gpd.GeoDataFrame(
        {"区名": ["长江重点生态区", "南方丘陵山地带"]}, geometry=[west, east], crs="EPSG:4326"
    ).to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)  # a legacy file: the encoding is unknown
    assert "长江".encode("gbk") in shp.with_suffix(".dbf").read_bytes()
    run = "test-byod-cnlucc"
    out = run_case(
        tmp_path,
        run,
        {
            **landcover_overlay(lc, "cnlucc"),
            "region": {"kind": "file", "admin": [], "bbox": None, "path": str(region)},
            "zones": {
                "official": {
                    "path": str(shp),
                    "attribute": "区名",
                    "encoding": "GBK",
                    "mapping": {
                        "长江重点生态区": "yangtze_river",
                        "南方丘陵山地带": "southern_hilly",
                    },
                }
            },
        },
        extra_targets=["summary.md", "maps/zones.png", "maps/potential_by_zone.png"],
    )
    grid = check_areas_and_potentials(out, lc, data, codes)
    check_official_zones(out, {"yangtze_river": west, "southern_hilly": east}, grid, data.shape)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "APPROXIMATION" not in summary and "official" in summary
    assert (out / "maps" / "zones.png").stat().st_size > 0


@pytest.mark.e2e
def test_glc_fcs30_gauss_kruger_county_by_chinese_name_red_lines_shapefile(tmp_path):
    """GLC_FCS30 codes in CGCS2000 3-degree Gauss-Kruger CM 117E (EPSG:4548, per-cell areas),
    30 m, region = 黄山区 by Chinese name, red lines from a UTF-8 Shapefile."""
    codes = legend_codes("glc_fcs30")
    lc = tmp_path / "glc_huangshan.tif"
    data = write_landcover(lc, "EPSG:4548", 118.0931, 30.2550, 30.0, 80, codes)
    red = raster_half(lc, "south")
    shp = tmp_path / "red" / "red_lines.shp"
    shp.parent.mkdir()
    gpd.GeoDataFrame({"名称": ["生态保护红线"]}, geometry=[red], crs="EPSG:4326").to_file(shp)
    out = run_case(
        tmp_path,
        "test-byod-glc",
        {
            **landcover_overlay(lc, "glc_fcs30"),
            "region": {"kind": "admin", "admin": ["黄山区"], "bbox": None, "path": None},
            "red_lines": {"path": str(shp), "layer": None},
        },
    )
    grid = check_areas_and_potentials(out, lc, data, codes)
    assert area_method(grid) == "cells"
    check_red_lines(out, red, data, codes, grid)


# ------------------------------------------------------------------ readers (fast, no workflow)


@pytest.mark.parametrize("fmt", ["gpkg", "shp_gbk", "parquet", "fgb", "geojson"])
def test_official_zones_every_format(tmp_path, fmt):
    """The same two zones read back identically from each format, in a projected CRS."""
    a = shapely.box(108.0, 33.0, 108.5, 33.5)
    b = shapely.box(108.5, 33.0, 109.0, 33.5)
    gdf = gpd.GeoDataFrame(
        {"区名": ["黄河重点生态区", "海岸带"]}, geometry=[a, b], crs="EPSG:4326"
    ).to_crs(ALBERS_KRASS)
    kw = {}
    if fmt == "gpkg":
        path = tmp_path / "z.gpkg"
        gdf.to_file(path, layer="zones", driver="GPKG")
        kw["layer"] = "zones"
    elif fmt == "shp_gbk":
        path = tmp_path / "z.shp"
        gdf.to_file(path, encoding="GBK")
        path.with_suffix(".cpg").unlink(missing_ok=True)
        kw["encoding"] = "GBK"
    elif fmt == "parquet":
        path = tmp_path / "z.parquet"
        gdf.to_parquet(path)
    elif fmt == "fgb":
        path = tmp_path / "z.fgb"
        gdf.to_file(path, driver="FlatGeobuf")
    else:
        path = tmp_path / "z.geojson"
        gdf.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    got = official_zones(
        path,
        "区名",
        {"黄河重点生态区": "yellow_river", "海岸带": "coastal"},
        ["yellow_river", "coastal", "qtp"],
        **kw,
    )
    assert list(got["zone_id"]) == ["coastal", "yellow_river"]
    assert got.crs.equals("EPSG:4326")
    assert got.geometry.iloc[1].symmetric_difference(a).area < 1e-9
    assert got.geometry.iloc[0].symmetric_difference(b).area < 1e-9


def test_red_lines_gbk_shapefile_without_cpg_is_decoded(tmp_path):
    """A GBK dbf without .cpg decodes to the right names, configured or detected."""
    path = tmp_path / "r.shp"
    gpd.GeoDataFrame(
        {"名称": ["生态保护红线"]}, geometry=[shapely.box(108, 33, 108.1, 33.1)], crs="EPSG:4326"
    ).to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    good = read_vector(path, encoding="GBK")
    assert "生态保护红线" in set(good.iloc[:, 0].astype(str))
    detected = read_vector(path)
    assert "生态保护红线" in set(detected.iloc[:, 0].astype(str))


def test_landcover_pattern_counts():
    codes = legend_codes("clcd")
    a = class_pattern(10, codes)
    assert (a == codes["forest"]).sum() == 50 - 4 and (a == codes["nodata"]).sum() == 7
    assert (a == codes["cropland"]).sum() == 22 and (a == codes["water"]).sum() == 25


def test_second_fill_value_as_blank_legend_row(tmp_path):
    """The documented workaround for two fill values (GLC_FCS30 0 and 250): a copied legend
    with a blank-ecosystem row for 250 maps those cells to no ecosystem instead of failing."""
    from sinkzone.errors import InputError
    from sinkzone.legend import apply_legend, load_ecosystems, load_legend

    eco = load_ecosystems(ROOT / "config" / "ecosystems.csv")
    codes = np.array([[10, 51, 250], [0, 210, 250]], dtype=np.uint8)
    shipped = LEGENDS / "glc_fcs30.csv"
    with pytest.raises(InputError, match="250"):
        apply_legend(codes, load_legend(shipped, eco), 0, None, "lc.tif", shipped)
    copy = tmp_path / "glc_fcs30_250.csv"
    copy.write_text(
        shipped.read_text(encoding="utf-8").rstrip("\n") + "\n250,Filled value,,\n",
        encoding="utf-8",
    )
    out = apply_legend(codes, load_legend(copy, eco), 0, None, "lc.tif", copy)
    ids = dict(zip(eco["name"], eco["id"].astype(int), strict=True))
    assert out.tolist() == [[ids["cropland"], ids["forest"], 0], [0, ids["water"], 0]]
