"""`zoo bench day`: one new day through `sqlmesh run` on several lengths of history."""

import json

import pytest


@pytest.mark.slow
def test_day_benchmark_at_a_tiny_size(tmp_path, monkeypatch):
    from zoo.bench.day import run

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    returned = run(stocks=30, years=(1, 2), end="20201231", repeats=2)
    figures = json.loads((tmp_path / "bench" / "day.json").read_text())
    assert figures == json.loads(json.dumps(returned, default=str))
    assert [f["years"] for f in figures["lengths"]] == [1, 2]
    one, two = figures["lengths"]
    assert two["price_rows"] > one["price_rows"] > 0
    for length in figures["lengths"]:
        assert len(length["run_walls"]) == 2 and length["run_wall_median"] > 0
        # the new day computes the daily models; the run after it has nothing left to do
        assert length["model_seconds"]["features.stock_price_volume_daily"] >= 0
        assert "intermediate.int_daily_prices" in length["model_seconds"]
        assert not any(m.startswith(("features.", "labels.")) for m in length["noop_models"])
        assert length["noop_wall_median"] > 0 and length["day"].startswith("2020")
    assert figures["import_sqlmesh_wall"] > 0 and isinstance(figures["meets_target"], bool)
    # the prepared markets are kept for the next run, the working copy is not
    assert (tmp_path / "bench" / "day" / "2y" / "bench_config.json").is_file()
    assert not (tmp_path / "bench" / "day" / "run").exists()


def test_day_bench_cli_refuses_a_bad_list_of_years(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from zoo.cli.bench import bench

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    result = CliRunner().invoke(bench, ["day", "--years", "two"])
    assert result.exit_code != 0 and "--years" in result.output
    result = CliRunner().invoke(bench, ["day", "--years", "0"])
    assert result.exit_code != 0 and "positive" in result.output


def test_a_prepared_home_is_planned_again_when_the_models_change(tmp_path):
    """`sqlmesh run` evaluates the models a home was planned with: a home kept from other
    models would time those."""
    import shutil

    from zoo.bench.daily import project_digest
    from zoo.daily.refresh import TRANSFORMS

    project = tmp_path / "transforms"
    shutil.copytree(TRANSFORMS, project, ignore=shutil.ignore_patterns("logs", ".cache"))
    before = project_digest(project)
    (project / "tests" / "test_daily_prices.yaml").write_text("# a unit test changed\n")
    assert project_digest(project) == before  # the unit tests build nothing
    model = project / "models" / "features" / "stock_style_daily.sql"
    model.write_text(model.read_text().replace("60 DAY", "61 DAY"))
    assert project_digest(project) != before
