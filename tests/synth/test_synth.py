"""The synthetic market: contracts, accounting, market microstructure and the planted signal.

Five tiny markets (60 stocks, 2019-2020, rare events made frequent) are generated once for the
module: the base market, the same config again, another seed, no signal, and only the
neighbour effect.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from zoo.ingest import wind
from zoo.synth import SynthConfig, er_weight, generate, oracle_ic, published_ratios

BASE = dict(stocks=60, start="20190101", end="20201231", seed=5, suspension_rate=0.5,
            restatement_rate=0.1, delist_fraction=0.05, reclass_rate=0.1, random_st_rate=0.05)
CODE, DAY = "S_INFO_WINDCODE", "TRADE_DT"
KINDS = {wind.STR: pl.String, wind.DATE: pl.String, wind.FLOAT: pl.Float64, wind.INT: pl.Int64}
TICK = 0.01


def _market(tmp_path_factory: pytest.TempPathFactory, name: str, **overrides: object) -> Path:
    out = tmp_path_factory.mktemp("synth") / name
    generate(SynthConfig(**{**BASE, **overrides}), out)
    return out


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Path:
    return _market(tmp_path_factory, "base")


@pytest.fixture(scope="module")
def market_again(tmp_path_factory) -> Path:
    return _market(tmp_path_factory, "again")


@pytest.fixture(scope="module")
def market_other_seed(tmp_path_factory) -> Path:
    return _market(tmp_path_factory, "other_seed", seed=6)


@pytest.fixture(scope="module")
def market_no_signal(tmp_path_factory) -> Path:
    return _market(tmp_path_factory, "no_signal", signal_strength=0.0)


@pytest.fixture(scope="module")
def market_neighbour_only(tmp_path_factory) -> Path:
    return _market(tmp_path_factory, "neighbour_only", reversal=0.0, turnover=0.0, earnings=0.0)


def _path(folder: Path, table: wind.Table) -> Path:
    return (folder / "truth" if table.schema == "truth" else folder) / f"{table.name}.parquet"


@cache
def read(folder: Path, name: str) -> pl.DataFrame:
    table = wind.TABLES.get(name) or next(t for t in wind.TRUTH_TABLES if t.name == name)
    return pl.read_parquet(_path(folder, table))


def prices(folder: Path) -> pl.DataFrame:
    """EOD prices sorted by stock and date, with the previous row's close and factor."""
    return read(folder, "AShareEODPrices").sort(CODE, DAY).with_columns(
        pl.col("S_DQ_CLOSE").shift(1).over(CODE).alias("prev_close"),
        pl.col("S_DQ_ADJFACTOR").shift(1).over(CODE).alias("prev_factor"),
    )


def st_flag(folder: Path, frame: pl.DataFrame) -> pl.Series:
    """Whether each (stock, date) row of `frame` is inside an ST period [ENTRY_DT, REMOVE_DT)."""
    periods = read(folder, "AShareST").select(CODE, "ENTRY_DT", "REMOVE_DT")
    inside = (frame.select(CODE, DAY).with_row_index("row").join(periods, on=CODE)
              .filter((pl.col(DAY) >= pl.col("ENTRY_DT"))
                      & (pl.col("REMOVE_DT").is_null() | (pl.col(DAY) < pl.col("REMOVE_DT")))))
    return frame.with_row_index("row").select(pl.col("row").is_in(inside["row"].implode()))[
        "row"]


def board_limit(frame: pl.DataFrame, is_st: pl.Series) -> pl.Series:
    """The daily price limit by board, date and ST status."""
    code = pl.col(CODE)
    wide = code.str.starts_with("688") | (code.str.starts_with("30") & (pl.col(DAY) >= "20200824"))
    limit = pl.when(wide).then(0.20).when(pl.lit(is_st)).then(0.05).otherwise(0.10)
    return frame.select(limit.alias("limit"))["limit"]


# --------------------------------------------------------------------------- config
def test_overrides_cast_values_and_keep_defaults():
    cfg = SynthConfig.from_overrides({"stocks": None, "seed": 3},
                                     ("neighbour=0", "neighbours_k=5", "start=20180101"))
    assert (cfg.stocks, cfg.seed, cfg.neighbour, cfg.neighbours_k, cfg.start) == (
        500, 3, 0.0, 5, "20180101")
    assert isinstance(cfg.neighbour, float) and isinstance(cfg.neighbours_k, int)


@pytest.mark.parametrize("override, message", [("neighbor=0", "neighbour"),
                                                ("stocks=many", "stocks"), ("seed", "KEY=VALUE")])
def test_bad_overrides_are_errors_that_say_what_to_type(override, message):
    with pytest.raises(ValueError, match=message):
        SynthConfig.from_overrides({}, (override,))


