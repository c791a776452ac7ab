"""Daily features, universe and labels on the tiny market, checked against an independent
recomputation in polars from the raw parquet files (the `tiny_market` fixture)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from zoo.ingest import wind

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
INDEX_COLUMNS = {wind.CSI300: "csi300_weight_pct", wind.CSI500: "csi500_weight_pct",
                 wind.CSI1000: "csi1000_weight_pct"}
HORIZONS = (5, 10, 15, 20)
STAR, CHINEXT = "科创板", "创业板"
CHINEXT_REFORM = np.datetime64("2020-08-24")


# ----------------------------------------------------------------------------- reading
def _built(home: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).pl()


def _raw(market: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(market / f"{table}.parquet")


def _date(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, "%Y%m%d")


def _assert_close(built: pl.DataFrame, expected: pl.DataFrame, keys: list[str],
                  columns: list[str], rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Same rows, the same NULLs, and values equal within rtol (atol for values near 0)."""
    assert built.height == expected.height
    both = built.select(keys + columns).join(
        expected.select(keys + columns), on=keys, how="full", suffix="_expected", coalesce=True)
    assert both.height == built.height, "the built and the expected rows differ"
    for column in columns:
        got, want = both[column], both[f"{column}_expected"]
        assert (got.is_null() == want.is_null()).all(), f"{column}: NULLs differ"
        mask = got.is_not_null().to_numpy()
        g, w = got.to_numpy()[mask].astype(float), want.to_numpy()[mask].astype(float)
        bad = ~np.isclose(g, w, rtol=rtol, atol=atol)
        assert not bad.any(), f"{column}: {bad.sum()} differ, e.g. {g[bad][:3]} vs {w[bad][:3]}"


# ----------------------------------------------------------------------------- recomputation
@pytest.fixture(scope="module")
def calendar(tiny_market) -> pl.DataFrame:
    """Trading days numbered from 0."""
    days = _raw(tiny_market, "AShareCalendar").select(_date("TRADE_DAYS").alias("trade_date"))
    return days.unique().sort("trade_date").with_row_index("day_number").with_columns(
        pl.col("day_number").cast(pl.Int64))


@pytest.fixture(scope="module")
def expected_prices(tiny_market, calendar) -> pl.DataFrame:
    """Adjusted prices, VWAP, returns, ST/suspension and listing age, from the raw tables."""
    eod = _raw(tiny_market, "AShareEODPrices").select(
        pl.col("S_INFO_WINDCODE").alias("stock_id"), _date("TRADE_DT").alias("trade_date"),
        pl.col("S_DQ_PRECLOSE").alias("pre_close"), pl.col("S_DQ_OPEN").alias("open"),
        pl.col("S_DQ_HIGH").alias("high"), pl.col("S_DQ_LOW").alias("low"),
        pl.col("S_DQ_CLOSE").alias("close"), pl.col("S_DQ_VOLUME").alias("volume"),
        pl.col("S_DQ_AMOUNT").alias("amount"), pl.col("S_DQ_ADJFACTOR").alias("factor"),
        pl.col("S_DQ_TRADESTATUSCODE").alias("status_code"))
    description = _raw(tiny_market, "AShareDescription").select(
        pl.col("S_INFO_WINDCODE").alias("stock_id"), _date("S_INFO_LISTDATE").alias("list_date"),
        pl.col("S_INFO_LISTBOARDNAME").alias("board"))
    first_day = calendar["trade_date"][0]
    days = calendar["trade_date"].to_numpy().astype("datetime64[D]")
    # a listing before the calendar is aged in weekdays up to the calendar's first day
    list_dates = description["list_date"].to_numpy().astype("datetime64[D]")
    list_number = np.where(list_dates >= np.datetime64(first_day),
                           np.searchsorted(days, list_dates),
                           -np.busday_count(list_dates, np.datetime64(first_day)))
    description = description.with_columns(pl.Series("list_number", list_number, pl.Int64))
    st = _raw(tiny_market, "AShareST").filter(pl.col("S_TYPE_ST").is_in(["S", "P", "L"])).select(
        pl.col("S_INFO_WINDCODE").alias("stock_id"), _date("ENTRY_DT").alias("start"),
        _date("REMOVE_DT").alias("end"))
    st_days = (eod.select("stock_id", "trade_date").join(st, on="stock_id")
               .filter((pl.col("trade_date") >= pl.col("start"))
                       & (pl.col("end").is_null() | (pl.col("trade_date") < pl.col("end"))))
               .select("stock_id", "trade_date").unique().with_columns(is_st=pl.lit(True)))
    vwap = pl.when(pl.col("volume") > 0).then(pl.col("amount") * 1000 / (pl.col("volume") * 100))
    return (
        eod.join(description, on="stock_id").join(calendar, on="trade_date")
        .join(st_days, on=["stock_id", "trade_date"], how="left")
        .with_columns(
            is_st=pl.col("is_st").fill_null(False),
            is_suspended=(pl.col("status_code") == 0) | (pl.col("volume") == 0),
            listed_trading_days=pl.col("day_number") - pl.col("list_number"),
            vwap=vwap.otherwise(pl.col("close")))
        .with_columns(
            adj_open=pl.col("open") * pl.col("factor"), adj_high=pl.col("high") * pl.col("factor"),
            adj_low=pl.col("low") * pl.col("factor"), adj_close=pl.col("close") * pl.col("factor"),
            adj_vwap=pl.col("vwap") * pl.col("factor"),
            volume_shares=pl.col("volume") * 100, amount_yuan=pl.col("amount") * 1000)
        .sort("stock_id", "trade_date")
    )


