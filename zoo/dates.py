"""Calendar dates as users type them: `2023-01-31` and `20230131` are the same day everywhere
(command options, configuration overrides, Wind's TRADE_DT)."""

from __future__ import annotations

import datetime as dt

__all__ = ["parse_date", "wind_date"]


def parse_date(value: str | dt.date) -> dt.date:
    """A date from `YYYY-MM-DD` or `YYYYMMDD` text (a `date` is returned as it is).

    Raises:
        ValueError: neither spelling, or no such day; the message quotes the text.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        if len(text) == 8 and text.isdigit():
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return dt.date.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"{text!r} is not a day: {err}") from None
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or YYYYMMDD)")


def wind_date(value: str | dt.date) -> str:
    """The day as Wind writes it: `YYYYMMDD`."""
    return parse_date(value).strftime("%Y%m%d")
