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
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.infra.registry.file import FileRegistryStore
from feast.repo_config import RegistryConfig, RepoConfig
from pydantic import StrictStr

from zoo.paths import zoo_home


def in_home(path: str | Path) -> Path:
    """`path` from feature_store.yaml: absolute as it is, relative under $ZOO_HOME."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else zoo_home() / path


class HomeRegistryStore(FileRegistryStore):
    """Feast's file registry, with a relative path taken under $ZOO_HOME (not the repo)."""

    def __init__(self, registry_config: RegistryConfig, repo_path: Path):
        super().__init__(registry_config, repo_path)
        self._filepath = in_home(registry_config.path)


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