def test_generate_refuses_to_replace_a_folder_that_is_not_a_market(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="notes.txt"):
        generate(SynthConfig(**BASE), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- contracts
def test_same_seed_same_market_other_seed_other_market(market, market_again, market_other_seed):
    for table in wind.RAW_TABLES + wind.TRUTH_TABLES:
        a, b = (pl.read_parquet(_path(m, table)) for m in (market, market_again))
        assert a.equals(b), table.name
    assert not read(market, "AShareEODPrices").equals(read(market_other_seed, "AShareEODPrices"))


# The base market's values as the generator wrote them before `links=latent` existed (at
# ece309b): the default links ("ratios") must draw and write exactly what they did. Change it
# only with a change that means to make another market, and say so.
BASE_MARKET_DIGEST = "7a0fa71c9de5d6fdc99310b449ea9630bb6d1713faf7dde5a0988557024c9cb5"


def market_digest(folder: Path) -> str:
    """SHA-256 of every table of a market folder: names, columns and values (floats as float32,
    so that a last-bit difference of another machine's arithmetic does not count)."""
    import hashlib

    total = hashlib.sha256()
    for path in sorted(folder.rglob("*.parquet")):
        frame = pl.read_parquet(path)
        total.update(path.relative_to(folder).as_posix().encode())
        for name in frame.columns:
            column = frame[name]
            total.update(name.encode())
            if column.dtype.is_float():
                values = column.fill_nan(None).to_numpy().astype(np.float32)
                total.update(np.nan_to_num(values, nan=-1.0e30).tobytes())
            else:
                total.update("\x1f".join(map(str, column.to_list())).encode())
    return total.hexdigest()


def test_the_default_links_make_the_market_they_made_before(market):
    assert SynthConfig(**BASE).links == "ratios"
    assert market_digest(market) == BASE_MARKET_DIGEST


def test_no_partial_folder_is_left_behind(market):
    assert [p.name for p in market.parent.iterdir()] == [market.name]


@pytest.mark.parametrize("table", wind.RAW_TABLES + wind.TRUTH_TABLES, ids=lambda t: t.name)
def test_every_table_has_wind_columns_kinds_keys_and_nulls(market, table):
    frame = pl.read_parquet(_path(market, table))
    assert frame.columns == table.column_names
    assert frame.schema == pl.Schema({c.name: KINDS[c.kind] for c in table.columns})
    assert frame.height > 0
    assert frame.select(table.key).is_duplicated().sum() == 0
    for col in table.columns:
        values = frame[col.name]
        if not col.nullable:
            assert values.null_count() == 0, col.name
            if col.kind == wind.FLOAT:
                assert values.is_finite().all(), col.name
        if col.kind == wind.DATE:
            parsed = values.drop_nulls().str.to_date("%Y%m%d", strict=False)
            assert parsed.null_count() == 0 and values.drop_nulls().str.len_chars().eq(8).all()


def test_calendar_is_weekdays_without_chinese_holidays(market):
    cal = read(market, "AShareCalendar")
    sse, szse = (set(cal.filter(pl.col("S_INFO_EXCHMARKET") == e)["TRADE_DAYS"])
                 for e in ("SSE", "SZSE"))
    assert sse == szse
    days = pl.Series(sorted(sse)).str.to_date("%Y%m%d")
    assert days.dt.weekday().max() <= 5
    mmdd = set(days.dt.strftime("%m%d"))
    assert not mmdd & {"0101", "0501", "0502", "0503", "1001", "1002", "1003", "1004", "1007"}
    assert not {"20190205", "20190206", "20200127", "20200128"} & sse  # Spring Festival
    assert 238 <= (days.dt.year() == 2019).sum() <= 248


def test_codes_boards_exchanges_and_listing_dates_agree(market):
    desc = read(market, "AShareDescription")
    code = pl.col(CODE)
    board = (pl.when(code.str.starts_with("688")).then(pl.lit("科创板"))
             .when(code.str.starts_with("30")).then(pl.lit("创业板")).otherwise(pl.lit("主板")))
    assert desc.select((board == pl.col("S_INFO_LISTBOARDNAME")).all()).item()
    exch = pl.when(code.str.ends_with(".SH")).then(pl.lit("SSE")).otherwise(pl.lit("SZSE"))
    assert desc.select((exch == pl.col("S_INFO_EXCHMARKET")).all()).item()
    star = desc.filter(code.str.starts_with("688"))
    assert (star["S_INFO_LISTDATE"] >= "20190722").all()
    ipos = desc.filter(pl.col("S_INFO_LISTDATE") >= BASE["start"]).height
    assert 0.1 * desc.height <= ipos <= 0.3 * desc.height
    assert desc["S_INFO_DELISTDATE"].drop_nulls().len() >= 1


def test_rows_exist_only_while_listed_and_ipos_start_with_n(market):
    eod = read(market, "AShareEODPrices")
    desc = read(market, "AShareDescription")
    span = eod.group_by(CODE).agg(pl.col(DAY).min().alias("first"), pl.col(DAY).max().alias("last"))
    joined = desc.join(span, on=CODE)
    ipo = joined.filter(pl.col("S_INFO_LISTDATE") >= BASE["start"])
    assert (ipo["first"] == ipo["S_INFO_LISTDATE"]).all()
    delisted = joined.filter(pl.col("S_INFO_DELISTDATE").is_not_null())
    assert (delisted["last"] < delisted["S_INFO_DELISTDATE"]).all()
    first_rows = eod.join(ipo.select(CODE, pl.col("first").alias(DAY)), on=[CODE, DAY])
    assert (first_rows["S_DQ_TRADESTATUS"] == "N").all()


# --------------------------------------------------------------------------- prices
def longest_run_below_par(folder: Path) -> int:
    """The longest run of consecutive trading rows of one stock closing below 1 yuan."""
    eod = read(folder, "AShareEODPrices").filter(pl.col("S_DQ_TRADESTATUS") != "停牌")
    below = eod.sort(CODE, DAY).with_columns((pl.col("S_DQ_CLOSE") < 1).alias("below"))
    runs = below.with_columns(pl.col("below").rle_id().over(CODE).alias("run")).filter("below")
    return int(runs.group_by(CODE, "run").len()["len"].max() or 0)


def test_ohlc_vwap_ticks_and_changes_are_consistent(market):
    eod = read(market, "AShareEODPrices")
    o, h, lo, c, p = (eod[f"S_DQ_{x}"] for x in ("OPEN", "HIGH", "LOW", "CLOSE", "PRECLOSE"))
    vwap = eod["S_DQ_AVGPRICE"]
    assert ((lo <= o) & (lo <= c) & (o <= h) & (c <= h) & (lo <= vwap) & (vwap <= h)).all()
    for x in (o, h, lo, c, p):
        assert ((x / TICK - (x / TICK).round()).abs() < 1e-6).all()
    assert ((eod["S_DQ_CHANGE"] - (c - p)).abs() < 1e-9).all()
    assert ((eod["S_DQ_PCTCHANGE"] - (c / p - 1) * 100).abs() < 1e-9).all()
    assert 2.0 < c.median() < 60.0
    assert longest_run_below_par(market) <= 20 + 15  # the par-value delisting rule


def test_amount_volume_vwap_and_market_values_use_wind_units(market):
    eod = read(market, "AShareEODPrices")
    der = read(market, "AShareEODDerivativeIndicator")
    both = eod.join(der, on=[CODE, DAY])
    assert both.height == eod.height == der.height
    amount = both["S_DQ_VOLUME"] * 100 * both["S_DQ_AVGPRICE"] / 1000
    assert ((both["S_DQ_AMOUNT"] - amount).abs() <= 1e-9 * amount + 1e-9).all()
    assert (both["S_DQ_VOLUME"] == both["S_DQ_VOLUME"].round()).all()
    close = both["S_DQ_CLOSE"]
    assert ((both["S_VAL_MV"] / (close * both["TOT_SHR_TODAY"]) - 1).abs() < 1e-12).all()
    assert ((both["S_DQ_MV"] / (close * both["FLOAT_A_SHR_TODAY"]) - 1).abs() < 1e-12).all()
    assert (both["S_DQ_CLOSE_TODAY"] == close).all()
    turn = both["S_DQ_VOLUME"] * 100 / (both["FLOAT_A_SHR_TODAY"] * 1e4) * 100
    assert ((both["S_DQ_TURN"] - turn).abs() < 1e-9).all()
    assert ((both["FREE_SHARES_TODAY"] <= both["FLOAT_A_SHR_TODAY"])
            & (both["FLOAT_A_SHR_TODAY"] <= both["TOT_SHR_TODAY"])).all()
    caps = both.filter(pl.col(DAY) == BASE["start"][:4] + "0102")["S_VAL_MV"] / 1e4  # 1e8 yuan
    assert caps.min() > 5 and caps.max() < 8000  # 0.5 bn to 800 bn yuan


def test_suspended_rows_have_no_trade_and_keep_the_price(market):
    eod = read(market, "AShareEODPrices")
    halted = eod.filter(pl.col("S_DQ_TRADESTATUS") == "停牌")
    assert halted.height > 0
    assert (eod.filter(pl.col("S_DQ_TRADESTATUSCODE") == wind.TRADESTATUS_SUSPENDED).height
            == halted.height)
    assert (halted["S_DQ_TRADESTATUSCODE"] == wind.TRADESTATUS_SUSPENDED).all()
    assert ((halted["S_DQ_VOLUME"] == 0) & (halted["S_DQ_AMOUNT"] == 0)).all()
    for col in ("S_DQ_OPEN", "S_DQ_HIGH", "S_DQ_LOW", "S_DQ_CLOSE", "S_DQ_AVGPRICE"):
        assert (halted[col] == halted["S_DQ_PRECLOSE"]).all()
    trading = eod.filter(pl.col("S_DQ_TRADESTATUS") != "停牌")
    assert ((trading["S_DQ_VOLUME"] > 0)
            & (trading["S_DQ_TRADESTATUSCODE"] == wind.TRADESTATUS_NORMAL)).all()


def test_adjustment_factor_back_adjusts_across_ex_dates(market):
    eod = prices(market).drop_nulls("prev_close")
    ratio = eod["S_DQ_ADJFACTOR"] / eod["prev_factor"]
    assert ((ratio - eod["prev_close"] / eod["S_DQ_PRECLOSE"]).abs() < 1e-9 * ratio).all()
    ex = eod.filter(pl.col("S_DQ_TRADESTATUS").is_in(["XD", "XR", "DR"]))
    plain = eod.filter(~pl.col("S_DQ_TRADESTATUS").is_in(["XD", "XR", "DR"]))
    assert (plain["S_DQ_PRECLOSE"] == plain["prev_close"]).all()
    assert ex.height > 0 and (ex["S_DQ_PRECLOSE"] < ex["prev_close"]).all()
    adjusted = (ex["S_DQ_CLOSE"] * ex["S_DQ_ADJFACTOR"]) / (ex["prev_close"] * ex["prev_factor"])
    assert ((adjusted - 1).abs() <= 0.2 + 1e-3).all()  # continuous: within the daily limits
    bonus = ex.filter(pl.col("S_DQ_TRADESTATUS").is_in(["XR", "DR"]))
    assert bonus.height > 0
    assert ((bonus["S_DQ_CLOSE"] / bonus["prev_close"]) < 0.85).any()  # the raw close jumps


def test_closes_respect_price_limits_by_board_and_st(market):
    eod = read(market, "AShareEODPrices")
    desc = read(market, "AShareDescription").select(CODE, "S_INFO_LISTDATE")
    eod = eod.join(desc, on=CODE).sort(CODE, DAY).with_columns(
        pl.int_range(pl.len()).over(CODE).alias("age"))
    free_ipo = ((pl.col(CODE).str.starts_with("688")
                 | (pl.col(CODE).str.starts_with("30") & (pl.col("S_INFO_LISTDATE") >= "20200824")))
                & (pl.col("S_INFO_LISTDATE") >= BASE["start"]) & (pl.col("age") < 5))
    first_day = pl.col("S_DQ_TRADESTATUS") == "N"
    normal = eod.filter(~free_ipo & ~first_day)
    limit = board_limit(normal, st_flag(market, normal))
    move = (normal["S_DQ_CLOSE"] - normal["S_DQ_PRECLOSE"]).abs()
    assert (move <= normal["S_DQ_PRECLOSE"] * limit + TICK / 2 + 1e-9).all()
    assert (limit == 0.05).any() and (limit == 0.20).any()
    ipo = eod.filter(first_day & ~free_ipo)
    assert (ipo["S_DQ_CLOSE"] <= ipo["S_DQ_PRECLOSE"] * 1.44 + TICK).all()
    der = read(market, "AShareEODDerivativeIndicator").select(CODE, DAY, "UP_DOWN_LIMIT_STATUS")
    at_limit = normal.with_columns(limit=limit).join(der, on=[CODE, DAY])
    ups = at_limit.filter(pl.col("UP_DOWN_LIMIT_STATUS") == 1)
    downs = at_limit.filter(pl.col("UP_DOWN_LIMIT_STATUS") == -1)
    assert ups.height > 0 and downs.height > 0
    assert ((ups["S_DQ_CLOSE"] - ups["S_DQ_PRECLOSE"] * (1 + ups["limit"])).abs()
            <= TICK / 2 + 1e-9).all()
    assert ((downs["S_DQ_CLOSE"] - downs["S_DQ_PRECLOSE"] * (1 - downs["limit"])).abs()
            <= TICK / 2 + 1e-9).all()


# --------------------------------------------------------------------------- statements
def _deadline(period: pl.Expr) -> pl.Expr:
    year, mmdd = period.str.slice(0, 4), period.str.slice(4)
    next_year = (year.cast(pl.Int64) + 1).cast(pl.String)
    return (pl.when(mmdd == "0331").then(year + "0430").when(mmdd == "0630").then(year + "0831")
            .when(mmdd == "0930").then(year + "1031").otherwise(next_year + "0430"))


def test_statements_are_announced_after_the_period_mostly_by_the_deadline(market):
    inc = read(market, "AShareIncome")
    assert (inc["ANN_DT"] > inc["REPORT_PERIOD"]).all()
    listed = read(market, "AShareDescription").select(CODE, "S_INFO_LISTDATE")
    regular = inc.filter(pl.col("STATEMENT_TYPE") == wind.STATEMENT_CONSOLIDATED).join(
        listed, on=CODE).filter(pl.col("REPORT_PERIOD") >= pl.col("S_INFO_LISTDATE"))
    on_time = regular.select(pl.col("ANN_DT") <= _deadline(pl.col("REPORT_PERIOD")))
    assert 0.95 <= on_time.to_series().mean() < 1.0
    # An IPO's history before listing comes in one batch: the prospectus, before listing.
    prospectus = inc.join(listed, on=CODE).filter(
        pl.col("S_INFO_LISTDATE") >= BASE["start"], pl.col("ANN_DT") < pl.col("S_INFO_LISTDATE"),
        pl.col("STATEMENT_TYPE") != wind.STATEMENT_RESTATED)
    batches = prospectus.group_by(CODE).agg(pl.col("ANN_DT").n_unique(), pl.len())
    assert (batches["ANN_DT"] == 1).all() and (batches["len"] >= 8).all()


def test_income_is_year_to_date_and_identities_hold(market):
    inc = read(market, "AShareIncome").filter(
        pl.col("STATEMENT_TYPE") == wind.STATEMENT_CONSOLIDATED)
    ytd = (inc.with_columns(pl.col("REPORT_PERIOD").str.slice(0, 4).alias("year"))
           .sort(CODE, "REPORT_PERIOD")
           .with_columns(pl.col("TOT_OPER_REV").diff().over(CODE, "year").alias("step")))
    assert (ytd["step"].drop_nulls() > 0).all()
    assert ytd["step"].drop_nulls().len() > inc.height / 2
    col = pl.col

    def same(a: pl.Expr, b: pl.Expr) -> bool:
        return inc.select(((a - b).abs() <= 1e-9 * a.abs() + 1e-3).all()).item()

    assert same(col("OPER_PROFIT"), col("TOT_OPER_REV") - col("TOT_OPER_COST"))
    assert same(col("TOT_PROFIT"), col("NET_PROFIT_INCL_MIN_INT_INC") + col("INC_TAX"))
    assert same(col("NET_PROFIT_INCL_MIN_INT_INC"),
                col("NET_PROFIT_EXCL_MIN_INT_INC") + col("MINORITY_INT_INC"))
    assert inc.select((col("LESS_OPER_COST") > 0).all()).item()
    assert 0.0 < (inc["NET_PROFIT_EXCL_MIN_INT_INC"] < 0).mean() < 0.3


def test_balance_sheet_and_cash_flow_identities_hold(market):
    bal = read(market, "AShareBalanceSheet")
    col = pl.col

    def same(frame: pl.DataFrame, a: pl.Expr, b: pl.Expr) -> bool:
        return frame.select(((a - b).abs() <= 1e-9 * a.abs() + 1e-3).all()).item()

    assert same(bal, col("TOT_ASSETS"), col("TOT_LIAB") + col("TOT_SHRHLDR_EQY_INCL_MIN_INT"))
    assert same(bal, col("TOT_ASSETS"), col("TOT_LIAB_SHRHLDR_EQY"))
    assert same(bal, col("TOT_SHRHLDR_EQY_INCL_MIN_INT"),
                col("TOT_SHRHLDR_EQY_EXCL_MIN_INT") + col("MINORITY_INT"))
    assert same(bal, col("TOT_ASSETS"), col("TOT_CUR_ASSETS") + col("TOT_NON_CUR_ASSETS"))
    assert same(bal, col("TOT_LIAB"), col("TOT_CUR_LIAB") + col("TOT_NON_CUR_LIAB"))
    assert (bal["TOT_SHRHLDR_EQY_EXCL_MIN_INT"] > 0).all()
    # YTD cash flows add up to the change in cash since the previous year end.
    cash = (read(market, "AShareCashFlow").filter(
        pl.col("STATEMENT_TYPE") == wind.STATEMENT_CONSOLIDATED).sort(CODE, "REPORT_PERIOD"))
    year_end = (cash.filter(col("REPORT_PERIOD").str.ends_with("1231"))
                .select(CODE, (col("REPORT_PERIOD").str.slice(0, 4).cast(pl.Int64) + 1)
                        .alias("year"), col("CASH_CASH_EQU_END_PERIOD").alias("opening")))
    flows = cash.with_columns(col("REPORT_PERIOD").str.slice(0, 4).cast(pl.Int64).alias("year")
                              ).join(year_end, on=[CODE, "year"])
    total = col("NET_CASH_FLOWS_OPER_ACT") + col("NET_CASH_FLOWS_INV_ACT") + col(
        "NET_CASH_FLOWS_FNC_ACT")
    assert flows.height > 100
    assert same(flows, total, col("CASH_CASH_EQU_END_PERIOD") - col("opening"))


def test_corrections_follow_winds_three_version_pattern(market):
    inc = read(market, "AShareIncome")
    key = [CODE, "REPORT_PERIOD"]
    by_type = {t: inc.filter(pl.col("STATEMENT_TYPE") == t) for t in wind.STATEMENT_TYPES}
    restated, before = by_type[wind.STATEMENT_RESTATED], by_type[wind.STATEMENT_BEFORE_RESTATEMENT]
    assert restated.height > 0 and restated.height == before.height
    trio = (restated.join(before, on=key, suffix="_before")
            .join(by_type[wind.STATEMENT_CONSOLIDATED], on=key, suffix="_latest"))
    assert trio.height == restated.height
    assert (trio["ANN_DT"] > trio["ANN_DT_before"]).all()
    assert (trio["ACTUAL_ANN_DT"] == trio["ANN_DT"]).all()
    assert (trio["ANN_DT_latest"] == trio["ANN_DT_before"]).all()  # the look-ahead trap
    assert (trio["ACTUAL_ANN_DT_latest"] == trio["ANN_DT"]).all()
    assert (trio["NET_PROFIT_EXCL_MIN_INT_INC_latest"] == trio["NET_PROFIT_EXCL_MIN_INT_INC"]).all()
    assert (trio["NET_PROFIT_EXCL_MIN_INT_INC_before"]
            != trio["NET_PROFIT_EXCL_MIN_INT_INC"]).all()
    for name in ("AShareBalanceSheet", "AShareCashFlow"):
        other = read(market, name)
        assert other.filter(pl.col("STATEMENT_TYPE") == wind.STATEMENT_RESTATED).select(
            key).sort(key).equals(restated.select(key).sort(key))


def test_pe_uses_only_announced_profit(market):
    der = read(market, "AShareEODDerivativeIndicator")
    assert der["S_VAL_PE_TTM"].null_count() < der.height
    assert der["S_VAL_PB_NEW"].drop_nulls().min() > 0
    pe = der["S_VAL_PE_TTM"].drop_nulls()
    assert 5 < pe.median() < 80 and (pe < 0).any()


# --------------------------------------------------------------------------- ST, industries
def test_st_periods_are_half_open_announced_first_and_precede_delisting(market):
    st = read(market, "AShareST").sort(CODE, "ENTRY_DT")
    assert (st["ANN_DT"] < st["ENTRY_DT"]).all()
    gap = st["ENTRY_DT"].str.to_date("%Y%m%d") - st["ANN_DT"].str.to_date("%Y%m%d")
    assert (gap.dt.total_days() <= 20).all()
    closed = st.drop_nulls("REMOVE_DT")
    assert (closed["REMOVE_DT"] > closed["ENTRY_DT"]).all()
    nxt = st.with_columns(pl.col("ENTRY_DT").shift(-1).over(CODE).alias("next"))
    assert nxt.filter(pl.col("next").is_not_null()).select(
        (pl.col("REMOVE_DT") <= pl.col("next")).all()).item()
    desc = read(market, "AShareDescription").filter(pl.col("S_INFO_DELISTDATE").is_not_null())
    last = read(market, "AShareEODPrices").group_by(CODE).agg(pl.col(DAY).max())
    final_days = desc.join(last, on=CODE).select(CODE, DAY)
    assert st_flag(market, final_days).all()


def test_citic_industries_are_contiguous_periods_from_listing(market):
    ind = read(market, "AShareIndustriesClassCITICS").sort(CODE, "ENTRY_DT")
    codes = read(market, "AShareIndustriesCode")
    level1 = set(codes.filter(pl.col("LEVELNUM") == 2)["INDUSTRIESCODE"].str.slice(0, 4))
    assert len(level1) == 30 and codes.filter(pl.col("LEVELNUM") == 1).height == 1
    assert (ind["CITICS_IND_CODE"].str.len_chars() == 16).all()
    assert set(ind["CITICS_IND_CODE"].str.slice(0, 4)) <= level1
    first = ind.group_by(CODE).agg(pl.col("ENTRY_DT").first()).join(
        read(market, "AShareDescription"), on=CODE)
    assert (first["ENTRY_DT"] == first["S_INFO_LISTDATE"]).all()
    chain = ind.with_columns(pl.col("ENTRY_DT").shift(-1).over(CODE).alias("next"))
    inner = chain.filter(pl.col("next").is_not_null())
    assert inner.height > 0 and (inner["REMOVE_DT"] == inner["next"]).all()
    assert ((ind["CUR_SIGN"] == "1") == ind["REMOVE_DT"].is_null()).all()


# --------------------------------------------------------------------------- indices
def _members_on(folder: Path, day: str) -> pl.DataFrame:
    m = read(folder, "AIndexMembers")
    return m.filter((pl.col("S_CON_INDATE") <= day)
                    & (pl.col("S_CON_OUTDATE").is_null() | (pl.col("S_CON_OUTDATE") > day)))


def test_index_sizes_follow_the_fractions_and_do_not_overlap(market):
    sizes = {wind.CSI300: 4, wind.CSI500: 6, wind.CSI1000: 12}  # 6 %, 10 %, 20 % of 60
    days = sorted(set(read(market, "AIndexMembers")["S_CON_INDATE"]))
    assert len(days) >= 4  # the first day and the June/December rebalances
    for day in days:
        members = _members_on(market, day)
        counts = dict(members.group_by(CODE).len().iter_rows())
        assert counts == sizes, day
        assert members["S_CON_WINDCODE"].is_unique().all()
    for day in days[1:]:  # the first trading day after the second Friday of June/December
        month = np.datetime64(f"{day[:4]}-{day[4:6]}-01")
        second_friday = month + (4 - (month.astype(int) + 3) % 7) % 7 + 7
        assert day[4:6] in ("06", "12")
        assert 1 <= (np.datetime64(f"{day[:4]}-{day[4:6]}-{day[6:]}") - second_friday).astype(
            int) <= 4


def test_index_weights_are_free_float_shares_summing_to_100(market):
    w = read(market, "AIndexFreeWeight")
    sums = w.group_by(CODE, DAY).agg(pl.col("I_WEIGHT").sum())
    assert ((sums["I_WEIGHT"] - 100).abs() <= 0.01).all()
    assert sums[DAY].n_unique() >= 24
    der = read(market, "AShareEODDerivativeIndicator").select(
        pl.col(CODE).alias("S_CON_WINDCODE"), DAY,
        (pl.col("S_DQ_CLOSE_TODAY") * pl.col("FREE_SHARES_TODAY")).alias("cap"))
    shares = w.join(der, on=["S_CON_WINDCODE", DAY]).with_columns(
        (100 * pl.col("cap") / pl.col("cap").sum().over(CODE, DAY)).alias("expected"))
    assert ((shares["I_WEIGHT"] - shares["expected"]).abs() <= 1e-4).all()


def test_index_levels_are_consistent_and_follow_their_members(market):
    idx = read(market, "AIndexEODPrices").sort(CODE, DAY)
    low, high = idx["S_DQ_LOW"], idx["S_DQ_HIGH"]
    for col in ("S_DQ_OPEN", "S_DQ_CLOSE"):
        assert ((low <= idx[col]) & (idx[col] <= high)).all()
    chained = idx.with_columns(pl.col("S_DQ_CLOSE").shift(1).over(CODE).alias("prev")).drop_nulls()
    assert ((chained["S_DQ_PRECLOSE"] - chained["prev"]).abs() < 1e-9).all()
    first = idx.group_by(CODE).agg(pl.col("S_DQ_PRECLOSE").first())
    assert first["S_DQ_PRECLOSE"].is_between(3000, 7000).all()
    # The day after a month-end snapshot, the index return is the weighted member return.
    eod = read(market, "AShareEODPrices").with_columns(
        (pl.col("S_DQ_CLOSE") / pl.col("S_DQ_PRECLOSE") - 1).alias("ret"))
    days = sorted(set(eod[DAY]))
    rebalances = set(read(market, "AIndexMembers")["S_CON_INDATE"])
    w = read(market, "AIndexFreeWeight").with_columns(
        pl.col(DAY).replace_strict(dict(zip(days[:-1], days[1:], strict=True)), default=None))
    w = w.filter(pl.col(DAY).is_not_null() & ~pl.col(DAY).is_in(list(rebalances)))
    weighted = (pl.col("I_WEIGHT") * pl.col("ret")).sum() / 100
    implied = (w.join(eod.select(pl.col(CODE).alias("S_CON_WINDCODE"), DAY, "ret"),
                      on=["S_CON_WINDCODE", DAY])
               .group_by(CODE, DAY).agg(weighted.alias("ret")))
    check = implied.join(idx, on=[CODE, DAY])
    assert check.height > 20
    assert ((check["ret"] - check["S_DQ_PCTCHANGE"] / 100).abs() < 2e-4).all()


# --------------------------------------------------------------------------- the truth
def test_expected_returns_are_the_documented_function_of_the_signals(market):
    truth = read(market, "expected_return")
    state = sum(truth[c] for c in ("SIG_REVERSAL", "SIG_TURNOVER", "SIG_EARNINGS",
                                   "SIG_NEIGHBOUR"))
    for h in (5, 10, 15, 20):
        assert ((truth[f"ER_{h}D"] - er_weight(0.8, h) * state).abs() <= 1e-15).all()
    eod = read(market, "AShareEODPrices")
    trading = eod.filter(pl.col("S_DQ_TRADESTATUSCODE") == wind.TRADESTATUS_NORMAL)
    assert truth.select(CODE, DAY).sort(CODE, DAY).equals(trading.select(CODE, DAY).sort(CODE, DAY))
    for col in ("SIG_REVERSAL", "SIG_TURNOVER", "SIG_EARNINGS", "SIG_NEIGHBOUR"):
        assert truth[col].std() > 0, col


def test_neighbours_are_k_ranked_listed_other_stocks(market):
    nbr = read(market, "fundamental_neighbours")
    groups = nbr.group_by(CODE, "VALID_FROM").agg(pl.col("RANK").sort())
    assert all(r == list(range(1, 11)) for r in groups["RANK"].to_list())
    assert (nbr[CODE] != nbr["NEIGHBOUR_WINDCODE"]).all()
    assert nbr["VALID_FROM"].n_unique() == 24  # the first trading day of each month
    eod = read(market, "AShareEODPrices").select(pl.col(CODE).alias("NEIGHBOUR_WINDCODE"),
                                                 pl.col(DAY).alias("VALID_FROM"))
    assert nbr.join(eod, on=["NEIGHBOUR_WINDCODE", "VALID_FROM"]).height == nbr.height


def test_neighbours_are_drawn_only_from_published_reports(market):
    """The planted neighbourhoods place each stock by its latest announced report, so a stock
    (or neighbour) with no income statement announced before VALID_FROM never appears: the
    market links firms by what they have published, which a point-in-time graph can see."""
    nbr = read(market, "fundamental_neighbours")
    income = read(market, "AShareIncome").group_by(CODE).agg(pl.col("ANN_DT").min()
                                                             .alias("first_ann"))
    for column in (CODE, "NEIGHBOUR_WINDCODE"):
        joined = nbr.join(income.rename({CODE: column}), on=column, how="left")
        early = joined.filter(pl.col("first_ann").is_null()
                              | (pl.col("first_ann") >= pl.col("VALID_FROM")))
        assert early.is_empty(), early.head()


def _published_figures(folder: Path, valid_from: str) -> tuple[list[str], dict, np.ndarray]:
    """From the statement tables (latest figures, 408001000): each stock's last eight quarters
    of single-quarter revenue, parent profit and operating cash flow and period-end assets and
    liabilities, up to its latest report announced before `valid_from`."""
    ytd = {"TOT_OPER_REV": "revenue", "NET_PROFIT_EXCL_MIN_INT_INC": "profit",
           "NET_CASH_FLOWS_OPER_ACT": "operating_cash"}
    stock_items = {"TOT_ASSETS": "assets", "TOT_LIAB": "liabilities"}
    keys = [CODE, "REPORT_PERIOD"]
    tables = [read(folder, name).filter(pl.col("STATEMENT_TYPE") == wind.STATEMENT_CONSOLIDATED)
              for name in ("AShareIncome", "AShareCashFlow", "AShareBalanceSheet")]
    announced = tables[0].filter(pl.col("ANN_DT") < valid_from).group_by(CODE).agg(
        pl.col("REPORT_PERIOD").max().alias("latest"))
    frame = (tables[0].select(*keys, *[c for c in ytd if c in tables[0].columns])
             .join(tables[1].select(*keys, "NET_CASH_FLOWS_OPER_ACT"), on=keys)
             .join(tables[2].select(*keys, *stock_items), on=keys)
             .sort(keys)
             .with_columns(pl.col("REPORT_PERIOD").str.slice(0, 4).alias("year"))
             .with_columns([(pl.col(c) - pl.col(c).shift(1).over(CODE, "year").fill_null(0.0))
                            .alias(name) for c, name in ytd.items()])
             .rename(stock_items)
             .join(announced, on=CODE)
             .filter(pl.col("REPORT_PERIOD") <= pl.col("latest"))
             .group_by(CODE, maintain_order=True).tail(8))
    codes = announced[CODE].sort().to_list()
    figures = {name: np.stack([frame.filter(pl.col(CODE) == c)[name].to_numpy()
                               for c in codes])
               for name in (*ytd.values(), *stock_items.values())}
    latest = announced.sort(CODE)["latest"].str.slice(4, 2).cast(int).to_numpy() // 3 - 1
    return codes, figures, latest


def test_neighbours_are_the_nearest_by_the_published_ratios(market):
    """Recomputed from the statement tables alone, the published ratios of one month's listed
    stocks give back that month's planted neighbourhoods: what the market links is visible to
    anyone who reads the statements point in time."""
    nbr = read(market, "fundamental_neighbours")
    valid_from = sorted(nbr["VALID_FROM"].unique())[12]
    month = nbr.filter(pl.col("VALID_FROM") == valid_from)
    codes, figures, latest = _published_figures(market, valid_from)
    placed = sorted(month[CODE].unique())
    rows = [codes.index(c) for c in placed]
    x = published_ratios({k: v[rows] for k, v in figures.items()}, latest[rows])
    x = np.nan_to_num(np.clip((x - np.nanmean(x, 0)) / np.nanstd(x, 0), -5, 5))
    distance = ((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(distance, np.inf)
    k = month.filter(pl.col(CODE) == placed[0]).height
    nearest = {(placed[i], placed[j]) for i in range(len(placed))
               for j in np.argsort(distance[i], kind="stable")[:k]}
    planted = set(zip(month[CODE], month["NEIGHBOUR_WINDCODE"], strict=True))
    assert len(nearest & planted) >= 0.95 * len(planted)


def _own_reversal_ic(folder: Path) -> float:
    """Rank IC of minus the past 5-day return against the forward 5-day VWAP return."""
    eod = prices(folder).with_columns(
        (pl.col("S_DQ_CLOSE") * pl.col("S_DQ_ADJFACTOR")).log().alias("lc"),
        (pl.col("S_DQ_AVGPRICE") * pl.col("S_DQ_ADJFACTOR")).log().alias("lv"))
    eod = eod.with_columns((pl.col("lc").shift(5) - pl.col("lc")).over(CODE).alias("signal"),
                           (pl.col("lv").shift(-6) - pl.col("lv").shift(-1)).over(CODE)
                           .alias("fwd")).drop_nulls(["signal", "fwd"])
    daily = eod.group_by(DAY).agg(pl.corr("signal", "fwd", method="spearman").alias("ic"))
    return float(daily["ic"].fill_nan(None).mean())


def test_the_planted_signal_is_measurable(market):
    assert oracle_ic(market) > 0.05
    assert oracle_ic(market, "ER_20D", horizon=20) > 0.03


def test_no_signal_means_no_expected_return_and_no_edge(market_no_signal):
    truth = read(market_no_signal, "expected_return")
    assert truth.select(pl.all().exclude(CODE, DAY).abs().max()).max_horizontal().item() == 0.0
    assert abs(_own_reversal_ic(market_no_signal)) < 0.04


def test_the_neighbour_effect_alone_is_measurable(market_neighbour_only):
    truth = read(market_neighbour_only, "expected_return")
    assert (truth["SIG_REVERSAL"] == 0).all() and (truth["SIG_EARNINGS"] == 0).all()
    assert oracle_ic(market_neighbour_only, "SIG_NEIGHBOUR") > 0.04
