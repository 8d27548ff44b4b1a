"""Which package modules a rule's wrapper runs, so a rule reruns when any of them changes.

Snakemake reruns a rule when its wrapper script changes, not when a module the wrapper imports
changes. The workflow therefore gives every rule a ``code`` param: the digest of every module of
the ``sinkzone`` package that the wrapper imports, directly or through other package modules
(imports inside functions included). The set is found by reading the source with ``ast``; no
module is imported.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE = "sinkzone"


def _module_file(package_dir: Path, dotted: str) -> Path | None:
    """The file of `sinkzone.<dotted>` (a module or a subpackage), or None if it is not one."""
    parts = [p for p in dotted.split(".") if p]
    base = package_dir.joinpath(*parts) if parts else package_dir
    if base.is_dir() and (base / "__init__.py").is_file():
        return base / "__init__.py"
    module = base.with_suffix(".py")
    return module if parts and module.is_file() else None


def _relative_base(path: Path, package_dir: Path, level: int) -> str | None:
    """Dotted name (below the package) that a relative import of `level` in `path` starts at."""
    try:
        rel = path.relative_to(package_dir)
    except ValueError:
        return None
    parts = list(rel.parent.parts)
    if level - 1 > len(parts):
        return None
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts)


def direct_imports(path: Path, package_dir: Path) -> set[Path]:
    """Package module files that `path` imports itself (every import statement, anywhere)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    found: set[Path] = set()

    def add(dotted: str, names: list[str] = ()) -> None:
        parts = dotted.split(".") if dotted else []
        # every package on the way is executed on import: its __init__ counts
        for i in range(len(parts) + 1):
            hit = _module_file(package_dir, ".".join(parts[:i]))
            if hit is not None:
                found.add(hit)
        for name in names:  # `from sinkzone.x import y`: y may be a submodule
            hit = _module_file(package_dir, ".".join([*parts, name]))
            if hit is not None:
                found.add(hit)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                if top == PACKAGE:
                    add(rest)
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if node.level:
                base = _relative_base(Path(path), package_dir, node.level)
                if base is None:
                    continue
                dotted = ".".join(p for p in (base, node.module or "") if p)
                add(dotted, names)
            elif node.module:
                top, _, rest = node.module.partition(".")
                if top == PACKAGE:
                    add(rest, names)
    return found


def module_closure(script: str | Path, package_dir: str | Path) -> list[Path]:
    """Every package module file `script` runs: its imports followed transitively, sorted."""
    package_dir = Path(package_dir).resolve()
    seen: set[Path] = set()
    todo = [Path(script).resolve()]
    while todo:
        current = todo.pop()
        for dep in direct_imports(current, package_dir):
            dep = dep.resolve()
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return sorted(seen)


def code_digest(script: str | Path, package_dir: str | Path) -> str:
    """Digest of the module files `script` runs (names and bytes), 16 hex digits."""
    package_dir = Path(package_dir).resolve()
    h = hashlib.sha256()
    for path in module_closure(script, package_dir):
        h.update(path.relative_to(package_dir).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]
