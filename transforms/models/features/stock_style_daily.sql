-- Style and fundamental factor exposures per stock and trading day, the factors the seed report
-- correlates models with and the optimiser constrains: size, mid-cap, BP, EP, 1-month momentum,
-- liquidity, volatility, profitability, growth and SUE. Each is winsorised at the day's median
-- +- 3 x 1.483 x MAD and z-scored, both with the statistics of the day's universe
-- (features.stock_universe_daily.in_universe), and given to every stock with a price row that
-- day (NULL where the raw factor is unknown: too short a history, no statement yet). Mid-cap is
-- the cube of the standardised size, orthogonalised to it by a sqrt-cap weighted regression
-- across the universe, then winsorised and standardised the same way. Fundamentals are the
-- point-in-time vector in force that day (features.stock_fundamental_quarterly as of the day).
-- Plus the CITIC level-1 industry in force that day, and total market cap for weighting.
MODEL (
  name features.stock_style_daily,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column trade_date
  ),
  grain (stock_id, trade_date),
  signals (raw_arrived()),
  audits (
    unique_combination_of_columns(columns := (stock_id, trade_date)),
    not_null(columns := (stock_id, trade_date, size, total_mv_yuan)),
    in_range(column := size, low := -10, high := 10),
    in_range(column := momentum_20d, low := -10, high := 10)
  )
);

