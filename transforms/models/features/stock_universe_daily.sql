-- Who is investable on each trading day, and each stock's weight in the CSI 300 / 500 / 1000
-- benchmarks. One row per stock with a price row that day.
--
-- Universe: listed for at least 120 trading days (counted on the trade calendar, 0 on the
-- listing day; for a listing before the loaded calendar's first day, the days before it are
-- counted as weekdays), not ST and not suspended that day.
-- Index weights: the latest snapshot on or before the day (AIndexFreeWeight; snapshots are
-- sparse, up to a month apart, so they are read outside the interval), each member's weight
-- drifted by its adjusted close return since the snapshot, then renormalised over the members
-- in force that day ([start_date, end_date) in AIndexMembers) that have a snapshot weight, to
-- the share of the index the data covers: 100 x (the snapshot weight of its stocks that have
-- a price row on the snapshot day) / (the snapshot's total, when it sums to 100 +- 1 as a
-- whole index does after rounding; otherwise 100). So with a whole market the weights sum to exactly
-- 100 (on a snapshot day they are the snapshot's, rounding rescaled away); with an extract
-- covering part of the market they sum to that part's weight, below 100, and are not inflated
-- to look like a whole index.
-- 0 for a non-member; NULL for a member without a weight (before the index's first snapshot,
-- or added after the latest one), because its weight is unknown, not zero; NULL for every
-- stock before the index's first membership period in AIndexMembers (or always, for an index
-- the source does not cover): membership is unknown then, not empty.
MODEL (
  name features.stock_universe_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column trade_date
  ),
  grain (stock_id, trade_date),
  -- rendered without the optimiser, so typed here (why: stock_fundamental_quarterly.sql)
  optimize_query false,
  columns (
    stock_id TEXT,
    trade_date DATE,
    listed_trading_days INT,
    is_st BOOLEAN,
    is_suspended BOOLEAN,
    in_universe BOOLEAN,
    csi300_weight_pct DOUBLE,
    csi500_weight_pct DOUBLE,
    csi1000_weight_pct DOUBLE
  ),
  signals (raw_arrived()),
  audits (
    unique_combination_of_columns(columns := (stock_id, trade_date)),
    not_null(columns := (stock_id, trade_date, listed_trading_days, in_universe)),
    in_range(column := listed_trading_days, low := 0),
    -- 100 and float noise: an index with one member known holds all of the share covered
    in_range(column := csi300_weight_pct, low := 0, high := 100.000001),
    in_range(column := csi500_weight_pct, low := 0, high := 100.000001),
    in_range(column := csi1000_weight_pct, low := 0, high := 100.000001),
    -- an extract covering part of the market holds part of each index: sums up to 100
    index_weights_sum(weight := csi300_weight_pct),
    index_weights_sum(weight := csi500_weight_pct),
    index_weights_sum(weight := csi1000_weight_pct)
  )
);

