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
import re
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


def import_graph(package_dir: str | Path) -> dict[Path, set[Path]]:
    """{module file: package module files it imports} over every module of the package.

    An import of `pkg.sub.mod` also runs the `__init__` of `pkg.sub`; that edge from a module to
    the `__init__` of its own enclosing packages is left out (Python runs it first anyway).
    """
    package_dir = Path(package_dir).resolve()
    graph = {}
    for path in sorted(package_dir.rglob("*.py")):
        enclosing = {
            p / "__init__.py" for p in path.parents if p == package_dir or package_dir in p.parents
        }
        graph[path] = {d.resolve() for d in direct_imports(path, package_dir)} - enclosing - {path}
    return graph


def import_cycles(package_dir: str | Path) -> list[list[Path]]:
    """The import cycles of the package: strongly connected sets of more than one module."""
    graph = import_graph(package_dir)
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on_stack: set[Path] = set()
    cycles = []

    def visit(v: Path) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return cycles


# ------------------------------------------------------------- rule -> wrapper -> modules

RULE_LINE = re.compile(r"^(?:rule|checkpoint)\s+(\w+)\s*:")
SCRIPT_LINE = re.compile(r'^\s+"\.\./scripts/(\w+)\.py"')
TABLE_START = "<!-- rule-module-table: generated by `python -m sinkzone.provenance --table` -->"
TABLE_END = "<!-- rule-module-table: end -->"


def rule_wrappers(rules_dir: str | Path) -> list[tuple[str, str]]:
    """(rule, wrapper name) of every rule in rules/*.smk that runs a wrapper script, by rule."""
    out = []
    for smk in sorted(Path(rules_dir).glob("*.smk")):
        rule = None
        for line in smk.read_text(encoding="utf-8").splitlines():
            m = RULE_LINE.match(line)
            if m:
                rule = m.group(1)
                continue
            m = SCRIPT_LINE.match(line)
            if m and rule is not None:
                out.append((rule, m.group(1)))
                rule = None
    return sorted(out)


def module_name(path: Path, package_dir: Path) -> str:
    """`maps.plots` for scripts/sinkzone/maps/plots.py, `maps` for its __init__.py."""
    parts = list(Path(path).relative_to(package_dir).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or PACKAGE


def module_table(root: str | Path) -> str:
    """Markdown table rule | wrapper | sinkzone modules it runs (transitively), from the code."""
    root = Path(root).resolve()
    package_dir = root / "scripts" / PACKAGE
    lines = ["| rule | wrapper | `sinkzone` modules (imported directly or indirectly) |"]
    lines.append("|---|---|---|")
    for rule, wrapper in rule_wrappers(root / "rules"):
        mods = module_closure(root / "scripts" / f"{wrapper}.py", package_dir)
        names = ", ".join(module_name(p, package_dir) for p in mods if p.parent != package_dir
                          or p.name != "__init__.py")  # fmt: skip
        lines.append(f"| `{rule}` | `scripts/{wrapper}.py` | {names} |")
    return "\n".join(lines) + "\n"


def subject_table(root: str | Path) -> str:
    """Markdown table module | subject (the first paragraph of its docstring), from the code."""
    package_dir = Path(root).resolve() / "scripts" / PACKAGE
    lines = ["| module | subject (first paragraph of its docstring) |", "|---|---|"]
    for path in sorted(package_dir.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        first = " ".join(doc.split("\n\n")[0].split()).replace("|", "\\|")
        lines.append(f"| `{module_name(path, package_dir)}` | {first} |")
    return "\n".join(lines) + "\n"


def doc_block(root: str | Path) -> str:
    """The generated part of docs/ARCHITECTURE.md: the module subjects and the rule table."""
    return f"{subject_table(root)}\n{module_table(root)}"


def doc_table(doc: str | Path) -> str:
    """The generated table as it stands in a document (between the TABLE_START/END markers)."""
    text = Path(doc).read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    return text[start:end].strip("\n") + "\n"


def write_doc_table(doc: str | Path, root: str | Path) -> None:
    """Replace the generated table in `doc` (between the markers) with the current one."""
    text = Path(doc).read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    from sinkzone.io import atomic_path  # (not at the top: the Snakefile imports this module)

    with atomic_path(doc) as tmp:
        tmp.write_text(f"{text[:start]}\n{doc_block(root)}{text[end:]}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sinkzone.provenance", description=__doc__)
    parser.add_argument(
        "--table", action="store_true", help="print the module and rule-module tables"
    )
    parser.add_argument("--write", metavar="DOC", help="rewrite the table in DOC in place")
    parser.add_argument("--root", default=Path(__file__).resolve().parents[2], type=Path)
    args = parser.parse_args(argv)
    if args.write:
        write_doc_table(args.write, args.root)
        return 0
    if args.table:
        print(doc_block(args.root), end="")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
