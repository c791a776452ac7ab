-- The point-in-time versions of each stock's statements: one row per stock, report period and
-- version date, with the income statement, balance sheet and cash flow statement in force from
-- that version on (each statement keeps its own latest version). Each interval writes the
-- versions dated in it, computed from every row of their report periods, and reads no other
-- period: a day costs that day's announcements, not the history.
--
-- Which Wind rows are versions (the @pit_versions macro, transforms/macros/wind.py): where a
-- report period has a 408005000 row (a correction), 408005000 holds the original figures under
-- the original ANN_DT and 408004000 the corrected figures under the correction's ANN_DT;
-- 408001000 then carries the corrected figures under the ORIGINAL ANN_DT (Wind updates it in
-- place), so it is skipped: reading it would use the correction before it was announced.
-- Where a period has no 408005000 row, the 408001000 row is the original version, dated at the
-- later of ANN_DT and ACTUAL_ANN_DT (a late in-place update is not trusted before it happened),
-- and a 408004000 row (restated comparatives: last year's figures restated in this year's
-- annual report, while 408001000 keeps the original figures) replaces it from its own ANN_DT.
-- A version is usable from the first trading day strictly after its date (announcements come
-- after the close); intermediate.int_statement_history reads that day from the calendar when
-- it is built, because a version dated on the last loaded day has no next trading day yet.
MODEL (
  name intermediate.int_statement_versions,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column version_date
  ),
  -- versions announced before the daily models start are still in force after it
  start '1990-01-01',
  grain (stock_id, report_period, version_date),
  -- rendered without the optimiser, so typed here (why: stock_fundamental_quarterly.sql)
  optimize_query false,
  columns (
    stock_id TEXT,
    report_period DATE,
    version_date DATE,
    comp_type INT,
    is_restated BOOLEAN,
    revenue_ytd DOUBLE,
    cost_of_sales_ytd DOUBLE,
    operating_profit_ytd DOUBLE,
    net_profit_ytd DOUBLE,
    net_profit_incl_minority_ytd DOUBLE,
    operating_cash_flow_ytd DOUBLE,
    total_assets DOUBLE,
    total_liabilities DOUBLE,
    parent_equity DOUBLE,
    total_equity DOUBLE
  ),
  signals (raw_arrived()),
  audits (
    unique_combination_of_columns(columns := (stock_id, report_period, version_date)),
    not_null(columns := (stock_id, report_period, version_date))
  )
);

WITH touched AS (
  -- the stocks and report periods with a statement row announced or updated in the interval:
  -- a version's date is one of those two dates, so only these periods can have a version in
  -- it; each is computed from all of its rows, and no other period is read (the dates as
  -- stored: no date of the whole history is parsed to find the day's)
  SELECT stock_id, report_period FROM staging.stg_income
  WHERE wind_ann_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds)
    OR wind_actual_ann_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds)
  UNION
  SELECT stock_id, report_period FROM staging.stg_balance_sheet
  WHERE wind_ann_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds)
    OR wind_actual_ann_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds)
  UNION
  SELECT stock_id, report_period FROM staging.stg_cash_flow
  WHERE wind_ann_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds)
    OR wind_actual_ann_dt BETWEEN @wind_text(@start_ds) AND @wind_text(@end_ds)
), income_rows AS (
  SELECT s.*
  FROM staging.stg_income AS s
  JOIN touched AS t ON t.stock_id = s.stock_id AND t.report_period = s.report_period
), balance_rows AS (
  SELECT s.*
  FROM staging.stg_balance_sheet AS s
  JOIN touched AS t ON t.stock_id = s.stock_id AND t.report_period = s.report_period
), cash_flow_rows AS (
  SELECT s.*
  FROM staging.stg_cash_flow AS s
  JOIN touched AS t ON t.stock_id = s.stock_id AND t.report_period = s.report_period
), income AS (
  @pit_versions(income_rows)
), balance AS (
  @pit_versions(balance_rows)
), cash_flow AS (
  @pit_versions(cash_flow_rows)
), version_dates AS (
  -- the dates on which any of the three statements of a period changed
  SELECT stock_id, report_period, version_date, MAX(income_date) AS income_date,
    MAX(balance_date) AS balance_date, MAX(cash_flow_date) AS cash_flow_date
  FROM (
    SELECT stock_id, report_period, version_date, version_date AS income_date,
      NULL::DATE AS balance_date, NULL::DATE AS cash_flow_date
    FROM income
    UNION ALL
    -- every branch names its columns: Spark's optimiser fails on a branch that repeats one
    SELECT stock_id, report_period, version_date, NULL::DATE AS income_date,
      version_date AS balance_date, NULL::DATE AS cash_flow_date
    FROM balance
    UNION ALL
    SELECT stock_id, report_period, version_date, NULL::DATE AS income_date,
      NULL::DATE AS balance_date, version_date AS cash_flow_date
    FROM cash_flow
  ) AS changes
  GROUP BY stock_id, report_period, version_date
), in_force AS (
  -- each statement's latest version on or before the version date
  SELECT
    stock_id,
    report_period,
    version_date,
    MAX(income_date) OVER w AS income_date,
    MAX(balance_date) OVER w AS balance_date,
    MAX(cash_flow_date) OVER w AS cash_flow_date
  FROM version_dates
  WINDOW w AS (
    PARTITION BY stock_id, report_period ORDER BY version_date
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
  )
)
SELECT
  v.stock_id::TEXT AS stock_id, -- Wind code
  v.report_period::DATE AS report_period, -- quarter end the statements cover
  v.version_date::DATE AS version_date, -- announcement date of this version
  i.comp_type::INT AS comp_type, -- 1 non-financial, 2 bank, 3 insurer, 4 broker
  (COALESCE(i.is_restated, FALSE) OR COALESCE(b.is_restated, FALSE)
    OR COALESCE(c.is_restated, FALSE))::BOOLEAN AS is_restated, -- any statement is a correction
  i.total_revenue_ytd::DOUBLE AS revenue_ytd, -- total operating revenue, year to date, yuan
  i.cost_of_sales_ytd::DOUBLE AS cost_of_sales_ytd, -- cost of sales, year to date, yuan
  i.operating_profit_ytd::DOUBLE AS operating_profit_ytd, -- operating profit, year to date, yuan
  i.net_profit_ytd::DOUBLE AS net_profit_ytd, -- parent net profit, year to date, yuan
  i.net_profit_incl_minority_ytd::DOUBLE
    AS net_profit_incl_minority_ytd, -- net profit incl. minorities, year to date, yuan
  c.operating_cash_flow_ytd::DOUBLE
    AS operating_cash_flow_ytd, -- net operating cash flow, year to date, yuan
  b.total_assets::DOUBLE AS total_assets, -- total assets at period end, yuan
  b.total_liabilities::DOUBLE AS total_liabilities, -- total liabilities at period end, yuan
  b.parent_equity::DOUBLE AS parent_equity, -- equity attributable to the parent, yuan
  b.total_equity::DOUBLE AS total_equity -- equity incl. minorities at period end, yuan
FROM in_force AS v
LEFT JOIN income AS i
  ON i.stock_id = v.stock_id AND i.report_period = v.report_period
  AND i.version_date = v.income_date
LEFT JOIN balance AS b
  ON b.stock_id = v.stock_id AND b.report_period = v.report_period
  AND b.version_date = v.balance_date
LEFT JOIN cash_flow AS c
  ON c.stock_id = v.stock_id AND c.report_period = v.report_period
  AND c.version_date = v.cash_flow_date
WHERE v.version_date BETWEEN @start_ds AND @end_ds
