-- Forward returns: what a score made at trade date T earns. Labels only: no feature model may
-- read this schema.
--
-- For h = 5, 10, 15, 20 trading days (counted on the trade calendar, T+k = the k-th trading
-- day after T):
--   fwd_ret_vwap_{h}d  = adj_vwap(T+1+h) / adj_vwap(T+1) - 1   (bought at T+1 VWAP)
--   fwd_ret_close_{h}d = adj_close(T+h) / adj_close(T) - 1     (bought at T's close)
-- A return nobody could earn is NULL: fwd_ret_vwap_* when the stock is suspended at T+1 (its
-- "VWAP" then is the pre-suspension close: buying it there would earn a resumption jump no one
-- could trade), fwd_ret_close_* when it is suspended at T.
--   fwd_excess_vwap_*  = the return minus its mean over the stocks buyable at T+1: in T's
--                        universe, not suspended at T+1 and not limit-up at T+1's open
--                        (is_buyable_t1), with a label;
--   fwd_excess_close_* = the return minus its mean over T's universe (in_universe at T: not
--                        suspended at T, so tradable at its close), with a label.
-- Limit-up at T+1's open: the stock keeps its labels. Its T+1 VWAP is a price it did trade
-- at (a buyer queued at the limit can be filled), so the label is a real return, but it is not
-- in the benchmark and is_buyable_t1 is false: a consumer that buys only buyable stocks (zoo
-- evaluation, the backtest) skips it; a model may still learn from it.
-- A suspended stock keeps a row at its pre-suspension price (close = VWAP), so a horizon that
-- ends in a suspension is valued there (a holder's mark-to-market). A day's labels are written
-- once the 21 trading days after it have arrived (the `horizon_arrived` signal), so every row
-- is written complete and once; otherwise a label is NULL only where the stock has no row at
-- the horizon (delisted).
MODEL (
  name labels.stock_fwd_return_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column trade_date
  ),
  grain (stock_id, trade_date),
  -- rendered without the optimiser, so typed here (why: stock_fundamental_quarterly.sql)
  optimize_query false,
  columns (
    stock_id TEXT,
    trade_date DATE,
    fwd_ret_vwap_5d DOUBLE,
    fwd_ret_vwap_10d DOUBLE,
    fwd_ret_vwap_15d DOUBLE,
    fwd_ret_vwap_20d DOUBLE,
    fwd_ret_close_5d DOUBLE,
    fwd_ret_close_10d DOUBLE,
    fwd_ret_close_15d DOUBLE,
    fwd_ret_close_20d DOUBLE,
    fwd_excess_vwap_5d DOUBLE,
    fwd_excess_vwap_10d DOUBLE,
    fwd_excess_vwap_15d DOUBLE,
    fwd_excess_vwap_20d DOUBLE,
    fwd_excess_close_5d DOUBLE,
    fwd_excess_close_10d DOUBLE,
    fwd_excess_close_15d DOUBLE,
    fwd_excess_close_20d DOUBLE,
    is_buyable_t1 BOOLEAN
  ),
  signals (horizon_arrived(trading_days := 21)),
  audits (
    unique_combination_of_columns(columns := (stock_id, trade_date)),
    not_null(columns := (stock_id, trade_date)),
    in_range(column := fwd_ret_vwap_20d, low := -1),
    in_range(column := fwd_ret_close_20d, low := -1)
  )
);

