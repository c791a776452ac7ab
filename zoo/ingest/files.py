"""Which files of a folder are tables, and reading them.

`scan_folder` sorts the files of a folder (not its subfolders or hidden files):
- `<Table>.csv` / `<Table>.parquet` (names matched up to case) for a declared table, or for a
  Wind table that loads into one (`wind.TABLE_ALIASES`, e.g. AIndexCSI500Weight), is loaded;
- the converter's `convert_report.json` and the synthetic market's `synth_config.json` are
  passed over;
- any other file is ignored and reported: a Wind table alphazoo does not read
  (`wind_names.OTHER_WIND_TABLES`, e.g. AShareProfitNotice.csv), or any other name;
- except a near miss: a name within a typo of a table the project reads (AShareEODPrice.csv,
  AShareEODPrices.csv.gz) while that table has no file of its own is refused ("did you
  mean ...?"), because loading the rest would leave that table silently empty. Next to the
  table's own file it is only ignored, with the hint.
Two files for one table, or no table at all, are refused too.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from zoo.ingest import contracts, wind
from zoo.ingest.wind_names import OTHER_WIND_TABLES

DATA_SUFFIXES = (".csv", ".parquet")
# What `zoo data convert` writes beside the tables it converted: passed over, not reported.
CONVERT_REPORT = "convert_report.json"
# What `zoo data synth` writes beside the market it made: the config that made it.
SYNTH_CONFIG = "synth_config.json"
PASSED_OVER = frozenset({CONVERT_REPORT, SYNTH_CONFIG})
CSV_NULLS = ["", "NULL"]
# Name similarity (difflib ratio, case and separators ignored) from which a name is taken for
# a typo of a table the project reads, and from which an ignored file gets a hint.
TYPO_SIMILARITY = 0.85
HINT_SIMILARITY = 0.6


class FolderError(Exception):
    """The folder cannot be loaded as it is; `problems` lists each reason."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True)
class TableFile:
    """A file to load into `table`; `alias` when it is a Wind table of another name."""

    table: wind.Table
    path: Path
    alias: wind.Alias | None = None


@dataclass(frozen=True)
class IgnoredFile:
    name: str
    why: str


@dataclass(frozen=True)
class FolderScan:
    files: tuple[TableFile, ...]  # in the order of the declared tables
    ignored: tuple[IgnoredFile, ...]


