"""`zoo features ...`: export, apply, retrieve and serve the Feast feature store."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def features() -> None:
    """The Feast feature store over what SQLMesh built (feature_repo/)."""


def _fail(err: Exception) -> click.ClickException:
    return click.ClickException(str(err))


@features.command("apply")
@click.option("--skip-export", is_flag=True, help="Only `feast apply`; keep the parquet exports.")
def features_apply(skip_export: bool) -> None:
    """Export every SQLMesh features/labels model to parquet, then `feast apply`."""
    from zoo.serving.feature_store import FeatureStoreError, apply, export

    try:
        if not skip_export:
            for item in export():
                click.echo(f"exported {item.name:<32} {item.rows:>12,} rows  {item.path}")
        click.echo(apply().rstrip())
    except FeatureStoreError as err:
        raise _fail(err) from err


@features.command("get")
@click.option("--service", required=True, help="A versioned feature service, e.g. style_v1.")
@click.option("--entities", "entities_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Parquet or CSV with stock_id and a timezone-aware event_timestamp.")
@click.option("--sample", type=int, default=None, metavar="N",
              help="Instead of --entities: N stocks of the universe on the latest exported day.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the result here (.parquet or .csv); default: print the first rows.")
@click.option("--full-feature-names", is_flag=True, help="Name columns view__feature.")
def features_get(service: str, entities_path: Path | None, sample: int | None,
                 out: Path | None, full_feature_names: bool) -> None:
    """Point-in-time features of a service for the entity rows of a file (or a sample)."""
    from zoo.serving.feature_store import (
        FeatureStoreError,
        get_historical,
        read_entities,
        sample_entities,
        unknown_stocks,
    )

    if (entities_path is None) == (sample is None):
        raise click.UsageError("give exactly one of --entities FILE and --sample N")
    try:
        entities = read_entities(entities_path) if entities_path else sample_entities(sample)
        table = get_historical(service, entities, full_feature_names=full_feature_names)
    except (FeatureStoreError, ValueError) as err:
        raise _fail(err) from err
    unknown = unknown_stocks(entities)
    if unknown:
        click.echo(f"note: {len(unknown)} stock id(s) are in no exported view, their features "
                   f"are empty: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}",
                   err=True)
    if out is None:
        click.echo(table.slice(0, 20).to_pandas().to_string())
        click.echo(f"({table.num_rows:,} rows)")
    elif out.suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, out)
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, out)
    if out is not None:
        click.echo(f"wrote {table.num_rows:,} rows x {table.num_columns} columns to {out}")


@features.command("materialize")
def features_materialize() -> None:
    """Fill the online store (SQLite) with the latest date's features."""
    from zoo.serving.feature_store import FeatureStoreError, materialize

    try:
        latest = materialize()
    except FeatureStoreError as err:
        raise _fail(err) from err
    click.echo(f"online store filled as of {latest}")
