-- Index membership periods (raw.AIndexMembers), half-open.
MODEL (
  name staging.stg_index_members,
  kind VIEW,
  grain (index_id, stock_id, start_date),
  audits (not_null(columns := (index_id, stock_id, start_date)))
);

SELECT
  s_info_windcode::TEXT AS index_id, -- index code
  s_con_windcode::TEXT AS stock_id, -- constituent Wind code
  @wind_date(s_con_indate) AS start_date, -- first day in the index
  @wind_date(s_con_outdate) AS end_date -- first day out of it (NULL: still in)
FROM raw.aindexmembers
