"""What loading a folder did (`zoo.ingest.load.load_dir`'s answer), and how it is printed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zoo.ingest.changes import Rebuild
from zoo.ingest.files import IgnoredFile

RULES_SHOWN = 5  # broken rules shown per file in the summary of rows set aside


@dataclass(frozen=True)
class TableLoad:
    """What loading one file did."""

    table: str
    source: Path
    sha256: str
    rows_in_file: int
    rows_inserted: int
    seconds: float
    rows_closed: int = 0  # existing rows whose period-closing columns were filled in
    rows_rejected: int = 0  # rows set aside (--quarantine), kept in raw._rejects
    rejected_by_rule: tuple[tuple[str, int], ...] = ()  # ('COLUMN: rule', rows), most first
    ignored_columns: tuple[str, ...] = ()  # the file's columns wind.py does not declare
    alias: str = ""  # the Wind table name the file carries when it is not `table`
    changed_from: str | None = None  # first day the new or closed rows can affect (YYYYMMDD)

    @property
    def rows_already_there(self) -> int:
        return self.rows_in_file - self.rows_inserted - self.rows_rejected


@dataclass(frozen=True)
class LoadReport:
    """What `load_dir` did, per table, and what it left out."""

    src: Path
    warehouse: Path
    schema: str
    tables: tuple[TableLoad, ...]
    seconds: float
    ignored_files: tuple[IgnoredFile, ...] = ()
    created_empty: tuple[str, ...] = ()  # declared tables created without rows by this load
    quarantine: bool = False
    rejects_table: str = ""
    origin: str = ""  # what the files were converted from, if anything
    rebuild: Rebuild | None = None  # what the load marked for rebuild (raw only)
    rebuild_problem: str = ""  # why it could not mark it ('' when it could)

    @property
    def rows_in_files(self) -> int:
        return sum(t.rows_in_file for t in self.tables)

    @property
    def rows_inserted(self) -> int:
        return sum(t.rows_inserted for t in self.tables)

    @property
    def rows_rejected(self) -> int:
        return sum(t.rows_rejected for t in self.tables)

    def summary(self) -> str:
        n = len(self.tables)
        source = self.origin or self.src
        already = sum(t.rows_already_there for t in self.tables)
        lines = [
            f"Loaded {n} table{'s' if n != 1 else ''} from {source} into {self.schema} "
            f"of {self.warehouse} in {self.seconds:.1f} s: {self.rows_inserted:,} new rows "
            f"({already:,} already there"
            + (f", {self.rows_rejected:,} set aside" if self.rows_rejected else "") + ")."
        ]
        width = max((len(t.table) for t in self.tables), default=0)
        lines += [
            f"  {t.table:<{width}}  {t.rows_in_file:>12,} in file  {t.rows_inserted:>12,} new"
            f"  {t.seconds:6.1f} s"
            + (f"  (from {t.alias})" if t.alias else "")
            + (f"  ({t.rows_closed:,} periods closed)" if t.rows_closed else "")
            + (f"  ({t.rows_rejected:,} set aside)" if t.rows_rejected else "")
            for t in self.tables
        ]
        lines += self._rejected_lines() + self._left_out_lines()
        if self.rebuild is not None and self.rebuild.changes:
            lines.append(self.rebuild.summary())
        if self.rebuild_problem:
            lines.append(f"Warning: {self.rebuild_problem}")
        return "\n".join(lines)

    def _rejected_lines(self) -> list[str]:
        if not self.quarantine:
            return []
        if not self.rows_rejected:
            return ["No row broke a rule: nothing was set aside (--quarantine)."]
        lines = [f"Set aside {self.rows_rejected:,} rows that break a rule (--quarantine); "
                 f"they are in {self.rejects_table} with their rule and values:"]
        for t in self.tables:
            if not t.rows_rejected:
                continue
            lines.append(f"  {t.source.name} ({t.table}): {t.rows_rejected:,} rows")
            lines += [f"    {n:>10,}  {rule}" for rule, n in t.rejected_by_rule[:RULES_SHOWN]]
            more = len(t.rejected_by_rule) - RULES_SHOWN
            if more > 0:
                lines.append(f"    ... and {more} more rules")
        return lines

    def _left_out_lines(self) -> list[str]:
        lines = []
        if self.created_empty:
            lines.append("Created empty (no file for them; what needs them will be NULL): "
                         + ", ".join(self.created_empty))
        if self.ignored_files:
            lines.append("Ignored files (not loaded):")
            lines += [f"  {f.name}: {f.why}" for f in self.ignored_files]
        extra = [t for t in self.tables if t.ignored_columns]
        if extra:
            lines.append("Ignored columns (not declared in zoo/ingest/wind.py, not loaded):")
            lines += [f"  {t.source.name}: {', '.join(t.ignored_columns)}" for t in extra]
        return lines

