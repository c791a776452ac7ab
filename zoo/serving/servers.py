"""Feast's own servers over this home's feature store, for teams on other machines.

`zoo features serve --offline` serves point-in-time retrieval with Feast's offline server
(Arrow Flight, what `feast serve_offline` runs), which answers each request with the offline
store of feature_repo/feature_store.yaml, our ASOF store over `$ZOO_HOME/offline/`.
`zoo features serve --online` serves the latest materialized values with Feast's Python feature
server (the FastAPI app of `feast serve`) over `$ZOO_HOME/online.db`. Both also serve Feast's
registry server (gRPC, what `feast serve_registry` runs): a remote `FeatureStore` resolves
services and views through its registry before it calls either server, and with
`registry_type: remote` it needs none of this machine's files (`client_config` writes its
feature_store.yaml). One process runs whichever servers are asked for, each bound to `host`
(127.0.0.1 unless told otherwise), until SIGINT or SIGTERM.

What is different from running Feast's commands one by one, and why:
- every server binds `host` (Feast's registry server always binds every interface, `[::]`);
- they are read-only: other teams read features, they do not apply, delete, push,
  materialize or write through this machine's store. The registry refuses every RPC but
  Get*/List*/Proto/Refresh, the offline server its write actions (offline_write_batch,
  write_logged_features, persist), the feature server every request but reads (GET, HEAD and
  POST /get-online-features). Changes come from `zoo features apply` / `materialize` here;
- the feature server runs under uvicorn in this process (Feast forks gunicorn workers on
  Linux, which would fork the gRPC servers' threads with them);
- authentication is Feast's `no_auth`, so anyone who reaches a port can read every feature:
  bind 127.0.0.1 (the default), or a private interface behind a firewall. Feast keeps one
  authentication manager per process, which cannot serve three kinds of server at once, so a
  feature_store.yaml with an `auth:` block other than no_auth is refused here (run Feast's
  own `feast serve_offline` / `feast serve` / `feast serve_registry` one per process for OIDC
  or Kubernetes auth). No TLS either: traffic is plain text.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feast import FeatureStore

DEFAULT_HOST = "127.0.0.1"
# Feast's own defaults (feast.constants), so a client written for `feast serve*` finds them
OFFLINE_PORT = 8815
ONLINE_PORT = 6566
REGISTRY_PORT = 6570
# Registry RPCs a reader needs; every other one (Apply*, Delete*, Commit, UpdateInfra, ...)
# changes this machine's registry and is refused.
_REGISTRY_READS = ("Get", "List", "Proto", "Refresh")
_OFFLINE_WRITES = frozenset({"offline_write_batch", "write_logged_features", "persist"})
_ONLINE_POSTS = frozenset({"/get-online-features"})
_READONLY = ("this feature store is served read-only to other teams; change it on the serving "
             "machine with `zoo features apply` or `zoo features materialize`")


class ServeError(RuntimeError):
    """A server that cannot start as asked; the message says what to change."""


@dataclass(frozen=True)
class Endpoints:
    """Where the servers listen (a port of None: that server is not running)."""

    host: str
    registry_port: int
    offline_port: int | None = None
    online_port: int | None = None


def _client_host(host: str) -> str:
    """The name a client dials for a server bound to `host` (a wildcard is this machine)."""
    return socket.getfqdn() if host in ("", "0.0.0.0", "::") else host


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def client_config(host: str = DEFAULT_HOST, offline_port: int = OFFLINE_PORT,
                  online_port: int = ONLINE_PORT, registry_port: int = REGISTRY_PORT) -> str:
    """The feature_store.yaml of a team that reads these servers: Feast's remote registry,
    offline and online stores, nothing of this machine's files. Put it alone in a folder and
    open `FeatureStore(repo_path=that_folder)`; it needs Feast with gRPC (`feast[grpcio]`), not
    zoo."""
    from zoo.serving.feature_store import repo_config

    config = repo_config()
    name = _client_host(host)
    return f"""\
