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
  -- rendered without the optimiser, so typed here (why: stock_fundamental_quarterly.sql)
  optimize_query false,
  columns (
    stock_id TEXT,
    trade_date DATE,
    industry_l1_code TEXT,
    industry_l1_name TEXT,
    in_universe BOOLEAN,
    total_mv_yuan DOUBLE,
    size DOUBLE,
    midcap DOUBLE,
    bp DOUBLE,
    ep DOUBLE,
    momentum_20d DOUBLE,
    liquidity_20d DOUBLE,
    volatility_20d DOUBLE,
    profitability DOUBLE,
    growth DOUBLE,
    sue DOUBLE
  ),
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
    -- the day's universe (features.stock_universe_daily's rule), from the row itself
    @in_universe(p.listed_trading_days, p.is_st, p.is_suspended) AS in_universe,
    p.turnover_pct,
    p.total_mv_yuan
  FROM intermediate.int_daily_prices AS p
  WHERE p.trade_date BETWEEN CAST(@start_ds AS DATE) - INTERVAL 60 DAY AND @end_ds
    -- the days with a row in AShareEODDerivativeIndicator (whose market cap is never NULL:
    -- stg_eod_derivative's audit), as int_daily_prices carries it
    AND p.total_mv_yuan IS NOT NULL
), rolling AS (
  SELECT
    stock_id,
    trade_date,
    in_universe,
    total_mv_yuan,
    -- adj_close is never NULL (int_daily_prices' audit): 20 rows back exist or it is NULL
    adj_close / LAG(adj_close, 20) OVER by_stock - 1 AS momentum_20d,
    CASE WHEN COUNT(ret_1d) OVER last_20 = 20 THEN STDDEV_SAMP(ret_1d) OVER last_20 END
      AS volatility_20d,
    CASE WHEN COUNT(turnover_pct) OVER last_20 = 20 AND AVG(turnover_pct) OVER last_20 > 0
      THEN LN(AVG(turnover_pct) OVER last_20) END AS liquidity_20d
  FROM history
  WINDOW
    last_20 AS (PARTITION BY stock_id ORDER BY trade_date ROWS BETWEEN 19 PRECEDING AND CURRENT ROW),
    by_stock AS (PARTITION BY stock_id ORDER BY trade_date)
), today AS (
  SELECT *
  FROM rolling
  WHERE trade_date BETWEEN @start_ds AND @end_ds
), fundamentals AS (
  -- each stock-day with the fundamental vector in force that day, the latest available on or
  -- before it: DuckDB's ASOF join, a range join on Spark (transforms/macros/engines.py)
  @as_of_left_join(today, features.stock_fundamental_quarterly, stock_id, trade_date,
    available_date, [parent_equity, net_profit_ttm, roe_ttm, net_profit_yoy, sue])
), raw_factors AS (
  SELECT
    t.stock_id,
    t.trade_date,
    t.in_universe,
    t.total_mv_yuan,
    LN(NULLIF(t.total_mv_yuan, 0)) AS size,
    t.parent_equity / NULLIF(t.total_mv_yuan, 0) AS bp,
    t.net_profit_ttm / NULLIF(t.total_mv_yuan, 0) AS ep,
    t.momentum_20d,
    t.liquidity_20d,
    t.volatility_20d,
    t.roe_ttm AS profitability,
    t.net_profit_yoy AS growth,
    t.sue
  FROM fundamentals AS t
)
SELECT
  c.stock_id::TEXT AS stock_id, -- Wind code
  c.trade_date::DATE AS trade_date, -- trading day
  ind.industry_l1_code::TEXT AS industry_l1_code, -- CITIC level-1 industry in force that day
  names.industry_l1_name::TEXT AS industry_l1_name, -- its name
  c.in_universe::BOOLEAN AS in_universe, -- in the day's universe (the standardisation sample)
  c.total_mv_yuan::DOUBLE AS total_mv_yuan, -- total market cap, yuan
  c.size::DOUBLE AS size, -- z-score: ln total market cap
  ((c.midcap_winsorised - c.midcap_mean) / NULLIF(c.midcap_std, 0))::DOUBLE
    AS midcap, -- z-score: size cubed, orthogonalised to size (sqrt-cap WLS)
  c.bp::DOUBLE AS bp, -- z-score: book to price: latest parent equity / total market cap
  c.ep::DOUBLE AS ep, -- z-score: earnings to price: TTM parent net profit / total market cap
  c.momentum_20d::DOUBLE AS momentum_20d, -- z-score: 20-day return
  c.liquidity_20d::DOUBLE AS liquidity_20d, -- z-score: ln mean daily turnover (percent of float) over 20 days
  c.volatility_20d::DOUBLE AS volatility_20d, -- z-score: std of daily returns over 20 days
  c.profitability::DOUBLE AS profitability, -- z-score: ROE TTM
  c.growth::DOUBLE AS growth, -- z-score: YoY growth of single-quarter parent net profit
  c.sue::DOUBLE AS sue -- z-score: standardised unexpected earnings
-- the day statistics, written twice: this form on DuckDB, the windowed one below elsewhere
-- (@duckdb_or keeps one, so an engine's query holds only its own); the Spark test and
-- tests/transforms/test_two_forms.py hold them to the same rows
FROM @duckdb_or(
  (
    WITH day_medians AS (
      -- On DuckDB they are grouped aggregates over the day's universe, joined back to the rows
      -- (DuckDB computes a CTE read more than once only once): a window pass per statistic would
      -- re-partition every row with all its columns each time. Each factor's median first,
      SELECT
        trade_date,
        MEDIAN(size) AS size_median,
        MEDIAN(bp) AS bp_median,
        MEDIAN(ep) AS ep_median,
        MEDIAN(momentum_20d) AS momentum_20d_median,
        MEDIAN(liquidity_20d) AS liquidity_20d_median,
        MEDIAN(volatility_20d) AS volatility_20d_median,
        MEDIAN(profitability) AS profitability_median,
        MEDIAN(growth) AS growth_median,
        MEDIAN(sue) AS sue_median
      FROM raw_factors
      WHERE in_universe
      GROUP BY trade_date
    ), day_mads AS (
      -- then its median absolute deviation from that median,
      SELECT
        r.trade_date,
        MEDIAN(ABS(r.size - m.size_median)) AS size_mad,
        MEDIAN(ABS(r.bp - m.bp_median)) AS bp_mad,
        MEDIAN(ABS(r.ep - m.ep_median)) AS ep_mad,
        MEDIAN(ABS(r.momentum_20d - m.momentum_20d_median)) AS momentum_20d_mad,
        MEDIAN(ABS(r.liquidity_20d - m.liquidity_20d_median)) AS liquidity_20d_mad,
        MEDIAN(ABS(r.volatility_20d - m.volatility_20d_median)) AS volatility_20d_mad,
        MEDIAN(ABS(r.profitability - m.profitability_median)) AS profitability_mad,
        MEDIAN(ABS(r.growth - m.growth_median)) AS growth_mad,
        MEDIAN(ABS(r.sue - m.sue_median)) AS sue_mad
      FROM raw_factors AS r
      JOIN day_medians AS m
        ON m.trade_date = r.trade_date
      WHERE r.in_universe
      GROUP BY r.trade_date
    ), day_bounds AS (
      SELECT
        m.*,
        d.size_mad,
        d.bp_mad,
        d.ep_mad,
        d.momentum_20d_mad,
        d.liquidity_20d_mad,
        d.volatility_20d_mad,
        d.profitability_mad,
        d.growth_mad,
        d.sue_mad
      FROM day_medians AS m
      JOIN day_mads AS d
        ON d.trade_date = m.trade_date
    ), clipped AS (
      -- every row winsorised at its day's median +- 3 x 1.483 x MAD (transforms/macros/statistics.py)
      SELECT
        r.stock_id,
        r.trade_date,
        r.in_universe,
        r.total_mv_yuan,
        @winsorised(r.size, b.size_median, b.size_mad) AS size,
        @winsorised(r.bp, b.bp_median, b.bp_mad) AS bp,
        @winsorised(r.ep, b.ep_median, b.ep_mad) AS ep,
        @winsorised(r.momentum_20d, b.momentum_20d_median, b.momentum_20d_mad) AS momentum_20d,
        @winsorised(r.liquidity_20d, b.liquidity_20d_median, b.liquidity_20d_mad) AS liquidity_20d,
        @winsorised(r.volatility_20d, b.volatility_20d_median, b.volatility_20d_mad) AS volatility_20d,
        @winsorised(r.profitability, b.profitability_median, b.profitability_mad) AS profitability,
        @winsorised(r.growth, b.growth_median, b.growth_mad) AS growth,
        @winsorised(r.sue, b.sue_median, b.sue_mad) AS sue
      FROM raw_factors AS r
      JOIN day_bounds AS b
        ON b.trade_date = r.trade_date
    ), day_moments AS (
      -- the mean and standard deviation of the winsorised values over the day's universe
      SELECT
        trade_date,
        AVG(size) AS size_mean,
        STDDEV_SAMP(size) AS size_std,
        AVG(bp) AS bp_mean,
        STDDEV_SAMP(bp) AS bp_std,
        AVG(ep) AS ep_mean,
        STDDEV_SAMP(ep) AS ep_std,
        AVG(momentum_20d) AS momentum_20d_mean,
        STDDEV_SAMP(momentum_20d) AS momentum_20d_std,
        AVG(liquidity_20d) AS liquidity_20d_mean,
        STDDEV_SAMP(liquidity_20d) AS liquidity_20d_std,
        AVG(volatility_20d) AS volatility_20d_mean,
        STDDEV_SAMP(volatility_20d) AS volatility_20d_std,
        AVG(profitability) AS profitability_mean,
        STDDEV_SAMP(profitability) AS profitability_std,
        AVG(growth) AS growth_mean,
        STDDEV_SAMP(growth) AS growth_std,
        AVG(sue) AS sue_mean,
        STDDEV_SAMP(sue) AS sue_std
      FROM clipped
      WHERE in_universe
      GROUP BY trade_date
    ), standardised AS (
      -- z-scores with them
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
      JOIN day_moments AS m
        ON m.trade_date = c.trade_date
    ), day_fit AS (
      -- weighted least squares of size^3 on size across the universe, weights sqrt(cap); a day
      -- without a universe to fit on has no row here, and so no rows in the table
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
        ) AS fitted
        GROUP BY trade_date
      ) AS sums
    ), midcap_raw AS (
      SELECT
        s.*,
        POWER(s.size, 3) - f.intercept - f.slope * s.size AS midcap
      FROM standardised AS s
      JOIN day_fit AS f
        ON f.trade_date = s.trade_date
    ), day_midcap_median AS (
      -- mid-cap is winsorised and standardised like the others
      SELECT trade_date, MEDIAN(midcap) AS midcap_median
      FROM midcap_raw
      WHERE in_universe
      GROUP BY trade_date
    ), day_midcap_bounds AS (
      SELECT
        m.trade_date,
        m.midcap_median,
        MEDIAN(ABS(r.midcap - m.midcap_median)) AS midcap_mad
      FROM midcap_raw AS r
      JOIN day_midcap_median AS m
        ON m.trade_date = r.trade_date
      WHERE r.in_universe
      GROUP BY m.trade_date, m.midcap_median
    ), midcap_clipped AS (
      SELECT
        r.*,
        @winsorised(r.midcap, b.midcap_median, b.midcap_mad) AS midcap_winsorised
      FROM midcap_raw AS r
      JOIN day_midcap_bounds AS b
        ON b.trade_date = r.trade_date
    ), day_midcap_moments AS (
      SELECT
        trade_date,
        AVG(midcap_winsorised) AS midcap_mean,
        STDDEV_SAMP(midcap_winsorised) AS midcap_std
      FROM midcap_clipped
      WHERE in_universe
      GROUP BY trade_date
    ), midcap_moments AS (
      SELECT c.*, m.midcap_mean, m.midcap_std
      FROM midcap_clipped AS c
      JOIN day_midcap_moments AS m
        ON m.trade_date = c.trade_date
    )
    SELECT * FROM midcap_moments
  ),
  (
    WITH windowed_medians AS (
      -- elsewhere (Spark), the same statistics as window aggregates beside every row of the day,
      -- so that each step reads the one before it once: Spark inlines every reference to a CTE,
      -- and the grouped form's tree of joins of joins runs out of memory there. Each factor's
      -- median over the day's universe,
      SELECT
        *,
        MEDIAN(CASE WHEN in_universe THEN size END) OVER day AS size_median,
        MEDIAN(CASE WHEN in_universe THEN bp END) OVER day AS bp_median,
        MEDIAN(CASE WHEN in_universe THEN ep END) OVER day AS ep_median,
        MEDIAN(CASE WHEN in_universe THEN momentum_20d END) OVER day AS momentum_20d_median,
        MEDIAN(CASE WHEN in_universe THEN liquidity_20d END) OVER day AS liquidity_20d_median,
        MEDIAN(CASE WHEN in_universe THEN volatility_20d END) OVER day AS volatility_20d_median,
        MEDIAN(CASE WHEN in_universe THEN profitability END) OVER day AS profitability_median,
        MEDIAN(CASE WHEN in_universe THEN growth END) OVER day AS growth_median,
        MEDIAN(CASE WHEN in_universe THEN sue END) OVER day AS sue_median
      FROM raw_factors
      WINDOW day AS (PARTITION BY trade_date)
    ), windowed_mads AS (
      -- and its median absolute deviation from that median, over the day's universe
      SELECT
        *,
        MEDIAN(CASE WHEN in_universe THEN ABS(size - size_median) END) OVER day AS size_mad,
        MEDIAN(CASE WHEN in_universe THEN ABS(bp - bp_median) END) OVER day AS bp_mad,
        MEDIAN(CASE WHEN in_universe THEN ABS(ep - ep_median) END) OVER day AS ep_mad,
        MEDIAN(CASE WHEN in_universe THEN ABS(momentum_20d - momentum_20d_median) END) OVER day AS momentum_20d_mad,
        MEDIAN(CASE WHEN in_universe THEN ABS(liquidity_20d - liquidity_20d_median) END) OVER day AS liquidity_20d_mad,
        MEDIAN(CASE WHEN in_universe THEN ABS(volatility_20d - volatility_20d_median) END) OVER day AS volatility_20d_mad,
        MEDIAN(CASE WHEN in_universe THEN ABS(profitability - profitability_median) END) OVER day AS profitability_mad,
        MEDIAN(CASE WHEN in_universe THEN ABS(growth - growth_median) END) OVER day AS growth_mad,
        MEDIAN(CASE WHEN in_universe THEN ABS(sue - sue_median) END) OVER day AS sue_mad
      FROM windowed_medians
      WINDOW day AS (PARTITION BY trade_date)
    ), windowed_clipped AS (
      SELECT
        stock_id,
        trade_date,
        in_universe,
        total_mv_yuan,
        @winsorised(size, size_median, size_mad) AS size,
        @winsorised(bp, bp_median, bp_mad) AS bp,
        @winsorised(ep, ep_median, ep_mad) AS ep,
        @winsorised(momentum_20d, momentum_20d_median, momentum_20d_mad) AS momentum_20d,
        @winsorised(liquidity_20d, liquidity_20d_median, liquidity_20d_mad) AS liquidity_20d,
        @winsorised(volatility_20d, volatility_20d_median, volatility_20d_mad) AS volatility_20d,
        @winsorised(profitability, profitability_median, profitability_mad) AS profitability,
        @winsorised(growth, growth_median, growth_mad) AS growth,
        @winsorised(sue, sue_median, sue_mad) AS sue
      FROM windowed_mads
    ), windowed_standardised AS (
      -- z-scores with the mean and standard deviation of the day's universe
      SELECT
        stock_id,
        trade_date,
        in_universe,
        total_mv_yuan,
        (size - AVG(CASE WHEN in_universe THEN size END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN size END) OVER day, 0) AS size,
        (bp - AVG(CASE WHEN in_universe THEN bp END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN bp END) OVER day, 0) AS bp,
        (ep - AVG(CASE WHEN in_universe THEN ep END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN ep END) OVER day, 0) AS ep,
        (momentum_20d - AVG(CASE WHEN in_universe THEN momentum_20d END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN momentum_20d END) OVER day, 0) AS momentum_20d,
        (liquidity_20d - AVG(CASE WHEN in_universe THEN liquidity_20d END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN liquidity_20d END) OVER day, 0) AS liquidity_20d,
        (volatility_20d - AVG(CASE WHEN in_universe THEN volatility_20d END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN volatility_20d END) OVER day, 0) AS volatility_20d,
        (profitability - AVG(CASE WHEN in_universe THEN profitability END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN profitability END) OVER day, 0) AS profitability,
        (growth - AVG(CASE WHEN in_universe THEN growth END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN growth END) OVER day, 0) AS growth,
        (sue - AVG(CASE WHEN in_universe THEN sue END) OVER day)
          / NULLIF(STDDEV_SAMP(CASE WHEN in_universe THEN sue END) OVER day, 0) AS sue
      FROM windowed_clipped
      WINDOW day AS (PARTITION BY trade_date)
    ), windowed_midcap_sums AS (
      -- weighted least squares of size^3 on size across the universe, weights sqrt(cap): its sums
      SELECT
        *,
        COUNT(CASE WHEN is_fitted THEN 1 END) OVER day AS fitted_rows,
        SUM(w) OVER day AS sw,
        SUM(w * size) OVER day AS swx,
        SUM(w * POWER(size, 3)) OVER day AS swy,
        SUM(w * POWER(size, 2)) OVER day AS swxx,
        SUM(w * POWER(size, 4)) OVER day AS swxy
      FROM (
        SELECT
          *,
          COALESCE(in_universe AND size IS NOT NULL, FALSE) AS is_fitted,
          CASE WHEN in_universe AND size IS NOT NULL THEN SQRT(total_mv_yuan) END AS w
        FROM windowed_standardised
      ) AS weighted
      WINDOW day AS (PARTITION BY trade_date)
    ), windowed_midcap_fit AS (
      SELECT
        *,
        (sw * swxy - swx * swy) / NULLIF(sw * swxx - swx * swx, 0) AS slope,
        (swy - (sw * swxy - swx * swy) / NULLIF(sw * swxx - swx * swx, 0) * swx) / sw AS intercept
      FROM windowed_midcap_sums
      WHERE fitted_rows > 0 -- a day without a universe to fit on has no rows
    ), windowed_midcap_raw AS (
      SELECT
        stock_id,
        trade_date,
        in_universe,
        total_mv_yuan,
        size,
        bp,
        ep,
        momentum_20d,
        liquidity_20d,
        volatility_20d,
        profitability,
        growth,
        sue,
        POWER(size, 3) - intercept - slope * size AS midcap
      FROM windowed_midcap_fit
    ), windowed_midcap_median AS (
      SELECT *, MEDIAN(CASE WHEN in_universe THEN midcap END) OVER day AS midcap_median
      FROM windowed_midcap_raw
      WINDOW day AS (PARTITION BY trade_date)
    ), windowed_midcap_mad AS (
      SELECT
        *,
        MEDIAN(CASE WHEN in_universe THEN ABS(midcap - midcap_median) END) OVER day AS midcap_mad
      FROM windowed_midcap_median
      WINDOW day AS (PARTITION BY trade_date)
    ), windowed_midcap_clipped AS (
      SELECT
        *,
        @winsorised(midcap, midcap_median, midcap_mad) AS midcap_winsorised
      FROM windowed_midcap_mad
    ), windowed_midcap_moments AS (
      SELECT
        *,
        AVG(CASE WHEN in_universe THEN midcap_winsorised END) OVER day AS midcap_mean,
        STDDEV_SAMP(CASE WHEN in_universe THEN midcap_winsorised END) OVER day AS midcap_std
      FROM windowed_midcap_clipped
      WINDOW day AS (PARTITION BY trade_date)
    )
    SELECT * FROM windowed_midcap_moments
  )
) AS c
LEFT JOIN staging.stg_citics_industry AS ind
  ON ind.stock_id = c.stock_id
  AND c.trade_date >= ind.start_date
  -- COALESCE, not "IS NULL OR": an OR in the condition forces a nested-loop join
  AND c.trade_date < COALESCE(ind.end_date, DATE '9999-12-31')
LEFT JOIN staging.stg_industry_names AS names
  ON names.industry_l1_code = ind.industry_l1_code
