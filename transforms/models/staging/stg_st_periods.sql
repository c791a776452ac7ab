-- Special-treatment periods (raw.AShareST), half-open: ST from start_date, not on end_date.
MODEL (
  name staging.stg_st_periods,
  kind VIEW,
  grain (stock_id, st_type, start_date),
  audits (not_null(columns := (stock_id, st_type, start_date)))
);

SELECT
  s_info_windcode::TEXT AS stock_id, -- Wind code
  s_type_st::TEXT AS st_type, -- S = ST, Z = listing suspended, P = PT, L = delisting arrangement
  @wind_date(entry_dt) AS start_date, -- first day under treatment
  @wind_date(remove_dt) AS end_date, -- first day no longer under treatment (NULL: still)
  @wind_date(ann_dt) AS ann_date -- announcement date
FROM raw.asharest
