"""Benchmark of one new day through `sqlmesh run`, on warehouses of several lengths of history.

A day should cost a day: every daily model reads only the lookback it needs, so the time of
`sqlmesh run` for one new day grows with the day, not with the years already built (issue 22).

1. `prepare` (once per length, kept in `<root>/<N>y/`, reused while its config matches):
   `zoo data synth --hold-out-days 1` on N years ending at `end` (the market without its last
   trading day, and that day's extract), then `sqlmesh plan`. Its own times are recorded, not
   judged.
2. Each repeat copies the prepared home without its market files (the warehouse and
   SQLMesh's cache; the copy is not timed), loads the held-out day (`zoo data load`, timed
   apart: it is the loader's cost, not the refresh's) and runs, as measured children:
   - `sqlmesh run`: the new day (wall and CPU seconds; each model's own seconds parsed from
     its output, audits included);
   - `sqlmesh run` again, with nothing left to do: SQLMesh's fixed cost (importing it, reading
     its state, checking the signals), which every run pays whatever it computes.
3. Once, in a fresh child: `import sqlmesh` alone.
4. Prints per length the medians over the repeats and the verdict against TARGET_SECONDS, and
   the growth from the shortest to the longest history; writes $ZOO_HOME/bench/day.json.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from zoo.bench import harness
from zoo.bench.daily import CONFIG, prepare_home
from zoo.bench.refresh import parse_model_seconds, run_sqlmesh

TARGET_SECONDS = 5.0  # one new day on 5000 stocks x 10 years, quiet machine (issue 22)
LENGTHS = (2, 5, 10)


def prepare(root: Path, config: dict[str, Any]) -> tuple[Path, dict[str, float]]:
    """The prepared home of `config`'s length under `root` (made when missing or of another
    config: zoo.bench.daily.prepare_home, without the Feast steps); returns it and the seconds
    each preparing step took ({} when reused)."""
    home = root / f"{config['years']}y"
    return home, prepare_home(home, config, root / "logs" / home.name, features=False)


def _copy_home(prepared: Path, home: Path) -> None:
    """The prepared home without its market files (the extract is read where it is)."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    for path in prepared.iterdir():
        if path.name in ("synth", CONFIG):
            continue
        if path.is_dir():
            shutil.copytree(path, home / path.name)
        else:
            shutil.copy2(path, home / path.name)


def import_sqlmesh() -> tuple[float, float]:
    """In a fresh child: wall and CPU seconds of `import sqlmesh` alone."""
    started, cpu = time.perf_counter(), time.process_time()
    import sqlmesh  # noqa: F401 (the import is what is measured)

    return time.perf_counter() - started, time.process_time() - cpu


def _import_seconds(logs: Path) -> tuple[float, float]:
    return harness.measure(import_sqlmesh, logs=logs, name="import_sqlmesh").value


def _price_rows(home: Path) -> int:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*) FROM raw.AShareEODPrices").fetchone()[0]


def measure_length(root: Path, config: dict[str, Any], repeats: int) -> dict[str, Any]:
    """The figures of one length of history."""
    prepared, preparing = prepare(root, config)
    extract = max((prepared / "synth" / "extracts").iterdir())
    logs, work = root / "logs", root / "run"
    runs = []
    for i in range(repeats):
        _copy_home(prepared, work)
        load = harness.measure_command(harness.zoo_command("data", "load", str(extract)),
                                       env={"ZOO_HOME": str(work)}, logs=logs,
                                       name=f"load_{config['years']}y_{i}")
        day = run_sqlmesh("run", work, logs, name=f"run_{config['years']}y_{i}")
        models = parse_model_seconds(day.stdout)
        if not any(day_model.startswith("features.") for day_model in models):
            raise RuntimeError(f"`sqlmesh run` computed no feature for {extract.name}:\n"
                               + day.stdout[-4000:])
        noop = run_sqlmesh("run", work, logs, name=f"noop_{config['years']}y_{i}")
        runs.append({"load": load.wall_seconds, "wall": day.wall_seconds,
                     "cpu": day.cpu_seconds, "models": models,
                     "noop_wall": noop.wall_seconds, "noop_cpu": noop.cpu_seconds,
                     "noop_models": parse_model_seconds(noop.stdout)})
    rows = _price_rows(work)
    shutil.rmtree(work, ignore_errors=True)
    model_names = sorted({m for r in runs for m in r["models"]})
    per_model = {m: statistics.median(r["models"].get(m, 0.0) for r in runs)
                 for m in model_names}
    return {
        **config, "day": extract.name, "price_rows": rows, "preparing_seconds": preparing,
        "run_wall_median": statistics.median(r["wall"] for r in runs),
        "run_cpu_median": statistics.median(r["cpu"] for r in runs),
        "run_walls": [r["wall"] for r in runs],
        "models_seconds_median": statistics.median(sum(r["models"].values()) for r in runs),
        "model_seconds": per_model,
        "noop_wall_median": statistics.median(r["noop_wall"] for r in runs),
        "noop_cpu_median": statistics.median(r["noop_cpu"] for r in runs),
        "noop_models": runs[-1]["noop_models"],
        "load_wall_median": statistics.median(r["load"] for r in runs),
    }


