"""Writes that a reader never sees half done: a file (or folder) is written beside its target
under a hidden temporary name and renamed over it, so a crash leaves the old one or none.

A temporary file is named `.<target>.<pid>.<random><suffix>`: the id of the process writing
it, so that a later writer can tell the leftovers of a killed one (`remove_stale_temps`) from
a file another live process is writing right now."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["remove_stale_temps", "replace_dir", "replace_file", "write_json", "write_text"]

# When this process began writing (near enough): a temporary file without a writer's id that
# is older than this was left by an earlier process.
_STARTED = time.time()


@contextlib.contextmanager
def replace_file(path: str | Path, *, mode: int = 0o644, suffix: str = ".tmp") -> Iterator[Path]:
    """Yields a temporary path beside `path`; on a clean exit it replaces `path` (readable by
    others with `mode`), on an error it is removed and `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=suffix,
                                    dir=path.parent)
    os.close(handle)
    temp = Path(temp)
    try:
        yield temp
        with open(temp, "rb") as written:
            os.fsync(written.fileno())  # the rename must not reach the disk before the data
        os.chmod(temp, mode)  # mkstemp made it private
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temps(folder: str | Path, suffix: str = ".tmp") -> list[Path]:
    """Delete the temporary files `replace_file` left in `folder` when its process was killed:
    those whose writer no longer runs, and those without a writer's id (an older naming) that
    are older than this process. A file a live process is writing is kept. Returns what was
    removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    with_pid = re.compile(r"\.(.+)\.(\d+)\.[A-Za-z0-9_]{8}" + re.escape(suffix))
    removed = []
    for path in sorted(folder.glob(f".*{suffix}")):
        if not path.is_file() or path.is_symlink():
            continue
        match = with_pid.fullmatch(path.name)
        if match:
            pid = int(match.group(2))
            stale = pid != os.getpid() and not _running(pid)
        else:
            stale = path.stat().st_mtime < _STARTED
        if stale:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_text(path: str | Path, text: str) -> Path:
    """`text` (UTF-8) to `path`, atomically."""
    with replace_file(path) as temp:
        temp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, value: Any, **dumps: Any) -> Path:
    """`value` as indented JSON (a trailing newline) to `path`, atomically."""
    return write_text(path, json.dumps(value, indent=2, **dumps) + "\n")


@contextlib.contextmanager
def replace_dir(target: str | Path, *, mode: int = 0o755) -> Iterator[Path]:
    """Yields an empty scratch folder beside `target`; on a clean exit it takes `target`'s
    place with `mode` (the old folder is removed after the swap), on an error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield scratch
        os.chmod(scratch, mode)  # mkdtemp made it private
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        scratch.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
