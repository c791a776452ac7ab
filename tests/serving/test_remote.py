"""Other teams over the network: `zoo features serve` runs Feast's registry, offline (Arrow
Flight) and feature (HTTP) servers on loopback, and Feast's own remote clients, configured by
nothing but `zoo features client-config`'s yaml, get what the local store gets."""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
from click.testing import CliRunner

from zoo.cli import main
from zoo.serving import feature_store

ROOT = Path(__file__).resolve().parents[2]
MARKET = "Asia/Shanghai"
TIE_SIZE = 1000.0  # the value of the later-created of two rows sharing a timestamp
UNKNOWN = "NOPE.SZ"
READY_S = 120  # a busy 2-core machine imports Feast slowly


@dataclass
class Served:
    process: subprocess.Popen
    client_repo: Path  # a folder holding only the client's feature_store.yaml
    log: Path

    def stop(self) -> int:
        """Ctrl-C, as a person would; kill only if it does not stop by itself."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _add_tie(path: Path) -> tuple[str, pd.Timestamp]:
    """Give one (stock, day) of an export two more rows at the same event_timestamp: one
    created later (size TIE_SIZE, written first) and one created earlier (-TIE_SIZE, written
    last), so neither file order nor "last row wins" gives the right answer."""
    table = pq.read_table(path)
    frame = table.to_pandas()
    stock = sorted(frame["stock_id"].unique())[0]
    rows = frame[frame["stock_id"] == stock].sort_values("event_timestamp")
    row = rows.iloc[[len(rows) // 2]]
    created = row["created_timestamp"]
    later = row.assign(size=TIE_SIZE, created_timestamp=created + timedelta(hours=1))
    earlier = row.assign(size=-TIE_SIZE, created_timestamp=created - timedelta(hours=1))
    frame = pd.concat([later, frame, earlier], ignore_index=True)
    frame = frame.sort_values(["stock_id", "event_timestamp"], kind="stable")
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)
    return stock, row["event_timestamp"].iloc[0]


@pytest.fixture(scope="module")
def served_home(feast_home, tmp_path_factory) -> Path:
    """A copy of feast_home with a timestamp tie in stock_style_daily, applied and
    materialized there (feast_home itself stays read-only)."""
    home = tmp_path_factory.mktemp("served_home")
    shutil.copytree(feast_home / "offline", home / "offline")
    _add_tie(home / "offline" / "stock_style_daily" / "2020-06.parquet")  # a monthly file
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        feature_store.apply()  # a registry and online tables of this home's own
        feature_store.materialize()
    return home


@pytest.fixture
def local(served_home, monkeypatch):
    """This home's own FeatureStore, as the servers' is."""
    monkeypatch.setenv("ZOO_HOME", str(served_home))
    return feature_store.store()


def _serve(home: Path, folder: Path, *what: str) -> Served:
    """`zoo features serve WHAT` on free loopback ports in a child process, once it listens."""
    config = folder / "client" / "feature_store.yaml"
    log = folder / "serve.log"
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "ZOO_HOME": str(home), "PYTHONPATH": path}  # this checkout's zoo
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "zoo.cli", "features", "serve", *what, "--host", "127.0.0.1",
             "--offline-port", "0", "--online-port", "0", "--registry-port", "0",
             "--client-config", str(config)],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    served = Served(process, config.parent, log)
    deadline = time.monotonic() + READY_S
    while not config.exists():  # written once every server listens
        if process.poll() is not None or time.monotonic() > deadline:
            served.stop()
            pytest.fail(f"zoo features serve {' '.join(what)} did not start "
                        f"(exit {process.returncode}):\n{log.read_text()}")
        time.sleep(0.1)
    return served


@pytest.fixture(scope="module")
def servers(served_home, tmp_path_factory):
    served = _serve(served_home, tmp_path_factory.mktemp("servers"), "--offline", "--online")
    yield served
    served.stop()


@pytest.fixture
def remote(servers):
    """Another team's FeatureStore: the client yaml alone, no file of the serving home."""
    from feast import FeatureStore

    return FeatureStore(repo_path=str(servers.client_repo))


