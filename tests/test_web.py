"""The web map (sinkzone.web, sinkzone serve), its static export and the province report packs.

Unit and HTTP tests run on a tiny synthetic run in tmp_path. The end-to-end tests use the
session's default run (`default_run` of tests/conftest.py, in a temporary directory) and a
real headless Chromium driven by selenium through Debian's chromedriver: they skip when
chromium/chromedriver/pdftoppm are absent, and FAIL instead when SINKZONE_REQUIRE_BROWSER=1
(set by .ci/run, which installs them). Screenshots go to $SINKZONE_ARTEFACTS (default
<tmp>/sinkzone-artefacts), never into the checkout.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.transform import from_origin

from sinkzone import web
from sinkzone.runstate import RunIncompleteError
from sinkzone.serve import App, ServeError, make_server

ROOT = Path(__file__).resolve().parents[1]
LOESS = (109.5, 36.6)  # lon, lat: Yan'an, Shaanxi (Loess Plateau grassland cell)


def need(*tools: str) -> dict[str, str]:
    """Paths of the tools; skip without them, or fail when SINKZONE_REQUIRE_BROWSER is set."""
    found = {t: shutil.which(t) for t in tools}
    missing = [t for t, p in found.items() if not p]
    if missing:
        msg = f"{missing} not installed (Debian: apt-get install chromium chromium-driver poppler-utils)"
        if os.environ.get("SINKZONE_REQUIRE_BROWSER"):
            pytest.fail(msg + "; SINKZONE_REQUIRE_BROWSER is set")
        pytest.skip(msg)
    return found


def artefacts() -> Path:
    d = Path(
        os.environ.get("SINKZONE_ARTEFACTS") or Path(tempfile.gettempdir()) / "sinkzone-artefacts"
    )
    d.mkdir(parents=True, exist_ok=True)
    return d


# ----------------------------------------------------------------------------- unit tests
def test_tile_bounds_match_leaflet_epsg4326():
    assert web.tile_bounds(0, 0, 0) == (-180.0, -90.0, 0.0, 90.0)
    assert web.tile_bounds(0, 1, 0) == (0.0, -90.0, 180.0, 90.0)
    w, s, e, n = web.tile_bounds(3, 12, 2)
    assert (w, s, e, n) == (90.0, 22.5, 112.5, 45.0)


def _layer(**kw):
    base = dict(
        id="x",
        file="rasters/x.tif",
        kind="categorical",
        title_en="x",
        title_zh="x",
        group="results",
    )
    base.update(kw)
    return web.Layer(**base)


def test_derive_bits_popcount_and_first_zone():
    a = np.array([[0b101, 0, 0b10]], dtype="uint32")
    t = from_origin(0, 1, 1, 1)
    bit2 = web._derive(_layer(derive="bit", bit=2), a, None, t, "EPSG:4326", t)
    assert bit2[0, 0] == 1 and np.isnan(bit2[0, 1]) and np.isnan(bit2[0, 2])
    pc = web._derive(_layer(kind="continuous", derive="popcount"), a, None, t, "EPSG:4326", t)
    assert pc[0, 0] == 2 and np.isnan(pc[0, 1]) and pc[0, 2] == 1
    z = web._derive(_layer(derive="zone_first"), a.astype("uint16"), 0, t, "EPSG:4326", t)
    assert z[0, 0] == 1 and np.isnan(z[0, 1]) and z[0, 2] == 2


def test_colorize_categorical_and_transparent_nodata():
    lay = _layer(classes=[(1, "a", "a", "#ff0000"), (2, "b", "b", "#0000ff")])
    rgba = web.colorize(lay, np.array([[1, 2, np.nan]], dtype="float32"))
    assert rgba[0, 0].tolist() == [255, 0, 0, 255]
    assert rgba[0, 1].tolist() == [0, 0, 255, 255]
    assert rgba[0, 2, 3] == 0


def test_potential_columns_are_generic():
    import pandas as pd

    t = pd.DataFrame(
        columns=[
            "region_code",
            "potential_central_tco2_yr",
            "realistic_central_tco2_yr",
            "eligible_area_ha",
        ]
    )
    assert web.potential_columns(t) == ["potential_central_tco2_yr", "realistic_central_tco2_yr"]


# ------------------------------------------------------------------ synthetic served run
@pytest.fixture
def tiny_run(tmp_path):
    """results/tiny: a 20 x 20 geographic grid over 100-101E, 30-31N with a primary raster
    and a static export; enough for routing, tiles and the 400/404 cases."""
    run_dir = tmp_path / "results" / "tiny"
    (run_dir / "prep").mkdir(parents=True)
    (run_dir / "rasters").mkdir()
    t = from_origin(100.0, 31.0, 0.05, 0.05)
    grid = {
        "crs": "EPSG:4326",
        "transform": list(t)[:6],
        "width": 20,
        "height": 20,
        "region_bounds": [100, 30, 101, 31],
        "is_geographic": True,
    }
    (run_dir / "prep" / "grid.json").write_text(json.dumps(grid))
    prim = np.zeros((20, 20), dtype="uint8")
    prim[:10] = 1
    with rasterio.open(
        run_dir / "rasters" / "primary.tif",
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=t,
        nodata=255,
    ) as dst:
        dst.write(prim, 1)
    web_dir = run_dir / "web"
    web_dir.mkdir()
    (web_dir / "index.html").write_text("<html>tiny</html>")
    (web_dir / "data.js").write_text("window.SZ = " + json.dumps({"layers": []}) + ";\n")
    (web_dir / "lib").mkdir()
    (web_dir / "lib" / "leaflet.js").write_text("// leaflet")
    (tmp_path / "results" / "secret.txt").write_text("outside the web folder")
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    app = App("tiny", tmp_path / "results", cfg, ROOT / "config" / "config.yaml")
    srv = make_server(app, "127.0.0.1", 0)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv.server_address[1], app
    srv.shutdown()
    srv.server_close()


def get(port: int, path: str) -> tuple[int, bytes, str]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)  # sent as is: no client-side normalisation of .. or //
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body, r.getheader("Content-Type", "")


def test_server_binds_loopback_by_default(tiny_run):
    import inspect

    from sinkzone.cli import build_parser

    assert inspect.signature(make_server).parameters["host"].default == "127.0.0.1"
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"


def test_serves_only_the_runs_web_files(tiny_run):
    port, _ = tiny_run
    assert get(port, "/r/tiny/")[0] == 200
    assert get(port, "/r/tiny/lib/leaflet.js")[0] == 200
    status, body, _ = get(port, "/r/tiny/live.js")
    assert status == 200 and b"/api/tiny/explain" in body
    for bad in (
        "/r/tiny/../secret.txt",
        "/r/tiny/%2e%2e/secret.txt",
        "/r/tiny/..%2fsecret.txt",
        "/r/tiny/../../../../etc/passwd",
        "//etc/passwd",
        "/etc/passwd",
        "/r/tiny//etc/passwd",
        "/r/tiny/%2fetc%2fpasswd",
        "/r/tiny/..\\secret.txt",
        "/r/tiny/../prep/grid.json",
        "/r/other/",
        "/r/other/index.html",
        "/api/other/explain?lon=100.5&lat=30.5",
        "/api/tiny/tiles/nolayer/3/12/2.png",
        "/r/tiny/missing.js",
        "/api/tiny/nothing",
    ):
        status, body, _ = get(port, bad)
        assert status == 404, bad
        assert b"outside the web folder" not in body and b"root:" not in body


def test_tiles_render_and_bad_tile_numbers_are_400(tiny_run):
    port, _ = tiny_run
    status, body, ctype = get(port, "/api/tiny/tiles/primary/6/99/21.png")
    assert status == 200 and ctype == "image/png" and body[:4] == b"\x89PNG"
    from io import BytesIO

    from PIL import Image

    img = np.asarray(Image.open(BytesIO(body)))
    assert img[..., 3].max() == 255  # the primary measure is drawn on this tile
    assert get(port, "/api/tiny/tiles/primary/6/x/21.png")[0] == 400
    assert get(port, "/api/tiny/tiles/primary/6/999/21.png")[0] == 400


@pytest.mark.parametrize(
    "query",
    [
        "lon=abc&lat=30.5",
        "lon=100.5",
        "lon=nan&lat=30.5",
        "lon=10&lat=3",
        "lon=100.5&lat=95",
        "lon=&lat=",
    ],
)
def test_bad_explain_queries_are_400_with_a_message(tiny_run, query):
    port, _ = tiny_run
    status, body, ctype = get(port, f"/api/tiny/explain?{query}")
    assert status == 400, query
    assert ctype.startswith("application/json")
    assert len(json.loads(body)["error"]) > 10


def test_incomplete_or_unbuilt_runs_are_refused(tiny_run, tmp_path):
    _, app = tiny_run
    cfg, cp = app.cfg, app.config_path
    with pytest.raises(ServeError, match="no finished run"):
        App("nope", tmp_path / "results", cfg, cp)
    (tmp_path / "results" / "tiny" / "RUN_INCOMPLETE").write_text("x")
    with pytest.raises(RunIncompleteError, match="RUN_INCOMPLETE"):  # explain's own guard
        App("tiny", tmp_path / "results", cfg, cp)


def test_web_and_pack_rules_in_the_dag(workflow_dir):
    """`all` builds the web export and the configured packs; `provinces` builds every pack."""

    def dry(*targets):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-n",
                "--forceall",
                "--quiet",
                "rules",
                "--",
                *targets,
            ],
            cwd=workflow_dir,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    out = dry()
    assert "build_web" in out and "build_province_pack" in out
    assert "build_province_index" in dry("provinces")


# ------------------------------------------------------------------- the default run
# `default_run` (tests/conftest.py): results/default of the session's default run, with its
# web export and the Shaanxi pack (both in the default target).


@pytest.fixture(scope="module")
def expected(default_run) -> dict:
    """The Loess cell's primary measure by the CLI's own explain_cell (id, name_en, name_zh):
    the browser must show the same measure as eligible. The science decides which one."""
    from sinkzone.cli import explain_cell

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    d = explain_cell(cfg, ROOT / "config" / "config.yaml", default_run.parent, "default", *LOESS)
    assert d["primary"], "the Loess Plateau test cell has no eligible measure"
    return next(m for m in d["measures"] if m["id"] == d["primary"])


def test_province_pack_has_zh_and_en_html_and_pdf(default_run):
    pack = default_run / "provinces" / "610000"
    for lang in ("zh", "en"):
        for ext in ("html", "pdf"):
            assert (pack / f"report_{lang}.{ext}").stat().st_size > 1000, (lang, ext)
    zh = (pack / "report_zh.html").read_text(encoding="utf-8")
    en = (pack / "report_en.html").read_text(encoding="utf-8")
    assert "陕西省" in zh and "审图号" in zh and "延安市" in zh
    assert "Shaanxi" in en and "审图号" in en and "Yan'an" in en.replace("&#x27;", "'")
    assert "potential central" in en and "technical potential central" in en


def test_province_pdf_renders(default_run, tmp_path):
    tools = need("pdftoppm")
    pdf = default_run / "provinces" / "610000" / "report_zh.pdf"
    out = artefacts() / "province_610000_zh"
    subprocess.run(
        [tools["pdftoppm"], "-r", "50", "-f", "1", "-l", "2", "-png", str(pdf), str(out)],
        check=True,
        capture_output=True,
    )
    pages = sorted(artefacts().glob("province_610000_zh-*.png"))
    assert len(pages) >= 2
    from PIL import Image

    img = np.asarray(Image.open(pages[1]).convert("L"))
    assert (img < 128).mean() > 0.01  # the map page has ink


def test_served_explain_matches_the_cli(default_run, expected):
    from sinkzone.cli import explain_cell

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    app = App("default", default_run.parent, cfg, ROOT / "config" / "config.yaml")
    srv = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        status, body, _ = get(
            srv.server_address[1], f"/api/default/explain?lon={LOESS[0]}&lat={LOESS[1]}"
        )
    finally:
        srv.shutdown()
        srv.server_close()
    assert status == 200
    served = json.loads(body)
    cli = explain_cell(cfg, ROOT / "config" / "config.yaml", default_run.parent, "default", *LOESS)
    assert served["measures"] == json.loads(json.dumps(cli["measures"], default=str))
    eligible = [m["id"] for m in served["measures"] if m["status"] == "eligible"]
    assert expected["status"] == "eligible" and expected["id"] in eligible


# ----------------------------------------------------------------------- real browser
def _driver():
    tools = need("chromium", "chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = tools["chromium"]
    profile = tempfile.mkdtemp(prefix="sinkzone-chromium-")
    for a in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
        # no network beyond loopback: names do not resolve, other addresses go to a dead proxy
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>;127.0.0.1",
    ):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=tools["chromedriver"]), options=opts)
    drv.set_page_load_timeout(60)
    return drv, profile


def _wait(drv, js: str, *args, timeout: float = 60, what: str = ""):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = drv.execute_script(js, *args)
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or js}")


def _errors(drv) -> list:
    return [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def _click_lonlat(drv, lon: float, lat: float):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    el = drv.find_element(By.ID, "map")
    p = drv.execute_script(
        "var p = SZ_MAP.latLngToContainerPoint([arguments[1], arguments[0]]);"
        "return [p.x, p.y, SZ_MAP.getSize().x, SZ_MAP.getSize().y];",
        lon,
        lat,
    )
    ActionChains(drv).move_to_element_with_offset(
        el, int(p[0] - p[2] / 2), int(p[1] - p[3] / 2)
    ).click().perform()


@pytest.fixture
def browser():
    drv, profile = _driver()
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def served_default(default_run):
    """`sinkzone serve --run default --port 0` as a user starts it (a child process)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sinkzone.cli", "serve", "--run", "default", "--port", "0"],
        cwd=default_run.parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    if "http://127.0.0.1:" not in line:
        proc.kill()
        raise AssertionError(f"serve did not start: {line}{proc.stderr.read()}")
    yield line.split()[2]
    proc.terminate()
    proc.wait(timeout=30)


