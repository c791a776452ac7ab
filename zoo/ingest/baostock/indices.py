"""Index tables from baostock-style files: constituent change lists
(`<INDEX>_history.csv`: chang_date YYYY/M/D, code without exchange or leading zeros,
in_out takein|dropout) -> AIndexMembers, and daily levels (`<INDEX>_index.csv`: Date, Open,
Close, High, Low, volume (shares), money (yuan)) -> AIndexEODPrices.

A change list gives no initial composition: a constituent that never changed is unknown, and
one whose first event is a dropout was in since on or before the list's first date (its
S_CON_INDATE is that date, flagged). The change date is the first day in (takein) or out."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from zoo.ingest import wind
from zoo.ingest.baostock.report import ConvertReport
from zoo.ingest.baostock.source import BaostockFormatError, find_file, read_csv, to_numbers

INDICES = {"HS300": wind.CSI300, "ZZ500": wind.CSI500, "ZZ1000": wind.CSI1000}
EXCHANGE_OF_FIRST_DIGIT = {"6": "SH", "0": "SZ", "3": "SZ", "8": "BJ", "4": "BJ", "9": "BJ"}


def _slash_date(column: str) -> pl.Expr:
    return pl.col(column).str.to_date("%Y/%m/%d", strict=False).dt.strftime("%Y%m%d")


def _constituent(code: pl.Expr) -> pl.Expr:
    padded = code.str.strip_chars().str.zfill(6)
    suffix = padded.str.slice(0, 1).replace_strict(EXCHANGE_OF_FIRST_DIGIT, default=None)
    return padded + "." + suffix


def members(path: Path, index: str, report: ConvertReport) -> pl.DataFrame:
    frame = read_csv(path, ("chang_date", "code", "in_out"))
    frame = frame.with_columns(day=_slash_date("chang_date"), con=_constituent(pl.col("code")))
    for column, ok, rule in (
        ("chang_date", pl.col("day").is_not_null(), "a date written YYYY/M/D"),
        ("code", pl.col("con").is_not_null(), "a stock code whose first digit is 6, 0, 3, 8, 4"),
        ("in_out", pl.col("in_out").is_in(["takein", "dropout"]), "takein or dropout"),
    ):
        bad = frame.filter(~ok.fill_null(False))
        if bad.height:
            raise BaostockFormatError(path, column, rule, f"{bad.height} rows, e.g. "
                                      f"{bad.row(0, named=True)[column]!r}")
    first_day = frame["day"].min()
    rows, doubled, empty = [], [], []
    events = frame.sort("day").group_by("con", maintain_order=True).agg("day", "in_out")
    for con, days, moves in events.iter_rows():
        entry: str | None = None
        for k, (day, move) in enumerate(zip(days, moves, strict=True)):
            if move == "takein":
                if entry is not None:
                    doubled.append(f"{con} {day}")
                    continue
                entry = day
            elif entry is None and k == 0:  # in since on or before the list's first date
                if day > first_day:
                    rows.append((con, first_day, day, True))
                else:
                    empty.append(f"{con} {day}")
            elif entry is None:
                doubled.append(f"{con} {day}")
            else:
                rows.append((con, entry, day, False))
                entry = None
        if entry is not None:
            rows.append((con, entry, None, False))
    table = wind.AINDEX_MEMBERS.name
    out = pl.DataFrame(rows, schema={"S_CON_WINDCODE": pl.String, "S_CON_INDATE": pl.String,
                                     "S_CON_OUTDATE": pl.String, "censored": pl.Boolean},
                       orient="row")
    report.flag(table, f"{index}: first event a dropout: in since on or before the list's "
                f"first date {first_day}, which is written as S_CON_INDATE",
                (out.filter("censored")["S_CON_WINDCODE"] + " out "
                 + out.filter("censored")["S_CON_OUTDATE"]).to_list())
    report.drop(table, f"{index}: dropout on the list's first date: no day in it is known",
                empty)
    report.drop(table, f"{index}: takein while already in, or dropout while out", doubled)
    report.notes.append(f"{index}: the change list gives no initial composition; constituents "
                        f"that never changed since {first_day} are missing from AIndexMembers")
    return out.select(
        pl.lit(index).alias("S_INFO_WINDCODE"), "S_CON_WINDCODE", "S_CON_INDATE",
        "S_CON_OUTDATE",
        pl.when(pl.col("S_CON_OUTDATE").is_null()).then(pl.lit("1")).otherwise(pl.lit("0"))
        .alias("CUR_SIGN"))


def levels(path: Path, index: str, report: ConvertReport) -> pl.DataFrame:
    """Daily levels; S_DQ_PRECLOSE is the previous row's close, so the first row is dropped."""
    numbers = ("Open", "Close", "High", "Low", "volume", "money")
    frame = to_numbers(path, read_csv(path, ("Date", *numbers)), numbers)
    frame = frame.with_columns(TRADE_DT=_slash_date("Date")).sort("TRADE_DT")
    if frame["TRADE_DT"].null_count():
        raise BaostockFormatError(path, "Date", "a date written YYYY/M/D")
    frame = frame.with_columns(pre=pl.col("Close").shift())
    report.drop(wind.AINDEX_EOD_PRICES.name, f"{index}: first row, no previous close",
                frame.head(1)["TRADE_DT"].to_list())
    return frame.slice(1).select(
        pl.lit(index).alias("S_INFO_WINDCODE"), "TRADE_DT", pl.lit("CNY").alias("CRNCY_CODE"),
        pl.col("pre").alias("S_DQ_PRECLOSE"), pl.col("Open").alias("S_DQ_OPEN"),
        pl.col("High").alias("S_DQ_HIGH"), pl.col("Low").alias("S_DQ_LOW"),
        pl.col("Close").alias("S_DQ_CLOSE"), (pl.col("Close") - pl.col("pre")).alias(
            "S_DQ_CHANGE"), ((pl.col("Close") / pl.col("pre") - 1) * 100).alias(
            "S_DQ_PCTCHANGE"), (pl.col("volume") / 100).alias("S_DQ_VOLUME"),
        (pl.col("money") / 1000).alias("S_DQ_AMOUNT"))


def index_tables(src: Path, report: ConvertReport) -> dict[str, pl.DataFrame]:
    found: dict[str, list[pl.DataFrame]] = {}
    for prefix, index in INDICES.items():
        for stem, build, table in ((f"{prefix}_history", members, wind.AINDEX_MEMBERS),
                                   (f"{prefix}_index", levels, wind.AINDEX_EOD_PRICES)):
            path = find_file(src, stem)
            if path is not None:
                found.setdefault(table.name, []).append(build(path, index, report))
    return {name: pl.concat(frames) for name, frames in found.items()}
