"""A home can be copied or moved (`cp -a h1 h2`): the copy reads its own files, and exporting,
applying and materializing in it leave the original as it was, byte for byte. Feast's registry
stores no path of the home (zoo.serving.home_stores)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoo.cli import main

GET = ["features", "get", "--service", "portfolio_inputs_v1", "--sample", "3"]


def _state(home: Path) -> dict[str, tuple[str, int]]:
    """Every file under `home`: its content's digest and its mtime."""
    return {str(p.relative_to(home)): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                       p.stat().st_mtime_ns)
            for p in sorted(home.rglob("*")) if p.is_file()}


@pytest.fixture()
def original(feast_home, tmp_path) -> Path:
    """An exported, applied and materialized home of this test's own."""
    from zoo.serving.feature_store import materialize

    home = tmp_path / "h1"
    shutil.copytree(feast_home, home)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        materialize()
    assert (home / "online.db").is_file()
    return home


def _ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_the_registry_holds_no_path_of_the_home(original):
    from zoo.serving.feature_store import store

    stored = (original / "registry.db").read_bytes()
    assert str(original).encode() not in stored
    assert b"${ZOO_HOME}/offline/stock_style_daily" in stored
    assert b"${ZOO_HOME}/online.db" in stored  # the infra tables Feast tears down
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(original))
        source = store().get_feature_view("stock_style_daily").batch_source
    assert source.path == str(original / "offline" / "stock_style_daily")


def test_a_copied_home_reads_and_writes_only_its_own_files(original, tmp_path, monkeypatch):
    from zoo.serving.feature_store import store

    copy = tmp_path / "h2"
    shutil.copytree(original, copy)
    shutil.rmtree(original / "offline")  # the copy must not need them
    before = _state(original)
    monkeypatch.setenv("ZOO_HOME", str(copy))
    runner = CliRunner()
    assert "(3 rows)" in _ok(runner.invoke(main, GET))
    fs = store()
    assert {v.batch_source.path for v in fs.list_feature_views()} == {
        str(copy / "offline" / v.name) for v in fs.list_feature_views()}
    applied = _ok(runner.invoke(main, ["features", "apply"]))
    # the online tables Feast knows are the copy's own: none torn down, none made anew (an
    # apply after a materialize says the views are updated: Feast's, in any home)
    assert "No changes to infrastructure" in applied and "Deleted" not in applied, applied
    _ok(runner.invoke(main, ["features", "materialize"]))
    online = fs.get_online_features(features=["stock_style_daily:size"],
                                    entity_rows=[{"stock_id": "000001.SZ"}]).to_dict()
    assert online["size"][0] is not None
    assert _state(original) == before


def test_a_moved_home_works_and_the_old_place_stays_gone(original, tmp_path, monkeypatch):
    from zoo.serving.feature_store import store

    moved = tmp_path / "elsewhere" / "home"
    moved.parent.mkdir()
    original.rename(moved)
    monkeypatch.setenv("ZOO_HOME", str(moved))
    runner = CliRunner()
    assert "(3 rows)" in _ok(runner.invoke(main, GET))
    assert all(Path(v.batch_source.path).parent == moved / "offline"
               for v in store().list_feature_views())
    _ok(runner.invoke(main, ["features", "apply"]))
    _ok(runner.invoke(main, ["features", "materialize"]))
    assert not original.exists()  # nothing reopened the old online store or its folder


def test_a_copy_of_a_home_an_older_zoo_applied_leaves_the_original_alone(original, tmp_path,
                                                                         monkeypatch):
    """An older zoo stored absolute paths: a copy's registry then names the original's online
    tables, which an apply in the copy must not tear down (it records its own instead)."""
    from feast.protos.feast.core.Registry_pb2 import Registry

    from zoo.serving.home_stores import HOME_MARK, _rewrite_strings

    copy = tmp_path / "h2"
    shutil.copytree(original, copy)
    registry = Registry()
    registry.ParseFromString((copy / "registry.db").read_bytes())
    _rewrite_strings(registry, lambda text: text.replace(HOME_MARK, str(original)))
    (copy / "registry.db").write_bytes(registry.SerializeToString())
    assert str(original).encode() + b"/online.db" in (copy / "registry.db").read_bytes()
    before = _state(original)
    monkeypatch.setenv("ZOO_HOME", str(copy))
    applied = _ok(CliRunner().invoke(main, ["features", "apply"]))
    assert "Deleted" not in applied and "Created sqlite table" in applied, applied
    assert str(original).encode() not in (copy / "registry.db").read_bytes()
    assert _state(original) == before
