"""Feast's registry and online store under $ZOO_HOME, or `data/` in the checkout when it is unset.

feature_store.yaml cannot say "$ZOO_HOME, else data/": Feast reads it through
`os.path.expandvars`, which has no default syntax and leaves an unset variable as the literal
text `${ZOO_HOME}`, and it resolves a relative path against the feature repo. So a plain
`FeatureStore(repo_path="feature_repo")` without ZOO_HOME used to read (and create) an empty
registry at `feature_repo/${ZOO_HOME}/registry.db`. These two stores take a relative `path`
from feature_store.yaml as relative to `zoo.paths.zoo_home()` instead, the one rule every
`zoo` command and `transforms/config.py` follow, so `zoo`, `feast` and a user's own
FeatureStore find the same files with or without ZOO_HOME. An absolute path is kept as is.

    registry:
      registry_type: file
      registry_store_type: zoo.serving.home_stores.HomeRegistryStore
      path: registry.db
    online_store:
      type: zoo.serving.home_stores.HomeSqliteOnlineStore
      path: online.db

A home can be copied or moved (`cp -a h1 h2`, then `ZOO_HOME=h2`) and works on its own: no
path of the home is stored in the registry. Feast writes absolute paths into it, found by
walking a registry of the tiny market: every FileSource's `file_options.uri` (in
`data_sources`, in each feature view's `batch_source` and again in each feature service's
projections) and the path of the online store in every `infra` SQLite table, which `feast
apply` tears down (DROP TABLE) when it differs from the path it wants now. `HomeRegistryStore`
writes each such path under the home as `${ZOO_HOME}/...` (any string of the registry that
starts with the home is rewritten, so a path Feast adds elsewhere is covered too) and reads it
back under the home of the reader: every store, Feast's own included, sees absolute paths of
the home it runs in. An infra table outside the reader's home (written by an older zoo, which
stored absolute paths) is left out when the registry is read, so an apply never tears down
another home's online store; the next apply records the tables of this home's store.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.infra.registry.file import FileRegistryStore
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.repo_config import RegistryConfig, RepoConfig
from google.protobuf.message import Message
from pydantic import StrictStr

from zoo.paths import zoo_home


def in_home(path: str | Path) -> Path:
    """`path` from feature_store.yaml: absolute as it is, relative under $ZOO_HOME."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else zoo_home() / path


HOME_MARK = "${ZOO_HOME}"
"""How the registry file spells the home: a path under it is stored as `${ZOO_HOME}/...`."""


def _rewrite_strings(message: Message, rewrite: Callable[[str], str]) -> None:
    """Apply `rewrite` to every string field of `message`, nested messages and maps included."""
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                for key in list(value):
                    if isinstance(value[key], Message):
                        _rewrite_strings(value[key], rewrite)
                    elif isinstance(value[key], str):
                        value[key] = rewrite(value[key])
            elif field.is_repeated:
                for item in value:
                    _rewrite_strings(item, rewrite)
            else:
                _rewrite_strings(value, rewrite)
        elif field.type == field.TYPE_STRING:
            if field.is_repeated:
                value[:] = [rewrite(item) for item in value]
            else:
                setattr(message, field.name, rewrite(value))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _moved(old: str, new: str) -> Callable[[str], str]:
    """Rewrite a text that is `old` or a path under it to the same under `new`."""
    def rewrite(text: str) -> str:
        return new + text[len(old):] if _under(text, old) else text
    return rewrite


def _outside(path: str, home: str) -> bool:
    return Path(path).is_absolute() and not _under(path, home)


class HomeRegistryStore(FileRegistryStore):
    """Feast's file registry, with a relative path taken under $ZOO_HOME (not the repo), that
    stores no path of the home: paths under it are written as `${ZOO_HOME}/...` and read back
    under the home of the reader (the module's docstring says which)."""

    def __init__(self, registry_config: RegistryConfig, repo_path: Path):
        super().__init__(registry_config, repo_path)
        self._filepath = in_home(registry_config.path)

    def get_registry_proto(self) -> RegistryProto:
        registry = super().get_registry_proto()
        home = str(zoo_home())
        _rewrite_strings(registry, _moved(HOME_MARK, home))
        # Tables of another home's online store (a registry an older zoo wrote with absolute
        # paths, then copied) are not this home's to tear down.
        objects = registry.infra.infra_objects
        for i in reversed(range(len(objects))):
            if objects[i].HasField("sqlite_table") and _outside(objects[i].sqlite_table.path,
                                                                home):
                del objects[i]
        return registry

    def update_registry_proto(self, registry_proto: RegistryProto) -> None:
        stored = RegistryProto()
        stored.CopyFrom(registry_proto)
        _rewrite_strings(stored, _moved(str(zoo_home()), HOME_MARK))
        self._write_registry(stored)
        # Feast keeps using the proto it passed, with the version the write stamped on it.
        registry_proto.version_id = stored.version_id
        registry_proto.last_updated.CopyFrom(stored.last_updated)


class HomeSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    """`online_store:` block of feature_store.yaml for `HomeSqliteOnlineStore`."""

    type: Literal["zoo.serving.home_stores.HomeSqliteOnlineStore"] = (  # type: ignore[assignment]
        "zoo.serving.home_stores.HomeSqliteOnlineStore"
    )
    path: StrictStr = "online.db"
    """The SQLite file; relative: under $ZOO_HOME."""


class HomeSqliteOnlineStore(SqliteOnlineStore):
    """Feast's SQLite online store, with a relative path taken under $ZOO_HOME."""

    @staticmethod
    def _get_db_path(config: RepoConfig) -> str:
        return str(in_home(config.online_store.path))
