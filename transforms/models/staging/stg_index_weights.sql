-- Index constituent weight snapshots (raw.AIndexFreeWeight); sparse, drifted in intermediate.
MODEL (
  name staging.stg_index_weights,
  kind VIEW,
  grain (index_id, stock_id, trade_date),
  audits (not_null(columns := (index_id, stock_id, trade_date, weight_pct)))
);

SELECT
  s_info_windcode::TEXT AS index_id, -- index code
  s_con_windcode::TEXT AS stock_id, -- constituent Wind code
  @wind_date(trade_dt) AS trade_date, -- snapshot date
  i_weight::DOUBLE AS weight_pct -- weight, percent
FROM raw.aindexfreeweight
