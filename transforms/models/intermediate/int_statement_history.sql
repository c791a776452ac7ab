-- The statement history as known on each date something changed: for every stock and every
-- date on which one of its statement versions became usable (as_of_date), the version in force
-- of each of its last 25 report periods, with the derived quarterly series: single quarters
-- from year-to-date figures (Q1 as reported, Qn = YTD_n - YTD_{n-1}), TTM from year-to-date
-- figures (TTM_t = YTD_t + FY_{y-1} - YTD_{t, y-1}, the annual as reported; at Q4 the annual
-- itself: the sum of the last four single quarters where those are known, and defined where
-- one of them is not), values four quarters back, YoY growth, and SUE.
--
-- 25 periods are enough for the 12-quarter vectors of stock_fundamental_quarterly: SUE of the
-- oldest of them needs 12 more single quarters, and the oldest of those one more YTD figure.
-- Quarters are placed on a quarter index (4 x year + quarter), and every "previous quarter" is
-- a RANGE frame on it, so a missing period gives NULL instead of silently pairing the wrong
-- quarters. Each interval only adds rows for its own as-of dates, reading every version usable
-- on or before them, so restatements announced later never reach back.
MODEL (
  name intermediate.int_statement_history,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column as_of_date
  ),
  grain (stock_id, as_of_date, report_period),
  -- rendered without the optimiser, so typed here (why: stock_fundamental_quarterly.sql)
  optimize_query false,
  columns (
    stock_id TEXT,
    as_of_date DATE,
    report_period DATE,
    quarters_back INT,
    version_date DATE,
    is_restated BOOLEAN,
    comp_type INT,
    revenue_ytd DOUBLE,
    revenue_q DOUBLE,
    revenue_ttm DOUBLE,
    cost_of_sales_q DOUBLE,
    operating_profit_q DOUBLE,
    operating_profit_ttm DOUBLE,
    net_profit_ytd DOUBLE,
    net_profit_q DOUBLE,
    net_profit_ttm DOUBLE,
    net_profit_incl_minority_ttm DOUBLE,
    operating_cash_flow_q DOUBLE,
    operating_cash_flow_ttm DOUBLE,
    revenue_q_4q_ago DOUBLE,
    net_profit_q_4q_ago DOUBLE,
    total_assets DOUBLE,
    total_liabilities DOUBLE,
    parent_equity DOUBLE,
    roe_ttm DOUBLE,
    roa_ttm DOUBLE,
    gross_margin_q DOUBLE,
    net_margin_q DOUBLE,
    revenue_yoy DOUBLE,
    net_profit_yoy DOUBLE,
    accruals_ttm DOUBLE,
    leverage DOUBLE,
    sue DOUBLE
  ),
  signals (raw_arrived()),
  audits (
    unique_combination_of_columns(columns := (stock_id, as_of_date, report_period)),
    not_null(columns := (stock_id, as_of_date, report_period, quarters_back)),
    statement_not_before_announcement(as_of := as_of_date, announced := version_date),
    in_range(column := quarters_back, low := 0, high := 24)
  )
);

