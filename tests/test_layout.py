"""The shape of the house: each stage imports only the stages before it, no module imports
another in a circle, shared terms are defined in one place, files stay small, and no Python
source travels in strings.

The stages, in the order data flows (DESIGN: raw ingestion -> transforms/ -> feature serving
-> datasets -> models -> training -> evaluation and portfolios -> the daily cycle):
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("zoo", "portfolios")

# Each module of zoo/ and portfolios/ belongs to the first stage whose prefix it has; a module
# may import its own stage and earlier ones, never a later one.
STAGES: tuple[tuple[str, ...], ...] = (
    ("zoo.paths", "zoo.vocabulary", "zoo.metrics", "zoo.dates", "zoo.overrides", "zoo.locks",
     "zoo.atomic", "zoo.registry"),
    ("zoo.ingest",),
    ("zoo.synth",),
    ("zoo.serving",),
    ("zoo.datasets",),
    ("zoo.layers",),
    ("zoo.models",),
    ("zoo.train",),
    ("zoo.evaluate",),
    ("portfolios",),
    ("zoo.daily",),
    ("zoo.bench",),
    ("zoo.cli",),
)
MAX_LINES = 700


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _stage(module: str) -> int:
    for index, prefixes in enumerate(STAGES):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    if module == "zoo":
        return 0
    raise AssertionError(f"{module} belongs to no stage: add it to STAGES in {__file__}")


def _imports(module: str, path: Path) -> set[str]:
    """Every project module `module` imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    # keep the longest prefix of each name that is a module of ours
    out = set()
    for name in names:
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in MODULES:
                if candidate != module:
                    out.add(candidate)
                break
    return out


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def test_every_stage_imports_only_earlier_stages():
    wrong = [f"{m} (stage {_stage(m)}) imports {d} (stage {_stage(d)})"
             for m, deps in GRAPH.items() for d in sorted(deps) if _stage(d) > _stage(m)]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_modules():
    # Package __init__ files re-export their modules; an edge into a package's own __init__
    # from one of its modules is how Python imports a package, not a cycle of ours.
    def edges(module: str) -> set[str]:
        return {d for d in GRAPH[module] if not module.startswith(d + ".")}

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges(node):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not cycles, f"modules importing each other in a circle: {cycles}"


def test_no_file_is_over_the_limit():
    long = {str(p.relative_to(ROOT)): n for p in MODULES.values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_no_python_source_in_strings():
    # `python -c "<code>"` hides code from linters, tests and readers: children run real
    # functions (zoo.bench's harness) instead.
    offenders = [str(p.relative_to(ROOT)) for p in MODULES.values()
                 if re.search(r"""["']-c["']""", p.read_text(encoding="utf-8"))]
    assert not offenders, offenders


def _definitions() -> dict[str, list[str]]:
    """Module-level names assigned or defined in each module: name -> modules."""
    where: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            targets = []
            if isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                targets = [node.name]
            for name in targets:
                where[name].append(module)
    return where


# shared term -> the one module that defines it
ONCE = {
    "HORIZONS": "zoo.vocabulary",
    "FUNDAMENTAL_FIELDS": "zoo.vocabulary",
    "STYLE_FACTORS": "zoo.vocabulary",
    "FUNDAMENTAL_FACTORS": "zoo.vocabulary",
    "BATCH_KEYS": "zoo.vocabulary",
    "PRICE_COLUMNS": "zoo.vocabulary",
    "COST_RATE": "zoo.vocabulary",
    "ic_summary": "zoo.metrics",
    "parse_date": "zoo.dates",
    "write_json": "zoo.atomic",
}


@pytest.mark.parametrize("name", sorted(ONCE))
def test_shared_terms_are_defined_once(name):
    assert _definitions().get(name, []) == [ONCE[name]]


def test_rank_ic_is_computed_in_one_module():
    # Code that asks polars or scipy for a Spearman correlation, or ranks for one, lives in
    # zoo.metrics; the others call it.
    pattern = re.compile(r"method=\"spearman\"|spearmanr\(|rankdata\(|def _?average_rank")
    elsewhere = [m for m, p in MODULES.items()
                 if m != "zoo.metrics" and pattern.search(p.read_text(encoding="utf-8"))]
    assert not elsewhere, elsewhere


def test_atomic_renames_and_override_parsing_live_in_their_modules():
    rules = {r"os\.(replace|rename)\(|mkstemp\(": "zoo.atomic",
             r"\.partition\(\"=\"\)|\.split\(\"=\", 1\)": "zoo.overrides"}
    wrong = [f"{m}: {pattern}" for pattern, home in rules.items()
             for m, p in MODULES.items()
             if m != home and re.search(pattern, p.read_text(encoding="utf-8"))]
    assert not wrong, wrong


def test_no_module_names_a_staging_or_intermediate_relation():
    pattern = re.compile(r"\b(staging|intermediate)\.[a-z_]+\b")
    offenders = [f"{m}: {match.group(0)}" for m, p in MODULES.items()
                 for match in [pattern.search(p.read_text(encoding="utf-8"))] if match]
    assert not offenders, offenders
