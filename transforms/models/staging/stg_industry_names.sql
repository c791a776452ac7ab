-- CITIC level-1 industry names (raw.AShareIndustriesCode, LEVELNUM 2 under 'b1').
MODEL (
  name staging.stg_industry_names,
  kind VIEW,
  grain industry_l1_code,
  audits (unique_values(columns := (industry_l1_code)))
);

SELECT
  SUBSTRING(industriescode, 1, 4)::TEXT AS industry_l1_code, -- CITIC level-1 code
  industriesname::TEXT AS industry_l1_name -- industry name
FROM raw.ashareindustriescode
WHERE levelnum = 2 AND industriescode LIKE 'b1%'
