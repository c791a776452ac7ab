"""The benchmark harness: a function or a program measured in a child process."""

from __future__ import annotations

import json
import os
import sys

import pytest

from zoo.bench.harness import ChildFailed, measure, measure_command, write_result


def busy(seconds: float, answer: int) -> dict:
    """Spin on the CPU for `seconds` of CPU time; return what the parent should get back."""
    import time

    started = time.process_time()
    while time.process_time() - started < seconds:
        pass
    return {"answer": answer, "pid": os.getpid(), "zoo_home": os.environ.get("ZOO_HOME")}


def fails(message: str) -> None:
    raise KeyError(message)


def test_a_measured_function_returns_its_value_and_costs_cpu_time(tmp_path):
    done = measure(busy, 0.3, answer=42, env={"ZOO_HOME": str(tmp_path)})
    assert done.value["answer"] == 42
    assert done.value["pid"] != os.getpid()  # it ran in a child
    assert done.value["zoo_home"] == str(tmp_path)  # with the environment given
    assert done.cpu_seconds >= 0.3
    assert done.wall_seconds >= done.cpu_seconds * 0.5
    assert done.maxrss_mib > 0 and done.peak_mib >= done.maxrss_mib
    assert done.returncode == 0


def test_an_exception_in_the_child_names_the_function_and_the_error():
    with pytest.raises(ChildFailed, match=r"test_harness\.fails failed .*KeyError: 'no such "
                                          r"thing'") as raised:
        measure(fails, "no such thing")
    assert "raise KeyError(message)" in str(raised.value)  # the child's traceback


def test_a_function_without_a_module_level_name_is_refused():
    with pytest.raises(ValueError, match="module-level function"):
        measure(lambda: 1)


def test_a_measured_command_keeps_its_output_and_a_failure_raises(tmp_path):
    done = measure_command([sys.executable, "--version"], logs=tmp_path, name="version")
    assert done.stdout.startswith("Python ") and done.cpu_seconds > 0
    assert (tmp_path / "version.stdout").read_text() == done.stdout
    missing = [sys.executable, "-m", "zoo.no_such_module"]
    with pytest.raises(ChildFailed, match=r"(?s)python\S* failed \(exit 1\).*No module named"):
        measure_command(missing)
    assert measure_command(missing, check=False).returncode == 1


def test_the_wall_time_ends_when_the_child_exits_not_at_the_next_poll(monkeypatch):
    """Polling for memory must not decide when the child is seen to end: a loop that slept
    between checks added up to a poll's length to every wall figure."""
    from zoo.bench import harness

    monkeypatch.setattr(harness, "POLL_SECONDS", 3.0)
    done = measure_command(["sleep", "0.4"])
    assert done.returncode == 0 and 0.4 <= done.wall_seconds < 1.5


def test_results_are_written_under_the_bench_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    path = write_result("demo", {"seconds": 1.5, "when": tmp_path})
    assert path == tmp_path / "bench" / "demo.json"
    assert json.loads(path.read_text()) == {"seconds": 1.5, "when": str(tmp_path)}
    assert [p.name for p in path.parent.iterdir()] == ["demo.json"]