def test_served_map_click_opens_explain_panel(browser, served_default, default_run, expected):
    from selenium.webdriver.common.by import By

    drv, url = browser, served_default
    drv.get(url)
    _wait(
        drv,
        "return window.SZ_MAP && document.querySelectorAll('img.leaflet-tile-loaded').length > 0",
        what="first tiles",
    )
    drv.save_screenshot(str(artefacts() / "served_primary.png"))
    for lid in ("density", f"eligible_{expected['id']}", "primary"):
        drv.find_element(By.ID, f"layer-{lid}").click()
        _wait(
            drv,
            "return Array.from(document.querySelectorAll('img.leaflet-tile-loaded'))"
            f".some(function (i) {{ return i.src.indexOf('/tiles/{lid}/') > 0; }})",
            what=f"tiles of {lid}",
        )
        legend = drv.find_element(By.ID, "legend").text
        assert legend, lid
    drv.execute_script("SZ_MAP.setView([arguments[1], arguments[0]], 7, {animate: false});", *LOESS)
    time.sleep(0.5)
    _click_lonlat(drv, *LOESS)
    _wait(
        drv,
        "return document.getElementById('explain').getAttribute('data-state') === 'done'",
        what="explain panel",
    )
    items = drv.find_elements(
        By.CSS_SELECTOR, f"#explain li.eligible[data-measure='{expected['id']}']"
    )
    assert items and expected["name_en"] in items[0].text
    drv.save_screenshot(str(artefacts() / "served_explain_en.png"))
    from selenium.webdriver.support.ui import Select

    Select(drv.find_element(By.ID, "lang")).select_by_value("zh")
    _wait(
        drv,
        "return document.getElementById('explain').getAttribute('data-state') === 'done' "
        "&& document.getElementById('explain').textContent.indexOf(arguments[0]) >= 0",
        expected["name_zh"],
        what="zh explain",
    )
    drv.save_screenshot(str(artefacts() / "served_explain_zh.png"))
    # every Chinese character on the page has a glyph in the bundled font subset (no tofu)
    from fontTools.ttLib import TTFont

    cmap = TTFont(default_run / "web" / "lib" / "cjk.otf").getBestCmap()
    text = drv.execute_script("return document.body.textContent")
    missing = sorted({c for c in text if ord(c) > 0x2E7F and ord(c) not in cmap})
    assert not missing, missing
    assert _errors(drv) == []


