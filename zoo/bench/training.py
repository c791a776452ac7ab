"""Benchmark of training throughput on CPU (issue 22, section 4): torch's threads on shared
cores, and building a year of day batches, before and after.

1. Threads. A biagru_gat day step (forward, loss, backward, clipped AdamW step, as in
   zoo.train.loop.fit) on a day of `stocks` stocks with k = 10 graph neighbours (fake cross-
   sections), in a child per setting: one thread (the project's default,
   zoo.train.loop.set_threads), torch's own default of one thread per core (what training
   ran with before), and that with OMP_WAIT_POLICY=PASSIVE (waiting threads sleep instead of
   spinning). Each as the machine is (its load average printed) and loaded: a busy loop on
   every core beside it (`_burn` processes, ended by their pids afterwards). Per setting: the
   median wall and CPU seconds of `steps` steps after a warm-up, and the ratio to the default.
2. Day batches. A year of biagru_gat's day batches from a synthetic market (by default
   `zoo bench zoo`'s `neighbour` market, built once and shared), `repeats` times each way,
   alternately, each in a child (`build_batches`):
   - before: the fundamentals retrieved for every entity row and read row by row
     (`row_by_row_fundamentals`, the code before, kept here as the baseline) and the graph
     kept for the last fundamentals state only (`FundamentalGraph(cache_mib=0)`, as before);
   - now: `build_day_batches` as it is, the graph kept per state.
   Measured: the build without the cache (Feast retrieval and panels), its fundamentals block
   alone, and `epochs` shuffled epochs of batch assembly (every day's `arrays`), the first
   (graphs built) apart from the later ones; wall and CPU seconds, medians over the repeats,
   and the ratio before / now. The two ways must give the same panels and batches: digests
   of both are compared, and a difference is an error.

Writes $ZOO_HOME/bench/training.json.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from zoo.bench import harness

WARMUP_STEPS = 3
NEIGHBOURS = 10
MODEL = "biagru_gat"


# --------------------------------------------------------------------------- threads
def thread_settings(cores: int | None = None) -> list[tuple[str, int, dict[str, str]]]:
    """(name, threads, environment) of each setting measured, the default first."""
    cores = cores or os.cpu_count() or 1
    return [("1 thread (default)", 1, {}),
            (f"{cores} threads (torch's default)", cores, {}),
            (f"{cores} threads, OMP_WAIT_POLICY=PASSIVE", cores, {"OMP_WAIT_POLICY": "PASSIVE"})]


def day_step(stocks: int, steps: int, threads: int) -> dict[str, Any]:
    """`steps` training steps of biagru_gat on fake days of `stocks` stocks with `threads`
    intra-op threads (after WARMUP_STEPS unmeasured ones): each step's wall and CPU seconds.
    Run in a fresh child, whose environment sets the OpenMP wait policy."""
    import torch
    from torch import nn

    import zoo.models  # noqa: F401  (registers the models)
    from zoo.datasets.protocol import FakeDayBatches
    from zoo.registry import create_model
    from zoo.train.loop import set_threads, training_target
    from zoo.train.losses import get_loss

    set_threads(threads)
    torch.manual_seed(0)
    data = FakeDayBatches(n_stocks=stocks, neighbours=NEIGHBOURS, start=dt.date(2020, 1, 1),
                          end=dt.date(2020, 1, 14))
    batches = [data.batch(day) for day in data.dates]
    model = create_model(MODEL)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = get_loss("mse")
    walls, cpus = [], []
    for i in range(WARMUP_STEPS + steps):
        batch = batches[i % len(batches)]
        tic, cpu = time.perf_counter(), time.process_time()
        score = model(batch)
        mask = batch["label_mask"] & batch["price_mask"]
        loss = loss_fn(score, training_target(batch["label"], mask, "rank"), mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if i >= WARMUP_STEPS:
            walls.append(time.perf_counter() - tic)
            cpus.append(time.process_time() - cpu)
    return {"threads": torch.get_num_threads(),
            "wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
            "nodes": int(batches[0]["stock_index"].numel()),
            "step_seconds": walls, "step_cpu_seconds": cpus}


def _burn() -> None:
    """A busy loop: other work on a core."""
    while True:
        pass


@contextlib.contextmanager
def burners(count: int) -> Iterator[list[int]]:
    """`count` busy-loop processes while the block runs (their pids); ended afterwards."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_burn, daemon=True) for _ in range(count)]
    try:
        for process in processes:
            process.start()
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            if process.pid is not None:
                process.terminate()
        for process in processes:
            if process.pid is not None:
                process.join()


