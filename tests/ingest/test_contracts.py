"""The raw-table contracts: what passes, what each rule rejects, and how it is reported."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import polars as pl
import pytest

from zoo.ingest import contracts, wind
from zoo.ingest.contracts import ContractError, validate

Mutation = Callable[[pl.DataFrame], pl.DataFrame]


def set_value(column: str, value: object, rows: tuple[int, ...] = (0,)) -> Mutation:
    """Set `column` to `value` in `rows` (the column becomes text if `value` is text)."""

    def mutate(frame: pl.DataFrame) -> pl.DataFrame:
        dtype = pl.String if isinstance(value, str) else frame.schema[column]
        hit = pl.int_range(pl.len()).is_in(list(rows))
        new = pl.when(hit).then(pl.lit(value, dtype=dtype)).otherwise(pl.col(column).cast(dtype))
        return frame.with_columns(new.alias(column))

    return mutate


def scale(column: str, factor: float, rows: tuple[int, ...] = (0,)) -> Mutation:
    def mutate(frame: pl.DataFrame) -> pl.DataFrame:
        hit = pl.int_range(pl.len()).is_in(list(rows))
        return frame.with_columns(
            pl.when(hit).then(pl.col(column) * factor).otherwise(pl.col(column)).alias(column))

    return mutate


def duplicate_first_row(frame: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, frame.head(1)])


def drop(column: str) -> Mutation:
    return lambda frame: frame.drop(column)


# (table, mutation, blamed column, rule, rows or groups breaking it), one case per rule.
# Row 0 of AShareEODPrices is 600000.SH on 20200102: pre 10, open 10, high 10.05, low 9.9,
# close 9.9; row 7 is the suspended 000001.SZ day.
BROKEN = {
    "missing column": ("AShareEODPrices", drop("S_DQ_HIGH"), "S_DQ_HIGH",
                       "required column present", 0),
    "null in non-null column": ("AShareEODPrices", set_value("S_DQ_OPEN", None, (0, 3)),
                                "S_DQ_OPEN", "not null", 2),
    "NaN in non-null column": ("AShareEODPrices", set_value("S_DQ_OPEN", math.nan),
                               "S_DQ_OPEN", "not null", 1),
    "impossible date 20230230": ("AShareEODPrices", set_value("TRADE_DT", "20230230"),
                                 "TRADE_DT", "a real date written YYYYMMDD", 1),
    "date with dashes": ("AShareCalendar", set_value("TRADE_DAYS", "2020-01-02"),
                         "TRADE_DAYS", "a real date written YYYYMMDD", 1),
    "date written as a float": ("AIndexFreeWeight", set_value("TRADE_DT", "20200102.0", (0, 1)),
                                "TRADE_DT", "a real date written YYYYMMDD", 2),
    "duplicate key": ("AShareEODPrices", duplicate_first_row, "S_INFO_WINDCODE, TRADE_DT",
                      "key unique", 1),
    "infinite number": ("AShareIncome", set_value("OPER_PROFIT", math.inf), "OPER_PROFIT",
                        "finite number", 1),
    "text in a float column": ("AShareEODPrices", set_value("S_DQ_VOLUME", "1,000", (1, 2)),
                               "S_DQ_VOLUME", "readable as float", 2),
    "fraction in an int column": ("AShareEODPrices", set_value("S_DQ_TRADESTATUSCODE", "-1.5"),
                                  "S_DQ_TRADESTATUSCODE", "readable as int", 1),
    "high below open": ("AShareEODPrices", set_value("S_DQ_HIGH", 9.95), "S_DQ_HIGH",
                        "high >= max(open, close, low)", 1),
    "low above close": ("AShareEODPrices", set_value("S_DQ_LOW", 9.95), "S_DQ_LOW",
                        "low <= min(open, close)", 1),
    "negative price": ("AShareEODPrices", set_value("S_DQ_CLOSE", -9.9), "S_DQ_CLOSE",
                       "S_DQ_CLOSE > 0", 1),
    "negative volume": ("AShareEODPrices", set_value("S_DQ_VOLUME", -1.0), "S_DQ_VOLUME",
                        "S_DQ_VOLUME >= 0", 1),
    "negative amount": ("AShareEODPrices", set_value("S_DQ_AMOUNT", -1.0), "S_DQ_AMOUNT",
                        "S_DQ_AMOUNT >= 0", 1),
    "zero adjfactor": ("AShareEODPrices", set_value("S_DQ_ADJFACTOR", 0.0), "S_DQ_ADJFACTOR",
                       "S_DQ_ADJFACTOR > 0", 1),
    "VWAP above high": ("AShareEODPrices", set_value("S_DQ_AVGPRICE", 10.2), "S_DQ_AVGPRICE",
                        "VWAP within [low, high]", 1),
    # row 0 trades 1,000 lots for 998 thousand yuan (VWAP 9.98); doubled, 19.96 is above high
    "amount / volume above high": ("AShareEODPrices", scale("S_DQ_AMOUNT", 2.0), "S_DQ_AMOUNT",
                                   "S_DQ_AMOUNT x 10 / S_DQ_VOLUME (VWAP, yuan) within [low, "
                                   "high]", 1),
    "amount / volume below low": ("AShareEODPrices", scale("S_DQ_AMOUNT", 0.5, (0, 1)),
                                  "S_DQ_AMOUNT", "S_DQ_AMOUNT x 10 / S_DQ_VOLUME", 2),
    "unknown trade status": ("AShareEODPrices", set_value("S_DQ_TRADESTATUSCODE", 1),
                             "S_DQ_TRADESTATUSCODE", "S_DQ_TRADESTATUSCODE in {0, -1}", 1),
    "suspended with volume": ("AShareEODPrices", set_value("S_DQ_VOLUME", 10.0, (7,)),
                              "S_DQ_VOLUME", "suspended", 1),
    "free float above float": ("AShareEODDerivativeIndicator",
                               set_value("FREE_SHARES_TODAY", 9000.0), "FREE_SHARES_TODAY",
                               "FREE_SHARES_TODAY <= FLOAT_A_SHR_TODAY", 1),
    "float above total": ("AShareEODDerivativeIndicator", scale("TOT_SHR_TODAY", 0.5),
                          "FLOAT_A_SHR_TODAY", "FLOAT_A_SHR_TODAY <= TOT_SHR_TODAY", 1),
    "negative turnover": ("AShareEODDerivativeIndicator", set_value("S_DQ_TURN", -0.1),
                          "S_DQ_TURN", "S_DQ_TURN >= 0", 1),
    "zero market value": ("AShareEODDerivativeIndicator", set_value("S_VAL_MV", 0.0),
                          "S_VAL_MV", "S_VAL_MV > 0", 1),
    "limit status 2": ("AShareEODDerivativeIndicator", set_value("UP_DOWN_LIMIT_STATUS", 2),
                       "UP_DOWN_LIMIT_STATUS", "UP_DOWN_LIMIT_STATUS in {-1, 0, 1}", 1),
    "unknown exchange": ("AShareDescription", set_value("S_INFO_EXCHMARKET", "NYSE"),
                         "S_INFO_EXCHMARKET", "S_INFO_EXCHMARKET in {SSE, SZSE, BSE}", 1),
    "exchange not matching suffix": ("AShareDescription", set_value("S_INFO_EXCHMARKET", "SZSE"),
                                     "S_INFO_EXCHMARKET", "exchange matches the code suffix", 1),
    "code not matching Wind code": ("AShareDescription", set_value("S_INFO_CODE", "1"),
                                    "S_INFO_CODE", "first six characters", 1),
    "delisted before listing": ("AShareDescription", set_value("S_INFO_DELISTDATE", "19980101"),
                                "S_INFO_DELISTDATE", "S_INFO_DELISTDATE after S_INFO_LISTDATE", 1),
    "calendar exchange unknown": ("AShareCalendar", set_value("S_INFO_EXCHMARKET", "HKEX"),
                                  "S_INFO_EXCHMARKET", "S_INFO_EXCHMARKET in {SSE, SZSE, BSE}", 1),
    "ANN_DT before REPORT_PERIOD": ("AShareIncome", set_value("ANN_DT", "20190901"), "ANN_DT",
                                    "ANN_DT after REPORT_PERIOD", 1),
    "ANN_DT on REPORT_PERIOD": ("AShareCashFlow", set_value("ANN_DT", "20190930"), "ANN_DT",
                                "ANN_DT after REPORT_PERIOD", 1),
    "report period not a quarter end": ("AShareIncome", set_value("REPORT_PERIOD", "20190915"),
                                        "REPORT_PERIOD", "a quarter end", 1),
    "unknown STATEMENT_TYPE": ("AShareIncome", set_value("STATEMENT_TYPE", "408001"),
                               "STATEMENT_TYPE", "a Wind statement code 408xxx000", 1),
    "COMP_TYPE_CODE 5": ("AShareBalanceSheet", set_value("COMP_TYPE_CODE", 5), "COMP_TYPE_CODE",
                         "COMP_TYPE_CODE in {1, 2, 3, 4}", 1),
    "balance sheet not balancing": ("AShareBalanceSheet", scale("TOT_LIAB", 1.01, (0, 2)),
                                    "TOT_ASSETS",
                                    "TOT_ASSETS = TOT_LIAB + TOT_SHRHLDR_EQY_INCL_MIN_INT", 2),
    "unknown ST type": ("AShareST", set_value("S_TYPE_ST", "Q"), "S_TYPE_ST", "S_TYPE_ST in", 1),
    "ST removed before entry": ("AShareST", set_value("REMOVE_DT", "20140101", (1,)),
                                "REMOVE_DT", "REMOVE_DT after ENTRY_DT", 1),
    "CITIC code without b1": ("AShareIndustriesClassCITICS",
                              set_value("CITICS_IND_CODE", "c101000000"), "CITICS_IND_CODE",
                              "CITIC code starting with 'b1'", 1),
    "CITIC removed before entry": ("AShareIndustriesClassCITICS",
                                   set_value("REMOVE_DT", "20000101", (3,)), "REMOVE_DT",
                                   "REMOVE_DT after ENTRY_DT", 1),
    "CUR_SIGN 2": ("AShareIndustriesClassCITICS", set_value("CUR_SIGN", "2"), "CUR_SIGN",
                   "CUR_SIGN in {0, 1}", 1),
    # row 3 is 600000.SH's closed period (REMOVE_DT 20100101), row 0 an open one (issue 17)
    "CUR_SIGN current on a closed period": ("AShareIndustriesClassCITICS",
                                            set_value("CUR_SIGN", "1", (3,)), "CUR_SIGN",
                                            "CUR_SIGN '1' (current) exactly when REMOVE_DT is "
                                            "NULL", 1),
    "CUR_SIGN past on an open period": ("AIndexMembers", set_value("CUR_SIGN", "0", (0, 1)),
                                        "CUR_SIGN", "exactly when S_CON_OUTDATE is NULL", 2),
    "index high below low": ("AIndexEODPrices", set_value("S_DQ_HIGH", 5000.0), "S_DQ_HIGH",
                             "high >= max(open, close, low)", 1),
    "index out before in": ("AIndexMembers", set_value("S_CON_OUTDATE", "20000101", (3,)),
                            "S_CON_OUTDATE", "S_CON_OUTDATE after S_CON_INDATE", 1),
    "weight above 100": ("AIndexFreeWeight", set_value("I_WEIGHT", 101.0), "I_WEIGHT",
                         "0 < I_WEIGHT <= 100", 1),
    "zero weight": ("AIndexFreeWeight", set_value("I_WEIGHT", 0.0), "I_WEIGHT",
                    "0 < I_WEIGHT <= 100", 1),
    "weights summing above 100": ("AIndexFreeWeight", scale("I_WEIGHT", 1.5, (0, 2, 4)),
                                  "I_WEIGHT", "weights sum to at most 100 (+1)", 1),
}


@pytest.mark.parametrize("table", [*wind.RAW_TABLES, *wind.TRUTH_TABLES], ids=lambda t: t.name)
def test_valid_tables_pass_with_contract_types(table: wind.Table,
                                               wind_frames: dict[str, pl.DataFrame],
                                               truth_frames: dict[str, pl.DataFrame]) -> None:
    frame = {**wind_frames, **truth_frames}[table.name]
    out = validate(table, frame)
    assert out.columns == table.column_names
    assert out.dtypes == [contracts.POLARS_TYPES[c.kind] for c in table.columns]
    assert out.equals(frame)


@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_each_rule_rejects_a_frame_that_breaks_it(case: str,
                                                  wind_frames: dict[str, pl.DataFrame]) -> None:
    table_name, mutate, column, rule, n_bad = BROKEN[case]
    table = wind.TABLES[table_name]
    with pytest.raises(ContractError) as caught:
        validate(table, mutate(wind_frames[table_name]))
    err = caught.value
    assert (err.table, err.column, err.n_bad) == (table_name, column, n_bad)
    assert rule in err.rule
    first_line = str(err).splitlines()[0]
    assert first_line.startswith(f"{table_name}: column")
    assert column in first_line and f"'{err.rule}'" in first_line
    if n_bad:
        assert f" in {n_bad} " in first_line
        assert err.examples and len(err.examples) <= contracts.N_EXAMPLES
        # an example names the offending row by its key
        shown = contracts.format_example(err.examples[0])
        assert f"e.g. {shown}" in first_line
        assert table.key[0] in shown


def test_message_shows_key_and_involved_columns(wind_frames: dict[str, pl.DataFrame]) -> None:
    frame = set_value("S_DQ_HIGH", 9.5, (0, 1, 2))(wind_frames["AShareEODPrices"])
    with pytest.raises(ContractError) as caught:
        validate(wind.ASHARE_EOD_PRICES, frame)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(
        "AShareEODPrices: column S_DQ_HIGH breaks rule 'high >= max(open, close, low)' in 3 rows,"
        " e.g. S_INFO_WINDCODE=600000.SH TRADE_DT=20200102 S_DQ_HIGH=9.5 S_DQ_OPEN=10 "
        "S_DQ_CLOSE=9.9 S_DQ_LOW=9.9 (row 1)")


def test_every_broken_rule_is_reported_most_important_first(
        wind_frames: dict[str, pl.DataFrame]) -> None:
    frame = wind_frames["AShareEODPrices"]
    for mutate in (set_value("S_DQ_HIGH", 9.0, (4,)), set_value("S_DQ_OPEN", None, (2,)),
                   set_value("TRADE_DT", "20230230", (14,)), duplicate_first_row):
        frame = mutate(frame)
    with pytest.raises(ContractError) as caught:
        validate(wind.ASHARE_EOD_PRICES, frame.drop("S_DQ_ADJFACTOR"))
    rules = [(f.column, f.rule) for f in caught.value.failures]
    assert rules[:4] == [
        ("S_DQ_ADJFACTOR", "required column present"),
        ("S_DQ_OPEN", "not null"),
        ("TRADE_DT", "a real date written YYYYMMDD"),
        ("S_INFO_WINDCODE, TRADE_DT", "key unique"),
    ]
    assert ("S_DQ_HIGH", "high >= max(open, close, low)") in rules
    # the rule on the missing column is skipped, not crashed on
    assert not any(f.column == "S_DQ_ADJFACTOR" and f.rule != "required column present"
                   for f in caught.value.failures)
    assert len(str(caught.value).splitlines()) < 40


def test_duplicate_key_example_shows_the_key_and_its_count(
        wind_frames: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(ContractError) as caught:
        validate(wind.ASHARE_EOD_PRICES, duplicate_first_row(wind_frames["AShareEODPrices"]))
    assert caught.value.examples == [
        {"S_INFO_WINDCODE": "600000.SH", "TRADE_DT": "20200102", "rows": 2}]


def test_weight_sum_example_shows_index_date_and_sum(
        wind_frames: dict[str, pl.DataFrame]) -> None:
    frame = scale("I_WEIGHT", 1.5, (0, 2, 4))(wind_frames["AIndexFreeWeight"])
    with pytest.raises(ContractError) as caught:
        validate(wind.AINDEX_FREE_WEIGHT, frame)
    (example,) = caught.value.examples
    assert example["S_INFO_WINDCODE"] == wind.CSI500 and example["TRADE_DT"] == "20200102"
    assert example["sum(I_WEIGHT)"] == pytest.approx(150.0)
    assert "in 1 (S_INFO_WINDCODE, TRADE_DT) group," in str(caught.value)


def test_examples_are_capped(wind_frames: dict[str, pl.DataFrame]) -> None:
    frame = wind_frames["AShareEODPrices"].with_columns(S_DQ_ADJFACTOR=pl.lit(-1.0))
    with pytest.raises(ContractError) as caught:
        validate(wind.ASHARE_EOD_PRICES, frame)
    assert caught.value.n_bad == frame.height
    assert len(caught.value.examples) == contracts.N_EXAMPLES


def test_export_quirks_are_read(wind_frames: dict[str, pl.DataFrame]) -> None:
    """Extra columns, lower-case names, int and Date dates, integral-float ints, NaN as null."""
    frame = wind_frames["AShareEODDerivativeIndicator"]
    quirky = (
        frame.with_columns(
            pl.col("TRADE_DT").cast(pl.Int64),
            pl.col("UP_DOWN_LIMIT_STATUS").cast(pl.Float64),
            pl.col("S_VAL_PE_TTM").fill_null(math.nan),
            OBJECT_ID=pl.lit("{A1B2}"), OPDATE=pl.lit("2020-01-09 01:00:00"), OPMODE=pl.lit("0"),
        )
        .rename(str.lower)
        .select(pl.all().reverse())
    )
    out = validate(wind.ASHARE_EOD_DERIVATIVE, quirky.reverse())
    assert out.columns == wind.ASHARE_EOD_DERIVATIVE.column_names
    assert out.equals(frame)

    as_dates = wind_frames["AShareCalendar"].with_columns(
        pl.col("TRADE_DAYS").str.to_date("%Y%m%d"))
    assert validate(wind.ASHARE_CALENDAR, as_dates).equals(wind_frames["AShareCalendar"])


def test_all_text_frame_is_cast(wind_frames: dict[str, pl.DataFrame]) -> None:
    """A CSV read as text casts to the contract's types; codes keep their leading zeros."""
    frame = wind_frames["AShareEODPrices"]
    out = validate(wind.ASHARE_EOD_PRICES, frame.cast(pl.String))
    assert out.equals(frame)
    assert "000001.SZ" in out["S_INFO_WINDCODE"].to_list()


