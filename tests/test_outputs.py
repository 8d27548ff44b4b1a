"""Output tables for Excel users: CSVs with a BOM, the column dictionary, the workbook."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from sinkzone import outputs
from sinkzone.io import write_csv

ROOT = Path(__file__).resolve().parents[1]
DICTIONARY = ROOT / "docs" / "OUTPUTS.md"
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def dictionary():
    return outputs.load_dictionary(DICTIONARY)


def assert_documented(dictionary, table: str, columns) -> None:
    missing = outputs.undocumented(dictionary, table, columns)
    assert not missing, outputs.missing_rows_message(table, missing)


# ------------------------------------------------------------------------------ CSV + BOM


def test_write_csv_starts_with_a_bom_and_reads_back(tmp_path):
    path = tmp_path / "t.csv"
    df = pd.DataFrame({"code": [110000, 120000], "name_zh": ["北京市", "天津市"]})
    write_csv(path, df)
    data = path.read_bytes()
    assert data.startswith(BOM) and data.count(BOM) == 1
    assert data[len(BOM) :].decode("utf-8") == "code,name_zh\n110000,北京市\n120000,天津市\n"
    back = pd.read_csv(path)
    assert list(back.columns) == ["code", "name_zh"] and back["name_zh"].tolist()[0] == "北京市"
    with open(path, encoding="utf-8-sig", newline="") as f:
        assert next(csv.DictReader(f))["code"] == "110000"
    write_csv(path, df)
    assert path.read_bytes() == data  # byte-identical rerun


def test_no_csv_written_outside_the_one_writer():
    """Every CSV goes through sinkzone.io.write_csv (so every CSV carries the BOM)."""
    offenders = []
    for path in sorted((ROOT / "scripts").rglob("*.py")):
        if path.name == "io.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if ".to_csv(" in code or "csv.writer(" in code or "DictWriter(" in code:
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "write CSVs with sinkzone.io.write_csv:\n" + "\n".join(offenders)


# -------------------------------------------------------------------- column dictionary


def test_dictionary_rows_are_complete(dictionary):
    assert len(dictionary) >= 16
    for table, cols in dictionary.items():
        assert table.endswith(".csv") and cols, table
        names = [c.column for c in cols]
        assert len(names) == len(set(names)), f"{table}: duplicate rows"
        for c in cols:
            assert c.unit and c.meaning and c.zh, f"{table}:{c.column} has an empty cell"
            assert any("\u4e00" <= ch <= "\u9fff" for ch in c.zh), f"{table}:{c.column} zh"


def test_patterns_and_the_missing_row_message(dictionary):
    t = "tables/timepath_measures.csv"
    assert outputs.lookup(dictionary, t, "share_2030").column == "share_{year}"
    assert outputs.lookup(dictionary, t, "share").column == "share"
    cols = ["region_level", "realistic_central_tco2_yr"]
    missing = outputs.undocumented(dictionary, "tables/potential_by_region.csv", cols)
    assert missing == ["realistic_central_tco2_yr"]
    msg = outputs.missing_rows_message("tables/potential_by_region.csv", missing)
    assert "## `tables/potential_by_region.csv`" in msg
    assert "| realistic_central_tco2_yr | <unit> | <meaning> | <中文名> |" in msg


def test_columns_declared_in_code_are_documented(dictionary):
    from sinkzone import aggregate, costs, scenarios, timepaths, uncertainty
    from sinkzone.layers import landcover_area_table

    declared = {
        "tables/potential_by_region.csv": aggregate.REGION_COLUMNS,
        "tables/costs_by_region.csv": costs.COST_COLUMNS,
        "tables/mac_curve.csv": costs.MAC_COLUMNS,
        "tables/cost_thresholds.csv": costs.THRESHOLD_COLUMNS,
        "tables/scenarios.csv": scenarios.SCENARIO_COLUMNS,
        "tables/scenario_units.csv": scenarios.UNIT_COLUMNS,
        "tables/sequestration_paths.csv": timepaths.PATH_COLUMNS,
        "tables/sequestration_horizons.csv": timepaths.HORIZON_COLUMNS,
        "tables/potential_uncertainty.csv": uncertainty.OUT_COLUMNS,
        "tables/landcover_area.csv": landcover_area_table(
            pd.DataFrame({"ecosystem": [1], "landcover": [1], "area_m2": [10]}),
            pd.DataFrame({"id": [1], "name": ["forest"]}),
        ).columns,
    }
    for table, cols in declared.items():
        assert_documented(dictionary, table, cols)


def test_computed_national_tables_are_documented(dictionary, tmp_path):
    from helpers import counts as ta

    from sinkzone import aggregate as agg

    for name, text in (("eco", ta.ECOSYSTEMS), ("cat", ta.CATALOG), ("reg", ta.REGIONS)):
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    eco = agg.read_ecosystems(tmp_path / "eco.csv")
    cat = agg.read_catalog(tmp_path / "cat.csv")
    reg = agg.read_regions(tmp_path / "reg.csv")
    table = agg.region_table(ta.synthetic_counts(), reg, cat, ta.ZONES, 0.5, eco)
    assert_documented(dictionary, "tables/potential_by_region.csv", table.columns)
    assert_documented(
        dictionary, "tables/potential_by_measure.csv", agg.measure_table(table, cat).columns
    )
    assert_documented(
        dictionary,
        "tables/potential_by_ecosystem.csv",
        agg.ecosystem_table(table, None, eco).columns,
    )


def check_run_tables(results: Path) -> None:
    """Every CSV of a finished run starts with a BOM and has a dictionary row per column; the
    workbook opens with openpyxl and has one sheet per table."""
    from openpyxl import load_workbook

    dictionary = outputs.load_dictionary(DICTIONARY)
    files = sorted((results / "tables").glob("*.csv")) + [results / "prep" / "regions.csv"]
    for path in sorted(results.rglob("*.csv")):
        assert path.read_bytes()[:3] == BOM, f"{path} has no byte-order mark"
    for path in files:
        key = outputs.table_key(path)
        assert key in dictionary, (
            f"docs/OUTPUTS.md has no section for {key}: add '## `{key}`' and its rows"
        )
        assert_documented(dictionary, key, pd.read_csv(path, nrows=0).columns)
    wb = load_workbook(results / "tables" / f"sinkzone_{results.name}.xlsx", read_only=True)
    assert set(wb.sheetnames) == {"columns"} | {p.stem for p in files}, wb.sheetnames
    wb.close()


def test_every_table_of_a_finished_run_is_documented(default_run):
    """The session's default run: BOM on every CSV, a dictionary row for every column, the
    workbook opens."""
    check_run_tables(default_run)


# ------------------------------------------------------------------------------ workbook


def test_workbook_has_a_sheet_per_table_with_bilingual_headers(tmp_path, dictionary):
    from openpyxl import load_workbook

    a = tmp_path / "tables" / "potential_uncertainty.csv"
    b = tmp_path / "tables" / "timepath_measures.csv"
    write_csv(
        a,
        pd.DataFrame(
            {
                "region_level": ["nation"],
                "region_code": [100000],
                "region_name": ["中国"],
                "p5_tco2_yr": [1.5],
                "extra_col": [""],
            }
        ),
    )
    write_csv(b, pd.DataFrame({"measure_id": ["afforestation"], "share_2030": [0.25]}))
    out = tmp_path / "tables" / "sinkzone_x.xlsx"
    missing = outputs.write_workbook(
        {"potential_uncertainty": a, "timepath_measures": b},
        dictionary,
        out,
        title="sinkzone run x",
    )
    assert missing == ["tables/potential_uncertainty.csv:extra_col"]
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames == ["columns", "potential_uncertainty", "timepath_measures"]
    rows = list(wb["potential_uncertainty"].iter_rows(values_only=True))
    assert rows[0] == (
        "区域级别 / region_level",
        "区域代码 / region_code",
        "区域名称 / region_name",
        "第5百分位 / p5_tco2_yr",
        "extra_col",
    )
    assert rows[1][:4] == ("nation", 100000, "中国", 1.5)  # read-only mode drops trailing blanks
    rows = list(wb["timepath_measures"].iter_rows(values_only=True))
    assert rows[0] == ("技术措施代码 / measure_id", "路径比例 / share_2030")
    cols = list(wb["columns"].iter_rows(values_only=True))
    assert ("potential_uncertainty", "p5_tco2_yr", "第5百分位", "t CO2/yr") == cols[4][:4]
    wb.close()
    first = out.read_bytes()
    outputs.write_workbook(
        {"potential_uncertainty": a, "timepath_measures": b},
        dictionary,
        out,
        title="sinkzone run x",
    )
    assert out.read_bytes() == first  # reruns write identical bytes
    with zipfile.ZipFile(out) as z:
        assert {i.date_time for i in z.infolist()} == {outputs.ZIP_DATE}
        # openpyxl stamps the save time into core.xml; it must be the fixed date, or reruns in
        # another second differ
        core = z.read("docProps/core.xml").decode()
        assert "2000-01-01T00:00:00Z</dcterms:modified>" in core, core
