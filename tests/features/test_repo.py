"""The Feast repo declares exactly what SQLMesh builds, and keeps labels out of input services."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPO = ROOT / "feature_repo"
MODULES = ("entities", "sources", "features", "labels", "scores", "services")
# SQLMesh (DuckDB) column type -> Feast type, as the parquet export writes them.
FEAST_TYPE = {
    "TEXT": "String", "DOUBLE": "Float64", "BOOLEAN": "Bool", "INT": "Int32",
    "DATE": "UnixTimestamp", "DOUBLE[]": "Array(Float64)",
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The feature_repo modules, imported the way Feast imports them (repo root on sys.path)."""
    import os

    os.environ.setdefault("ZOO_HOME", str(tmp_path_factory.mktemp("home")))
    sys.path.insert(0, str(REPO))
    for name in MODULES:  # fresh modules: `feast apply` in this process mutates the views
        sys.modules.pop(name, None)
    try:
        yield {name: importlib.import_module(name) for name in MODULES}
    finally:
        sys.path.remove(str(REPO))
        for name in MODULES:
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def sqlmesh_models(tmp_path_factory) -> dict[str, tuple[str, dict[str, str]]]:
    """features/labels models of transforms/: name -> (time column, {column: type})."""
    import os

    from sqlglot import exp
    from sqlmesh import Context

    os.environ.setdefault("ZOO_HOME", str(tmp_path_factory.mktemp("home")))
    context = Context(paths=str(ROOT / "transforms"))
    out = {}
    for model in context.models.values():
        schema = model.name.split(".")[-2].strip('"')
        if schema in ("features", "labels"):
            columns = {k: v.sql(dialect="duckdb") for k, v in model.columns_to_types.items()}
            # a view (features.stock_price_volume_daily) has no time column: its grain's date
            keys = [column.name for grain in model.grains for column in grain.find_all(exp.Column)]
            time_column = (model.time_column.column.name if model.time_column else
                           next(key for key in keys if key != "stock_id"))
            out[model.name.split(".")[-1].strip('"')] = (time_column, columns)
    return out


def _views(repo) -> dict:
    from feast import FeatureView

    return {
        obj.name: obj
        for module in ("features", "labels")
        for obj in vars(repo[module]).values()
        if isinstance(obj, FeatureView)
    }


def test_every_sqlmesh_features_and_labels_model_has_a_view_with_the_same_columns(
    repo, sqlmesh_models
):
    views = _views(repo)
    assert set(views) == set(sqlmesh_models), "views and SQLMesh models differ"
    for name, (time_column, columns) in sqlmesh_models.items():
        expected = {
            column: FEAST_TYPE[kind]
            for column, kind in columns.items()
            if column not in ("stock_id", time_column)
        }
        declared = {field.name: str(field.dtype) for field in views[name].features}
        assert declared.keys() == expected.keys(), (
            f"{name}: only in SQLMesh {sorted(expected.keys() - declared.keys())}, "
            f"only in Feast {sorted(declared.keys() - expected.keys())}")
        for column, kind in expected.items():
            assert declared[column] == kind, (
                f"{name}.{column}: Feast {declared[column]}, SQL {kind}")


def test_label_views_are_tagged_and_in_no_input_service(repo):
    from feast import FeatureService

    views = _views(repo)
    label_views = {n for n, v in views.items() if v.tags.get("kind") == "labels"}
    assert label_views == {"stock_fwd_return_daily"}
    services = [o for o in vars(repo["services"]).values() if isinstance(o, FeatureService)]
    assert {"price_volume_v1", "fundamentals_v1", "style_v1", "portfolio_inputs_v1"} <= {
        s.name for s in services}
    for service in services:
        used = {projection.name for projection in service.feature_view_projections}
        if service.tags.get("kind") == "inputs":
            assert not used & label_views, f"{service.name} serves labels as inputs"
        else:
            assert service.tags.get("kind") == "labels"


def test_daily_views_expire_within_weeks_and_fundamentals_until_the_next_report(repo):
    from datetime import timedelta

    views = _views(repo)
    for name, view in views.items():
        if name == "stock_fundamental_quarterly":
            assert timedelta(days=180) < view.ttl < timedelta(days=240)
        elif view.tags.get("kind") == "labels":
            # a label is its own day's only: never carried to a later day
            assert timedelta(hours=1) <= view.ttl < timedelta(days=1), name
        else:
            assert timedelta(days=10) <= view.ttl <= timedelta(days=21), name
