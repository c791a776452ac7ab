"""Reading baostock's native files strictly: required columns, readable values, one stock per
k-data file. A broken file raises BaostockFormatError naming the file, column and rule."""

from __future__ import annotations

from pathlib import Path

import polars as pl

KDATA_REQUIRED = ("date", "code", "open", "high", "low", "close", "preclose", "volume",
                  "amount", "adjustflag", "turn", "tradestatus", "pctChg", "isST")
KDATA_OPTIONAL = ("peTTM", "pbMRQ", "psTTM", "pcfNcfTTM")
KDATA_NUMBERS = ("open", "high", "low", "close", "preclose", "volume", "amount", "turn",
                 "pctChg", "peTTM", "pbMRQ", "psTTM", "pcfNcfTTM")
KDATA_GLOB = "stock_data_*.csv*"
STATEMENT_KEYS = ("code", "pubDate", "statDate")
# query_*_data files the importer reads, by the stem it looks for.
FUNDAMENTAL_FILES = {
    "profit": ("netProfit", "npMargin", "gpMargin", "MBRevenue", "totalShare", "liqaShare"),
    "growth": ("YOYNI", "YOYPNI"),
    "balance": ("liabilityToAsset", "assetToEquity"),
    "cash_flow": ("CFOToNP",),
    "operation": ("AssetTurnRatio",),
}
BAOSTOCK_CODE = r"^(sh|sz|bj)\.\d{6}$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


class BaostockFormatError(ValueError):
    """A source file breaks the baostock format: which file, which column, which rule."""

    def __init__(self, path: Path, column: str, rule: str, detail: str = ""):
        self.path, self.column, self.rule = path, column, rule
        text = f"{path.name}: column {column!r} breaks rule '{rule}'"
        super().__init__(f"{text}: {detail}" if detail else text)


def wind_code(code: pl.Expr) -> pl.Expr:
    """'sh.600000' -> '600000.SH'."""
    return code.str.slice(3) + "." + code.str.slice(0, 2).str.to_uppercase()


def wind_date(date: pl.Expr) -> pl.Expr:
    """'2012-06-11' -> '20120611'."""
    return date.str.replace_all("-", "")


def find_file(src: Path, stem: str) -> Path | None:
    """`<stem>.csv` or `<stem>.csv.gz` in `src` (None when absent)."""
    for name in (f"{stem}.csv", f"{stem}.csv.gz"):
        if (src / name).is_file():
            return src / name
    return None


def kdata_files(src: Path) -> list[Path]:
    """Every `stock_data_*.csv[.gz]` under `src` (the sample keeps them in stock_code/)."""
    return sorted(p for p in src.rglob(KDATA_GLOB)
                  if p.is_file() and p.name.endswith((".csv", ".csv.gz")))


def read_csv(path: Path, required: tuple[str, ...]) -> pl.DataFrame:
    """All columns as text (codes and dates keep their form); the required ones must exist."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise BaostockFormatError(path, "*", "a readable CSV file",
                                  str(err).splitlines()[0]) from err
    for column in required:
        if column not in frame.columns:
            raise BaostockFormatError(path, column, "required column present",
                                      f"the file has {', '.join(frame.columns)}")
    return frame


def _check(path: Path, frame: pl.DataFrame, column: str, ok: pl.Expr, rule: str) -> None:
    bad = frame.with_row_index("row", offset=2).filter(~ok.fill_null(False))
    if bad.height:
        first = bad.row(0, named=True)
        raise BaostockFormatError(path, column, rule, f"{bad.height} rows, e.g. line "
                                  f"{first['row']}: {first[column]!r}")


def to_numbers(path: Path, frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Cast text columns to floats; a non-empty value that is not a number is an error."""
    for column in (c for c in columns if c in frame.columns):
        number = pl.col(column).cast(pl.Float64, strict=False)
        _check(path, frame, column, pl.col(column).is_null() | number.is_finite(), "a number")
    return frame.with_columns(pl.col(c).cast(pl.Float64, strict=False)
                              for c in columns if c in frame.columns)


def check_dates(path: Path, frame: pl.DataFrame, *columns: str) -> None:
    for column in columns:
        ok = pl.col(column).str.contains(ISO_DATE) & pl.col(column).str.to_date(
            "%Y-%m-%d", strict=False).is_not_null()
        _check(path, frame, column, ok, "a date written YYYY-MM-DD")


def read_kdata(path: Path) -> pl.DataFrame:
    """One `query_history_k_data_plus` file, checked, sorted by date, numbers as floats."""
    frame = read_csv(path, KDATA_REQUIRED)
    if frame.is_empty():
        raise BaostockFormatError(path, "date", "at least one row")
    _check(path, frame, "code", pl.col("code").str.contains(BAOSTOCK_CODE),
           "a baostock code like sh.600000")
    _check(path, frame, "code", pl.col("code") == frame["code"][0], "one stock per file")
    check_dates(path, frame, "date")
    _check(path, frame, "date", pl.col("date").is_unique(), "one row per date")
    _check(path, frame, "adjustflag", pl.col("adjustflag").is_in(["1", "2", "3"]),
           "adjustflag 1, 2 or 3")
    _check(path, frame, "adjustflag", pl.col("adjustflag") == frame["adjustflag"][0],
           "one adjustflag per file")
    for column in ("tradestatus", "isST"):
        _check(path, frame, column, pl.col(column).is_in(["0", "1"]), f"{column} 0 or 1")
    frame = to_numbers(path, frame, KDATA_NUMBERS)
    for column in ("open", "high", "low", "close", "preclose"):
        _check(path, frame, column, pl.col(column) > 0, "a positive price")
    for column in ("volume", "amount", "turn"):
        _check(path, frame, column, pl.col(column).is_null() | (pl.col(column) >= 0),
               "not negative")
    return frame.sort("date")


def read_fundamentals(path: Path, fields: tuple[str, ...]) -> pl.DataFrame:
    """A `query_*_data` file: keys checked, the fields it has cast to floats."""
    frame = read_csv(path, STATEMENT_KEYS)
    _check(path, frame, "code", pl.col("code").str.contains(BAOSTOCK_CODE),
           "a baostock code like sh.600000")
    check_dates(path, frame, "pubDate", "statDate")
    return to_numbers(path, frame, tuple(c for c in frame.columns if c not in STATEMENT_KEYS))
