"""The raw Wind (WDS) tables this project reads: names, columns, units and keys.

This module is the one place that says what a raw table looks like. The pandera contracts
(`zoo.ingest.contracts`), the loader (`zoo.ingest.load`), the synthetic market (`zoo.synth`)
and SQLMesh's `transforms/external_models.yaml` are all derived from it, so a column cannot be
renamed in one place and forgotten in another.

Units are Wind's own, so a real WDS export loads without rescaling (see docs/WIND.md):
- dates are 'YYYYMMDD' strings;
- prices in yuan; S_DQ_VOLUME in lots (100 shares); S_DQ_AMOUNT in thousand yuan;
- S_VAL_MV, S_DQ_MV in 10 thousand yuan; share counts in 10 thousand shares;
- turnover and percentage changes in percent; index weights in percent;
- statement items in yuan, cumulative year-to-date for income and cash-flow statements;
- S_DQ_ADJFACTOR back-adjusts: adjusted price = raw price x factor.

Project decisions where Wind users differ:
- AShareST / AShareIndustriesClassCITICS / AIndexMembers periods are half-open:
  [ENTRY_DT, REMOVE_DT). The stock is ST (in the industry, in the index) on ENTRY_DT and no
  longer on REMOVE_DT. A NULL REMOVE_DT means the period is still open.
- Rows are immutable once loaded, except the columns Wind fills in place when a period ends
  (`Column.closes`: a listing or delisting date, a REMOVE_DT / S_CON_OUTDATE going from NULL
  to a date, CUR_SIGN flipping): a later extract may set those on an existing row, nothing
  else. A period's end and its CUR_SIGN go together: '1' while REMOVE_DT / S_CON_OUTDATE is
  NULL, '0' once it is set; a row with one and not the other is refused (contracts). An older
  extract arriving after a newer one may still show a period open: that changes nothing.
- Columns other sources cannot feed are nullable (names and listing dates, free float,
  COMP_TYPE_CODE): NULL means unknown, and the rules involving them skip it.
- Wind's own index-weight tables (AIndexHS300FreeWeight, AIndexCSI500Weight, ...) load into
  AIndexFreeWeight (`TABLE_ALIASES`): their weight column is renamed, their other columns are
  ignored.
- Statement versions: STATEMENT_TYPE 408001000 holds the latest figures under the original
  ANN_DT (Wind updates it in place after a correction, which is a look-ahead trap);
  408005000 holds the original figures where a correction happened, and 408004000 the
  corrected figures under the correction's ANN_DT. A 408004000 row with no 408005000 row is
  a restated comparative (last year's figures restated in this year's annual report), and the
  408001000 row then keeps the original figures. Point-in-time readers drop 408001000 only
  where a 408005000 row exists, and serve each version from its own first usable day
  (transforms/macros/wind.py `pit_versions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column kinds. `date` is a Wind 'YYYYMMDD' string; it is stored as VARCHAR in `raw`.
STR, DATE, FLOAT, INT = "str", "date", "float", "int"

DUCKDB_TYPES = {STR: "VARCHAR", DATE: "VARCHAR", FLOAT: "DOUBLE", INT: "BIGINT"}

# Wind STATEMENT_TYPE codes used here (consolidated statements).
STATEMENT_CONSOLIDATED = "408001000"
STATEMENT_RESTATED = "408004000"
STATEMENT_BEFORE_RESTATEMENT = "408005000"
STATEMENT_TYPES = (STATEMENT_CONSOLIDATED, STATEMENT_RESTATED, STATEMENT_BEFORE_RESTATEMENT)

# Indices the project tracks (CSI 300 is generated too: CSI 500 is defined as "after it").
CSI300, CSI500, CSI1000 = "000300.SH", "000905.SH", "000852.SH"
INDEX_CODES = (CSI300, CSI500, CSI1000)

# S_DQ_TRADESTATUSCODE in common use.
TRADESTATUS_SUSPENDED, TRADESTATUS_NORMAL = 0, -1


@dataclass(frozen=True)
class Column:
    """One raw column: Wind name, kind (str/date/float/int), unit and meaning."""

    name: str
    kind: str
    doc: str
    unit: str = ""
    nullable: bool = False
    # Wind sets this in place when a period ends; a later extract may update it (see above).
    closes: bool = False

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """One raw table: Wind name, meaning, columns and the key that identifies a row."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    schema: str = field(default="raw")
    # The DATE columns whose earliest value in a row is the first day that row can change
    # anything built from the table (zoo.ingest.changes); empty: every DATE column.
    changes_from: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def effective_dates(self) -> tuple[str, ...]:
        """`changes_from`, or every DATE column when it is empty (none: no dates at all)."""
        return self.changes_from or tuple(c.name for c in self.columns if c.kind == DATE)

    def create_sql(self) -> str:
        cols = ",\n  ".join(
            f"{c.name} {c.duckdb_type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        )
        return (
            f"CREATE TABLE IF NOT EXISTS {self.schema}.{self.name} (\n  {cols},\n"
            f"  PRIMARY KEY ({', '.join(self.key)})\n)"
        )


def _c(
    name: str, kind: str, doc: str, unit: str = "", nullable: bool = False, closes: bool = False
) -> Column:
    return Column(name, kind, doc, unit, nullable, closes)


WINDCODE = _c("S_INFO_WINDCODE", STR, "Wind code, e.g. 600000.SH")
TRADE_DT = _c("TRADE_DT", DATE, "trade date")
CRNCY = _c("CRNCY_CODE", STR, "currency, CNY")

_STATEMENT_KEYS = (
    WINDCODE,
    _c("ANN_DT", DATE, "announcement date of this version"),
    _c("ACTUAL_ANN_DT", DATE, "actual announcement date", nullable=True),
    _c("REPORT_PERIOD", DATE, "report period end (0331, 0630, 0930, 1231)"),
    _c(
        "STATEMENT_TYPE",
        STR,
        "408001000 consolidated, 408004000 restated, 408005000 before restatement",
    ),
    CRNCY,
    # NULL where the source does not say (baostock): readers treat it as unknown, not as 1.
    _c("COMP_TYPE_CODE", INT, "1 non-financial, 2 bank, 3 insurer, 4 broker", nullable=True),
)
_STATEMENT_KEY = ("S_INFO_WINDCODE", "REPORT_PERIOD", "STATEMENT_TYPE", "ANN_DT")
# A statement row is used from its announcement (REPORT_PERIOD is months earlier): a version,
# a correction's original (408005000, under the original ANN_DT) or a late rewrite
# (ACTUAL_ANN_DT) changes nothing served before the earlier of its two dates.
_STATEMENT_CHANGES_FROM = ("ANN_DT", "ACTUAL_ANN_DT")


# Statement items may be NULL in a real export (a bank has no cost of sales); the synthetic
# market fills them all.
def _ytd(name: str, doc: str) -> Column:
    return _c(name, FLOAT, doc + " (year to date)", "yuan", nullable=True)


def _bal(name: str, doc: str) -> Column:
    return _c(name, FLOAT, doc + " (at period end)", "yuan", nullable=True)


ASHARE_DESCRIPTION = Table(
    "AShareDescription",
    "Listed A-shares: name, listing and delisting dates, exchange and board.",
    (
        WINDCODE,
        _c("S_INFO_CODE", STR, "six-digit code"),
        _c("S_INFO_NAME", STR, "short name", nullable=True),
        # NULL: issued but not listed yet, or unknown to the source (never invented); Wind
        # fills it in place when the stock lists, which closes the not-yet-listed period.
        _c("S_INFO_LISTDATE", DATE, "first trading day", nullable=True, closes=True),
        _c(
            "S_INFO_DELISTDATE",
            DATE,
            "delisting date (first day no longer listed)",
            nullable=True,
            closes=True,
        ),
        _c("S_INFO_EXCHMARKET", STR, "SSE or SZSE"),
        _c("S_INFO_LISTBOARDNAME", STR, "board: 主板, 创业板 (ChiNext), 科创板 (STAR)"),
    ),
    ("S_INFO_WINDCODE",),
)

ASHARE_CALENDAR = Table(
    "AShareCalendar",
    "Exchange trading days.",
    (_c("TRADE_DAYS", DATE, "trading day"), _c("S_INFO_EXCHMARKET", STR, "SSE or SZSE")),
    ("TRADE_DAYS", "S_INFO_EXCHMARKET"),
)

ASHARE_EOD_PRICES = Table(
    "AShareEODPrices",
    "Daily unadjusted prices, volume and amount; suspended days have a row with zero volume.",
    (
        WINDCODE,
        TRADE_DT,
        CRNCY,
        _c("S_DQ_PRECLOSE", FLOAT, "previous close (ex-rights adjusted on ex-dates)", "yuan"),
        _c("S_DQ_OPEN", FLOAT, "open", "yuan"),
        _c("S_DQ_HIGH", FLOAT, "high", "yuan"),
        _c("S_DQ_LOW", FLOAT, "low", "yuan"),
        _c("S_DQ_CLOSE", FLOAT, "close", "yuan"),
        _c("S_DQ_CHANGE", FLOAT, "close - preclose", "yuan"),
        _c("S_DQ_PCTCHANGE", FLOAT, "(close / preclose - 1) x 100", "percent"),
        _c("S_DQ_VOLUME", FLOAT, "volume", "lots of 100 shares"),
        _c("S_DQ_AMOUNT", FLOAT, "amount", "thousand yuan"),
        _c("S_DQ_ADJFACTOR", FLOAT, "back-adjustment factor: adjusted = raw x factor"),
        _c("S_DQ_AVGPRICE", FLOAT, "VWAP", "yuan"),
        _c("S_DQ_TRADESTATUS", STR, "交易, 停牌, XD, XR, DR, N (first day)"),
        _c("S_DQ_TRADESTATUSCODE", INT, "0 suspended, -1 normal"),
    ),
    ("S_INFO_WINDCODE", "TRADE_DT"),
)

ASHARE_EOD_DERIVATIVE = Table(
    "AShareEODDerivativeIndicator",
    "Daily market value, share counts, turnover, valuation and limit status.",
    (
        WINDCODE,
        TRADE_DT,
        CRNCY,
        _c("S_VAL_MV", FLOAT, "total market value", "10 thousand yuan"),
        _c("S_DQ_MV", FLOAT, "float A-share market value", "10 thousand yuan"),
        _c("TOT_SHR_TODAY", FLOAT, "total shares", "10 thousand shares"),
        _c("FLOAT_A_SHR_TODAY", FLOAT, "float A shares", "10 thousand shares"),
        # Free float is Wind's own estimate; other sources (baostock) leave it NULL.
        _c("FREE_SHARES_TODAY", FLOAT, "free-float shares", "10 thousand shares",
           nullable=True),
        _c("S_DQ_TURN", FLOAT, "turnover on float A shares", "percent"),
        _c("S_DQ_FREETURNOVER", FLOAT, "turnover on free-float shares", "percent",
           nullable=True),
        _c("S_VAL_PE_TTM", FLOAT, "total MV / TTM parent net profit", nullable=True),
        _c("S_VAL_PB_NEW", FLOAT, "total MV / latest parent equity", nullable=True),
        _c("S_DQ_CLOSE_TODAY", FLOAT, "close", "yuan"),
        _c("UP_DOWN_LIMIT_STATUS", INT, "1 closed at limit-up, -1 at limit-down, 0 neither"),
    ),
    ("S_INFO_WINDCODE", "TRADE_DT"),
)

ASHARE_INCOME = Table(
    "AShareIncome",
    "Income statements, cumulative year to date, one row per version.",
    _STATEMENT_KEYS
    + (
        _ytd("TOT_OPER_REV", "total operating revenue"),
        _ytd("OPER_REV", "operating revenue"),
        _ytd("TOT_OPER_COST", "total operating cost"),
        _ytd("LESS_OPER_COST", "cost of sales"),
        _ytd("LESS_SELLING_DIST_EXP", "selling expenses"),
        _ytd("LESS_GERL_ADMIN_EXP", "administrative expenses"),
        _ytd("LESS_FIN_EXP", "financial expenses"),
        _ytd("OPER_PROFIT", "operating profit"),
        _ytd("TOT_PROFIT", "total profit before tax"),
        _ytd("INC_TAX", "income tax"),
        _ytd("NET_PROFIT_INCL_MIN_INT_INC", "net profit including minority interests"),
        _ytd("NET_PROFIT_EXCL_MIN_INT_INC", "net profit attributable to the parent"),
        _ytd("MINORITY_INT_INC", "minority interests"),
    ),
    _STATEMENT_KEY,
    changes_from=_STATEMENT_CHANGES_FROM,
)

ASHARE_BALANCE_SHEET = Table(
    "AShareBalanceSheet",
    "Balance sheets at period end, one row per version.",
    _STATEMENT_KEYS
    + (
        _bal("MONETARY_CAP", "cash"),
        _bal("ACCT_RCV", "accounts receivable"),
        _bal("INVENTORIES", "inventories"),
        _bal("TOT_CUR_ASSETS", "total current assets"),
        _bal("TOT_NON_CUR_ASSETS", "total non-current assets"),
        _bal("TOT_ASSETS", "total assets"),
        _bal("TOT_CUR_LIAB", "total current liabilities"),
        _bal("TOT_NON_CUR_LIAB", "total non-current liabilities"),
        _bal("TOT_LIAB", "total liabilities"),
        _bal("TOT_SHRHLDR_EQY_EXCL_MIN_INT", "equity attributable to the parent"),
        _bal("MINORITY_INT", "minority interests"),
        _bal("TOT_SHRHLDR_EQY_INCL_MIN_INT", "total equity"),
        _bal("TOT_LIAB_SHRHLDR_EQY", "total liabilities and equity"),
    ),
    _STATEMENT_KEY,
    changes_from=_STATEMENT_CHANGES_FROM,
)

ASHARE_CASH_FLOW = Table(
    "AShareCashFlow",
    "Cash-flow statements, cumulative year to date, one row per version.",
    _STATEMENT_KEYS
    + (
        _ytd("NET_CASH_FLOWS_OPER_ACT", "net operating cash flow"),
        _ytd("NET_CASH_FLOWS_INV_ACT", "net investing cash flow"),
        _ytd("NET_CASH_FLOWS_FNC_ACT", "net financing cash flow"),
        _bal("CASH_CASH_EQU_END_PERIOD", "cash and equivalents"),
    ),
    _STATEMENT_KEY,
    changes_from=_STATEMENT_CHANGES_FROM,
)

ASHARE_ST = Table(
    "AShareST",
    "Special-treatment periods [ENTRY_DT, REMOVE_DT).",
    (
        WINDCODE,
        _c("S_TYPE_ST", STR, "S = ST, Z = listing suspended, P = PT, L = delisting arrangement"),
        _c("ENTRY_DT", DATE, "first day under treatment"),
        _c("REMOVE_DT", DATE, "first day no longer under treatment", nullable=True, closes=True),
        _c("ANN_DT", DATE, "announcement date"),
    ),
    ("S_INFO_WINDCODE", "S_TYPE_ST", "ENTRY_DT"),
)

ASHARE_INDUSTRIES_CLASS_CITICS = Table(
    "AShareIndustriesClassCITICS",
    "CITIC industry membership periods [ENTRY_DT, REMOVE_DT); level 1 = first 4 characters.",
    (
        WINDCODE,
        _c("CITICS_IND_CODE", STR, "CITIC industry code, 'b1' + level codes"),
        _c("ENTRY_DT", DATE, "first day in the industry"),
        _c("REMOVE_DT", DATE, "first day no longer in the industry", nullable=True, closes=True),
        _c("CUR_SIGN", STR, "'1' current, '0' past", closes=True),
    ),
    ("S_INFO_WINDCODE", "ENTRY_DT"),
)

ASHARE_INDUSTRIES_CODE = Table(
    "AShareIndustriesCode",
    "Industry code names; CITIC level-1 industries have LEVELNUM 2.",
    (
        _c("INDUSTRIESCODE", STR, "industry code"),
        _c("INDUSTRIESNAME", STR, "industry name"),
        _c("LEVELNUM", INT, "level (1 = root, 2 = CITIC level 1, ...)"),
        _c("USED", INT, "1 in use"),
    ),
    ("INDUSTRIESCODE",),
)

AINDEX_EOD_PRICES = Table(
    "AIndexEODPrices",
    "Daily index levels.",
    (
        WINDCODE,
        TRADE_DT,
        CRNCY,
        _c("S_DQ_PRECLOSE", FLOAT, "previous close", "points"),
        _c("S_DQ_OPEN", FLOAT, "open", "points"),
        _c("S_DQ_HIGH", FLOAT, "high", "points"),
        _c("S_DQ_LOW", FLOAT, "low", "points"),
        _c("S_DQ_CLOSE", FLOAT, "close", "points"),
        _c("S_DQ_CHANGE", FLOAT, "close - preclose", "points"),
        _c("S_DQ_PCTCHANGE", FLOAT, "(close / preclose - 1) x 100", "percent"),
        _c("S_DQ_VOLUME", FLOAT, "volume", "lots of 100 shares"),
        _c("S_DQ_AMOUNT", FLOAT, "amount", "thousand yuan"),
    ),
    ("S_INFO_WINDCODE", "TRADE_DT"),
)

AINDEX_MEMBERS = Table(
    "AIndexMembers",
    "Index membership periods [S_CON_INDATE, S_CON_OUTDATE).",
    (
        _c("S_INFO_WINDCODE", STR, "index code"),
        _c("S_CON_WINDCODE", STR, "constituent Wind code"),
        _c("S_CON_INDATE", DATE, "first day in the index"),
        _c("S_CON_OUTDATE", DATE, "first day out of the index", nullable=True, closes=True),
        _c("CUR_SIGN", STR, "'1' current, '0' past", closes=True),
    ),
    ("S_INFO_WINDCODE", "S_CON_WINDCODE", "S_CON_INDATE"),
)

AINDEX_FREE_WEIGHT = Table(
    "AIndexFreeWeight",
    "Index constituent weights on snapshot dates (sparse: drift them with returns in between).",
    (
        _c("S_INFO_WINDCODE", STR, "index code"),
        _c("S_CON_WINDCODE", STR, "constituent Wind code"),
        TRADE_DT,
        _c("I_WEIGHT", FLOAT, "weight", "percent"),
    ),
    ("S_INFO_WINDCODE", "S_CON_WINDCODE", "TRADE_DT"),
)



@dataclass(frozen=True)
class Alias:
    """A Wind table loaded as a declared one: `renames` maps its columns to the declared names
    (when the file lacks the declared one), `index_code` fills S_INFO_WINDCODE when the file
    has no such column (a table that holds one index)."""

    name: str
    table: Table
    renames: tuple[tuple[str, str], ...] = ()
    index_code: str | None = None


# Wind's index-weight tables (WDS "third-party data"): AIndexHS300FreeWeight and the HS300
# tables carry I_WEIGHT, the CSI tables WEIGHT, all in percent, keyed like AIndexFreeWeight.
# AIndexHS300FreeWeight holds several indices, so its S_INFO_WINDCODE is required.
_WEIGHT = (("WEIGHT", "I_WEIGHT"),)
TABLE_ALIASES: tuple[Alias, ...] = (
    Alias("AIndexHS300FreeWeight", AINDEX_FREE_WEIGHT),
    Alias("AIndexHS300Weight", AINDEX_FREE_WEIGHT, _WEIGHT, CSI300),
    Alias("AIndexHS300CloseWeight", AINDEX_FREE_WEIGHT, _WEIGHT, CSI300),
    Alias("AIndexCSI500Weight", AINDEX_FREE_WEIGHT, _WEIGHT, CSI500),
    Alias("AIndexCSI1000Weight", AINDEX_FREE_WEIGHT, _WEIGHT, CSI1000),
)

RAW_TABLES: tuple[Table, ...] = (
    ASHARE_DESCRIPTION,
    ASHARE_CALENDAR,
    ASHARE_EOD_PRICES,
    ASHARE_EOD_DERIVATIVE,
    ASHARE_INCOME,
    ASHARE_BALANCE_SHEET,
    ASHARE_CASH_FLOW,
    ASHARE_ST,
    ASHARE_INDUSTRIES_CLASS_CITICS,
    ASHARE_INDUSTRIES_CODE,
    AINDEX_EOD_PRICES,
    AINDEX_MEMBERS,
    AINDEX_FREE_WEIGHT,
)
TABLES: dict[str, Table] = {t.name: t for t in RAW_TABLES}

# The planted signal of the synthetic market. Only tests and benchmarks read this schema;
# no transform and no model may (tests check the lineage).
TRUTH_EXPECTED_RETURN = Table(
    "expected_return",
    "Expected log excess returns planted by the synthetic market, known at T's close.",
    (
        WINDCODE,
        TRADE_DT,
        _c("ER_5D", FLOAT, "expected log excess return, T+1 VWAP to T+6 VWAP"),
        _c("ER_10D", FLOAT, "expected log excess return, T+1 VWAP to T+11 VWAP"),
        _c("ER_15D", FLOAT, "expected log excess return, T+1 VWAP to T+16 VWAP"),
        _c("ER_20D", FLOAT, "expected log excess return, T+1 VWAP to T+21 VWAP"),
        _c("SIG_REVERSAL", FLOAT, "drift state from short-term reversal"),
        _c("SIG_TURNOVER", FLOAT, "drift state from abnormal turnover"),
        _c("SIG_EARNINGS", FLOAT, "drift state from earnings surprises (post-earnings drift)"),
        _c("SIG_NEIGHBOUR", FLOAT, "drift state from fundamental neighbours' moves"),
    ),
    ("S_INFO_WINDCODE", "TRADE_DT"),
    schema="truth",
)

TRUTH_NEIGHBOURS = Table(
    "fundamental_neighbours",
    "The true fundamental-neighbour links the synthetic market plants, valid from a date.",
    (
        WINDCODE,
        _c("NEIGHBOUR_WINDCODE", STR, "neighbour's Wind code"),
        _c("VALID_FROM", DATE, "first trade date of this link set"),
        _c("RANK", INT, "1 = nearest (links=latent: by link position, then the hidden links)"),
    ),
    ("S_INFO_WINDCODE", "VALID_FROM", "RANK"),
    schema="truth",
)

TRUTH_TABLES: tuple[Table, ...] = (TRUTH_EXPECTED_RETURN, TRUTH_NEIGHBOURS)


def external_models_yaml() -> str:
    """SQLMesh's `transforms/external_models.yaml`, derived from the raw tables above.

    The file is committed (SQLMesh reads it without importing this package); a test checks it
    equals this function's output, so the two cannot drift apart.
    """
    lines = [
        "# Raw Wind tables, as declared in zoo/ingest/wind.py. Generated: do not edit by hand;",
        "# regenerate with `python -m zoo.ingest.wind > transforms/external_models.yaml`.",
    ]
    for table in RAW_TABLES:
        lines.append(f"- name: {table.schema}.{table.name}")
        lines.append(f"  description: {table.doc!r}")
        lines.append("  columns:")
        lines.extend(f"    {c.name}: {c.duckdb_type}" for c in table.columns)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(external_models_yaml(), end="")