WITH history AS (
  -- enough trading days before the interval for the 20-day windows (60 calendar days)
  SELECT
    p.stock_id,
    p.trade_date,
    p.adj_close,
    p.ret_1d,
    d.turnover_pct,
    d.total_mv_10k * 10000 AS total_mv_yuan
  FROM intermediate.int_daily_prices AS p
  JOIN staging.stg_eod_derivative AS d
    ON d.stock_id = p.stock_id AND d.trade_date = p.trade_date
  WHERE p.trade_date BETWEEN CAST(@start_ds AS DATE) - INTERVAL 60 DAY AND @end_ds
), rolling AS (
  SELECT
    stock_id,
    trade_date,
    total_mv_yuan,
    CASE WHEN COUNT(adj_close) OVER last_21 = 21
      THEN adj_close / FIRST_VALUE(adj_close) OVER last_21 - 1 END AS momentum_20d,
    CASE WHEN COUNT(ret_1d) OVER last_20 = 20 THEN STDDEV_SAMP(ret_1d) OVER last_20 END
      AS volatility_20d,
    CASE WHEN COUNT(turnover_pct) OVER last_20 = 20 AND AVG(turnover_pct) OVER last_20 > 0
      THEN LN(AVG(turnover_pct) OVER last_20) END AS liquidity_20d
  FROM history
  WINDOW
    last_20 AS (PARTITION BY stock_id ORDER BY trade_date ROWS BETWEEN 19 PRECEDING AND CURRENT ROW),
    last_21 AS (PARTITION BY stock_id ORDER BY trade_date ROWS BETWEEN 20 PRECEDING AND CURRENT ROW)
), today AS (
  SELECT r.*, u.in_universe
  FROM rolling AS r
  JOIN features.stock_universe_daily AS u
    ON u.stock_id = r.stock_id AND u.trade_date = r.trade_date
  WHERE r.trade_date BETWEEN @start_ds AND @end_ds
), raw_factors AS (
  SELECT
    t.stock_id,
    t.trade_date,
    t.in_universe,
    t.total_mv_yuan,
    LN(NULLIF(t.total_mv_yuan, 0)) AS size,
    f.parent_equity / NULLIF(t.total_mv_yuan, 0) AS bp,
    f.net_profit_ttm / NULLIF(t.total_mv_yuan, 0) AS ep,
    t.momentum_20d,
    t.liquidity_20d,
    t.volatility_20d,
    f.roe_ttm AS profitability,
    f.net_profit_yoy AS growth,
    f.sue
  FROM today AS t
  ASOF LEFT JOIN features.stock_fundamental_quarterly AS f
    ON f.stock_id = t.stock_id AND f.available_date <= t.trade_date
), medians AS (
  SELECT
    trade_date,
    MEDIAN(size) FILTER (WHERE in_universe) AS size_median,
    MEDIAN(bp) FILTER (WHERE in_universe) AS bp_median,
    MEDIAN(ep) FILTER (WHERE in_universe) AS ep_median,
    MEDIAN(momentum_20d) FILTER (WHERE in_universe) AS momentum_20d_median,
    MEDIAN(liquidity_20d) FILTER (WHERE in_universe) AS liquidity_20d_median,
    MEDIAN(volatility_20d) FILTER (WHERE in_universe) AS volatility_20d_median,
    MEDIAN(profitability) FILTER (WHERE in_universe) AS profitability_median,
    MEDIAN(growth) FILTER (WHERE in_universe) AS growth_median,
    MEDIAN(sue) FILTER (WHERE in_universe) AS sue_median
  FROM raw_factors
  GROUP BY trade_date
), mads AS (
  SELECT
    r.trade_date,
    MEDIAN(ABS(r.size - m.size_median)) FILTER (WHERE r.in_universe) AS size_mad,
    MEDIAN(ABS(r.bp - m.bp_median)) FILTER (WHERE r.in_universe) AS bp_mad,
    MEDIAN(ABS(r.ep - m.ep_median)) FILTER (WHERE r.in_universe) AS ep_mad,
    MEDIAN(ABS(r.momentum_20d - m.momentum_20d_median)) FILTER (WHERE r.in_universe) AS momentum_20d_mad,
    MEDIAN(ABS(r.liquidity_20d - m.liquidity_20d_median)) FILTER (WHERE r.in_universe) AS liquidity_20d_mad,
    MEDIAN(ABS(r.volatility_20d - m.volatility_20d_median)) FILTER (WHERE r.in_universe) AS volatility_20d_mad,
    MEDIAN(ABS(r.profitability - m.profitability_median)) FILTER (WHERE r.in_universe) AS profitability_mad,
    MEDIAN(ABS(r.growth - m.growth_median)) FILTER (WHERE r.in_universe) AS growth_mad,
    MEDIAN(ABS(r.sue - m.sue_median)) FILTER (WHERE r.in_universe) AS sue_mad
  FROM raw_factors AS r
  JOIN medians AS m
    ON m.trade_date = r.trade_date
  GROUP BY r.trade_date
), clipped AS (
  SELECT
    r.stock_id,
    r.trade_date,
    r.in_universe,
    r.total_mv_yuan,
    CASE WHEN r.size IS NOT NULL THEN LEAST(GREATEST(r.size,
      m.size_median - 3 * 1.483 * a.size_mad), m.size_median + 3 * 1.483 * a.size_mad) END AS size,
    CASE WHEN r.bp IS NOT NULL THEN LEAST(GREATEST(r.bp,
      m.bp_median - 3 * 1.483 * a.bp_mad), m.bp_median + 3 * 1.483 * a.bp_mad) END AS bp,
    CASE WHEN r.ep IS NOT NULL THEN LEAST(GREATEST(r.ep,
      m.ep_median - 3 * 1.483 * a.ep_mad), m.ep_median + 3 * 1.483 * a.ep_mad) END AS ep,
    CASE WHEN r.momentum_20d IS NOT NULL THEN LEAST(GREATEST(r.momentum_20d,
      m.momentum_20d_median - 3 * 1.483 * a.momentum_20d_mad), m.momentum_20d_median + 3 * 1.483 * a.momentum_20d_mad) END AS momentum_20d,
    CASE WHEN r.liquidity_20d IS NOT NULL THEN LEAST(GREATEST(r.liquidity_20d,
      m.liquidity_20d_median - 3 * 1.483 * a.liquidity_20d_mad), m.liquidity_20d_median + 3 * 1.483 * a.liquidity_20d_mad) END AS liquidity_20d,
    CASE WHEN r.volatility_20d IS NOT NULL THEN LEAST(GREATEST(r.volatility_20d,
      m.volatility_20d_median - 3 * 1.483 * a.volatility_20d_mad), m.volatility_20d_median + 3 * 1.483 * a.volatility_20d_mad) END AS volatility_20d,
    CASE WHEN r.profitability IS NOT NULL THEN LEAST(GREATEST(r.profitability,
      m.profitability_median - 3 * 1.483 * a.profitability_mad), m.profitability_median + 3 * 1.483 * a.profitability_mad) END AS profitability,
    CASE WHEN r.growth IS NOT NULL THEN LEAST(GREATEST(r.growth,
      m.growth_median - 3 * 1.483 * a.growth_mad), m.growth_median + 3 * 1.483 * a.growth_mad) END AS growth,
    CASE WHEN r.sue IS NOT NULL THEN LEAST(GREATEST(r.sue,
      m.sue_median - 3 * 1.483 * a.sue_mad), m.sue_median + 3 * 1.483 * a.sue_mad) END AS sue
  FROM raw_factors AS r
  JOIN medians AS m
    ON m.trade_date = r.trade_date
  JOIN mads AS a
    ON a.trade_date = r.trade_date
), moments AS (
  SELECT
    trade_date,
    AVG(size) FILTER (WHERE in_universe) AS size_mean,
    STDDEV_SAMP(size) FILTER (WHERE in_universe) AS size_std,
    AVG(bp) FILTER (WHERE in_universe) AS bp_mean,
    STDDEV_SAMP(bp) FILTER (WHERE in_universe) AS bp_std,
    AVG(ep) FILTER (WHERE in_universe) AS ep_mean,
    STDDEV_SAMP(ep) FILTER (WHERE in_universe) AS ep_std,
    AVG(momentum_20d) FILTER (WHERE in_universe) AS momentum_20d_mean,
    STDDEV_SAMP(momentum_20d) FILTER (WHERE in_universe) AS momentum_20d_std,
    AVG(liquidity_20d) FILTER (WHERE in_universe) AS liquidity_20d_mean,
    STDDEV_SAMP(liquidity_20d) FILTER (WHERE in_universe) AS liquidity_20d_std,
    AVG(volatility_20d) FILTER (WHERE in_universe) AS volatility_20d_mean,
    STDDEV_SAMP(volatility_20d) FILTER (WHERE in_universe) AS volatility_20d_std,
    AVG(profitability) FILTER (WHERE in_universe) AS profitability_mean,
    STDDEV_SAMP(profitability) FILTER (WHERE in_universe) AS profitability_std,
    AVG(growth) FILTER (WHERE in_universe) AS growth_mean,
    STDDEV_SAMP(growth) FILTER (WHERE in_universe) AS growth_std,
    AVG(sue) FILTER (WHERE in_universe) AS sue_mean,
    STDDEV_SAMP(sue) FILTER (WHERE in_universe) AS sue_std
  FROM clipped
  GROUP BY trade_date
), standardised AS (
  SELECT
    c.stock_id,
    c.trade_date,
    c.in_universe,
    c.total_mv_yuan,
    (c.size - m.size_mean) / NULLIF(m.size_std, 0) AS size,
    (c.bp - m.bp_mean) / NULLIF(m.bp_std, 0) AS bp,
    (c.ep - m.ep_mean) / NULLIF(m.ep_std, 0) AS ep,
    (c.momentum_20d - m.momentum_20d_mean) / NULLIF(m.momentum_20d_std, 0) AS momentum_20d,
    (c.liquidity_20d - m.liquidity_20d_mean) / NULLIF(m.liquidity_20d_std, 0) AS liquidity_20d,
    (c.volatility_20d - m.volatility_20d_mean) / NULLIF(m.volatility_20d_std, 0) AS volatility_20d,
    (c.profitability - m.profitability_mean) / NULLIF(m.profitability_std, 0) AS profitability,
    (c.growth - m.growth_mean) / NULLIF(m.growth_std, 0) AS growth,
    (c.sue - m.sue_mean) / NULLIF(m.sue_std, 0) AS sue
  FROM clipped AS c
  JOIN moments AS m
    ON m.trade_date = c.trade_date
), midcap_fit AS (
  -- weighted least squares of size^3 on size across the universe, weights sqrt(cap)
  SELECT
    trade_date,
    (sw * swxy - swx * swy) / NULLIF(sw * swxx - swx * swx, 0) AS slope,
    (swy - (sw * swxy - swx * swy) / NULLIF(sw * swxx - swx * swx, 0) * swx) / sw AS intercept
  FROM (
    SELECT
      trade_date,
      SUM(w) AS sw,
      SUM(w * size) AS swx,
      SUM(w * POWER(size, 3)) AS swy,
      SUM(w * POWER(size, 2)) AS swxx,
      SUM(w * POWER(size, 4)) AS swxy
    FROM (
      SELECT trade_date, size, SQRT(total_mv_yuan) AS w
      FROM standardised
      WHERE in_universe AND size IS NOT NULL
    ) AS universe
    GROUP BY trade_date
  ) AS sums
), midcap_raw AS (
  SELECT
    s.*,
    POWER(s.size, 3) - f.intercept - f.slope * s.size AS midcap
  FROM standardised AS s
  JOIN midcap_fit AS f
    ON f.trade_date = s.trade_date
), midcap_median AS (
  SELECT trade_date, MEDIAN(midcap) FILTER (WHERE in_universe) AS midcap_median
  FROM midcap_raw
  GROUP BY trade_date
), midcap_mad AS (
  SELECT m.trade_date, m.midcap_median,
    MEDIAN(ABS(r.midcap - m.midcap_median)) FILTER (WHERE r.in_universe) AS midcap_mad
  FROM midcap_raw AS r
  JOIN midcap_median AS m
    ON m.trade_date = r.trade_date
  GROUP BY m.trade_date, m.midcap_median
), midcap_clipped AS (
  SELECT
    r.*,
    CASE WHEN r.midcap IS NOT NULL THEN LEAST(GREATEST(r.midcap,
      m.midcap_median - 3 * 1.483 * m.midcap_mad), m.midcap_median + 3 * 1.483 * m.midcap_mad)
    END AS midcap_winsorised
  FROM midcap_raw AS r
  JOIN midcap_mad AS m
    ON m.trade_date = r.trade_date
), midcap_moments AS (
  SELECT trade_date,
    AVG(midcap_winsorised) FILTER (WHERE in_universe) AS midcap_mean,
    STDDEV_SAMP(midcap_winsorised) FILTER (WHERE in_universe) AS midcap_std
  FROM midcap_clipped
  GROUP BY trade_date
)
SELECT
  c.stock_id::TEXT AS stock_id, -- Wind code
  c.trade_date::DATE AS trade_date, -- trading day
  ind.industry_l1_code::TEXT AS industry_l1_code, -- CITIC level-1 industry in force that day
  names.industry_l1_name::TEXT AS industry_l1_name, -- its name
  c.in_universe::BOOLEAN AS in_universe, -- in the day's universe (the standardisation sample)
  c.total_mv_yuan::DOUBLE AS total_mv_yuan, -- total market cap, yuan
  c.size::DOUBLE AS size, -- z-score: ln total market cap
  ((c.midcap_winsorised - m.midcap_mean) / NULLIF(m.midcap_std, 0))::DOUBLE
    AS midcap, -- z-score: size cubed, orthogonalised to size (sqrt-cap WLS)
  c.bp::DOUBLE AS bp, -- z-score: book to price: latest parent equity / total market cap
  c.ep::DOUBLE AS ep, -- z-score: earnings to price: TTM parent net profit / total market cap
  c.momentum_20d::DOUBLE AS momentum_20d, -- z-score: 20-day return
  c.liquidity_20d::DOUBLE AS liquidity_20d, -- z-score: ln mean daily turnover (percent of float) over 20 days
  c.volatility_20d::DOUBLE AS volatility_20d, -- z-score: std of daily returns over 20 days
  c.profitability::DOUBLE AS profitability, -- z-score: ROE TTM
  c.growth::DOUBLE AS growth, -- z-score: YoY growth of single-quarter parent net profit
  c.sue::DOUBLE AS sue -- z-score: standardised unexpected earnings
FROM midcap_clipped AS c
JOIN midcap_moments AS m
  ON m.trade_date = c.trade_date
LEFT JOIN staging.stg_citics_industry AS ind
  ON ind.stock_id = c.stock_id
  AND c.trade_date >= ind.start_date
  -- COALESCE, not "IS NULL OR": an OR in the condition forces a nested-loop join
  AND c.trade_date < COALESCE(ind.end_date, DATE '9999-12-31')
LEFT JOIN staging.stg_industry_names AS names
  ON names.industry_l1_code = ind.industry_l1_code