def _limit_cents(prices: pl.DataFrame) -> pl.DataFrame:
    """Limit prices in cents by the exchange rules, in integer arithmetic (half up)."""
    day = pl.col("trade_date")
    wide = (pl.col("board") == STAR) | ((pl.col("board") == CHINEXT)
                                        & (day >= pl.lit(CHINEXT_REFORM)))
    free_ipo = (pl.col("board") == STAR) | ((pl.col("board") == CHINEXT)
                                            & (pl.col("list_date") >= pl.lit(CHINEXT_REFORM)))
    age = pl.col("listed_trading_days")
    up_pct = (pl.when(free_ipo & (age < 5)).then(None).when(age == 0).then(44)
              .when(wide).then(20).when(pl.col("is_st")).then(5).otherwise(10))
    down_pct = (pl.when(free_ipo & (age < 5)).then(None).when(age == 0).then(36)
                .when(wide).then(20).when(pl.col("is_st")).then(5).otherwise(10))
    cents = (pl.col("pre_close") * 100).round().cast(pl.Int64)
    return prices.with_columns(up_pct=up_pct, down_pct=down_pct, pre_cents=cents).with_columns(
        up_cents=(pl.col("pre_cents") * (100 + pl.col("up_pct")) + 50) // 100,
        down_cents=pl.when(pl.col("down_pct").is_not_null()).then(pl.max_horizontal(
            (pl.col("pre_cents") * (100 - pl.col("down_pct")) + 50) // 100, pl.lit(1))),
        half_cent=((pl.col("pre_cents") * (100 + pl.col("up_pct"))) % 100 == 50)
        | ((pl.col("pre_cents") * (100 - pl.col("down_pct"))) % 100 == 50),
    )


@pytest.fixture(scope="module")
def expected_weights(tiny_market, expected_prices) -> pl.DataFrame:
    """Index weights: latest snapshot on or before the day, drifted by adjusted close, renormalised
    over the members in force; one row per index, member and day."""
    weights = _raw(tiny_market, "AIndexFreeWeight").select(
        pl.col("S_INFO_WINDCODE").alias("index_id"), pl.col("S_CON_WINDCODE").alias("stock_id"),
        _date("TRADE_DT").alias("snapshot_date"), pl.col("I_WEIGHT").alias("snapshot_weight"))
    members = _raw(tiny_market, "AIndexMembers").select(
        pl.col("S_INFO_WINDCODE").alias("index_id"), pl.col("S_CON_WINDCODE").alias("stock_id"),
        _date("S_CON_INDATE").alias("start"), _date("S_CON_OUTDATE").alias("end"))
    prices = expected_prices.select("stock_id", "trade_date", "adj_close")
    member_days = (prices.join(members, on="stock_id")
                   .filter((pl.col("trade_date") >= pl.col("start"))
                           & (pl.col("end").is_null() | (pl.col("trade_date") < pl.col("end")))))
    snapshots = weights.select("index_id", "snapshot_date").unique().sort("snapshot_date")
    latest = (member_days.select("index_id", "trade_date").unique().sort("trade_date")
              .join_asof(snapshots, left_on="trade_date", right_on="snapshot_date",
                         by="index_id", strategy="backward", check_sortedness=False))
    drifted = (
        member_days.join(latest, on=["index_id", "trade_date"], how="left")
        .join(weights, on=["index_id", "stock_id", "snapshot_date"], how="left")
        .join(prices.rename({"trade_date": "snapshot_date", "adj_close": "snapshot_close"}),
              on=["stock_id", "snapshot_date"], how="left")
        .with_columns(drifted=pl.col("snapshot_weight") * pl.col("adj_close")
                      / pl.col("snapshot_close"))
    )
    return drifted.with_columns(
        weight_pct=100 * pl.col("drifted") / pl.col("drifted").sum().over("index_id", "trade_date"))


@pytest.fixture(scope="module")
def expected_universe(expected_prices, expected_weights) -> pl.DataFrame:
    universe = expected_prices.select(
        "stock_id", "trade_date", "listed_trading_days", "is_st", "is_suspended",
        in_universe=(pl.col("listed_trading_days") >= 120) & ~pl.col("is_st")
        & ~pl.col("is_suspended"))
    for index_id, column in INDEX_COLUMNS.items():
        one = expected_weights.filter(pl.col("index_id") == index_id).select(
            "stock_id", "trade_date", pl.col("weight_pct").alias(column), member=pl.lit(True))
        universe = universe.join(one, on=["stock_id", "trade_date"], how="left").with_columns(
            pl.when(pl.col("member")).then(pl.col(column)).otherwise(0.0).alias(column)
        ).drop("member")
    return universe


@pytest.fixture(scope="module")
def expected_labels(expected_prices, expected_universe) -> pl.DataFrame:
    """Forward returns by trade-calendar position (NULL when the entry day is suspended: T+1
    for VWAP, T for close), and their excess: VWAP over the mean of T's universe buyable at
    T+1 (not suspended, not limit-up at the open), close over T's universe mean."""
    open_cents = (pl.col("open") * 100).round().cast(pl.Int64)
    ahead = _limit_cents(expected_prices).select(
        "stock_id", "day_number", "adj_close", "adj_vwap", "is_suspended",
        is_limit_up_open=(~pl.col("is_suspended") & (open_cents >= pl.col("up_cents")))
        .fill_null(False))

    def at(k: int, column: str, alias: str) -> pl.DataFrame:
        return ahead.select("stock_id", (pl.col("day_number") - k).alias("day_number"),
                            pl.col(column).alias(alias))

    labels = expected_prices.select("stock_id", "trade_date", "day_number", "adj_close",
                                    "is_suspended")
    for k in {1} | {h + 1 for h in HORIZONS}:
        labels = labels.join(at(k, "adj_vwap", f"vwap_{k}"), on=["stock_id", "day_number"],
                             how="left")
    for h in HORIZONS:
        labels = labels.join(at(h, "adj_close", f"close_{h}"), on=["stock_id", "day_number"],
                             how="left")
    for flag in ("is_suspended", "is_limit_up_open"):
        labels = labels.join(at(1, flag, f"{flag}_t1"), on=["stock_id", "day_number"],
                             how="left")
    vwap_entry = ~pl.col("is_suspended_t1")
    labels = labels.with_columns(
        *[pl.when(vwap_entry).then(pl.col(f"vwap_{h + 1}") / pl.col("vwap_1") - 1)
          .alias(f"fwd_ret_vwap_{h}d") for h in HORIZONS],
        *[pl.when(~pl.col("is_suspended")).then(pl.col(f"close_{h}") / pl.col("adj_close") - 1)
          .alias(f"fwd_ret_close_{h}d") for h in HORIZONS],
    ).join(expected_universe.select("stock_id", "trade_date", "in_universe"),
           on=["stock_id", "trade_date"])
    benchmark = {"vwap": pl.col("in_universe") & ~pl.col("is_suspended_t1")
                 & ~pl.col("is_limit_up_open_t1"),
                 "close": pl.col("in_universe")}
    for kind in ("vwap", "close"):
        for h in HORIZONS:
            ret = pl.col(f"fwd_ret_{kind}_{h}d")
            mean = pl.when(benchmark[kind].fill_null(False)).then(ret).mean().over("trade_date")
            labels = labels.with_columns((ret - mean).alias(f"fwd_excess_{kind}_{h}d"))
    return labels


@pytest.fixture(scope="module")
def built_prices(built_warehouse) -> pl.DataFrame:
    return _built(built_warehouse, "SELECT * FROM intermediate.int_daily_prices")


# ----------------------------------------------------------------------------- (a) limit flags
def test_limit_flags_equal_wind_limit_status_on_every_row(built_warehouse):
    both = _built(built_warehouse, """
        SELECT p.stock_id, p.trade_date, d.up_down_limit_status AS wind_status,
          CASE WHEN p.is_limit_up_close THEN 1 WHEN p.is_limit_down_close THEN -1 ELSE 0 END
            AS status
        FROM intermediate.int_daily_prices AS p
        FULL JOIN raw.ashareeodderivativeindicator AS d
          ON d.s_info_windcode = p.stock_id AND strptime(d.trade_dt, '%Y%m%d')::DATE = p.trade_date
    """)
    assert both["stock_id"].null_count() == 0 and both["wind_status"].null_count() == 0
    wrong = both.filter(pl.col("status") != pl.col("wind_status"))
    assert wrong.is_empty(), wrong.head(10)
    counts = both["wind_status"].value_counts()
    assert set(counts["wind_status"]) == {-1, 0, 1}


def test_limit_prices_follow_the_exchange_rules(built_prices, expected_prices):
    expected = _limit_cents(expected_prices)
    both = built_prices.join(expected, on=["stock_id", "trade_date"], suffix="_raw")
    assert both.height == built_prices.height == expected.height
    got_up = (both["limit_up_price"] * 100).round().cast(pl.Int64)
    got_down = (both["limit_down_price"] * 100).round().cast(pl.Int64)
    assert (got_up.is_null() == both["up_cents"].is_null()).all()
    assert (got_down.is_null() == both["down_cents"].is_null()).all()
    assert (got_up.fill_null(0) == both["up_cents"].fill_null(0)).all()
    assert (got_down.fill_null(0) == both["down_cents"].fill_null(0)).all()
    # the tiny market exercises every rule, including a half-cent limit price
    assert both.filter(pl.col("half_cent")).height > 0
    assert both.filter(pl.col("listed_trading_days") == 0).height > 0
    assert both.filter(pl.col("up_pct").is_null()).height > 0  # a free IPO day
    assert both.filter(pl.col("is_st") & (pl.col("up_pct") == 5)).height > 0
    assert both.filter(pl.col("up_pct") == 20).height > 0


# ----------------------------------------------------------------------------- (b) recomputed
def test_daily_prices_and_price_volume_features(built_warehouse, built_prices, tiny_market,
                                                expected_prices):
    _assert_close(built_prices, expected_prices, ["stock_id", "trade_date"],
                  ["adj_open", "adj_high", "adj_low", "adj_close", "vwap", "adj_vwap",
                   "volume_shares", "amount_yuan"])
    features = _built(built_warehouse, "SELECT * FROM features.stock_price_volume_daily")
    derivative = _raw(tiny_market, "AShareEODDerivativeIndicator").select(
        pl.col("S_INFO_WINDCODE").alias("stock_id"), _date("TRADE_DT").alias("trade_date"),
        pl.col("S_DQ_TURN").alias("turnover_pct"),
        pl.col("S_DQ_FREETURNOVER").alias("free_turnover_pct"))
    # the day's total return is the adjusted close over the previous trading day's
    previous = expected_prices.select(
        "stock_id", (pl.col("day_number") + 1).alias("day_number"),
        pl.col("adj_close").alias("previous_adj_close"))
    expected = (expected_prices.join(derivative, on=["stock_id", "trade_date"], how="left")
                .join(previous, on=["stock_id", "day_number"], how="left")
                .with_columns(ret_1d=pl.when(pl.col("listed_trading_days") > 0)
                              .then(pl.col("adj_close") / pl.col("previous_adj_close") - 1)))
    _assert_close(features, expected, ["stock_id", "trade_date"],
                  ["adj_open", "adj_high", "adj_low", "adj_close", "adj_vwap", "volume_shares",
                   "amount_yuan", "turnover_pct", "free_turnover_pct"])
    listed = features.join(expected.filter(pl.col("ret_1d").is_not_null()),
                           on=["stock_id", "trade_date"], suffix="_expected")
    assert listed.height > 0.95 * features.height
    assert np.allclose(listed["ret_1d"], listed["ret_1d_expected"], rtol=1e-9, atol=1e-12)
    flags = features.join(built_prices, on=["stock_id", "trade_date"], suffix="_prices")
    for flag in ("is_suspended", "is_st", "is_limit_up_close", "is_limit_down_close",
                 "is_limit_up_open"):
        assert (flags[flag] == flags[f"{flag}_prices"]).all()
    on_ex_dates = expected.filter(pl.col("factor") != pl.col("factor").shift(1).over("stock_id"))
    assert on_ex_dates.height > 0 and expected["is_suspended"].any()  # the data exercises both


def test_universe_and_index_weights(built_warehouse, expected_universe):
    universe = _built(built_warehouse, "SELECT * FROM features.stock_universe_daily")
    keys = ["stock_id", "trade_date"]
    both = universe.join(expected_universe, on=keys, suffix="_expected")
    assert both.height == universe.height == expected_universe.height
    for column in ("listed_trading_days", "is_st", "is_suspended", "in_universe"):
        assert (both[column] == both[f"{column}_expected"]).all(), column
    assert both["in_universe"].any() and not both["in_universe"].all()
    _assert_close(universe, expected_universe, keys, list(INDEX_COLUMNS.values()))
    for column in INDEX_COLUMNS.values():
        assert (universe[column] > 0).any(), column


def test_forward_return_labels(built_warehouse, expected_labels):
    labels = _built(built_warehouse, "SELECT * FROM labels.stock_fwd_return_daily")
    columns = [f"fwd_{what}_{kind}_{h}d" for what in ("ret", "excess")
               for kind in ("vwap", "close") for h in HORIZONS]
    # a day's labels are written once its 21 trading days have arrived, complete
    prices = _built(built_warehouse, "SELECT DISTINCT trade_date FROM "
                                     "intermediate.int_daily_prices ORDER BY 1")["trade_date"]
    assert labels["trade_date"].max() == prices[-22]
    expected = expected_labels.filter(pl.col("trade_date") <= prices[-22])
    _assert_close(labels, expected, ["stock_id", "trade_date"], columns)
    # the market exercises the rules: entries on a suspended day (it never opens at the limit:
    # transforms/tests/test_fwd_return.yaml covers that)
    assert expected.filter(pl.col("is_suspended_t1") & pl.col("vwap_1").is_not_null()).height
    assert expected.filter(pl.col("is_suspended") & pl.col("close_5").is_not_null()).height
    last = labels.filter(pl.col("trade_date") == prices[-22])
    assert last["fwd_ret_vwap_20d"].is_not_null().mean() > 0.9
    assert labels["fwd_ret_vwap_20d"].is_not_null().mean() > 0.9


def test_buyable_at_t1(built_warehouse, built_prices, calendar):
    labels = _built(built_warehouse, "SELECT stock_id, trade_date, is_buyable_t1 "
                                     "FROM labels.stock_fwd_return_daily")
    numbered = built_prices.join(calendar, on="trade_date")
    next_day = numbered.select(
        "stock_id", (pl.col("day_number") - 1).alias("day_number"),
        expected=~pl.col("is_suspended") & ~pl.col("is_limit_up_open"))
    both = (labels.join(calendar, on="trade_date")
            .join(next_day, on=["stock_id", "day_number"], how="left"))
    assert (both["is_buyable_t1"].is_null() == both["expected"].is_null()).all()
    assert (both["is_buyable_t1"].fill_null(True) == both["expected"].fill_null(True)).all()
    assert (~both["is_buyable_t1"].fill_null(True)).any()


# ----------------------------------------------------------------------------- (c) lineage
def test_no_feature_model_depends_on_a_label(tmp_path, monkeypatch):
    from sqlmesh import Context

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    context = Context(paths=str(TRANSFORMS))
    dag = context.dag
    schema = {name: model.schema_name for name, model in context.models.items()}
    labels = {name for name, s in schema.items() if s == "labels"}
    assert labels, "no labels model found"
    for name, s in schema.items():
        if s in ("staging", "intermediate", "features"):
            leaks = labels & set(dag.upstream(name))
            assert not leaks, f"{name} depends on labels: {sorted(leaks)}"
    # the DAG is the real one: the labels read the daily prices the features are built from
    fwd = context.get_model("labels.stock_fwd_return_daily").fqn
    prices = context.get_model("intermediate.int_daily_prices").fqn
    assert prices in dag.upstream(fwd)


# ----------------------------------------------------------------------------- (d) weights
def test_index_weights_sum_to_100_and_equal_snapshots(built_warehouse, tiny_market):
    universe = _built(built_warehouse, "SELECT * FROM features.stock_universe_daily")
    for index_id, column in INDEX_COLUMNS.items():
        sums = (universe.group_by("trade_date")
                .agg(total=pl.col(column).sum(), known=(pl.col(column) > 0).sum(),
                     unknown=pl.col(column).null_count()))
        weighted = sums.filter(pl.col("known") > 0)
        assert weighted.height > 0.9 * sums.height, index_id
        assert ((weighted["total"] - 100).abs() < 1e-9).all(), index_id
        # unknown weights only before the index's first snapshot
        first = _raw(tiny_market, "AIndexFreeWeight").filter(
            pl.col("S_INFO_WINDCODE") == index_id).select(_date("TRADE_DT").min()).item()
        assert (sums.filter(pl.col("unknown") > 0)["trade_date"] < first).all(), index_id
        snapshot = _raw(tiny_market, "AIndexFreeWeight").filter(
            pl.col("S_INFO_WINDCODE") == index_id).select(
            pl.col("S_CON_WINDCODE").alias("stock_id"), _date("TRADE_DT").alias("trade_date"),
            pl.col("I_WEIGHT").alias("snapshot_weight"))
        on_snapshot = universe.join(snapshot, on=["stock_id", "trade_date"])
        assert on_snapshot.height > 0
        # equal to the snapshot, up to its 4-decimal rounding
        assert ((on_snapshot[column] - on_snapshot["snapshot_weight"]).abs() < 1e-3).all()


# ----------------------------------------------------------------------------- portability
def test_renders_for_spark(tmp_path, monkeypatch):
    import sqlglot
    from sqlmesh import Context

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    context = Context(paths=str(TRANSFORMS))
    for model in ("intermediate.int_daily_prices", "features.stock_price_volume_daily",
                  "features.stock_universe_daily", "labels.stock_fwd_return_daily"):
        spark = context.render(model).sql(dialect="spark")
        assert sqlglot.parse_one(spark, read="spark") is not None, model
        for duckdb_only in ("STRPTIME", "DATE_DIFF(", "::"):
            assert duckdb_only not in spark.upper(), (model, duckdb_only)
