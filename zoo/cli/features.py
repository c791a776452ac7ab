"""`zoo features ...`: export, apply, retrieve and serve the Feast feature store."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def features() -> None:
    """The Feast feature store over what SQLMesh built (feature_repo/)."""


def _fail(err: Exception) -> click.ClickException:
    return click.ClickException(str(err))


def _offline_option(command):
    return click.option(
        "--offline", type=click.Choice(["file", "spark"]), default="file", show_default=True,
        help="Which flavour of the repo: `file` (the ASOF DuckDB store over the parquet "
             "exports) or `spark` (Feast's Spark offline store, $ZOO_HOME/spark; made by "
             "`zoo features apply --offline spark`).")(command)


def _spark_conf(pairs: tuple[str, ...]) -> dict[str, str]:
    from zoo.overrides import split

    try:
        return dict(split(pair, underscores=False) for pair in pairs)
    except ValueError as err:
        raise click.UsageError(f"--spark-conf: {err}, e.g. spark.driver.memory=4g") from None


@features.command("apply")
@click.option("--skip-export", is_flag=True, help="Only `feast apply`; keep the parquet exports.")
@click.option("--rebuild", is_flag=True,
              help="Delete the Feast registry and make it anew from feature_repo/ (when it is "
                   "damaged, e.g. by an apply that was killed).")
@_offline_option
@click.option("--spark-source", type=click.Choice(["parquet", "table"]), default="parquet",
              show_default=True,
              help="With --offline spark: read each view's parquet export, or its table "
                   "features.<view> / labels.<view> in Spark's catalog (SQLMesh on Spark).")
@click.option("--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE",
              help="With --offline spark: a Spark setting for the flavour's feature_store.yaml "
                   "(repeatable); the master is ZOO_SPARK_MASTER (default local[2]).")
def features_apply(skip_export: bool, rebuild: bool, offline: str, spark_source: str,
                   spark_conf: tuple[str, ...]) -> None:
    """Export every SQLMesh features/labels model to parquet (only the months that changed),
    then `feast apply` (of the Spark flavour with --offline spark)."""
    from zoo.serving.feature_store import FeatureStoreError, apply, export
    from zoo.serving.published import WarehouseBusy

    if offline != "spark" and (spark_conf or spark_source != "parquet"):
        raise click.UsageError("--spark-source and --spark-conf go with --offline spark")
    try:
        if not skip_export:
            for item in export():
                removed = f", {len(item.months_removed)} removed" if item.months_removed else ""
                click.echo(f"exported {item.name:<32} {item.rows:>12,} rows  months: "
                           f"{len(item.months_written)} written ({item.rows_written:,} rows), "
                           f"{item.months_unchanged} unchanged{removed}  {item.path}")
        click.echo(apply(rebuild=rebuild, offline=offline, spark_source=spark_source,
                         spark_conf=_spark_conf(spark_conf)).rstrip())
    except (FeatureStoreError, WarehouseBusy) as err:
        raise _fail(err) from None


def _check_fresh(views: list[str]) -> None:
    """Refuse exports older than the warehouse's raw data; when the warehouse cannot be read
    now (another process writes it), say so and serve them (Feast reads only the exports)."""
    from zoo.paths import export_path, warehouse_path
    from zoo.serving import published
    from zoo.serving.freshness import check_fresh

    try:
        con = published.connect()
    except FileNotFoundError:
        return  # exports copied without their warehouse: nothing to compare them with
    except published.WarehouseBusy as err:
        click.echo(f"note: cannot check the exports against the warehouse now ({err})",
                   err=True)
        return
    try:
        check_fresh([export_path(view) for view in views], con,
                    warehouse_path())
    finally:
        con.close()


def _write(table, out: Path) -> None:
    """`table` as CSV or parquet (by suffix) at `out`: a regular file is replaced whole or
    left as it was; anything else (a pipe, a device) is written to as it is. The file is
    opened here, never by pyarrow, which deletes what it opened when a write fails (as root,
    /dev/full itself)."""
    import stat

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from zoo.atomic import replace_file

    def write(path: Path) -> None:
        with open(path, "wb") as sink:
            if out.suffix.lower() == ".csv":
                pacsv.write_csv(table, sink)
            else:
                pq.write_table(table, sink)

    if out.exists() and not stat.S_ISREG(out.stat().st_mode):
        write(out)
    else:
        with replace_file(out, suffix=out.suffix) as temp:
            write(temp)


def _in_market_time(table):
    """`table` with its timezone-aware timestamps shown in Shanghai time (the same instants:
    Feast hands them back in UTC, where the close reads 07:00+00:00)."""
    import pyarrow as pa

    from zoo.serving.export import MARKET_TIME_ZONE

    for i, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            table = table.set_column(i, column.name, table.column(i).cast(
                pa.timestamp(column.type.unit, tz=MARKET_TIME_ZONE)))
    # pandas' metadata still names the old zone, and pandas would read it back in that one
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"pandas"}
    return table.replace_schema_metadata(metadata or None)


@features.command("get")
@click.option("--service", default=None, help="A versioned feature service, e.g. style_v1.")
@click.option("--features", "refs", default=None, metavar="VIEW:FEATURE,...",
              help="Instead of --service: feature references, e.g. stock_style_daily:size.")
@click.option("--entities", "entities_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Parquet or CSV with stock_id and a timezone-aware event_timestamp.")
@click.option("--sample", type=click.IntRange(min=1), default=None, metavar="N",
              help="Instead of --entities: N stocks of the universe on the latest exported day.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the result here (.parquet or .csv); default: print the first rows.")
@click.option("--full-feature-names", is_flag=True, help="Name columns view__feature.")
@_offline_option
def features_get(service: str | None, refs: str | None, entities_path: Path | None,
                 sample: int | None, out: Path | None, full_feature_names: bool,
                 offline: str) -> None:
    """Point-in-time features of a service for the entity rows of a file (or a sample).

    Exports older than the warehouse's raw data (a load since the last `zoo features apply`)
    are refused."""
    from zoo.serving import lean_feast

    lean_feast.load()  # a read: Feast without torch and typeguard's import-time work
    from zoo.serving.feature_store import (
        FeatureStoreError,
        get_historical,
        read_entities,
        request,
        sample_entities,
        store,
        unknown_stocks,
    )

    if (entities_path is None) == (sample is None):
        raise click.UsageError("give exactly one of --entities FILE and --sample N")
    if (service is None) == (refs is None):
        raise click.UsageError("give exactly one of --service NAME and --features VIEW:FEATURE")
    features_list = [r.strip() for r in refs.split(",") if r.strip()] if refs else None
    try:
        fs = store(offline)
        _, views = request(fs, service, features_list)
        # the exports' freshness; a Spark flavour reading catalog tables does not read them
        views = [v for v in views if getattr(fs.get_feature_view(v).batch_source, "path", "")]
        _check_fresh(views + (["stock_universe_daily"] if sample else []))
        entities = read_entities(entities_path) if entities_path else sample_entities(sample)
        table = get_historical(service, entities, fs=fs, full_feature_names=full_feature_names,
                               features=features_list)
    except (FeatureStoreError, ValueError) as err:
        raise _fail(err) from None
    table = _in_market_time(table)
    unknown = unknown_stocks(entities)
    if unknown:
        click.echo(f"note: {len(unknown)} stock id(s) are in no exported view, their features "
                   f"are empty: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}",
                   err=True)
    if out is None:
        click.echo(table.slice(0, 20).to_pandas().to_string())
        click.echo(f"({table.num_rows:,} rows)")
        return
    try:
        _write(table, out)
    except OSError as err:
        raise click.ClickException(f"cannot write {out}: {err.strerror or err}") from None
    click.echo(f"wrote {table.num_rows:,} rows x {table.num_columns} columns to {out}")


@features.command("materialize")
@_offline_option
def features_materialize(offline: str) -> None:
    """Fill the online store (SQLite) with the latest date's features (read by the flavour's
    offline store; the Spark flavour fills its own, $ZOO_HOME/spark/online.db)."""
    from zoo.serving.feature_store import FeatureStoreError, materialize, store

    try:
        latest = materialize(store(offline))
    except FeatureStoreError as err:
        raise _fail(err) from err
    click.echo(f"online store filled as of {latest}")


def _port(name: str, default: int, help_: str):
    return click.option(name, type=click.IntRange(0, 65535), default=default, show_default=True,
                        help=help_)


def _client_options(command):
    """--host and the three ports, shared by `serve` and `client-config`."""
    from zoo.serving.servers import DEFAULT_HOST, OFFLINE_PORT, ONLINE_PORT, REGISTRY_PORT

    for option in reversed([
        click.option("--host", default=DEFAULT_HOST, show_default=True,
                     help="The interface to listen on (0.0.0.0: every one; unauthenticated, "
                          "so only behind a firewall)."),
        _port("--offline-port", OFFLINE_PORT, "Arrow Flight offline server (0: any free one)."),
        _port("--online-port", ONLINE_PORT, "HTTP feature server (0: any free one)."),
        _port("--registry-port", REGISTRY_PORT, "gRPC registry server (0: any free one)."),
    ]):
        command = option(command)
    return command


@features.command("serve")
@click.option("--offline", is_flag=True,
              help="Serve point-in-time retrieval (Feast's offline server, Arrow Flight).")
@click.option("--online", is_flag=True,
              help="Serve the materialized latest values (Feast's HTTP feature server).")
@_client_options
@click.option("--client-config", "client_config_path", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the clients' feature_store.yaml here once every server listens.")
def features_serve(offline: bool, online: bool, host: str, offline_port: int, online_port: int,
                   registry_port: int, client_config_path: Path | None) -> None:
    """Serve this home's features to other teams with Feast's own servers, read-only.

    --offline, --online or both; the registry server (gRPC), which every remote client needs,
    runs with either. Prints where each listens and the feature_store.yaml a client uses, then
    serves until Ctrl-C. No authentication and no TLS: keep --host on loopback or a private,
    firewalled interface."""
    from zoo.atomic import write_text
    from zoo.paths import zoo_home
    from zoo.serving.servers import (
        OFFLINE_PORT,
        ONLINE_PORT,
        Endpoints,
        ServeError,
        client_config,
        host_port,
        serve_until_stopped,
    )

    if not (offline or online):
        raise click.UsageError("say what to serve: --offline, --online or both")

    def ready(at: Endpoints) -> None:
        # a server not running here keeps its port in the yaml (Feast's default for 0), so
        # the same file works once it is started too
        yaml = client_config(at.host, at.offline_port or offline_port or OFFLINE_PORT,
                             at.online_port or online_port or ONLINE_PORT, at.registry_port)
        click.echo(f"serving {zoo_home()} read-only, without authentication:")
        click.echo(f"  registry  gRPC          {host_port(at.host, at.registry_port)}")
        if at.offline_port is not None:
            where = host_port(at.host, at.offline_port)
            click.echo(f"  offline   Arrow Flight  grpc+tcp://{where}")
        if at.online_port is not None:
            click.echo(f"  online    HTTP          http://{host_port(at.host, at.online_port)}")
        if client_config_path is not None:
            write_text(client_config_path, yaml)
            click.echo(f"wrote the clients' feature_store.yaml to {client_config_path}")
        click.echo("A client's feature_store.yaml (alone in its folder; "
                   "FeatureStore(repo_path=folder)):")
        click.echo(yaml.rstrip())
        click.echo("Ctrl-C stops the servers.")

    try:
        serve_until_stopped(host, offline_port if offline else None,
                            online_port if online else None, registry_port, on_ready=ready)
    except ServeError as err:
        raise _fail(err) from None
    click.echo("servers stopped")


@features.command("client-config")
@_client_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write it here instead of printing it.")
def features_client_config(host: str, offline_port: int, online_port: int, registry_port: int,
                           out: Path | None) -> None:
    """The feature_store.yaml another team uses to read `zoo features serve` over the network
    (Feast's remote registry, offline and online stores; no file of this machine)."""
    from zoo.serving.servers import client_config

    yaml = client_config(host, offline_port, online_port, registry_port)
    if out is None:
        click.echo(yaml.rstrip())
        return
    from zoo.atomic import write_text

    write_text(out, yaml)
    click.echo(f"wrote {out}")
