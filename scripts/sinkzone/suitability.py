"""Suitability rules: parse `config/suitability.yaml`, evaluate its conditions on layer stacks.

The file is data, never code: it is read with a `yaml.SafeLoader` (no Python tags; duplicate
keys are an error), every key is checked against the grammar below, and every value against the
layer it is compared with. Nothing in it is ever evaluated; a string such as
``"__import__('os')"`` is only ever compared as a string (and then rejected as an unknown name).

Condition grammar (docs/ARCHITECTURE.md, "Rules engine")::

    leaf:        {layer: NAME, op: OP, value: V}
    combinators: {all: [COND, ...]}, {any: [COND, ...]}, {not: COND}

`V` may also be ``{option: NAME}``, a number from the file's ``options`` block (e.g.
``coastal_max_km``) so a threshold is written once, or ``{option: NAME, times: NAME2}``, the
product of two options (e.g. a station-scale precipitation threshold times the documented wet
bias of the precipitation layer). A leaf may carry ``missing: pass`` or
``missing: fail`` to say what a nodata cell gives for that leaf (default: unknown, see below),
e.g. ``{layer: precip, op: ge, value: 400, missing: pass}`` = "at least 400 mm where known".

Missing data: three-valued (Kleene) logic
-----------------------------------------
A leaf on a cell whose layer holds its nodata value is *unknown*, not False. Unknown propagates:
``all`` is False if any part is False, else unknown if any part is unknown; ``any`` is True if
any part is True, else unknown if any part is unknown; ``not unknown`` is unknown. A measure is
eligible only where its rule is *definitely* True, so a missing layer value can never make a
measure eligible -- in particular ``not: {layer: coast_km, op: le, value: 20}`` does not turn a
cell without a coastline distance into "inland". A constraint (which only removes measures)
applies where its ``when`` is True *or unknown*: unknown red-line status is treated as inside
(precautionary). ``explain`` reports unknown leaves with ``reason: "no data"``. A leaf with
``missing: pass`` / ``missing: fail`` is True / False on nodata cells instead of unknown.

The ``zones`` bitmask has no nodata: 0 means "in none of the zones". ``lat``/``lon`` are computed
from the grid and are never missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from sinkzone import layerspec
from sinkzone.classes import climate_classes
from sinkzone.errors import ConfigError, type_name

MAX_DEPTH = 32  # nesting of all/any/not
MAX_LIST = 1000  # values of in/not_in, children of all/any
MAX_NODES = 20000  # condition nodes in one file (aliases are counted each time they are used)
MAX_BYTES = 1_000_000  # size of the YAML file

OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "between", "has")
ORDER_OPS = ("lt", "le", "gt", "ge", "between")
CLIMATE_LETTERS = tuple(c.code for c in climate_classes())  # config/climate_classes.csv
# slope threshold (whole degrees) -> steep layer, from config/layers.yaml
STEEP_LAYERS = {int(deg): name for name, deg in layerspec.thresholds().items()}
AREA_SHARES = (None, *STEEP_LAYERS.values(), "steep")


@dataclass(frozen=True)
class LayerSpec:
    """How a layer is read in conditions: the kind of value, its nodata and the allowed ops."""

    kind: str  # number | share | int | ecosystem | climate | zone | flag | bool
    nodata: float | None
    ops: tuple[str, ...]
    unit: str = ""
    description: str = ""


def rule_layers(doc: dict) -> dict[str, LayerSpec]:
    """{name: LayerSpec} of every layer a rule may name (stored and computed), from the layer
    specification `doc` (config/layers.yaml): kind and ops as declared; nodata the tile's
    (None for the bitmask kinds, where 0 = no bit set); unit the number's unit ("share" for
    the permille shares, which rules read as 0-1; none for class codes)."""
    out = {}
    for section in ("layers", "computed"):
        for name, v in doc[section].items():
            kind = v["kind"]
            nodata = None if kind in layerspec.BITMASK_KINDS else v.get("nodata")
            unit = {"number": v["unit"], "share": "share"}.get(kind, "")
            out[name] = LayerSpec(kind, nodata, tuple(v["ops"]), unit, v["description"])
    return out


LAYERS: dict[str, LayerSpec] = rule_layers(layerspec.spec())


@dataclass(frozen=True)
class Vocab:
    """Names used in conditions: ecosystem class names -> ids, zone ids in bit order."""

    ecosystems: Mapping[str, int]
    zones: tuple[str, ...] = ()
    landcover_nodata: float | None = None

    @property
    def ecosystem_names(self) -> dict[int, str]:
        return {v: k for k, v in self.ecosystems.items()}


def load_vocab(ecosystems_csv, zone_ids, landcover_nodata=None) -> Vocab:
    """Vocab from `config/ecosystems.csv` (id,name,...) and the zone ids of config zones.items."""
    from sinkzone.io import read_csv

    df = read_csv(ecosystems_csv, dtype={"id": "int64", "name": str})
    if not {"id", "name"} <= set(df.columns):
        raise ConfigError(ecosystems_csv, "columns id and name are required", "add them")
    if len(zone_ids) > 16:
        raise ConfigError("config.yaml:zones.items", "more than 16 zones", "the bitmask is uint16")
    return Vocab(
        ecosystems=dict(zip(df["name"], df["id"].astype(int), strict=True)),
        zones=tuple(zone_ids),
        landcover_nodata=landcover_nodata,
    )


# ----------------------------------------------------------------------------- parsed nodes


@dataclass(frozen=True)
class Leaf:
    layer: str
    op: str
    value: object  # as written (for messages)
    resolved: object  # compared with the stored array (ids, permille, bit index)
    path: str
    missing: str | None = None  # None (unknown) | "pass" | "fail" on nodata cells

    def text(self) -> str:
        return f"{self.layer} {self.op} {_fmt_value(self.value)}"


@dataclass(frozen=True)
class All:
    items: tuple
    path: str


@dataclass(frozen=True)
class Any_:
    items: tuple
    path: str


@dataclass(frozen=True)
class Not:
    item: object
    path: str


@dataclass(frozen=True)
class Constraint:
    id: str
    principle: str
    description: str
    when: object
    allow_only_tags: tuple[str, ...] | None
    forbid_tags: tuple[str, ...] | None
    # conversion measures allocated only after management, on land no management measure took
    after_management: tuple[str, ...] | None = None
    description_zh: str = ""  # Chinese text of `description` (explain --lang zh), "" = none

    def removes(self, tags) -> bool:
        """True when this constraint forbids a measure carrying `tags` (where `when` holds)."""
        if self.after_management is not None:
            return False  # an ordering constraint removes nothing
        tags = set(tags)
        if self.allow_only_tags is not None:
            return not (tags & set(self.allow_only_tags))
        return bool(tags & set(self.forbid_tags or ()))


@dataclass(frozen=True)
class Measure:
    id: str
    principles: tuple[str, ...]
    description: str
    where: object | None  # None when not mapped
    area_share: str | None
    not_mapped: str | None
    not_mapped_zh: str | None = None  # Chinese text of `not_mapped` (explain --lang zh)


@dataclass
class RuleSet:
    options: dict
    constraints: list[Constraint]
    measures: dict[str, Measure]
    source: str = "suitability.yaml"
    layers_used: set = field(default_factory=set)

    def share_layer(self, measure_id: str) -> str | None:
        """The steep layer giving the eligible share of a cell, or None (whole cell)."""
        a = self.measures[measure_id].area_share
        if a == "steep":
            return STEEP_LAYERS[self.options["steep_threshold_deg"]]
        return a


# ----------------------------------------------------------------------------- YAML loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (a silent override hides typos)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"a {type(key).__name__} used as a key", key_node.start_mark
            ) from None
        if key in seen:
            m = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {m.line + 1})", m
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path) -> object:
    """Read YAML data safely: no Python objects, no duplicate keys, bounded size and depth."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(path, f"cannot read the file ({e.strerror})", "check the path") from None
    return load_yaml_text(raw, str(path))


