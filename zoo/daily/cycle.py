"""`zoo daily`: the evening's cycle in one command, with a one-screen account of it.

1. load   the extract (optional): `zoo data load`, all of it or nothing; a load records what it
          changed and marks what was built from it for rebuild (zoo.ingest.changes);
2. refresh `sqlmesh run` (zoo.daily.refresh): the new days, and the days a late row changed;
3. export the features and labels to the parquet files Feast reads (only what changed);
4. online fill the online store with the latest day's features (`zoo features materialize`);
5. score every listed model's new days with its trained run (zoo.train.inference) and write
          them back to the warehouse and the model's Feast view.
Each step is timed (wall, and CPU seconds of this process and its children). The summary says
what came in, how far each model is built, which features are missing on the latest day (all
NULL there, though not the day before), which exports are stale, and the scores written.

A step that fails stops the cycle with the failure and what the earlier steps did; nothing a
step wrote is half-written (each is atomic on its own), and running `zoo daily` again picks up
where it stopped (a load of the same extract changes nothing, the refresh finds no work).
"""

from __future__ import annotations

import dataclasses
import resource
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from time import perf_counter
from typing import Any

from zoo.paths import warehouse_path

MODEL_SCHEMAS = ("features", "labels")
TIME_COLUMNS = ("trade_date", "available_date")


class DailyError(RuntimeError):
    """A step failed; `report` holds what the steps before it did."""

    def __init__(self, message: str, report: DailyReport):
        super().__init__(message)
        self.report = report


@dataclass
class Step:
    name: str
    seconds: float
    cpu_seconds: float
    detail: str


