"""A tiny valid Wind-style market (3 stocks x 5 trading days, every raw table) for the contract
and loader tests, written as CSV or Parquet into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from zoo.ingest import wind

KIND_TYPES = {wind.STR: pl.String, wind.DATE: pl.String, wind.FLOAT: pl.Float64,
              wind.INT: pl.Int64}

# 600000.SH trades every day; 000001.SZ is suspended on the third day; 830799.BJ is ST.
STOCKS = (("600000.SH", "SSE", "浦发银行", "主板", "b101000000"),
          ("000001.SZ", "SZSE", "平安银行", "主板", "b101000000"),
          ("830799.BJ", "BSE", "艾融软件", "北证", "b107000000"))
DAYS = ("20200102", "20200103", "20200106", "20200107", "20200108")
SUSPENDED = ("000001.SZ", "20200106")
CSI500 = wind.CSI500


def frame(table: wind.Table, rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows as a frame with wind.py's columns and types (missing nullable columns are null)."""
    return pl.DataFrame(
        [{c: row.get(c) for c in table.column_names} for row in rows],
        schema={c.name: KIND_TYPES[c.kind] for c in table.columns},
        orient="row",
    )


def _description() -> list[dict[str, object]]:
    return [dict(S_INFO_WINDCODE=code, S_INFO_CODE=code[:6], S_INFO_NAME=name,
                 S_INFO_LISTDATE="19991110", S_INFO_EXCHMARKET=exch,
                 S_INFO_LISTBOARDNAME=board)
            for code, exch, name, board, _ in STOCKS]


def _prices() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """AShareEODPrices and AShareEODDerivativeIndicator rows, consistent with each other."""
    prices, derivative = [], []
    for i, (code, *_rest) in enumerate(STOCKS):
        close = 10.0 + i
        for j, day in enumerate(DAYS):
            pre, suspended = close, (code, day) == SUSPENDED
            close = pre if suspended else round(pre * (1.01 if j % 2 else 0.99), 2)
            high, low = max(pre, close) + (0 if suspended else 0.05), min(pre, close)
            volume = 0.0 if suspended else 1000.0 * (j + 1)
            avg = close if suspended else round((high + low) / 2, 2)
            prices.append(dict(
                S_INFO_WINDCODE=code, TRADE_DT=day, CRNCY_CODE="CNY", S_DQ_PRECLOSE=pre,
                S_DQ_OPEN=pre, S_DQ_HIGH=high, S_DQ_LOW=low, S_DQ_CLOSE=close,
                S_DQ_CHANGE=round(close - pre, 2), S_DQ_PCTCHANGE=round((close / pre - 1) * 100, 4),
                S_DQ_VOLUME=volume, S_DQ_AMOUNT=volume * avg / 10, S_DQ_ADJFACTOR=1.5 + i,
                S_DQ_AVGPRICE=avg, S_DQ_TRADESTATUS="停牌" if suspended else "交易",
                S_DQ_TRADESTATUSCODE=0 if suspended else -1))
            total, free_float, free = 10000.0, 8000.0, 5000.0
            derivative.append(dict(
                S_INFO_WINDCODE=code, TRADE_DT=day, CRNCY_CODE="CNY", S_VAL_MV=close * total,
                S_DQ_MV=close * free_float, TOT_SHR_TODAY=total, FLOAT_A_SHR_TODAY=free_float,
                FREE_SHARES_TODAY=free, S_DQ_TURN=volume / free_float / 100,
                S_DQ_FREETURNOVER=volume / free / 100, S_VAL_PE_TTM=12.5 if i else None,
                S_VAL_PB_NEW=1.1, S_DQ_CLOSE_TODAY=close,
                UP_DOWN_LIMIT_STATUS=0))
    return prices, derivative


def _statement_versions() -> list[dict[str, object]]:
    """The key part of every statement: Q3 2019 for all, FY 2019 for one, and a restatement."""
    versions = []
    for code, *_rest in STOCKS:
        versions.append(dict(S_INFO_WINDCODE=code, ANN_DT="20191030", ACTUAL_ANN_DT="20191030",
                             REPORT_PERIOD="20190930",
                             STATEMENT_TYPE=wind.STATEMENT_CONSOLIDATED))
    restated = dict(versions[0], STATEMENT_TYPE=wind.STATEMENT_BEFORE_RESTATEMENT)
    correction = dict(versions[0], STATEMENT_TYPE=wind.STATEMENT_RESTATED, ANN_DT="20200107",
                      ACTUAL_ANN_DT=None)
    annual = dict(versions[1], REPORT_PERIOD="20191231", ANN_DT="20200103",
                  ACTUAL_ANN_DT="20200103")
    return [*versions, restated, correction, annual]


