-- Listed A-shares with listing and delisting dates (raw.AShareDescription).
MODEL (
  name staging.stg_stock_description,
  kind VIEW,
  grain stock_id,
  -- list_date may be NULL: a source that does not know it (int_daily_prices then counts the
  -- stock as listed from its first price row)
  audits (not_null(columns := (stock_id)), unique_values(columns := (stock_id)))
);

SELECT
  s_info_windcode::TEXT AS stock_id, -- Wind code
  s_info_name::TEXT AS stock_name, -- short name
  @wind_date(s_info_listdate) AS list_date, -- first trading day (NULL: unknown to the source)
  @wind_date(s_info_delistdate) AS delist_date, -- first day no longer listed (NULL: listed)
  s_info_exchmarket::TEXT AS exchange, -- SSE or SZSE
  s_info_listboardname::TEXT AS board -- 主板, 创业板 (ChiNext), 科创板 (STAR)
FROM raw.asharedescription
