"""Data contracts for the raw Wind tables: one pandera (polars) schema per table.

A contract is derived from `zoo.ingest.wind` (columns, kinds, nullability, key) plus the table's
own rules (prices positive, OHLC consistent, VWAP within the day's range, weights summing to at
most 100, ...). `validate` checks a frame against its contract and returns it cast to the
contract's types, or raises `ContractError` listing every broken rule, most important first,
each with the number of rows that break it and a few examples a user can find in the file.
`split` (for `--quarantine`) returns the rows that keep every rule and sets the others aside,
each with the rules it breaks. A rule reading a NULL skips that row: nullability is a rule of
its own (a nullable column's NULL means unknown).

Every rule is a polars expression that is True (or null) where a row keeps it, so a 12 M-row
table is checked in a few vectorised passes. pandera runs the contract (which rules fail); the
same expressions then pick the examples shown to the user.

Reading conventions (a WDS export as CSV, or Parquet written by pandas or DuckDB):
- a date may arrive as 'YYYYMMDD' text, an integer (20200102) or a Date; it leaves as text;
- an int column may arrive as text or as integral floats ('1.0', as pandas writes ints with NaN);
- NaN in a nullable float column means missing (pandas' null) and becomes null; in a
  non-nullable column it is a null and breaks the contract; +-inf is never accepted;
- column names are matched case-insensitively; columns not in wind.py (OBJECT_ID, OPDATE,
  OPMODE, ...) are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaError, SchemaErrorReason, SchemaErrors

from zoo.ingest import wind

POLARS_TYPES: dict[str, pl.DataType] = {
    wind.STR: pl.String(),
    wind.DATE: pl.String(),
    wind.FLOAT: pl.Float64(),
    wind.INT: pl.Int64(),
}

# Tolerances. Prices are rounded to 0.01 yuan, so 1e-6 relative only absorbs float noise.
PRICE_TOL = 1e-6
# Share counts come from different Wind sources (float vs free float), updated on different days.
SHARE_TOL = 1e-3
# S_DQ_AVGPRICE = amount / volume is rounded to 0.01 yuan: 0.5% covers a 2-yuan stock. The
# same tolerance serves the VWAP the transforms derive from S_DQ_AMOUNT / S_DQ_VOLUME (amount
# rounded, odd lots on STAR).
AVGPRICE_TOL = 5e-3
# S_DQ_AMOUNT (thousand yuan) x 10 / S_DQ_VOLUME (lots of 100 shares) = VWAP in yuan.
AMOUNT_PER_VOLUME_TO_YUAN = 10.0
# Statement identities hold to the yuan; 0.1% allows for rounding in the source.
BALANCE_TOL = 1e-3
# Index weights are published rounded; a full snapshot sums to 100 +- 1, and an extract of
# part of the market to less: only a sum above 100 + 1 is wrong.
WEIGHT_SUM_TOL = 1.0

EXCHANGES = {"SSE": "SH", "SZSE": "SZ", "BSE": "BJ"}  # S_INFO_EXCHMARKET -> code suffix
ST_TYPES = ("S", "Z", "P", "L")  # ST, listing suspended, PT, delisting arrangement (WIND.md)
QUARTER_ENDS = ("0331", "0630", "0930", "1231")
N_EXAMPLES = 5
ROW = "row"  # the 1-based row number in the file, carried into examples
MAX_FAILURES_SHOWN = 12


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rule:
    """One rule of a contract: a polars expression that is True (or null) where a row keeps it.

    `column` is the column blamed in messages; `involved` are the other columns shown in the
    examples. A group rule (`group_by` set) is judged per group (e.g. weights per index and
    date): `ok` uses `.over(group_by)`, and an example is a group with its `shown` aggregate.
    `quick_pass`, when given, is a cheap scalar expression that is True only if the rule holds
    everywhere; the exact `ok` is evaluated only when it is not.
    """

    column: str
    name: str
    ok: pl.Expr
    involved: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    shown: tuple[pl.Expr, ...] = ()
    quick_pass: pl.Expr | None = None

    @property
    def id(self) -> str:
        """A name unique within a table (pandera's check name)."""
        return f"{self.column}: {self.name}"

    @property
    def columns(self) -> frozenset[str]:
        """Every column the rule reads; it is skipped when one is missing or unreadable."""
        return frozenset({*self.column.split(", "), *self.involved, *self.group_by})

    def broken(self) -> pl.Expr:
        """True where a row breaks the rule (null counts as kept: nullability is its own rule)."""
        return self.ok.fill_null(True).not_()


def _rule(column: str, name: str, ok: pl.Expr, *involved: str) -> Rule:
    return Rule(column, name, ok, tuple(involved))


def not_null(column: wind.Column) -> Rule:
    """Run by pandera's own `nullable=False` (which counts NaN as null); kept for examples."""
    col = pl.col(column.name)
    ok = col.is_not_null() & col.is_not_nan() if column.kind == wind.FLOAT else col.is_not_null()
    return _rule(column.name, "not null", ok)


def real_date(column: str) -> Rule:
    # `to_date` caches parsed values, so 12 M rows with 2,500 distinct dates cost one regex pass.
    col = pl.col(column)
    parsed = col.str.to_date("%Y%m%d", strict=False)
    ok = col.is_null() | (col.str.contains(r"^\d{8}$") & parsed.is_not_null())
    return _rule(column, "a real date written YYYYMMDD", ok)


def finite(column: str) -> Rule:
    return _rule(column, "finite number", pl.col(column).is_finite())


def unique_key(key: Sequence[str]) -> Rule:
    """Key uniqueness; the quick pass hashes the key (two equal keys hash equally, so distinct
    hashes prove uniqueness) and only a failure pays for the exact group-by."""
    key_hash = pl.sum_horizontal(pl.col(c).hash(seed=i) for i, c in enumerate(key))
    return Rule(
        ", ".join(key),
        "key unique",
        pl.len().over(key) == 1,
        group_by=tuple(key),
        shown=(pl.len().alias("rows"),),
        quick_pass=key_hash.n_unique() == pl.len(),
    )


def positive(*columns: str) -> list[Rule]:
    return [_rule(c, f"{c} > 0", pl.col(c) > 0) for c in columns]


def non_negative(*columns: str) -> list[Rule]:
    return [_rule(c, f"{c} >= 0", pl.col(c) >= 0) for c in columns]


def one_of(column: str, values: Iterable[object]) -> Rule:
    values = tuple(values)
    shown = ", ".join(map(str, values))
    return _rule(column, f"{column} in {{{shown}}}", pl.col(column).is_in(values))


def after(later: str, earlier: str) -> Rule:
    # 'YYYYMMDD' strings order like dates.
    return _rule(later, f"{later} after {earlier}", pl.col(later) > pl.col(earlier), earlier)


def at_most(small: str, large: str, tol: float) -> Rule:
    ok = pl.col(small) <= pl.col(large) * (1 + tol)
    return _rule(small, f"{small} <= {large}", ok, large)


def sums_to(total: str, parts: Sequence[str], tol: float) -> Rule:
    """total = sum(parts) within `tol` relative (plus one yuan), where all are present."""
    diff = (pl.col(total) - pl.sum_horizontal(parts)).abs()
    ok = pl.when(pl.any_horizontal(pl.col(total, *parts).is_null())).then(None).otherwise(
        diff <= pl.col(total).abs() * tol + 1.0
    )
    return _rule(total, f"{total} = {' + '.join(parts)} (within {tol:.1%})", ok, *parts)


def ohlc(open_: str = "S_DQ_OPEN", high: str = "S_DQ_HIGH", low: str = "S_DQ_LOW",
         close: str = "S_DQ_CLOSE") -> list[Rule]:
    """The day's high is the highest price and its low the lowest (to float noise).

    High >= low belongs to the high rule only, so one bad high is reported once.
    """
    others_high = pl.max_horizontal(open_, close, low)
    others_low = pl.min_horizontal(open_, close)
    return [
        _rule(high, "high >= max(open, close, low)",
              pl.col(high) >= others_high * (1 - PRICE_TOL), open_, close, low),
        _rule(low, "low <= min(open, close)",
              pl.col(low) <= others_low * (1 + PRICE_TOL), open_, close),
    ]


def matches(column: str, pattern: str, meaning: str) -> Rule:
    return _rule(column, meaning, pl.col(column).str.contains(pattern))


# --------------------------------------------------------------------------- table rules
def _description_rules() -> list[Rule]:
    code, exch = "S_INFO_WINDCODE", "S_INFO_EXCHMARKET"
    suffix_exchange = pl.col(code).str.extract(r"\.(\w+)$").replace_strict(
        {suffix: name for name, suffix in EXCHANGES.items()}, default=None
    )
    return [
        matches(code, r"^\w{6}\.(SH|SZ|BJ)$", "Wind code like 600000.SH (.SH, .SZ or .BJ)"),
        _rule("S_INFO_CODE", "S_INFO_CODE = first six characters of S_INFO_WINDCODE",
              pl.col("S_INFO_CODE") == pl.col(code).str.slice(0, 6), code),
        one_of(exch, EXCHANGES),
        _rule(exch, "exchange matches the code suffix (SSE .SH, SZSE .SZ, BSE .BJ)",
              pl.col(exch) == suffix_exchange, code),
        after("S_INFO_DELISTDATE", "S_INFO_LISTDATE"),
    ]


def within_day_range(price: pl.Expr, low: str = "S_DQ_LOW", high: str = "S_DQ_HIGH") -> pl.Expr:
    """`price` inside the day's [low, high], widened by AVGPRICE_TOL."""
    return price.is_between(pl.col(low) * (1 - AVGPRICE_TOL), pl.col(high) * (1 + AVGPRICE_TOL))


def _eod_price_rules() -> list[Rule]:
    low, high, avg, vol = "S_DQ_LOW", "S_DQ_HIGH", "S_DQ_AVGPRICE", "S_DQ_VOLUME"
    amount, status = "S_DQ_AMOUNT", "S_DQ_TRADESTATUSCODE"
    traded = pl.col(vol) > 0
    # The transforms' VWAP (labels are bought and sold at it): amount / volume in yuan.
    derived_vwap = pl.col(amount) * AMOUNT_PER_VOLUME_TO_YUAN / pl.col(vol)
    return [
        *positive("S_DQ_PRECLOSE", "S_DQ_OPEN", high, low, "S_DQ_CLOSE"),
        *ohlc(),
        *non_negative(vol, amount),
        *positive("S_DQ_ADJFACTOR"),
        _rule(avg, f"VWAP within [low, high] (+-{AVGPRICE_TOL:.1%}) when volume > 0",
              ~traded | within_day_range(pl.col(avg)), low, high, vol),
        one_of(status, (wind.TRADESTATUS_SUSPENDED, wind.TRADESTATUS_NORMAL)),
        _rule(vol, f"suspended ({status} = 0) has zero volume",
              (pl.col(status) != wind.TRADESTATUS_SUSPENDED) | (pl.col(vol) == 0), status),
        # after the volume rules: a suspended day with volume is the first thing to fix
        _rule(amount, f"{amount} x 10 / {vol} (VWAP, yuan) within [low, high] "
              f"(+-{AVGPRICE_TOL:.1%}) when volume > 0",
              pl.when(traded).then(within_day_range(derived_vwap)).otherwise(True),
              vol, low, high),
    ]


def _derivative_rules() -> list[Rule]:
    return [
        *positive("S_VAL_MV", "S_DQ_MV", "TOT_SHR_TODAY", "FLOAT_A_SHR_TODAY",
                  "FREE_SHARES_TODAY", "S_DQ_CLOSE_TODAY"),
        at_most("FREE_SHARES_TODAY", "FLOAT_A_SHR_TODAY", SHARE_TOL),
        at_most("FLOAT_A_SHR_TODAY", "TOT_SHR_TODAY", SHARE_TOL),
        at_most("S_DQ_MV", "S_VAL_MV", SHARE_TOL),
        *non_negative("S_DQ_TURN", "S_DQ_FREETURNOVER"),
        one_of("UP_DOWN_LIMIT_STATUS", (-1, 0, 1)),
    ]


def _statement_rules() -> list[Rule]:
    quarter_ends = "/".join(QUARTER_ENDS)
    return [
        matches("STATEMENT_TYPE", r"^408\d{3}000$", "a Wind statement code 408xxx000"),
        _rule("REPORT_PERIOD", f"a quarter end (MMDD {quarter_ends})",
              pl.col("REPORT_PERIOD").str.slice(4).is_in(QUARTER_ENDS)),
        after("ANN_DT", "REPORT_PERIOD"),
        one_of("COMP_TYPE_CODE", (1, 2, 3, 4)),
    ]


def _balance_sheet_rules() -> list[Rule]:
    return [
        *_statement_rules(),
        sums_to("TOT_ASSETS", ("TOT_LIAB", "TOT_SHRHLDR_EQY_INCL_MIN_INT"), BALANCE_TOL),
        sums_to("TOT_LIAB_SHRHLDR_EQY", ("TOT_ASSETS",), BALANCE_TOL),
    ]


def _index_weight_rules() -> list[Rule]:
    """Per row 0 < weight <= 100; per index and date a sum of at most 100 (+ tolerance): an
    extract covering part of the market sums to less, which is no error."""
    weight, group = "I_WEIGHT", ("S_INFO_WINDCODE", "TRADE_DT")
    weight_sum = pl.col(weight).sum()
    return [
        _rule(weight, "0 < I_WEIGHT <= 100", (pl.col(weight) > 0) & (pl.col(weight) <= 100)),
        Rule(weight, f"weights sum to at most 100 (+{WEIGHT_SUM_TOL:g}) per index and date",
             weight_sum.over(group) <= 100 + WEIGHT_SUM_TOL, group_by=group,
             shown=(weight_sum.alias(f"sum({weight})"), pl.len().alias("stocks"))),
    ]


def current_sign(end: str) -> Rule:
    """CUR_SIGN agrees with the period's end: '1' (current) while `end` is NULL, '0' (past) once
    it is set. Wind fills both in place when a period ends (wind.Column.closes); a row with one
    and not the other says the period is open and closed at once (a CUR_SIGN flipped on a
    closed period). A CUR_SIGN outside {0, 1} is the rule before this one's to report."""
    sign = pl.col("CUR_SIGN")
    ok = ~sign.is_in(("0", "1")) | ((sign == "1") == pl.col(end).is_null())
    return _rule("CUR_SIGN", f"CUR_SIGN '1' (current) exactly when {end} is NULL "
                 "(open period), '0' when it is set", ok, end)


def _table_rules() -> dict[str, list[Rule]]:
    return {
        "AShareDescription": _description_rules(),
        "AShareCalendar": [one_of("S_INFO_EXCHMARKET", EXCHANGES)],
        "AShareEODPrices": _eod_price_rules(),
        "AShareEODDerivativeIndicator": _derivative_rules(),
        "AShareIncome": _statement_rules(),
        "AShareBalanceSheet": _balance_sheet_rules(),
        "AShareCashFlow": _statement_rules(),
        "AShareST": [one_of("S_TYPE_ST", ST_TYPES), after("REMOVE_DT", "ENTRY_DT")],
        "AShareIndustriesClassCITICS": [
            matches("CITICS_IND_CODE", r"^b1", "CITIC code starting with 'b1'"),
            after("REMOVE_DT", "ENTRY_DT"),
            one_of("CUR_SIGN", ("0", "1")),
            current_sign("REMOVE_DT"),
        ],
        "AShareIndustriesCode": [one_of("USED", (0, 1))],
        "AIndexEODPrices": [
            *positive("S_DQ_PRECLOSE", "S_DQ_OPEN", "S_DQ_HIGH", "S_DQ_LOW", "S_DQ_CLOSE"),
            *ohlc(),
            *non_negative("S_DQ_VOLUME", "S_DQ_AMOUNT"),
        ],
        "AIndexMembers": [after("S_CON_OUTDATE", "S_CON_INDATE"), one_of("CUR_SIGN", ("0", "1")),
                          current_sign("S_CON_OUTDATE")],
        "AIndexFreeWeight": _index_weight_rules(),
    }


@cache
def rules(table: wind.Table) -> tuple[Rule, ...]:
    """Every rule of a table's contract, most important first.

    Order: non-null columns, real dates, unique key, finite numbers, then the table's own rules.
    """
    generic = [
        *(not_null(c) for c in table.columns if not c.nullable),
        *(real_date(c.name) for c in table.columns if c.kind == wind.DATE),
        unique_key(table.key),
        *(finite(c.name) for c in table.columns if c.kind == wind.FLOAT),
    ]
    all_rules = (*generic, *_table_rules().get(table.name, []))
    ids = [r.id for r in all_rules]
    assert len(ids) == len(set(ids)), f"{table.name}: duplicate rule ids"
    return all_rules


# --------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class RuleFailure:
    """One broken rule: how many rows (or groups) break it, and up to 5 examples."""

    table: str
    column: str
    rule: str
    n_bad: int
    examples: list[dict[str, object]] = field(default_factory=list)
    unit: str = "row"
    detail: str = ""

    def message(self) -> str:
        what = "columns {} break" if ", " in self.column else "column {} breaks"
        head = f"{self.table}: {what.format(self.column)} rule '{self.rule}'"
        if self.detail:
            return f"{head}: {self.detail}"
        plural = "" if self.n_bad == 1 else "s"
        lines = [format_example(ex) for ex in self.examples]
        text = f"{head} in {self.n_bad:,} {self.unit}{plural}"
        if not lines:
            return text
        return "\n".join([f"{text}, e.g. {lines[0]}", *(f"    {line}" for line in lines[1:])])


class ContractError(ValueError):
    """A frame breaks its table's contract. Fields describe the most important failure;
    `failures` holds all of them, most important first."""

    def __init__(self, failures: Sequence[RuleFailure]):
        if not failures:
            raise ValueError("ContractError needs at least one failure")
        self.failures = list(failures)
        first = self.failures[0]
        self.table, self.column, self.rule = first.table, first.column, first.rule
        self.n_bad, self.examples = first.n_bad, first.examples
        shown = [f.message() for f in self.failures[:MAX_FAILURES_SHOWN]]
        hidden = len(self.failures) - len(shown)
        if hidden:
            shown.append(f"{self.table}: ... and {hidden} more broken rules")
        super().__init__("\n".join(shown))


def format_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.10g}"
    text = str(value)
    return repr(text) if text == "" or text != text.strip() or " " in text else text