def _statements() -> dict[str, list[dict[str, object]]]:
    income, balance, cash_flow = [], [], []
    for k, version in enumerate(_statement_versions()):
        head = dict(version, CRNCY_CODE="CNY", COMP_TYPE_CODE=2 if k == 1 else 1)
        revenue = 1e9 * (k + 1)
        income.append(dict(
            head, TOT_OPER_REV=revenue, OPER_REV=revenue, TOT_OPER_COST=0.8 * revenue,
            LESS_OPER_COST=None if k == 1 else 0.6 * revenue, LESS_SELLING_DIST_EXP=0.05 * revenue,
            LESS_GERL_ADMIN_EXP=0.05 * revenue, LESS_FIN_EXP=0.02 * revenue,
            OPER_PROFIT=0.2 * revenue, TOT_PROFIT=0.2 * revenue, INC_TAX=0.05 * revenue,
            NET_PROFIT_INCL_MIN_INT_INC=0.15 * revenue, NET_PROFIT_EXCL_MIN_INT_INC=0.14 * revenue,
            MINORITY_INT_INC=0.01 * revenue))
        assets, liabilities = 5 * revenue, 3 * revenue
        balance.append(dict(
            head, MONETARY_CAP=0.5 * revenue, ACCT_RCV=0.3 * revenue, INVENTORIES=0.2 * revenue,
            TOT_CUR_ASSETS=2 * revenue, TOT_NON_CUR_ASSETS=3 * revenue, TOT_ASSETS=assets,
            TOT_CUR_LIAB=revenue, TOT_NON_CUR_LIAB=2 * revenue, TOT_LIAB=liabilities,
            TOT_SHRHLDR_EQY_EXCL_MIN_INT=1.9 * revenue, MINORITY_INT=0.1 * revenue,
            TOT_SHRHLDR_EQY_INCL_MIN_INT=assets - liabilities, TOT_LIAB_SHRHLDR_EQY=assets))
        cash_flow.append(dict(
            head, NET_CASH_FLOWS_OPER_ACT=0.1 * revenue, NET_CASH_FLOWS_INV_ACT=-0.05 * revenue,
            NET_CASH_FLOWS_FNC_ACT=-0.02 * revenue, CASH_CASH_EQU_END_PERIOD=0.4 * revenue))
    return {"AShareIncome": income, "AShareBalanceSheet": balance, "AShareCashFlow": cash_flow}


def _index_rows() -> dict[str, list[dict[str, object]]]:
    levels, members, weights = [], [], []
    level = 6000.0
    for day in DAYS:
        pre, level = level, round(level * 1.003, 2)
        levels.append(dict(S_INFO_WINDCODE=CSI500, TRADE_DT=day, CRNCY_CODE="CNY",
                           S_DQ_PRECLOSE=pre, S_DQ_OPEN=pre, S_DQ_HIGH=level + 5, S_DQ_LOW=pre - 5,
                           S_DQ_CLOSE=level, S_DQ_CHANGE=round(level - pre, 2),
                           S_DQ_PCTCHANGE=0.3, S_DQ_VOLUME=1e8, S_DQ_AMOUNT=1e9))
    for (code, *_rest), weight in zip(STOCKS, (50.0, 30.0, 20.0), strict=True):
        members.append(dict(S_INFO_WINDCODE=CSI500, S_CON_WINDCODE=code,
                            S_CON_INDATE="20150601", CUR_SIGN="1"))
        for day in (DAYS[0], DAYS[-1]):
            weights.append(dict(S_INFO_WINDCODE=CSI500, S_CON_WINDCODE=code, TRADE_DT=day,
                                I_WEIGHT=weight))
    members.append(dict(S_INFO_WINDCODE=CSI500, S_CON_WINDCODE="600000.SH",
                        S_CON_INDATE="20100104", S_CON_OUTDATE="20130603", CUR_SIGN="0"))
    return {"AIndexEODPrices": levels, "AIndexMembers": members, "AIndexFreeWeight": weights}


