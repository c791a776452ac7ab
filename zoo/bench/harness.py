"""The benchmarks' one harness: run a step in a child process and measure it; write and print
the figures.

A step is a real, importable function (`measure(func, *args, **kwargs)`) or an external
program (`measure_command(args)`: sqlmesh, the `zoo` CLI). Either way the child is a fresh
process started with `subprocess.Popen`; while it runs, the summed resident memory of its
process tree is polled every POLL_SECONDS with psutil, and a thread waits for it with
`os.wait4` (the exit is timed there, not by the polling), whose resource usage gives the
figures of `Measured`:

- wall seconds, from the child's start to its exit (interpreter start and imports included);
- CPU seconds, user + system, of the child and of the descendants it waited for (on a shared
  machine wall time is not a speed; CPU time is what the step cost);
- peak memory twice: the polled largest RSS of the whole process tree, and `ru_maxrss` from
  `wait4` (the largest single process; KiB on Linux).

A function runs in the child as `python -m zoo.bench.harness CALL`: CALL is a pickle of the
function (pickled by reference, module and name, so it must be a module-level function), its
arguments and the parent's `sys.path`. The child writes back a pickle of the return value, or
the name, message and traceback of the exception it raised, which the parent raises as
`ChildFailed` naming the function and the exception.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ChildFailed", "Measured", "machine", "measure", "measure_command", "print_table",
           "scratch_dir", "sqlmesh_command", "write_result", "zoo_command"]

POLL_SECONDS = 0.2
MIB = 2**20
TAIL = 4000  # characters of a failed child's output quoted in the error


class ChildFailed(RuntimeError):
    """A measured child exited with an error (a non-zero exit, or an exception it raised)."""


@dataclass(frozen=True)
class Measured:
    """A finished child: what it cost, its output, and (for a function) its return value."""

    wall_seconds: float
    cpu_seconds: float  # user + system of the child and the descendants it waited for
    peak_polled_mib: float  # the largest summed RSS of the process tree, polled
    maxrss_mib: float  # ru_maxrss from wait4: the child's largest single process
    returncode: int
    stdout: str = ""
    stderr: str = ""
    value: Any = None

    @property
    def peak_mib(self) -> float:
        """The larger of the two memory figures."""
        return max(self.peak_polled_mib, self.maxrss_mib)


def _tree_rss(process: Any) -> int:
    import psutil

    total = 0
    try:
        members = (process, *process.children(recursive=True))
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def _wait(child: subprocess.Popen) -> tuple[int, Any, int, float]:
    """Reap `child` with wait4 in a thread while polling the tree's RSS every POLL_SECONDS.
    Returns (status, rusage, peak RSS, the perf_counter when it exited).

    The exit is timed by the thread blocked in wait4, not by the polling loop: a loop that
    slept between checks would read it up to POLL_SECONDS late.
    """
    import threading

    import psutil

    reaped: dict[str, Any] = {}

    def reap() -> None:
        _, status, usage = os.wait4(child.pid, 0)
        reaped.update(ended=time.perf_counter(), status=status, usage=usage)

    try:
        tree = psutil.Process(child.pid)
    except psutil.Error:
        tree = None
    waiter = threading.Thread(target=reap, name=f"wait4-{child.pid}", daemon=True)
    waiter.start()
    peak = 0
    try:
        while waiter.is_alive():
            if tree is not None:
                peak = max(peak, _tree_rss(tree))
            waiter.join(POLL_SECONDS)
    except BaseException:  # interrupted: do not leave the child running
        child.kill()
        waiter.join()
        child.returncode = -9
        raise
    return reaped["status"], reaped["usage"], peak, reaped["ended"]


def _run(args: Sequence[str], cwd: Path | None, env: dict[str, str] | None, logs: Path,
         name: str) -> Measured:
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / f"{name}.stdout", logs / f"{name}.stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        child = subprocess.Popen(list(args), cwd=cwd, env={**os.environ, **(env or {})},
                                 stdout=out, stderr=err)
        status, usage, peak, ended = _wait(child)
        wall = ended - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Measured(
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_polled_mib=peak / MIB,
        maxrss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        returncode=child.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


@contextlib.contextmanager
def _logs_folder(logs: Path | None) -> Iterator[Path]:
    if logs is not None:
        yield Path(logs)
        return
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as temp:
        yield Path(temp)


def zoo_command(*args: str) -> list[str]:
    """The `zoo` CLI of this interpreter with `args`, for `measure_command`."""
    return [sys.executable, "-m", "zoo.cli", *args]


def sqlmesh_command(*args: str) -> list[str]:
    """The `sqlmesh` of this interpreter's environment with `args`, for `measure_command`."""
    return [str(Path(sys.executable).with_name("sqlmesh")), *args]


