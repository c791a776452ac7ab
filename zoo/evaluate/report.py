"""Render report Sections: one self-contained HTML file (figures as base64 PNG), Markdown
tables, and rich tables on the terminal.

Files are written to a temporary name beside the target and renamed into place, so a reader
never sees half a report and a failed run leaves the previous one intact.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.atomic import write_text
from zoo.evaluate.sections import Figure, Section, Table

if TYPE_CHECKING:
    from rich.console import Console

STYLE = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;
margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:0.6em 0 0.3em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f3f7}td:first-child,th:first-child{text-align:left}
caption{font-weight:bold;text-align:left;padding:4px 0}
.note{color:#666;font-size:12px;margin:0 0 1.2em}
img{max-width:100%;display:block;margin:0.4em 0}
"""


def figure_png(figure: Figure) -> str:
    """The figure as a base64 PNG (and closed, so figures do not pile up in memory)."""
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure.figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def table_html(table: Table) -> str:
    from zoo.evaluate.tables import frame_for

    frame = frame_for(table)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
                   for row in frame.iter_rows())
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (f"<table><caption>{html.escape(table.title)}</caption><thead><tr>{head}</tr>"
            f"</thead><tbody>{body}</tbody></table>{note}")


def table_markdown(table: Table) -> str:
    from zoo.evaluate.tables import frame_for

    frame = frame_for(table)
    lines = [f"**{table.title}**", "",
             "| " + " | ".join(c.replace("|", "\\|") for c in frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(v.replace("|", "\\|") for v in row) + " |"
              for row in frame.iter_rows()]
    if table.note:
        lines += ["", f"_{table.note}_"]
    return "\n".join(lines) + "\n"


def render_html(title: str, sections: list[Section], subtitle: str = "") -> str:
    """The whole report as one HTML document; figures are embedded and closed."""
    parts = [f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p class='note'>{html.escape(subtitle)}</p>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.intro:
            parts.append(f"<p>{html.escape(section.intro)}</p>")
        parts += [table_html(t) for t in section.tables]
        for figure in section.figures:
            parts.append(f"<h3>{html.escape(figure.title)}</h3>"
                         f"<img alt='{html.escape(figure.title)}' "
                         f"src='data:image/png;base64,{figure_png(figure)}'>")
            if figure.note:
                parts.append(f"<p class='note'>{html.escape(figure.note)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_markdown(title: str, sections: list[Section], subtitle: str = "") -> str:
    parts = [f"# {title}", "", subtitle, ""]
    for section in sections:
        parts += [f"## {section.title}", ""]
        if section.intro:
            parts += [section.intro, ""]
        parts += [table_markdown(t) for t in section.tables]
        if section.figures:
            parts += ["Figures: " + "; ".join(f.title for f in section.figures)
                      + " (in report.html)", ""]
    return "\n".join(parts)


# Output to a file or a pipe has no width; rich would fold every table at 80 columns
FILE_WIDTH = 200


def wide_console() -> Console:
    """A rich Console for the terminal, or, when stdout is a file or a pipe (and COLUMNS is
    not set), one FILE_WIDTH columns wide, so a logged table keeps one row per line."""
    import os

    from rich.console import Console

    console = Console()
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(width=FILE_WIDTH)


def print_tables(tables: list[Table], console: Console | None = None) -> None:
    """Rich tables on the terminal, for people who do not open the HTML."""
    from rich.table import Table as RichTable

    from zoo.evaluate.tables import frame_for

    console = console or wide_console()
    for table in tables:
        frame = frame_for(table)
        rich = RichTable(title=table.title, caption=table.note or None)
        for i, column in enumerate(frame.columns):
            # fold rather than truncate: a narrow terminal still shows every digit
            rich.add_column(column, overflow="fold",
                            justify="left" if i < 2 and not _numeric(frame, column)
                            else "right")
        for row in frame.iter_rows():
            rich.add_row(*row)
        console.print(rich)


def _numeric(frame, column: str) -> bool:
    values = [v for v in frame[column].to_list() if v not in ("-", "")]
    return bool(values) and all(v.replace(".", "", 1).replace("%", "").lstrip("-").isdigit()
                                for v in values)


def write_report(sections: list[Section], out_dir: Path, title: str = "alphazoo 因子评价报告",
                 subtitle: str = "") -> tuple[Path, Path]:
    """Write report.html and report.md into `out_dir` (atomically); returns their paths."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"{subtitle} 生成于 {stamp}".strip()
    markdown = render_markdown(title, sections, subtitle)
    page = render_html(title, sections, subtitle)  # closes the figures
    html_path, md_path = out_dir / "report.html", out_dir / "report.md"
    write_text(md_path, markdown)
    write_text(html_path, page)
    return html_path, md_path
