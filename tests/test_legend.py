"""Tests of sinkzone.legend: loading, mapping, unknown-code messages."""

import numpy as np
import pytest

from sinkzone.errors import InputError
from sinkzone.legend import apply_legend, load_ecosystems, load_legend

ECOS = "config/ecosystems.csv"


@pytest.fixture
def eco():
    return load_ecosystems(ECOS)


def _legend(tmp_path, rows, name="leg.csv"):
    p = tmp_path / name
    p.write_text("code,name,ecosystem,notes\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_load_ecosystems(eco):
    assert eco["id"].tolist() == list(range(1, 11))  # 10 = sea (region.marine)
    assert eco.loc[eco["name"] == "cropland", "id"].item() == 4


def test_load_legend(tmp_path, eco):
    p = _legend(
        tmp_path, ["1,Evergreen needleleaf,forest,", "12,Croplands,cropland,x", "254,Unc,,"]
    )
    assert load_legend(p, eco) == {1: 1, 12: 4, 254: 0}


def test_legend_errors(tmp_path, eco):
    with pytest.raises(InputError, match="unknown ecosystem names.*12:farmland"):
        load_legend(_legend(tmp_path, ["1,a,forest,", "12,b,farmland,"]), eco)
    with pytest.raises(InputError, match=r"duplicate codes \[3\]"):
        load_legend(_legend(tmp_path, ["3,a,forest,", "3,b,forest,"], "d.csv"), eco)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int32"])
def test_apply_legend(dtype):
    codes = np.array([[1, 12, 255], [12, 14, 1]], dtype=dtype)
    region = np.array([[1, 1, 1], [1, 1, 0]], dtype=np.uint8)
    out = apply_legend(codes, {1: 1, 12: 4, 14: 4}, 255, region, "lc.tif")
    assert out.dtype == np.uint8
    assert out.tolist() == [[1, 4, 0], [4, 4, 0]]


def test_apply_legend_unknown_codes_message():
    codes = np.array([[1, 7, 7], [9, 9, 9], [8, 8, 8]], dtype=np.uint8)
    region = np.array([[1, 1, 1], [1, 1, 1], [0, 0, 0]], dtype=np.uint8)  # 8 is outside
    with pytest.raises(InputError) as err:
        apply_legend(codes, {1: 1}, 255, region, "data/lc.tif", "config/legends/igbp.csv")
    msg = str(err.value)
    assert "data/lc.tif" in msg and "config/legends/igbp.csv" in msg
    assert "7 (2 px), 9 (3 px)" in msg and "8 (" not in msg
    assert "add a row" in msg


def test_several_fill_values_are_masked_before_the_legend():
    import numpy as np

    from sinkzone.legend import apply_legend

    codes = np.array([[10, 250], [0, 20]], dtype=np.uint8)
    eco = apply_legend(codes, {10: 1, 20: 4}, [0, 250], None, "glc.tif")
    assert eco.tolist() == [[1, 0], [0, 4]]


def test_grid_records_every_fill_value(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from sinkzone.grid import define_grid, nodata_values

    path = tmp_path / "lc.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=from_origin(100, 40, 0.5, 0.5),
    ) as dst:
        dst.write(np.full((1, 4, 4), 10, np.uint8))
    grid = define_grid(path, (100, 38, 102, 40), nodata_override=[0, 250])
    assert grid["nodata"] == 0
    assert nodata_values(grid) == [0, 250]
