"""Benchmark of the synthetic market generator at full-market size.

`run(stocks, start, end)` generates the market in a child process (multiprocessing, spawn) into a
scratch folder under $ZOO_HOME, and measures:
- wall seconds (child start to exit, imports included) and the generator's own seconds;
- rows written over all tables, and rows per second of wall time;
- the child's peak resident memory: `getrusage(RUSAGE_CHILDREN).ru_maxrss` (KiB on Linux),
  cross-checked by polling the child's RSS with psutil every 0.2 s;
- bytes on disk.
It prints a small table, writes the figures to $ZOO_HOME/bench/synth.json, and deletes the
scratch folder.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

POLL_SECONDS = 0.2


def _child(config: dict, out: str, result_path: str) -> None:
    """Runs in the spawned process: generate, then leave the rows where the parent finds them."""
    from zoo.synth import SynthConfig, generate

    result = generate(SynthConfig(**config), Path(out))
    Path(result_path).write_text(json.dumps(
        {"rows": result.rows, "seconds": result.seconds, "trading_days": result.trading_days}))


def _wait_polling_rss(process: multiprocessing.process.BaseProcess) -> int:
    """Wait for `process`; return the largest RSS seen, in bytes (0 if psutil cannot see it)."""
    import psutil

    peak = 0
    try:
        child = psutil.Process(process.pid)
        while process.is_alive():
            peak = max(peak, child.memory_info().rss)
            process.join(POLL_SECONDS)
    except psutil.Error:
        pass
    process.join()
    return peak


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(stocks: int, start: str, end: str, seed: int = 7) -> dict:
    """Generate the market in a child process and return the figures (nothing printed)."""
    from zoo.paths import zoo_home

    scratch = Path(tempfile.mkdtemp(prefix="bench-synth-", dir=zoo_home()))
    try:
        out, result_path = scratch / "market", scratch / "result.json"
        config = dict(stocks=stocks, start=start, end=end, seed=seed)
        process = multiprocessing.get_context("spawn").Process(
            target=_child, args=(config, str(out), str(result_path)))
        started = time.perf_counter()
        process.start()
        polled = _wait_polling_rss(process)
        wall = time.perf_counter() - started
        if process.exitcode != 0:
            raise RuntimeError(f"the generator failed in the child (exit code {process.exitcode})")
        child = json.loads(result_path.read_text())
        rows = sum(child["rows"].values())
        return {
            **config,
            "trading_days": child["trading_days"],
            "wall_seconds": round(wall, 2),
            "generate_seconds": round(child["seconds"], 2),
            "rows": rows,
            "rows_per_second": round(rows / wall),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "peak_rss_polled_mib": round(polled / 2**20),
            "bytes_on_disk": _folder_bytes(out),
            "rows_by_table": child["rows"],
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(stocks: int, start: str, end: str, seed: int = 7) -> dict:
    """Measure, print a table, and write $ZOO_HOME/bench/synth.json; returns the figures."""
    from rich.console import Console
    from rich.table import Table

    from zoo.paths import bench_dir

    figures = measure(stocks, start, end, seed)
    table = Table(title=f"zoo bench synth: {stocks} stocks, {start}-{end}, seed {seed}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in (
        ("trading days", f"{figures['trading_days']:,}"),
        ("wall seconds (child, incl. imports)", f"{figures['wall_seconds']:.1f}"),
        ("generator seconds", f"{figures['generate_seconds']:.1f}"),
        ("rows written", f"{figures['rows']:,}"),
        ("rows per second", f"{figures['rows_per_second']:,}"),
        ("peak RSS, MiB (getrusage)", f"{figures['peak_rss_mib']:,}"),
        ("peak RSS, MiB (polled)", f"{figures['peak_rss_polled_mib']:,}"),
        ("on disk, MiB", f"{figures['bytes_on_disk'] / 2**20:,.0f}"),
    ):
        table.add_row(label, value)
    Console().print(table)
    path = bench_dir() / "synth.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    Console().print(f"written to {path}")
    return figures