def format_example(example: dict[str, object]) -> str:
    """`KEY=value ...`, then the 1-based row number in the file when known."""
    text = " ".join(f"{k}={format_value(v)}" for k, v in example.items() if k != ROW)
    return f"{text} (row {example[ROW]})" if ROW in example else text


# --------------------------------------------------------------------------- validation
def validate(table: wind.Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Check `frame` against `table`'s contract and return it cast to the contract's types.

    The result has exactly wind.py's columns in wind.py's order (extra columns are dropped).
    Raises ContractError listing every broken rule, most important first.
    """
    frame = _match_column_names(table, frame)
    missing = [c for c in table.column_names if c not in frame.columns]
    failures = [_missing_column(table, c, frame.columns) for c in missing]
    cast, cast_failures = _cast(table, frame.select(c for c in table.column_names
                                                    if c in frame.columns))
    failures += cast_failures
    unusable = frozenset(missing) | {f.column for f in cast_failures}
    failures += _check(table, cast.drop(unusable, strict=False), unusable)
    if failures:
        raise ContractError(failures)
    return cast


def _match_column_names(table: wind.Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Rename columns that match a wind.py name up to case (a lower-case export)."""
    wanted = {c.upper(): c for c in table.column_names}
    renames = {
        c: wanted[c.upper()]
        for c in frame.columns
        if c not in wanted.values() and c.upper() in wanted and wanted[c.upper()] not in frame
    }
    return frame.rename(renames) if renames else frame


def _missing_column(table: wind.Table, column: str, present: Sequence[str]) -> RuleFailure:
    return RuleFailure(table.name, column, "required column present", 0,
                       detail=f"the column is missing; the file has {', '.join(present)}")


def _cast_expr(column: wind.Column, dtype: pl.DataType) -> pl.Expr:
    """How a column of `dtype` becomes the contract's type; unreadable values become null."""
    col, target = pl.col(column.name), POLARS_TYPES[column.kind]
    if dtype == target:
        return col
    if column.kind == wind.DATE and dtype.is_temporal():
        return col.dt.strftime("%Y%m%d")
    if column.kind in (wind.STR, wind.DATE):
        # An int date (20200102) becomes '20200102'; a float one keeps its '.0' and fails the
        # date rule, with the value shown, rather than being silently truncated.
        return col.cast(pl.String)
    if column.kind == wind.INT and dtype.is_integer():
        return col.cast(pl.Int64, strict=False)
    as_float = col.cast(pl.Float64, strict=False)
    if column.kind == wind.FLOAT:
        return as_float
    integral = as_float.is_finite() & (as_float == as_float.round())
    return pl.when(integral).then(as_float).cast(pl.Int64, strict=False)


def _cast(table: wind.Table, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[RuleFailure]]:
    """Cast to the contract's types; a value that cannot be read breaks rule 'is a <kind>'."""
    cast, unreadable = _cast_values(table, frame)
    return cast, [_failure(table, frame, rule) for rule in unreadable]


def _cast_values(table: wind.Table, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Rule]]:
    """The frame cast (NaN is null in nullable float columns), and a rule 'readable as
    <kind>' (judged on `frame`) for each column with values that could not be read."""
    cast = frame.select(_cast_expr(table.column(c), frame.schema[c]) for c in frame.columns)
    # A value that could not be read became null: compare the (cached) null counts.
    unreadable = [_readable(table, cast, c) for c in frame.columns
                  if cast[c].null_count() > frame[c].null_count()]
    nan_to_null = [c.name for c in table.columns
                   if c.nullable and c.kind == wind.FLOAT and c.name in cast.columns]
    if nan_to_null:
        cast = cast.with_columns(pl.col(nan_to_null).fill_nan(None))
    return cast, unreadable


