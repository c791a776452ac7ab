-- Balance sheets (raw.AShareBalanceSheet): one row per version, items at period end, in yuan.
MODEL (
  name staging.stg_balance_sheet,
  kind VIEW,
  grain (stock_id, report_period, statement_type, ann_date),
  audits (not_null(columns := (stock_id, ann_date, report_period, statement_type)))
);

SELECT
  @statement_keys(),
  monetary_cap::DOUBLE AS cash, -- cash, yuan
  acct_rcv::DOUBLE AS accounts_receivable, -- accounts receivable, yuan
  inventories::DOUBLE AS inventories, -- inventories, yuan
  tot_cur_assets::DOUBLE AS current_assets, -- total current assets, yuan
  tot_non_cur_assets::DOUBLE AS non_current_assets, -- total non-current assets, yuan
  tot_assets::DOUBLE AS total_assets, -- total assets, yuan
  tot_cur_liab::DOUBLE AS current_liabilities, -- total current liabilities, yuan
  tot_non_cur_liab::DOUBLE AS non_current_liabilities, -- total non-current liabilities, yuan
  tot_liab::DOUBLE AS total_liabilities, -- total liabilities, yuan
  tot_shrhldr_eqy_excl_min_int::DOUBLE AS parent_equity, -- equity attributable to the parent, yuan
  minority_int::DOUBLE AS minority_equity, -- minority interests, yuan
  tot_shrhldr_eqy_incl_min_int::DOUBLE AS total_equity -- total equity, yuan
FROM raw.asharebalancesheet