def test_static_export_opens_from_disk_offline(browser, default_run):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    drv = browser
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    drv.get((default_run / "web" / "index.html").resolve().as_uri())
    _wait(
        drv,
        "return window.SZ_MAP && Array.from(document.querySelectorAll("
        "'img.leaflet-image-layer')).some(function (i) { return i.complete && "
        "i.naturalWidth > 0; })",
        what="layer image",
    )
    assert drv.execute_script("return window.SZ_LIVE") is None
    drv.find_element(By.ID, "layer-zones").click()
    _wait(
        drv,
        "return Array.from(document.querySelectorAll('img.leaflet-image-layer'))"
        ".some(function (i) { return i.src.indexOf('img/zones.png') > 0 && i.complete "
        "&& i.naturalWidth > 0; })",
        what="zones image",
    )
    # tooltip of the province under the mouse
    el = drv.find_element(By.ID, "map")
    p = drv.execute_script(
        "var p = SZ_MAP.latLngToContainerPoint([arguments[1], arguments[0]]);"
        "return [p.x, p.y, SZ_MAP.getSize().x, SZ_MAP.getSize().y];",
        *LOESS,
    )
    ActionChains(drv).move_to_element_with_offset(
        el, int(p[0] - p[2] / 2), int(p[1] - p[3] / 2)
    ).perform()
    ActionChains(drv).move_by_offset(2, 2).perform()
    tip = _wait(
        drv,
        "var t = document.querySelector('.leaflet-tooltip'); return t && t.textContent",
        what="tooltip",
    )
    assert "Shaanxi" in tip and "potential central" in tip
    drv.save_screenshot(str(artefacts() / "static_zones_tooltip.png"))
    assert _errors(drv) == []


