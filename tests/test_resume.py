"""Faults lose nothing; config never runs code.

- `test_kill_and_resume` (marked `e2e`): Beijing (config/test/beijing.yaml, 2 x 2 tiles) is
  run once without interruption, and once killed with SIGKILL (the whole Snakemake process
  group, as a crash or power loss would) after some tile outputs exist, then rerun with the
  same command. Every table must be byte-identical, and a further rerun must do nothing.
- Property tests (hypothesis): random nested data never executes anything in the rule parser
  (it parses or raises ConfigError), and regional parts always sum to the total.
"""

import contextlib
import filecmp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import make_workdir, snakemake
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinkzone import aggregate as agg
from sinkzone import suitability
from sinkzone.catalog import load_catalog
from sinkzone.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
OVERLAY = "config/test/beijing.yaml"
RUN = "test-beijing"
COMMAND = ["--cores", "1", "--configfile", OVERLAY]


# =============================================================================== kill -9


def _kill_when_tiles_exist(workdir: Path, min_tiles: int = 2, timeout: float = 1500) -> int:
    """Start the run, SIGKILL its process group once `min_tiles` tiles have layer outputs."""
    log = open(workdir / "killed_run.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", *COMMAND],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    tiles = workdir / "results" / RUN / "tiles"
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout and proc.poll() is None:
            if len(list(tiles.glob("*/layers/landcover_area.csv"))) >= min_tiles:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        log.close()
    return proc.returncode


@pytest.mark.e2e
def test_kill_and_resume(tmp_path):
    ref = make_workdir(tmp_path / "uninterrupted")
    done = snakemake(ref, *COMMAND)
    assert done.returncode == 0, done.stderr[-4000:]

    work = make_workdir(tmp_path / "killed")
    assert _kill_when_tiles_exist(work) == -signal.SIGKILL
    res = work / "results" / RUN
    assert not (res / "summary.md").exists()  # really interrupted mid-way
    assert (res / "RUN_INCOMPLETE").exists()  # flagged (#17): sinkzone.runstate refuses it
    assert not (res / "run_complete.json").exists()

    again = snakemake(work, *COMMAND)
    if again.returncode != 0:
        # Snakemake keeps its lock after SIGKILL and says how to remove it.
        assert "--unlock" in again.stderr, again.stderr[-4000:]
        unlock = snakemake(work, "--unlock", *COMMAND)
        assert unlock.returncode == 0, unlock.stderr[-2000:]
        again = snakemake(work, *COMMAND)
    assert again.returncode == 0, again.stderr[-4000:]
    assert not (res / "RUN_INCOMPLETE").exists() and (res / "run_complete.json").exists()

    a, b = ref / "results" / RUN / "tables", res / "tables"
    tables = sorted(p.name for p in a.iterdir() if p.is_file())
    assert "potential_by_region.csv" in tables and "landcover_area.csv" in tables
    assert sorted(p.name for p in b.iterdir() if p.is_file()) == tables
    same = {n: filecmp.cmp(a / n, b / n, shallow=False) for n in tables}
    csv_differ = [n for n, ok in same.items() if n.endswith(".csv") and not ok]
    assert not csv_differ, f"tables differ after kill + resume: {csv_differ}"
    assert filecmp.cmp(ref / "results" / RUN / "summary.md", res / "summary.md", shallow=False)

    # Unchanged inputs: nothing to do.
    nothing = snakemake(work, *COMMAND)
    assert nothing.returncode == 0
    assert "Nothing to be done" in nothing.stdout + nothing.stderr
    assert not (res / "RUN_INCOMPLETE").exists()

    # The other tables (GeoPackage) must be byte-identical too.
    other_differ = [n for n, ok in same.items() if not n.endswith(".csv") and not ok]
    assert not other_differ, f"tables differ after kill + resume: {other_differ}"


# =============================================================================== rule parser