def _readable(table: wind.Table, cast: pl.DataFrame, column: str) -> Rule:
    kind = table.column(column).kind
    return _rule(column, f"readable as {kind}",
                 pl.col(column).is_null() | cast[column].is_not_null().alias(column))


@cache
def schema(table: wind.Table, skipped: frozenset[str] = frozenset()) -> pa.DataFrameSchema:
    """The pandera contract of `table`, without the columns in `skipped` (missing or unreadable)
    and the rules that read them."""
    column_checks: dict[str, list[pa.Check]] = {c: [] for c in table.column_names}
    frame_checks: list[pa.Check] = []
    for rule in rules(table):
        if rule.columns & skipped or rule.name == "not null":
            continue
        target = column_checks.get(rule.column)
        (frame_checks if target is None else target).append(_pandera_check(rule))
    columns = {
        c.name: pa.Column(POLARS_TYPES[c.kind], nullable=c.nullable,
                          checks=column_checks[c.name], description=c.doc)
        for c in table.columns
        if c.name not in skipped
    }
    return pa.DataFrameSchema(columns, checks=frame_checks, name=table.name, strict=True,
                              ordered=True, description=table.doc)


def _pandera_check(rule: Rule) -> pa.Check:
    def check(data: pa.PolarsData) -> pl.LazyFrame | bool:
        if rule.quick_pass is not None and data.lazyframe.select(rule.quick_pass).collect().item():
            return True
        return data.lazyframe.select(rule.broken().not_())

    return pa.Check(check, name=rule.id, n_failure_cases=N_EXAMPLES)


