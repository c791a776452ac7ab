-- Daily prices in the units the rest of the project uses: back-adjusted OHLC and VWAP, volume
-- in shares, amount in yuan, the day's total return, and tradability flags (suspension and
-- price limits by board, ST status and listing age). One row per stock and trading day; a row
-- uses its own day's prices plus slowly changing reference data (listing, ST periods, the
-- trade calendar), so each interval is computed from its own days.
--
-- Listing age: trading days since listing, counted on the trade calendar (0 on the listing day;
-- for a listing before the loaded calendar's first day, the days before it are counted as
-- weekdays). Computed here once; features.stock_universe_daily reads it.
--
-- A NULL S_INFO_LISTDATE (a source that does not know it) is never guessed earlier than the
-- data: the stock counts as listed on its first price row. If that row comes after the first
-- day of the price data, the stock appeared while the data ran, so that row is its listing day
-- and the IPO limit rules below apply to it; if it is the first day of the price data, the
-- stock was probably trading before, so its age there (0) is only a lower bound and no IPO
-- rule is applied (ordinary limits from the first row).
--
-- Price limits, on the previous close (S_DQ_PRECLOSE, ex-rights adjusted):
--   main board, and ChiNext before 2020-08-24: +-10 %, ST +-5 %;
--   ChiNext from 2020-08-24 and STAR: +-20 %, ST too;
--   first listing day on the main board and of ChiNext IPOs before 2020-08-24: +44 % / -36 %;
--   STAR IPOs and ChiNext IPOs listed from 2020-08-24: no limit on their first five trading
--   days (listing age 0-4 on the trade calendar; a listing before the loaded calendar's first
--   day is aged in weekdays up to it).
-- Limit prices are rounded to 0.01 half up (the exchange rule) in DECIMAL arithmetic, because
-- as DOUBLEs 17.15 x 1.1 = 18.86499... would round down to 18.86 (the limit is 18.87); the
-- down limit is at least 0.01.
-- The flags agree with Wind's UP_DOWN_LIMIT_STATUS: a suspended day is never at a limit.
--
-- Turnover and total market cap, from AShareEODDerivativeIndicator (NULL where the stock has no
-- row there that day).
-- free_turnover_pct is Wind's S_DQ_FREETURNOVER. A source may lack it (NULL): where the
-- free-float shares (FREE_SHARES_TODAY) are known it is computed by its definition, volume /
-- free-float shares in percent, the same number; where they are NULL too it stays NULL. It
-- never falls back to S_DQ_TURN (turnover on all float A shares): that is another ratio,
-- already served as turnover_pct.
--
-- features.stock_price_volume_daily publishes these rows as a view, so they are written once;
-- the audits of its columns are therefore this table's.
MODEL (
  name intermediate.int_daily_prices,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column trade_date
  ),
  grain (stock_id, trade_date),
  -- rendered without the optimiser, so typed here (why: stock_fundamental_quarterly.sql)
  optimize_query false,
  columns (
    stock_id TEXT,
    trade_date DATE,
    adj_open DOUBLE,
    adj_high DOUBLE,
    adj_low DOUBLE,
    adj_close DOUBLE,
    vwap DOUBLE,
    adj_vwap DOUBLE,
    adj_factor DOUBLE,
    ret_1d DOUBLE,
    volume_shares DOUBLE,
    amount_yuan DOUBLE,
    turnover_pct DOUBLE,
    free_turnover_pct DOUBLE,
    total_mv_yuan DOUBLE,
    is_suspended BOOLEAN,
    is_st BOOLEAN,
    listed_trading_days INT,
    limit_up_price DOUBLE,
    limit_down_price DOUBLE,
    is_limit_up_close BOOLEAN,
    is_limit_down_close BOOLEAN,
    is_limit_up_open BOOLEAN
  ),
  signals (raw_arrived()),
  audits (
    unique_combination_of_columns(columns := (stock_id, trade_date)),
    not_null(columns := (stock_id, trade_date, adj_close, vwap, adj_vwap, ret_1d, is_suspended)),
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

WITH calendar AS (
  -- trading days numbered in order, so an age in trading days is a difference of numbers
  SELECT
    trade_date,
    ROW_NUMBER() OVER (ORDER BY trade_date) AS day_number
  FROM staging.stg_trade_calendar
), first_prices AS (
  -- the first price row of each stock whose list date is unknown, and the first day of the
  -- price data (a stock first seen then may have been trading before it)
  SELECT
    p.stock_id,
    MIN(p.trade_date) AS first_price_date,
    -- Wind text sorts as the dates do: one date parsed, not every row of history
    (SELECT @wind_date(MIN(wind_trade_dt)) FROM staging.stg_eod_prices) AS data_first_date
  FROM staging.stg_eod_prices AS p
  WHERE p.stock_id IN (SELECT stock_id FROM staging.stg_stock_description WHERE list_date IS NULL)
  GROUP BY p.stock_id
), listed_from AS (
  SELECT
    d.stock_id,
    d.board,
    COALESCE(d.list_date, f.first_price_date) AS list_date,
    -- the first day is the real listing day: known, or first seen after the data began
    (d.list_date IS NOT NULL OR f.first_price_date > f.data_first_date) AS is_listing_seen
  FROM staging.stg_stock_description AS d
  LEFT JOIN first_prices AS f
    ON f.stock_id = d.stock_id
), list_day_numbers AS (
  -- the number of the first trading day on or after each list date: list dates and trading
  -- days in one ordered list (a list date before a trading day of the same date), each list
  -- date taking the smallest day number after it; a sort of a few thousand rows, where
  -- joining every stock to every later trading day made tens of millions
  SELECT stock_id, list_day_number
  FROM (
    SELECT
      stock_id,
      MIN(day_number) OVER (
        ORDER BY day, is_trading_day ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
      ) AS list_day_number
    FROM (
      SELECT stock_id, list_date AS day, FALSE AS is_trading_day, NULL::BIGINT AS day_number
      FROM listed_from
      WHERE list_date IS NOT NULL
      UNION ALL
      SELECT NULL::TEXT AS stock_id, trade_date AS day, TRUE AS is_trading_day, day_number
      FROM calendar
    ) AS days
  ) AS numbered
  WHERE stock_id IS NOT NULL
), listing AS (
  -- the number of each stock's first trading day: its list date (or the next trading day) on
  -- the calendar; a listing before the loaded calendar starts counts back in weekdays (since
  -- Monday 1990-01-01: 5 per week and up to 5 in the week's first days), holidays unknown
  SELECT
    d.stock_id,
    d.board,
    d.list_date,
    d.is_listing_seen,
    CASE
      WHEN d.list_date >= s.first_trade_date THEN n.list_day_number
      ELSE 1 - (
        5 * FLOOR(DATE_DIFF('day', DATE '1990-01-01', s.first_trade_date) / 7)
        + LEAST(DATE_DIFF('day', DATE '1990-01-01', s.first_trade_date) % 7, 5)
        - 5 * FLOOR(DATE_DIFF('day', DATE '1990-01-01', d.list_date) / 7)
        - LEAST(DATE_DIFF('day', DATE '1990-01-01', d.list_date) % 7, 5)
      )
    END AS list_day_number
  FROM listed_from AS d
  CROSS JOIN (SELECT MIN(trade_date) AS first_trade_date FROM calendar) AS s
  LEFT JOIN list_day_numbers AS n
    ON n.stock_id = d.stock_id
), prices AS (
  SELECT
    p.*,
    l.board,
    l.list_date,
    l.is_listing_seen,
    d.turnover_pct,
    d.free_turnover_pct AS source_free_turnover_pct,
    d.free_shares_10k,
    d.total_mv_10k,
    c.day_number - l.list_day_number AS listed_trading_days,
    st.stock_id IS NOT NULL AS is_st,
    (p.trade_status_code = 0 OR p.volume_lots = 0) AS is_suspended,
    -- VWAP from amount and volume (S_DQ_AMOUNT*1000 / (S_DQ_VOLUME*100)); close when no trade
    CASE
      WHEN p.volume_lots > 0 THEN p.amount_kyuan * 1000 / (p.volume_lots * 100)
      ELSE p.close
    END AS vwap_yuan,
    -- ChiNext's registration reform (20 % limits, free first days) and STAR from its start
    (l.board = '科创板' OR (l.board = '创业板' AND p.trade_date >= DATE '2020-08-24'))
      AS has_wide_limit,
    (l.board = '科创板' OR (l.board = '创业板' AND l.list_date >= DATE '2020-08-24'))
      AS has_free_ipo_days
  FROM staging.stg_eod_prices AS p
  JOIN listing AS l
    ON l.stock_id = p.stock_id
  LEFT JOIN calendar AS c
    ON c.trade_date = p.trade_date
  LEFT JOIN staging.stg_eod_derivative AS d
    ON d.stock_id = p.stock_id
    AND d.trade_date = p.trade_date
    AND d.wind_trade_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds) -- reads the interval's days only
  LEFT JOIN staging.stg_st_periods AS st
    ON st.stock_id = p.stock_id
    AND st.st_type IN ('S', 'P', 'L')
    AND p.trade_date >= st.start_date
    AND p.trade_date < COALESCE(st.end_date, DATE '9999-12-31') -- no OR: keeps a hash join
  WHERE p.wind_trade_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds) -- reads the interval's days only
), limit_ratios AS (
  SELECT
    *,
    -- up and down moves allowed from the previous close; NULL where no limit applies
    CASE
      WHEN has_free_ipo_days AND listed_trading_days < 5 AND is_listing_seen THEN NULL
      WHEN listed_trading_days = 0 AND is_listing_seen THEN CAST(0.44 AS DECIMAL(4, 2))
      WHEN has_wide_limit THEN CAST(0.20 AS DECIMAL(4, 2))
      WHEN is_st THEN CAST(0.05 AS DECIMAL(4, 2))
      ELSE CAST(0.10 AS DECIMAL(4, 2))
    END AS up_ratio,
    CASE
      WHEN has_free_ipo_days AND listed_trading_days < 5 AND is_listing_seen THEN NULL
      WHEN listed_trading_days = 0 AND is_listing_seen THEN CAST(0.36 AS DECIMAL(4, 2))
      WHEN has_wide_limit THEN CAST(0.20 AS DECIMAL(4, 2))
      WHEN is_st THEN CAST(0.05 AS DECIMAL(4, 2))
      ELSE CAST(0.10 AS DECIMAL(4, 2))
    END AS down_ratio,
    -- prices are quoted in 0.01 yuan: as DECIMAL they compare exactly
    CAST(pre_close AS DECIMAL(18, 2)) AS pre_close_exact,
    CAST(open AS DECIMAL(18, 2)) AS open_exact,
    CAST(close AS DECIMAL(18, 2)) AS close_exact
  FROM prices
), limit_prices AS (
  SELECT
    *,
    ROUND(pre_close_exact * (1 + up_ratio), 2) AS limit_up_price,
    -- GREATEST skips NULLs, so a day without limits is kept NULL explicitly
    CASE
      WHEN down_ratio IS NOT NULL
        THEN GREATEST(ROUND(pre_close_exact * (1 - down_ratio), 2), CAST(0.01 AS DECIMAL(18, 2)))
    END AS limit_down_price
  FROM limit_ratios
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
  l.turnover_pct::DOUBLE AS turnover_pct, -- volume / float A shares, percent
  COALESCE(
    l.source_free_turnover_pct,
    (l.volume_lots * 100)::DOUBLE / NULLIF(l.free_shares_10k * 10000, 0) * 100
  )::DOUBLE AS free_turnover_pct, -- volume / free-float shares, percent (NULL: free float unknown)
  (l.total_mv_10k * 10000)::DOUBLE AS total_mv_yuan, -- total market cap, yuan (NULL: no row in AShareEODDerivativeIndicator)
  l.is_suspended::BOOLEAN AS is_suspended, -- no trading that day
  l.is_st::BOOLEAN AS is_st, -- under special treatment that day
  l.listed_trading_days::INT AS listed_trading_days, -- trading days since listing (0 on the listing day)
  l.limit_up_price::DOUBLE AS limit_up_price, -- limit-up price, yuan, unadjusted (NULL: no limit)
  l.limit_down_price::DOUBLE AS limit_down_price, -- limit-down price, yuan, unadjusted (NULL: no limit)
  COALESCE(NOT l.is_suspended AND l.close_exact >= l.limit_up_price, FALSE)::BOOLEAN
    AS is_limit_up_close, -- closed at limit-up
  COALESCE(NOT l.is_suspended AND l.close_exact <= l.limit_down_price, FALSE)::BOOLEAN
    AS is_limit_down_close, -- closed at limit-down
  COALESCE(NOT l.is_suspended AND l.open_exact >= l.limit_up_price, FALSE)::BOOLEAN
    AS is_limit_up_open -- opened at limit-up: cannot be bought at the open
FROM limit_prices AS l
