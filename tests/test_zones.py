"""Tests of sinkzone.zones: recipe bitmask, admin matching, official zones."""

import numpy as np
import pytest

from sinkzone.errors import ConfigError
from sinkzone.zones import admin_mask, evaluate_leaf, official_bitmask, zone_bitmask


def _layers():
    province = np.array([[110000, 110000, 130000, 130000]] * 3, np.uint32)
    county = np.array([[110101, 110102, 130702, 130801]] * 3, np.uint32)
    climate = np.array([[2, 3, 2, 0], [2, 2, 2, 2], [4, 4, 4, 4]], np.uint8)
    coast = np.array([[10, 60, 49.9, -9999]] * 3, np.float32)
    return {"province": province, "county": county, "climate": climate, "coast_km": coast}


def test_admin_mask_levels():
    L = _layers()
    assert admin_mask([110000], L["province"], L["county"])[0].tolist() == [1, 1, 0, 0]
    assert admin_mask([130700], L["province"], L["county"])[0].tolist() == [0, 0, 1, 0]
    assert admin_mask([110102, 130800], L["province"], L["county"])[0].tolist() == [0, 1, 0, 1]


def test_leaf_ops_and_nodata():
    L = _layers()
    assert evaluate_leaf({"layer": "climate", "op": "eq", "value": "B"}, L)[0].tolist() == [
        1,
        0,
        1,
        0,
    ]
    assert evaluate_leaf({"layer": "climate", "op": "in", "value": ["C", "D"]}, L)[
        :, 1
    ].tolist() == [
        1,
        0,
        1,
    ]
    # coast_km nodata (-9999) is never "le 50"
    assert evaluate_leaf({"layer": "coast_km", "op": "le", "value": 50}, L)[0].tolist() == [
        1,
        0,
        1,
        0,
    ]
    assert evaluate_leaf({"layer": "coast_km", "op": "between", "value": [20, 60]}, L)[
        0
    ].tolist() == [
        0,
        1,
        1,
        0,
    ]
    with pytest.raises(ConfigError, match="A-E"):
        evaluate_leaf({"layer": "climate", "op": "eq", "value": "F"}, L)
    with pytest.raises(ConfigError, match="unknown op"):
        evaluate_leaf({"layer": "climate", "op": "like", "value": "B"}, L)


def test_zone_bitmask_recipe():
    L = _layers()
    region = np.ones((3, 4), np.uint8)
    region[2, 0] = 0
    plateau = np.zeros((3, 4), bool)
    plateau[:, 2] = True
    items = [
        {"id": "qtp", "recipe": {"include": [{"vector": "plateau"}]}},
        {
            "id": "sand",
            "recipe": {
                "include": [{"admin": [130000]}, {"admin": [110101]}],
                "exclude": [{"vector": "plateau"}],
                "require": [{"layer": "climate", "op": "eq", "value": "B"}],
            },
        },
        {"id": "coast", "recipe": {"include": [{"layer": "coast_km", "op": "le", "value": 50}]}},
        {"id": "all", "recipe": {}},
    ]
    calls = []

    def vm(name):
        calls.append(name)
        return {"plateau": plateau}[name]

    z = zone_bitmask(items, L, region, vm)
    assert z.dtype == np.uint16
    # col 0: sand (110101, B) + coast + all; col 2: qtp + coast + all; col 3 climate nodata
    assert z[0].tolist() == [2 + 4 + 8, 8, 1 + 4 + 8, 8]
    assert z[1].tolist() == [2 + 4 + 8, 8, 1 + 4 + 8, 2 + 8]
    assert z[2].tolist() == [0, 8, 1 + 4 + 8, 8]  # outside the region: nothing
    with pytest.raises(ConfigError):
        zone_bitmask([{"id": "x", "recipe": {"include": [{"bogus": 1}]}}], L, region, vm)


def test_official_bitmask():
    region = np.array([[1, 1, 0]], np.uint8)
    items = [{"id": "a"}, {"id": "b"}]
    masks = {"b": np.array([[1, 1, 1]], bool), "a": np.array([[0, 1, 1]], bool)}
    assert official_bitmask(items, masks, region).tolist() == [[2, 3, 0]]
    with pytest.raises(ConfigError, match="not in zones.items"):
        official_bitmask(items, {"c": masks["a"]}, region)