WITH versions AS (
  -- each version with the first trading day it is usable: the first trading day strictly
  -- after its date (announcements come after the close). Read from the calendar now, not when
  -- the version was written: a version dated on the last loaded day had no next trading day
  -- then, and is usable from the day the next extract brings.
  SELECT v.*, cal.next_trading_day AS available_date
  FROM intermediate.int_statement_versions AS v
  JOIN intermediate.int_calendar_days AS cal
    ON cal.calendar_date = v.version_date
), as_of_dates AS (
  SELECT DISTINCT stock_id, available_date AS as_of_date
  FROM versions
  WHERE available_date BETWEEN @start_ds AND @end_ds
), known AS (
  -- the latest version of each report period usable on the as-of date
  SELECT
    d.as_of_date,
    v.*,
    YEAR(v.report_period) * 4 + QUARTER(v.report_period) AS quarter_index
  FROM as_of_dates AS d
  JOIN versions AS v
    ON v.stock_id = d.stock_id AND v.available_date <= d.as_of_date
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY v.stock_id, d.as_of_date, v.report_period ORDER BY v.version_date DESC
  ) = 1
), recent AS (
  SELECT
    *,
    MAX(quarter_index) OVER (PARTITION BY stock_id, as_of_date) - quarter_index AS quarters_back
  FROM known
), single_quarter AS (
  SELECT
    *,
    CASE WHEN QUARTER(report_period) = 1 THEN revenue_ytd
      ELSE revenue_ytd - MAX(revenue_ytd) OVER previous END AS revenue_q,
    CASE WHEN QUARTER(report_period) = 1 THEN cost_of_sales_ytd
      ELSE cost_of_sales_ytd - MAX(cost_of_sales_ytd) OVER previous END AS cost_of_sales_q,
    CASE WHEN QUARTER(report_period) = 1 THEN operating_profit_ytd
      ELSE operating_profit_ytd - MAX(operating_profit_ytd) OVER previous END
      AS operating_profit_q,
    CASE WHEN QUARTER(report_period) = 1 THEN net_profit_ytd
      ELSE net_profit_ytd - MAX(net_profit_ytd) OVER previous END AS net_profit_q,
    CASE WHEN QUARTER(report_period) = 1 THEN net_profit_incl_minority_ytd
      ELSE net_profit_incl_minority_ytd - MAX(net_profit_incl_minority_ytd) OVER previous END
      AS net_profit_incl_minority_q,
    CASE WHEN QUARTER(report_period) = 1 THEN operating_cash_flow_ytd
      ELSE operating_cash_flow_ytd - MAX(operating_cash_flow_ytd) OVER previous END
      AS operating_cash_flow_q
  FROM recent
  WHERE quarters_back <= 24
  WINDOW previous AS (
    PARTITION BY stock_id, as_of_date ORDER BY quarter_index
    RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING
  )
), trailing AS (
  SELECT
    *,
    -- TTM from year-to-date figures (see the header): needs no single quarter
    @ttm_from_ytd(revenue_ytd) AS revenue_ttm,
    @ttm_from_ytd(operating_profit_ytd) AS operating_profit_ttm,
    @ttm_from_ytd(net_profit_ytd) AS net_profit_ttm,
    @ttm_from_ytd(net_profit_incl_minority_ytd) AS net_profit_incl_minority_ttm,
    @ttm_from_ytd(operating_cash_flow_ytd) AS operating_cash_flow_ttm,
    MAX(revenue_q) OVER year_ago AS revenue_q_4q_ago,
    MAX(net_profit_q) OVER year_ago AS net_profit_q_4q_ago,
    net_profit_q - MAX(net_profit_q) OVER year_ago AS net_profit_q_change_yoy
  FROM single_quarter
  WINDOW
    year_ago AS (
      PARTITION BY stock_id, as_of_date ORDER BY quarter_index
      RANGE BETWEEN 4 PRECEDING AND 4 PRECEDING
    )
), surprise AS (
  SELECT
    *,
    -- SUE: this quarter's YoY change against the mean and spread of the previous 8 changes
    CASE
      WHEN COUNT(net_profit_q_change_yoy) OVER previous_8 = 8
        AND STDDEV_POP(net_profit_q_change_yoy) OVER previous_8 > 0
      THEN (net_profit_q_change_yoy - AVG(net_profit_q_change_yoy) OVER previous_8)
        / STDDEV_POP(net_profit_q_change_yoy) OVER previous_8
    END AS sue
  FROM trailing
  WINDOW previous_8 AS (
    PARTITION BY stock_id, as_of_date ORDER BY quarter_index
    RANGE BETWEEN 8 PRECEDING AND 1 PRECEDING
  )
)
SELECT
  stock_id::TEXT AS stock_id, -- Wind code
  as_of_date::DATE AS as_of_date, -- the day this history is known (from that day's open)
  report_period::DATE AS report_period, -- quarter end
  quarters_back::INT AS quarters_back, -- 0 for the latest known report period
  version_date::DATE AS version_date, -- announcement date of the version in force
  is_restated::BOOLEAN AS is_restated, -- the version in force is a correction
  comp_type::INT AS comp_type, -- 1 non-financial, 2 bank, 3 insurer, 4 broker
  revenue_ytd::DOUBLE AS revenue_ytd, -- total operating revenue, year to date, yuan
  revenue_q::DOUBLE AS revenue_q, -- total operating revenue, single quarter, yuan
  revenue_ttm::DOUBLE AS revenue_ttm, -- total operating revenue, trailing 4 quarters, yuan
  cost_of_sales_q::DOUBLE AS cost_of_sales_q, -- cost of sales, single quarter, yuan
  operating_profit_q::DOUBLE AS operating_profit_q, -- operating profit, single quarter, yuan
  operating_profit_ttm::DOUBLE AS operating_profit_ttm, -- operating profit, trailing 4 quarters, yuan
  net_profit_ytd::DOUBLE AS net_profit_ytd, -- parent net profit, year to date, yuan
  net_profit_q::DOUBLE AS net_profit_q, -- parent net profit, single quarter, yuan
  net_profit_ttm::DOUBLE AS net_profit_ttm, -- parent net profit, trailing 4 quarters, yuan
  net_profit_incl_minority_ttm::DOUBLE
    AS net_profit_incl_minority_ttm, -- net profit incl. minorities, trailing 4 quarters, yuan
  operating_cash_flow_q::DOUBLE AS operating_cash_flow_q, -- operating cash flow, single quarter, yuan
  operating_cash_flow_ttm::DOUBLE
    AS operating_cash_flow_ttm, -- operating cash flow, trailing 4 quarters, yuan
  revenue_q_4q_ago::DOUBLE AS revenue_q_4q_ago, -- single-quarter revenue 4 quarters earlier, yuan
  net_profit_q_4q_ago::DOUBLE
    AS net_profit_q_4q_ago, -- single-quarter parent net profit 4 quarters earlier, yuan
  total_assets::DOUBLE AS total_assets, -- total assets at period end, yuan
  total_liabilities::DOUBLE AS total_liabilities, -- total liabilities at period end, yuan
  parent_equity::DOUBLE AS parent_equity, -- equity attributable to the parent, yuan
  (net_profit_ttm / NULLIF(parent_equity, 0))::DOUBLE AS roe_ttm, -- TTM parent net profit / parent equity
  (net_profit_incl_minority_ttm / NULLIF(total_assets, 0))::DOUBLE
    AS roa_ttm, -- TTM net profit incl. minorities / total assets
  ((revenue_q - cost_of_sales_q) / NULLIF(revenue_q, 0))::DOUBLE
    AS gross_margin_q, -- (revenue - cost of sales) / revenue, single quarter
  (net_profit_q / NULLIF(revenue_q, 0))::DOUBLE AS net_margin_q, -- parent net profit / revenue, single quarter
  ((revenue_q - revenue_q_4q_ago) / NULLIF(ABS(revenue_q_4q_ago), 0))::DOUBLE
    AS revenue_yoy, -- single-quarter revenue growth on the same quarter a year earlier
  ((net_profit_q - net_profit_q_4q_ago) / NULLIF(ABS(net_profit_q_4q_ago), 0))::DOUBLE
    AS net_profit_yoy, -- single-quarter parent net profit growth on a year earlier
  ((net_profit_incl_minority_ttm - operating_cash_flow_ttm) / NULLIF(total_assets, 0))::DOUBLE
    AS accruals_ttm, -- (TTM net profit - TTM operating cash flow) / total assets
  (total_liabilities / NULLIF(total_assets, 0))::DOUBLE AS leverage, -- total liabilities / total assets
  sue::DOUBLE AS sue -- standardised unexpected earnings (NULL without 13 quarters of history)
FROM surprise
