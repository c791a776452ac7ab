"""`zoo bench retrieve` on a small market: every method answers the same, the verdicts are
drawn from the medians, and a stock store stopped at its limit is reported as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo.bench import retrieve


@pytest.fixture
def small(monkeypatch, tmp_path) -> Path:
    # the stock store's limits are for the bench's child process: applied here they would hold
    # the whole test session to its CPU seconds (SIGXCPU killed a slow CI run) and wrap
    # duckdb.connect for every later test
    monkeypatch.setattr(retrieve, "_limit_stock_child", lambda: None)
    monkeypatch.setattr(retrieve, "STOCKS", 40)
    monkeypatch.setattr(retrieve, "DAYS", 150)
    retrieve.setup(tmp_path)
    return tmp_path


def test_every_method_gives_the_same_features(small):
    rows = 3000
    done = {method: retrieve.retrieve_repeatedly(method, small, rows, 1, small / f"{method}.pq"
                                                 if method in ("feast", "stock") else None)
            for method in retrieve.METHODS}
    ours = done["feast"]["summary"]
    assert sum(count for count, _ in ours.values()) > 0  # features found, not all NULL
    for method in ("duckdb", "polars", "stock"):
        assert done[method]["rows_out"] == rows
        assert retrieve._close(ours, done[method]["summary"]), method
    assert retrieve._agree(small / "feast.pq", small / "stock.pq")
    # the check can fail: one feature's count off by one
    name = next(iter(ours))
    other = {**ours, name: [ours[name][0] - 1, ours[name][1]]}
    assert not retrieve._close(other, ours)


def _run(method, n, median, finished=True):
    if not finished:
        return {"method": method, "rows": n, "finished": False, "cpu_limit_seconds": 300}
    return {"method": method, "rows": n, "finished": True, "median_seconds": median,
            "seconds": [median], "rows_per_second": int(n / median), "child_cpu_seconds": 1.0,
            "peak_rss_mib": 10, "peak_rss_polled_mib": 12}


def test_ratios_take_the_fastest_baseline_and_a_stopped_stock_store_as_its_limit():
    runs = {f"{m}@{n}": _run(m, n, s) for m, n, s in (
        ("feast", 10, 1.1), ("duckdb", 10, 2.0), ("polars", 10, 1.0), ("stock", 10, 8.0))}
    runs["stock@20"] = _run("stock", 20, None, finished=False)
    runs.update({f"{m}@20": _run(m, 20, s) for m, s in (
        ("feast", 30.0), ("duckdb", 20.0), ("polars", 40.0))})
    small = retrieve.ratios(runs, 10)
    assert small["fastest_baseline"] == "polars" and small["feast_to_fastest_baseline"] == 1.1
    assert small["within_target_of_fastest"] and small["faster_than_stock"]
    big = retrieve.ratios(runs, 20)
    assert big["fastest_baseline"] == "duckdb" and big["feast_to_fastest_baseline"] == 1.5
    assert not big["within_target_of_fastest"]
    assert big["stock_finished"] is False and big["stock_to_feast"] == 10.0  # 300 s / 30 s
    figures = {"runs": runs, "ratios": {10: small, 20: big}}
    printed = {(row[0], row[1]): row for row in retrieve.table_rows(figures)}
    assert printed[("20", retrieve.NAMES["stock"])][2] == "> 300 CPU s"
    assert printed[("10", retrieve.NAMES["feast"])][-1] == "1.1x polars"