def run(stocks: int = 5000, years: tuple[int, ...] = LENGTHS, end: str = "20231231",
        seed: int = 7, repeats: int = 3, root: Path | None = None) -> dict[str, Any]:
    from zoo.paths import bench_dir

    root = Path(root) if root is not None else bench_dir() / "day"
    load_before = os.getloadavg()
    lengths = []
    for n in sorted(years):
        start = f"{int(end[:4]) - n + 1}0101"
        config = {"stocks": stocks, "years": n, "start": start, "end": end, "seed": seed}
        lengths.append(measure_length(root, config, repeats))
    import_wall, import_cpu = _import_seconds(root / "logs")
    longest = max(lengths, key=lambda f: f["years"])
    shortest = min(lengths, key=lambda f: f["years"])
    figures = {
        "machine": harness.machine(),
        "load_average_1min_before_after": [round(load_before[0], 1),
                                           round(os.getloadavg()[0], 1)],
        "repeats": repeats, "lengths": lengths,
        "import_sqlmesh_wall": import_wall, "import_sqlmesh_cpu": import_cpu,
        "target_seconds": TARGET_SECONDS,
        "meets_target": longest["run_wall_median"] < TARGET_SECONDS,
        "growth_run": longest["run_wall_median"] / shortest["run_wall_median"],
        "growth_models": longest["models_seconds_median"] / shortest["models_seconds_median"],
        "growth_price_rows": longest["price_rows"] / shortest["price_rows"],
    }
    _print(figures)
    harness.write_result("day", figures)
    return figures


def _print(figures: dict[str, Any]) -> None:
    rows = []
    for f in figures["lengths"]:
        rows.append((f"{f['years']} years ({f['start'][:4]}-{f['end'][:4]})",
                     f"{f['price_rows']:,}", f"{f['run_wall_median']:.2f}",
                     f"{f['run_cpu_median']:.2f}", f"{f['models_seconds_median']:.2f}",
                     f"{f['noop_wall_median']:.2f}", f"{f['load_wall_median']:.1f}"))
    load = figures["load_average_1min_before_after"]
    harness.print_table(
        f"one new day through `sqlmesh run`, {figures['lengths'][0]['stocks']} stocks: "
        f"medians of {figures['repeats']}, load average {load[0]}-{load[1]}",
        ["history", "price rows", "run wall s", "run CPU s", "models' own s",
         "no-op run s", "load s"], rows)
    longest = max(figures["lengths"], key=lambda f: f["years"])
    harness.print_table(
        f"the models' own seconds per model, {longest['years']} years",
        ["model", "seconds"],
        [(m, f"{s:.2f}") for m, s in sorted(longest["model_seconds"].items(),
                                             key=lambda kv: -kv[1])])
    verdict = "meets" if figures["meets_target"] else "MISSES"
    print(f"history x{figures['growth_price_rows']:.1f}: run x{figures['growth_run']:.2f}, "
          f"models' own x{figures['growth_models']:.2f}. `import sqlmesh` alone "
          f"{figures['import_sqlmesh_wall']:.2f} s. At {longest['years']} years the run "
          f"{verdict} the target of {figures['target_seconds']:.0f} s "
          f"({longest['run_wall_median']:.2f} s, of which a run with nothing to do "
          f"{longest['noop_wall_median']:.2f} s).")
