"""zoo.serving.lean_feast: Feast imported for a read without torch and without typeguard's
import-time instrumentation, and nothing else changed (in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys, typeguard
checked = typeguard.typechecked
from zoo.serving import lean_feast
lean_feast.load()
assert "feast" in sys.modules
assert "torch" not in sys.modules, "torch imported with Feast"
assert typeguard.typechecked is checked, "typeguard's decorator not put back"
from feast import FeatureStore, FeatureView  # Feast whole
from feast.infra.offline_stores.offline_store import RetrievalJob
lean_feast.load()  # a second call does nothing
from feast.torch_wrapper import get_torch
assert get_torch().__name__ == "torch"  # torch when a tensor is asked for
print("ok")
"""


def test_feast_without_torch_and_with_typeguard_put_back():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_an_import_already_made_is_left_alone():
    done = subprocess.run([sys.executable, "-c", "import sys, feast\n"
                           "from zoo.serving import lean_feast\n"
                           "wrapper = sys.modules['feast.torch_wrapper']\n"
                           "lean_feast.load()\n"
                           "assert sys.modules['feast.torch_wrapper'] is wrapper\n"
                           "assert 'torch' in sys.modules\nprint('ok')"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
