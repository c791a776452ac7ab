"""`zoo bench refresh` reads the models it times from the SQLMesh project, not from a list."""

from __future__ import annotations

from zoo.bench.refresh import (
    COMPARED_TABLES,
    PUBLISHED_SCHEMAS,
    SAME_FEATURE_MODELS,
    project_models,
    stored_models,
    views_read,
)


def test_the_project_models_are_read_from_their_files():
    models = project_models()
    assert set(COMPARED_TABLES) <= set(models)
    for model in models.values():
        assert model.name not in model.reads and model.reads <= set(models)
    assert {m.kind for m in models.values()} >= {"VIEW", "INCREMENTAL_BY_TIME_RANGE"}


def test_the_same_feature_models_are_the_compared_tables_after_what_they_are_computed_from():
    models = project_models()
    upstream = SAME_FEATURE_MODELS[:-len(COMPARED_TABLES)]
    assert SAME_FEATURE_MODELS[-len(COMPARED_TABLES):] == COMPARED_TABLES
    assert upstream, "the compared tables are computed from an unpublished model"
    for name in upstream:
        assert name.split(".")[0] not in PUBLISHED_SCHEMAS
        assert models[name].kind != "VIEW"
        assert any(name in models[table].reads for table in COMPARED_TABLES)
    views = views_read(list(SAME_FEATURE_MODELS))
    assert views and all(models[v].kind == "VIEW" for v in views)
    assert all(any(v in models[m].reads for m in SAME_FEATURE_MODELS) for v in views)


def test_the_write_floor_counts_only_the_models_that_store_rows():
    """A published view (features.stock_price_volume_daily over int_daily_prices) writes
    nothing, so the floor of what the refresh writes leaves it out."""
    models = project_models()
    stored = stored_models([*SAME_FEATURE_MODELS, "no.such_model"])
    assert models["features.stock_price_volume_daily"].kind == "VIEW"
    assert "features.stock_price_volume_daily" not in stored
    assert stored == [m for m in SAME_FEATURE_MODELS if models[m].kind != "VIEW"]
    assert {"intermediate.int_daily_prices", "labels.stock_fwd_return_daily"} <= set(stored)
