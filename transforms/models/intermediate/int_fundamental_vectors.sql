-- The point-in-time fundamental vector of every stock on every date it changed, over the whole
-- history (a view: features.stock_fundamental_quarterly stores it one interval at a time and
-- documents its columns). Computed from intermediate.int_statement_history: the latest known
-- quarter's fundamentals and, per series, the last 12 quarters as an array (oldest first, NaN
-- where a quarter is not known).
--
-- A view rather than the published model's own query: `sqlmesh run` renders an incremental
-- model's query on every run, and @last_quarters expands to 228 aggregates that SQLMesh
-- re-parses and optimises (0.3-0.45 s of a one-day run); a view's query is rendered when it is
-- planned. The interval's filter on available_date reaches the history's scan through the
-- GROUP BY (it is a grouping column), so a day still reads one day.
MODEL (
  name intermediate.int_fundamental_vectors,
  kind VIEW
);

SELECT
  stock_id::TEXT AS stock_id,
  as_of_date::DATE AS available_date,
  MAX(report_period)::DATE AS latest_report_period,
  MAX(version_date)::DATE AS last_announced_date,
  MAX(CASE WHEN quarters_back = 0 THEN is_restated END)::BOOLEAN
    AS is_restated,
  MAX(comp_type)::INT AS comp_type,
  COUNT(net_profit_q)::INT AS quarters_known,
  MAX(CASE WHEN quarters_back = 0 THEN revenue_q END)::DOUBLE AS revenue_q,
  MAX(CASE WHEN quarters_back = 0 THEN revenue_ttm END)::DOUBLE AS revenue_ttm,
  MAX(CASE WHEN quarters_back = 0 THEN operating_profit_q END)::DOUBLE AS operating_profit_q,
  MAX(CASE WHEN quarters_back = 0 THEN operating_profit_ttm END)::DOUBLE AS operating_profit_ttm,
  MAX(CASE WHEN quarters_back = 0 THEN net_profit_q END)::DOUBLE AS net_profit_q,
  MAX(CASE WHEN quarters_back = 0 THEN net_profit_ttm END)::DOUBLE AS net_profit_ttm,
  MAX(CASE WHEN quarters_back = 0 THEN operating_cash_flow_q END)::DOUBLE AS operating_cash_flow_q,
  MAX(CASE WHEN quarters_back = 0 THEN operating_cash_flow_ttm END)::DOUBLE AS operating_cash_flow_ttm,
  MAX(CASE WHEN quarters_back = 0 THEN parent_equity END)::DOUBLE AS parent_equity,
  MAX(CASE WHEN quarters_back = 0 THEN total_assets END)::DOUBLE AS total_assets,
  MAX(CASE WHEN quarters_back = 0 THEN roe_ttm END)::DOUBLE AS roe_ttm,
  MAX(CASE WHEN quarters_back = 0 THEN roa_ttm END)::DOUBLE AS roa_ttm,
  MAX(CASE WHEN quarters_back = 0 THEN gross_margin_q END)::DOUBLE AS gross_margin_q,
  MAX(CASE WHEN quarters_back = 0 THEN net_margin_q END)::DOUBLE AS net_margin_q,
  MAX(CASE WHEN quarters_back = 0 THEN revenue_yoy END)::DOUBLE AS revenue_yoy,
  MAX(CASE WHEN quarters_back = 0 THEN net_profit_yoy END)::DOUBLE AS net_profit_yoy,
  MAX(CASE WHEN quarters_back = 0 THEN accruals_ttm END)::DOUBLE AS accruals_ttm,
  MAX(CASE WHEN quarters_back = 0 THEN leverage END)::DOUBLE AS leverage,
  MAX(CASE WHEN quarters_back = 0 THEN sue END)::DOUBLE AS sue,
  @last_quarters(revenue_q, 12)::DOUBLE[] AS revenue_q_12q,
  @last_quarters(revenue_ttm, 12)::DOUBLE[] AS revenue_ttm_12q,
  @last_quarters(operating_profit_q, 12)::DOUBLE[] AS operating_profit_q_12q,
  @last_quarters(operating_profit_ttm, 12)::DOUBLE[] AS operating_profit_ttm_12q,
  @last_quarters(net_profit_q, 12)::DOUBLE[] AS net_profit_q_12q,
  @last_quarters(net_profit_ttm, 12)::DOUBLE[] AS net_profit_ttm_12q,
  @last_quarters(operating_cash_flow_q, 12)::DOUBLE[] AS operating_cash_flow_q_12q,
  @last_quarters(operating_cash_flow_ttm, 12)::DOUBLE[] AS operating_cash_flow_ttm_12q,
  @last_quarters(parent_equity, 12)::DOUBLE[] AS parent_equity_12q,
  @last_quarters(total_assets, 12)::DOUBLE[] AS total_assets_12q,
  @last_quarters(roe_ttm, 12)::DOUBLE[] AS roe_ttm_12q,
  @last_quarters(roa_ttm, 12)::DOUBLE[] AS roa_ttm_12q,
  @last_quarters(gross_margin_q, 12)::DOUBLE[] AS gross_margin_q_12q,
  @last_quarters(net_margin_q, 12)::DOUBLE[] AS net_margin_q_12q,
  @last_quarters(revenue_yoy, 12)::DOUBLE[] AS revenue_yoy_12q,
  @last_quarters(net_profit_yoy, 12)::DOUBLE[] AS net_profit_yoy_12q,
  @last_quarters(accruals_ttm, 12)::DOUBLE[] AS accruals_ttm_12q,
  @last_quarters(leverage, 12)::DOUBLE[] AS leverage_12q,
  @last_quarters(sue, 12)::DOUBLE[] AS sue_12q
FROM intermediate.int_statement_history
WHERE quarters_back < 12
GROUP BY stock_id, as_of_date