def _check(table: wind.Table, frame: pl.DataFrame, skipped: frozenset[str]) -> list[RuleFailure]:
    """Run the pandera contract (lazily: every broken rule); describe each broken rule."""
    contract = schema(table, skipped)
    try:
        with config_context(validation_enabled=True,
                            validation_depth=ValidationDepth.SCHEMA_AND_DATA):
            contract.validate(frame, lazy=True)
    except SchemaErrors as errors:
        by_id = {r.id: r for r in rules(table)}
        order = {r.id: i for i, r in enumerate(rules(table))}
        broken = sorted({_rule_of(err, by_id).id for err in errors.schema_errors},
                        key=order.__getitem__)
        return [_failure(table, frame, by_id[rule_id]) for rule_id in broken]
    return []


def _rule_of(error: SchemaError, by_id: dict[str, Rule]) -> Rule:
    """The contract rule behind one pandera error."""
    if error.reason_code == SchemaErrorReason.SERIES_CONTAINS_NULLS:
        return by_id[f"{error.schema.name}: not null"]
    check = error.check
    name = getattr(check, "name", None)
    if error.reason_code == SchemaErrorReason.DATAFRAME_CHECK and name in by_id:
        return by_id[name]
    # Anything else (a check that raised, a dtype pandera disagrees with) is a bug here, not
    # bad data: say so loudly rather than blame the file.
    raise RuntimeError(f"unexpected pandera error ({error.reason_code}): {error}") from error


