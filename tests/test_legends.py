"""Land-cover legend tables: schema, catalogue and known mappings (config/legends/)."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml
from jsonschema import Draft202012Validator

from sinkzone.errors import InputError
from sinkzone.legend import apply_legend, load_ecosystems, load_legend

ROOT = Path(__file__).resolve().parents[1]
LEGEND_DIR = ROOT / "config" / "legends"
SCHEMA_PATH = ROOT / "config" / "legend.schema.yaml"
CATALOG_PATH = LEGEND_DIR / "legends.yaml"
ECOSYSTEMS_PATH = ROOT / "config" / "ecosystems.csv"

LEGEND_FILES = sorted(LEGEND_DIR.glob("*.csv"))
LEGEND_IDS = [p.stem for p in LEGEND_FILES]
EXPECTED_IDS = {"igbp", "clcd", "esa_worldcover", "esa_cci_lc", "cnlucc", "glc_fcs30"}
BASE_COLUMNS = ["code", "name", "ecosystem", "notes"]
ZH_COLUMNS = ["code", "name", "name_zh", "ecosystem", "notes"]


def read_legend(path: Path) -> pd.DataFrame:
    # Only empty cells are missing: a class literally called "NA" must stay a string.
    return pd.read_csv(path, dtype={"code": "int64"}, keep_default_na=False, na_values=[""])


def records(df: pd.DataFrame) -> list[dict]:
    """Row dicts as snakemake.utils.validate builds them (missing cells dropped)."""
    return [{k: v for k, v in r.items() if pd.notna(v)} for r in df.to_dict("records")]


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def row_validator(schema) -> Draft202012Validator:
    return Draft202012Validator(schema)


@pytest.fixture(scope="module")
def catalog() -> dict:
    return yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ecosystem_names() -> set[str]:
    return set(pd.read_csv(ECOSYSTEMS_PATH)["name"])


@pytest.fixture(scope="module")
def legends() -> dict[str, pd.DataFrame]:
    return {p.stem: read_legend(p) for p in LEGEND_FILES}


# --- the schema itself ------------------------------------------------------------------


def test_schema_is_valid_2020_12(schema):
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _objects(node, path="$"):
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{path}[{i}]")


def test_schema_objects_closed_and_described(schema):
    objects = list(_objects(schema))
    assert len(objects) == 2  # the row and $defs/catalog_entry
    for path, obj in objects:
        assert obj.get("additionalProperties") is False, path
        assert obj.get("description"), path
        for name, prop in obj["properties"].items():
            assert prop.get("description", "").strip(), f"{path}.properties.{name}"


GOOD_ROW = {"code": 95, "name": "Mangroves", "ecosystem": "wetland", "notes": "why"}


@pytest.mark.parametrize(
    "change",
    [
        {"code": "95"},  # string code
        {"code": 9.5},  # non-integer
        {"code": -1},
        {"code": 70000},  # beyond uint16
        {"ecosystem": "Wetland"},  # not a pipeline class name
        {"ecosystem": "wet land"},
        {"name": ""},
        {"name": "   "},
        {"colour": "#00ff00"},  # unknown column
    ],
)
def test_schema_rejects_bad_rows(row_validator, change):
    row = {**GOOD_ROW, **change}
    assert row_validator.is_valid(GOOD_ROW)
    assert not row_validator.is_valid(row)


@pytest.mark.parametrize("missing", ["code", "name"])
def test_schema_requires_core_columns(row_validator, missing):
    row = {k: v for k, v in GOOD_ROW.items() if k != missing}
    assert not row_validator.is_valid(row)


def test_schema_allows_optional_columns_missing(row_validator):
    assert row_validator.is_valid({"code": 0, "name": "Water Bodies", "ecosystem": "water"})
    assert row_validator.is_valid({**GOOD_ROW, "name_zh": "红树林"})
    # blank ecosystem = "no ecosystem" in sinkzone.legend (user tables may use it)
    assert row_validator.is_valid({"code": 254, "name": "Unclassified"})


# --- every legend table -----------------------------------------------------------------


def test_expected_legends_present():
    assert EXPECTED_IDS <= set(LEGEND_IDS)


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_columns(path):
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    shares = ["shares", "shares_source"]
    assert header in (BASE_COLUMNS, ZH_COLUMNS, BASE_COLUMNS + shares, ZH_COLUMNS + shares)


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_rows_validate_with_jsonschema(path, row_validator):
    rows = records(read_legend(path))
    assert rows
    for i, row in enumerate(rows):
        errors = [e.message for e in row_validator.iter_errors(row)]
        assert not errors, f"{path.name} row {i}: {errors}"


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_rows_validate_with_snakemake(path):
    from snakemake.utils import validate

    validate(read_legend(path), str(SCHEMA_PATH))


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_codes_unique_and_sorted(path):
    codes = read_legend(path)["code"].tolist()
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_ecosystems_exist(path, ecosystem_names):
    eco = read_legend(path)["ecosystem"]
    assert eco.notna().all()  # shipped legends map every code (no blank ecosystem)
    assert set(eco) <= ecosystem_names, set(eco) - ecosystem_names


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_every_ecosystem_class_reachable(path, ecosystem_names):
    # All six products distinguish all nine land classes; a missing one means a mapping slip.
    # `sea` is given to near-shore sea cells by region.marine, never by a land-cover legend.
    assert set(read_legend(path)["ecosystem"]) == ecosystem_names - {"sea"}


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_cells_trimmed(path):
    df = read_legend(path)
    for col in df.columns.drop("code"):
        for value in df[col].dropna():
            assert value == value.strip(), (col, value)


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_mixed_classes_explained(path):
    df = read_legend(path)
    flagged = df[df["notes"].fillna("").str.contains("MIXED|AMBIGUOUS")]
    for note in flagged["notes"]:
        assert len(note) > 30, note  # a flag without a reason is not an explanation


# --- catalogue --------------------------------------------------------------------------


def test_catalog_lists_every_legend(catalog):
    assert set(catalog) == set(LEGEND_IDS)
    for legend_id, entry in catalog.items():
        assert entry["file"] == f"config/legends/{legend_id}.csv"
        assert (ROOT / entry["file"]).is_file()


def test_catalog_entries_validate(catalog, schema):
    entry_schema = copy.deepcopy(schema["$defs"]["catalog_entry"])
    entry_schema["$schema"] = schema["$schema"]
    validator = Draft202012Validator(entry_schema)
    for legend_id, entry in catalog.items():
        errors = [e.message for e in validator.iter_errors(entry)]
        assert not errors, f"{legend_id}: {errors}"


def test_catalog_rejects_unknown_key(catalog, schema):
    entry = {**catalog["igbp"], "nodataa": [255]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(entry, schema["$defs"]["catalog_entry"], Draft202012Validator)


def test_nodata_codes_are_not_rows(catalog, legends):
    for legend_id, entry in catalog.items():
        overlap = set(entry["nodata"]) & set(legends[legend_id]["code"])
        assert not overlap, (legend_id, overlap)


@pytest.mark.parametrize(
    ("legend_id", "nodata"),
    [("igbp", 255), ("esa_worldcover", 0), ("esa_cci_lc", 0), ("clcd", 0), ("glc_fcs30", 250)],
)
def test_known_nodata(catalog, legend_id, nodata):
    assert nodata in catalog[legend_id]["nodata"]


def test_default_config_legend_is_catalogued(catalog):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    files = {entry["file"] for entry in catalog.values()}
    assert config["landcover"]["legend"] in files


# --- spot checks of known mappings ------------------------------------------------------


@pytest.mark.parametrize(
    ("legend_id", "code", "ecosystem"),
    [
        ("igbp", 0, "water"),
        ("igbp", 1, "forest"),
        ("igbp", 8, "forest"),
        ("igbp", 9, "grassland"),
        ("igbp", 11, "wetland"),
        ("igbp", 12, "cropland"),
        ("igbp", 13, "urban"),
        ("igbp", 14, "cropland"),
        ("igbp", 15, "snow_ice"),
        ("igbp", 16, "barren"),
        ("igbp", 17, "water"),
        ("clcd", 1, "cropland"),
        ("clcd", 3, "shrubland"),
        ("clcd", 8, "urban"),
        ("clcd", 9, "wetland"),
        ("esa_worldcover", 10, "forest"),
        ("esa_worldcover", 60, "barren"),
        ("esa_worldcover", 90, "wetland"),
        ("esa_worldcover", 95, "wetland"),
        ("esa_cci_lc", 12, "cropland"),
        ("esa_cci_lc", 61, "forest"),
        ("esa_cci_lc", 170, "wetland"),
        ("esa_cci_lc", 202, "barren"),
        ("esa_cci_lc", 220, "snow_ice"),
        ("cnlucc", 12, "cropland"),
        ("cnlucc", 22, "shrubland"),
        ("cnlucc", 23, "forest"),
        ("cnlucc", 44, "snow_ice"),
        ("cnlucc", 45, "wetland"),
        ("cnlucc", 46, "wetland"),
        ("cnlucc", 64, "wetland"),
        ("cnlucc", 66, "barren"),
        ("cnlucc", 124, "cropland"),
        ("glc_fcs30", 12, "cropland"),
        ("glc_fcs30", 180, "wetland"),
        ("glc_fcs30", 185, "wetland"),
        ("glc_fcs30", 187, "wetland"),
        ("glc_fcs30", 190, "urban"),
    ],
)
def test_spot_checks(legends, legend_id, code, ecosystem):
    table = legends[legend_id].set_index("code")
    assert table.loc[code, "ecosystem"] == ecosystem


@pytest.mark.parametrize(
    ("legend_id", "code", "name"),
    [
        ("igbp", 14, "Cropland/Natural Vegetation Mosaics"),
        ("clcd", 6, "Snow/Ice"),
        ("esa_worldcover", 95, "Mangroves"),
        ("esa_cci_lc", 160, "Tree cover, flooded, fresh or brakish water"),
        ("glc_fcs30", 183, "Flooded flat"),
    ],
)
def test_source_names(legends, legend_id, code, name):
    assert legends[legend_id].set_index("code").loc[code, "name"] == name


@pytest.mark.parametrize(("code", "name_zh"), [(64, "沼泽地"), (46, "滩地"), (23, "疏林地")])
def test_cnlucc_chinese_names(legends, code, name_zh):
    assert legends["cnlucc"].set_index("code").loc[code, "name_zh"] == name_zh


def test_legend_sizes(legends):
    # Class counts of the products (docs/LEGENDS.md): IGBP 0-16 plus MCD12Q1 17; CLCD 9;
    # WorldCover 11; CCI-LC 22 global + 15 regional; CNLUCC 25 level-2 + 8 level-3;
    # GLC_FCS30 29 (2020 legend) + 7 GLC_FCS30D wetland sub-classes.
    sizes = {k: len(v) for k, v in legends.items() if k in EXPECTED_IDS}
    assert sizes == {
        "igbp": 18,
        "clcd": 9,
        "esa_worldcover": 11,
        "esa_cci_lc": 37,
        "cnlucc": 33,
        "glc_fcs30": 36,
    }


# --- the pipeline's loader reads every table ----------------------------------------------


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_pipeline_loader_reads_legend(path):
    eco = load_ecosystems(ECOSYSTEMS_PATH)
    lut = load_legend(path, eco)
    df = read_legend(path)
    ids = dict(zip(eco["name"], eco["id"], strict=True))
    assert lut == {int(c): int(ids[e]) for c, e in zip(df["code"], df["ecosystem"], strict=True)}
    assert 0 not in lut.values()


def test_apply_igbp_legend_to_synthetic_raster():
    eco = load_ecosystems(ECOSYSTEMS_PATH)
    lut = load_legend(LEGEND_DIR / "igbp.csv", eco)
    codes = np.array([[0, 12, 11], [14, 8, 255]], dtype=np.uint8)
    out = apply_legend(codes, lut, 255, None, "synthetic.tif", "igbp.csv")
    # ids of config/ecosystems.csv: 6 water, 4 cropland, 5 wetland, 1 forest; 0 = nodata
    assert out.tolist() == [[6, 4, 5], [4, 1, 0]]
    assert out.dtype == np.uint8


def test_apply_glc_legend_extra_fill_value_is_reported():
    # GLC_FCS30 has two fill values (0, 250); a single header nodata leaves the other one
    # unmapped, and the loader must say so rather than invent an ecosystem.
    eco = load_ecosystems(ECOSYSTEMS_PATH)
    lut = load_legend(LEGEND_DIR / "glc_fcs30.csv", eco)
    codes = np.array([[185, 0, 250]], dtype=np.uint8)
    with pytest.raises(InputError, match="250"):
        apply_legend(codes, lut, 0, None, "glc.tif", "glc_fcs30.csv")


@pytest.mark.parametrize("path", LEGEND_FILES, ids=LEGEND_IDS)
def test_shares_parse_and_are_cited(path):
    from sinkzone.legend import load_shares

    eco = load_ecosystems(ECOSYSTEMS_PATH)
    shares = load_shares(path, eco)
    df = read_legend(path)
    for code, parts in shares.items():
        assert sum(parts.values()) in (0, 1000), (code, parts)
    if "shares" in df.columns:
        filled = df[df["shares"].notna()]
        assert filled["shares_source"].notna().all()


def test_igbp_mosaic_shares_from_class_definitions():
    from sinkzone.legend import load_shares

    eco = load_ecosystems(ECOSYSTEMS_PATH)
    shares = load_shares(ROOT / "config/legends/igbp.csv", eco)
    crop = int(eco.set_index("name").loc["cropland", "id"])
    assert shares[12] == {0: 200, crop: 800}  # >60 % cultivated: midpoint 80 %
    assert shares[14] == {0: 500, crop: 500}  # 40-60 % mosaic: midpoint 50 %
    assert shares[10] == {3: 1000}
