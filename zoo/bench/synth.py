"""Benchmark of the synthetic market generator at full-market size.

`run(stocks, start, end)` generates the market in a child process measured by
zoo.bench.harness, into a scratch folder under $ZOO_HOME, and reports:
- wall seconds (child start to exit, imports included), the child's CPU seconds, and the
  generator's own seconds;
- rows written over all tables, and rows per second of wall time;
- the child's peak resident memory: `ru_maxrss` from `wait4`, cross-checked by polling the RSS
  of its process tree every 0.2 s with psutil;
- bytes on disk.
It prints a small table, writes the figures to $ZOO_HOME/bench/synth.json, and deletes the
scratch folder.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zoo.bench import harness


def generate_market(config: dict, out: Path) -> dict[str, Any]:
    """Generate the market of `config` into `out`; the generator's own figures."""
    from zoo.synth import SynthConfig, generate

    result = generate(SynthConfig(**config), out)
    return {"rows": result.rows, "seconds": result.seconds, "trading_days": result.trading_days}


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(stocks: int, start: str, end: str, seed: int = 7) -> dict:
    """Generate the market in a child process and return the figures (nothing printed)."""
    from zoo.paths import zoo_home

    config = dict(stocks=stocks, start=start, end=end, seed=seed)
    with harness.scratch_dir("bench-synth-", zoo_home()) as scratch:
        done = harness.measure(generate_market, config, scratch / "market")
        on_disk = _folder_bytes(scratch / "market")
    child = done.value
    rows = sum(child["rows"].values())
    return {
        **config,
        "trading_days": child["trading_days"],
        "wall_seconds": round(done.wall_seconds, 2),
        "cpu_seconds": round(done.cpu_seconds, 2),
        "generate_seconds": round(child["seconds"], 2),
        "rows": rows,
        "rows_per_second": round(rows / done.wall_seconds),
        "peak_rss_mib": round(done.maxrss_mib),
        "peak_rss_polled_mib": round(done.peak_polled_mib),
        "bytes_on_disk": on_disk,
        "rows_by_table": child["rows"],
        **harness.machine(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(stocks: int, start: str, end: str, seed: int = 7) -> dict:
    """Measure, print a table, and write $ZOO_HOME/bench/synth.json; returns the figures."""
    figures = measure(stocks, start, end, seed)
    harness.print_table(
        f"zoo bench synth: {stocks} stocks, {start}-{end}, seed {seed}", ["measure", "value"], [
            ("trading days", f"{figures['trading_days']:,}"),
            ("wall seconds (child, incl. imports)", f"{figures['wall_seconds']:.1f}"),
            ("CPU seconds (child, incl. imports)", f"{figures['cpu_seconds']:.1f}"),
            ("generator seconds", f"{figures['generate_seconds']:.1f}"),
            ("rows written", f"{figures['rows']:,}"),
            ("rows per second", f"{figures['rows_per_second']:,}"),
            ("peak RSS, MiB (wait4 ru_maxrss)", f"{figures['peak_rss_mib']:,}"),
            ("peak RSS, MiB (polled)", f"{figures['peak_rss_polled_mib']:,}"),
            ("on disk, MiB", f"{figures['bytes_on_disk'] / 2**20:,.0f}"),
        ])
    harness.write_result("synth", figures)
    return figures