def _failure(table: wind.Table, frame: pl.DataFrame, rule: Rule) -> RuleFailure:
    """Count the rows (or groups) breaking `rule` in `frame` and take a few examples."""
    bad = frame.lazy().with_row_index(ROW, offset=1).filter(rule.broken())
    if rule.group_by:
        groups = bad.group_by(rule.group_by, maintain_order=True).agg(rule.shown)
        n_bad = groups.select(pl.len()).collect().item()
        examples = groups.head(N_EXAMPLES).collect().rows(named=True)
        unit = f"({', '.join(rule.group_by)}) group" if rule.name != "key unique" else "key"
    else:
        n_bad = bad.select(pl.len()).collect().item()
        shown = dict.fromkeys([*table.key, rule.column, *rule.involved])
        examples = bad.select(*(c for c in shown if c in frame.columns), ROW)
        examples = examples.head(N_EXAMPLES).collect().rows(named=True)
        unit = "row"
    return RuleFailure(table.name, rule.column, rule.name, n_bad, examples, unit)


# --------------------------------------------------------------------------- quarantine
REJECTS_SCHEMA = {"row": pl.Int64, "column": pl.String, "rule": pl.String,
                  "other_rules": pl.String, "row_json": pl.String}
# Broken rules that concern a file as a whole: no row can be set aside for them.
FILE_RULES = frozenset({"required column present"})


