"""Import Feast for a read without the two things that make its import slow.

`import feast` takes 4-7 s on a quiet 2-core machine (7-8 CPU s), most of a small request
such as `zoo features get --sample 5`, and a read uses neither of its two big costs:
- `feast.torch_wrapper` imports torch when Feast is imported, for the tensor conversions of a
  retrieval job (`to_tensor`); here the module is replaced by one that imports torch when a
  tensor is first asked for;
- typeguard's `@typechecked` recompiles every decorated Feast class and function at import to
  check its arguments' types at run time (FeatureView, Entity, FeatureService, ...): a check of
  what a feature repository declares, which `zoo features apply` keeps (it imports Feast as
  usual), and which a read of an applied registry does not need. The decorator is the
  identity only while Feast is imported, and put back at once.
With both, `import feast` costs about 2 CPU s instead of 7-8 (measured under load; README).
Call `load()` before anything imports Feast; when Feast is already imported it does nothing.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

WRAPPER = "feast.torch_wrapper"


def _lazy_torch_wrapper() -> types.ModuleType:
    """feast.torch_wrapper's interface, importing torch on the first `get_torch()`."""
    module = types.ModuleType(WRAPPER, "feast.torch_wrapper, torch imported when first used "
                                       "(zoo.serving.lean_feast)")

    def get_torch() -> Any:
        try:
            torch = importlib.import_module("torch")
        except Exception as err:  # as Feast's own wrapper: the error says torch is missing
            raise ImportError(f"Torch is not available or failed to import: {err}") from err
        module.TORCH_AVAILABLE = True
        return torch

    module.get_torch = get_torch
    module.TORCH_AVAILABLE = False  # not imported yet
    return module


def load() -> None:
    """Import Feast (if no one has) with torch deferred and without typeguard's checks."""
    if "feast" in sys.modules:
        return
    import typeguard

    def identity(target: Any = None, **_: Any) -> Any:
        return target if target is not None else (lambda function: function)

    checked = typeguard.typechecked
    sys.modules.setdefault(WRAPPER, _lazy_torch_wrapper())
    typeguard.typechecked = identity
    try:
        import feast  # noqa: F401
    except BaseException:
        for name in [n for n in sys.modules if n == "feast" or n.startswith("feast.")]:
            del sys.modules[name]  # a later import starts afresh, as Feast's own
        raise
    finally:
        typeguard.typechecked = checked
