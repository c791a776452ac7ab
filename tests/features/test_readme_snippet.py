"""The README's Python snippet works without ZOO_HOME: an unset ZOO_HOME means data/ in the
checkout for Feast too (its registry and online store, zoo.serving.home_stores), and nothing
is written into the checkout outside data/ (it used to create `feature_repo/${ZOO_HOME}/`).

The checkout here is a copy of the repository's layout in a temporary folder, so that its
default home is not the real checkout's data/; its processes run with ZOO_HOME unset."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "data", ".venv")


def _readme_snippet() -> str:
    """The README's Python block that builds a FeatureStore."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = [b for b in blocks if "FeatureStore(repo_path=" in b]
    assert len(found) == 1, "the README has one Python snippet with FeatureStore(repo_path=...)"
    return found[0]


def _files(root: Path) -> set[str]:
    """Every path under `root` but data/ and Python caches (what `git status` would see)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.relative_to(root).parts[0] != "data" and "__pycache__" not in p.parts}


def _run(checkout: Path, code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ZOO_HOME"}
    env["PYTHONPATH"] = str(checkout)  # this copy's zoo, whose default home is its data/
    done = subprocess.run([sys.executable, "-c", code], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def checkout(built_warehouse, tmp_path_factory) -> Path:
    """A copy of the checkout's layout whose data/ holds the built tiny market, exported and
    applied with ZOO_HOME unset, with biagru_gat scores written back."""
    root = tmp_path_factory.mktemp("checkout")
    for folder in ("zoo", "portfolios", "feature_repo"):
        shutil.copytree(ROOT / folder, root / folder, ignore=IGNORE)
    (root / "transforms").mkdir()  # with pyproject.toml, what makes zoo take data/ as home
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, root / name)
    (root / "data").mkdir()
    shutil.copy(built_warehouse / "warehouse.duckdb", root / "data" / "warehouse.duckdb")
    before = _files(root)
    _run(root, """
from pathlib import Path
import polars as pl, zoo
from zoo.paths import zoo_home
from zoo.serving import feature_store, published
from zoo.serving.scores import write_back
assert Path(zoo.__file__).resolve().parents[1] == Path.cwd().resolve()
assert zoo_home() == Path.cwd().resolve() / "data"
feature_store.export()
feature_store.apply()
con = published.connect()
rows = con.execute("SELECT stock_id, trade_date FROM features.stock_style_daily "
                   "WHERE in_universe").pl()
con.close()
write_back("biagru_gat", rows.with_columns(score=pl.lit(0.5), run_id=pl.lit("test")))
""")
    assert _files(root) == before, "the zoo commands wrote outside data/"
    return root


def test_zoo_commands_without_zoo_home_use_data(checkout):
    home = checkout / "data"
    assert (home / "registry.db").is_file()
    assert (home / "offline" / "stock_style_daily" / "2020-12.parquet").is_file()
    assert list((home / "offline" / "score_biagru_gat").glob("*.parquet"))


def test_readme_snippet_without_zoo_home(checkout):
    """The snippet as printed (its stocks and day are beyond the tiny market: no features,
    but every column and row), then with a stock and day the tiny market has."""
    with duckdb.connect(str(checkout / "data" / "warehouse.duckdb"), read_only=True) as con:
        (day,), = con.execute("SELECT MAX(trade_date) FROM features.stock_style_daily").fetchall()
        stocks = con.execute("SELECT stock_id, size FROM features.stock_style_daily WHERE "
                             "trade_date = ? AND in_universe ORDER BY stock_id LIMIT 2",
                             [day]).fetchall()
    snippet = _readme_snippet()
    ours = (snippet.replace('"600000.SH", "000001.SZ"', f'"{stocks[0][0]}", "{stocks[1][0]}"')
            .replace("2024-06-28", f"{day:%Y-%m-%d}"))
    assert ours != snippet
    report = """
import json
print(json.dumps({"style": frame.to_dict(orient="list"), "scores": scores.to_dict(orient="list"),
                  "columns": list(frame.columns)}, default=str))
"""
    before = _files(checkout)
    # one fresh process: the snippet as printed first, then ours
    printed = _run(checkout, snippet + report + ours + report).splitlines()
    as_printed, found = json.loads(printed[-2]), json.loads(printed[-1])
    assert as_printed["style"]["stock_id"] == ["600000.SH", "000001.SZ"]
    assert "size" in as_printed["columns"] and "industry_l1_code" in as_printed["columns"]
    assert all(math.isnan(v) for v in as_printed["scores"]["score"])
    assert found["style"]["size"] == pytest.approx([s for _, s in stocks])
    assert found["scores"]["score"] == [0.5, 0.5]

    assert _files(checkout) == before  # no feature_repo/${ZOO_HOME}/, nothing new outside data/
    assert not list(checkout.rglob("*ZOO_HOME*"))
