"""`sinkzone serve`: the run's web map with live tiles and the explain panel (standard library
http.server, bound to 127.0.0.1 by default).

Routes (RUN = the served run; anything else is 404):
    /                                   -> redirect to /r/RUN/
    /r/RUN/<file>                       files of results/RUN/web/ only (live.js is generated)
    /api/RUN/tiles/LAYER/Z/X/Y.png      raster tile of a layer (L.CRS.EPSG4326, 256 px)
    /api/RUN/explain?lon=&lat=&lang=    JSON of `sinkzone explain --json` (explain.explain_cell)

Paths with `..`, backslashes, empty segments or absolute paths, unknown runs and unknown layers
get 404; non-numeric or out-of-grid lon/lat and bad tile numbers get 400 with a JSON message.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd

from sinkzone import web
from sinkzone.errors import SinkzoneError
from sinkzone.runstate import check_complete

log = logging.getLogger("sinkzone.serve")
MAX_ZOOM = 18
MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".json": "application/json",
}


class ServeError(SinkzoneError):
    """The run cannot be served (missing, incomplete, no web export)."""


class BadRequest(Exception):
    """400: a query value is missing, not a number or outside the grid."""


class App:
    """One served run: its folders, grid, layers and the configuration explain needs."""

    def __init__(self, run: str, results: Path, cfg: dict, config_path: Path):
        from sinkzone.explain import _resolve

        self.run, self.results, self.cfg, self.config_path = run, Path(results), cfg, config_path
        self.run_dir = self.results / run
        if not (self.run_dir / "prep" / "grid.json").exists():
            raise ServeError(
                self.run_dir,
                f"no finished run named {run!r} (prep/grid.json missing)",
                "run the workflow, or check --run and --results-dir",
            )
        check_complete(self.run_dir)  # the same guard as `sinkzone explain`
        self.web_dir = self.run_dir / "web"
        if not (self.web_dir / "index.html").exists() or not (self.web_dir / "data.js").exists():
            raise ServeError(
                self.web_dir / "index.html",
                "not found (no web export)",
                f"snakemake --cores 1 results/{run}/web",
            )
        self.web_root = self.web_dir.resolve()
        self.grid = json.loads((self.run_dir / "prep" / "grid.json").read_text(encoding="utf-8"))
        meta = read_data_js(self.web_dir / "data.js")
        vmax = {d["id"]: d["vmax"] for d in meta["layers"] if "vmax" in d}
        cat = pd.read_csv(_resolve(cfg["catalog"], config_path))
        eco = pd.read_csv(_resolve(cfg["ecosystems"], config_path))
        self.layers = web.build_web_layers(self.run_dir, cat, eco, cfg["zones"]["items"], vmax)
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ handlers
    def static_file(self, rel: str) -> tuple[bytes, str] | None:
        """(body, content type) of a file of web/, or None (404) for anything else."""
        if rel in ("", "/"):
            rel = "index.html"
        if rel == "live.js":
            return web.live_js(self.run).encode(), MIME[".js"]
        parts = rel.split("/")
        if any(p in ("", ".", "..") or "\\" in p or ":" in p for p in parts):
            return None
        target = (self.web_root / Path(*parts)).resolve()
        if not target.is_relative_to(self.web_root) or not target.is_file():
            return None
        return target.read_bytes(), MIME.get(target.suffix, "application/octet-stream")

    def tile(self, layer: str, z: str, x: str, y: str) -> bytes | None:
        if layer not in self.layers:
            return None
        try:
            zi, xi, yi = int(z), int(x), int(y)
        except ValueError as e:
            raise BadRequest(f"tile numbers must be integers, got {z}/{x}/{y}") from e
        if not (0 <= zi <= MAX_ZOOM and 0 <= xi < 2 ** (zi + 1) and 0 <= yi < 2**zi):
            raise BadRequest(f"tile {zi}/{xi}/{yi} does not exist (zoom 0-{MAX_ZOOM})")
        return web.render_png(self.run_dir, self.layers[layer], web.tile_bounds(zi, xi, yi))

    def explain(self, query: dict) -> tuple[int, dict]:
        from sinkzone.explain import PointError, explain_cell, locate

        vals = {}
        for k in ("lon", "lat"):
            raw = query.get(k, [None])[0]
            if raw is None:
                raise BadRequest(f"query parameter {k} is missing (e.g. ?lon=109.5&lat=36.6)")
            try:
                v = float(raw)
            except ValueError as e:
                raise BadRequest(f"{k}={raw!r} is not a number") from e
            if not math.isfinite(v):
                raise BadRequest(f"{k}={raw!r} is not a finite number")
            vals[k] = v
        if not (-180 <= vals["lon"] <= 360 and -90 <= vals["lat"] <= 90):
            raise BadRequest(f"lon {vals['lon']}, lat {vals['lat']} are not degrees")
        try:
            locate(self.grid, vals["lon"], vals["lat"])
        except PointError as e:
            raise BadRequest(str(e)) from e
        try:
            d = explain_cell(
                self.cfg, self.config_path, self.results, self.run, vals["lon"], vals["lat"]
            )
        except PointError as e:  # inside the grid but outside the region
            return 200, {"error": str(e), "outside": True}
        return 200, json.loads(json.dumps(d, default=str))


def read_data_js(path: Path) -> dict:
    text = Path(path).read_text(encoding="utf-8").strip()
    prefix = "window.SZ = "
    if not text.startswith(prefix):
        raise ServeError(path, "not a sinkzone web export", "rerun build_web")
    return json.loads(text[len(prefix) :].rstrip(";"))


def make_handler(app: App):
    class Handler(BaseHTTPRequestHandler):
        server_version = "sinkzone"
        sys_version = ""

        def log_message(self, fmt, *args):  # quiet: to the module logger
            log.debug("%s " + fmt, self.address_string(), *args)

        def send(self, code: int, body: bytes, ctype: str, extra: dict | None = None):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def send_json(self, code: int, obj: dict):
            self.send(
                code,
                json.dumps(obj, ensure_ascii=False).encode(),
                "application/json; charset=utf-8",
            )

        def not_found(self):
            self.send_json(404, {"error": "not found"})

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            try:
                self.route()
            except BadRequest as e:
                self.send_json(400, {"error": str(e)})
            except (BrokenPipeError, ConnectionResetError):
                pass
            except Exception as e:  # noqa: BLE001 (one-line message, server keeps running)
                log.exception("error serving %s", self.path)
                self.send_json(500, {"error": f"{type(e).__name__}: {e}"})

        def route(self):
            raw = self.path
            split = urlsplit(raw)
            path = unquote(split.path)
            if (
                not path.startswith("/")
                or path.startswith("//")
                or "\\" in path
                or "\x00" in path
                or "/../" in path + "/"
                or "/./" in path + "/"
            ):
                return self.not_found()
            if path == "/":
                self.send(302, b"", "text/plain", {"Location": f"/r/{app.run}/"})
                return
            parts = path.split("/")[1:]
            if len(parts) >= 2 and parts[0] == "r":
                if parts[1] != app.run:
                    return self.not_found()
                if len(parts) == 2:
                    self.send(302, b"", "text/plain", {"Location": f"/r/{app.run}/"})
                    return
                got = app.static_file("/".join(parts[2:]))
                if got is None:
                    return self.not_found()
                return self.send(200, got[0], got[1], {"Cache-Control": "no-cache"})
            if len(parts) >= 3 and parts[0] == "api":
                if parts[1] != app.run:
                    return self.not_found()
                if parts[2] == "explain" and len(parts) == 3:
                    code, obj = app.explain(parse_qs(split.query))
                    return self.send_json(code, obj)
                if parts[2] == "tiles" and len(parts) == 7 and parts[6].endswith(".png"):
                    body = app.tile(parts[3], parts[4], parts[5], parts[6][:-4])
                    if body is None:
                        return self.not_found()
                    return self.send(200, body, "image/png", {"Cache-Control": "max-age=300"})
            return self.not_found()

    return Handler


def make_server(app: App, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer((host, port), make_handler(app))
    srv.daemon_threads = True
    return srv


def serve(
    run: str, results: Path, cfg: dict, config_path: Path, host: str, port: int, ready=print
) -> None:
    """Serve until interrupted; `ready(url)` is called once the socket listens."""
    app = App(run, results, cfg, config_path)
    srv = make_server(app, host, port)
    h, p = srv.server_address[:2]
    ready(f"http://{h}:{p}/r/{run}/")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