def _norm(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def _closest(name: str, candidates: dict[str, wind.Table]) -> tuple[float, str]:
    """(similarity, candidate name) of the candidate most like `name`."""
    return max((difflib.SequenceMatcher(None, _norm(name), _norm(c)).ratio(), c)
               for c in candidates)


def scan_folder(src: Path, tables: Sequence[wind.Table],
                aliases: Sequence[wind.Alias] = ()) -> FolderScan:
    """Sort the files of `src` into tables to load and files to ignore (see the module doc).

    Raises FolderError on a near miss of an absent table, two files for one table, or a folder
    without any table file.
    """
    if not src.is_dir():
        raise FolderError(f"{src} is not a folder")
    names: dict[str, wind.Table] = {t.name: t for t in tables}
    names.update({a.name: a.table for a in aliases if a.table in tables})
    by_name = {n.lower(): n for n in names}
    alias_of = {a.name: a for a in aliases}
    found: dict[wind.Table, list[TableFile]] = {}
    others: list[Path] = []
    for path in sorted(src.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.name in PASSED_OVER:
            continue
        name = by_name.get(path.stem.lower())
        if name is not None and path.suffix.lower() in DATA_SUFFIXES:
            found.setdefault(names[name], []).append(TableFile(names[name], path,
                                                               alias_of.get(name)))
        else:
            others.append(path)
    problems, ignored = [], []
    for path in others:
        base = path.name.split(".")[0]
        similarity, near = _closest(base, names)
        typo = base.lower() not in OTHER_WIND_TABLES and similarity >= TYPO_SIMILARITY
        if typo and names[near] not in found:
            problems.append(_near_miss(path, base, near, names))
            continue
        ignored.append(IgnoredFile(path.name, _why_ignored(path, base, near, similarity)))
    problems += [
        f"{table.name}: {len(files)} files ({', '.join(f.path.name for f in files)}); keep one"
        for table, files in found.items() if len(files) > 1
    ]
    if problems:
        raise FolderError(f"{src}: " + "\n".join(problems), problems)
    if not found:
        raise FolderError(
            f"{src} holds no table files: expected <Table>.csv or <Table>.parquet for any of "
            + ", ".join(t.name for t in tables)
            + (f" (or {', '.join(a.name for a in aliases)})" if aliases else "")
            + (f"; it has {', '.join(p.name for p in others[:10])}" if others else ""))
    return FolderScan(tuple(found[t][0] for t in tables if t in found), tuple(ignored))


def _near_miss(path: Path, base: str, near: str, names: dict[str, wind.Table]) -> str:
    table = names[near]
    what = "" if near == table.name else f" (loaded as {table.name})"
    if base.lower() == near.lower():
        reason = f"{path.name} is not a {' or '.join(DATA_SUFFIXES)} file"
    else:
        reason = f"unknown table file {path.name} (did you mean {near}.csv?)"
    return (f"{reason}, and the folder has no {near}{what} table file: loading the rest would "
            f"leave {table.name} empty. Rename or convert it, or move it out of the folder; "
            f"known tables: {', '.join(t for t in names)}")


def _why_ignored(path: Path, base: str, near: str, similarity: float) -> str:
    if base.lower() in OTHER_WIND_TABLES:
        return "a Wind table alphazoo does not read"
    if path.suffix.lower() not in DATA_SUFFIXES and base.lower() != near.lower():
        return f"not a table file ({' or '.join(DATA_SUFFIXES)} named after a table)"
    hint = f" (did you mean {near}?)" if similarity >= HINT_SIMILARITY else ""
    return f"not a table alphazoo reads{hint}"


# --------------------------------------------------------------------------- reading
def read_table_file(file: TableFile) -> pl.DataFrame:
    """Read one file as it is, with an alias's columns renamed; `contracts.validate` then casts
    and checks it."""
    path, table = file.path, file.table
    if path.suffix.lower() == ".parquet":
        frame = pl.read_parquet(path)
    else:
        frame = _read_csv(path, table, file.alias)
    return frame if file.alias is None else _as_declared(frame, file.alias)


def _as_declared(frame: pl.DataFrame, alias: wind.Alias) -> pl.DataFrame:
    """An alias's columns under the declared names (when the declared one is absent), and
    S_INFO_WINDCODE from the alias's index when the file has no such column."""
    upper = {c.upper(): c for c in frame.columns}
    renames = {upper[old.upper()]: new for old, new in alias.renames
               if old.upper() in upper and new.upper() not in upper}
    frame = frame.rename(renames)
    if alias.index_code and "S_INFO_WINDCODE" not in {c.upper() for c in frame.columns}:
        frame = frame.with_columns(S_INFO_WINDCODE=pl.lit(alias.index_code))
    return frame


def _read_csv(path: Path, table: wind.Table, alias: wind.Alias | None) -> pl.DataFrame:
    """Read with wind.py's types (dates and codes stay text: '000001' keeps its zeros).

    If a value does not parse, read everything as text instead, so the contract reports every
    unreadable value with its row rather than polars stopping at the first.
    """
    header = pl.read_csv(path, n_rows=0, infer_schema=False).columns
    kinds = {c.name: c.kind for c in table.columns}
    if alias is not None:
        kinds.update({old: kinds[new] for old, new in alias.renames})
    types = {h: contracts.POLARS_TYPES[kinds[h.upper()]] for h in header if h.upper() in kinds}
    try:
        return pl.read_csv(path, infer_schema=False, schema_overrides=types,
                           null_values=CSV_NULLS)
    except pl.exceptions.ComputeError:
        return pl.read_csv(path, infer_schema=False, null_values=CSV_NULLS)


def extra_columns(table: wind.Table, frame: pl.DataFrame) -> tuple[str, ...]:
    """The file's columns that wind.py does not declare (OBJECT_ID, OPDATE, ...): not loaded."""
    declared = {c.upper() for c in table.column_names}
    return tuple(c for c in frame.columns if c.upper() not in declared)


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def unreadable_file(path: Path, err: Exception) -> str:
    hint = ""
    if "utf-8" in str(err).lower():
        hint = (" The file is not UTF-8 (WDS exports are often GBK): convert it with "
                f"`iconv -f GBK -t UTF-8 {path.name}` or export as UTF-8.")
    return f"{path.name}: cannot read the file: {str(err).splitlines()[0]}.{hint}"