def _entities(home: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Entity rows that exercise the point-in-time rules, not in time order, with an extra
    column; returns them and the row number of each case."""
    style = pd.read_parquet(home / "offline" / "stock_style_daily",
                            columns=["stock_id", "event_timestamp", "created_timestamp", "size"])
    fundamentals = pd.read_parquet(home / "offline" / "stock_fundamental_quarterly",
                                   columns=["stock_id", "event_timestamp"])
    tie = style[style.duplicated(["stock_id", "event_timestamp"], keep=False)]
    stock, tie_at = tie["stock_id"].iloc[0], tie["event_timestamp"].iloc[0]
    other = sorted(set(style["stock_id"]) - {stock})[0]
    last_daily = style.loc[style["stock_id"] == stock, "event_timestamp"].max()
    last_quarterly = fundamentals.loc[fundamentals["stock_id"] == stock, "event_timestamp"].max()
    first = style.loc[style["stock_id"] == other, "event_timestamp"].min()
    cases = {
        "other_stock": (other, tie_at),
        "ttl_expired_daily": (stock, last_daily + timedelta(days=14, microseconds=1)),
        "tie": (stock, tie_at),
        "unknown_stock": (UNKNOWN, tie_at),
        "ttl_boundary_daily": (stock, last_daily + timedelta(days=14)),
        "ttl_expired_quarterly": (stock, last_quarterly + timedelta(days=216)),
        "before_first_row": (other, first - timedelta(days=1)),
    }
    frame = pd.DataFrame({
        "stock_id": [s for s, _ in cases.values()],
        "event_timestamp": pd.DatetimeIndex([t for _, t in cases.values()]).tz_convert(MARKET),
        "request_id": range(100, 100 + len(cases)),
    })
    return frame, {name: i for i, name in enumerate(cases)}


def _plain(value):
    """A value of to_pylist() with NaN made comparable (NaN != NaN), lists element by element."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _assert_same_table(got: pa.Table, expected: pa.Table) -> None:
    assert got.schema.equals(expected.schema, check_metadata=False), (got.schema, expected.schema)
    assert _plain(got.to_pylist()) == _plain(expected.to_pylist())


@pytest.mark.parametrize("service, full_names", [
    ("style_v1", False),
    ("fundamentals_v1", False),  # 12-quarter arrays, the quarterly ttl
    ("portfolio_inputs_v1", True),  # three views, projections of two of them
])
def test_remote_historical_features_are_exactly_the_local_ones(served_home, local, remote,
                                                               service, full_names):
    entities, case = _entities(served_home)
    got = remote.get_historical_features(
        entity_df=entities, features=remote.get_feature_service(service),
        full_feature_names=full_names).to_arrow()
    expected = local.get_historical_features(
        entity_df=entities, features=local.get_feature_service(service),
        full_feature_names=full_names).to_arrow()
    _assert_same_table(got, expected)
    rows = got.to_pylist()
    assert [r["request_id"] for r in rows] == list(entities["request_id"])
    features = [c for c in got.column_names if c not in entities.columns]
    for name in ("unknown_stock", "before_first_row"):
        assert all(rows[case[name]][f] is None for f in features), name
    if service == "fundamentals_v1":
        assert all(rows[case["ttl_expired_quarterly"]][f] is None for f in features)
        assert rows[case["ttl_expired_daily"]]["quarters_known"] is not None
    else:
        size = "stock_style_daily__size" if full_names else "size"
        assert rows[case["tie"]][size] == TIE_SIZE
        assert rows[case["ttl_boundary_daily"]][size] is not None
        assert all(rows[case["ttl_expired_daily"]][f] is None for f in features)


def test_remote_historical_dataframe_equals_the_local_one(served_home, local, remote):
    entities, _ = _entities(served_home)
    features = ["stock_style_daily:size", "stock_universe_daily:in_universe",
                "stock_fundamental_quarterly:latest_report_period"]
    got = remote.get_historical_features(entity_df=entities, features=features).to_df()
    expected = local.get_historical_features(entity_df=entities, features=features).to_df()
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("service", ["style_v1", "portfolio_inputs_v1"])
def test_remote_online_read_returns_the_materialized_values(served_home, local, remote,
                                                            service):
    style = pd.read_parquet(served_home / "offline" / "stock_style_daily",
                            columns=["stock_id", "event_timestamp"])
    stocks = sorted(style["stock_id"].unique())[:3]
    rows = [{"stock_id": s} for s in [*stocks, UNKNOWN]]
    got = remote.get_online_features(features=remote.get_feature_service(service),
                                     entity_rows=rows).to_dict()
    assert got == local.get_online_features(features=local.get_feature_service(service),
                                            entity_rows=rows).to_dict()
    # what was materialized: the point-in-time values at the latest exported close
    latest = pd.DataFrame({"stock_id": stocks, "event_timestamp": style["event_timestamp"].max()})
    offline = local.get_historical_features(
        entity_df=latest, features=local.get_feature_service(service)).to_arrow().to_pydict()
    features = [f for f in got if f != "stock_id"]
    assert len(features) > 5
    for feature in features:
        assert got[feature][:3] == offline[feature], feature
        assert got[feature][3] is None, feature  # the unknown stock


def test_the_registry_is_read_only_for_other_teams(remote):
    from feast import Entity
    from feast.errors import FeastPermissionError
    from feast.value_type import ValueType

    before = sorted(s.name for s in remote.list_feature_services())
    with pytest.raises(FeastPermissionError, match="read-only"):
        remote.apply([Entity(name="intruder", join_keys=["x"], value_type=ValueType.STRING)])
    with pytest.raises(FeastPermissionError, match="read-only"):
        remote.registry.delete_feature_service("style_v1", remote.project)
    assert sorted(s.name for s in remote.list_feature_services()) == before
    assert "style_v1" in before


def test_the_offline_server_refuses_writes(served_home, remote):
    from feast.errors import FeastPermissionError

    path = served_home / "offline" / "stock_style_daily" / "2020-12.parquet"
    frame = pd.read_parquet(path).head(1).assign(size=-1.0)
    before = path.stat().st_mtime_ns
    with pytest.raises(FeastPermissionError, match="read-only"):
        remote.write_to_offline_store("stock_style_daily", frame, allow_registry_cache=False)
    assert path.stat().st_mtime_ns == before


def test_the_feature_server_only_reads(remote):
    url = remote.config.online_store.path
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    for path in ("/push", "/write-to-online-store", "/materialize",
                 "/materialize-incremental"):
        answer = requests.post(f"{url}{path}", json={}, timeout=10)
        assert answer.status_code == 403 and "read-only" in answer.text, path


def test_ctrl_c_stops_every_server_and_frees_its_port(served_home, tmp_path):
    served = _serve(served_home, tmp_path, "--offline")
    registry = served.client_repo / "feature_store.yaml"
    ports = [int(line.rsplit(":", 1)[1]) for line in registry.read_text().splitlines()
             if line.strip().startswith(("path: 127.0.0.1:", "port:"))]
    assert len(ports) == 2  # the registry and the offline server
    assert served.stop() == 0
    assert "servers stopped" in served.log.read_text()
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_serve_says_what_to_serve():
    result = CliRunner().invoke(main, ["features", "serve"])
    assert result.exit_code == 2 and "--offline, --online or both" in result.output


def test_a_port_in_use_is_an_error_that_names_it(served_home, monkeypatch):
    from zoo.serving.servers import ServeError, running

    monkeypatch.setenv("ZOO_HOME", str(served_home))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServeError, match=f"127.0.0.1:{port}"):
            with running("127.0.0.1", offline_port=None, online_port=0, registry_port=port):
                pass


def test_a_home_without_a_registry_is_refused_before_listening(tmp_path, monkeypatch):
    from zoo.serving.servers import ServeError, running

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    with pytest.raises(ServeError, match="zoo features apply"):
        with running("127.0.0.1", offline_port=0, online_port=None, registry_port=0):
            pass


def test_client_config_is_feast_remote_configuration(tmp_path):
    from feast.repo_config import load_repo_config

    out = tmp_path / "feature_store.yaml"
    result = CliRunner().invoke(main, [
        "features", "client-config", "--host", "features.example", "--offline-port", "18815",
        "--online-port", "16566", "--registry-port", "16570", "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = load_repo_config(tmp_path, out)
    assert (config.registry.registry_type, config.registry.path) == ("remote",
                                                                    "features.example:16570")
    assert (config.offline_store.type, config.offline_store.host,
            config.offline_store.port) == ("remote", "features.example", 18815)
    assert (config.online_store.type, config.online_store.path) == (
        "remote", "http://features.example:16566")
    assert config.project == "alphazoo" and config.coerce_tz_aware is False
    assert config.auth_config.type == "no_auth"