@dataclass
class DailyReport:
    """What `run_daily` did, step by step."""

    steps: list[Step] = field(default_factory=list)
    rows_in: int = 0
    rows_already_there: int = 0
    built_before: dict[str, date | None] = field(default_factory=dict)
    built_after: dict[str, date | None] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)  # table -> columns
    stale: list[str] = field(default_factory=list)
    scores: list[Any] = field(default_factory=list)  # zoo.train.inference.NewScores
    latest_day: date | None = None

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able values (`zoo daily --json`)."""
        return {
            "seconds": self.seconds, "latest_day": self.latest_day,
            "steps": [dataclasses.asdict(s) for s in self.steps],
            "rows_in": self.rows_in, "rows_already_there": self.rows_already_there,
            "built_before": self.built_before, "built_after": self.built_after,
            "missing": self.missing, "stale": self.stale,
            "scores": [{"model": s.model, "days": [str(d) for d in s.days], "rows": s.rows}
                       for s in self.scores],
        }

    def summary(self) -> str:
        lines = [f"zoo daily: {self.seconds:.1f} s"
                 + (f", latest day {self.latest_day}" if self.latest_day else "")]
        width = max((len(s.name) for s in self.steps), default=4)
        lines.append(f"  {'step':<{width}}  {'wall s':>7}  {'CPU s':>7}  what")
        lines += [f"  {s.name:<{width}}  {s.seconds:7.1f}  {s.cpu_seconds:7.1f}  {s.detail}"
                  for s in self.steps]
        if self.steps:
            top = max(self.steps, key=lambda s: s.seconds)
            lines.append(f"  the longest step: {top.name} ({top.seconds / self.seconds:.0%})"
                         if self.seconds else "")
        if self.built_after:
            lines.append("Built through:")
            for name, last in sorted(self.built_after.items()):
                before = self.built_before.get(name)
                moved = f" (was {before})" if before != last else " (unchanged)"
                lines.append(f"  {name:<40} {last}{moved}")
        if self.missing:
            lines.append(f"Missing on {self.latest_day} (all NULL, not so the day before):")
            lines += [f"  {table}: {', '.join(cols)}" for table, cols in self.missing.items()]
        else:
            lines.append(f"No feature is missing on {self.latest_day}.")
        lines.append("Stale exports (older than the raw data): " + ", ".join(self.stale)
                     if self.stale else "Every export is up to date with the raw data.")
        for scores in self.scores:
            lines.append(f"Scores {scores.model}: " + scores.describe().replace("\n", "\n  "))
        return "\n".join(line for line in lines if line)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def _step(report: DailyReport, name: str) -> Iterator[list[str]]:
    """Time the block as step `name`; the block appends its one-line detail to the list."""
    detail: list[str] = []
    started, cpu = perf_counter(), _cpu()
    try:
        yield detail
    except Exception as err:
        report.steps.append(Step(name, perf_counter() - started, _cpu() - cpu, "FAILED"))
        raise DailyError(f"zoo daily: {name} failed: {err}", report) from err
    report.steps.append(Step(name, perf_counter() - started, _cpu() - cpu,
                             "; ".join(detail)))


def built_through(warehouse: Path) -> dict[str, date | None]:
    """The last day of each features/labels table (None: empty)."""
    import duckdb

    if not warehouse.is_file():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT table_schema, table_name, list(column_name) FROM information_schema.columns "
            "WHERE table_schema IN (SELECT unnest($s)) AND table_catalog = current_database() "
            "GROUP BY ALL ORDER BY ALL", {"s": list(MODEL_SCHEMAS)}).fetchall()
        out = {}
        for schema, table, columns in rows:
            time = next((c for c in TIME_COLUMNS if c in columns), None)
            if time is None:
                continue
            out[f"{schema}.{table}"] = con.execute(
                f'SELECT max("{time}") FROM "{schema}"."{table}"').fetchone()[0]
    return out


def missing_on_latest_day(warehouse: Path) -> tuple[date | None, dict[str, list[str]]]:
    """The latest day of the daily feature tables and, per table, the columns that are all
    NULL on it but not on the trading day before (a feed that did not come today)."""
    import duckdb

    out: dict[str, list[str]] = {}
    latest = None
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT table_name, list(column_name) FROM information_schema.columns "
            "WHERE table_schema = 'features' AND table_catalog = current_database() "
            "GROUP BY ALL HAVING list_contains(list(column_name), 'trade_date') "
            "ORDER BY ALL").fetchall()
        for table, columns in tables:
            # the last two days by two aggregates (min/max statistics), not a sort of them all
            last = con.execute(f'SELECT max(trade_date) FROM features."{table}"').fetchone()[0]
            previous = con.execute(f'SELECT max(trade_date) FROM features."{table}" '
                                   "WHERE trade_date < $d", {"d": last}).fetchone()[0]
            if last is None or previous is None:
                continue
            days = [last, previous]
            latest = max(latest, days[0]) if latest else days[0]
            values = [c for c in columns if c not in ("stock_id", "trade_date")]
            counts = ", ".join(f'count("{c}")' for c in values)
            today, before = (con.execute(f'SELECT {counts} FROM features."{table}" '
                                         "WHERE trade_date = $d", {"d": d}).fetchone()
                             for d in days)
            gone = [c for c, now, then in zip(values, today, before, strict=True)
                    if now == 0 and then > 0]
            if gone:
                out[f"features.{table}"] = gone
    return latest, out


def scored_models(warehouse: Path) -> list[str]:
    """The models that have a score table in the warehouse (what `zoo daily` keeps up)."""
    import duckdb

    from zoo.serving.published import SCORE_SCHEMA

    if not warehouse.is_file():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = $s ORDER BY 1", {"s": SCORE_SCHEMA}).fetchall()
    return [n.removeprefix("score_") for (n,) in names if n.startswith("score_")]


def run_daily(extract: Path | None = None, models: Sequence[str] | None = None, *,
              source_format: str = "wind", quarantine: bool = False,
              echo: Callable[[str], None] | None = None) -> DailyReport:
    """The daily cycle (module doc) on $ZOO_HOME. `models` None: every model with a score
    table; [] none. Raises DailyError when a step fails."""
    from zoo.daily.refresh import refresh
    from zoo.serving import feature_store
    from zoo.serving.freshness import latest_load, stale
    from zoo.serving.published import open_warehouse

    warehouse = warehouse_path()
    report = DailyReport()
    say = echo or (lambda _text: None)
    report.built_before = built_through(warehouse)
    if extract is not None:
        with _step(report, "load") as detail:
            loaded = _load(Path(extract), warehouse, source_format, quarantine)
            report.rows_in = loaded.rows_inserted
            report.rows_already_there = sum(t.rows_already_there for t in loaded.tables)
            detail.append(f"{loaded.rows_inserted:,} new rows in {len(loaded.tables)} tables "
                          f"({report.rows_already_there:,} already there)")
            if loaded.rebuild_problem:
                detail.append(loaded.rebuild_problem)
        say(f"loaded {extract}")
    with _step(report, "refresh") as detail:
        done = refresh()
        report.built_after = built_through(warehouse)
        moved = sum(1 for k, v in report.built_after.items()
                    if v != report.built_before.get(k))
        detail.append(f"`{' '.join(done.command)}`: {moved} of {len(report.built_after)} "
                      "tables moved on")
    say("refreshed")
    with _step(report, "export") as detail:
        written = feature_store.export()
        detail.append(_export_detail(written))
        if not feature_store.registry_path().is_file():  # a home never applied: register
            with _quiet():
                feature_store.apply()
            detail.append("Feast repo applied (first time)")
    say("exported")
    with _step(report, "online") as detail, _quiet():
        latest = feature_store.materialize()
        detail.append(f"online store filled with {latest:%Y-%m-%d}")
    say("online store filled")
    report.latest_day, report.missing = missing_on_latest_day(warehouse)
    names = scored_models(warehouse) if models is None else list(models)
    if names and report.latest_day is not None:
        from zoo.train.inference import score_new_days

        for name in names:
            with _step(report, f"score {name}") as detail, warnings.catch_warnings():
                # torch's own deprecation of torch.jit.script, raised inside the model
                # libraries as they load: not ours, and not the evening's news
                warnings.filterwarnings("ignore", message=".*torch.jit.script.* deprecated",
                                        category=DeprecationWarning)
                scores = score_new_days(name, report.latest_day)
                report.scores.append(scores)
                detail.append(f"{len(scores.days)} new day(s), {scores.rows:,} rows"
                              + (f" ({len(scores.skipped)} already scored)"
                                 if scores.skipped else ""))
            say(f"scored {name}")
    con = open_warehouse(warehouse)
    try:
        last_raw = latest_load(con)
    finally:
        con.close()
    report.stale = sorted({s.path.name for s in stale(_export_paths(), last_raw)})
    return report


@contextmanager
def _quiet() -> Iterator[None]:
    """Feast prints a banner and progress bars per view while materializing: keep them off
    the one-screen summary."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        yield


def _load(extract: Path, warehouse: Path, source_format: str, quarantine: bool) -> Any:
    from zoo.ingest.load import load_dir

    if source_format == "baostock":
        from zoo.ingest.baostock import converted

        with converted(extract, warehouse.parent) as (_conversion, folder):
            return load_dir(folder, warehouse, quarantine=quarantine,
                            origin=f"baostock files in {extract.resolve()}")
    return load_dir(extract, warehouse, quarantine=quarantine)


def _export_paths() -> list[Path]:
    from zoo.paths import offline_dir

    folder = offline_dir()  # a folder per view (monthly files), or a file of the old layout
    return sorted(p for p in folder.iterdir() if p.is_dir() or p.suffix == ".parquet")


def _export_detail(written: Sequence[Any]) -> str:
    rows = sum(w.rows_written for w in written)
    months = sum(len(w.months_written) for w in written)
    kept = sum(w.months_unchanged for w in written)
    gone = sum(len(w.months_removed) for w in written)
    return (f"{len(written)} views: {months} month files rewritten ({rows:,} rows), {kept} "
            "unchanged" + (f", {gone} removed" if gone else ""))
