-- The inputs of the daily price-volume models, per stock and trading day: back-adjusted
-- OHLC and VWAP, volume and amount, turnover, the day's total return and the tradability
-- flags. Everything is known at the day's close; each row uses only its own day.
--
-- free_turnover_pct is Wind's S_DQ_FREETURNOVER. A source may lack it (NULL): where the
-- free-float shares (FREE_SHARES_TODAY) are known it is computed by its definition, volume /
-- free-float shares in percent, the same number; where they are NULL too it stays NULL. It
-- never falls back to S_DQ_TURN (turnover on all float A shares): that is another ratio,
-- already served as turnover_pct.
MODEL (
  name features.stock_price_volume_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column trade_date
  ),
  grain (stock_id, trade_date),
  signals (raw_arrived()),
  audits (
    unique_combination_of_columns(columns := (stock_id, trade_date)),
    not_null(columns := (stock_id, trade_date, adj_close, adj_vwap, ret_1d, is_suspended)),
    in_range(column := adj_open, low := 0, low_inclusive := false),
    in_range(column := adj_high, low := 0, low_inclusive := false),
    in_range(column := adj_low, low := 0, low_inclusive := false),
    in_range(column := adj_close, low := 0, low_inclusive := false),
    in_range(column := adj_vwap, low := 0, low_inclusive := false),
    in_range(column := volume_shares, low := 0),
    in_range(column := amount_yuan, low := 0),
    -- T+1 settlement: a float share changes hands at most once a day
    in_range(column := turnover_pct, low := 0, high := 100),
    in_range(column := free_turnover_pct, low := 0),
    in_range(column := ret_1d, low := -0.9, high := 10)
  )
);

SELECT
  p.stock_id::TEXT AS stock_id, -- Wind code
  p.trade_date::DATE AS trade_date, -- trading day
  p.adj_open::DOUBLE AS adj_open, -- back-adjusted open, yuan
  p.adj_high::DOUBLE AS adj_high, -- back-adjusted high, yuan
  p.adj_low::DOUBLE AS adj_low, -- back-adjusted low, yuan
  p.adj_close::DOUBLE AS adj_close, -- back-adjusted close, yuan
  p.adj_vwap::DOUBLE AS adj_vwap, -- back-adjusted VWAP, yuan (close on days without trade)
  p.volume_shares::DOUBLE AS volume_shares, -- volume, shares
  p.amount_yuan::DOUBLE AS amount_yuan, -- amount, yuan
  d.turnover_pct::DOUBLE AS turnover_pct, -- volume / float A shares, percent
  COALESCE(
    d.free_turnover_pct, p.volume_shares / NULLIF(d.free_shares_10k * 10000, 0) * 100
  )::DOUBLE AS free_turnover_pct, -- volume / free-float shares, percent (NULL: free float unknown)
  p.ret_1d::DOUBLE AS ret_1d, -- total return close to close: adj_close / previous adj_close - 1 (listing day: from the issue price)
  p.is_suspended::BOOLEAN AS is_suspended, -- no trading that day
  p.is_st::BOOLEAN AS is_st, -- under special treatment that day
  p.is_limit_up_close::BOOLEAN AS is_limit_up_close, -- closed at limit-up
  p.is_limit_down_close::BOOLEAN AS is_limit_down_close, -- closed at limit-down
  p.is_limit_up_open::BOOLEAN AS is_limit_up_open -- opened at limit-up
FROM intermediate.int_daily_prices AS p
LEFT JOIN staging.stg_eod_derivative AS d
  ON d.stock_id = p.stock_id
  AND d.trade_date = p.trade_date
  AND d.wind_trade_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds) -- reads the interval's days only
WHERE p.trade_date BETWEEN @start_ds AND @end_ds
