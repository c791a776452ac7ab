"""Benchmark of the daily cycle: `zoo daily` for one new day on the full-market warehouse.

1. `prepare` (once per market, kept in `<root>/prepared/`, reused while its config and the
   SQLMesh project it was planned with match, `project_digest`):
   `zoo data synth --hold-out-days 1` (the market without its last trading day, and that
   day's extract), `sqlmesh plan`, `zoo features apply` (a full export), `zoo features
   materialize`. Its own times are recorded, not judged.
2. Each repeat copies the prepared home (`cp -a`, reflinks where the file system has them:
   a home can move, zoo.serving.home_stores) and runs, as a measured child,
   `zoo daily --extract <the held-out day> --models '' --json ...`: every step but model
   compute (scoring a day is the model's own cost, measured by `zoo bench zoo`). The copy is
   not timed.
3. Prints per step the median wall and CPU seconds over the repeats and its share, the whole
   command's wall and CPU seconds (interpreter start included), the step that dominates and
   the verdict against the target, and writes $ZOO_HOME/bench/daily.json.

Target (issue 16): the whole `zoo daily` except model compute under 60 s at 5000 stocks x 10
years, one new day.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

from zoo.bench import harness
from zoo.daily.refresh import TRANSFORMS, sqlmesh_args

TARGET_SECONDS = 60.0
PREPARED = "prepared"
CONFIG = "bench_config.json"


def _zoo(home: Path, *args: str, logs: Path, name: str) -> harness.Measured:
    return harness.measure_command(harness.zoo_command(*args), env={"ZOO_HOME": str(home)},
                                   logs=logs, name=name)


def project_digest(transforms: Path = TRANSFORMS) -> str:
    """A digest of the SQLMesh project's files (its models, macros, audits, signals and
    configuration): a home planned with other models would time those, since `sqlmesh run`
    evaluates the models of the environment's snapshots, not the files."""
    digest = hashlib.sha256()
    for path in sorted(transforms.rglob("*")):
        relative = path.relative_to(transforms)
        if (path.is_file() and path.suffix in (".sql", ".py", ".yaml")
                and relative.parts[0] not in ("tests", "logs", ".cache")):
            digest.update(f"{relative.as_posix()}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


def prepare_home(home: Path, config: dict[str, Any], logs: Path, *,
                 features: bool = True) -> dict[str, float]:
    """Make `home` for `config` unless it holds it already (the config recorded in it, CONFIG,
    with the digest of the project it was planned with): the synthetic market without its last
    trading day and that day's extract (`zoo data synth --hold-out-days 1`), `sqlmesh plan`,
    and with `features` the Feast export and materialisation. Returns the seconds each step
    took ({} when reused)."""
    recorded = home / CONFIG
    config = {**config, "project": project_digest()}
    if recorded.is_file() and json.loads(recorded.read_text()) == config:
        return {}
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    steps = [
        ("synth", harness.zoo_command(
            "data", "synth", "--stocks", str(config["stocks"]), "--start", config["start"],
            "--end", config["end"], "--seed", str(config["seed"]), "--hold-out-days", "1")),
        ("plan", sqlmesh_args("plan", "--auto-apply", "--no-prompts")),
    ]
    if features:
        steps += [("apply", harness.zoo_command("features", "apply")),
                  ("materialize", harness.zoo_command("features", "materialize"))]
    seconds = {}
    for name, args in steps:
        done = harness.measure_command(args, env={"ZOO_HOME": str(home), "COLUMNS": "250"},
                                       logs=logs, name=f"prepare_{name}")
        seconds[name] = done.wall_seconds
    recorded.write_text(json.dumps(config))
    return seconds


def prepare(root: Path, config: dict[str, Any]) -> tuple[Path, dict[str, float]]:
    """The prepared home for `config` under `root` (made when missing or of another config);
    returns it and the seconds each preparing step took ({} when reused)."""
    home = root / PREPARED
    return home, prepare_home(home, config, root / "logs")


def _copy(src: Path, dst: Path) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["cp", "-a", "--reflink=auto", str(src), str(dst)], check=True)


def run(stocks: int = 5000, start: str = "20140101", end: str = "20231231", seed: int = 7,
        repeats: int = 3, root: Path | None = None) -> dict[str, Any]:
    from zoo.paths import bench_dir

    root = Path(root) if root is not None else bench_dir() / "daily"
    config = {"stocks": stocks, "start": start, "end": end, "seed": seed}
    prepared, preparing = prepare(root, config)
    extract = max((prepared / "synth" / "extracts").iterdir())
    runs = []
    for i in range(repeats):
        home = root / "run"
        _copy(prepared, home)
        report = root / f"daily_{i}.json"
        done = _zoo(home, "daily", "--extract", str(home / "synth" / "extracts" / extract.name),
                    "--models", "", "--json", str(report), logs=root / "logs",
                    name=f"daily_{i}")
        runs.append({"wall": done.wall_seconds, "cpu": done.cpu_seconds,
                     "peak_mib": done.peak_mib, "report": json.loads(report.read_text())})
    shutil.rmtree(root / "run", ignore_errors=True)
    figures = _figures(config, extract.name, preparing, runs)
    _print(figures)
    harness.write_result("daily", figures)
    return figures


def _figures(config: dict[str, Any], day: str, preparing: dict[str, float],
             runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = [s["name"] for s in runs[0]["report"]["steps"]]
    steps = {}
    for name in names:
        walls = [next(s["seconds"] for s in r["report"]["steps"] if s["name"] == name)
                 for r in runs]
        cpus = [next(s["cpu_seconds"] for s in r["report"]["steps"] if s["name"] == name)
                for r in runs]
        steps[name] = {"wall_median": statistics.median(walls), "walls": walls,
                       "cpu_median": statistics.median(cpus)}
    total = statistics.median(r["wall"] for r in runs)
    return {
        "config": config, "day": day, "machine": harness.machine(),
        "load_average": os.getloadavg(), "preparing_seconds": preparing,
        "steps": steps, "command_wall_median": total,
        "command_walls": [r["wall"] for r in runs],
        "command_cpu_median": statistics.median(r["cpu"] for r in runs),
        "peak_mib": max(r["peak_mib"] for r in runs),
        "dominant_step": max(steps, key=lambda n: steps[n]["wall_median"]),
        "target_seconds": TARGET_SECONDS, "meets_target": total < TARGET_SECONDS,
        "built_after": runs[-1]["report"]["built_after"],
    }


def _print(figures: dict[str, Any]) -> None:
    total = sum(s["wall_median"] for s in figures["steps"].values())
    rows = [(name, f"{s['wall_median']:.1f}", f"{s['cpu_median']:.1f}",
             f"{s['wall_median'] / total:.0%}" if total else "")
            for name, s in figures["steps"].items()]
    rows.append(("zoo daily (whole command)", f"{figures['command_wall_median']:.1f}",
                 f"{figures['command_cpu_median']:.1f}", ""))
    config = figures["config"]
    harness.print_table(
        f"zoo daily, one new day ({figures['day']}) on {config['stocks']} stocks "
        f"{config['start']}-{config['end']}: medians of {len(figures['command_walls'])}, "
        f"load average {figures['load_average'][0]:.1f}",
        ["step", "wall s", "CPU s", "share"], rows)
    verdict = "meets" if figures["meets_target"] else "MISSES"
    print(f"dominant step: {figures['dominant_step']}; the whole command {verdict} the "
          f"target of {figures['target_seconds']:.0f} s")
