"""Rules rerun when any module they run changes (sinkzone.provenance + rules/*.smk)."""

import re
from pathlib import Path

import pytest
from conftest import make_workdir, snakemake

from sinkzone.provenance import code_digest, direct_imports, module_closure

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scripts" / "sinkzone"


def _package(tmp_path: Path) -> Path:
    pkg = tmp_path / "sinkzone"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from sinkzone import b\n    return b\n")
    (pkg / "b.py").write_text("from . import c\nfrom .sub.d import g\n")
    (pkg / "c.py").write_text("import os\nimport sinkzone.sub\n")
    (pkg / "sub" / "d.py").write_text("from ..e import x\n")
    (pkg / "e.py").write_text("x = 1\n")
    (pkg / "unused.py").write_text("x = 2\n")
    (tmp_path / "wrapper.py").write_text("import numpy\nfrom sinkzone.a import f\n")
    return pkg


def test_closure_follows_lazy_relative_and_package_imports(tmp_path):
    pkg = _package(tmp_path)
    names = {
        p.relative_to(pkg.resolve()).as_posix()
        for p in module_closure(tmp_path / "wrapper.py", pkg)
    }
    assert names == {"__init__.py", "a.py", "b.py", "c.py", "e.py", "sub/__init__.py", "sub/d.py"}


def test_digest_changes_with_indirect_module_only(tmp_path):
    pkg = _package(tmp_path)
    wrapper = tmp_path / "wrapper.py"
    before = code_digest(wrapper, pkg)
    (pkg / "unused.py").write_text("x = 3\n")
    assert code_digest(wrapper, pkg) == before
    (pkg / "e.py").write_text("x = 1  # edited\n")
    assert code_digest(wrapper, pkg) != before


def test_real_wrappers_reach_modules_they_import_only_indirectly():
    closure = {p.name for p in module_closure(ROOT / "scripts" / "aggregate_regions.py", PACKAGE)}
    direct = {p.name for p in direct_imports(ROOT / "scripts" / "aggregate_regions.py", PACKAGE)}
    assert "catalog.py" in closure - direct  # aggregate.py imports catalog


def test_every_rule_digests_its_own_wrapper():
    """Each rule with a wrapper script carries code=code_hash("<that wrapper>"), so no module
    list is typed by hand. retrieve_dataset is exempt: its outputs are checked by sha256, and a
    code edit must not download the data again."""
    seen = 0
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule |checkpoint )", smk.read_text(encoding="utf-8")):
            script = re.search(r'script:\s*\n\s*"\.\./scripts/(\w+)\.py"', block)
            if not script:
                continue
            name = block.split(":", 1)[0].split()[-1]
            if name == "retrieve_dataset":
                continue
            seen += 1
            assert f'code=code_hash("{script.group(1)}")' in block, f"{smk.name}: rule {name}"
    assert seen >= 15


@pytest.mark.e2e
def test_editing_an_indirectly_imported_module_reruns_the_rule(tmp_path):
    """prepare_dem's wrapper imports sinkzone.sources, which imports sinkzone.errors: after a
    run, editing errors.py alone must schedule prepare_dem again."""
    work = make_workdir(tmp_path / "wf")
    target = "results/test-beijing/prep/dem.tif"

    def snake(*extra):
        proc = snakemake(work, "--configfile", "config/test/beijing.yaml", *extra)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        return proc.stdout + proc.stderr

    snake("--cores", "1", target)
    assert "Nothing to be done" in snake("-n", target)
    errors = work / "scripts" / "sinkzone" / "errors.py"
    assert "errors.py" not in {
        p.name for p in direct_imports(work / "scripts" / "prepare_dem.py", errors.parent)
    }
    errors.write_text(errors.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    dry = snake("-n", target)
    assert re.search(r"rule prepare_dem:", dry), dry[-3000:]