VOCAB = suitability.load_vocab(
    ROOT / "config" / "ecosystems.csv", ["qtp", "yellow_river", "coastal"]
)
CATALOG = load_catalog(ROOT / "config" / "technologies.csv")
HOSTILE = [
    "__import__('os').system('touch /tmp/sinkzone_pwned')",
    "eval('1+1')",
    "exec('x=1')",
    "${HOME}",
    "$(touch /tmp/sinkzone_pwned)",
    "{{ 7*7 }}",
    "!!python/object/apply:os.system",
    "lambda: 0",
]
WORDS = [
    "all",
    "any",
    "not",
    "layer",
    "op",
    "value",
    "option",
    "measures",
    "options",
    "constraints",
    "where",
    "not_mapped",
    "area_share",
    "principles",
    "when",
    "id",
    "allow_only_tags",
    "forbid_tags",
    "ecosystem",
    "climate",
    "zones",
    "elevation",
    "steep25",
    "red_line",
    "eq",
    "in",
    "between",
    "has",
    "lt",
    "ge",
    "forest",
    "B",
    "qtp",
    "afforestation",
    "steep",
    *CATALOG.ids[:5],
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS + HOSTILE),
    st.text(max_size=12),
)
data = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(WORDS), st.text(max_size=6), st.integers()), inner, max_size=4
        ),
    ),
    max_leaves=30,
)


class Executed(Exception):
    pass


@contextlib.contextmanager
def no_execution():
    """Anything that could execute text raises Executed while the parser runs."""

    def boom(*a, **k):
        raise Executed(repr(a[:1])[:200])

    with contextlib.ExitStack() as stack:
        for target in (
            "builtins.eval",
            "builtins.exec",
            "os.system",
            "os.popen",
            "subprocess.Popen",
            "importlib.import_module",
        ):
            stack.enter_context(mock.patch(target, boom))
        yield


def _parse_or_config_error(fn, *args):
    try:
        with no_execution():
            fn(*args)
    except ConfigError as e:
        assert ". Fix: " in str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=data)
def test_random_conditions_parse_or_raise_config_error(raw):
    _parse_or_config_error(suitability.parse_condition, raw, VOCAB, {"coastal_max_km": 20.0})


ruleset = st.fixed_dictionaries(
    {
        "measures": st.dictionaries(
            st.sampled_from(CATALOG.ids + ["unknown_measure"]),
            st.one_of(data, st.fixed_dictionaries({"where": data, "area_share": scalars})),
            max_size=4,
        )
    },
    optional={"options": data, "constraints": st.lists(data, max_size=3)},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(ruleset, data))
def test_random_rulesets_parse_or_raise_config_error(raw):
    _parse_or_config_error(suitability.parse_ruleset, raw, VOCAB, CATALOG)
    _parse_or_config_error(suitability.parse_ruleset, raw, VOCAB, None)


TAGS = [
    "!!python/object/apply:os.system",
    "!!python/name:os.system",
    "!!binary",
    "!custom",
    "!!python/object/new:subprocess.Popen",
    "&a",
    "*a",
    "<<: *a",
]


@settings(max_examples=200, deadline=None)
@given(raw=data, tag=st.sampled_from(TAGS), pos=st.integers(0, 200))
def test_random_yaml_text_never_executes(raw, tag, pos, tmp_path_factory):
    text = yaml.safe_dump({"measures": raw}, allow_unicode=True)
    pos = min(pos, len(text))
    hostile = text[:pos] + f" {tag} " + text[pos:]
    for doc in (text, hostile):
        try:
            suitability.load_yaml_text(doc, "suitability.yaml")
        except ConfigError as e:
            assert e.what == "suitability.yaml"
    assert not os.path.exists("/tmp/sinkzone_pwned")


def test_python_tags_are_refused_not_run(tmp_path):
    sentinel = tmp_path / "ran"
    for tag in ("!!python/object/apply:os.system", "!!python/object/new:os.system"):
        with pytest.raises(ConfigError, match="unsupported YAML"):
            suitability.load_yaml_text(f'measures: {tag} ["touch {sentinel}"]\n', "s.yaml")
    assert not sentinel.exists()


# =============================================================================== aggregation

ECOSYSTEMS = pd.DataFrame(
    {
        "id": [1, 3, 4],
        "name": ["forest", "grassland", "cropland"],
        "name_zh": ["森林", "草地", "农田"],
        "name_en": ["Forest", "Grassland", "Cropland"],
    }
)
AGG_CATALOG = pd.DataFrame(
    {
        "id": ["m_a", "m_b", "m_c"],
        "ecosystem": ["forest", "cropland", "grassland"],
        "name_zh": ["甲", "乙", "丙"],
        "name_en": ["A", "B", "C"],
        "rate_low": [1.0, 0.5, 0.1],
        "rate_central": [2.0, 1.0, 0.2],
        "rate_high": [3.0, 1.5, 0.3],
        "rate_factor": [1.0, 44 / 12, 1.0],
        "rate_is_estimate": [False, True, False],
        "order": [0, 1, 2],
    }
)
ZONES = [
    {"id": "za", "name_en": "A", "name_zh": "甲"},
    {"id": "zb", "name_en": "B", "name_zh": "乙"},
]


