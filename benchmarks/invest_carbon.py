"""Run InVEST Carbon (baseline storage only) on one land-cover raster and print timings as JSON.

Executed by benchmarks/invest-venv/bin/python (natcap.invest is not a project dependency):
    invest_carbon.py LULC_TIF POOLS_CSV WORKSPACE
"""

import json
import resource
import sys
import time

t0 = time.perf_counter()
import natcap.invest  # noqa: E402
import natcap.invest.carbon  # noqa: E402
import pygeoprocessing  # noqa: E402
from osgeo import gdal  # noqa: E402

t_import = time.perf_counter() - t0
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

lulc, pools, workspace = sys.argv[1:4]
args = {
    "workspace_dir": workspace,
    "results_suffix": "",
    "lulc_bas_path": lulc,
    "carbon_pools_path": pools,
    "calc_sequestration": False,
    "do_valuation": False,
    "n_workers": -1,  # in-process; n_workers > 0 hung with valuation on (PEERS.md)
}
t1 = time.perf_counter()
natcap.invest.carbon.execute(args)
t_exec = time.perf_counter() - t1
print(
    json.dumps(
        {
            "natcap_invest": natcap.invest.__version__,
            "pygeoprocessing": pygeoprocessing.__version__,
            "gdal": gdal.__version__,
            "import_s": round(t_import, 3),
            "execute_s": round(t_exec, 3),
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
            "max_rss_children_mib": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, 1
            ),
            "rss_after_import_mib": round(rss_import, 1),
        }
    )
)