def measure_command(args: Sequence[str], *, cwd: Path | None = None,
                    env: dict[str, str] | None = None, logs: Path | None = None,
                    name: str | None = None, check: bool = True) -> Measured:
    """Run the program `args` as a measured child.

    `env` adds to (or overrides) this process's environment. Its output goes to
    `logs/<name>.stdout` and `.stderr` (kept) or, without `logs`, to a temporary folder; it is
    also in the result. With `check`, a non-zero exit raises ChildFailed quoting the output's
    tail.
    """
    name = name or Path(args[0]).name
    with _logs_folder(logs) as folder:
        done = _run(args, cwd, env, folder, name)
    if check and done.returncode != 0:
        raise ChildFailed(f"{name} failed (exit {done.returncode}):\n"
                          + (done.stdout + done.stderr)[-TAIL:])
    return done


def measure(func: Callable[..., Any], *args: Any, env: dict[str, str] | None = None,
            logs: Path | None = None, name: str | None = None, **kwargs: Any) -> Measured:
    """Call `func(*args, **kwargs)` in a measured child; its return value is `.value`.

    `func` must be a module-level function, and its arguments and return value picklable.
    `env`, `logs` and `name` are the harness's (as in `measure_command`), not passed on.

    Raises:
        ChildFailed: the call raised (the message names the function and the exception, and
            quotes the child's traceback), or the child died.
    """
    label = f"{func.__module__}.{func.__qualname__}"
    if "<" in func.__qualname__:  # a lambda or a nested function cannot be found by name
        raise ValueError(f"measure needs a module-level function, not {label}")
    with tempfile.TemporaryDirectory(prefix="zoo-bench-call-") as temp:
        call, result = Path(temp) / "call.pickle", Path(temp) / "result.pickle"
        call.write_bytes(pickle.dumps({"sys_path": list(sys.path), "result": str(result),
                                       "call": pickle.dumps((func, args, kwargs))}))
        done = measure_command([sys.executable, "-m", __name__, str(call)], env=env,
                               logs=logs, name=name or func.__name__, check=False)
        outcome = pickle.loads(result.read_bytes()) if result.is_file() else None
    if outcome is None or "error" in outcome:
        why = (f"{outcome['error']}\n{outcome['traceback']}" if outcome else
               f"the child died (exit {done.returncode}):\n{done.stderr[-TAIL:]}")
        raise ChildFailed(f"{label} failed in a child process: {why}")
    return dataclasses.replace(done, value=outcome["value"])


def _child_main(call_path: str) -> int:
    """In the child: load the call, run it, leave its value or its error for the parent."""
    payload = pickle.loads(Path(call_path).read_bytes())
    sys.path[:] = payload["sys_path"]  # the parent's, so the function is found by name
    try:
        func, args, kwargs = pickle.loads(payload["call"])
        outcome: dict[str, Any] = {"value": func(*args, **kwargs)}
    except BaseException as error:  # noqa: BLE001 (reported to the parent)
        outcome = {"error": f"{type(error).__name__}: {error}",
                   "traceback": traceback.format_exc()}
    Path(payload["result"]).write_bytes(pickle.dumps(outcome))
    return 0 if "value" in outcome else 1


# --------------------------------------------------------------------------- figures
@contextlib.contextmanager
def scratch_dir(prefix: str, parent: Path, *, keep: bool = False) -> Iterator[Path]:
    """A fresh folder under `parent` for a benchmark's data, deleted afterwards unless `keep`."""
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def machine() -> dict[str, Any]:
    """The machine a figure was measured on."""
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def write_result(name: str, figures: dict[str, Any], *, quiet: bool = False) -> Path:
    """Write `figures` to $ZOO_HOME/bench/<name>.json (atomically) and, unless `quiet`, say
    where."""
    from rich.console import Console

    from zoo.atomic import write_json
    from zoo.paths import bench_dir

    path = write_json(bench_dir() / f"{name}.json", figures, ensure_ascii=False, default=str)
    if not quiet:
        Console().print(f"written to {path}")
    return path


def print_table(title: str, columns: Sequence[str | tuple[str, str]],
                rows: Iterable[Sequence[str]], console: Any = None) -> None:
    """Print a table; a column is a name (the first left-aligned, the others right) or a
    (name, justify) pair."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, column in enumerate(columns):
        name, justify = column if isinstance(column, tuple) else (
            column, "left" if i == 0 else "right")
        table.add_column(name, justify=justify)
    for row in rows:
        table.add_row(*row)
    (console or Console()).print(table)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
