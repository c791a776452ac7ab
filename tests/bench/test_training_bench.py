"""`zoo bench training`: a day step's figures, busy loops that end, the tables with their
ratios, and both ways of building day batches giving the same batches (the benchmark itself
takes minutes)."""

from __future__ import annotations

import psutil
import pytest

from zoo.bench import training


def test_a_day_step_reports_each_steps_wall_and_cpu_seconds():
    import torch

    before = torch.get_num_threads()
    try:
        out = training.day_step(stocks=30, steps=2, threads=1)
    finally:
        torch.set_num_threads(before)
    assert out["threads"] == 1 and out["nodes"] > 20
    assert len(out["step_seconds"]) == len(out["step_cpu_seconds"]) == 2
    assert all(s > 0 for s in out["step_seconds"] + out["step_cpu_seconds"])


def test_busy_loops_run_inside_the_block_and_end_after_it():
    with training.burners(2) as pids:
        assert len(pids) == 2
        assert all(psutil.Process(pid).is_running() for pid in pids)
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_the_thread_table_gives_each_setting_beside_the_default_of_its_condition():
    names = [name for name, _, _ in training.thread_settings(2)]
    assert names[0] == "1 thread (default)" and "PASSIVE" in names[2]
    rows = [{"condition": c, "setting": s, "wait_policy": "unset", "load_average": 1.0,
             "median_seconds": t, "median_cpu_seconds": t}
            for c, times in (("as found", (0.2, 0.4, 0.25)), ("loaded", (0.5, 5.0, 0.6)))
            for s, t in zip(names, times, strict=True)]
    table = training.thread_table(rows)
    assert [row[-1] for row in table] == ["1.0x", "2.0x", "1.2x", "1.0x", "10.0x", "1.2x"]


def _run(fundamentals: float, build: float, epochs: list[float]) -> dict:
    return {"fundamentals": {"seconds": fundamentals, "cpu_seconds": fundamentals / 2},
            "build": {"seconds": build, "cpu_seconds": build / 2},
            "epochs": [{"seconds": e, "cpu_seconds": e / 2} for e in epochs]}


def test_the_batch_table_gives_medians_before_and_now_and_their_ratio():
    runs = {"before": [_run(4, 6, [2, 2]), _run(5, 7, [2, 3]), _run(6, 9, [2, 2])],
            "now": [_run(1, 3, [2, 1]), _run(1, 3, [2, 1]), _run(2, 4, [2, 1])]}
    rows = training.batch_rows(runs)
    assert [r["part"] for r in rows] == ["fundamentals block", "whole build (no cache)",
                                         "first epoch's batches", "a later epoch's batches"]
    assert rows[0]["before_seconds"] == 5 and rows[0]["now_seconds"] == 1
    assert rows[0]["ratio_seconds"] == 5 and rows[0]["ratio_cpu_seconds"] == 5
    assert rows[3]["before_seconds"] == 2 and rows[3]["ratio_seconds"] == 2
    assert training.batch_table(rows)[1] == ("whole build (no cache)", "7.00", "3.00", "2.3x",
                                             "3.50", "1.50", "2.3x")


def test_both_ways_build_the_same_batches_and_now_builds_each_graph_once(feast_home,
                                                                         monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(feast_home))
    before = training.build_batches(2020, baseline=True, epochs=2)
    now = training.build_batches(2020, baseline=False, epochs=2)
    assert (now["panels_digest"], now["batches_digest"]) == (before["panels_digest"],
                                                             before["batches_digest"])
    assert now["days"] == before["days"] > 200
    assert now["epochs"][0]["graphs_built"] == now["epochs"][1]["graphs_built"] == now["states"]
    assert before["epochs"][1]["graphs_built"] > 1.5 * now["states"]
    assert 0 < now["fundamentals"]["seconds"] < now["build"]["seconds"]


def test_a_difference_between_the_ways_is_an_error(monkeypatch, tmp_path):
    def fake(func, year, baseline, epochs, **kwargs):
        value = {"panels_digest": "p", "batches_digest": "b" if baseline else "c"}
        return type("Done", (), {"value": value, "wall_seconds": 1.0, "cpu_seconds": 1.0})

    monkeypatch.setattr(training.harness, "measure", fake)
    with pytest.raises(RuntimeError, match="differ"):
        training.measure_batches(tmp_path, 2020, 1, 1, tmp_path)


def test_the_command_is_listed():
    from click.testing import CliRunner

    from zoo.cli import main

    out = CliRunner().invoke(main, ["bench", "training", "--help"])
    assert out.exit_code == 0 and "--skip-batches" in out.output