@dataclass(frozen=True)
class Split:
    """A frame split by its contract (`split`): the rows that keep every rule, cast as
    `validate` casts them, their 1-based row numbers in the file, and the rows set aside
    (REJECTS_SCHEMA: row, the first rule broken and its column, the other rules broken, the
    row as read, as JSON text)."""

    kept: pl.DataFrame
    rows: pl.Series
    rejected: pl.DataFrame


def split(table: wind.Table, frame: pl.DataFrame) -> Split:
    """Set aside the rows that break a rule of `table`'s contract and keep the rest.

    Row rules judge each row. Group rules are judged on the rows left after that: a key held
    by two rows sets both aside (neither is known to be the right one), unless they are the
    same row twice, of which the first is kept; a weight snapshot summing above 100 is set
    aside whole. A broken file rule (a missing column) raises ContractError: it is no row's
    fault. The rows kept are validated again, so what is loaded keeps the whole contract.
    """
    try:
        kept = validate(table, frame)
        return Split(kept, pl.int_range(1, frame.height + 1, eager=True), _no_rejects())
    except ContractError as err:
        if any(f.rule in FILE_RULES for f in err.failures):
            raise
    raw = _match_column_names(table, frame).select(table.column_names)
    rows = pl.int_range(1, raw.height + 1, eager=True).alias(ROW)
    cast, unreadable = _cast_values(table, raw)
    unread = {r.column: raw.select(r.broken()).to_series() for r in unreadable}
    row_rules: list[tuple[Rule, pl.Series]] = [(r, unread[r.column]) for r in unreadable]
    for rule in rules(table):
        if rule.group_by:
            continue
        mask = cast.select(rule.broken()).to_series()
        if rule.name == "not null" and rule.column in unread:  # already 'readable as'
            mask = mask & ~unread[rule.column]
        row_rules.append((rule, mask))
    bad = _any(row_rules, raw.height)
    rest, rest_raw, rest_rows = cast.filter(~bad), raw.filter(~bad), rows.filter(~bad)
    group_rules = [(rule, rest.select(_group_broken(table, rule)).to_series())
                   for rule in rules(table) if rule.group_by]
    bad_group = _any(group_rules, rest.height)
    rejected = pl.concat([set_aside(raw, rows, row_rules),
                          set_aside(rest_raw, rest_rows, group_rules)]).sort("row")
    kept = validate(table, rest.filter(~bad_group))
    return Split(kept, rest_rows.filter(~bad_group), rejected)


