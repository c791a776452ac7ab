"""A folder of numpy arrays that is either whole and checked or not there: the cache of built
day batches under $ZOO_HOME/cache/day_batches/<key>/ (zoo.datasets.day_batches).

An entry is `<name>.npy` per array plus `entry.json`: what the entry was built from (for a
reader), plain values to rebuild the object (dates, ids) and each file's size and SHA-256. It
is written into a scratch folder and swapped in (zoo.atomic.replace_dir), so a reader sees the
old entry, the new one or none; it is read back only if every file is there with its size and
digest, else it is removed and the caller rebuilds: a corrupt entry is never trusted. The
newest `KEEP` entries are kept (reading one makes it the newest); older ones are removed.

The key is the SHA-256 of what the entry depends on (`entry_key`), so a change to any of it
is a new entry, and a stale one is never read, only evicted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from zoo.atomic import replace_dir

log = logging.getLogger(__name__)

__all__ = ["KEEP", "entry_key", "file_fingerprint", "read_entry", "write_entry"]

FORMAT = 1
KEEP = 4  # entries kept per cache folder (a real-market entry is some hundreds of MB)
_META = "entry.json"


def entry_key(parts: dict[str, Any]) -> str:
    """A folder name for `parts` (JSON-able): the first 24 hex digits of their SHA-256."""
    text = json.dumps({"format": FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def file_fingerprint(paths: list[Path], root: Path | None = None) -> list[list[Any]]:
    """[name, size, mtime in ns] of each file: what changes when a file is rewritten (an
    export is written beside its target and renamed over it, so it gets a new mtime). The
    name is the path below `root` when given (files of two folders may share a name)."""
    out = []
    for path in sorted(paths):
        stat = path.stat()
        name = path.relative_to(root).as_posix() if root is not None else path.name
        out.append([name, stat.st_size, stat.st_mtime_ns])
    return out


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def write_entry(folder: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write `arrays` and `meta` (JSON-able) as the entry `folder`, atomically, then evict the
    oldest entries beside it. A failure (a full disk, another process swapping the same entry
    in) is logged, not raised: the cache only saves time."""
    try:
        with replace_dir(folder) as scratch:
            files = {}
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
                raw = buffer.getvalue()
                (scratch / f"{name}.npy").write_bytes(raw)
                files[name] = {"size": len(raw), "sha256": _digest(raw)}
            (scratch / _META).write_text(json.dumps({"format": FORMAT, "files": files,
                                                     "meta": meta}, default=str))
        _evict(folder.parent)
    except OSError as err:
        log.warning("could not write the cache entry %s (%s); going on without it", folder, err)


def read_entry(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The arrays and meta of the entry `folder`, or None when there is none, or when it is
    incomplete or corrupt (then it is removed)."""
    if not (folder / _META).is_file():
        return None
    try:
        stored = json.loads((folder / _META).read_text())
        if stored.get("format") != FORMAT:
            raise ValueError(f"format {stored.get('format')}, not {FORMAT}")
        arrays = {}
        for name, expected in stored["files"].items():
            raw = (folder / f"{name}.npy").read_bytes()
            if len(raw) != expected["size"] or _digest(raw) != expected["sha256"]:
                raise ValueError(f"{name}.npy does not match its recorded size and digest")
            arrays[name] = np.load(io.BytesIO(raw), allow_pickle=False)
        meta = stored["meta"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("cache entry %s is unreadable (%s): removing it", folder, err)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    os.utime(folder / _META)  # the newest for eviction
    return arrays, meta


def _evict(root: Path, keep: int = KEEP) -> None:
    entries = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
               and (p / _META).is_file()]
    entries.sort(key=lambda p: (p / _META).stat().st_mtime_ns, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)
