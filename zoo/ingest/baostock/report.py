"""What a conversion wrote, what it could not derive, and every row it dropped or flagged."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Issue:
    """Rows of `table` dropped (not written) or flagged (written, but worth knowing)."""

    table: str
    reason: str
    rows: int
    examples: tuple[str, ...] = ()


@dataclass
class ConvertReport:
    """The outcome of `convert`: tables written (rows), tables and columns it cannot feed,
    rows dropped or flagged (with the reason), quality measures and notes on method."""

    src: Path
    out: Path
    written: dict[str, int] = field(default_factory=dict)
    not_fed: dict[str, str] = field(default_factory=dict)  # table -> why
    null_columns: dict[str, str] = field(default_factory=dict)  # 'Table.COLUMN' -> why
    dropped: list[Issue] = field(default_factory=list)
    flagged: list[Issue] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    contract_failures: dict[str, list[str]] = field(default_factory=dict)

    def drop(self, table: str, reason: str, examples: list[str]) -> None:
        _add(self.dropped, table, reason, examples)

    def flag(self, table: str, reason: str, examples: list[str]) -> None:
        _add(self.flagged, table, reason, examples)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["src"], data["out"] = str(self.src), str(self.out)
        return data

    def summary(self) -> str:
        lines = [f"Converted baostock files in {self.src} to Wind tables in {self.out}:"]
        lines += [f"  {name:<30} {rows:>10,} rows" for name, rows in self.written.items()]
        if self.not_fed:
            lines.append("Tables the source cannot feed:")
            lines += [f"  {name}: {why}" for name, why in self.not_fed.items()]
        if self.null_columns:
            lines.append("Declared columns left NULL (the source does not have them):")
            lines += [f"  {name}: {why}" for name, why in self.null_columns.items()]
        for title, issues in (("Rows dropped:", self.dropped), ("Rows flagged:", self.flagged)):
            if issues:
                lines.append(title)
                lines += [f"  {i.table}: {i.rows:,} rows: {i.reason}"
                          + (f" (e.g. {', '.join(i.examples[:3])})" if i.examples else "")
                          for i in issues]
        if self.quality:
            lines.append("Quality:")
            lines += [f"  {name}: {value:.6g}" for name, value in self.quality.items()]
        if self.contract_failures:
            lines.append("Tables the loader's contracts would refuse:")
            lines += [f"  {name}: {line}" for name, failures in self.contract_failures.items()
                      for line in failures]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)


def _add(issues: list[Issue], table: str, reason: str, examples: list[str]) -> None:
    """Count rows under one (table, reason) entry, keeping the first few examples."""
    if not examples:
        return
    for k, issue in enumerate(issues):
        if (issue.table, issue.reason) == (table, reason):
            issues[k] = Issue(table, reason, issue.rows + len(examples),
                              (issue.examples + tuple(examples))[:5])
            return
    issues.append(Issue(table, reason, len(examples), tuple(examples[:5])))