def measure_threads(stocks: int, steps: int, logs: Path) -> list[dict[str, Any]]:
    """Each thread setting, as the machine is and with every core busy beside it."""
    cores = os.cpu_count() or 1
    rows = []
    for condition, busy in (("as found", 0), (f"loaded (+{cores} busy loops)", cores)):
        with burners(busy):
            for name, threads, env in thread_settings(cores):
                load = os.getloadavg()[0]
                done = harness.measure(day_step, stocks, steps, threads, env=env, logs=logs,
                                       name=f"day_step_{threads}_{busy}")
                value = done.value
                rows.append({"condition": condition, "setting": name, "busy_loops": busy,
                             "load_average": round(load, 2), "threads": value["threads"],
                             "wait_policy": value["wait_policy"], "nodes": value["nodes"],
                             "median_seconds": statistics.median(value["step_seconds"]),
                             "median_cpu_seconds": statistics.median(value["step_cpu_seconds"]),
                             "child_cpu_seconds": round(done.cpu_seconds, 1)})
    return rows


def thread_table(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Printed rows: each setting beside the default of its condition, and the ratio."""
    default = {r["condition"]: r["median_seconds"] for r in rows
               if r["setting"] == thread_settings()[0][0]}
    return [(r["condition"], r["setting"], r["wait_policy"], f"{r['load_average']:.1f}",
             f"{r['median_seconds']:.3f}", f"{r['median_cpu_seconds']:.3f}",
             f"{r['median_seconds'] / default[r['condition']]:.1f}x")
            for r in rows]


THREAD_COLUMNS = [("condition", "left"), ("setting", "left"), ("OMP_WAIT_POLICY", "left"),
                  "load avg", "s/step (median)", "CPU s/step", "vs default"]


# --------------------------------------------------------------------------- batches
def row_by_row_fundamentals(request: Any, rows: np.ndarray, cols: np.ndarray,
                            shape: tuple[int, int], fs: Any
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The baseline: zoo.datasets.day_batches._fundamentals as it was before issue 22, every
    entity row's 12-quarter arrays retrieved and read row by row."""
    import pandas as pd

    from zoo.datasets.day_batches import CHUNK_ROWS
    from zoo.serving.feature_store import get_historical
    from zoo.vocabulary import FUNDAMENTAL_FIELDS, MONEY_FIELDS

    money_index = [i for i, f in enumerate(FUNDAMENTAL_FIELDS) if f in MONEY_FIELDS]
    index = np.full(shape, -1, dtype=np.int32)
    keys: dict[tuple, int] = {}
    vectors: list[np.ndarray] = []
    quarters: list[int] = []
    for lo in range(0, len(request), CHUNK_ROWS):
        part = request.iloc[lo:lo + CHUNK_ROWS]
        table = get_historical("fundamentals_v1", part, fs)
        period = table.column("latest_report_period").to_numpy(zero_copy_only=False)
        announced = table.column("last_announced_date").to_numpy(zero_copy_only=False)
        stocks = part["stock_id"].to_numpy()
        arrays = {f: table.column(f"{f}_12q") for f in FUNDAMENTAL_FIELDS}
        for i in range(table.num_rows):
            if period[i] is None or (isinstance(period[i], float) and np.isnan(period[i])) \
                    or str(period[i]) == "NaT":
                continue
            key = (stocks[i], str(period[i]), str(announced[i]))
            found = keys.get(key)
            if found is None:
                vector = np.stack([np.asarray(arrays[f][i].as_py(), dtype=np.float32)
                                   for f in FUNDAMENTAL_FIELDS], axis=1)  # [12, 19]
                money = vector[:, money_index]
                vector[:, money_index] = np.sign(money) * np.log1p(np.abs(money))
                found = keys[key] = len(vectors)
                vectors.append(vector)
                quarters.append((pd.Timestamp(period[i]).month + 2) // 3)
            index[rows[lo + i], cols[lo + i]] = found
    stacked = (np.stack(vectors) if vectors
               else np.zeros((0, 12, len(FUNDAMENTAL_FIELDS)), np.float32))
    return index, stacked, np.asarray(quarters, dtype=np.int8)


def _digest(digest: Any, arrays: dict[str, np.ndarray]) -> None:
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}{value.dtype}{value.shape}".encode())
        digest.update(value.tobytes())


def build_batches(year: int, baseline: bool, epochs: int) -> dict[str, Any]:
    """Build MODEL's day batches of `year` from $ZOO_HOME's exports without the cache, then
    assemble `epochs` shuffled epochs of them: the old way (`baseline`) or the current one.
    Seconds (wall, CPU) of the build, of its fundamentals block and of each epoch; graphs
    built; digests of the panels and of every batch."""
    import hashlib
    from unittest import mock

    import zoo.models  # noqa: F401  (registers the models)
    from zoo.datasets import day_batches
    from zoo.datasets.graph import FundamentalGraph
    from zoo.registry import model_contract
    from zoo.serving.feature_store import store

    store()  # Feast's import is not the build's
    block = {"seconds": 0.0, "cpu_seconds": 0.0}
    fundamentals = row_by_row_fundamentals if baseline else day_batches._fundamentals

    def timed(*args: Any) -> Any:
        tic, cpu = time.perf_counter(), time.process_time()
        try:
            return fundamentals(*args)
        finally:
            block["seconds"] += time.perf_counter() - tic
            block["cpu_seconds"] += time.process_time() - cpu

    tic, cpu = time.perf_counter(), time.process_time()
    with mock.patch.object(day_batches, "_fundamentals", timed):
        data = day_batches.build_day_batches(model_contract(MODEL), dt.date(year, 1, 1),
                                             dt.date(year, 12, 31), use_cache=False)
    build = {"seconds": time.perf_counter() - tic, "cpu_seconds": time.process_time() - cpu}
    if baseline:
        data.graph = FundamentalGraph(data, cache_mib=0)
    panels = hashlib.sha256()
    _digest(panels, {"fund_index": data.fund_index, "fund_vectors": data.fund_vectors,
                     "fund_quarter": data.fund_quarter})
    batches = hashlib.sha256()
    runs = []
    for epoch in range(epochs):
        order = np.random.default_rng([0, epoch]).permutation(len(data.dates))
        tic, cpu = time.perf_counter(), time.process_time()
        for i in order:
            _digest(batches, data.arrays(data.dates[i]))
        runs.append({"seconds": time.perf_counter() - tic,
                     "cpu_seconds": time.process_time() - cpu, "graphs_built": data.graph.rebuilds})
    states = {data.graph.state_key(data.calendar.index(day)) for day in data.dates}
    return {"days": len(data.dates), "stocks": len(data.stock_ids), "states": len(states),
            "vectors": len(data.fund_vectors), "build": build, "fundamentals": block,
            "epochs": runs, "panels_digest": panels.hexdigest(),
            "batches_digest": batches.hexdigest()}


def measure_batches(home: Path, year: int, repeats: int, epochs: int,
                    logs: Path) -> dict[str, Any]:
    """`build_batches` both ways, alternately, `repeats` times each, on the exports of
    `home`; raises when the two ways' panels or batches differ."""
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "now": []}
    for repeat in range(repeats):
        for way in runs:
            done = harness.measure(build_batches, year, way == "before", epochs,
                                   env={"ZOO_HOME": str(home), "OMP_NUM_THREADS": "1"},
                                   logs=logs, name=f"batches_{way}_{repeat}")
            runs[way].append({**done.value, "child_seconds": done.wall_seconds,
                              "child_cpu_seconds": done.cpu_seconds})
    digests = {(r["panels_digest"], r["batches_digest"]) for way in runs.values() for r in way}
    if len(digests) != 1:
        raise RuntimeError(f"the day batches differ between the two ways: {digests}")
    return runs


