"""`zoo data summary` lists the models SQLMesh built, with rows and time range."""

import re
from pathlib import Path

from zoo.ingest.load import warehouse_summary

MODELS = Path(__file__).resolve().parents[2] / "transforms" / "models"


def _rows_by_table(text: str) -> dict[str, tuple[int, list[str]]]:
    """table -> (rows, the other cells) from the summary's table lines."""
    found = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if len(cells) == 5 and re.fullmatch(r"[\d,]+", cells[1]):
            found[cells[0]] = (int(cells[1].replace(",", "")), cells[2:])
    return found


def test_summary_names_every_feature_and_label_model_with_rows(built_warehouse):
    text = warehouse_summary(built_warehouse / "warehouse.duckdb")
    tables = _rows_by_table(text)
    models = [f"{folder}.{path.stem}" for folder in ("features", "labels")
              for path in sorted((MODELS / folder).glob("*.sql"))]
    assert models, "no feature or label models found"
    for model in models:
        assert model in tables, f"{model} missing from the summary:\n{text}"
        rows, (time_column, first, last) = tables[model]
        assert rows > 0, model
        assert time_column and re.fullmatch(r"\d{4}-\d{2}-\d{2}", first) and first <= last, model
    assert tables["intermediate.int_daily_prices"][0] == tables["raw.AShareEODPrices"][0]
    assert not any(name.startswith(("staging.", "sqlmesh")) for name in tables)