def test_nullable_columns_may_be_null(wind_frames: dict[str, pl.DataFrame]) -> None:
    frame = wind_frames["AShareBalanceSheet"].with_columns(TOT_LIAB=pl.lit(None, pl.Float64))
    assert validate(wind.ASHARE_BALANCE_SHEET, frame).height == frame.height


def test_weights_of_part_of_the_market_may_sum_below_100(
        wind_frames: dict[str, pl.DataFrame]) -> None:
    """An extract of some constituents (a 201-stock sample of CSI 500) sums to far less."""
    frame = wind_frames["AIndexFreeWeight"].filter(pl.col("S_CON_WINDCODE") != "600000.SH")
    assert validate(wind.AINDEX_FREE_WEIGHT, frame).height == 4
    just_above = scale("I_WEIGHT", 1.005, (0, 2, 4))(wind_frames["AIndexFreeWeight"])
    assert validate(wind.AINDEX_FREE_WEIGHT, just_above).height == 6  # 100.5: rounding


def test_vwap_from_amount_is_not_checked_on_untraded_days(
        wind_frames: dict[str, pl.DataFrame]) -> None:
    """The suspended row (7) has zero volume: any amount / volume is no price to check."""
    frame = set_value("S_DQ_AMOUNT", 0.0, (7,))(wind_frames["AShareEODPrices"])
    assert validate(wind.ASHARE_EOD_PRICES, frame).height == frame.height