def test_projected_raster_renders_in_wgs84_tiles(tmp_path):
    """A run on a projected grid (UTM 49N, 1 km cells around the Loess cell) is warped to the
    map's EPSG:4326 tiles; a tile far outside the projection's zone is simply empty."""
    run_dir = tmp_path / "run"
    (run_dir / "rasters").mkdir(parents=True)
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32649", always_xy=True).transform(*LOESS)
    t = from_origin(x - 50_000, y + 50_000, 1000, 1000)
    with rasterio.open(
        run_dir / "rasters" / "primary.tif",
        "w",
        driver="GTiff",
        width=100,
        height=100,
        count=1,
        dtype="uint8",
        crs="EPSG:32649",
        transform=t,
        nodata=255,
    ) as dst:
        dst.write(np.full((100, 100), 1, dtype="uint8"), 1)
    lay = _layer(id="primary", file="rasters/primary.tif", classes=[(1, "a", "a", "#ff0000")])
    v = web.read_wgs84(run_dir, lay, (108.5, 35.6, 110.5, 37.6), 200, 200)
    inside = np.isfinite(v)
    assert 0.15 < inside.mean() < 0.4  # about 100 x 100 km of a 2 x 2 degree box
    assert inside[100, 100]  # the Loess cell itself
    far = web.read_wgs84(run_dir, lay, web.tile_bounds(3, 2, 1), 64, 64)
    assert not np.isfinite(far).any()
