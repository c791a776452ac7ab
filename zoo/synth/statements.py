"""The accounting of one quarter: single-quarter income statement, period-end balance sheet
and cash flows from a few drivers, with Wind's identities holding exactly:

OPER_PROFIT = TOT_OPER_REV - TOT_OPER_COST, TOT_PROFIT = NET_PROFIT_INCL + INC_TAX,
NET_PROFIT_INCL = EXCL + MINORITY_INT_INC, TOT_ASSETS = TOT_LIAB + equity incl. minorities =
TOT_LIAB_SHRHLDR_EQY, equity incl. = excl. + MINORITY_INT, current + non-current = total, and
the cash flows sum to the change in period-end cash (financing is what reconciles it). Income
and cash flow are published cumulative year to date (`_accumulate`), the balance sheet at
period end. The split into items uses per-firm constants drawn once (`_FirmConstants`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _income_items(rev: np.ndarray, margin: np.ndarray, p: _FirmConstants,
                  nonop: np.ndarray) -> dict[str, np.ndarray]:
    """Single-quarter income statement from revenue and net margin (identities hold)."""
    np_incl = rev * margin
    tot_profit = np.where(np_incl > 0, np_incl / (1 - p.tax_rate), np_incl)
    oper_profit = tot_profit - nonop
    tot_oper_cost = rev - oper_profit
    other = 0.01 * rev
    expenses = rev * (p.selling + p.admin + p.finance) + other
    shrink = np.minimum(1.0, np.maximum(tot_oper_cost - 0.05 * rev, 0.0) / expenses)
    selling, admin, finance = (rev * r * shrink for r in (p.selling, p.admin, p.finance))
    minority = np_incl * p.minority
    return {
        "TOT_OPER_REV": rev,
        "OPER_REV": rev,
        "TOT_OPER_COST": tot_oper_cost,
        "LESS_OPER_COST": tot_oper_cost - selling - admin - finance - other * shrink,
        "LESS_SELLING_DIST_EXP": selling,
        "LESS_GERL_ADMIN_EXP": admin,
        "LESS_FIN_EXP": finance,
        "OPER_PROFIT": oper_profit,
        "TOT_PROFIT": tot_profit,
        "INC_TAX": tot_profit - np_incl,
        "NET_PROFIT_INCL_MIN_INT_INC": np_incl,
        "NET_PROFIT_EXCL_MIN_INT_INC": np_incl - minority,
        "MINORITY_INT_INC": minority,
    }


def _balance_items(assets: np.ndarray, equity: np.ndarray,
                   p: _FirmConstants) -> dict[str, np.ndarray]:
    """Period-end balance sheet from total assets and total equity (identities hold)."""
    liab = assets - equity
    cur_assets = assets * p.current_assets
    cur_liab = liab * p.current_liab
    minority = equity * p.minority
    return {
        "MONETARY_CAP": cur_assets * p.cash_share,
        "ACCT_RCV": cur_assets * p.receivable_share,
        "INVENTORIES": cur_assets * p.inventory_share,
        "TOT_CUR_ASSETS": cur_assets,
        "TOT_NON_CUR_ASSETS": assets - cur_assets,
        "TOT_ASSETS": assets,
        "TOT_CUR_LIAB": cur_liab,
        "TOT_NON_CUR_LIAB": liab - cur_liab,
        "TOT_LIAB": liab,
        "TOT_SHRHLDR_EQY_EXCL_MIN_INT": equity - minority,
        "MINORITY_INT": minority,
        "TOT_SHRHLDR_EQY_INCL_MIN_INT": equity,
        "TOT_LIAB_SHRHLDR_EQY": assets,
    }


def _cash_flow_items(rev: np.ndarray, margin: np.ndarray, cash_conversion: np.ndarray,
                     investing: np.ndarray, cash_end: np.ndarray, cash_before: np.ndarray,
                     noise: np.ndarray) -> dict[str, np.ndarray]:
    """Single-quarter cash flows; financing is what reconciles the change in cash."""
    operating = rev * (margin + cash_conversion + noise)
    return {
        "NET_CASH_FLOWS_OPER_ACT": operating,
        "NET_CASH_FLOWS_INV_ACT": investing,
        "NET_CASH_FLOWS_FNC_ACT": cash_end - cash_before - operating - investing,
        "CASH_CASH_EQU_END_PERIOD": cash_end,
    }


_FLOW_ITEMS = ("NET_CASH_FLOWS_OPER_ACT", "NET_CASH_FLOWS_INV_ACT", "NET_CASH_FLOWS_FNC_ACT")


@dataclass(frozen=True)


class _FirmConstants:
    """Per-stock accounting constants (shares of totals, rates)."""

    tax_rate: np.ndarray
    minority: np.ndarray
    selling: np.ndarray
    admin: np.ndarray
    finance: np.ndarray
    current_assets: np.ndarray
    cash_share: np.ndarray
    receivable_share: np.ndarray
    inventory_share: np.ndarray
    current_liab: np.ndarray
    capex: np.ndarray

    @classmethod
    def draw(cls, n: int, leverage: np.ndarray, rng: np.random.Generator) -> _FirmConstants:
        shares = rng.dirichlet([3.0, 2.5, 2.0, 1.5], n)  # cash, receivables, inventory, other
        return cls(
            tax_rate=np.where(rng.random(n) < 0.4, 0.15, 0.25),
            minority=rng.uniform(0.0, 0.15, n) * (rng.random(n) < 0.8),
            selling=rng.uniform(0.01, 0.12, n),
            admin=rng.uniform(0.02, 0.08, n),
            finance=0.003 + 0.03 * leverage,
            current_assets=rng.uniform(0.3, 0.8, n),
            cash_share=shares[:, 0],
            receivable_share=shares[:, 1],
            inventory_share=shares[:, 2],
            current_liab=rng.uniform(0.5, 0.9, n),
            capex=rng.uniform(0.02, 0.12, n),
        )


def _accumulate(before: dict[str, np.ndarray],
                single: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Year-to-date flows: previous YTD + this quarter (period-end items pass through)."""
    flows = {k for k in single if k != "CASH_CASH_EQU_END_PERIOD"}
    return {k: (before[k] + v if k in flows and k in before else v) for k, v in single.items()}