# A client of alphazoo's feature servers (`zoo features serve`): Feast's remote registry,
# offline store (Arrow Flight) and online store (HTTP). Read-only, no authentication.
project: {config.project}
provider: local
registry:
  registry_type: remote
  path: {host_port(name, registry_port)}
offline_store:
  type: remote
  host: {name}
  port: {offline_port}
online_store:
  type: remote
  path: http://{host_port(name, online_port)}
auth:
  type: no_auth
entity_key_serialization_version: {config.entity_key_serialization_version}
# as on the serving side: a naive event_timestamp is refused, not read as UTC
coerce_tz_aware: false
"""


def _server_store() -> FeatureStore:
    """This home's FeatureStore, refused unless it runs without authentication (see above)."""
    from feast.permissions.server.utils import AuthManagerType, str_to_auth_manager_type

    from zoo.serving.feature_store import store

    fs = store()
    if str_to_auth_manager_type(fs.config.auth_config.type) != AuthManagerType.NONE:
        raise ServeError(
            f"feature_repo/feature_store.yaml asks for {fs.config.auth_config.type!r} auth; "
            f"`zoo features serve` runs its servers in one process with no_auth only. Run "
            f"Feast's `feast -c feature_repo serve_offline` / `serve` / `serve_registry`, one "
            f"per process, for authenticated servers")
    return fs


def _init_auth(fs: FeatureStore) -> None:
    """Feast's servers read a process-wide security and auth manager: with no_auth, allow all."""
    from feast.permissions.server.utils import (
        AuthManagerType,
        ServerType,
        init_auth_manager,
        init_security_manager,
    )

    init_security_manager(auth_type=AuthManagerType.NONE, fs=fs)
    init_auth_manager(server_type=ServerType.REST, auth_type=AuthManagerType.NONE,
                      auth_config=fs.config.auth_config)


