"""Every command that takes a name, tried with hostile ones: each is refused with a clear error
(no traceback) that names what is wrong, and neither the warehouse (its tables and their rows)
nor any file around $ZOO_HOME changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from zoo.cli import main

HOSTILE = [
    'x"; DROP TABLE raw.AShareST; --',
    "x AS SELECT 1 AS a; DROP TABLE raw.AShareST; CREATE TABLE scores.y",
    "../../etc",
    "it's a name",
    "a;b",
    "/etc/passwd",
]

# command -> (arguments around the name, what the refusal says)
COMMANDS = {
    "score": (lambda n: ["score", n], "is not a model name|unknown model"),
    "score --run": (lambda n: ["score", "biagru", "--run", n, "--no-write"], "is not a run id"),
    "train": (lambda n: ["train", n, "--fake"], "unknown model|is not a model name"),
    "train --resume": (lambda n: ["train", "biagru", "--fake", "--resume", n],
                       "is not a run id"),
    "eval": (lambda n: ["eval", n], "unknown factor"),
    "eval FEATURE.COLUMN": (lambda n: ["eval", f"stock_style_daily.{n}"],
                            "unknown factor|has no numeric column"),
    "eval truth.COLUMN": (lambda n: ["eval", f"truth.{n}"], "has no numeric column"),
    "report": (lambda n: ["report", n], "unknown factor"),
    "backtest": (lambda n: ["backtest", n], "is not a model name"),
    "backtest --index": (lambda n: ["backtest", "fake_a", "--index", n], "--index"),
    "features get --service": (lambda n: ["features", "get", "--service", n, "--sample", "2"],
                               "unknown feature service"),
    "features get --features VIEW": (
        lambda n: ["features", "get", "--features", f"{n}:size", "--sample", "2"],
        "unknown feature view"),
    "features get --features FEATURE": (
        lambda n: ["features", "get", "--features", f"stock_style_daily:{n}", "--sample", "2"],
        "unknown feature of stock_style_daily"),
    "bench zoo --models": (lambda n: ["bench", "zoo", "--models", n],
                           "unknown model|is not a model name"),
    "data retract TABLE": (lambda n: ["data", "retract", n, "--where", "S_INFO_WINDCODE=x"],
                           "is not a raw table"),
    "data retract --where KEY": (lambda n: ["data", "retract", "AShareST", "--where", f"{n}=x"],
                                 "is not a column of AShareST"),
    "data retract --where VALUE": (
        lambda n: ["data", "retract", "AShareST", "--where", f"S_INFO_WINDCODE={n}"],
        "nothing to retract"),
}


@pytest.fixture(scope="module")
def hostile_home(feast_home, tmp_path_factory) -> Path:
    """A copy of the exported, applied tiny market two folders deep in a scratch root (so
    `../../x` from $ZOO_HOME stays inside it), with scores of a model `fake_a`."""
    import polars as pl

    from zoo.serving.scores import write_back

    root = tmp_path_factory.mktemp("hostile_root")
    home = root / "a" / "b" / "home"
    home.mkdir(parents=True)
    shutil.copy(feast_home / "warehouse.duckdb", home / "warehouse.duckdb")
    shutil.copytree(feast_home / "offline", home / "offline")
    shutil.copy(feast_home / "registry.db", home / "registry.db")  # read, never applied here
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        scores = pl.from_arrow(con.execute(
            "SELECT stock_id, trade_date, size AS score, 'r' AS run_id "
            "FROM features.stock_style_daily WHERE size IS NOT NULL").to_arrow_table())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        write_back("fake_a", scores, apply=False, warehouse=home / "warehouse.duckdb")
    return home


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))} | {"": (0, root.stat().st_mtime_ns)}


def _tables(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                            "ORDER BY ALL").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]
                for s, t in names}


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_hostile_name_is_refused_and_changes_nothing(command, name, hostile_home, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(hostile_home))
    root = hostile_home.parents[2]
    tables, files = _tables(hostile_home / "warehouse.duckdb"), _files(root)
    assert "raw.AShareST" in tables
    arguments, says = COMMANDS[command]
    result = CliRunner().invoke(main, arguments(name))
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert any(part in result.output for part in says.split("|")), result.output
    assert _tables(hostile_home / "warehouse.duckdb") == tables
    assert _files(root) == files


def test_a_table_named_like_sql_is_not_exported_into_a_query(built_warehouse, tmp_path,
                                                              monkeypatch):
    """`zoo features apply` reads every features/labels table by its catalog name: a table
    named like SQL is quoted, refused as a Feast view, and nothing runs or is written."""
    home = tmp_path / "home"
    home.mkdir()
    warehouse = home / "warehouse.duckdb"
    shutil.copy(built_warehouse / "warehouse.duckdb", warehouse)
    hostile = 'x; DROP TABLE raw.AShareST; --'
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f'CREATE TABLE features."{hostile}" AS SELECT DATE \'2020-01-02\' '
                    f"AS trade_date, '000001.SZ' AS stock_id")
    tables, files = _tables(warehouse), _files(tmp_path)
    monkeypatch.setenv("ZOO_HOME", str(home))
    result = CliRunner().invoke(main, ["features", "apply"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "is not a plain identifier" in result.output and "Traceback" not in result.output
    assert _tables(warehouse) == tables
    assert _files(tmp_path) == files
