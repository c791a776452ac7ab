"""Writing a synthetic market: `generate` runs the simulation into a scratch folder and swaps it
in for `out_dir` as a whole (`zoo.atomic.replace_dir`), so a crash leaves either the previous
market or nothing, never half a set; `SynthResult` says what was written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from zoo.atomic import replace_dir
from zoo.ingest import wind
from zoo.synth.config import SynthConfig
from zoo.synth.market import _Simulation
from zoo.synth.record import RECORD, write_record


@dataclass(frozen=True)


class SynthResult:
    """What `generate` wrote: rows per table, seconds taken, file paths."""

    config: SynthConfig
    out_dir: Path
    rows: dict[str, int]
    paths: dict[str, Path]
    seconds: float
    trading_days: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        c = self.config
        big = ", ".join(
            f"{name} {self.rows[name]:,}"
            for name in ("AShareEODPrices", "AShareIncome", "AIndexFreeWeight", "expected_return")
        )
        links = (f", links latent (visibility {c.latent_visibility}, hidden share "
                 f"{c.hidden_link_share})" if c.links == "latent" else "")
        return (
            f"synthetic market: {c.stocks} stocks, {c.start}-{c.end} ({self.trading_days} trading "
            f"days), seed {c.seed}, signal_strength {c.signal_strength}{links}\n"
            f"  {self.total_rows:,} rows in {len(self.rows)} tables ({big})\n"
            f"  written to {self.out_dir} in {self.seconds:.1f} s"
        )


def generate(config: SynthConfig, out_dir: Path, progress: bool = False) -> SynthResult:
    """Write the synthetic market to `out_dir` (replaced as a whole, atomically).

    Everything is written to a scratch folder beside it first and swapped in at the end, so a
    crash leaves either the previous set or nothing, never half a set.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    _check_replaceable(out_dir)
    with replace_dir(out_dir) as tmp:
        (tmp / "truth").mkdir()
        sim = _Simulation(config, tmp, progress)
        rows = sim.run()
        write_record(tmp, config)
    paths = {t.name: out_dir / f"{t.name}.parquet" for t in wind.RAW_TABLES}
    paths.update({t.name: out_dir / "truth" / f"{t.name}.parquet" for t in wind.TRUTH_TABLES})
    return SynthResult(config, out_dir, rows, paths, time.perf_counter() - started,
                       sim.cal.stop - sim.cal.first)


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a folder holding anything but a previous synthetic market."""
    if not out_dir.exists():
        return
    from zoo.synth.holdout import EXTRACTS, LOAD  # a market held out (--hold-out-days)

    ours = {f"{t.name}.parquet" for t in wind.RAW_TABLES} | {"truth", RECORD, LOAD, EXTRACTS}
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in ours)
    if foreign:
        raise ValueError(f"{out_dir} holds files that are not a synthetic market: {foreign[:5]}")
