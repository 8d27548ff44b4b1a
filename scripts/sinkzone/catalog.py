"""The measure catalog `config/technologies.csv`: load, type and validate it.

Row order is bit order: row i is bit i of `eligible.tif` and value i + 1 of `primary.tif`, so
the catalog holds at most 32 rows. Cells are typed from `config/technologies.schema.yaml`
(integer, number, boolean, string; an empty cell is null) and each row is validated against that
schema (JSON Schema 2020-12), then across rows: unique ids, rate_low <= rate_central <=
rate_high, a source for every rate and cost.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import yaml

from sinkzone.errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "technologies.schema.yaml"
MAX_ROWS = 32
# Factor from the catalog's rate unit to t CO2 / ha / yr.
RATE_FACTORS = {
    "t CO2/ha/yr": 1.0,
    "t CO2 ha-1 yr-1": 1.0,
    "Mg CO2/ha/yr": 1.0,
    "t C/ha/yr": 44.0 / 12.0,
    "t C ha-1 yr-1": 44.0 / 12.0,
    "Mg C/ha/yr": 44.0 / 12.0,
}
RANK_COLUMNS = (
    "carbon_sink_effect",
    "technology_maturity",
    "environmental_fitness",
    "social_adaptability",
    "current_scale",
    "assessment_difficulty",
    "comprehensive_index",
)


@dataclass
class Catalog:
    """The validated catalog; `rows` are typed dicts in file (= bit) order."""

    rows: list[dict]
    source: str = "technologies.csv"

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.rows]

    def index(self, measure_id: str) -> int:
        return self.ids.index(measure_id)

    def row(self, measure_id: str) -> dict:
        return self.rows[self.index(measure_id)]

    def tags(self, measure_id: str) -> tuple[str, ...]:
        return _split_tags(self.row(measure_id)["tags"])

    @property
    def all_tags(self) -> set[str]:
        return {t for r in self.rows for t in _split_tags(r["tags"])}

    def rates_tco2(self, measure_id: str) -> tuple[float, float, float]:
        """Additional (low, central, high) in t CO2 / ha / yr: gross rates x additional_share
        (0 when the catalog has no rate)."""
        s = self.additional_share(measure_id)
        return tuple(x * s for x in self.gross_rates_tco2(measure_id))

    def gross_rates_tco2(self, measure_id: str) -> tuple[float, float, float]:
        """(low, central, high) in t CO2 / ha / yr as written in the catalog (gross)."""
        r = self.row(measure_id)
        f = RATE_FACTORS.get(r["rate_unit"], 1.0)
        return tuple(
            0.0 if r[k] is None else r[k] * f for k in ("rate_low", "rate_central", "rate_high")
        )

    def additional_share(self, measure_id: str) -> float:
        """Share of the rate that adds to the current sink (``additional_share``; default 1)."""
        v = self.row(measure_id).get("additional_share")
        return 1.0 if v is None else float(v)

    def __len__(self) -> int:
        return len(self.rows)


def _split_tags(s: str) -> tuple[str, ...]:
    return tuple(t for t in (s or "").split(";") if t)


def load_schema(path=SCHEMA_PATH) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _types(prop: dict, defs: dict) -> list[str]:
    if "$ref" in prop:
        prop = {**defs[prop["$ref"].split("/")[-1]], **prop}
    if "enum" in prop:
        return ["string"]
    t = prop.get("type", "string")
    return t if isinstance(t, list) else [t]


def _coerce(text: str, types: list[str]):
    """Type one CSV cell by the schema types; returns the text unchanged when it cannot."""
    s = text.strip()
    if s == "" and "null" in types:
        return None
    if "boolean" in types:
        low = s.lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
        return s
    if "integer" in types:
        try:
            return int(s)
        except ValueError:
            pass
    if "number" in types:
        try:
            v = float(s)
            return int(v) if v.is_integer() and "integer" in types else v
        except ValueError:
            return s
    return text


def _fix_for(error) -> str:
    v = error.validator
    if v == "enum":
        return f"use one of {error.validator_value}"
    if v == "pattern":
        return f"match the pattern {error.validator_value}"
    if v == "additionalProperties":
        return "remove or rename the column (see config/technologies.schema.yaml)"
    if v == "required":
        return "add the column"
    if v in ("minimum", "maximum"):
        return f"use a value {'>=' if v == 'minimum' else '<='} {error.validator_value}"
    if v == "type":
        return f"write a value of type {error.validator_value}"
    return "see config/technologies.schema.yaml"


def load_catalog(path, schema_path=SCHEMA_PATH) -> Catalog:
    """Read, type and validate the catalog; raise ConfigError naming the row id and the fix."""
    import jsonschema

    path = Path(path)
    schema = load_schema(schema_path)
    props, defs = schema["properties"], schema.get("$defs", {})
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            raw_rows = list(reader)
    except OSError as e:
        raise ConfigError(
            path, f"cannot read the catalog ({e.strerror})", "check the path"
        ) from None
    unknown = [c for c in header if c not in props]
    if unknown:
        raise ConfigError(
            path,
            f"unknown column(s) {unknown}",
            "rename them to the columns of config/technologies.schema.yaml",
        )
    if len(raw_rows) > MAX_ROWS:
        raise ConfigError(
            path,
            f"{len(raw_rows)} rows, at most {MAX_ROWS} fit the uint32 bitmask",
            "drop or merge measures",
        )
    if not raw_rows:
        raise ConfigError(path, "the catalog has no rows", "add the measures")
    validator = jsonschema.Draft202012Validator(schema)
    rows, seen = [], {}
    for n, raw in enumerate(raw_rows, start=2):
        if None in raw:
            raise ConfigError(
                f"{path}:line {n}", "more cells than columns", "quote cells that contain commas"
            )
        row = {k: _coerce(v or "", _types(props[k], defs)) for k, v in raw.items()}
        rid = row.get("id") or f"line {n}"
        where = f"{path}:{rid}"
        errors = sorted(validator.iter_errors(row), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            col = ".".join(str(p) for p in e.path) or "row"
            raise ConfigError(f"{where}.{col}", e.message, _fix_for(e))
        if rid in seen:
            raise ConfigError(
                where, f"duplicate id (also on line {seen[rid]})", "give every measure its own id"
            )
        seen[rid] = n
        _check_row(row, where)
        rows.append(row)
    return Catalog(rows, str(path))


def _check_row(row: dict, where: str) -> None:
    rates = [row["rate_low"], row["rate_central"], row["rate_high"]]
    if any(r is not None for r in rates):
        if any(r is None for r in rates):
            raise ConfigError(
                where,
                "only some of rate_low/central/high are given",
                "give all three rates or none",
            )
        lo, mid, hi = rates
        if not lo <= mid <= hi:
            raise ConfigError(
                f"{where}.rate_central",
                f"rates must satisfy rate_low <= rate_central <= rate_high, got {lo}, {mid}, {hi}",
                "sort the three values (low, central, high) or fix the typo",
            )
        if not row["rate_unit"]:
            raise ConfigError(
                f"{where}.rate_unit",
                "a rate is given without its unit",
                f"use one of {sorted(RATE_FACTORS)}",
            )
        if not row["rate_source"].strip():
            raise ConfigError(
                f"{where}.rate_source",
                "a rate is given without its source",
                "cite the publication, or mark rate_is_estimate and explain it",
            )
    share = row.get("additional_share")
    if share is not None and share < 1 and not (row.get("additionality_source") or "").strip():
        raise ConfigError(
            f"{where}.additionality_source",
            f"additional_share {share} is below 1 without a source",
            "cite the source of the additional share, or mark it an estimate and explain it",
        )
    costs = [row.get("cost_establish_cny_ha"), row.get("cost_annual_cny_ha")]
    if any(c is not None for c in costs) and not (row.get("cost_source") or "").strip():
        raise ConfigError(
            f"{where}.cost_source",
            "a cost is given without its source",
            "cite the source, or mark cost_is_estimate and explain it",
        )


def ranking_order(
    catalog: Catalog, ranking=("comprehensive_index", "carbon_sink_effect", "technology_maturity")
) -> list[int]:
    """Catalog indices from highest to lowest rank: the ranking columns descending, ties by
    catalog order (config allocation.ranking)."""
    for col in ranking:
        if col not in RANK_COLUMNS:
            raise ConfigError(
                "config.yaml:allocation.ranking",
                f"unknown criterion {col!r}",
                f"use columns of Table 1: {list(RANK_COLUMNS)}",
            )
    return sorted(
        range(len(catalog)), key=lambda i: (tuple(-catalog.rows[i][c] for c in ranking), i)
    )
