"""`zoo data load`: --format baostock (convert, then load, all or nothing) and --quarantine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tests.ingest.conftest import make_wind_frames, write_tables
from tests.ingest.test_baostock import SAMPLE, SUBSET, _profit, _stock_file
from tests.ingest.test_quarantine import four_bad_rows  # noqa: F401 (a fixture)
from tests.transforms.test_project import sqlmesh
from zoo.cli import main


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("ZOO_HOME", str(path))
    return path


@pytest.fixture
def baostock_dir(tmp_path: Path) -> Path:
    src = tmp_path / "baostock"
    src.mkdir()
    _stock_file(src, 1)
    _profit(src)
    return src


def test_load_format_baostock_converts_then_loads(home: Path, baostock_dir: Path) -> None:
    result = CliRunner().invoke(main, ["data", "load", "--format", "baostock", str(baostock_dir)])
    assert result.exit_code == 0, result.output
    out = result.output
    converted = out.index("Converted baostock files in")
    loaded = out.index(f"from baostock files in {baostock_dir.resolve()} into raw")
    assert converted < out.index("Tables the source cannot feed:") < loaded
    assert "Created empty (no file for them; what needs them will be NULL): " in out
    warehouse = home / "warehouse.duckdb"
    assert query(warehouse, "SELECT count(*) FROM raw.AShareEODPrices") == [(5,)]
    assert query(warehouse, "SELECT DISTINCT source_file FROM raw._loads WHERE table_name = "
                            "'raw.AShareEODPrices'") == [
        (f"baostock files in {baostock_dir.resolve()} (converted: AShareEODPrices.parquet)",)]
    assert sorted(p.name for p in home.iterdir()) == ["warehouse.duckdb"]  # no scratch left
    assert "Ignored files" not in out  # the converter's own report is no table


def test_a_real_subset_loads_plans_and_applies_with_no_manual_step(home: Path,
                                                                   tmp_path: Path) -> None:
    if not (SAMPLE / "stock_code").is_dir():
        pytest.skip(f"the baostock sample is not at {SAMPLE}")
    src = tmp_path / "real"
    (src / "stock_code").mkdir(parents=True)
    for code in SUBSET:
        name = f"stock_data_{code}.csv.gz"
        (src / "stock_code" / name).symlink_to(SAMPLE / "stock_code" / name)
    for path in SAMPLE.iterdir():
        if path.is_file():
            (src / path.name).symlink_to(path)
    result = CliRunner().invoke(main, ["data", "load", "--format", "baostock", str(src)])
    assert result.exit_code == 0, result.output
    def rows(table: str) -> int:
        return query(home / "warehouse.duckdb", f"SELECT count(*) FROM raw.{table}")[0][0]

    assert rows("AShareDescription") == len(SUBSET) and rows("AShareEODPrices") > 10_000
    assert rows("AShareBalanceSheet") == 0  # baostock has none: created empty

    # the README's next steps, with no manual step between: plan (every audit), apply, summary
    plan = sqlmesh(home, "plan", "--auto-apply", "--no-prompts")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "failed" not in plan.stdout.lower(), plan.stdout
    applied = CliRunner().invoke(main, ["features", "apply"])
    assert applied.exit_code == 0, applied.output
    built = query(home / "warehouse.duckdb", "SELECT count(momentum_20d), count(ep), count(bp) "
                  "FROM features.stock_style_daily")[0]
    assert built[0] > 5_000 and built[1] > 5_000 and built[2] == 0  # no balance sheet: no BP
    summary = CliRunner().invoke(main, ["data", "summary"])
    assert summary.exit_code == 0, summary.output
    assert "needs AShareBalanceSheet, which is empty" in summary.output


def test_load_format_baostock_refuses_a_broken_file_before_writing(home: Path,
                                                                   baostock_dir: Path) -> None:
    path = baostock_dir / "stock_data_sh.600001.csv"
    path.write_text(path.read_text().replace(",sh.600001,", ",sh.600001,x", 1))
    result = CliRunner().invoke(main, ["data", "load", "--format", "baostock", str(baostock_dir)])
    assert result.exit_code == 1
    assert "cannot convert" in result.output and "'open' breaks rule 'a number'" in result.output
    assert not (home / "warehouse.duckdb").exists()
    assert not [p for p in home.iterdir() if p.name.startswith(".baostock-")]


def test_load_format_baostock_is_all_or_nothing(home: Path, baostock_dir: Path,
                                                tmp_path: Path) -> None:
    """A load that fails after the conversion (here: another market in the warehouse) leaves
    the warehouse as it was, after saying what the conversion did."""
    runner = CliRunner()
    assert runner.invoke(main, ["data", "load", "--format", "baostock",
                                str(baostock_dir)]).exit_code == 0
    before = query(home / "warehouse.duckdb", "SELECT count(*) FROM raw._loads")
    other = tmp_path / "other"
    other.mkdir()
    _stock_file(other, 3)  # raw prices: the same stock and days with another factor
    result = runner.invoke(main, ["data", "load", "--format", "baostock", str(other)])
    assert result.exit_code == 1
    assert "Converted baostock files in" in result.output
    assert "already in the warehouse with different values" in result.output
    assert query(home / "warehouse.duckdb", "SELECT count(*) FROM raw._loads") == before


def test_load_quarantine_loads_the_rest(home: Path,
                                        four_bad_rows: tuple[Path, list]) -> None:  # noqa: F811
    folder, _ = four_bad_rows
    runner = CliRunner()
    strict = runner.invoke(main, ["data", "load", str(folder)])
    assert strict.exit_code == 1 and "nothing was loaded" in strict.output
    result = runner.invoke(main, ["data", "load", "--quarantine", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Set aside 4 rows that break a rule (--quarantine)" in result.output
    assert "4  S_DQ_AMOUNT: S_DQ_AMOUNT x 10 / S_DQ_VOLUME (VWAP, yuan)" in result.output
    assert query(home / "warehouse.duckdb", "SELECT count(*) FROM raw._rejects") == [(4,)]


def test_load_lists_ignored_files(home: Path, tmp_path: Path) -> None:
    folder = write_tables(make_wind_frames(), tmp_path / "export")
    (folder / "AShareProfitNotice.csv").write_text("S_INFO_WINDCODE\n600000.SH\n")
    result = CliRunner().invoke(main, ["data", "load", str(folder)])
    assert result.exit_code == 0, result.output
    assert "  AShareProfitNotice.csv: a Wind table alphazoo does not read" in result.output
