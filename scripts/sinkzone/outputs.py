"""The column dictionary of the output tables (docs/OUTPUTS.md) and the Excel workbook.

`docs/OUTPUTS.md` holds one section per table, headed ``## `tables/<name>.csv` ``, with one
Markdown table ``column | unit | meaning | zh``. It is the one source of the column meanings:
the docs show it, :func:`write_workbook` builds the bilingual headers from it, and the tests
check that every column of the default run is in it (:func:`undocumented`).

Workbook rule: one sheet per table (sheet name = file stem), header cell
``"<zh> / <column>"`` (the column id alone when the dictionary has no row), frozen header row,
auto-filter; a first sheet ``columns`` lists the dictionary rows of the tables in the book.
Bytes are fixed (document dates and zip member times), so reruns write the same file.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from sinkzone.errors import InputError
from sinkzone.io import atomic_path

HEADING = re.compile(r"^##\s+`([^`]+)`\s*$")
FIELDS = ("column", "unit", "meaning", "zh")
FIXED_DATE = datetime(2000, 1, 1)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAX_SHEET_ROWS = 1_048_575  # Excel's row limit minus the header


@dataclass(frozen=True)
class Column:
    table: str  # path under results/{run}, e.g. tables/potential_by_region.csv
    column: str  # name, or a pattern with {placeholders}
    unit: str
    meaning: str
    zh: str

    def matches(self, name: str) -> bool:
        if "{" not in self.column:
            return name == self.column
        parts = re.split(r"\{[^}]*\}", self.column)
        return re.fullmatch(".+".join(map(re.escape, parts)), name) is not None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def load_dictionary(path: str | Path) -> dict[str, list[Column]]:
    """{table path: [Column, ...]} from docs/OUTPUTS.md (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(
            path, f"cannot read the column dictionary ({e.strerror})", "restore docs/OUTPUTS.md"
        ) from None
    out: dict[str, list[Column]] = {}
    table = None
    for n, line in enumerate(text.splitlines(), start=1):
        m = HEADING.match(line)
        if m:
            table = m.group(1)
            out.setdefault(table, [])
            continue
        if table is None or not line.lstrip().startswith("|"):
            continue
        cells = _cells(line)
        if cells[0] in ("column", "") or set(cells[0]) <= {"-", ":"}:
            continue
        if len(cells) != len(FIELDS):
            raise InputError(
                f"{path}:{n}",
                f"row has {len(cells)} cells, not {len(FIELDS)}",
                "write | column | unit | meaning | zh |",
            )
        out[table].append(Column(table, *cells))
    return out


def table_key(path: str | Path) -> str:
    """The dictionary key of an output file: its path under results/{run}/."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


def lookup(dictionary: Mapping[str, list[Column]], table: str, column: str) -> Column | None:
    for c in dictionary.get(table, []):
        if c.matches(column):
            return c
    return None


def undocumented(dictionary: Mapping[str, list[Column]], table: str, columns) -> list[str]:
    """Columns of `table` that have no row in the dictionary."""
    return [c for c in columns if lookup(dictionary, table, c) is None]


def missing_rows_message(table: str, columns) -> str:
    """What to add to docs/OUTPUTS.md for undocumented columns (names the section and rows)."""
    rows = "\n".join(f"| {c} | <unit> | <meaning> | <中文名> |" for c in columns)
    return (
        f"docs/OUTPUTS.md lacks {len(columns)} column(s) of {table}: {list(columns)}. "
        f"Fix: add these rows to the table under the heading '## `{table}`' "
        f"(create the section if the table is new):\n{rows}"
    )


def header(column: str, entry: Column | None) -> str:
    """Bilingual header cell of the workbook: '<zh> / <column>'."""
    return f"{entry.zh} / {column}" if entry and entry.zh else column


def _cell(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def _read_table(path: Path) -> pd.DataFrame:
    # codes stay text where a column mixes codes and names; numbers become numbers
    return pd.read_csv(path, low_memory=False, keep_default_na=False, na_values=[""])


def write_workbook(
    tables: Mapping[str, str | Path],
    dictionary: Mapping[str, list[Column]],
    out_path,
    *,
    title: str = "",
) -> list[str]:
    """Write one sheet per CSV (name -> path) with bilingual headers; return the undocumented
    columns as 'table:column' strings (the sheet keeps the column id as its header)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = FIXED_DATE
    wb.properties.creator = "sinkzone"
    wb.properties.title = title
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    keys = {name: table_key(path) for name, path in tables.items()}

    ws = wb.create_sheet("columns")
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEF", (26, 34, 16, 16, 70, 50), strict=True):
        ws.column_dimensions[col].width = width
    ws.append(
        [
            _bold(ws, v, bold)
            for v in (
                "sheet / 工作表",
                "column / 列名",
                "zh / 中文名",
                "unit / 单位",
                "meaning / 含义",
                "file / 文件",
            )
        ]
    )
    for name, key in keys.items():
        for c in dictionary.get(key, []):
            ws.append([name, c.column, c.zh, c.unit, c.meaning, key])

    missing = []
    for name, path in tables.items():
        df = _read_table(Path(path))
        if len(df) > MAX_SHEET_ROWS:
            raise InputError(
                path, f"{len(df)} rows exceed the {MAX_SHEET_ROWS} of an Excel sheet", "use the CSV"
            )
        ws = wb.create_sheet(name[:31])
        ws.freeze_panes = "A2"
        entries = [lookup(dictionary, keys[name], c) for c in df.columns]
        missing += [
            f"{keys[name]}:{c}" for c, e in zip(df.columns, entries, strict=True) if e is None
        ]
        for i, c in enumerate(df.columns):
            ws.column_dimensions[_letter(i)].width = max(10, min(40, len(header(c, None)) + 2))
        if len(df.columns):
            ws.auto_filter.ref = f"A1:{_letter(len(df.columns) - 1)}{len(df) + 1}"
        cells = []
        for c, e in zip(df.columns, entries, strict=True):
            cell = WriteOnlyCell(ws, value=header(c, e))
            cell.font, cell.alignment = bold, wrap
            cells.append(cell)
        ws.append(cells)
        for row in df.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])

    buf = io.BytesIO()
    wb.save(buf)
    with atomic_path(out_path) as tmp:
        _fixed_zip(buf.getvalue(), tmp)
    return missing


def _bold(ws, value, font):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.font = font
    return cell


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _fixed_zip(data: bytes, path: Path) -> None:
    """Rewrite an xlsx with fixed member times, so identical content gives identical bytes."""
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time into dcterms:modified: put the fixed date back
                body = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
                    body,
                )
            dst.writestr(zi, body)
