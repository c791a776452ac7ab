"""Names that reach a path are checked: a model or run id cannot leave $ZOO_HOME/runs."""

import pytest
from click.testing import CliRunner

from zoo.cli import main
from zoo.registry import check_model_name
from zoo.train.runs import check_run_id, load_run

HOSTILE = ["../../x", "x AS SELECT 1 AS a; DROP TABLE raw.AShareST; CREATE TABLE scores.y",
           "/etc/passwd", ".hidden", "a/b", "", "..", "x\ny"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_model_and_run_names_are_refused(name, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="is not a"):
        check_model_name(name)
    with pytest.raises(ValueError, match="is not a run id"):
        check_run_id(name)
    with pytest.raises(ValueError):
        load_run("biagru", name)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_plain_names_pass():
    assert check_model_name("biagru_gat") == "biagru_gat"
    assert check_run_id("20240101T000000Z-abc123") == "20240101T000000Z-abc123"


@pytest.mark.parametrize("name", HOSTILE[:2])
def test_zoo_score_refuses_a_name_that_is_no_model(name, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    # a run folder under the hostile name exists: it must not be read, nor its name used
    (tmp_path / "runs" / "x").mkdir(parents=True)
    result = CliRunner().invoke(main, ["score", name])
    assert result.exit_code == 2, result.output
    assert "unknown model" in result.output or "is not a model name" in result.output
    result = CliRunner().invoke(main, ["score", "biagru", "--run", "../../x"])
    assert result.exit_code == 2 and "is not a run id" in result.output
    assert not (tmp_path / "warehouse.duckdb").exists()