def _regions(counties: dict[int, int]) -> pd.DataFrame:
    rows = [("province", p, 0) for p in sorted(set(counties.values()))]
    rows += [("county", c, p) for c, p in sorted(counties.items())]
    return pd.DataFrame(
        {
            "level": [r[0] for r in rows],
            "code": [r[1] for r in rows],
            "parent_code": [r[2] for r in rows],
            "name_zh": [str(r[1]) for r in rows],
            "name_en": [str(r[1]) for r in rows],
        }
    )


def _tile_counts(arrays: dict, rows: slice, cols: slice) -> pd.DataFrame:
    df = pd.DataFrame({k: v[rows, cols].ravel() for k, v in arrays.items()})
    df = df[(df["eligible_units"] > 0) | (df["allocated_units"] > 0)]
    keys = agg.COUNT_KEYS
    return df.groupby(keys, as_index=False)[agg.COUNT_VALUES].sum().sort_values(keys)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    n_prov=st.integers(1, 3),
    n_cty=st.integers(1, 3),
    tr=st.integers(1, 4),
    tc=st.integers(1, 4),
)
def test_parts_sum_to_total(tmp_path_factory, seed, h, w, n_prov, n_cty, tr, tc):
    rng = np.random.default_rng(seed)
    provs = [110000 + 10000 * i for i in range(n_prov)]
    counties = {p + 100 + j: p for p in provs for j in range(n_cty)}
    county = rng.choice(list(counties), size=(h, w))
    county[rng.random((h, w)) < 0.1] = 0  # cells outside every county polygon
    province = np.vectorize(lambda c: counties.get(int(c), 0))(county)
    measure = rng.choice(AGG_CATALOG["id"].to_numpy(), size=(h, w))
    eco_of = dict(zip(AGG_CATALOG["id"], [1, 4, 3], strict=True))
    eligible = rng.integers(0, 10**13, size=(h, w), dtype=np.int64)
    arrays = {
        "province": province.astype(np.int64),
        "county": county.astype(np.int64),
        "zones": rng.integers(0, 4, size=(h, w)).astype(np.int64),
        "ecosystem": np.vectorize(eco_of.get)(measure).astype(np.int64),
        "measure_id": measure,
        "stack_pos": rng.integers(0, 3, size=(h, w)).astype(np.int64),
        "eligible_units": eligible,
        "allocated_units": (eligible * rng.random((h, w))).astype(np.int64),
    }
    tmp = tmp_path_factory.mktemp("agg")

    def reduce(nr, nc):
        paths = []
        rb = np.array_split(np.arange(h), min(nr, h))
        cb = np.array_split(np.arange(w), min(nc, w))
        for i, r in enumerate(rb):
            for j, c in enumerate(cb):
                p = tmp / f"t{nr}x{nc}_{i}_{j}.csv"
                _tile_counts(arrays, slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1)).to_csv(
                    p, index=False
                )
                paths.append(p)
        return agg.reduce_counts(paths)

    one, many = reduce(1, 1), reduce(tr, tc)
    pd.testing.assert_frame_equal(one, many)  # exact, whatever the tiling
    table = agg.region_table(many, _regions(counties), AGG_CATALOG, ZONES, 0.5, ECOSYSTEMS)
    for col in agg.COUNT_VALUES:
        total = int(arrays[col].sum())
        by = {
            lvl: table[table["region_level"] == lvl].groupby("measure_id")[col].sum()
            for lvl in ("nation", "province", "county")
        }
        assert int(by["nation"].sum()) == total
        pd.testing.assert_series_equal(by["province"], by["nation"], check_names=False)
        pd.testing.assert_series_equal(by["county"], by["nation"], check_names=False)
    nat = table[table["region_level"] == "nation"]["allocated_area_ha"].sum()
    prov = table[table["region_level"] == "province"]["allocated_area_ha"].sum()
    assert prov == pytest.approx(nat, rel=1e-12)
