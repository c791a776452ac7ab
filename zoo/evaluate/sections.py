"""What a report is made of, so that any package can add its part to `zoo report`.

A section is a titled list of tables (polars frames, rendered as HTML, Markdown and rich tables)
and figures (matplotlib figures, embedded in the HTML as PNG). `zoo.evaluate` makes the factor
sections (the seed report's tables 1-6, figures 2-10); `portfolios` makes the index-enhancement
sections (tables 7-9, figures 11-12). Nothing here imports polars or matplotlib at import time.

Tables and figures speak the seed report's language, Chinese: `chinese_figures()` makes
matplotlib draw with Noto Sans CJK SC, which comes with the Python package noto-cjk-sans-otc
(a dependency), so no system font is needed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class Table:
    """One table: `frame`'s columns in order, its rows as they are (already formatted or raw)."""

    title: str
    frame: pl.DataFrame
    note: str = ""
    # column name -> Python format spec for numbers, e.g. {"rank_ic": ".2%"}
    formats: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """One plot: a matplotlib figure (`matplotlib.figure.Figure`), closed after rendering."""

    title: str
    figure: Any
    note: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


# Noto Sans CJK SC is the collection's third face; Latin text is drawn with it too, DejaVu Sans
# (matplotlib's own) only for a glyph it lacks
CJK_FONT = "Noto Sans CJK SC"


@functools.cache
def chinese_figures() -> None:
    """Make matplotlib (Agg) draw Chinese labels: register Noto Sans CJK from the
    noto-cjk-sans-otc package and put it first among the sans-serif fonts. Idempotent."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from noto_cjk_sans_otc import FONT_PATH

    font_manager.fontManager.addfont(str(FONT_PATH))
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [
        CJK_FONT, *[f for f in matplotlib.rcParams["font.sans-serif"] if f != CJK_FONT]]