WITH stock_days AS (
  SELECT
    p.stock_id,
    p.trade_date,
    p.adj_close,
    p.is_st,
    p.is_suspended,
    p.listed_trading_days -- computed once, in int_daily_prices
  FROM intermediate.int_daily_prices AS p
  WHERE p.trade_date BETWEEN @start_ds AND @end_ds
), snapshot_days AS (
  SELECT DISTINCT
    index_id,
    trade_date AS snapshot_date
  FROM staging.stg_index_weights
  WHERE trade_date <= @end_ds
), index_days AS (
  -- each index's latest snapshot on or before each day of the interval
  SELECT
    t.trade_date,
    s.index_id,
    MAX(s.snapshot_date) AS snapshot_date
  FROM (SELECT DISTINCT trade_date FROM stock_days) AS t
  JOIN snapshot_days AS s
    ON s.snapshot_date <= t.trade_date
  GROUP BY t.trade_date, s.index_id
), snapshot_prices AS (
  SELECT stock_id, trade_date, adj_close
  FROM intermediate.int_daily_prices
  WHERE trade_date IN (SELECT snapshot_date FROM index_days)
), snapshot_coverage AS (
  -- the share of each snapshot's index weight held by stocks the data has prices for
  SELECT
    w.index_id,
    w.trade_date AS snapshot_date,
    CASE
      WHEN COUNT(sp.stock_id) = COUNT(*) THEN 1.0
      ELSE SUM(CASE WHEN sp.stock_id IS NOT NULL THEN w.weight_pct ELSE 0 END)
        / CASE WHEN ABS(SUM(w.weight_pct) - 100) <= 1 THEN SUM(w.weight_pct) ELSE 100 END
    END AS covered_share
  FROM staging.stg_index_weights AS w
  LEFT JOIN snapshot_prices AS sp
    ON sp.stock_id = w.stock_id
    AND sp.trade_date = w.trade_date
  WHERE w.trade_date IN (SELECT snapshot_date FROM index_days)
  GROUP BY w.index_id, w.trade_date
), index_known AS (
  -- from when each index's membership is known (its first membership period)
  SELECT
    MIN(CASE WHEN index_id = '000300.SH' THEN start_date END) AS csi300_known_from,
    MIN(CASE WHEN index_id = '000905.SH' THEN start_date END) AS csi500_known_from,
    MIN(CASE WHEN index_id = '000852.SH' THEN start_date END) AS csi1000_known_from
  FROM staging.stg_index_members
), member_days AS (
  -- members in force that day, with their snapshot weight drifted by the return since then
  SELECT
    m.index_id,
    d.stock_id,
    d.trade_date,
    w.weight_pct * d.adj_close / sp.adj_close AS drifted_weight,
    cov.covered_share
  FROM stock_days AS d
  JOIN staging.stg_index_members AS m
    ON m.stock_id = d.stock_id
    AND m.start_date <= d.trade_date
    AND d.trade_date < COALESCE(m.end_date, DATE '9999-12-31') -- no OR: keeps a hash join
  LEFT JOIN index_days AS i
    ON i.index_id = m.index_id
    AND i.trade_date = d.trade_date
  LEFT JOIN staging.stg_index_weights AS w
    ON w.index_id = m.index_id
    AND w.stock_id = d.stock_id
    AND w.trade_date = i.snapshot_date
  LEFT JOIN snapshot_prices AS sp
    ON sp.stock_id = d.stock_id
    AND sp.trade_date = i.snapshot_date
  LEFT JOIN snapshot_coverage AS cov
    ON cov.index_id = m.index_id
    AND cov.snapshot_date = i.snapshot_date
), member_weights AS (
  SELECT
    stock_id,
    trade_date,
    index_id,
    100 * covered_share * drifted_weight
      / SUM(drifted_weight) OVER (PARTITION BY index_id, trade_date) AS weight_pct
  FROM member_days
), stock_weights AS (
  -- one column per index ('000300.SH' CSI 300, '000905.SH' CSI 500, '000852.SH' CSI 1000)
  SELECT
    stock_id,
    trade_date,
    MAX(CASE WHEN index_id = '000300.SH' THEN 1 ELSE 0 END) = 1 AS is_csi300_member,
    MAX(CASE WHEN index_id = '000905.SH' THEN 1 ELSE 0 END) = 1 AS is_csi500_member,
    MAX(CASE WHEN index_id = '000852.SH' THEN 1 ELSE 0 END) = 1 AS is_csi1000_member,
    MAX(CASE WHEN index_id = '000300.SH' THEN weight_pct END) AS csi300_weight_pct,
    MAX(CASE WHEN index_id = '000905.SH' THEN weight_pct END) AS csi500_weight_pct,
    MAX(CASE WHEN index_id = '000852.SH' THEN weight_pct END) AS csi1000_weight_pct
  FROM member_weights
  GROUP BY stock_id, trade_date
)
SELECT
  d.stock_id::TEXT AS stock_id, -- Wind code
  d.trade_date::DATE AS trade_date, -- trading day
  d.listed_trading_days::INT AS listed_trading_days, -- trading days since listing (0 on the listing day)
  d.is_st::BOOLEAN AS is_st, -- under special treatment that day
  d.is_suspended::BOOLEAN AS is_suspended, -- no trading that day
  @in_universe(d.listed_trading_days, d.is_st, d.is_suspended)::BOOLEAN
    AS in_universe, -- listed >= 120 trading days, not ST, not suspended
  CASE
    WHEN d.trade_date < COALESCE(k.csi300_known_from, DATE '9999-12-31') THEN NULL
    WHEN w.is_csi300_member THEN w.csi300_weight_pct
    ELSE 0
  END::DOUBLE AS csi300_weight_pct, -- CSI 300 weight, percent (0: not a member; NULL: unknown)
  CASE
    WHEN d.trade_date < COALESCE(k.csi500_known_from, DATE '9999-12-31') THEN NULL
    WHEN w.is_csi500_member THEN w.csi500_weight_pct
    ELSE 0
  END::DOUBLE AS csi500_weight_pct, -- CSI 500 weight, percent (0: not a member; NULL: unknown)
  CASE
    WHEN d.trade_date < COALESCE(k.csi1000_known_from, DATE '9999-12-31') THEN NULL
    WHEN w.is_csi1000_member THEN w.csi1000_weight_pct
    ELSE 0
  END::DOUBLE AS csi1000_weight_pct -- CSI 1000 weight, percent (0: not a member; NULL: unknown)
FROM stock_days AS d
CROSS JOIN index_known AS k
LEFT JOIN stock_weights AS w
  ON w.stock_id = d.stock_id
  AND w.trade_date = d.trade_date