def load_yaml_text(raw: bytes | str, name: str) -> object:
    if len(raw) > MAX_BYTES:
        raise ConfigError(name, f"file larger than {MAX_BYTES} bytes", "keep rules concise")
    try:
        return yaml.load(raw, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.constructor.ConstructorError as e:
        raise ConfigError(
            name,
            f"unsupported YAML ({e.problem}{_mark(e.problem_mark)})",
            "use plain YAML data only (no !!python or other tags, no duplicate keys)",
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = " ".join(str(getattr(e, "problem", None) or e).split())
        raise ConfigError(
            name, f"invalid YAML{_mark(mark)} ({problem})", "fix the syntax"
        ) from None
    except RecursionError:
        raise ConfigError(name, "nesting too deep", f"nest at most {MAX_DEPTH} levels") from None


def _mark(mark) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


# ----------------------------------------------------------------------------- validation


class _Ctx:
    def __init__(self, vocab: Vocab, options: dict, name: str):
        self.vocab = vocab
        self.options = options
        self.name = name
        self.nodes = 0
        self.layers: set[str] = set()

    def err(self, path: str, problem: str, fix: str):
        raise ConfigError(f"{self.name}:{path}" if path else self.name, problem, fix)


def _check_keys(ctx, obj, path, allowed, required=()):
    if not isinstance(obj, dict):
        ctx.err(path, f"expected a mapping, got {type_name(obj)}", f"write keys {sorted(allowed)}")
    for k in obj:
        if k not in allowed:
            ctx.err(
                f"{path}.{k}" if path else str(k),
                f"unknown key {k!r}",
                f"use one of {sorted(allowed)}",
            )
    for k in required:
        if k not in obj:
            ctx.err(path, f"missing key {k!r}", f"add {k}")


def parse_condition(
    raw,
    vocab: Vocab,
    options: dict | None = None,
    path: str = "cond",
    name: str = "condition",
    _ctx: _Ctx | None = None,
    _depth: int = 0,
):
    """Validate a condition (plain data) and return its parsed tree (Leaf/All/Any_/Not)."""
    ctx = _ctx or _Ctx(vocab, options or {}, name)
    ctx.nodes += 1
    if ctx.nodes > MAX_NODES:
        ctx.err(path, f"more than {MAX_NODES} condition nodes", "simplify the rules")
    if _depth > MAX_DEPTH:
        ctx.err(path, f"conditions nested deeper than {MAX_DEPTH} levels", "flatten the rule")
    if not isinstance(raw, dict) or len(raw) == 0:
        ctx.err(
            path,
            f"expected a condition mapping, got {type_name(raw)}",
            "write {layer: .., op: .., value: ..} or {all: [..]}, {any: [..]}, {not: ..}",
        )
    keys = set(raw)
    if keys & {"all", "any", "not"}:
        if len(keys) != 1:
            ctx.err(
                path,
                f"a combinator must be alone in its mapping, found keys {sorted(map(str, keys))}",
                "wrap the parts in {all: [..]}",
            )
        (k,) = keys
        sub = raw[k]
        if k == "not":
            return Not(
                parse_condition(sub, vocab, path=f"{path}.not", _ctx=ctx, _depth=_depth + 1), path
            )
        if not isinstance(sub, list) or not sub:
            ctx.err(
                f"{path}.{k}",
                f"expected a non-empty list, got {type_name(sub)}",
                f"write {k}: [cond, cond, ...]",
            )
        if len(sub) > MAX_LIST:
            ctx.err(f"{path}.{k}", f"{len(sub)} items (limit {MAX_LIST})", "simplify the rule")
        items = tuple(
            parse_condition(s, vocab, path=f"{path}.{k}[{i}]", _ctx=ctx, _depth=_depth + 1)
            for i, s in enumerate(sub)
        )
        return All(items, path) if k == "all" else Any_(items, path)
    _check_keys(ctx, raw, path, {"layer", "op", "value", "missing"}, ("layer", "op", "value"))
    return _parse_leaf(ctx, raw, path)


def _parse_leaf(ctx: _Ctx, raw: dict, path: str) -> Leaf:
    layer, op, value = raw["layer"], raw["op"], raw["value"]
    if not isinstance(layer, str) or layer not in LAYERS:
        ctx.err(f"{path}.layer", f"unknown layer {layer!r}", f"use one of {sorted(LAYERS)}")
    spec = LAYERS[layer]
    if not isinstance(op, str) or op not in OPS:
        ctx.err(f"{path}.op", f"unknown operator {op!r}", f"use one of {list(OPS)}")
    if op not in spec.ops:
        ctx.err(
            f"{path}.op",
            f"operator {op!r} does not apply to layer {layer!r}",
            f"use one of {list(spec.ops)}",
        )
    vpath = f"{path}.value"
    if isinstance(value, dict):
        value = _option_ref(ctx, value, vpath)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            ctx.err(
                vpath,
                f"'{op}' needs a non-empty list, got {type_name(value)}",
                "write value: [a, b]",
            )
        if len(value) > MAX_LIST:
            ctx.err(vpath, f"{len(value)} values (limit {MAX_LIST})", "use fewer values")
        resolved = tuple(_scalar(ctx, layer, v, f"{vpath}[{i}]") for i, v in enumerate(value))
    elif op == "between":
        if not isinstance(value, list) or len(value) != 2:
            ctx.err(
                vpath,
                f"'between' needs [low, high], got {_fmt_value(value)}",
                "write value: [low, high] (inclusive)",
            )
        lo, hi = (_scalar(ctx, layer, v, f"{vpath}[{i}]") for i, v in enumerate(value))
        if lo > hi:
            ctx.err(vpath, f"low {value[0]} > high {value[1]}", "swap the bounds")
        resolved = (lo, hi)
    else:
        if isinstance(value, list | dict):
            ctx.err(
                vpath,
                f"'{op}' needs a single value, got {type_name(value)}",
                "use 'in' for a list of values",
            )
        resolved = _scalar(ctx, layer, value, vpath)
    missing = raw.get("missing")
    if missing not in (None, "pass", "fail", "unknown"):
        ctx.err(
            f"{path}.missing",
            f"unknown value {_fmt_value(missing)}",
            "use pass (nodata satisfies the leaf), fail, or unknown (the default)",
        )
    ctx.layers.add(layer)
    return Leaf(layer, op, value, resolved, path, None if missing == "unknown" else missing)


def _option_ref(ctx: _Ctx, value: dict, path: str):
    if set(value) not in ({"option"}, {"option", "times"}):
        ctx.err(
            path,
            f"unexpected mapping {_fmt_value(value)}",
            "write a value, {option: NAME} or {option: NAME, times: NAME2}",
        )
    out = 1.0
    for key in ("option", "times"):
        if key not in value:
            continue
        name = value[key]
        if not isinstance(name, str) or name not in ctx.options:
            ctx.err(
                f"{path}.{key}", f"unknown option {name!r}", f"use one of {sorted(ctx.options)}"
            )
        if key == "option" and "times" not in value:
            return ctx.options[name]
        out *= float(ctx.options[name])
    return out


def _number(ctx, v, path):
    if isinstance(v, bool) or not isinstance(v, int | float):
        ctx.err(
            path,
            f"expected a number, got {type_name(v)} {_fmt_value(v)}",
            "write a plain number (strings are never evaluated)",
        )
    try:
        f = float(v)
    except OverflowError:
        ctx.err(path, "number too large", "use a finite number")
    if not math.isfinite(f):
        ctx.err(path, f"expected a finite number, got {v}", "use a finite number")
    return f


def _scalar(ctx: _Ctx, layer: str, v, path: str):
    """Resolve one value to what the stored array holds (ids, permille, bit index)."""
    kind = LAYERS[layer].kind
    if kind == "number":
        return _number(ctx, v, path)
    if kind == "share":
        f = _number(ctx, v, path)
        if not 0 <= f <= 1:
            ctx.err(
                path,
                f"a share must be within 0..1, got {v}",
                f"{layer} is the share of the cell, e.g. 0.3 for 30 %",
            )
        return f * 1000.0
    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            ctx.err(
                path,
                f"expected an integer code, got {type_name(v)} {_fmt_value(v)}",
                "write the integer code (e.g. an adcode 110000)",
            )
        return int(v)
    if kind == "ecosystem":
        if not isinstance(v, str) or v not in ctx.vocab.ecosystems:
            ctx.err(
                path,
                f"unknown ecosystem {_fmt_value(v)}",
                f"use a name of config/ecosystems.csv: {sorted(ctx.vocab.ecosystems)}",
            )
        return int(ctx.vocab.ecosystems[v])
    if kind == "climate":
        if not isinstance(v, str) or v not in CLIMATE_LETTERS:
            ctx.err(
                path,
                f"unknown climate group {_fmt_value(v)}",
                "use a Koppen-Geiger main group letter A, B, C, D or E",
            )
        return {c.code: c.value for c in climate_classes()}[v]
    if kind == "flag":
        from sinkzone.layerspec import MARINE_FLAGS

        if not isinstance(v, str) or v not in MARINE_FLAGS:
            ctx.err(
                path,
                f"unknown marine flag {_fmt_value(v)}",
                f"use one of {list(MARINE_FLAGS)}",
            )
        return MARINE_FLAGS.index(v)
    if kind == "zone":
        if not isinstance(v, str) or v not in ctx.vocab.zones:
            ctx.err(
                path,
                f"unknown zone {_fmt_value(v)}",
                f"use a zone id of config zones.items: {list(ctx.vocab.zones)}",
            )
        return ctx.vocab.zones.index(v)
    if kind == "bool":
        if not isinstance(v, bool):
            ctx.err(
                path,
                f"expected true or false, got {type_name(v)} {_fmt_value(v)}",
                "write true or false",
            )
        return int(v)
    raise AssertionError(kind)


def _fmt_value(v) -> str:
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v) if len(v) <= 60 else repr(v[:57] + "...")
    return str(v)


def _str(ctx, v, path, allow_empty=False):
    if not isinstance(v, str) or (not allow_empty and not v.strip()):
        ctx.err(path, f"expected a text, got {type_name(v)}", "write a short text")
    return v


def _str_list(ctx, v, path):
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        ctx.err(path, f"expected a list of texts, got {_fmt_value(v)}", 'write e.g. ["1.2"]')
    if len(v) > MAX_LIST:
        ctx.err(path, f"{len(v)} items (limit {MAX_LIST})", "use fewer items")
    return tuple(v)


OPTION_KEYS = {
    "steep_threshold_deg",
    "coastal_max_km",
    "dryland_precip_mm",
    "humid_precip_mm",
    "precip_wet_bias",
}
# positive numbers of the options block (besides steep_threshold_deg), with defaults
NUMBER_OPTIONS = {
    "coastal_max_km": 20.0,
    "dryland_precip_mm": 400.0,
    "humid_precip_mm": 800.0,
    "precip_wet_bias": 1.0,
}


def parse_ruleset(data, vocab: Vocab, catalog=None, name: str = "suitability.yaml") -> RuleSet:
    """Validate plain YAML data of suitability.yaml and return a RuleSet.

    `catalog` (a `sinkzone.catalog.Catalog`, optional) adds cross-checks: every catalog id has a
    measure entry and vice versa, tags named in constraints exist, mapped measures have rates.
    """
    ctx = _Ctx(vocab, {}, name)
    _check_keys(ctx, data, "", {"options", "constraints", "measures"}, ("measures",))
    options = {"steep_threshold_deg": 25, **NUMBER_OPTIONS}
    raw_opts = data.get("options") or {}
    _check_keys(ctx, raw_opts, "options", OPTION_KEYS)
    if "steep_threshold_deg" in raw_opts:
        v = raw_opts["steep_threshold_deg"]
        if isinstance(v, bool) or v not in STEEP_LAYERS:
            degs = " or ".join(str(d) for d in STEEP_LAYERS)
            names = ", ".join(STEEP_LAYERS.values())
            ctx.err(
                "options.steep_threshold_deg",
                f"must be {degs}, got {_fmt_value(v)}",
                f"slope shares exist for {degs.replace(' or ', ' and ')} degrees (layers {names})",
            )
        options["steep_threshold_deg"] = int(v)
    for key in NUMBER_OPTIONS:
        if key in raw_opts:
            v = _number(ctx, raw_opts[key], f"options.{key}")
            if v <= 0:
                ctx.err(f"options.{key}", f"must be > 0, got {v}", "use a positive number")
            options[key] = v
    ctx.options = options

    all_tags = set(catalog.all_tags) if catalog is not None else None
    constraints = []
    raw_cons = data.get("constraints") or []
    if not isinstance(raw_cons, list):
        ctx.err("constraints", f"expected a list, got {type_name(raw_cons)}", "write - id: ...")
    seen = set()
    for i, rc in enumerate(raw_cons):
        p = f"constraints[{i}]"
        _check_keys(
            ctx,
            rc,
            p,
            {
                "id",
                "principle",
                "description",
                "description_zh",
                "when",
                "allow_only_tags",
                "forbid_tags",
                "after_management",
            },
            ("id", "when"),
        )
        cid = _str(ctx, rc["id"], f"{p}.id")
        if cid in seen:
            ctx.err(f"{p}.id", f"duplicate constraint id {cid!r}", "give each constraint its id")
        seen.add(cid)
        p = f"constraints.{cid}"
        desc_zh = _str(ctx, rc.get("description_zh", ""), f"{p}.description_zh", allow_empty=True)
        has_allow, has_forbid = "allow_only_tags" in rc, "forbid_tags" in rc
        if "after_management" in rc:
            if has_allow or has_forbid:
                ctx.err(p, "after_management cannot be combined with tags", "split the constraint")
            later = _str_list(ctx, rc["after_management"], f"{p}.after_management")
            if not later:
                ctx.err(f"{p}.after_management", "empty list", "name at least one measure id")
            when = parse_condition(rc["when"], vocab, path=f"{p}.when", _ctx=ctx)
            constraints.append(
                Constraint(
                    cid,
                    str(rc.get("principle", "")),
                    str(rc.get("description", "")),
                    when,
                    None,
                    None,
                    later,
                    desc_zh,
                )
            )
            continue
        if has_allow == has_forbid:
            ctx.err(
                p,
                "needs exactly one of allow_only_tags, forbid_tags or after_management",
                "keep one of them",
            )
        key = "allow_only_tags" if has_allow else "forbid_tags"
        tags = _str_list(ctx, rc[key], f"{p}.{key}")
        if not tags:
            ctx.err(f"{p}.{key}", "empty tag list", "name at least one tag")
        if all_tags is not None:
            for t in tags:
                if t not in all_tags:
                    ctx.err(
                        f"{p}.{key}",
                        f"tag {t!r} is not used by any catalog row",
                        f"use one of {sorted(all_tags)} or add it to the catalog tags",
                    )
        when = parse_condition(rc["when"], vocab, path=f"{p}.when", _ctx=ctx)
        constraints.append(
            Constraint(
                cid,
                str(rc.get("principle", "")),
                str(rc.get("description", "")),
                when,
                tags if has_allow else None,
                tags if has_forbid else None,
                None,
                desc_zh,
            )
        )

    raw_meas = data["measures"]
    if not isinstance(raw_meas, dict) or not raw_meas:
        ctx.err(
            "measures",
            f"expected a mapping of measure ids, got {type_name(raw_meas)}",
            "write measures: {afforestation: {...}, ...}",
        )
    measures = {}
    for mid, rm in raw_meas.items():
        p = f"measures.{mid}"
        if not isinstance(mid, str):
            ctx.err(p, f"measure id {mid!r} is not a text", "use the catalog id")
        _check_keys(
            ctx,
            rm,
            p,
            {"principles", "description", "where", "area_share", "not_mapped", "not_mapped_zh"},
        )
        principles = _str_list(ctx, rm.get("principles", []), f"{p}.principles")
        desc = _str(ctx, rm.get("description", ""), f"{p}.description", allow_empty=True)
        nm = rm.get("not_mapped")
        if nm is not None:
            _str(ctx, nm, f"{p}.not_mapped")
        nm_zh = rm.get("not_mapped_zh")
        if nm_zh is not None:
            _str(ctx, nm_zh, f"{p}.not_mapped_zh")
        if (nm is None) == ("where" not in rm or rm["where"] is None):
            ctx.err(
                p,
                "needs exactly one of 'where' (a condition) or 'not_mapped' (a reason)",
                "add a where condition, or not_mapped: 'why it cannot be mapped'",
            )
        area_share = rm.get("area_share")
        if area_share not in AREA_SHARES:
            ctx.err(
                f"{p}.area_share",
                f"unknown area_share {_fmt_value(area_share)}",
                f"use null, {', '.join(STEEP_LAYERS.values())} or steep",
            )
        where = None
        if nm is None:
            where = parse_condition(rm["where"], vocab, path=f"{p}.where", _ctx=ctx)
        measures[mid] = Measure(mid, principles, desc, where, area_share, nm, nm_zh)
    for m in measures.values():
        if m.area_share:
            ctx.layers.add(
                m.area_share
                if m.area_share != "steep"
                else STEEP_LAYERS[options["steep_threshold_deg"]]
            )

    if catalog is not None:
        ids = list(catalog.ids)
        extra = [m for m in measures if m not in ids]
        missing = [m for m in ids if m not in measures]
        if extra:
            ctx.err(
                f"measures.{extra[0]}",
                f"measure(s) {extra} are not in the catalog",
                "fix the id, or add the measure to config/technologies.csv",
            )
        if missing:
            ctx.err(
                "measures",
                f"catalog measure(s) {missing} have no entry",
                "add a where rule or not_mapped: reason for each",
            )
        for mid, m in measures.items():
            row = catalog.row(mid)
            if m.where is not None and row["rate_central"] is None:
                ctx.err(
                    f"measures.{mid}",
                    "mapped, but the catalog has no rate for it",
                    "add rate_low/central/high to the catalog or mark it not_mapped",
                )
        for c in constraints:
            for mid in c.after_management or ():
                if mid not in ids or catalog.row(mid).get("land_use") != "conversion":
                    ctx.err(
                        f"constraints.{c.id}.after_management",
                        f"{mid!r} is not a conversion measure of the catalog",
                        "list catalog ids whose land_use is conversion",
                    )
        measures = {mid: measures[mid] for mid in ids}  # catalog (bit) order
    return RuleSet(options, constraints, measures, name, ctx.layers)


def load_ruleset(path, vocab: Vocab, catalog=None) -> RuleSet:
    """Read and validate suitability.yaml (see `parse_ruleset`)."""
    return parse_ruleset(load_yaml(path), vocab, catalog, name=str(path))


# ----------------------------------------------------------------------------- evaluation


def _small_uint(arr: np.ndarray) -> bool:
    return arr.dtype.kind == "u" and arr.dtype.itemsize <= 2


def layer_nodata(layer: str, vocab: Vocab | None):
    """The value of `layer` that means "no data" in rule leaves (None: never missing)."""
    if layer == "landcover":
        return vocab.landcover_nodata if vocab is not None else None
    return LAYERS[layer].nodata


def _fit_float(v, fmax):
    """Values beyond the array's float range become +-inf (same result, no overflow warning)."""
    if isinstance(v, tuple):
        return tuple(_fit_float(x, fmax) for x in v)
    return math.copysign(math.inf, v) if abs(v) > fmax else v


def compare(arr: np.ndarray, op: str, v) -> np.ndarray:
    """Boolean array of `arr OP v` for the comparison operators of the rule grammar
    (eq ne lt le gt ge between in not_in); nodata is the caller's business."""
    if op == "eq":
        return arr == v
    if op == "ne":
        return arr != v
    if op == "lt":
        return arr < v
    if op == "le":
        return arr <= v
    if op == "gt":
        return arr > v
    if op == "ge":
        return arr >= v
    if op == "between":
        return (arr >= v[0]) & (arr <= v[1])
    if op in ("in", "not_in"):
        res = np.isin(arr, np.asarray(v))
        return ~res if op == "not_in" else res
    raise ValueError(f"unknown operator {op!r}")


def _leaf3(leaf: Leaf, stack: Mapping, vocab: Vocab | None):
    """(true, false) boolean arrays for one leaf; both False where the cell has no data."""
    try:
        arr = np.asarray(stack[leaf.layer])
    except KeyError:
        raise ConfigError(
            f"layer {leaf.layer}",
            "the rules use this layer but it was not provided",
            "add the layer to the rule inputs",
        ) from None
    nod = layer_nodata(leaf.layer, vocab)
    kind = LAYERS[leaf.layer].kind
    op, v = leaf.op, leaf.resolved
    if arr.dtype.kind == "f":
        v = _fit_float(v, float(np.finfo(arr.dtype).max))
    if kind in ("zone", "flag"):
        hit = (arr & np.asarray(1 << v, dtype=arr.dtype)) != 0
        return hit, ~hit
    if op in ("eq", "ne", "in", "not_in") and _small_uint(arr):
        # Small unsigned codes: one lookup table pass (fast, and nodata handled in the table).
        size = 1 << (8 * arr.dtype.itemsize)
        vals = v if isinstance(v, tuple) else (v,)
        inset = np.zeros(size, dtype=bool)
        for x in vals:
            if 0 <= x < size and float(x).is_integer():
                inset[int(x)] = True
        known = np.ones(size, dtype=bool)
        if nod is not None and 0 <= nod < size:
            known[int(nod)] = False
        t_lut = known & (inset if op in ("eq", "in") else ~inset)
        f_lut = known & ~t_lut
        return t_lut[arr], f_lut[arr]
    res = compare(arr, op, v)
    known = None
    if nod is not None:
        known = arr != nod
    if arr.dtype.kind == "f":
        known = ~np.isnan(arr) if known is None else known & ~np.isnan(arr)
    if known is None:
        return res, ~res
    return res & known, ~res & known


def evaluate3(cond, stack: Mapping, vocab: Vocab | None = None):
    """Three-valued evaluation: (definitely_true, definitely_false) boolean arrays."""
    if isinstance(cond, Leaf):
        t, f = _leaf3(cond, stack, vocab)
        if cond.missing is not None:
            unknown = ~(t | f)
            if cond.missing == "pass":
                t = t | unknown
            else:
                f = f | unknown
        return t, f
    if isinstance(cond, Not):
        t, f = evaluate3(cond.item, stack, vocab)
        return f, t
    if isinstance(cond, All | Any_):
        t, f = evaluate3(cond.items[0], stack, vocab)
        for item in cond.items[1:]:
            ti, fi = evaluate3(item, stack, vocab)
            if isinstance(cond, All):
                t, f = t & ti, f | fi
            else:
                t, f = t | ti, f & fi
        return t, f
    raise TypeError(f"not a parsed condition: {cond!r}")


def _as_cond(cond, vocab):
    if isinstance(cond, Leaf | All | Any_ | Not):
        return cond
    return parse_condition(cond, vocab)


def evaluate(cond, stack: Mapping, vocab: Vocab | None = None) -> np.ndarray:
    """Boolean array: where `cond` is definitely True (unknown counts as not satisfied).

    `cond` is a parsed condition or plain data (validated first). `stack` maps layer names to
    arrays that broadcast together (lat may be (H, 1) and lon (1, W)).
    """
    cond = _as_cond(cond, vocab)
    t, _ = evaluate3(cond, stack, vocab)
    shape = np.broadcast_shapes(*(np.shape(a) for a in stack.values()))
    return np.broadcast_to(t, shape)


# ----------------------------------------------------------------------------- explain


def describe_value(layer: str, raw, vocab: Vocab | None) -> str:
    """Human-readable value of one layer at one cell (with units; 'no data' for nodata)."""
    nod = layer_nodata(layer, vocab)
    if raw is None:
        return "no data"
    if isinstance(raw, float | np.floating) and np.isnan(raw):
        return "no data"
    if nod is not None and raw == nod:
        return "no data"
    spec = LAYERS.get(layer)
    kind = spec.kind if spec else "number"
    if kind == "ecosystem":
        names = vocab.ecosystem_names if vocab else {}
        return names.get(int(raw), f"class {int(raw)}")
    if kind == "climate":
        codes = {c.value: c.code for c in climate_classes()}
        return codes.get(int(raw), f"code {int(raw)}")
    if kind in ("zone", "flag"):
        from sinkzone.layerspec import MARINE_FLAGS

        names = vocab.zones if (vocab and kind == "zone") else ()
        ids = zone_names(int(raw), MARINE_FLAGS if kind == "flag" else names)
        return ", ".join(ids) if ids else "none"
    if kind == "bool":
        return "true" if int(raw) == 1 else "false"
    if kind == "share":
        return f"{int(raw) / 1000:.3f}"
    if kind == "int":
        return str(int(raw))
    unit = f" {spec.unit}" if spec and spec.unit else ""
    return f"{float(raw):.6g}{unit}"


def zone_names(mask: int, zones) -> list[str]:
    return [z for i, z in enumerate(zones) if mask >> i & 1]


def _cell_stack(cell_values: Mapping) -> dict:
    """1-element arrays; numpy scalars keep their stored dtype (same comparisons as tiles)."""
    return {k: np.asarray([np.nan if v is None else v]) for k, v in cell_values.items()}


def _state(cond, stack, vocab) -> bool | None:
    t, f = evaluate3(cond, stack, vocab)
    return True if bool(t.ravel()[0]) else (False if bool(f.ravel()[0]) else None)


def cell_state(cond, cell_values: Mapping, vocab: Vocab | None = None) -> bool | None:
    """True, False or None (unknown: no data) for `cond` on one cell."""
    return _state(_as_cond(cond, vocab), _cell_stack(cell_values), vocab)


def explain(cond, cell_values: Mapping, vocab: Vocab | None = None) -> list[dict]:
    """The leaves that keep `cond` from being True on one cell, with the cell's actual values.

    Returns a list of dicts ``{path, condition, layer, actual, negated, reason}``; `negated` is
    True for a leaf under an odd number of `not` (it must be False but is True); `reason` is
    "false", "true" (negated leaf that holds) or "no data". An empty list means the condition
    holds. De Morgan rules decide which leaves are reported: for a failed ``all`` every failing
    part, for a failed ``any`` every part.
    """
    cond = _as_cond(cond, vocab)
    stack = _cell_stack(cell_values)
    out: list[dict] = []

    def walk(node, want: bool):
        state = _state(node, stack, vocab)
        if state is want:
            return
        if isinstance(node, Leaf):
            raw = cell_values.get(node.layer)
            out.append(
                {
                    "path": node.path,
                    "condition": ("NOT " if not want else "") + node.text(),
                    "layer": node.layer,
                    "actual": describe_value(node.layer, raw, vocab),
                    "negated": not want,
                    "reason": "no data" if state is None else ("true" if state else "false"),
                }
            )
        elif isinstance(node, Not):
            walk(node.item, not want)
        else:
            for item in node.items:
                walk(item, want)

    walk(cond, True)
    return out


def deferred_masks(ruleset: RuleSet, measure_ids, stack: Mapping, vocab: Vocab | None) -> list:
    """Per measure (in `measure_ids` order): where an ``after_management`` constraint defers it
    (its `when` True or unknown), or None where no constraint names the measure."""
    out: list = [None] * len(measure_ids)
    pos = {m: i for i, m in enumerate(measure_ids)}
    for c in ruleset.constraints:
        if not c.after_management:
            continue
        _, f = evaluate3(c.when, stack, vocab)
        for mid in c.after_management:
            i = pos[mid]
            out[i] = ~f if out[i] is None else (out[i] | ~f)
    return out


def explain_passed(cond, cell_values: Mapping, vocab: Vocab | None = None) -> list[dict]:
    """The leaves of `cond` that hold as the condition wants on one cell (the conditions
    passed), in the same dict form as :func:`explain` (``reason`` "true", or "false" for a
    negated leaf that is false as required). Leaves that fail or lack data are left out; on
    a cell where `cond` fails this lists the parts that did hold."""
    cond = _as_cond(cond, vocab)
    stack = _cell_stack(cell_values)
    out: list[dict] = []

    def walk(node, want: bool):
        if isinstance(node, Not):
            walk(node.item, not want)
            return
        if isinstance(node, Leaf):
            if _state(node, stack, vocab) is not want:
                return
            out.append(
                {
                    "path": node.path,
                    "condition": ("NOT " if not want else "") + node.text(),
                    "layer": node.layer,
                    "actual": describe_value(node.layer, cell_values.get(node.layer), vocab),
                    "negated": not want,
                    "reason": "true" if want else "false",
                }
            )
            return
        for item in node.items:
            walk(item, want)

    walk(cond, True)
    return out


def constraint_masks(ruleset: RuleSet, stack: Mapping, vocab: Vocab | None) -> dict:
    """Per constraint: where it applies (its `when` is True or unknown: precautionary)."""
    out = {}
    for c in ruleset.constraints:
        if c.after_management:
            continue
        _, f = evaluate3(c.when, stack, vocab)
        out[c.id] = ~f
    return out
