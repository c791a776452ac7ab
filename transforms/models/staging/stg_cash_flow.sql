-- Cash-flow statements (raw.AShareCashFlow): one row per version, flows cumulative year to
-- date, in yuan.
MODEL (
  name staging.stg_cash_flow,
  kind VIEW,
  grain (stock_id, report_period, statement_type, ann_date),
  audits (not_null(columns := (stock_id, ann_date, report_period, statement_type)))
);

SELECT
  @statement_keys(),
  net_cash_flows_oper_act::DOUBLE AS operating_cash_flow_ytd, -- net operating cash flow, yuan
  net_cash_flows_inv_act::DOUBLE AS investing_cash_flow_ytd, -- net investing cash flow, yuan
  net_cash_flows_fnc_act::DOUBLE AS financing_cash_flow_ytd, -- net financing cash flow, yuan
  cash_cash_equ_end_period::DOUBLE AS cash_equivalents -- cash and equivalents at period end, yuan
FROM raw.asharecashflow