WITH calendar AS (
  -- trading days numbered in order: T+k is the day numbered k more than T
  SELECT
    trade_date,
    ROW_NUMBER() OVER (ORDER BY trade_date) AS day_number
  FROM staging.stg_trade_calendar
), bounds AS (
  SELECT
    MIN(day_number) AS first_day_number,
    MAX(day_number) + 21 AS last_day_number
  FROM calendar
  WHERE trade_date BETWEEN @start_ds AND @end_ds
), prices AS (
  -- the interval's days and the 21 trading days after it
  SELECT
    p.stock_id,
    p.trade_date,
    c.day_number,
    p.adj_close,
    p.adj_vwap,
    p.is_suspended,
    p.is_limit_up_open,
    -- T's universe (features.stock_universe_daily's rule), from the row itself
    @in_universe(p.listed_trading_days, p.is_st, p.is_suspended) AS in_universe
  FROM intermediate.int_daily_prices AS p
  JOIN calendar AS c
    ON c.trade_date = p.trade_date
  CROSS JOIN bounds AS b
  WHERE c.day_number BETWEEN b.first_day_number AND b.last_day_number
), spans AS (
  -- LEAD(x, k) over a stock's rows is T+k only where it has a row on every trading day (a
  -- window sorted once, instead of a RANGE frame per k). A stock with a gap in range (a
  -- trading day between its first and last rows without a row) is put on a grid of every
  -- trading day, rows or not; one without (suspended days keep their row) is its own grid and
  -- skips that join
  SELECT stock_id, MAX(day_number) - MIN(day_number) + 1 > COUNT(*) AS has_gaps
  FROM prices
  GROUP BY stock_id
), stock_days AS (
  -- the stocks with a gap: every trading day from their first to their last row in range
  SELECT p.stock_id, UNNEST(GENERATE_SERIES(MIN(p.day_number), MAX(p.day_number))) AS day_number
  FROM prices AS p
  JOIN spans AS s ON s.stock_id = p.stock_id AND s.has_gaps
  GROUP BY p.stock_id
), grid AS (
  SELECT
    p.stock_id,
    p.day_number,
    p.trade_date,
    p.adj_close,
    p.adj_vwap,
    p.is_suspended,
    p.is_limit_up_open,
    p.in_universe
  FROM prices AS p
  JOIN spans AS s ON s.stock_id = p.stock_id AND NOT s.has_gaps
  UNION ALL
  SELECT
    d.stock_id,
    d.day_number,
    p.trade_date,
    p.adj_close,
    p.adj_vwap,
    p.is_suspended,
    p.is_limit_up_open,
    p.in_universe
  FROM stock_days AS d
  LEFT JOIN prices AS p
    ON p.stock_id = d.stock_id AND p.day_number = d.day_number
), ahead AS (
  -- the stock's prices k trading days later (NULL where it has no row that day)
  SELECT
    stock_id,
    trade_date,
    adj_close,
    is_suspended,
    in_universe,
    LEAD(is_suspended, 1) OVER ahead AS is_suspended_t1,
    LEAD(adj_vwap, 1) OVER ahead AS adj_vwap_t1,
    LEAD(adj_vwap, 6) OVER ahead AS adj_vwap_t6,
    LEAD(adj_vwap, 11) OVER ahead AS adj_vwap_t11,
    LEAD(adj_vwap, 16) OVER ahead AS adj_vwap_t16,
    LEAD(adj_vwap, 21) OVER ahead AS adj_vwap_t21,
    LEAD(adj_close, 5) OVER ahead AS adj_close_t5,
    LEAD(adj_close, 10) OVER ahead AS adj_close_t10,
    LEAD(adj_close, 15) OVER ahead AS adj_close_t15,
    LEAD(adj_close, 20) OVER ahead AS adj_close_t20,
    CASE WHEN LEAD(is_suspended OR is_limit_up_open, 1) OVER ahead THEN 0
      WHEN LEAD(trade_date, 1) OVER ahead IS NOT NULL THEN 1 END AS buyable_t1
  FROM grid
  WINDOW ahead AS (PARTITION BY stock_id ORDER BY day_number)
), returns AS (
  SELECT
    a.stock_id,
    a.trade_date,
    a.in_universe,
    -- NULL when the entry day is suspended (NOT NULL is NULL: no T+1 row, no label either)
    CASE WHEN NOT a.is_suspended_t1 THEN a.adj_vwap_t6 / a.adj_vwap_t1 - 1 END AS fwd_ret_vwap_5d,
    CASE WHEN NOT a.is_suspended_t1 THEN a.adj_vwap_t11 / a.adj_vwap_t1 - 1 END AS fwd_ret_vwap_10d,
    CASE WHEN NOT a.is_suspended_t1 THEN a.adj_vwap_t16 / a.adj_vwap_t1 - 1 END AS fwd_ret_vwap_15d,
    CASE WHEN NOT a.is_suspended_t1 THEN a.adj_vwap_t21 / a.adj_vwap_t1 - 1 END AS fwd_ret_vwap_20d,
    CASE WHEN NOT a.is_suspended THEN a.adj_close_t5 / a.adj_close - 1 END AS fwd_ret_close_5d,
    CASE WHEN NOT a.is_suspended THEN a.adj_close_t10 / a.adj_close - 1 END AS fwd_ret_close_10d,
    CASE WHEN NOT a.is_suspended THEN a.adj_close_t15 / a.adj_close - 1 END AS fwd_ret_close_15d,
    CASE WHEN NOT a.is_suspended THEN a.adj_close_t20 / a.adj_close - 1 END AS fwd_ret_close_20d,
    a.buyable_t1 = 1 AS is_buyable_t1,
    -- the VWAP benchmark's stocks: T's universe, buyable at T+1
    COALESCE(a.in_universe AND a.buyable_t1 = 1, FALSE) AS in_vwap_benchmark
  FROM ahead AS a
  WHERE a.trade_date BETWEEN @start_ds AND @end_ds -- NULL on grid days without a row
), day_means AS (
  -- each return's mean over its benchmark's stocks that day: a grouped aggregate joined back
  -- once, not a window pass that re-partitions every row
  SELECT
    trade_date,
    AVG(fwd_ret_vwap_5d) FILTER (WHERE in_vwap_benchmark) AS mean_vwap_5d,
    AVG(fwd_ret_vwap_10d) FILTER (WHERE in_vwap_benchmark) AS mean_vwap_10d,
    AVG(fwd_ret_vwap_15d) FILTER (WHERE in_vwap_benchmark) AS mean_vwap_15d,
    AVG(fwd_ret_vwap_20d) FILTER (WHERE in_vwap_benchmark) AS mean_vwap_20d,
    AVG(fwd_ret_close_5d) FILTER (WHERE in_universe) AS mean_close_5d,
    AVG(fwd_ret_close_10d) FILTER (WHERE in_universe) AS mean_close_10d,
    AVG(fwd_ret_close_15d) FILTER (WHERE in_universe) AS mean_close_15d,
    AVG(fwd_ret_close_20d) FILTER (WHERE in_universe) AS mean_close_20d
  FROM returns
  GROUP BY trade_date
)
SELECT
  r.stock_id::TEXT AS stock_id, -- Wind code
  r.trade_date::DATE AS trade_date, -- the day the score is made (at the close)
  r.fwd_ret_vwap_5d::DOUBLE AS fwd_ret_vwap_5d, -- T+1 VWAP to T+6 VWAP return, fraction (NULL: suspended at T+1)
  r.fwd_ret_vwap_10d::DOUBLE AS fwd_ret_vwap_10d, -- T+1 VWAP to T+11 VWAP return, fraction (NULL: suspended at T+1)
  r.fwd_ret_vwap_15d::DOUBLE AS fwd_ret_vwap_15d, -- T+1 VWAP to T+16 VWAP return, fraction (NULL: suspended at T+1)
  r.fwd_ret_vwap_20d::DOUBLE AS fwd_ret_vwap_20d, -- T+1 VWAP to T+21 VWAP return, fraction (NULL: suspended at T+1)
  r.fwd_ret_close_5d::DOUBLE AS fwd_ret_close_5d, -- T close to T+5 close return, fraction (NULL: suspended at T)
  r.fwd_ret_close_10d::DOUBLE AS fwd_ret_close_10d, -- T close to T+10 close return, fraction (NULL: suspended at T)
  r.fwd_ret_close_15d::DOUBLE AS fwd_ret_close_15d, -- T close to T+15 close return, fraction (NULL: suspended at T)
  r.fwd_ret_close_20d::DOUBLE AS fwd_ret_close_20d, -- T close to T+20 close return, fraction (NULL: suspended at T)
  (r.fwd_ret_vwap_5d - m.mean_vwap_5d)::DOUBLE
    AS fwd_excess_vwap_5d, -- fwd_ret_vwap_5d minus its mean over T's universe buyable at T+1, fraction
  (r.fwd_ret_vwap_10d - m.mean_vwap_10d)::DOUBLE
    AS fwd_excess_vwap_10d, -- fwd_ret_vwap_10d minus its mean over T's universe buyable at T+1, fraction
  (r.fwd_ret_vwap_15d - m.mean_vwap_15d)::DOUBLE
    AS fwd_excess_vwap_15d, -- fwd_ret_vwap_15d minus its mean over T's universe buyable at T+1, fraction
  (r.fwd_ret_vwap_20d - m.mean_vwap_20d)::DOUBLE
    AS fwd_excess_vwap_20d, -- fwd_ret_vwap_20d minus its mean over T's universe buyable at T+1, fraction
  (r.fwd_ret_close_5d - m.mean_close_5d)::DOUBLE
    AS fwd_excess_close_5d, -- fwd_ret_close_5d minus its mean over T's universe, fraction
  (r.fwd_ret_close_10d - m.mean_close_10d)::DOUBLE
    AS fwd_excess_close_10d, -- fwd_ret_close_10d minus its mean over T's universe, fraction
  (r.fwd_ret_close_15d - m.mean_close_15d)::DOUBLE
    AS fwd_excess_close_15d, -- fwd_ret_close_15d minus its mean over T's universe, fraction
  (r.fwd_ret_close_20d - m.mean_close_20d)::DOUBLE
    AS fwd_excess_close_20d, -- fwd_ret_close_20d minus its mean over T's universe, fraction
  r.is_buyable_t1::BOOLEAN AS is_buyable_t1 -- T+1 neither suspended nor limit-up at the open (NULL: no T+1 row yet)
FROM returns AS r
JOIN day_means AS m
  ON m.trade_date = r.trade_date
