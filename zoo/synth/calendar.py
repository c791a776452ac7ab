"""The synthetic market's calendar: trading days and report periods.

Trading days are weekdays minus approximate Chinese exchange holidays: 1 Jan, Spring Festival
eve to day 6 (from a table of lunar new-year dates), Qingming 4 Apr, 1-5 May, Dragon Boat =
new year + 122 days, Mid-Autumn = new year + 220 days, 1-7 Oct; a single-day holiday on a
weekend moves to the Monday. SSE and SZSE share the days. Report periods are the quarter ends
from `PRE_YEARS` years before `start` (SUE needs 13 quarters of history).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.dates import parse_date

PRE_YEARS = 4  # statements start this many years before `start` (SUE needs 13 quarters)
TRADING_DAYS_PER_YEAR = 244
CALENDAR_ORIGIN = "19901219"  # first SSE trading day; list dates are drawn after it

# Lunar new year (Spring Festival) dates; other years fall back to 1 Feb.
SPRING_FESTIVAL = {
    1990: "0127", 1991: "0215", 1992: "0204", 1993: "0123", 1994: "0210", 1995: "0131",
    1996: "0219", 1997: "0207", 1998: "0128", 1999: "0216", 2000: "0205", 2001: "0124",
    2002: "0212", 2003: "0201", 2004: "0122", 2005: "0209", 2006: "0129", 2007: "0218",
    2008: "0207", 2009: "0126", 2010: "0214", 2011: "0203", 2012: "0123", 2013: "0210",
    2014: "0131", 2015: "0219", 2016: "0208", 2017: "0128", 2018: "0216", 2019: "0205",
    2020: "0125", 2021: "0212", 2022: "0201", 2023: "0122", 2024: "0210", 2025: "0129",
    2026: "0217", 2027: "0206", 2028: "0126", 2029: "0213", 2030: "0203", 2031: "0123",
    2032: "0211", 2033: "0131", 2034: "0219", 2035: "0208",
}


def as_day(text: str) -> np.datetime64:
    """A day ('YYYYMMDD' or 'YYYY-MM-DD') as numpy's datetime64[D]."""
    return np.datetime64(parse_date(text), "D")


@dataclass(frozen=True)


class _Calendar:
    """Trading days from 1990-12-19 to two years past `end`; the sample is [first, stop)."""

    days: np.ndarray  # datetime64[D]
    labels: np.ndarray  # 'YYYYMMDD'
    first: int
    stop: int

    @classmethod
    def build(cls, start: str, end: str) -> _Calendar:
        days = trading_days(as_day(CALENDAR_ORIGIN), as_day(end) + 730)
        labels = np.char.replace(days.astype(str), "-", "")
        first = int(np.searchsorted(days, as_day(start)))
        stop = int(np.searchsorted(days, as_day(end), side="right"))
        return cls(days, labels, first, stop)

    def on_or_before(self, dates: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.days, dates, side="right") - 1

    def on_or_after(self, dates: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(self.days, dates), len(self.days) - 1)

    def month_ends(self) -> np.ndarray:
        """Indices of the last trading day of each month."""
        months = self.days.astype("datetime64[M]")
        return np.nonzero(months[:-1] != months[1:])[0]


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 (1970-01-01 was a Thursday)."""
    return (days.astype(np.int64) + 3) % 7


def _observed(day: np.datetime64) -> np.datetime64:
    """A one-day holiday on a weekend is taken on the Monday."""
    wd = int(_weekday(np.array([day]))[0])
    return day + (7 - wd if wd >= 5 else 0)


def _holidays(year: int) -> list[np.datetime64]:
    new_year = as_day(f"{year}{SPRING_FESTIVAL.get(year, '0201')}")
    jan1 = as_day(f"{year}0101")
    qingming = as_day(f"{year}0404")
    days = [_observed(d) for d in (jan1, qingming, new_year + 122, new_year + 220)]
    days += [new_year + i for i in range(-1, 7)]
    days += [np.datetime64(f"{year}-05-0{i}", "D") for i in range(1, 6)]
    days += [np.datetime64(f"{year}-10-0{i}", "D") for i in range(1, 8)]
    return days


def trading_days(first: np.datetime64, last: np.datetime64) -> np.ndarray:
    """Weekdays in [first, last] minus the approximate Chinese exchange holidays."""
    days = np.arange(first, last + 1, dtype="datetime64[D]")
    years = range(int(str(first)[:4]), int(str(last)[:4]) + 1)
    holidays = np.array([h for y in years for h in _holidays(y)], dtype="datetime64[D]")
    return days[(_weekday(days) < 5) & ~np.isin(days, holidays)]


@dataclass(frozen=True)


class _Quarter:
    index: int
    year: int
    k: int  # 0 = Q1 ... 3 = annual
    end: np.datetime64
    label: str


def _quarters(start: str, end: str) -> list[_Quarter]:
    """Report periods from Q1 of start-year minus PRE_YEARS to the last quarter end <= end."""
    first_year, last = int(start[:4]) - PRE_YEARS, as_day(end)
    out: list[_Quarter] = []
    for year in range(first_year, int(end[:4]) + 1):
        for k, mmdd in enumerate(("0331", "0630", "0930", "1231")):
            q_end = as_day(f"{year}{mmdd}")
            if q_end <= last:
                out.append(_Quarter(len(out), year, k, q_end, f"{year}{mmdd}"))
    return out
