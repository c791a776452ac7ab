-- Daily prices in the units the rest of the project uses: back-adjusted OHLC and VWAP, volume
-- in shares, amount in yuan, the day's total return, and tradability flags (suspension and
-- price limits by board and ST status). One row per stock and trading day, using only that
-- day's rows, so each interval is computed from its own day.
MODEL (
  name intermediate.int_daily_prices,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column trade_date
  ),
  grain (stock_id, trade_date),
  signals (raw_arrived()),
  audits (
    unique_combination_of_columns(columns := (stock_id, trade_date)),
    not_null(columns := (stock_id, trade_date, adj_close, vwap, is_suspended)),
    accepted_range(column := adj_close, min_v := 0, inclusive := false),
    accepted_range(column := ret_1d, min_v := -0.9, max_v := 10)
  )
);

WITH prices AS (
  SELECT
    p.*,
    d.board,
    d.list_date,
    st.stock_id IS NOT NULL AS is_st,
    -- VWAP from amount and volume (S_DQ_AMOUNT*1000 / (S_DQ_VOLUME*100)); close when no trade
    CASE
      WHEN p.volume_lots > 0 THEN p.amount_kyuan * 1000 / (p.volume_lots * 100)
      ELSE p.close
    END AS vwap_yuan
  FROM staging.stg_eod_prices AS p
  JOIN staging.stg_stock_description AS d
    ON d.stock_id = p.stock_id
  LEFT JOIN staging.stg_st_periods AS st
    ON st.stock_id = p.stock_id
    AND st.st_type IN ('S', 'P', 'L')
    AND p.trade_date >= st.start_date
    AND (st.end_date IS NULL OR p.trade_date < st.end_date)
  WHERE p.trade_date BETWEEN @start_ds AND @end_ds
), limits AS (
  SELECT
    *,
    -- Price-limit ratio on close vs previous close; NULL where no limit applies (new listings).
    CASE
      WHEN trade_date = list_date THEN NULL
      WHEN board = '科创板' AND trade_date < list_date + INTERVAL 7 DAY THEN NULL
      WHEN board = '创业板' AND trade_date >= DATE '2020-08-24'
        AND trade_date < list_date + INTERVAL 7 DAY THEN NULL
      WHEN board = '科创板' THEN 0.20
      WHEN board = '创业板' AND trade_date >= DATE '2020-08-24' THEN 0.20
      WHEN is_st THEN 0.05
      ELSE 0.10
    END AS limit_ratio
  FROM prices
), limit_prices AS (
  SELECT
    *,
    ROUND(pre_close * (1 + limit_ratio), 2) AS limit_up_price,
    ROUND(pre_close * (1 - limit_ratio), 2) AS limit_down_price
  FROM limits
)
SELECT
  l.stock_id::TEXT AS stock_id, -- Wind code
  l.trade_date::DATE AS trade_date, -- trading day
  (l.open * l.adj_factor)::DOUBLE AS adj_open, -- back-adjusted open, yuan
  (l.high * l.adj_factor)::DOUBLE AS adj_high, -- back-adjusted high, yuan
  (l.low * l.adj_factor)::DOUBLE AS adj_low, -- back-adjusted low, yuan
  (l.close * l.adj_factor)::DOUBLE AS adj_close, -- back-adjusted close, yuan
  l.vwap_yuan::DOUBLE AS vwap, -- VWAP, yuan (amount / volume; close on days without trade)
  (l.vwap_yuan * l.adj_factor)::DOUBLE AS adj_vwap, -- back-adjusted VWAP, yuan
  l.adj_factor::DOUBLE AS adj_factor, -- back-adjustment factor
  (l.close / l.pre_close - 1)::DOUBLE AS ret_1d, -- total return close to close (pre_close is ex-rights)
  (l.volume_lots * 100)::DOUBLE AS volume_shares, -- volume, shares
  (l.amount_kyuan * 1000)::DOUBLE AS amount_yuan, -- amount, yuan
  (l.trade_status_code = 0 OR l.volume_lots = 0)::BOOLEAN AS is_suspended, -- no trading that day
  l.is_st::BOOLEAN AS is_st, -- under special treatment that day
  l.limit_ratio::DOUBLE AS limit_ratio, -- price-limit ratio (NULL: no limit)
  COALESCE(l.close >= l.limit_up_price - 0.001, FALSE)::BOOLEAN
    AS is_limit_up_close, -- closed at limit-up
  COALESCE(l.close <= l.limit_down_price + 0.001, FALSE)::BOOLEAN
    AS is_limit_down_close, -- closed at limit-down
  COALESCE(l.open >= l.limit_up_price - 0.001, FALSE)::BOOLEAN
    AS is_limit_up_open -- opened at limit-up: cannot be bought at the open
FROM limit_prices AS l
