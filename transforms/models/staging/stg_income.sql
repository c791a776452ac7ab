-- Income statements (raw.AShareIncome): one row per version, items cumulative year to date,
-- in yuan. Which version is in force when is decided in intermediate, not here.
--
-- Two substitutes where a source lacks a figure (baostock's query_profit_data has neither;
-- `zoo data summary` lists the features served through them):
-- - total_revenue_ytd: total operating revenue, else operating revenue (the same for a
--   non-financial firm; a financial firm's total adds interest and commission income);
-- - net_profit_ytd: net profit attributable to the parent, else net profit including
--   minority interests (larger by the minorities' share).
-- The unsubstituted figures stay beside them (revenue_ytd, net_profit_incl_minority_ytd).
MODEL (
  name staging.stg_income,
  kind VIEW,
  grain (stock_id, report_period, statement_type, ann_date),
  audits (not_null(columns := (stock_id, ann_date, report_period, statement_type)))
);

SELECT
  @statement_keys(),
  COALESCE(tot_oper_rev, oper_rev)::DOUBLE AS total_revenue_ytd, -- total operating revenue (substitute above), yuan
  oper_rev::DOUBLE AS revenue_ytd, -- operating revenue, yuan
  tot_oper_cost::DOUBLE AS total_operating_cost_ytd, -- total operating cost, yuan
  less_oper_cost::DOUBLE AS cost_of_sales_ytd, -- cost of sales, yuan
  less_selling_dist_exp::DOUBLE AS selling_expense_ytd, -- selling expenses, yuan
  less_gerl_admin_exp::DOUBLE AS admin_expense_ytd, -- administrative expenses, yuan
  less_fin_exp::DOUBLE AS financial_expense_ytd, -- financial expenses, yuan
  oper_profit::DOUBLE AS operating_profit_ytd, -- operating profit, yuan
  tot_profit::DOUBLE AS profit_before_tax_ytd, -- total profit before tax, yuan
  inc_tax::DOUBLE AS income_tax_ytd, -- income tax, yuan
  net_profit_incl_min_int_inc::DOUBLE AS net_profit_incl_minority_ytd, -- net profit incl. minorities, yuan
  COALESCE(net_profit_excl_min_int_inc, net_profit_incl_min_int_inc)::DOUBLE AS net_profit_ytd, -- parent net profit (substitute above), yuan
  minority_int_inc::DOUBLE AS minority_profit_ytd -- minority interests, yuan
FROM raw.ashareincome
