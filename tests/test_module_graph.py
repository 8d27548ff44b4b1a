"""The package's module graph: no import cycle, every module imports alone, and the generated
module and rule -> wrapper -> modules tables of docs/ARCHITECTURE.md match the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sinkzone import provenance

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "scripts" / "sinkzone"


def _names(package_dir: Path) -> list[str]:
    out = []
    for path in sorted(package_dir.rglob("*.py")):
        name = provenance.module_name(path, package_dir)
        out.append("sinkzone" if name == "sinkzone" else f"sinkzone.{name}")
    return out


def test_no_import_cycle_in_the_package():
    cycles = provenance.import_cycles(PACKAGE_DIR)
    assert cycles == [], [[str(p.relative_to(PACKAGE_DIR)) for p in c] for c in cycles]


def test_cycle_finder_finds_a_cycle(tmp_path):
    pkg = tmp_path / "sinkzone"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from sinkzone.sub import x\n")
    (pkg / "a.py").write_text("from sinkzone import b\n")
    (pkg / "b.py").write_text("def f():\n    from sinkzone.a import g\n")  # lazy imports count
    (pkg / "sub" / "x.py").write_text("from sinkzone.sub.y import z\n")  # own __init__: no cycle
    (pkg / "sub" / "y.py").write_text("z = 1\n")
    cycles = provenance.import_cycles(pkg)
    assert [[p.name for p in c] for c in cycles] == [["a.py", "b.py"]]


def test_every_module_imports_alone():
    """Each module imported in a fresh state of the package (no sinkzone module loaded before)."""
    names = _names(PACKAGE_DIR)
    code = (
        "import importlib, sys, traceback\n"
        f"sys.path.insert(0, {str(ROOT / 'scripts')!r})\n"
        "bad = []\n"
        f"for name in {names!r}:\n"
        "    for m in [m for m in sys.modules if m == 'sinkzone' or m.startswith('sinkzone.')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        bad.append(name + ': ' + traceback.format_exc(limit=3))\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(names) > 40  # the walk found the package (and its maps subpackage)
    assert "sinkzone.maps.plots" in names


def test_architecture_tables_match_the_code():
    doc = ROOT / "docs" / "ARCHITECTURE.md"
    assert provenance.doc_table(doc) == provenance.doc_block(ROOT), (
        "docs/ARCHITECTURE.md is stale: cd scripts && "
        "python -m sinkzone.provenance --write ../docs/ARCHITECTURE.md"
    )


def test_rule_table_names_every_wrapper_rule():
    rules = dict(provenance.rule_wrappers(ROOT / "rules"))
    assert rules["assign_tile"] == "assign_tile"
    assert rules["mosaic_density"] == "mosaic_rasters"
    table = provenance.module_table(ROOT)
    row = next(line for line in table.splitlines() if line.startswith("| `assign_tile`"))
    assert "assign" in row.split("|")[3] and "suitability" in row.split("|")[3]