def _registry_server(fs: FeatureStore, host: str, port: int) -> tuple[Any, int]:
    """Feast's gRPC registry server (its RegistryServer servicer and health check), bound to
    `host` and read-only. Returns the started server and its port."""
    from concurrent import futures

    import grpc
    from feast.errors import FeastPermissionError
    from feast.grpc_error_interceptor import ErrorInterceptor
    from feast.protos.feast.registry import RegistryServer_pb2_grpc
    from feast.registry_server import RegistryServer
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    def refuse(request: bytes, context: grpc.ServicerContext) -> None:
        context.abort(grpc.StatusCode.PERMISSION_DENIED,
                      FeastPermissionError(_READONLY).to_error_detail())

    class ReadOnly(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            service, _, method = details.method.rpartition("/")
            if service.endswith(".RegistryServer") and not method.startswith(_REGISTRY_READS):
                return grpc.unary_unary_rpc_method_handler(refuse)  # every registry RPC is unary
            return continuation(details)

    # gRPC shares a port with another server that asked for SO_REUSEPORT (as Feast's own
    # registry server does), so a second `zoo features serve` would bind silently beside the
    # first and answer half of its clients from another home: ask for the port alone.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10),
                         interceptors=[ReadOnly(), ErrorInterceptor()],
                         options=[("grpc.so_reuseport", 0)])
    RegistryServer_pb2_grpc.add_RegistryServerServicer_to_server(
        RegistryServer(fs.registry, store=fs), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    try:
        bound = server.add_insecure_port(host_port(host, port))
    except RuntimeError as err:
        raise ServeError(f"the registry server cannot listen on {host_port(host, port)}: "
                         f"{err} (is the port in use? choose another with --registry-port)"
                         ) from None
    server.start()
    return server, bound


def _offline_server(fs: FeatureStore, host: str, port: int) -> Any:
    """Feast's Arrow Flight offline server, its write actions refused. It listens from here on
    (pyarrow binds in the constructor; `serve()` would only block)."""
    import pyarrow as pa
    from feast.errors import FeastPermissionError
    from feast.offline_server import OfflineServer

    class ReadOnlyOfflineServer(OfflineServer):
        def _call_api(self, api: str, command: dict, key: str):
            if api in _OFFLINE_WRITES:
                self.flights.pop(key, None)
                raise FeastPermissionError(_READONLY)
            return super()._call_api(api, command, key)

    location = f"grpc+tcp://{host_port(host, port)}"
    try:
        return ReadOnlyOfflineServer(fs, location=location, host=host)
    except (OSError, pa.ArrowException) as err:
        raise ServeError(f"the offline server cannot listen on {location}: {err} (is the port "
                         f"in use? choose another with --offline-port)") from None


class _ReadOnlyApp:
    """ASGI wrapper of Feast's feature server app: reads pass, anything else is a 403."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "websocket" or (
                scope["type"] == "http" and scope["method"] not in ("GET", "HEAD")
                and not (scope["method"] == "POST" and scope["path"] in _ONLINE_POSTS)):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            import json

            body = json.dumps({"detail": _READONLY}).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _online_server(fs: FeatureStore, host: str, port: int) -> tuple[Any, threading.Thread, int]:
    """Feast's feature server app under uvicorn in a thread, on a socket bound here (so a busy
    port is an error now, and port 0 picks a free one). Returns the server, its thread and
    port once it answers."""
    import uvicorn
    from feast.feature_server import get_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ServeError(f"the feature server cannot listen on {host_port(host, port)}: "
                         f"{err.strerror or err} (choose another port with --online-port)"
                         ) from None
    bound = sock.getsockname()[1]
    app = _ReadOnlyApp(get_app(fs, registry_ttl_sec=60))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="feature-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise ServeError(f"the feature server on {host_port(host, port)} did not start")
        time.sleep(0.05)
    return server, thread, bound


@contextmanager
def running(host: str = DEFAULT_HOST, offline_port: int | None = OFFLINE_PORT,
            online_port: int | None = ONLINE_PORT,
            registry_port: int = REGISTRY_PORT) -> Iterator[tuple[Endpoints, Callable[[], bool]]]:
    """Start the registry server and the offline and/or online server (a port of None: not
    that one; 0: any free port), all read-only on `host`; yield where they listen and a
    check that they are all still up; stop them all on the way out."""
    from zoo.serving.feature_store import registry_path

    if offline_port is None and online_port is None:
        raise ServeError("serve the offline server, the online server or both")
    if not registry_path().is_file():
        raise ServeError(f"no Feast registry at {registry_path()}: run `zoo features apply` "
                         f"first (and `zoo features materialize` for the online server)")
    with ExitStack() as stack:
        registry_fs = _server_store()
        _init_auth(registry_fs)
        registry, bound_registry = _registry_server(registry_fs, host, registry_port)
        stack.callback(lambda: registry.stop(grace=2).wait(5))
        endpoints = Endpoints(host, bound_registry)
        checks: list[Callable[[], bool]] = []
        if offline_port is not None:
            offline = _offline_server(_server_store(), host, offline_port)
            stack.callback(offline.shutdown)
            endpoints = replace(endpoints, offline_port=offline.port)
        if online_port is not None:
            online, thread, bound_online = _online_server(_server_store(), host, online_port)

            def stop_online() -> None:
                online.should_exit = True
                thread.join(timeout=10)

            stack.callback(stop_online)
            checks.append(thread.is_alive)
            endpoints = replace(endpoints, online_port=bound_online)
        yield endpoints, lambda: all(check() for check in checks)


def serve_until_stopped(host: str = DEFAULT_HOST, offline_port: int | None = OFFLINE_PORT,
                        online_port: int | None = ONLINE_PORT,
                        registry_port: int = REGISTRY_PORT,
                        on_ready: Callable[[Endpoints], None] | None = None) -> None:
    """`running(...)` until SIGINT (Ctrl-C) or SIGTERM, then a clean shutdown of every server.
    `on_ready` is called once all of them listen. ServeError if one dies on its own."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with running(host, offline_port, online_port, registry_port) as (endpoints, alive):
            if on_ready is not None:
                on_ready(endpoints)
            while not stop.wait(0.5):
                if not alive():
                    raise ServeError("the feature server stopped on its own; see its log above")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
