"""The baostock importer: hand-made files with exact expected outputs, and a 5-stock subset of
the real sample in ../shared/realdata/baostock (skipped when absent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from zoo.ingest import contracts, wind
from zoo.ingest.baostock import BaostockFormatError, convert
from zoo.ingest.load import load_dir

SAMPLE = (Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata" / "baostock").resolve()
SUBSET = ("sh.600000", "sh.600038", "sz.000831", "sz.300999", "sh.600745")
HEADER = ("date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,"
          "pctChg,peTTM,pbMRQ,psTTM,pcfNcfTTM,isST")
DAYS = ("2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08")
# Raw (traded) prices of one stock: open, high, low, close, preclose; day 3 is suspended,
# day 4 goes ex-dividend (0.50 yuan: preclose 10.50 -> 10.00), ST on days 2-3 and 5.
RAW = ((10.00, 10.20, 9.90, 10.10, 10.00), (10.10, 10.60, 10.05, 10.50, 10.10),
       (10.50, 10.50, 10.50, 10.50, 10.50), (10.00, 10.30, 9.95, 10.20, 10.00),
       (10.20, 10.40, 10.10, 10.30, 10.20))
VOLUME = (1_000_000, 2_000_000, None, 1_500_000, 1_200_000)
VWAP = (10.05, 10.30, None, 10.10, 10.25)
IS_ST = (0, 1, 1, 0, 1)
EX_RATIO = 10.50 / 10.00  # Wind's factor step on the ex-date: previous close / preclose


def _stock_file(folder: Path, adjustflag: int, code: str = "sh.600001",
                gz: bool = False) -> Path:
    """The hand-made stock as baostock writes it, with adjusted prices for `adjustflag`."""
    if adjustflag == 1:  # back-adjusted: raw x (2.5 before the ex-date, 2.5 x 1.05 from it)
        factors = [2.5, 2.5, 2.5, 2.5 * EX_RATIO, 2.5 * EX_RATIO]
    elif adjustflag == 2:  # forward-adjusted: the latest price is the raw one
        factors = [1 / EX_RATIO] * 3 + [1.0, 1.0]
    else:
        factors = [1.0] * 5
    lines = [HEADER]
    for k, day in enumerate(DAYS):
        f = factors[k]
        adj = [round(p * f, 8) for p in RAW[k]]
        adj[4] = round(RAW[k][4] * factors[k], 8)
        traded = VOLUME[k] is not None
        volume = "" if not traded else str(VOLUME[k])
        amount = "" if not traded else f"{VOLUME[k] * VWAP[k]:.4f}"
        turn = "" if not traded else f"{VOLUME[k] / 5e7 * 100:.6f}"
        pct = (RAW[k][3] / RAW[k][4] - 1) * 100
        lines.append(",".join([day, code, *(f"{x:.10f}" for x in adj), volume, amount,
                               str(adjustflag), turn, "1" if traded else "0", f"{pct:.6f}",
                               "12.5", "1.1", "2.0", "3.0", str(IS_ST[k])]))
    name = f"stock_data_{code}.csv"
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    if gz:
        import gzip
        with gzip.open(folder / (name + ".gz"), "wb") as f:
            f.write(path.read_bytes())
        path.unlink()
        path = folder / (name + ".gz")
    return path


def _profit(folder: Path) -> None:
    (folder / "profit_data.csv").write_text(
        "code,pubDate,statDate,roeAvg,npMargin,gpMargin,netProfit,epsTTM,MBRevenue,totalShare,"
        "liqaShare\n"
        "sh.600001,2019-10-30,2019-09-30,0.1,0.25,0.4,1000000000.0,1.0,,100000000.00,"
        "50000000.00\n")


def _read(out: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(out / f"{table}.parquet")


@pytest.mark.parametrize("adjustflag", [1, 2, 3])
def test_raw_prices_and_wind_factor_are_recovered_exactly(tmp_path, adjustflag):
    src = tmp_path / "src"
    src.mkdir()
    _stock_file(src, adjustflag, gz=adjustflag == 2)
    _profit(src)
    report = convert(src, tmp_path / "out")
    eod = _read(tmp_path / "out", "AShareEODPrices")
    assert eod["S_INFO_WINDCODE"].unique().to_list() == ["600001.SH"]
    assert eod["TRADE_DT"].to_list() == [d.replace("-", "") for d in DAYS]
    got = eod.select("S_DQ_OPEN", "S_DQ_HIGH", "S_DQ_LOW", "S_DQ_CLOSE", "S_DQ_PRECLOSE")
    assert np.allclose(got.to_numpy(), np.array(RAW), atol=1e-9)
    start = 2.5 if adjustflag == 1 else 1.0  # back factor keeps baostock's level
    expected = [start] * 3 + [start * EX_RATIO] * 2
    assert np.allclose(eod["S_DQ_ADJFACTOR"].to_numpy(), expected, rtol=1e-12)
    # units: lots, thousand yuan, VWAP; the suspended day has zero volume and code 0
    assert eod["S_DQ_VOLUME"].to_list() == [10_000.0, 20_000.0, 0.0, 15_000.0, 12_000.0]
    assert eod["S_DQ_AMOUNT"][0] == pytest.approx(1_000_000 * 10.05 / 1000)
    assert eod["S_DQ_AVGPRICE"].to_list()[:2] == pytest.approx([10.05, 10.30])
    assert eod["S_DQ_TRADESTATUSCODE"].to_list() == [-1, -1, 0, -1, -1]
    assert eod["S_DQ_TRADESTATUS"][2] == "停牌"
    assert not report.dropped or all(i.table != "AShareEODPrices" for i in report.dropped)


def test_derivative_units_shares_and_limit_status(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _stock_file(src, 3)
    _profit(src)
    convert(src, tmp_path / "out")
    der = _read(tmp_path / "out", "AShareEODDerivativeIndicator")
    # float shares = volume / turn = 5e7 shares = 5,000 (10k shares); total from profit 1e8
    assert der["FLOAT_A_SHR_TODAY"].to_list() == pytest.approx([5000.0] * 5)
    assert der["TOT_SHR_TODAY"].to_list() == pytest.approx([10_000.0] * 5)
    assert der["S_VAL_MV"][0] == pytest.approx(10.10 * 1e8 / 1e4)
    assert der["S_DQ_MV"][0] == pytest.approx(10.10 * 5e7 / 1e4)
    assert der["S_DQ_TURN"][2] == 0.0
    assert der["FREE_SHARES_TODAY"].null_count() == 5  # not in the source: NULL, not invented
    assert der["UP_DOWN_LIMIT_STATUS"].to_list() == [0] * 5


def test_st_runs_become_half_open_periods(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _stock_file(src, 3)
    convert(src, tmp_path / "out")
    st = _read(tmp_path / "out", "AShareST")
    assert st.select("S_TYPE_ST", "ENTRY_DT", "REMOVE_DT").rows() == [
        ("S", "20200103", "20200107"), ("S", "20200108", None)]
    assert st["ANN_DT"].to_list() == st["ENTRY_DT"].to_list()


def test_statements_map_pubdate_statdate_and_ytd_items(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _stock_file(src, 3)
    _profit(src)
    report = convert(src, tmp_path / "out")
    income = _read(tmp_path / "out", "AShareIncome").row(0, named=True)
    assert (income["ANN_DT"], income["REPORT_PERIOD"], income["STATEMENT_TYPE"]) == (
        "20191030", "20190930", wind.STATEMENT_CONSOLIDATED)
    assert income["NET_PROFIT_INCL_MIN_INT_INC"] == pytest.approx(1e9)
    assert income["OPER_REV"] == pytest.approx(4e9)  # netProfit / npMargin
    assert income["LESS_OPER_COST"] == pytest.approx(2.4e9)  # revenue x (1 - gpMargin)
    assert income["NET_PROFIT_EXCL_MIN_INT_INC"] is None
    assert "AShareBalanceSheet" in report.not_fed
    assert "AShareDescription.S_INFO_LISTDATE" in report.null_columns


def test_statements_of_stocks_without_k_data_are_dropped_and_reported(tmp_path):
    """profit_data may cover more stocks than the k-data: those have no AShareDescription row,
    so the loader would refuse the whole table; they are left out and said so."""
    src = tmp_path / "src"
    src.mkdir()
    _stock_file(src, 3)
    _profit(src)
    with (src / "profit_data.csv").open("a") as f:
        f.write("sz.000002,2019-10-30,2019-09-30,0.1,0.25,0.4,5.0e8,1.0,,1.0e8,5.0e7\n")
    report = convert(src, tmp_path / "out")
    assert _read(tmp_path / "out", "AShareIncome")["S_INFO_WINDCODE"].to_list() == ["600001.SH"]
    (issue,) = [i for i in report.dropped if i.table == "AShareIncome"]
    assert issue.rows == 1 and issue.examples == ("000002.SZ 20190930",)
    assert "no k-data" in issue.reason


def test_index_change_lists_pad_codes_and_censor_first_entries(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _stock_file(src, 3)
    (src / "ZZ500_history.csv").write_text(
        "chang_date,code,in_out\n2013/12/16,1,takein\n2013/12/16,600519,dropout\n"
        "2014/6/16,300059,dropout\n2014/6/16,1,dropout\n2015/1/5,1,takein\n"
        "2015/1/5,830799,takein\n")
    report = convert(src, tmp_path / "out")
    members = _read(tmp_path / "out", "AIndexMembers").sort("S_CON_WINDCODE", "S_CON_INDATE")
    assert members.select("S_INFO_WINDCODE", "S_CON_WINDCODE", "S_CON_INDATE", "S_CON_OUTDATE",
                          "CUR_SIGN").rows() == [
        (wind.CSI500, "000001.SZ", "20131216", "20140616", "0"),
        (wind.CSI500, "000001.SZ", "20150105", None, "1"),
        (wind.CSI500, "300059.SZ", "20131216", "20140616", "0"),  # censored: flagged
        (wind.CSI500, "830799.BJ", "20150105", None, "1")]
    assert any("600519.SH" in e for i in report.dropped for e in i.examples)
    assert any("300059.SZ" in e for i in report.flagged for e in i.examples)


def test_a_file_without_a_required_column_names_file_column_and_rule(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    path = _stock_file(src, 1)
    frame = pl.read_csv(path, infer_schema=False).drop("tradestatus")
    frame.write_csv(path)
    with pytest.raises(BaostockFormatError) as err:
        convert(src, tmp_path / "out")
    assert (err.value.path.name, err.value.column, err.value.rule) == (
        path.name, "tradestatus", "required column present")
    assert not (tmp_path / "out").exists()


def test_a_non_number_price_is_refused(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    path = _stock_file(src, 1)
    path.write_text(path.read_text().replace("2020-01-03,sh.600001,", "2020-01-03,sh.600001,x", 1))
    with pytest.raises(BaostockFormatError, match="'open' breaks rule 'a number'"):
        convert(src, tmp_path / "out")


# --------------------------------------------------------------------------- real sample
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    if not (SAMPLE / "stock_code").is_dir():
        pytest.skip(f"the baostock sample is not at {SAMPLE}")
    src = tmp_path_factory.mktemp("baostock")
    (src / "stock_code").mkdir()
    for code in SUBSET:
        shutil.copy(SAMPLE / "stock_code" / f"stock_data_{code}.csv.gz", src / "stock_code")
    for name in ("profit_data.csv.gz", "growth_data.csv.gz", "HS300_history.csv",
                 "ZZ500_history.csv", "HS300_index.csv"):
        shutil.copy(SAMPLE / name, src)
    out = src / "wind"
    return src, out, convert(src, out)


def _source(src: Path) -> pl.DataFrame:
    frames = [pl.read_csv(p, infer_schema=False) for p in sorted(src.glob("stock_code/*"))]
    return pl.concat(frames).with_columns(
        pl.col("date").shift().over("code").str.replace_all("-", "").alias("source_prev")
    ).select("source_prev",
        (pl.col("code").str.slice(3) + "." + pl.col("code").str.slice(0, 2).str.to_uppercase())
        .alias("S_INFO_WINDCODE"), pl.col("date").str.replace_all("-", "").alias("TRADE_DT"),
        pl.col("close", "preclose", "pctChg").cast(pl.Float64).name.prefix("adj_"))


def test_sample_raw_prices_reproduce_the_adjusted_ones(sample):
    src, out, _ = sample
    eod = _read(out, "AShareEODPrices").join(_source(src), on=["S_INFO_WINDCODE", "TRADE_DT"])
    # back-adjusted close = raw close x factor: the factor and the raw prices are right
    err = (eod["S_DQ_CLOSE"] * eod["S_DQ_ADJFACTOR"] / eod["adj_close"] - 1).abs()
    assert (err < 1e-4).mean() > 0.999
    # recovered prices came from the 0.01 grid, not from rounding a wrong factor
    ticks = eod["S_DQ_CLOSE"] * 100
    assert ((ticks - ticks.round()).abs() < 1e-6).all()
    traded = eod.filter(pl.col("S_DQ_VOLUME") > 0)
    assert ((traded["S_DQ_PCTCHANGE"] - traded["adj_pctChg"]).abs() < 0.01).mean() > 0.999


def test_sample_vwap_in_range_except_the_known_defect_rows(sample):
    _, out, report = sample
    eod = _read(out, "AShareEODPrices").filter(pl.col("S_DQ_VOLUME") > 0)
    inside = eod["S_DQ_AVGPRICE"].is_between(eod["S_DQ_LOW"] * 0.995, eod["S_DQ_HIGH"] * 1.005)
    assert inside.all()
    defects = [i for i in report.dropped if i.reason.startswith("amount / volume outside")]
    assert [(i.rows, i.examples) for i in defects] == [
        (2, ("300999.SZ 20201109", "300999.SZ 20201209"))]


def test_sample_factor_changes_only_at_ex_rights_prices(sample):
    src, out, _ = sample
    eod = _read(out, "AShareEODPrices").join(_source(src), on=["S_INFO_WINDCODE", "TRADE_DT"])
    eod = eod.sort("S_INFO_WINDCODE", "TRADE_DT").with_columns(
        changed=(pl.col("S_DQ_ADJFACTOR") / pl.col("S_DQ_ADJFACTOR").shift() - 1).abs()
        .over("S_INFO_WINDCODE") > 1e-9,
        moved=(pl.col("adj_preclose") - pl.col("adj_close").shift()).abs()
        .over("S_INFO_WINDCODE") > 5e-9,
        raw_moved=(pl.col("S_DQ_PRECLOSE") != pl.col("S_DQ_CLOSE").shift())
        .over("S_INFO_WINDCODE"),
        after_gap=pl.col("TRADE_DT").shift().over("S_INFO_WINDCODE") != pl.col("source_prev"))
    # the day after a dropped defect row compares with an older close: leave it out
    assert eod["after_gap"].sum() == 2
    eod = eod.filter(~pl.col("after_gap"))
    changes = eod.filter("changed")
    assert changes.height > 20
    # Wind's factor moves exactly where the raw preclose is an ex-rights reference price ...
    assert changes["raw_moved"].all()
    assert eod.filter("raw_moved")["changed"].all()
    # ... and those are (nearly all) the days baostock's adjusted preclose breaks too
    assert changes["moved"].mean() > 0.95


def test_sample_tables_pass_their_contracts(sample):
    """Columns the source lacks are NULL, which the contracts accept as unknown."""
    _, out, report = sample
    for table in wind.RAW_TABLES:
        path = out / f"{table.name}.parquet"
        if path.exists():
            contracts.validate(table, pl.read_parquet(path))
    assert report.contract_failures == {}
    assert "AShareDescription.S_INFO_LISTDATE" in report.null_columns


def test_sample_loads_into_a_warehouse(sample, tmp_path):
    """The converted subset loads whole: every table it feeds, every row."""
    _, out, report = sample
    loaded = load_dir(out, tmp_path / "w.duckdb")
    assert {t.table: t.rows_inserted for t in loaded.tables} == report.written


def test_zoo_data_convert_writes_the_tables_and_names_a_bad_file(tmp_path):
    from click.testing import CliRunner

    from zoo.cli import main

    src = tmp_path / "src"
    src.mkdir()
    _stock_file(src, 1)
    _profit(src)
    result = CliRunner().invoke(main, ["data", "convert", "--format", "baostock", str(src),
                                       str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "AShareEODPrices" in result.output and "cannot feed" in result.output
    assert (tmp_path / "out" / "AShareEODPrices.parquet").is_file()
    bad = pl.read_csv(_stock_file(src, 1), infer_schema=False).drop("close")
    bad.write_csv(src / "stock_data_sh.600001.csv")
    result = CliRunner().invoke(main, ["data", "convert", "--format", "baostock", str(src),
                                       str(tmp_path / "out2")])
    assert result.exit_code == 1 and "close" in result.output, result.output
    assert not (tmp_path / "out2").exists()
