#!/usr/bin/env bash
# Install InVEST (natcap.invest) into its own venv, benchmarks/invest-venv (git-ignored), as
# described in /work/shared/PEERS.md: Debian's libgdal-dev + gdal-bin, GDAL Python bindings of
# the system GDAL version, cython>=3.0,<3.1, then pygeoprocessing and natcap.invest, each built
# with --no-build-isolation inside the activated venv (its build calls pybabel).
# Skipped when the venv already imports natcap.invest.carbon. Never touches the project venv.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VENV="$HERE/invest-venv"
PYTHON=${PYTHON:-python3}
INVEST_VERSION=${INVEST_VERSION:-3.20.2}

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import natcap.invest.carbon" 2>/dev/null; then
    echo "install_invest: natcap.invest already installed in $VENV"
    exit 0
fi

if ! command -v gdal-config >/dev/null 2>&1 || ! command -v gdalinfo >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install_invest: installing Debian libgdal-dev gdal-bin"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        libgdal-dev gdal-bin
fi
GDAL_VERSION=$(gdal-config --version)
echo "install_invest: system GDAL $GDAL_VERSION"

"$PYTHON" -m venv "$VENV"
# shellcheck disable=SC1091
source "$VENV/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "setuptools>=77" wheel numpy "cython>=3.0,<3.1" setuptools_scm babel
python -m pip install --quiet --no-build-isolation "gdal[numpy]==$GDAL_VERSION"
python -m pip install --quiet --no-build-isolation pygeoprocessing
python -m pip install --quiet --no-build-isolation "natcap.invest==$INVEST_VERSION"
python -c "import natcap.invest, pygeoprocessing; from osgeo import gdal; \
print('install_invest: natcap.invest', natcap.invest.__version__, \
'pygeoprocessing', pygeoprocessing.__version__, 'GDAL', gdal.__version__)"