def _median(runs: list[dict[str, Any]], *path: str | int) -> float:
    def get(run: dict[str, Any]) -> float:
        value: Any = run
        for key in path:
            value = value[key]
        return float(value)

    return statistics.median(get(r) for r in runs)


def _later(runs: list[dict[str, Any]], field: str) -> float:
    """Median over the repeats of the median later epoch (NaN with one epoch)."""
    values = [statistics.median(e[field] for e in r["epochs"][1:]) for r in runs
              if len(r["epochs"]) > 1]
    return statistics.median(values) if values else float("nan")


def batch_rows(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Medians before and now, wall and CPU, per part, with the ratios before / now."""
    before, now = runs["before"], runs["now"]
    parts = [
        ("fundamentals block", lambda r, f: _median(r, "fundamentals", f)),
        ("whole build (no cache)", lambda r, f: _median(r, "build", f)),
        ("first epoch's batches", lambda r, f: _median(r, "epochs", 0, f)),
        ("a later epoch's batches", _later),
    ]
    rows = []
    for name, get in parts:
        row = {"part": name}
        for field in ("seconds", "cpu_seconds"):
            row[f"before_{field}"], row[f"now_{field}"] = get(before, field), get(now, field)
            row[f"ratio_{field}"] = (row[f"before_{field}"] / row[f"now_{field}"]
                                     if row[f"now_{field}"] else float("nan"))
        rows.append(row)
    return rows


def batch_table(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(r["part"], f"{r['before_seconds']:.2f}", f"{r['now_seconds']:.2f}",
             f"{r['ratio_seconds']:.1f}x", f"{r['before_cpu_seconds']:.2f}",
             f"{r['now_cpu_seconds']:.2f}", f"{r['ratio_cpu_seconds']:.1f}x") for r in rows]


BATCH_COLUMNS = [("part", "left"), "before s", "now s", "ratio", "before CPU s", "now CPU s",
                 "CPU ratio"]


# --------------------------------------------------------------------------- run
def run(year: int = 2020, repeats: int = 3, epochs: int = 3, steps: int = 20,
        stocks: int = 500, home: Path | None = None, threads: bool = True,
        batches: bool = True) -> dict[str, Any]:
    """Measure, print both tables and write $ZOO_HOME/bench/training.json; returns the
    figures. `home`: a built $ZOO_HOME to build the batches from (default: `zoo bench zoo`'s
    `neighbour` market, built when missing)."""
    from rich.console import Console

    from zoo.bench import zoo as zoo_bench
    from zoo.paths import bench_dir

    console = Console()
    root = bench_dir() / "training"
    logs = root / "logs"
    results: dict[str, Any] = {"machine": harness.machine(),
                               "load_average_start": os.getloadavg(),
                               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if threads:
        rows = measure_threads(stocks, steps, logs)
        results["threads"] = {"stocks": stocks, "steps": steps, "rows": rows}
        harness.print_table(f"{MODEL} day step ({rows[0]['nodes']} stocks, k = {NEIGHBOURS}) "
                            f"by torch threads, median of {steps} steps", THREAD_COLUMNS,
                            thread_table(rows), console)
    if batches:
        if home is None:
            home = bench_dir() / "zoo" / "neighbour"
            zoo_bench.build_market(home, zoo_bench.MARKETS["neighbour"], logs)
        runs = measure_batches(home, year, repeats, epochs, logs)
        rows = batch_rows(runs)
        first = runs["now"][0]
        results["batches"] = {"home": str(home), "year": year, "repeats": repeats,
                              "epochs": epochs, "days": first["days"],
                              "stocks": first["stocks"], "states": first["states"],
                              "identical": True, "rows": rows, "runs": runs}
        harness.print_table(
            f"{MODEL}'s day batches of {year} ({first['days']} days, {first['stocks']} stocks, "
            f"{first['states']} fundamentals states), medians of {repeats}", BATCH_COLUMNS,
            batch_table(rows), console)
        before = runs["before"][0]
        console.print(f"graphs built per epoch before: {before['epochs'][0]['graphs_built']}; "
                      f"now {first['epochs'][0]['graphs_built']} in the first epoch, "
                      f"{first['epochs'][-1]['graphs_built'] - first['epochs'][0]['graphs_built']}"
                      " after it; the two ways give the same panels and batches")
    results["load_average_end"] = os.getloadavg()
    console.print(f"load average {results['load_average_start'][0]:.2f} at the start, "
                  f"{results['load_average_end'][0]:.2f} at the end "
                  f"({results['machine']['cpu_count']} cores)")
    harness.write_result("training", results)
    return results