UNKNOWN_TO_OTHER_SOURCES = {
    "AShareDescription": ("S_INFO_NAME", "S_INFO_LISTDATE"),
    "AShareEODDerivativeIndicator": ("FREE_SHARES_TODAY", "S_DQ_FREETURNOVER"),
    "AShareIncome": ("COMP_TYPE_CODE",),
    "AShareBalanceSheet": ("COMP_TYPE_CODE",),
    "AShareCashFlow": ("COMP_TYPE_CODE",),
}


@pytest.mark.parametrize("table_name", UNKNOWN_TO_OTHER_SOURCES)
def test_columns_a_real_source_lacks_may_be_null(table_name: str,
                                                 wind_frames: dict[str, pl.DataFrame]) -> None:
    """baostock has no names, listing dates, free float or company types: NULL is unknown,
    and the rules that read those columns (delisted after listed, free <= float, ...) skip
    it rather than refuse the row."""
    table = wind.TABLES[table_name]
    columns = UNKNOWN_TO_OTHER_SOURCES[table_name]
    frame = wind_frames[table_name].with_columns(
        pl.lit(None, wind_frames[table_name].schema[c]).alias(c) for c in columns)
    if table_name == "AShareDescription":  # a delisting date with no listing date
        frame = frame.with_columns(S_INFO_DELISTDATE=pl.lit("20200301"))
    assert validate(table, frame).equals(frame)


