-- The point-in-time fundamental vector of each stock on each date it changed: the latest known
-- quarter's fundamentals and the last 12 quarters of each as arrays (oldest first, NaN where a
-- quarter is not known), as known from `available_date` on (the first trading day after the
-- announcement of the newest version used). A row holds until the stock's next row; retrieve
-- it as of a date with an as-of join (Feast does this).
MODEL (
  name features.stock_fundamental_quarterly,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column available_date
  ),
  grain (stock_id, available_date),
  signals (raw_arrived()),
  audits (
    unique_combination_of_columns(columns := (stock_id, available_date)),
    not_null(columns := (stock_id, available_date, latest_report_period, last_announced_date)),
    statement_not_before_announcement(as_of := available_date, announced := last_announced_date),
    -- 0 is legitimate: a first report that is not a Q1 (a mid-year IPO's H1) has no single
    -- quarter yet
    in_range(column := quarters_known, low := 0, high := 12)
  )
);

SELECT
  stock_id, -- Wind code
  available_date, -- first trading day this vector is known (from the open)
  latest_report_period, -- the latest known quarter end
  last_announced_date, -- newest announcement among the 12 quarters used
  is_restated, -- the latest quarter's figures are a correction
  comp_type, -- 1 non-financial, 2 bank, 3 insurer, 4 broker
  quarters_known, -- quarters of the 12 with a known single-quarter profit
  revenue_q, -- latest quarter: total operating revenue, single quarter, yuan
  revenue_ttm, -- latest quarter: total operating revenue, trailing 4 quarters, yuan
  operating_profit_q, -- latest quarter: operating profit, single quarter, yuan
  operating_profit_ttm, -- latest quarter: operating profit, trailing 4 quarters, yuan
  net_profit_q, -- latest quarter: parent net profit, single quarter, yuan
  net_profit_ttm, -- latest quarter: parent net profit, trailing 4 quarters, yuan
  operating_cash_flow_q, -- latest quarter: operating cash flow, single quarter, yuan
  operating_cash_flow_ttm, -- latest quarter: operating cash flow, trailing 4 quarters, yuan
  parent_equity, -- latest quarter: equity attributable to the parent at period end, yuan
  total_assets, -- latest quarter: total assets at period end, yuan
  roe_ttm, -- latest quarter: TTM parent net profit / parent equity
  roa_ttm, -- latest quarter: TTM net profit incl. minorities / total assets
  gross_margin_q, -- latest quarter: (revenue - cost of sales) / revenue, single quarter
  net_margin_q, -- latest quarter: parent net profit / revenue, single quarter
  revenue_yoy, -- latest quarter: single-quarter revenue growth on a year earlier
  net_profit_yoy, -- latest quarter: single-quarter parent net profit growth on a year earlier
  accruals_ttm, -- latest quarter: (TTM net profit - TTM operating cash flow) / total assets
  leverage, -- latest quarter: total liabilities / total assets
  sue, -- latest quarter: standardised unexpected earnings (13 quarters of history)
  revenue_q_12q, -- last 12 quarters, oldest first: total operating revenue, single quarter, yuan
  revenue_ttm_12q, -- last 12 quarters, oldest first: total operating revenue, trailing 4 quarters, yuan
  operating_profit_q_12q, -- last 12 quarters, oldest first: operating profit, single quarter, yuan
  operating_profit_ttm_12q, -- last 12 quarters, oldest first: operating profit, trailing 4 quarters, yuan
  net_profit_q_12q, -- last 12 quarters, oldest first: parent net profit, single quarter, yuan
  net_profit_ttm_12q, -- last 12 quarters, oldest first: parent net profit, trailing 4 quarters, yuan
  operating_cash_flow_q_12q, -- last 12 quarters, oldest first: operating cash flow, single quarter, yuan
  operating_cash_flow_ttm_12q, -- last 12 quarters, oldest first: operating cash flow, trailing 4 quarters, yuan
  parent_equity_12q, -- last 12 quarters, oldest first: equity attributable to the parent at period end, yuan
  total_assets_12q, -- last 12 quarters, oldest first: total assets at period end, yuan
  roe_ttm_12q, -- last 12 quarters, oldest first: TTM parent net profit / parent equity
  roa_ttm_12q, -- last 12 quarters, oldest first: TTM net profit incl. minorities / total assets
  gross_margin_q_12q, -- last 12 quarters, oldest first: (revenue - cost of sales) / revenue, single quarter
  net_margin_q_12q, -- last 12 quarters, oldest first: parent net profit / revenue, single quarter
  revenue_yoy_12q, -- last 12 quarters, oldest first: single-quarter revenue growth on a year earlier
  net_profit_yoy_12q, -- last 12 quarters, oldest first: single-quarter parent net profit growth on a year earlier
  accruals_ttm_12q, -- last 12 quarters, oldest first: (TTM net profit - TTM operating cash flow) / total assets
  leverage_12q, -- last 12 quarters, oldest first: total liabilities / total assets
  sue_12q -- last 12 quarters, oldest first: standardised unexpected earnings (13 quarters of history)
FROM intermediate.int_fundamental_vectors
WHERE available_date BETWEEN @start_ds AND @end_ds
