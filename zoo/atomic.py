"""Writes that a reader never sees half done: a file (or folder) is written beside its target
under a hidden temporary name and renamed over it, so a crash leaves the old one or none."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["replace_dir", "replace_file", "write_json", "write_text"]


@contextlib.contextmanager
def replace_file(path: str | Path, *, mode: int = 0o644, suffix: str = ".tmp") -> Iterator[Path]:
    """Yields a temporary path beside `path`; on a clean exit it replaces `path` (readable by
    others with `mode`), on an error it is removed and `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
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