def _market(n_stocks: int, n_days: int) -> pl.DataFrame:
    """A full-size, valid AShareEODPrices frame made with numpy (for the timing test)."""
    import numpy as np

    rng = np.random.default_rng(0)
    codes = pl.Series([f"{600000 + i:06d}.SH" for i in range(n_stocks)])
    days = pl.date_range(pl.date(2014, 1, 1), pl.date(2023, 12, 31), eager=True)
    days = days.head(n_days).dt.strftime("%Y%m%d")
    stock, day = np.repeat(np.arange(n_stocks), n_days), np.tile(np.arange(n_days), n_stocks)
    n = stock.size
    pre = np.round(10 * np.exp(rng.normal(0, 0.02, n)), 2)
    close = np.round(pre * np.exp(rng.normal(0, 0.02, n)), 2)
    open_ = np.round(pre * np.exp(rng.normal(0, 0.01, n)), 2)
    high, low = np.maximum(open_, close) + 0.05, np.minimum(open_, close) - 0.05
    volume, avg = np.round(rng.uniform(1e3, 1e5, n)), np.round((high + low) / 2, 2)
    return pl.DataFrame({
        "S_INFO_WINDCODE": codes.gather(stock), "TRADE_DT": days.gather(day),
        "CRNCY_CODE": pl.repeat("CNY", n, eager=True), "S_DQ_PRECLOSE": pre, "S_DQ_OPEN": open_,
        "S_DQ_HIGH": high, "S_DQ_LOW": low, "S_DQ_CLOSE": close, "S_DQ_CHANGE": close - pre,
        "S_DQ_PCTCHANGE": (close / pre - 1) * 100, "S_DQ_VOLUME": volume,
        "S_DQ_AMOUNT": volume * avg / 10, "S_DQ_ADJFACTOR": np.ones(n), "S_DQ_AVGPRICE": avg,
        "S_DQ_TRADESTATUS": pl.repeat("交易", n, eager=True),
        "S_DQ_TRADESTATUSCODE": np.full(n, wind.TRADESTATUS_NORMAL, dtype=np.int64),
    })


@pytest.mark.bench
def test_full_market_validates_in_seconds() -> None:
    """12 M rows (5,000 stocks x 2,400 days): the contract is vectorised end to end."""
    frame = _market(5000, 2400)
    started = time.perf_counter()
    validate(wind.ASHARE_EOD_PRICES, frame)
    seconds = time.perf_counter() - started
    print(f"validated {frame.height:,} rows in {seconds:.1f} s")
    assert seconds < 15
