"""Tests of sinkzone.catalog. `write_catalog` / CATALOG_CSV are reused by the other test files."""

from __future__ import annotations

import pytest
from helpers.catalog import (
    HEADER,
    ROWS,
    write_catalog,
)

from sinkzone.catalog import load_catalog, ranking_order
from sinkzone.errors import ConfigError


def test_load_types_and_order(tmp_path):
    cat = load_catalog(write_catalog(tmp_path))
    assert cat.ids[0] == "afforestation" and len(cat) == 9
    r = cat.row("afforestation")
    assert r["rank"] == 1 and r["ipcc_accepted"] is True and r["rate_central"] == 4
    assert r["cost_establish_cny_ha"] is None
    assert cat.row("shellfish_farming")["rate_low"] is None
    assert cat.tags("natural_forest_protection") == ("protection",)
    assert cat.all_tags == {"tree_planting", "protection", "marine"}
    # t C converted to t CO2 with 44/12
    assert cat.rates_tco2("forest_tending") == pytest.approx((44 / 12, 88 / 12, 132 / 12))
    assert cat.rates_tco2("shellfish_farming") == (0.0, 0.0, 0.0)


def _bad(tmp_path, i, col, value):
    cols = HEADER.split(",")
    rows = list(ROWS)
    cells = rows[i].split(",")
    cells[cols.index(col)] = value
    rows[i] = ",".join(cells)
    return write_catalog(tmp_path, rows)


@pytest.mark.parametrize(
    "col,value,expect",
    [
        ("rate_central", "9", "afforestation.rate_central"),
        ("land_use", "convert", "afforestation.land_use"),
        ("carbon_sink_effect", "4", "afforestation.carbon_sink_effect"),
        ("ipcc_accepted", "maybe", "afforestation.ipcc_accepted"),
        ("rate_unit", "kg/m2", "afforestation.rate_unit"),
        ("rate_source", "", "afforestation.rate_source"),
        ("tags", "tree planting", "afforestation.tags"),
        ("rate_high", "", "afforestation"),
    ],
)
def test_bad_cells_name_row_and_column(tmp_path, col, value, expect):
    with pytest.raises(ConfigError) as e:
        load_catalog(_bad(tmp_path, 0, col, value))
    assert expect in e.value.what
    assert e.value.fix


def test_low_central_high_message(tmp_path):
    with pytest.raises(ConfigError, match="rate_low <= rate_central <= rate_high") as e:
        load_catalog(_bad(tmp_path, 0, "rate_low", "5"))
    assert "afforestation" in str(e.value) and "sort" in e.value.fix


def test_duplicate_ids_and_too_many_rows(tmp_path):
    with pytest.raises(ConfigError, match="duplicate id"):
        load_catalog(write_catalog(tmp_path, ROWS + [ROWS[0]]))
    many = [ROWS[4].replace("straw_return", f"m{i:02d}", 1) for i in range(33)]
    with pytest.raises(ConfigError, match="at most 32"):
        load_catalog(write_catalog(tmp_path, many))


def test_unknown_column(tmp_path):
    with pytest.raises(ConfigError, match="unknown column"):
        load_catalog(write_catalog(tmp_path, [r + ",x" for r in ROWS], HEADER + ",colour"))


def test_cost_needs_source(tmp_path):
    with pytest.raises(ConfigError, match="without its source"):
        load_catalog(_bad(tmp_path, 3, "cost_source", ""))


def test_ranking_order(tmp_path):
    cat = load_catalog(write_catalog(tmp_path))
    order = [cat.ids[i] for i in ranking_order(cat)]
    # comprehensive 3 first; then carbon_sink_effect, technology_maturity; ties: catalog order
    assert order == [
        "afforestation",
        "straw_return",
        "wetland_conservation",
        "coastal_vegetation",
        "shellfish_farming",
        "farmland_to_forest",
        "natural_forest_protection",
        "forest_tending",
        "no_tillage",
    ]
    order2 = [cat.ids[i] for i in ranking_order(cat, ["technology_maturity"])]
    assert order2[:2] == ["afforestation", "natural_forest_protection"]
    with pytest.raises(ConfigError, match="unknown criterion"):
        ranking_order(cat, ["colour"])


def test_real_catalog():
    from pathlib import Path

    p = Path(__file__).resolve().parents[1] / "config" / "technologies.csv"
    cat = load_catalog(p)
    assert len(cat) == 31