def _classification_rows() -> dict[str, list[dict[str, object]]]:
    st = [dict(S_INFO_WINDCODE="830799.BJ", S_TYPE_ST="S", ENTRY_DT="20190501",
               ANN_DT="20190430"),
          dict(S_INFO_WINDCODE="000001.SZ", S_TYPE_ST="S", ENTRY_DT="20150101",
               REMOVE_DT="20160104", ANN_DT="20141231")]
    citics = [dict(S_INFO_WINDCODE=code, CITICS_IND_CODE=industry, ENTRY_DT="20100101",
                   CUR_SIGN="1") for code, *_rest, industry in STOCKS]
    citics.append(dict(S_INFO_WINDCODE="600000.SH", CITICS_IND_CODE="b107000000",
                       ENTRY_DT="20050101", REMOVE_DT="20100101", CUR_SIGN="0"))
    codes = [dict(INDUSTRIESCODE="b101000000", INDUSTRIESNAME="银行", LEVELNUM=2, USED=1),
             dict(INDUSTRIESCODE="b107000000", INDUSTRIESNAME="计算机", LEVELNUM=2, USED=1)]
    return {"AShareST": st, "AShareIndustriesClassCITICS": citics,
            "AShareIndustriesCode": codes}


def _truth_rows() -> dict[str, list[dict[str, object]]]:
    expected = [dict(S_INFO_WINDCODE=code, TRADE_DT=day, ER_5D=0.001 * i, ER_10D=0.002 * i,
                     ER_15D=0.003 * i, ER_20D=0.004 * i, SIG_REVERSAL=0.1, SIG_TURNOVER=-0.1,
                     SIG_EARNINGS=0.0, SIG_NEIGHBOUR=0.05)
                for i, (code, *_rest) in enumerate(STOCKS) for day in DAYS]
    neighbours = [dict(S_INFO_WINDCODE=code, NEIGHBOUR_WINDCODE=other, VALID_FROM=DAYS[0],
                       RANK=rank)
                  for code, *_rest in STOCKS
                  for rank, other in enumerate((s[0] for s in STOCKS if s[0] != code), start=1)]
    return {"expected_return": expected, "fundamental_neighbours": neighbours}


def make_wind_frames() -> dict[str, pl.DataFrame]:
    """Every raw table of the tiny market, keyed by Wind table name, in wind.RAW_TABLES order."""
    prices, derivative = _prices()
    rows = {
        "AShareDescription": _description(),
        "AShareCalendar": [dict(TRADE_DAYS=d, S_INFO_EXCHMARKET=e)
                           for d in DAYS for e in ("SSE", "SZSE")],
        "AShareEODPrices": prices,
        "AShareEODDerivativeIndicator": derivative,
        **_statements(),
        **_classification_rows(),
        **_index_rows(),
    }
    return {t.name: frame(t, rows[t.name]) for t in wind.RAW_TABLES}


def make_truth_frames() -> dict[str, pl.DataFrame]:
    rows = _truth_rows()
    return {t.name: frame(t, rows[t.name]) for t in wind.TRUTH_TABLES}


def write_tables(frames: dict[str, pl.DataFrame], folder: Path, fmt: str = "parquet") -> Path:
    """Write each frame as <name>.<fmt> into `folder` (created); return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in frames.items():
        if fmt == "csv":
            data.write_csv(folder / f"{name}.csv")
        else:
            data.write_parquet(folder / f"{name}.parquet")
    return folder


WriteTables = Callable[..., Path]


@pytest.fixture
def wind_frames() -> dict[str, pl.DataFrame]:
    return make_wind_frames()


@pytest.fixture
def truth_frames() -> dict[str, pl.DataFrame]:
    return make_truth_frames()


@pytest.fixture
def write() -> WriteTables:
    """`write(frames, folder, fmt)`: the writer, for tests that change a frame first."""
    return write_tables


@pytest.fixture(params=["csv", "parquet"])
def market_dir(request: pytest.FixtureRequest, tmp_path: Path,
               wind_frames: dict[str, pl.DataFrame]) -> Path:
    """The tiny market as one file per table, once as CSV and once as Parquet."""
    return write_tables(wind_frames, tmp_path / f"market_{request.param}", request.param)


@pytest.fixture
def parquet_dir(tmp_path: Path, wind_frames: dict[str, pl.DataFrame]) -> Path:
    """The tiny market as Parquet, this test's own copy (free to rename or add files)."""
    return write_tables(wind_frames, tmp_path / "market_parquet", "parquet")


@pytest.fixture(scope="session")
def market_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny market as Parquet, written once and shared: read it, do not change it."""
    return write_tables(make_wind_frames(), tmp_path_factory.mktemp("market"), "parquet")
