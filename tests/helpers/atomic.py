"""Which file writes of the rule scripts and the package go to a temporary path first.

A write (open(..., "w"), rasterio.open(..., "w"), write_text/bytes, to_csv, to_file, to_parquet,
savefig, PdfPages, ...) is atomic when its target is derived from a temporary path (atomic_path,
mkstemp, mkdtemp, TemporaryDirectory) or an in-memory file in the same function; a write to a
parameter is checked at the function's calls (any depth). Rule wrappers' `main` write their
outputs: a write to one of its parameters is a direct write to a rule output.
"""

import ast

# calls that give a temporary path (renamed onto the output on success) or an in-memory file
TEMP_FACTORIES = {
    "atomic_path",
    "mkstemp",
    "mkdtemp",
    "TemporaryDirectory",
    "NamedTemporaryFile",
    "BytesIO",
    "StringIO",
}
PATH_METHODS = {"to_csv", "to_file", "to_parquet", "savefig", "to_excel", "to_netcdf", "save"}


def _call_name(node):
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _targets(t):
    return _names(t)


def write_targets(fn, pdfs):
    """(target expression, line) of every file write in the function."""
    for node in ast.walk(fn):
        if isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Call):
            if _call_name(node.context_expr) == "PdfPages" and node.optional_vars is not None:
                pdfs |= _names(node.optional_vars)
    out = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        f = node.func
        mode = None
        if name == "open" and (isinstance(f, ast.Name) or _attr_base(f) in {"rasterio", "io"}):
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                mode = node.args[1].value
            for k in node.keywords:
                if k.arg == "mode" and isinstance(k.value, ast.Constant):
                    mode = k.value.value
            if isinstance(mode, str) and set(mode) & set("wax") and node.args:
                out.append((node.args[0], node.lineno))
        elif name in {"write_text", "write_bytes"} and isinstance(f, ast.Attribute):
            out.append((f.value, node.lineno))
        elif name in PATH_METHODS and isinstance(f, ast.Attribute) and node.args:
            if name == "savefig" and _names(f.value) & pdfs:
                continue  # a page of an open PdfPages document (the document is checked)
            if name == "save" and not isinstance(f.value, ast.Name):
                continue
            out.append((node.args[0], node.lineno))
        elif name == "PdfPages" and node.args:
            out.append((node.args[0], node.lineno))
    return out


def _attr_base(f):
    return f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else None


def _makes_temp(value):
    return any(isinstance(n, ast.Call) and _call_name(n) in TEMP_FACTORIES for n in ast.walk(value))


def temp_names(fn):
    """Names bound in fn to temporary paths, and names derived from them by assignment."""
    temp = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Call):
            if _makes_temp(node.context_expr) and node.optional_vars is not None:
                temp |= _names(node.optional_vars)
        if isinstance(node, ast.Assign):
            if _makes_temp(node.value):
                for t in node.targets:
                    temp |= _targets(t)
    changed = True
    while changed:
        changed = False
        for node in ast.walk(fn):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                if _names(node.value) & temp:
                    tg = node.targets if isinstance(node, ast.Assign) else [node.target]
                    new = set().union(*(_targets(t) for t in tg)) - temp
                    if new:
                        temp |= new
                        changed = True
            if isinstance(node, ast.For) and _names(node.iter) & temp:
                new = _targets(node.target) - temp
                if new:
                    temp |= new
                    changed = True
    return temp


def _params(fn):
    a = fn.args
    return [p.arg for p in a.posonlyargs + a.args] + [p.arg for p in a.kwonlyargs]


def offenders(files):
    """Writes whose target is not a temporary path: (file, function, line, target).

    A write to a parameter of its function is checked at the calls of that function in
    `files` (the argument must be a temporary path there), followed through any depth.
    """
    funcs = []  # (path, fn)
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pdfs = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Call):
                if _call_name(node.context_expr) == "PdfPages" and node.optional_vars is not None:
                    pdfs |= _names(node.optional_vars)
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                funcs.append((path, fn, pdfs))
    out, to_check = [], {}  # to_check: function name -> {param names it writes to}
    direct = {}  # function name -> the writes to its parameters, reported if it has no caller
    for path, fn, pdfs in funcs:
        temp, params = temp_names(fn), set(_params(fn))
        for target, line in write_targets(fn, pdfs):
            names = _names(target)
            if names & temp:
                continue
            if names & params:
                to_check.setdefault(fn.name, set()).update(names & params)
                direct.setdefault(fn.name, []).append((path, fn.name, line, ast.unparse(target)))
                continue
            out.append((path, fn.name, line, ast.unparse(target)))
    done = set()
    while to_check:
        name, written = to_check.popitem()
        if name in done:
            continue
        done.add(name)
        defs = [fn for _, fn, _ in funcs if fn.name == name]
        order = _params(defs[0])
        calls = 0
        for path, fn, _ in funcs:
            temp, params = temp_names(fn), set(_params(fn))
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Call) and _call_name(node) == name):
                    continue
                calls += name != "main"
                offset = 1 if order and order[0] in ("self", "cls") else 0
                args = {
                    order[i + offset]: a for i, a in enumerate(node.args) if i + offset < len(order)
                }
                args |= {k.arg: k.value for k in node.keywords if k.arg}
                for p in written & args.keys():
                    names = _names(args[p])
                    if names & temp:
                        continue
                    write = (path, fn.name, node.lineno, f"{name}({p}={ast.unparse(args[p])})")
                    if names & params:
                        to_check.setdefault(fn.name, set()).update(names & params)
                        direct.setdefault(fn.name, []).append(write)
                        continue
                    out.append(write)
        if not calls or name == "main":  # a rule wrapper's main writes the rule's outputs
            out += direct.get(name, [])
    return sorted(out, key=lambda o: (str(o[0]), o[2]))
