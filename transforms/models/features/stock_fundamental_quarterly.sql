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
  -- Rendered without SQLMesh's optimiser: qualifying and typing the 228 aggregates of
  -- @last_quarters was most of the time a one-day run spent rendering this model. Without
  -- it SQLMesh cannot type the projections, so they are declared here, as the query casts
  -- them (tests/transforms/test_project.py holds the two equal).
  optimize_query false,
  columns (
    stock_id TEXT,
    available_date DATE,
    latest_report_period DATE,
    last_announced_date DATE,
    is_restated BOOLEAN,
    comp_type INT,
    quarters_known INT,
    revenue_q DOUBLE,
    revenue_ttm DOUBLE,
    operating_profit_q DOUBLE,
    operating_profit_ttm DOUBLE,
    net_profit_q DOUBLE,
    net_profit_ttm DOUBLE,
    operating_cash_flow_q DOUBLE,
    operating_cash_flow_ttm DOUBLE,
    parent_equity DOUBLE,
    total_assets DOUBLE,
    roe_ttm DOUBLE,
    roa_ttm DOUBLE,
    gross_margin_q DOUBLE,
    net_margin_q DOUBLE,
    revenue_yoy DOUBLE,
    net_profit_yoy DOUBLE,
    accruals_ttm DOUBLE,
    leverage DOUBLE,
    sue DOUBLE,
    revenue_q_12q DOUBLE[],
    revenue_ttm_12q DOUBLE[],
    operating_profit_q_12q DOUBLE[],
    operating_profit_ttm_12q DOUBLE[],
    net_profit_q_12q DOUBLE[],
    net_profit_ttm_12q DOUBLE[],
    operating_cash_flow_q_12q DOUBLE[],
    operating_cash_flow_ttm_12q DOUBLE[],
    parent_equity_12q DOUBLE[],
    total_assets_12q DOUBLE[],
    roe_ttm_12q DOUBLE[],
    roa_ttm_12q DOUBLE[],
    gross_margin_q_12q DOUBLE[],
    net_margin_q_12q DOUBLE[],
    revenue_yoy_12q DOUBLE[],
    net_profit_yoy_12q DOUBLE[],
    accruals_ttm_12q DOUBLE[],
    leverage_12q DOUBLE[],
    sue_12q DOUBLE[]
  ),
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
  stock_id::TEXT AS stock_id, -- Wind code
  as_of_date::DATE AS available_date, -- first trading day this vector is known (from the open)
  MAX(report_period)::DATE AS latest_report_period, -- the latest known quarter end
  MAX(version_date)::DATE AS last_announced_date, -- newest announcement among the 12 quarters used
  MAX(CASE WHEN quarters_back = 0 THEN is_restated END)::BOOLEAN
    AS is_restated, -- the latest quarter's figures are a correction
  MAX(comp_type)::INT AS comp_type, -- 1 non-financial, 2 bank, 3 insurer, 4 broker
  COUNT(net_profit_q)::INT AS quarters_known, -- quarters of the 12 with a known single-quarter profit
  MAX(CASE WHEN quarters_back = 0 THEN revenue_q END)::DOUBLE AS revenue_q, -- latest quarter: total operating revenue, single quarter, yuan
  MAX(CASE WHEN quarters_back = 0 THEN revenue_ttm END)::DOUBLE AS revenue_ttm, -- latest quarter: total operating revenue, trailing 4 quarters, yuan
  MAX(CASE WHEN quarters_back = 0 THEN operating_profit_q END)::DOUBLE AS operating_profit_q, -- latest quarter: operating profit, single quarter, yuan
  MAX(CASE WHEN quarters_back = 0 THEN operating_profit_ttm END)::DOUBLE AS operating_profit_ttm, -- latest quarter: operating profit, trailing 4 quarters, yuan
  MAX(CASE WHEN quarters_back = 0 THEN net_profit_q END)::DOUBLE AS net_profit_q, -- latest quarter: parent net profit, single quarter, yuan
  MAX(CASE WHEN quarters_back = 0 THEN net_profit_ttm END)::DOUBLE AS net_profit_ttm, -- latest quarter: parent net profit, trailing 4 quarters, yuan
  MAX(CASE WHEN quarters_back = 0 THEN operating_cash_flow_q END)::DOUBLE AS operating_cash_flow_q, -- latest quarter: operating cash flow, single quarter, yuan
  MAX(CASE WHEN quarters_back = 0 THEN operating_cash_flow_ttm END)::DOUBLE AS operating_cash_flow_ttm, -- latest quarter: operating cash flow, trailing 4 quarters, yuan
  MAX(CASE WHEN quarters_back = 0 THEN parent_equity END)::DOUBLE AS parent_equity, -- latest quarter: equity attributable to the parent at period end, yuan
  MAX(CASE WHEN quarters_back = 0 THEN total_assets END)::DOUBLE AS total_assets, -- latest quarter: total assets at period end, yuan
  MAX(CASE WHEN quarters_back = 0 THEN roe_ttm END)::DOUBLE AS roe_ttm, -- latest quarter: TTM parent net profit / parent equity
  MAX(CASE WHEN quarters_back = 0 THEN roa_ttm END)::DOUBLE AS roa_ttm, -- latest quarter: TTM net profit incl. minorities / total assets
  MAX(CASE WHEN quarters_back = 0 THEN gross_margin_q END)::DOUBLE AS gross_margin_q, -- latest quarter: (revenue - cost of sales) / revenue, single quarter
  MAX(CASE WHEN quarters_back = 0 THEN net_margin_q END)::DOUBLE AS net_margin_q, -- latest quarter: parent net profit / revenue, single quarter
  MAX(CASE WHEN quarters_back = 0 THEN revenue_yoy END)::DOUBLE AS revenue_yoy, -- latest quarter: single-quarter revenue growth on a year earlier
  MAX(CASE WHEN quarters_back = 0 THEN net_profit_yoy END)::DOUBLE AS net_profit_yoy, -- latest quarter: single-quarter parent net profit growth on a year earlier
  MAX(CASE WHEN quarters_back = 0 THEN accruals_ttm END)::DOUBLE AS accruals_ttm, -- latest quarter: (TTM net profit - TTM operating cash flow) / total assets
  MAX(CASE WHEN quarters_back = 0 THEN leverage END)::DOUBLE AS leverage, -- latest quarter: total liabilities / total assets
  MAX(CASE WHEN quarters_back = 0 THEN sue END)::DOUBLE AS sue, -- latest quarter: standardised unexpected earnings (13 quarters of history)
  @last_quarters(revenue_q, 12)::DOUBLE[] AS revenue_q_12q, -- last 12 quarters, oldest first: total operating revenue, single quarter, yuan
  @last_quarters(revenue_ttm, 12)::DOUBLE[] AS revenue_ttm_12q, -- last 12 quarters, oldest first: total operating revenue, trailing 4 quarters, yuan
  @last_quarters(operating_profit_q, 12)::DOUBLE[] AS operating_profit_q_12q, -- last 12 quarters, oldest first: operating profit, single quarter, yuan
  @last_quarters(operating_profit_ttm, 12)::DOUBLE[] AS operating_profit_ttm_12q, -- last 12 quarters, oldest first: operating profit, trailing 4 quarters, yuan
  @last_quarters(net_profit_q, 12)::DOUBLE[] AS net_profit_q_12q, -- last 12 quarters, oldest first: parent net profit, single quarter, yuan
  @last_quarters(net_profit_ttm, 12)::DOUBLE[] AS net_profit_ttm_12q, -- last 12 quarters, oldest first: parent net profit, trailing 4 quarters, yuan
  @last_quarters(operating_cash_flow_q, 12)::DOUBLE[] AS operating_cash_flow_q_12q, -- last 12 quarters, oldest first: operating cash flow, single quarter, yuan
  @last_quarters(operating_cash_flow_ttm, 12)::DOUBLE[] AS operating_cash_flow_ttm_12q, -- last 12 quarters, oldest first: operating cash flow, trailing 4 quarters, yuan
  @last_quarters(parent_equity, 12)::DOUBLE[] AS parent_equity_12q, -- last 12 quarters, oldest first: equity attributable to the parent at period end, yuan
  @last_quarters(total_assets, 12)::DOUBLE[] AS total_assets_12q, -- last 12 quarters, oldest first: total assets at period end, yuan
  @last_quarters(roe_ttm, 12)::DOUBLE[] AS roe_ttm_12q, -- last 12 quarters, oldest first: TTM parent net profit / parent equity
  @last_quarters(roa_ttm, 12)::DOUBLE[] AS roa_ttm_12q, -- last 12 quarters, oldest first: TTM net profit incl. minorities / total assets
  @last_quarters(gross_margin_q, 12)::DOUBLE[] AS gross_margin_q_12q, -- last 12 quarters, oldest first: (revenue - cost of sales) / revenue, single quarter
  @last_quarters(net_margin_q, 12)::DOUBLE[] AS net_margin_q_12q, -- last 12 quarters, oldest first: parent net profit / revenue, single quarter
  @last_quarters(revenue_yoy, 12)::DOUBLE[] AS revenue_yoy_12q, -- last 12 quarters, oldest first: single-quarter revenue growth on a year earlier
  @last_quarters(net_profit_yoy, 12)::DOUBLE[] AS net_profit_yoy_12q, -- last 12 quarters, oldest first: single-quarter parent net profit growth on a year earlier
  @last_quarters(accruals_ttm, 12)::DOUBLE[] AS accruals_ttm_12q, -- last 12 quarters, oldest first: (TTM net profit - TTM operating cash flow) / total assets
  @last_quarters(leverage, 12)::DOUBLE[] AS leverage_12q, -- last 12 quarters, oldest first: total liabilities / total assets
  @last_quarters(sue, 12)::DOUBLE[] AS sue_12q -- last 12 quarters, oldest first: standardised unexpected earnings (13 quarters of history)
FROM intermediate.int_statement_history
WHERE as_of_date BETWEEN @start_ds AND @end_ds
  AND quarters_back < 12
GROUP BY stock_id, as_of_date
