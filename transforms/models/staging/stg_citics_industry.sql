-- CITIC industry membership periods (raw.AShareIndustriesClassCITICS), half-open.
MODEL (
  name staging.stg_citics_industry,
  kind VIEW,
  grain (stock_id, start_date),
  audits (not_null(columns := (stock_id, industry_code, start_date)))
);

SELECT
  s_info_windcode::TEXT AS stock_id, -- Wind code
  citics_ind_code::TEXT AS industry_code, -- full CITIC code
  SUBSTRING(citics_ind_code, 1, 4)::TEXT AS industry_l1_code, -- CITIC level-1 code (first 4 characters)
  @wind_date(entry_dt) AS start_date, -- first day in the industry
  @wind_date(remove_dt) AS end_date -- first day no longer in it (NULL: still)
FROM raw.ashareindustriesclasscitics