def _group_broken(table: wind.Table, rule: Rule) -> pl.Expr:
    if rule.name != "key unique":
        return rule.broken()
    key = list(table.key)
    same_row = pl.struct(table.column_names).hash().n_unique().over(key) == 1
    first = pl.int_range(pl.len()).over(key) == 0
    return rule.broken() & ~(same_row & first)


def _any(checks: list[tuple[Rule, pl.Series]], height: int) -> pl.Series:
    if not checks:
        return pl.repeat(False, height, eager=True)
    return pl.DataFrame([m.alias(str(i)) for i, (_, m) in enumerate(checks)]).select(
        pl.any_horizontal(pl.all())).to_series()


def _no_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTS_SCHEMA)


def set_aside(raw: pl.DataFrame, rows: pl.Series,
              checks: list[tuple[Rule, pl.Series]]) -> pl.DataFrame:
    """One REJECTS_SCHEMA row per row of `raw` breaking any (rule, mask) of `checks`: the first
    rule it breaks (the most important), the others, and the row's values as JSON text."""
    if not checks:
        return _no_rejects()
    masks = pl.DataFrame([m.alias(f"r{i}") for i, (_, m) in enumerate(checks)])
    bad = masks.select(pl.any_horizontal(pl.all())).to_series()
    if not bad.any():
        return _no_rejects()
    first = pl.coalesce(pl.when(pl.col(f"r{i}")).then(pl.lit(i)) for i in range(len(checks)))
    others = pl.concat_str(
        [pl.when(pl.col(f"r{i}") & (first != i)).then(pl.lit(rule.id))
         for i, (rule, _) in enumerate(checks)], separator="; ", ignore_nulls=True)
    picked = masks.filter(bad).select(first.alias("i"), others.alias("other_rules"))
    text = raw.filter(bad).select(pl.all().cast(pl.String))
    return pl.DataFrame({
        "row": rows.filter(bad).cast(pl.Int64),
        "column": picked["i"].replace_strict([i for i in range(len(checks))],
                                             [r.column for r, _ in checks]),
        "rule": picked["i"].replace_strict([i for i in range(len(checks))],
                                           [r.name for r, _ in checks]),
        "other_rules": picked["other_rules"].fill_null(""),
        "row_json": text.select(pl.struct(pl.all()).struct.json_encode()).to_series(),
    }, schema=REJECTS_SCHEMA)
